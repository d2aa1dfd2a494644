// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bpf/rss.bpf.c: kmem:rss_stat coalesced in the kernel. Per-mm state in a hash
 * map; a struct ev_rss record only when the owner's RSS moved by at least
 * rss_threshold_bytes, or rss_interval_ns passed since the last record. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "prog-stats.h"
#include "ringbuf.h"

/* task_struct.__state while copy_process() builds the task (include/linux/sched.h) */
#define TASK_NEW 0x00000800
#define EEXIST 17
#define NSEC_PER_SEC 1000000000ULL

/* Knobs, set by the loader between open and load. */
const volatile __u64 rss_threshold_bytes = 1 << 20;
const volatile __u64 rss_interval_ns = NSEC_PER_SEC;
const volatile __u32 tgid_filter = 0; /* 0: every process */
const volatile __u32 page_shift = 12; /* log2(sysconf(_SC_PAGESIZE)) */

/* rss_interval_ns in jiffies, measured against bpf_ktime_get_boot_ns() over
 * the first second (HZ is not in BTF, and a __kconfig extern fails the load
 * where neither /proc/config.gz nor /boot/config-* exists); 0 until then, and
 * the interval is checked in ns meanwhile. Races between CPUs are benign. */
__u64 interval_jiffies;
__u64 calib_jiffies;
__u64 calib_ns;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u64); /* struct mm_struct * */
	__type(value, struct ev_rss_state);
} rss_state SEC(".maps");

/* Records are tagged (EV_RSS), so the loader may share one ring buffer with
 * lifecycle.bpf.c through bpf_map__reuse_fd(). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* One per CPU: the mm this CPU saw last, the events folded for it here and
 * copies of its state at the last sync. A run of events for the same mm
 * (one 4 KiB fault each) costs no hash lookup and no atomic until it may
 * cross the threshold or the interval; then the shared state decides. */
struct rss_cpu_cache {
	__u64 mm; /* key, 0 if none */
	__u64 pending_events; /* folded here, not yet in rss_state */
	__u64 last_rss_pages;
	__u64 last_swap_pages;
	__u64 last_record_ns;
	__u64 next_jiffies;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rss_cpu_cache);
} rss_cpu SEC(".maps");

/*
 * Cost. This program runs once per 4 KiB page faulted (~2.2 us each here).
 * Measured with BPF_ENABLE_STATS on this machine: a hash lookup +26 ns,
 * bpf_probe_read_kernel() (BPF_CORE_READ) +18 ns per read,
 * bpf_ktime_get_*_ns() +40 ns, bpf_jiffies64() +10 ns. Hence the per-CPU
 * cache above, direct loads from tp_btf's typed arguments (still CO-RE:
 * vmlinux.h marks every struct preserve_access_index; the JIT emits plain
 * loads with an exception-table fixup) and an interval kept in jiffies once
 * calibrated.
 */

/* The four counters in pages, as get_mm_counter() and the tracepoint's own
 * "size" read them: percpu_counter_read_positive(), short of the exact sum
 * by up to percpu_counter_batch pages per CPU (here 2 CPUs x 32 pages =
 * 256 KiB). An exact sum needs per-CPU offsets: this_cpu_off is not in this
 * kernel's kallsyms (no CONFIG_KALLSYMS_ALL) and __percpu has no BTF type
 * tag, so bpf_per_cpu_ptr() cannot reach them. MM_* is an anonymous enum in
 * BTF: members are indexed by the constants it has had since v4.5. */
static __always_inline __u64 counter_pages(__s64 v)
{
	return v > 0 ? v : 0;
}

static __always_inline void mm_counters_read(struct mm_struct *mm, __u64 *pages)
{
	pages[EV_RSS_FILE] = counter_pages(mm->rss_stat[EV_RSS_FILE].count);
	pages[EV_RSS_ANON] = counter_pages(mm->rss_stat[EV_RSS_ANON].count);
	pages[EV_RSS_SWAP] = counter_pages(mm->rss_stat[EV_RSS_SWAP].count);
	pages[EV_RSS_SHMEM] = counter_pages(mm->rss_stat[EV_RSS_SHMEM].count);
}

/* The owner's tgid: the event may fire for another process's mm (fork copies
 * into the child's mm from the parent, reclaim, process_madvise). Returns 0
 * if unknown. Sets *ret_building while copy_process() builds the owner: its
 * tgid is still the parent's then. */
static __always_inline __u32 mm_owner_tgid(struct mm_struct *mm, bool *ret_building)
{
	struct task_struct *owner;

	*ret_building = false;
	if (bpf_core_field_exists(mm->owner)) {
		owner = mm->owner;
		if (!owner)
			return 0;
		if (owner->__state & TASK_NEW)
			*ret_building = true;
		return owner->tgid;
	}
	/* !CONFIG_MEMCG: only the current task's own mm can be attributed */
	owner = bpf_get_current_task_btf();
	if (owner->mm != mm)
		return 0;
	return owner->tgid;
}

