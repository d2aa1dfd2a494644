#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/integration/test_demo.sh: `make demo` (scripts/demo.sh) in a short run: the
# enrolled workload completes verified in its too-small cgroup, nothing is OOM-killed,
# commands were sent and acked, and nothing it made is left behind.
set -u
BUILD=${BUILD:-build}
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root"; exit 77; }
[ -d /sys/fs/cgroup/memory ] || { echo "skip: no cgroup v1 memory controller"; exit 77; }
before=$(ls -d /sys/fs/cgroup/memory/memctl-demo-* /tmp/memctl-demo.* 2>/dev/null | wc -l)
out=$(BUILD=$BUILD scripts/demo.sh --seconds 8 --quiet 2>&1)
rc=$?
printf '%s\n' "$out"
fail() { echo "FAIL: $*"; exit 1; }
[ $rc -eq 0 ] || fail "demo exited $rc"
grep -q '^OOM kills *0$' <<<"$out" || fail "an OOM kill"
grep -q '^interactive_burst *exit 0, mismatches 0$' <<<"$out" || fail "the workload did not finish verified"
acks=$(sed -n 's|^COMPRESS commands / acks *\([0-9]*\) / \([0-9]*\)$|\2|p' <<<"$out")
[ "${acks:-0}" -gt 0 ] || fail "no command acked"
after=$(ls -d /sys/fs/cgroup/memory/memctl-demo-* /tmp/memctl-demo.* 2>/dev/null | wc -l)
[ "$after" -eq "$before" ] || fail "left behind: cgroups or directories"
echo "demo: ok ($acks acks)"
