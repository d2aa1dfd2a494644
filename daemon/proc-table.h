/* SPDX-License-Identifier: MIT */
/* daemon/proc-table.h: every process (thread-group leader), keyed by tgid and
 * held by a pidfd. Built from /proc at start and after lost records, then kept
 * by BPF events. A table: it records, it does not decide. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uthash.h>

#include "policy/growth.h"

struct cgroup_entry;
struct cgroup_table;

struct proc_entry {
	pid_t pid;
	pid_t ppid;
	char comm[16];
	int pidfd; /* -1: unpinned (over the pidfd budget, or the open failed) */
	uint64_t start_time_usec; /* CLOCK_BOOTTIME */
	uint64_t rss_anon_bytes;
	uint64_t rss_file_bytes;
	uint64_t rss_shmem_bytes;
	uint64_t swap_bytes;
	uint64_t rss_time_usec; /* CLOCK_BOOTTIME of the last RSS figure */
	/* lifetime faults from /proc/PID/stat, as of faults_usec (CLOCK_MONOTONIC,
	 * 0 = never read): refreshed on demand within a request's budget */
	uint64_t minor_faults;
	uint64_t major_faults;
	uint64_t faults_usec;
	struct growth_state growth; /* RSS series (policy/growth) */
	struct growth_result growth_now; /* its evaluation at the last tick */
	struct cgroup_entry *cgroup; /* NULL: unknown, resolved at the next tick */
	bool cgroup_stale; /* migrated (cgroup_attach_task) or its cgroup vanished */
	bool seen; /* resync's mark */
	/* who runs it and how it was started, for listings: read from /proc the
	 * first time a page of `memctl ps` holds it (proc_table_read_identity),
	 * kept until its next exec record (or a resync), so listing a 10,000-process
	 * table pages by page does not re-read 10,000 files per request */
	bool identity_valid;
	uint32_t euid; /* PROC_UID_UNKNOWN if unknown */
	uint32_t cmdline_bytes; /* as read, at most PROC_CMDLINE_MAX (then cut) */
	char *cmdline; /* malloc'd, arguments joined by spaces; NULL until read */
	UT_hash_handle hh;
};

/* Bytes of a command line kept (with its NUL); what ipc_proc_entry carries. */
#define PROC_CMDLINE_MAX 128
#define PROC_UID_UNKNOWN UINT32_MAX

struct proc_table;

/*
 * The /proc reads one client request may cause. A 24-byte CTL_LIST sorted by
 * faults used to read /proc/PID/stat for every process: 112 ms of daemon time
 * with 10,000 of them (issue 9). Every reader a request calls takes from one
 * budget; when it is spent, callers serve what the table holds and count the
 * rest in reads_skipped. Shared by all per-request /proc readers (fault counts
 * here; others, such as a command line for `ps`, take from the same budget).
 */
struct proc_budget {
	unsigned reads_left;
	unsigned reads_skipped; /* wanted, over budget: the table's older figure was used */
};

/* Take one read from b: false (and counted) when it is spent. */
static inline bool proc_budget_take(struct proc_budget *b)
{
	if (b->reads_left == 0) {
		b->reads_skipped++;
		return false;
	}
	b->reads_left--;
	return true;
}

int proc_table_new(const char *proc_root, struct cgroup_table *cgroups, struct proc_table **ret);
struct proc_table *proc_table_free(struct proc_table *t);

unsigned proc_table_count(const struct proc_table *t);
struct proc_entry *proc_table_get(struct proc_table *t, pid_t pid);
/* Iterate: for (e = proc_table_first(t); e; e = e->hh.next) */
struct proc_entry *proc_table_first(struct proc_table *t);

/*
 * Add pid if missing (reading /proc for comm, ppid, start time, RSS), and
 * return it. -ESRCH if the process is already gone, -ENOMEM.
 */
int proc_table_add(struct proc_table *t, pid_t pid, struct proc_entry **ret);
/*
 * Add (or update) pid from an exec/fork record without reading /proc: the
 * record is the kernel's word on identity, and a fork storm must not cost two
 * file reads per process. RSS follows from rss records, the cgroup from the
 * next tick. new_process (a fork record) replaces any entry holding pid: that
 * is a dead predecessor. -ESRCH if it already exited.
 */
