// SPDX-License-Identifier: MIT
/* tests/unit/test_growth.c: policy/growth: the multi-scale series, aging of a
 * quiet series, patterns, episodes (hysteresis), hostile values, and the
 * projection to a cgroup's limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <cmocka.h>

#include "policy/growth.h"

#define SEC 1000000ULL
#define MIB (1ULL << 20)

struct run {
	struct growth_params p;
	struct growth_state s;
	struct growth_result r;
	unsigned detected, ended;
};

static void run_init(struct run *x)
{
	memset(x, 0, sizeof(*x));
	growth_params_init(&x->p);
	growth_state_init(&x->s);
}

/* evaluate once per second from `from` to `to` (usec), as the daemon's tick */
static void run_ticks(struct run *x, uint64_t from, uint64_t to)
{
	for (uint64_t t = from; t <= to; t += SEC) {
		enum growth_event ev = growth_state_evaluate(&x->s, &x->p, t, &x->r);

		x->detected += ev == GROWTH_EVENT_DETECTED;
		x->ended += ev == GROWTH_EVENT_ENDED;
	}
}

static void test_growth_state_push_order(void **state)
{
	struct run x;

	run_init(&x);
	assert_int_equal(growth_state_push(&x.s, &x.p, 10 * SEC, 100 * MIB), 0);
	assert_int_equal(growth_state_push(&x.s, &x.p, 9 * SEC, 50 * MIB), -EINVAL);
	assert_int_equal(x.s.last_pages, (100 * MIB) >> 12); /* unchanged */
	assert_int_equal(growth_state_push(&x.s, &x.p, 10 * SEC, 101 * MIB), 0); /* replaces */
	assert_int_equal(x.s.last_pages, (101 * MIB) >> 12);
	assert_int_equal(growth_state_push(&x.s, &x.p, 11 * SEC, 102 * MIB), 0);
	/* no sample: an unknown, zero result and no event */
	growth_state_init(&x.s);
	assert_int_equal(growth_state_evaluate(&x.s, &x.p, 5 * SEC, &x.r), GROWTH_EVENT_NONE);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_UNKNOWN);
	assert_int_equal(x.r.rate_bytes_per_sec, 0);
}

/* The example: 64 MiB in 0.1 s, then still. RSS records come only on
 * change, so nothing follows the burst; three seconds later the rate must not
 * be the burst's slope (it was +1.4G/s with the least-squares window). */
static void test_growth_state_evaluate_quiet_after_burst(void **state)
{
	struct run x;

	run_init(&x);
	growth_state_push(&x.s, &x.p, 100 * SEC, 20 * MIB);
	for (int i = 1; i <= 64; i++) /* one record per MiB within 0.1 s */
		growth_state_push(&x.s, &x.p, 160 * SEC + (uint64_t)i * 1500,
				  (20 + (uint64_t)i) * MIB);
	run_ticks(&x, 161 * SEC, 163 * SEC);
	assert_true(x.r.rate_bytes_per_sec < 64 * 1024);
	assert_true(x.r.rate_bytes_per_sec > -64 * 1024);
	assert_int_equal(x.detected, 0);
	assert_int_not_equal(x.r.pattern, GROWTH_PATTERN_LINEAR);
	assert_int_not_equal(x.r.pattern, GROWTH_PATTERN_ACCELERATING);
	/* and a minute later still flat */
	run_ticks(&x, 164 * SEC, 224 * SEC);
	assert_int_equal(x.r.rate_bytes_per_sec, 0);
	assert_int_equal(x.detected, 0);
}

