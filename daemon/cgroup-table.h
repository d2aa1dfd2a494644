/* SPDX-License-Identifier: MIT */
/* daemon/cgroup-table.h: the memory cgroups that hold tracked processes, v1 or
 * v2, refreshed each tick from their files. An entry lives while processes are
 * in it, and a while longer if it has a limit or had OOM kills (see below). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "daemon/cgroup-read.h"
#include "policy/growth.h"

struct cgroup_entry {
	char *path; /* relative to the hierarchy root, "/" for the root */
	uint32_t id; /* never reused while the daemon runs; > 0 */
	unsigned nr_procs;
	bool valid; /* mem holds a successful read */
	bool gone; /* its directory vanished; freed when nr_procs drops to 0 */
	struct cgroup_mem mem;
	uint64_t read_usec; /* CLOCK_MONOTONIC of the last successful read */
	uint64_t memcg_id; /* inode of its directory = the kernel's memcg id (bpf/README.md) */
	uint64_t reclaims; /* from BPF vmscan, read each tick */
	uint64_t reclaim_stall_ns;
	uint64_t reclaimed_pages;

	/* OOM kills, told apart by source (cgroup_table_refresh() explains) */
	bool oom_base_valid;
	uint64_t oom_kill_base; /* the local kill counter, as far as kills are accounted */
	uint32_t oom_traced; /* kills oom:mark_victim reported, not yet in the counter */
	uint32_t oom_held; /* counter rises no trace explained yet */
	uint64_t oom_held_usec; /* CLOCK_MONOTONIC when the first of those was seen */
	uint32_t oom_untraced_due; /* kills only the counter saw: for the caller to report */
	uint64_t failcnt_seen; /* v1 failcnt / v2 memory.events max at the last read */
	uint64_t last_event_usec; /* CLOCK_MONOTONIC of the last OOM kill or limit hit; 0 = none */
	uint64_t last_oom_kill_usec; /* CLOCK_REALTIME of the last OOM kill seen; 0 = none */
	uint64_t empty_usec; /* CLOCK_MONOTONIC since nr_procs is 0; 0 while it is not */
	/* usage (its members together, kernel memory included: v1
	 * memory.usage_in_bytes, v2 memory.current) as a growth series, fed
	 * at each successful read (CLOCK_MONOTONIC), and its evaluation at the
	 * last tick (policy/growth.h; time_to_limit_usec from it) */
	struct growth_state growth;
	struct growth_result growth_now;
	uint64_t time_to_limit_usec; /* UINT64_MAX = never / no limit */
	UT_hash_handle hh;
};

/*
 * An entry whose last tracked process left is kept (nr_procs 0, "retained")
 * while its directory exists and it has a limit (v1 limit_in_bytes, v2
 * memory.max or memory.high) or had an OOM kill or a limit hit, for
 * CGROUP_RETAIN_USEC after the later of the last process leaving and its last
 * such event. At most CGROUP_RETAIN_MAX entries are retained: beyond that the
 * one idle longest is dropped. Others go when their last process does.
 */
#define CGROUP_RETAIN_USEC (10 * 60 * UINT64_C(1000000))
#define CGROUP_RETAIN_MAX 64

/* A counter rise oom:mark_victim did not explain within this long is an OOM
 * kill only the counter saw (its record is drained within 100 ms). */
#define CGROUP_OOM_TRACE_GRACE_USEC (1 * UINT64_C(1000000))

struct cgroup_table;

/*
 * root: the memory hierarchy's mount point (v1: e.g. /sys/fs/cgroup/memory,
 * v2: the cgroup2 mount); "" = find it with libcgroup. hierarchy: 1 or 2, or
 * 0 = detect (v1 when a v1 memory controller is mounted, else v2).
 */
int cgroup_table_new(const char *root, int hierarchy, struct cgroup_table **ret);
struct cgroup_table *cgroup_table_free(struct cgroup_table *t);

const char *cgroup_table_root(const struct cgroup_table *t);
int cgroup_table_hierarchy(const struct cgroup_table *t);
unsigned cgroup_table_count(const struct cgroup_table *t);
struct cgroup_entry *cgroup_table_first(struct cgroup_table *t);
struct cgroup_entry *cgroup_table_find(struct cgroup_table *t, const char *path);

/* Take a reference on path's entry, creating (and reading) it if needed. */
int cgroup_table_ref(struct cgroup_table *t, const char *path, struct cgroup_entry **ret);
/* Drop one; the entry stays (retained, see above) or is freed. */
void cgroup_table_unref(struct cgroup_table *t, struct cgroup_entry *e);
/* How many entries hold no tracked process (retained). */
unsigned cgroup_table_retained(const struct cgroup_table *t);

/*
 * The entry of the memory cgroup whose id (directory inode, bpf/README.md)
 * is memcg_id: from the table, or else found by walking the hierarchy (at
 * most 32 levels and 16,384 directories, no symlinks followed) and added as a
 * retained entry. -ENOENT when no such directory exists (removed since),
 * -E2BIG when the walk gave up, -ENOMEM.
 */
int cgroup_table_lookup_memcg(struct cgroup_table *t, uint64_t memcg_id, struct cgroup_entry **ret);

/*
 * Whether oom:mark_victim reports kills (the BPF program is loaded). Without
 * it every rise of a cgroup's kill counter is at once an untraced kill.
 */
void cgroup_table_set_oom_traced(struct cgroup_table *t, bool traced);
/* oom:mark_victim reported a kill in e at now (CLOCK_MONOTONIC). */
void cgroup_table_oom_traced(struct cgroup_table *t, struct cgroup_entry *e, uint64_t now);
/* Kills of e only the counter saw since the last call (reported with no
 * victim); resets the count. */
uint32_t cgroup_entry_take_untraced_kills(struct cgroup_entry *e);

/* Re-read one entry now. -ENOENT if it vanished (marked gone). */
int cgroup_table_reread(struct cgroup_table *t, struct cgroup_entry *e);
/*
 * Re-read every cgroup in the table. Vanished ones are marked gone (their
 * processes re-resolve) and retained ones that vanished or expired are freed.
 * Returns how many vanished.
 *
 * OOM kills: each read compares the cgroup's own kill counter (v1
 * memory.oom_control oom_kill, v2 memory.events.local oom_kill, else
 * memory.events) with the last one. The kernel counts a kill before
 * oom:mark_victim fires (__oom_kill_process()), so every traced kill shows
 * up as a rise by the next read; a rise no trace explains within
 * CGROUP_OOM_TRACE_GRACE_USEC is an untraced kill
 * (cgroup_entry_take_untraced_kills()). Kills before the first read are the
 * baseline, not news.
 */
unsigned cgroup_table_refresh(struct cgroup_table *t, uint64_t now_usec);
