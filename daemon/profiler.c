// SPDX-License-Identifier: MIT
/* daemon/profiler.c: the fault profiler (seed 003's kernel module, in user space):
 * registered processes sampled on absolute deadlines into a sealed memfd ring
 * (ipc/ring.c) that clients map read-only. Only profiled processes cost anything. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/pidfd-util.h"
#include "common/time-util.h"
#include "daemon/eventlog.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/proc-parse.h"
#include "daemon/proc-table.h"
#include "daemon/profiler.h"

struct profile_proc {
	struct profile *profile;
	uint32_t index;
	pid_t pid;
	int pidfd; /* the process itself: its exit, and its identity */
	int stat_fd; /* /proc/PID/stat opened while pidfd showed it alive: this process's */
	clockid_t cpu_clock; /* utime + stime of the thread group, in ns */
	sd_event_source *exit_source;
	bool exited;
	bool cpu_valid;
	uint64_t minor, major, cpu_nsec; /* at the previous sample (or registration) */
	uint64_t mono_nsec;
	struct ipc_ring_sample last;
	bool has_last;
};

struct profile {
	struct profiler *owner;
	uint64_t id;
	uid_t uid;
	uint32_t hz;
	uint32_t n_procs;
	uint32_t n_reserved; /* counted in profiler.n_procs */
	uint32_t n_running;
	uint64_t interval_nsec;
	uint64_t start_mono_nsec; /* deadline k is start + (k + 1) * interval */
	uint64_t end_mono_nsec; /* UINT64_MAX: no duration */
	uint64_t next_tick; /* k of the next deadline */
	int memfd;
	void *ring;
	size_t ring_bytes;
	struct ipc_ring_header *hdr;
	sd_event_source *timer;
	int client_pidfd;
	sd_event_source *client_source;
	struct profile *next;
	struct profile_proc procs[IPC_PROFILE_PIDS_MAX];
};

struct profiler {
	struct manager *m;
	struct profile *profiles;
	unsigned n_profiles;
	unsigned n_procs; /* in all profiles */
	uint64_t next_id;
};

int profiler_new(struct manager *m, struct profiler **ret)
{
	struct profiler *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->m = m;
	p->next_id = 1;
	*ret = p;
	return 0;
}

static const char *end_name(uint32_t reason)
{
	switch (reason) {
	case IPC_RING_END_STOPPED:
		return "stopped";
	case IPC_RING_END_DURATION:
		return "duration reached";
	case IPC_RING_END_EXITED:
		return "its processes exited";
	case IPC_RING_END_CLIENT:
		return "its client exited";
	case IPC_RING_END_SHUTDOWN:
		return "memctld stopped";
	default:
		return "?";
	}
}

static void proc_done(struct profile_proc *pp)
{
	pp->exit_source = sd_event_source_disable_unref(pp->exit_source);
	if (pp->stat_fd >= 0)
		close(pp->stat_fd);
	if (pp->pidfd >= 0)
		close(pp->pidfd);
	pp->stat_fd = pp->pidfd = -1;
}

/* End pr: the readers see the reason after every sample written; its fds and
 * mapping go now (readers keep their own mappings of the memfd). */
static void profile_free(struct profile *pr, uint32_t reason)
{
	struct profiler *p = pr->owner;

	for (struct profile **l = &p->profiles; *l; l = &(*l)->next)
		if (*l == pr) {
			*l = pr->next;
			p->n_profiles--;
			p->n_procs -= pr->n_reserved;
			break;
		}
	if (pr->ring) {
		ipc_ring_end(pr->ring, reason);
		eventlog_add(&p->m->eventlog, (uint32_t)pr->uid, IPC_EVENT_PROFILE_ENDED,
			     pr->n_procs == 1 ? (uint32_t)pr->procs[0].pid : 0,
			     (int64_t)pr->hdr->write_index,
			     "profile %" PRIu64 " ended (%s): %" PRIu64 " samples, %" PRIu64
			     " ticks missed, max lateness %" PRIu64 " us",
			     pr->id, end_name(reason), pr->hdr->write_index, pr->hdr->missed_ticks,
			     pr->hdr->max_lateness_nsec / NSEC_PER_USEC);
		log_info("Profile %" PRIu64 " ended (%s): %" PRIu64 " samples", pr->id,
			 end_name(reason), pr->hdr->write_index);
		munmap(pr->ring, pr->ring_bytes);
	}
	for (uint32_t i = 0; i < pr->n_procs; i++)
		proc_done(&pr->procs[i]);
	sd_event_source_disable_unref(pr->timer);
	sd_event_source_disable_unref(pr->client_source);
	if (pr->client_pidfd >= 0)
		close(pr->client_pidfd);
	if (pr->memfd >= 0)
		close(pr->memfd);
	free(pr);
}

