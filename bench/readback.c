// SPDX-License-Identifier: MIT
/*
 * bench/readback.c: the floor under libarena's first-access latency, without
 * libarena. A compressed 4 KiB page comes back into memory whose page went to the
 * kernel; two ways to do that, on the same pages in the same random order:
 *
 *   populate: MADV_POPULATE_WRITE (the kernel allocates and clears a page), then
 *             LZ4 decodes into it. libarena's default path.
 *   uffd:     LZ4 decodes into a warm scratch page, then UFFDIO_COPY has the kernel
 *             allocate a page and fill it from the scratch copy (no clear, no
 *             separate populate call, no first-write page walk). Needs the region
 *             registered with a userfaultfd. libarena with ARENA_CONFIG_USERFAULTFD.
 *
 * Each path decodes its own copy of the compressed pages (comp_a, comp_b: separate
 * allocations, identical bytes), and which path goes first alternates page by page
 * (even steps populate first, odd steps uffd first). An earlier version had both
 * paths decode the same buffer, populate always first, so uffd always read input
 * that populate had just brought into cache: a bias in uffd's favour.
 *
 * Prints p50/p99 per data kind; exits non-zero only if the bytes differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench/daemon-util.h"
#include "tests/workloads/workload.h"

#define PAGE 4096U
#define BOUND LZ4_COMPRESSBOUND(PAGE)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint8_t *map_region(size_t n)
{
	uint8_t *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, n, MADV_NOHUGEPAGE); /* as libarena's regions */
	return p;
}

/* A userfaultfd with the region registered for missing pages, or -errno. */
static int uffd_open(uint8_t *region, size_t n)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)region, .len = n },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) < 0 || ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* populate: MADV_POPULATE_WRITE the page, decode into it, read it. Returns the ns. */
static uint64_t readback_populate(uint8_t *page, const char *in, int size, int *failures)
{
	uint64_t t0 = now_ns();

	(void)madvise(page, PAGE, MADV_POPULATE_WRITE);
	if (LZ4_decompress_safe(in, (char *)page, size, PAGE) != (int)PAGE)
		(*failures)++;
	(void)*(volatile uint8_t *)page;
	return now_ns() - t0;
}

