// SPDX-License-Identifier: MIT
/* daemon/sender.c: non-blocking, per-peer bounded sends to workloads: budgeted
 * replies on the shared workload socket, and each enrollment's private channel.
 * See sender.h for why the two. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/ratelimit.h"
#include "common/time-util.h"
#include "daemon/sender.h"
#include "ipc/ipc.h"

/* The shared socket's send buffer. Every queued datagram costs its truesize (about
 * 1.2 KiB for a 124-byte ERROR on x86-64: the skb and its head), so the default
 * wmem_default (208 KiB) holds only ~170 unread replies. 4 MiB (SO_SNDBUFFORCE, root)
 * makes each non-root share below hold thousands; without CAP_NET_ADMIN the kernel
 * caps SO_SNDBUF at wmem_max and the shares shrink with it. */
#define SHARED_SNDBUF_BYTES (4u << 20)

/* What non-root peers may keep queued, as a fraction of the send buffer: errors to
 * misbehaving peers at most a quarter, replies at most half, so root's workloads
 * always find room whatever unprivileged users do. */
static const unsigned share_divisor[_SENDER_KIND_MAX] = {
	[SENDER_ERROR] = 4,
	[SENDER_REPLY] = 2,
};

/* Per-uid budgets: errors 8 at once then one per 2 s; replies 16 at once then four
 * per second (a workload enrolls once; a restart storm of one user's workloads
 * re-enrolls at that pace). */
static const struct {
	uint64_t burst, interval_usec;
} budget[_SENDER_KIND_MAX] = {
	[SENDER_ERROR] = { 8, 2 * USEC_PER_SEC },
	[SENDER_REPLY] = { 16, 250 * USEC_PER_MSEC },
};

/* Distinct uids with a budget; beyond that, new uids share one overflow budget, so
 * many uids buy no more than one. */
#define SENDER_UIDS_MAX 256
#define UID_OVERFLOW ((uid_t)-1)

/* A channel's send buffer: about 100 COMPRESS datagrams (~600 bytes of truesize
 * each) unread before sends to that workload are dropped. */
#define CHANNEL_SNDBUF_BYTES (64u << 10)

struct uid_budget {
	uid_t uid;
	bool used;
	uint64_t last_usec;
	struct token_bucket bucket[_SENDER_KIND_MAX];
};

struct sender {
	int fd;
	size_t sndbuf_bytes;
	struct sender_counters counters;
	struct uid_budget uids[SENDER_UIDS_MAX];
	struct uid_budget overflow;
	uint8_t wbuf[IPC_MSG_MAX];
};

int sender_new(int fd, struct sender **ret)
{
	struct sender *s = calloc(1, sizeof(*s));
	int size = SHARED_SNDBUF_BYTES;
	size_t queued;

	if (!s)
		return -ENOMEM;
	s->fd = fd;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (ipc_socket_outq(fd, &queued, &s->sndbuf_bytes) < 0 || s->sndbuf_bytes == 0)
		s->sndbuf_bytes = 208 * 1024;
	s->overflow.uid = UID_OVERFLOW;
	s->overflow.used = true;
	for (int k = 0; k < _SENDER_KIND_MAX; k++)
		token_bucket_init(&s->overflow.bucket[k], budget[k].burst, budget[k].interval_usec,
				  0);
	*ret = s;
	return 0;
}

struct sender *sender_free(struct sender *s)
{
	free(s);
	return NULL;
}

const struct sender_counters *sender_get_counters(const struct sender *s)
{
	return &s->counters;
}

static bool budget_idle(struct uid_budget *b, uint64_t now_usec)
{
	for (int k = 0; k < _SENDER_KIND_MAX; k++)
		if (!token_bucket_full(&b->bucket[k], now_usec))
			return false;
	return true;
}

/* The budget of uid: its own slot, a free or idle slot taken over, or the shared
 * overflow when every slot is busy. */
static struct uid_budget *budget_for(struct sender *s, uid_t uid, uint64_t now_usec)
{
	struct uid_budget *free_slot = NULL, *idle = NULL;