struct profiler *profiler_free(struct profiler *p)
{
	if (!p)
		return NULL;
	while (p->profiles)
		profile_free(p->profiles, IPC_RING_END_SHUTDOWN);
	free(p);
	return NULL;
}

/* Faults and CPU time of pp now. The CPU clock is read before the stat file: the
 * read succeeding afterwards shows the process (not a reuse of its PID) was
 * alive, so the clock was its own. -ESRCH once it is gone (reaped). */
static int proc_read(struct profile_proc *pp, struct proc_stat *st, uint64_t *ret_cpu_nsec,
		     bool *ret_cpu_valid)
{
	char buf[1024];
	struct timespec ts;
	ssize_t n;

	*ret_cpu_valid = clock_gettime(pp->cpu_clock, &ts) == 0;
	*ret_cpu_nsec = *ret_cpu_valid ? timespec_nsec(&ts) : 0;
	n = pread(pp->stat_fd, buf, sizeof(buf), 0);
	if (n < 0)
		return errno == ESRCH || errno == ENOENT ? -ESRCH : -errno;
	return proc_stat_parse(buf, (size_t)n, st);
}

/* One sample of pp into the ring; last: the process has exited (a zombie's
 * figures are final). */
static void proc_sample(struct profile_proc *pp, bool last)
{
	struct profile *pr = pp->profile;
	struct manager *m = pr->owner->m;
	struct ipc_ring_sample s = {};
	struct proc_entry *e;
	struct proc_stat st;
	uint64_t cpu, now;
	bool cpu_valid;
	int r;

	r = proc_read(pp, &st, &cpu, &cpu_valid);
	now = clock_nsec(CLOCK_MONOTONIC);
	if (r < 0) {
		if (r != -ESRCH)
			log_debug_errno(r, "Profile %" PRIu64 ": cannot read process %d: %m",
					pr->id, (int)pp->pid);
		return;
	}
	s.time_nsec = clock_nsec(CLOCK_REALTIME);
	s.pid = (uint32_t)pp->pid;
	s.proc_index = pp->index;
	/* counters only grow; a smaller one is a misread, not negative faults */
	s.minor_total = st.minflt;
	s.major_total = st.majflt;
	s.minor_faults = st.minflt >= pp->minor ? st.minflt - pp->minor : 0;
	s.major_faults = st.majflt >= pp->major ? st.majflt - pp->major : 0;
	s.interval_nsec = now - pp->mono_nsec;
	if (cpu_valid && pp->cpu_valid && cpu >= pp->cpu_nsec)
		s.cpu_nsec = cpu - pp->cpu_nsec;
	if (s.interval_nsec)
		s.util_permyriad =
			(uint32_t)MIN(s.cpu_nsec * 10000 / s.interval_nsec, (uint64_t)UINT32_MAX);
	s.flags = last ? IPC_SAMPLE_LAST : 0;
	/* RSS and swap as the process table has them (BPF rss_stat, coalesced) */
	e = proc_table_get(m->procs, pp->pid);
	if (e) {
		s.rss_bytes = e->rss_anon_bytes + e->rss_file_bytes + e->rss_shmem_bytes;
		s.swap_bytes = e->swap_bytes;
	}
	ipc_ring_write(pr->ring, &s);
	pr->hdr->procs[pp->index].samples++;
	pp->minor = st.minflt;
	pp->major = st.majflt;
	if (cpu_valid) {
		pp->cpu_nsec = cpu;
		pp->cpu_valid = true;
	}
	pp->mono_nsec = now;
	pp->last = s;
	pp->has_last = true;
}

static void proc_exited(struct profile_proc *pp)
{
	struct profile *pr = pp->profile;

	if (pp->exited)
		return;
	/* the last figures, while /proc still has the zombie */
	proc_sample(pp, true);
	pp->exited = true;
	__atomic_store_n(&pr->hdr->procs[pp->index].state, IPC_RING_PROC_EXITED, __ATOMIC_RELEASE);
	proc_done(pp);
	pr->n_running--;
}

static int on_proc_exit(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct profile_proc *pp = userdata;
	struct profile *pr = pp->profile;

	proc_exited(pp);
	if (pr->n_running == 0)
		profile_free(pr, IPC_RING_END_EXITED);
	return 0;
}

