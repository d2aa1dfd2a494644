// SPDX-License-Identifier: MIT
/* daemon/control.c: serve memctl on the SOCK_SEQPACKET control socket. One
 * request record in, one reply record out; peers identified by SO_PEERCRED. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/bpf-loader.h"
#include "daemon/control.h"
#include "daemon/enroll.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "ipc/ipc.h"

/* Each connection costs an fd and an event source; memctl opens one per call. */
#define CONTROL_CONN_MAX 64

struct control_conn {
	struct control_server *server;
	int fd;
	struct ipc_cred cred;
	sd_event_source *source;
	struct control_conn *next;
};

struct control_server {
	struct manager *m;
	int fd;
	sd_event_source *source;
	struct control_conn *conns;
	unsigned n_conns;
	uint8_t rbuf[IPC_MSG_MAX];
	uint8_t wbuf[IPC_MSG_MAX];
};

static void conn_free(struct control_conn *c)
{
	struct control_server *s = c->server;

	for (struct control_conn **p = &s->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	s->n_conns--;
	sd_event_source_disable_unref(c->source);
	close(c->fd);
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
	s->enrolled = enroll_table_count(m->enroll);
	s->datagrams_rejected = m->counters.datagrams_rejected;
	s->dry_run = m->config.dry_run;
	if (m->bpf)
		bpf_loader_describe(m->bpf, s->bpf_status, sizeof(s->bpf_status));
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
	default:
		return strerror(-r);
	}
}

static void handle(struct control_conn *c, const struct ipc_msg *msg)
{
	struct manager *m = c->server->m;
	const struct ipc_header *h = &msg->hdr;
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
		const struct ipc_ctl_pid *p = msg->body;
		struct ipc_ctl_ok ok = {};

		r = h->type == IPC_CTL_ENROLL ?
			    enroll_table_add_pid(m->enroll, (pid_t)p->pid, c->cred.uid) :
			    enroll_table_remove_pid(m->enroll, (pid_t)p->pid, c->cred.uid);
		if (r < 0)
			reply_error(c, r, h, enroll_error_text(r));
		else
			reply(c, IPC_CTL_OK, h->seq, &ok, sizeof(ok), NULL, 0);
		return;
	}
	case IPC_CTL_EVENTS: {
		const struct ipc_ctl_events *q = msg->body;
		struct ipc_event_entry out[EVENTLOG_CAPACITY];
		struct ipc_ctl_events_reply rep = {};
		uint32_t max = ipc_entries_max(IPC_CTL_EVENTS_REPLY);

		if (q->max && q->max < max)
			max = q->max;
		max = MIN(max, (uint32_t)EVENTLOG_CAPACITY);
		rep.count = eventlog_since(&m->eventlog, q->since_id, out, max);
		rep.next_id = rep.count ? out[rep.count - 1].id : q->since_id;
		reply(c, IPC_CTL_EVENTS_REPLY, h->seq, &rep, sizeof(rep), out, rep.count);
		return;
	}
	case IPC_CTL_LIST:
	case IPC_CTL_SHOW:
	case IPC_CTL_CGROUPS:
		reply_error(c, -EOPNOTSUPP, h, "the process and cgroup tables are not built yet");
		return;
	default:
		reply_error(c, -EBADRQC, h, "not a control request");
		return;
	}
}

static int on_conn_ready(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct control_conn *c = userdata;
	struct control_server *s = c->server;
	struct ipc_msg msg;
	ssize_t n;
	int r;

	n = recv(fd, s->rbuf, sizeof(s->rbuf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		log_debug_errno(negative_errno(), "Control connection failed: %m, closing it");
		conn_free(c);
		return 0;
	}
	if (n == 0 || (revents & (EPOLLHUP | EPOLLERR)) == EPOLLHUP) {
		conn_free(c);
		return 0;
	}
	if ((size_t)n > sizeof(s->rbuf)) {
		reply_error(c, -EMSGSIZE, NULL, "request larger than the protocol allows");
		return 0;
	}
	r = ipc_decode(s->rbuf, (size_t)n, &msg);
	if (r < 0) {
		struct ipc_header h = {};

		if ((size_t)n >= sizeof(h))
			memcpy(&h, s->rbuf, sizeof(h));
		log_debug_errno(r, "Malformed control request from pid %d: %m", (int)c->cred.pid);
		reply_error(c, r, (size_t)n >= sizeof(h) ? &h : NULL, "malformed request");
		return 0;
	}
	handle(c, &msg);
	return 0;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct control_server *s = userdata;
	_cleanup_close_ int cfd = -1;
	struct control_conn *c;
	int r;

	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warning_errno(negative_errno(), "accept() on the control socket: %m");
		return 0;
	}
	if (s->n_conns >= CONTROL_CONN_MAX) {
		log_warning("Too many control connections (%u), refusing one", s->n_conns);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	c->server = s;
	if (ipc_peer_cred(cfd, &c->cred) < 0) {
		free(c);
		return 0;
	}
	r = sd_event_add_io(s->m->event, &c->source, cfd, EPOLLIN, on_conn_ready, c);
	if (r < 0) {
		free(c);
		return log_warning_errno(r,
					 "Failed to watch a control connection: %m, dropping it");
	}
	c->fd = TAKE_FD(cfd);
	c->next = s->conns;
	s->conns = c;
	s->n_conns++;
	return 0;
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
	if (r < 0) {
		control_server_free(s);
		return log_error_errno(r, "Failed to watch the control socket: %m");
	}
	*ret = s;
	return 0;
}

struct control_server *control_server_free(struct control_server *s)
{
	if (!s)
		return NULL;
	while (s->conns)
		conn_free(s->conns);
	sd_event_source_disable_unref(s->source);
	close(s->fd);
	free(s);
	return NULL;
}
