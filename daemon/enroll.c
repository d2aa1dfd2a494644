// SPDX-License-Identifier: MIT
/* daemon/enroll.c: the workload datagram socket and the enrollment table.
 * Every datagram is decoded strictly and authenticated by SCM_CREDENTIALS;
 * enrolled processes are held by pidfd, so a reused PID is never acted on. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/time-util.h"
#include "daemon/enroll.h"
#include "daemon/log.h"
#include "daemon/manager.h"

/* Bound work per wakeup so a datagram flood cannot starve the rest of the loop. */
#define DGRAM_BATCH 64
/* At most one warning per this interval about rejected datagrams. */
#define REJECT_WARN_INTERVAL_USEC (10 * USEC_PER_SEC)

struct enrollment {
	struct enroll_table *table;
	struct enrollment_info info;
	int pidfd;
	sd_event_source *pidfd_source;
	struct sockaddr_un addr; /* the workload's (autobound) address, if connected */
	socklen_t addrlen;
	struct enrollment *next;
};

struct enroll_table {
	struct manager *m;
	int fd;
	sd_event_source *source;
	struct enrollment *list;
	unsigned count;
	uint64_t next_id;
	uint64_t rejects_unreported;
	uint64_t last_reject_warn_usec;
	uint8_t buf[IPC_MSG_MAX + 1]; /* +1: see a too-long datagram as truncated */
	uint8_t wbuf[IPC_MSG_MAX];
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
	struct enrollment *e = find(t, pid);

	return e ? &e->info : NULL;
}

static int send_to(struct enroll_table *t, const struct sockaddr_un *addr, socklen_t addrlen,
		   uint16_t type, uint32_t seq, const void *body, size_t len)
{
	ssize_t n;

	if (addrlen <= sizeof(sa_family_t))
		return -EDESTADDRREQ; /* unbound sender: nowhere to answer */
	n = ipc_encode(t->wbuf, sizeof(t->wbuf), type, seq, body, len, NULL, 0);
	if (n < 0)
		return (int)n;
	return ipc_dgram_send(t->fd, t->wbuf, (size_t)n, addr, addrlen);
}

static void enrollment_free(struct enrollment *e, enum ipc_bye_reason bye)
{
	struct enroll_table *t = e->table;

	if (e->info.connected && bye != IPC_BYE_EXIT) {
		struct ipc_bye b = { .reason = bye };

		send_to(t, &e->addr, e->addrlen, IPC_BYE, 0, &b, sizeof(b));
	}
	for (struct enrollment **p = &t->list; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			break;
		}
	t->count--;
	sd_event_source_disable_unref(e->pidfd_source);
	if (e->pidfd >= 0)
		close(e->pidfd);
	free(e);
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct enrollment *e = userdata;
	struct manager *m = e->table->m;

	log_info("Enrolled process %d (%s) exited", (int)e->info.pid, e->info.name);
	eventlog_add(&m->eventlog, IPC_EVENT_UNENROLLED, (uint32_t)e->info.pid, 0, "%s exited",
		     e->info.name);
	enrollment_free(e, IPC_BYE_EXIT);
	return 0;
}

/* Owner uid of a live process, read while pidfd pins it: if the process is
 * still alive after the read, /proc/pid was this process, not a reused PID. */
static int pid_owner(pid_t pid, int pidfd, uid_t *ret_uid, char *comm, size_t comm_size)
{
	char path[64];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) < 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(comm, (int)comm_size, f))
			comm[0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return -ESRCH;
	*ret_uid = st.st_uid;
	return 0;
}

static int enrollment_new(struct enroll_table *t, pid_t pid, struct enrollment **ret)
{
	struct manager *m = t->m;
	struct enrollment *e;
	uid_t uid;
	int pidfd, r;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno == EINVAL ? -ESRCH : negative_errno();
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(pidfd);
		return -ENOMEM;
	}
	e->table = t;
	e->pidfd = pidfd;
	r = pid_owner(pid, pidfd, &uid, e->info.name, sizeof(e->info.name));
	if (r < 0)
		goto fail;
	if (count_uid(t, uid) >= m->config.max_enroll_per_uid) {
		r = -EUSERS;
		goto fail;
	}
	r = sd_event_add_io(m->event, &e->pidfd_source, pidfd, EPOLLIN, on_pidfd, e);
	if (r < 0)
		goto fail;
	e->info.id = ++t->next_id;
	e->info.pid = pid;
	e->info.uid = uid;
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