static __always_inline bool mm_tearing_down(struct mm_struct *mm)
{
	/* mmput() dropped the last user: exit_mmap() is zapping the pages */
	return mm->mm_users.counter == 0;
}

static __always_inline __u64 abs_diff(__u64 a, __u64 b)
{
	return a > b ? a - b : b - a;
}

/* Whether the interval since the last record has passed. */
static __always_inline bool interval_due(__u64 last_record_ns, __u64 next_jiffies)
{
	if (next_jiffies)
		return bpf_jiffies64() >= next_jiffies;
	return bpf_ktime_get_boot_ns() - last_record_ns >= rss_interval_ns;
}

/* Whether a record is due against a state's (or a cache's copy of its)
 * last record. */
static __always_inline bool record_due(__u64 rss, __u64 swap, __u64 last_rss, __u64 last_swap,
				       __u64 last_record_ns, __u64 next_jiffies)
{
	if ((abs_diff(rss, last_rss) << page_shift) >= rss_threshold_bytes ||
	    (abs_diff(swap, last_swap) << page_shift) >= rss_threshold_bytes)
		return true;
	return interval_due(last_record_ns, next_jiffies);
}

/* Called on slow paths with a fresh bpf_ktime_get_boot_ns(). */
static __always_inline void interval_calibrate(__u64 now_ns)
{
	__u64 j, hz;

	if (interval_jiffies)
		return;
	j = bpf_jiffies64();
	if (!calib_ns) {
		calib_jiffies = j;
		calib_ns = now_ns;
		return;
	}
	if (now_ns - calib_ns < NSEC_PER_SEC)
		return;
	hz = (j - calib_jiffies) * NSEC_PER_SEC / (now_ns - calib_ns);
	interval_jiffies = rss_interval_ns * hz / NSEC_PER_SEC ?: 1;
}

/* 0 (check in ns) until the interval is calibrated */
static __always_inline __u64 next_jiffies_from_now(void)
{
	return interval_jiffies ? bpf_jiffies64() + interval_jiffies : 0;
}

static __always_inline void cache_sync(struct rss_cpu_cache *c, __u64 key,
				       const struct ev_rss_state *s)
{
	c->mm = key;
	c->last_rss_pages = s->last_rss_pages;
	c->last_swap_pages = s->last_swap_pages;
	c->last_record_ns = s->last_record_ns;
	c->next_jiffies = s->next_jiffies;
}

/* Hand this CPU's folded events to the state of the mm it cached, if that
 * state still exists, and forget the mm. */
static __always_inline void cache_flush(struct ev_prog_stats *st, struct rss_cpu_cache *c)
{
	struct ev_rss_state *s;
	__u64 key = c->mm;

	if (st)
		st->events += c->pending_events;
	if (key && c->pending_events) {
		s = bpf_map_lookup_elem(&rss_state, &key);
		if (s)
			__sync_fetch_and_add(&s->pending_events, c->pending_events);
	}
	c->mm = 0;
	c->pending_events = 0;
}

static __always_inline void rss_emit(struct ev_prog_stats *st, struct ev_rss_state *s, __u32 tgid,
				     __u64 rss, __u64 swap)
{
	__u64 folded = s->pending_events;
	__u64 now = bpf_ktime_get_boot_ns();
	struct ev_rss *e;

	/* Advance the state even if the ring buffer is full: one lost record
	 * is counted once, and the daemon resynchronises from /proc. */
	__sync_fetch_and_add(&s->pending_events, -folded);
	s->pid = tgid;
	s->last_rss_pages = rss;
	s->last_swap_pages = swap;
	s->last_record_ns = now;
	interval_calibrate(now);
	s->next_jiffies = next_jiffies_from_now();

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		if (st)
			st->lost++;
		return;
	}
	e->type = EV_RSS;
	e->pid = tgid;
	e->time_ns = now;
	e->anon_bytes = s->pages[EV_RSS_ANON] << page_shift;
	e->file_bytes = s->pages[EV_RSS_FILE] << page_shift;
	e->shmem_bytes = s->pages[EV_RSS_SHMEM] << page_shift;
	e->swap_bytes = s->pages[EV_RSS_SWAP] << page_shift;
	e->raw_events = folded;
	bpf_ringbuf_submit(e, ringbuf_wakeup_flags(&events));
	if (st)
		st->records++;
}

/* Creates the state of an mm seen for the first time. The first record comes
 * after the threshold or the interval, so short-lived small processes (the
 * exec/exit churn) cost no records; the daemon reads /proc when it adds one. */
static __always_inline struct ev_rss_state *rss_state_new(struct ev_prog_stats *st,
							  struct mm_struct *mm, __u64 key)
{
	struct ev_rss_state init = {};
	bool building;
	long err;