	for (size_t i = 0; i < ELEMENTSOF(s->uids); i++) {
		struct uid_budget *b = &s->uids[i];

		if (b->used && b->uid == uid)
			return b;
		if (!b->used) {
			if (!free_slot)
				free_slot = b;
		} else if (!free_slot && (!idle || b->last_usec < idle->last_usec) &&
			   budget_idle(b, now_usec)) {
			idle = b; /* a full bucket holds no memory of anything */
		}
	}
	if (!free_slot)
		free_slot = idle;
	if (!free_slot)
		return &s->overflow;
	free_slot->used = true;
	free_slot->uid = uid;
	for (int k = 0; k < _SENDER_KIND_MAX; k++)
		token_bucket_init(&free_slot->bucket[k], budget[k].burst, budget[k].interval_usec,
				  now_usec);
	return free_slot;
}

/* May a non-root peer queue len more bytes of this kind? */
static bool within_share(struct sender *s, enum sender_kind kind, size_t len)
{
	size_t queued, sndbuf;

	if (ipc_socket_outq(s->fd, &queued, &sndbuf) < 0)
		return false;
	/* truesize: a datagram costs about 1 KiB more than its bytes */
	return queued + len + 1024 <= s->sndbuf_bytes / share_divisor[kind];
}

int sender_reply(struct sender *s, uid_t uid, enum sender_kind kind, const struct sockaddr_un *addr,
		 socklen_t addrlen, uint16_t type, uint32_t seq, const void *body, size_t len,
		 int pass_fd, uint64_t now_usec)
{
	ssize_t n;
	int r;

	if (addrlen <= sizeof(sa_family_t))
		return -EDESTADDRREQ; /* unbound sender: nowhere to answer */
	n = ipc_encode(s->wbuf, sizeof(s->wbuf), type, seq, body, len, NULL, 0);
	if (n < 0)
		return (int)n;
	if (uid != 0) {
		struct uid_budget *b = budget_for(s, uid, now_usec);

		b->last_usec = now_usec;
		if (!within_share(s, kind, (size_t)n) ||
		    !token_bucket_take(&b->bucket[kind], now_usec)) {
			s->counters.dropped_budget++;
			return -EDQUOT;
		}
	}
	r = pass_fd >= 0 ? ipc_dgram_send_fd(s->fd, s->wbuf, (size_t)n, addr, addrlen, pass_fd) :
			   ipc_dgram_send(s->fd, s->wbuf, (size_t)n, addr, addrlen);
	if (r == -EAGAIN)
		s->counters.dropped_full++;
	else if (r == 0)
		s->counters.sent++;
	return r;
}

int channel_open(struct channel *c, int *ret_peer_fd)
{
	int sv[2], one = 1, size = CHANNEL_SNDBUF_BYTES;

	*c = (struct channel){ .fd = -1 };
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return negative_errno();
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0) {
		int r = negative_errno();

		close(sv[0]);
		close(sv[1]);
		return r;
	}
	/* the daemon's end only (O_NONBLOCK is per open file, and the other end's
	 * file travels to the workload): the workload decides whether its end blocks */
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		int r = negative_errno();

		close(sv[0]);
		close(sv[1]);
		return r;
	}
	c->fd = sv[0];
	*ret_peer_fd = sv[1];
	return 0;
}

void channel_close(struct channel *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int channel_send(struct sender *s, struct channel *c, uint16_t type, uint32_t seq, const void *body,
		 size_t len)
{
	ssize_t n;
	int r;

	if (c->fd < 0 || c->peer_gone)
		return -ECONNREFUSED;
	n = ipc_encode(s->wbuf, sizeof(s->wbuf), type, seq, body, len, NULL, 0);
	if (n < 0)
		return (int)n;
	r = ipc_dgram_send(c->fd, s->wbuf, (size_t)n, NULL, 0);
	if (r == 0) {
		c->sent++;
		c->dropped_in_a_row = 0;
	} else if (r == -EAGAIN) {
		c->dropped++;
		c->dropped_in_a_row++;
	} else if (r == -ECONNREFUSED || r == -ENOTCONN) {
		c->peer_gone = true;
		r = -ECONNREFUSED;
	}
	return r;
}
