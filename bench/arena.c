// SPDX-License-Identifier: MIT
/* bench/arena.c: libarena's figures: throughput through the arena vs the raw codecs, ratio
 * vs the kernel's zram (lz4), first-access latency of a compressed chunk (the default
 * readback and the opt-in userfaultfd one side by side), the fairness policy vs an
 * oracle, and a chunk-size sweep. key=value lines; never asserts on speed. */

#include <fcntl.h>
#include <lz4.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <zstd.h>

#include "policy/fairness.h"
#include "tests/workloads/workload.h"

/* libarena's test hook (arena/arena-internal.h; in libarena.a, not in the public API):
 * the codec setting of a compressed chunk, so the fairness section knows which candidate
 * the arena used where two levels of one codec give the same output (LZ4 fast 4 and 16
 * emit identical bytes for 99% of the repetitive chunks). */
int arena_test_chunk_codec(struct arena_region *region, size_t offset, uint32_t *ret_codec,
			   int32_t *ret_level);
/* and the probe the arena runs on chunks the classifier finds random-looking */
bool arena_test_probe_incompressible(const void *src, size_t n);
void arena_test_compress_prefetch(const void *src, size_t n);
long arena_test_fill_try(const void *src, size_t n, void *dst);
/* and the state of a chunk (2: compressed) */
int arena_test_chunk_state(struct arena_region *region, size_t offset);

/* ---- options and data sets ---- */

enum {
	SEC_THROUGHPUT = 1U << 0,
	SEC_ZRAM = 1U << 1,
	SEC_LATENCY = 1U << 2,
	SEC_FAIRNESS = 1U << 3,
	SEC_SWEEP = 1U << 4,
	SEC_CLASSIFY = 1U << 5,
	SEC_PRESSURE = 1U << 6,
	SEC_SLICES = 1U << 7,
	SEC_ALL = (1U << 8) - 1,
};

static const char *const section_names[] = { "throughput", "zram",     "latency",  "fairness",
					     "sweep",	   "classify", "pressure", "slices" };

enum ds {
	DS_ZERO_HEAVY,
	DS_TEXT,
	DS_MIXED,
	DS_RANDOM,
	DS_REPETITIVE,
	DS_UNIQUE,
	DS_MIXED_50_50,
	DS_ONE_VALUE,
	_DS_MAX,
};

static const char *const ds_names[_DS_MAX] = {
	[DS_ZERO_HEAVY] = "zero-heavy",	  [DS_TEXT] = "text-like",	  [DS_MIXED] = "mixed",
	[DS_RANDOM] = "random",		  [DS_REPETITIVE] = "repetitive", [DS_UNIQUE] = "unique",
	[DS_MIXED_50_50] = "mixed_50_50", [DS_ONE_VALUE] = "one-value",
};

/* Data sets whose compression figures mean something (the others are incompressible:
 * the arena keeps them raw, so "throughput" there measures how fast it gives up). */
static bool ds_compressible(enum ds d)
{
	return d != DS_RANDOM && d != DS_UNIQUE;
}

struct opts {
	bool quick;
	uint64_t mb;
	unsigned reps;
	uint64_t seed;
	uint32_t sections;
	uint32_t datasets; /* mask of 1 << enum ds */
	uint32_t chunk; /* throughput, zram and fairness; default: the library's */
	char *images; /* --images: comma list of memory image files (pressure section) */
	uint32_t slice; /* slices section: bytes per arena_compress_bytes() call */
};

/* The worst figure per target over the compressible data sets, for the summary. */
struct summary {
	double vs_raw_c_min, vs_raw_d_min, vs_zram_min, vs_zram_default_min, fair_min,
		fair_exact_min;
	/* raw / bound (what no arena can exceed) and arena / bound, where vs_raw is taken */
	double ceil_c_min, ceil_d_min, vs_bound_c_min, vs_bound_d_min;
	uint64_t access_p50_max, access_p99_max;
	unsigned roundtrip_errors;
};

#define STORE_OVERHEAD_BYTES \
	8 /* what libarena counts per stored chunk in its model: the 8-byte owner word
				 * (objects are packed byte-tight, no padding) */

/* ---- small helpers ---- */

static uint64_t now_ns(void)
{
	return clock_nsec(CLOCK_MONOTONIC);
}

