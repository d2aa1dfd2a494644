// SPDX-License-Identifier: MIT
/* daemon/cgroup-table.c: memory cgroups that hold tracked processes; v1 or v2
 * found with libcgroup (or given), refreshed each tick from their files. */
#include <errno.h>
#include <libcgroup.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "daemon/cgroup-table.h"
#include "daemon/log.h"

struct cgroup_table {
	char root[PATH_MAX];
	int hierarchy;
	struct cgroup_entry *by_path;
	unsigned count;
	uint32_t next_id;
};

/* Find the memory hierarchy with libcgroup: the v1 memory controller's mount
 * point if one is mounted, else the cgroup2 mount. */
static int find_memory_root(char *buf, size_t size, int *ret_hierarchy)
{
	char *mnt = NULL;
	struct statfs sfs;
	int r;

	r = cgroup_init();
	if (r != 0)
		return log_debug_errno(-ENOENT, "libcgroup: %s", cgroup_strerror(r));
	r = cgroup_get_subsys_mount_point("memory", &mnt);
	if (r != 0 || !mnt)
		return log_debug_errno(-ENOENT, "libcgroup: no memory controller mount: %s",
				       cgroup_strerror(r));
	snprintf(buf, size, "%s", mnt);
	free(mnt);
	if (statfs(buf, &sfs) < 0)
		return negative_errno();
	*ret_hierarchy = sfs.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
	return 0;
}

int cgroup_table_new(const char *root, int hierarchy, struct cgroup_table **ret)
{
	struct cgroup_table *t;
	struct statfs sfs;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (root && root[0]) {
		snprintf(t->root, sizeof(t->root), "%s", root);
		if (hierarchy == 0) {
			/* a real cgroupfs tells its kind; a fixture tree, its files */
			char probe[PATH_MAX];
			struct stat st;

			if (statfs(root, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
				hierarchy = 2;
			else if (snprintf(probe, sizeof(probe), "%s/memory.limit_in_bytes", root) >
					 0 &&
				 stat(probe, &st) == 0)
				hierarchy = 1;
			else
				hierarchy = 2;
		}
		t->hierarchy = hierarchy;
	} else {
		r = find_memory_root(t->root, sizeof(t->root), &t->hierarchy);
		if (r < 0) {
			free(t);
			return r;
		}
	}
	*ret = t;
	return 0;
}

static void entry_free(struct cgroup_table *t, struct cgroup_entry *e)
{
	HASH_DEL(t->by_path, e);
	t->count--;
	free(e->path);
	free(e);
}

struct cgroup_table *cgroup_table_free(struct cgroup_table *t)
{
	struct cgroup_entry *e, *tmp;

	if (!t)
		return NULL;
	HASH_ITER(hh, t->by_path, e, tmp)
	entry_free(t, e);
	free(t);
	return NULL;
}

const char *cgroup_table_root(const struct cgroup_table *t)
{
	return t->root;
}

int cgroup_table_hierarchy(const struct cgroup_table *t)
{
	return t->hierarchy;
}

unsigned cgroup_table_count(const struct cgroup_table *t)
{
	return t ? t->count : 0;
}

struct cgroup_entry *cgroup_table_first(struct cgroup_table *t)
{
	return t->by_path;
}

struct cgroup_entry *cgroup_table_find(struct cgroup_table *t, const char *path)
{
	struct cgroup_entry *e;

	HASH_FIND_STR(t->by_path, path, e);
	return e;
}

static int entry_read(struct cgroup_table *t, struct cgroup_entry *e, uint64_t now_usec)
{
	int r = cgroup_mem_read(t->root, e->path, &e->mem);

	if (r == -ENOENT) {
		/* vanished: normal, cgroups come and go */
		e->gone = true;
		e->valid = false;
		return r;
	}
	if (r < 0) {
		log_debug_errno(r, "Failed to read cgroup %s%s: %m", t->root, e->path);
		e->valid = false;
		return r;
	}
	if (!e->memcg_id) {
		char dir[PATH_MAX];
		struct stat st;

		if ((size_t)snprintf(dir, sizeof(dir), "%s%s", t->root, e->path) < sizeof(dir) &&
		    stat(dir, &st) == 0)
			e->memcg_id = st.st_ino;
	}
	e->valid = true;
	e->gone = false;
	e->read_usec = now_usec;
	return 0;
}

int cgroup_table_ref(struct cgroup_table *t, const char *path, struct cgroup_entry **ret)
{
	struct cgroup_entry *e = cgroup_table_find(t, path);

	if (e && e->gone)
		entry_read(t, e, 0); /* recreated under the same path? */
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->path = strdup(path);
		if (!e->path) {
			free(e);
			return -ENOMEM;
		}
		e->id = ++t->next_id;
		HASH_ADD_KEYPTR(hh, t->by_path, e->path, strlen(e->path), e);
		t->count++;
		entry_read(t, e, 0);
	}
	e->nr_procs++;
	*ret = e;
	return 0;
}

void cgroup_table_unref(struct cgroup_table *t, struct cgroup_entry *e)
{
	if (!e)
		return;
	if (--e->nr_procs > 0)
		return;
	entry_free(t, e);
}

int cgroup_table_reread(struct cgroup_table *t, struct cgroup_entry *e)
{
	return entry_read(t, e, 0);
}

unsigned cgroup_table_refresh(struct cgroup_table *t, uint64_t now_usec)
{
	struct cgroup_entry *e, *tmp;
	unsigned vanished = 0;

	HASH_ITER(hh, t->by_path, e, tmp)
	{
		bool was_gone = e->gone;

		if (entry_read(t, e, now_usec) == -ENOENT && !was_gone)
			vanished++;
	}
	return vanished;
}
