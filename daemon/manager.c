// SPDX-License-Identifier: MIT
/* daemon/manager.c: memctld's event loop: signals, the tick, config reload,
 * sd_notify, sockets (own or socket-activated) and the sources feeding tables. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/time-util.h"
#include "daemon/bpf-loader.h"
#include "daemon/cgroup-table.h"
#include "daemon/control.h"
#include "daemon/enroll.h"
#include "daemon/event-journal.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/metrics.h"
#include "daemon/planner.h"
#include "daemon/proc-parse.h"
#include "daemon/proc-table.h"
#include "daemon/profiler.h"
#include "daemon/decision-log.h"
#include "daemon/resctrl-table.h"
#include "daemon/socket-dir.h"
#include "ipc/ipc.h"

#define DEFAULT_CONFIG_PATH "/etc/memctld.conf"

static void config_unknown(const char *path, unsigned line, const char *section, const char *key,
			   void *userdata)
{
	log_warning("%s:%u: unknown key \"%s\" in section [%s], ignoring", path, line, key,
		    section[0] ? section : "(none)");
}

int manager_config_load(const char *path, bool required, struct memctld_config *c)
{
	struct config_error err;
	int r;

	config_init_defaults(c);
	r = config_load(path, c, &err, NULL, config_unknown, NULL);
	if (r == -ENOENT && !required) {
		log_debug("No %s, using built-in defaults", path);
		return 0;
	}
	if (r == -EINVAL) {
		if (err.key[0])
			log_error("%s:%u: invalid value for %s= in [%s]: %s", path, err.line,
				  err.key, err.section, err.message);
		else if (err.line == 0) /* the file itself */
			log_error("%s: %s", path, err.message);
		else
			log_error("%s:%u: %s", path, err.line, err.message);
		return r;
	}
	if (r < 0)
		return log_error_errno(r, "Failed to read %s: %m", path);
	if (growth_params_validate(&c->growth) < 0) {
		log_error("%s: [Growth] EndConfidence= must be below DetectConfidence=", path);
		return -EINVAL;
	}
	if (plan_params_check(&c->plan) < 0) {
		log_error("%s: [Policy] values do not fit together (BandBytes= and BandPermyriad= "
			  "both 0, AckTimeoutSec= below DeadlineSec=, or BackoffMaxSec= below "
			  "BackoffSec=); see memctld.conf(5)",
			  path);
		return -EINVAL;
	}
	return 0;
}

uint64_t manager_uptime_usec(const struct manager *m)
{
	return now_usec(CLOCK_MONOTONIC) - m->start_usec;
}

/*
 * [Control] HideOtherUsers=: with auto (the default), what /proc says. Where /proc
 * is mounted with hidepid= (users see only their own processes there), memctld
 * must not be the way around it: its listings carry other users' command lines,
 * names and memory figures. Read from /proc/self/mountinfo at start and reload.
 */
static void manager_resolve_hide_others(struct manager *m)
{
	char buf[1 << 16];
	bool hidden = false, was = m->hide_others;
	const char *why = NULL;
	ssize_t n = -1;
	int fd, r;

	if (m->config.control_hide_others != CONFIG_AUTO) {
		m->hide_others = m->config.control_hide_others == 1;
		why = "HideOtherUsers=";
	} else {
		fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf));
			close(fd);
		}
		r = n >= 0 ? proc_mountinfo_hidepid(buf, (size_t)n, m->config.proc_root, &hidden) :
			     -errno;
		if (r == -ENOENT)
			hidden = false; /* ProcRoot= is no proc mount (a test fixture) */
		else if (r < 0)
			log_warning_errno(r,
					  "Cannot tell whether %s hides processes (%m): "
					  "showing every user's, as without hidepid=",
					  m->config.proc_root);
		m->hide_others = hidden;
		why = "hidepid= on /proc";
	}
	if (m->hide_others && !was)
		log_info("Unprivileged callers see only their own processes (%s)", why);
	else if (!m->hide_others && was)
		log_info("Unprivileged callers see every process again");
}

/* the control timer's coalescing slack, for its periodic rounds */
#define CONTROL_ACCURACY_USEC (5 * USEC_PER_MSEC)

/* sd-event timers are one-shot: a periodic one needs its time moved and
 * itself enabled again, or it silently fires once (a bug this had). */
