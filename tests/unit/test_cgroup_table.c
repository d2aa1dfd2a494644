// SPDX-License-Identifier: MIT
/* tests/unit/test_cgroup_table.c: the cgroup table on v1 trees built in a temp
 * dir: rows kept after their last process (limit, OOM kills, bound, expiry),
 * OOM kills told apart (traced, counter only, baseline), lookup by memcg id. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/time-util.h"
#include "daemon/cgroup-table.h"

static const char v1_stat[] = "cache 4096\nrss 8192\nshmem 0\nmapped_file 0\ndirty 0\n"
			      "writeback 0\ninactive_anon 0\nactive_anon 8192\n"
			      "inactive_file 4096\nactive_file 0\nunevictable 0\npgfault 10\n"
			      "pgmajfault 0\n";

struct tree {
	char root[64];
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* A v1 memory cgroup directory at root/rel with a limit (0 = none), failcnt
 * and oom_kill count. */
static void v1_cgroup(const struct tree *t, const char *rel, uint64_t limit, uint64_t failcnt,
		      uint64_t oom_kill)
{
	char dir[512], buf[128];

	snprintf(dir, sizeof(dir), "%s%s", t->root, rel);
	mkdir(dir, 0755);
	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", limit ? limit : UINT64_C(9223372036854771712));
	write_file(dir, "memory.limit_in_bytes", buf);
	write_file(dir, "memory.usage_in_bytes", "12288\n");
	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", failcnt);
	write_file(dir, "memory.failcnt", buf);
	snprintf(buf, sizeof(buf), "oom_kill_disable 0\nunder_oom 0\noom_kill %" PRIu64 "\n",
		 oom_kill);
	write_file(dir, "memory.oom_control", buf);
	write_file(dir, "memory.stat", v1_stat);
	write_file(dir, "cgroup.procs", "");
}

static void v1_remove(const struct tree *t, const char *rel)
{
	static const char *const files[] = { "memory.limit_in_bytes", "memory.usage_in_bytes",
					     "memory.failcnt",	      "memory.oom_control",
					     "memory.stat",	      "cgroup.procs" };
	char path[512];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s/%s", t->root, rel, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s%s", t->root, rel);
	rmdir(path);
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->root, sizeof(t->root), "/tmp/memctl-cgtable-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	v1_cgroup(t, "", 0, 0, 0);
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->root);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static struct cgroup_table *table_new(const struct tree *t, bool traced)
{
	struct cgroup_table *ct = NULL;

	assert_int_equal(cgroup_table_new(t->root, 1, &ct), 0);
	cgroup_table_set_oom_traced(ct, traced);
	return ct;
}

static uint64_t now(void)
{
	return now_usec(CLOCK_MONOTONIC);
}

/* Issue 9: a limited cgroup's row must outlive its last process (the OOM
 * victim); an unlimited, uneventful one goes with it, as before. */
static void test_cgroup_table_unref_retains_limited(void **state)
{
	struct tree *t = *state;
	struct cgroup_table *ct = table_new(t, true);
	struct cgroup_entry *lim, *plain, *again;

	v1_cgroup(t, "/limited", 32 << 20, 0, 0);
	v1_cgroup(t, "/plain", 0, 0, 0);
	assert_int_equal(cgroup_table_ref(ct, "/limited", &lim), 0);
	assert_int_equal(cgroup_table_ref(ct, "/plain", &plain), 0);
	assert_int_equal(cgroup_table_count(ct), 2);
	assert_int_equal(cgroup_table_retained(ct), 0);
	cgroup_table_unref(ct, lim);
	cgroup_table_unref(ct, plain);
	assert_ptr_equal(cgroup_table_find(ct, "/limited"), lim);
	assert_int_equal(lim->nr_procs, 0);
	assert_null(cgroup_table_find(ct, "/plain"));
	assert_int_equal(cgroup_table_retained(ct), 1);
	/* a process joins again: the same row, id kept */
	assert_int_equal(cgroup_table_ref(ct, "/limited", &again), 0);
	assert_ptr_equal(again, lim);
	assert_int_equal(cgroup_table_retained(ct), 0);
	cgroup_table_unref(ct, again);
	/* refreshed like the others while retained, and dropped once it vanishes */
	cgroup_table_refresh(ct, now());
	assert_non_null(cgroup_table_find(ct, "/limited"));
	v1_remove(t, "/limited");
	cgroup_table_refresh(ct, now());
	assert_null(cgroup_table_find(ct, "/limited"));
	assert_int_equal(cgroup_table_count(ct), 0);
	assert_int_equal(cgroup_table_retained(ct), 0);
	cgroup_table_free(ct);
}

