#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/fuzz.sh SECONDS [TARGET...]: run each libFuzzer target (build/fuzz/fuzz_*) for
# SECONDS from its seed corpus (tests/fuzz/corpus/TARGET, never written) with its
# dictionary (tests/fuzz/TARGET.dict); new inputs go to $BUILD/fuzz-corpus/TARGET, crash
# inputs to $BUILD/fuzz-artifacts/TARGET/. One summary line per target: executions,
# edges covered (libFuzzer's cov:), features (ft:), and whether it found anything.
# FUZZ_RUNS=N stops each target after N executions instead (whichever comes first).
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$f" ] && targets+=("$(basename "$f")")
	done
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir="$BUILD/fuzz-logs"
mkdir -p "$logdir"
bad=0
for t in "${targets[@]}"; do
	bin="$BUILD/fuzz/$t"
	[ -x "$bin" ] || { echo "fuzz.sh: $bin not built (make fuzzers)" >&2; exit 2; }
	work="$BUILD/fuzz-corpus/$t" art="$BUILD/fuzz-artifacts/$t/"
	mkdir -p "$work" "$art"
	args=(-max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$art" -error_exitcode=1
		-timeout_exitcode=1)
	[ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
	[ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
	[ "$t" = fuzz_arena ] || [ "$t" = fuzz_store ] && args+=(-max_len=70000 -rss_limit_mb=4096)
	seeds=()
	[ -d "tests/fuzz/corpus/$t" ] && seeds=("tests/fuzz/corpus/$t")
	log="$logdir/$t.log"
	"$bin" "${args[@]}" "$work" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	if [ $rc -eq 0 ]; then
		res="no findings"
	else
		res="FOUND (exit $rc): $(ls "$art" | head -3 | tr '\n' ' ')see $log"
		bad=1
	fi
	printf '%-14s %10s execs  %6s edges  %6s features  %s\n' "$t" "${execs:-?}" \
		"${cov:-?}" "${ft:-?}" "$res"
done
exit $bad
