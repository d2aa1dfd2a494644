/* SPDX-License-Identifier: MIT */
/* ipc/socket.c: AF_UNIX socket helpers for both memctl sockets: bind with a
 * mode, credentials (SCM_CREDENTIALS, SO_PEERCRED), timeouts, the control call. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/macro.h"
#include "ipc/ipc.h"

/* Room for SCM_CREDENTIALS plus a few SCM_RIGHTS fds a hostile sender may
 * attach: those are closed at once; any beyond this the kernel drops itself. */
#define IPC_RECV_MAX_FDS 16

static int sockaddr_un_fill(struct sockaddr_un *sa, socklen_t *ret_len, const char *path)
{
	size_t n;

	if (!path || !path[0])
		return -EINVAL;
	n = strlen(path);
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;

	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	memcpy(sa->sun_path, path, n + 1);
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/*
 * Make room for binding at path. A socket file nobody is bound to (left by a
 * crash) is removed; a live one gives -EADDRINUSE, so a second daemon cannot
 * silently steal the first one's socket; a non-socket is never removed.
 */
static int stale_socket_remove(const struct sockaddr_un *sa, socklen_t sa_len, int type)
{
	_cleanup_close_ int probe = -1;
	struct stat st;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;

	probe = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (probe < 0)
		return -errno;
	if (connect(probe, (const struct sockaddr *)sa, sa_len) == 0)
		return -EADDRINUSE;
	switch (errno) {
	case ECONNREFUSED:
		break; /* stale: nobody bound to it */
	case ENOENT:
		return 0; /* went away meanwhile */
	case EAGAIN: /* a listener with a full backlog */
	case EPROTOTYPE: /* a live socket of another type */
		return -EADDRINUSE;
	default:
		return -errno;
	}

	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int socket_listen(const char *path, mode_t mode, int type, int backlog)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	socklen_t sa_len;
	int one = 1;
	int r;

	if (mode & ~(mode_t)07777)
		return -EINVAL;
	r = sockaddr_un_fill(&sa, &sa_len, path);
	if (r < 0)
		return r;

	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (type == SOCK_DGRAM && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -errno;

	r = stale_socket_remove(&sa, sa_len, type);
	if (r < 0)
		return r;

	/*
	 * Linux creates the socket file with the socket inode's mode & ~umask
	 * (net/unix/af_unix.c, unix_bind_bsd()), so fchmod() first means the file
	 * is never more open than mode, whatever the umask; chmod() afterwards
	 * gives exactly mode, since the umask may have taken bits away.
	 */
	if (fchmod(fd, mode) < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&sa, sa_len) < 0)
		return -errno;
	if (chmod(path, mode) < 0)
		goto fail_unlink;
	if (type == SOCK_SEQPACKET && listen(fd, backlog) < 0)
		goto fail_unlink;

	return TAKE_FD(fd);

fail_unlink:
	r = -errno;
	(void)unlink(path);
	return r;
}

int ipc_dgram_listen(const char *path, mode_t mode)
{
	return socket_listen(path, mode, SOCK_DGRAM, 0);
}

int ipc_control_listen(const char *path, mode_t mode, int backlog)
{
	if (backlog <= 0)
		return -EINVAL;
	return socket_listen(path, mode, SOCK_SEQPACKET, backlog);
}

int ipc_dgram_connect(const char *path)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	sa_family_t autobind = AF_UNIX;
	socklen_t sa_len;
	int one = 1;
	int r;

	r = sockaddr_un_fill(&sa, &sa_len, path);
	if (r < 0)
		return r;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -errno;
	/* An address of only sun_family autobinds a unique abstract name
	 * (unix(7)), so the daemon has an address to reply to. connect() would
	 * autobind too because of SO_PASSCRED; being explicit keeps that true
	 * without relying on it. */
	if (bind(fd, (const struct sockaddr *)&autobind, sizeof(autobind)) < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&sa, sa_len) < 0)
		return -errno;

	return TAKE_FD(fd);
}

int ipc_socket_set_timeouts(int fd, unsigned timeout_ms)
{
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

int ipc_control_connect(const char *path, unsigned timeout_ms)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	socklen_t sa_len;
	int r;

	r = sockaddr_un_fill(&sa, &sa_len, path);
	if (r < 0)
		return r;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* before connect(): it blocks, up to SO_SNDTIMEO, on a full backlog */
	r = ipc_socket_set_timeouts(fd, timeout_ms);
	if (r < 0)
		return r;
	if (connect(fd, (const struct sockaddr *)&sa, sa_len) < 0)
		return (errno == EAGAIN || errno == EINPROGRESS) ? -ETIMEDOUT : -errno;

	return TAKE_FD(fd);
}