/* Retained rows expire CGROUP_RETAIN_USEC after they went idle, and there
 * are never more than CGROUP_RETAIN_MAX of them: the idlest go first. */
static void test_cgroup_table_retained_expire_and_bound(void **state)
{
	struct tree *t = *state;
	struct cgroup_table *ct = table_new(t, true);
	struct cgroup_entry *e;
	char rel[32];

	for (int i = 0; i < CGROUP_RETAIN_MAX + 6; i++) {
		snprintf(rel, sizeof(rel), "/c%d", i);
		v1_cgroup(t, rel, 64 << 20, 0, 0);
		assert_int_equal(cgroup_table_ref(ct, rel, &e), 0);
		cgroup_table_unref(ct, e);
		assert_true(cgroup_table_retained(ct) <= CGROUP_RETAIN_MAX);
	}
	assert_int_equal(cgroup_table_retained(ct), CGROUP_RETAIN_MAX);
	/* the first ones left first, so they were dropped; the last stays */
	assert_null(cgroup_table_find(ct, "/c0"));
	assert_null(cgroup_table_find(ct, "/c5"));
	assert_non_null(cgroup_table_find(ct, "/c6"));
	snprintf(rel, sizeof(rel), "/c%d", CGROUP_RETAIN_MAX + 5);
	assert_non_null(cgroup_table_find(ct, rel));
	/* a tick just before the end of the retention keeps them, after drops them */
	cgroup_table_refresh(ct, now() + CGROUP_RETAIN_USEC - 5 * USEC_PER_SEC);
	assert_int_equal(cgroup_table_retained(ct), CGROUP_RETAIN_MAX);
	cgroup_table_refresh(ct, now() + CGROUP_RETAIN_USEC + USEC_PER_SEC);
	assert_int_equal(cgroup_table_retained(ct), 0);
	assert_int_equal(cgroup_table_count(ct), 0);
	cgroup_table_free(ct);
}

/* An unlimited cgroup that had an OOM kill is kept too: what happened
 * there is what a user looks for. */
static void test_cgroup_table_unref_retains_after_oom(void **state)
{
	struct tree *t = *state;
	struct cgroup_table *ct = table_new(t, true);
	struct cgroup_entry *e;

	v1_cgroup(t, "/job", 0, 0, 0);
	assert_int_equal(cgroup_table_ref(ct, "/job", &e), 0);
	v1_cgroup(t, "/job", 0, 0, 1);
	cgroup_table_oom_traced(ct, e, now());
	cgroup_table_unref(ct, e);
	assert_ptr_equal(cgroup_table_find(ct, "/job"), e);
	cgroup_table_refresh(ct, now());
	assert_int_equal(e->mem.oom.oom_kill, 1);
	assert_int_equal(cgroup_entry_take_untraced_kills(e), 0); /* the trace explained it */
	assert_true(e->last_oom_kill_usec > 0);
	cgroup_table_free(ct);
}

/* Counter rises: explained by traces (either order), held for the grace
 * period when not, then reported; the first read is a baseline. */
