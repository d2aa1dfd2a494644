// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bpf/faults.bpf.c: exceptions:page_fault_user counted per tgid, for the
 * processes the daemon tracks (it fills the hash map "tracked"). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "events.h"
#include "prog-stats.h"

#define X86_PF_PROT 0x1
#define X86_PF_WRITE 0x2

/* The daemon owns the set: it inserts a tgid when its process table adds the
 * process and deletes it on exit. This program never inserts, so the fault
 * path (one event per 4 KiB page) is a lookup and an add, never an
 * allocation; the map cannot fill behind the daemon's back; a reused tgid is
 * never credited with its predecessor's faults. Faults before insertion are
 * in /proc/PID/stat (minflt + majflt), which the daemon may seed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32); /* tgid */
	__type(value, struct ev_fault_counts);
} tracked SEC(".maps");

/* One per CPU: counts for the tgid this CPU saw last, added to "tracked" in
 * batches. A hash lookup and three atomics per fault cost ~30 ns here (of a
 * ~2.2 us 4 KiB fault, measured with BPF_ENABLE_STATS); batching makes the
 * common case a few plain loads and stores. The daemon reads "tracked" and
 * then adds each CPU's unflushed counts for the tgid (struct fault_cpu_cache
 * in events.h), so an idle process's last < FAULT_BATCH faults are not left
 * behind in a CPU's cache until that CPU faults again. */
#define FAULT_BATCH 64

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_cpu_cache);
} fault_cpu SEC(".maps");

/* Add the cached counts to the cached tgid's entry (if the daemon still
 * tracks it) and look the tgid up again. */
static __always_inline void cache_flush(struct fault_cpu_cache *c, __u32 tgid)
{
	struct ev_fault_counts *t;

	if (c->is_tracked && c->counts.faults) {
		t = bpf_map_lookup_elem(&tracked, &c->tgid);
		if (t) {
			__sync_fetch_and_add(&t->faults, c->counts.faults);
			__sync_fetch_and_add(&t->write_faults, c->counts.write_faults);
			__sync_fetch_and_add(&t->prot_faults, c->counts.prot_faults);
		}
	}
	c->counts.faults = 0;
	c->counts.write_faults = 0;
	c->counts.prot_faults = 0;
	c->unflushed = 0;
	c->tgid = tgid;
	c->is_tracked = bpf_map_lookup_elem(&tracked, &tgid) != NULL;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct fault_cpu_cache *c;
	struct ev_prog_stats *st;
	__u32 zero = 0;

	st = stats_get();
	if (st)
		st->events++;
	c = bpf_map_lookup_elem(&fault_cpu, &zero);
	if (!c)
		return 0;
	/* another tgid, or a batch's worth: also notices a tgid the daemon
	 * has just inserted or deleted */
	if (c->tgid != tgid)
		cache_flush(c, tgid);
	if (c->is_tracked) {
		c->counts.faults++;
		if (error_code & X86_PF_WRITE)
			c->counts.write_faults++;
		if (error_code & X86_PF_PROT)
			c->counts.prot_faults++;
	}
	if (++c->unflushed >= FAULT_BATCH)
		cache_flush(c, tgid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
