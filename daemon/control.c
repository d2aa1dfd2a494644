// SPDX-License-Identifier: MIT
/* daemon/control.c: serve memctl on the SOCK_SEQPACKET control socket. One
 * request record in, one reply record out; peers identified by SO_PEERCRED. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "daemon/bpf-loader.h"
#include "daemon/cgroup-table.h"
#include "daemon/control.h"
#include "daemon/enroll.h"
#include "common/pidfd-util.h"
#include "common/time-util.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/metrics.h"
#include "daemon/proc-table.h"
#include "daemon/profiler.h"
#include "daemon/resctrl-table.h"
#include "ipc/ipc.h"

/*
 * Connections only root may take: whatever other users hold, root can still
 * ask (issue 9: 64 idle connections by nobody locked root out).
 */
#define CONTROL_ROOT_RESERVED 4
/*
 * A user other than root may spend this much daemon CPU time at once before
 * its requests wait for CPUQuotaPerUser= to pay it back: a whole `memctl ps`
 * of 10,000 processes, 18 pages, costs ~12 ms (docs/benchmarks.md).
 */
#define CONTROL_USER_BURST_USEC (250 * USEC_PER_MSEC)
/* A paced user's requests resume once this much is paid back, not at zero,
 * so a loop of cheap requests is held back in batches, not one by one. */
#define CONTROL_USER_RESUME_USEC (10 * USEC_PER_MSEC)
/*
 * /proc reads one request may cost (struct proc_budget): 256 reads of
 * /proc/PID/stat take ~2 ms (issue 9 measured 112 ms for 10,000); root's
 * requests are trusted not to loop, and get an exact answer for a table of
 * that size.
 */
#define CONTROL_REQUEST_READS 256
#define CONTROL_REQUEST_READS_ROOT 16384
/* A fault count read within this long is served as is. */
#define CONTROL_FAULTS_MAX_AGE_USEC (1 * USEC_PER_SEC)
/*
 * accept() failing with EMFILE and friends leaves the connection queued and
 * the socket readable: retrying at once spun at 100% CPU (1.7 M log lines in
 * 10 s). Stop watching the socket and retry from a timer, doubling.
 */
#define ACCEPT_BACKOFF_MIN_USEC (10 * USEC_PER_MSEC)
#define ACCEPT_BACKOFF_MAX_USEC (1 * USEC_PER_SEC)

/* A user other than root with connections open or a CPU debt to pay back. */
struct control_user {
	uid_t uid;
	unsigned n_conns;
	int64_t credit_usec; /* CPU time it may still spend; < 0: its requests wait */
	uint64_t refill_usec; /* CLOCK_MONOTONIC of the last refill */
	UT_hash_handle hh;
};

struct control_conn {
	struct control_server *server;
	int fd;
	struct ipc_cred cred; /* SO_PEERCRED: who connected (uid decides what it may do) */
	int pidfd; /* SO_PEERPIDFD: the client process itself, -1 if the kernel has none;
		    * anything tied to the client's lifetime follows this, never cred.pid */
	struct control_user *user; /* NULL for root */
	sd_event_source *source;
	uint64_t active_usec; /* CLOCK_MONOTONIC: accepted, or its last request */
	bool paced; /* source off until its user's credit is back */
	struct control_conn *next;
};

struct control_server {
	struct manager *m;
	int fd;
	sd_event_source *source;
	sd_event_source *accept_timer; /* turns accepting back on after an error */
	uint64_t accept_backoff_usec;
	sd_event_source *idle_timer; /* closes connections quiet for IdleTimeoutSec= */
	sd_event_source *pace_timer; /* resumes paced connections */
	struct control_conn *conns;
	unsigned n_conns;
	unsigned n_root_conns;
	struct control_user *users; /* by uid */
	uint8_t rbuf[IPC_MSG_MAX];
	uint8_t wbuf[IPC_MSG_MAX];
};

static uint64_t cpu_usec(void)
{
	return now_usec(CLOCK_THREAD_CPUTIME_ID);
}

/* Pay back a user's CPU debt at its quota, up to the burst. */
static void user_refill(struct control_server *s, struct control_user *u, uint64_t now)
{
	uint64_t pct = s->m->config.control_cpu_quota_per_uid_percent;
	int64_t earned;

	if (now <= u->refill_usec)
		return;
	earned = (int64_t)MIN((now - u->refill_usec) * pct / 100, (uint64_t)INT64_MAX / 2);
	u->credit_usec = MIN(u->credit_usec + earned, (int64_t)CONTROL_USER_BURST_USEC);
	u->refill_usec = now;
}

/* When u's credit is back to CONTROL_USER_RESUME_USEC, at its quota. */
static uint64_t user_ready_usec(struct control_server *s, const struct control_user *u)
{
	uint64_t pct = s->m->config.control_cpu_quota_per_uid_percent;
	int64_t owed = (int64_t)CONTROL_USER_RESUME_USEC - u->credit_usec;

	if (owed <= 0)
		return u->refill_usec;
	return u->refill_usec + ((uint64_t)owed * 100 + pct - 1) / pct;
}

static struct control_user *user_get(struct control_server *s, uid_t uid)
{
	struct control_user *u;

	HASH_FIND(hh, s->users, &uid, sizeof(uid), u);
	if (u)
		return u;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	u->credit_usec = CONTROL_USER_BURST_USEC;
	u->refill_usec = now_usec(CLOCK_MONOTONIC);
	HASH_ADD(hh, s->users, uid, sizeof(u->uid), u);
	return u;
}

/* Forget users with no connection and no debt (a debt outlives its
 * connections, so reconnecting does not clear it). */
static void users_gc(struct control_server *s, uint64_t now)
{
	struct control_user *u, *tmp;

	HASH_ITER(hh, s->users, u, tmp)
	{
		if (u->n_conns > 0)
			continue;
		user_refill(s, u, now);
		if (u->credit_usec >= (int64_t)CONTROL_USER_BURST_USEC) {
			HASH_DEL(s->users, u);
			free(u);
		}
	}
}

static int timer_arm(sd_event_source *t, uint64_t usec)
{
	int r = sd_event_source_set_time(t, usec);

	if (r >= 0)
		r = sd_event_source_set_enabled(t, SD_EVENT_ONESHOT);
	return r;
}

