// SPDX-License-Identifier: MIT
/* daemon/cgroup-table.c: memory cgroups that hold tracked processes (or did,
 * and have a limit or OOM kills); v1 or v2 found with libcgroup (or given),
 * refreshed each tick from their files; OOM kills counted per cgroup. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/cgroup-table.h"
#include "daemon/log.h"

#define MEMCG_WALK_MAX_DEPTH 32
#define MEMCG_WALK_MAX_DIRS 16384

struct cgroup_table {
	char root[PATH_MAX];
	int hierarchy;
	struct cgroup_entry *by_path;
	unsigned count;
	unsigned retained; /* entries with nr_procs == 0 */
	uint32_t next_id;
	bool oom_traced; /* oom:mark_victim reports kills */
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
	if (e->nr_procs == 0)
		t->retained--;
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

/* v1 failcnt, v2 memory.events max: times the cgroup hit its limit */
static bool limit_hits(const struct cgroup_mem *m, uint64_t *ret)
{
	if (m->present & CGROUP_MEM_HAS_FAILCNT) {
		*ret = m->failcnt;
		return true;
	}
	if (m->present & CGROUP_MEM_HAS_EVENTS) {
		*ret = m->events.max;
		return true;
	}
	return false;
}

/* After a successful read at now: account OOM kills and limit hits. */
static void entry_account(struct cgroup_table *t, struct cgroup_entry *e, uint64_t now)
{
	uint64_t kills, hits, delta, m;

	if (limit_hits(&e->mem, &hits)) {
		if (e->oom_base_valid && hits > e->failcnt_seen)
			e->last_event_usec = now;
		e->failcnt_seen = hits;
	}
	if (!cgroup_mem_oom_kills_local(&e->mem, &kills))
		return;
	if (!e->oom_base_valid || kills < e->oom_kill_base) {
		/* first read, or a new cgroup under the same path: what the
		 * counter holds now (traced kills included) is the baseline */
		e->oom_base_valid = true;
		e->oom_kill_base = kills;
		e->oom_traced = e->oom_held = 0;
		return;
	}
	delta = kills - e->oom_kill_base;
	e->oom_kill_base = kills;
	if (delta > 0 && e->oom_held == 0)
		e->oom_held_usec = now;
	e->oom_held = (uint32_t)MIN((uint64_t)e->oom_held + delta, UINT32_MAX);
	/* a trace always follows its counter rise, so each explains one */
	m = MIN(e->oom_held, e->oom_traced);
	e->oom_held -= (uint32_t)m;
	/* traces left over match no rise (a kill the baseline holds): dropped */
	e->oom_traced = 0;
	if (e->oom_held > 0 &&
	    (!t->oom_traced || now - e->oom_held_usec >= CGROUP_OOM_TRACE_GRACE_USEC)) {
		e->oom_untraced_due += e->oom_held;
		e->oom_held = 0;
		e->last_event_usec = now;
		e->last_oom_kill_usec = now_usec(CLOCK_REALTIME);
	}
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
	entry_account(t, e, now_usec);
	return 0;
}

static struct cgroup_entry *entry_new(struct cgroup_table *t, const char *path)
{
	struct cgroup_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->path = strdup(path);
	if (!e->path) {
		free(e);
		return NULL;
	}
	e->id = ++t->next_id;
	HASH_ADD_KEYPTR(hh, t->by_path, e->path, strlen(e->path), e);
	t->count++;
	t->retained++; /* until a process takes a reference */
	return e;
}

static bool entry_has_limit(const struct cgroup_entry *e)
{
	return e->valid &&
	       (e->mem.limit_bytes != CGROUP_LIMIT_MAX || e->mem.high_bytes != CGROUP_LIMIT_MAX);
}

/* Last activity of a retained entry: its last process leaving or its last event. */
static uint64_t entry_idle_since(const struct cgroup_entry *e)
{
	return MAX(e->empty_usec, e->last_event_usec);
}

/* Keep at most CGROUP_RETAIN_MAX retained entries, dropping the idlest. */
static void retained_trim(struct cgroup_table *t, struct cgroup_entry *keep)
{
	while (t->retained > CGROUP_RETAIN_MAX) {
		struct cgroup_entry *e, *idlest = NULL;

		for (e = t->by_path; e; e = e->hh.next)
			if (e->nr_procs == 0 && e != keep &&
			    (!idlest || entry_idle_since(e) < entry_idle_since(idlest)))
				idlest = e;
		if (!idlest)
			return;
		entry_free(t, idlest);
	}
}

