// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bpf/vmscan.bpf.c: reclaim counters from the vmscan tracepoints, global (per
 * CPU) and per memory cgroup, read by the daemon each tick. No records. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "prog-stats.h"

#define EEXIST 17
#define VMSCAN_MAX_NODES 1024 /* MAX_NUMNODES with NODES_SHIFT=10 */

enum reclaim_kind {
	RECLAIM_DIRECT = 0,
	RECLAIM_MEMCG = 1,
	RECLAIM_SOFTLIMIT = 2,
};

struct reclaim_key {
	__u32 tid;
	__u32 kind; /* enum reclaim_kind: soft-limit reclaim nests in direct */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ev_reclaim_counters);
} reclaim_global SEC(".maps");

/* Key: the memory cgroup's id, i.e. the kernfs id of css->cgroup of the
 * memory controller, which is the inode number of its directory in the
 * hierarchy the memory controller is mounted on (v1: under
 * /sys/fs/cgroup/memory; v2: the cgroup2 mount). An LRU hash: any cgroup
 * that reclaims gets an entry, tracked by the daemon or not, and the least
 * recently reclaiming ones make room; nobody has to delete dead ids. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct ev_reclaim_counters);
} reclaim_by_cgroup SEC(".maps");

/* begin timestamps of reclaims in progress, per thread and kind */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct reclaim_key);
	__type(value, __u64);
} reclaim_start SEC(".maps");

/* kswapd wake timestamp per node, 0 while asleep */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMSCAN_MAX_NODES);
	__type(key, __u32);
	__type(value, __u64);
} kswapd_wake_ns SEC(".maps");

static const struct ev_reclaim_counters zero_counters;

static __always_inline struct ev_prog_stats *stats_hit(void)
{
	struct ev_prog_stats *st = stats_get();

	if (st)
		st->events++;
	return st;
}

static __always_inline struct ev_reclaim_counters *global_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&reclaim_global, &zero);
}

static __always_inline __u64 css_cgroup_id(struct cgroup_subsys_state *css)
{
	if (!css)
		return 0;
	return BPF_CORE_READ(css, cgroup, kn, id);
}

/* The memory cgroup the current task is charged to; without a memory
 * controller, its default-hierarchy cgroup. */
static __always_inline __u64 current_memcg_id(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct cgroup_subsys_state *css = NULL;
	struct css_set *cset;
	int id;

	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return bpf_get_current_cgroup_id();
	id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	cset = BPF_CORE_READ(task, cgroups);
	if (!cset || id < 0 || id >= 64)
		return bpf_get_current_cgroup_id();
	bpf_core_read(&css, sizeof(css), &cset->subsys[id]);
	return css ? css_cgroup_id(css) : bpf_get_current_cgroup_id();
}

/* The counters of one memory cgroup, created on first use; NULL (counted)
 * when the map is full. */
static __always_inline struct ev_reclaim_counters *cgroup_get(struct ev_prog_stats *st, __u64 cgid)
{
	struct ev_reclaim_counters *c;
	long err;

	if (!cgid)
		return NULL;
	c = bpf_map_lookup_elem(&reclaim_by_cgroup, &cgid);
	if (c)
		return c;
	err = bpf_map_update_elem(&reclaim_by_cgroup, &cgid, &zero_counters, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		if (st)
			st->map_full++;
		return NULL;
	}
	return bpf_map_lookup_elem(&reclaim_by_cgroup, &cgid);
}

static __always_inline void reclaim_begin(enum reclaim_kind kind)
{
	struct ev_prog_stats *st = stats_hit();
	struct reclaim_key key = {
		.tid = (__u32)bpf_get_current_pid_tgid(),
		.kind = kind,
	};
	struct ev_reclaim_counters *g = global_get(), *c;
	__u64 now = bpf_ktime_get_ns();

	c = cgroup_get(st, current_memcg_id());
	switch (kind) {
	case RECLAIM_DIRECT:
		if (g)
			g->direct_begin++;
		if (c)
			__sync_fetch_and_add(&c->direct_begin, 1);
		break;
	case RECLAIM_MEMCG:
		if (g)
			g->memcg_begin++;
		if (c)
			__sync_fetch_and_add(&c->memcg_begin, 1);
		break;
	case RECLAIM_SOFTLIMIT:
		if (g)
			g->softlimit_begin++;
		if (c)
			__sync_fetch_and_add(&c->softlimit_begin, 1);
		break;
	}
	if (bpf_map_update_elem(&reclaim_start, &key, &now, BPF_ANY) && st)
		st->map_full++;
}

