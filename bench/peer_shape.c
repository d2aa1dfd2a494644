// SPDX-License-Identifier: MIT
/*
 * bench/peer_shape.c: libarena on the experiment the closest public user-space LZ4 arena
 * benchmarks itself with, so the two can be compared figure by figure: a large region
 * filled with one pattern, byte 0 of every page flipped, the whole region compressed,
 * a pause, then a reread (part in order, part random with reuse), every touch timed.
 * Three contenders: the default arena, an LZ4-only arena, and the "bound" (the raw
 * codec plus the least page work). key=value lines; never asserts on speed; exits
 * non-zero only if a byte comes back wrong.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <lz4.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "arena/arena.h"
#include "tests/workloads/workload.h"

/* libarena's test hook (libarena.a only): the state of the chunk holding offset (2:
 * compressed). Read once for every page right after the compression, never during
 * the reread, so no touch is preceded by a look at its chunk; it exists in every
 * libarena version, so that the bench can be built against an older library and
 * run side by side with the current one. */
int arena_test_chunk_state(struct arena_region *region, size_t offset);

#define PAGE 4096U
#define ONE_VALUE 0x5aU /* the fill byte of "one value" pages */

enum pattern { PAT_ONE, PAT_ALT, PAT_RANDOM, _PAT_MAX };
enum contender { CON_DEFAULT, CON_LZ4, CON_BOUND, _CON_MAX };

static const char *const pattern_names[_PAT_MAX] = { "one", "alternating", "random" };
static const char *const contender_names[_CON_MAX] = { "default", "lz4", "bound" };

struct opts {
	size_t mb, cap_mb;
	unsigned reps;
	uint64_t seed;
	uint32_t patterns, contenders;
	unsigned pause_ms;
	double seq_share, rand_share;
	unsigned reuse;
};

