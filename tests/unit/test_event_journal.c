// SPDX-License-Identifier: MIT
/* tests/unit/test_event_journal.c: daemon/event-journal: the key=value line of
 * a growth event, and names from processes that try to forge fields or lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/event-journal.h"
#include "policy/growth.h"

static void test_event_journal_format_fields(void **state)
{
	struct ipc_event_entry e = {
		.kind = IPC_EVENT_GROWTH_DETECTED,
		.pid = 4242,
		.value = 1048576,
		.pattern = GROWTH_PATTERN_LINEAR,
		.leak_confidence_permyriad = 9712,
		.time_to_limit_usec = 312500000,
	};
	char buf[2048];

	snprintf(e.comm, sizeof(e.comm), "app");
	snprintf(e.cgroup, sizeof(e.cgroup), "/app.slice");
	event_journal_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "GROWTH_DETECTED pid=4242 comm=\"app\" cgroup=\"/app.slice\" "
				 "rate_bytes_per_sec=1048576 pattern=linear confidence=0.97 "
				 "seconds_to_limit=312.5");
	e.kind = IPC_EVENT_GROWTH_ENDED;
	e.time_to_limit_usec = UINT64_MAX;
	e.value = -5;
	event_journal_format(&e, buf, sizeof(buf));
	assert_non_null(strstr(buf, "GROWTH_ENDED pid=4242 "));
	assert_non_null(strstr(buf, "rate_bytes_per_sec=-5 "));
	assert_non_null(strstr(buf, "seconds_to_limit=none"));
}

static void test_event_journal_format_hostile_names(void **state)
{
	struct ipc_event_entry e = { .kind = IPC_EVENT_GROWTH_DETECTED, .pid = 1 };
	char buf[4096];

	/* a comm that tries to end the line and add a field of its own */
	memcpy(e.comm, "x\" pid=0\nMEMCTL", 16);
	memset(e.cgroup, 0xff, sizeof(e.cgroup) - 1); /* longest path, none printable */
	event_journal_format(&e, buf, sizeof(buf));
	assert_null(strchr(buf, '\n'));
	assert_non_null(strstr(buf, "comm=\"x\\x22\\x20pid=0\\x0aMEMCTL\""));
	assert_non_null(strstr(buf, "cgroup=\"\\xff\\xff"));
	/* one pid= field only: the forged one is escaped */
	assert_ptr_equal(strstr(buf, " pid="), strstr(buf, " pid=1 "));
	assert_null(strstr(strstr(buf, " pid=1 ") + 1, " pid="));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_journal_format_fields),
		cmocka_unit_test(test_event_journal_format_hostile_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
