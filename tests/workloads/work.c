// SPDX-License-Identifier: MIT
/* tests/workloads/work.c: the profiler seed's workload: `work MB R|L ITERATIONS`
 * allocates MB MiB and touches it, randomly (R) or with locality (L), for
 * ITERATIONS iterations of WORK_ACCESSES accesses; one JSON line at the end. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Accesses per iteration: 100 keeps the report's first experiment (`work 1024 R
 * 50000`, 5 x 10^6 random page writes, half of them faults from zram in a 1 GiB
 * cgroup shared with a second 1 GiB process) within a minute on this machine. */
#define WORK_ACCESSES 100
/* L: each access falls in a window of this many pages that slides one page
 * per iteration, so the working set stays small (4 MiB) */
#define WORK_WINDOW_PAGES 1024
#define PAGE 4096

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t seed = (uint64_t)getpid() * 2654435761ULL, pages, iterations, sum = 0;
	char *end, mode;
	double t0;
	long mb;
	uint8_t *mem;

	if (argc != 4 || (argv[2][0] != 'R' && argv[2][0] != 'L') || argv[2][1]) {
		fprintf(stderr,
			"Usage: work MB R|L ITERATIONS\n"
			"Touch MB MiB randomly (R) or with locality (L), ITERATIONS x %d "
			"accesses.\n",
			WORK_ACCESSES);
		return 2;
	}
	mb = strtol(argv[1], &end, 10);
	if (*end || mb <= 0 || mb > (1L << 20)) {
		fprintf(stderr, "work: MB must be 1 .. 1048576\n");
		return 2;
	}
	iterations = strtoull(argv[3], &end, 10);
	if (*end || iterations == 0) {
		fprintf(stderr, "work: ITERATIONS must be a positive number\n");
		return 2;
	}
	mode = argv[2][0];
	pages = (uint64_t)mb * (1 << 20) / PAGE;
	/* not touched up front: the first touch of each page is a fault, as in the seed */
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("work: mmap");
		return 1;
	}
	t0 = now_sec();
	for (uint64_t i = 0; i < iterations; i++) {
		uint64_t base = i % pages;

		for (int j = 0; j < WORK_ACCESSES; j++) {
			uint64_t r = splitmix(&seed), p;

			if (mode == 'R')
				p = r % pages;
			else
				p = (base + r % WORK_WINDOW_PAGES) % pages;
			mem[p * PAGE + (r >> 52) % PAGE] += 1;
			sum += mem[p * PAGE];
		}
	}
	printf("{\"event\":\"done\",\"mb\":%ld,\"mode\":\"%c\",\"iterations\":%" PRIu64
	       ",\"seconds\":%.3f,\"pid\":%d,\"checksum\":%" PRIu64 "}\n",
	       mb, mode, iterations, now_sec() - t0, (int)getpid(), sum);
	munmap(mem, pages * PAGE);
	return 0;
}