static void test_cgroup_table_oom_kills_traced_and_untraced(void **state)
{
	struct tree *t = *state;
	struct cgroup_table *ct = table_new(t, true);
	struct cgroup_entry *e;
	uint64_t t0;

	/* 5 kills before we looked: the baseline, not news */
	v1_cgroup(t, "/a", 32 << 20, 7, 5);
	assert_int_equal(cgroup_table_ref(ct, "/a", &e), 0);
	t0 = now();
	cgroup_table_refresh(ct, t0);
	assert_int_equal(cgroup_entry_take_untraced_kills(e), 0);
	assert_int_equal(e->last_event_usec, 0);

	/* trace, then the read that sees the rise */
	v1_cgroup(t, "/a", 32 << 20, 9, 6);
	cgroup_table_oom_traced(ct, e, t0 + 1);
	cgroup_table_refresh(ct, t0 + 2);
	assert_int_equal(cgroup_entry_take_untraced_kills(e), 0);
	/* the read sees the rise first, the trace comes within the grace */
	v1_cgroup(t, "/a", 32 << 20, 9, 7);
	cgroup_table_refresh(ct, t0 + 10);
	cgroup_table_oom_traced(ct, e, t0 + 20);
	cgroup_table_refresh(ct, t0 + 10 + CGROUP_OOM_TRACE_GRACE_USEC);
	assert_int_equal(cgroup_entry_take_untraced_kills(e), 0);
	/* two rises no trace explains: held for the grace, then reported */
	v1_cgroup(t, "/a", 32 << 20, 9, 9);
	cgroup_table_refresh(ct, t0 + 2 * CGROUP_OOM_TRACE_GRACE_USEC);
	assert_int_equal(cgroup_entry_take_untraced_kills(e), 0);
	cgroup_table_refresh(ct, t0 + 3 * CGROUP_OOM_TRACE_GRACE_USEC);
	assert_int_equal(cgroup_entry_take_untraced_kills(e), 2);
	assert_int_equal(cgroup_entry_take_untraced_kills(e), 0);
	/* a trace the counter never shows is dropped at the next read, so it
	 * cannot hide a later untraced kill */
	cgroup_table_oom_traced(ct, e, t0 + 4 * CGROUP_OOM_TRACE_GRACE_USEC);
	cgroup_table_refresh(ct, t0 + 4 * CGROUP_OOM_TRACE_GRACE_USEC + 1);
	v1_cgroup(t, "/a", 32 << 20, 9, 10);
	cgroup_table_refresh(ct, t0 + 5 * CGROUP_OOM_TRACE_GRACE_USEC);
	cgroup_table_refresh(ct, t0 + 7 * CGROUP_OOM_TRACE_GRACE_USEC);
	assert_int_equal(cgroup_entry_take_untraced_kills(e), 1);
	/* a limit hit (failcnt rise) is an event too */
	v1_cgroup(t, "/a", 32 << 20, 12, 10);
	cgroup_table_refresh(ct, t0 + 8 * CGROUP_OOM_TRACE_GRACE_USEC);
	assert_int_equal(e->last_event_usec, t0 + 8 * CGROUP_OOM_TRACE_GRACE_USEC);
	cgroup_table_unref(ct, e);
	cgroup_table_free(ct);
}

/* Without oom:mark_victim, a rise is reported at the read that sees it. */
static void test_cgroup_table_oom_kills_without_trace(void **state)
{
	struct tree *t = *state;
	struct cgroup_table *ct = table_new(t, false);
	struct cgroup_entry *e;

	v1_cgroup(t, "/b", 32 << 20, 0, 0);
	assert_int_equal(cgroup_table_ref(ct, "/b", &e), 0);
	v1_cgroup(t, "/b", 32 << 20, 154, 1);
	cgroup_table_refresh(ct, now());
	assert_int_equal(cgroup_entry_take_untraced_kills(e), 1);
	assert_int_equal(e->mem.failcnt, 154);
	/* its last process gone: the row and its figures stay */
	cgroup_table_unref(ct, e);
	cgroup_table_refresh(ct, now());
	e = cgroup_table_find(ct, "/b");
	assert_non_null(e);
	assert_int_equal(e->mem.oom.oom_kill, 1);
	cgroup_table_free(ct);
}

/* The victim's cgroup by memcg id: in the table, else found in the tree
 * (nested, not yet known) and added as a retained row; absent -> -ENOENT. */