int enroll_table_add_pid(struct enroll_table *t, pid_t pid, uid_t requester)
{
	struct enrollment *e;
	int r;

	if (pid <= 0)
		return -ESRCH;
	if (find(t, pid))
		return -EEXIST;
	r = enrollment_new(t, pid, &e);
	if (r < 0)
		return r;
	if (requester != 0 && requester != e->info.uid) {
		enrollment_free(e, IPC_BYE_EXIT);
		return -EPERM;
	}
	log_info("Enrolled process %d (%s) for uid %u", (int)pid, e->info.name, requester);
	eventlog_add(&t->m->eventlog, IPC_EVENT_ENROLLED, (uint32_t)pid, 0, "%s enrolled by uid %u",
		     e->info.name, requester);
	return 0;
}

int enroll_table_remove_pid(struct enroll_table *t, pid_t pid, uid_t requester)
{
	struct enrollment *e = find(t, pid);

	if (!e)
		return -ENOENT;
	if (requester != 0 && requester != e->info.uid)
		return -EPERM;
	eventlog_add(&t->m->eventlog, IPC_EVENT_UNENROLLED, (uint32_t)pid, 0,
		     "%s unenrolled by uid %u", e->info.name, requester);
	log_info("Unenrolled process %d (%s)", (int)pid, e->info.name);
	enrollment_free(e, IPC_BYE_UNENROLLED);
	return 0;
}

static void reject(struct enroll_table *t, int code, const struct ipc_header *h,
		   const struct ipc_cred *cred, const struct sockaddr_un *addr, socklen_t addrlen,
		   const char *why)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	struct ipc_error e;

	t->m->counters.datagrams_rejected++;
	t->rejects_unreported++;
	log_debug("Rejected datagram from pid %d: %s (%s)", cred ? (int)cred->pid : 0, why,
		  strerror(-code));
	if (now - t->last_reject_warn_usec >= REJECT_WARN_INTERVAL_USEC) {
		log_warning("Rejected %" PRIu64 " malformed or unauthorised datagram(s), "
			    "latest from pid %d: %s",
			    t->rejects_unreported, cred ? (int)cred->pid : 0, why);
		t->rejects_unreported = 0;
		t->last_reject_warn_usec = now;
	}
	ipc_error_fill(&e, code, h ? h->seq : 0, h ? h->type : 0, why);
	send_to(t, addr, addrlen, IPC_ERROR, h ? h->seq : 0, &e, sizeof(e));
}

static void handle_enroll(struct enroll_table *t, const struct ipc_msg *msg,
			  const struct ipc_cred *cred, const struct sockaddr_un *addr,
			  socklen_t addrlen)
{
	const struct ipc_enroll *req = msg->body;
	struct ipc_enroll_ack ack = {};
	struct enrollment *e;
	int r;

	if ((pid_t)req->pid != cred->pid) {
		reject(t, -EPERM, &msg->hdr, cred, addr, addrlen,
		       "ENROLL pid differs from the sender's credentials");
		return;
	}
	if (addrlen <= sizeof(sa_family_t)) {
		reject(t, -EDESTADDRREQ, &msg->hdr, cred, addr, addrlen,
		       "sender socket is not bound; connect with ipc_dgram_connect()");
		return;
	}
	e = find(t, cred->pid);
	if (!e) {
		r = enrollment_new(t, cred->pid, &e);
		if (r < 0) {
			reject(t, r, &msg->hdr, cred, addr, addrlen,
			       r == -EUSERS ? "too many enrollments for this user" :
					      "cannot enroll this process");
			return;
		}
		eventlog_add(&t->m->eventlog, IPC_EVENT_ENROLLED, (uint32_t)cred->pid,
			     (int64_t)req->arena_bytes, "%s enrolled itself", req->name);
	}
	snprintf(e->info.name, sizeof(e->info.name), "%s", req->name);
	e->info.connected = true;
	memcpy(&e->addr, addr, addrlen);
	e->addrlen = addrlen;
	ack.enrollment_id = e->info.id;
	ack.stats_interval_ms = (uint32_t)(t->m->config.stats_interval_usec / USEC_PER_MSEC);
	send_to(t, addr, addrlen, IPC_ENROLL_ACK, msg->hdr.seq, &ack, sizeof(ack));
	log_info("Workload %d (%s) enrolled, arena %" PRIu64 " bytes", (int)cred->pid, req->name,
		 req->arena_bytes);
}

