#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/integration/test_bench_smoke.sh: every benchmark in bench/ runs in its smoke
# mode and prints the figures docs/benchmarks.md quotes, with its data intact. No
# speed is asserted (benchmarks measure, tests check behaviour): only that each one
# still runs, still verifies what it moves, and still reports every key a reader of
# docs/benchmarks.md looks for.
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
fails=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# has KEY: the last run printed KEY=<number> (or inf/n/a where the key allows it)
has() {
	grep -qE "(^| )$1=[0-9.]+" "$out" || fail "$2: no $1= in its output"
}

# run NAME ARGS...: run $BUILD/bench/NAME into $out; a non-zero exit is a failure
run() {
	local name=$1
	shift
	if ! "$BUILD/bench/$name" "$@" >"$out" 2>&1; then
		fail "bench/$name $* exited non-zero"
		tail -20 "$out"
	fi
}

# value KEY: the first numeric value of KEY in the last run's output
value() {
	grep -oE "(^| )$1=[0-9.]+" "$out" | head -1 | cut -d= -f2
}

# --- arena: every section on two data sets, round trips checked by the bench itself
run arena --quick --datasets text-like,repetitive
grep -q 'summary section=all .*failures=0' "$out" || fail "arena: summary missing or failures"
for k in arena_vs_raw_compress_min arena_vs_raw_decompress_min access_p50_ns_max \
	access_p99_ns_max fair_vs_oracle_min ceiling_vs_raw_decompress_min \
	arena_vs_bound_compress_min minor_fault_p50_ns arena_ratio; do
	has "$k" arena
done
if [ "$(id -u)" = 0 ] && [ -e /sys/class/zram-control/hot_add ]; then
	has ratio_vs_zram_min arena
fi
# each data set's latency line: the default arena's figures and those of one with
# ARENA_CONFIG_USERFAULTFD measured in the same run, with whether the host gave it
# a userfaultfd (and why not, if not)
lat=$(grep 'section=latency' "$out" | grep -v '^dataset=none ')
[ "$(grep -c . <<<"$lat")" = 2 ] || fail "arena: not one latency line per data set"
while read -r line; do
	[ -n "$line" ] || continue
	for k in access_p50_ns access_p99_ns uffd_access_p50_ns uffd_access_p99_ns \
		uffd_vs_plain_p50 uffd_vs_plain_p99; do
		grep -qE "(^| )$k=[0-9.]+" <<<"$line" || fail "arena: no $k= in: $line"
	done
	case $line in
	*" uffd_readback=yes "*) ;;
	*" uffd_readback=no "*" uffd_reason="?*) ;;
	*) fail "arena: no uffd_readback=yes, or uffd_readback=no with uffd_reason=, in: $line" ;;
	esac
done <<<"$lat"
# the ceiling is a bound: the raw codec into resident memory beats decoding into
# pages the kernel must hand out first, by far for LZ4 (a wrong bound would say ~1)
c=$(value ceiling_vs_raw_decompress_min)
awk -v c="${c:-9}" 'BEGIN { exit !(c > 0 && c < 1.5) }' ||
	fail "arena: ceiling_vs_raw_decompress_min=$c is not a plausible ratio"

# the classify section: figures for every data set, and the random one rejected by the
# verdict (classifier + probe), faster than trying LZ4 is not asserted (a speed)
run arena --quick --sections classify --datasets random,one-value,text-like
for k in classify_ns verdict_ns lz4_fast4_ns classify_vs_lz4 classify_added_vs_lz4; do
	has "$k" "arena classify"
done
r=$(grep '^dataset=random section=classify' "$out" | grep -oE 'rejected_by_verdict=[0-9]+' | cut -d= -f2)
c=$(grep '^dataset=random section=classify' "$out" | grep -oE ' chunks=[0-9]+' | cut -d= -f2)
[ -n "$r" ] && [ -n "$c" ] && [ "$((r * 10))" -ge "$((c * 9))" ] ||
	fail "arena classify: random chunks not rejected by the verdict ($r of $c)"
grep -q '^dataset=one-value section=classify.*uniform:[1-9]' "$out" ||
	fail "arena classify: one-value pages not classified uniform"

# --- bpf_overhead: the default (interleaved memctld) method, and a program toggle
run bpf_overhead --quick
for k in slowdown_ratio records_per_raw_event raw_events_per_record q10_ratio; do
	has "$k" bpf_overhead