/* What one run of the experiment measured. */
struct result {
	double ratio_e2e; /* logical / resident after the compression */
	double compress_ms; /* wall time of compressing the whole region */
	double reread_ms; /* wall time of both reread phases */
	uint64_t seq_p50, seq_p99, rand_p50, rand_p99; /* per touch, ns */
	uint64_t stall_p50, stall_p99; /* touches that decompressed, ns */
	uint64_t decompressed; /* touches that found their page compressed */
	uint64_t chunks_raw, chunks_by_codec[_ARENA_CODEC_MAX];
	uint64_t chunks_fill; /* compressed chunks in no codec's count: fill objects */
};

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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint64_t quantile(uint64_t *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the pattern: deterministic per page, so it can be checked without a copy ---- */

static bool page_is_random(enum pattern p, size_t page)
{
	return p == PAT_RANDOM || (p == PAT_ALT && (page & 1));
}

static void page_fill(enum pattern p, uint64_t seed, size_t page, uint8_t *dst)
{
	if (page_is_random(p, page)) {
		struct wl_rng r;

		wl_rng_init(&r, seed, page, 0x7065);
		for (size_t i = 0; i < PAGE; i += 8) {
			uint64_t v = wl_rng_next(&r);

			memcpy(dst + i, &v, 8);
		}
	} else {
		memset(dst, ONE_VALUE, PAGE);
	}
	dst[0] ^= 0xff; /* the experiment's "XOR byte 0 of every page" */
}

/* The touch sequence: seq_share of the pages in order from page 0, then rand_share of
 * the page count random touches, each either a repeat of the touch `reuse` before it
 * (probability 1/2) or a uniformly random page. */
struct touches {
	size_t *page;
	size_t n_seq, n;
};

static int touches_make(const struct opts *o, size_t pages, uint64_t seed, struct touches *t)
{
	struct wl_rng r;

	t->n_seq = (size_t)(o->seq_share * (double)pages);
	t->n = t->n_seq + (size_t)(o->rand_share * (double)pages);
	t->page = malloc((t->n ? t->n : 1) * sizeof(*t->page));
	if (!t->page)
		return -ENOMEM;
	wl_rng_init(&r, seed, 0x746f75, 1);
	for (size_t i = 0; i < t->n_seq; i++)
		t->page[i] = i;
	for (size_t i = t->n_seq; i < t->n; i++) {
		size_t k = i - t->n_seq;

		if (k >= o->reuse && (wl_rng_next(&r) & 1))
			t->page[i] = t->page[i - o->reuse];
		else
			t->page[i] = (size_t)wl_rng_below(&r, pages);
	}
	return 0;
}

/* ---- the arena contenders ---- */

static int run_arena(const struct opts *o, enum pattern p, bool lz4_only, const struct touches *t,
		     uint8_t *expect, struct result *res)
{
	size_t bytes = o->mb << 20, pages = bytes / PAGE;
	struct arena_config cfg;
	struct arena_region *reg = NULL;
	struct arena *a = NULL;
	struct arena_stats st;
	uint64_t *lat = NULL, *stall = NULL, t0, n_stall = 0;
	uint8_t *base, *compressed = NULL;
	void *ptr;
	int r;

	arena_config_init(&cfg);
	cfg.store_capacity_bytes = (uint64_t)o->cap_mb << 20;
	if (lz4_only)
		cfg.codecs = ARENA_CODECS_LZ4;
	r = arena_new(&cfg, &a);
	if (r < 0)
		goto out;
	r = arena_region_alloc(a, bytes, 0, &reg);
	if (r < 0)
		goto out;
	r = arena_pin(reg, 0, bytes, ARENA_PIN_WRITE, &ptr);
	if (r < 0)
		goto out;
	base = ptr;
	for (size_t i = 0; i < pages; i++)
		page_fill(p, o->seed, i, base + i * PAGE);
	(void)arena_unpin(reg, 0, bytes);

	t0 = now_ns();
	r = arena_region_compress(reg, 0, bytes, NULL, NULL);
	res->compress_ms = (double)(now_ns() - t0) / 1e6;
	if (r < 0)
		goto out;
	r = arena_stats_get(a, &st);
	if (r < 0)
		goto out;
	res->ratio_e2e = st.ratio_e2e_post_comp;
	res->chunks_raw = st.chunks_raw;
	memcpy(res->chunks_by_codec, st.chunks_by_codec, sizeof(res->chunks_by_codec));
	res->chunks_fill = st.chunks_total - st.chunks_raw - st.chunks_zero;
	for (unsigned c = 0; c < _ARENA_CODEC_MAX; c++)
		res->chunks_fill -= st.chunks_by_codec[c];
	compressed = malloc(pages);
	if (!compressed) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < pages; i++)
		compressed[i] = arena_test_chunk_state(reg, i * PAGE) == 2;
	usleep(o->pause_ms * 1000U);

	lat = malloc((t->n ? t->n : 1) * sizeof(*lat));
	stall = malloc((t->n ? t->n : 1) * sizeof(*stall));
	if (!lat || !stall) {
		r = -ENOMEM;
		goto out;
	}
	t0 = now_ns();
	for (size_t i = 0; i < t->n; i++) {
		size_t pg = t->page[i];
		uint64_t s = now_ns(), e;
		uint8_t v;

		r = arena_pin(reg, pg * PAGE, 1, ARENA_PIN_READ, &ptr);
		if (r < 0)
			goto out;
		v = *(volatile uint8_t *)ptr;
		(void)arena_unpin(reg, pg * PAGE, 1);
		e = now_ns();
		lat[i] = e - s;
		page_fill(p, o->seed, pg, expect);
		if (v != expect[0]) {
			fprintf(stderr, "peer_shape: %s/%s page %zu byte 0 wrong\n",
				pattern_names[p], lz4_only ? "lz4" : "default", pg);
			r = -EBADMSG;
			goto out;
		}
		/* the touch that found its page compressed: the first one of that page */
		if (compressed[pg]) {
			stall[n_stall++] = lat[i];
			compressed[pg] = 0;
		}
	}
	res->reread_ms = (double)(now_ns() - t0) / 1e6;
	r = arena_stats_get(a, &st);
	if (r < 0)
		goto out;
	res->decompressed = n_stall;
	res->seq_p99 = quantile(lat, t->n_seq, 0.99);
	res->seq_p50 = quantile(lat, t->n_seq, 0.50);
	res->rand_p99 = quantile(lat + t->n_seq, t->n - t->n_seq, 0.99);
	res->rand_p50 = quantile(lat + t->n_seq, t->n - t->n_seq, 0.50);
	res->stall_p50 = st.stall_p50_ns;
	res->stall_p99 = st.stall_p99_ns;

	/* every byte of every page, after the experiment */
	for (size_t i = 0; i < pages; i++) {
		r = arena_pin(reg, i * PAGE, PAGE, ARENA_PIN_READ, &ptr);
		if (r < 0)
			goto out;
		page_fill(p, o->seed, i, expect);
		r = memcmp(ptr, expect, PAGE) ? -EBADMSG : 0;
		(void)arena_unpin(reg, i * PAGE, PAGE);
		if (r < 0) {
			fprintf(stderr, "peer_shape: %s/%s page %zu differs after readback\n",
				pattern_names[p], lz4_only ? "lz4" : "default", i);
			goto out;
		}
	}
out:
	free(lat);
	free(stall);
	free(compressed);
	arena_region_free(reg);
	arena_free(a);
	return r < 0 ? r : 0;
}

