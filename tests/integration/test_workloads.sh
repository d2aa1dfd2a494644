#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/integration/test_workloads.sh: every workload, briefly, in plain and arena mode and
# for every --data kind: exit 0, mismatches=0, and in arena mode stats JSON that shows the
# data really compressed. Never asserts on time.
set -u
BUILD=${BUILD:-build}
W="$BUILD/workloads"
workloads="anon_streamer interactive_burst random_touch_heap mmap_churn"
kinds="zero-heavy text mixed random"
region_mb=16

if command -v python3 >/dev/null; then
	# json_get FILE EXPR: EXPR over the object s, e.g. "s['ratio_e2e_post_comp']"
	json_get() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
else
	echo "skip: python3 is needed to read the stats JSON"
	exit 77
fi

d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fails=0 checks=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# run NAME EXPECTED_RC ARGS...: run a workload, check its exit status and summary line
run() {
	local name=$1 want=$2 out rc
	shift 2
	checks=$((checks + 1))
	out=$("$W/$name" "$@" 2>"$d/stderr")
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name $* exited $rc, expected $want"
		sed 's/^/    | /' "$d/stderr" | head -20
		echo "    | $out"
		return 1
	fi
	[ "$want" -ne 0 ] && return 0
	if ! grep -q " mismatches=0 errors=0 " <<<"$out"; then
		fail "$name $*: summary lacks mismatches=0 errors=0: $out"
		return 1
	fi
	echo "ok   ${out:0:150}"
}

for w in $workloads; do
	[ -x "$W/$w" ] || { fail "$W/$w not built"; continue; }
done
[ "$fails" -eq 0 ] || exit 1

echo "== usage: --help exits 0, bad values exit 2"
for w in $workloads; do
	checks=$((checks + 1))
	"$W/$w" --help | grep -q -- --arena-stats-json || fail "$w --help"
	run "$w" 2 --data bogus
	run "$w" 2 --region-mb 0
	run "$w" 2 --arena-cap-mb 4 # without --use-mem-arena
done

echo "== plain memory: every workload x every data kind"
for w in $workloads; do
	for k in $kinds; do
		run "$w" 0 --duration-sec 0.4 --region-mb $region_mb --data "$k" --seed 7
	done
done

echo "== arena: every workload x every data kind; stats JSON checked"
for w in $workloads; do
	for k in $kinds; do
		j="$d/$w-$k.json"
		run "$w" 0 --duration-sec 1 --region-mb $region_mb --data "$k" --seed 7 \
			--use-mem-arena --arena-stats-json "$j" || continue
		checks=$((checks + 1))
		if [ ! -s "$j" ]; then
			fail "$w --data $k: no stats JSON written"
			continue
		fi
		comp=$(json_get "$j" "s['chunks_lz4_fast'] + s['chunks_lz4'] + s['chunks_zstd']")
		ratio=$(json_get "$j" "s['ratio_e2e_post_comp']")
		errs=$(json_get "$j" "s['errors_checksum'] + s['errors_nomem']")
		echo "     stats: compressed_chunks=$comp ratio_e2e_post_comp=$ratio errors=$errs"
		[ "$errs" = 0 ] || fail "$w --data $k: arena counted $errs errors"
		case $k in
		random) ;;
		*) [ "$comp" -gt 0 ] || fail "$w --data $k: no compressed chunks ($comp)" ;;
		esac
		if [ "$k" = zero-heavy ]; then
			awk -v r="$ratio" 'BEGIN { exit !(r > 1.5) }' ||
				fail "$w --data zero-heavy: ratio_e2e_post_comp $ratio <= 1.5"
		fi
	done
done

echo "== arena with background loops, 4 KiB chunks, a 2 MiB store cap, 10% admission"
for w in $workloads; do
	j="$d/$w-loops.json"
	run "$w" 0 --duration-sec 1.2 --region-mb $region_mb --data mixed --seed 3 \
		--use-mem-arena --arena-autoloops --arena-chunk-kb 4 --arena-cap-mb 2 \
		--arena-min-savings-pct 10 --arena-stats-json "$j" || continue
	checks=$((checks + 1))
	cap=$(json_get "$j" "s['store_capacity_bytes']")
	mapped=$(json_get "$j" "s['store_mapped_bytes']")
	echo "     stats: store_capacity_bytes=$cap store_mapped_bytes=$mapped"
	[ "$cap" = $((2 << 20)) ] || fail "$w: store cap $cap, expected $((2 << 20))"
	[ "$mapped" -le "$cap" ] || fail "$w: store maps $mapped bytes over its cap $cap"
done

echo "== arena with the userfaultfd readback (ARENA_CONFIG_USERFAULTFD), loops on"
for w in $workloads; do
	j="$d/$w-uffd.json"
	run "$w" 0 --duration-sec 1 --region-mb $region_mb --data zero-heavy --seed 5 \
		--use-mem-arena --arena-autoloops --arena-userfaultfd --arena-stats-json "$j" || continue
	checks=$((checks + 1))
	uffd=$(json_get "$j" "s['readback_userfaultfd']")
	comp=$(json_get "$j" "s['chunks_lz4_fast'] + s['chunks_lz4'] + s['chunks_zstd']")
	rb=$(json_get "$j" "s['readbacks'] + s['prefetches']")
	errs=$(json_get "$j" "s['errors_checksum'] + s['errors_nomem']")
	echo "     stats: readback_userfaultfd=$uffd compressed_chunks=$comp readbacks+prefetches=$rb errors=$errs"
	[ "$uffd" = 1 ] || fail "$w: --arena-userfaultfd, but readback_userfaultfd=$uffd"
	# the workload verified every byte it read; this says some came back that way
	[ "$rb" -gt 0 ] || fail "$w: nothing read back through the userfaultfd path"
	[ "$errs" = 0 ] || fail "$w: arena counted $errs errors"
done
run anon_streamer 2 --arena-userfaultfd # without --use-mem-arena

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
