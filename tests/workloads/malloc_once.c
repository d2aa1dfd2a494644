// SPDX-License-Identifier: MIT
/* tests/workloads/malloc_once.c: allocate N MiB once with malloc, touch every
 * page, print one JSON line, then hold still (the "quiet after a burst" case). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct timespec b, m;
	double hold = -1;
	size_t mb;
	char *p;

	if (argc < 2 || argc > 3 || atof(argv[1]) <= 0) {
		fprintf(stderr,
			"Usage: malloc_once MIB [HOLD_SEC]\n"
			"Allocate MIB MiB, touch it, hold HOLD_SEC s (default: until a signal).\n");
		return 2;
	}
	mb = (size_t)atof(argv[1]);
	if (argc == 3)
		hold = atof(argv[2]);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	p = malloc(mb << 20);
	if (!p) {
		fprintf(stderr, "malloc_once: cannot allocate %zu MiB\n", mb);
		return 1;
	}
	for (size_t i = 0; i < mb << 20; i += 4096)
		p[i] = (char)(i >> 12 | 1);
	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_MONOTONIC, &m);
	printf("{\"event\":\"allocated\",\"bytes\":%zu,\"t_usec\":%" PRIu64
	       ",\"t_mono_usec\":%" PRIu64 ",\"pid\":%d}\n",
	       mb << 20, (uint64_t)b.tv_sec * 1000000 + (uint64_t)b.tv_nsec / 1000,
	       (uint64_t)m.tv_sec * 1000000 + (uint64_t)m.tv_nsec / 1000, (int)getpid());
	fflush(stdout);
	for (double t = 0; !stop && (hold < 0 || t < hold); t += 0.05)
		usleep(50000);
	free(p);
	return 0;
}