static int timer_rearm(sd_event_source *s, uint64_t usec, uint64_t interval_usec)
{
	uint64_t next_usec = usec + interval_usec, now = now_usec(CLOCK_MONOTONIC);
	int r;

	/* late by more than a period (the daemon was stopped or starved): skip
	 * what was missed rather than run the callbacks back to back. A burst of
	 * catch-up ticks, each resynchronising after lost records, kept clients
	 * (at a lower priority) waiting for seconds after a SIGSTOP. */
	if (next_usec <= now)
		next_usec = now + interval_usec;
	r = sd_event_source_set_time(s, next_usec);

	if (r >= 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	if (r < 0)
		return log_error_errno(r, "Failed to re-arm a timer: %m");
	return 0;
}

static void proc_growth_exited(struct manager *m, struct proc_entry *p);

static void track(struct manager *m, const struct ev_lifecycle *e)
{
	struct proc_entry *p;
	int r;

	r = proc_table_add_event(m->procs, (pid_t)e->pid, (pid_t)e->ppid, e->comm, e->time_ns,
				 e->type == EV_FORK, &p);
	if (r == -ESRCH)
		return; /* already gone; its exit record follows */
	if (r < 0) {
		log_ratelimit_warning_errno(r, "Failed to track process %u: %m, ignoring", e->pid);
		return;
	}
	r = bpf_loader_faults_track(m->bpf, (pid_t)e->pid);
	if (r < 0 && r != -ENODEV)
		log_debug_errno(r, "Cannot count faults of %u: %m", e->pid);
}

static void on_lifecycle(void *userdata, const struct ev_lifecycle *e)
{
	struct manager *m = userdata;
	struct proc_entry *p;

	switch (e->type) {
	case EV_EXEC:
		m->counters.events_exec++;
		track(m, e);
		break;
	case EV_FORK:
		m->counters.events_fork++;
		track(m, e);
		break;
	case EV_EXIT:
		m->counters.events_exit++;
		bpf_loader_faults_untrack(m->bpf, (pid_t)e->pid);
		proc_growth_exited(m, proc_table_get(m->procs, (pid_t)e->pid));
		proc_table_remove(m->procs, (pid_t)e->pid);
		break;
	case EV_CGROUP_ATTACH:
		p = proc_table_get(m->procs, (pid_t)e->pid);
		if (p)
			proc_table_mark_cgroup_stale(m->procs, p);
		break;
	default:
		break;
	}
}

static void on_rss(void *userdata, const struct ev_rss *e)
{
	struct manager *m = userdata;
	struct proc_entry *p = proc_table_get(m->procs, (pid_t)e->pid);

	m->counters.events_rss++;
	/* Records of two ring buffers interleave: an RSS record may be consumed
	 * after its process's exit record, while the process is still in
	 * do_exit(). Adding it from /proc then would make a ghost; unknown pids
	 * come in through fork/exec records or a resync instead. */
	if (!p)
		return;
	m->records[m->records_next_seq % MANAGER_RECORDS] = (struct ipc_rss_record){
		.seq = m->records_next_seq,
		.time_usec = e->time_ns / NSEC_PER_USEC,
		.pid = e->pid,
		.anon_bytes = e->anon_bytes,
		.file_bytes = e->file_bytes,
		.shmem_bytes = e->shmem_bytes,
		.swap_bytes = e->swap_bytes,
	};
	m->records_next_seq++;
	proc_table_rss(m->procs, p, e->time_ns, e->anon_bytes, e->file_bytes, e->shmem_bytes,
		       e->swap_bytes);
}

/* An OOM kill seen by oom:mark_victim: the victim as the kernel killed it.
 * A process that keeps respawning into a small cgroup can be killed many
 * times a second: its events count against its owner's rate (root's are
 * never limited) and the log line is rate-limited; the cgroup's kill count
 * stays exact either way. */
static void on_oom(void *userdata, const struct ev_oom *e)
{
	struct manager *m = userdata;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t rss =
		(e->pages[EV_RSS_ANON] + e->pages[EV_RSS_FILE] + e->pages[EV_RSS_SHMEM]) * page;
	struct ipc_event_entry ev = {
		.kind = IPC_EVENT_OOM_KILL,
		.pid = e->pid,
		.value = (int64_t)rss,
	};
	struct cgroup_entry *c = NULL;
	int r;

	m->counters.oom_kills++;
	memcpy(ev.comm, e->comm, MIN(sizeof(ev.comm), sizeof(e->comm)));
	ev.comm[MIN(sizeof(ev.comm), sizeof(e->comm)) - 1] = '\0';
	if (m->cgroups) {
		/* its cgroup may be new to us: a process born and killed
		 * between two ticks was never resolved */
		r = cgroup_table_lookup_memcg(m->cgroups, e->memcg_id, &c);
		if (r < 0)
			log_debug_errno(r,
					"OOM kill of %u: memory cgroup %" PRIu64 " not found: %m",
					e->pid, (uint64_t)e->memcg_id);
		else
			cgroup_table_oom_traced(m->cgroups, c, now_usec(CLOCK_MONOTONIC));
	}
	if (c) {
		snprintf(ev.cgroup, sizeof(ev.cgroup), "%s", c->path);
		ev.cgroup_id = c->id;
	}
	snprintf(ev.text, sizeof(ev.text),
		 "%s killed (out of memory in %s), uid %u, RSS %" PRIu64 " KiB", ev.comm,
		 c ? c->path : "?", e->uid, rss >> 10);
	/* the system's doing, counted against the victim's owner's rate */
	eventlog_add_entry_for(&m->eventlog, e->uid, &ev);
	log_ratelimit_notice("OOM kill: process %u (%s) of uid %u in memory cgroup %s, RSS %" PRIu64
			     " KiB, swap %" PRIu64 " KiB",
			     e->pid, ev.comm, e->uid, c ? c->path : "(unknown)", rss >> 10,
			     (uint64_t)(e->pages[EV_RSS_SWAP] * page) >> 10);
}

/* Kills only a cgroup's counter showed: no trace (oom:mark_victim missing, or
 * its record lost), so the victim is unknown. At most 8 events per cgroup
 * and tick; the last says how many more. */
#define OOM_UNTRACED_EVENTS_MAX 8

static void report_untraced_kills(struct manager *m)
{
	bool traced = m->bpf && (bpf_loader_loaded_mask(m->bpf) & (1U << BPF_PROG_OOM));

	for (struct cgroup_entry *c = cgroup_table_first(m->cgroups); c; c = c->hh.next) {
		uint32_t n = cgroup_entry_take_untraced_kills(c);

		for (uint32_t i = 0; i < MIN(n, (uint32_t)OOM_UNTRACED_EVENTS_MAX); i++) {
			struct ipc_event_entry ev = { .kind = IPC_EVENT_OOM_KILL,
						      .cgroup_id = c->id };
			bool last = i + 1 == OOM_UNTRACED_EVENTS_MAX && n > OOM_UNTRACED_EVENTS_MAX;
			char more[32] = "";

			m->counters.oom_kills++;
			if (last)
				snprintf(more, sizeof(more), "; %u more",
					 n - OOM_UNTRACED_EVENTS_MAX);
			snprintf(ev.cgroup, sizeof(ev.cgroup), "%s", c->path);
			snprintf(ev.text, sizeof(ev.text), "OOM kill in %s, victim unknown (%s)%s",
				 c->path, traced ? "not traced" : "no oom:mark_victim", more);
			eventlog_add_entry(&m->eventlog, EVENTLOG_SYSTEM, &ev);
		}
		if (n > 0)
			log_ratelimit_notice(
				"OOM kill%s in memory cgroup %s (%u), victim unknown: %s",
				n > 1 ? "s" : "", c->path, n,
				traced ? "oom:mark_victim did not report it" :
					 "oom:mark_victim is not loaded");
	}
}

static void on_reaped(void *userdata, pid_t pid)
{
	struct manager *m = userdata;

	bpf_loader_faults_untrack(m->bpf, pid);
	proc_growth_exited(m, proc_table_get(m->procs, pid));
}

/*
 * Drain ring buffers and reap exited processes on a short timer rather than
 * on every record and every exit: under a 1,000 processes/s storm, a wakeup
 * per event was most of the daemon's CPU (bench/churn: 8% of a core before,
 * see docs/benchmarks.md after). The BPF side still forces a wakeup when a
 * quarter of a ring is pending, so a burst cannot overflow it between drains.
 * 100 ms keeps "tracked within 1 s of exec, gone within 1 s of exit" easy.
 */
#define DRAIN_INTERVAL_USEC (100 * USEC_PER_MSEC)

static int on_drain(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	bpf_loader_drain(m->bpf);
	proc_table_reap(m->procs, on_reaped, m);
	return timer_rearm(s, usec, DRAIN_INTERVAL_USEC);
}

/* Reconcile the process table with /proc: at start, and after the kernel
 * dropped records (a full ring buffer), since then an exec or exit may be
 * missing. */
static void manager_resync(struct manager *m, const char *why)
{
	struct proc_entry *p;
	int r;

	bpf_loader_drain(m->bpf);
	r = proc_table_resync(m->procs);
	if (r < 0) {
		log_ratelimit_warning_errno(r, "Failed to list %s: %m, process table may be stale",
					    m->config.proc_root);
		return;
	}
	m->counters.resyncs++;
	for (p = proc_table_first(m->procs); p; p = p->hh.next)
		bpf_loader_faults_track(m->bpf, p->pid);
	proc_table_resolve_cgroups(m->procs);
	log_debug("Resynchronised from %s (%s): %d change(s), %u processes", m->config.proc_root,
		  why, r, proc_table_count(m->procs));
}

/* A growth episode started or ended: one event in the log (the kernel side's
 * ring: no user can push it out) and one structured journal line. */
static void growth_event(struct manager *m, enum growth_event ev, const struct growth_result *g,
			 pid_t pid, const char *comm, const struct cgroup_entry *c,
			 uint64_t time_to_limit_usec)
{
	struct ipc_event_entry e = {
		.kind = ev == GROWTH_EVENT_DETECTED ? IPC_EVENT_GROWTH_DETECTED :
						      IPC_EVENT_GROWTH_ENDED,
		.pid = (uint32_t)pid,
		.value = g->rate_bytes_per_sec,
		.cgroup_id = c ? c->id : 0,
		.pattern = g->pattern < IPC_GROWTH_PATTERN_MAX ? g->pattern : 0,
		.leak_confidence_permyriad = g->confidence_permyriad,
		.time_to_limit_usec = time_to_limit_usec,
	};

	if (comm)
		snprintf(e.comm, sizeof(e.comm), "%s", comm);
	if (c)
		snprintf(e.cgroup, sizeof(e.cgroup), "%s", c->path);
	snprintf(e.text, sizeof(e.text), "%s%.40s: %s %s, %+.1f KiB/s, confidence %.2f",
		 pid ? "" : "cgroup ", pid ? comm : c->path,
		 ev == GROWTH_EVENT_DETECTED ? "growth detected" : "growth ended",
		 growth_pattern_to_string(g->pattern), (double)g->rate_bytes_per_sec / 1024,
		 g->confidence_permyriad / 10000.0);
	eventlog_add_entry(&m->eventlog, EVENTLOG_SYSTEM, &e);
	event_journal_growth(&e, m->journal);
	if (ev == GROWTH_EVENT_DETECTED)
		m->counters.growth_episodes[pid ? 0 : 1][e.pattern]++;
}

static void on_proc_growth(void *userdata, struct proc_entry *p, enum growth_event ev)
{
	struct manager *m = userdata;
	const struct cgroup_entry *c = p->cgroup && !p->cgroup->gone ? p->cgroup : NULL;
	uint64_t ttl = UINT64_MAX;

	if (c && c->valid)
		ttl = growth_time_to_limit_usec(c->mem.usage_bytes, c->mem.limit_bytes,
						p->growth_now.rate_bytes_per_sec);
	growth_event(m, ev, &p->growth_now, p->pid, p->comm, c, ttl);
}

/* A process that exits in a growth episode ends it: one GROWTH_ENDED. */
static void proc_growth_exited(struct manager *m, struct proc_entry *p)
{
	if (p && p->growth_now.detected)
		growth_event(m, GROWTH_EVENT_ENDED, &p->growth_now, p->pid, p->comm,
			     p->cgroup && !p->cgroup->gone ? p->cgroup : NULL, UINT64_MAX);
}

/* A cgroup's usage is sampled each tick (its files, not records): push the
 * fresh read, evaluate, and project to its limit. */
static void cgroup_growth(struct manager *m, struct cgroup_entry *c, uint64_t now)
{
	const struct growth_result *g = &c->growth_now;
	enum growth_event ev;

	if (c->valid && !c->gone && c->read_usec)
		growth_state_push(&c->growth, &m->config.growth, c->read_usec, c->mem.usage_bytes);
	ev = growth_state_evaluate(&c->growth, &m->config.growth, now, &c->growth_now);
	c->time_to_limit_usec = c->valid ? growth_time_to_limit_usec(c->mem.usage_bytes,
								     c->mem.limit_bytes,
								     g->rate_bytes_per_sec) :
					   UINT64_MAX;
	if (ev != GROWTH_EVENT_NONE)
		growth_event(m, ev, g, 0, NULL, c, c->time_to_limit_usec);
}

/* MemTotal and MemAvailable: what "headroom" means for workloads without a limit. */
static int meminfo_read(struct proc_meminfo *ret)
{
	_cleanup_close_ int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	char buf[8192];
	ssize_t n;

	if (fd < 0)
		return negative_errno();
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return negative_errno();
	return proc_meminfo_parse(buf, (size_t)n, ret);
}

/*
 * File descriptors the daemon keeps for itself beyond those open at start:
 * two per control connection (MaxConnections=: the socket and the client's
 * SO_PEERPIDFD), and this many for the files it
 * reads and closes (cgroup and /proc/PID files, one at a time), accept(), the
 * enrolled processes' pidfds and whatever libbpf or libsystemd open later.
 */
#define FD_RESERVE_SLACK 64

/*
 * systemd starts services with a soft RLIMIT_NOFILE of 1024 (for programs that
 * still use select()) and a hard one of 524288, and expects those that need
 * more to raise the soft limit themselves (systemd.exec(5), LimitNOFILE=; it
 * does so for its own daemons). memctld holds a pidfd per tracked process and
 * never uses select(): at 1024 it ran out at ~1,000 processes.
 */
static void manager_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warning_errno(negative_errno(),
				  "getrlimit(RLIMIT_NOFILE) failed: %m, ignoring");
		return;
	}
	if (rl.rlim_cur >= rl.rlim_max)
		return;
	log_debug("Raising the soft file limit from %llu to %llu", (unsigned long long)rl.rlim_cur,
		  (unsigned long long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warning_errno(negative_errno(), "Failed to raise RLIMIT_NOFILE to %llu: %m",
				  (unsigned long long)rl.rlim_max);
}

static unsigned count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0; /* not the directory's own fd */
}

