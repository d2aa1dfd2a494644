// SPDX-License-Identifier: MIT
/* daemon/socket-dir.c: the socket directory's checks (issue 9, item 7): a
 * world-writable or foreign-owned directory, or a symlink as the directory, would
 * let another user plant a fake control.sock or redirect the daemon's chmod. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "daemon/socket-dir.h"

int socket_dir_open(const char *path, char *why, size_t why_size)
{
	_cleanup_close_ int fd = -1;
	bool created = false;
	struct stat st;

	why[0] = '\0';
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(why, why_size, "it is a symlink; memctld never follows one here");
		return -ELOOP;
	}
	if (mkdir(path, 0755) == 0)
		created = true;
	else if (errno != EEXIST) {
		snprintf(why, why_size, "cannot create it: %s", strerror(errno));
		return negative_errno();
	}
	/* O_NOFOLLOW: a symlink as the last component fails (ENOTDIR with O_DIRECTORY),
	 * so a directory replaced by a link after the lstat() above is never used */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int r = negative_errno();

		if (r == -ELOOP)
			snprintf(why, why_size, "it is a symlink; memctld never follows one here");
		else if (r == -ENOTDIR)
			snprintf(why, why_size, "it is not a directory");
		else
			snprintf(why, why_size, "cannot open it: %s", strerror(-r));
		return r;
	}
	/* mkdir's mode is cut by the umask; say exactly what it is */
	if (created && fchmod(fd, 0755) < 0) {
		snprintf(why, why_size, "cannot set its mode: %s", strerror(errno));
		return negative_errno();
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, why_size, "cannot stat it: %s", strerror(errno));
		return negative_errno();
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, why_size,
			 "it is owned by uid %u, not by uid %u that memctld runs as; remove it or "
			 "chown it",
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, why_size,
			 "its mode %04o lets group or others write in it (plant or replace "
			 "sockets); make it 0755",
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return TAKE_FD(fd);
}
