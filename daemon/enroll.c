// SPDX-License-Identifier: MIT
/* daemon/enroll.c: the workload datagram socket and the enrollment table.
 * Every datagram is decoded strictly and its sender identified by the pidfd the
 * kernel attached to it; enrolled processes are held by that pidfd and talk to the
 * daemon on a channel of their own. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/pidfd-util.h"
#include "common/time-util.h"
#include "daemon/cgroup-table.h"
#include "daemon/decision-log.h"
#include "daemon/enroll.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/proc-table.h"
#include "daemon/resctrl-table.h"
#include "daemon/sender.h"

/* Bound work per wakeup so a datagram flood cannot starve the rest of the loop. */
#define DGRAM_BATCH 64
/* A channel is one workload's: less per wakeup, so many busy ones share fairly. */
#define CHANNEL_BATCH 16
/* At most one warning per this interval about rejected datagrams. */
#define REJECT_WARN_INTERVAL_USEC (10 * USEC_PER_SEC)

struct enrollment {
	struct enroll_table *table;
	struct enrollment_info info;
	int pidfd;
	sd_event_source *pidfd_source;
	struct channel channel; /* fd -1 unless the workload enrolled itself */
	sd_event_source *channel_source;
	struct enrollment *next;
};

/* A libarena process that said HELLO: `memctl enroll PID` can take it up in arena
 * mode. Held by pidfd like an enrollment, so a reused PID is never mistaken for it. */
struct hello {
	pid_t pid;
	uid_t uid;
	int pidfd;
	struct sockaddr_un addr;
	socklen_t addrlen;
	char name[IPC_NAME_MAX];
	uint32_t chunk_size_bytes;
	struct hello *next;
};

/* HELLOs held at most, in all: each costs a pidfd. Per uid, MaxPerUser= as for
 * enrollments. */
#define HELLO_MAX 1024

struct enroll_table {
	struct manager *m;
	int fd;
	sd_event_source *source;
	struct sender *sender;
	bool pass_pidfd; /* SO_PASSPIDFD works: senders come with their pidfd */
	struct enrollment *list;
	unsigned count;
	struct hello *hellos;
	unsigned n_hellos;
	uint64_t next_id;
	uint64_t next_seq; /* of commands sent */
	uint64_t commands_sent, acks; /* since start */
	uint64_t channel_dropped_gone; /* drops of enrollments since freed */
	uint64_t rejects_unreported;
	uint64_t last_reject_warn_usec;
	uint8_t buf[IPC_MSG_MAX + 1]; /* +1: see a too-long datagram as truncated */
};

static struct enrollment *find(const struct enroll_table *t, pid_t pid)
{
	for (struct enrollment *e = t->list; e; e = e->next)
		if (e->info.pid == pid)
			return e;
	return NULL;
}

static unsigned count_uid(const struct enroll_table *t, uid_t uid)
{
	unsigned n = 0;

	for (struct enrollment *e = t->list; e; e = e->next)
		n += e->info.uid == uid;
	return n;
}

unsigned enroll_table_count(const struct enroll_table *t)
{
	return t ? t->count : 0;
}

const struct enrollment_info *enroll_table_get(const struct enroll_table *t, pid_t pid)
{
	struct enrollment *e = t ? find(t, pid) : NULL;

	return e ? &e->info : NULL;
}

