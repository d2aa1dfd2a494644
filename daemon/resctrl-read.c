// SPDX-License-Identifier: MIT
/* daemon/resctrl-read.c: the resctrl filesystem as memctld uses it: info/L3_MON, its
 * own mon_groups/memctl-* (mkdir, tasks, rmdir) and their mon_data counters. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/resctrl-read.h"

/* Counter files are one short line; info files too. */
#define SMALL_FILE_MAX 256

static int read_small_at(int dirfd, const char *path, char *buf, size_t size, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	n = read(fd, buf, size);
	if (n < 0)
		return negative_errno();
	if ((size_t)n == size)
		return -EFBIG;
	*ret_len = (size_t)n;
	return 0;
}

static int read_u64_at(int dirfd, const char *path, uint64_t *ret)
{
	char buf[SMALL_FILE_MAX];
	size_t len;
	int r = read_small_at(dirfd, path, buf, sizeof(buf), &len);

	return r < 0 ? r : resctrl_parse_u64(buf, len, ret);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int list_domains(int rootfd, struct resctrl_info *info)
{
	_cleanup_close_ int fd = openat(rootfd, "mon_data", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return negative_errno();
	d = fdopendir(fd);
	if (!d)
		return negative_errno();
	fd = -1;
	while ((de = readdir(d))) {
		uint32_t id;

		if (resctrl_parse_domain_name(de->d_name, &id) < 0)
			continue;
		if (info->n_domains == RESCTRL_DOMAINS_MAX) {
			info->domains_ignored++;
			continue;
		}
		info->domain_ids[info->n_domains++] = id;
	}
	closedir(d);
	qsort(info->domain_ids, info->n_domains, sizeof(uint32_t), cmp_u32);
	return 0;
}

int resctrl_open(const char *root, bool may_mount, struct resctrl_info *ret, char *why,
		 size_t why_size)
{
	_cleanup_close_ int fd = -1;
	struct resctrl_info info = {};
	char buf[SMALL_FILE_MAX];
	uint64_t v;
	size_t len;
	int r;

	snprintf(why, why_size, "ok");
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		snprintf(why, why_size, "no %s: %s", root,
			 r == -ENOENT ? "this kernel has no resctrl" : strerror(-r));
		return r == -ENOTDIR ? -ENOENT : r;
	}
	if (faccessat(fd, "info", F_OK, 0) < 0 && may_mount) {
		/* an empty mount point: the kernel has resctrl, nobody mounted it */
		if (mount("resctrl", root, "resctrl", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
			r = negative_errno();
			snprintf(why, why_size, "mount -t resctrl on %s failed: %s%s", root,
				 strerror(-r),
				 r == -ENODEV ? " (no RDT monitoring in this CPU or kernel)" : "");
			return r == -ENODEV ? -ENODEV : r;
		}
		info.mounted_by_us = true;
		close(fd);
		fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, why_size, "%s vanished after mounting", root);
			return negative_errno();
		}
	}
	if (faccessat(fd, "info/L3_MON", F_OK, 0) < 0) {
		snprintf(why, why_size, "%s has no info/L3_MON: no L3 monitoring (CMT/MBM)", root);
		return -EOPNOTSUPP;
	}
	r = read_u64_at(fd, "info/L3_MON/num_rmids", &v);
	if (r == 0 && (v < 2 || v > UINT32_MAX))
		r = -EINVAL;
	if (r < 0) {
		snprintf(why, why_size, "info/L3_MON/num_rmids: %s",
			 r == -EINVAL ? "not a number of RMIDs (>= 2)" : strerror(-r));
		return r == -ENOENT ? -EOPNOTSUPP : r;
	}
	info.num_rmids = (uint32_t)v;
	r = read_small_at(fd, "info/L3_MON/mon_features", buf, sizeof(buf), &len);
	if (r == 0)
		r = resctrl_parse_mon_features(buf, len, &info.features);
	if (r < 0 || !(info.features &
		       (RESCTRL_F_MBM_TOTAL | RESCTRL_F_MBM_LOCAL | RESCTRL_F_LLC_OCCUPANCY))) {
		snprintf(why, why_size, "info/L3_MON/mon_features: %s",
			 r < 0 ? (r == -EINVAL ? "does not parse" : strerror(-r)) :
				 "no event memctld reads");
		return r == -ENOENT || r == 0 ? -EOPNOTSUPP : r;
	}
	r = read_u64_at(fd, "info/L3_MON/max_threshold_occupancy", &info.max_threshold_occupancy);
	if (r < 0 && r != -ENOENT) {
		snprintf(why, why_size, "info/L3_MON/max_threshold_occupancy: %s",
			 r == -EINVAL ? "does not parse" : strerror(-r));
		return r;
	}
	r = list_domains(fd, &info);
	if (r < 0 || info.n_domains == 0) {
		snprintf(why, why_size, "%s/mon_data: %s", root,
			 r < 0 ? strerror(-r) : "no mon_L3_XX domain");
		return r < 0 ? r : -EOPNOTSUPP;
	}
	if (faccessat(fd, "mon_groups", F_OK, 0) < 0) {
		snprintf(why, why_size, "%s has no mon_groups", root);
		return -EOPNOTSUPP;
	}
	*ret = info;
	return TAKE_FD(fd);
}

