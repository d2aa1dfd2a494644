/* SPDX-License-Identifier: MIT */
/* ipc/socket.c: AF_UNIX socket helpers for both memctl sockets: bind with a
 * mode, credentials (SCM_CREDENTIALS, SO_PEERCRED), timeouts, the control call. */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
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

/* include/uapi/asm-generic/socket.h, 6.5+ (glibc 2.36 predates them) */
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

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
 * Make room for binding at name (in dirfd; AT_FDCWD for a plain path). A socket file
 * nobody is bound to (left by a crash) is removed; a live one gives -EADDRINUSE, so a
 * second daemon cannot silently steal the first one's socket; a non-socket (a
 * symlink included) is never removed and gives -EEXIST.
 */
static int stale_socket_remove(int dirfd, const char *name, const struct sockaddr_un *sa,
			       socklen_t sa_len, int type)
{
	_cleanup_close_ int probe = -1;
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
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

	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* The address to bind name in dirfd at: the name itself for AT_FDCWD, else through
 * the directory fd (/proc/self/fd/N/name), so no rename or symlink swap of any
 * directory above it between the caller's checks and bind() can move the socket. */
static int listen_address(int dirfd, const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	char path[sizeof(sa->sun_path) + 1];
	int n;

	if (!name || !name[0])
		return -EINVAL;
	if (dirfd == AT_FDCWD)
		return sockaddr_un_fill(sa, len, name);
	if (name[0] == '/' || strchr(name, '/'))
		return -EINVAL;
	n = snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return sockaddr_un_fill(sa, len, path);
}

static int socket_listen(int dirfd, const char *name, mode_t mode, int type, int backlog)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	socklen_t sa_len;
	int one = 1;
	int r;

	if (mode & ~(mode_t)07777)
		return -EINVAL;
	r = listen_address(dirfd, name, &sa, &sa_len);
	if (r < 0)
		return r;

	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (type == SOCK_DGRAM && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -errno;

	r = stale_socket_remove(dirfd, name, &sa, sa_len, type);
	if (r < 0)
		return r;

	/*
	 * Linux creates the socket file with the socket inode's mode & ~umask
	 * (net/unix/af_unix.c, unix_bind_bsd()), so fchmod() first means the file
	 * is never more open than mode, whatever the umask; a chmod afterwards
	 * gives exactly mode, since the umask may have taken bits away. That chmod
	 * never follows a symlink (AT_SYMLINK_NOFOLLOW: glibc refuses one with
	 * EOPNOTSUPP): a symlink planted at the name between bind() and here must
	 * not make its target 0666. The daemon also only binds in a directory no
	 * other user can write (daemon/socket-dir.c).
	 */
	if (fchmod(fd, mode) < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&sa, sa_len) < 0)
		return -errno;
	if (fchmodat(dirfd, name, mode, AT_SYMLINK_NOFOLLOW) < 0)
		goto fail_unlink;
	if (type == SOCK_SEQPACKET && listen(fd, backlog) < 0)
		goto fail_unlink;

	return TAKE_FD(fd);

fail_unlink:
	r = -errno;
	(void)unlinkat(dirfd, name, 0);
	return r;
}

int ipc_dgram_listen(const char *path, mode_t mode)
{
	return socket_listen(AT_FDCWD, path, mode, SOCK_DGRAM, 0);
}

int ipc_control_listen(const char *path, mode_t mode, int backlog)
{
	if (backlog <= 0)
		return -EINVAL;
	return socket_listen(AT_FDCWD, path, mode, SOCK_SEQPACKET, backlog);
}

int ipc_dgram_listen_at(int dirfd, const char *name, mode_t mode)
{
	return socket_listen(dirfd, name, mode, SOCK_DGRAM, 0);
}

int ipc_control_listen_at(int dirfd, const char *name, mode_t mode, int backlog)
{
	if (backlog <= 0)
		return -EINVAL;
	return socket_listen(dirfd, name, mode, SOCK_SEQPACKET, backlog);
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

ssize_t ipc_dgram_recv_meta(int fd, void *buf, size_t buf_size, bool keep_fd,
			    struct ipc_recv_meta *ret)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int)) +
			    CMSG_SPACE(sizeof(struct timeval)) +
			    CMSG_SPACE(sizeof(int) * IPC_RECV_MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = buf_size };
	struct msghdr mh = {
		.msg_name = &ret->addr,
		.msg_namelen = sizeof(ret->addr),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = &control,
		.msg_controllen = sizeof(control),
	};
	bool have_cred = false;
	ssize_t n;

	ret->pidfd = ret->fd = -1;
	ret->time_usec = 0;
	ret->cred = (struct ipc_cred){};
	memset(&ret->addr, 0, sizeof(ret->addr));
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	ret->addrlen = mh.msg_namelen;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			ret->cred =
				(struct ipc_cred){ .pid = uc.pid, .uid = uc.uid, .gid = uc.gid };
			have_cred = true;
		} else if (c->cmsg_type == SCM_PIDFD && c->cmsg_len == CMSG_LEN(sizeof(int))) {
			int pfd;

			memcpy(&pfd, CMSG_DATA(c), sizeof(pfd));
			if (ret->pidfd >= 0)
				(void)close(ret->pidfd); /* one per datagram; be safe */
			ret->pidfd = pfd;
		} else if (c->cmsg_type == SCM_TIMESTAMP &&
			   c->cmsg_len == CMSG_LEN(sizeof(struct timeval))) {
			struct timeval tv;

			memcpy(&tv, CMSG_DATA(c), sizeof(tv));
			ret->time_usec = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
		} else if (c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int rfd;

				memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(rfd));
				if (keep_fd && ret->fd < 0)
					ret->fd = rfd;
				else
					(void)close(rfd);
			}
		}
	}

	if ((mh.msg_flags & MSG_TRUNC) || !have_cred) {
		ipc_recv_meta_done(ret);
		return (mh.msg_flags & MSG_TRUNC) ? -EMSGSIZE : -ENODATA;
	}
	return n;
}