/* ---- the bound: LZ4 (acceleration 1) straight into a packed buffer, one
 * MADV_DONTNEED per run of released pages, a decode straight into the faulting
 * page on first touch ---- */

static int run_bound(const struct opts *o, enum pattern p, const struct touches *t, uint8_t *expect,
		     struct result *res)
{
	size_t bytes = o->mb << 20, pages = bytes / PAGE, cap = (size_t)o->cap_mb << 20, used = 0;
	uint32_t need = PAGE - PAGE * 5 / 100; /* the arena's default 5% admission */
	uint8_t *base = MAP_FAILED, *store = NULL;
	uint64_t *lat = NULL, *stall = NULL, t0, n_stall = 0;
	uint32_t *off = NULL, *size = NULL;
	void *lz4_state = NULL;
	int r = 0;

	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	store = malloc(cap);
	off = calloc(pages, sizeof(*off));
	size = calloc(pages, sizeof(*size)); /* 0: raw */
	lz4_state = malloc((size_t)LZ4_sizeofState());
	lat = malloc((t->n ? t->n : 1) * sizeof(*lat));
	stall = malloc((t->n ? t->n : 1) * sizeof(*stall));
	if (base == MAP_FAILED || !store || !off || !size || !lz4_state || !lat || !stall) {
		r = -ENOMEM;
		goto out;
	}
	(void)madvise(base, bytes, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < pages; i++)
		page_fill(p, o->seed, i, base + i * PAGE);
	/* the store's pages are part of what is measured, as in the arena */
	memset(store, 0, cap);
	(void)madvise(store, cap, MADV_DONTNEED);

	t0 = now_ns();
	for (size_t i = 0, run = 0; i <= pages; i++) {
		int sz = 0;

		if (i < pages && used + PAGE <= cap)
			sz = LZ4_compress_fast_extState(lz4_state, (const char *)base + i * PAGE,
							(char *)store + used, PAGE, (int)need, 1);
		if (sz > 0) {
			off[i] = (uint32_t)used;
			size[i] = (uint32_t)sz;
			used += (size_t)sz;
			continue;
		}
		if (i > run)
			(void)madvise(base + run * PAGE, (i - run) * PAGE, MADV_DONTNEED);
		run = i + 1;
	}
	res->compress_ms = (double)(now_ns() - t0) / 1e6;
	{
		size_t raw = 0;

		for (size_t i = 0; i < pages; i++)
			raw += size[i] == 0;
		res->chunks_raw = raw;
		res->chunks_by_codec[ARENA_CODEC_LZ4] = pages - raw;
		res->ratio_e2e = (double)bytes / (double)(raw * PAGE + ((used + 4095) & ~4095UL));
	}
	usleep(o->pause_ms * 1000U);

