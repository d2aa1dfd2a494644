/* SPDX-License-Identifier: MIT */
/* daemon/sender.h: the one way memctld sends to workloads: never blocks, bounded per
 * peer. Replies on the shared workload socket are budgeted per uid; everything an
 * enrolled workload gets after its ENROLL_ACK travels on its own channel. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/*
 * Why two paths. The kernel charges every datagram an AF_UNIX socket sends to that
 * socket's send buffer until the receiver reads it (net/unix/af_unix.c: the skb's
 * truesize stays in sk_wmem_alloc of the sender), and for a receiver connect()ed to
 * the sender there is no receive-queue limit either. So one peer that never reads
 * can fill the daemon's shared workload socket, and then every sendto() on it fails
 * with EAGAIN, for every workload (issue 9, item 1). The shared socket therefore
 * carries only handshake replies (ENROLL_ACK, ERROR), each one budgeted per uid and
 * kept under a share of the buffer that leaves root room, and each enrollment gets a
 * channel (a socketpair) whose buffer only that workload can fill.
 */

enum sender_kind {
	SENDER_ERROR, /* an ERROR to a peer that sent something wrong */
	SENDER_REPLY, /* ENROLL_ACK and other answers to a well-formed request */
	_SENDER_KIND_MAX,
};

struct sender_counters {
	uint64_t sent;
	uint64_t dropped_full; /* the kernel had no room (EAGAIN): dropped, never retried */
	uint64_t dropped_budget; /* over the peer's budget or share: not sent */
};

struct sender;

/* Send on fd (the shared workload socket, not owned). Enlarges its send buffer. */
int sender_new(int fd, struct sender **ret);
struct sender *sender_free(struct sender *s);

/*
 * Encode (type, seq, body) and send it to addr on the shared socket for a peer of
 * the given uid, passing pass_fd along if >= 0. Returns 0 if sent; -EAGAIN if the
 * kernel had no room, -EDQUOT if the peer's budget or the share for non-root peers
 * is spent (both dropped and counted: never blocks, never retries); -EDESTADDRREQ
 * for an unbound peer; another -errno.
 */
int sender_reply(struct sender *s, uid_t uid, enum sender_kind kind, const struct sockaddr_un *addr,
		 socklen_t addrlen, uint16_t type, uint32_t seq, const void *body, size_t len,
		 int pass_fd, uint64_t now_usec);

const struct sender_counters *sender_get_counters(const struct sender *s);

/* One enrollment's private channel: the daemon's end of a SOCK_DGRAM socketpair. */
struct channel {
	int fd; /* -1 when closed */
	uint64_t sent;
	uint64_t dropped; /* EAGAIN: this workload is not reading */
	uint32_t dropped_in_a_row; /* reset by a successful send */
	bool peer_gone; /* the workload closed its end (ECONNREFUSED/ENOTCONN) */
};

/*
 * Make a channel: c gets the daemon's end (non-blocking, SO_PASSCRED, a send buffer
 * of CHANNEL_SNDBUF_BYTES), *ret_peer_fd the workload's end (to pass in ENROLL_ACK,
 * then close).
 */
int channel_open(struct channel *c, int *ret_peer_fd);
void channel_close(struct channel *c);
/* Encode and send on the channel without blocking. 0, -EAGAIN (dropped, counted),
 * -ECONNREFUSED (the workload closed its end: peer_gone set), or -errno. */
int channel_send(struct sender *s, struct channel *c, uint16_t type, uint32_t seq, const void *body,
		 size_t len);
