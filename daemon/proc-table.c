// SPDX-License-Identifier: MIT
/* daemon/proc-table.c: the process table. Entries are added from BPF exec/fork
 * records or a /proc scan, held by pidfd, updated by coalesced RSS records,
 * and removed on exit records or when a resync finds them gone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/time-util.h"
#include "daemon/cgroup-table.h"
#include "daemon/log.h"
#include "daemon/proc-parse.h"
#include "daemon/proc-table.h"

struct proc_table {
	char proc_root[PATH_MAX];
	bool real_proc; /* proc_root is the live /proc: pidfds mean something */
	struct cgroup_table *cgroups;
	struct proc_entry *by_pid;
	unsigned count;
	unsigned n_unresolved; /* entries whose cgroup needs resolving */
	uint64_t clk_tck;
	int exit_epoll; /* every entry's pidfd, readable when its process exits */
	struct growth_params growth_defaults;
	const struct growth_params *growth;
	unsigned pidfd_max; /* pin at most this many (the file limit's share) */
	unsigned n_pidfds;
	unsigned n_unpinned; /* entries without a pidfd, on the live /proc */
	bool pin_degraded; /* the "file limit reached" line was logged */
	struct proc_entry *faults_cursor; /* where the round-robin refresh goes on */
};

int proc_table_new(const char *proc_root, struct cgroup_table *cgroups, struct proc_table **ret)
{
	struct proc_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	snprintf(t->proc_root, sizeof(t->proc_root), "%s", proc_root);
	t->real_proc = strcmp(proc_root, "/proc") == 0;
	t->cgroups = cgroups;
	t->clk_tck = (uint64_t)sysconf(_SC_CLK_TCK);
	growth_params_init(&t->growth_defaults);
	t->growth = &t->growth_defaults;
	t->pidfd_max = UINT_MAX;
	t->exit_epoll = epoll_create1(EPOLL_CLOEXEC);
	if (t->exit_epoll < 0) {
		free(t);
		return negative_errno();
	}
	*ret = t;
	return 0;
}

/* At the limit, short-lived processes come and go unpinned: an episode begins
 * and ends each time. Both lines are said at most once a minute. */
#define PIN_LOG_INTERVAL_USEC (60 * USEC_PER_SEC)

static void pin_recovered(struct proc_table *t)
{
	if (t->pin_degraded && t->n_unpinned == 0) {
		t->pin_degraded = false;
		log_ratelimit_full_errno(LOG_INFO, 0, PIN_LOG_INTERVAL_USEC, 1,
					 "Every tracked process is pinned by a pidfd again (%u)",
					 t->n_pidfds);
	}
}

/* Close e's pidfd (an entry being dropped, or one never inserted). */
static void entry_unpin(struct proc_table *t, struct proc_entry *e)
{
	if (e->pidfd >= 0) {
		close(e->pidfd);
		e->pidfd = -1;
		t->n_pidfds--;
	}
}

static void entry_free(struct proc_table *t, struct proc_entry *e)
{
	log_debug("proc-table: drop %d (%s)", (int)e->pid, e->comm);
	if (t->faults_cursor == e)
		t->faults_cursor = e->hh.next;
	HASH_DEL(t->by_pid, e);
	t->count--;
	if (!e->cgroup || e->cgroup_stale)
		t->n_unresolved--;
	if (t->cgroups)
		cgroup_table_unref(t->cgroups, e->cgroup);
	if (e->pidfd < 0 && t->real_proc)
		t->n_unpinned--;
	entry_unpin(t, e);
	free(e->cmdline);
	free(e);
	pin_recovered(t);
}

/* An exec (or a resync that may have missed one) makes the identity stale. */
static void identity_forget(struct proc_entry *e)
{
	e->identity_valid = false;
	e->euid = PROC_UID_UNKNOWN;
	e->cmdline_bytes = 0;
	free(e->cmdline);
	e->cmdline = NULL;
}

struct proc_table *proc_table_free(struct proc_table *t)
{
	struct proc_entry *e, *tmp;