int resctrl_group_name(char *buf, size_t size, const char *what)
{
	int n = snprintf(buf, size, RESCTRL_GROUP_PREFIX "%s", what);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int group_path(char *buf, size_t size, const char *name, const char *file)
{
	int n;

	if (!name)
		n = snprintf(buf, size, "%s", file);
	else if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	else
		n = snprintf(buf, size, "mon_groups/%s%s%s", name, file[0] ? "/" : "", file);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int resctrl_group_create(int rootfd, const char *name)
{
	char path[RESCTRL_GROUP_NAME_MAX + 32];
	int r = group_path(path, sizeof(path), name, "");

	if (r < 0)
		return r;
	return mkdirat(rootfd, path, 0755) < 0 ? negative_errno() : 0;
}

int resctrl_group_remove(int rootfd, const char *name)
{
	char path[RESCTRL_GROUP_NAME_MAX + 32];
	int r = group_path(path, sizeof(path), name, "");

	if (r < 0)
		return r;
	return unlinkat(rootfd, path, AT_REMOVEDIR) < 0 ? negative_errno() : 0;
}

int resctrl_mon_data_open(int rootfd, const char *name)
{
	char path[RESCTRL_GROUP_NAME_MAX + 32];
	int r = group_path(path, sizeof(path), name, "mon_data"), fd;

	if (r < 0)
		return r;
	fd = openat(rootfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? negative_errno() : fd;
}

static int read_counter(int mon_data_fd, uint32_t domain, const char *event,
			struct resctrl_counter *ret)
{
	char path[64], buf[64];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "mon_L3_%02u/%s", domain, event);
	r = read_small_at(mon_data_fd, path, buf, sizeof(buf), &len);
	/* kernfs answers ENODEV on an open file of a removed group */
	if (r == -ENODEV)
		return -ENOENT;
	/* a read error the kernel passes as such (not as "Error") */
	if (r == -EIO) {
		*ret = (struct resctrl_counter){ .status = RESCTRL_COUNTER_ERROR };
		return 0;
	}
	if (r < 0)
		return r;
	r = resctrl_parse_counter(buf, len, ret);
	/* timestamped per counter, right after its read: the kernel reads the MSR
	 * (by IPI) at the end of its work, just before the copy out, and a read that
	 * waited (a loaded machine, a FUSE emulator's queue) waited before the value
	 * was made; a time for the whole group was 3.5% off under load */
	ret->usec = now_usec(CLOCK_MONOTONIC);
	return r;
}

int resctrl_sample_read(int mon_data_fd, const struct resctrl_info *info,
			struct resctrl_sample *ret)
{
	static const struct resctrl_counter none = { .status = RESCTRL_COUNTER_UNAVAILABLE };

	ret->n_domains = info->n_domains;
	for (uint32_t i = 0; i < info->n_domains; i++) {
		struct resctrl_domain_sample *d = &ret->d[i];
		uint32_t id = info->domain_ids[i];
		int r = 0;

		d->total = d->local = d->occupancy = none;
		if (info->features & RESCTRL_F_MBM_TOTAL)
			r = read_counter(mon_data_fd, id, "mbm_total_bytes", &d->total);
		if (r == 0 && (info->features & RESCTRL_F_MBM_LOCAL))
			r = read_counter(mon_data_fd, id, "mbm_local_bytes", &d->local);
		if (r == 0 && (info->features & RESCTRL_F_LLC_OCCUPANCY))
			r = read_counter(mon_data_fd, id, "llc_occupancy", &d->occupancy);
		if (r < 0)
			return r;
	}
	return 0;
}

int resctrl_tasks_write(int rootfd, const char *name, const pid_t *tids, size_t n,
			unsigned *ret_gone)
{
	char path[RESCTRL_GROUP_NAME_MAX + 32];
	_cleanup_close_ int fd = -1;
	unsigned gone = 0;
	int r, written = 0;

	r = group_path(path, sizeof(path), name, "tasks");
	if (r < 0)
		return r;
	fd = openat(rootfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	for (size_t i = 0; i < n; i++) {
		char buf[16];
		int len = snprintf(buf, sizeof(buf), "%d\n", (int)tids[i]);

		if (write(fd, buf, (size_t)len) == len) {
			written++;
			continue;
		}
		if (errno == ESRCH) {
			gone++; /* exited since it was listed */
			continue;
		}
		return errno == ENODEV ? -ENOENT : negative_errno();
	}
	if (ret_gone)
		*ret_gone = gone;
	return written;
}

int resctrl_list_threads(const char *proc_root, pid_t pid, pid_t *tids, size_t max)
{
	char path[300];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%d/task", proc_root, (int)pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : negative_errno();
	while (n < max && (de = readdir(d))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (de->d_name[0] < '1' || de->d_name[0] > '9' || *end || v > INT32_MAX)
			continue;
		tids[n++] = (pid_t)v;
	}
	closedir(d);
	return (int)n;
}

static bool ours(const char *name)
{
	return strncmp(name, RESCTRL_GROUP_PREFIX, sizeof(RESCTRL_GROUP_PREFIX) - 1) == 0;
}

/* Subdirectories of dir (at atfd), calling fn for each; returns fn's sum or -errno. */
static int for_each_subdir(int atfd, const char *dir, int (*fn)(int dirfd, const char *name))
{
	_cleanup_close_ int fd = openat(atfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	int sum = 0;
	DIR *d;

	if (fd < 0)
		return negative_errno();
	d = fdopendir(fd);
	if (!d)
		return negative_errno();
	fd = -1;
	while ((de = readdir(d))) {
		int r;

		struct stat st;

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		/* a filesystem without d_type (FUSE): ask */
		if (de->d_type == DT_UNKNOWN &&
		    (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISDIR(st.st_mode)))
			continue;
		r = fn(dirfd(d), de->d_name);
		if (r > 0)
			sum += r;
	}
	closedir(d);
	return sum;
}

static int remove_if_ours(int dirfd, const char *name)
{
	return ours(name) && unlinkat(dirfd, name, AT_REMOVEDIR) == 0;
}

int resctrl_remove_stale(int rootfd)
{
	return for_each_subdir(rootfd, "mon_groups", remove_if_ours);
}

static int count_not_ours(int dirfd, const char *name)
{
	return !ours(name);
}

static int count_ctrl_group(int dirfd, const char *name)
{
	char sub[300];
	int m;

	if (strcmp(name, "info") == 0 || strcmp(name, "mon_groups") == 0 ||
	    strcmp(name, "mon_data") == 0)
		return 0;
	/* the control group's own RMID, and its monitoring groups' */
	snprintf(sub, sizeof(sub), "%s/mon_groups", name);
	m = for_each_subdir(dirfd, sub, count_not_ours);
	return 1 + (m > 0 ? m : 0);
}

int resctrl_count_foreign(int rootfd)
{
	int top = for_each_subdir(rootfd, ".", count_ctrl_group);
	int mon = for_each_subdir(rootfd, "mon_groups", count_not_ours);

	if (top < 0)
		return top;
	if (mon < 0)
		return mon;
	return top + mon;
}

void resctrl_last_cmd_status(int rootfd, char *buf, size_t size)
{
	size_t len = 0;

	if (size == 0)
		return;
	if (read_small_at(rootfd, "info/last_cmd_status", buf, size, &len) < 0)
		len = 0;
	buf[MIN(len, size - 1)] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}
