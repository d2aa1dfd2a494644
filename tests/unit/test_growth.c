// SPDX-License-Identifier: MIT
/* tests/unit/test_growth.c: policy/growth: the RSS window, its least-squares
 * rate, and the projection to a cgroup's limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <errno.h>
#include <cmocka.h>

#include "policy/growth.h"

#define SEC 1000000ULL

static void test_growth_window_rate_too_few_samples(void **state)
{
	struct growth_window w;

	growth_window_init(&w);
	assert_int_equal(growth_window_rate(&w), 0);
	assert_int_equal(growth_window_push(&w, 5 * SEC, 1000), 0);
	assert_int_equal(growth_window_rate(&w), 0);
}

static void test_growth_window_rate_linear(void **state)
{
	struct growth_window w;

	growth_window_init(&w);
	/* 1 MiB per second, sampled every 250 ms */
	for (int i = 0; i < 10; i++)
		assert_int_equal(growth_window_push(&w, 100 * SEC + (uint64_t)i * SEC / 4,
						    (64ULL << 20) + (uint64_t)i * (256 << 10)),
				 0);
	assert_true(llabs(growth_window_rate(&w) - (1 << 20)) <= 1);
}

static void test_growth_window_rate_shrinking_and_flat(void **state)
{
	struct growth_window w;

	growth_window_init(&w);
	for (int i = 0; i < 5; i++)
		growth_window_push(&w, (uint64_t)i * SEC, 10000000 - (uint64_t)i * 1000);
	assert_int_equal(growth_window_rate(&w), -1000);
	growth_window_init(&w);
	for (int i = 0; i < 5; i++)
		growth_window_push(&w, (uint64_t)i * SEC, 4096);
	assert_int_equal(growth_window_rate(&w), 0);
}

static void test_growth_window_push_ring_keeps_newest(void **state)
{
	struct growth_window w;

	growth_window_init(&w);
	/* a long flat stretch, then the last 16 samples grow 2,000 B/s */
	for (int i = 0; i < 100; i++)
		growth_window_push(&w, (uint64_t)i * SEC, 1000000);
	for (int i = 100; i < 100 + GROWTH_WINDOW_SAMPLES; i++)
		growth_window_push(&w, (uint64_t)i * SEC, 1000000 + (uint64_t)(i - 99) * 2000);
	assert_int_equal(w.count, GROWTH_WINDOW_SAMPLES);
	assert_int_equal(growth_window_rate(&w), 2000);
}

static void test_growth_window_push_out_of_order_and_same_time(void **state)
{
	struct growth_window w;

	growth_window_init(&w);
	assert_int_equal(growth_window_push(&w, 10 * SEC, 100), 0);
	assert_int_equal(growth_window_push(&w, 9 * SEC, 50), -EINVAL);
	assert_int_equal(w.count, 1);
	assert_int_equal(growth_window_push(&w, 10 * SEC, 200), 0); /* replaces */
	assert_int_equal(w.count, 1);
	assert_int_equal(growth_window_push(&w, 11 * SEC, 300), 0);
	assert_int_equal(growth_window_rate(&w), 100);
}

static void test_growth_window_rate_huge_values(void **state)
{
	struct growth_window w;

	growth_window_init(&w);
	growth_window_push(&w, 0, 0);
	growth_window_push(&w, 1, UINT64_MAX); /* 2^64 bytes in 1 usec */
	assert_int_equal(growth_window_rate(&w), INT64_MAX);
	growth_window_init(&w);
	growth_window_push(&w, 0, UINT64_MAX);
	growth_window_push(&w, 1, 0);
	assert_int_equal(growth_window_rate(&w), INT64_MIN);
}

static void test_growth_time_to_limit_usec_table(void **state)
{
	static const struct {
		uint64_t usage, limit;
		int64_t rate;
		uint64_t want;
	} t[] = {
		{ 100, 1100, 100, 10 * SEC },
		{ 100, 150, 100, SEC / 2 },
		{ 100, 1100, 0, UINT64_MAX },
		{ 100, 1100, -5, UINT64_MAX },
		{ 100, UINT64_MAX, 100, UINT64_MAX }, /* no limit */
		{ 2000, 1000, 100, 0 }, /* already over */
		{ 1000, 1000, 100, 0 },
		{ 0, UINT64_MAX - 1, 1, UINT64_MAX }, /* too far to count */
		{ 0, 1ULL << 40, 1, (1ULL << 40) * SEC }, /* 2^40 s still fits */
		{ 0, 1ULL << 62, INT64_MAX, SEC / 2 }, /* 2^62 B at ~2^63 B/s */
		{ 0, 1000, INT64_MAX, 0 }, /* under a microsecond */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(growth_time_to_limit_usec(t[i].usage, t[i].limit, t[i].rate),
				 t[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growth_window_rate_too_few_samples),
		cmocka_unit_test(test_growth_window_rate_linear),
		cmocka_unit_test(test_growth_window_rate_shrinking_and_flat),
		cmocka_unit_test(test_growth_window_push_ring_keeps_newest),
		cmocka_unit_test(test_growth_window_push_out_of_order_and_same_time),
		cmocka_unit_test(test_growth_window_rate_huge_values),
		cmocka_unit_test(test_growth_time_to_limit_usec_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
