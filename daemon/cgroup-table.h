/* SPDX-License-Identifier: MIT */
/* daemon/cgroup-table.h: the memory cgroups that hold tracked processes, v1 or
 * v2, refreshed each tick from their files. Entries are reference-counted by
 * the processes in them; a cgroup that vanishes is dropped quietly. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "daemon/cgroup-read.h"

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
	UT_hash_handle hh;
};

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
void cgroup_table_unref(struct cgroup_table *t, struct cgroup_entry *e);

/* Re-read one entry now. -ENOENT if it vanished (marked gone). */
int cgroup_table_reread(struct cgroup_table *t, struct cgroup_entry *e);
/* Re-read every referenced cgroup. Vanished ones are marked gone (their
 * processes re-resolve). Returns how many vanished. */
unsigned cgroup_table_refresh(struct cgroup_table *t, uint64_t now_usec);