/* How many processes the table may pin: the file limit as it is now (an
 * administrator may change it with prlimit) less the daemon's reserve. */
static void manager_update_fd_budget(struct manager *m)
{
	uint64_t reserve = (uint64_t)m->fd_base + 2 * (uint64_t)m->config.control_max_connections +
			   m->config.metrics_max_connections + PROFILER_FDS_MAX + FD_RESERVE_SLACK;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	m->fd_limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
	if (m->procs)
		proc_table_set_pidfd_max(
			m->procs,
			(unsigned)MIN(m->fd_limit > reserve ? m->fd_limit - reserve : 0, UINT_MAX));
}

static void manager_sample(struct manager *m)
{
	unsigned gone;

	/* records are in CLOCK_BOOTTIME; a quiet series is flat up to now */
	proc_table_evaluate_growth(m->procs, now_usec(CLOCK_BOOTTIME), on_proc_growth, m);

	proc_table_resolve_cgroups(m->procs);
	if (m->cgroups) {
		uint64_t now = now_usec(CLOCK_MONOTONIC);

		/* OOM records first: a counter rise is then explained by its trace */
		bpf_loader_drain(m->bpf);
		gone = cgroup_table_refresh(m->cgroups, now);
		report_untraced_kills(m);
		for (struct cgroup_entry *c = cgroup_table_first(m->cgroups); c; c = c->hh.next) {
			struct ev_reclaim_counters rc;

			cgroup_growth(m, c, now);
			if (c->memcg_id &&
			    bpf_loader_reclaim_cgroup(m->bpf, c->memcg_id, &rc) == 0) {
				c->reclaims = rc.memcg_end + rc.softlimit_end;
				c->reclaim_stall_ns = rc.memcg_stall_ns;
				c->reclaimed_pages =
					rc.memcg_reclaimed_pages + rc.softlimit_reclaimed_pages;
			}
		}
		if (gone > 0) {
			/* their processes moved or died: look again next tick */
			log_debug("%u cgroup(s) vanished", gone);
			proc_table_resolve_cgroups(m->procs);
		}
	}
	m->psi_valid = cgroup_pressure_read("/proc/pressure/memory", &m->psi) >= 0;
	m->meminfo_valid = meminfo_read(&m->meminfo) >= 0;
	resctrl_table_tick(m->resctrl, m->procs, m->cgroups, m->enroll, now_usec(CLOCK_MONOTONIC));
}

