/* SPDX-License-Identifier: MIT */
/* tests/unit/unit-util.h: helpers shared by the unit tests (include after cmocka.h). */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* This process's resident set from /proc/self/statm, in bytes; fails the test when
 * it cannot be read. */
static inline uint64_t unit_rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	assert_non_null(f);
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	assert_int_equal(n, 2);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}
