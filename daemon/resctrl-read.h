/* SPDX-License-Identifier: MIT */
/* daemon/resctrl-read.h: the resctrl source: find and describe the resctrl filesystem,
 * make and remove memctld's monitoring groups, feed them task IDs, read their counters.
 * No logging, no decisions: -errno, with the kernel's own reason where it gives one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/resctrl-parse.h"

#define RESCTRL_DEFAULT_ROOT "/sys/fs/resctrl"
#define RESCTRL_GROUP_PREFIX "memctl-" /* memctld's own groups, and only those */
#define RESCTRL_DOMAINS_MAX 16 /* L3 domains read; more are ignored (and reported) */
#define RESCTRL_GROUP_NAME_MAX 64

struct resctrl_info {
	uint32_t num_rmids; /* info/L3_MON/num_rmids: groups possible, default included */
	uint32_t features; /* RESCTRL_F_* from info/L3_MON/mon_features */
	uint64_t max_threshold_occupancy; /* bytes; 0 if the file is absent */
	uint32_t n_domains;
	uint32_t domain_ids[RESCTRL_DOMAINS_MAX]; /* mon_L3_XX of the root's mon_data */
	uint32_t domains_ignored; /* beyond RESCTRL_DOMAINS_MAX */
	bool mounted_by_us;
};

/* One domain's counters of one group (or of the root: the whole default group). */
struct resctrl_domain_sample {
	struct resctrl_counter total; /* mbm_total_bytes */
	struct resctrl_counter local; /* mbm_local_bytes */
	struct resctrl_counter occupancy; /* llc_occupancy */
};

struct resctrl_sample {
	uint32_t n_domains;
	struct resctrl_domain_sample d[RESCTRL_DOMAINS_MAX];
};

/*
 * Open root (a resctrl mount, or a test's emulator) and describe it. With may_mount
 * and root empty and not a mount yet, mount resctrl there first (mount -t resctrl
 * resctrl root). Returns an O_DIRECTORY fd (CLOEXEC) of root and fills *ret, or -errno
 * with a one-line reason in why (always written):
 *   -ENOENT      root does not exist (no resctrl in this kernel, or not mounted)
 *   -ENODEV      mounting failed: no RDT/resctrl support in this kernel or CPU
 *   -EOPNOTSUPP  mounted, but without L3 monitoring (info/L3_MON or its files missing)
 *   -EINVAL      a file of info/L3_MON did not parse
 */
int resctrl_open(const char *root, bool may_mount, struct resctrl_info *ret, char *why,
		 size_t why_size);

/* "memctl-<what>" into buf; -ENAMETOOLONG if it does not fit. */
int resctrl_group_name(char *buf, size_t size, const char *what);

/*
 * Make the monitoring group mon_groups/<name> (mkdir). Returns 0, or as the kernel
 * says: -ENOSPC (out of RMIDs), -EBUSY (only RMIDs in limbo left), -EEXIST, or
 * another -errno.
 */
int resctrl_group_create(int rootfd, const char *name);
/* Remove it (rmdir; its tasks go back to the default group). 0 or -ENOENT, -errno. */
int resctrl_group_remove(int rootfd, const char *name);

/*
 * Open mon_groups/<name>/mon_data (O_DIRECTORY|O_PATH) for resctrl_sample_read(), or
 * "mon_data" of the root with name NULL. Returns an fd or -errno (-ENOENT: gone).
 */
int resctrl_mon_data_open(int rootfd, const char *name);

/*
 * Read every domain's counters that features has, under a mon_data fd. A file that
 * reads "Unavailable"/"Error" is reported in its counter's status, not as a failure.
 * Returns 0, -ENOENT if the group was removed under us (ENOENT or ENODEV from the
 * kernel), -EINVAL if a file did not parse, another -errno.
 */
int resctrl_sample_read(int mon_data_fd, const struct resctrl_info *info,
			struct resctrl_sample *ret);

/*
 * Write task IDs into mon_groups/<name>/tasks (root "tasks" with name NULL: back to the
 * default group), one write() each so that one thread that exited (ESRCH) does not
 * abort the rest. Returns the number written (>= 0) and counts the ones gone in
 * *ret_gone (may be NULL), or -errno for the first failure other than ESRCH (e.g.
 * -EINVAL: the task belongs to another control group; -ENOENT: the group is gone).
 */
int resctrl_tasks_write(int rootfd, const char *name, const pid_t *tids, size_t n,
			unsigned *ret_gone);

/*
 * Task IDs of process pid: /proc/<pid>/task under proc_root, into tids (at most max).
 * Returns the number (may be max when there are more), -ESRCH if it is gone.
 */
int resctrl_list_threads(const char *proc_root, pid_t pid, pid_t *tids, size_t max);

/* Remove every mon_groups/memctl-* (left by a crashed daemon). Returns the number
 * removed, or -errno if mon_groups cannot be listed. */
int resctrl_remove_stale(int rootfd);

/* Groups memctld did not make, each holding an RMID: control groups at the top (not
 * info, mon_groups, mon_data) and every monitoring group under them or under
 * mon_groups that is not memctl-*. Returns the count or -errno. */
int resctrl_count_foreign(int rootfd);

/* info/last_cmd_status, the kernel's reason for the last failed command, into buf
 * (one line, no newline; "" if unreadable). */
void resctrl_last_cmd_status(int rootfd, char *buf, size_t size);
