// SPDX-License-Identifier: MIT
/* daemon/resctrl-table.c: monitored units and their resctrl groups: RMIDs from the
 * pool by priority, tasks placed in groups, counters read each tick into bytes/s. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/time-util.h"
#include "daemon/cgroup-table.h"
#include "daemon/enroll.h"
#include "daemon/eventlog.h"
#include "daemon/log.h"
#include "daemon/proc-table.h"
#include "daemon/resctrl-table.h"
#include "policy/fairness.h"
#include "policy/rmid-pool.h"

/* Writes to tasks files per tick: a unit with 100,000 threads (an unprivileged user's
 * own) must not stall the loop; the rest waits for the next tick. Real kernfs takes a
 * few microseconds per write, so this bounds a tick's placing to ~50 ms. */
#define TASK_WRITES_PER_TICK 16384
/* Threads of one process placed at once; more are placed over the next ticks. */
#define THREADS_MAX 16384
/* At most this many holders displaced per tick: the displaced unit's RMID is in
 * quarantine anyway, so more would only churn. */
#define PREEMPTS_PER_TICK 4
/* Count the RMIDs others hold again this often (and after any refused mkdir). */
#define RECOUNT_TICKS 30
/* A domain's last good rate stands in for this many ticks of Unavailable reads. */
#define STALE_TICKS 3

/* Where a process's tasks were put, so each is written once, not every tick. */
struct placement {
	pid_t pid;
	uint64_t start_usec;
	uint64_t serial; /* the unit's, 0 = the default group */
	bool seen;
	UT_hash_handle hh;
};

struct resctrl_table {
	struct memctld_config config;
	struct eventlog *log;
	bool on;
	char status[IPC_ERRMSG_MAX];
	int rootfd;
	struct resctrl_info info;
	struct rmid_pool *pool;
	int foreign;
	uint32_t tick;
	uint64_t next_serial;
	struct resctrl_unit *units; /* by key */
	struct resctrl_unit *by_serial;
	struct placement *placements;
	int root_mon_fd;
	struct resctrl_domain_totals dom[RESCTRL_DOMAINS_MAX];
	unsigned unmonitored;
	bool exhausted_reported;
	uint32_t task_writes; /* this tick */
	pid_t tids[THREADS_MAX];
};

bool resctrl_table_on(const struct resctrl_table *t)
{
	return t && t->on;
}

const char *resctrl_table_status(const struct resctrl_table *t)
{
	return t ? t->status : "off (not started)";
}

static void update_status(struct resctrl_table *t, uint64_t now)
{
	struct rmid_pool_status st;

	if (!t->on)
		return;
	rmid_pool_status(t->pool, now, &st);
	snprintf(
		t->status, sizeof(t->status),
		"on: %u of %u RMIDs in use, %u in quarantine, %u unit(s) unmonitored, %u domain(s)",
		st.in_use, st.capacity, st.quarantined, t->unmonitored, t->info.n_domains);
}

static void recount_capacity(struct resctrl_table *t)
{
	int n = resctrl_count_foreign(t->rootfd);
	uint32_t cap;

	if (n < 0) {
		log_debug_errno(n, "resctrl: cannot count foreign groups: %m, keeping %d",
				t->foreign);
		n = t->foreign;
	}
	if (n != t->foreign)
		log_info("resctrl: %d monitoring group(s) belong to others", n);
	t->foreign = n;
	/* num_rmids includes the default group's RMID */
	cap = t->info.num_rmids - 1 > (uint32_t)n ? t->info.num_rmids - 1 - (uint32_t)n : 0;
	rmid_pool_set_capacity(t->pool, cap);
}

