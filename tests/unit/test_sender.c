// SPDX-License-Identifier: MIT
/* tests/unit/test_sender.c: daemon/sender on real AF_UNIX sockets: per-uid budgets
 * and shares on the shared workload socket, and per-enrollment channels whose peers
 * never read. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/macro.h"
#include "common/ratelimit.h"
#include "common/time-util.h"
#include "daemon/sender.h"
#include "ipc/ipc.h"

struct peers {
	int srv; /* the "shared workload socket" */
	struct sockaddr_un srv_addr;
	socklen_t srv_len;
	struct sender *s;
};

static int setup(void **state)
{
	struct peers *p = calloc(1, sizeof(*p));
	int one = 1;

	if (!p)
		return -1;
	p->srv = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->srv < 0)
		return -1;
	p->srv_addr.sun_family = AF_UNIX;
	/* abstract: nothing on disk to clean up, unique per test process */
	snprintf(p->srv_addr.sun_path + 1, sizeof(p->srv_addr.sun_path) - 1, "test_sender.%d",
		 (int)getpid());
	p->srv_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				 strlen(p->srv_addr.sun_path + 1));
	if (bind(p->srv, (struct sockaddr *)&p->srv_addr, p->srv_len) < 0 ||
	    setsockopt(p->srv, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -1;
	if (sender_new(p->srv, &p->s) < 0)
		return -1;
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct peers *p = *state;

	sender_free(p->s);
	close(p->srv);
	free(p);
	return 0;
}

/* A workload-like peer: autobound, connected to the shared socket; its address. */
static int peer_new(struct peers *p, struct sockaddr_un *ret_addr, socklen_t *ret_len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	sa_family_t autobind = AF_UNIX;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&autobind, sizeof(autobind)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&p->srv_addr, p->srv_len), 0);
	*ret_len = sizeof(*ret_addr);
	assert_int_equal(getsockname(fd, (struct sockaddr *)ret_addr, ret_len), 0);
	return fd;
}

static int reply_error(struct peers *p, uid_t uid, const struct sockaddr_un *a, socklen_t l,
		       uint64_t now)
{
	struct ipc_error e;

	ipc_error_fill(&e, -EINVAL, 1, IPC_ENROLL, "bad");
	return sender_reply(p->s, uid, SENDER_ERROR, a, l, IPC_ERROR, 1, &e, sizeof(e), -1, now);
}

