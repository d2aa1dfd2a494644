/* SPDX-License-Identifier: MIT */
/* common/pidfd-util.h: pidfd helpers: open, liveness, exit, and the pid and uid a
 * pidfd refers to (PIDFD_GET_INFO where the kernel has it, /proc otherwise).
 * Header-only; -errno returns. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/macro.h"

#ifndef PIDFS_IOCTL_MAGIC
#define PIDFS_IOCTL_MAGIC 0xFF
#endif
/* linux/pidfd.h, 6.13+: the first 64 bytes of struct pidfd_info (v0) */
struct memctl_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid;
	uint32_t tgid;
	uint32_t ppid;
	uint32_t ruid;
	uint32_t rgid;
	uint32_t euid;
	uint32_t egid;
	uint32_t suid;
	uint32_t sgid;
	uint32_t fsuid;
	uint32_t fsgid;
	int32_t exit_code;
};
_Static_assert(sizeof(struct memctl_pidfd_info) == 64, "pidfd_info v0 layout");
#define MEMCTL_PIDFD_GET_INFO _IOWR(PIDFS_IOCTL_MAGIC, 11, struct memctl_pidfd_info)
#define MEMCTL_PIDFD_INFO_PID (1UL << 0)
#define MEMCTL_PIDFD_INFO_CREDS (1UL << 1)

/* pidfd_open(2); a PID that names no process (or a thread that is not a thread-group
 * leader: EINVAL) gives -ESRCH. */
static inline int pidfd_open_pid(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd >= 0)
		return fd;
	return errno == EINVAL ? -ESRCH : negative_errno();
}

/* 0 if the process is alive (a zombie counts as exited), -ESRCH if it has exited. */
static inline int pidfd_check_alive(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return errno == ESRCH ? -ESRCH : negative_errno();
	/* a pidfd polls readable once the whole thread group has exited, reaped or not */
	if (poll(&p, 1, 0) > 0)
		return -ESRCH;
	return 0;
}

/* The real uid of /proc/PID/status ("Uid:\treal\teffective\tsaved\tfs"). */
static inline int proc_status_real_uid(pid_t pid, uid_t *ret_uid)
{
	char path[64], line[256];
	unsigned long uid;
	int r = -ESRCH;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : negative_errno();
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid:\t%lu", &uid) == 1) {
			*ret_uid = (uid_t)uid;
			r = 0;
			break;
		}
	fclose(f);
	return r;
}

/*
 * The pid (in our namespace) and real uid of the process pidfd refers to, read from
 * the pidfd itself: PIDFD_GET_INFO (6.13+), else the "Pid:" line of its fdinfo and
 * the real uid in /proc/PID/status, checked against the pidfd afterwards (alive after the read:
 * /proc/PID was this process). -ESRCH if it has exited.
 */
static inline int pidfd_get_pid_uid(int pidfd, pid_t *ret_pid, uid_t *ret_uid)
{
	struct memctl_pidfd_info info = { .mask = MEMCTL_PIDFD_INFO_PID | MEMCTL_PIDFD_INFO_CREDS };
	char path[64], line[128];
	long pid = -1;
	FILE *f;
	int r;

	if (ioctl(pidfd, MEMCTL_PIDFD_GET_INFO, &info) == 0) {
		if (!(info.mask & MEMCTL_PIDFD_INFO_CREDS) || info.pid == 0)
			return -ESRCH;
		r = pidfd_check_alive(pidfd);
		if (r < 0)
			return r;
		*ret_pid = (pid_t)info.pid;
		*ret_uid = (uid_t)info.ruid;
		return 0;
	}
	if (errno == ESRCH)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid:\t%ld", &pid) == 1)
			break;
	fclose(f);
	if (pid <= 0)
		return -ESRCH; /* -1: exited; 0: in another pid namespace */
	r = proc_status_real_uid((pid_t)pid, ret_uid);
	if (r < 0)
		return r;
	r = pidfd_check_alive(pidfd);
	if (r < 0)
		return r;
	*ret_pid = (pid_t)pid;
	return 0;
}