int resctrl_table_new(const struct memctld_config *c, struct eventlog *log,
		      struct resctrl_table **ret)
{
	struct resctrl_table *t;
	char why[IPC_ERRMSG_MAX - 8];
	bool is_default;
	int fd, r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return log_error_errno(-ENOMEM, "Out of memory");
	t->config = *c;
	t->log = log;
	t->rootfd = t->root_mon_fd = -1;
	*ret = t;
	if (c->resctrl == 0) {
		snprintf(t->status, sizeof(t->status), "off (Resctrl=no)");
		return 0;
	}
	is_default = strcmp(c->resctrl_root, RESCTRL_DEFAULT_ROOT) == 0;
	fd = resctrl_open(c->resctrl_root, is_default, &t->info, why, sizeof(why));
	if (fd < 0) {
		snprintf(t->status, sizeof(t->status), "off (%s)", why);
		if (c->resctrl == 1) {
			*ret = resctrl_table_free(t);
			return log_error_errno(fd, "resctrl: Resctrl=yes, but %s", why);
		}
		log_info("resctrl: off (%s); bandwidth figures are off", why);
		return 0;
	}
	t->rootfd = fd;
	if (t->info.mounted_by_us)
		log_info("resctrl: mounted at %s", c->resctrl_root);
	if (t->info.domains_ignored)
		log_warning("resctrl: %u L3 domain(s) beyond %u are not read",
			    t->info.domains_ignored, RESCTRL_DOMAINS_MAX);
	r = resctrl_remove_stale(fd);
	if (r > 0)
		log_info("resctrl: removed %d stale monitoring group(s) left by a previous memctld",
			 r);
	else if (r < 0)
		log_warning_errno(r, "resctrl: cannot list %s/mon_groups: %m", c->resctrl_root);
	t->pool = malloc(rmid_pool_size(t->info.num_rmids - 1));
	if (!t->pool) {
		*ret = resctrl_table_free(t);
		return log_error_errno(-ENOMEM, "Out of memory");
	}
	rmid_pool_init(t->pool, t->info.num_rmids - 1, 0, c->rmid_min_free_usec);
	t->foreign = -1;
	recount_capacity(t);
	t->root_mon_fd = resctrl_mon_data_open(fd, NULL);
	t->on = true;
	update_status(t, now_usec(CLOCK_MONOTONIC));
	log_info("resctrl: %s at %s; %u RMIDs, %u for memctld; events:%s%s%s", t->status,
		 c->resctrl_root, t->info.num_rmids, t->pool->capacity,
		 t->info.features & RESCTRL_F_MBM_TOTAL ? " mbm_total_bytes" : "",
		 t->info.features & RESCTRL_F_MBM_LOCAL ? " mbm_local_bytes" : "",
		 t->info.features & RESCTRL_F_LLC_OCCUPANCY ? " llc_occupancy" : "");
	return 0;
}

static struct resctrl_unit *by_serial(struct resctrl_table *t, uint64_t serial)
{
	struct resctrl_unit *u = NULL;

	if (serial)
		HASH_FIND(hh_serial, t->by_serial, &serial, sizeof(serial), u);
	return u;
}

/* Give up the unit's group and RMID; its tasks go back to the default group (the
 * kernel moves them at rmdir). state/reason say what it is now. */
static void unit_release(struct resctrl_table *t, struct resctrl_unit *u, uint32_t state,
			 const char *reason, uint64_t now)
{
	if (u->mon_fd >= 0) {
		close(u->mon_fd);
		u->mon_fd = -1;
	}
	if (u->rmid != RMID_POOL_NONE) {
		int r = resctrl_group_remove(t->rootfd, u->group);

		if (r < 0 && r != -ENOENT)
			log_warning_errno(r, "resctrl: cannot remove %s: %m", u->group);
		rmid_pool_free(t->pool, u->rmid, now);
		u->rmid = RMID_POOL_NONE;
		/* a new identity: placements in the old group are void (its tasks went
		 * back to the default group), so a group made again gets them again */
		HASH_DELETE(hh_serial, t->by_serial, u);
		u->serial = ++t->next_serial;
		HASH_ADD(hh_serial, t->by_serial, serial, sizeof(u->serial), u);
	}
	memset(u->d, 0, sizeof(u->d));
	u->bw = (struct ipc_bandwidth_figures){ .state = state };
	u->state = state;
	snprintf(u->reason, sizeof(u->reason), "%s", reason);
}

static void unit_delete(struct resctrl_table *t, struct resctrl_unit *u, uint64_t now)
{
	unit_release(t, u, IPC_BW_NONE, "", now);
	HASH_DELETE(hh, t->units, u);
	HASH_DELETE(hh_serial, t->by_serial, u);
	free(u);
}

struct resctrl_table *resctrl_table_free(struct resctrl_table *t)
{
	struct resctrl_unit *u, *tmp;
	struct placement *p, *ptmp;
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	if (!t)
		return NULL;
	HASH_ITER(hh, t->units, u, tmp)
	unit_delete(t, u, now);
	HASH_ITER(hh, t->placements, p, ptmp)
	{
		HASH_DEL(t->placements, p);
		free(p);
	}
	if (t->root_mon_fd >= 0)
		close(t->root_mon_fd);
	if (t->rootfd >= 0)
		close(t->rootfd);
	free(t->pool);
	free(t);
	return NULL;
}