static void test_growth_state_evaluate_linear_episode(void **state)
{
	struct run x;
	uint64_t t;

	run_init(&x);
	/* 60 s stable, then 1 MiB/s for 120 s (a record per MiB), then still */
	growth_state_push(&x.s, &x.p, 1 * SEC, 200 * MIB);
	run_ticks(&x, 2 * SEC, 60 * SEC);
	assert_int_equal(x.detected, 0);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_STABLE);
	for (t = 61; t <= 180; t++) {
		growth_state_push(&x.s, &x.p, t * SEC, (200 + t - 60) * MIB);
		run_ticks(&x, t * SEC, t * SEC);
	}
	assert_int_equal(x.detected, 1);
	assert_int_equal(x.ended, 0);
	assert_true(x.r.detected);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_LINEAR);
	assert_true(x.r.rate_bytes_per_sec > (int64_t)(MIB * 98 / 100));
	assert_true(x.r.rate_bytes_per_sec < (int64_t)(MIB * 102 / 100));
	assert_true(x.r.confidence_permyriad >= x.p.detect_permyriad);
	assert_true(x.r.episode_start_usec > 61 * SEC && x.r.episode_start_usec < 100 * SEC);
	/* the growth stops: one ENDED, never a second DETECTED */
	run_ticks(&x, 181 * SEC, 600 * SEC);
	assert_int_equal(x.detected, 1);
	assert_int_equal(x.ended, 1);
	assert_false(x.r.detected);
	assert_int_equal(x.r.episode_start_usec, 0);
	assert_int_equal(x.r.rate_bytes_per_sec, 0);
}

/* A GC heap: 32 MiB of garbage per 5 s cycle, freed back to the same trough. */
static void test_growth_state_evaluate_gc_sawtooth_not_a_leak(void **state)
{
	struct run x;

	run_init(&x);
	for (uint64_t t = 0; t <= 300 * 10; t++) { /* 100 ms steps */
		uint64_t ph = t % 50;

		growth_state_push(&x.s, &x.p, SEC + t * SEC / 10, 300 * MIB + ph * 32 * MIB / 50);
		if (t % 10 == 0)
			run_ticks(&x, SEC + t * SEC / 10, SEC + t * SEC / 10);
	}
	assert_int_equal(x.detected, 0);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_SAWTOOTH);
	assert_true(x.r.rate_bytes_per_sec < 64 * 1024);
	/* the same with rising troughs (1 MiB/s kept per cycle): a leak */
	run_init(&x);
	for (uint64_t t = 0; t <= 300 * 10; t++) {
		uint64_t ph = t % 50;

		growth_state_push(&x.s, &x.p, SEC + t * SEC / 10,
				  300 * MIB + ph * 32 * MIB / 50 + t * MIB / 10);
		if (t % 10 == 0)
			run_ticks(&x, SEC + t * SEC / 10, SEC + t * SEC / 10);
	}
	assert_int_equal(x.detected, 1);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_SAWTOOTH);
	assert_true(x.r.rate_bytes_per_sec > (int64_t)(MIB * 9 / 10));
	assert_true(x.r.rate_bytes_per_sec < (int64_t)(MIB * 11 / 10));
}

/* An oscillation faster than the minute scale's 16 s buckets (period 14 s,
 * 40 MiB peak to peak): every coarse bucket spans the range, as a GC's
 * sawtooth does ("sawtooth" before); the 1 s and 4 s scales resolve it,
 * with as many falls as rises and no sharp drop: oscillating, no leak */
static void test_growth_state_evaluate_fast_oscillation(void **state)
{
	struct run x;

	run_init(&x);
	for (uint64_t t = 0; t <= 240 * 10; t++) { /* 100 ms steps */
		double v = 200.0 * MIB + 20.0 * MIB * (1 + sin(2 * M_PI * (double)t / 140));

		growth_state_push(&x.s, &x.p, SEC + t * SEC / 10, (uint64_t)v);
		if (t % 10 == 0)
			run_ticks(&x, SEC + t * SEC / 10, SEC + t * SEC / 10);
	}
	assert_int_equal(x.detected, 0);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_OSCILLATING);
	assert_int_equal(x.r.rate_bytes_per_sec, 0);
}

/* A staircase of 1.5 MiB kept every 10 s (150 KiB/s): each step is one
 * record's worth, under the 2 MiB a step needed before; a burst, a leak */
