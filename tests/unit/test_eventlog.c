// SPDX-License-Identifier: MIT
/* tests/unit/test_eventlog.c: the event log's two rings, id order and paging
 * across them, and the per-uid rate limit (floods, notices, a full uid table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/eventlog.h"

#define NOBODY 65534U

struct fake_clock {
	uint64_t usec;
};

static uint64_t fake_now(void *userdata)
{
	return ((struct fake_clock *)userdata)->usec;
}

static struct eventlog *log_new(struct fake_clock *clk)
{
	struct eventlog *l = malloc(sizeof(*l));

	assert_non_null(l);
	eventlog_init(l);
	clk->usec = 1000 * USEC_PER_SEC;
	l->clock_usec = fake_now;
	l->clock_userdata = clk;
	return l;
}

/* Every event with id > since, paged max at a time as memctl does. */
static uint32_t read_all(const struct eventlog *l, uint64_t since, uint32_t max,
			 struct ipc_event_entry *out, uint32_t out_size)
{
	struct ipc_event_entry page[200];
	uint32_t n = 0, k;

	assert_true(max <= ELEMENTSOF(page));
	while ((k = eventlog_since(l, since, page, max)) > 0) {
		for (uint32_t i = 0; i < k; i++) {
			assert_true(page[i].id > since);
			since = page[i].id;
			assert_true(n < out_size);
			out[n++] = page[i];
		}
	}
	return n;
}

static uint32_t count_kind(const struct ipc_event_entry *v, uint32_t n, uint32_t kind, uint32_t uid)
{
	uint32_t c = 0;

	for (uint32_t i = 0; i < n; i++)
		c += v[i].kind == kind && v[i].uid == uid;
	return c;
}

static void test_eventlog_add_ids_and_fields(void **state)
{
	struct fake_clock clk;
	struct eventlog *l = log_new(&clk);
	struct ipc_event_entry out[4], e = { .kind = IPC_EVENT_OOM_KILL, .pid = 42, .value = 7 };

	assert_int_equal(
		eventlog_add(l, EVENTLOG_SYSTEM, IPC_EVENT_LOST_RECORDS, 0, 3, "%d lost", 3), 1);
	/* a caller that filled whole fields without a NUL still gets valid strings */
	memset(e.comm, 'c', sizeof(e.comm));
	memset(e.cgroup, 'g', sizeof(e.cgroup));
	memset(e.text, 't', sizeof(e.text));
	e.cgroup_id = 9;
	e.uid = 1234; /* ignored: the uid argument says who caused it */
	assert_int_equal(eventlog_add_entry(l, EVENTLOG_SYSTEM, &e), 2);
	assert_int_equal(eventlog_add(l, 1000, IPC_EVENT_ENROLLED, 5, 0, "x"), 3);

	assert_int_equal(eventlog_since(l, 0, out, ELEMENTSOF(out)), 3);
	assert_int_equal(out[0].id, 1);
	assert_string_equal(out[0].text, "3 lost");
	assert_int_equal(out[0].uid, IPC_EVENT_UID_SYSTEM);
	assert_int_equal(out[1].kind, IPC_EVENT_OOM_KILL);
	assert_int_equal(out[1].pid, 42);
	assert_int_equal(out[1].value, 7);
	assert_int_equal(out[1].cgroup_id, 9);
	assert_int_equal(out[1].uid, IPC_EVENT_UID_SYSTEM);
	assert_int_equal(strlen(out[1].comm), sizeof(out[1].comm) - 1);
	assert_int_equal(strlen(out[1].cgroup), sizeof(out[1].cgroup) - 1);
	assert_int_equal(strlen(out[1].text), sizeof(out[1].text) - 1);
	assert_true(out[1].time_usec > 0);
	assert_int_equal(out[2].uid, 1000);
	assert_string_equal(out[2].comm, "");
	/* since_id past the end, and max 1 */
	assert_int_equal(eventlog_since(l, 3, out, 4), 0);
	assert_int_equal(eventlog_since(l, 1, out, 1), 1);
	assert_int_equal(out[0].id, 2);
	free(l);
}

/* Item 10 of issue 9: 10,000 enroll/unenroll cycles by nobody, while the
 * kernel side logs now and then. Every kernel-side event survives; nobody's
 * flood is the burst, the refill and one notice per window. */