static void conn_free(struct control_conn *c)
{
	struct control_server *s = c->server;

	for (struct control_conn **p = &s->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	s->n_conns--;
	if (c->user)
		c->user->n_conns--;
	else
		s->n_root_conns--;
	sd_event_source_disable_unref(c->source);
	close(c->fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	free(c);
}

static int reply(struct control_conn *c, uint16_t type, uint32_t seq, const void *body,
		 size_t body_len, const void *entries, uint32_t n_entries)
{
	ssize_t n = ipc_encode(c->server->wbuf, sizeof(c->server->wbuf), type, seq, body, body_len,
			       entries, n_entries);

	if (n < 0)
		return log_error_errno((int)n, "Failed to encode %s reply: %m",
				       ipc_type_to_string(type) ?: "?");
	if (send(c->fd, c->server->wbuf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return log_debug_errno(negative_errno(), "Failed to send control reply: %m");
	return 0;
}

static int reply_error(struct control_conn *c, int code, const struct ipc_header *req,
		       const char *message)
{
	struct ipc_error e;

	ipc_error_fill(&e, code, req ? req->seq : 0, req ? req->type : 0, message);
	return reply(c, IPC_ERROR, req ? req->seq : 0, &e, sizeof(e), NULL, 0);
}

static void fill_status(struct manager *m, struct ipc_ctl_status_reply *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->version, sizeof(s->version), "%s", MEMCTL_VERSION);
	s->uptime_usec = manager_uptime_usec(m);
	s->pid = (uint64_t)getpid();
	s->bpf_programs_known = _BPF_PROG_MAX;
	s->bpf_programs_loaded = m->bpf ? bpf_loader_loaded_mask(m->bpf) : 0;
	s->events_exec = m->counters.events_exec;
	s->events_fork = m->counters.events_fork;
	s->events_exit = m->counters.events_exit;
	s->events_rss = m->counters.events_rss;
	s->events_lost = m->bpf ? bpf_loader_lost(m->bpf) : 0;
	s->resyncs = m->counters.resyncs;
	s->processes_tracked = proc_table_count(m->procs);
	s->cgroups_tracked = cgroup_table_count(m->cgroups);
	s->enrolled = enroll_table_count(m->enroll);
	s->datagrams_rejected = m->counters.datagrams_rejected;
	{
		struct enroll_counters ec;

		enroll_table_counters(m->enroll, &ec);
		s->workload_replies_dropped = ec.replies_dropped;
		s->workload_channel_dropped = ec.channel_dropped;
		s->identity_pidfd = ec.identity_pidfd;
		s->hellos = ec.hellos;
		s->commands_sent = ec.commands_sent;
		s->acks = ec.acks;
	}
	s->policy_mode = m->config.plan.mode;
	s->dry_run = m->config.dry_run;
	if (m->bpf) {
		struct ev_prog_stats ps;

		bpf_loader_describe(m->bpf, s->bpf_status, sizeof(s->bpf_status));
		bpf_loader_prog_stats(m->bpf, BPF_PROG_RSS, &ps);
		s->rss_raw_events = ps.events;
		s->bpf_map_full = ps.map_full;
	}
	if (m->psi_valid) {
		s->psi_some_avg10_permyriad = m->psi.some.avg10_permyriad;
		s->psi_full_avg10_permyriad = m->psi.full.avg10_permyriad;
	}
	s->processes_unpinned = proc_table_unpinned(m->procs);
	s->pidfd_max = proc_table_pidfd_max(m->procs);
	s->fd_limit = m->fd_limit;
	s->control_refused = m->counters.control_refused;
	s->control_idle_closed = m->counters.control_idle_closed;
	s->control_paced = m->counters.control_paced;
	s->resctrl_state = resctrl_table_on(m->resctrl) ? IPC_RESCTRL_ON : IPC_RESCTRL_OFF;
	snprintf(s->resctrl_status, sizeof(s->resctrl_status), "%s",
		 resctrl_table_status(m->resctrl));
	for (struct resctrl_unit *u = resctrl_table_first(m->resctrl); u; u = u->hh.next)
		s->resctrl_units_monitored += u->state == IPC_BW_MONITORED;
}

static void fill_bw(const struct resctrl_unit *u, struct ipc_bandwidth_figures *out)
{
	struct ipc_bandwidth_entry e;

	if (!u) {
		*out = (struct ipc_bandwidth_figures){ .state = IPC_BW_NONE };
		return;
	}
	resctrl_table_fill_entry(u, &e);
	*out = e.bw;
}

/* `memctl bandwidth`: the pool and domains, then a page of units from offset. */
/*
 * May this caller see process p? Root always, and everyone while other users'
 * processes are not hidden; under HideOtherUsers= (manager_resolve_hide_others(),
 * as /proc's hidepid= has it) only its own: those whose effective uid is the
 * caller's, the owner that hidepid='s ptrace check lets in (hidepid's gid=
 * exemption is not known here: those users see only their own through memctld).
 * An owner not read yet is read now, once per process and exec; one that cannot
 * be read hides the process.
 */
static bool may_see(struct control_conn *c, struct proc_entry *p)
{
	struct manager *m = c->server->m;

	if (c->cred.uid == 0 || !m->hide_others)
		return true;
	if (!p)
		return false;
	if (p->euid == PROC_UID_UNKNOWN)
		(void)proc_table_read_identity(m->procs, p);
	return p->euid != PROC_UID_UNKNOWN && p->euid == c->cred.uid;
}

static bool may_see_pid(struct control_conn *c, pid_t pid)
{
	struct manager *m = c->server->m;

	return c->cred.uid == 0 || !m->hide_others || may_see(c, proc_table_get(m->procs, pid));
}

/* An event: one about a process (pid) only to who may see the process, or that
 * the caller caused; one about no process (a cgroup, the daemon) to everyone. */
static bool may_see_event(struct control_conn *c, const struct ipc_event_entry *e)
{
	if (c->cred.uid == 0 || !c->server->m->hide_others || e->uid == c->cred.uid)
		return true;
	return e->pid == 0 ? e->uid == IPC_EVENT_UID_SYSTEM : may_see_pid(c, (pid_t)e->pid);
}

static void handle_bandwidth(struct control_conn *c, const struct ipc_msg *msg)
{
	struct manager *m = c->server->m;
	const struct ipc_ctl_list *q = msg->body;
	struct ipc_ctl_bandwidth_reply rep;
	_cleanup_free_ struct ipc_bandwidth_entry *out = NULL;
	uint32_t i = 0, max = ipc_entries_max(IPC_CTL_BANDWIDTH_REPLY);

	resctrl_table_fill_reply(m->resctrl, now_usec(CLOCK_MONOTONIC), &rep);
	out = calloc(max, sizeof(*out));
	if (!out) {
		reply_error(c, -ENOMEM, &msg->hdr, "out of memory");
		return;
	}
	for (struct resctrl_unit *u = resctrl_table_first(m->resctrl); u; u = u->hh.next) {
		if (u->key.kind == IPC_BW_UNIT_PROCESS && !may_see_pid(c, (pid_t)u->key.id))
			continue;
		if (i++ >= q->offset && rep.count < max)
			resctrl_table_fill_entry(u, &out[rep.count++]);
	}
	rep.total = i;
	reply(c, IPC_CTL_BANDWIDTH_REPLY, msg->hdr.seq, &rep, sizeof(rep), out, rep.count);
}

static void fill_proc(struct manager *m, const struct proc_entry *p, struct ipc_proc_entry *out)
{
	memset(out, 0, sizeof(*out));
	out->pid = (uint32_t)p->pid;
	out->ppid = (uint32_t)p->ppid;
	memcpy(out->comm, p->comm, MIN(sizeof(out->comm), sizeof(p->comm)));
	out->comm[sizeof(out->comm) - 1] = '\0';
	out->start_time_usec = p->start_time_usec;
	out->rss_anon_bytes = p->rss_anon_bytes;
	out->rss_file_bytes = p->rss_file_bytes;
	out->rss_shmem_bytes = p->rss_shmem_bytes;
	out->swap_bytes = p->swap_bytes;
	out->growth_bytes_per_sec = p->growth_now.rate_bytes_per_sec;
	out->minor_faults = p->minor_faults;
	out->major_faults = p->major_faults;
	out->pattern = p->growth_now.pattern;
	out->leak_confidence_permyriad = p->growth_now.confidence_permyriad;
	out->growth_detected = p->growth_now.detected;
	out->enrolled = enroll_table_get(m->enroll, p->pid) != NULL;
	out->cgroup_id = p->cgroup ? p->cgroup->id : 0;
}

_Static_assert(PROC_CMDLINE_MAX == IPC_CMDLINE_MAX, "the table keeps what the wire carries");
_Static_assert(PROC_UID_UNKNOWN == IPC_UID_UNKNOWN, "one unknown uid");

/* User and command line, for the n entries sent: read once per process and
 * exec (proc_table_read_identity), so paging through a big table costs a
 * read per process, not per process and request; and within the request's
 * budget (struct proc_budget): over it, an entry not read yet goes out
 * without them (uid unknown, no command line), to be read by a later one. */
static void fill_identity(struct manager *m, struct ipc_proc_entry *v, uint32_t n,
			  struct proc_budget *b)
{
	for (uint32_t i = 0; i < n; i++) {
		struct proc_entry *p = proc_table_get(m->procs, (pid_t)v[i].pid);

		v[i].uid = IPC_UID_UNKNOWN;
		if (!p || (!p->identity_valid && !proc_budget_take(b)) ||
		    proc_table_read_identity(m->procs, p) < 0)
			continue;
		v[i].uid = p->euid;
		v[i].cmdline_bytes = p->cmdline_bytes;
		snprintf(v[i].cmdline, sizeof(v[i].cmdline), "%s", p->cmdline ?: "");
	}
}

/* Fault counts of the n entries of a page, from /proc within the budget. */
static void refresh_faults(struct manager *m, struct ipc_proc_entry *v, uint32_t n,
			   struct proc_budget *b)
{
	for (uint32_t i = 0; i < n; i++) {
		struct proc_entry *p = proc_table_get(m->procs, (pid_t)v[i].pid);

		if (p &&
		    proc_table_refresh_faults(m->procs, p, CONTROL_FAULTS_MAX_AGE_USEC, b) > 0) {
			v[i].minor_faults = p->minor_faults;
			v[i].major_faults = p->major_faults;
		}
	}
}

static void fill_cgroup(const struct manager *m, const struct cgroup_entry *c,
			struct ipc_cgroup_entry *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", c->path);
	out->hierarchy =
		(uint32_t)(c->valid ? (int)c->mem.hierarchy : cgroup_table_hierarchy(m->cgroups));
	out->nr_procs = c->nr_procs;
	out->id = c->id;
	out->reclaims = c->reclaims;
	out->reclaim_stall_usec = c->reclaim_stall_ns / NSEC_PER_USEC;
	out->reclaimed_pages = c->reclaimed_pages;
	out->growth_bytes_per_sec = c->growth_now.rate_bytes_per_sec;
	out->time_to_limit_usec = c->time_to_limit_usec;
	out->pattern = c->growth_now.pattern;
	out->leak_confidence_permyriad = c->growth_now.confidence_permyriad;
	out->growth_detected = c->growth_now.detected;
	out->limit_bytes = out->soft_limit_bytes = UINT64_MAX;
	if (!c->valid)
		return;
	out->limit_bytes = c->mem.limit_bytes;
	out->usage_bytes = c->mem.usage_bytes;
	if (c->mem.hierarchy == CGROUP_HIERARCHY_V1) {
		out->soft_limit_bytes = c->mem.soft_limit_bytes;
		out->failcnt = c->mem.failcnt;
		out->oom_events = c->mem.oom.oom_kill;
	} else {
		out->soft_limit_bytes = c->mem.high_bytes;
		out->failcnt = c->mem.events.max;
		/* kills, as on v1: "oom" counts OOM situations, some of which kill nobody */
		out->oom_events = c->mem.events.oom_kill;
	}
	if (c->mem.present & CGROUP_MEM_HAS_PRESSURE) {
		out->flags |= IPC_CGROUP_HAS_PSI;
		out->psi_some_avg10_permyriad = c->mem.pressure.some.avg10_permyriad;
		out->psi_full_avg10_permyriad = c->mem.pressure.full.avg10_permyriad;
	}
	if (c->mem.present & CGROUP_MEM_HAS_KERNEL) {
		out->flags |= IPC_CGROUP_HAS_KERNEL;
		out->kernel_bytes = c->mem.kernel_bytes;
	}
	if (c->mem.present & CGROUP_MEM_HAS_KERNEL_SOCK) {
		out->flags |= IPC_CGROUP_HAS_KERNEL_SOCK;
		out->kernel_sock_bytes = c->mem.kernel_sock_bytes;
	}
	if ((c->mem.stat.present & (CGROUP_STAT_HAS_SLAB | CGROUP_STAT_HAS_PAGETABLES)) ==
	    (CGROUP_STAT_HAS_SLAB | CGROUP_STAT_HAS_PAGETABLES)) {
		out->flags |= IPC_CGROUP_HAS_KERNEL_DETAIL;
		out->slab_bytes = c->mem.stat.slab_bytes;
		out->pagetables_bytes = c->mem.stat.pagetables_bytes;
	}
}

/* Largest first by the key, then by pid; on the entries as they are sent, so
 * what the client sees is in order. */
static int proc_cmp(const void *a, const void *b, void *arg)
{
	const struct ipc_proc_entry *x = a, *y = b;
	enum ipc_sort key = *(const enum ipc_sort *)arg;
	int64_t kx = 0, ky = 0;

	switch (key) {
	case IPC_SORT_RSS:
		kx = (int64_t)(x->rss_anon_bytes + x->rss_file_bytes + x->rss_shmem_bytes);
		ky = (int64_t)(y->rss_anon_bytes + y->rss_file_bytes + y->rss_shmem_bytes);
		break;
	case IPC_SORT_GROWTH:
		kx = x->growth_bytes_per_sec;
		ky = y->growth_bytes_per_sec;
		break;
	case IPC_SORT_FAULTS:
		kx = (int64_t)x->minor_faults;
		ky = (int64_t)y->minor_faults;
		break;
	case IPC_SORT_PID:
		break;
	}
	if (kx != ky)
		return kx > ky ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/*
 * A cgroup filter names a cgroup the table holds, or a directory of the
 * hierarchy that holds no tracked process (an empty list is then the truth).
 * Anything else is "no such cgroup", not an empty table. Only absolute paths
 * without "." or ".." components are looked up, so a request cannot make root
 * stat a path outside the hierarchy for its caller.
 */
static int cgroup_filter_check(struct manager *m, const char *path, const char **ret_why)
{
	char full[PATH_MAX];
	struct stat st;

	*ret_why = "no such cgroup";
	if (m->cgroups && cgroup_table_find(m->cgroups, path))
		return 0;
	if (path[0] != '/' || strstr(path, "/./") || strstr(path, "/../") ||
	    (strlen(path) >= 2 && strcmp(path + strlen(path) - 2, "/.") == 0) ||
	    (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0)) {
		*ret_why = "not a cgroup path (absolute, no . or .. components)";
		return -EINVAL;
	}
	if (!m->cgroups) {
		*ret_why = "no memory cgroup hierarchy found";
		return -ENODEV;
	}
	if ((size_t)snprintf(full, sizeof(full), "%s%s", cgroup_table_root(m->cgroups), path) >=
	    sizeof(full))
		return -ENOENT;
	if (stat(full, &st) < 0 || !S_ISDIR(st.st_mode))
		return -ENOENT;
	return 0;
}

/*
 * One snapshot, sorted, then the page asked for. Sorted on what the table
 * holds: fault counts are refreshed round robin within the request's /proc
 * budget when they are the key (each lap of requests reaches every process),
 * else for the page sent; a count read within the last second is not read
 * again. Everything else here is the table, O(n log n) in its size.
 */
static void handle_list(struct control_conn *c, const struct ipc_msg *msg, struct proc_budget *b)
{
	struct manager *m = c->server->m;
	const struct ipc_ctl_list *q = msg->body;
	struct ipc_ctl_list_reply rep = {};
	_cleanup_free_ struct ipc_proc_entry *v = NULL;
	enum ipc_sort key = (enum ipc_sort)q->sort;
	const char *why;
	uint32_t n = 0;
	int r;

	if (q->cgroup[0] && (r = cgroup_filter_check(m, q->cgroup, &why)) < 0) {
		/* ipc_error_fill() cuts it to IPC_ERRMSG_MAX */
		char text[IPC_ERRMSG_MAX + IPC_PATH_MAX];

		snprintf(text, sizeof(text), "%s: %s", why, q->cgroup);
		reply_error(c, r, &msg->hdr, text);
		return;
	}
	if (key == IPC_SORT_FAULTS)
		proc_table_refresh_faults_all(m->procs, CONTROL_FAULTS_MAX_AGE_USEC, b);
	v = calloc(proc_table_count(m->procs) + 1, sizeof(*v));
	if (!v) {
		reply_error(c, -ENOMEM, &msg->hdr, "out of memory");
		return;
	}
	for (struct proc_entry *p = proc_table_first(m->procs); p; p = p->hh.next)
		if ((!q->cgroup[0] || (p->cgroup && strcmp(p->cgroup->path, q->cgroup) == 0)) &&
		    may_see(c, p))
			fill_proc(m, p, &v[n++]);
	qsort_r(v, n, sizeof(*v), proc_cmp, &key);
	rep.total = n;
	if (q->offset < n)
		rep.count = MIN(n - q->offset, ipc_entries_max(IPC_CTL_LIST_REPLY));
	/* sorted by faults, the page shows the counts it was sorted on */
	if (key != IPC_SORT_FAULTS)
		refresh_faults(m, v + MIN(q->offset, n), rep.count, b);
	fill_identity(m, v + MIN(q->offset, n), rep.count, b);
	reply(c, IPC_CTL_LIST_REPLY, msg->hdr.seq, &rep, sizeof(rep), v + MIN(q->offset, n),
	      rep.count);
}

static void handle_cgroups(struct control_conn *c, const struct ipc_msg *msg)
{
	struct manager *m = c->server->m;
	const struct ipc_ctl_list *q = msg->body;
	struct ipc_ctl_list_reply rep = {};
	_cleanup_free_ struct ipc_cgroup_entry *out = NULL;
	uint32_t i = 0, max = ipc_entries_max(IPC_CTL_CGROUPS_REPLY);

	if (!m->cgroups) {
		reply_error(c, -ENODEV, &msg->hdr, "no memory cgroup hierarchy found");
		return;
	}
	out = calloc(max, sizeof(*out));
	if (!out) {
		reply_error(c, -ENOMEM, &msg->hdr, "out of memory");
		return;
	}
	for (struct cgroup_entry *e = cgroup_table_first(m->cgroups); e; e = e->hh.next) {
		if (q->cgroup[0] && strcmp(e->path, q->cgroup) != 0)
			continue;
		if (i++ >= q->offset && rep.count < max)
			fill_cgroup(m, e, &out[rep.count++]);
	}
	rep.total = i;
	reply(c, IPC_CTL_CGROUPS_REPLY, msg->hdr.seq, &rep, sizeof(rep), out, rep.count);
}

static void handle_show(struct control_conn *c, const struct ipc_msg *msg, struct proc_budget *b)
{
	struct manager *m = c->server->m;
	const struct ipc_ctl_pid *q = msg->body;
	const struct enrollment_info *en;
	struct ipc_ctl_show_reply rep;
	struct proc_entry *p;

	p = proc_table_get(m->procs, (pid_t)q->pid);
	if (!p || !may_see(c, p)) { /* another user's, hidden: as if not there */
		reply_error(c, -ESRCH, &msg->hdr, "no such process (or not tracked)");
		return;
	}
	memset(&rep, 0, sizeof(rep));
	/* one process: look again at its cgroup and fault counters now */
	proc_table_resolve_cgroup(m->procs, p);
	proc_table_refresh_faults(m->procs, p, 0, b);
	fill_proc(m, p, &rep.proc);
	fill_identity(m, &rep.proc, 1, b);
	{
		struct ev_fault_counts f;

		if (bpf_loader_faults_get(m->bpf, p->pid, &f) == 0) {
			rep.faults_seen = f.faults;
			rep.write_faults_seen = f.write_faults;
			rep.prot_faults_seen = f.prot_faults;
		}
	}
	if (p->cgroup) {
		cgroup_table_reread(m->cgroups, p->cgroup);
		fill_cgroup(m, p->cgroup, &rep.cgroup);
	}
	en = enroll_table_get(m->enroll, p->pid);
	if (en)
		rep.arena = en->stats;
	fill_bw(resctrl_table_find_process(m->resctrl, p->pid, p->start_time_usec),
		&rep.proc_bandwidth);
	fill_bw(p->cgroup ? resctrl_table_find_cgroup(m->resctrl, p->cgroup->id) : NULL,
		&rep.cgroup_bandwidth);
	rep.pattern = p->growth_now.pattern;
	rep.leak_confidence_permyriad = p->growth_now.confidence_permyriad;
	rep.time_to_limit_usec = UINT64_MAX;
	if (p->cgroup && p->cgroup->valid)
		rep.time_to_limit_usec = growth_time_to_limit_usec(rep.cgroup.usage_bytes,
								   rep.cgroup.limit_bytes,
								   rep.proc.growth_bytes_per_sec);
	reply(c, IPC_CTL_SHOW_REPLY, msg->hdr.seq, &rep, sizeof(rep), NULL, 0);
}

static void fill_enrolled(struct manager *m, const struct enrollment_info *e,
			  struct ipc_enrolled_entry *out)
{
	struct proc_entry *p = proc_table_get(m->procs, e->pid);

	*out = (struct ipc_enrolled_entry){
		.id = e->id,
		.pid = (uint32_t)e->pid,
		.uid = (uint32_t)e->uid,
		.mode = e->connected ? IPC_MODE_ARENA : IPC_MODE_MONITOR,
		.cgroup_id = p && p->cgroup ? p->cgroup->id : 0,
		.stats = e->stats,
		.enrolled_usec = e->enrolled_usec,
		.last_command = e->last_command,
		.readback_factor_permille = e->readback_factor_permille,
		.last_command_usec = e->last_command_usec,
		.last_ack_usec = e->last_ack_usec,
		.last_latency_usec = e->last_latency_usec,
		.latency_p50_usec = enrollment_latency_quantile(e, 0.5),
		.latency_p99_usec = enrollment_latency_quantile(e, 0.99),
		.commands_sent = e->commands_sent,
		.acks = e->acks,
		.commands_dropped = e->commands_dropped,
		.commands_timed_out = e->commands_timed_out,
		.bytes_freed = e->bytes_freed,
		.bytes_restored = e->bytes_restored,
	};
	fill_bw(p ? resctrl_table_find_process(m->resctrl, p->pid, p->start_time_usec) : NULL,
		&out->bandwidth);
	snprintf(out->name, sizeof(out->name), "%s", e->name);
}

/* `memctl list`: the enrolled processes, by enrollment order (newest first). */
static void handle_enrolled(struct control_conn *c, const struct ipc_msg *msg)
{
	struct manager *m = c->server->m;
	const struct ipc_ctl_list *q = msg->body;
	struct ipc_ctl_list_reply rep = {};
	_cleanup_free_ struct ipc_enrolled_entry *out = NULL;
	uint32_t i = 0, max = ipc_entries_max(IPC_CTL_ENROLLED_REPLY);

	out = calloc(max, sizeof(*out));
	if (!out) {
		reply_error(c, -ENOMEM, &msg->hdr, "out of memory");
		return;
	}
	for (const struct enrollment_info *e = enroll_table_next(m->enroll, NULL); e;
	     e = enroll_table_next(m->enroll, e)) {
		if (q->cgroup[0]) {
			struct proc_entry *p = proc_table_get(m->procs, e->pid);

			if (!p || !p->cgroup || strcmp(p->cgroup->path, q->cgroup) != 0)
				continue;
		}
		if (!may_see_pid(c, e->pid))
			continue;
		if (i++ >= q->offset && rep.count < max)
			fill_enrolled(m, e, &out[rep.count++]);
	}
	rep.total = i;
	reply(c, IPC_CTL_ENROLLED_REPLY, msg->hdr.seq, &rep, sizeof(rep), out, rep.count);
}

/* The RSS records since q->since_seq (of one pid, or all), oldest first. */
static void handle_records(struct control_conn *c, const struct ipc_msg *msg)
{
	struct manager *m = c->server->m;
	const struct ipc_ctl_records *q = msg->body;
	struct ipc_ctl_records_reply rep = {};
	_cleanup_free_ struct ipc_rss_record *out = NULL;
	uint32_t max = ipc_entries_max(IPC_CTL_RECORDS_REPLY);
	uint64_t first =
		m->records_next_seq > MANAGER_RECORDS ? m->records_next_seq - MANAGER_RECORDS : 1;

	if (q->max && q->max < max)
		max = q->max;
	out = calloc(max, sizeof(*out));
	if (!out) {
		reply_error(c, -ENOMEM, &msg->hdr, "out of memory");
		return;
	}
	rep.first_seq = first;
	rep.next_seq = q->since_seq;
	/* a bounded walk: at most MANAGER_RECORDS slots per request */
	for (uint64_t s = MAX(first, q->since_seq + 1); s < m->records_next_seq && rep.count < max;
	     s++) {
		const struct ipc_rss_record *r = &m->records[s % MANAGER_RECORDS];

		rep.next_seq = s;
		if ((!q->pid || r->pid == q->pid) && may_see_pid(c, (pid_t)r->pid))
			out[rep.count++] = *r;
	}
	reply(c, IPC_CTL_RECORDS_REPLY, msg->hdr.seq, &rep, sizeof(rep), out, rep.count);
}

/* `memctl metrics`: a page of the rendering as of the last tick. The first page
 * (serial 0) names the rendering; later pages ask for that one, and get -ESTALE
 * once a tick replaced it (the client starts over). */
static void handle_metrics(struct control_conn *c, const struct ipc_msg *msg)
{
	struct manager *m = c->server->m;
	const struct ipc_ctl_metrics *q = msg->body;
	enum metrics_format f = q->format == IPC_METRICS_OPENMETRICS ? METRICS_FORMAT_OPENMETRICS :
								       METRICS_FORMAT_TEXT;
	struct ipc_ctl_metrics_reply rep = { .format = q->format };
	struct metrics_blob *b = NULL;
	int r;

	if (!m->metrics) {
		reply_error(c, -ENODEV, &msg->hdr, "metrics are not set up");
		return;
	}
	if (m->hide_others && c->cred.uid != 0) {
		/* the exposition names other users' workloads (pid, name labels) */
		reply_error(c, -EACCES, &msg->hdr,
			    "other users' processes are hidden here (hidepid= on /proc, "
			    "HideOtherUsers=): the metrics are root's");
		return;
	}
	if (q->serial) {
		b = metrics_get_serial(m->metrics, f, q->serial);
		if (!b) {
			reply_error(c, -ESTALE, &msg->hdr,
				    "the metrics were rendered again since that page; start over");
			return;
		}
	} else if ((r = metrics_get(m->metrics, f, &b)) < 0) {
		reply_error(c, r, &msg->hdr, "cannot render the metrics");
		return;
	}
	if (q->offset > b->len) {
		reply_error(c, -ERANGE, &msg->hdr, "offset beyond the end of the metrics");
		return;
	}
	rep.serial = b->serial;
	rep.total_bytes = b->len;
	rep.offset = q->offset;
	rep.count =
		(uint32_t)MIN((uint64_t)ipc_entries_max(IPC_CTL_METRICS_REPLY), b->len - q->offset);
	reply(c, IPC_CTL_METRICS_REPLY, msg->hdr.seq, &rep, sizeof(rep), b->data + q->offset,
	      rep.count);
}

/* A reply with an fd (SCM_RIGHTS); the fd stays the caller's. */
static int reply_fd(struct control_conn *c, uint16_t type, uint32_t seq, const void *body,
		    size_t body_len, int fd)
{
	ssize_t n = ipc_encode(c->server->wbuf, sizeof(c->server->wbuf), type, seq, body, body_len,
			       NULL, 0);
	int r;

	if (n < 0)
		return log_error_errno((int)n, "Failed to encode %s reply: %m",
				       ipc_type_to_string(type) ?: "?");
	r = ipc_dgram_send_fd(c->fd, c->server->wbuf, (size_t)n, NULL, 0, fd);
	if (r < 0)
		return log_debug_errno(r, "Failed to send control reply: %m");
	return 0;
}

static const char *profile_error_text(int r)
{
	switch (r) {
	case -ENOENT:
		return "no such profile (it ended)";
	case -EPERM:
		return "permission denied: only root or the user who started it may do that";
	default:
		return strerror(-r);
	}
}

/* `memctl profile`: start one (the ring's fd comes with the reply), map another
 * client onto a running one, or stop one. */
static void handle_profile(struct control_conn *c, const struct ipc_msg *msg)
{
	struct manager *m = c->server->m;
	const struct ipc_header *h = &msg->hdr;
	struct ipc_ctl_profile_reply rep;
	const char *why = NULL;
	int fd = -1, r;

	if (!m->profiler) {
		reply_error(c, -ENODEV, h, "the profiler is not set up");
		return;
	}
	if (h->type == IPC_CTL_PROFILE) {
		/* the profile ends when the process that asked for it does */
		int client = c->pidfd >= 0 ? fcntl(c->pidfd, F_DUPFD_CLOEXEC, 3) :
					     pidfd_open_pid(c->cred.pid);

		r = profiler_start(m->profiler, msg->body, c->cred.uid, client < 0 ? -1 : client,
				   &rep, &fd, &why);
		if (r < 0) {
			reply_error(c, r, h, why ?: strerror(-r));
			return;
		}
	} else {
		const struct ipc_ctl_profile_id *q = msg->body;

		if (h->type == IPC_CTL_PROFILE_STOP) {
			struct ipc_ctl_ok ok = {};

			r = profiler_stop(m->profiler, q->profile_id, c->cred.uid);
			if (r < 0)
				reply_error(c, r, h, profile_error_text(r));
			else
				reply(c, IPC_CTL_OK, h->seq, &ok, sizeof(ok), NULL, 0);
			return;
		}
		r = profiler_attach(m->profiler, q->profile_id, c->cred.uid, &rep, &fd);
		if (r < 0) {
			reply_error(c, r, h, profile_error_text(r));
			return;
		}
	}
	reply_fd(c, IPC_CTL_PROFILE_REPLY, h->seq, &rep, sizeof(rep), fd);
	close(fd);
}

static const char *enroll_error_text(int r)
{
	switch (r) {
	case -ESRCH:
		return "no such process";
	case -EPERM:
		return "permission denied: only root or the process's owner may do that";
	case -EEXIST:
		return "already enrolled";
	case -ENOENT:
		return "not enrolled";
	case -EUSERS:
		return "too many enrollments for this user (Enroll/MaxPerUser=)";
	case -EAGAIN:
		return "the process did not take the enrollment (its socket is full); try again";
	default:
		return strerror(-r);
	}
}

static void handle(struct control_conn *c, const struct ipc_msg *msg)
{
	struct manager *m = c->server->m;
	const struct ipc_header *h = &msg->hdr;
	struct proc_budget budget = {
		.reads_left = c->user ? CONTROL_REQUEST_READS : CONTROL_REQUEST_READS_ROOT,
	};
	int r;

	switch (h->type) {
	case IPC_CTL_STATUS: {
		struct ipc_ctl_status_reply s;

		fill_status(m, &s);
		reply(c, IPC_CTL_STATUS_REPLY, h->seq, &s, sizeof(s), NULL, 0);
		return;
	}
	case IPC_CTL_ENROLL:
	case IPC_CTL_UNENROLL: {
		struct ipc_ctl_ok ok = {};
		const char *why = NULL;

		/* ENROLL's body is ipc_ctl_enroll, UNENROLL's ipc_ctl_pid: both start with pid */
		r = h->type == IPC_CTL_ENROLL ?
			    enroll_table_add_pid(m->enroll, msg->body, c->cred.uid, NULL, &why) :
			    enroll_table_remove_pid(
				    m->enroll, (pid_t)((const struct ipc_ctl_pid *)msg->body)->pid,
				    c->cred.uid);
		if (r < 0)
			reply_error(c, r, h, why ?: enroll_error_text(r));
		else
			reply(c, IPC_CTL_OK, h->seq, &ok, sizeof(ok), NULL, 0);
		return;
	}
	case IPC_CTL_EVENTS: {
		const struct ipc_ctl_events *q = msg->body;
		/* one message's worth (154 entries of 424 bytes), off the stack */
		static struct ipc_event_entry out[IPC_MSG_MAX / sizeof(struct ipc_event_entry)];
		struct ipc_ctl_events_reply rep = {};
		uint32_t max = ipc_entries_max(IPC_CTL_EVENTS_REPLY);

		if (q->max && q->max < max)
			max = q->max;
		max = MIN(max, (uint32_t)ELEMENTSOF(out));
		rep.count = eventlog_since(&m->eventlog, q->since_id, out, max);
		rep.next_id = rep.count ? out[rep.count - 1].id : q->since_id;
		if (m->hide_others && c->cred.uid != 0) {
			/* keep what the caller may see, and read on past what it may
			 * not, so that a page is empty only at the end of the log
			 * (next_id: the last entry read). Bounded by the log's size. */
			uint32_t kept = 0, got = rep.count;

			while (got > 0) {
				uint32_t base = kept;

				for (uint32_t i = 0; i < got; i++)
					if (may_see_event(c, &out[base + i]))
						out[kept++] = out[base + i];
				if (kept == max)
					break;
				got = eventlog_since(&m->eventlog, rep.next_id, out + kept,
						     max - kept);
				if (got)
					rep.next_id = out[kept + got - 1].id;
			}
			rep.count = kept;
		}
		reply(c, IPC_CTL_EVENTS_REPLY, h->seq, &rep, sizeof(rep), out, rep.count);
		return;
	}
	case IPC_CTL_LIST:
		handle_list(c, msg, &budget);
		return;
	case IPC_CTL_SHOW:
		handle_show(c, msg, &budget);
		return;
	case IPC_CTL_CGROUPS:
		handle_cgroups(c, msg);
		return;
	case IPC_CTL_BANDWIDTH:
		handle_bandwidth(c, msg);
		return;
	case IPC_CTL_ENROLLED:
		handle_enrolled(c, msg);
		return;
	case IPC_CTL_RECORDS:
		handle_records(c, msg);
		return;
	case IPC_CTL_METRICS:
		handle_metrics(c, msg);
		return;
	case IPC_CTL_PROFILE:
	case IPC_CTL_PROFILE_ATTACH:
	case IPC_CTL_PROFILE_STOP:
		handle_profile(c, msg);
		return;
	default:
		reply_error(c, -EBADRQC, h, "not a control request");
		return;
	}
}

/* Send an unsolicited error (seq 0) before closing, so the client reads why.
 * What the client already sent is read first: closing with unread data would
 * flag its socket ECONNRESET and it might never see this. */
static void say_goodbye(struct control_server *s, int fd, int code, const char *message)
{
	struct ipc_error e;
	ssize_t n;

	for (int i = 0; i < 16 && recv(fd, s->rbuf, sizeof(s->rbuf), MSG_DONTWAIT) > 0; i++)
		;
	ipc_error_fill(&e, code, 0, 0, message);
	n = ipc_encode(s->wbuf, sizeof(s->wbuf), IPC_ERROR, 0, &e, sizeof(e), NULL, 0);
	if (n > 0)
		(void)send(fd, s->wbuf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The pace timer: at the earliest time a paced connection's user is out of
 * debt; off when none is paced. */
static void pace_timer_update(struct control_server *s)
{
	uint64_t next = UINT64_MAX;

	for (struct control_conn *c = s->conns; c; c = c->next)
		if (c->paced)
			next = MIN(next, user_ready_usec(s, c->user));
	if (next == UINT64_MAX)
		sd_event_source_set_enabled(s->pace_timer, SD_EVENT_OFF);
	else if (timer_arm(s->pace_timer, next) < 0)
		log_ratelimit_warning("Failed to arm the control pacing timer, ignoring");
}

static void conn_pace(struct control_conn *c)
{
	struct control_server *s = c->server;

	if (sd_event_source_set_enabled(c->source, SD_EVENT_OFF) < 0)
		return;
	c->paced = true;
	s->m->counters.control_paced++;
	log_ratelimit_info("uid %u spent its share of daemon time (CPUQuotaPerUser=%u%%), "
			   "holding its requests back",
			   (unsigned)c->user->uid, s->m->config.control_cpu_quota_per_uid_percent);
	pace_timer_update(s);
}

static int on_pace_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct control_server *s = userdata;
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	for (struct control_conn *c = s->conns; c; c = c->next) {
		if (!c->paced)
			continue;
		user_refill(s, c->user, now);
		if (c->user->credit_usec < (int64_t)CONTROL_USER_RESUME_USEC)
			continue;
		if (sd_event_source_set_enabled(c->source, SD_EVENT_ON) < 0)
			continue;
		c->paced = false;
		c->active_usec = now; /* waiting on us is not idling */
	}
	pace_timer_update(s);
	return 0;
}

/*
 * recv() returned 0: the end of the connection, or a record of 0 bytes (SOCK_SEQPACKET
 * delivers those; tests/integration/test_hostile_load.py sends some). After an empty
 * record the connection is still open: a peek finds nothing yet (EAGAIN) or the next
 * record; at the end it reads 0 again. Two empty records in a row read as the end.
 */
static bool empty_record(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, sizeof(b), MSG_DONTWAIT | MSG_PEEK);

	return n > 0 || (n < 0 && errno == EAGAIN);
}

static int on_conn_ready(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct control_conn *c = userdata;
	struct control_server *s = c->server;
	uint64_t cpu0 = cpu_usec();
	struct ipc_msg msg;
	ssize_t n;
	int r;

	if (c->user && !(revents & (EPOLLHUP | EPOLLERR))) {
		user_refill(s, c->user, now_usec(CLOCK_MONOTONIC));
		if (c->user->credit_usec < 0) {
			conn_pace(c);
			return 0;
		}
	}
	n = recv(fd, s->rbuf, sizeof(s->rbuf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		log_debug_errno(negative_errno(), "Control connection failed: %m, closing it");
		conn_free(c);
		return 0;
	}
	if ((revents & (EPOLLHUP | EPOLLERR)) == EPOLLHUP || (n == 0 && !empty_record(fd))) {
		conn_free(c);
		return 0;
	}
	c->active_usec = now_usec(CLOCK_MONOTONIC);
	if (n == 0) {
		reply_error(c, -EBADMSG, NULL, "malformed request (an empty record)");
	} else if ((size_t)n > sizeof(s->rbuf)) {
		reply_error(c, -EMSGSIZE, NULL, "request larger than the protocol allows");
	} else if ((r = ipc_decode(s->rbuf, (size_t)n, &msg)) < 0) {
		struct ipc_header h = {};

		if ((size_t)n >= sizeof(h))
			memcpy(&h, s->rbuf, sizeof(h));
		log_debug_errno(r, "Malformed control request from pid %d: %m", (int)c->cred.pid);
		reply_error(c, r, (size_t)n >= sizeof(h) ? &h : NULL, "malformed request");
	} else {
		handle(c, &msg);
	}
	/* what answering cost, charged to the user who asked */
	if (c->user)
		c->user->credit_usec -= (int64_t)(cpu_usec() - cpu0);
	return 0;
}

/* Close connections that sent nothing for IdleTimeoutSec=, then sleep until
 * the next one could be due. */
static int on_idle_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct control_server *s = userdata;
	uint64_t timeout = s->m->config.control_idle_timeout_usec;
	uint64_t now = now_usec(CLOCK_MONOTONIC), next = UINT64_MAX;
	char why[IPC_ERRMSG_MAX];

	snprintf(why, sizeof(why), "idle for %" PRIu64 " s (IdleTimeoutSec=), closing",
		 timeout / USEC_PER_SEC);
	for (struct control_conn *c = s->conns, *n; c; c = n) {
		n = c->next;
		if (c->paced)
			continue; /* it is waiting for us, not idle */
		if (now - c->active_usec >= timeout) {
			log_debug("Closing control connection of pid %d (uid %u): idle",
				  (int)c->cred.pid, (unsigned)c->cred.uid);
			say_goodbye(s, c->fd, -ETIMEDOUT, why);
			s->m->counters.control_idle_closed++;
			conn_free(c);
			continue;
		}
		next = MIN(next, c->active_usec + timeout);
	}
	users_gc(s, now);
	if (next == UINT64_MAX)
		sd_event_source_set_enabled(s->idle_timer, SD_EVENT_OFF);
	else if (timer_arm(s->idle_timer, next) < 0)
		log_ratelimit_warning("Failed to arm the control idle timer, ignoring");
	return 0;
}

static int on_accept_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct control_server *s = userdata;

	if (sd_event_source_set_enabled(s->source, SD_EVENT_ON) < 0)
		log_ratelimit_warning("Failed to watch the control socket again, retrying");
	return 0;
}

/* accept() failed for want of a resource: stop watching the listening socket
 * (level-triggered, it stays readable) and try again later, backing off. */
static void accept_back_off(struct control_server *s, int error)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	s->accept_backoff_usec =
		CLAMP(s->accept_backoff_usec * 2, ACCEPT_BACKOFF_MIN_USEC, ACCEPT_BACKOFF_MAX_USEC);
	log_ratelimit_warning_errno(
		error, "accept() on the control socket failed: %m; retrying in %" PRIu64 " ms",
		s->accept_backoff_usec / USEC_PER_MSEC);
	if (sd_event_source_set_enabled(s->source, SD_EVENT_OFF) < 0 ||
	    timer_arm(s->accept_timer, now + s->accept_backoff_usec) < 0)
		sd_event_source_set_enabled(s->source, SD_EVENT_ON);
}

/* Admit a new connection by its peer's uid, or say why not (code, why). */
static int admit(struct control_server *s, uid_t uid, struct control_user **ret_user, char *why,
		 size_t why_size)
{
	const struct memctld_config *cfg = &s->m->config;
	unsigned max = MAX(cfg->control_max_connections, CONTROL_ROOT_RESERVED + 1);
	unsigned max_user = MIN(cfg->control_max_connections_per_uid, max - CONTROL_ROOT_RESERVED);
	struct control_user *u;

	*ret_user = NULL;
	if (uid == 0) {
		if (s->n_conns < max)
			return 0;
		snprintf(why, why_size,
			 "too many control connections (MaxConnections=%u), try again", max);
		return -EBUSY;
	}
	if (s->n_conns - s->n_root_conns >= max - CONTROL_ROOT_RESERVED) {
		snprintf(why, why_size,
			 "too many control connections (MaxConnections=%u, %u kept for root), "
			 "try again",
			 max, CONTROL_ROOT_RESERVED);
		return -EBUSY;
	}
	u = user_get(s, uid);
	if (!u) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	if (u->n_conns >= max_user) {
		snprintf(why, why_size,
			 "too many control connections for this user (MaxConnectionsPerUser=%u)",
			 max_user);
		return -EUSERS;
	}
	*ret_user = u;
	return 0;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct control_server *s = userdata;
	_cleanup_close_ int cfd = -1;
	struct control_user *user;
	struct control_conn *c;
	struct ipc_cred cred;
	char why[IPC_ERRMSG_MAX];
	int r;

	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		r = negative_errno();
		if (r == -EMFILE || r == -ENFILE || r == -ENOBUFS || r == -ENOMEM)
			accept_back_off(s, r);
		else if (r != -EAGAIN && r != -EINTR && r != -ECONNABORTED)
			log_ratelimit_warning_errno(r, "accept() on the control socket failed: %m, "
						       "ignoring");
		return 0;
	}
	s->accept_backoff_usec = 0;
	if (ipc_peer_cred(cfd, &cred) < 0)
		return 0;
	r = admit(s, cred.uid, &user, why, sizeof(why));
	if (r < 0) {
		say_goodbye(s, cfd, r, why);
		s->m->counters.control_refused++;
		log_ratelimit_warning("Refused a control connection from pid %d (uid %u): %s",
				      (int)cred.pid, (unsigned)cred.uid, why);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	c->server = s;
	c->cred = cred;
	c->user = user;
	c->active_usec = now_usec(CLOCK_MONOTONIC);
	c->pidfd = ipc_peer_pidfd(cfd); /* < 0 before 6.5: then nothing relies on it */
	r = sd_event_add_io(s->m->event, &c->source, cfd, EPOLLIN, on_conn_ready, c);
	if (r >= 0)
		r = sd_event_source_set_priority(c->source, MANAGER_PRIORITY_CLIENTS);
	if (r < 0) {
		if (c->pidfd >= 0)
			close(c->pidfd);
		sd_event_source_disable_unref(c->source);
		free(c);
		return log_ratelimit_warning_errno(
			r, "Failed to watch a control connection: %m, dropping it");
	}
	c->fd = TAKE_FD(cfd);
	c->next = s->conns;
	s->conns = c;
	s->n_conns++;
	if (user)
		user->n_conns++;
	else
		s->n_root_conns++;
	/* the idle timer runs while there are connections */
	if (sd_event_source_get_enabled(s->idle_timer, NULL) == 0 &&
	    timer_arm(s->idle_timer, c->active_usec + s->m->config.control_idle_timeout_usec) < 0)
		log_ratelimit_warning("Failed to arm the control idle timer, ignoring");
	return 0;
}

static int add_timer(struct control_server *s, sd_event_source **ret, sd_event_time_handler_t cb,
		     uint64_t accuracy_usec, const char *name)
{
	int r = sd_event_add_time(s->m->event, ret, CLOCK_MONOTONIC, UINT64_MAX, accuracy_usec, cb,
				  s);

	if (r >= 0)
		r = sd_event_source_set_priority(*ret, MANAGER_PRIORITY_CLIENTS);
	if (r >= 0)
		r = sd_event_source_set_enabled(*ret, SD_EVENT_OFF);
	if (r >= 0)
		(void)sd_event_source_set_description(*ret, name);
	return r;
}

int control_server_new(struct manager *m, int fd, struct control_server **ret)
{
	struct control_server *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return log_error_errno(-ENOMEM, "Out of memory");
	}
	s->m = m;
	s->fd = fd;
	r = sd_event_add_io(m->event, &s->source, fd, EPOLLIN, on_accept, s);
	if (r >= 0)
		r = sd_event_source_set_priority(s->source, MANAGER_PRIORITY_CLIENTS);
	if (r >= 0)
		r = add_timer(s, &s->accept_timer, on_accept_timer, 1 * USEC_PER_MSEC,
			      "control-accept-backoff");
	/* idle connections: closing one a second late is fine, batch them */
	if (r >= 0)
		r = add_timer(s, &s->idle_timer, on_idle_timer, 1 * USEC_PER_SEC, "control-idle");
	if (r >= 0)
		r = add_timer(s, &s->pace_timer, on_pace_timer, 1 * USEC_PER_MSEC, "control-pace");
	if (r < 0) {
		control_server_free(s);
		return log_error_errno(r, "Failed to watch the control socket: %m");
	}
	*ret = s;
	return 0;
}

struct control_server *control_server_free(struct control_server *s)
{
	struct control_user *u, *tmp;

	if (!s)
		return NULL;
	while (s->conns)
		conn_free(s->conns);
	HASH_ITER(hh, s->users, u, tmp)
	{
		HASH_DEL(s->users, u);
		free(u);
	}
	sd_event_source_disable_unref(s->source);
	sd_event_source_disable_unref(s->accept_timer);
	sd_event_source_disable_unref(s->idle_timer);
	sd_event_source_disable_unref(s->pace_timer);
	close(s->fd);
	free(s);
	return NULL;
}
