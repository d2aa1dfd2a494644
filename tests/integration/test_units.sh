#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/integration/test_units.sh: the systemd units are valid (systemd-analyze
# verify prints nothing) and the service keeps its hardening.
set -eu
BUILD=${BUILD:-build}
command -v systemd-analyze >/dev/null || { echo "skip: systemd-analyze not installed"; exit 77; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
bin=$(cd "$BUILD" && pwd)
sed "s|@SBINDIR@|$bin|" units/memctld.service.in > "$d/memctld.service"
cp units/memctld.socket units/memctld-metrics.socket "$d/"
out=$(cd "$d" && systemd-analyze verify --man=no ./memctld.service ./memctld.socket \
	./memctld-metrics.socket 2>&1)
if [ -n "$out" ]; then
	echo "systemd-analyze verify complained:"; echo "$out"; exit 1
fi
# a broken unit must be caught by the same check (the check can fail)
printf '[Service]\nType=notifyx\n' >> "$d/memctld.service"
bad=$(cd "$d" && systemd-analyze verify --man=no ./memctld.service 2>&1 || true)
[ -n "$bad" ] || { echo "verify did not notice a broken unit"; exit 1; }
for k in Type=notify WatchdogSec= Restart=on-failure OOMScoreAdjust= MemoryMin= \
	NoNewPrivileges=yes ProtectSystem=strict RestrictAddressFamilies=AF_UNIX CapabilityBoundingSet=; do
	grep -q "^$k" units/memctld.service.in || { echo "memctld.service lacks $k"; exit 1; }
done
grep -q '^ListenDatagram=/run/memctld/memctld.sock' units/memctld.socket
grep -q '^ListenSequentialPacket=/run/memctld/control.sock' units/memctld.socket
# the metrics socket: loopback, handed to memctld.service, on the port the
# shipped memctld.conf documents
grep -q '^ListenStream=127.0.0.1:10640$' units/memctld-metrics.socket
grep -q '^Service=memctld.service$' units/memctld-metrics.socket
grep -q '^#Listen=127.0.0.1:10640$' units/memctld.conf
# the hardening, as systemd itself scores it (lower is better; 10 = unprotected)
score=$(cd "$d" && sed -i '$d' memctld.service && sed -i '$d' memctld.service &&
	systemd-analyze security --offline=yes ./memctld.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for memctld.service: \([0-9.]*\).*/\1/p')
echo "exposure=$score"
awk -v s="$score" 'BEGIN{exit !(s != "" && s <= 3.0)}' || { echo "exposure $score > 3.0"; exit 1; }
# socket activation of the metrics endpoint must not loosen the sandbox: the
# service keeps AF_UNIX only and its exposure stays at 2.2 (measured before
# issue 14; the socket unit, not the service, holds the TCP socket)
grep -q '^RestrictAddressFamilies=AF_UNIX$' units/memctld.service.in
awk -v s="$score" 'BEGIN{exit !(s <= 2.2)}' || { echo "exposure grew to $score (2.2 before)"; exit 1; }
# the default config parses and lists every key the daemon knows
"$BUILD/memctld" --check-config --config units/memctld.conf > "$d/effective.conf"
for k in $(grep -o '^[A-Za-z]*=' "$d/effective.conf"); do
	grep -q "^#$k" units/memctld.conf || { echo "units/memctld.conf does not document $k"; exit 1; }
done
# make install puts everything in place under DESTDIR
make --no-print-directory -s BUILD="$BUILD" install DESTDIR="$d/root" PREFIX=/usr >/dev/null
want="usr/sbin/memctld usr/bin/memctl usr/lib/systemd/system/memctld.service
	usr/lib/systemd/system/memctld.socket usr/lib/systemd/system/memctld-metrics.socket
	usr/lib/tmpfiles.d/memctld.conf etc/memctld.conf
	usr/share/man/man8/memctld.8 usr/share/man/man1/memctl.1 usr/share/man/man5/memctld.conf.5"
[ -e arena/arena.c ] && want="$want usr/lib/libarena.so.0 usr/lib/pkgconfig/libarena.pc usr/include/arena.h"
for f in $want; do
	[ -e "$d/root/$f" ] || { echo "make install did not install $f"; exit 1; }
done
# man pages render without groff warnings
for m in docs/man/*.[1-8]; do
	w=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 "$m" 2>&1 >/dev/null)
	[ -z "$w" ] || { echo "$m: $w"; exit 1; }
done
echo "units ok"