/* Close every fd an SCM_RIGHTS message carried: a sender must not be able to
 * fill our fd table. */
static void cmsg_close_fds(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			(void)close(fd);
		}
	}
}

ssize_t ipc_dgram_recv(int fd, void *buf, size_t buf_size, struct ipc_cred *ret_cred,
		       void *ret_addr, socklen_t *ret_addrlen)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct ucred)) +
			    CMSG_SPACE(sizeof(int) * IPC_RECV_MAX_FDS)];
	} control;
	struct sockaddr_un sa = {};
	struct iovec iov = { .iov_base = buf, .iov_len = buf_size };
	struct msghdr mh = {
		.msg_name = &sa,
		.msg_namelen = sizeof(sa),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = &control,
		.msg_controllen = sizeof(control),
	};
	struct ucred uc;
	bool have_cred = false;
	ssize_t n;

	if (ret_addr && !ret_addrlen)
		return -EINVAL;

	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	cmsg_close_fds(&mh);

	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(uc))) {
			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			have_cred = true;
		}
	if (!have_cred)
		return -ENODATA;

	if (ret_cred)
		*ret_cred = (struct ipc_cred){ .pid = uc.pid, .uid = uc.uid, .gid = uc.gid };
	if (ret_addr) {
		memcpy(ret_addr, &sa, MIN((size_t)*ret_addrlen, (size_t)mh.msg_namelen));
		*ret_addrlen = mh.msg_namelen;
	}
	return n;
}

int ipc_dgram_send(int fd, const void *buf, size_t len, const void *addr, socklen_t addrlen)
{
	ssize_t n;

	if (addr && addrlen == 0)
		return -EINVAL;

	n = sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addr ? addrlen : 0);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if ((size_t)n != len)
		return -EIO; /* cannot happen for a datagram; never report a partial send */
	return 0;
}

int ipc_peer_cred(int fd, struct ipc_cred *ret)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	if (len != sizeof(uc))
		return -EIO;
	*ret = (struct ipc_cred){ .pid = uc.pid, .uid = uc.uid, .gid = uc.gid };
	return 0;
}

/* A timed-out blocking socket call fails with EAGAIN (socket(7), SO_RCVTIMEO). */
static int timeout_errno(void)
{
	return (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno;
}

int ipc_control_call(int fd, uint16_t type, const void *body, size_t body_len, void *reply_buf,
		     size_t reply_buf_size, struct ipc_msg *ret)
{
	/* process-wide, so two calls (threads, fds) never share a seq; never 0 */
	static uint32_t seq_counter;
	_cleanup_free_ void *req = NULL;
	struct ipc_msg reply;
	struct iovec iov = { .iov_base = reply_buf, .iov_len = reply_buf_size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint32_t seq;
	ssize_t len, n;
	int r;

	if (!reply_buf || !ret)
		return -EINVAL;
	if (body_len > IPC_MSG_MAX)
		return -EMSGSIZE;

	do
		seq = __atomic_add_fetch(&seq_counter, 1, __ATOMIC_RELAXED);
	while (seq == 0);

	req = malloc(sizeof(struct ipc_header) + body_len);
	if (!req)
		return -ENOMEM;
	len = ipc_encode(req, sizeof(struct ipc_header) + body_len, type, seq, body, body_len, NULL,
			 0);
	if (len < 0)
		return (int)len;

	n = send(fd, req, (size_t)len, MSG_NOSIGNAL);
	if (n < 0 && errno != EPIPE && errno != ECONNRESET)
		return timeout_errno();
	if (n >= 0 && n != len)
		return -EIO;
	/* if the daemon already closed (it refuses a connection over its cap with
	 * an unsolicited ERROR first), that ERROR may still be queued: read it */
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | (n < 0 ? MSG_DONTWAIT : 0));
	if (n < 0)
		return timeout_errno();
	if (n == 0)
		return -ECONNRESET; /* the daemon closed the connection */
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;

	r = ipc_decode(reply_buf, (size_t)n, &reply);
	if (r < 0)
		return r;
	/* A reply echoes our seq; only an IPC_ERROR about a request the daemon
	 * could not parse may carry 0. */
	if (reply.hdr.seq != seq && !(reply.hdr.type == IPC_ERROR && reply.hdr.seq == 0))
		return -EBADMSG;

	*ret = reply;
	return 0;
}
