#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/demo.sh: memctl in one scripted run (make demo). As root: a private memctld,
# a v1 memory cgroup too small for what runs in it, a leaking memory_grower and an
# enrolled interactive_burst inside; memctl ps, list and events as they happen; a
# summary at the end. Everything it makes is removed when it ends (or is interrupted).
#
#   scripts/demo.sh [--seconds N] [--limit-mb M] [--quiet]
set -euo pipefail

BUILD=${BUILD:-build}
SECONDS_RUN=45
LIMIT_MB=280
REGION_MB=256
QUIET=0
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) SECONDS_RUN=$2; shift 2 ;;
	--limit-mb) LIMIT_MB=$2; shift 2 ;;
	--quiet) QUIET=1; shift ;;
	-h | --help)
		sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//'
		exit 0 ;;
	*) echo "demo: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (BPF, cgroups)" >&2; exit 1; }
V1=/sys/fs/cgroup/memory
[ -d "$V1" ] || { echo "demo: needs the cgroup v1 memory controller at $V1" >&2; exit 1; }
for b in memctld memctl workloads/interactive_burst workloads/memory_grower; do
	[ -x "$BUILD/$b" ] || { echo "demo: $BUILD/$b missing: run make first" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/memctl-demo.XXXXXX)
chmod 755 "$dir"
cg="$V1/memctl-demo-$$"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -d "$cg" ] && rmdir "$cg" 2>/dev/null || true
	if [ -n "${DEMO_KEEP:-}" ]; then echo "demo: kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT INT TERM

say() { [ $QUIET -eq 1 ] || printf '%s\n' "$*"; }
ctl() { "$BUILD/memctl" --socket-dir "$dir/run" "$@"; }

say "== memctl demo: a ${LIMIT_MB} MiB cgroup, ${REGION_MB} MiB of arena data plus a leak, ${SECONDS_RUN} s"
"$BUILD/memctld" --socket-dir "$dir/run" --config /dev/null --csv "$dir/decisions.csv" \
	>"$dir/memctld.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
ctl status >/dev/null || { cat "$dir/memctld.log"; exit 1; }

mkdir "$cg"
echo $((LIMIT_MB << 20)) >"$cg/memory.limit_in_bytes"
export MEMCTLD_SOCKET="$dir/run/memctld.sock"
in_cg() { sh -c 'echo $$ > "$0/cgroup.procs" && shift && exec "$@"' "$cg" x "$@"; }

# a leak: 2 MiB/s, kept, in the same cgroup
in_cg "$BUILD/workloads/memory_grower" --pattern linear --rate-mb 2 \
	--duration-sec "$SECONDS_RUN" --after-sec 0 >"$dir/grower.out" 2>&1 &
grower=$!
pids+=($grower)
# the enrolled workload: memctld decides when it compresses
in_cg "$BUILD/workloads/interactive_burst" --use-mem-arena --region-mb "$REGION_MB" \
	--data zero-heavy --fill-mb-per-sec 64 --duration-sec "$SECONDS_RUN" \
	--controller-enroll --compress-policy external >"$dir/burst.out" 2>&1 &
burst=$!
pids+=($burst)

since=0
show() {
	local rel="/${cg##*/}"
	say ""
	say "-- $(date +%T)  cgroup $rel: usage $(($(cat "$cg/memory.usage_in_bytes") >> 20)) MiB of $LIMIT_MB MiB"
	[ $QUIET -eq 1 ] && return 0
	ctl ps --cgroup "$rel" 2>/dev/null | cut -c1-120 || true
	ctl list 2>/dev/null | cut -c1-120 || true
	local ev
	ev=$(ctl events --since "$since" 2>/dev/null || true)
	if [ -n "$ev" ]; then
		printf '%s\n' "$ev" | grep -v -e compress-sent -e compress-done | tail -8 || true
		since=$(printf '%s\n' "$ev" | tail -1 | awk '{print $1}')
	fi
}
while kill -0 "$burst" 2>/dev/null; do
	show
	sleep 3
done
set +e
wait "$burst"
burst_rc=$?
wait "$grower"
grower_rc=$?
set -e
show

oom=$(awk '/^oom_kill /{print $2}' "$cg/memory.oom_control")
peak=$(($(cat "$cg/memory.max_usage_in_bytes") >> 20))
cmds=$(grep -c ',"compress",' "$dir/decisions.csv" || true)
acks=$(grep ',"compress-ack",' "$dir/decisions.csv" | awk -F, '{print $13}' | sort -n || true)
n=$(printf '%s\n' "$acks" | grep -c . || true)
p50=$(printf '%s\n' "$acks" | awk -v n="$n" 'NR==int((n+1)/2){print $1/1000}')
p99=$(printf '%s\n' "$acks" | awk -v n="$n" 'NR==int(n*0.99+0.5){print $1/1000}')
freed=$(grep -o 'controller_freed_bytes=[0-9]*' "$dir/burst.out" | cut -d= -f2)
verified=$(grep -o 'mismatches=[0-9]*' "$dir/burst.out" | cut -d= -f2)
detected=$(ctl events --json 2>/dev/null | grep -c '"growth-detected"' || true)

printf '\n== summary\n'
printf '%-34s %s\n' "cgroup limit" "$LIMIT_MB MiB" \
	"peak usage" "$peak MiB" \
	"OOM kills" "${oom:-?}" \
	"interactive_burst" "exit $burst_rc, mismatches ${verified:-?}" \
	"memory_grower (the leak)" "exit $grower_rc, growth detections: $detected" \
	"COMPRESS commands / acks" "$cmds / $n" \
	"freed by compression" "$(( ${freed:-0} >> 20 )) MiB" \
	"command->ack latency p50 / p99" "${p50:-?} ms / ${p99:-?} ms"
[ "$burst_rc" -eq 0 ] && [ "${oom:-1}" -eq 0 ]
