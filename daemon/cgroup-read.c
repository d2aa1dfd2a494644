/* SPDX-License-Identifier: MIT */
/* daemon/cgroup-read.c: read a memory cgroup's files (v1 or v2, detected)
 * under a configurable root into a struct cgroup_mem. No logging. */
#include "daemon/cgroup-read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"

#define CGROUP_FILE_MAX_BYTES (64 * 1024)

/* A cgroup being removed answers ENOENT (kernfs node gone) or ENODEV (file
 * open across the removal): both mean "vanished". */
static int vanished_errno(int e)
{
	return e == ENOENT || e == ENODEV ? -ENOENT : -e;
}

static int file_read_at(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	size_t n = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vanished_errno(errno);
	for (;;) {
		char extra;
		ssize_t k;

		if (n < size)
			k = read(fd, buf + n, size - n);
		else
			k = read(fd, &extra, 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return vanished_errno(errno);
		}
		if (k == 0)
			break;
		if (n == size)
			return -EFBIG;
		n += (size_t)k;
	}
	*ret_len = n;
	return 0;
}

/* A removed directory: no links left on a regular file system (a fixture
 * tree); kernfs keeps the link count but drops every file, including the
 * cgroup.procs every cgroup directory has. */
static bool dir_vanished(int dirfd)
{
	struct stat st;

	if (fstat(dirfd, &st) < 0 || st.st_nlink == 0)
		return true;
	return faccessat(dirfd, "cgroup.procs", F_OK, 0) < 0 &&
	       (errno == ENOENT || errno == ENODEV);
}

enum file_kind {
	FILE_V2_LIMIT,
	FILE_V1_LIMIT,
	FILE_BYTES,
	FILE_COUNT,
	FILE_EVENTS,
	FILE_EVENTS_LOCAL,
	FILE_PRESSURE,
	FILE_OOM_CONTROL,
	FILE_STAT,
	FILE_KMEM,
	FILE_KMEM_TCP,
};

struct file_spec {
	const char *name;
	enum file_kind kind;
	uint32_t flag; /* CGROUP_MEM_HAS_* */
	bool required;
};

static const struct file_spec v1_files[] = {
	{ "memory.limit_in_bytes", FILE_V1_LIMIT, CGROUP_MEM_HAS_LIMIT, true },
	{ "memory.soft_limit_in_bytes", FILE_V1_LIMIT, CGROUP_MEM_HAS_SOFT_LIMIT, false },
	{ "memory.usage_in_bytes", FILE_BYTES, CGROUP_MEM_HAS_USAGE, true },
	{ "memory.failcnt", FILE_COUNT, CGROUP_MEM_HAS_FAILCNT, false },
	{ "memory.oom_control", FILE_OOM_CONTROL, CGROUP_MEM_HAS_OOM_CONTROL, false },
	{ "memory.kmem.usage_in_bytes", FILE_KMEM, CGROUP_MEM_HAS_KERNEL, false },
	{ "memory.kmem.tcp.usage_in_bytes", FILE_KMEM_TCP, CGROUP_MEM_HAS_KERNEL_SOCK, false },
	{ "memory.stat", FILE_STAT, CGROUP_MEM_HAS_STAT, true },
};

static const struct file_spec v2_files[] = {
	{ "memory.max", FILE_V2_LIMIT, CGROUP_MEM_HAS_LIMIT, false },
	{ "memory.high", FILE_V2_LIMIT, CGROUP_MEM_HAS_HIGH, false },
	{ "memory.current", FILE_BYTES, CGROUP_MEM_HAS_USAGE, false },
	{ "memory.events", FILE_EVENTS, CGROUP_MEM_HAS_EVENTS, false },
	{ "memory.events.local", FILE_EVENTS_LOCAL, CGROUP_MEM_HAS_EVENTS_LOCAL, false },
	{ "memory.pressure", FILE_PRESSURE, CGROUP_MEM_HAS_PRESSURE, false },
	{ "memory.stat", FILE_STAT, CGROUP_MEM_HAS_STAT, true },
};

static uint64_t *limit_field(struct cgroup_mem *m, uint32_t flag)
{
	switch (flag) {
	case CGROUP_MEM_HAS_HIGH:
		return &m->high_bytes;
	case CGROUP_MEM_HAS_SOFT_LIMIT:
		return &m->soft_limit_bytes;
	default:
		return &m->limit_bytes;
	}
}