static uint64_t cpu_ns(void)
{
	return clock_nsec(CLOCK_THREAD_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median of n values (sorts them in place). */
static double median(double *v, size_t n)
{
	if (n == 0)
		return 0.0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* The q quantile (nearest rank) of n values (sorts them in place). */
static uint64_t quantile_u64(uint64_t *v, size_t n, double q)
{
	size_t rank;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	rank = (size_t)ceil(q * (double)n);
	return v[MIN(MAX(rank, (size_t)1), n) - 1];
}

static double mbps(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes / ((double)ns / 1e9) / 1e6 : 0.0;
}

static void *map_bytes(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static bool page_is_zero(const uint8_t *p, size_t n)
{
	return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/* ---- data sets ---- */

/* repetitive: one 256-byte record per 64 KiB, repeated with a running sequence number,
 * like arrays of near-identical structs. */
static void fill_repetitive(uint64_t seed, uint64_t page, uint8_t *p)
{
	uint8_t rec[256];
	struct wl_rng r;

	wl_rng_init(&r, seed, page / 16, 0x7265);
	wl_fill_random(&r, rec, sizeof(rec));
	for (size_t off = 0; off < WL_PAGE_BYTES; off += sizeof(rec)) {
		uint32_t seq = (uint32_t)(page * (WL_PAGE_BYTES / sizeof(rec)) + off / sizeof(rec));

		memcpy(p + off, rec, sizeof(rec));
		memcpy(p + off, &seq, sizeof(seq));
	}
}

static void fill_dataset(enum ds d, uint64_t seed, uint8_t *buf, size_t bytes)
{
	for (size_t pg = 0; pg < bytes / WL_PAGE_BYTES; pg++) {
		uint8_t *p = buf + pg * WL_PAGE_BYTES;
		struct wl_rng r;

		switch (d) {
		case DS_ZERO_HEAVY:
			wl_page_fill(WL_DATA_ZERO_HEAVY, seed, pg, 1, p);
			break;
		case DS_TEXT:
			wl_page_fill(WL_DATA_TEXT, seed, pg, 1, p);
			break;
		case DS_MIXED:
			wl_page_fill(WL_DATA_MIXED, seed, pg, 1, p);
			break;
		case DS_RANDOM:
			wl_page_fill(WL_DATA_RANDOM, seed, pg, 1, p);
			break;
		case DS_REPETITIVE:
			fill_repetitive(seed, pg, p);
			break;
		case DS_UNIQUE:
			wl_rng_init(&r, seed ^ 0x756e69717565ULL, pg, 1);
			wl_fill_random(&r, p, WL_PAGE_BYTES);
			break;
		case DS_ONE_VALUE: /* bench/peer_shape's "one": one byte, byte 0 flipped */
			memset(p, 0x5a, WL_PAGE_BYTES);
			p[0] ^= 0xff;
			break;
		default: /* mixed_50_50: half the pages repetitive, half unique */
			wl_rng_init(&r, seed ^ 0x3530ULL, pg, 1);
			if (wl_rng_below(&r, 2))
				fill_repetitive(seed, pg, p);
			else
				wl_fill_random(&r, p, WL_PAGE_BYTES);
			break;
		}
	}
}

/* ---- arena helpers ---- */

struct arena_setup {
	uint32_t chunk;
	uint32_t codecs; /* ARENA_CODECS_*; 0 = all, with the default levels */
	int32_t level; /* the one level of a single-codec setup; 0: the default levels */
	uint32_t flags; /* ARENA_CONFIG_*, or'ed into the defaults */
	uint32_t pressure; /* arena_pressure_set() */
};

static int bench_arena_new(const struct arena_setup *s, struct arena **ret)
{
	struct arena_config cfg;
	int r;

	arena_config_init(&cfg);
	cfg.chunk_size_bytes = s->chunk;
	cfg.flags |= s->flags;
	if (s->codecs) {
		cfg.codecs = s->codecs;
		if (s->codecs == ARENA_CODECS_LZ4_FAST && s->level) {
			cfg.lz4_fast_accelerations[0] = s->level;
			cfg.n_lz4_fast_accelerations = 1;
		} else if (s->codecs == ARENA_CODECS_ZSTD && s->level) {
			cfg.zstd_levels[0] = s->level;
			cfg.n_zstd_levels = 1;
		}
	}
	r = arena_new(&cfg, ret);
	if (r == 0 && s->pressure)
		r = arena_pressure_set(*ret, s->pressure);
	return r;
}

static int fail_api(const char *what, int r)
{
	fprintf(stderr, "arena bench: %s failed: %s\n", what, strerror(-r));
	return r;
}

/* Make the region hold src: drop whatever it held (no decompression), then write. */
static int region_load(struct arena_region *reg, const uint8_t *src, size_t n)
{
	void *p;
	int r;

	r = arena_region_discard(reg, 0, n);
	if (r < 0)
		return fail_api("arena_region_discard", r);
	r = arena_pin(reg, 0, n, ARENA_PIN_WRITE, &p);
	if (r < 0)
		return fail_api("arena_pin", r);
	memcpy(p, src, n);
	r = arena_unpin(reg, 0, n);
	return r < 0 ? fail_api("arena_unpin", r) : 0;
}

/* Compare the region with src. Returns 0, -EBADMSG on a difference, or an API error. */
static int region_verify(struct arena_region *reg, const uint8_t *src, size_t n)
{
	void *p;
	int r, diff;

	r = arena_pin(reg, 0, n, ARENA_PIN_READ, &p);
	if (r < 0)
		return fail_api("arena_pin (verify)", r);
	diff = memcmp(p, src, n);
	r = arena_unpin(reg, 0, n);
	if (r < 0)
		return fail_api("arena_unpin", r);
	if (diff) {
		fprintf(stderr, "arena bench: data did not round-trip through the arena\n");
		return -EBADMSG;
	}
	return 0;
}

/* Age every chunk past cold_epochs so all of them are COLD (zstd allowed). */
static void make_cold(struct arena *a)
{
	struct arena_config cfg;

	arena_config_get(a, &cfg);
	for (uint32_t i = 0; i <= cfg.cold_epochs; i++)
		arena_epoch_advance(a);
}

/* Pin and unpin every chunk in turn (a demand decompression of each compressed one);
 * lat (may be NULL) gets each chunk's wall time. Returns the total ns or an error. */
static int64_t region_read_chunks(struct arena_region *reg, size_t n, uint32_t chunk, uint64_t *lat)
{
	uint64_t t0 = now_ns();

	for (size_t off = 0, i = 0; off < n; off += chunk, i++) {
		uint64_t c0 = lat ? now_ns() : 0;
		void *p;
		int r;

		r = arena_pin(reg, off, chunk, ARENA_PIN_READ, &p);
		if (r < 0)
			return fail_api("arena_pin", r);
		(void)*(volatile uint8_t *)p;
		r = arena_unpin(reg, off, chunk);
		if (r < 0)
			return fail_api("arena_unpin", r);
		if (lat)
			lat[i] = now_ns() - c0;
	}
	return (int64_t)(now_ns() - t0);
}

/* ---- the raw codecs, called directly ---- */

struct raw {
	void *lz4_state;
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	size_t bound;
	uint8_t *out; /* one slot of bound bytes per chunk */
	size_t *out_size;
	uint8_t *back; /* decompressed copy, pre-faulted */
	uint8_t *copy; /* the "paged" baseline's memory: released and repopulated */
	uint8_t *copy2; /* the "bound" baseline's */
};

static int raw_init(struct raw *w, size_t n, uint32_t chunk)
{
	size_t chunks = n / chunk;

	*w = (struct raw){ .bound = MAX((size_t)LZ4_compressBound((int)chunk),
					ZSTD_compressBound(chunk)) };
	w->lz4_state = malloc((size_t)LZ4_sizeofState());
	w->zc = ZSTD_createCCtx();
	w->zd = ZSTD_createDCtx();
	w->out = map_bytes(chunks * w->bound);
	w->out_size = calloc(chunks, sizeof(*w->out_size));
	w->back = map_bytes(n);
	w->copy = map_bytes(n);
	w->copy2 = map_bytes(n);
	if (!w->lz4_state || !w->zc || !w->zd || !w->out || !w->out_size || !w->back || !w->copy ||
	    !w->copy2)
		return -ENOMEM;
	(void)madvise(w->copy, n, MADV_NOHUGEPAGE); /* as libarena's regions */
	(void)madvise(w->copy2, n, MADV_NOHUGEPAGE);
	memset(w->out, 1, chunks * w->bound);
	memset(w->back, 1, n);
	return 0;
}

static void raw_done(struct raw *w, size_t n, uint32_t chunk)
{
	free(w->lz4_state);
	ZSTD_freeCCtx(w->zc);
	ZSTD_freeDCtx(w->zd);
	if (w->out)
		munmap(w->out, n / chunk * w->bound);
	free(w->out_size);
	if (w->back)
		munmap(w->back, n);
	if (w->copy)
		munmap(w->copy, n);
	if (w->copy2)
		munmap(w->copy2, n);
}

/* Compress one chunk with (codec, level) into dst; returns the size or -EIO. */
static long raw_compress_one(struct raw *w, uint32_t codec, int32_t level, const uint8_t *src,
			     size_t chunk, uint8_t *dst, size_t cap)
{
	if (codec == FAIR_CODEC_ZSTD) {
		size_t r = ZSTD_compressCCtx(w->zc, dst, cap, src, chunk, level);

		return ZSTD_isError(r) ? -EIO : (long)r;
	}
	int r = LZ4_compress_fast_extState(w->lz4_state, (const char *)src, (char *)dst, (int)chunk,
					   (int)cap, codec == FAIR_CODEC_LZ4 ? 1 : level);

	return r > 0 ? r : -EIO;
}

static int raw_decompress_one(struct raw *w, uint32_t codec, const uint8_t *src, size_t size,
			      uint8_t *dst, size_t chunk)
{
	if (codec == FAIR_CODEC_ZSTD) {
		size_t r = ZSTD_decompressDCtx(w->zd, dst, chunk, src, size);

		return !ZSTD_isError(r) && r == chunk ? 0 : -EBADMSG;
	}
	return LZ4_decompress_safe((const char *)src, (char *)dst, (int)size, (int)chunk) ==
			       (int)chunk ?
		       0 :
		       -EBADMSG;
}

static int64_t raw_compress_all(struct raw *w, uint32_t codec, int32_t level, const uint8_t *src,
				size_t n, uint32_t chunk)
{
	uint64_t t0 = now_ns();

	for (size_t i = 0; i < n / chunk; i++) {
		long r = raw_compress_one(w, codec, level, src + i * chunk, chunk,
					  w->out + i * w->bound, w->bound);

		if (r < 0)
			return r;
		w->out_size[i] = (size_t)r;
	}
	return (int64_t)(now_ns() - t0);
}

static int64_t raw_decompress_all(struct raw *w, uint32_t codec, size_t n, uint32_t chunk)
{
	uint64_t t0 = now_ns();

	for (size_t i = 0; i < n / chunk; i++)
		if (raw_decompress_one(w, codec, w->out + i * w->bound, w->out_size[i],
				       w->back + i * chunk, chunk) < 0)
			return -EBADMSG;
	return (int64_t)(now_ns() - t0);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * The raw codec plus page work: buf's pages are released after compressing
 * (MADV_DONTNEED) and populated again before decoding into them
 * (MADV_POPULATE_WRITE). per_chunk: around each chunk, as libarena's design implies
 * ("paged"); otherwise once for the whole buffer ("bound": the least page work any
 * arena can do and still give the memory back, so raw time / bound time is the
 * ceiling of arena_vs_raw). buf must hold the data before compressing.
 */
static int64_t raw_released_compress_all(struct raw *w, uint8_t *buf, bool per_chunk,
					 uint32_t codec, int32_t level, size_t n, uint32_t chunk)
{
	uint64_t t0 = now_ns();

	for (size_t i = 0; i < n / chunk; i++) {
		long r = raw_compress_one(w, codec, level, buf + i * chunk, chunk,
					  w->out + i * w->bound, w->bound);

		if (r < 0)
			return r;
		w->out_size[i] = (size_t)r;
		if (per_chunk)
			(void)madvise(buf + i * chunk, chunk, MADV_DONTNEED);
	}
	if (!per_chunk)
		(void)madvise(buf, n, MADV_DONTNEED);
	return (int64_t)(now_ns() - t0);
}

static int64_t raw_released_decompress_all(struct raw *w, uint8_t *buf, bool per_chunk,
					   uint32_t codec, size_t n, uint32_t chunk)
{
	uint64_t t0 = now_ns();

	if (!per_chunk)
		(void)madvise(buf, n, MADV_POPULATE_WRITE);
	for (size_t i = 0; i < n / chunk; i++) {
		if (per_chunk)
			(void)madvise(buf + i * chunk, chunk, MADV_POPULATE_WRITE);
		if (raw_decompress_one(w, codec, w->out + i * w->bound, w->out_size[i],
				       buf + i * chunk, chunk) < 0)
			return -EBADMSG;
	}
	return (int64_t)(now_ns() - t0);
}

/* ---- section: throughput, arena vs raw codec ---- */

struct tp_codec {
	const char *name;
	uint32_t codec; /* enum fair_codec */
	uint32_t mask; /* ARENA_CODECS_* */
	int32_t level;
};

static const struct tp_codec tp_codecs[] = {
	{ "lz4-fast", FAIR_CODEC_LZ4_FAST, ARENA_CODECS_LZ4_FAST, 4 },
	{ "lz4", FAIR_CODEC_LZ4, ARENA_CODECS_LZ4, 1 },
	{ "zstd", FAIR_CODEC_ZSTD, ARENA_CODECS_ZSTD, 1 },
};

/*
 * One arena allowed exactly one codec setting (so there is no choice to make and nothing
 * to sample) against the same codec called directly on the same chunks ("raw"), and
 * against the raw codec plus the kernel page work the arena's design implies ("paged":
 * MADV_DONTNEED after compressing a chunk, MADV_POPULATE_WRITE before decoding it), which
 * separates libarena's own overhead from the cost of really giving memory back. Each
 * repetition runs the three back to back in a rotating order, and a figure is the median
 * of the per-repetition ratios: the machine is shared, and one repetition sees one load.
 */
enum { TP_ARENA, TP_RAW, TP_PAGED, TP_BOUND, _TP_MAX };

static int bench_throughput(const struct opts *o, enum ds d, const uint8_t *src, size_t n,
			    struct summary *sum)
{
	const uint32_t chunk = o->chunk;
	int ret = 0;

	for (size_t ci = 0; ci < ELEMENTSOF(tp_codecs); ci++) {
		const struct tp_codec *tc = &tp_codecs[ci];
		struct arena_setup setup = { chunk, tc->mask, tc->level, 0, 0 };
		struct arena *a = NULL;
		struct arena_region *reg = NULL;
		struct arena_stats st;
		struct raw w;
		/* [contender][rep]: MB/s compress, MB/s decompress; arena/raw time ratios */
		double cm[_TP_MAX][64], dm[_TP_MAX][64], qc[_TP_MAX][64], qd[_TP_MAX][64];
		unsigned reps = MIN(o->reps, 64U);
		int r;

		r = raw_init(&w, n, chunk);
		if (r < 0) {
			raw_done(&w, n, chunk);
			return fail_api("raw codec setup", r);
		}
		r = bench_arena_new(&setup, &a);
		if (r < 0 || (r = arena_region_alloc(a, n, 0, &reg)) < 0) {
			ret = fail_api("arena setup", r);
			goto next;
		}
		for (unsigned rep = 0; rep < reps; rep++) {
			int64_t tc_ns[_TP_MAX] = { 0 }, td_ns[_TP_MAX] = { 0 };

			if ((r = region_load(reg, src, n)) < 0) {
				ret = r;
				goto next;
			}
			if (tc->codec == FAIR_CODEC_ZSTD)
				make_cold(a);
			memcpy(w.copy, src, n);
			memcpy(w.copy2, src, n);

			for (unsigned k = 0; k < _TP_MAX; k++) {
				switch ((rep + k) % _TP_MAX) {
				case TP_ARENA:
					tc_ns[TP_ARENA] = (int64_t)now_ns();
					r = arena_region_compress(reg, 0, n, NULL, NULL);
					tc_ns[TP_ARENA] = (int64_t)now_ns() - tc_ns[TP_ARENA];
					if (r < 0)
						tc_ns[TP_ARENA] =
							fail_api("arena_region_compress", r);
					break;
				case TP_RAW:
					tc_ns[TP_RAW] = raw_compress_all(&w, tc->codec, tc->level,
									 src, n, chunk);
					break;
				case TP_PAGED:
					tc_ns[TP_PAGED] = raw_released_compress_all(
						&w, w.copy, true, tc->codec, tc->level, n, chunk);
					break;
				default:
					tc_ns[TP_BOUND] = raw_released_compress_all(
						&w, w.copy2, false, tc->codec, tc->level, n, chunk);
					break;
				}
			}
			for (unsigned k = 0; k < _TP_MAX; k++) {
				switch ((rep + k) % _TP_MAX) {
				case TP_ARENA:
					td_ns[TP_ARENA] = region_read_chunks(reg, n, chunk, NULL);
					break;
				case TP_RAW:
					td_ns[TP_RAW] = raw_decompress_all(&w, tc->codec, n, chunk);
					break;
				case TP_PAGED:
					td_ns[TP_PAGED] = raw_released_decompress_all(
						&w, w.copy, true, tc->codec, n, chunk);
					break;
				default:
					td_ns[TP_BOUND] = raw_released_decompress_all(
						&w, w.copy2, false, tc->codec, n, chunk);
					break;
				}
			}
			if (tc_ns[TP_ARENA] < 0 || td_ns[TP_ARENA] < 0) {
				ret = -EIO;
				goto next;
			}
			if (tc_ns[TP_RAW] < 0 || td_ns[TP_RAW] < 0 || tc_ns[TP_PAGED] < 0 ||
			    td_ns[TP_PAGED] < 0 || tc_ns[TP_BOUND] < 0 || td_ns[TP_BOUND] < 0 ||
			    memcmp(w.back, src, n) != 0 || memcmp(w.copy, src, n) != 0 ||
			    memcmp(w.copy2, src, n) != 0) {
				fprintf(stderr, "arena bench: raw %s did not round-trip\n",
					tc->name);
				ret = -EBADMSG;
				goto next;
			}
			if ((r = region_verify(reg, src, n)) < 0) {
				ret = r;
				goto next;
			}
			for (unsigned k = 0; k < _TP_MAX; k++) {
				cm[k][rep] = mbps(n, (uint64_t)tc_ns[k]);
				dm[k][rep] = mbps(n, (uint64_t)td_ns[k]);
				qc[k][rep] = (double)tc_ns[k] / (double)tc_ns[TP_ARENA];
				qd[k][rep] = (double)td_ns[k] / (double)td_ns[TP_ARENA];
			}
		}
		/* the compressed state, for the ratio: compress once more */
		if (tc->codec == FAIR_CODEC_ZSTD)
			make_cold(a);
		if ((r = arena_region_compress(reg, 0, n, NULL, NULL)) < 0 ||
		    (r = arena_stats_get(a, &st)) < 0) {
			ret = fail_api("arena_region_compress", r);
			goto next;
		}
		{
			double vc = median(qc[TP_RAW], reps), vd = median(qd[TP_RAW], reps), cc[64],
			       cd[64];
			uint64_t admitted = st.chunks_total - st.chunks_raw, expect = 0;
			bool valid;

			/* what the arena should admit, judged by the raw codec's output sizes */
			for (size_t i = 0; i < n / chunk; i++)
				expect += page_is_zero(src + i * chunk, chunk) ||
					  w.out_size[i] + STORE_OVERHEAD_BYTES <=
						  chunk - chunk / 20;
			valid = admitted * 100 >= expect * 95;
			/* the ceiling of arena_vs_raw: raw time / bound time */
			for (unsigned k = 0; k < reps; k++) {
				cc[k] = qc[TP_RAW][k] / qc[TP_BOUND][k];
				cd[k] = qd[TP_RAW][k] / qd[TP_BOUND][k];
			}
			printf("dataset=%s section=throughput codec=%s level=%d chunk=%u "
			       "arena_compress_mbps=%.0f raw_compress_mbps=%.0f "
			       "paged_compress_mbps=%.0f arena_vs_raw_compress=%.3f "
			       "arena_vs_paged_compress=%.3f arena_decompress_mbps=%.0f "
			       "raw_decompress_mbps=%.0f paged_decompress_mbps=%.0f "
			       "arena_vs_raw_decompress=%.3f arena_vs_paged_decompress=%.3f "
			       "bound_compress_mbps=%.0f bound_decompress_mbps=%.0f "
			       "ceiling_vs_raw_compress=%.3f ceiling_vs_raw_decompress=%.3f "
			       "arena_vs_bound_compress=%.3f arena_vs_bound_decompress=%.3f "
			       "arena_ratio=%.3f admitted_chunks=%" PRIu64 "/%" PRIu64
			       " raw_admissible_chunks=%" PRIu64 "%s\n",
			       ds_names[d], tc->name, tc->level, chunk, median(cm[TP_ARENA], reps),
			       median(cm[TP_RAW], reps), median(cm[TP_PAGED], reps), vc,
			       median(qc[TP_PAGED], reps), median(dm[TP_ARENA], reps),
			       median(dm[TP_RAW], reps), median(dm[TP_PAGED], reps), vd,
			       median(qd[TP_PAGED], reps), median(cm[TP_BOUND], reps),
			       median(dm[TP_BOUND], reps), median(cc, reps), median(cd, reps),
			       median(qc[TP_BOUND], reps), median(qd[TP_BOUND], reps),
			       st.ratio_e2e_post_comp, admitted, st.chunks_total, expect,
			       valid ? "" :
				       " invalid=arena-admitted-fewer-chunks-than-the-raw-codec-"
				       "compresses");
			if (ds_compressible(d) && valid) {
				sum->vs_raw_c_min = MIN(sum->vs_raw_c_min, vc);
				sum->vs_raw_d_min = MIN(sum->vs_raw_d_min, vd);
				sum->ceil_c_min = MIN(sum->ceil_c_min, median(cc, reps));
				sum->ceil_d_min = MIN(sum->ceil_d_min, median(cd, reps));
				sum->vs_bound_c_min =
					MIN(sum->vs_bound_c_min, median(qc[TP_BOUND], reps));
				sum->vs_bound_d_min =
					MIN(sum->vs_bound_d_min, median(qd[TP_BOUND], reps));
			}
		}
next:
		arena_region_free(reg);
		arena_free(a);
		raw_done(&w, n, chunk);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- section: zram ---- */

struct zram_result {
	uint64_t orig, compr, mem_used, same_pages, huge_pages;
};

static int sysfs_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(val);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		return -errno;
	return 0;
}

static int sysfs_read(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k;

	if (fd < 0)
		return -errno;
	k = read(fd, buf, size - 1);
	if (k < 0)
		return -errno;
	buf[k] = 0;
	return 0;
}

static bool file_mentions(const char *path, const char *word)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512];

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, word))
			return true;
	return false;
}

/*
 * Write the bytes to a zram device set up for lz4 and read its mm_stat. A device of our
 * own from hot_add when the kernel has it (removed afterwards); else /dev/zram0 only if
 * it is unused (not initialised, not swap, not mounted). Returns 0, or -errno with a
 * reason for the output.
 */
static int zram_measure(const uint8_t *buf, size_t n, struct zram_result *ret, char *why,
			size_t why_size)
{
	char sys[64], dev[PATH_MAX], tmpdir[] = "/tmp/arena-bench-XXXXXX", val[256];
	bool added = false, made_node = false, made_dir = false;
	int id = 0, r;
	_cleanup_close_ int fd = -1;

	if (geteuid() != 0) {
		snprintf(why, why_size, "not-root");
		return -EPERM;
	}
	if (access("/sys/class/zram-control/hot_add", R_OK) == 0) {
		if ((r = sysfs_read("/sys/class/zram-control/hot_add", val, sizeof(val))) < 0) {
			snprintf(why, why_size, "hot_add:%s", strerror(-r));
			return r;
		}
		id = atoi(val);
		added = true;
	} else {
		if (sysfs_read("/sys/block/zram0/initstate", val, sizeof(val)) < 0 ||
		    atoi(val) != 0 || file_mentions("/proc/swaps", "/dev/zram0") ||
		    file_mentions("/proc/mounts", "/dev/zram0")) {
			snprintf(why, why_size, "no-free-zram-device");
			return -EBUSY;
		}
	}
	snprintf(sys, sizeof(sys), "/sys/block/zram%d", id);
	snprintf(dev, sizeof(dev), "/dev/zram%d", id);

	snprintf(val, sizeof(val), "%s/comp_algorithm", sys);
	if (!file_mentions(val, "lz4")) {
		snprintf(why, why_size, "lz4-not-offered-by-zram");
		r = -EOPNOTSUPP;
		goto out;
	}
	if ((r = sysfs_write(sys, "reset", "1")) < 0 ||
	    (r = sysfs_write(sys, "comp_algorithm", "lz4")) < 0) {
		snprintf(why, why_size, "comp_algorithm:%s", strerror(-r));
		goto out;
	}
	snprintf(val, sizeof(val), "%zu", (n + (1U << 20) - 1) & ~(size_t)((1U << 20) - 1));
	if ((r = sysfs_write(sys, "disksize", val)) < 0) {
		snprintf(why, why_size, "disksize:%s", strerror(-r));
		goto out;
	}
	/* devtmpfs makes the node at once; without it, make one of our own */
	for (int i = 0; i < 100 && access(dev, F_OK) < 0; i++)
		usleep(10000);
	if (access(dev, F_OK) < 0) {
		char num[32];
		unsigned maj, min;

		snprintf(val, sizeof(val), "%s/dev", sys);
		if (!mkdtemp(tmpdir)) {
			r = -errno;
			snprintf(why, why_size, "mkdtemp:%s", strerror(-r));
			goto out;
		}
		made_dir = true;
		if (sysfs_read(val, num, sizeof(num)) < 0 ||
		    sscanf(num, "%u:%u", &maj, &min) != 2) {
			r = -ENODEV;
			snprintf(why, why_size, "no-device-number");
			goto out;
		}
		snprintf(dev, sizeof(dev), "%s/zram%d", tmpdir, id);
		if (mknod(dev, S_IFBLK | 0600, makedev(maj, min)) < 0) {
			r = -errno;
			snprintf(why, why_size, "mknod:%s", strerror(-r));
			goto out;
		}
		made_node = true;
	}
	fd = open(dev, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, why_size, "open:%s", strerror(-r));
		goto out;
	}
	for (size_t off = 0; off < n;) {
		ssize_t k = pwrite(fd, buf + off, MIN(n - off, (size_t)1 << 20), (off_t)off);

		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			snprintf(why, why_size, "write:%s", strerror(-r));
			goto out;
		}
		off += (size_t)k;
	}
	if (fsync(fd) < 0) {
		r = -errno;
		snprintf(why, why_size, "fsync:%s", strerror(-r));
		goto out;
	}
	close(fd);
	fd = -1;
	snprintf(val, sizeof(val), "%s/mm_stat", sys);
	{
		char line[256];
		unsigned long long f[9] = { 0 };

		if ((r = sysfs_read(val, line, sizeof(line))) < 0 ||
		    sscanf(line, "%llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2],
			   &f[3], &f[4], &f[5], &f[6], &f[7]) < 6) {
			r = r < 0 ? r : -EIO;
			snprintf(why, why_size, "mm_stat-unreadable");
			goto out;
		}
		*ret = (struct zram_result){ .orig = f[0],
					     .compr = f[1],
					     .mem_used = f[2],
					     .same_pages = f[5],
					     .huge_pages = f[7] };
	}
	r = 0;
out:
	if (fd >= 0) {
		close(fd);
		fd = -1;
	}
	(void)sysfs_write(sys, "reset", "1");
	if (made_node)
		unlink(dev);
	if (made_dir)
		rmdir(tmpdir);
	if (added) {
		snprintf(val, sizeof(val), "%d", id);
		(void)sysfs_write("/sys/class/zram-control", "hot_remove", val);
	}
	return r;
}

/* Logical bytes over what the arena holds, after compressing all of src: e2e (resident:
 * raw chunks + the store's resident pages) and payload (raw chunks + codec output). */
static int arena_ratio_of(const struct arena_setup *s, bool cold, const uint8_t *src, size_t n,
			  double *ret_e2e, double *ret_payload, struct arena_stats *ret_st)
{
	struct arena *a = NULL;
	struct arena_region *reg = NULL;
	struct arena_stats st;
	int r;

	r = bench_arena_new(s, &a);
	if (r < 0)
		return fail_api("arena_new", r);
	r = arena_region_alloc(a, n, 0, &reg);
	if (r < 0) {
		fail_api("arena_region_alloc", r);
		goto out;
	}
	if ((r = region_load(reg, src, n)) < 0)
		goto out;
	if (cold)
		make_cold(a);
	r = arena_region_compress(reg, 0, n, NULL, NULL);
	if (r < 0 || (r = arena_stats_get(a, &st)) < 0) {
		fail_api("arena_region_compress", r);
		goto out;
	}
	*ret_e2e = st.ratio_e2e_post_comp;
	*ret_st = st;
	*ret_payload = (double)st.logical_bytes /
		       (double)MAX(st.compressed_payload_bytes + st.raw_bytes, (uint64_t)1);
	r = region_verify(reg, src, n);
out:
	arena_region_free(reg);
	arena_free(a);
	return r;
}

/*
 * Two lines per data set, both against the same zram run:
 *
 * - arena=lz4-4k, like with like: 4 KiB chunks and LZ4 default only, zram's own
 *   granularity and codec. ratio_vs_zram is zram's orig_data_size / mem_used_total
 *   (everything its zsmalloc pool holds, the 8-byte handle in each object and the size
 *   class rounding included; same-filled pages cost nothing) against the arena's
 *   logical / resident bytes (raw chunks plus the store's resident pages, owner words
 *   and fragmentation included): both are "memory the data costs". The codec-level
 *   pair (zram orig / compr_data_size vs the arena's logical / (payload + raw)) is
 *   ratio_vs_zram_payload. The summary's ratio_vs_zram_min is the minimum of this one.
 * - arena=default: the arena as configured by default (--chunk-kb, the fairness
 *   policy with every codec, data COLD as it would be when reclaimed):
 *   ratio_vs_zram_default, summarised as ratio_vs_zram_default_min. The policy
 *   maximises bytes saved per CPU ms (fair_score), not bytes saved, so it may choose a
 *   faster codec than zram's and store less compactly.
 */
static int bench_zram(const struct opts *o, enum ds d, const uint8_t *src, size_t n,
		      struct summary *sum)
{
	struct arena_setup def = { o->chunk, 0, 0, 0, 0 },
			   small = { 4096, ARENA_CODECS_LZ4, 1, 0, 0 };
	struct zram_result z = {};
	struct arena_stats st, st4;
	char mix[128], mix4[128], zs[256];
	double e2e = 0, payload = 0, e2e_4k = 0, payload_4k = 0;
	double zr = 0, zc = 0;
	char why[128] = "";
	int r;

	r = arena_ratio_of(&def, true, src, n, &e2e, &payload, &st);
	if (r < 0)
		return r;
	r = arena_ratio_of(&small, false, src, n, &e2e_4k, &payload_4k, &st4);
	if (r < 0)
		return r;
	snprintf(mix, sizeof(mix),
		 "lz4-fast:%" PRIu64 ",lz4:%" PRIu64 ",zstd:%" PRIu64 ",zero:%" PRIu64
		 ",raw:%" PRIu64,
		 st.chunks_by_codec[ARENA_CODEC_LZ4_FAST], st.chunks_by_codec[ARENA_CODEC_LZ4],
		 st.chunks_by_codec[ARENA_CODEC_ZSTD], st.chunks_zero, st.chunks_raw);
	snprintf(mix4, sizeof(mix4), "lz4:%" PRIu64 ",zero:%" PRIu64 ",raw:%" PRIu64,
		 st4.chunks_by_codec[ARENA_CODEC_LZ4], st4.chunks_zero, st4.chunks_raw);
	if (zram_measure(src, n, &z, why, sizeof(why)) < 0) {
		printf("dataset=%s section=zram arena=lz4-4k chunk=4096 arena_ratio=%.3f "
		       "arena_ratio_payload=%.3f arena_chunks=%s ratio_vs_zram=unavailable "
		       "reason=%s\n",
		       ds_names[d], e2e_4k, payload_4k, mix4, why);
		printf("dataset=%s section=zram arena=default chunk=%u arena_ratio=%.3f "
		       "arena_ratio_payload=%.3f arena_chunks=%s ratio_vs_zram_default=unavailable "
		       "reason=%s\n",
		       ds_names[d], o->chunk, e2e, payload, mix, why);
		return 0;
	}
	zr = z.mem_used ? (double)z.orig / (double)z.mem_used : INFINITY;
	zc = z.compr ? (double)z.orig / (double)z.compr : INFINITY;
	snprintf(zs, sizeof(zs),
		 "zram_orig_bytes=%" PRIu64 " zram_compr_bytes=%" PRIu64
		 " zram_mem_used_bytes=%" PRIu64 " zram_same_pages=%" PRIu64
		 " zram_huge_pages=%" PRIu64 " zram_ratio=%.3f zram_ratio_compr=%.3f",
		 z.orig, z.compr, z.mem_used, z.same_pages, z.huge_pages, zr, zc);
	printf("dataset=%s section=zram arena=lz4-4k chunk=4096 %s arena_ratio=%.3f "
	       "arena_ratio_payload=%.3f ratio_vs_zram=%.3f ratio_vs_zram_payload=%.3f "
	       "compare=orig/mem_used_total arena_chunks=%s\n",
	       ds_names[d], zs, e2e_4k, payload_4k, e2e_4k / zr, payload_4k / zc, mix4);
	printf("dataset=%s section=zram arena=default chunk=%u %s arena_ratio=%.3f "
	       "arena_ratio_payload=%.3f ratio_vs_zram_default=%.3f "
	       "ratio_vs_zram_default_payload=%.3f compare=orig/mem_used_total arena_chunks=%s\n",
	       ds_names[d], o->chunk, zs, e2e, payload, e2e / zr, payload / zc, mix);
	if (ds_compressible(d)) {
		sum->vs_zram_min = MIN(sum->vs_zram_min, e2e_4k / zr);
		sum->vs_zram_default_min = MIN(sum->vs_zram_default_min, e2e / zr);
	}
	return 0;
}

/* ---- section: latency of the first access to a compressed 4 KiB chunk ---- */

/* A page the arena will store compressed: some LZ4 setting saves the 5% it asks for. */
static bool page_admissible(void *lz4_state, const uint8_t *p, uint8_t *scratch)
{
	int sz = LZ4_compress_fast_extState(lz4_state, (const char *)p, (char *)scratch,
					    WL_PAGE_BYTES, LZ4_compressBound(WL_PAGE_BYTES), 1);

	return sz > 0 && (size_t)sz + STORE_OVERHEAD_BYTES <= WL_PAGE_BYTES * 95 / 100;
}

static void shuffle(size_t *v, size_t n, struct wl_rng *r)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)wl_rng_below(r, i), t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

