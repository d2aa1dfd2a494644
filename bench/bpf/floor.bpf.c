// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bench/bpf/floor.bpf.c: an empty program on kmem:rss_stat, for
 * bench/bpf_overhead --floor: what attaching anything to this per-page
 * tracepoint costs, before any work is done. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/rss_stat")
int BPF_PROG(floor_rss_stat, struct mm_struct *mm, int member)
{
	return 0;
}