static void test_growth_state_evaluate_slow_staircase(void **state)
{
	struct run x;

	run_init(&x);
	for (uint64_t t = 0; t <= 300 * 10; t++) { /* 100 ms steps */
		uint64_t v = 100 * MIB + (t / 100) * (3 * MIB / 2);

		growth_state_push(&x.s, &x.p, SEC + t * SEC / 10, v);
		if (t % 10 == 0)
			run_ticks(&x, SEC + t * SEC / 10, SEC + t * SEC / 10);
	}
	assert_int_equal(x.detected, 1);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_BURST);
}

/* A 1 MiB/s leak that begins 60 s into a flat series (100 MiB, allocator
 * noise): flat, then straight. The coarse windows hold both, and their
 * halves' slopes say "speeding up"; the bend from the series' bottom says
 * straight: linear for (nearly) every tick from 20 s after the onset (58
 * of 120 ticks were "accelerating" before that test) */
static void test_growth_state_evaluate_linear_after_flat(void **state)
{
	struct run x;
	uint64_t seed = 777, last = 0;
	double noise = 0;
	unsigned linear = 0, accelerating = 0;

	run_init(&x);
	for (uint64_t t = 0; t <= 2000; t++) { /* 100 ms steps, 200 s */
		double s = t / 10.0;
		uint64_t v;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		noise = noise * 0.98 +
			((double)(seed >> 11) / 9007199254740992.0 - 0.5) * 0.3 * MIB;
		v = (uint64_t)(100.0 * MIB + (s > 60 ? (s - 60) * MIB : 0) + noise);
		if (t == 0 || (v > last ? v - last : last - v) >= MIB || t % 10 == 0) {
			growth_state_push(&x.s, &x.p, SEC + t * SEC / 10, v);
			last = v;
		}
		if (t % 10 == 0) {
			run_ticks(&x, SEC + t * SEC / 10, SEC + t * SEC / 10);
			if (s > 80) {
				linear += x.r.pattern == GROWTH_PATTERN_LINEAR;
				accelerating += x.r.pattern == GROWTH_PATTERN_ACCELERATING;
			}
		}
	}
	assert_int_equal(x.detected, 1);
	assert_true(linear >= 114);
	assert_true(accelerating <= 6);
}

/* Growth doubling every 80 s from 1 MiB/s (100 MiB, allocator noise): over
 * the minute scale's window its halves differ by less than 1.6x, but the
 * rise bends up beyond doubt: accelerating on every tick from 100 s on (89
 * of 100 before the bend test) */
static void test_growth_state_evaluate_slow_doubling(void **state)
{
	struct run x;
	uint64_t seed = 5, last = 0;
	double noise = 0;
	unsigned accelerating = 0;

	run_init(&x);
	for (uint64_t t = 0; t <= 2000; t++) { /* 100 ms steps, 200 s */
		double s = t / 10.0;
		uint64_t v;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		noise = noise * 0.98 +
			((double)(seed >> 11) / 9007199254740992.0 - 0.5) * 0.3 * MIB;
		v = (uint64_t)(100.0 * MIB + MIB * 80 / M_LN2 * (exp2(s / 80) - 1) + noise);
		if (t == 0 || (v > last ? v - last : last - v) >= MIB || t % 10 == 0) {
			growth_state_push(&x.s, &x.p, SEC + t * SEC / 10, v);
			last = v;
		}
		if (t % 10 == 0) {
			run_ticks(&x, SEC + t * SEC / 10, SEC + t * SEC / 10);
			if (s > 100)
				accelerating += x.r.pattern == GROWTH_PATTERN_ACCELERATING;
		}
	}
	assert_int_equal(x.detected, 1);
	assert_int_equal(accelerating, 100);
}

static void test_growth_state_evaluate_shrinking(void **state)
{
	struct run x;

	run_init(&x);
	for (uint64_t t = 1; t <= 200; t++) {
		growth_state_push(&x.s, &x.p, t * SEC, (1000 - t) * MIB);
		run_ticks(&x, t * SEC, t * SEC);
	}
	assert_int_equal(x.detected, 0);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_SHRINKING);
	assert_true(x.r.rate_bytes_per_sec < -(int64_t)(MIB * 9 / 10));
}