	if (!t)
		return NULL;
	HASH_ITER(hh, t->by_pid, e, tmp)
	entry_free(t, e);
	close(t->exit_epoll);
	free(t);
	return NULL;
}

unsigned proc_table_count(const struct proc_table *t)
{
	return t ? t->count : 0;
}

struct proc_entry *proc_table_get(struct proc_table *t, pid_t pid)
{
	struct proc_entry *e;

	HASH_FIND_INT(t->by_pid, &pid, e);
	return e;
}

struct proc_entry *proc_table_first(struct proc_table *t)
{
	return t->by_pid;
}

/* Exits are seen through the pidfd even when the BPF exit record is lost:
 * a pidfd polls readable once its process has exited. */
static void watch_exit(struct proc_table *t, struct proc_entry *e)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)e->pid };

	if (e->pidfd >= 0 && epoll_ctl(t->exit_epoll, EPOLL_CTL_ADD, e->pidfd, &ev) < 0)
		log_debug_errno(negative_errno(), "Cannot watch pidfd of %d: %m", (int)e->pid);
}

unsigned proc_table_reap(struct proc_table *t, void (*cb)(void *userdata, pid_t pid),
			 void *userdata)
{
	struct epoll_event evs[64];
	unsigned n = 0;
	int k;

	while ((k = epoll_wait(t->exit_epoll, evs, (int)ELEMENTSOF(evs), 0)) > 0) {
		for (int i = 0; i < k; i++) {
			pid_t pid = (pid_t)evs[i].data.u64;
			struct proc_entry *e = proc_table_get(t, pid);
			struct pollfd pfd;

			/* the event names a pid; remove only if this entry's own
			 * pidfd says so, never a newer process under that pid */
			if (!e || e->pidfd < 0)
				continue;
			pfd = (struct pollfd){ .fd = e->pidfd, .events = POLLIN };
			if (poll(&pfd, 1, 0) <= 0)
				continue;
			if (cb)
				cb(userdata, pid);
			entry_free(t, e); /* closing the pidfd unwatches it */
			n++;
		}
		if (k < (int)ELEMENTSOF(evs))
			break;
	}
	return n;
}

