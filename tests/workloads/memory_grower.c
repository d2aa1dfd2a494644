// SPDX-License-Identifier: MIT
/* tests/workloads/memory_grower.c: grow (or shrink) its resident memory in a
 * chosen pattern at a chosen rate, touching every page it counts, and print one
 * JSON line per phase (start and end, CLOCK_BOOTTIME) so a test knows the truth. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define STEP_NS 10000000ULL /* the target is followed every 10 ms */

static const char *const patterns[] = { "linear", "accelerating", "oscillating", "burst",
					"stable", "sawtooth",	  "plateau",	 "shrinking" };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct grower {
	uint8_t *base;
	size_t cap_pages, pages; /* resident pages: [0, pages) */
	uint64_t seed;
};

/* Make exactly `want` pages resident: touch new ones (a write per page, with
 * the seed so no two runs share zero pages), drop the rest. */
static void grower_set(struct grower *g, size_t want)
{
	if (want > g->cap_pages)
		want = g->cap_pages;
	for (; g->pages < want; g->pages++)
		*(volatile uint64_t *)(g->base + g->pages * PAGE) = g->seed ^ g->pages;
	if (want < g->pages) {
		madvise(g->base + want * PAGE, (g->pages - want) * PAGE, MADV_DONTNEED);
		g->pages = want;
	}
}

static void phase_line(const char *event, const char *phase, const char *pattern, double rate,
		       const struct grower *g)
{
	printf("{\"event\":\"%s\",\"phase\":\"%s\",\"pattern\":\"%s\",\"t_usec\":%" PRIu64
	       ",\"t_mono_usec\":%" PRIu64
	       ",\"bytes\":%zu,\"rate_bytes_per_sec\":%.0f,\"pid\":%d}\n",
	       event, phase, pattern, now_ns(CLOCK_BOOTTIME) / 1000, now_ns(CLOCK_MONOTONIC) / 1000,
	       g->pages * PAGE, rate, (int)getpid());
	fflush(stdout);
}