/* A cache warming up: 1 GiB filling as 1 - exp(-t / 8 s) on a 100 MiB
 * process, 40 s into its life, with allocator noise (a standing 0.5% + 256
 * KiB) and a record per MiB moved or per second. Its tail is steady at the
 * 16 s scale while the minute scale saw it slow down from ~128 MiB/s: growth
 * slowing across scales is no leak (the harness's most common false alarm
 * before; docs/policy.md, "multi-scale agreement"). */
/* a cache filling up after 40 s idle: base + amp * (1 - exp(-(s - 40) / tau)),
 * with allocator noise (`churn` x 0.5% of the base + 256 KiB), records per
 * 1 MiB moved or per second; the detections */
static unsigned warmup_detections(double base_mib, double amp_mib, double tau, double churn)
{
	struct run x;
	uint64_t seed = 12345, last = 0;
	double noise = 0, sigma = churn * (0.005 * base_mib * MIB + 256 * 1024);

	run_init(&x);
	for (uint64_t t = 0; t <= 1500; t++) { /* 100 ms steps, 150 s */
		double s = t / 10.0, fill = s > 40 ? 1 - exp(-(s - 40) / tau) : 0;
		uint64_t v;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		noise = noise * 0.98 + ((double)(seed >> 11) / 9007199254740992.0 - 0.5) * sigma;
		v = (uint64_t)(base_mib * MIB + fill * amp_mib * MIB + noise);
		if (t == 0 || (v > last ? v - last : last - v) >= MIB || t % 10 == 0) {
			growth_state_push(&x.s, &x.p, SEC + t * SEC / 10, v);
			last = v;
		}
		if (t % 10 == 0)
			run_ticks(&x, SEC + t * SEC / 10, SEC + t * SEC / 10);
	}
	return x.detected;
}

static void test_growth_state_evaluate_warmup_not_a_leak(void **state)
{
	assert_int_equal(warmup_detections(100, 1024, 8, 1), 0);
	/* slow fills, as tests/accuracy/traces' redis-cache-fill (tau 20 s,
	 * 260 MiB) and python-cache-warmup (tau 10 s, 160 MiB): their first
	 * 8 s look like a leak of 11-14 MiB/s, but the rise bends down
	 * significantly (the quadratic's curvature) before it would alarm
	 * (these alarmed at 48-50 s before that test) */
	assert_int_equal(warmup_detections(12, 260, 20, 0.3), 0);
	assert_int_equal(warmup_detections(8, 160, 10, 0.3), 0);
}

/* ... while a leak that follows a startup ramp is seen: 200 MiB in 2 s at
 * the start, 40 s still, then 1 MiB/s */
static void test_growth_state_evaluate_leak_after_ramp(void **state)
{
	struct run x;

	run_init(&x);
	for (uint64_t t = 0; t <= 1200; t++) {
		double s = t / 10.0;
		uint64_t v = 10 * MIB + (uint64_t)(fmin(s, 2) / 2 * 200 * MIB) +
			     (s > 42 ? (uint64_t)((s - 42) * MIB) : 0);

		growth_state_push(&x.s, &x.p, SEC + t * SEC / 10, v);
		if (t % 10 == 0)
			run_ticks(&x, SEC + t * SEC / 10, SEC + t * SEC / 10);
	}
	assert_int_equal(x.detected, 1);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_LINEAR);
}

/* 64 MiB taken at the start and held (malloc_once): a plateau while the ramp
 * is recent, stable once a whole minute was flat (recorded malloc_once and
 * bytearray.py were "plateau" for minutes) */
static void test_growth_state_evaluate_startup_then_stable(void **state)
{
	struct run x;

	run_init(&x);
	growth_state_push(&x.s, &x.p, 1 * SEC, 1 * MIB);
	for (uint64_t i = 1; i <= 64; i++)
		growth_state_push(&x.s, &x.p, 1 * SEC + i * 1500, (1 + i) * MIB);
	run_ticks(&x, 2 * SEC, 40 * SEC);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_PLATEAU);
	run_ticks(&x, 41 * SEC, 120 * SEC);
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_STABLE);
	assert_int_equal(x.r.rate_bytes_per_sec, 0);
	assert_int_equal(x.detected, 0);
}