static struct resctrl_unit *unit_get(struct resctrl_table *t, uint32_t kind, uint32_t id,
				     uint64_t start)
{
	struct resctrl_unit_key k = { .kind = kind, .id = id, .start_usec = start };
	struct resctrl_unit *u;

	HASH_FIND(hh, t->units, &k, sizeof(k), u);
	return u;
}

static struct resctrl_unit *unit_add(struct resctrl_table *t, uint32_t kind, uint32_t id,
				     uint64_t start)
{
	struct resctrl_unit *u = unit_get(t, kind, id, start);
	char what[48];

	if (u)
		return u;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->key = (struct resctrl_unit_key){ .kind = kind, .id = id, .start_usec = start };
	u->serial = ++t->next_serial;
	u->mon_fd = -1;
	u->state = IPC_BW_PENDING;
	snprintf(u->reason, sizeof(u->reason), "new");
	if (kind == IPC_BW_UNIT_PROCESS)
		snprintf(what, sizeof(what), "p%u-%" PRIu64, id, start);
	else
		snprintf(what, sizeof(what), "c%u", id);
	resctrl_group_name(u->group, sizeof(u->group), what);
	HASH_ADD(hh, t->units, key, sizeof(u->key), u);
	HASH_ADD(hh_serial, t->by_serial, serial, sizeof(u->serial), u);
	return u;
}

struct resctrl_unit *resctrl_table_first(struct resctrl_table *t)
{
	return t ? t->units : NULL;
}

unsigned resctrl_table_count(const struct resctrl_table *t)
{
	return t ? HASH_CNT(hh, t->units) : 0;
}

struct resctrl_unit *resctrl_table_find_process(struct resctrl_table *t, pid_t pid,
						uint64_t start_usec)
{
	return t ? unit_get(t, IPC_BW_UNIT_PROCESS, (uint32_t)pid, start_usec) : NULL;
}

struct resctrl_unit *resctrl_table_find_cgroup(struct resctrl_table *t, uint32_t cgroup_id)
{
	return t ? unit_get(t, IPC_BW_UNIT_CGROUP, cgroup_id, 0) : NULL;
}

/* ---- choosing units ---- */

static void collect_units(struct resctrl_table *t, struct proc_table *procs,
			  struct cgroup_table *cgroups, const struct enroll_table *enroll)
{
	struct resctrl_unit *u;

	for (u = t->units; u; u = u->hh.next) {
		u->seen = false;
		u->growth_accum = 0;
	}
	if (t->config.resctrl_monitor & RESCTRL_MONITOR_ENROLLED) {
		for (const struct enrollment_info *e = enroll_table_next(enroll, NULL); e;
		     e = enroll_table_next(enroll, e)) {
			struct proc_entry *p = proc_table_get(procs, e->pid);

			if (!p)
				continue; /* not in the table yet (or gone) */
			u = unit_add(t, IPC_BW_UNIT_PROCESS, (uint32_t)p->pid, p->start_time_usec);
			if (!u)
				continue;
			u->seen = true;
			snprintf(u->name, sizeof(u->name), "%s", e->name[0] ? e->name : p->comm);
			u->priority = rmid_priority(
				true, p->rss_anon_bytes + p->rss_file_bytes + p->rss_shmem_bytes,
				p->growth_now.rate_bytes_per_sec);
		}
	}
	if (!(t->config.resctrl_monitor & RESCTRL_MONITOR_CGROUPS) || !cgroups)
		return;
	/* growth of a cgroup: its members' summed */
	for (struct proc_entry *p = proc_table_first(procs); p; p = p->hh.next) {
		if (!p->cgroup)
			continue;
		u = unit_get(t, IPC_BW_UNIT_CGROUP, p->cgroup->id, 0);
		if (u)
			u->growth_accum += p->growth_now.rate_bytes_per_sec;
	}
	for (struct cgroup_entry *c = cgroup_table_first(cgroups); c; c = c->hh.next) {
		/* the root cgroup holds kernel threads and everything unsorted: the
		 * default group already measures it */
		if (!c->valid || c->gone || c->nr_procs == 0 || strcmp(c->path, "/") == 0)
			continue;
		u = unit_add(t, IPC_BW_UNIT_CGROUP, c->id, 0);
		if (!u)
			continue;
		u->seen = true;
		snprintf(u->name, sizeof(u->name), "%s", c->path);
		u->priority = rmid_priority(false, c->mem.usage_bytes, u->growth_accum);
	}
}