static void test_cgroup_table_lookup_memcg(void **state)
{
	struct tree *t = *state;
	struct cgroup_table *ct = table_new(t, true);
	struct cgroup_entry *e = NULL, *known;
	char dir[512];
	struct stat st;

	v1_cgroup(t, "/x", 0, 0, 0);
	v1_cgroup(t, "/x/y", 0, 0, 0);
	v1_cgroup(t, "/x/y/z", 32 << 20, 0, 1);
	v1_cgroup(t, "/w", 0, 0, 0);
	assert_int_equal(cgroup_table_ref(ct, "/w", &known), 0);
	assert_int_equal(cgroup_table_lookup_memcg(ct, known->memcg_id, &e), 0);
	assert_ptr_equal(e, known);

	snprintf(dir, sizeof(dir), "%s/x/y/z", t->root);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(cgroup_table_lookup_memcg(ct, st.st_ino, &e), 0);
	assert_string_equal(e->path, "/x/y/z");
	assert_int_equal(e->nr_procs, 0);
	assert_true(e->valid);
	assert_int_equal(e->memcg_id, st.st_ino);
	assert_int_equal(cgroup_table_retained(ct), 1);
	/* the root itself */
	assert_int_equal(stat(t->root, &st), 0);
	assert_int_equal(cgroup_table_lookup_memcg(ct, st.st_ino, &e), 0);
	assert_string_equal(e->path, "/");
	/* no such directory (removed since) */
	assert_int_equal(cgroup_table_lookup_memcg(ct, 1, &e), -ENOENT);
	assert_int_equal(cgroup_table_lookup_memcg(ct, 0, &e), -ENOENT);
	cgroup_table_unref(ct, known);
	cgroup_table_free(ct);
}

/* v2: memory.events counts a child's kills in the parent too; the parent's
 * own count is memory.events.local. A child's kill is news for the child
 * only, and the row shows what memory.events says. */
static void test_cgroup_table_v2_kills_are_local(void **state)
{
	static const char v2_stat[] = "anon 8192\nfile 4096\nshmem 0\nfile_mapped 0\n"
				      "file_dirty 0\nfile_writeback 0\ninactive_anon 0\n"
				      "active_anon 8192\ninactive_file 4096\nactive_file 0\n"
				      "unevictable 0\npgfault 10\npgmajfault 0\n";
	struct tree *t = *state;
	struct cgroup_table *ct = NULL;
	struct cgroup_entry *parent, *child;
	char dir[512], events[128];
	uint64_t kills, t0;

	snprintf(dir, sizeof(dir), "%s/v2", t->root);
	mkdir(dir, 0755);
	write_file(dir, "memory.stat", v2_stat);
	write_file(dir, "cgroup.procs", "");
	snprintf(dir, sizeof(dir), "%s/v2/p", t->root);
	mkdir(dir, 0755);
	write_file(dir, "memory.stat", v2_stat);
	write_file(dir, "memory.max", "33554432\n");
	write_file(dir, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n");
	write_file(dir, "memory.events.local", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n");
	snprintf(dir, sizeof(dir), "%s/v2/p/c", t->root);
	mkdir(dir, 0755);
	write_file(dir, "memory.stat", v2_stat);
	write_file(dir, "memory.max", "max\n");
	write_file(dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
	write_file(dir, "memory.events.local", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");

	snprintf(dir, sizeof(dir), "%s/v2", t->root);
	assert_int_equal(cgroup_table_new(dir, 2, &ct), 0);
	cgroup_table_set_oom_traced(ct, false);
	assert_int_equal(cgroup_table_ref(ct, "/p", &parent), 0);
	assert_int_equal(cgroup_table_ref(ct, "/p/c", &child), 0);
	/* one kill in the child: the parent's memory.events counts it as well */
	snprintf(dir, sizeof(dir), "%s/v2/p", t->root);
	write_file(dir, "memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n");
	snprintf(dir, sizeof(dir), "%s/v2/p/c", t->root);
	snprintf(events, sizeof(events), "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n");
	write_file(dir, "memory.events", events);
	write_file(dir, "memory.events.local", events);
	t0 = now();
	cgroup_table_refresh(ct, t0);
	assert_int_equal(cgroup_entry_take_untraced_kills(parent), 0);
	assert_int_equal(cgroup_entry_take_untraced_kills(child), 1);
	assert_true(cgroup_mem_oom_kills(&parent->mem, &kills));
	assert_int_equal(kills, 1); /* as memory.events shows it */
	assert_true(cgroup_mem_oom_kills_local(&parent->mem, &kills));
	assert_int_equal(kills, 0);
	cgroup_table_unref(ct, child);
	cgroup_table_unref(ct, parent);
	cgroup_table_free(ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cgroup_table_unref_retains_limited, tree_setup,
						tree_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_table_retained_expire_and_bound,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_table_unref_retains_after_oom,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_table_oom_kills_traced_and_untraced,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_table_oom_kills_without_trace,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_table_lookup_memcg, tree_setup,
						tree_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_table_v2_kills_are_local, tree_setup,
						tree_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