#define LAT_SAMPLES_MAX 20000

/* The write fault on fresh anonymous memory, timed the same way as an arena access. */
static int minor_fault_latency(size_t samples, struct wl_rng *rng, uint64_t *ret_p50,
			       uint64_t *ret_p99)
{
	size_t n = samples * WL_PAGE_BYTES, *order = calloc(samples, sizeof(size_t));
	uint64_t *lat = calloc(samples, sizeof(uint64_t));
	uint8_t *m = map_bytes(n);

	if (!order || !lat || !m) {
		free(order);
		free(lat);
		if (m)
			munmap(m, n);
		return -ENOMEM;
	}
	(void)madvise(m, n, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < samples; i++)
		order[i] = i;
	shuffle(order, samples, rng);
	for (size_t i = 0; i < samples; i++) {
		uint64_t t0 = now_ns();

		*(volatile uint8_t *)(m + order[i] * WL_PAGE_BYTES) = 1;
		lat[i] = now_ns() - t0;
	}
	*ret_p50 = quantile_u64(lat, samples, 0.5);
	*ret_p99 = quantile_u64(lat, samples, 0.99);
	munmap(m, n);
	free(order);
	free(lat);
	return 0;
}

/* One timed pass: the first access (pin, one byte read, unpin) of each of the first
 * samples pages of elig, in that order, into lat; then each page's bytes are checked
 * under a second (untimed, now RAW) pin. */