static unsigned drain(int fd)
{
	uint8_t buf[IPC_MSG_MAX];
	unsigned n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

/* An unprivileged peer gets its burst of errors, then nothing until tokens come back;
 * another uid's budget is untouched, and root has none. */
static void test_sender_reply_budget_per_uid(void **state)
{
	struct peers *p = *state;
	struct sockaddr_un a, b, r;
	socklen_t al, bl, rl;
	_cleanup_close_ int fa = peer_new(p, &a, &al), fb = peer_new(p, &b, &bl),
			    fr = peer_new(p, &r, &rl);
	uint64_t now = 1000 * USEC_PER_SEC;
	unsigned sent = 0;

	for (int i = 0; i < 100; i++)
		sent += reply_error(p, 65534, &a, al, now) == 0;
	assert_int_equal(sent, 8);
	assert_int_equal(reply_error(p, 65534, &a, al, now), -EDQUOT);
	assert_int_equal(drain(fa), 8);
	/* one token back every 2 s */
	assert_int_equal(reply_error(p, 65534, &a, al, now + 2 * USEC_PER_SEC), 0);
	assert_int_equal(reply_error(p, 65534, &a, al, now + 2 * USEC_PER_SEC), -EDQUOT);
	/* uid 1000 is not charged for 65534's errors */
	assert_int_equal(reply_error(p, 1000, &b, bl, now), 0);
	/* root is never budgeted */
	for (int i = 0; i < 100; i++)
		assert_int_equal(reply_error(p, 0, &r, rl, now), 0);
	assert_int_equal(drain(fr), 100);
	assert_true(sender_get_counters(p->s)->dropped_budget >= 93);
}

/* Many unprivileged uids that never read cannot take the shared socket's buffer from
 * root: their errors stop at a quarter of it, their replies at half. */
static void test_sender_share_leaves_root_room(void **state)
{
	struct peers *p = *state;
	struct sockaddr_un a, r;
	socklen_t al, rl;
	_cleanup_close_ int fa = peer_new(p, &a, &al), fr = peer_new(p, &r, &rl);
	size_t queued, sndbuf;
	uint64_t now = 1000 * USEC_PER_SEC;
	int res = 0;

	/* time moves on between errors, so the uid's bucket always has a token: only the
	 * share can stop it */
	for (int i = 0; i < 200000 && res != -EDQUOT; i++) {
		now += 2 * USEC_PER_SEC;
		res = reply_error(p, 65534, &a, al, now);
	}
	assert_int_equal(res, -EDQUOT);
	assert_int_equal(ipc_socket_outq(p->srv, &queued, &sndbuf), 0);
	assert_true(queued <= sndbuf / 4);
	assert_true(queued > sndbuf / 8); /* and the share was really used */
	/* root still gets through, many times */
	for (int i = 0; i < 50; i++)
		assert_int_equal(reply_error(p, 0, &r, rl, now), 0);
	assert_int_equal(drain(fr), 50);
	/* once the non-reader reads, others may send again */
	drain(fa);
	assert_int_equal(reply_error(p, 4242, &a, al, now), 0);
}

/* Beyond SENDER_UIDS_MAX busy uids, new ones share one overflow budget: making up
 * uids (user namespaces, many accounts) buys no more than one uid's burst. */
static void test_sender_many_uids_share_one_budget(void **state)
{
	struct peers *p = *state;
	struct sockaddr_un a;
	socklen_t al;
	_cleanup_close_ int fa = peer_new(p, &a, &al);
	uint64_t now = 1000 * USEC_PER_SEC;
	unsigned sent = 0;

	for (uid_t uid = 3000; uid < 3000 + 256; uid++)
		assert_int_equal(reply_error(p, uid, &a, al, now), 0);
	for (uid_t uid = 10000; uid < 11000; uid++)
		sent += reply_error(p, uid, &a, al, now) == 0;
	assert_int_equal(sent, 8);
	drain(fa);
}

/* A channel whose workload never reads fills, then drops and counts; another
 * enrollment's channel is unaffected; a closed peer is noticed. */
static void test_channel_send_bounded_per_peer(void **state)
{
	struct peers *p = *state;
	struct channel slow, fast;
	int slow_peer, fast_peer, r = 0;
	struct ipc_relax relax = { .prefetch_bytes = 4096 };
	unsigned sent = 0;

	assert_int_equal(channel_open(&slow, &slow_peer), 0);
	assert_int_equal(channel_open(&fast, &fast_peer), 0);
	/* the daemon's end never blocks; the workload's end keeps its own mode */
	assert_true(fcntl(slow.fd, F_GETFL) & O_NONBLOCK);
	assert_false(fcntl(slow_peer, F_GETFL) & O_NONBLOCK);
	for (int i = 0; i < 100000 && r != -EAGAIN; i++) {
		r = channel_send(p->s, &slow, IPC_RELAX, (uint32_t)i + 1, &relax, sizeof(relax));
		sent += r == 0;
	}
	assert_int_equal(r, -EAGAIN);
	assert_true(sent > 10);
	assert_true(sent < 1000); /* the channel's own buffer bounds it */
	assert_int_equal(slow.dropped, 1);
	assert_int_equal(channel_send(p->s, &slow, IPC_RELAX, 1, &relax, sizeof(relax)), -EAGAIN);
	assert_int_equal(slow.dropped_in_a_row, 2);
	/* the other workload is served as if nothing happened */
	for (int i = 0; i < 10; i++)
		assert_int_equal(channel_send(p->s, &fast, IPC_RELAX, (uint32_t)i + 1, &relax,
					      sizeof(relax)),
				 0);
	assert_int_equal(drain(fast_peer), 10);
	/* reading makes room again */
	assert_int_equal(drain(slow_peer), sent);
	assert_int_equal(channel_send(p->s, &slow, IPC_RELAX, 9, &relax, sizeof(relax)), 0);
	assert_int_equal(slow.dropped_in_a_row, 0);
	/* the workload closes its end */
	close(fast_peer);
	assert_int_equal(channel_send(p->s, &fast, IPC_RELAX, 1, &relax, sizeof(relax)),
			 -ECONNREFUSED);
	assert_true(fast.peer_gone);
	close(slow_peer);
	channel_close(&slow);
	channel_close(&fast);
	assert_int_equal(slow.fd, -1);
}

static void test_token_bucket_refill(void **state)
{
	struct token_bucket b;

	token_bucket_init(&b, 3, 10, 100);
	assert_true(token_bucket_take(&b, 100));
	assert_true(token_bucket_take(&b, 100));
	assert_true(token_bucket_take(&b, 100));
	assert_false(token_bucket_take(&b, 105));
	assert_int_equal(b.denied, 1);
	assert_true(token_bucket_take(&b, 110)); /* one back after an interval */
	assert_false(token_bucket_take(&b, 119));
	assert_true(token_bucket_full(&b, 1000)); /* never more than the burst */
	assert_true(token_bucket_take(&b, 1000));
	assert_true(token_bucket_take(&b, 1000));
	assert_true(token_bucket_take(&b, 1000));
	assert_false(token_bucket_take(&b, 1000));
	/* time going backwards gives nothing */
	assert_false(token_bucket_take(&b, 50));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_bucket_refill),
		cmocka_unit_test_setup_teardown(test_sender_reply_budget_per_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sender_share_leaves_root_room, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sender_many_uids_share_one_budget, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_channel_send_bounded_per_peer, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
