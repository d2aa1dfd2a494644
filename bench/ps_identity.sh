#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/ps_identity.sh: memctld's CPU time for one whole `memctl ps` listing (every
# page) when the process table must read each process's user and command line from
# /proc (the first listing after they started) and when it keeps them (the next
# listing). Each round starts N new sleeping processes, lists twice, kills them; the
# figures are medians over the rounds, side by side. Needs root (memctld loads BPF).
#
#   bench/ps_identity.sh [--quick] [--procs N] [--rounds R]
set -euo pipefail
BUILD=${BUILD:-build}
procs=2000 rounds=7
while [ $# -gt 0 ]; do
	case $1 in
	--quick) procs=500 rounds=3 ;;
	--procs) procs=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	*) echo "usage: $0 [--quick] [--procs N] [--rounds R]" >&2; exit 2 ;;
	esac
	shift
done

tmp=$(mktemp -d /tmp/memctl-bench-ps-XXXXXX)
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	[ -n "${pids:-}" ] && kill $pids 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
"$BUILD/memctld" --socket-dir "$tmp/run" --config /dev/null --log-level err &
daemon=$!
for _ in $(seq 100); do [ -S "$tmp/run/control.sock" ] && break; sleep 0.1; done

# time memctld spent on the CPU, in ns (first field of schedstat, all threads)
cpu_ns() { awk '{ s += $1 } END { printf "%.0f\n", s }' /proc/"$daemon"/task/*/schedstat; }
list_ns() {
	local a b
	a=$(cpu_ns)
	"$BUILD/memctl" --socket-dir "$tmp/run" ps --json >/dev/null
	b=$(cpu_ns)
	echo $((b - a))
}

cold=() warm=()
for r in $(seq "$rounds"); do
	pids=
	for _ in $(seq "$procs"); do
		sleep 600 &
		pids="$pids $!"
	done
	sleep 1 # the exec records drained (every 100 ms) and the table settled
	cold+=("$(list_ns)")
	warm+=("$(list_ns)")
	kill $pids 2>/dev/null
	wait $pids 2>/dev/null || true
	pids=
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
c=$(median "${cold[@]}") w=$(median "${warm[@]}")
tracked=$("$BUILD/memctl" --socket-dir "$tmp/run" status --json | awk -F: '/processes_tracked/ { gsub(/[ ,]/, "", $2); print $2 }')
echo "procs_started=$procs rounds=$rounds table_after=$tracked"
# daemon CPU for one whole listing: the first after the processes started
# (user and command line read from /proc), the next (kept in the table)
echo "first_listing_usec=$((c / 1000)) next_listing_usec=$((w / 1000))"
awk -v c="$c" -v w="$w" 'BEGIN { printf "first_over_next=%.2f\n", w ? c / w : 0 }'