static int latency_pass(struct arena_region *reg, const uint8_t *src, const size_t *elig,
			size_t samples, uint64_t *lat)
{
	for (size_t i = 0; i < samples; i++) {
		size_t off = elig[i] * WL_PAGE_BYTES;
		uint64_t t0 = now_ns();
		void *p;
		int r, diff;

		r = arena_pin(reg, off, WL_PAGE_BYTES, ARENA_PIN_READ, &p);
		if (r < 0)
			return fail_api("arena_pin", r);
		(void)*(volatile uint8_t *)p;
		r = arena_unpin(reg, off, WL_PAGE_BYTES);
		lat[i] = now_ns() - t0;
		if (r < 0)
			return fail_api("arena_unpin", r);
		if ((r = arena_pin(reg, off, WL_PAGE_BYTES, ARENA_PIN_READ, &p)) < 0)
			return fail_api("arena_pin", r);
		diff = memcmp(p, src + off, WL_PAGE_BYTES);
		if ((r = arena_unpin(reg, off, WL_PAGE_BYTES)) < 0)
			return fail_api("arena_unpin", r);
		if (diff) {
			fprintf(stderr, "arena bench: page %zu did not round-trip\n", elig[i]);
			return -EBADMSG;
		}
	}
	return 0;
}

/* The two arenas of the latency section: the default configuration (populate and
 * decode) and one with ARENA_CONFIG_USERFAULTFD (decode into scratch, UFFDIO_COPY). */
enum { LAT_DEFAULT, LAT_UFFD, _LAT_MAX };

/* Both arenas hold the same data and are read in the same page order; which one goes
 * first alternates per repetition (ABBA), each compressed just before its pass. */
static int bench_latency(const struct opts *o, enum ds d, const uint8_t *src, size_t n,
			 struct summary *sum)
{
	const struct arena_setup s[_LAT_MAX] = {
		[LAT_DEFAULT] = { 4096, 0, 0, 0 },
		[LAT_UFFD] = { 4096, 0, 0, ARENA_CONFIG_USERFAULTFD },
	};
	struct arena *a[_LAT_MAX] = {};
	struct arena_region *reg[_LAT_MAX] = {};
	struct arena_stats st0, st1, su;
	size_t pages = n / WL_PAGE_BYTES, n_elig = 0, samples;
	size_t *elig = calloc(pages, sizeof(size_t));
	uint64_t *lat = calloc(LAT_SAMPLES_MAX, sizeof(uint64_t));
	void *lz4_state = malloc((size_t)LZ4_sizeofState());
	uint8_t scratch[LZ4_COMPRESSBOUND(WL_PAGE_BYTES)];
	double p50[_LAT_MAX][64], p99[_LAT_MAX][64];
	unsigned reps = MIN(o->reps, 64U);
	uint64_t timed = 0;
	struct wl_rng rng;
	int r = -ENOMEM;