int proc_table_add_event(struct proc_table *t, pid_t pid, pid_t ppid, const char *comm,
			 uint64_t time_ns, bool new_process, struct proc_entry **ret);
void proc_table_remove(struct proc_table *t, pid_t pid);

/* Remove the tracked processes whose pidfd reports an exit, calling cb for
 * each first; non-blocking (the manager calls it from its drain timer). */
unsigned proc_table_reap(struct proc_table *t, void (*cb)(void *userdata, pid_t pid),
			 void *userdata);

/* Update from a coalesced RSS record (bytes and CLOCK_BOOTTIME ns), and feed
 * the entry's growth series. */
void proc_table_rss(struct proc_table *t, struct proc_entry *e, uint64_t time_ns, uint64_t anon,
		    uint64_t file, uint64_t shmem, uint64_t swap);

/* The growth detector's parameters (policy/growth.h); p must outlive t.
 * Defaults until set. */
void proc_table_set_growth_params(struct proc_table *t, const struct growth_params *p);
/* Evaluate every entry's growth series at now_usec (CLOCK_BOOTTIME) into its
 * growth_now; cb (may be NULL) hears of each episode that starts or ends. */
void proc_table_evaluate_growth(struct proc_table *t, uint64_t now_usec,
				void (*cb)(void *userdata, struct proc_entry *e,
					   enum growth_event ev),
				void *userdata);

/*
 * Reconcile with /proc: add processes the table lacks, drop those that are
 * gone, refresh RSS of all from /proc/PID/status. Used at start and after
 * the kernel dropped records. Returns the number of changes (added + removed)
 * or -errno if /proc cannot be listed.
 */
int proc_table_resync(struct proc_table *t);

/* Resolve the memory cgroup of entries that have none or a stale one. Cheap
 * when nothing is pending. Returns how many were resolved. */
unsigned proc_table_resolve_cgroups(struct proc_table *t);
/* Fill e's identity (euid, command line) from /proc unless it holds one
 * already. 0, or -ESRCH when the process is gone (nothing is cached then). */
int proc_table_read_identity(struct proc_table *t, struct proc_entry *e);
/*
 * Fault counts: e->minor_faults/major_faults are re-read from /proc/PID/stat
 * when older than max_age_usec and b has a read left. Returns 1 when read, 0
 * when the table's figure stands (fresh enough, or over budget: see
 * b->reads_skipped), -ESRCH if the process is gone, another -errno.
 */
int proc_table_refresh_faults(struct proc_table *t, struct proc_entry *e, uint64_t max_age_usec,
			      struct proc_budget *b);
/*
 * Refresh the fault counts older than max_age_usec across the table, round
 * robin from where the last call stopped, until b is spent: repeated calls
 * reach every entry. Returns how many were read.
 */
unsigned proc_table_refresh_faults_all(struct proc_table *t, uint64_t max_age_usec,
				       struct proc_budget *b);

/*
 * The file limit. Each pinned process holds a pidfd; at most max are pinned
 * (the manager sets RLIMIT_NOFILE minus what its sockets, connections and file
 * reads need). Beyond it, and when pidfd_open() fails with EMFILE/ENFILE, new
 * processes are tracked unpinned: exits then come from BPF exit records and
 * resyncs, and a resync or re-pin notices a reused PID by its start time. Said
 * once in the log per episode.
 */
void proc_table_set_pidfd_max(struct proc_table *t, unsigned max);
unsigned proc_table_pidfd_max(const struct proc_table *t);
/* Tracked processes without a pidfd (0 on a fixture ProcRoot, where none are). */
unsigned proc_table_unpinned(const struct proc_table *t);
/* Pin up to budget unpinned entries while there is room, each checked to be
 * the process it was (start time); a reused PID's entry is dropped. Returns how
 * many were pinned. */
unsigned proc_table_repin(struct proc_table *t, unsigned budget);
/* A task of e moved: resolve its cgroup again at the next tick. */
void proc_table_mark_cgroup_stale(struct proc_table *t, struct proc_entry *e);
/* Re-read one entry's cgroup from /proc now (for `memctl show`). */
int proc_table_resolve_cgroup(struct proc_table *t, struct proc_entry *e);