void ipc_recv_meta_done(struct ipc_recv_meta *m)
{
	if (m->pidfd >= 0)
		(void)close(m->pidfd);
	if (m->fd >= 0)
		(void)close(m->fd);
	m->pidfd = m->fd = -1;
}

ssize_t ipc_dgram_recv(int fd, void *buf, size_t buf_size, struct ipc_cred *ret_cred,
		       void *ret_addr, socklen_t *ret_addrlen)
{
	struct ipc_recv_meta m;
	ssize_t n;

	if (ret_addr && !ret_addrlen)
		return -EINVAL;
	n = ipc_dgram_recv_meta(fd, buf, buf_size, false, &m);
	if (n < 0)
		return n;
	ipc_recv_meta_done(&m);
	if (ret_cred)
		*ret_cred = m.cred;
	if (ret_addr) {
		memcpy(ret_addr, &m.addr, MIN((size_t)*ret_addrlen, (size_t)m.addrlen));
		*ret_addrlen = m.addrlen;
	}
	return n;
}

int ipc_socket_pass_pidfd(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

int ipc_peer_pidfd(int fd)
{
	int pidfd = -1;
	socklen_t len = sizeof(pidfd);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		return -errno;
	if (len != sizeof(pidfd) || pidfd < 0)
		return -EIO;
	return pidfd;
}

int ipc_dgram_send_fd(int fd, const void *buf, size_t len, const void *addr, socklen_t addrlen,
		      int pass_fd)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(int))];
	} control = {};
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = {
		.msg_name = (void *)addr,
		.msg_namelen = addr ? addrlen : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n;

	if ((addr && addrlen == 0) || pass_fd < 0)
		return -EINVAL;
	mh.msg_control = &control;
	mh.msg_controllen = sizeof(control);
	{
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int ipc_socket_outq(int fd, size_t *ret_queued, size_t *ret_sndbuf)
{
	int q, sb;
	socklen_t len = sizeof(sb);

	if (ioctl(fd, SIOCOUTQ, &q) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, &len) < 0)
		return -errno;
	*ret_queued = q > 0 ? (size_t)q : 0;
	*ret_sndbuf = sb > 0 ? (size_t)sb : 0;
	return 0;
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

int ipc_control_call_fd(int fd, uint16_t type, const void *body, size_t body_len, void *reply_buf,
			size_t reply_buf_size, struct ipc_msg *ret, int *ret_fd)
{
	/* process-wide, so two calls (threads, fds) never share a seq; never 0 */
	static uint32_t seq_counter;
	_cleanup_free_ void *req = NULL;
	struct ipc_msg reply;
	struct iovec iov = { .iov_base = reply_buf, .iov_len = reply_buf_size };
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int got_fd = -1;
	uint32_t seq;
	ssize_t len, n;
	int r;

	if (!reply_buf || !ret)
		return -EINVAL;
	if (ret_fd) {
		*ret_fd = -1;
		mh.msg_control = &control;
		mh.msg_controllen = sizeof(control);
	}
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
	/* keep the first fd passed, close any others */
	for (struct cmsghdr *c = ret_fd ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got_fd < 0)
				got_fd = f;
			else
				close(f);
		}
	}
	if (mh.msg_flags & MSG_TRUNC) {
		if (got_fd >= 0)
			close(got_fd);
		return -EMSGSIZE;
	}

	r = ipc_decode(reply_buf, (size_t)n, &reply);
	if (r < 0) {
		if (got_fd >= 0)
			close(got_fd);
		return r;
	}
	/* A reply echoes our seq; only an IPC_ERROR about a request the daemon
	 * could not parse may carry 0. */
	if (reply.hdr.seq != seq && !(reply.hdr.type == IPC_ERROR && reply.hdr.seq == 0)) {
		if (got_fd >= 0)
			close(got_fd);
		return -EBADMSG;
	}

	*ret = reply;
	if (ret_fd)
		*ret_fd = got_fd;
	return 0;
}

int ipc_control_call(int fd, uint16_t type, const void *body, size_t body_len, void *reply_buf,
		     size_t reply_buf_size, struct ipc_msg *ret)
{
	return ipc_control_call_fd(fd, type, body, body_len, reply_buf, reply_buf_size, ret, NULL);
}