int cgroup_table_ref(struct cgroup_table *t, const char *path, struct cgroup_entry **ret)
{
	struct cgroup_entry *e = cgroup_table_find(t, path);
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	if (e && e->gone)
		entry_read(t, e, now); /* recreated under the same path? */
	if (!e) {
		e = entry_new(t, path);
		if (!e)
			return -ENOMEM;
		entry_read(t, e, now);
	}
	if (e->nr_procs++ == 0) {
		t->retained--;
		e->empty_usec = 0;
	}
	*ret = e;
	return 0;
}

void cgroup_table_unref(struct cgroup_table *t, struct cgroup_entry *e)
{
	if (!e)
		return;
	if (--e->nr_procs > 0)
		return;
	t->retained++;
	e->empty_usec = now_usec(CLOCK_MONOTONIC);
	/* what a user would look for after its processes are gone: a limit, or
	 * what happened (an OOM kill takes the last process with it) */
	if (e->gone || (!entry_has_limit(e) && !e->last_event_usec)) {
		entry_free(t, e);
		return;
	}
	retained_trim(t, e);
}

unsigned cgroup_table_retained(const struct cgroup_table *t)
{
	return t ? t->retained : 0;
}

int cgroup_table_reread(struct cgroup_table *t, struct cgroup_entry *e)
{
	return entry_read(t, e, now_usec(CLOCK_MONOTONIC));
}

void cgroup_table_set_oom_traced(struct cgroup_table *t, bool traced)
{
	t->oom_traced = traced;
}

void cgroup_table_oom_traced(struct cgroup_table *t, struct cgroup_entry *e, uint64_t now)
{
	if (e->oom_held > 0) {
		/* a read already saw its counter rise */
		e->oom_held--;
	} else {
		e->oom_traced++;
	}
	e->last_event_usec = now;
	e->last_oom_kill_usec = now_usec(CLOCK_REALTIME);
}

uint32_t cgroup_entry_take_untraced_kills(struct cgroup_entry *e)
{
	uint32_t n = e->oom_untraced_due;

	e->oom_untraced_due = 0;
	return n;
}

/* Depth-first search under fd_dir (path relative to the root in buf, of
 * length len) for a directory whose inode is ino. 1 found (buf holds its
 * path), 0 not here, -E2BIG budget spent. kernfs reports a cgroup's id as
 * the d_ino of its directory entry: no stat() per directory. */
static int memcg_walk(int fd_dir, uint64_t ino, char *buf, size_t size, size_t len, unsigned depth,
		      unsigned *budget)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth >= MEMCG_WALK_MAX_DEPTH)
		return 0;
	d = fdopendir(fd_dir);
	if (!d) {
		close(fd_dir);
		return 0;
	}
	while (r == 0 && (de = readdir(d))) {
		size_t n;
		int fd;

		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((*budget)-- == 0) {
			r = -E2BIG;
			break;
		}
		n = strlen(de->d_name);
		if (len + 1 + n + 1 > size)
			continue;
		buf[len] = '/';
		memcpy(buf + len + 1, de->d_name, n + 1);
		if (de->d_ino == ino) {
			r = 1;
			break;
		}
		fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0)
			r = memcg_walk(fd, ino, buf, size, len + 1 + n, depth + 1, budget);
		if (r == 0)
			buf[len] = '\0';
	}
	closedir(d);
	return r;
}

int cgroup_table_lookup_memcg(struct cgroup_table *t, uint64_t memcg_id, struct cgroup_entry **ret)
{
	char path[PATH_MAX] = "";
	unsigned budget = MEMCG_WALK_MAX_DIRS;
	struct cgroup_entry *e;
	struct stat st;
	int fd, r;

	if (memcg_id == 0)
		return -ENOENT;
	for (e = t->by_path; e; e = e->hh.next)
		if (e->memcg_id == memcg_id && !e->gone) {
			*ret = e;
			return 0;
		}
	fd = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) == 0 && st.st_ino == memcg_id) {
		close(fd);
		strcpy(path, "/");
	} else {
		r = memcg_walk(fd, memcg_id, path, sizeof(path), 0, 0, &budget);
		if (r < 0)
			return r;
		if (r == 0)
			return -ENOENT;
	}
	e = cgroup_table_find(t, path);
	if (!e) {
		e = entry_new(t, path);
		if (!e)
			return -ENOMEM;
		e->empty_usec = now_usec(CLOCK_MONOTONIC);
		entry_read(t, e, e->empty_usec);
		retained_trim(t, e);
	}
	*ret = e;
	return 0;
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
		if (e->nr_procs > 0)
			continue;
		/* retained: until it vanishes or has been idle long enough; an
		 * untraced kill not yet taken keeps it for the caller */
		if (e->oom_untraced_due == 0 &&
		    (e->gone || (now_usec > entry_idle_since(e) &&
				 now_usec - entry_idle_since(e) >= CGROUP_RETAIN_USEC)))
			entry_free(t, e);
	}
	return vanished;
}
