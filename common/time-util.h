/* SPDX-License-Identifier: MIT */
/* common/time-util.h: clock helpers. One unit per name: _usec, _nsec, _msec. */
#pragma once

#include <stdint.h>
#include <time.h>

#define USEC_PER_SEC UINT64_C(1000000)
#define NSEC_PER_SEC UINT64_C(1000000000)
#define NSEC_PER_USEC UINT64_C(1000)
#define NSEC_PER_MSEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)

static inline uint64_t timespec_nsec(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

static inline uint64_t clock_nsec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return timespec_nsec(&ts);
}

static inline uint64_t now_usec(clockid_t clock)
{
	return clock_nsec(clock) / NSEC_PER_USEC;
}
