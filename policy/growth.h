/* SPDX-License-Identifier: MIT */
/* policy/growth.h: a process's RSS series and its growth rate (least squares).
 * Pure: fed with (time, bytes) samples, returns numbers; no I/O, no clocks. */
#pragma once

#include <stdint.h>

#define GROWTH_WINDOW_SAMPLES 16

/* Fixed-size ring of the most recent samples; times are CLOCK_BOOTTIME usec. */
struct growth_window {
	uint64_t time_usec[GROWTH_WINDOW_SAMPLES];
	uint64_t bytes[GROWTH_WINDOW_SAMPLES];
	uint8_t head; /* next slot to write */
	uint8_t count;
};

void growth_window_init(struct growth_window *w);
/* Add a sample. A sample older than the newest is ignored (returns -EINVAL);
 * one at the same time replaces the newest. Returns 0. */
int growth_window_push(struct growth_window *w, uint64_t time_usec, uint64_t bytes);
/* Least-squares slope in bytes per second over the window; 0 with fewer than
 * two samples or when all samples share one time. */
int64_t growth_window_rate(const struct growth_window *w);

/* At rate_bytes_per_sec, how long until usage reaches limit: UINT64_MAX when
 * never (rate <= 0, no limit: limit == UINT64_MAX) or too far to count in
 * usec; 0 when already at or over the limit. */
uint64_t growth_time_to_limit_usec(uint64_t usage_bytes, uint64_t limit_bytes,
				   int64_t rate_bytes_per_sec);
