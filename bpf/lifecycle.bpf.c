// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bpf/lifecycle.bpf.c: exec, fork and exit of thread-group leaders and cgroup
 * migrations into a ring buffer (struct ev_lifecycle). tp_btf: typed task pointers, no tracefs needed. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.h"
#include "prog-stats.h"
#include "ringbuf.h"

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h; not in BTF (a #define) */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* user space resizes before load */
} events SEC(".maps");

static __always_inline int emit(__u32 type, struct task_struct *task, __u32 exit_code)
{
	struct ev_prog_stats *s = stats_get();
	struct ev_lifecycle *e;

	if (s)
		s->events++;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		if (s)
			s->lost++;
		return 0;
	}
	e->type = type;
	e->pid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = exit_code;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->time_ns = bpf_ktime_get_boot_ns();
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_ringbuf_submit(e, ringbuf_wakeup_flags(&events));
	if (s)
		s->records++;
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(lifecycle_exec, struct task_struct *p)
{
	return emit(EV_EXEC, p, 0);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(lifecycle_fork, struct task_struct *parent, struct task_struct *child)
{
	/* a new thread is not a new process; kernel threads have no memory to watch */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid) ||
	    BPF_CORE_READ(child, flags) & PF_KTHREAD)
		return 0;
	return emit(EV_FORK, child, 0);
}

/* A task moved between cgroups (any hierarchy): the daemon re-resolves the
 * process's memory cgroup, since nothing else tells it. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(lifecycle_cgroup, struct cgroup *dst, const char *path, struct task_struct *task)
{
	return emit(EV_CGROUP_ATTACH, task, 0);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(lifecycle_exit, struct task_struct *p)
{
	if (BPF_CORE_READ(p, pid) != BPF_CORE_READ(p, tgid) || BPF_CORE_READ(p, flags) & PF_KTHREAD)
		return 0;
	return emit(EV_EXIT, p, BPF_CORE_READ(p, exit_code));
}