	if (!elig || !lat || !lz4_state)
		goto out;
	for (size_t i = 0; i < pages; i++)
		if (!page_is_zero(src + i * WL_PAGE_BYTES, WL_PAGE_BYTES) &&
		    page_admissible(lz4_state, src + i * WL_PAGE_BYTES, scratch))
			elig[n_elig++] = i;
	if (n_elig < pages / 20 || n_elig < 16) {
		printf("dataset=%s section=latency access_p50_ns=n/a access_p99_ns=n/a "
		       "uffd_access_p50_ns=n/a uffd_access_p99_ns=n/a "
		       "reason=too-few-compressible-pages compressible_pages=%zu/%zu\n",
		       ds_names[d], n_elig, pages);
		r = 0;
		goto out;
	}
	samples = MIN(n_elig, (size_t)LAT_SAMPLES_MAX);
	for (int k = 0; k < _LAT_MAX; k++) {
		r = bench_arena_new(&s[k], &a[k]);
		if (r < 0 || (r = arena_region_alloc(a[k], n, 0, &reg[k])) < 0) {
			fail_api("arena setup", r);
			goto out;
		}
		if ((r = region_load(reg[k], src, n)) < 0)
			goto out;
	}
	wl_rng_init(&rng, o->seed, 0x6c6174, (uint64_t)d);
	if ((r = arena_stats_get(a[LAT_DEFAULT], &st0)) < 0 ||
	    (r = arena_stats_get(a[LAT_UFFD], &su)) < 0)
		goto out;
	for (unsigned rep = 0; rep < reps; rep++) {
		shuffle(elig, n_elig, &rng);
		for (int j = 0; j < _LAT_MAX; j++) {
			int k = (int)((rep + (unsigned)j) % _LAT_MAX); /* ABBA */

			r = arena_region_compress(reg[k], 0, n, NULL, NULL);
			if (r < 0) {
				fail_api("arena_region_compress", r);
				goto out;
			}
			if ((r = latency_pass(reg[k], src, elig, samples, lat)) < 0)
				goto out;
			p50[k][rep] = (double)quantile_u64(lat, samples, 0.5);
			p99[k][rep] = (double)quantile_u64(lat, samples, 0.99);
		}
		timed += samples;
	}
	if ((r = arena_stats_get(a[LAT_DEFAULT], &st1)) < 0)
		goto out;
	for (int k = 0; k < _LAT_MAX; k++)
		if ((r = region_verify(reg[k], src, n)) < 0)
			goto out;
	{
		uint64_t m50 = (uint64_t)median(p50[LAT_DEFAULT], reps),
			 m99 = (uint64_t)median(p99[LAT_DEFAULT], reps),
			 u50 = (uint64_t)median(p50[LAT_UFFD], reps),
			 u99 = (uint64_t)median(p99[LAT_UFFD], reps);
		char reason[160] = "";

		if (!su.readback_userfaultfd)
			snprintf(reason, sizeof(reason), " uffd_reason=%s",
				 strerror((int)su.readback_userfaultfd_errno));
		/* readback_share: of the timed accesses, how many were demand decompressions;
		 * the access and stall keys are the default arena's, uffd_* the opt-in
		 * ARENA_CONFIG_USERFAULTFD arena's (uffd_readback=no: the host refused it, and
		 * that arena ran the default path too); the reason (strerror, may hold spaces)
		 * goes last */
		printf("dataset=%s section=latency chunk=4096 access_p50_ns=%" PRIu64
		       " access_p99_ns=%" PRIu64 " samples=%zu readback_share=%.3f"
		       " arena_stall_p50_ns=%" PRIu64 " arena_stall_p99_ns=%" PRIu64
		       " uffd_readback=%s uffd_access_p50_ns=%" PRIu64
		       " uffd_access_p99_ns=%" PRIu64
		       " uffd_vs_plain_p50=%.3f uffd_vs_plain_p99=%.3f%s\n",
		       ds_names[d], m50, m99, samples,
		       (double)(st1.readbacks - st0.readbacks) / (double)MAX(timed, (uint64_t)1),
		       st1.stall_p50_ns, st1.stall_p99_ns, su.readback_userfaultfd ? "yes" : "no",
		       u50, u99, m50 ? (double)u50 / (double)m50 : 0.0,
		       m99 ? (double)u99 / (double)m99 : 0.0, reason);
		if (ds_compressible(d)) {
			sum->access_p50_max = MAX(sum->access_p50_max, m50);
			sum->access_p99_max = MAX(sum->access_p99_max, m99);
		}
	}
	r = 0;
out:
	for (int k = 0; k < _LAT_MAX; k++) {
		arena_region_free(reg[k]);
		arena_free(a[k]);
	}
	free(elig);
	free(lat);
	free(lz4_state);
	return r;
}

static int bench_minor_fault(const struct opts *o)
{
	double p50[64], p99[64];
	unsigned reps = MIN(o->reps, 64U);
	size_t samples = o->quick ? 2000 : LAT_SAMPLES_MAX;
	struct wl_rng rng;

	wl_rng_init(&rng, o->seed, 0x6d696e6f72, 0);
	for (unsigned rep = 0; rep < reps; rep++) {
		uint64_t a, b;
		int r = minor_fault_latency(samples, &rng, &a, &b);

		if (r < 0)
			return fail_api("minor fault measurement", r);
		p50[rep] = (double)a;
		p99[rep] = (double)b;
	}
	printf("dataset=none section=latency minor_fault_p50_ns=%.0f minor_fault_p99_ns=%.0f "
	       "samples=%zu\n",
	       median(p50, reps), median(p99, reps), samples);
	return 0;
}

/* ---- section: the fairness policy vs an oracle ---- */

struct fair_run {
	double arena, oracle, best; /* summed fair_score */
	double arena_exact; /* the arena's pick as it recorded it */
	uint64_t chunks, agree, arena_admitted, oracle_admitted, unknown;
	uint64_t size_misattributed; /* picks the size rule gave to another level */
	/* picks per candidate (index n_cand: not admitted) */
	uint64_t arena_picks[FAIR_CANDIDATES_MAX + 1], oracle_picks[FAIR_CANDIDATES_MAX + 1];
	struct fair_candidate cand[FAIR_CANDIDATES_MAX];
	size_t n_cand;
};

/* Measure candidate (codec, level) on one chunk: the output size and the least thread
 * CPU time of three runs each way, as libarena measures (CLOCK_THREAD_CPUTIME_ID). zstd
 * runs with the arena's frame parameters (no checksum, no content size) so its sizes
 * match what the arena stores. */
static int oracle_sample(struct raw *w, const struct fair_candidate *c, const uint8_t *src,
			 size_t chunk, uint8_t *out, size_t cap, uint8_t *back,
			 struct fair_sample *ret)
{
	uint64_t best_c = UINT64_MAX, best_d = UINT64_MAX;
	long sz = 0;

	for (int k = 0; k < 3; k++) {
		uint64_t t0 = cpu_ns(), t1, t2;

		if (c->codec == FAIR_CODEC_ZSTD) {
			size_t z;

			ZSTD_CCtx_reset(w->zc, ZSTD_reset_session_and_parameters);
			ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, c->level);
			ZSTD_CCtx_setParameter(w->zc, ZSTD_c_contentSizeFlag, 0);
			ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 0);
			t0 = cpu_ns();
			z = ZSTD_compress2(w->zc, out, cap, src, chunk);
			sz = ZSTD_isError(z) ? -EIO : (long)z;
		} else {
			sz = raw_compress_one(w, c->codec, c->level, src, chunk, out, cap);
		}
		t1 = cpu_ns();
		if (sz < 0)
			return (int)sz;
		if (raw_decompress_one(w, c->codec, out, (size_t)sz, back, chunk) < 0 ||
		    memcmp(back, src, chunk) != 0)
			return -EBADMSG;
		t2 = cpu_ns();
		best_c = MIN(best_c, t1 - t0);
		best_d = MIN(best_d, t2 - t1);
	}
	*ret = (struct fair_sample){ .in_bytes = chunk,
				     .out_bytes = (uint64_t)sz,
				     .compress_ns = MAX(best_c, (uint64_t)1),
				     .decompress_ns = MAX(best_d, (uint64_t)1) };
	return 0;
}

/* The model's candidates in libarena's order: LZ4 fast levels, LZ4, zstd levels. */
static size_t arena_candidates(const struct arena_config *cfg, struct fair_candidate *cand)
{
	size_t n = 0;

	if (cfg->codecs & ARENA_CODECS_LZ4_FAST)
		for (uint32_t i = 0; i < cfg->n_lz4_fast_accelerations; i++)
			cand[n++] = (struct fair_candidate){ FAIR_CODEC_LZ4_FAST,
							     cfg->lz4_fast_accelerations[i] };
	if (cfg->codecs & ARENA_CODECS_LZ4)
		cand[n++] = (struct fair_candidate){ FAIR_CODEC_LZ4, 1 };
	if (cfg->codecs & ARENA_CODECS_ZSTD)
		for (uint32_t i = 0; i < cfg->n_zstd_levels; i++)
			cand[n++] = (struct fair_candidate){ FAIR_CODEC_ZSTD, cfg->zstd_levels[i] };
	return n;
}

/*
 * Compress the chunks one at a time through the arena (default configuration) and read
 * its actual choice from the stats: which codec's chunk count went up and by how many
 * payload bytes; the level is the candidate of that codec whose measured output has that
 * size. Score that choice with the oracle's measured costs, and compare with the oracle:
 * fair_choose_measured() over every candidate's measurements (the policy's own rules:
 * threshold, zstd for COLD only, the baseline's switch margin), and "best", the plain
 * maximum score (no margin). All-zero chunks are left out: the arena stores them as
 * nothing, whatever the policy says.
 */
static int fair_compare(const struct opts *o, const uint8_t *src, size_t n, bool cold,
			struct fair_run *fr)
{
	struct arena_setup s = { o->chunk, 0, 0, 0, 0 };
	struct arena *a = NULL;
	struct arena_region *reg = NULL;
	struct arena_config cfg;
	struct fair_candidate cand[FAIR_CANDIDATES_MAX];
	struct fair_model *m_oracle = calloc(1, sizeof(*m_oracle)),
			  *m_best = calloc(1, sizeof(*m_best));
	struct fair_params params;
	struct raw w = {};
	uint8_t *out = NULL, *back = NULL;
	uint32_t chunk = o->chunk;
	size_t n_cand;
	int r = -ENOMEM;

	*fr = (struct fair_run){};
	if (!m_oracle || !m_best || raw_init(&w, chunk, chunk) < 0)
		goto out;
	out = malloc(w.bound);
	back = malloc(chunk);
	if (!out || !back)
		goto out;
	r = bench_arena_new(&s, &a);
	if (r < 0 || (r = arena_region_alloc(a, n, 0, &reg)) < 0) {
		fail_api("arena setup", r);
		goto out;
	}
	arena_config_get(a, &cfg);
	n_cand = arena_candidates(&cfg, cand);
	fair_params_init(&params);
	params.min_savings_permyriad = cfg.min_savings_permyriad;
	params.overhead_bytes = STORE_OVERHEAD_BYTES;
	if ((r = fair_model_init(m_oracle, &params, cand, n_cand)) < 0)
		goto out;
	memcpy(fr->cand, cand, sizeof(cand));
	fr->n_cand = n_cand;
	params.switch_margin_permyriad = 0;
	if ((r = fair_model_init(m_best, &params, cand, n_cand)) < 0)
		goto out;

