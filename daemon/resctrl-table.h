/* SPDX-License-Identifier: MIT */
/* daemon/resctrl-table.h: the units memctld monitors through resctrl (enrolled workloads,
 * tracked cgroups), their monitoring groups, RMIDs from the pool, and bandwidth figures. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uthash.h>

#include "daemon/config.h"
#include "daemon/resctrl-read.h"
#include "ipc/ipc.h"

struct cgroup_table;
struct enroll_table;
struct eventlog;
struct proc_table;

/* What memctld knows of one event of one domain of a group: the last value read and
 * the rate it gave. */
struct resctrl_counter_state {
	uint64_t value; /* last value read */
	uint64_t usec; /* CLOCK_MONOTONIC of that read; 0 = no baseline */
	uint64_t rate; /* bytes/s from the last two reads (occupancy: bytes) */
	uint32_t fresh_tick; /* tick of the last good read */
	uint32_t reserved;
};

struct resctrl_domain_state {
	struct resctrl_counter_state total, local, occupancy;
};

struct resctrl_unit_key {
	uint32_t kind; /* IPC_BW_UNIT_PROCESS or IPC_BW_UNIT_CGROUP */
	uint32_t id; /* pid, or the cgroup table's id */
	uint64_t start_usec; /* processes: start time (a reused pid is another unit) */
};

struct resctrl_unit {
	struct resctrl_unit_key key;
	uint64_t serial; /* never reused; the pool's owner key */
	char group[RESCTRL_GROUP_NAME_MAX]; /* mon_groups/<group> */
	char name[IPC_PATH_MAX]; /* workload name or cgroup path */
	uint32_t state; /* enum ipc_bw_state */
	uint32_t rmid; /* RMID_POOL_NONE when none */
	char reason[IPC_NAME_MAX * 2]; /* why not monitored */
	uint64_t priority;
	int64_t growth_accum; /* cgroups: sum of members' growth this tick */
	int mon_fd; /* mon_groups/<group>/mon_data, -1 */
	bool seen;
	bool refused_logged;
	uint32_t unavailable_reads;
	uint32_t tasks_refused; /* writes refused (another control group) */
	struct resctrl_domain_state d[RESCTRL_DOMAINS_MAX];
	struct ipc_bandwidth_figures bw; /* summed over domains */
	uint32_t readback_cost_permyriad;
	UT_hash_handle hh; /* by key */
	UT_hash_handle hh_serial; /* by serial */
};

struct resctrl_domain_totals {
	struct resctrl_domain_state s; /* the root group: all of the default control group */
	uint64_t peak_bytes_per_sec; /* highest total seen, at least PeakBandwidthMin= */
	uint32_t readback_cost_permyriad;
	uint32_t valid; /* IPC_BW_VALID_* */
};

struct resctrl_table;

/*
 * Find resctrl per the [Resctrl] configuration, remove stale memctl-* groups left by a
 * crashed daemon, count the RMIDs others hold. Always returns 0 with a table, on or
 * off (resctrl_table_on(), resctrl_table_status() says why), unless Resctrl=yes and
 * resctrl is unusable: then -errno (logged). -ENOMEM.
 */
int resctrl_table_new(const struct memctld_config *c, struct eventlog *log,
		      struct resctrl_table **ret);
/* Remove every group memctld made and free. Accepts NULL; returns NULL. */
struct resctrl_table *resctrl_table_free(struct resctrl_table *t);

bool resctrl_table_on(const struct resctrl_table *t);
/* "off (why)" or "on: N of M RMIDs in use, ..." */
const char *resctrl_table_status(const struct resctrl_table *t);

/*
 * One tick: choose the units (enrolled workloads, tracked cgroups, per Monitor=), give
 * RMIDs by priority, make or remove groups, place the units' tasks in them, read every
 * group's counters and the domains' totals. now_usec: CLOCK_MONOTONIC.
 */
void resctrl_table_tick(struct resctrl_table *t, struct proc_table *procs,
			struct cgroup_table *cgroups, const struct enroll_table *enroll,
			uint64_t now_usec);

/* Iterate units: for (u = resctrl_table_first(t); u; u = u->hh.next) */
struct resctrl_unit *resctrl_table_first(struct resctrl_table *t);
unsigned resctrl_table_count(const struct resctrl_table *t);
/* The unit of an enrolled process (pid with its start time), or of a cgroup id. */
struct resctrl_unit *resctrl_table_find_process(struct resctrl_table *t, pid_t pid,
						uint64_t start_usec);
struct resctrl_unit *resctrl_table_find_cgroup(struct resctrl_table *t, uint32_t cgroup_id);

/* Readback cost multiplier for a workload (fair_bandwidth_factor() as permyriad): its
 * unit's when monitored, else the busiest domain's; 10000 when off. */
uint32_t resctrl_table_readback_cost(struct resctrl_table *t, pid_t pid, uint64_t start_usec);

/* The pool, domains and quarantine list for `memctl bandwidth` (fixed part). */
void resctrl_table_fill_reply(struct resctrl_table *t, uint64_t now_usec,
			      struct ipc_ctl_bandwidth_reply *ret);
void resctrl_table_fill_entry(const struct resctrl_unit *u, struct ipc_bandwidth_entry *ret);