	t0 = now_ns();
	for (size_t i = 0; i < t->n; i++) {
		size_t pg = t->page[i];
		uint64_t s = now_ns();
		bool dec = false;
		uint8_t v;

		if (size[pg] > 0) {
			if (LZ4_decompress_safe((const char *)store + off[pg],
						(char *)base + pg * PAGE, (int)size[pg],
						PAGE) != PAGE) {
				r = -EBADMSG;
				goto out;
			}
			size[pg] = 0;
			dec = true;
		}
		v = *(volatile uint8_t *)(base + pg * PAGE);
		lat[i] = now_ns() - s;
		if (dec)
			stall[n_stall++] = lat[i];
		page_fill(p, o->seed, pg, expect);
		if (v != expect[0]) {
			r = -EBADMSG;
			goto out;
		}
	}
	res->reread_ms = (double)(now_ns() - t0) / 1e6;
	res->decompressed = n_stall;
	res->seq_p99 = quantile(lat, t->n_seq, 0.99);
	res->seq_p50 = quantile(lat, t->n_seq, 0.50);
	res->rand_p99 = quantile(lat + t->n_seq, t->n - t->n_seq, 0.99);
	res->rand_p50 = quantile(lat + t->n_seq, t->n - t->n_seq, 0.50);
	res->stall_p99 = quantile(stall, n_stall, 0.99);
	res->stall_p50 = quantile(stall, n_stall, 0.50);
	for (size_t i = 0; i < pages && r == 0; i++) {
		if (size[i] > 0 &&
		    LZ4_decompress_safe((const char *)store + off[i], (char *)base + i * PAGE,
					(int)size[i], PAGE) != PAGE)
			r = -EBADMSG;
		page_fill(p, o->seed, i, expect);
		if (r == 0 && memcmp(base + i * PAGE, expect, PAGE) != 0)
			r = -EBADMSG;
	}
	if (r < 0)
		fprintf(stderr, "peer_shape: %s/bound differs after readback\n", pattern_names[p]);
out:
	if (base != MAP_FAILED)
		munmap(base, bytes);
	free(store);
	free(off);
	free(size);
	free(lz4_state);
	free(lat);
	free(stall);
	return r;
}

/* ---- driver ---- */

#define N_FIG 13
static const char *const fig_names[N_FIG] = {
	"ratio_e2e",   "compress_ms",  "seq_p50_ns",   "seq_p99_ns", "rand_p50_ns",
	"rand_p99_ns", "stall_p50_ns", "stall_p99_ns", "reread_ms",  "decompressed",
	"chunks_raw",  "chunks_zstd",  "chunks_fill",
};

static void result_figs(const struct result *r, double *f)
{
	f[0] = r->ratio_e2e;
	f[1] = r->compress_ms;
	f[2] = (double)r->seq_p50;
	f[3] = (double)r->seq_p99;
	f[4] = (double)r->rand_p50;
	f[5] = (double)r->rand_p99;
	f[6] = (double)r->stall_p50;
	f[7] = (double)r->stall_p99;
	f[8] = r->reread_ms;
	f[9] = (double)r->decompressed;
	f[10] = (double)r->chunks_raw;
	f[11] = (double)r->chunks_by_codec[ARENA_CODEC_ZSTD];
	f[12] = (double)r->chunks_fill;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: peer_shape [--mb N] [--cap-mb N] [--reps N] [--seed N] [--pause-ms N]\n"
		"                  [--patterns one,alternating,random] [--contenders default,lz4,bound]\n"
		"                  [--quick]\n"
		"Fill a region (default 256 MiB, store cap 128 MiB) with a pattern, flip byte 0 of\n"
		"every page, compress it all, pause 100 ms, reread 30%% of the pages in order and\n"
		"then 20%% random touches (reuse distance 64), timing each touch. Contenders run\n"
		"in rotating order per repetition (default 8); figures are medians.\n");
}

