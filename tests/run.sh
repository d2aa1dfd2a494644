#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/run.sh: run every test suite `make test` built: unit (cmocka, sanitizers),
# fuzz (bounded, fixed seed), units (systemd-analyze), integration (real daemon,
# real BPF, real cgroups). One line per suite, then "N passed, N failed, N skipped".
set -u
BUILD=${BUILD:-build}
export BUILD
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logdir="$BUILD/test-logs"
mkdir -p "$logdir"
passed=0 failed=0 skipped=0 failures=()
# ASan: leaks are bugs; UBSan: abort on the first report
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run NAME CMD...: exit 0 pass, 77 skip (the host lacks a feature), else fail
run() {
	local name=$1 log="$logdir/$1.log" start rc
	mkdir -p "$(dirname "$log")"
	shift
	start=$(date +%s.%N)
	"$@" >"$log" 2>&1
	rc=$?
	local dur
	dur=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
	case $rc in
	0) passed=$((passed + 1)); printf 'PASS  %-34s %6ss\n' "$name" "$dur" ;;
	77) skipped=$((skipped + 1)); printf 'SKIP  %-34s %s\n' "$name" "$(grep -m1 -i 'skip' "$log")" ;;
	*) failed=$((failed + 1)); failures+=("$name"); printf 'FAIL  %-34s %6ss (exit %d)\n' "$name" "$dur" "$rc"
	   sed 's/^/      | /' "$log" | tail -40 ;;
	esac
}

only=${TESTS:-}
want() { [ -z "$only" ] || [[ "$1" == *$only* ]]; }

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=unit/$(basename "$t")
	want "$n" && run "$n" "$t"
done

# libFuzzer: a bounded number of runs with a fixed seed, from the committed seed
# corpus (each past crash input is in it: a regression run) and dictionary; new
# inputs go to a temp dir. Runs per target keep each under ~10 s here (the slow ones
# build a whole arena per input); `make fuzz` runs them for minutes.
for f in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	b=$(basename "$f")
	n=fuzz/$b
	case $b in
	fuzz_arena) runs=${FUZZ_ARENA_RUNS:-20000} ;;
	fuzz_store) runs=${FUZZ_STORE_RUNS:-400} ;;
	fuzz_config) runs=${FUZZ_CONFIG_RUNS:-50000} ;;
	*) runs=${FUZZ_RUNS:-200000} ;;
	esac
	extra=()
	[ -f "tests/fuzz/$b.dict" ] && extra+=(-dict="tests/fuzz/$b.dict")
	corpus=$(mktemp -d)
	seeds=()
	[ -d "tests/fuzz/corpus/$b" ] && seeds=("tests/fuzz/corpus/$b")
	# libFuzzer exits 77 on a crash by default: that is run()'s "skip"
	want "$n" && run "$n" "$f" -runs="$runs" -seed=1 -max_len=70000 -error_exitcode=1 \
		-timeout_exitcode=1 "${extra[@]}" "$corpus" "${seeds[@]}"
	rm -rf "$corpus"
done

# real BPF programs, loaded one by one outside the daemon
if [ -x "$BUILD/tests/bpf_smoke" ] && want integration/bpf_smoke; then
	run integration/bpf_smoke "$BUILD/tests/bpf_smoke"
fi

# policy/growth scored offline: held-out synthetic traces and recorded ones;
# the summary line is shown either way
if [ -x "$BUILD/accuracy/accuracy" ] && want accuracy/offline; then
	run accuracy/offline "$BUILD/accuracy/accuracy" --traces tests/accuracy/traces
	grep -h '^accuracy:\|^recorded traces only:' "$logdir/accuracy/offline.log" | sed 's/^/      /'
fi

for t in tests/integration/test_*.sh tests/integration/test_*.py; do
	[ -f "$t" ] || continue
	n=integration/$(basename "$t")
	case $t in
	*.py) want "$n" && run "$n" python3 "$t" ;;
	*) want "$n" && run "$n" bash "$t" ;;
	esac
done

echo
if [ $failed -gt 0 ]; then
	echo "failed: ${failures[*]} (logs in $logdir)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
