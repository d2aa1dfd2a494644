// SPDX-License-Identifier: MIT
/* arena/controller.c: libarena's controller client: enroll an arena with memctld, obey
 * COMPRESS and RELAX on the enrollment's channel, send STATS, come back when the daemon
 * does; and the HELLO a libarena process says so `memctl enroll PID` can find it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "arena/arena-internal.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "ipc/ipc.h"

/* Retry while memctld is absent: 0.1 s, doubling, at most 5 s, so a daemon that comes
 * back finds its workloads again within a few seconds, and an absent one costs one
 * connect() every 5 s. */
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000
/* An ENROLL unanswered this long is sent again (the daemon drops replies it has no
 * room for rather than wait; see docs/protocol.md). */
#define ENROLL_TIMEOUT_MS 1000
/* While waiting for `memctl enroll`, HELLO again this often: a restarted daemon
 * forgets who said HELLO. */
#define HELLO_INTERVAL_MS 10000
/* COMPRESS works in slices, so a deadline is kept and a huge target does not hold
 * the arena's scan for long at once. */
#define COMPRESS_SLICE_BYTES (8ULL << 20)

struct arena_controller {
	struct arena *arena;
	char path[108];
	char name[IPC_NAME_MAX];
	uint32_t flags;
	bool hello; /* say HELLO and wait for `memctl enroll`; never ENROLL on our own */
	pid_t owner; /* getpid() at creation: a forked child's copy only closes its fds */

	int main_fd; /* connected to the daemon's socket, -1 while absent */
	int channel_fd; /* the enrollment's channel, -1 unless enrolled */
	int epoll_fd;
	int timer_fd;
	int wake_fd; /* eventfd: arena_controller_leave() stops the thread */
	pthread_t thread;
	bool thread_running;

	pthread_mutex_t lock; /* status and the fields above, for status_get() */
	struct arena_controller_status st;
	uint32_t seq;
	uint32_t enroll_seq; /* seq of the ENROLL in flight */
	uint64_t retry_ms;
	uint64_t stats_interval_ms;
	struct arena_stats scan; /* the last walk (ack_stats()) */
	uint64_t scan_usec; /* when; 0 = none yet */
	uint8_t buf[IPC_MSG_MAX];
};

void arena_controller_config_init(struct arena_controller_config *cfg)
{
	*cfg = (struct arena_controller_config){};
}

/* a critical COMPRESS above this pressure turns on the writer assist
 * (arena_assist_set()), for a share rising to all of it at 10000 */
#define ASSIST_PRESSURE_PERMYRIAD 8000U

static uint32_t assist_share(uint32_t pressure_permyriad)
{
	if (pressure_permyriad <= ASSIST_PRESSURE_PERMYRIAD)
		return 0;
	return (MIN(pressure_permyriad, 10000U) - ASSIST_PRESSURE_PERMYRIAD) * 10000U /
	       (10000U - ASSIST_PRESSURE_PERMYRIAD);
}

/* an ack's hotness split: at most one walk over the chunks this often (ack_stats()) */
#define ACK_SCAN_MAX_AGE_USEC (50 * USEC_PER_MSEC)

static uint32_t next_seq(struct arena_controller *c)
{
	if (++c->seq == 0)
		c->seq = 1;
	return c->seq;
}

static void timer_set(struct arena_controller *c, uint64_t ms)
{
	struct itimerspec it = { .it_value = { .tv_sec = (time_t)(ms / 1000),
					       .tv_nsec = (long)(ms % 1000) * 1000000L } };

	if (ms == 0)
		it.it_value.tv_nsec = 1; /* 0 would disarm */
	(void)timerfd_settime(c->timer_fd, 0, &it, NULL);
}