	init.pid = mm_owner_tgid(mm, &building);
	if (tgid_filter && init.pid != tgid_filter)
		return NULL;
	if (building)
		init.pid = 0; /* still the parent's tgid */
	init.last_record_ns = bpf_ktime_get_boot_ns();
	interval_calibrate(init.last_record_ns);
	init.next_jiffies = next_jiffies_from_now();
	err = bpf_map_update_elem(&rss_state, &key, &init, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		if (st)
			st->map_full++;
		return NULL;
	}
	return bpf_map_lookup_elem(&rss_state, &key);
}

/*
 * On the fast path the counters are read on every RSS_CHECK_EVERY-th event of a
 * run and the (inlined) jiffies clock on every event: the interval is exact, and
 * a threshold crossing is seen at most RSS_CHECK_EVERY - 1 events late (60 KiB
 * at one 4 KiB page per event). Five loads through the mm pointer (each a
 * checked load in the JIT) were most of the program's own cost per event.
 */
#define RSS_CHECK_EVERY 16

SEC("tp_btf/rss_stat")
int BPF_PROG(rss_stat, struct mm_struct *mm, int member)
{
	struct ev_prog_stats *st;
	struct rss_cpu_cache *c;
	struct ev_rss_state *s;
	__u64 key = (__u64)mm, pages[EV_RSS_NR_COUNTERS], rss, swap;
	__u32 zero = 0, tgid;
	bool building;

	c = bpf_map_lookup_elem(&rss_cpu, &zero);
	if (!c)
		return 0;
	/* fast path: the mm this CPU cached, nothing due yet; raw events are
	 * counted here and added to stats on the slow path. A torn-down mm is
	 * caught on the slow path (zapping its pages crosses the threshold; its
	 * state is usually gone already, see rss_process_exit); a new mm at a
	 * recycled address meets a stale cache that the slow path replaces. */
	if (c->mm == key) {
		c->pending_events++;
		if (c->pending_events % RSS_CHECK_EVERY) {
			if (!interval_due(c->last_record_ns, c->next_jiffies))
				return 0;
		} else {
			mm_counters_read(mm, pages);
			if (!record_due(pages[EV_RSS_FILE] + pages[EV_RSS_ANON] +
						pages[EV_RSS_SHMEM],
					pages[EV_RSS_SWAP], c->last_rss_pages, c->last_swap_pages,
					c->last_record_ns, c->next_jiffies))
				return 0;
		}
	} else {
		cache_flush(stats_get(), c);
		c->pending_events = 1;
	}
	st = stats_get();
	mm_counters_read(mm, pages);
	rss = pages[EV_RSS_FILE] + pages[EV_RSS_ANON] + pages[EV_RSS_SHMEM];
	swap = pages[EV_RSS_SWAP];

	/* slow path: the shared state decides */
	s = bpf_map_lookup_elem(&rss_state, &key);
	if (mm_tearing_down(mm)) {
		/* the lifecycle's exit record tells the daemon; no last record */
		if (st)
			st->events += c->pending_events;
		if (s)
			bpf_map_delete_elem(&rss_state, &key);
		c->mm = 0;
		c->pending_events = 0;
		return 0;
	}
	if (!s) {
		s = rss_state_new(st, mm, key);
		if (!s) {
			c->mm = 0;
			c->pending_events = 0;
			return 0;
		}
	}
	__sync_fetch_and_add(&s->pending_events, c->pending_events);
	if (st)
		st->events += c->pending_events;
	c->pending_events = 0;
	s->pages[EV_RSS_FILE] = pages[EV_RSS_FILE];
	s->pages[EV_RSS_ANON] = pages[EV_RSS_ANON];
	s->pages[EV_RSS_SWAP] = pages[EV_RSS_SWAP];
	s->pages[EV_RSS_SHMEM] = pages[EV_RSS_SHMEM];

	if (record_due(rss, swap, s->last_rss_pages, s->last_swap_pages, s->last_record_ns,
		       s->next_jiffies)) {
		tgid = mm_owner_tgid(mm, &building);
		/* while fork copies into the child's mm, keep folding */
		if (!building && tgid)
			rss_emit(st, s, tgid, rss, swap);
	}
	cache_sync(c, key, s);
	return 0;
}

/* The whole thread group is gone: drop its mm's state. Recent kernels fire
 * this tracepoint before exit_mm() (on 6.18, task->mm was set in 20 of 20
 * exits measured); where it comes after, task->mm is NULL and the teardown
 * check in rss_stat frees the state instead. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(rss_process_exit, struct task_struct *p)
{
	struct mm_struct *mm;
	__u64 key;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	mm = BPF_CORE_READ(p, mm);
	if (!mm)
		return 0;
	key = (__u64)mm;
	bpf_map_delete_elem(&rss_state, &key);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