static int on_client_exit(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	profile_free(userdata, IPC_RING_END_CLIENT);
	return 0;
}

/*
 * The timer: deadlines are absolute (start + k * interval on CLOCK_MONOTONIC), so
 * lateness never accumulates; a deadline missed by a whole interval is skipped
 * and counted, not made up with a burst.
 */
static int on_tick(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct profile *pr = userdata;
	uint64_t now = clock_nsec(CLOCK_MONOTONIC);
	uint64_t deadline = pr->start_mono_nsec + (pr->next_tick + 1) * pr->interval_nsec;
	uint64_t late = now > deadline ? now - deadline : 0;
	int r;

	if (deadline > pr->end_mono_nsec) {
		profile_free(pr, IPC_RING_END_DURATION);
		return 0;
	}
	pr->hdr->max_lateness_nsec = MAX(pr->hdr->max_lateness_nsec, late);
	for (uint32_t i = 0; i < pr->n_procs; i++)
		if (!pr->procs[i].exited)
			proc_sample(&pr->procs[i], false);
	pr->hdr->ticks++;
	pr->next_tick++;
	now = clock_nsec(CLOCK_MONOTONIC);
	while (pr->start_mono_nsec + (pr->next_tick + 1) * pr->interval_nsec <= now) {
		pr->next_tick++;
		pr->hdr->missed_ticks++;
	}
	deadline = pr->start_mono_nsec + (pr->next_tick + 1) * pr->interval_nsec;
	if (deadline > pr->end_mono_nsec) {
		profile_free(pr, IPC_RING_END_DURATION);
		return 0;
	}
	/* round up: sd-event in µs must not fire before the ns deadline */
	r = sd_event_source_set_time(src, (deadline + NSEC_PER_USEC - 1) / NSEC_PER_USEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	if (r < 0) {
		log_warning_errno(r, "Profile %" PRIu64 ": cannot arm its timer: %m, ending it",
				  pr->id);
		profile_free(pr, IPC_RING_END_SHUTDOWN);
	}
	return 0;
}

/* uid's profiles, and the samples per second they take */
static unsigned count_uid(const struct profiler *p, uid_t uid, uint64_t *ret_rate)
{
	unsigned n = 0;

	*ret_rate = 0;
	for (const struct profile *pr = p->profiles; pr; pr = pr->next)
		if (pr->uid == uid) {
			n++;
			*ret_rate += (uint64_t)pr->hz * pr->n_procs;
		}
	return n;
}

/* Take up pid for pr: pidfd, owner check, stat fd, CPU clock, baseline. */
static int proc_register(struct profile *pr, struct profile_proc *pp, pid_t pid, uid_t requester,
			 const char **ret_why)
{
	struct manager *m = pr->owner->m;
	struct proc_stat st;
	char path[300];
	pid_t real_pid;
	uid_t uid;
	bool cpu_valid;
	uint64_t cpu;
	int r;

	pp->pid = pid;
	pp->pidfd = pidfd_open_pid(pid);
	if (pp->pidfd < 0) {
		*ret_why = "no such process";
		return pp->pidfd;
	}
	r = pidfd_get_pid_uid(pp->pidfd, &real_pid, &uid);
	if (r < 0) {
		*ret_why = "the process has exited";
		return r;
	}
	if (requester != 0 && requester != uid) {
		*ret_why = "permission denied: only root or the process's owner may profile it";
		return -EPERM;
	}
	snprintf(path, sizeof(path), "%s/%d/stat", m->config.proc_root, (int)pid);
	pp->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pp->stat_fd < 0) {
		*ret_why = "cannot open its /proc/PID/stat";
		return errno == ENOENT ? -ESRCH : -errno;
	}
	/* alive after the open: the file is this process's, not a reuse's */
	r = pidfd_check_alive(pp->pidfd);
	if (r < 0) {
		*ret_why = "the process has exited";
		return r;
	}
	r = clock_getcpuclockid(pid, &pp->cpu_clock);
	if (r != 0) {
		*ret_why = "no CPU clock for it";
		return -r;
	}
	r = proc_read(pp, &st, &cpu, &cpu_valid);
	if (r < 0) {
		*ret_why = "cannot read its /proc/PID/stat";
		return r;
	}
	pp->minor = st.minflt;
	pp->major = st.majflt;
	pp->cpu_nsec = cpu;
	pp->cpu_valid = cpu_valid;
	pp->mono_nsec = clock_nsec(CLOCK_MONOTONIC);
	r = sd_event_add_io(m->event, &pp->exit_source, pp->pidfd, EPOLLIN, on_proc_exit, pp);
	if (r >= 0)
		r = sd_event_source_set_priority(pp->exit_source, MANAGER_PRIORITY_NORMAL);
	if (r < 0)
		*ret_why = "cannot watch it";
	return r;
}

