// SPDX-License-Identifier: MIT
/* tests/unit/test_log.c: the log rate limit (daemon/log.h): burst, window,
 * the suppressed-count line, per-call-site state and the flush. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/time-util.h"
#include "daemon/log.h"

/* Run fn with stderr going to a temporary file; return what it wrote. */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	char path[] = "/tmp/memctl-test-log-XXXXXX";
	int fd = mkstemp(path), saved;
	static char buf[65536];
	ssize_t n;

	assert_true(fd >= 0);
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fd, 2) == 2);
	fn(arg);
	fflush(stderr);
	assert_true(dup2(saved, 2) == 2);
	close(saved);
	assert_true(lseek(fd, 0, SEEK_SET) == 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static unsigned count_lines(const char *s, const char *needle)
{
	unsigned n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_log_ratelimit_test_burst_window(void **state)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(10 * USEC_PER_SEC, 3);
	uint64_t t = 1000 * USEC_PER_SEC, dropped = 99;

	for (int i = 0; i < 3; i++) {
		assert_true(log_ratelimit_test(&rl, t + (uint64_t)i, &dropped));
		assert_int_equal(dropped, 0);
	}
	for (int i = 0; i < 1000; i++)
		assert_false(log_ratelimit_test(&rl, t + 5 * USEC_PER_SEC, &dropped));
	/* still inside the window, one microsecond before it closes */
	assert_false(log_ratelimit_test(&rl, t + 10 * USEC_PER_SEC - 1, &dropped));
	/* the window closed: the first line of the next says what was dropped */
	assert_true(log_ratelimit_test(&rl, t + 10 * USEC_PER_SEC, &dropped));
	assert_int_equal(dropped, 1001);
	assert_true(log_ratelimit_test(&rl, t + 10 * USEC_PER_SEC, &dropped));
	assert_int_equal(dropped, 0);
	/* a quiet stretch: a new window, nothing to report */
	assert_true(log_ratelimit_test(&rl, t + 3600 * USEC_PER_SEC, &dropped));
	assert_int_equal(dropped, 0);
}

static void test_log_ratelimit_test_burst_zero(void **state)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(USEC_PER_SEC, 0);
	uint64_t dropped;

	assert_false(log_ratelimit_test(&rl, 1, &dropped));
	assert_false(log_ratelimit_test(&rl, 2, NULL));
	assert_false(log_ratelimit_test(&rl, 1 + USEC_PER_SEC, &dropped));
	assert_int_equal(dropped, 2);
}

static void flood(void *arg)
{
	unsigned n = *(unsigned *)arg;

	for (unsigned i = 0; i < n; i++)
		log_ratelimit_warning("connection %u refused", i);
}

static void test_log_ratelimit_warning_flood(void **state)
{
	unsigned n = 100000;
	const char *out;

	log_set_max_level(LOG_INFO);
	out = capture_stderr(flood, &n);
	/* one call site, a 10 s window: the burst, nothing else yet */
	assert_int_equal(count_lines(out, "\n"), LOG_RATELIMIT_BURST);
	assert_non_null(strstr(out, "warning: connection 0 refused"));
	assert_non_null(strstr(out, "connection 4 refused"));
	assert_null(strstr(out, "connection 5 refused"));
}

/* its own call site: the state of flood()'s would carry over between tests */
static void flood_again(void *arg)
{
	unsigned n = *(unsigned *)arg;

	for (unsigned i = 0; i < n; i++)
		log_ratelimit_warning("connection %u refused", i);
}

static void flush_later(void *arg)
{
	log_ratelimit_flush(*(uint64_t *)arg);
}

static void test_log_ratelimit_flush(void **state)
{
	unsigned n = 1005;
	uint64_t later = now_usec(CLOCK_MONOTONIC) + 3600 * USEC_PER_SEC;
	const char *out;

	log_set_max_level(LOG_INFO);
	/* what earlier tests left suppressed, out of the way */
	capture_stderr(flush_later, &later);
	out = capture_stderr(flood_again, &n);
	assert_int_equal(count_lines(out, "\n"), LOG_RATELIMIT_BURST);
	/* before the window closed: nothing to say */
	later = now_usec(CLOCK_MONOTONIC);
	out = capture_stderr(flush_later, &later);
	assert_string_equal(out, "");
	/* after: one line with the count and the window's first message */
	later += LOG_RATELIMIT_INTERVAL_USEC + 1;
	out = capture_stderr(flush_later, &later);
	assert_int_equal(count_lines(out, "\n"), 1);
	assert_non_null(strstr(out, "warning: Suppressed 1000 similar message(s) within 10.0s of: "
				    "connection 0 refused"));
	/* reported once */
	out = capture_stderr(flush_later, &later);
	assert_string_equal(out, "");
}

static void two_sites(void *arg)
{
	for (int i = 0; i < 50; i++) {
		log_ratelimit_full_errno(LOG_WARNING, -EMFILE, USEC_PER_SEC, 2, "a: %m");
		log_ratelimit_full_errno(LOG_WARNING, 0, USEC_PER_SEC, 1, "b %d", i);
	}
}

static void test_log_ratelimit_per_call_site(void **state)
{
	const char *out;

	log_set_max_level(LOG_INFO);
	out = capture_stderr(two_sites, NULL);
	assert_int_equal(count_lines(out, "a: Too many open files\n"), 2);
	assert_int_equal(count_lines(out, "b 0\n"), 1);
	assert_int_equal(count_lines(out, "\n"), 3);
}

static void quiet(void *arg)
{
	for (int i = 0; i < 100; i++)
		log_ratelimit_full_errno(LOG_DEBUG, 0, USEC_PER_SEC, 1, "debug %d", i);
}

static void test_log_ratelimit_below_level(void **state)
{
	const char *out;

	log_set_max_level(LOG_INFO);
	out = capture_stderr(quiet, NULL);
	assert_string_equal(out, "");
	log_set_max_level(LOG_DEBUG);
	out = capture_stderr(quiet, NULL);
	/* debug lines were not counted while the level hid them */
	assert_int_equal(count_lines(out, "\n"), 1);
	assert_non_null(strstr(out, "debug 0\n"));
	log_set_max_level(LOG_INFO);
}

static void test_log_ratelimit_returns_error(void **state)
{
	log_set_max_level(LOG_ERR);
	assert_int_equal(log_ratelimit_warning_errno(-EAGAIN, "x"), -EAGAIN);
	assert_int_equal(log_ratelimit_full_errno(LOG_ERR, -EIO, 1, 0, "y"), -EIO);
	log_set_max_level(LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_ratelimit_test_burst_window),
		cmocka_unit_test(test_log_ratelimit_test_burst_zero),
		cmocka_unit_test(test_log_ratelimit_warning_flood),
		cmocka_unit_test(test_log_ratelimit_flush),
		cmocka_unit_test(test_log_ratelimit_per_call_site),
		cmocka_unit_test(test_log_ratelimit_below_level),
		cmocka_unit_test(test_log_ratelimit_returns_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