static int epoll_add(struct arena_controller *c, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void fd_drop(struct arena_controller *c, int *fd)
{
	if (*fd < 0)
		return;
	(void)epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static void set_state(struct arena_controller *c, uint32_t state, int error)
{
	pthread_mutex_lock(&c->lock);
	c->st.state = state;
	if (error)
		c->st.last_error = error;
	pthread_mutex_unlock(&c->lock);
}

/* The daemon went away or refused us: drop both sockets and try again later. */
static void disconnect(struct arena_controller *c, int error)
{
	fd_drop(c, &c->channel_fd);
	fd_drop(c, &c->main_fd);
	set_state(c, ARENA_CONTROLLER_ABSENT, error);
	timer_set(c, c->retry_ms);
	c->retry_ms = MIN(c->retry_ms * 2, (uint64_t)RETRY_MAX_MS);
}

static int send_msg(struct arena_controller *c, int fd, uint16_t type, uint32_t seq,
		    const void *body, size_t len)
{
	ssize_t n = ipc_encode(c->buf, sizeof(c->buf), type, seq, body, len, NULL, 0);

	if (n < 0)
		return (int)n;
	return ipc_dgram_send(fd, c->buf, (size_t)n, NULL, 0);
}

static void fill_enroll(struct arena_controller *c, struct ipc_enroll *e)
{
	struct arena_config cfg;
	struct arena_stats st;

	arena_config_get(c->arena, &cfg);
	*e = (struct ipc_enroll){
		.pid = (uint32_t)getpid(),
		.chunk_size_bytes = cfg.chunk_size_bytes,
		.codecs = ((cfg.codecs & (ARENA_CODECS_LZ4_FAST | ARENA_CODECS_LZ4)) ?
				   IPC_CODEC_LZ4 :
				   0) |
			  ((cfg.codecs & ARENA_CODECS_ZSTD) ? IPC_CODEC_ZSTD : 0),
	};
	if (arena_stats_get(c->arena, &st) == 0)
		e->arena_bytes = st.logical_bytes;
	snprintf(e->name, sizeof(e->name), "%s", c->name);
}

/* Connect to the daemon and say ENROLL (or HELLO). */
static void try_connect(struct arena_controller *c)
{
	struct ipc_enroll e;
	int r;

	if (c->main_fd < 0) {
		r = ipc_dgram_connect(c->path);
		if (r >= 0 && fcntl(r, F_SETFL, O_NONBLOCK) < 0) {
			close(r);
			r = -errno;
		}
		if (r >= 0 && epoll_add(c, r) < 0) {
			close(r);
			r = -EIO;
		}
		if (r < 0) {
			disconnect(c, r);
			return;
		}
		c->main_fd = r;
	}
	fill_enroll(c, &e);
	c->enroll_seq = next_seq(c);
	r = send_msg(c, c->main_fd, c->hello ? IPC_HELLO : IPC_ENROLL, c->enroll_seq, &e,
		     sizeof(e));
	if (r < 0) {
		disconnect(c, r);
		return;
	}
	set_state(c, c->hello ? ARENA_CONTROLLER_WAITING : ARENA_CONTROLLER_ENROLLING, 0);
	timer_set(c, c->hello ? HELLO_INTERVAL_MS : ENROLL_TIMEOUT_MS);
}

/* Only root, or our own user (a private daemon), speaks for memctld. */
static bool from_daemon(const struct ipc_recv_meta *m)
{
	return m->cred.uid == 0 || m->cred.uid == getuid();
}

/*
 * The figures an ack or STATS carries. The planner needs the hotness split
 * (what is COLD, WARM, HOT), which only a walk over every chunk gives
 * (arena_stats_scan(): 0.5 ms at 131,072 chunks, a tenth of this thread's
 * CPU under pressure when every ack walked). So at most one walk per
 * ACK_SCAN_MAX_AGE_USEC (always for STATS, which set the clock): the acks
 * between carry arena_stats_get()'s O(1) figures, exact, and the last walk's
 * split less the chunks compressions have taken since, from its compressible
 * COLD bytes first (a pass takes the coldest first). What turned COLD since
 * shows at the next walk, within 50 ms. An ack short of its target walks.
 */
static void ack_stats(struct arena_controller *c, bool walk, struct ipc_arena_stats *out)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC), taken;
	struct arena_stats st;

	if (walk || !c->scan_usec || now - c->scan_usec >= ACK_SCAN_MAX_AGE_USEC) {
		if (arena_stats_scan(c->arena, &st) < 0)
			return;
		c->scan = st;
		c->scan_usec = now;
	} else {
		if (arena_stats_get(c->arena, &st) < 0)
			return;
		taken = (st.compress_attempts - c->scan.compress_attempts) * st.chunk_size_bytes;
		memcpy(st.hotness_bytes, c->scan.hotness_bytes, sizeof(st.hotness_bytes));
		st.compressible_cold_bytes = c->scan.compressible_cold_bytes -
					     MIN(taken, c->scan.compressible_cold_bytes);
		/* COLD first, then WARM, then HOT: the order a pass takes them in */
		for (int h = ARENA_COLD; h >= ARENA_HOT && taken > 0; h--) {
			uint64_t t = MIN(taken, st.hotness_bytes[h]);

			st.hotness_bytes[h] -= t;
			taken -= t;
		}
	}
	arena_stats_to_ipc(&st, out);
}