static void manager_notify_status(struct manager *m)
{
	sd_notifyf(false,
		   "STATUS=tracking: %" PRIu64 " exec, %" PRIu64 " exit events; %u enrolled%s",
		   m->counters.events_exec, m->counters.events_exit, enroll_table_count(m->enroll),
		   m->config.dry_run ? " (dry run)" : "");
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;
	uint64_t lost = m->bpf ? bpf_loader_lost(m->bpf) : 0;

	if (lost > m->lost_reported) {
		manager_resync(m, "records lost");
		/* a fork storm can make this every tick: the event log has each */
		log_ratelimit_full_errno(LOG_WARNING, 0, 60 * USEC_PER_SEC, LOG_RATELIMIT_BURST,
					 "BPF ring buffer full: %" PRIu64 " records lost (%" PRIu64
					 " in all)",
					 lost - m->lost_reported, lost);
		eventlog_add(&m->eventlog, EVENTLOG_SYSTEM, IPC_EVENT_LOST_RECORDS, 0,
			     (int64_t)(lost - m->lost_reported), "%" PRIu64 " BPF records lost",
			     lost - m->lost_reported);
		m->lost_reported = lost;
	}
	manager_update_fd_budget(m);
	/* room again (processes exited, a higher limit): pin what was left unpinned */
	proc_table_repin(m->procs, 1024);
	manager_sample(m);
	eventlog_flush(&m->eventlog);
	enroll_table_tick(m->enroll, now_usec(CLOCK_MONOTONIC));
	metrics_tick(m->metrics);
	log_ratelimit_flush(now_usec(CLOCK_MONOTONIC));
	manager_notify_status(m);
	return timer_rearm(s, usec, m->config.tick_usec);
}

