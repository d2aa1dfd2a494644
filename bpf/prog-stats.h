/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* bpf/prog-stats.h: the per-CPU "stats" map (struct ev_prog_stats) every
 * program keeps, and its accessor. Each object that includes it gets its own
 * map; the loader sums it over CPUs (bpf_loader_prog_stats()). */
#pragma once

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ev_prog_stats);
} stats SEC(".maps");

static __always_inline struct ev_prog_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}