const struct enrollment_info *enroll_table_next(const struct enroll_table *t,
						const struct enrollment_info *prev)
{
	const struct enrollment *e;

	if (!t)
		return NULL;
	if (!prev)
		return t->list ? &t->list->info : NULL;
	e = (const struct enrollment *)((const char *)prev - offsetof(struct enrollment, info));
	return e->next ? &e->next->info : NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

const uint32_t enroll_latency_bounds_usec[ENROLL_LATENCY_BUCKETS] = {
	500,	1000,	2500,	5000,	 10000,	  25000,   50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000,
};

static void latency_observe(struct enrollment_info *i, uint64_t lat)
{
	size_t b = 0;

	while (b < ENROLL_LATENCY_BUCKETS && lat > enroll_latency_bounds_usec[b])
		b++;
	i->latency_hist[b]++;
	i->latency_sum_usec += lat;
}

uint64_t enrollment_latency_quantile(const struct enrollment_info *e, double q)
{
	uint32_t v[ENROLL_LATENCY_SAMPLES];
	uint32_t n = MIN(e->latency_n, (uint32_t)ENROLL_LATENCY_SAMPLES);
	size_t i;

	if (n == 0)
		return 0;
	memcpy(v, e->latency_usec, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_u32);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[MIN(i, (size_t)n - 1)];
}

unsigned enroll_table_hello_count(const struct enroll_table *t)
{
	return t ? t->n_hellos : 0;
}

void enroll_table_counters(const struct enroll_table *t, struct enroll_counters *ret)
{
	const struct sender_counters *c;

	*ret = (struct enroll_counters){};
	if (!t)
		return;
	c = sender_get_counters(t->sender);
	ret->replies_sent = c->sent;
	ret->replies_dropped = c->dropped_full + c->dropped_budget;
	ret->channel_dropped = t->channel_dropped_gone;
	for (struct enrollment *e = t->list; e; e = e->next)
		ret->channel_dropped += e->channel.dropped;
	ret->identity_pidfd = t->pass_pidfd;
	ret->hellos = t->n_hellos;
	ret->commands_sent = t->commands_sent;
	ret->acks = t->acks;
}

static void channel_detach(struct enrollment *e)
{
	e->channel_source = sd_event_source_disable_unref(e->channel_source);
	channel_close(&e->channel);
	e->info.connected = false;
}

static void enrollment_free(struct enrollment *e, enum ipc_bye_reason bye)
{
	struct enroll_table *t = e->table;

	if (e->channel.fd >= 0 && bye != IPC_BYE_EXIT) {
		struct ipc_bye b = { .reason = bye };

		(void)channel_send(t->sender, &e->channel, IPC_BYE, 0, &b, sizeof(b));
	}
	for (struct enrollment **p = &t->list; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			break;
		}
	t->count--;
	t->channel_dropped_gone += e->channel.dropped;
	channel_detach(e);
	sd_event_source_disable_unref(e->pidfd_source);
	if (e->pidfd >= 0)
		close(e->pidfd);
	free(e);
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct enrollment *e = userdata;
	struct manager *m = e->table->m;

	log_ratelimit_info("Enrolled process %d (%s) exited", (int)e->info.pid, e->info.name);
	eventlog_add(&m->eventlog, e->info.uid, IPC_EVENT_UNENROLLED, (uint32_t)e->info.pid, 0,
		     "%s exited", e->info.name);
	enrollment_free(e, IPC_BYE_EXIT);
	return 0;
}

/* Processes that are never enrolled, whoever asks: PID 1 (compressing init's memory
 * on command is a way to hang the machine), memctld itself (it would be told to act
 * on itself), and anything that has already exited. */
static int refuse_target(pid_t pid, int pidfd, const char **ret_why)
{
	if (pid == 1) {
		*ret_why = "PID 1 (init) is never enrolled";
		return -EPERM;
	}
	if (pid == getpid()) {
		*ret_why = "memctld does not enroll itself";
		return -EPERM;
	}
	if (pidfd_check_alive(pidfd) < 0) {
		*ret_why = "the process has exited (a zombie or gone)";
		return -ESRCH;
	}
	return 0;
}

/* comm of a live process, read while pidfd pins it: alive after the read means
 * /proc/PID was this process, not a reused PID. */
static int pid_comm(pid_t pid, int pidfd, char *comm, size_t comm_size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	comm[0] = '\0';
	f = fopen(path, "re");
	if (f) {
		if (!fgets(comm, (int)comm_size, f))
			comm[0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	return pidfd_check_alive(pidfd);
}

/* Take ownership of pidfd (closed on failure) for a new enrollment of pid/uid. */
static int enrollment_new(struct enroll_table *t, int pidfd, pid_t pid, uid_t uid,
			  struct enrollment **ret)
{
	struct manager *m = t->m;
	struct enrollment *e;
	int r;

	if (count_uid(t, uid) >= m->config.max_enroll_per_uid) {
		close(pidfd);
		return -EUSERS;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(pidfd);
		return -ENOMEM;
	}
	e->table = t;
	e->pidfd = pidfd;
	e->channel.fd = -1;
	r = pid_comm(pid, pidfd, e->info.name, sizeof(e->info.name));
	if (r < 0)
		goto fail;
	r = sd_event_add_io(m->event, &e->pidfd_source, pidfd, EPOLLIN, on_pidfd, e);
	if (r < 0)
		goto fail;
	e->info.id = ++t->next_id;
	e->info.pid = pid;
	e->info.uid = uid;
	e->info.enrolled_usec = now_usec(CLOCK_REALTIME);
	e->info.enrolled_mono_usec = now_usec(CLOCK_MONOTONIC);
	e->next = t->list;
	t->list = e;
	t->count++;
	*ret = e;
	return 0;
fail:
	close(pidfd);
	free(e);
	return r;
}

static struct hello *hello_find(struct enroll_table *t, pid_t pid, struct hello ***ret_link)
{
	for (struct hello **p = &t->hellos; *p; p = &(*p)->next)
		if ((*p)->pid == pid) {
			if (ret_link)
				*ret_link = p;
			return *p;
		}
	return NULL;
}

static void hello_unlink(struct enroll_table *t, struct hello **link)
{
	struct hello *h = *link;

	*link = h->next;
	t->n_hellos--;
	if (h->pidfd >= 0)
		close(h->pidfd);
	free(h);
}

static unsigned hello_count_uid(const struct enroll_table *t, uid_t uid)
{
	unsigned n = 0;

	for (const struct hello *h = t->hellos; h; h = h->next)
		n += h->uid == uid;
	return n;
}

static int on_channel(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static int enrollment_connect(struct enrollment *e, int *ret_peer_fd);

/* Take up h (a HELLO'd libarena process) as enrollment e: an unsolicited ENROLL_ACK
 * (seq 0) with the channel, to the address the HELLO came from. */
/* The readback cost multiplier (resctrl bandwidth pressure) for pid now. */
static uint32_t readback_cost(struct enroll_table *t, pid_t pid)
{
	const struct proc_entry *p = proc_table_get(t->m->procs, pid);

	return resctrl_table_readback_cost(t->m->resctrl, pid, p ? p->start_time_usec : 0);
}

static int hello_take_up(struct enroll_table *t, struct enrollment *e, const struct hello *h)
{
	struct ipc_enroll_ack ack = {
		.enrollment_id = e->info.id,
		.stats_interval_ms = (uint32_t)(t->m->config.stats_interval_usec / USEC_PER_MSEC),
		.readback_factor_permille = e->info.readback_factor_permille,
		.readback_cost_permyriad = readback_cost(t, e->info.pid),
	};
	_cleanup_close_ int peer_fd = -1;
	int r;

	r = enrollment_connect(e, &peer_fd);
	if (r < 0)
		return r;
	r = sender_reply(t->sender, h->uid, SENDER_REPLY, &h->addr, h->addrlen, IPC_ENROLL_ACK, 0,
			 &ack, sizeof(ack), peer_fd, now_usec(CLOCK_MONOTONIC));
	if (r < 0) {
		channel_detach(e);
		return r == -EDQUOT ? -EAGAIN : r;
	}
	return 0;
}

int enroll_table_add_pid(struct enroll_table *t, const struct ipc_ctl_enroll *req, uid_t requester,
			 bool *ret_arena_mode, const char **ret_why)
{
	pid_t pid = (pid_t)req->pid;
	struct hello **link = NULL, *h;
	struct enrollment *e;
	pid_t real_pid;
	uid_t uid;
	int pidfd, r;

	*ret_why = NULL;
	if (pid <= 0)
		return -ESRCH;
	if (find(t, pid))
		return -EEXIST;
	h = hello_find(t, pid, &link);
	if (h && pidfd_check_alive(h->pidfd) < 0) {
		hello_unlink(t, link); /* said HELLO, then exited: the PID may be another's */
		h = NULL;
	}
	pidfd = h ? fcntl(h->pidfd, F_DUPFD_CLOEXEC, 3) : pidfd_open_pid(pid);
	if (pidfd < 0)
		return h ? negative_errno() : pidfd;
	r = refuse_target(pid, pidfd, ret_why);
	if (r == 0)
		r = pidfd_get_pid_uid(pidfd, &real_pid, &uid);
	if (r == 0 && requester != 0 && requester != uid)
		r = -EPERM;
	if (r < 0) {
		close(pidfd);
		return r;
	}
	r = enrollment_new(t, pidfd, pid, uid, &e);
	if (r < 0)
		return r;
	e->info.readback_factor_permille = req->readback_factor_permille;
	if (h) {
		if (h->name[0])
			snprintf(e->info.name, sizeof(e->info.name), "%s", h->name);
		e->info.chunk_size_bytes = h->chunk_size_bytes;
		r = hello_take_up(t, e, h);
		if (r < 0) {
			enrollment_free(e, IPC_BYE_EXIT);
			return r;
		}
		hello_unlink(t, link);
	}
	if (req->name[0])
		snprintf(e->info.name, sizeof(e->info.name), "%s", req->name);
	if (ret_arena_mode)
		*ret_arena_mode = e->info.connected;
	log_ratelimit_info("Enrolled process %d (%s) for uid %u, %s", (int)pid, e->info.name,
			   requester, e->info.connected ? "arena mode" : "monitor-only");
	eventlog_add(&t->m->eventlog, requester, IPC_EVENT_ENROLLED, (uint32_t)pid, 0,
		     "%s enrolled by uid %u (%s)", e->info.name, requester,
		     e->info.connected ? "arena" : "monitor-only");
	return 0;
}

int enroll_table_remove_pid(struct enroll_table *t, pid_t pid, uid_t requester)
{
	struct enrollment *e = find(t, pid);

	if (!e)
		return -ENOENT;
	if (requester != 0 && requester != e->info.uid)
		return -EPERM;
	eventlog_add(&t->m->eventlog, requester, IPC_EVENT_UNENROLLED, (uint32_t)pid, 0,
		     "%s unenrolled by uid %u", e->info.name, requester);
	log_ratelimit_info("Unenrolled process %d (%s)", (int)pid, e->info.name);
	enrollment_free(e, IPC_BYE_UNENROLLED);
	return 0;
}

static void count_reject(struct enroll_table *t, pid_t pid, int code, const char *why)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	t->m->counters.datagrams_rejected++;
	t->rejects_unreported++;
	log_debug("Rejected datagram from pid %d: %s (%s)", (int)pid, why, strerror(-code));
	if (now - t->last_reject_warn_usec >= REJECT_WARN_INTERVAL_USEC) {
		log_warning("Rejected %" PRIu64 " malformed or unauthorised datagram(s), "
			    "latest from pid %d: %s",
			    t->rejects_unreported, (int)pid, why);
		t->rejects_unreported = 0;
		t->last_reject_warn_usec = now;
	}
}

/* Refuse a datagram on the shared socket: counted, and answered with an ERROR if the
 * sender's error budget allows (sender.c). */
static void reject(struct enroll_table *t, int code, const struct ipc_header *h,
		   const struct ipc_recv_meta *meta, bool have_cred, const char *why)
{
	struct ipc_error e;

	count_reject(t, have_cred ? meta->cred.pid : 0, code, why);
	ipc_error_fill(&e, code, h ? h->seq : 0, h ? h->type : 0, why);
	/* without credentials we do not know who it is: the budget of "nobody known" */
	(void)sender_reply(t->sender, have_cred ? meta->cred.uid : (uid_t)-1, SENDER_ERROR,
			   &meta->addr, meta->addrlen, IPC_ERROR, h ? h->seq : 0, &e, sizeof(e), -1,
			   now_usec(CLOCK_MONOTONIC));
}

/* Process start time (CLOCK_REALTIME usec) and state from /proc/PID/stat. */
static int proc_start_realtime(pid_t pid, uint64_t *ret_usec, char *ret_state)
{
	char path[64], buf[1024];
	unsigned long long ticks;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p || sscanf(p + 2,
			 "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 ret_state, &ticks) != 2)
		return -EIO;
	/* boot time in CLOCK_REALTIME: now minus time since boot */
	*ret_usec = now_usec(CLOCK_REALTIME) - now_usec(CLOCK_BOOTTIME) +
		    ticks * USEC_PER_SEC / (uint64_t)sysconf(_SC_CLK_TCK);
	return 0;
}

/*
 * The sender of a datagram, pinned: a pidfd we own for the process that sent it.
 * With SO_PASSPIDFD the kernel made that pidfd when the datagram was sent, so the
 * sender's PID exiting and being reused before we read the datagram cannot make
 * us act on the new process: the pidfd still names the old one, now dead (-ESRCH).
 * Without it (kernels before 6.5) we open a pidfd from the credentials' pid and
 * check that its uid is the credentials' and that it started before the datagram
 * arrived (SO_TIMESTAMP); a PID reused within one clock tick (10 ms) of the
 * datagram would still pass that check.
 */
static int sender_pidfd(struct enroll_table *t, struct ipc_recv_meta *meta, int *ret_pidfd)
{
	uint64_t start_usec = 0;
	pid_t pid;
	uid_t uid = (uid_t)-1;
	char state = '?';
	int pidfd, r;

	if (t->pass_pidfd) {
		if (meta->pidfd < 0)
			return -ESRCH; /* the kernel could not make one: the sender is gone */
		r = pidfd_get_pid_uid(meta->pidfd, &pid, &uid);
		if (r < 0)
			return r;
		if (pid != meta->cred.pid)
			return -ESRCH;
		*ret_pidfd = TAKE_FD(meta->pidfd);
		return 0;
	}
	pidfd = pidfd_open_pid(meta->cred.pid);
	if (pidfd < 0)
		return pidfd;
	r = proc_status_real_uid(meta->cred.pid, &uid);
	if (r == 0 && uid != meta->cred.uid)
		r = -ESRCH; /* another user's process holds the PID now */
	if (r == 0)
		r = proc_start_realtime(meta->cred.pid, &start_usec, &state);
	if (r == 0 && (state == 'Z' ||
		       (meta->time_usec && start_usec > meta->time_usec + 10 * USEC_PER_MSEC)))
		r = -ESRCH; /* exited, or started after the datagram arrived */
	if (r == 0)
		r = pidfd_check_alive(pidfd);
	if (r < 0) {
		close(pidfd);
		return r;
	}
	*ret_pidfd = pidfd;
	return 0;
}

/* Give e a fresh channel, the workload's end of which goes out in the ENROLL_ACK. */
static int enrollment_connect(struct enrollment *e, int *ret_peer_fd)
{
	int r;

	channel_detach(e);
	r = channel_open(&e->channel, ret_peer_fd);
	if (r < 0)
		return r;
	r = sd_event_add_io(e->table->m->event, &e->channel_source, e->channel.fd, EPOLLIN,
			    on_channel, e);
	if (r < 0) {
		close(*ret_peer_fd);
		channel_close(&e->channel);
		return r;
	}
	e->info.connected = true;
	return 0;
}

static void handle_enroll(struct enroll_table *t, const struct ipc_msg *msg,
			  struct ipc_recv_meta *meta)
{
	const struct ipc_enroll *req = msg->body;
	struct ipc_enroll_ack ack = {};
	_cleanup_close_ int peer_fd = -1;
	const char *why = NULL;
	struct enrollment *e;
	bool created = false;
	int pidfd = -1, r;

	if ((pid_t)req->pid != meta->cred.pid) {
		reject(t, -EPERM, &msg->hdr, meta, true,
		       "ENROLL pid differs from the sender's credentials");
		return;
	}
	if (meta->addrlen <= sizeof(sa_family_t)) {
		reject(t, -EDESTADDRREQ, &msg->hdr, meta, true,
		       "sender socket is not bound; connect with ipc_dgram_connect()");
		return;
	}
	r = sender_pidfd(t, meta, &pidfd);
	if (r == 0)
		r = refuse_target(meta->cred.pid, pidfd, &why);
	if (r < 0) {
		if (pidfd >= 0)
			close(pidfd);
		reject(t, r, &msg->hdr, meta, true,
		       why ?: "the sender has exited (its PID may name another process now)");
		return;
	}
	{
		struct hello **link;

		if (hello_find(t, meta->cred.pid, &link))
			hello_unlink(t, link); /* it asks for itself now */
	}
	e = find(t, meta->cred.pid);
	if (e && pidfd_check_alive(e->pidfd) < 0) {
		/* the PID's previous holder exited and we have not reaped it yet */
		enrollment_free(e, IPC_BYE_EXIT);
		e = NULL;
	}
	if (e) {
		close(pidfd); /* re-enrollment of a live one: its own pidfd stays */
	} else {
		r = enrollment_new(t, pidfd, meta->cred.pid, meta->cred.uid, &e);
		if (r < 0) {
			reject(t, r, &msg->hdr, meta, true,
			       r == -EUSERS ? "too many enrollments for this user" :
					      "cannot enroll this process");
			return;
		}
		created = true;
	}
	r = enrollment_connect(e, &peer_fd);
	if (r < 0) {
		log_ratelimit_warning_errno(r, "Cannot make a channel for workload %d: %m",
					    (int)e->info.pid);
		if (created)
			enrollment_free(e, IPC_BYE_EXIT);
		return;
	}
	snprintf(e->info.name, sizeof(e->info.name), "%s", req->name);
	e->info.chunk_size_bytes = req->chunk_size_bytes;
	ack.enrollment_id = e->info.id;
	ack.stats_interval_ms = (uint32_t)(t->m->config.stats_interval_usec / USEC_PER_MSEC);
	ack.readback_cost_permyriad = readback_cost(t, e->info.pid);
	r = sender_reply(t->sender, meta->cred.uid, SENDER_REPLY, &meta->addr, meta->addrlen,
			 IPC_ENROLL_ACK, msg->hdr.seq, &ack, sizeof(ack), peer_fd,
			 now_usec(CLOCK_MONOTONIC));
	if (r < 0) {
		/* not told: it will ask again. Nothing half-made stays behind. */
		log_debug_errno(r, "ENROLL_ACK to %d not sent: %m", (int)e->info.pid);
		if (created)
			enrollment_free(e, IPC_BYE_EXIT);
		else
			channel_detach(e);
		return;
	}
	if (created)
		eventlog_add(&t->m->eventlog, e->info.uid, IPC_EVENT_ENROLLED,
			     (uint32_t)e->info.pid, (int64_t)req->arena_bytes, "%s enrolled itself",
			     e->info.name);
	log_ratelimit_info("Workload %d (%s) enrolled, arena %" PRIu64 " bytes", (int)e->info.pid,
			   e->info.name, req->arena_bytes);
}

/* HELLO: remember the process (pinned by the datagram's pidfd) so `memctl enroll`
 * can take it up. No reply: a HELLO costs the daemon no send. */
static void handle_hello(struct enroll_table *t, const struct ipc_msg *msg,
			 struct ipc_recv_meta *meta)
{
	const struct ipc_enroll *req = msg->body;
	const char *why = NULL;
	struct hello **link, *h;
	int pidfd = -1, r;

	if ((pid_t)req->pid != meta->cred.pid) {
		count_reject(t, meta->cred.pid, -EPERM, "HELLO pid differs from the credentials");
		return;
	}
	if (meta->addrlen <= sizeof(sa_family_t) || find(t, meta->cred.pid))
		return; /* nowhere to answer later, or enrolled already */
	r = sender_pidfd(t, meta, &pidfd);
	if (r == 0)
		r = refuse_target(meta->cred.pid, pidfd, &why);
	if (r < 0) {
		if (pidfd >= 0)
			close(pidfd);
		count_reject(t, meta->cred.pid, r, why ?: "HELLO from a process that has exited");
		return;
	}
	h = hello_find(t, meta->cred.pid, &link);
	if (h && pidfd_check_alive(h->pidfd) < 0) {
		hello_unlink(t, link);
		h = NULL;
	}
	if (!h) {
		if (t->n_hellos >= HELLO_MAX ||
		    hello_count_uid(t, meta->cred.uid) >= t->m->config.max_enroll_per_uid) {
			close(pidfd);
			count_reject(t, meta->cred.pid, -EUSERS, "too many HELLOs");
			return;
		}
		h = calloc(1, sizeof(*h));
		if (!h) {
			close(pidfd);
			return;
		}
		h->pid = meta->cred.pid;
		h->uid = meta->cred.uid;
		h->pidfd = pidfd;
		h->next = t->hellos;
		t->hellos = h;
		t->n_hellos++;
		log_debug("HELLO from %d (%s)", (int)h->pid, req->name);
	} else {
		close(pidfd); /* the one we hold names the same live process */
	}
	memcpy(&h->addr, &meta->addr, sizeof(h->addr));
	h->addrlen = meta->addrlen;
	snprintf(h->name, sizeof(h->name), "%s", req->name);
	h->chunk_size_bytes = req->chunk_size_bytes;
}

/* The shared socket takes ENROLL and HELLO; anything else from an enrolled workload
 * belongs on its channel. */
static void handle_datagram(struct enroll_table *t, const struct ipc_msg *msg,
			    struct ipc_recv_meta *meta)
{
	switch (msg->hdr.type) {
	case IPC_ENROLL:
		handle_enroll(t, msg, meta);
		return;
	case IPC_HELLO:
		handle_hello(t, msg, meta);
		return;
	case IPC_STATS:
	case IPC_COMPRESS_ACK:
	case IPC_RELAX_ACK:
	case IPC_BYE:
		if (!find(t, meta->cred.pid))
			reject(t, -ENOENT, &msg->hdr, meta, true, "not enrolled");
		else
			reject(t, -EBADRQC, &msg->hdr, meta, true,
			       "enrolled workloads send on their channel (the fd in ENROLL_ACK)");
		return;
	case IPC_ERROR:
		count_reject(t, meta->cred.pid, -EBADRQC, "ERROR on the shared socket");
		return; /* an ERROR is never answered */
	default:
		reject(t, -EBADRQC, &msg->hdr, meta, true,
		       "message type not accepted from workloads");
		return;
	}
}

static void channel_reject(struct enrollment *e, int code, const struct ipc_header *h,
			   const char *why)
{
	struct ipc_error err;

	count_reject(e->table, e->info.pid, code, why);
	if (h && h->type == IPC_ERROR)
		return;
	ipc_error_fill(&err, code, h ? h->seq : 0, h ? h->type : 0, why);
	/* the channel is this workload's alone: its buffer bounds what it can pile up */
	(void)channel_send(e->table->sender, &e->channel, IPC_ERROR, h ? h->seq : 0, &err,
			   sizeof(err));
}

static const char *cgroup_of(struct enroll_table *t, pid_t pid)
{
	struct proc_entry *p = t->m->procs ? proc_table_get(t->m->procs, pid) : NULL;

	return p && p->cgroup ? p->cgroup->path : "";
}

static uint64_t delta(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* The answer to the command in flight: latency, counters, an event and a CSV row. */
static void on_ack(struct enrollment *e, uint16_t type, const struct ipc_compress_ack *a)
{
	struct enroll_table *t = e->table;
	struct enrollment_info *i = &e->info;
	const struct ipc_arena_stats *was = &i->cmd_stats, *now_st = &a->stats;
	bool compress = type == IPC_COMPRESS_ACK;
	uint64_t now = now_usec(CLOCK_MONOTONIC), lat;
	struct decision_row row;

	if (!i->in_flight || a->request_seq != i->cmd_seq ||
	    i->cmd_type != (compress ? IPC_COMPRESS : IPC_RELAX)) {
		count_reject(t, i->pid, -ESTALE, "an ack for no command in flight");
		return;
	}
	lat = delta(now, i->cmd_sent_usec);
	i->in_flight = false;
	t->acks++;
	i->stats = a->stats;
	i->stats_usec = now;
	i->acks++;
	i->last_ack_usec = now_usec(CLOCK_REALTIME);
	i->last_ack_mono_usec = now;
	i->last_ack_result = a->result;
	i->last_ack_bytes = a->bytes_freed;
	i->last_latency_usec = lat;
	i->latency_usec[i->latency_n++ % ENROLL_LATENCY_SAMPLES] = (uint32_t)MIN(lat, UINT32_MAX);
	latency_observe(i, lat);
	i->last_ack_type = i->cmd_type;
	i->last_ack_target_bytes = i->cmd_target_bytes;
	if (compress)
		i->bytes_freed += a->bytes_freed;
	else
		i->bytes_restored += a->bytes_freed;
	eventlog_add(&t->m->eventlog, i->uid,
		     compress ? IPC_EVENT_COMPRESS_DONE : IPC_EVENT_RELAX_DONE, (uint32_t)i->pid,
		     (int64_t)a->bytes_freed, "%s %s %" PRIu64 " bytes in %" PRIu64 " ms (%s)%s",
		     i->name, compress ? "freed" : "restored", a->bytes_freed, lat / USEC_PER_MSEC,
		     i->cmd_trigger, a->result ? " with an error" : "");
	row = (struct decision_row){
		.time_usec = i->last_ack_usec,
		.pid = i->pid,
		.name = i->name,
		.cgroup = cgroup_of(t, i->pid),
		.event = compress ? "compress-ack" : "relax-ack",
		.trigger = i->cmd_trigger,
		.target_bytes = i->cmd_target_bytes,
		/* into the store: what was freed plus what the store grew by */
		.bytes_out = delta(now_st->compressed_bytes, was->compressed_bytes),
		.compress_cpu_ms =
			(double)delta(now_st->compress_cpu_ns, was->compress_cpu_ns) / 1e6,
		.decompress_cpu_ms =
			(double)delta(now_st->decompress_cpu_ns, was->decompress_cpu_ns) / 1e6,
		.latency_usec = (int64_t)lat,
		.result = a->result,
	};
	row.bytes_in = compress ? a->bytes_freed + row.bytes_out : a->bytes_freed;
	decision_log_write(t->m->decisions, &row);
	manager_wake_control(t->m);
}

/* One datagram from an enrolled workload's channel. Returns false if e was freed. */
static bool handle_channel_msg(struct enrollment *e, const struct ipc_msg *msg)
{
	struct enroll_table *t = e->table;

	switch (msg->hdr.type) {
	case IPC_STATS:
		e->info.stats = ((const struct ipc_stats *)msg->body)->stats;
		e->info.stats_usec = now_usec(CLOCK_MONOTONIC);
		return true;
	case IPC_COMPRESS_ACK:
	case IPC_RELAX_ACK:
		on_ack(e, msg->hdr.type, msg->body);
		return true;
	case IPC_BYE:
		eventlog_add(&t->m->eventlog, e->info.uid, IPC_EVENT_UNENROLLED,
			     (uint32_t)e->info.pid, 0, "%s said goodbye", e->info.name);
		enrollment_free(e, IPC_BYE_EXIT);
		return false;
	case IPC_ERROR:
		log_debug("Workload %d reported an error: %s", (int)e->info.pid,
			  ((const struct ipc_error *)msg->body)->message);
		return true;
	default:
		channel_reject(e, -EBADRQC, &msg->hdr, "message type not accepted from workloads");
		return true;
	}
}

/* A command with no ack this long after its deadline is given up on. */
#define ACK_GRACE_USEC (1 * USEC_PER_SEC)
#define ACK_TIMEOUT_DEFAULT_USEC (10 * USEC_PER_SEC)

static int enroll_send(struct enroll_table *t, pid_t pid, uint16_t type, const void *body,
		       size_t len, uint64_t target_bytes, uint32_t deadline_ms, const char *trigger)
{
	struct enrollment *e = find(t, pid);
	struct enrollment_info *i;
	struct decision_row row;
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	uint32_t seq;
	int r;

	if (!e)
		return -ENOENT;
	i = &e->info;
	if (!i->connected || e->channel.fd < 0)
		return -ENOTCONN;
	if (i->in_flight)
		return -EBUSY;
	seq = (uint32_t)(++t->next_seq ?: ++t->next_seq);
	r = channel_send(t->sender, &e->channel, type, seq, body, len);
	row = (struct decision_row){
		.time_usec = now_usec(CLOCK_REALTIME),
		.pid = pid,
		.name = i->name,
		.cgroup = cgroup_of(t, pid),
		.event = type == IPC_COMPRESS ? "compress" : "relax",
		.trigger = trigger,
		.target_bytes = target_bytes,
		.latency_usec = -1,
		.result = r,
	};
	if (r == -EAGAIN) {
		i->commands_dropped++;
		row.event = "dropped";
		eventlog_add(&t->m->eventlog, i->uid, IPC_EVENT_COMMAND_DROPPED, (uint32_t)pid,
			     (int64_t)target_bytes, "%s is not reading: %s dropped", i->name,
			     type == IPC_COMPRESS ? "COMPRESS" : "RELAX");
	}
	decision_log_write(t->m->decisions, &row);
	if (r == -ECONNREFUSED) {
		eventlog_add(&t->m->eventlog, i->uid, IPC_EVENT_UNENROLLED, (uint32_t)pid, 0,
			     "%s closed its channel", i->name);
		enrollment_free(e, IPC_BYE_EXIT);
		return r;
	}
	if (r < 0)
		return r;
	i->in_flight = true;
	i->cmd_type = type;
	i->cmd_seq = seq;
	i->cmd_sent_usec = now;
	i->cmd_deadline_usec = now + (deadline_ms ? deadline_ms * USEC_PER_MSEC + ACK_GRACE_USEC :
						    ACK_TIMEOUT_DEFAULT_USEC);
	i->cmd_target_bytes = target_bytes;
	snprintf(i->cmd_trigger, sizeof(i->cmd_trigger), "%s", trigger ?: "");
	i->cmd_stats = i->stats;
	i->commands_sent++;
	t->commands_sent++;
	i->last_command = type;
	i->last_command_usec = row.time_usec;
	eventlog_add(&t->m->eventlog, i->uid,
		     type == IPC_COMPRESS ? IPC_EVENT_COMPRESS_SENT : IPC_EVENT_RELAX_SENT,
		     (uint32_t)pid, (int64_t)target_bytes, "%s asked to %s %" PRIu64 " bytes (%s)",
		     i->name, type == IPC_COMPRESS ? "free" : "restore", target_bytes,
		     trigger ?: "");
	return 0;
}

int enroll_send_compress(struct enroll_table *t, pid_t pid, const struct ipc_compress *c,
			 const char *trigger)
{
	struct ipc_compress cc = *c;

	/* every COMPRESS carries the workload's bandwidth pressure as measured now */
	cc.readback_cost_permyriad = readback_cost(t, pid);
	return enroll_send(t, pid, IPC_COMPRESS, &cc, sizeof(cc), cc.target_bytes, cc.deadline_ms,
			   trigger);
}

int enroll_send_relax(struct enroll_table *t, pid_t pid, const struct ipc_relax *r,
		      const char *trigger)
{
	return enroll_send(t, pid, IPC_RELAX, r, sizeof(*r), r->prefetch_bytes, 0, trigger);
}

void enroll_table_tick(struct enroll_table *t, uint64_t now)
{
	struct hello **link = &t->hellos;

	for (struct enrollment *e = t->list; e; e = e->next) {
		struct enrollment_info *i = &e->info;

		if (!i->in_flight || now < i->cmd_deadline_usec)
			continue;
		i->in_flight = false;
		i->commands_timed_out++;
		eventlog_add(&t->m->eventlog, i->uid, IPC_EVENT_ACK_TIMEOUT, (uint32_t)i->pid,
			     (int64_t)i->cmd_target_bytes,
			     "%s did not answer %s within %" PRIu64 " ms", i->name,
			     i->cmd_type == IPC_COMPRESS ? "COMPRESS" : "RELAX",
			     (i->cmd_deadline_usec - i->cmd_sent_usec) / USEC_PER_MSEC);
		decision_log_write(t->m->decisions,
				   &(struct decision_row){ .time_usec = now_usec(CLOCK_REALTIME),
							   .pid = i->pid,
							   .name = i->name,
							   .cgroup = cgroup_of(t, i->pid),
							   .event = "timeout",
							   .trigger = i->cmd_trigger,
							   .target_bytes = i->cmd_target_bytes,
							   .latency_usec = -1,
							   .result = -ETIMEDOUT });
	}
	while (*link) {
		if (pidfd_check_alive((*link)->pidfd) < 0)
			hello_unlink(t, link);
		else
			link = &(*link)->next;
	}
}

static int on_channel(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct enrollment *e = userdata;
	struct enroll_table *t = e->table;

	for (unsigned i = 0; i < CHANNEL_BATCH; i++) {
		struct ipc_recv_meta meta;
		struct ipc_msg msg;
		ssize_t n;
		int r;

		n = ipc_dgram_recv_meta(fd, t->buf, sizeof(t->buf), false, &meta);
		if (n == -EAGAIN || n == -EINTR)
			return 0;
		if (n < 0 || (size_t)n > IPC_MSG_MAX) {
			ipc_recv_meta_done(&meta);
			channel_reject(e, n < 0 ? (int)n : -EMSGSIZE, NULL,
				       n == -ENODATA ? "datagram without credentials" :
						       "datagram too large");
			if (n < 0 && n != -EMSGSIZE && n != -ENODATA)
				return 0;
			continue;
		}
		/* a child that inherited the workload's end is not the enrolled process */
		if (meta.cred.pid != e->info.pid) {
			count_reject(t, meta.cred.pid, -EPERM,
				     "channel datagram from a process other than the enrolled one");
			continue;
		}
		r = ipc_decode(t->buf, (size_t)n, &msg);
		if (r < 0) {
			struct ipc_header h;
			bool have_hdr = (size_t)n >= sizeof(h);

			if (have_hdr)
				memcpy(&h, t->buf, sizeof(h));
			channel_reject(e, r, have_hdr ? &h : NULL, "malformed datagram");
			continue;
		}
		if (!handle_channel_msg(e, &msg))
			return 0;
	}
	return 0;
}

static int on_dgram(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct enroll_table *t = userdata;

	for (unsigned i = 0; i < DGRAM_BATCH; i++) {
		struct ipc_recv_meta meta;
		struct ipc_header h;
		struct ipc_msg msg;
		ssize_t n;
		int r;

		n = ipc_dgram_recv_meta(fd, t->buf, sizeof(t->buf), false, &meta);
		if (n == -EAGAIN || n == -EINTR)
			return 0;
		if (n == -EMSGSIZE || (n >= 0 && (size_t)n > IPC_MSG_MAX)) {
			reject(t, -EMSGSIZE, NULL, &meta, meta.cred.pid > 0, "datagram too large");
			ipc_recv_meta_done(&meta);
			continue;
		}
		if (n == -ENODATA) {
			reject(t, -EPERM, NULL, &meta, false, "datagram without credentials");
			continue;
		}
		if (n < 0) {
			log_ratelimit_warning_errno((int)n,
						    "Failed to receive a datagram: %m, ignoring");
			return 0;
		}
		r = ipc_decode(t->buf, (size_t)n, &msg);
		if (r < 0) {
			bool have_hdr = (size_t)n >= sizeof(h);

			if (have_hdr)
				memcpy(&h, t->buf, sizeof(h));
			reject(t, r, have_hdr ? &h : NULL, &meta, true, "malformed datagram");
		} else {
			handle_datagram(t, &msg, &meta);
		}
		ipc_recv_meta_done(&meta);
	}
	return 0;
}

int enroll_table_new(struct manager *m, int dgram_fd, struct enroll_table **ret)
{
	struct enroll_table *t;
	const char *mode = getenv("MEMCTLD_IDENTITY");
	int r;

	t = calloc(1, sizeof(*t));
	if (!t) {
		close(dgram_fd);
		return log_error_errno(-ENOMEM, "Out of memory");
	}
	t->m = m;
	t->fd = dgram_fd;
	r = sender_new(dgram_fd, &t->sender);
	if (r < 0) {
		enroll_table_free(t);
		return log_error_errno(r, "Out of memory");
	}
	/* MEMCTLD_IDENTITY=procfs forces the fallback, so tests cover both ways */
	if (!(mode && strcmp(mode, "procfs") == 0)) {
		r = ipc_socket_pass_pidfd(dgram_fd);
		t->pass_pidfd = r == 0;
		if (r < 0)
			log_full_errno(LOG_NOTICE, r,
				       "SO_PASSPIDFD unavailable (%m): identifying workloads by "
				       "PID, uid and start time instead");
	}
	if (!t->pass_pidfd) {
		int one = 1;

		if (setsockopt(dgram_fd, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof(one)) < 0)
			log_warning_errno(negative_errno(), "SO_TIMESTAMP: %m, ignoring");
	}
	r = sd_event_add_io(m->event, &t->source, dgram_fd, EPOLLIN, on_dgram, t);
	if (r < 0) {
		enroll_table_free(t);
		return log_error_errno(r, "Failed to watch the workload socket: %m");
	}
	*ret = t;
	return 0;
}

struct enroll_table *enroll_table_free(struct enroll_table *t)
{
	if (!t)
		return NULL;
	while (t->list)
		enrollment_free(t->list, IPC_BYE_SHUTDOWN);
	while (t->hellos)
		hello_unlink(t, &t->hellos);
	sd_event_source_disable_unref(t->source);
	close(t->fd);
	t->sender = sender_free(t->sender);
	free(t);
	return NULL;
}
