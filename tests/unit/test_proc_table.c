// SPDX-License-Identifier: MIT
/* tests/unit/test_proc_table.c: the process table on the live /proc with this
 * test's own children: the pidfd budget (unpinned entries, re-pinning, a
 * stale identity dropped) and fault counts refreshed within a read budget. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/log.h"
#include "daemon/proc-table.h"

#define N_KIDS 10

static pid_t kids[N_KIDS];

static int spawn(void **state)
{
	for (int i = 0; i < N_KIDS; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			pause();
			_exit(0);
		}
	}
	return 0;
}

static int reap(void **state)
{
	for (int i = 0; i < N_KIDS; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
	return 0;
}

static struct proc_table *table_with_kids(unsigned pidfd_max)
{
	struct proc_table *t = NULL;

	assert_int_equal(proc_table_new("/proc", NULL, &t), 0);
	proc_table_set_pidfd_max(t, pidfd_max);
	for (int i = 0; i < N_KIDS; i++)
		assert_int_equal(proc_table_add(t, kids[i], NULL), 0);
	return t;
}

static unsigned pinned(struct proc_table *t)
{
	unsigned n = 0;

	for (struct proc_entry *e = proc_table_first(t); e; e = e->hh.next)
		n += e->pidfd >= 0;
	return n;
}

static void test_proc_table_pidfd_max_tracks_unpinned(void **state)
{
	struct proc_table *t = table_with_kids(3);

	/* all tracked, three pinned, and said so */
	assert_int_equal(proc_table_count(t), N_KIDS);
	assert_int_equal(pinned(t), 3);
	assert_int_equal(proc_table_unpinned(t), N_KIDS - 3);
	for (int i = 0; i < N_KIDS; i++)
		assert_non_null(proc_table_get(t, kids[i]));
	/* room again: re-pinned within the budget given, then all */
	proc_table_set_pidfd_max(t, 100);
	assert_int_equal(proc_table_repin(t, 2), 2);
	assert_int_equal(proc_table_unpinned(t), N_KIDS - 5);
	assert_int_equal(proc_table_repin(t, 100), N_KIDS - 5);
	assert_int_equal(proc_table_unpinned(t), 0);
	assert_int_equal(pinned(t), N_KIDS);
	/* nothing left to do */
	assert_int_equal(proc_table_repin(t, 100), 0);
	proc_table_free(t);
}

static void test_proc_table_repin_drops_stale_identity(void **state)
{
	struct proc_table *t = table_with_kids(0);
	struct proc_entry *e = proc_table_get(t, kids[0]);

	assert_int_equal(proc_table_unpinned(t), N_KIDS);
	/* an entry from a record older than the process now under its PID (as
	 * after a PID reuse): pinning would pin a stranger, so it is dropped */
	e->start_time_usec = 1;
	proc_table_set_pidfd_max(t, 100);
	assert_int_equal(proc_table_repin(t, 100), N_KIDS - 1);
	assert_null(proc_table_get(t, kids[0]));
	assert_int_equal(proc_table_count(t), N_KIDS - 1);
	assert_int_equal(proc_table_unpinned(t), 0);
	proc_table_free(t);
}

static void test_proc_table_unpinned_exit_and_remove(void **state)
{
	struct proc_table *t = table_with_kids(N_KIDS / 2);

	/* an exit record removes an unpinned entry (no pidfd to see it by) */
	for (int i = 0; i < N_KIDS; i++)
		proc_table_remove(t, kids[i]);
	assert_int_equal(proc_table_count(t), 0);
	assert_int_equal(proc_table_unpinned(t), 0);
	proc_table_free(t);
}

static void test_proc_table_resync_keeps_exact_start_time(void **state)
{
	struct proc_table *t = table_with_kids(100);
	struct proc_entry *e = proc_table_get(t, kids[0]);
	uint64_t exact;

	/* as a fork record would set it: later than /proc's clock-tick figure,
	 * by less than a tick */
	assert_true(e->start_time_usec > 0);
	exact = e->start_time_usec + 3457;
	e->start_time_usec = exact;
	assert_true(proc_table_resync(t) >= 0);
	e = proc_table_get(t, kids[0]);
	assert_non_null(e);
	assert_int_equal(e->start_time_usec, exact);
	proc_table_free(t);
}

static void test_proc_table_refresh_faults_all_budget(void **state)
{
	struct proc_table *t = table_with_kids(100);
	unsigned total = proc_table_count(t);
	struct proc_budget b;
	unsigned reads = 0;

	/* read when added; none is older than an hour */
	for (struct proc_entry *e = proc_table_first(t); e; e = e->hh.next)
		assert_true(e->faults_usec > 0);
	b = (struct proc_budget){ .reads_left = 3 };
	assert_int_equal(proc_table_refresh_faults_all(t, 3600 * USEC_PER_SEC, &b), 0);
	assert_int_equal(b.reads_left, 3);
	assert_int_equal(b.reads_skipped, 0);
	/* all stale: 3 per call, the rest counted as skipped, round robin */
	for (struct proc_entry *e = proc_table_first(t); e; e = e->hh.next)
		e->faults_usec = 0;
	for (int call = 0; call < 3; call++) {
		b = (struct proc_budget){ .reads_left = 3 };
		reads += proc_table_refresh_faults_all(t, USEC_PER_SEC, &b);
		assert_int_equal(b.reads_left, 0);
		assert_int_equal(b.reads_skipped, total - reads);
	}
	/* the fourth reaches the last one, with budget to spare */
	b = (struct proc_budget){ .reads_left = 3 };
	reads += proc_table_refresh_faults_all(t, USEC_PER_SEC, &b);
	assert_int_equal(reads, total);
	assert_int_equal(b.reads_left, 2);
	assert_int_equal(b.reads_skipped, 0);
	for (struct proc_entry *e = proc_table_first(t); e; e = e->hh.next)
		assert_true(e->faults_usec > 0);
	proc_table_free(t);
}

static void test_proc_table_refresh_faults_one(void **state)
{
	struct proc_table *t = table_with_kids(100);
	struct proc_entry *e = proc_table_get(t, kids[1]);
	struct proc_budget b = { .reads_left = 1 };

	/* fresh enough: no read taken */
	assert_int_equal(proc_table_refresh_faults(t, e, 3600 * USEC_PER_SEC, &b), 0);
	assert_int_equal(b.reads_left, 1);
	/* max age 0: read now */
	e->minor_faults = 0;
	assert_int_equal(proc_table_refresh_faults(t, e, 0, &b), 1);
	assert_true(e->minor_faults > 0);
	/* spent: the table's figure stands, counted */
	assert_int_equal(proc_table_refresh_faults(t, e, 0, &b), 0);
	assert_int_equal(b.reads_skipped, 1);
	proc_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_proc_table_pidfd_max_tracks_unpinned, spawn,
						reap),
		cmocka_unit_test_setup_teardown(test_proc_table_repin_drops_stale_identity, spawn,
						reap),
		cmocka_unit_test_setup_teardown(test_proc_table_unpinned_exit_and_remove, spawn,
						reap),
		cmocka_unit_test_setup_teardown(test_proc_table_resync_keeps_exact_start_time,
						spawn, reap),
		cmocka_unit_test_setup_teardown(test_proc_table_refresh_faults_all_budget, spawn,
						reap),
		cmocka_unit_test_setup_teardown(test_proc_table_refresh_faults_one, spawn, reap),
	};

	log_set_max_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
