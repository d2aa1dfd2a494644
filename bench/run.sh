#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh: run every benchmark `make bench` knows, with its default arguments, and
# print its figures. Benchmarks never assert on speed; a failure means wrong data.
#
#   BENCH=arena bench/run.sh              only benchmarks whose name contains "arena"
#   BENCH_ARGS="--quick" bench/run.sh     extra arguments for every benchmark
#
# To add a benchmark: one line in the list below, "name|command [default args]". The
# command is either a binary built from bench/<name>.c ($BUILD/bench/<name>) or a
# script bench/<name>.sh or bench/<name>.py; a missing binary is reported and skipped.
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

benches=(
	"arena|$BUILD/bench/arena"
	"bpf_overhead|$BUILD/bench/bpf_overhead"
	"churn|$BUILD/bench/churn"
	"peer_shape|$BUILD/bench/peer_shape"
	"ps_identity|bench/ps_identity.sh"
	"ctl_list|$BUILD/bench/ctl_list"
	"readback|$BUILD/bench/readback"
	"resctrl|$BUILD/bench/resctrl"
	"eventlog_flood|bench/eventlog_flood.sh"
	"squeeze|bench/squeeze.py"
	"metrics|$BUILD/bench/metrics"
	"profile_overhead|$BUILD/bench/profile_overhead"
)

only=${BENCH:-}
failed=() ran=0
echo "# make bench: $(uname -r), $(nproc) cpus, $(date -u +%Y-%m-%dT%H:%M:%SZ); figures are medians"
for entry in "${benches[@]}"; do
	name=${entry%%|*}
	cmd=${entry#*|}
	[ -z "$only" ] || [[ "$name" == *$only* ]] || continue
	prog=${cmd%% *}
	if [ ! -x "$prog" ] && [ ! -f "$prog" ]; then
		echo "## $name: $prog not built, skipped"
		continue
	fi
	echo "## $name: $cmd ${BENCH_ARGS:-}"
	start=$(date +%s)
	case $prog in
	*.sh) bash $cmd ${BENCH_ARGS:-} ;;
	*.py) python3 $cmd ${BENCH_ARGS:-} ;;
	*) $cmd ${BENCH_ARGS:-} ;;
	esac
	rc=$?
	ran=$((ran + 1))
	echo "## $name: exit $rc after $(($(date +%s) - start)) s"
	[ "$rc" -eq 0 ] || failed+=("$name")
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "# failed: ${failed[*]}"
	exit 1
fi
echo "# $ran benchmark(s) ran"