/*
 * The control loop runs on its own, faster timer ([Policy] IntervalSec=, 100 ms): a
 * workload filling its cgroup at 200 MB/s takes 20 MB per interval, and the planner
 * must see that before the limit does. It costs nothing without arena-mode
 * enrollments; with them, a re-read of their cgroups' files per interval.
 */
static int on_control(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	if (m->planner && enroll_table_count(m->enroll) > 0)
		planner_tick(m->planner, m, now_usec(CLOCK_MONOTONIC));
	/* the periodic round may be coalesced with other wake-ups; a woken one
	 * was not (manager_wake_control) */
	(void)sd_event_source_set_time_accuracy(s, CONTROL_ACCURACY_USEC);
	return timer_rearm(s, usec, m->config.plan_interval_usec);
}

void manager_wake_control(struct manager *m)
{
	/* at most once per loop iteration however many acks came: the timer
	 * fires once. Now, not within the periodic timer's accuracy: sd-event
	 * coalesces a timer anywhere in [time, time + accuracy], and a workload
	 * under pressure waited 5 ms for its next COMPRESS after every ack
	 * (bench/squeeze: ack to next command p50 5.3 ms before, 0.2 ms after).
	 * An accuracy of 0 would mean sd-event's default, 250 ms. */
	if (m->control_source) {
		(void)sd_event_source_set_time_accuracy(m->control_source, 1);
		(void)sd_event_source_set_time(m->control_source, now_usec(CLOCK_MONOTONIC));
	}
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct manager *m = userdata;

	log_info("Received %s, stopping", strsignal((int)si->ssi_signo));
	sd_notify(false, "STOPPING=1");
	return sd_event_exit(m->event, 0);
}

/*
 * [BPF] Lifecycle=/RSS=/Reclaim=/Faults= at a reload: a program loaded at start is
 * detached or attached again (maps and counters kept); one that was not loaded
 * needs a restart. Switching lifecycle or rss back on resynchronises from /proc,
 * since exec, exit and RSS changes went unseen meanwhile. c gets what runs.
 */
