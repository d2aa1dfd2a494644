/* SPDX-License-Identifier: MIT */
/* daemon/manager.h: the one struct holding memctld's state, passed explicitly.
 * Sources fill its tables, policy reads them, enrollment acts. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "daemon/config.h"
#include "daemon/cgroup-read.h"
#include "daemon/eventlog.h"
#include "daemon/proc-parse.h"

struct bpf_loader;
struct cgroup_table;
struct control_server;
struct decision_log;
struct enroll_table;
struct metrics;
struct proc_table;
struct profiler;
struct resctrl_table;

/* The most recent coalesced RSS records, for `memctl record` (CTL_RECORDS). */
#define MANAGER_RECORDS 2048

struct manager_counters {
	uint64_t events_exec;
	uint64_t events_fork;
	uint64_t events_exit;
	uint64_t events_rss;
	uint64_t resyncs;
	uint64_t datagrams_rejected;
	uint64_t control_refused; /* connections over MaxConnections= or ...PerUser= */
	uint64_t control_idle_closed; /* closed after IdleTimeoutSec= */
	uint64_t control_paced; /* times a user's requests were held back */
	uint64_t oom_kills; /* OOM kills reported (traced or from cgroup counters) */
	/* GROWTH_DETECTED events: [0] of processes, [1] of cgroups, by pattern */
	uint64_t growth_episodes[2][IPC_GROWTH_PATTERN_MAX];
};

/*
 * sd-event priorities (the lowest number runs first among pending sources).
 * What the kernel queues cannot wait: the BPF ring buffers and the drain timer
 * (records, pidfd exits) come before signals and the tick, and those before the
 * sockets clients drive, so a busy client delays answers, never records (issue
 * 9: a 3,000-fork storm lost 885 records while CTL_LIST requests kept the loop
 * busy). bpf-loader.c gives its ring-buffer source MANAGER_PRIORITY_KERNEL.
 */
#define MANAGER_PRIORITY_KERNEL SD_EVENT_PRIORITY_IMPORTANT
#define MANAGER_PRIORITY_NORMAL SD_EVENT_PRIORITY_NORMAL
#define MANAGER_PRIORITY_CLIENTS (SD_EVENT_PRIORITY_NORMAL + 10)

struct manager {
	struct memctld_config config;
	char config_path[PATH_MAX];
	bool config_required; /* --config given: the file must exist */
	char socket_dir[PATH_MAX];
	bool dry_run_forced; /* --dry-run on the command line wins over the file */
	/* HideOtherUsers= resolved (manager_resolve_hide_others()): an unprivileged
	 * caller sees only its own processes, as /proc's hidepid= shows them */
	bool hide_others;
	bool log_level_forced; /* so does --log-level */
	bool dgram_bound, control_bound; /* we created the socket files (not systemd) */
	int socket_dir_fd; /* the checked socket directory, bound through; -1 if not used */

	sd_event *event;
	sd_event_source *tick_source;
	sd_event_source *control_source; /* the planner, every [Policy] IntervalSec= */
	sd_event_source *drain_source; /* ring buffers and exited pidfds, every 100 ms */
	uint64_t start_usec; /* CLOCK_MONOTONIC */

	struct bpf_loader *bpf;
	struct proc_table *procs;
	struct cgroup_table *cgroups; /* NULL when no memory hierarchy was found */
	struct cgroup_pressure psi; /* system-wide, /proc/pressure/memory */
	bool psi_valid;
	struct control_server *control;
	struct enroll_table *enroll;
	struct resctrl_table *resctrl; /* always set once running; off when no resctrl */
	struct decision_log *decisions; /* CsvPath=; NULL when not configured */
	struct planner *planner;
	char csv_forced[256]; /* --csv: wins over CsvPath= */
	struct proc_meminfo meminfo; /* /proc/meminfo at the last tick */
	bool meminfo_valid;
	struct eventlog eventlog;
	struct manager_counters counters;
	uint64_t lost_reported; /* BPF lost records already warned about */
	uint64_t fd_limit; /* soft RLIMIT_NOFILE, as of the last tick */
	unsigned fd_base; /* fds open once set up, before any process is pinned */
	struct ipc_rss_record records[MANAGER_RECORDS]; /* ring, by seq */
	uint64_t records_next_seq; /* seq of the next record; the first is 1 */
	bool journal; /* stderr is the journal (JOURNAL_STREAM): events go to it structured */
	struct metrics *metrics; /* [Metrics]: HTTP endpoint, textfile, CTL_METRICS */
	struct profiler *profiler; /* `memctl profile`: rings of registered processes */
	int metrics_fd; /* a listening TCP socket from systemd (memctld-metrics.socket), or -1 */
};

struct manager_options {
	const char *config_path; /* NULL = default path, optional */
	const char *socket_dir; /* NULL = from config / default */
	int log_level; /* < 0 = from config */
	bool dry_run;
	const char *csv_path; /* --csv; NULL = CsvPath= */
};

int manager_new(const struct manager_options *o, struct manager **ret);
struct manager *manager_free(struct manager *m);
/* Start sources and sockets, send READY=1, run until SIGTERM/SIGINT. Returns 0
 * on a clean stop or -errno. */
int manager_run(struct manager *m);

/* Load and validate the configuration into c (defaults first). Logs the error
 * with file, line and key. */
int manager_config_load(const char *path, bool required, struct memctld_config *c);

uint64_t manager_uptime_usec(const struct manager *m);

/* Run the control loop (the planner) now rather than at its next interval: an ack
 * came, and what is still needed can be asked at once. */
void manager_wake_control(struct manager *m);