	if ((r = region_load(reg, src, n)) < 0)
		goto out;
	if (cold)
		make_cold(a);
	for (size_t off = 0; off < n; off += chunk) {
		const uint8_t *c = src + off;
		struct fair_sample smp[FAIR_CANDIDATES_MAX] = {};
		struct fair_decision dor, dbest;
		struct fair_input in;
		struct arena_stats b, e;
		int pick = -1, exact;
		uint32_t hot = cold ? FAIR_COLD : FAIR_HOT;
		double rf = fair_readback_factor(&params, hot, 0.0);

		if (page_is_zero(c, chunk))
			continue;
		for (size_t i = 0; i < n_cand; i++)
			if ((r = oracle_sample(&w, &cand[i], c, chunk, out, w.bound, back,
					       &smp[i])) < 0) {
				fprintf(stderr, "arena bench: oracle %s/%d: %s\n",
					fair_codec_to_string(cand[i].codec), cand[i].level,
					strerror(-r));
				goto out;
			}
		in = (struct fair_input){ .bytes = chunk,
					  .hotness = hot,
					  .data_class = fair_classify(c, chunk),
					  .expected_reads = 0.0,
					  .codecs = 0,
					  .min_savings_permyriad = UINT32_MAX };
		if ((r = fair_choose_measured(m_oracle, &in, smp, n_cand, &dor)) < 0 ||
		    (r = fair_choose_measured(m_best, &in, smp, n_cand, &dbest)) < 0)
			goto out;

		/* the arena's choice, from its stats around one chunk's compression */
		if ((r = arena_stats_get(a, &b)) < 0)
			goto out;
		r = arena_region_compress(reg, off, chunk, NULL, NULL);
		if (r < 0 || (r = arena_stats_get(a, &e)) < 0) {
			fail_api("arena_region_compress", r);
			goto out;
		}
		if (e.compress_admitted > b.compress_admitted) {
			uint64_t payload = e.compressed_payload_bytes - b.compressed_payload_bytes;
			uint64_t best_diff = UINT64_MAX;

			for (size_t i = 0; i < n_cand; i++) {
				uint32_t cc = cand[i].codec;
				uint64_t diff;

				if (e.chunks_by_codec[cc] <= b.chunks_by_codec[cc])
					continue;
				diff = smp[i].out_bytes > payload ? smp[i].out_bytes - payload :
								    payload - smp[i].out_bytes;
				if (diff < best_diff) {
					best_diff = diff;
					pick = (int)i;
				}
			}
			if (pick < 0)
				fr->unknown++;
		}
		/* The size rule above takes the first level of the codec whose output has
		 * the stored size; where two levels give the same size (LZ4 fast 4 and 16
		 * on repetitive data, nearly always) it credits the first whatever the
		 * arena used. exact: the setting the arena recorded for the chunk. */
		exact = pick;
		{
			uint32_t codec;
			int32_t level;

			if (pick >= 0 && arena_test_chunk_codec(reg, off, &codec, &level) == 0)
				for (size_t i = 0; i < n_cand; i++)
					if (cand[i].codec == codec && cand[i].level == level)
						exact = (int)i;
		}
		if (exact != pick)
			fr->size_misattributed++;
		if (pick >= 0) {
			const struct fair_sample *p = &smp[pick], *q = &smp[exact];

			fr->arena += fair_score(
				(double)chunk - (double)p->out_bytes - STORE_OVERHEAD_BYTES,
				(double)p->compress_ns / 1e6, (double)p->decompress_ns / 1e6, rf);
			fr->arena_exact += fair_score(
				(double)chunk - (double)q->out_bytes - STORE_OVERHEAD_BYTES,
				(double)q->compress_ns / 1e6, (double)q->decompress_ns / 1e6, rf);
			fr->arena_admitted++;
		}
		fr->arena_picks[pick >= 0 ? (size_t)pick : n_cand]++;
		fr->oracle_picks[dor.admit ? dor.candidate : n_cand]++;
		fr->oracle += dor.admit ? dor.score : 0.0;
		fr->best += dbest.admit ? dbest.score : 0.0;
		fr->oracle_admitted += dor.admit;
		fr->agree += dor.admit ? pick == (int)dor.candidate : pick < 0;
		fr->chunks++;
	}
	r = region_verify(reg, src, n);
out:
	arena_region_free(reg);
	arena_free(a);
	raw_done(&w, chunk, chunk);
	free(out);
	free(back);
	free(m_oracle);
	free(m_best);
	return r;
}

/* "lz4-fast/4:12,lz4/1:3,none:0": picks per candidate. */
static void format_picks(const struct fair_run *fr, const uint64_t *picks, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i <= fr->n_cand && off < size; i++) {
		if (i < fr->n_cand)
			off += (size_t)snprintf(buf + off, size - off, "%s%s/%d:%" PRIu64,
						i ? "," : "",
						fair_codec_to_string(fr->cand[i].codec),
						fr->cand[i].level, picks[i]);
		else
			off += (size_t)snprintf(buf + off, size - off, ",none:%" PRIu64, picks[i]);
	}
}

static int bench_fairness(const struct opts *o, enum ds d, const uint8_t *src, size_t n,
			  struct summary *sum)
{
	for (int cold = 1; cold >= 0; cold--) {
		struct fair_run fr;
		char ap[256], op[256];
		int r = fair_compare(o, src, n, cold, &fr);

		if (r < 0)
			return r;
		if (fr.oracle <= 0) {
			printf("dataset=%s section=fairness hotness=%s fair_vs_oracle=n/a "
			       "reason=oracle-admits-nothing chunks=%" PRIu64
			       " arena_admitted=%" PRIu64 "\n",
			       ds_names[d], cold ? "cold" : "hot", fr.chunks, fr.arena_admitted);
			continue;
		}
		format_picks(&fr, fr.arena_picks, ap, sizeof(ap));
		format_picks(&fr, fr.oracle_picks, op, sizeof(op));
		/* fair_vs_oracle_exact: the arena's pick as it recorded it, not guessed
		 * from the output size (arena_picks= is by size, as before) */
		printf("dataset=%s section=fairness hotness=%s fair_vs_oracle=%.3f "
		       "fair_vs_best=%.3f fair_vs_oracle_exact=%.3f size_misattributed=%" PRIu64
		       " agree_pct=%.1f chunks=%" PRIu64 " arena_admitted=%" PRIu64
		       " oracle_admitted=%" PRIu64 " unidentified=%" PRIu64
		       " arena_picks=%s oracle_picks=%s\n",
		       ds_names[d], cold ? "cold" : "hot", fr.arena / fr.oracle, fr.arena / fr.best,
		       fr.arena_exact / fr.oracle, fr.size_misattributed,
		       100.0 * (double)fr.agree / (double)MAX(fr.chunks, (uint64_t)1), fr.chunks,
		       fr.arena_admitted, fr.oracle_admitted, fr.unknown, ap, op);
		if (ds_compressible(d)) {
			sum->fair_min = MIN(sum->fair_min, fr.arena / fr.oracle);
			sum->fair_exact_min = MIN(sum->fair_exact_min, fr.arena_exact / fr.oracle);
		}
	}
	return 0;
}

/* ---- section: chunk-size sweep ---- */

static const uint32_t sweep_chunks[] = { 4U << 10, 16U << 10, 64U << 10, 256U << 10, 1U << 20 };

/* The default policy (all codecs, data COLD) at each chunk size: the end-to-end ratio,
 * compress and decompress MB/s, and the first-access latency of a chunk (pin of a
 * compressed chunk: the whole chunk is decoded). */
static int bench_sweep(const struct opts *o, enum ds d, const uint8_t *src, size_t n,
		       struct summary *sum)
{
	for (size_t ci = 0; ci < ELEMENTSOF(sweep_chunks); ci++) {
		uint32_t chunk = sweep_chunks[ci];
		struct arena_setup s = { chunk, 0, 0, 0, 0 };
		struct arena *a = NULL;
		struct arena_region *reg = NULL;
		struct arena_stats st;
		size_t n_chunks = n / chunk;
		uint64_t *lat = calloc(n_chunks, sizeof(uint64_t));
		double ratio[64], cm[64], dm[64], l50[64], l99[64];
		unsigned reps = MIN(o->reps, 64U);
		int r;

		if (!lat)
			return -ENOMEM;
		r = bench_arena_new(&s, &a);
		if (r < 0 || (r = arena_region_alloc(a, n, 0, &reg)) < 0) {
			fail_api("arena setup", r);
			goto next;
		}
		for (unsigned rep = 0; rep < reps; rep++) {
			uint64_t t;
			int64_t td;

			if ((r = region_load(reg, src, n)) < 0)
				goto next;
			make_cold(a);
			t = now_ns();
			r = arena_region_compress(reg, 0, n, NULL, NULL);
			t = now_ns() - t;
			if (r < 0 || (r = arena_stats_get(a, &st)) < 0) {
				fail_api("arena_region_compress", r);
				goto next;
			}
			ratio[rep] = st.ratio_e2e_post_comp;
			cm[rep] = mbps(n, t);
			td = region_read_chunks(reg, n, chunk, lat);
			if (td < 0) {
				r = (int)td;
				goto next;
			}
			dm[rep] = mbps(n, (uint64_t)td);
			l50[rep] = (double)quantile_u64(lat, n_chunks, 0.5);
			l99[rep] = (double)quantile_u64(lat, n_chunks, 0.99);
			if ((r = region_verify(reg, src, n)) < 0)
				goto next;
		}
		printf("dataset=%s section=sweep chunk=%u ratio=%.3f compress_mbps=%.0f "
		       "decompress_mbps=%.0f first_access_p50_ns=%.0f first_access_p99_ns=%.0f\n",
		       ds_names[d], chunk, median(ratio, reps), median(cm, reps), median(dm, reps),
		       median(l50, reps), median(l99, reps));
		r = 0;
next:
		arena_region_free(reg);
		arena_free(a);
		free(lat);
		if (r < 0)
			return r;
	}
	(void)sum;
	return 0;
}

/* ---- main ---- */

/*
 * classify: what libarena spends deciding, per 4 KiB chunk, against the codec it
 * decides for. Passes over every chunk of the data set in address order, in rotating
 * order per repetition, thread CPU time:
 *   classify_alone    fair_classify() with nothing prefetched;
 *   classify          fair_classify() as a compression pass runs it: the pass has
 *                     prefetched the chunk's sampled lines and probe window before
 *                     compressing the chunk before it (arena_test_compress_prefetch());
 *   verdict           the same plus the arena's 1 KiB probe where the classifier
 *                     finds the chunk random-looking (what rejecting costs);
 *   lz4_fast4, lz4    LZ4 fast 4 (the default baseline) and LZ4 default with the
 *                     arena's output cap;
 *   classify_lz4_fast4  the pipelined classifier followed by LZ4 fast 4;
 *   fill_try          what runs before the classifier: the first-line check and,
 *                     where it holds, the fill scan (arena_test_fill_try()); a chunk
 *                     it stores as a fill object (fills=) is never classified nor
 *                     given to a codec.
 * classify_vs_lz4 = classify / lz4_fast4 (target <= 0.10), classify_added_vs_lz4 =
 * (classify_lz4_fast4 - lz4_fast4) / lz4_fast4, what classifying adds to a
 * compression; verdict_speedup = lz4 / verdict, printed where the verdict rejects most
 * chunks (>= 90%; target >= 3); fill_vs_lz4 = fill_try / lz4_fast4.
 */
enum { CL_ALONE, CL_CLASSIFY, CL_VERDICT, CL_LZ4F4, CL_LZ4, CL_BOTH, CL_FILL, _CL_MAX };