static void reload_programs(struct manager *m, struct memctld_config *c)
{
	struct {
		enum bpf_prog_id id;
		const char *key;
		bool *want, was;
	} sw[] = {
		{ BPF_PROG_LIFECYCLE, "Lifecycle", &c->bpf_lifecycle, m->config.bpf_lifecycle },
		{ BPF_PROG_RSS, "RSS", &c->bpf_rss, m->config.bpf_rss },
		{ BPF_PROG_RECLAIM, "Reclaim", &c->bpf_reclaim, m->config.bpf_reclaim },
		{ BPF_PROG_FAULTS, "Faults", &c->bpf_faults, m->config.bpf_faults },
	};
	bool resync = false;

	/* what the programs queued so far belongs before the switch */
	bpf_loader_drain(m->bpf);
	for (size_t i = 0; i < ELEMENTSOF(sw); i++) {
		int r;

		if (*sw[i].want == sw[i].was)
			continue;
		r = bpf_loader_set_attached(m->bpf, sw[i].id, *sw[i].want);
		if (r == -ENOENT) {
			log_warning("[BPF] %s=yes takes effect at the next restart (the program "
				    "was not loaded at start)",
				    sw[i].key);
			*sw[i].want = sw[i].was;
		} else if (r < 0) {
			log_warning_errno(r, "[BPF] %s=yes: attaching failed: %m; it stays off",
					  sw[i].key);
			*sw[i].want = sw[i].was;
		} else {
			log_info("BPF program %s switched %s", sw[i].key,
				 *sw[i].want ? "on" : "off");
			resync |= *sw[i].want &&
				  (sw[i].id == BPF_PROG_LIFECYCLE || sw[i].id == BPF_PROG_RSS);
		}
	}
	if (resync)
		manager_resync(m, "programs switched on");
}

/* The CSV of decisions: path "" closes it. A failure to open says so and goes on
 * without one. */
static void manager_csv_open(struct manager *m, const char *path)
{
	int r;

	m->decisions = decision_log_close(m->decisions);
	if (!path[0])
		return;
	r = decision_log_open(path, &m->decisions);
	if (r < 0)
		log_warning_errno(r, "Cannot open the decision CSV %s: %m, not writing one", path);
	else
		log_info("Writing decisions and acks to %s", path);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct manager *m = userdata;
	struct memctld_config c;
	int r;

	sd_notify(false, "RELOADING=1");
	r = manager_config_load(m->config_path, m->config_required, &c);
	if (r < 0) {
		log_error("Configuration not reloaded, keeping the running one");
		sd_notify(false, "READY=1");
		return 0;
	}
	reload_programs(m, &c);
	if (c.ringbuf_bytes != m->config.ringbuf_bytes ||
	    c.rss_threshold_bytes != m->config.rss_threshold_bytes ||
	    c.rss_interval_usec != m->config.rss_interval_usec ||
	    strcmp(c.cgroup_root, m->config.cgroup_root) != 0 ||
	    strcmp(c.proc_root, m->config.proc_root) != 0)
		log_warning("RingBufferSize=, RssThreshold=, RssIntervalSec= and [Cgroup] changes "
			    "take effect at the next restart");
	/* keep what cannot change at runtime, take the rest */
	c.rss_threshold_bytes = m->config.rss_threshold_bytes;
	c.rss_interval_usec = m->config.rss_interval_usec;
	c.ringbuf_bytes = m->config.ringbuf_bytes;
	/* the series' buckets are aligned to it: a new size needs new series */
	c.growth.bucket_usec = m->config.growth.bucket_usec;
	memcpy(c.cgroup_root, m->config.cgroup_root, sizeof(c.cgroup_root));
	memcpy(c.proc_root, m->config.proc_root, sizeof(c.proc_root));
	if (m->dry_run_forced)
		c.dry_run = true;
	if (m->log_level_forced)
		c.log_level = m->config.log_level; /* --log-level given: it wins */
	if (m->csv_forced[0])
		memcpy(c.csv_path, m->csv_forced, sizeof(c.csv_path));
	if (strcmp(c.csv_path, m->config.csv_path) != 0)
		manager_csv_open(m, c.csv_path);
	m->config = c;
	manager_resolve_hide_others(m);
	if (m->planner)
		planner_set_params(m->planner, &c.plan);
	log_set_max_level(c.log_level);
	manager_update_fd_budget(m); /* MaxConnections= is part of the reserve */
	metrics_reload(m->metrics);
	eventlog_add(&m->eventlog, EVENTLOG_SYSTEM, IPC_EVENT_CONFIG_RELOADED, 0, 0,
		     "configuration reloaded");
	log_info("Configuration reloaded from %s", m->config_path);
	sd_notify(false, "READY=1");
	return 0;
}

static int socket_path(const struct manager *m, const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", m->socket_dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Take sockets from systemd when socket-activated (memctld.socket, and the
 * listening TCP socket of memctld-metrics.socket). */
static int sockets_from_systemd(int *dgram_fd, int *control_fd, int *metrics_fd)
{
	int n = sd_listen_fds(true);

	if (n <= 0)
		return n;
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		if (sd_is_socket_unix(fd, SOCK_DGRAM, -1, NULL, 0) > 0 && *dgram_fd < 0) {
			int one = 1;

			if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
				return log_error_errno(negative_errno(),
						       "Failed to enable SO_PASSCRED: %m");
			*dgram_fd = fd;
		} else if (sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) > 0 &&
			   *control_fd < 0) {
			*control_fd = fd;
		} else if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0 &&
			   *metrics_fd < 0) {
			*metrics_fd = fd;
		} else {
			log_warning("Ignoring unexpected socket-activation fd %d", fd);
			close(fd);
		}
	}
	return n;
}