static int read_file(const struct proc_table *t, pid_t pid, const char *name, char *buf,
		     size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%d/%s", t->proc_root, (int)pid, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : negative_errno();
	n = read(fd, buf, size - 1);
	if (n < 0) {
		n = errno == ESRCH ? -ESRCH : negative_errno();
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	return (int)n;
}

static int read_stat(const struct proc_table *t, pid_t pid, struct proc_stat *ret)
{
	char buf[4096];
	int r = read_file(t, pid, "stat", buf, sizeof(buf));

	return r < 0 ? r : proc_stat_parse(buf, (size_t)r, ret);
}

static uint64_t stat_start_usec(const struct proc_table *t, const struct proc_stat *st)
{
	return st->starttime_ticks * USEC_PER_SEC / t->clk_tck;
}

/*
 * Is the process now under e's PID the one e tracks? Without a pidfd, by start
 * time: e's start time is the process's own (from /proc) or the time of its
 * fork/exec record, which is never earlier; a process reusing the PID started
 * after e's exited, so after either. /proc truncates to clock ticks, which only
 * makes the figure smaller.
 */
static bool entry_same_process(const struct proc_table *t, const struct proc_entry *e,
			       const struct proc_stat *st)
{
	return e->start_time_usec == 0 || stat_start_usec(t, st) <= e->start_time_usec;
}

static void entry_set_faults(struct proc_entry *e, const struct proc_stat *st)
{
	e->minor_faults = st->minflt;
	e->major_faults = st->majflt;
	e->faults_usec = now_usec(CLOCK_MONOTONIC);
}

/* RSS and identity from /proc/PID/stat and /proc/PID/status. -ESTALE when e
 * is unpinned and the PID now names another process. */
static int entry_read_proc(struct proc_table *t, struct proc_entry *e)
{
	struct proc_stat st;
	struct proc_status ss;
	char buf[4096];
	int r;

	r = read_stat(t, e->pid, &st);
	if (r < 0)
		return r;
	if (e->pidfd < 0 && t->real_proc && !entry_same_process(t, e, &st))
		return -ESTALE;
	/* a resync after lost records: an exec may have gone unseen, and it
	 * almost always renames the process (not when the new program has the
	 * same name: memctl(1) says so) */
	if (strncmp(e->comm, st.comm, sizeof(e->comm) - 1) != 0)
		identity_forget(e);
	e->ppid = st.ppid;
	snprintf(e->comm, sizeof(e->comm), "%.15s", st.comm);
	/* a fork record's time is exact; /proc's is truncated to clock ticks:
	 * a resync keeps the exact one (resctrl units, among others, are keyed
	 * by (pid, start time) and would be re-made otherwise) */
	if (e->start_time_usec == 0 || !entry_same_process(t, e, &st))
		e->start_time_usec = stat_start_usec(t, &st);
	entry_set_faults(e, &st);

	r = read_file(t, e->pid, "status", buf, sizeof(buf));
	if (r < 0)
		return r;
	r = proc_status_parse(buf, (size_t)r, &ss);
	if (r < 0)
		return r;
	if (!ss.has_mm)
		return -ENOENT; /* a kernel thread: no memory of its own to watch */
	e->rss_anon_bytes = ss.rss_anon_bytes;
	e->rss_file_bytes = ss.rss_file_bytes;
	e->rss_shmem_bytes = ss.rss_shmem_bytes;
	e->swap_bytes = ss.vm_swap_bytes;
	e->rss_time_usec = now_usec(CLOCK_BOOTTIME);
	growth_state_push(&e->growth, t->growth, e->rss_time_usec,
			  e->rss_anon_bytes + e->rss_file_bytes + e->rss_shmem_bytes);
	return 0;
}

int proc_table_read_identity(struct proc_table *t, struct proc_entry *e)
{
	char status[4096], cmdline[PROC_CMDLINE_MAX + 1];
	struct proc_status ss;
	char *copy;
	bool cut;
	int n, r;

	if (e->identity_valid)
		return 0;
	r = read_file(t, e->pid, "status", status, sizeof(status));
	if (r >= 0)
		r = proc_status_parse(status, (size_t)r, &ss);
	/* one byte more than kept: a full buffer means it was cut */
	n = r >= 0 ? read_file(t, e->pid, "cmdline", cmdline, sizeof(cmdline)) : r;
	if (t->real_proc &&
	    (n < 0 || (e->pidfd >= 0 && syscall(SYS_pidfd_send_signal, e->pidfd, 0, NULL, 0) < 0)))
		return -ESRCH; /* gone, or its PID reused between the reads */
	if (n < 0) /* a fixture tree without these files: unknown, for good */
		n = 0, ss.has_uid = false;
	/* arguments are NUL-separated (and the last NUL-terminated); a full
	 * buffer means more followed, whatever its last byte */
	cut = n >= PROC_CMDLINE_MAX;
	while (n > 0 && cmdline[n - 1] == '\0')
		n--;
	for (int i = 0; i < n; i++)
		if (cmdline[i] == '\0')
			cmdline[i] = ' ';
	e->cmdline_bytes = cut ? PROC_CMDLINE_MAX : (uint32_t)n;
	cmdline[MIN(n, PROC_CMDLINE_MAX - 1)] = '\0';
	copy = strdup(cmdline);
	if (!copy)
		return -ENOMEM;
	free(e->cmdline);
	e->cmdline = copy;
	e->euid = r >= 0 && ss.has_uid ? ss.euid : PROC_UID_UNKNOWN;
	e->identity_valid = true;
	return 0;
}

int proc_table_refresh_faults(struct proc_table *t, struct proc_entry *e, uint64_t max_age_usec,
			      struct proc_budget *b)
{
	struct proc_stat st;
	int r;

	if (e->faults_usec && now_usec(CLOCK_MONOTONIC) - e->faults_usec < max_age_usec)
		return 0;
	if (!proc_budget_take(b))
		return 0;
	r = read_stat(t, e->pid, &st);
	if (r < 0)
		return r;
	/* a stranger under an unpinned entry's PID: keep the old figures */
	if (e->pidfd < 0 && t->real_proc && !entry_same_process(t, e, &st))
		return -ESRCH;
	entry_set_faults(e, &st);
	return 1;
}

unsigned proc_table_refresh_faults_all(struct proc_table *t, uint64_t max_age_usec,
				       struct proc_budget *b)
{
	struct proc_entry *e = t->faults_cursor ?: t->by_pid;
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	unsigned n = 0;

	/* one lap; the next call goes on after the last entry read. Past the
	 * budget the lap only counts what stays stale, for the caller to say. */
	for (unsigned i = 0; e && i < t->count; i++, e = e->hh.next ?: t->by_pid) {
		if (e->faults_usec && now - e->faults_usec < max_age_usec)
			continue;
		if (b->reads_left == 0) {
			b->reads_skipped++;
			continue;
		}
		if (proc_table_refresh_faults(t, e, max_age_usec, b) > 0)
			n++;
		t->faults_cursor = e->hh.next;
	}
	return n;
}

/* Open e's pidfd if the budget has room. -ESRCH if the process is gone; 0
 * otherwise, pinned or not (over the budget, EMFILE/ENFILE: said once). */
static int entry_pin(struct proc_table *t, struct proc_entry *e)
{
	int fd, r = 0;

	if (t->n_pidfds >= t->pidfd_max) {
		r = -EMFILE;
	} else {
		fd = (int)syscall(SYS_pidfd_open, e->pid, 0);
		if (fd >= 0) {
			e->pidfd = fd;
			t->n_pidfds++;
			return 0;
		}
		if (errno == ESRCH || errno == EINVAL)
			return -ESRCH;
		r = negative_errno();
	}
	if (!t->pin_degraded && (r == -EMFILE || r == -ENFILE)) {
		t->pin_degraded = true;
		log_ratelimit_full_errno(
			LOG_WARNING, 0, PIN_LOG_INTERVAL_USEC, 1,
			"File limit: %u processes pinned by pidfd (the most this daemon allows "
			"itself under RLIMIT_NOFILE); tracking further processes without one "
			"until some exit (memctl status shows how many)",
			t->n_pidfds);
	} else if (r != -EMFILE && r != -ENFILE) {
		log_ratelimit_warning_errno(r, "pidfd_open(%d) failed: %m, tracking it unpinned",
					    (int)e->pid);
	}
	return 0;
}

/* A new entry pinned by a pidfd (on the live /proc) when the budget allows,
 * not yet in the table. -ESRCH if the process is already gone. */
static int entry_new(struct proc_table *t, pid_t pid, struct proc_entry **ret)
{
	struct proc_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->pid = pid;
	e->pidfd = -1;
	e->euid = PROC_UID_UNKNOWN;
	growth_state_init(&e->growth);
	if (t->real_proc && entry_pin(t, e) < 0) {
		free(e);
		return -ESRCH;
	}
	*ret = e;
	return 0;
}

/* Free an entry that never made it into the table. */
static void entry_discard(struct proc_table *t, struct proc_entry *e)
{
	entry_unpin(t, e);
	free(e->cmdline);
	free(e);
}

void proc_table_set_pidfd_max(struct proc_table *t, unsigned max)
{
	t->pidfd_max = max;
}

unsigned proc_table_pidfd_max(const struct proc_table *t)
{
	return t ? t->pidfd_max : 0;
}

unsigned proc_table_unpinned(const struct proc_table *t)
{
	return t ? t->n_unpinned : 0;
}

unsigned proc_table_repin(struct proc_table *t, unsigned budget)
{
	struct proc_entry *e, *tmp;
	unsigned n = 0;

	if (t->n_unpinned == 0)
		return 0;
	HASH_ITER(hh, t->by_pid, e, tmp)
	{
		struct proc_stat st;
		int fd;

		if (budget == 0 || t->n_pidfds >= t->pidfd_max)
			break;
		if (e->pidfd >= 0)
			continue;
		budget--;
		fd = (int)syscall(SYS_pidfd_open, e->pid, 0);
		if (fd < 0) {
			int err = errno;

			if (err == EMFILE || err == ENFILE)
				break;
			if (err == ESRCH)
				entry_free(t, e); /* exited, its record lost or not yet read */
			continue;
		}
		/* pinned first, then read, then checked alive: the pidfd holds
		 * whoever had the PID at the open, and the read was of that one */
		if (read_stat(t, e->pid, &st) < 0 || !entry_same_process(t, e, &st) ||
		    syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0) {
			close(fd);
			entry_free(t, e);
			continue;
		}
		e->pidfd = fd;
		t->n_pidfds++;
		t->n_unpinned--;
		watch_exit(t, e);
		n++;
	}
	pin_recovered(t);
	return n;
}

static void entry_insert(struct proc_table *t, struct proc_entry *e)
{
	log_debug("proc-table: add %d", (int)e->pid);
	HASH_ADD_INT(t->by_pid, pid, e);
	t->count++;
	t->n_unresolved++;
	if (e->pidfd < 0 && t->real_proc)
		t->n_unpinned++;
	watch_exit(t, e);
}

int proc_table_add(struct proc_table *t, pid_t pid, struct proc_entry **ret)
{
	struct proc_entry *e = proc_table_get(t, pid);
	int r;

	if (!e) {
		r = entry_new(t, pid, &e);
		if (r < 0)
			return r;
		/* pinned first, then read, then checked alive: a PID reused in
		 * between would have made the read a stranger's */
		r = entry_read_proc(t, e);
		if (r == 0 && e->pidfd >= 0 &&
		    syscall(SYS_pidfd_send_signal, e->pidfd, 0, NULL, 0) < 0)
			r = -ESRCH;
		if (r < 0) {
			entry_discard(t, e);
			return r;
		}
		entry_insert(t, e);
	}
	if (ret)
		*ret = e;
	return 0;
}

int proc_table_add_event(struct proc_table *t, pid_t pid, pid_t ppid, const char *comm,
			 uint64_t time_ns, bool new_process, struct proc_entry **ret)
{
	struct proc_entry *e = proc_table_get(t, pid);
	int r;

	/* A fork names a process that did not exist before: an entry holding its
	 * PID is a predecessor whose exit we have not seen yet (it exited before
	 * its record, or during the start-up scan). Keeping it would keep the
	 * old pidfd, and reaping that would drop the new process. */
	if (e && new_process) {
		entry_free(t, e);
		e = NULL;
	}
	if (!e) {
		r = entry_new(t, pid, &e);
		if (r < 0)
			return r; /* exited before we got here: its exit record follows */
		e->start_time_usec = time_ns / NSEC_PER_USEC;
		entry_insert(t, e);
	}
	if (!new_process)
		identity_forget(e); /* an exec: a new command line, maybe a new euid */
	e->ppid = ppid;
	snprintf(e->comm, sizeof(e->comm), "%.15s", comm);
	if (ret)
		*ret = e;
	return 0;
}

void proc_table_remove(struct proc_table *t, pid_t pid)
{
	struct proc_entry *e = proc_table_get(t, pid);

	if (e)
		entry_free(t, e);
}

void proc_table_set_growth_params(struct proc_table *t, const struct growth_params *p)
{
	t->growth = p ?: &t->growth_defaults;
}

void proc_table_evaluate_growth(struct proc_table *t, uint64_t now_usec,
				void (*cb)(void *userdata, struct proc_entry *e,
					   enum growth_event ev),
				void *userdata)
{
	struct proc_entry *e, *tmp;

	HASH_ITER(hh, t->by_pid, e, tmp)
	{
		enum growth_event ev =
			growth_state_evaluate(&e->growth, t->growth, now_usec, &e->growth_now);

		if (ev != GROWTH_EVENT_NONE && cb)
			cb(userdata, e, ev);
	}
}

void proc_table_rss(struct proc_table *t, struct proc_entry *e, uint64_t time_ns, uint64_t anon,
		    uint64_t file, uint64_t shmem, uint64_t swap)
{
	e->rss_anon_bytes = anon;
	e->rss_file_bytes = file;
	e->rss_shmem_bytes = shmem;
	e->swap_bytes = swap;
	e->rss_time_usec = time_ns / NSEC_PER_USEC;
	growth_state_push(&e->growth, t->growth, e->rss_time_usec, anon + file + shmem);
}

void proc_table_mark_cgroup_stale(struct proc_table *t, struct proc_entry *e)
{
	if (e->cgroup && !e->cgroup_stale) {
		e->cgroup_stale = true;
		t->n_unresolved++;
	}
}

int proc_table_resolve_cgroup(struct proc_table *t, struct proc_entry *e)
{
	struct cgroup_entry *c = NULL;
	char buf[4096], path[PATH_MAX];
	struct proc_cgroup pc;
	const char *p;
	bool pending = !e->cgroup || e->cgroup_stale;
	int r;

	if (!t->cgroups)
		return -ENODEV;
	r = read_file(t, e->pid, "cgroup", buf, sizeof(buf));
	if (r < 0)
		return r;
	r = proc_cgroup_parse(buf, (size_t)r, &pc);
	if (r < 0)
		return r;
	p = cgroup_table_hierarchy(t->cgroups) == 1 ? pc.v1_memory_path : pc.v2_path;
	if (!p) {
		proc_cgroup_done(&pc);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s", p);
	proc_cgroup_done(&pc);
	if (e->cgroup && strcmp(e->cgroup->path, path) == 0 && !e->cgroup->gone) {
		if (pending)
			t->n_unresolved--;
		e->cgroup_stale = false;
		return 0;
	}
	r = cgroup_table_ref(t->cgroups, path, &c);
	if (r < 0)
		return r;
	cgroup_table_unref(t->cgroups, e->cgroup);
	e->cgroup = c;
	e->cgroup_stale = false;
	if (pending)
		t->n_unresolved--;
	return 0;
}

unsigned proc_table_resolve_cgroups(struct proc_table *t)
{
	struct proc_entry *e, *tmp;
	unsigned n = 0;

	if (t->n_unresolved == 0 || !t->cgroups)
		return 0;
	HASH_ITER(hh, t->by_pid, e, tmp)
	{
		if (e->cgroup && e->cgroup->gone)
			proc_table_mark_cgroup_stale(t, e);
		if (e->cgroup && !e->cgroup_stale)
			continue;
		if (proc_table_resolve_cgroup(t, e) == 0)
			n++;
	}
	return n;
}

int proc_table_resync(struct proc_table *t)
{
	struct proc_entry *e, *tmp;
	struct dirent *de;
	int changes = 0, r;
	DIR *d;

	d = opendir(t->proc_root);
	if (!d)
		return negative_errno();
	/* mark: pid 0 never appears in /proc, so seen = a generation bit */
	HASH_ITER(hh, t->by_pid, e, tmp)
	e->seen = false;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid > INT32_MAX)
			continue;
		e = proc_table_get(t, (pid_t)pid);
		if (e) {
			/* a pidfd that says "exited" means the PID now names another */
			if (e->pidfd >= 0 &&
			    syscall(SYS_pidfd_send_signal, e->pidfd, 0, NULL, 0) < 0) {
				entry_free(t, e);
				changes++;
			} else if ((r = entry_read_proc(t, e)) == 0) {
				e->seen = true;
				continue;
			} else if (r == -ESTALE) {
				entry_free(t, e); /* unpinned, and the PID was reused */
				changes++;
			} else {
				continue; /* exiting right now: the sweep drops it */
			}
		}
		if (proc_table_add(t, (pid_t)pid, &e) == 0) {
			e->seen = true;
			changes++;
		}
	}
	closedir(d);
	/* sweep */
	HASH_ITER(hh, t->by_pid, e, tmp)
	{
		if (!e->seen) {
			entry_free(t, e);
			changes++;
		}
	}
	return changes;
}