static void send_stats(struct arena_controller *c)
{
	struct ipc_stats s = {};
	int r;

	ack_stats(c, true, &s.stats);
	r = send_msg(c, c->channel_fd, IPC_STATS, next_seq(c), &s, sizeof(s));
	if (r == -ECONNREFUSED || r == -ENOTCONN || r == -EPIPE) {
		disconnect(c, r); /* memctld is gone: enroll again when it is back */
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->st.stats_sent += r == 0;
	pthread_mutex_unlock(&c->lock);
	timer_set(c, c->stats_interval_ms);
}

static void on_enroll_ack(struct arena_controller *c, const struct ipc_msg *msg,
			  struct ipc_recv_meta *m)
{
	const struct ipc_enroll_ack *a = msg->body;
	int one = 1;

	/* ours (echoing the ENROLL's seq), or unsolicited (seq 0) after a HELLO */
	if (m->fd < 0 || (msg->hdr.seq != c->enroll_seq && !(c->hello && msg->hdr.seq == 0)))
		return;
	fd_drop(c, &c->channel_fd);
	if (setsockopt(m->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    fcntl(m->fd, F_SETFL, O_NONBLOCK) < 0 || epoll_add(c, m->fd) < 0)
		return; /* m->fd closed by the caller */
	c->channel_fd = TAKE_FD(m->fd);
	c->retry_ms = RETRY_MIN_MS;
	c->stats_interval_ms = MAX(a->stats_interval_ms, 100U);
	pthread_mutex_lock(&c->lock);
	c->st.state = ARENA_CONTROLLER_ENROLLED;
	c->st.last_error = 0;
	c->st.enrollment_id = a->enrollment_id;
	c->st.enrollments++;
	c->st.readback_factor_permille = a->readback_factor_permille;
	c->st.readback_cost_permyriad = a->readback_cost_permyriad;
	pthread_mutex_unlock(&c->lock);
	/* where the arena forms its readback factor (out-of-range values: its own) */
	(void)arena_readback_set(c->arena, a->readback_factor_permille, a->readback_cost_permyriad);
	send_stats(c); /* so the daemon has figures at once */
}

static void on_main(struct arena_controller *c)
{
	for (int i = 0; i < 16; i++) {
		struct ipc_recv_meta m;
		struct ipc_msg msg;
		ssize_t n;

		n = ipc_dgram_recv_meta(c->main_fd, c->buf, sizeof(c->buf), true, &m);
		if (n == -EAGAIN || n == -EINTR)
			return;
		if (n == -ECONNREFUSED || n == -ENOTCONN) {
			disconnect(c, (int)n);
			return;
		}
		if (n < 0)
			continue;
		if (from_daemon(&m) && ipc_decode(c->buf, (size_t)n, &msg) == 0) {
			if (msg.hdr.type == IPC_ENROLL_ACK) {
				on_enroll_ack(c, &msg, &m);
			} else if (msg.hdr.type == IPC_ERROR &&
				   ((const struct ipc_error *)msg.body)->ref_seq == c->enroll_seq) {
				/* refused (another version, a cap reached): later, and say why */
				ipc_recv_meta_done(&m);
				disconnect(c, ((const struct ipc_error *)msg.body)->code);
				return;
			}
		}
		ipc_recv_meta_done(&m);
	}
}

static uint32_t codecs_from_ipc(const struct arena *a, uint32_t ipc)
{
	struct arena_config cfg;
	uint32_t want = 0;

	arena_config_get(a, &cfg);
	if (ipc & IPC_CODEC_LZ4)
		want |= ARENA_CODECS_LZ4_FAST | ARENA_CODECS_LZ4;
	if (ipc & IPC_CODEC_ZSTD)
		want |= ARENA_CODECS_ZSTD;
	return want & cfg.codecs;
}

/* Free about cmd->target_bytes, coldest first, within the deadline. */
static void on_compress(struct arena_controller *c, const struct ipc_msg *msg)
{
	const struct ipc_compress *cmd = msg->body;
	struct ipc_compress_ack ack = { .request_seq = msg->hdr.seq };
	struct arena_compress_opts opts;
	uint64_t start = now_usec(CLOCK_MONOTONIC), freed = 0;
	int r = 0;

	arena_compress_opts_init(&opts);
	opts.codecs = codecs_from_ipc(c->arena, cmd->codecs);
	opts.min_savings_permyriad = cmd->min_savings_permyriad;
	/* the value of a saved byte rises with pressure (cold chunks go to zstd) */
	(void)arena_pressure_set(c->arena, cmd->pressure_permyriad);
	/* near the limit (memctld lets HOT data go, and the headroom is nearly
	 * gone): the workload's own pins pay for a share of what they make resident
	 * until the next command, as direct reclaim would, all of it at the limit.
	 * Not sooner: paying on the workload's thread is what this thread is there
	 * to spare it */
	(void)arena_assist_set(c->arena, ARENA_ASSIST_WINDOW_MS,
			       cmd->max_hotness == IPC_HOT ? assist_share(cmd->pressure_permyriad) :
							     0);
	pthread_mutex_lock(&c->lock);
	(void)arena_readback_set(c->arena, c->st.readback_factor_permille,
				 cmd->readback_cost_permyriad);
	pthread_mutex_unlock(&c->lock);
	if (opts.codecs == 0)
		r = -EOPNOTSUPP; /* none of the codecs allowed is one this arena has */
	while (r == 0 && freed < cmd->target_bytes) {
		uint64_t step = MIN(cmd->target_bytes - freed, COMPRESS_SLICE_BYTES), got = 0;

		r = arena_compress_bytes(c->arena, step, (enum arena_hotness)cmd->max_hotness,
					 &opts, &got);
		freed += got;
		if (r != ARENA_COMPRESS_DONE || got == 0)
			break; /* nothing more to take (PARTIAL), or the store is full */
		if (cmd->deadline_ms &&
		    now_usec(CLOCK_MONOTONIC) - start >= cmd->deadline_ms * USEC_PER_MSEC)
			break;
	}
	ack.result = r < 0 ? r : 0;
	ack.bytes_freed = freed;
	/* short of the target: the planner tells "ran out" (no capacity left, ask
	 * again when there is) from "failed to give" (backed off for seconds) by
	 * these figures, so they must be the walk's, not an estimate */
	ack_stats(c, freed < cmd->target_bytes, &ack.stats);
	pthread_mutex_lock(&c->lock);
	c->st.commands++;
	c->st.compress_commands++;
	c->st.bytes_freed += freed;
	c->st.pressure_permyriad = cmd->pressure_permyriad;
	c->st.readback_cost_permyriad = cmd->readback_cost_permyriad;
	c->st.last_command_usec = start;
	pthread_mutex_unlock(&c->lock);
	(void)send_msg(c, c->channel_fd, IPC_COMPRESS_ACK, next_seq(c), &ack, sizeof(ack));
}

/* Memory is plentiful again: bring hot and warm data back, up to the budget. */
static void on_relax(struct arena_controller *c, const struct ipc_msg *msg)
{
	const struct ipc_relax *cmd = msg->body;
	struct ipc_compress_ack ack = { .request_seq = msg->hdr.seq };
	uint64_t restored = 0, start = now_usec(CLOCK_MONOTONIC);
	int r = 0;

	(void)arena_assist_set(c->arena, 0, 0); /* memory is plentiful again */
	if (cmd->prefetch_bytes)
		r = arena_decompress_bytes(c->arena, cmd->prefetch_bytes, ARENA_WARM, &restored);
	ack.result = r < 0 ? r : 0;
	ack.bytes_freed = restored;
	ack_stats(c, true, &ack.stats); /* decompressed: HOT data the last walk did not see */
	pthread_mutex_lock(&c->lock);
	c->st.commands++;
	c->st.relax_commands++;
	c->st.bytes_restored += restored;
	c->st.last_command_usec = start;
	pthread_mutex_unlock(&c->lock);
	(void)send_msg(c, c->channel_fd, IPC_RELAX_ACK, next_seq(c), &ack, sizeof(ack));
}

static void on_channel(struct arena_controller *c)
{
	for (int i = 0; i < 16 && c->channel_fd >= 0; i++) {
		struct ipc_recv_meta m;
		struct ipc_msg msg;
		ssize_t n;

		n = ipc_dgram_recv_meta(c->channel_fd, c->buf, sizeof(c->buf), false, &m);
		if (n == -EAGAIN || n == -EINTR)
			return;
		if (n < 0)
			continue;
		ipc_recv_meta_done(&m);
		if (!from_daemon(&m) || ipc_decode(c->buf, (size_t)n, &msg) < 0)
			continue;
		switch (msg.hdr.type) {
		case IPC_COMPRESS:
			on_compress(c, &msg);
			break;
		case IPC_RELAX:
			on_relax(c, &msg);
			break;
		case IPC_BYE: {
			const struct ipc_bye *b = msg.body;

			fd_drop(c, &c->channel_fd);
			if (b->reason == IPC_BYE_UNENROLLED) {
				/* someone said `memctl unenroll`: respect it, but stay findable */
				c->hello = true;
				try_connect(c);
			} else {
				disconnect(c, 0); /* shutting down: back when it is */
			}
			return;
		}
		default:
			break; /* ERROR and the rest: nothing to do */
		}
	}
}

static void on_timer(struct arena_controller *c)
{
	uint64_t expirations;
	uint32_t state;

	if (read(c->timer_fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return;
	pthread_mutex_lock(&c->lock);
	state = c->st.state;
	pthread_mutex_unlock(&c->lock);
	if (state == ARENA_CONTROLLER_ENROLLED && c->channel_fd >= 0)
		send_stats(c);
	else
		try_connect(c); /* absent, an unanswered ENROLL, or time to HELLO again */
}

int arena_controller_dispatch(struct arena_controller *c)
{
	struct epoll_event ev[4];
	int n;

	if (!c)
		return -EINVAL;
	n = epoll_wait(c->epoll_fd, ev, (int)ELEMENTSOF(ev), 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd;

		if (fd == c->timer_fd)
			on_timer(c);
		else if (fd == c->main_fd)
			on_main(c);
		else if (fd == c->channel_fd)
			on_channel(c);
	}
	return 0;
}

static void *controller_thread(void *userdata)
{
	struct arena_controller *c = userdata;
	struct pollfd p[2] = { { .fd = c->epoll_fd, .events = POLLIN },
			       { .fd = c->wake_fd, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents)
			(void)arena_controller_dispatch(c);
	}
	return NULL;
}

static struct arena_controller *controller_free(struct arena_controller *c)
{
	int *fds[] = { &c->channel_fd, &c->main_fd, &c->timer_fd, &c->wake_fd, &c->epoll_fd };

	if (c->owner == getpid()) {
		if (c->channel_fd >= 0) {
			struct ipc_bye b = { .reason = IPC_BYE_EXIT };

			(void)send_msg(c, c->channel_fd, IPC_BYE, next_seq(c), &b, sizeof(b));
		}
		if (c->thread_running) {
			uint64_t one = 1;

			(void)!write(c->wake_fd, &one, sizeof(one));
			pthread_join(c->thread, NULL);
		}
	}
	/* in a forked child the thread does not exist and the enrollment is the
	 * parent's: only our copies of the fds go */
	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}

static int controller_new(struct arena *arena, const struct arena_controller_config *cfg,
			  bool hello, struct arena_controller **ret)
{
	struct arena_controller *c;
	const char *path = cfg && cfg->socket_path ? cfg->socket_path : getenv("MEMCTLD_SOCKET");
	const char *name = cfg && cfg->name ? cfg->name : program_invocation_short_name;
	uint32_t flags = cfg ? cfg->flags : 0;
	int r;

	if (!arena || (flags & ~_ARENA_CONTROLLER_FLAGS))
		return -EINVAL;
	if (!path || !*path)
		path = ARENA_CONTROLLER_SOCKET_DEFAULT;
	if (strlen(path) >= sizeof(c->path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->arena = arena;
	c->hello = hello;
	c->flags = flags;
	c->owner = getpid();
	c->main_fd = c->channel_fd = c->timer_fd = c->wake_fd = -1;
	c->retry_ms = RETRY_MIN_MS;
	c->stats_interval_ms = 1000;
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(c->name, sizeof(c->name), "%s", name ?: "libarena");
	pthread_mutex_init(&c->lock, NULL);
	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->epoll_fd < 0 || c->timer_fd < 0 || c->wake_fd < 0) {
		r = -errno;
		controller_free(c);
		return r;
	}
	r = epoll_add(c, c->timer_fd);
	if (r < 0) {
		controller_free(c);
		return r;
	}
	try_connect(c); /* absent is not an error: the timer tries again */
	if (!(flags & ARENA_CONTROLLER_NO_THREAD)) {
		sigset_t all, old;

		/* the thread takes no signals: they belong to the application */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = -pthread_create(&c->thread, NULL, controller_thread, c);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r < 0) {
			controller_free(c);
			return r;
		}
		c->thread_running = true;
	}
	*ret = c;
	return 0;
}

/* ---- HELLO: every libarena process that finds memctld running says so ---- */

/* One per process: the first arena made while memctld runs is the one `memctl enroll
 * PID` takes up. */
static pthread_mutex_t hello_lock = PTHREAD_MUTEX_INITIALIZER;
static struct arena_controller *hello_ctl;
static struct arena_controller *hello_forked; /* the parent's, in a forked child */
static pthread_once_t hello_once = PTHREAD_ONCE_INIT;

static void hello_atfork_child(void)
{
	/* the parent's HELLO is not ours: the child's arena_free() only closes its copy
	 * of the fds (controller_free() knows from owner) */
	hello_forked = hello_ctl;
	hello_ctl = NULL;
	pthread_mutex_init(&hello_lock, NULL);
}

static void hello_setup(void)
{
	(void)pthread_atfork(NULL, NULL, hello_atfork_child);
}

void arena_hello_start(struct arena *arena)
{
	const char *off = getenv("ARENA_NO_HELLO");
	struct arena_config cfg;
	struct arena_controller *c = NULL;
	const char *path;
	int probe;

	arena_config_get(arena, &cfg);
	if ((cfg.flags & ARENA_CONFIG_NO_HELLO) || (off && strcmp(off, "0") != 0))
		return;
	pthread_once(&hello_once, hello_setup);
	pthread_mutex_lock(&hello_lock);
	if (hello_ctl) {
		pthread_mutex_unlock(&hello_lock);
		return;
	}
	/* only when memctld is there: no thread in processes that never meet it */
	path = getenv("MEMCTLD_SOCKET");
	probe = ipc_dgram_connect(path && *path ? path : ARENA_CONTROLLER_SOCKET_DEFAULT);
	if (probe >= 0) {
		close(probe);
		if (controller_new(arena, NULL, true, &c) == 0)
			hello_ctl = c;
	}
	pthread_mutex_unlock(&hello_lock);
}

void arena_hello_stop(struct arena *arena)
{
	struct arena_controller *c = NULL;

	pthread_mutex_lock(&hello_lock);
	if (hello_ctl && hello_ctl->arena == arena)
		c = TAKE_PTR(hello_ctl);
	else if (hello_forked && hello_forked->arena == arena)
		c = TAKE_PTR(hello_forked);
	pthread_mutex_unlock(&hello_lock);
	if (c)
		controller_free(c);
}

/* ---- the public calls ---- */

int arena_controller_enroll(struct arena *arena, const struct arena_controller_config *cfg,
			    struct arena_controller **ret)
{
	if (!ret)
		return -EINVAL;
	/* one conversation per arena: an explicit enrollment replaces its HELLO */
	if (arena)
		arena_hello_stop(arena);
	return controller_new(arena, cfg, false, ret);
}

struct arena_controller *arena_controller_leave(struct arena_controller *c)
{
	if (c)
		controller_free(c);
	return NULL;
}

int arena_controller_fd(struct arena_controller *c)
{
	if (!c || !(c->flags & ARENA_CONTROLLER_NO_THREAD))
		return -EINVAL;
	return c->epoll_fd;
}

int arena_controller_status_get(struct arena_controller *c, struct arena_controller_status *ret)
{
	if (!c || !ret)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	*ret = c->st;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

const char *arena_controller_state_to_string(uint32_t state)
{
	static const char *const names[] = {
		[ARENA_CONTROLLER_ABSENT] = "absent",
		[ARENA_CONTROLLER_ENROLLING] = "enrolling",
		[ARENA_CONTROLLER_ENROLLED] = "enrolled",
		[ARENA_CONTROLLER_WAITING] = "waiting",
	};

	return state < ELEMENTSOF(names) ? names[state] : NULL;
}