static int cmp_priority_desc(const void *a, const void *b)
{
	const struct resctrl_unit *x = *(struct resctrl_unit *const *)a;
	const struct resctrl_unit *y = *(struct resctrl_unit *const *)b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

/* mkdir the unit's group for the RMID it was just given. */
static void unit_start(struct resctrl_table *t, struct resctrl_unit *u, uint64_t now)
{
	char why[128];
	int r;

	r = resctrl_group_create(t->rootfd, u->group);
	if (r == -EEXIST) {
		/* ours from before (a group we lost track of): start it afresh */
		(void)resctrl_group_remove(t->rootfd, u->group);
		r = resctrl_group_create(t->rootfd, u->group);
	}
	if (r < 0) {
		resctrl_last_cmd_status(t->rootfd, why, sizeof(why));
		rmid_pool_free(t->pool, u->rmid, now);
		u->rmid = RMID_POOL_NONE;
		if (r == -EBUSY) {
			/* the kernel still holds the hardware RMID in limbo: wait again */
			u->state = IPC_BW_PENDING;
			snprintf(u->reason, sizeof(u->reason), "RMIDs in limbo (kernel)");
			return;
		}
		if (r == -ENOSPC) {
			/* someone else took RMIDs since we counted */
			recount_capacity(t);
			u->state = IPC_BW_UNMONITORED;
			snprintf(u->reason, sizeof(u->reason), "RMIDs exhausted");
			return;
		}
		u->state = IPC_BW_UNMONITORED;
		snprintf(u->reason, sizeof(u->reason), "mkdir: %s", strerror(-r));
		log_warning_errno(r, "resctrl: cannot make %s: %m (%s)", u->group, why);
		return;
	}
	u->mon_fd = resctrl_mon_data_open(t->rootfd, u->group);
	if (u->mon_fd < 0) {
		log_warning_errno(u->mon_fd, "resctrl: cannot open %s/mon_data: %m", u->group);
		unit_release(t, u, IPC_BW_UNMONITORED, "no mon_data", now);
		return;
	}
	memset(u->d, 0, sizeof(u->d));
	u->state = IPC_BW_MONITORED;
	u->reason[0] = '\0';
	log_debug("resctrl: %s monitors %s (RMID %u)", u->group, u->name, u->rmid);
}

static void assign_rmids(struct resctrl_table *t, uint64_t now)
{
	_cleanup_free_ struct resctrl_unit **want = NULL;
	unsigned n = 0, preempts = 0, exhausted = 0;
	struct resctrl_unit *u;

	/* keep holders' priorities current, so the lowest is the right one to displace */
	for (u = t->units; u; u = u->hh.next)
		if (u->rmid != RMID_POOL_NONE)
			rmid_pool_set_priority(t->pool, u->rmid, u->priority);
	/* the capacity shrank (others made groups): the lowest give theirs back */
	while (rmid_pool_excess(t->pool) > 0) {
		uint32_t r = rmid_pool_lowest(t->pool);
		struct rmid_info info;

		if (rmid_pool_info(t->pool, r, now, &info) < 0)
			break;
		u = by_serial(t, info.owner);
		if (!u)
			break;
		unit_release(t, u, IPC_BW_UNMONITORED, "RMIDs exhausted", now);
	}

	want = calloc(HASH_CNT(hh, t->units) + 1, sizeof(*want));
	if (!want)
		return;
	for (u = t->units; u; u = u->hh.next)
		if (u->rmid == RMID_POOL_NONE && u->state != IPC_BW_MONITORED)
			want[n++] = u;
	qsort(want, n, sizeof(*want), cmp_priority_desc);
	for (unsigned i = 0; i < n; i++) {
		int r;

		u = want[i];
		r = rmid_pool_alloc(t->pool, u->serial, u->priority, now, &u->rmid);
		if (r == -ENOSPC && preempts < PREEMPTS_PER_TICK) {
			uint32_t low = rmid_pool_lowest(t->pool);
			struct rmid_info info;
			struct resctrl_unit *victim;

			if (rmid_pool_info(t->pool, low, now, &info) == 0 &&
			    rmid_priority_preempts(u->priority, info.priority) &&
			    (victim = by_serial(t, info.owner))) {
				preempts++;
				unit_release(t, victim, IPC_BW_UNMONITORED,
					     "preempted by a higher priority", now);
				r = rmid_pool_alloc(t->pool, u->serial, u->priority, now, &u->rmid);
			}
		}
		if (r == 0) {
			unit_start(t, u, now);
		} else if (r == -EBUSY) {
			u->rmid = RMID_POOL_NONE;
			u->state = IPC_BW_PENDING;
			snprintf(u->reason, sizeof(u->reason), "waiting: RMIDs in quarantine");
		} else {
			u->rmid = RMID_POOL_NONE;
			u->state = IPC_BW_UNMONITORED;
			snprintf(u->reason, sizeof(u->reason), "RMIDs exhausted");
		}
		if (u->state == IPC_BW_UNMONITORED && strcmp(u->reason, "RMIDs exhausted") == 0)
			exhausted++;
	}
	t->unmonitored = 0;
	for (u = t->units; u; u = u->hh.next)
		t->unmonitored += u->state != IPC_BW_MONITORED;
	if (exhausted > 0 && !t->exhausted_reported) {
		struct rmid_pool_status st;

		rmid_pool_status(t->pool, now, &st);
		log_warning("resctrl: RMIDs exhausted (%u of %u held by memctld, %d by others): "
			    "%u unit(s) unmonitored, lowest priority first",
			    st.in_use, t->info.num_rmids, t->foreign, exhausted);
		eventlog_add(t->log, EVENTLOG_SYSTEM, IPC_EVENT_RMIDS_EXHAUSTED, 0, exhausted,
			     "RMIDs exhausted: %u unit(s) unmonitored", exhausted);
		t->exhausted_reported = true;
	} else if (exhausted == 0) {
		t->exhausted_reported = false;
	}
}

/* ---- placing tasks ---- */

static struct resctrl_unit *unit_for(struct resctrl_table *t, const struct proc_entry *p)
{
	struct resctrl_unit *u =
		unit_get(t, IPC_BW_UNIT_PROCESS, (uint32_t)p->pid, p->start_time_usec);

	if (u && u->state == IPC_BW_MONITORED)
		return u;
	if (p->cgroup) {
		u = unit_get(t, IPC_BW_UNIT_CGROUP, p->cgroup->id, 0);
		if (u && u->state == IPC_BW_MONITORED)
			return u;
	}
	return NULL;
}

static bool pidfd_alive(int pidfd)
{
	return pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

/* Write p's threads into u's group (NULL: the default group). Returns 0 when done,
 * -EAGAIN when the tick's budget ran out, -errno. */
static int place(struct resctrl_table *t, const struct proc_entry *p, struct resctrl_unit *u)
{
	int n, r;

	if (t->task_writes >= TASK_WRITES_PER_TICK)
		return -EAGAIN;
	n = resctrl_list_threads(t->config.proc_root, p->pid, t->tids, THREADS_MAX);
	if (n < 0)
		return n;
	/* the listing was of this process only if its pidfd is still alive after it */
	if (!pidfd_alive(p->pidfd))
		return -ESRCH;
	r = resctrl_tasks_write(t->rootfd, u ? u->group : NULL, t->tids, (size_t)n, NULL);
	t->task_writes += (uint32_t)n;
	if (r == -EINVAL && u) {
		/* kernel: "Can't move task to different control group" */
		u->tasks_refused++;
		if (!u->refused_logged)
			log_info("resctrl: %s: a task of %d is in another control group, not "
				 "counted",
				 u->group, (int)p->pid);
		u->refused_logged = true;
		return 0;
	}
	return r < 0 ? r : 0;
}

static void place_tasks(struct resctrl_table *t, struct proc_table *procs)
{
	struct placement *pl, *tmp;

	t->task_writes = 0;
	for (pl = t->placements; pl; pl = pl->hh.next)
		pl->seen = false;
	for (struct proc_entry *p = proc_table_first(procs); p; p = p->hh.next) {
		struct resctrl_unit *want = unit_for(t, p), *had;
		uint64_t want_serial = want ? want->serial : 0;
		int r;

		HASH_FIND(hh, t->placements, &p->pid, sizeof(p->pid), pl);
		if (pl && pl->start_usec != p->start_time_usec) {
			/* a reused pid: the old placement was another process's */
			HASH_DEL(t->placements, pl);
			free(pl);
			pl = NULL;
		}
		if (pl)
			pl->seen = true;
		/* a placement in a group since removed is the default group: rmdir moved
		 * its tasks there */
		had = pl ? by_serial(t, pl->serial) : NULL;
		if (had && had->state != IPC_BW_MONITORED)
			had = NULL;
		if ((had ? had->serial : 0) == want_serial)
			continue;
		if (!pl && !want)
			continue;
		/* a fresh child of a placed parent inherited its group at clone */
		if (!pl && want) {
			struct placement *parent;

			HASH_FIND(hh, t->placements, &p->ppid, sizeof(p->ppid), parent);
			if (parent && parent->serial == want_serial && want &&
			    want->key.kind == IPC_BW_UNIT_CGROUP)
				r = 0;
			else
				r = place(t, p, want);
		} else {
			r = place(t, p, want);
		}
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			if (r != -ESRCH)
				log_debug_errno(r, "resctrl: cannot place %d: %m", (int)p->pid);
			continue;
		}
		if (!pl) {
			pl = calloc(1, sizeof(*pl));
			if (!pl)
				continue;
			pl->pid = p->pid;
			pl->start_usec = p->start_time_usec;
			pl->seen = true;
			HASH_ADD(hh, t->placements, pid, sizeof(pl->pid), pl);
		}
		pl->serial = want_serial;
	}
	HASH_ITER(hh, t->placements, pl, tmp)
	if (!pl->seen && t->task_writes < TASK_WRITES_PER_TICK) {
		HASH_DEL(t->placements, pl);
		free(pl);
	}
}

/* ---- reading ---- */

/* Fold one counter read into its state: a rate from the previous value, a new
 * baseline after a reset (a smaller value) or a gap. */
static bool counter_update(struct resctrl_counter_state *s, const struct resctrl_counter *c,
			   uint64_t now, uint32_t tick, bool cumulative)
{
	if (c->status != RESCTRL_COUNTER_VALUE)
		return false;
	if (c->usec)
		now = c->usec; /* the read's own time */
	if (!cumulative) {
		s->rate = c->value;
	} else if (s->usec && now > s->usec && c->value >= s->value) {
		unsigned __int128 d = (unsigned __int128)(c->value - s->value) * USEC_PER_SEC;

		d /= now - s->usec;
		s->rate = d > UINT64_MAX ? UINT64_MAX : (uint64_t)d;
	} else {
		/* first read, or the counter went back (reset, BMEC reconfigured): no
		 * rate from this pair */
		s->value = c->value;
		s->usec = now;
		return false;
	}
	s->value = c->value;
	s->usec = now;
	s->fresh_tick = tick;
	return true;
}

/* Sum domains into figures; a domain that was good within STALE_TICKS counts. */
static void sum_domains(const struct resctrl_domain_state *d, uint32_t n, uint32_t tick,
			uint32_t features, struct ipc_bandwidth_figures *f)
{
	f->mbm_total_bytes_per_sec = f->mbm_local_bytes_per_sec = f->llc_occupancy_bytes = 0;
	f->valid = 0;
	for (uint32_t i = 0; i < n; i++) {
		if ((features & RESCTRL_F_MBM_TOTAL) && d[i].total.fresh_tick &&
		    tick - d[i].total.fresh_tick < STALE_TICKS) {
			f->mbm_total_bytes_per_sec += d[i].total.rate;
			f->valid |= IPC_BW_VALID_TOTAL;
		}
		if ((features & RESCTRL_F_MBM_LOCAL) && d[i].local.fresh_tick &&
		    tick - d[i].local.fresh_tick < STALE_TICKS) {
			f->mbm_local_bytes_per_sec += d[i].local.rate;
			f->valid |= IPC_BW_VALID_LOCAL;
		}
		if ((features & RESCTRL_F_LLC_OCCUPANCY) && d[i].occupancy.fresh_tick &&
		    tick - d[i].occupancy.fresh_tick < STALE_TICKS) {
			f->llc_occupancy_bytes += d[i].occupancy.rate;
			f->valid |= IPC_BW_VALID_OCCUPANCY;
		}
	}
}

/* Fold a sample into domain states; returns the count of Unavailable/Error reads. */
static unsigned fold_sample(struct resctrl_domain_state *d, const struct resctrl_sample *s,
			    uint64_t now, uint32_t tick, uint32_t features)
{
	unsigned bad = 0;

	for (uint32_t i = 0; i < s->n_domains; i++) {
		const struct resctrl_domain_sample *x = &s->d[i];

		if ((features & RESCTRL_F_MBM_TOTAL) && x->total.status != RESCTRL_COUNTER_VALUE)
			bad++;
		if ((features & RESCTRL_F_MBM_LOCAL) && x->local.status != RESCTRL_COUNTER_VALUE)
			bad++;
		if ((features & RESCTRL_F_LLC_OCCUPANCY) &&
		    x->occupancy.status != RESCTRL_COUNTER_VALUE)
			bad++;
		counter_update(&d[i].total, &x->total, now, tick, true);
		counter_update(&d[i].local, &x->local, now, tick, true);
		counter_update(&d[i].occupancy, &x->occupancy, now, tick, false);
	}
	return bad;
}

static void read_domains(struct resctrl_table *t, uint32_t tick)
{
	struct resctrl_sample s;
	uint64_t now;

	if (t->root_mon_fd < 0 || resctrl_sample_read(t->root_mon_fd, &t->info, &s) < 0)
		return;
	now = now_usec(CLOCK_MONOTONIC);
	for (uint32_t i = 0; i < s.n_domains; i++) {
		struct resctrl_domain_totals *d = &t->dom[i];
		struct resctrl_sample one = { .n_domains = 1, .d = { s.d[i] } };
		struct ipc_bandwidth_figures f;

		fold_sample(&d->s, &one, now, tick, t->info.features);
		sum_domains(&d->s, 1, tick, t->info.features, &f);
		d->valid = f.valid;
		if (f.valid & IPC_BW_VALID_TOTAL)
			d->peak_bytes_per_sec =
				MAX(d->peak_bytes_per_sec, f.mbm_total_bytes_per_sec);
		d->peak_bytes_per_sec =
			MAX(d->peak_bytes_per_sec, t->config.peak_bandwidth_min_bytes);
		d->readback_cost_permyriad = fair_bandwidth_factor_to_permyriad(
			fair_bandwidth_factor(f.mbm_total_bytes_per_sec, d->peak_bytes_per_sec));
	}
}

/* The unit's pressure: its domains' utilisation weighted by its traffic there. */
static uint32_t unit_cost(const struct resctrl_table *t, const struct resctrl_unit *u)
{
	double num = 0, den = 0, worst = 0, u_eff;

	for (uint32_t i = 0; i < t->info.n_domains; i++) {
		const struct resctrl_domain_totals *d = &t->dom[i];
		double util, w = (double)u->d[i].total.rate;

		if (!(d->valid & IPC_BW_VALID_TOTAL) || d->peak_bytes_per_sec == 0)
			continue;
		util = (double)d->s.total.rate / (double)d->peak_bytes_per_sec;
		num += w * util;
		den += w;
		worst = MAX(worst, util);
	}
	/* no traffic of its own yet: the busiest domain it might use */
	u_eff = den > 0 ? num / den : worst;
	return fair_bandwidth_factor_to_permyriad(
		fair_bandwidth_factor((uint64_t)(u_eff * 1e6), (uint64_t)1e6));
}

static void read_units(struct resctrl_table *t)
{
	struct resctrl_unit *u, *tmp;

	HASH_ITER(hh, t->units, u, tmp)
	{
		struct resctrl_sample s;
		uint64_t now;
		int r;

		if (u->state != IPC_BW_MONITORED)
			continue;
		r = resctrl_sample_read(u->mon_fd, &t->info, &s);
		now = now_usec(CLOCK_MONOTONIC);
		if (r == -ENOENT) {
			log_warning("resctrl: monitoring group %s (%s) vanished, making it again",
				    u->group, u->name);
			eventlog_add(t->log, EVENTLOG_SYSTEM, IPC_EVENT_RESCTRL_GROUP_LOST,
				     u->key.kind == IPC_BW_UNIT_PROCESS ? u->key.id : 0, 0,
				     "%s vanished (%s)", u->group, u->name);
			unit_release(t, u, IPC_BW_PENDING, "group vanished", now);
			continue;
		}
		if (r < 0) {
			u->unavailable_reads++;
			log_debug_errno(r, "resctrl: reading %s: %m", u->group);
			continue;
		}
		u->unavailable_reads += fold_sample(u->d, &s, now, t->tick, t->info.features);
		sum_domains(u->d, t->info.n_domains, t->tick, t->info.features, &u->bw);
		u->bw.state = IPC_BW_MONITORED;
	}
	read_domains(t, t->tick);
	for (u = t->units; u; u = u->hh.next)
		u->readback_cost_permyriad = u->state == IPC_BW_MONITORED ? unit_cost(t, u) : 10000;
}

void resctrl_table_tick(struct resctrl_table *t, struct proc_table *procs,
			struct cgroup_table *cgroups, const struct enroll_table *enroll,
			uint64_t now_usec)
{
	struct resctrl_unit *u, *tmp;

	if (!resctrl_table_on(t))
		return;
	t->tick++;
	if (t->tick % RECOUNT_TICKS == 0)
		recount_capacity(t);
	collect_units(t, procs, cgroups, enroll);
	HASH_ITER(hh, t->units, u, tmp)
	if (!u->seen)
		unit_delete(t, u, now_usec);
	assign_rmids(t, now_usec);
	place_tasks(t, procs);
	read_units(t);
	update_status(t, now_usec);
}

uint32_t resctrl_table_readback_cost(struct resctrl_table *t, pid_t pid, uint64_t start_usec)
{
	struct resctrl_unit *u;
	uint32_t worst = 10000;

	if (!resctrl_table_on(t))
		return 10000;
	u = resctrl_table_find_process(t, pid, start_usec);
	if (u && u->state == IPC_BW_MONITORED)
		return u->readback_cost_permyriad;
	for (uint32_t i = 0; i < t->info.n_domains; i++)
		if (t->dom[i].valid & IPC_BW_VALID_TOTAL)
			worst = MAX(worst, t->dom[i].readback_cost_permyriad);
	return worst;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void resctrl_table_fill_reply(struct resctrl_table *t, uint64_t now_usec,
			      struct ipc_ctl_bandwidth_reply *ret)
{
	struct rmid_pool_status st;
	uint64_t left[IPC_BW_QUARANTINE_MAX];
	uint32_t nq = 0;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->status, sizeof(ret->status), "%s", resctrl_table_status(t));
	if (!resctrl_table_on(t))
		return;
	ret->state = IPC_RESCTRL_ON;
	ret->features = t->info.features & 7U;
	rmid_pool_status(t->pool, now_usec, &st);
	ret->num_rmids = t->info.num_rmids;
	ret->capacity = st.capacity;
	ret->in_use = MIN(st.in_use, st.capacity);
	ret->quarantined = st.quarantined;
	ret->unmonitored = t->unmonitored;
	ret->min_free_usec = st.min_free_usec;
	ret->max_threshold_occupancy_bytes = t->info.max_threshold_occupancy;
	for (uint32_t r = 1; r <= t->pool->n_max && nq < IPC_BW_QUARANTINE_MAX; r++) {
		struct rmid_info info;

		if (rmid_pool_info(t->pool, r, now_usec, &info) == 0 &&
		    info.state == RMID_QUARANTINE)
			left[nq++] = info.quarantine_left_usec;
	}
	qsort(left, nq, sizeof(left[0]), cmp_u64);
	ret->n_quarantine = nq;
	memcpy(ret->quarantine_left_usec, left, nq * sizeof(left[0]));
	ret->n_domains = MIN(t->info.n_domains, (uint32_t)IPC_BW_DOMAINS_MAX);
	for (uint32_t i = 0; i < ret->n_domains; i++) {
		struct ipc_bandwidth_domain *d = &ret->domains[i];
		struct ipc_bandwidth_figures f;

		sum_domains(&t->dom[i].s, 1, t->tick, t->info.features, &f);
		d->id = t->info.domain_ids[i];
		d->valid = f.valid;
		d->mbm_total_bytes_per_sec = f.mbm_total_bytes_per_sec;
		d->mbm_local_bytes_per_sec = f.mbm_local_bytes_per_sec;
		d->llc_occupancy_bytes = f.llc_occupancy_bytes;
		d->peak_bytes_per_sec = t->dom[i].peak_bytes_per_sec;
		d->readback_cost_permyriad = t->dom[i].readback_cost_permyriad ?: 10000;
	}
}

void resctrl_table_fill_entry(const struct resctrl_unit *u, struct ipc_bandwidth_entry *ret)
{
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->name, sizeof(ret->name), "%s", u->name);
	snprintf(ret->group, sizeof(ret->group), "%s", u->group);
	snprintf(ret->reason, sizeof(ret->reason), "%s",
		 u->state == IPC_BW_MONITORED ? "" : u->reason);
	ret->kind = u->key.kind;
	ret->pid = u->key.kind == IPC_BW_UNIT_PROCESS ? u->key.id : 0;
	ret->cgroup_id = u->key.kind == IPC_BW_UNIT_CGROUP ? u->key.id : 0;
	ret->rmid = u->rmid;
	ret->priority = u->priority;
	ret->bw = u->bw;
	ret->bw.state = u->state;
	if (u->state != IPC_BW_MONITORED)
		ret->bw = (struct ipc_bandwidth_figures){ .state = u->state };
	ret->readback_cost_permyriad = u->readback_cost_permyriad ?: 10000;
	ret->unavailable_reads = u->unavailable_reads;
}
