// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bpf/oom.bpf.c: one struct ev_oom per OOM kill (oom:mark_victim): the victim's
 * tgid, comm, uid, memory cgroup and RSS as the kernel kills it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "prog-stats.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Its own small ring: a kill is rare and must not be lost because a fork
 * storm filled lifecycle's ring (which RingBufferSize= may make 4 KiB).
 * 64 KiB holds 682 records; the daemon is woken for each. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} oom_events SEC(".maps");

/* The memory cgroup's id: the kernfs id of the memory controller's
 * css->cgroup, as vmscan.bpf.c keys it; without a memory controller, the
 * task's default-hierarchy cgroup. */
static __always_inline __u64 task_memcg_id(struct task_struct *task)
{
	struct cgroup_subsys_state *css = NULL;
	struct css_set *cset;
	int id;

	cset = BPF_CORE_READ(task, cgroups);
	if (!cset)
		return 0;
	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return BPF_CORE_READ(cset, dfl_cgrp, kn, id);
	id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	if (id < 0 || id >= 64)
		return 0;
	bpf_core_read(&css, sizeof(css), &cset->subsys[id]);
	if (!css)
		return 0;
	return BPF_CORE_READ(css, cgroup, kn, id);
}

static __always_inline __u64 counter_pages(__s64 v)
{
	return v > 0 ? v : 0;
}

/* Since Linux 6.8 the tracepoint passes the task (and its uid); before, only
 * a pid, and the loader leaves this program off (bpf-loader.c). */
SEC("tp_btf/mark_victim")
int BPF_PROG(oom_mark_victim, struct task_struct *task, uid_t uid)
{
	struct ev_prog_stats *s = stats_get();
	struct mm_struct *mm;
	struct ev_oom *e;

	if (s)
		s->events++;
	e = bpf_ringbuf_reserve(&oom_events, sizeof(*e), 0);
	if (!e) {
		if (s)
			s->lost++;
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = EV_OOM_KILL;
	e->pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	e->uid = uid;
	e->memcg_id = task_memcg_id(task);
	e->time_ns = bpf_ktime_get_boot_ns();
	/* approximate per-CPU counters, as get_mm_counter() and the
	 * tracepoint's own anon_rss/file_rss/shmem_rss read them */
	mm = BPF_CORE_READ(task, mm);
	if (mm) {
		e->pages[EV_RSS_FILE] =
			counter_pages(BPF_CORE_READ(mm, rss_stat[EV_RSS_FILE].count));
		e->pages[EV_RSS_ANON] =
			counter_pages(BPF_CORE_READ(mm, rss_stat[EV_RSS_ANON].count));
		e->pages[EV_RSS_SWAP] =
			counter_pages(BPF_CORE_READ(mm, rss_stat[EV_RSS_SWAP].count));
		e->pages[EV_RSS_SHMEM] =
			counter_pages(BPF_CORE_READ(mm, rss_stat[EV_RSS_SHMEM].count));
	}
	e->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_ringbuf_submit(e, 0);
	if (s)
		s->records++;
	return 0;
}