/* uffd: decode into scratch, UFFDIO_COPY it into the missing page, read it. */
static uint64_t readback_uffd(int uffd, uint8_t *page, uint8_t *scratch, const char *in, int size,
			      int *failures)
{
	struct uffdio_copy cp = {
		.dst = (uintptr_t)page,
		.src = (uintptr_t)scratch,
		.len = PAGE,
	};
	uint64_t t0 = now_ns();

	if (LZ4_decompress_safe(in, (char *)scratch, size, PAGE) != (int)PAGE ||
	    ioctl(uffd, UFFDIO_COPY, &cp) < 0)
		(*failures)++;
	(void)*(volatile uint8_t *)page;
	return now_ns() - t0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pages", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static const enum wl_data kinds[] = { WL_DATA_ZERO_HEAVY, WL_DATA_TEXT, WL_DATA_MIXED };
	static uint8_t scratch[PAGE] __attribute__((aligned(PAGE)));
	unsigned pages = 8192, reps = 3;
	int c, failures = 0;

	while ((c = getopt_long(argc, argv, "n:r:qh", opts, NULL)) >= 0) {
		switch (c) {
		case 'n':
			pages = (unsigned)atoi(optarg);
			break;
		case 'r':
			reps = (unsigned)atoi(optarg);
			break;
		case 'q':
			pages = 512;
			reps = 1;
			break;
		default:
			printf("Usage: readback [--pages N (default 8192)] [--reps N (default 3)] [--quick]\n"
			       "The floor under libarena's first-access latency: MADV_POPULATE_WRITE +\n"
			       "LZ4 decode into the page, against LZ4 decode into scratch + UFFDIO_COPY,\n"
			       "on the workloads' zero-heavy (heap pages only), text and mixed data.\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (pages < 16 || pages > (1U << 20) || reps < 1 || reps > 64)
		return fprintf(stderr, "bad --pages or --reps\n"), 2;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t n = (size_t)pages * PAGE;
		/* one compressed copy per path, so neither decodes input the other warmed */
		uint8_t *src = malloc(n), *comp_a = malloc((size_t)pages * BOUND),
			*comp_b = malloc((size_t)pages * BOUND);
		uint8_t *ra = map_region(n), *rb = map_region(n);
		uint64_t *la = calloc(pages, 8), *lb = calloc(pages, 8);
		unsigned *order = calloc(pages, sizeof(unsigned)), m = 0;
		int *size = calloc(pages, sizeof(int)), uffd;
		double a50[64], a99[64], b50[64], b99[64];
		struct wl_rng rng;

		if (!src || !comp_a || !comp_b || !ra || !rb || !la || !lb || !order || !size)
			return fprintf(stderr, "out of memory\n"), 1;
		/* non-zero pages only: all-zero ones are stored as nothing */
		for (unsigned i = 0, id = 0; i < pages; id++) {
			uint8_t *p = src + (size_t)i * PAGE;

			wl_page_fill(kinds[k], 1, id, 1, p);
			if (p[0] == 0 && memcmp(p, p + 1, PAGE - 1) == 0)
				continue;
			size[i] = LZ4_compress_default(
				(char *)p, (char *)comp_a + (size_t)i * BOUND, PAGE, BOUND);
			if (size[i] <= 0)
				return fprintf(stderr, "LZ4 failed\n"), 1;
			memcpy(comp_b + (size_t)i * BOUND, comp_a + (size_t)i * BOUND,
			       (size_t)size[i]);
			order[i] = i;
			i++;
		}
		uffd = uffd_open(rb, n);
		if (uffd < 0) {
			printf("data=%s populate_p50_ns=n/a uffd=unavailable reason=%s\n",
			       wl_data_names[kinds[k]], strerror(-uffd));
			continue;
		}
		wl_rng_init(&rng, 1, 0x7262, (uint64_t)k);
		for (unsigned rep = 0; rep < reps; rep++) {
			for (unsigned i = pages; i > 1; i--) {
				unsigned j = (unsigned)wl_rng_below(&rng, i), t = order[i - 1];

				order[i - 1] = order[j];
				order[j] = t;
			}
			for (unsigned x = 0; x < pages; x++) {
				unsigned i = order[x];
				const char *in_a = (const char *)comp_a + (size_t)i * BOUND;
				const char *in_b = (const char *)comp_b + (size_t)i * BOUND;
				uint8_t *pa = ra + (size_t)i * PAGE, *pb = rb + (size_t)i * PAGE;

				/* alternate which path goes first */
				if (x % 2 == 0) {
					la[x] = readback_populate(pa, in_a, size[i], &failures);
					lb[x] = readback_uffd(uffd, pb, scratch, in_b, size[i],
							      &failures);
				} else {
					lb[x] = readback_uffd(uffd, pb, scratch, in_b, size[i],
							      &failures);
					la[x] = readback_populate(pa, in_a, size[i], &failures);
				}
			}
			if (memcmp(ra, src, n) != 0 || memcmp(rb, src, n) != 0) {
				fprintf(stderr, "readback: bytes differ\n");
				failures++;
			}
			(void)madvise(ra, n, MADV_DONTNEED);
			(void)madvise(rb, n, MADV_DONTNEED);
			qsort(la, pages, 8, cmp_u64);
			qsort(lb, pages, 8, cmp_u64);
			a50[m] = (double)la[pages / 2];
			a99[m] = (double)la[pages * 99 / 100];
			b50[m] = (double)lb[pages / 2];
			b99[m] = (double)lb[pages * 99 / 100];
			m++;
		}
		printf("data=%s pages=%u reps=%u populate_p50_ns=%.0f populate_p99_ns=%.0f "
		       "uffd_p50_ns=%.0f uffd_p99_ns=%.0f uffd_vs_populate_p50=%.3f\n",
		       wl_data_names[kinds[k]], pages, reps, bench_median(a50, (int)m),
		       bench_median(a99, (int)m), bench_median(b50, (int)m),
		       bench_median(b99, (int)m),
		       bench_median(b50, (int)m) / bench_median(a50, (int)m));
		close(uffd);
		munmap(ra, n);
		munmap(rb, n);
		free(src);
		free(comp_a);
		free(comp_b);
		free(la);
		free(lb);
		free(order);
		free(size);
	}
	return failures ? 1 : 0;
}
