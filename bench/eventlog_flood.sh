#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/eventlog_flood.sh: what a user's event flood costs memctld. A client
# enrolls and unenrolls its own process N times over one control connection
# (raw CTL_ENROLL/CTL_UNENROLL records), as nobody (rate-limited) and as root
# (exempt: both rings fill); the figures are the daemon's CPU per request and
# its RSS growth, medians over the rounds. MEMCTLD_BASELINE=path runs another
# memctld binary side by side, for a before/after ratio. Needs root.
#
#   bench/eventlog_flood.sh [--quick] [--cycles N] [--rounds R]
set -euo pipefail
BUILD=${BUILD:-build}
cycles=10000 rounds=5
while [ $# -gt 0 ]; do
	case $1 in
	--quick) cycles=2000 rounds=1 ;;
	--cycles) cycles=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	*) echo "usage: $0 [--quick] [--cycles N] [--rounds R]" >&2; exit 2 ;;
	esac
	shift
done

# an interpreter nobody may run too (a per-user install under /root is not)
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)
tmp=$(mktemp -d /tmp/memctl-bench-evflood-XXXXXX)
chmod 755 "$tmp"
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/flood.py" <<'PY'
import os, socket, struct, sys
HDR = struct.Struct("=IHHII")
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(60)
s.connect(sys.argv[1])
enroll = struct.pack("=IIII32s", os.getpid(), 0, 0, 0, b"")
unenroll = struct.pack("=II", os.getpid(), 0)
for i in range(2 * int(sys.argv[2])):
    t, body = (38, enroll) if i % 2 == 0 else (39, unenroll)
    s.send(HDR.pack(0x4C54434D, 2, t, HDR.size + len(body), i + 1) + body)
    s.recv(4096)
PY

cpu_ns() { awk '{ s += $1 } END { printf "%.0f\n", s }' /proc/"$daemon"/task/*/schedstat; }
rss_kib() { awk '/^RssAnon:/ { print $2 }' /proc/"$daemon"/status; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# run BINARY WHO: prints "ns_per_request rss_growth_kib" for one fresh daemon
# (stops it on every way out: a failed client must not leave it running)
run() {
	trap '[ -n "$daemon" ] && kill "$daemon" 2>/dev/null' EXIT
	local bin=$1 who=$2 c0 c1 r0 r1 as=()
	rm -rf "$tmp/run"
	"$bin" --socket-dir "$tmp/run" --config /dev/null --log-level err >/dev/null 2>&1 &
	daemon=$!
	for _ in $(seq 100); do [ -S "$tmp/run/control.sock" ] && break; sleep 0.1; done
	sleep 1 # the start-up scan is not part of it
	[ "$who" = nobody ] && as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	c0=$(cpu_ns) r0=$(rss_kib)
	"${as[@]}" "$python" "$tmp/flood.py" "$tmp/run/control.sock" "$cycles"
	c1=$(cpu_ns) r1=$(rss_kib)
	kill "$daemon"
	wait "$daemon" 2>/dev/null || true
	daemon=
	echo "$(((c1 - c0) / (2 * cycles))) $((r1 - r0))"
}

bins=("$BUILD/memctld")
[ -n "${MEMCTLD_BASELINE:-}" ] && bins+=("$MEMCTLD_BASELINE")
for who in nobody root; do
	declare -A ns=() kib=()
	# interleaved, round by round, so both binaries see the same machine
	for _ in $(seq "$rounds"); do
		for i in "${!bins[@]}"; do
			read -r a b < <(run "${bins[$i]}" "$who")
			ns[$i]="${ns[$i]:-} $a" kib[$i]="${kib[$i]:-} $b"
		done
	done
	for i in "${!bins[@]}"; do
		label=current
		[ "$i" -gt 0 ] && label=baseline
		# shellcheck disable=SC2086
		echo "eventlog_flood: who=$who daemon=$label cycles=$cycles" \
			"ns_per_request=$(median ${ns[$i]}) rss_growth_kib=$(median ${kib[$i]})"
	done
	unset ns kib
done