/* a shrink after the startup ramp: the 4-minute scale still holds the ramp
 * (up, then down), the minute below it only the shrink (recorded
 * memory_grower --pattern shrinking was "oscillating") */
static void test_growth_state_evaluate_shrink_after_ramp(void **state)
{
	struct run x;

	run_init(&x);
	growth_state_push(&x.s, &x.p, 1 * SEC, 1 * MIB);
	for (uint64_t i = 1; i <= 120; i++)
		growth_state_push(&x.s, &x.p, 1 * SEC + i * 5000, (1 + i) * MIB);
	run_ticks(&x, 2 * SEC, 40 * SEC);
	for (uint64_t t = 41; t <= 120; t++) {
		growth_state_push(&x.s, &x.p, t * SEC, (121 - (t - 40)) * MIB);
		run_ticks(&x, t * SEC, t * SEC);
	}
	assert_int_equal(x.r.pattern, GROWTH_PATTERN_SHRINKING);
	assert_int_equal(x.detected, 0);
}

static void test_growth_state_hostile_values(void **state)
{
	struct run x;

	run_init(&x);
	/* beyond 16 TiB clamps; a day-long gap; evaluation before the newest */
	growth_state_push(&x.s, &x.p, 1, UINT64_MAX);
	growth_state_push(&x.s, &x.p, 2, 0);
	growth_state_push(&x.s, &x.p, 3, UINT64_MAX);
	growth_state_push(&x.s, &x.p, 86400 * SEC, 0);
	assert_int_equal(growth_state_evaluate(&x.s, &x.p, 1, &x.r), GROWTH_EVENT_NONE);
	assert_int_equal(x.r.bytes, 0);
	growth_state_push(&x.s, &x.p, UINT64_MAX - 1, 5 * MIB);
	growth_state_evaluate(&x.s, &x.p, UINT64_MAX, &x.r);
	assert_true(x.r.confidence_permyriad <= 10000);
	assert_true(x.r.pattern < _GROWTH_PATTERN_MAX);
}

static void test_growth_params_validate_and_names(void **state)
{
	struct growth_params p;

	growth_params_init(&p);
	assert_int_equal(growth_params_validate(&p), 0);
	p.end_permyriad = p.detect_permyriad;
	assert_int_equal(growth_params_validate(&p), -EINVAL);
	growth_params_init(&p);
	p.bucket_usec = 10;
	assert_int_equal(growth_params_validate(&p), -EINVAL);
	for (unsigned i = 0; i < _GROWTH_PATTERN_MAX; i++)
		assert_int_equal(growth_pattern_from_string(growth_pattern_to_string(i)), (int)i);
	assert_int_equal(growth_pattern_from_string("leaky"), -EINVAL);
	assert_string_equal(growth_pattern_to_string(999), "unknown");
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
		cmocka_unit_test(test_growth_state_push_order),
		cmocka_unit_test(test_growth_state_evaluate_quiet_after_burst),
		cmocka_unit_test(test_growth_state_evaluate_linear_episode),
		cmocka_unit_test(test_growth_state_evaluate_gc_sawtooth_not_a_leak),
		cmocka_unit_test(test_growth_state_evaluate_fast_oscillation),
		cmocka_unit_test(test_growth_state_evaluate_slow_staircase),
		cmocka_unit_test(test_growth_state_evaluate_linear_after_flat),
		cmocka_unit_test(test_growth_state_evaluate_slow_doubling),
		cmocka_unit_test(test_growth_state_evaluate_shrinking),
		cmocka_unit_test(test_growth_state_evaluate_warmup_not_a_leak),
		cmocka_unit_test(test_growth_state_evaluate_leak_after_ramp),
		cmocka_unit_test(test_growth_state_evaluate_startup_then_stable),
		cmocka_unit_test(test_growth_state_evaluate_shrink_after_ramp),
		cmocka_unit_test(test_growth_state_hostile_values),
		cmocka_unit_test(test_growth_params_validate_and_names),
		cmocka_unit_test(test_growth_time_to_limit_usec_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