static __always_inline void reclaim_end(enum reclaim_kind kind, unsigned long nr_reclaimed)
{
	struct ev_prog_stats *st = stats_hit();
	struct reclaim_key key = {
		.tid = (__u32)bpf_get_current_pid_tgid(),
		.kind = kind,
	};
	struct ev_reclaim_counters *g = global_get(), *c;
	__u64 *start, stall = 0;

	start = bpf_map_lookup_elem(&reclaim_start, &key);
	if (start) {
		/* no begin seen (attached mid-reclaim): count pages, not time */
		stall = bpf_ktime_get_ns() - *start;
		bpf_map_delete_elem(&reclaim_start, &key);
	}
	c = cgroup_get(st, current_memcg_id());
	switch (kind) {
	case RECLAIM_DIRECT:
		if (g) {
			g->direct_end++;
			g->direct_stall_ns += stall;
			g->direct_reclaimed_pages += nr_reclaimed;
			if (stall > g->direct_stall_max_ns)
				g->direct_stall_max_ns = stall;
		}
		if (c) {
			__sync_fetch_and_add(&c->direct_end, 1);
			__sync_fetch_and_add(&c->direct_stall_ns, stall);
			__sync_fetch_and_add(&c->direct_reclaimed_pages, nr_reclaimed);
			if (stall > c->direct_stall_max_ns)
				c->direct_stall_max_ns = stall;
		}
		break;
	case RECLAIM_MEMCG:
		if (g) {
			g->memcg_end++;
			g->memcg_stall_ns += stall;
			g->memcg_reclaimed_pages += nr_reclaimed;
			if (stall > g->memcg_stall_max_ns)
				g->memcg_stall_max_ns = stall;
		}
		if (c) {
			__sync_fetch_and_add(&c->memcg_end, 1);
			__sync_fetch_and_add(&c->memcg_stall_ns, stall);
			__sync_fetch_and_add(&c->memcg_reclaimed_pages, nr_reclaimed);
			if (stall > c->memcg_stall_max_ns)
				c->memcg_stall_max_ns = stall;
		}
		break;
	case RECLAIM_SOFTLIMIT:
		/* runs inside kswapd or direct reclaim: its time is theirs */
		if (g) {
			g->softlimit_end++;
			g->softlimit_reclaimed_pages += nr_reclaimed;
		}
		if (c) {
			__sync_fetch_and_add(&c->softlimit_end, 1);
			__sync_fetch_and_add(&c->softlimit_reclaimed_pages, nr_reclaimed);
		}
		break;
	}
}

SEC("tp_btf/mm_vmscan_kswapd_wake")
int BPF_PROG(kswapd_wake, int nid, int zid, int order)
{
	struct ev_reclaim_counters *g = global_get();
	__u32 node = nid;
	__u64 *t;

	stats_hit();
	if (g)
		g->kswapd_wake++;
	/* kswapd may run several balance passes without sleeping: keep the
	 * first wake */
	t = bpf_map_lookup_elem(&kswapd_wake_ns, &node);
	if (t && !*t)
		*t = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/mm_vmscan_kswapd_sleep")
int BPF_PROG(kswapd_sleep, int nid)
{
	struct ev_reclaim_counters *g = global_get();
	__u32 node = nid;
	__u64 *t;

	stats_hit();
	t = bpf_map_lookup_elem(&kswapd_wake_ns, &node);
	if (g) {
		g->kswapd_sleep++;
		if (t && *t)
			g->kswapd_run_ns += bpf_ktime_get_ns() - *t;
	}
	if (t)
		*t = 0;
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(direct_reclaim_begin, int order, gfp_t gfp_flags)
{
	reclaim_begin(RECLAIM_DIRECT);
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(direct_reclaim_end, unsigned long nr_reclaimed)
{
	reclaim_end(RECLAIM_DIRECT, nr_reclaimed);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memcg_reclaim_begin, int order, gfp_t gfp_flags)
{
	reclaim_begin(RECLAIM_MEMCG);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(memcg_reclaim_end, unsigned long nr_reclaimed)
{
	reclaim_end(RECLAIM_MEMCG, nr_reclaimed);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_softlimit_reclaim_begin")
int BPF_PROG(softlimit_reclaim_begin, int order, gfp_t gfp_flags)
{
	reclaim_begin(RECLAIM_SOFTLIMIT);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_softlimit_reclaim_end")
int BPF_PROG(softlimit_reclaim_end, unsigned long nr_reclaimed)
{
	reclaim_end(RECLAIM_SOFTLIMIT, nr_reclaimed);
	return 0;
}

/* The folio's own memcg, not the writer's: kswapd writes for everyone. The
 * low bits of memcg_data are flags (MEMCG_DATA_*, at most 3 bits). */
SEC("tp_btf/mm_vmscan_write_folio")
int BPF_PROG(write_folio, struct folio *folio)
{
	struct ev_prog_stats *st = stats_hit();
	struct ev_reclaim_counters *g = global_get(), *c;
	__u64 cgid = 0;

	if (g)
		g->write_folio++;
	if (bpf_core_field_exists(folio->memcg_data)) {
		unsigned long data = BPF_CORE_READ(folio, memcg_data);
		struct mem_cgroup *memcg = (struct mem_cgroup *)(data & ~7UL);

		if (memcg)
			cgid = css_cgroup_id(__builtin_preserve_access_index(&memcg->css));
	} else {
		cgid = current_memcg_id();
	}
	c = cgroup_get(st, cgid);
	if (c)
		__sync_fetch_and_add(&c->write_folio, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