static void bench_classify(const struct opts *o, enum ds d, const uint8_t *src, size_t n)
{
	const size_t chunk = WL_PAGE_BYTES, chunks = n / chunk,
		     cap = chunk - chunk * 5 / 100 - STORE_OVERHEAD_BYTES;
	double per[_CL_MAX][64] = {}, med[_CL_MAX];
	uint64_t classes[_FAIR_CLASS_MAX] = {}, rejected = 0, fills = 0;
	uint8_t fill_buf[64];
	void *st = malloc((size_t)LZ4_sizeofState());
	char *out = malloc((size_t)LZ4_compressBound((int)chunk));
	volatile uint64_t sink = 0;

	if (!st || !out || chunks == 0)
		goto out;
	for (size_t i = 0; i < chunks; i++) {
		enum fair_class c = fair_classify(src + i * chunk, chunk);

		classes[c]++;
		fills += arena_test_fill_try(src + i * chunk, chunk, fill_buf) > 0;
		rejected += c == FAIR_CLASS_HIGH_ENTROPY &&
			    arena_test_probe_incompressible(src + i * chunk, chunk);
	}
	for (unsigned rep = 0; rep < o->reps; rep++)
		for (unsigned j = 0; j < _CL_MAX; j++) {
			unsigned k = (j + rep) % _CL_MAX;
			uint64_t t0 = cpu_ns();

			for (size_t i = 0; i < chunks; i++) {
				const uint8_t *p = src + i * chunk;
				enum fair_class c;

				if (i + 1 < chunks && k != CL_ALONE && k != CL_LZ4F4 &&
				    k != CL_LZ4 && k != CL_FILL)
					arena_test_compress_prefetch(p + chunk, chunk);
				switch (k) {
				case CL_ALONE:
				case CL_CLASSIFY:
					sink += fair_classify(p, chunk);
					break;
				case CL_VERDICT:
					c = fair_classify(p, chunk);
					sink += c == FAIR_CLASS_HIGH_ENTROPY &&
						arena_test_probe_incompressible(p, chunk);
					break;
				case CL_LZ4F4:
				case CL_LZ4:
					sink += (uint64_t)LZ4_compress_fast_extState(
						st, (const char *)p, out, (int)chunk, (int)cap,
						k == CL_LZ4 ? 1 : 4);
					break;
				case CL_FILL:
					sink += (uint64_t)arena_test_fill_try(p, chunk, fill_buf);
					break;
				default:
					sink += fair_classify(p, chunk);
					sink += (uint64_t)LZ4_compress_fast_extState(
						st, (const char *)p, out, (int)chunk, (int)cap, 4);
					break;
				}
			}
			per[k][rep] = (double)(cpu_ns() - t0) / (double)chunks;
		}
	for (unsigned k = 0; k < _CL_MAX; k++)
		med[k] = median(per[k], o->reps);
	printf("dataset=%s section=classify chunk=%zu chunks=%zu classify_alone_ns=%.0f"
	       " classify_ns=%.0f verdict_ns=%.0f lz4_fast4_ns=%.0f lz4_ns=%.0f"
	       " classify_lz4_fast4_ns=%.0f classify_vs_lz4=%.3f classify_added_vs_lz4=%.3f"
	       " rejected_by_verdict=%" PRIu64,
	       ds_names[d], chunk, chunks, med[CL_ALONE], med[CL_CLASSIFY], med[CL_VERDICT],
	       med[CL_LZ4F4], med[CL_LZ4], med[CL_BOTH], med[CL_CLASSIFY] / med[CL_LZ4F4],
	       (med[CL_BOTH] - med[CL_LZ4F4]) / med[CL_LZ4F4], rejected);
	printf(" fill_try_ns=%.0f fill_vs_lz4=%.3f fills=%" PRIu64, med[CL_FILL],
	       med[CL_FILL] / med[CL_LZ4F4], fills);
	if (rejected * 10 >= chunks * 9)
		printf(" verdict_speedup=%.2f", med[CL_LZ4] / med[CL_VERDICT]);
	printf(" classes=");
	for (unsigned c = 0; c < _FAIR_CLASS_MAX; c++)
		printf("%s%s:%" PRIu64, c ? "," : "", fair_class_to_string(c), classes[c]);
	printf("\n");
out:
	free(st);
	free(out);
}

/*
 * pressure (issue 15): COLD data compressed by arenas side by side, every byte checked
 * after: LZ4 default at 4 KiB (zram's own codec and granularity), the default arena
 * without pressure (three times: how far the same bytes' ratio moves between runs),
 * at pressure 5000 and 10000, zstd only (levels 1 and 3, its own choice between them),
 * and 64 KiB chunks at pressure 10000; then kernel zram with lz4 on the same bytes
 * (root). Then the readback of HOT chunks under pressure: chunks compressed while HOT
 * at pressure 0 and at 10000, the first access of up to 4000 of them in random order,
 * p50/p99. Runs on the synthetic data sets and on --images (memory images of real
 * programs, scripts/capture-heaps).
 */
struct pressure_run {
	const char *name;
	struct arena_setup s;
};

static int hot_readback(const struct opts *o, const uint8_t *src, size_t n, uint32_t pressure,
			uint64_t *ret_p50, uint64_t *ret_p99, uint64_t *ret_zstd)
{
	struct arena_setup s = { 4096, 0, 0, 0, pressure };
	size_t pages = n / 4096, m = 0;
	struct arena *a = NULL;
	struct arena_region *reg = NULL;
	struct arena_stats st;
	uint64_t *lat = NULL;
	size_t *order = NULL;
	struct wl_rng rng;
	int r;

	r = bench_arena_new(&s, &a);
	if (r < 0 || (r = arena_region_alloc(a, n, 0, &reg)) < 0 ||
	    (r = region_load(reg, src, n)) < 0)
		goto out;
	/* just written: HOT; compressed as such */
	if ((r = arena_region_compress(reg, 0, n, NULL, NULL)) < 0 ||
	    (r = arena_stats_get(a, &st)) < 0)
		goto out;
	*ret_zstd = st.chunks_by_codec[ARENA_CODEC_ZSTD];
	lat = malloc(MAX(pages, (size_t)1) * sizeof(*lat));
	order = malloc(MAX(pages, (size_t)1) * sizeof(*order));
	if (!lat || !order) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < pages; i++)
		if (arena_test_chunk_state(reg, i * 4096) == 2)
			order[m++] = i;
	wl_rng_init(&rng, o->seed, 0x686f74, 1);
	shuffle(order, m, &rng);
	m = MIN(m, (size_t)4000);
	for (size_t i = 0; i < m; i++) {
		uint64_t t0 = now_ns();
		void *p;

		if ((r = arena_pin(reg, order[i] * 4096, 1, ARENA_PIN_READ, &p)) < 0)
			goto out;
		(void)*(volatile uint8_t *)p;
		(void)arena_unpin(reg, order[i] * 4096, 1);
		lat[i] = now_ns() - t0;
	}
	*ret_p50 = quantile_u64(lat, m, 0.50);
	*ret_p99 = quantile_u64(lat, m, 0.99);
	r = region_verify(reg, src, n);
out:
	free(lat);
	free(order);
	arena_region_free(reg);
	arena_free(a);
	return r;
}

static int bench_pressure(const struct opts *o, const char *name, const uint8_t *src, size_t n)
{
	enum { P_LZ4, P_DEF0, P_DEF0B, P_DEF0C, P_DEF5K, P_DEF10K, P_ZSTD, P_DEF10K_64K, _P_MAX };
	const struct pressure_run runs[_P_MAX] = {
		[P_LZ4] = { "lz4_4k", { 4096, ARENA_CODECS_LZ4, 1, 0, 0 } },
		[P_DEF0] = { "default_p0", { 4096, 0, 0, 0, 0 } },
		[P_DEF0B] = { "default_p0_run2", { 4096, 0, 0, 0, 0 } },
		[P_DEF0C] = { "default_p0_run3", { 4096, 0, 0, 0, 0 } },
		[P_DEF5K] = { "default_p5000", { 4096, 0, 0, 0, 5000 } },
		[P_DEF10K] = { "default_p10000", { 4096, 0, 0, 0, 10000 } },
		[P_ZSTD] = { "zstd_only", { 4096, ARENA_CODECS_ZSTD, 0, 0, 0 } },
		[P_DEF10K_64K] = { "default_p10000_64k", { 65536, 0, 0, 0, 10000 } },
	};
	double ratio[_P_MAX];
	struct zram_result z = {};
	uint64_t p50[2] = {}, p99[2] = {}, hz[2] = {};
	char why[128] = "";
	double zr = 0.0, lo, hi;

	n &= ~(size_t)65535;
	if (n == 0)
		return 0;
	for (unsigned k = 0; k < _P_MAX; k++) {
		struct arena_stats st;
		double payload;
		uint64_t t0 = cpu_ns();
		int r = arena_ratio_of(&runs[k].s, true, src, n, &ratio[k], &payload, &st);

		if (r < 0)
			return r;
		printf("dataset=%s section=pressure arena=%s chunk=%u pressure=%u ratio_e2e=%.3f"
		       " chunks_zstd=%" PRIu64 " chunks_lz4=%" PRIu64 " chunks_raw=%" PRIu64
		       " chunks_zero=%" PRIu64 " cpu_ms=%.0f\n",
		       name, runs[k].name, runs[k].s.chunk, runs[k].s.pressure, ratio[k],
		       st.chunks_by_codec[ARENA_CODEC_ZSTD],
		       st.chunks_by_codec[ARENA_CODEC_LZ4] +
			       st.chunks_by_codec[ARENA_CODEC_LZ4_FAST],
		       st.chunks_raw, st.chunks_zero, (double)(cpu_ns() - t0) / 1e6);
		fflush(stdout);
	}
	for (unsigned k = 0; k < 2; k++) {
		int r = hot_readback(o, src, n, k ? 10000 : 0, &p50[k], &p99[k], &hz[k]);

		if (r < 0)
			return r;
	}
	lo = MIN(ratio[P_DEF0], MIN(ratio[P_DEF0B], ratio[P_DEF0C]));
	hi = MAX(ratio[P_DEF0], MAX(ratio[P_DEF0B], ratio[P_DEF0C]));
	if (zram_measure(src, n, &z, why, sizeof(why)) == 0 && z.mem_used)
		zr = (double)z.orig / (double)z.mem_used;
	printf("dataset=%s section=pressure summary=1 bytes=%zu", name, n);
	if (zr > 0)
		printf(" zram_lz4_ratio=%.3f default_p0_vs_zram=%.3f default_p10000_vs_zram=%.3f"
		       " default_p10000_64k_vs_zram=%.3f zstd_only_vs_zram=%.3f",
		       zr, ratio[P_DEF0] / zr, ratio[P_DEF10K] / zr, ratio[P_DEF10K_64K] / zr,
		       ratio[P_ZSTD] / zr);
	else
		printf(" zram_lz4_ratio=unavailable");
	printf(" default_p0_vs_lz4=%.3f default_p10000_vs_zstd_only=%.3f"
	       " default_p5000_vs_zstd_only=%.3f default_p0_spread=%.3f"
	       " hot_p0_p50_ns=%" PRIu64 " hot_p0_p99_ns=%" PRIu64 " hot_p10000_p50_ns=%" PRIu64
	       " hot_p10000_p99_ns=%" PRIu64 " hot_p10000_zstd_chunks=%" PRIu64
	       " hot_p99_p10000_vs_p0=%.3f%s%s\n",
	       ratio[P_DEF0] / ratio[P_LZ4], ratio[P_DEF10K] / ratio[P_ZSTD],
	       ratio[P_DEF5K] / ratio[P_ZSTD], hi / lo, p50[0], p99[0], p50[1], p99[1], hz[1],
	       p99[0] ? (double)p99[1] / (double)p99[0] : 0.0,
	       zr > 0 ? "" : " reason=", zr > 0 ? "" : why);
	return 0;
}

/*
 * What memctld's COMPRESS costs the workload: a COMPRESS asks for at most MaxCommand=
 * (memctld.conf(5)) and the controller client runs it as arena_compress_bytes() calls
 * of at most 8 MiB, coldest first, so a pass's fixed costs (finding and ordering the
 * candidates among every chunk) are paid per command however large the arena. The
 * section does the same in slices of --slice-kb. Per slice: thread CPU, of it the
 * chosen codec's (the arena's counters), and their ratio; freed MiB per CPU second.
 * Medians of reps.
 */