static int manager_sockets_open(struct manager *m, int *ret_dgram, int *ret_control)
{
	char dpath[PATH_MAX], cpath[PATH_MAX];
	int dgram = -1, control = -1, probe, r;

	r = sockets_from_systemd(&dgram, &control, &m->metrics_fd);
	if (r < 0)
		return r;
	if (r > 0 && (dgram < 0 || control < 0))
		log_warning("Socket activation passed only some sockets, creating the others");

	if (socket_path(m, IPC_DGRAM_SOCKET_NAME, dpath, sizeof(dpath)) < 0 ||
	    socket_path(m, IPC_CONTROL_SOCKET_NAME, cpath, sizeof(cpath)) < 0)
		return log_error_errno(-ENAMETOOLONG, "Socket directory path too long: %s",
				       m->socket_dir);

	if (dgram < 0 || control < 0) {
		char why[256];

		/* bind only in a directory no other user can write in, through its fd */
		m->socket_dir_fd = socket_dir_open(m->socket_dir, why, sizeof(why));
		if (m->socket_dir_fd < 0)
			return log_error_errno(m->socket_dir_fd, "Refusing socket directory %s: %s",
					       m->socket_dir, why);
		/* a live daemon on this directory: refuse rather than steal its sockets */
		probe = ipc_control_connect(cpath, 1000);
		if (probe >= 0) {
			close(probe);
			return log_error_errno(-EADDRINUSE,
					       "Another memctld is already running on %s",
					       m->socket_dir);
		}
	}
	if (dgram < 0) {
		dgram = ipc_dgram_listen_at(m->socket_dir_fd, IPC_DGRAM_SOCKET_NAME, 0666);
		if (dgram < 0)
			return log_error_errno(dgram, "Failed to listen on %s: %m", dpath);
		m->dgram_bound = true;
	}
	if (control < 0) {
		control =
			ipc_control_listen_at(m->socket_dir_fd, IPC_CONTROL_SOCKET_NAME, 0666, 64);
		if (control < 0) {
			close(dgram);
			return log_error_errno(control, "Failed to listen on %s: %m", cpath);
		}
		m->control_bound = true;
	}
	*ret_dgram = dgram;
	*ret_control = control;
	return 0;
}

static void manager_sockets_unlink(struct manager *m)
{
	/* only what we bound ourselves: systemd owns socket-activated paths, and a
	 * refused second instance must not remove the running one's */
	if (m->socket_dir_fd < 0)
		return;
	if (m->dgram_bound)
		(void)unlinkat(m->socket_dir_fd, IPC_DGRAM_SOCKET_NAME, 0);
	if (m->control_bound)
		(void)unlinkat(m->socket_dir_fd, IPC_CONTROL_SOCKET_NAME, 0);
}

int manager_new(const struct manager_options *o, struct manager **ret)
{
	struct manager *m;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return log_error_errno(-ENOMEM, "Out of memory");
	eventlog_init(&m->eventlog);
	m->records_next_seq = 1;
	m->journal = getenv("JOURNAL_STREAM") != NULL;
	m->socket_dir_fd = -1;
	m->metrics_fd = -1;
	m->start_usec = now_usec(CLOCK_MONOTONIC);

	snprintf(m->config_path, sizeof(m->config_path), "%s",
		 o->config_path ?: DEFAULT_CONFIG_PATH);
	m->config_required = o->config_path != NULL;
	r = manager_config_load(m->config_path, m->config_required, &m->config);
	if (r < 0)
		goto fail;
	if (o->log_level >= 0) {
		m->config.log_level = o->log_level;
		m->log_level_forced = true;
	}
	log_set_max_level(m->config.log_level);
	if (o->dry_run) {
		m->config.dry_run = true;
		m->dry_run_forced = true;
	}
	if (o->csv_path) {
		if (o->csv_path[0] != '/' || strlen(o->csv_path) >= sizeof(m->csv_forced)) {
			r = log_error_errno(-EINVAL, "--csv must be an absolute path: %s",
					    o->csv_path);
			goto fail;
		}
		snprintf(m->csv_forced, sizeof(m->csv_forced), "%s", o->csv_path);
		memcpy(m->config.csv_path, m->csv_forced, sizeof(m->config.csv_path));
	}
	snprintf(m->socket_dir, sizeof(m->socket_dir), "%s",
		 o->socket_dir ?: IPC_DEFAULT_SOCKET_DIR);

	r = sd_event_default(&m->event);
	if (r < 0) {
		log_error_errno(r, "Failed to create the event loop: %m");
		goto fail;
	}
	*ret = m;
	return 0;
fail:
	manager_free(m);
	return r;
}