done
grep -qE 'slowdown_ratio_ci95=[0-9.]+\.\.[0-9.]+' "$out" || fail "bpf_overhead: no interval"
# coalescing is behaviour, not speed: records exist and are far fewer than events
r=$(value records_per_raw_event)
awk -v r="${r:-1}" 'BEGIN { exit !(r > 0 && r < 0.05) }' ||
	fail "bpf_overhead: records_per_raw_event=$r (no records, or not coalesced)"
run bpf_overhead --restart --pairs 1 --blocks 2
has slowdown_ratio "bpf_overhead --restart"
run bpf_overhead --rss-only --pairs 8 --block-mib 4
has slowdown_ratio "bpf_overhead --rss-only"
has bpf_ns_per_run "bpf_overhead --rss-only"

# --- churn: the storm and the held processes are all seen, nothing lost
run churn --quick
for k in daemon_cpu_pct lost_records daemon_rss_bytes_holding tracked_processes daemon_cpu_pct_holding; do
	has "$k" churn
done
[ "$(value lost_records)" = 0 ] || fail "churn: lost_records=$(value lost_records)"
held=$(value held_processes)
tracked=$(value tracked_processes)
[ -n "$held" ] && [ -n "$tracked" ] && [ "$tracked" -ge "$held" ] ||
	fail "churn: tracked_processes=$tracked < held_processes=$held"

# --- ctl_list: every case answered and measured (the bench checks each reply's type)
run ctl_list --quick
has this_ms_per_request ctl_list
[ "$(grep -c 'this_ms_per_request=' "$out")" = 4 ] || fail "ctl_list: not one line per case"

# --- readback: both paths return the same bytes (the bench compares them) and report
run readback --quick
for k in populate_p50_ns uffd_p50_ns uffd_vs_populate_p50; do
	has "$k" readback
done

# --- peer_shape: every contender on every pattern, every byte checked by the bench;
# each line carries the figures docs/benchmarks.md quotes, and the arenas' lines are
# also given against the bound
run peer_shape --quick
grep -q 'summary failures=0' "$out" || fail "peer_shape: summary missing or failures"
for p in one alternating random; do
	for c in default lz4 bound; do
		line=$(grep "^pattern=$p contender=$c " "$out" | grep -v 'vs=bound')
		[ -n "$line" ] || { fail "peer_shape: no $p/$c line"; continue; }
		for k in ratio_e2e compress_ms seq_p50_ns seq_p99_ns rand_p50_ns rand_p99_ns \
			stall_p50_ns stall_p99_ns reread_ms chunks_zstd; do
			grep -qE "(^| )$k=[0-9.]+" <<<"$line" || fail "peer_shape: no $k= in: $line"
		done
	done
	grep -q "^pattern=$p contender=default vs=bound .*compress_ms=" "$out" ||
		fail "peer_shape: no $p default-vs-bound line"
done
# one-value pages decompress on every first touch: the bench saw those stalls
d=$(grep '^pattern=one contender=default ' "$out" | grep -oE 'decompressed=[0-9]+' | cut -d= -f2)
[ "${d:-0}" -gt 0 ] || fail "peer_shape: no decompression seen on one-value pages"

# --- resctrl: every counter of every group read and parsed (the bench checks)
run resctrl --quick
for k in read_cpu_ms_per_tick kept_fd_pread_cpu_ms_per_tick read_vs_kept_fd; do
	has "$k" resctrl
done
[ "$(value bad_reads)" = 0 ] || fail "resctrl: bad_reads=$(value bad_reads)"

# --- ps_identity (a script): both listings measured and the ratio printed
if ! BUILD=$BUILD bash bench/ps_identity.sh --procs 50 --rounds 1 >"$out" 2>&1; then
	fail "bench/ps_identity.sh exited non-zero"
	tail -20 "$out"
fi
for k in procs_started first_listing_usec next_listing_usec first_over_next; do
	has "$k" ps_identity
done

# --- metrics: a rendering, cached scrapes and an idle tick measured
run metrics --quick
for k in tracked_processes exposition_bytes render_cpu_ms_median cached_scrape_cpu_ms_median \
	idle_cpu_ms_per_tick_median render_over_idle_tick; do
	has "$k" metrics
done

# --- profile_overhead: every sample written is read back (it exits non-zero if not)
run profile_overhead --quick --seconds 1
for k in none_daemon_cpu_pct p10_20hz_daemon_cpu_pct p10_20hz_samples_per_s \
	p100_100hz_daemon_cpu_pct p100_100hz_samples_per_s p100_100hz_max_lateness_us; do
	has "$k" profile_overhead
done

if [ $fails -gt 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all benchmark smoke checks passed"