static void test_eventlog_user_flood_keeps_system_events(void **state)
{
	static struct ipc_event_entry all[EVENTLOG_CAPACITY + 16];
	struct fake_clock clk;
	struct eventlog *l = log_new(&clk);
	uint64_t start = clk.usec, admitted = 0, system_ids[256], notices = 0, dropped = 0;
	uint32_t n_system = 0, n;

	for (uint32_t i = 0; i < 20000; i++) {
		if (i % 100 == 0) {
			system_ids[n_system++] = eventlog_add(
				l, EVENTLOG_SYSTEM, IPC_EVENT_LOST_RECORDS, 0, i, "lost at %u", i);
			assert_true(system_ids[n_system - 1] > 0);
		}
		admitted += eventlog_add(l, NOBODY,
					 i & 1 ? IPC_EVENT_UNENROLLED : IPC_EVENT_ENROLLED, 100, 0,
					 "cycle %u", i) > 0;
		clk.usec += 500; /* 2,000 events/s, 10 s in all */
		if (i % 2000 == 0)
			eventlog_flush(l); /* the manager's tick */
	}
	clk.usec += EVENTLOG_SUPPRESS_WINDOW_USEC;
	eventlog_flush(l);

	n = read_all(l, 0, 37, all, ELEMENTSOF(all));
	/* every kernel-side event is still there, in order */
	assert_int_equal(count_kind(all, n, IPC_EVENT_LOST_RECORDS, IPC_EVENT_UID_SYSTEM),
			 n_system);
	for (uint32_t i = 0, k = 0; i < n; i++)
		if (all[i].uid == IPC_EVENT_UID_SYSTEM)
			assert_int_equal(all[i].id, system_ids[k++]);
	/* nobody got the burst plus the refill over 10 s, nothing more */
	uint64_t elapsed_sec = (clk.usec - start) / USEC_PER_SEC;
	assert_true(admitted <= EVENTLOG_USER_BURST + EVENTLOG_USER_RATE_PER_SEC * elapsed_sec);
	assert_true(admitted >= EVENTLOG_USER_BURST);
	for (uint32_t i = 0; i < n; i++) {
		if (all[i].kind != IPC_EVENT_EVENTS_SUPPRESSED)
			continue;
		assert_int_equal(all[i].uid, NOBODY);
		assert_non_null(strstr(all[i].text, "from uid 65534 suppressed"));
		notices++;
		dropped += (uint64_t)all[i].value;
	}
	/* one notice per window, and together they count every drop */
	assert_true(notices >= 2 &&
		    notices <= 10 * USEC_PER_SEC / EVENTLOG_SUPPRESS_WINDOW_USEC + 1);
	assert_int_equal(dropped, 20000 - admitted);
	assert_int_equal(l->suppressed_total, dropped);
	assert_int_equal(n, n_system + admitted + notices);
	free(l);
}

/* A ring drops only its own oldest: the system ring wraps at its capacity
 * while users log, and the user ring wraps without touching it. */
static void test_eventlog_rings_wrap_independently(void **state)
{
	static struct ipc_event_entry all[EVENTLOG_CAPACITY + 16];
	struct fake_clock clk;
	struct eventlog *l = log_new(&clk);
	uint64_t last_system = 0;
	uint32_t n;

	for (uint32_t i = 0; i < 3 * EVENTLOG_SYSTEM_CAPACITY; i++)
		last_system =
			eventlog_add(l, EVENTLOG_SYSTEM, IPC_EVENT_CGROUP_PRESSURE, 0, i, "p%u", i);
	/* root is exempt from the rate limit: all of these are logged */
	for (uint32_t i = 0; i < 3 * EVENTLOG_USER_CAPACITY; i++)
		assert_true(eventlog_add(l, 0, IPC_EVENT_ENROLLED, 1, i, "r%u", i) > 0);
	n = read_all(l, 0, 154, all, ELEMENTSOF(all));
	assert_int_equal(n, EVENTLOG_CAPACITY);
	assert_int_equal(count_kind(all, n, IPC_EVENT_CGROUP_PRESSURE, IPC_EVENT_UID_SYSTEM),
			 EVENTLOG_SYSTEM_CAPACITY);
	assert_int_equal(count_kind(all, n, IPC_EVENT_ENROLLED, 0), EVENTLOG_USER_CAPACITY);
	/* the newest of each, oldest first, ids strictly increasing */
	for (uint32_t i = 1; i < n; i++)
		assert_true(all[i].id > all[i - 1].id);
	assert_int_equal(all[EVENTLOG_SYSTEM_CAPACITY - 1].id, last_system);
	assert_int_equal(all[n - 1].id, last_system + 3 * EVENTLOG_USER_CAPACITY);
	free(l);
}

/* Paging with since = the largest id seen, across interleaved rings and
 * pages of every size, returns each stored event once, in id order. */