static int file_parse(const struct file_spec *f, const char *buf, size_t len, struct cgroup_mem *m)
{
	switch (f->kind) {
	case FILE_V2_LIMIT:
		return cgroup_v2_limit_parse(buf, len, limit_field(m, f->flag));
	case FILE_V1_LIMIT:
		return cgroup_v1_limit_parse(buf, len, limit_field(m, f->flag));
	case FILE_BYTES:
		return cgroup_bytes_parse(buf, len, &m->usage_bytes);
	case FILE_COUNT:
		return cgroup_count_parse(buf, len, &m->failcnt);
	case FILE_EVENTS:
		return cgroup_events_parse(buf, len, &m->events);
	case FILE_EVENTS_LOCAL:
		return cgroup_events_parse(buf, len, &m->events_local);
	case FILE_PRESSURE:
		return cgroup_pressure_parse(buf, len, &m->pressure);
	case FILE_OOM_CONTROL:
		return cgroup_oom_control_parse(buf, len, &m->oom);
	case FILE_STAT:
		return cgroup_stat_parse(buf, len, m->hierarchy, &m->stat);
	case FILE_KMEM:
		return cgroup_bytes_parse(buf, len, &m->kernel_bytes);
	case FILE_KMEM_TCP:
		return cgroup_bytes_parse(buf, len, &m->kernel_sock_bytes);
	}
	return -EINVAL;
}

static int cgroup_dir_open(const char *root, const char *path)
{
	_cleanup_free_ char *full = NULL;
	int fd;

	while (*path == '/')
		path++;
	if (asprintf(&full, "%s/%s", root, *path ? path : ".") < 0)
		return -ENOMEM;
	fd = open(full, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return vanished_errno(errno == ENOTDIR ? ENOENT : errno);
	return fd;
}

int cgroup_mem_read(const char *root, const char *path, struct cgroup_mem *ret)
{
	_cleanup_close_ int dirfd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	const struct file_spec *files;
	struct cgroup_mem m = {
		.limit_bytes = CGROUP_LIMIT_MAX,
		.high_bytes = CGROUP_LIMIT_MAX,
		.soft_limit_bytes = CGROUP_LIMIT_MAX,
	};
	size_t n_files, len;
	int r;

	if (!root || !path)
		return -EINVAL;
	dirfd = cgroup_dir_open(root, path);
	if (dirfd < 0)
		return dirfd;

	/* detect: a v1 memory cgroup has memory.limit_in_bytes, v2 does not */
	if (faccessat(dirfd, "memory.limit_in_bytes", F_OK, 0) == 0) {
		m.hierarchy = CGROUP_HIERARCHY_V1;
		files = v1_files;
		n_files = ELEMENTSOF(v1_files);
	} else if (faccessat(dirfd, "memory.stat", F_OK, 0) == 0) {
		m.hierarchy = CGROUP_HIERARCHY_V2;
		files = v2_files;
		n_files = ELEMENTSOF(v2_files);
	} else {
		r = errno;
		if (r != ENOENT)
			return -r;
		/* no memory files: another controller's directory, unless the
		 * directory itself just went away */
		return dir_vanished(dirfd) ? -ENOENT : -EOPNOTSUPP;
	}

	buf = malloc(CGROUP_FILE_MAX_BYTES);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n_files; i++) {
		const struct file_spec *f = &files[i];

		/* A cgroup removed mid-read loses every file at once; memory.stat
		 * comes last and is required, so that ends in -ENOENT. */
		r = file_read_at(dirfd, f->name, buf, CGROUP_FILE_MAX_BYTES, &len);
		if (r == -ENOENT && !f->required)
			continue;
		/* memory.pressure of a kernel booted with psi=0 */
		if (r == -EOPNOTSUPP && f->kind == FILE_PRESSURE)
			continue;
		if (r < 0)
			return r;
		r = file_parse(f, buf, len, &m);
		if (r < 0)
			return r;
		m.present |= f->flag;
	}
	if (m.stat.present & CGROUP_STAT_HAS_KERNEL) {
		m.kernel_bytes = m.stat.kernel_bytes;
		m.present |= CGROUP_MEM_HAS_KERNEL;
	}
	if (m.stat.present & CGROUP_STAT_HAS_SOCK) {
		m.kernel_sock_bytes = m.stat.sock_bytes;
		m.present |= CGROUP_MEM_HAS_KERNEL_SOCK;
	}
	*ret = m;
	return 0;
}

int cgroup_pressure_read(const char *file, struct cgroup_pressure *ret)
{
	char buf[512];
	size_t len;
	int r;

	if (!file)
		return -EINVAL;
	r = file_read_at(AT_FDCWD, file, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return cgroup_pressure_parse(buf, len, ret);
}

bool cgroup_mem_oom_kills(const struct cgroup_mem *m, uint64_t *ret)
{
	if (m->present & CGROUP_MEM_HAS_OOM_CONTROL) {
		*ret = m->oom.oom_kill;
		return true;
	}
	if (m->present & CGROUP_MEM_HAS_EVENTS) {
		*ret = m->events.oom_kill;
		return true;
	}
	return false;
}

bool cgroup_mem_oom_kills_local(const struct cgroup_mem *m, uint64_t *ret)
{
	if (m->present & CGROUP_MEM_HAS_EVENTS_LOCAL) {
		*ret = m->events_local.oom_kill;
		return true;
	}
	return cgroup_mem_oom_kills(m, ret);
}