static void help(void)
{
	printf("Usage: memory_grower --pattern P [--rate-mb R] [--duration-sec D] [--seed N]\n"
	       "                     [--base-mb B] [--hold-sec H] [--period-sec S] [--leak-mb L]\n"
	       "                     [--after-sec A]\n"
	       "Patterns: linear, accelerating (rate rises from 0 to 2R), oscillating\n"
	       "(amplitude R*S/2 around base), burst (R*S kept every S s), stable, sawtooth\n"
	       "(R MiB/s freed back every S s; troughs rise L MiB/s), plateau (R MiB/s for S s,\n"
	       "then flat), shrinking (from base down at R MiB/s).\n"
	       "Holds H s at base first and A s at the end (then exits; A < 0: until a signal).\n"
	       "Prints a JSON line at each phase's start and end.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pattern", required_argument, NULL, 'p' },
		{ "rate-mb", required_argument, NULL, 'r' },
		{ "duration-sec", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "base-mb", required_argument, NULL, 'b' },
		{ "hold-sec", required_argument, NULL, 'H' },
		{ "period-sec", required_argument, NULL, 'P' },
		{ "leak-mb", required_argument, NULL, 'l' },
		{ "after-sec", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	double rate_mb = 1, dur = 30, base_mb = 16, hold = 0, period = 0, leak_mb = 0, after = 0;
	const char *pattern = NULL;
	struct grower g = {};
	double mib = 1 << 20, cap_mb, rate, t;
	uint64_t t0, next;
	int c, pi = -1;

	while ((c = getopt_long(argc, argv, "p:r:d:s:b:H:P:l:a:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'p':
			pattern = optarg;
			break;
		case 'r':
			rate_mb = atof(optarg);
			break;
		case 'd':
			dur = atof(optarg);
			break;
		case 's':
			g.seed = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			base_mb = atof(optarg);
			break;
		case 'H':
			hold = atof(optarg);
			break;
		case 'P':
			period = atof(optarg);
			break;
		case 'l':
			leak_mb = atof(optarg);
			break;
		case 'a':
			after = atof(optarg);
			break;
		case 'h':
			help();
			return 0;
		default:
			return 2;
		}
	}
	for (size_t i = 0; pattern && i < sizeof(patterns) / sizeof(*patterns); i++)
		if (strcmp(pattern, patterns[i]) == 0)
			pi = (int)i;
	if (pi < 0 || rate_mb < 0 || dur <= 0 || base_mb < 0 || hold < 0 || period < 0 ||
	    leak_mb < 0) {
		fprintf(stderr,
			"memory_grower: a --pattern (%s, ...) and non-negative values "
			"are required; see --help\n",
			patterns[0]);
		return 2;
	}
	if (!period)
		period = pi == 2 ? 20 : pi == 3 ? 5 : pi == 5 ? 10 : pi == 6 ? 10 : 1;
	if (pi == 7 && base_mb < rate_mb * dur + 4)
		base_mb = rate_mb * dur + 4;
	cap_mb = base_mb + rate_mb * dur * 2 + leak_mb * dur + rate_mb * period + 16;
	g.cap_pages = (size_t)(cap_mb * mib / PAGE);
	g.base = mmap(NULL, g.cap_pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (g.base == MAP_FAILED) {
		fprintf(stderr, "memory_grower: mmap of %.0f MiB failed: %s\n", cap_mb,
			strerror(errno));
		return 1;
	}
	/* no transparent huge pages: RSS should follow the pattern page by page */
	madvise(g.base, g.cap_pages * PAGE, MADV_NOHUGEPAGE);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	grower_set(&g, (size_t)(base_mb * mib / PAGE));
	phase_line("phase_start", "hold", pattern, 0, &g);
	for (t0 = now_ns(CLOCK_MONOTONIC); !stop && now_ns(CLOCK_MONOTONIC) - t0 < hold * 1e9;)
		usleep(10000);
	phase_line("phase_end", "hold", pattern, 0, &g);

	/* the long-term rate a detector should report for the pattern */
	rate = (pi == 0 || pi == 3) ? rate_mb * mib :
	       pi == 1		    ? 2 * rate_mb * mib :
	       pi == 5		    ? leak_mb * mib :
	       pi == 7		    ? -rate_mb * mib :
				      0;
	phase_line("phase_start", "pattern", pattern, rate, &g);
	t0 = now_ns(CLOCK_MONOTONIC);
	next = t0;
	while (!stop && (t = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9) < dur) {
		double b = base_mb * mib, r = rate_mb * mib, v = b;

		switch (pi) {
		case 0: /* linear */
			v = b + r * t;
			break;
		case 1: /* accelerating: rate 2 r t / dur */
			v = b + r * t * t / dur;
			break;
		case 2: /* oscillating */
			v = b + r * period / 2 * (1 - cos(2 * M_PI * t / period)) / 2;
			break;
		case 3: /* burst: a period's worth at its start */
			v = b + r * period * (floor(t / period) + 1);
			break;
		case 4: /* stable */
			v = b;
			break;
		case 5: /* sawtooth */
			v = b + r * fmod(t, period) + leak_mb * mib * t;
			break;
		case 6: /* plateau */
			v = b + r * fmin(t, period);
			break;
		case 7: /* shrinking */
			v = b - r * t;
			break;
		}
		grower_set(&g, (size_t)(fmax(v, 0) / PAGE));
		next += STEP_NS;
		{
			uint64_t n = now_ns(CLOCK_MONOTONIC);

			if (next > n)
				usleep((useconds_t)((next - n) / 1000));
		}
	}
	phase_line("phase_end", "pattern", pattern, rate, &g);
	phase_line("phase_start", "after", pattern, 0, &g);
	for (t0 = now_ns(CLOCK_MONOTONIC);
	     !stop && (after < 0 || now_ns(CLOCK_MONOTONIC) - t0 < after * 1e9);)
		usleep(10000);
	phase_line("phase_end", "after", pattern, 0, &g);
	munmap(g.base, g.cap_pages * PAGE);
	return 0;
}
