// SPDX-License-Identifier: MIT
/* bench/growth.c: what policy/growth costs memctld per tracked process: the
 * state's bytes, and the time of one evaluation (the daemon evaluates every
 * process each tick) over 10,000 series with 5 minutes of history each. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/growth.h"

#define SEC 1000000ULL

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned n = 10000, reps = 15;
	struct growth_params p;
	struct growth_state *s;
	struct growth_result r;
	double t[64], sink = 0;
	uint64_t now = 301 * SEC;
	static const char *const kinds[] = { "flat", "linear", "GC sawtooth",
					     "quiet after a burst" };
	int c;

	while ((c = getopt(argc, argv, "n:r:h")) >= 0) {
		if (c == 'n')
			n = (unsigned)atoi(optarg);
		else if (c == 'r')
			reps = (unsigned)atoi(optarg) % 64 ?: 1;
		else {
			printf("Usage: growth [-n SERIES] [-r REPS]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	growth_params_init(&p);
	s = calloc(n, sizeof(*s));
	if (!s)
		return 1;
	/* a mix: a quarter each flat, linear, GC sawtooth, quiet after a burst;
	 * a record per second (or per MiB) as the coalesced records come */
	for (unsigned i = 0; i < n; i++) {
		growth_state_init(&s[i]);
		for (uint64_t k = 1; k <= 300; k++) {
			double v = 100e6 + (i % 97) * 1e6;

			switch (i % 4) {
			case 1:
				v += (double)k * 65536 * (1 + i % 7);
				break;
			case 2:
				v += fmod((double)k, 10) * 4e6;
				break;
			case 3:
				v += k > 100 ? 64e6 : 0;
				break;
			}
			if (i % 4 == 3 && k > 101)
				break; /* quiet: no more records */
			growth_state_push(&s[i], &p, k * SEC, (uint64_t)v);
		}
	}
	/* all series, then each kind alone (every 4th series) */
	for (int kind = -1; kind < 4; kind++) {
		for (unsigned k = 0; k < reps; k++) {
			double t0 = now_sec();
			unsigned m = 0;

			for (unsigned i = kind < 0 ? 0 : (unsigned)kind; i < n;
			     i += kind < 0 ? 1 : 4) {
				growth_state_evaluate(&s[i], &p, now + k * SEC, &r);
				sink += r.confidence_permyriad;
				m++;
			}
			t[k] = (now_sec() - t0) / m * 1e9;
		}
		qsort(t, reps, sizeof(*t), cmp_d);
		if (kind < 0)
			printf("growth: state %zu B + result %zu B per series; %u series: evaluate "
			       "median %.0f ns (min %.0f, max %.0f) per series, %.1f ms per tick "
			       "for all%s\n",
			       sizeof(struct growth_state), sizeof(struct growth_result), n,
			       t[reps / 2], t[0], t[reps - 1], t[reps / 2] * n / 1e6,
			       sink < 0 ? "" : "");
		else
			printf("growth: %s series: median %.0f ns per series\n", kinds[kind],
			       t[reps / 2]);
	}
	free(s);
	return 0;
}