/* The ring's memfd: sized, mapped for the daemon, then sealed so nobody can
 * shrink or grow it (a reader's mapping can never lose its pages: SIGBUS) or
 * open it for writing again. */
static int ring_create(struct profile *pr, uint32_t capacity)
{
	pr->ring_bytes = ipc_ring_bytes(capacity);
	pr->memfd = memfd_create("memctl-profile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (pr->memfd < 0)
		return -errno;
	if (ftruncate(pr->memfd, (off_t)pr->ring_bytes) < 0)
		return -errno;
	pr->ring = mmap(NULL, pr->ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, pr->memfd, 0);
	if (pr->ring == MAP_FAILED) {
		pr->ring = NULL;
		return -errno;
	}
	/* F_SEAL_FUTURE_WRITE (5.1+): no new writable mapping or write(); ours stays */
	if (fcntl(pr->memfd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
		return -errno;
	pr->hdr = pr->ring;
	return ipc_ring_init(pr->ring, pr->ring_bytes, capacity, pr->hz, pr->id);
}

/* A new read-only open of the memfd: the fd passed cannot write or map writable. */
static int ring_fd_readonly(const struct profile *pr)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", pr->memfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void fill_reply(const struct profile *pr, struct ipc_ctl_profile_reply *ret)
{
	*ret = (struct ipc_ctl_profile_reply){
		.profile_id = pr->id,
		.ring_bytes = pr->ring_bytes,
		.capacity = pr->hdr->capacity,
		.sample_bytes = sizeof(struct ipc_ring_sample),
		.hz = pr->hz,
		.n_pids = pr->n_procs,
	};
}

static uint32_t capacity_for(uint32_t hz, uint32_t n)
{
	uint64_t want = (uint64_t)hz * n * PROFILER_RING_SEC;
	uint32_t c = IPC_RING_CAPACITY_MIN;

	while (c < want && c < IPC_RING_CAPACITY_MAX)
		c *= 2;
	return c;
}

int profiler_start(struct profiler *p, const struct ipc_ctl_profile *req, uid_t requester,
		   int client_pidfd, struct ipc_ctl_profile_reply *ret, int *ret_fd,
		   const char **ret_why)
{
	struct manager *m = p->m;
	struct profile *pr;
	uint64_t start, rate;
	unsigned mine;
	int r, fd;

	*ret_why = NULL;
	mine = count_uid(p, requester, &rate);
	if (p->n_profiles >= PROFILER_MAX || p->n_procs + req->n_pids > PROFILER_PROCS_MAX) {
		*ret_why = "too many profiles or profiled processes running";
		r = -EBUSY;
		goto fail_pidfd;
	}
	if (requester != 0 && mine >= PROFILER_MAX_PER_UID) {
		*ret_why = "too many profiles for this user (4)";
		r = -EUSERS;
		goto fail_pidfd;
	}
	if (requester != 0 &&
	    rate + (uint64_t)req->hz * req->n_pids > PROFILER_USER_SAMPLES_PER_SEC) {
		*ret_why = "over this user's sample budget (processes x hz <= 2000)";
		r = -EUSERS;
		goto fail_pidfd;
	}
	for (uint32_t i = 0; i < req->n_pids; i++)
		for (uint32_t j = 0; j < i; j++)
			if (req->pids[i] == req->pids[j]) {
				*ret_why = "a process given twice";
				r = -EINVAL;
				goto fail_pidfd;
			}
	pr = calloc(1, sizeof(*pr));
	if (!pr) {
		r = -ENOMEM;
		goto fail_pidfd;
	}
	pr->owner = p;
	pr->id = p->next_id++;
	pr->uid = requester;
	pr->hz = req->hz;
	pr->interval_nsec = NSEC_PER_SEC / req->hz;
	pr->memfd = -1;
	pr->client_pidfd = client_pidfd;
	for (uint32_t i = 0; i < IPC_PROFILE_PIDS_MAX; i++)
		pr->procs[i].pidfd = pr->procs[i].stat_fd = -1;
	/* linked first, so profile_free() unlinks it on the failure paths below */
	pr->next = p->profiles;
	p->profiles = pr;
	p->n_profiles++;
	pr->n_reserved = req->n_pids;
	p->n_procs += pr->n_reserved;

	for (uint32_t i = 0; i < req->n_pids; i++) {
		struct profile_proc *pp = &pr->procs[i];

		pp->profile = pr;
		pp->index = i;
		pr->n_procs = i + 1;
		r = proc_register(pr, pp, (pid_t)req->pids[i], requester, ret_why);
		if (r < 0)
			goto fail;
	}
	pr->n_running = pr->n_procs;
	r = ring_create(pr, capacity_for(pr->hz, pr->n_procs));
	if (r < 0) {
		*ret_why = "cannot create the ring";
		goto fail;
	}
	pr->hdr->n_procs = pr->n_procs;
	for (uint32_t i = 0; i < pr->n_procs; i++)
		pr->hdr->procs[i].pid = (uint32_t)pr->procs[i].pid;

	start = clock_nsec(CLOCK_MONOTONIC);
	pr->start_mono_nsec = start;
	pr->hdr->start_realtime_nsec = clock_nsec(CLOCK_REALTIME);
	pr->end_mono_nsec = req->duration_usec ? start + req->duration_usec * NSEC_PER_USEC :
						 UINT64_MAX;
	/* accuracy 1 µs: sd-event's default (250 ms) would batch the ticks away */
	r = sd_event_add_time(m->event, &pr->timer, CLOCK_MONOTONIC,
			      (start + pr->interval_nsec + NSEC_PER_USEC - 1) / NSEC_PER_USEC, 1,
			      on_tick, pr);
	if (r >= 0)
		r = sd_event_source_set_priority(pr->timer, MANAGER_PRIORITY_NORMAL);
	if (r >= 0 && client_pidfd >= 0)
		r = sd_event_add_io(m->event, &pr->client_source, client_pidfd, EPOLLIN,
				    on_client_exit, pr);
	if (r < 0) {
		*ret_why = "cannot set up its timer";
		goto fail;
	}
	fd = ring_fd_readonly(pr);
	if (fd < 0) {
		r = fd;
		*ret_why = "cannot reopen the ring read-only";
		goto fail;
	}
	fill_reply(pr, ret);
	*ret_fd = fd;
	log_info("Profile %" PRIu64 " for uid %u: %u processes at %u Hz", pr->id,
		 (unsigned)requester, pr->n_procs, pr->hz);
	eventlog_add(&m->eventlog, (uint32_t)requester, IPC_EVENT_PROFILE_STARTED,
		     pr->n_procs == 1 ? (uint32_t)pr->procs[0].pid : 0, pr->n_procs,
		     "profile %" PRIu64 " started by uid %u: %u processes at %u Hz", pr->id,
		     (unsigned)requester, pr->n_procs, pr->hz);
	return 0;

fail:
	/* not announced: no ENDED event for a profile that never started */
	if (pr->ring)
		munmap(pr->ring, pr->ring_bytes);
	pr->ring = NULL;
	profile_free(pr, IPC_RING_END_SHUTDOWN);
	return r;
fail_pidfd:
	if (client_pidfd >= 0)
		close(client_pidfd);
	return r;
}

static struct profile *find(struct profiler *p, uint64_t id)
{
	for (struct profile *pr = p->profiles; pr; pr = pr->next)
		if (pr->id == id)
			return pr;
	return NULL;
}

int profiler_attach(struct profiler *p, uint64_t id, uid_t requester,
		    struct ipc_ctl_profile_reply *ret, int *ret_fd)
{
	struct profile *pr = find(p, id);
	int fd;

	if (!pr)
		return -ENOENT;
	if (requester != 0 && requester != pr->uid)
		return -EPERM;
	fd = ring_fd_readonly(pr);
	if (fd < 0)
		return fd;
	fill_reply(pr, ret);
	*ret_fd = fd;
	return 0;
}

int profiler_stop(struct profiler *p, uint64_t id, uid_t requester)
{
	struct profile *pr = find(p, id);

	if (!pr)
		return -ENOENT;
	if (requester != 0 && requester != pr->uid)
		return -EPERM;
	profile_free(pr, IPC_RING_END_STOPPED);
	return 0;
}

unsigned profiler_count(const struct profiler *p)
{
	return p ? p->n_profiles : 0;
}

void profiler_visit(const struct profiler *p, profiler_visit_t cb, void *userdata)
{
	if (!p)
		return;
	for (const struct profile *pr = p->profiles; pr; pr = pr->next)
		for (uint32_t i = 0; i < pr->n_procs; i++)
			if (pr->procs[i].has_last)
				cb(&pr->procs[i].last, pr->id, pr->hz, userdata);
}