struct manager *manager_free(struct manager *m)
{
	if (!m)
		return NULL;
	m->metrics = metrics_free(m->metrics);
	m->profiler = profiler_free(m->profiler);
	if (m->metrics_fd >= 0)
		close(m->metrics_fd);
	m->planner = planner_free(m->planner);
	m->enroll = enroll_table_free(m->enroll);
	m->decisions = decision_log_close(m->decisions);
	m->control = control_server_free(m->control);
	manager_sockets_unlink(m);
	if (m->socket_dir_fd >= 0)
		close(m->socket_dir_fd);
	sd_event_source_disable_unref(m->drain_source);
	m->resctrl = resctrl_table_free(m->resctrl);
	m->procs = proc_table_free(m->procs);
	m->cgroups = cgroup_table_free(m->cgroups);
	m->bpf = bpf_loader_free(m->bpf);
	sd_event_source_disable_unref(m->tick_source);
	sd_event_source_disable_unref(m->control_source);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

int manager_run(struct manager *m)
{
	static const struct bpf_loader_callbacks bpf_cb = {
		.lifecycle = on_lifecycle,
		.rss = on_rss,
		.oom = on_oom,
	};
	char desc[IPC_PATH_MAX];
	int dgram_fd, control_fd, r;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(negative_errno(), "Failed to block signals: %m");
	signal(SIGPIPE, SIG_IGN);
	manager_raise_nofile();

	if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m)) < 0)
		return log_error_errno(r, "Failed to watch signals: %m");
	r = sd_event_set_watchdog(m->event, true);
	if (r < 0)
		return log_error_errno(r, "Failed to enable the watchdog: %m");

	r = manager_sockets_open(m, &dgram_fd, &control_fd);
	if (r < 0)
		return r;
	r = enroll_table_new(m, dgram_fd, &m->enroll);
	if (r < 0) {
		close(control_fd);
		return r;
	}
	r = control_server_new(m, control_fd, &m->control);
	if (r < 0)
		return r;
	manager_csv_open(m, m->config.csv_path);
	r = planner_new(&m->config.plan, &m->planner);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the planner: %m");

	r = bpf_loader_new(&m->config, m->event, &bpf_cb, m, &m->bpf);
	if (r < 0)
		return r;
	bpf_loader_describe(m->bpf, desc, sizeof(desc));
	log_info("BPF: %s", desc);

	/* tables after BPF: a process born during the scan is in the ring buffer */
	r = cgroup_table_new(m->config.cgroup_root, 0, &m->cgroups);
	if (r < 0)
		log_warning_errno(
			r, "No memory cgroup hierarchy found%s%s: %m; cgroup figures are off",
			m->config.cgroup_root[0] ? " at " : "", m->config.cgroup_root);
	else {
		log_info("Memory cgroups: v%d at %s", cgroup_table_hierarchy(m->cgroups),
			 cgroup_table_root(m->cgroups));
		cgroup_table_set_oom_traced(m->cgroups,
					    bpf_loader_loaded_mask(m->bpf) & (1U << BPF_PROG_OOM));
	}
	manager_resolve_hide_others(m);
	r = proc_table_new(m->config.proc_root, m->cgroups, &m->procs);
	if (r < 0)
		return log_error_errno(r, "Failed to create the process table: %m");
	proc_table_set_growth_params(m->procs, &m->config.growth);
	r = resctrl_table_new(&m->config, &m->eventlog, &m->resctrl);
	if (r < 0)
		return r;
	r = profiler_new(m, &m->profiler);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the profiler: %m");
	/* after every table: a scrape may come at once */
	r = metrics_new(m, TAKE_FD(m->metrics_fd), &m->metrics);
	if (r < 0)
		return log_error_errno(r, "Failed to set up metrics: %m");
	r = sd_event_add_time_relative(m->event, &m->drain_source, CLOCK_MONOTONIC,
				       DRAIN_INTERVAL_USEC, 10 * USEC_PER_MSEC, on_drain, m);
	if (r >= 0)
		r = sd_event_source_set_priority(m->drain_source, MANAGER_PRIORITY_KERNEL);
	if (r < 0)
		return log_error_errno(r, "Failed to add the drain timer: %m");
	/* every socket, BPF object and table is open: what is left is for pidfds */
	m->fd_base = count_open_fds();
	manager_update_fd_budget(m);
	log_info("File limit %" PRIu64 ", %u open at start: up to %u processes pinned by pidfd",
		 m->fd_limit, m->fd_base, proc_table_pidfd_max(m->procs));
	manager_resync(m, "start");
	manager_sample(m);
	m->counters.resyncs = 0; /* the start scan is not a resync after loss */
	/* loading parsed vmlinux BTF (several MiB) once per object; give the
	 * freed heap back, so steady-state RSS is what the tables need */
	malloc_trim(0);

	r = sd_event_add_time_relative(m->event, &m->control_source, CLOCK_MONOTONIC,
				       m->config.plan_interval_usec, CONTROL_ACCURACY_USEC,
				       on_control, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the control timer: %m");
	r = sd_event_add_time_relative(m->event, &m->tick_source, CLOCK_MONOTONIC,
				       m->config.tick_usec, 0, on_tick, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the tick timer: %m");

	log_info("memctld " MEMCTL_VERSION " running; sockets in %s%s", m->socket_dir,
		 m->config.dry_run ? "; dry run: deciding and logging, never acting" : "");
	sd_notify(false, "READY=1");
	manager_notify_status(m);

	r = sd_event_loop(m->event);
	if (r < 0)
		return log_error_errno(r, "Event loop failed: %m");
	return 0;
}
