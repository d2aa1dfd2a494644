/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* bpf/events.h: the one header of record structs shared by the BPF programs and
 * memctld. Fixed widths only, a type tag first, explicit padding, size asserts. */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define EV_COMM_LEN 16

enum ev_type {
	EV_EXEC = 1,
	EV_FORK = 2,
	EV_EXIT = 3,
	EV_RSS = 4,
	EV_CGROUP_ATTACH = 5, /* ev_lifecycle: a task of pid moved to another cgroup */
	EV_OOM_KILL = 6, /* ev_oom */
};

/* lifecycle.bpf.c: one record per exec, fork (new thread-group leader) and
 * exit of a thread-group leader. */
struct ev_lifecycle {
	__u32 type; /* EV_EXEC, EV_FORK, EV_EXIT */
	__u32 pid; /* tgid */
	__u32 ppid; /* parent's tgid */
	__u32 exit_code; /* EV_EXIT: task->exit_code */
	__u64 cgroup_id; /* default-hierarchy (cgroup2) id */
	__u64 time_ns; /* bpf_ktime_get_boot_ns() */
	char comm[EV_COMM_LEN];
};
_Static_assert(sizeof(struct ev_lifecycle) == 48, "ev_lifecycle layout");

/* rss.bpf.c: one coalesced record per mm when its total moved by at least the
 * threshold or the interval passed with a change since the last record. */
struct ev_rss {
	__u32 type; /* EV_RSS */
	__u32 pid; /* tgid of the mm's owner */
	__u64 time_ns; /* bpf_ktime_get_boot_ns() */
	__u64 anon_bytes;
	__u64 file_bytes;
	__u64 shmem_bytes;
	__u64 swap_bytes;
	__u64 raw_events; /* rss_stat events folded into this record */
};
_Static_assert(sizeof(struct ev_rss) == 56, "ev_rss layout");

/* Counters a program keeps in a one-element array map "stats" (per-CPU where
 * noted in the program), read by the daemon each tick. */
struct ev_prog_stats {
	__u64 events; /* tracepoint hits */
	__u64 records; /* records submitted to the ring buffer */
	__u64 lost; /* bpf_ringbuf_reserve failures */
	__u64 map_full; /* hash map updates refused */
};
_Static_assert(sizeof(struct ev_prog_stats) == 32, "ev_prog_stats layout");

/* rss.bpf.c: per-mm coalescing state, the value of the hash map "rss_state"
 * (key: the struct mm_struct address as __u64). Synced from a per-CPU cache
 * when a record may be due, so user space reading it each tick sees changes
 * below the threshold only roughly. Counters are pages, as the kernel keeps
 * them, indexed like the kernel's MM_* enum. */
enum ev_rss_counter {
	EV_RSS_FILE = 0, /* MM_FILEPAGES */
	EV_RSS_ANON = 1, /* MM_ANONPAGES */
	EV_RSS_SWAP = 2, /* MM_SWAPENTS */
	EV_RSS_SHMEM = 3, /* MM_SHMEMPAGES */
	EV_RSS_NR_COUNTERS = 4,
};

struct ev_rss_state {
	__u32 pid; /* owner's tgid at the last record (0 while fork copies) */
	__u32 _pad;
	__u64 pages[EV_RSS_NR_COUNTERS]; /* approximate counters at the last sync */
	__u64 last_rss_pages; /* file + anon + shmem at the last record */
	__u64 last_swap_pages; /* swap entries at the last record */
	__u64 last_record_ns; /* bpf_ktime_get_boot_ns() of the last record */
	__u64 next_jiffies; /* jiffies64 when rss_interval_ns has passed again */
	__u64 pending_events; /* rss_stat events since the last record */
};
_Static_assert(sizeof(struct ev_rss_state) == 80, "ev_rss_state layout");

/* vmscan.bpf.c: reclaim counters, no records. One element summed per CPU in
 * the per-CPU array "reclaim_global", and one per memory cgroup in the hash
 * "reclaim_by_cgroup" (key: __u64 memory cgroup id, see bpf/README.md).
 * kswapd_* are only counted globally: kswapd reclaims for everyone. */
struct ev_reclaim_counters {
	__u64 kswapd_wake; /* mm_vmscan_kswapd_wake: a balance run starts */
	__u64 kswapd_sleep; /* mm_vmscan_kswapd_sleep */
	__u64 kswapd_run_ns; /* time between a wake and the next sleep */
	__u64 direct_begin; /* mm_vmscan_direct_reclaim_begin */
	__u64 direct_end;
	__u64 direct_stall_ns; /* sum of begin..end per task */
	__u64 direct_stall_max_ns; /* longest single stall (racy max) */
	__u64 direct_reclaimed_pages; /* nr_reclaimed of direct_reclaim_end */
	__u64 memcg_begin; /* mm_vmscan_memcg_reclaim_begin: limit/high */
	__u64 memcg_end;
	__u64 memcg_stall_ns;
	__u64 memcg_stall_max_ns;
	__u64 memcg_reclaimed_pages;
	__u64 softlimit_begin; /* mm_vmscan_memcg_softlimit_reclaim_begin (v1) */
	__u64 softlimit_end;
	__u64 softlimit_reclaimed_pages;
	__u64 write_folio; /* mm_vmscan_write_folio: reclaim wrote a folio */
	__u64 _reserved;
};
_Static_assert(sizeof(struct ev_reclaim_counters) == 144, "ev_reclaim_counters layout");

/* faults.bpf.c: the value of the hash map "tracked" (key: __u32 tgid). The
 * daemon inserts a tgid (optionally seeded from /proc/PID/stat) and deletes
 * it on exit; the program only counts into existing entries. Bits are x86's
 * page-fault error code (arch/x86/include/asm/trap_pf.h). */
struct ev_fault_counts {
	__u64 faults; /* exceptions:page_fault_user hits */
	__u64 write_faults; /* X86_PF_WRITE */
	__u64 prot_faults; /* X86_PF_PROT: page present, e.g. copy-on-write */
};
_Static_assert(sizeof(struct ev_fault_counts) == 24, "ev_fault_counts layout");

/* faults.bpf.c's per-CPU cache: counts for the tgid this CPU saw last, not
 * yet added to "tracked". The daemon reads it to add them (bpf-loader.c). */
struct fault_cpu_cache {
	__u32 tgid;
	__u32 is_tracked; /* tgid was in "tracked" at the last lookup */
	__u32 unflushed; /* faults since the last lookup */
	__u32 _pad;
	struct ev_fault_counts counts; /* not yet added to "tracked" */
};
_Static_assert(sizeof(struct fault_cpu_cache) == 40, "fault_cpu_cache layout");

/* oom.bpf.c: one record per OOM kill, from oom:mark_victim (the kernel has
 * picked the victim, counted the kill in its memory cgroup and sent SIGKILL;
 * its mm is still whole). Counters are pages, as ev_rss_state's. */
struct ev_oom {
	__u32 type; /* EV_OOM_KILL */
	__u32 pid; /* the victim's tgid */
	__u32 tid; /* the victim thread the kernel picked */
	__u32 uid; /* its uid, as the tracepoint has it */
	__u64 memcg_id; /* its memory cgroup (the id in bpf/README.md); 0 if unknown */
	__u64 time_ns; /* bpf_ktime_get_boot_ns() */
	__u64 pages[EV_RSS_NR_COUNTERS]; /* indexed by enum ev_rss_counter */
	__s32 oom_score_adj;
	__u32 _pad;
	char comm[EV_COMM_LEN];
};
_Static_assert(sizeof(struct ev_oom) == 88, "ev_oom layout");