static void test_eventlog_since_pages_across_rings(void **state)
{
	static struct ipc_event_entry all[64], paged[64];
	struct fake_clock clk;
	struct eventlog *l = log_new(&clk);
	uint32_t n;

	for (uint32_t i = 0; i < 50; i++)
		eventlog_add(l, i % 3 == 0 ? EVENTLOG_SYSTEM : 0, IPC_EVENT_ENROLLED, i, i, "e%u",
			     i);
	n = eventlog_since(l, 0, all, ELEMENTSOF(all));
	assert_int_equal(n, 50);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(all[i].id, i + 1);
	for (uint32_t max = 1; max <= 51; max++) {
		assert_int_equal(read_all(l, 0, max, paged, ELEMENTSOF(paged)), 50);
		for (uint32_t i = 0; i < 50; i++)
			assert_int_equal(paged[i].id, all[i].id);
	}
	/* from the middle: since 17 gives 18.. */
	assert_int_equal(read_all(l, 17, 5, paged, ELEMENTSOF(paged)), 33);
	assert_int_equal(paged[0].id, 18);
	free(l);
}

/* One notice per window while a flood lasts; a new window after a quiet one. */
static void test_eventlog_notice_once_per_window(void **state)
{
	static struct ipc_event_entry all[EVENTLOG_CAPACITY];
	struct fake_clock clk;
	struct eventlog *l = log_new(&clk);
	uint32_t n, notices = 0;

	for (uint32_t i = 0; i < EVENTLOG_USER_BURST; i++)
		assert_true(eventlog_add(l, 1000, IPC_EVENT_ENROLLED, 1, 0, "b") > 0);
	/* over the limit: dropped, no notice yet */
	for (uint32_t i = 0; i < 500; i++)
		assert_int_equal(eventlog_add(l, 1000, IPC_EVENT_ENROLLED, 1, 0, "x"), 0);
	eventlog_flush(l);
	n = eventlog_since(l, 0, all, ELEMENTSOF(all));
	assert_int_equal(count_kind(all, n, IPC_EVENT_EVENTS_SUPPRESSED, 1000), 0);
	/* another uid is not limited by 1000's flood */
	assert_true(eventlog_add(l, 1001, IPC_EVENT_ENROLLED, 2, 0, "other") > 0);
	/* the window ends: one notice with the count */
	clk.usec += EVENTLOG_SUPPRESS_WINDOW_USEC;
	eventlog_flush(l);
	eventlog_flush(l);
	n = eventlog_since(l, 0, all, ELEMENTSOF(all));
	for (uint32_t i = 0; i < n; i++) {
		if (all[i].kind == IPC_EVENT_EVENTS_SUPPRESSED) {
			notices++;
			assert_int_equal(all[i].value, 500);
			assert_int_equal(all[i].uid, 1000);
		}
	}
	assert_int_equal(notices, 1);
	/* the refill: 5 s at 1/s gave 5 events back */
	for (uint32_t i = 0; i < 5 * EVENTLOG_USER_RATE_PER_SEC; i++)
		assert_true(eventlog_add(l, 1000, IPC_EVENT_ENROLLED, 1, 0, "r") > 0);
	assert_int_equal(eventlog_add(l, 1000, IPC_EVENT_ENROLLED, 1, 0, "r"), 0);
	/* a uid asking every 1.5 ms loses no refill to rounding: 2 s, 2 events */
	uint32_t admitted = 0;
	for (uint32_t i = 0; i < 1334; i++) {
		clk.usec += 1500;
		admitted += eventlog_add(l, 1000, IPC_EVENT_ENROLLED, 1, 0, "s") > 0;
	}
	assert_int_equal(admitted, 2 * EVENTLOG_USER_RATE_PER_SEC);
	free(l);
}

/* More uids than the table holds: idle slots are reused; when every slot is
 * a uid being limited, the rest share the overflow bucket and its notice. */
