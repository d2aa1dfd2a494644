// SPDX-License-Identifier: MIT
/* policy/growth.c: least-squares growth rate over a process's recent RSS
 * samples. Numerically: times are taken relative to the oldest sample and in
 * seconds (double), so 16 samples of 2^40 bytes keep full precision. */
#include <errno.h>
#include <string.h>

#include "policy/growth.h"

void growth_window_init(struct growth_window *w)
{
	memset(w, 0, sizeof(*w));
}

static unsigned slot(const struct growth_window *w, unsigned i)
{
	/* i = 0 is the oldest sample */
	return (w->head + GROWTH_WINDOW_SAMPLES - w->count + i) % GROWTH_WINDOW_SAMPLES;
}

int growth_window_push(struct growth_window *w, uint64_t time_usec, uint64_t bytes)
{
	if (w->count > 0) {
		unsigned newest = slot(w, w->count - 1u);

		if (time_usec < w->time_usec[newest])
			return -EINVAL;
		if (time_usec == w->time_usec[newest]) {
			w->bytes[newest] = bytes;
			return 0;
		}
	}
	w->time_usec[w->head] = time_usec;
	w->bytes[w->head] = bytes;
	w->head = (uint8_t)((w->head + 1) % GROWTH_WINDOW_SAMPLES);
	if (w->count < GROWTH_WINDOW_SAMPLES)
		w->count++;
	return 0;
}

uint64_t growth_time_to_limit_usec(uint64_t usage_bytes, uint64_t limit_bytes,
				   int64_t rate_bytes_per_sec)
{
	uint64_t headroom, rate, secs, rem;

	if (limit_bytes == UINT64_MAX || rate_bytes_per_sec <= 0)
		return UINT64_MAX;
	if (usage_bytes >= limit_bytes)
		return 0;
	headroom = limit_bytes - usage_bytes;
	rate = (uint64_t)rate_bytes_per_sec;
	secs = headroom / rate;
	rem = headroom % rate;
	if (secs >= UINT64_MAX / 1000000)
		return UINT64_MAX;
	/* whole seconds, then the remainder, so neither step overflows */
	return secs * 1000000 + (uint64_t)((double)rem / (double)rate * 1e6);
}

int64_t growth_window_rate(const struct growth_window *w)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, n = w->count, den, slope;
	uint64_t t0, b0;

	if (w->count < 2)
		return 0;
	t0 = w->time_usec[slot(w, 0)];
	b0 = w->bytes[slot(w, 0)];
	for (unsigned i = 0; i < w->count; i++) {
		unsigned s = slot(w, i);
		double x = (double)(w->time_usec[s] - t0) / 1e6;
		double y = (double)w->bytes[s] - (double)b0;

		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
	}
	den = n * sxx - sx * sx;
	if (den <= 0)
		return 0;
	slope = (n * sxy - sx * sy) / den;
	if (slope > (double)INT64_MAX)
		return INT64_MAX;
	if (slope < (double)INT64_MIN)
		return INT64_MIN;
	return (int64_t)slope;
}