static int bench_slices(const struct opts *o, enum ds d, const uint8_t *src, size_t n)
{
	double slice_ms[64], codec_ms[64], freed_per_s[64], ratio[64];
	unsigned reps = MIN(o->reps, 64U);
	uint64_t slices = 0;

	for (unsigned k = 0; k < reps; k++) {
		const struct arena_setup s = { .chunk = o->chunk };
		_cleanup_free_ uint64_t *cpu = NULL;
		struct arena_stats s0, s1;
		struct arena_region *reg;
		struct arena *a;
		uint64_t freed_total = 0, codec = 0, all = 0;
		size_t max = n / o->slice * 4 + 16, m = 0;
		int r;

		cpu = calloc(max, sizeof(*cpu));
		if (!cpu)
			return -ENOMEM;
		r = bench_arena_new(&s, &a);
		if (r < 0)
			return fail_api("arena_new", r);
		r = arena_region_alloc(a, n, 0, &reg);
		if (r < 0 || (r = region_load(reg, src, n)) < 0) {
			arena_free(a);
			return fail_api("arena_region_alloc", r);
		}
		make_cold(a);
		(void)arena_stats_get(a, &s0);
		while (m < max) {
			uint64_t got = 0, t0 = cpu_ns();

			r = arena_compress_bytes(a, o->slice, ARENA_COLD, NULL, &got);
			cpu[m++] = cpu_ns() - t0;
			all += cpu[m - 1];
			freed_total += got;
			if (r != ARENA_COMPRESS_DONE || got == 0)
				break;
		}
		(void)arena_stats_get(a, &s1);
		for (int c = 0; c < _ARENA_CODEC_MAX; c++)
			codec += s1.compress_cpu_ns_by_codec[c] - s0.compress_cpu_ns_by_codec[c];
		r = region_verify(reg, src, n);
		arena_region_free(reg);
		arena_free(a);
		if (r < 0)
			return r;
		qsort(cpu, m, sizeof(*cpu), cmp_u64);
		slices = m;
		slice_ms[k] = (double)cpu[m / 2] / 1e6;
		codec_ms[k] = (double)codec / 1e6 / (double)m;
		ratio[k] = codec ? (double)all / (double)codec : 0.0;
		freed_per_s[k] = all ? (double)freed_total / 1048576.0 / ((double)all / 1e9) : 0.0;
	}
	printf("dataset=%s section=slices bytes=%zu slice_bytes=%u slices=%" PRIu64
	       " slice_cpu_ms_p50=%.2f codec_cpu_ms_per_slice=%.2f slice_vs_codec_cpu=%.2f"
	       " freed_mib_per_cpu_s=%.0f\n",
	       ds_names[d], n, o->slice, slices, median(slice_ms, reps), median(codec_ms, reps),
	       median(ratio, reps), median(freed_per_s, reps));
	return 0;
}

static int bench_images(const struct opts *o)
{
	_cleanup_free_ char *list = strdup(o->images);
	char *save = NULL;
	int failed = 0;

	if (!list)
		return -ENOMEM;
	for (char *path = strtok_r(list, ",", &save); path; path = strtok_r(NULL, ",", &save)) {
		_cleanup_free_ char *name =
			strdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat sb;
		void *p;
		char *dot;

		if (!name || fd < 0 || fstat(fd, &sb) < 0 || sb.st_size < 65536) {
			fprintf(stderr, "arena bench: %s: cannot use it as an image\n", path);
			if (fd >= 0)
				close(fd);
			failed++;
			continue;
		}
		if ((dot = strrchr(name, '.')))
			*dot = 0;
		p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		close(fd);
		if (p == MAP_FAILED) {
			failed++;
			continue;
		}
		if (bench_pressure(o, name, p, (size_t)sb.st_size) < 0)
			failed++;
		munmap(p, (size_t)sb.st_size);
	}
	return failed ? -EBADMSG : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: arena [--quick] [--mb N] [--reps N] [--seed N] [--chunk-kb N] [--slice-kb N]\n"
		"             [--datasets a,b,...] [--sections a,b,...]\n"
		"libarena benchmark: prints key=value lines per data set; exits non-zero only\n"
		"when data does not round-trip (or the arena cannot be set up).\n\n"
		"  --quick        small sizes and 2 repetitions (a smoke run)\n"
		"  --mb N         MiB per data set (default 64; sweep uses <= 32, fairness <= 16)\n"
		"  --reps N       repetitions, medians reported (default 5, at most 64)\n"
		"  --seed N       data seed (default 1)\n"
		"  --chunk-kb N   chunk size of the throughput, zram and fairness sections\n"
		"                 (default: the library's ARENA_CHUNK_SIZE_DEFAULT)\n"
		"  --slice-kb N   bytes per arena_compress_bytes() call in the slices section\n"
		"                 (default 4096)\n"
		"  --datasets L   zero-heavy,text-like,mixed,random,repetitive,unique,mixed_50_50,\n"
		"                 one-value\n"
		"  --sections L   throughput,zram,latency,fairness,sweep,classify,pressure,\n"
		"                 slices\n"
		"                 (default all)\n"
		"  --images L     memory images (scripts/capture-heaps): the pressure section on\n"
		"                 each, after the data sets (none unless --datasets is given)\n");
}

/* Parse a comma list of names into a mask. Returns 0 or -EINVAL. */
static int parse_list(const char *arg, const char *const *names, size_t n, uint32_t *ret)
{
	_cleanup_free_ char *copy = strdup(arg);
	uint32_t mask = 0;
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < n && strcmp(t, names[i]) != 0; i++)
			;
		if (i == n)
			return -EINVAL;
		mask |= 1U << i;
	}
	if (!mask)
		return -EINVAL;
	*ret = mask;
	return 0;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "mb", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "datasets", required_argument, NULL, 'd' },
		{ "sections", required_argument, NULL, 'S' },
		{ "chunk-kb", required_argument, NULL, 'c' },
		{ "images", required_argument, NULL, 'i' },
		{ "slice-kb", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool mb_set = false, reps_set = false, datasets_set = false;
	uint64_t v;
	int c;

	*o = (struct opts){
		.mb = 64,
		.reps = 5,
		.seed = 1,
		.sections = SEC_ALL,
		.datasets = (1U << _DS_MAX) - 1,
		.chunk = ARENA_CHUNK_SIZE_DEFAULT,
		.slice = 4U << 20,
	};
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int r = 0;

		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'm':
			r = wl_parse_u64(optarg, 1, 4096, &o->mb);
			mb_set = true;
			break;
		case 'r':
			r = wl_parse_u64(optarg, 1, 64, &v);
			o->reps = (unsigned)v;
			reps_set = true;
			break;
		case 's':
			r = wl_parse_u64(optarg, 0, UINT64_MAX, &o->seed);
			break;
		case 'c':
			r = wl_parse_u64(optarg, ARENA_CHUNK_SIZE_MIN >> 10,
					 ARENA_CHUNK_SIZE_MAX >> 10, &v);
			if (r == 0 && (v & (v - 1)))
				r = -EINVAL;
			o->chunk = (uint32_t)v << 10;
			break;
		case 'd':
			r = parse_list(optarg, ds_names, _DS_MAX, &o->datasets);
			datasets_set = true;
			break;
		case 'i':
			o->images = optarg;
			break;
		case 'k':
			r = wl_parse_u64(optarg, 4, 1U << 20, &v);
			o->slice = (uint32_t)v << 10;
			break;
		case 'S':
			r = parse_list(optarg, section_names, ELEMENTSOF(section_names),
				       &o->sections);
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, "Try 'arena --help'.\n");
			return -EINVAL;
		}
		if (r < 0) {
			fprintf(stderr, "arena: invalid value '%s'\n", optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "arena: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->images && !datasets_set)
		o->datasets = 0;
	if (o->quick) {
		if (!mb_set)
			o->mb = 4;
		if (!reps_set)
			o->reps = 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct summary sum = { .vs_raw_c_min = INFINITY,
			       .vs_raw_d_min = INFINITY,
			       .ceil_c_min = INFINITY,
			       .ceil_d_min = INFINITY,
			       .vs_bound_c_min = INFINITY,
			       .vs_bound_d_min = INFINITY,
			       .vs_zram_min = INFINITY,
			       .vs_zram_default_min = INFINITY,
			       .fair_min = INFINITY,
			       .fair_exact_min = INFINITY };
	size_t n, n_small, n_fair;
	uint8_t *buf;
	int r;

	r = parse_args(&o, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	n = (size_t)o.mb << 20;
	n_small = MIN(n, (size_t)32 << 20);
	/* the fairness section takes stats around every chunk: O(chunks^2) */
	n_fair = MIN(n, (size_t)16 << 20);
	buf = map_bytes(n);
	if (!buf) {
		fprintf(stderr, "arena bench: cannot map %zu bytes\n", n);
		return 1;
	}
	printf("bench=arena libarena=%s mb=%" PRIu64 " reps=%u seed=%" PRIu64
	       " cpus=%ld quick=%d chunk=%u\n",
	       arena_version_string(), o.mb, o.reps, o.seed, sysconf(_SC_NPROCESSORS_ONLN), o.quick,
	       o.chunk);
	fflush(stdout);
	if (o.sections & SEC_LATENCY && (r = bench_minor_fault(&o)) < 0)
		sum.roundtrip_errors++;
	for (int d = 0; d < _DS_MAX; d++) {
		if (!(o.datasets & (1U << d)))
			continue;
		fill_dataset((enum ds)d, o.seed, buf, n);
		if (o.sections & SEC_THROUGHPUT &&
		    bench_throughput(&o, (enum ds)d, buf, n, &sum) < 0)
			sum.roundtrip_errors++;
		fflush(stdout);
		if (o.sections & SEC_ZRAM && bench_zram(&o, (enum ds)d, buf, n, &sum) < 0)
			sum.roundtrip_errors++;
		fflush(stdout);
		if (o.sections & SEC_LATENCY && bench_latency(&o, (enum ds)d, buf, n, &sum) < 0)
			sum.roundtrip_errors++;
		fflush(stdout);
		if (o.sections & SEC_FAIRNESS &&
		    bench_fairness(&o, (enum ds)d, buf, n_fair, &sum) < 0)
			sum.roundtrip_errors++;
		fflush(stdout);
		if (o.sections & SEC_SWEEP && bench_sweep(&o, (enum ds)d, buf, n_small, &sum) < 0)
			sum.roundtrip_errors++;
		fflush(stdout);
		if (o.sections & SEC_CLASSIFY)
			bench_classify(&o, (enum ds)d, buf, n);
		fflush(stdout);
		if (o.sections & SEC_PRESSURE && bench_pressure(&o, ds_names[d], buf, n) < 0)
			sum.roundtrip_errors++;
		fflush(stdout);
		if (o.sections & SEC_SLICES && bench_slices(&o, (enum ds)d, buf, n) < 0)
			sum.roundtrip_errors++;
		fflush(stdout);
	}
	if (o.images && bench_images(&o) < 0)
		sum.roundtrip_errors++;
	printf("summary section=all arena_vs_raw_compress_min=%.3f "
	       "arena_vs_raw_decompress_min=%.3f ratio_vs_zram_min=%.3f "
	       "ratio_vs_zram_default_min=%.3f access_p50_ns_max=%" PRIu64
	       " access_p99_ns_max=%" PRIu64 " fair_vs_oracle_min=%.3f"
	       " fair_vs_oracle_exact_min=%.3f failures=%u\n",
	       sum.vs_raw_c_min, sum.vs_raw_d_min, sum.vs_zram_min, sum.vs_zram_default_min,
	       sum.access_p50_max, sum.access_p99_max, sum.fair_min, sum.fair_exact_min,
	       sum.roundtrip_errors);
	if (o.sections & SEC_THROUGHPUT)
		printf("summary section=throughput ceiling_vs_raw_compress_min=%.3f "
		       "ceiling_vs_raw_decompress_min=%.3f arena_vs_bound_compress_min=%.3f "
		       "arena_vs_bound_decompress_min=%.3f\n",
		       sum.ceil_c_min, sum.ceil_d_min, sum.vs_bound_c_min, sum.vs_bound_d_min);
	munmap(buf, n);
	return sum.roundtrip_errors ? 1 : 0;
}