static void test_eventlog_uid_table_full(void **state)
{
	static struct ipc_event_entry all[EVENTLOG_CAPACITY];
	struct fake_clock clk;
	struct eventlog *l = log_new(&clk);
	uint32_t n, found = 0;

	/* 64 uids, each flooding: every slot holds a pending count */
	for (uint32_t u = 0; u < EVENTLOG_UIDS_MAX; u++)
		for (uint32_t i = 0; i <= EVENTLOG_USER_BURST; i++)
			eventlog_add(l, 2000 + u, IPC_EVENT_ENROLLED, 1, 0, "f");
	assert_int_equal(l->suppressed_total, EVENTLOG_UIDS_MAX);
	/* new uids share one bucket: its burst, then drops */
	for (uint32_t u = 0; u < 3 * EVENTLOG_USER_BURST; u++)
		eventlog_add(l, 5000 + u, IPC_EVENT_ENROLLED, 1, 0, "o");
	assert_int_equal(l->suppressed_total, EVENTLOG_UIDS_MAX + 2 * EVENTLOG_USER_BURST);
	clk.usec += EVENTLOG_SUPPRESS_WINDOW_USEC;
	eventlog_flush(l);
	n = eventlog_since(l, 0, all, ELEMENTSOF(all));
	for (uint32_t i = 0; i < n; i++)
		if (all[i].kind == IPC_EVENT_EVENTS_SUPPRESSED &&
		    strstr(all[i].text, "and others")) {
			found++;
			assert_int_equal(all[i].value, 2 * EVENTLOG_USER_BURST);
			assert_int_equal(all[i].uid, 5000 + EVENTLOG_USER_BURST);
		}
	assert_int_equal(found, 1);
	assert_int_equal(count_kind(all, n, IPC_EVENT_EVENTS_SUPPRESSED, 2000), 1);
	/* once buckets are full again (64 s), a new uid gets a slot of its own:
	 * a full burst although the overflow bucket is empty */
	clk.usec += (EVENTLOG_USER_BURST / EVENTLOG_USER_RATE_PER_SEC + 1) * USEC_PER_SEC;
	eventlog_flush(l);
	for (uint32_t i = 0; i < EVENTLOG_USER_BURST; i++)
		assert_true(eventlog_add(l, 9999, IPC_EVENT_ENROLLED, 1, 0, "n") > 0);
	assert_int_equal(eventlog_add(l, 9999, IPC_EVENT_ENROLLED, 1, 0, "n"), 0);
	clk.usec += EVENTLOG_SUPPRESS_WINDOW_USEC;
	eventlog_flush(l);
	n = eventlog_since(l, 0, all, ELEMENTSOF(all));
	assert_int_equal(all[n - 1].kind, IPC_EVENT_EVENTS_SUPPRESSED);
	assert_string_equal(all[n - 1].text, "1 events from uid 9999 suppressed (over 1/s)");
	free(l);
}

/* A user's process OOM-killed over and over: the kills are the system's
 * events (system ring, uid SYSTEM) but limited by the victim's owner, so
 * they cannot push the other kernel-side events out; root's are not limited. */
static void test_eventlog_kernel_events_charged_to_a_user(void **state)
{
	static struct ipc_event_entry all[EVENTLOG_CAPACITY];
	struct fake_clock clk;
	struct eventlog *l = log_new(&clk);
	struct ipc_event_entry kill = { .kind = IPC_EVENT_OOM_KILL, .pid = 7 };
	uint64_t lost_id, admitted = 0, root_kills = 0;
	uint32_t n, kills = 0, notices = 0;

	lost_id = eventlog_add(l, EVENTLOG_SYSTEM, IPC_EVENT_LOST_RECORDS, 0, 5, "lost");
	for (uint32_t i = 0; i < 5000; i++) {
		admitted += eventlog_add_entry_for(l, NOBODY, &kill) > 0;
		clk.usec += 1000; /* 1,000 kills/s for 5 s */
	}
	for (uint32_t i = 0; i < 100; i++)
		root_kills += eventlog_add_entry_for(l, 0, &kill) > 0;
	clk.usec += EVENTLOG_SUPPRESS_WINDOW_USEC;
	eventlog_flush(l);
	n = eventlog_since(l, 0, all, ELEMENTSOF(all));
	assert_int_equal(all[0].id, lost_id);
	/* the burst and 4.999 s of refill */
	assert_int_equal(admitted, EVENTLOG_USER_BURST + 4 * EVENTLOG_USER_RATE_PER_SEC);
	assert_int_equal(root_kills, 100);
	for (uint32_t i = 0; i < n; i++) {
		if (all[i].kind == IPC_EVENT_OOM_KILL) {
			kills++;
			assert_int_equal(all[i].uid, IPC_EVENT_UID_SYSTEM);
		}
		if (all[i].kind == IPC_EVENT_EVENTS_SUPPRESSED) {
			notices++;
			assert_int_equal(all[i].uid, NOBODY);
			assert_int_equal(all[i].value, 5000 - admitted);
		}
	}
	assert_int_equal(kills, admitted + root_kills);
	assert_int_equal(notices, 1);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eventlog_add_ids_and_fields),
		cmocka_unit_test(test_eventlog_user_flood_keeps_system_events),
		cmocka_unit_test(test_eventlog_rings_wrap_independently),
		cmocka_unit_test(test_eventlog_since_pages_across_rings),
		cmocka_unit_test(test_eventlog_notice_once_per_window),
		cmocka_unit_test(test_eventlog_uid_table_full),
		cmocka_unit_test(test_eventlog_kernel_events_charged_to_a_user),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