static void handle_datagram(struct enroll_table *t, const struct ipc_msg *msg,
			    const struct ipc_cred *cred, const struct sockaddr_un *addr,
			    socklen_t addrlen)
{
	struct enrollment *e;

	if (msg->hdr.type == IPC_ENROLL) {
		handle_enroll(t, msg, cred, addr, addrlen);
		return;
	}
	e = find(t, cred->pid);
	switch (msg->hdr.type) {
	case IPC_STATS:
	case IPC_COMPRESS_ACK:
		if (!e || !e->info.connected) {
			reject(t, -ENOENT, &msg->hdr, cred, addr, addrlen, "not enrolled");
			return;
		}
		if (msg->hdr.type == IPC_STATS) {
			e->info.stats = ((const struct ipc_stats *)msg->body)->stats;
		} else {
			const struct ipc_compress_ack *a = msg->body;

			e->info.stats = a->stats;
			eventlog_add(&t->m->eventlog, IPC_EVENT_COMPRESS_DONE, (uint32_t)cred->pid,
				     (int64_t)a->bytes_freed, "%s freed %" PRIu64 " bytes (%d)",
				     e->info.name, a->bytes_freed, a->result);
		}
		return;
	case IPC_BYE:
		if (e) {
			eventlog_add(&t->m->eventlog, IPC_EVENT_UNENROLLED, (uint32_t)cred->pid, 0,
				     "%s said goodbye", e->info.name);
			enrollment_free(e, IPC_BYE_EXIT);
		}
		return;
	case IPC_ERROR:
		log_debug("Workload %d reported an error: %s", (int)cred->pid,
			  ((const struct ipc_error *)msg->body)->message);
		return;
	default:
		reject(t, -EBADRQC, &msg->hdr, cred, addr, addrlen,
		       "message type not accepted from workloads");
		return;
	}
}

static int on_dgram(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct enroll_table *t = userdata;

	for (unsigned i = 0; i < DGRAM_BATCH; i++) {
		struct sockaddr_un addr = {};
		socklen_t addrlen = sizeof(addr);
		struct ipc_cred cred = {};
		struct ipc_header h;
		struct ipc_msg msg;
		ssize_t n;
		int r;

		n = ipc_dgram_recv(fd, t->buf, sizeof(t->buf), &cred, &addr, &addrlen);
		if (n == -EAGAIN || n == -EINTR)
			return 0;
		if (n == -EMSGSIZE || (n >= 0 && (size_t)n > IPC_MSG_MAX)) {
			reject(t, -EMSGSIZE, NULL, &cred, &addr, addrlen, "datagram too large");
			continue;
		}
		if (n == -ENODATA) {
			reject(t, -EPERM, NULL, NULL, &addr, addrlen,
			       "datagram without credentials");
			continue;
		}
		if (n < 0) {
			log_warning_errno((int)n, "Failed to receive a datagram: %m, ignoring");
			return 0;
		}
		r = ipc_decode(t->buf, (size_t)n, &msg);
		if (r < 0) {
			bool have_hdr = (size_t)n >= sizeof(h);

			if (have_hdr)
				memcpy(&h, t->buf, sizeof(h));
			reject(t, r, have_hdr ? &h : NULL, &cred, &addr, addrlen,
			       "malformed datagram");
			continue;
		}
		handle_datagram(t, &msg, &cred, &addr, addrlen);
	}
	return 0;
}

int enroll_table_new(struct manager *m, int dgram_fd, struct enroll_table **ret)
{
	struct enroll_table *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t) {
		close(dgram_fd);
		return log_error_errno(-ENOMEM, "Out of memory");
	}
	t->m = m;
	t->fd = dgram_fd;
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
	sd_event_source_disable_unref(t->source);
	close(t->fd);
	free(t);
	return NULL;
}