static int parse_mask(const char *arg, const char *const *names, unsigned n, uint32_t *ret)
{
	char buf[256], *save = NULL;
	uint32_t m = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned i;

		for (i = 0; i < n; i++)
			if (strcmp(tok, names[i]) == 0)
				break;
		if (i == n)
			return -EINVAL;
		m |= 1U << i;
	}
	if (!m)
		return -EINVAL;
	*ret = m;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "mb", required_argument, NULL, 'm' },
						  { "cap-mb", required_argument, NULL, 'c' },
						  { "reps", required_argument, NULL, 'r' },
						  { "seed", required_argument, NULL, 's' },
						  { "pause-ms", required_argument, NULL, 'p' },
						  { "patterns", required_argument, NULL, 'P' },
						  { "contenders", required_argument, NULL, 'C' },
						  { "quick", no_argument, NULL, 'q' },
						  { "help", no_argument, NULL, 'h' },
						  {} };
	struct opts o = {
		.mb = 256,
		.cap_mb = 0,
		.reps = 8,
		.seed = 1,
		.patterns = (1U << _PAT_MAX) - 1,
		.contenders = (1U << _CON_MAX) - 1,
		.pause_ms = 100,
		.seq_share = 0.30,
		.rand_share = 0.20,
		.reuse = 64,
	};
	double *figs[_PAT_MAX][_CON_MAX] = {};
	uint8_t *expect;
	int c, failures = 0;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.mb = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			o.cap_mb = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o.reps = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			o.seed = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			o.pause_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'P':
			if (parse_mask(optarg, pattern_names, _PAT_MAX, &o.patterns) < 0) {
				fprintf(stderr, "peer_shape: bad --patterns '%s'\n", optarg);
				return 2;
			}
			break;
		case 'C':
			if (parse_mask(optarg, contender_names, _CON_MAX, &o.contenders) < 0) {
				fprintf(stderr, "peer_shape: bad --contenders '%s'\n", optarg);
				return 2;
			}
			break;
		case 'q':
			o.mb = 16;
			o.reps = 2;
			o.pause_ms = 10;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (o.mb == 0 || o.reps == 0 || o.reps > 64) {
		usage(stderr);
		return 2;
	}
	if (o.cap_mb == 0)
		o.cap_mb = o.mb / 2 ? o.mb / 2 : 1;
	expect = malloc(PAGE);
	if (!expect)
		return 1;
	for (unsigned p = 0; p < _PAT_MAX; p++)
		for (unsigned k = 0; k < _CON_MAX; k++) {
			figs[p][k] = calloc((size_t)o.reps * N_FIG, sizeof(double));
			if (!figs[p][k])
				return 1;
		}

	printf("peer_shape mb=%zu cap_mb=%zu reps=%u pause_ms=%u seq_share=%.2f rand_share=%.2f "
	       "reuse=%u chunk_bytes=%u\n",
	       o.mb, o.cap_mb, o.reps, o.pause_ms, o.seq_share, o.rand_share, o.reuse, PAGE);
	for (unsigned rep = 0; rep < o.reps; rep++)
		for (unsigned p = 0; p < _PAT_MAX; p++) {
			struct touches t;

			if (!(o.patterns & (1U << p)))
				continue;
			if (touches_make(&o, (o.mb << 20) / PAGE, o.seed + rep, &t) < 0)
				return 1;
			/* rotate the order of the contenders per repetition */
			for (unsigned j = 0; j < _CON_MAX; j++) {
				unsigned k = (j + rep) % _CON_MAX;
				struct result res = {};
				int r;

				if (!(o.contenders & (1U << k)))
					continue;
				r = k == CON_BOUND ?
					    run_bound(&o, (enum pattern)p, &t, expect, &res) :
					    run_arena(&o, (enum pattern)p, k == CON_LZ4, &t, expect,
						      &res);
				if (r < 0) {
					fprintf(stderr, "peer_shape: %s/%s failed: %s\n",
						pattern_names[p], contender_names[k], strerror(-r));
					failures++;
					continue;
				}
				result_figs(&res, &figs[p][k][(size_t)rep * N_FIG]);
			}
			free(t.page);
		}

	for (unsigned p = 0; p < _PAT_MAX; p++) {
		double med[_CON_MAX][N_FIG] = {};

		if (!(o.patterns & (1U << p)))
			continue;
		for (unsigned k = 0; k < _CON_MAX; k++) {
			if (!(o.contenders & (1U << k)))
				continue;
			printf("pattern=%s contender=%s", pattern_names[p], contender_names[k]);
			for (unsigned f = 0; f < N_FIG; f++) {
				double v[64];

				for (unsigned rep = 0; rep < o.reps; rep++)
					v[rep] = figs[p][k][(size_t)rep * N_FIG + f];
				med[k][f] = median(v, o.reps);
				printf(f == 0		? " %s=%.2f" :
				       f == 1 || f == 8 ? " %s=%.1f" :
							  " %s=%.0f",
				       fig_names[f], med[k][f]);
			}
			printf("\n");
		}
		/* arena figure / bound figure, per contender (times: > 1 is slower) */
		if (o.contenders & (1U << CON_BOUND))
			for (unsigned k = 0; k < CON_BOUND; k++) {
				if (!(o.contenders & (1U << k)))
					continue;
				printf("pattern=%s contender=%s vs=bound", pattern_names[p],
				       contender_names[k]);
				for (unsigned f = 0; f < 9; f++)
					printf(" %s=%.3f", fig_names[f],
					       med[CON_BOUND][f] > 0 ?
						       med[k][f] / med[CON_BOUND][f] :
						       0.0);
				printf("\n");
			}
	}
	printf("summary failures=%d\n", failures);
	return failures ? 1 : 0;
}
