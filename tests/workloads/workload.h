/* SPDX-License-Identifier: MIT */
/* tests/workloads/workload.h: what the synthetic workloads (and bench/arena) share: option
 * parsing, deterministic page generators, page checksums, and one memory backend that is
 * either plain mmap'd memory (the baseline) or a libarena region. Header-only. */
#pragma once

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "arena/arena.h"
#include "common/macro.h"
#include "common/time-util.h"

#define WL_PAGE_BYTES 4096U
#define WL_PAGE_WORDS (WL_PAGE_BYTES / 8)

/* ---- deterministic random numbers (splitmix64) ---- */

struct wl_rng {
	uint64_t s;
};

static inline uint64_t wl_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t wl_rng_next(struct wl_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return wl_mix64(r->s);
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t wl_rng_below(struct wl_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)wl_rng_next(r) * n) >> 64);
}

static inline void wl_rng_init(struct wl_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
	r->s = wl_mix64(seed ^ wl_mix64(a + 0x632be59bd9b4e019ULL) ^ wl_mix64(~b));
}

/* ---- data kinds and page generators ---- */

enum wl_data {
	WL_DATA_ZERO_HEAVY = 0, /* heap-like pages, 70% of them all zero */
	WL_DATA_TEXT = 1, /* text-like: words, numbers, line breaks */
	WL_DATA_MIXED = 2, /* per page: 20% zero, 30% text, 30% heap, 20% random */
	WL_DATA_RANDOM = 3, /* uniformly random bytes: incompressible */
	_WL_DATA_MAX,
};

static const char *const wl_data_names[_WL_DATA_MAX] = {
	[WL_DATA_ZERO_HEAVY] = "zero-heavy",
	[WL_DATA_TEXT] = "text",
	[WL_DATA_MIXED] = "mixed",
	[WL_DATA_RANDOM] = "random",
};

static inline int wl_data_from_string(const char *s)
{
	for (int i = 0; i < _WL_DATA_MAX; i++)
		if (strcmp(s, wl_data_names[i]) == 0)
			return i;
	return -EINVAL;
}

static const char *const wl_words[] = {
	"the",	   "of",      "and",	  "to",	     "in",	 "a",	     "is",	"that",
	"for",	   "it",      "as",	  "was",     "with",	 "be",	     "by",	"on",
	"not",	   "he",      "this",	  "are",     "or",	 "his",	     "from",	"at",
	"which",   "but",     "have",	  "an",	     "had",	 "they",     "you",	"were",
	"their",   "one",     "all",	  "we",	     "can",	 "her",	     "has",	"there",
	"been",	   "if",      "more",	  "when",    "will",	 "would",    "who",	"so",
	"memory",  "page",    "cgroup",	  "process", "kernel",	 "request",  "server",	"error",
	"warning", "info",    "debug",	  "thread",  "worker",	 "queue",    "latency", "bytes",
	"read",	   "write",   "compress", "buffer",  "offset",	 "status",   "timeout", "client",
	"session", "user",    "config",	  "value",   "return",	 "function", "struct",	"const",
	"static",  "int",     "uint64_t", "size_t",  "unsigned", "void",     "char",	"NULL",
	"GET",	   "POST",    "HTTP/1.1", "200",     "404",	 "/api/v1",  "json",	"id",
	"time",	   "through", "between",  "because", "however",	 "system",   "number",	"people",
};
#define WL_N_WORDS (sizeof(wl_words) / sizeof(wl_words[0]))

/* A word index skewed towards the start of the list, as word frequencies are. */
static inline size_t wl_word_pick(struct wl_rng *r)
{
	return (size_t)wl_rng_below(r, wl_rng_below(r, WL_N_WORDS) + 1);
}

static inline void wl_fill_text(struct wl_rng *r, uint8_t *p, size_t n)
{
	size_t off = 0, in_line = 0;
	char num[24];

	while (off < n) {
		const char *w;
		size_t len;

		if (wl_rng_below(r, 12) == 0) {
			snprintf(num, sizeof(num), "%" PRIu64, wl_rng_below(r, 100000));
			w = num;
		} else {
			w = wl_words[wl_word_pick(r)];
		}
		len = MIN(strlen(w), n - off);
		memcpy(p + off, w, len);
		off += len;
		if (off < n)
			p[off++] = ++in_line >= 8 + wl_rng_below(r, 8) ? '\n' : ' ';
		if (off > 0 && p[off - 1] == '\n')
			in_line = 0;
	}
}

static inline void wl_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A page of a malloc heap: 16-byte chunk headers, list nodes with pointers into the
 * same heap, small integer arrays, strings, freed and calloc'd (zero) blocks. */
static inline void wl_fill_heap(struct wl_rng *r, uint8_t *p, size_t n)
{
	uint64_t heap = 0x000055d0a0000000ULL + (wl_rng_next(r) & 0x0fff000ULL);
	size_t off = 0;

	memset(p, 0, n);
	while (off + 32 <= n) {
		size_t sz = (size_t)(32 + 16 * wl_rng_below(r, 8));
		uint8_t *b = p + off + 16;
		size_t blen;

		sz = MIN(sz, n - off);
		blen = sz - 16;

		wl_put64(p + off + 8, sz | 1); /* size | PREV_INUSE */
		switch (wl_rng_below(r, 8)) {
		case 0: /* freed: fd/bk pointers, the rest stale zero */
			wl_put64(b, heap + (wl_rng_below(r, 4096) << 4));
			wl_put64(b + 8, heap + (wl_rng_below(r, 4096) << 4));
			break;
		case 1:
		case 2:
		case 3: /* a list node: next, prev, key, refcount, short name */
			wl_put64(b, heap + (wl_rng_below(r, 4096) << 4));
			if (blen >= 32) {
				wl_put64(b + 8, heap + (wl_rng_below(r, 4096) << 4));
				wl_put64(b + 16, wl_rng_below(r, 1000));
				wl_put64(b + 24, 1 + wl_rng_below(r, 3));
			}
			if (blen >= 48) {
				const char *w = wl_words[wl_word_pick(r)];

				memcpy(b + 32, w, MIN(strlen(w), (size_t)15));
			}
			break;
		case 4:
		case 5: /* an array of small, mostly increasing integers */
			for (size_t i = 0, v = wl_rng_below(r, 64); i + 4 <= blen; i += 4) {
				uint32_t x = (uint32_t)v;

				memcpy(b + i, &x, 4);
				v += wl_rng_below(r, 4);
			}
			break;
		case 6: /* a string buffer, NUL padded */
			wl_fill_text(r, b, blen / 2);
			break;
		default: /* calloc'd, never written */
			break;
		}
		off += sz;
	}
}

static inline void wl_fill_random(struct wl_rng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i += 8)
		wl_put64(p + i, wl_rng_next(r));
}

/* Fill one 4 KiB page: a pure function of (kind, seed, page id, version). Version 0 is
 * the zero page (never written, or discarded). */
static inline void wl_page_fill(enum wl_data kind, uint64_t seed, uint64_t page_id,
				uint32_t version, uint8_t *p)
{
	struct wl_rng r;
	uint64_t pick;

	if (version == 0) {
		memset(p, 0, WL_PAGE_BYTES);
		return;
	}
	wl_rng_init(&r, seed, page_id, version);
	pick = wl_rng_below(&r, 100);
	switch (kind) {
	case WL_DATA_ZERO_HEAVY:
		if (pick < 70)
			memset(p, 0, WL_PAGE_BYTES);
		else
			wl_fill_heap(&r, p, WL_PAGE_BYTES);
		break;
	case WL_DATA_TEXT:
		wl_fill_text(&r, p, WL_PAGE_BYTES);
		break;
	case WL_DATA_MIXED:
		if (pick < 20)
			memset(p, 0, WL_PAGE_BYTES);
		else if (pick < 50)
			wl_fill_text(&r, p, WL_PAGE_BYTES);
		else if (pick < 80)
			wl_fill_heap(&r, p, WL_PAGE_BYTES);
		else
			wl_fill_random(&r, p, WL_PAGE_BYTES);
		break;
	default:
		wl_fill_random(&r, p, WL_PAGE_BYTES);
		break;
	}
}

/* ---- checksums ---- */

/* 64-bit, position dependent, two lanes so the multiplies overlap; not for
 * adversaries, only to notice wrong bytes. n is a multiple of 16. */
static inline uint64_t wl_checksum(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint64_t a = 0x243f6a8885a308d3ULL ^ n, b = 0x13198a2e03707344ULL;

	for (size_t i = 0; i + 16 <= n; i += 16) {
		uint64_t x, y;

		memcpy(&x, p + i, 8);
		memcpy(&y, p + i + 8, 8);
		a = (a ^ x) * 0x9e3779b97f4a7c15ULL;
		b = (b ^ y) * 0xc2b2ae3d27d4eb4fULL;
		a ^= a >> 29;
		b ^= b >> 31;
	}
	return wl_mix64(a ^ (b * 0x165667b19e3779f9ULL));
}

static inline uint64_t wl_page_sum(enum wl_data kind, uint64_t seed, uint64_t page_id,
				   uint32_t version)
{
	uint8_t p[WL_PAGE_BYTES] __attribute__((aligned(16)));

	wl_page_fill(kind, seed, page_id, version, p);
	return wl_checksum(p, WL_PAGE_BYTES);
}

/* ---- latency histogram: 8 buckets per power of two, upper bounds reported ---- */

#define WL_HIST_BUCKETS (64 * 8)

struct wl_hist {
	uint64_t n;
	uint64_t max;
	uint64_t b[WL_HIST_BUCKETS];
};

static inline unsigned wl_hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < 8)
		return (unsigned)v;
	e = 63U - (unsigned)__builtin_clzll(v);
	return MIN((e - 2) * 8 + (unsigned)((v >> (e - 3)) & 7), WL_HIST_BUCKETS - 1);
}

static inline void wl_hist_add(struct wl_hist *h, uint64_t v)
{
	h->b[wl_hist_bucket(v)]++;
	h->n++;
	h->max = MAX(h->max, v);
}

/* The upper bound of the bucket holding quantile q (0..1); 0 when empty. */
static inline uint64_t wl_hist_quantile(const struct wl_hist *h, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)h->n), seen = 0;

	if (h->n == 0)
		return 0;
	want = MAX(want, (uint64_t)1);
	for (unsigned i = 0; i < WL_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			unsigned e = i / 8 + 2;

			if (i < 8)
				return i;
			return MIN(((uint64_t)(8 + i % 8 + 1) << (e - 3)) - 1, h->max);
		}
	}
	return h->max;
}

/* ---- options ---- */

enum {
	WL_OPT_PHASES = 1U << 0, /* --active-ms / --idle-ms (interactive_burst) */
};

struct wl_opts {
	const char *name;
	const char *summary;
	uint32_t flags; /* WL_OPT_* this workload accepts */
	double duration_sec;
	uint64_t region_mb;
	bool use_arena;
	uint64_t arena_cap_mb; /* 0 = no cap */
	int arena_min_savings_pct; /* -1 = the library's default */
	uint32_t arena_chunk_kb; /* 0 = the library's default */
	const char *stats_json;
	bool autoloops;
	bool arena_uffd; /* ARENA_CONFIG_USERFAULTFD */
	uint64_t fill_mb_per_sec; /* pace the first fill; 0 = as fast as it goes */
	bool controller_enroll; /* enroll the arena with memctld */
	bool compress_external; /* --compress-policy external: memctld decides */
	uint32_t fallback_ms; /* external: compress on our own after memctld is gone this long */
	enum wl_data data;
	uint64_t seed;
	uint32_t active_ms, idle_ms;
};

static inline void wl_opts_init(struct wl_opts *o, const char *name, const char *summary,
				uint32_t flags)
{
	*o = (struct wl_opts){
		.name = name,
		.summary = summary,
		.flags = flags,
		.duration_sec = 10,
		.region_mb = 64,
		.arena_min_savings_pct = -1,
		.data = WL_DATA_MIXED,
		.seed = 1,
		.active_ms = 200,
		.idle_ms = 300,
	};
}

static inline void wl_usage(const struct wl_opts *o, FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS]\n"
		"%s\n\n"
		"  --duration-sec N          run for N seconds (default 10; fractions allowed)\n"
		"  --region-mb N             memory to work on, MiB (default 64)\n"
		"  --data KIND               zero-heavy | text | mixed | random (default mixed)\n"
		"  --seed N                  data and access pattern seed (default 1)\n"
		"  --use-mem-arena           hold the memory in libarena (default: plain mmap)\n"
		"  --arena-cap-mb N          cap the arena's compressed store at N MiB\n"
		"  --arena-min-savings-pct N admit a chunk only if it saves N%% (default 5)\n"
		"  --arena-chunk-kb N        arena chunk size, KiB, power of two 4..1024\n"
		"  --arena-stats-json PATH   write the arena's stats as JSON at exit\n"
		"  --arena-autoloops         run the arena's background loops instead of\n"
		"                            compressing cold memory from the workload\n"
		"  --arena-userfaultfd       read back through a userfaultfd\n"
		"                            (ARENA_CONFIG_USERFAULTFD)\n"
		"  --fill-mb-per-sec N       write the memory the first time at N MiB/s at most\n"
		"                            (a program loading its data; default: at once)\n"
		"  --controller-enroll       enroll the arena with memctld ($MEMCTLD_SOCKET)\n"
		"  --compress-policy P       auto: compress cold memory ourselves too (default);\n"
		"                            external: only when memctld says so\n"
		"  --controller-fallback-ms N  with external: compress on our own again once\n"
		"                            memctld has been unreachable N ms (default: never)\n",
		o->name, o->summary);
	if (o->flags & WL_OPT_PHASES)
		fprintf(f, "  --active-ms N             length of an active burst (default 200)\n"
			   "  --idle-ms N               length of an idle phase (default 300)\n");
	fprintf(f, "  --help                    show this help\n\n"
		   "Prints one summary line; exits 0, 1 on any data mismatch or arena error,\n"
		   "2 on bad usage.\n");
}

static inline int wl_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Returns 0 to run, 1 when --help was printed, -EINVAL on bad usage (printed). */
static inline int wl_opts_parse(struct wl_opts *o, int argc, char **argv)
{
	enum {
		O_DURATION = 256,
		O_REGION,
		O_ARENA,
		O_CAP,
		O_SAVINGS,
		O_CHUNK,
		O_JSON,
		O_LOOPS,
		O_UFFD,
		O_ENROLL,
		O_POLICY,
		O_FILL,
		O_FALLBACK,
		O_DATA,
		O_SEED,
		O_ACTIVE,
		O_IDLE,
		O_HELP,
	};
	static const struct option all[] = {
		{ "duration-sec", required_argument, NULL, O_DURATION },
		{ "region-mb", required_argument, NULL, O_REGION },
		{ "use-mem-arena", no_argument, NULL, O_ARENA },
		{ "arena-cap-mb", required_argument, NULL, O_CAP },
		{ "arena-min-savings-pct", required_argument, NULL, O_SAVINGS },
		{ "arena-chunk-kb", required_argument, NULL, O_CHUNK },
		{ "arena-stats-json", required_argument, NULL, O_JSON },
		{ "arena-autoloops", no_argument, NULL, O_LOOPS },
		{ "arena-userfaultfd", no_argument, NULL, O_UFFD },
		{ "controller-enroll", no_argument, NULL, O_ENROLL },
		{ "compress-policy", required_argument, NULL, O_POLICY },
		{ "fill-mb-per-sec", required_argument, NULL, O_FILL },
		{ "controller-fallback-ms", required_argument, NULL, O_FALLBACK },
		{ "data", required_argument, NULL, O_DATA },
		{ "seed", required_argument, NULL, O_SEED },
		{ "help", no_argument, NULL, O_HELP },
		{ "active-ms", required_argument, NULL, O_ACTIVE },
		{ "idle-ms", required_argument, NULL, O_IDLE },
		{ NULL, 0, NULL, 0 },
	};
	struct option longopts[ELEMENTSOF(all)];
	size_t n = 0;
	uint64_t v;
	int c, idx;

	for (size_t i = 0; i < ELEMENTSOF(all); i++)
		if (!all[i].name || (all[i].val != O_ACTIVE && all[i].val != O_IDLE) ||
		    (o->flags & WL_OPT_PHASES))
			longopts[n++] = all[i];

	optind = 1;
	while ((idx = -1, c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		int r = 0;

		switch (c) {
		case O_DURATION: {
			char *end;

			errno = 0;
			o->duration_sec = strtod(optarg, &end);
			if (errno || *end || !(o->duration_sec > 0 && o->duration_sec <= 86400))
				r = -EINVAL;
			break;
		}
		case O_REGION:
			r = wl_parse_u64(optarg, 1, 1U << 20, &o->region_mb);
			break;
		case O_ARENA:
			o->use_arena = true;
			break;
		case O_CAP:
			r = wl_parse_u64(optarg, 1, 1U << 20, &o->arena_cap_mb);
			break;
		case O_SAVINGS:
			r = wl_parse_u64(optarg, 0, 100, &v);
			o->arena_min_savings_pct = (int)v;
			break;
		case O_CHUNK:
			r = wl_parse_u64(optarg, 4, 1024, &v);
			if (r == 0 && (v & (v - 1)))
				r = -EINVAL;
			o->arena_chunk_kb = (uint32_t)v;
			break;
		case O_JSON:
			o->stats_json = optarg;
			break;
		case O_LOOPS:
			o->autoloops = true;
			break;
		case O_UFFD:
			o->arena_uffd = true;
			break;
		case O_ENROLL:
			o->controller_enroll = true;
			break;
		case O_FALLBACK:
			r = wl_parse_u64(optarg, 1, 3600000, &v);
			o->fallback_ms = (uint32_t)v;
			break;
		case O_FILL:
			r = wl_parse_u64(optarg, 1, 1U << 20, &o->fill_mb_per_sec);
			break;
		case O_POLICY:
			if (strcmp(optarg, "external") == 0)
				o->compress_external = true;
			else if (strcmp(optarg, "auto") == 0)
				o->compress_external = false;
			else
				r = -EINVAL;
			break;
		case O_DATA:
			r = wl_data_from_string(optarg);
			if (r >= 0) {
				o->data = (enum wl_data)r;
				r = 0;
			}
			break;
		case O_SEED:
			r = wl_parse_u64(optarg, 0, UINT64_MAX, &o->seed);
			break;
		case O_ACTIVE:
			r = wl_parse_u64(optarg, 1, 3600000, &v);
			o->active_ms = (uint32_t)v;
			break;
		case O_IDLE:
			r = wl_parse_u64(optarg, 0, 3600000, &v);
			o->idle_ms = (uint32_t)v;
			break;
		case 'h':
		case O_HELP:
			wl_usage(o, stdout);
			return 1;
		default:
			fprintf(stderr, "Try '%s --help'.\n", o->name);
			return -EINVAL;
		}
		if (r < 0) {
			fprintf(stderr, "%s: invalid value for --%s: '%s'\n", o->name,
				idx >= 0 ? longopts[idx].name : "?", optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", o->name, argv[optind]);
		return -EINVAL;
	}
	if (!o->use_arena &&
	    (o->arena_cap_mb || o->arena_min_savings_pct >= 0 || o->arena_chunk_kb ||
	     o->stats_json || o->autoloops || o->arena_uffd || o->controller_enroll)) {
		fprintf(stderr, "%s: --arena-* and --controller-enroll need --use-mem-arena\n",
			o->name);
		return -EINVAL;
	}
	if (o->fallback_ms && !o->compress_external) {
		fprintf(stderr, "%s: --controller-fallback-ms needs --compress-policy external\n",
			o->name);
		return -EINVAL;
	}
	if (o->compress_external && (!o->controller_enroll || o->autoloops)) {
		fprintf(stderr,
			"%s: --compress-policy external needs --controller-enroll and no "
			"--arena-autoloops\n",
			o->name);
		return -EINVAL;
	}
	return 0;
}

/* ---- the memory backend ---- */

/* Epoch length and compression cadence when the workload drives the arena itself
 * (and for the loops with --arena-autoloops): short, so that a run of a few seconds
 * sees chunks go COLD (cold_epochs 4 by default) and get compressed. */
#define WL_EPOCH_MS 100
#define WL_COMPRESS_MS 200

struct wl_ctx {
	const struct wl_opts *opts;
	struct arena *arena; /* NULL: plain memory */
	struct arena_controller *ctl; /* --controller-enroll */
	uint64_t ctl_seen_ns; /* last time the controller was enrolled */
	bool ctl_said_absent; /* the one line about memctld being unreachable */
	struct arena_controller_status ctl_end; /* at wl_ctx_report(), for the summary */
	/* the timed phase (after the first fill, before the finale): its ops and time,
	 * for throughput comparisons (bench/squeeze) */
	uint64_t run_start_ns, run_end_ns, run_start_ops, run_ops;
	uint64_t next_epoch_ns, next_compress_ns;
	/* counters for the summary */
	uint64_t ops, bytes, mismatches, errors;
	uint64_t compress_passes, store_full;
	bool reported; /* the first arena error was printed */
};

struct wl_buf {
	struct wl_ctx *ctx;
	struct arena_region *region; /* arena mode */
	uint8_t *plain; /* plain mode: an anonymous mapping */
	size_t size;
};

/* Count and print (the first few) errors from the arena or the system. Returns r. */
static inline int wl_error(struct wl_ctx *c, int r, const char *what)
{
	c->errors++;
	if (c->errors <= 5)
		fprintf(stderr, "%s: %s failed: %s\n", c->opts->name, what, strerror(-r));
	return r;
}

static inline int wl_ctx_init(struct wl_ctx *c, const struct wl_opts *o)
{
	struct arena_config cfg;
	int r;

	*c = (struct wl_ctx){ .opts = o };
	if (!o->use_arena)
		return 0;
	arena_config_init(&cfg);
	if (o->arena_chunk_kb)
		cfg.chunk_size_bytes = o->arena_chunk_kb << 10;
	if (o->arena_min_savings_pct >= 0)
		cfg.min_savings_permyriad = (uint32_t)o->arena_min_savings_pct * 100;
	cfg.store_capacity_bytes = o->arena_cap_mb << 20;
	if (o->arena_uffd)
		cfg.flags |= ARENA_CONFIG_USERFAULTFD;
	r = arena_new(&cfg, &c->arena);
	if (r < 0) {
		fprintf(stderr, "%s: arena_new failed: %s%s\n", o->name, strerror(-r),
			r == -EINVAL && o->arena_cap_mb ? " (is --arena-cap-mb at least two store "
							  "segments?)" :
							  "");
		return r;
	}
	if (o->autoloops) {
		struct arena_loops_config lc;

		arena_loops_config_init(&lc);
		lc.epoch_ms = WL_EPOCH_MS;
		lc.compress_ms = WL_COMPRESS_MS;
		r = arena_loops_start(c->arena, &lc);
		if (r < 0) {
			fprintf(stderr, "%s: arena_loops_start failed: %s\n", o->name,
				strerror(-r));
			c->arena = arena_free(c->arena);
			return r;
		}
	}
	if (o->controller_enroll) {
		struct arena_controller_config cc;

		arena_controller_config_init(&cc);
		cc.name = o->name;
		r = arena_controller_enroll(c->arena, &cc, &c->ctl);
		if (r < 0) {
			fprintf(stderr, "%s: arena_controller_enroll failed: %s\n", o->name,
				strerror(-r));
			c->arena = arena_free(c->arena);
			return r;
		}
	}
	c->next_epoch_ns = clock_nsec(CLOCK_MONOTONIC) + WL_EPOCH_MS * NSEC_PER_MSEC;
	c->next_compress_ns = c->next_epoch_ns + WL_COMPRESS_MS * NSEC_PER_MSEC;
	c->ctl_seen_ns = clock_nsec(CLOCK_MONOTONIC);
	return 0;
}

/* Whether the workload compresses on its own now: always, unless memctld decides
 * (--compress-policy external); then only after memctld has been unreachable for
 * --controller-fallback-ms, if given. */
static inline bool wl_ctx_compresses(struct wl_ctx *c)
{
	struct arena_controller_status st;
	uint64_t now;

	if (!c->opts->compress_external)
		return true;
	now = clock_nsec(CLOCK_MONOTONIC);
	if (arena_controller_status_get(c->ctl, &st) == 0 &&
	    st.state == ARENA_CONTROLLER_ENROLLED) {
		c->ctl_seen_ns = now;
		c->ctl_said_absent = false;
		return false;
	}
	if (!c->opts->fallback_ms || now - c->ctl_seen_ns < c->opts->fallback_ms * NSEC_PER_MSEC)
		return false;
	if (!c->ctl_said_absent) {
		fprintf(stderr, "%s: memctld not reachable (%s); compressing on our own\n",
			c->opts->name, arena_controller_state_to_string(st.state) ?: "?");
		c->ctl_said_absent = true;
	}
	return true;
}

/* Compress chunks up to max_hotness now (every chunk with ARENA_HOT). */
static inline int wl_ctx_compress(struct wl_ctx *c, enum arena_hotness max_hotness)
{
	int r;

	if (!c->arena || !wl_ctx_compresses(c))
		return 0;
	r = arena_compress_bytes(c->arena, 0, max_hotness, NULL, NULL);
	if (r < 0)
		return wl_error(c, r, "arena_compress_bytes");
	c->compress_passes++;
	if (r == ARENA_COMPRESS_STORE_FULL)
		c->store_full++;
	return 0;
}

/* Call often (every few hundred microseconds of work at least). Without the loops,
 * advances the hotness epoch every WL_EPOCH_MS and compresses COLD chunks every
 * WL_COMPRESS_MS, as the loops would. */
static inline int wl_ctx_tick(struct wl_ctx *c)
{
	uint64_t now;

	if (!c->arena || c->opts->autoloops)
		return 0;
	now = clock_nsec(CLOCK_MONOTONIC);
	if (now >= c->next_epoch_ns) {
		arena_epoch_advance(c->arena);
		c->next_epoch_ns = now + WL_EPOCH_MS * NSEC_PER_MSEC;
	}
	if (now >= c->next_compress_ns) {
		c->next_compress_ns = now + WL_COMPRESS_MS * NSEC_PER_MSEC;
		return wl_ctx_compress(c, ARENA_COLD);
	}
	return 0;
}

static inline int wl_write_file(const char *path, const char *text)
{
	_cleanup_fclose_ FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	if (fputs(text, f) < 0 || fputc('\n', f) < 0 || fflush(f) != 0)
		return -EIO;
	return 0;
}

/* Stop the loops, check the arena's error counters and write the stats JSON. Call
 * before freeing the buffers so the stats describe them. Returns 0 or -errno. */
static inline int wl_ctx_report(struct wl_ctx *c)
{
	struct arena_stats st = {};
	char json[4096];
	int r = 0;

	if (!c->arena)
		return 0;
	if (c->ctl)
		(void)arena_controller_status_get(c->ctl, &c->ctl_end);
	if (c->opts->autoloops) {
		r = arena_loops_stop(c->arena);
		if (r < 0)
			wl_error(c, r, "arena_loops_stop");
	}
	r = arena_stats_get(c->arena, &st);
	if (r < 0)
		return wl_error(c, r, "arena_stats_get");
	/* errors the library counted but no call of ours returned (background work) */
	if (st.errors_checksum || st.errors_nomem) {
		fprintf(stderr,
			"%s: the arena counted errors: checksum=%" PRIu64 " nomem=%" PRIu64 "\n",
			c->opts->name, st.errors_checksum, st.errors_nomem);
		c->errors++;
	}
	if (!c->opts->stats_json)
		return 0;
	r = arena_stats_to_json(&st, json, sizeof(json));
	if (r < 0)
		return wl_error(c, r, "arena_stats_to_json");
	r = wl_write_file(c->opts->stats_json, json);
	if (r < 0)
		return wl_error(c, r, c->opts->stats_json);
	return 0;
}

/* Free the arena; the buffers must be freed first. */
static inline void wl_ctx_done(struct wl_ctx *c)
{
	c->ctl = arena_controller_leave(c->ctl);
	c->arena = arena_free(c->arena);
}

static inline int wl_buf_new(struct wl_ctx *c, size_t size, struct wl_buf *ret)
{
	struct wl_buf b = { .ctx = c, .size = size };
	int r;

	if (c->arena) {
		r = arena_region_alloc(c->arena, size, 0, &b.region);
		if (r < 0)
			return wl_error(c, r, "arena_region_alloc");
	} else {
		b.plain = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);
		if (b.plain == MAP_FAILED)
			return wl_error(c, -errno, "mmap");
	}
	*ret = b;
	return 0;
}

static inline void wl_buf_free(struct wl_buf *b)
{
	if (b->region)
		b->region = arena_region_free(b->region);
	if (b->plain) {
		munmap(b->plain, b->size);
		b->plain = NULL;
	}
}

static inline int wl_buf_pin(struct wl_buf *b, size_t off, size_t len, bool write, uint8_t **ret)
{
	void *p;
	int r;

	if (!b->region) {
		*ret = b->plain + off;
		return 0;
	}
	r = arena_pin(b->region, off, len, write ? ARENA_PIN_WRITE : ARENA_PIN_READ, &p);
	if (r < 0)
		return wl_error(b->ctx, r, "arena_pin");
	*ret = p;
	return 0;
}

static inline int wl_buf_unpin(struct wl_buf *b, size_t off, size_t len)
{
	int r;

	if (!b->region)
		return 0;
	r = arena_unpin(b->region, off, len);
	return r < 0 ? wl_error(b->ctx, r, "arena_unpin") : 0;
}

/* Drop [off, off + len): reads as zero afterwards, holds no memory. */
static inline int wl_buf_discard(struct wl_buf *b, size_t off, size_t len)
{
	int r;

	if (b->region) {
		r = arena_region_discard(b->region, off, len);
		return r < 0 ? wl_error(b->ctx, r, "arena_region_discard") : 0;
	}
	if (madvise(b->plain + off, len, MADV_DONTNEED) < 0)
		return wl_error(b->ctx, -errno, "madvise(MADV_DONTNEED)");
	return 0;
}

/* Hint that [off, off + len) is read soon (arena mode only). */
static inline void wl_buf_will_need(struct wl_buf *b, size_t off, size_t len)
{
	if (b->region && off < b->size)
		(void)arena_hint_will_need(b->region, off, MIN(len, b->size - off));
}

/* ---- pages with known contents ---- */

/* A buffer of 4 KiB pages, each with the version it was last written with and the
 * checksum of what it must hold. Page i's generator id is id_base + i. */
struct wl_pages {
	struct wl_buf buf;
	size_t n_pages;
	uint64_t id_base;
	uint32_t *version;
	uint64_t *sum;
};

static uint64_t wl_zero_sum_cache;

static inline uint64_t wl_zero_sum(void)
{
	if (!wl_zero_sum_cache)
		wl_zero_sum_cache = wl_page_sum(WL_DATA_RANDOM, 0, 0, 0);
	return wl_zero_sum_cache;
}

static inline int wl_pages_new(struct wl_ctx *c, size_t n_pages, uint64_t id_base,
			       struct wl_pages *ret)
{
	struct wl_pages p = { .n_pages = n_pages, .id_base = id_base };
	int r;

	p.version = calloc(n_pages, sizeof(*p.version));
	p.sum = malloc(n_pages * sizeof(*p.sum));
	if (!p.version || !p.sum) {
		free(p.version);
		free(p.sum);
		return wl_error(c, -ENOMEM, "malloc");
	}
	for (size_t i = 0; i < n_pages; i++)
		p.sum[i] = wl_zero_sum();
	r = wl_buf_new(c, n_pages * WL_PAGE_BYTES, &p.buf);
	if (r < 0) {
		free(p.version);
		free(p.sum);
		return r;
	}
	*ret = p;
	return 0;
}

static inline void wl_pages_free(struct wl_pages *p)
{
	wl_buf_free(&p->buf);
	free(p->version);
	free(p->sum);
	p->version = NULL;
	p->sum = NULL;
}

/* Write pages [first, first + n) with their next version. */
static inline int wl_pages_write(struct wl_pages *p, size_t first, size_t n)
{
	struct wl_ctx *c = p->buf.ctx;
	uint8_t *dst;
	int r;

	r = wl_buf_pin(&p->buf, first * WL_PAGE_BYTES, n * WL_PAGE_BYTES, true, &dst);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		size_t pg = first + i;

		p->version[pg]++;
		if (p->version[pg] == 0) /* wrapped: 0 means zero page */
			p->version[pg] = 1;
		wl_page_fill(c->opts->data, c->opts->seed, p->id_base + pg, p->version[pg],
			     dst + i * WL_PAGE_BYTES);
		p->sum[pg] = wl_checksum(dst + i * WL_PAGE_BYTES, WL_PAGE_BYTES);
	}
	c->ops++;
	c->bytes += n * WL_PAGE_BYTES;
	return wl_buf_unpin(&p->buf, first * WL_PAGE_BYTES, n * WL_PAGE_BYTES);
}

static inline void wl_mismatch(struct wl_pages *p, size_t pg, uint64_t got)
{
	struct wl_ctx *c = p->buf.ctx;

	c->mismatches++;
	if (c->mismatches <= 5)
		fprintf(stderr,
			"%s: MISMATCH page %zu (id %" PRIu64 ", version %u): checksum %016" PRIx64
			", expected %016" PRIx64 "\n",
			c->opts->name, pg, p->id_base + pg, p->version[pg], got, p->sum[pg]);
}

/* Read pages [first, first + n) and compare with what they must hold. */
static inline int wl_pages_verify(struct wl_pages *p, size_t first, size_t n)
{
	struct wl_ctx *c = p->buf.ctx;
	uint8_t *src;
	int r;

	r = wl_buf_pin(&p->buf, first * WL_PAGE_BYTES, n * WL_PAGE_BYTES, false, &src);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		uint64_t got = wl_checksum(src + i * WL_PAGE_BYTES, WL_PAGE_BYTES);

		if (got != p->sum[first + i])
			wl_mismatch(p, first + i, got);
	}
	c->ops++;
	c->bytes += n * WL_PAGE_BYTES;
	return wl_buf_unpin(&p->buf, first * WL_PAGE_BYTES, n * WL_PAGE_BYTES);
}

/* Verify a page, then overwrite len bytes at byte off inside it with data derived from
 * (seed, page id, stamp), and record the page's new checksum: a partial write. */
static inline int wl_pages_patch(struct wl_pages *p, size_t pg, size_t off, size_t len,
				 uint64_t stamp)
{
	struct wl_ctx *c = p->buf.ctx;
	struct wl_rng r;
	uint8_t *dst, tmp[WL_PAGE_BYTES];
	uint64_t got;
	int ret;

	if (off >= WL_PAGE_BYTES || len > WL_PAGE_BYTES - off)
		return -EINVAL;
	ret = wl_buf_pin(&p->buf, pg * WL_PAGE_BYTES, WL_PAGE_BYTES, true, &dst);
	if (ret < 0)
		return ret;
	got = wl_checksum(dst, WL_PAGE_BYTES);
	if (got != p->sum[pg])
		wl_mismatch(p, pg, got);
	wl_rng_init(&r, c->opts->seed ^ stamp, p->id_base + pg, 0xfffffffe);
	memcpy(tmp, dst, WL_PAGE_BYTES);
	if (c->opts->data == WL_DATA_RANDOM)
		wl_fill_random(&r, tmp + off, len);
	else
		wl_fill_text(&r, tmp + off, len);
	memcpy(dst + off, tmp + off, len);
	/* the new sum comes from the private copy, not from the arena's bytes */
	p->sum[pg] = wl_checksum(tmp, WL_PAGE_BYTES);
	c->ops++;
	c->bytes += 2 * len;
	return wl_buf_unpin(&p->buf, pg * WL_PAGE_BYTES, WL_PAGE_BYTES);
}

/* Drop pages [first, first + n): they must read as zero from now on. */
static inline int wl_pages_discard(struct wl_pages *p, size_t first, size_t n)
{
	int r = wl_buf_discard(&p->buf, first * WL_PAGE_BYTES, n * WL_PAGE_BYTES);

	if (r < 0)
		return r;
	for (size_t i = first; i < first + n; i++)
		p->sum[i] = wl_zero_sum();
	p->buf.ctx->ops++;
	return 0;
}

/* Write every page once, in runs of 16, ticking as the main loops do (so epochs
 * pass while a large region loads) and at most --fill-mb-per-sec. */
static inline int wl_pages_fill(struct wl_pages *p)
{
	struct wl_ctx *c = p->buf.ctx;
	uint64_t start = clock_nsec(CLOCK_MONOTONIC), rate = c->opts->fill_mb_per_sec << 20;

	for (size_t i = 0; i < p->n_pages; i += 16) {
		int r = wl_pages_write(p, i, MIN((size_t)16, p->n_pages - i));

		if (r == 0)
			r = wl_ctx_tick(c);
		if (r < 0)
			return r;
		if (rate) {
			uint64_t due = start + (uint64_t)((double)(i + 16) * WL_PAGE_BYTES * 1e9 /
							  (double)rate),
				 now = clock_nsec(CLOCK_MONOTONIC);

			if (due > now) {
				struct timespec ts = {
					.tv_sec = (time_t)((due - now) / NSEC_PER_SEC),
					.tv_nsec = (long)((due - now) % NSEC_PER_SEC)
				};

				nanosleep(&ts, NULL);
			}
		}
	}
	return 0;
}

/* Verify every page, in runs of up to 16 pages. */
static inline int wl_pages_verify_all(struct wl_pages *p)
{
	for (size_t i = 0; i < p->n_pages; i += 16) {
		int r = wl_pages_verify(p, i, MIN((size_t)16, p->n_pages - i));

		if (r < 0)
			return r;
	}
	return 0;
}

/* Verify every page, and in arena mode compress each 16 MiB slice again once it is
 * verified: the check at the end must not need more memory than the run did (in a
 * memory cgroup smaller than the region, reading it all back at once would not fit). */
static inline int wl_pages_verify_all_bounded(struct wl_pages *p)
{
	const size_t slice = (16U << 20) / WL_PAGE_BYTES;

	for (size_t i = 0; i < p->n_pages; i += slice) {
		size_t n = MIN(slice, p->n_pages - i);
		int r;

		for (size_t j = i; j < i + n; j += 16)
			if ((r = wl_pages_verify(p, j, MIN((size_t)16, i + n - j))) < 0)
				return r;
		if (p->buf.region) {
			r = arena_region_compress(p->buf.region, i * WL_PAGE_BYTES,
						  n * WL_PAGE_BYTES, NULL, NULL);
			if (r < 0)
				return wl_error(p->buf.ctx, r, "arena_region_compress");
		}
	}
	return 0;
}

/* Mark the timed phase: its operations per second are the workload's throughput. */
static inline void wl_run_begin(struct wl_ctx *c)
{
	c->run_start_ns = clock_nsec(CLOCK_MONOTONIC);
	c->run_start_ops = c->ops;
}

static inline void wl_run_end(struct wl_ctx *c)
{
	c->run_end_ns = clock_nsec(CLOCK_MONOTONIC);
	c->run_ops = c->ops - c->run_start_ops;
}

/* ---- the common ending ---- */

static inline uint64_t wl_rss_bytes(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/statm", "re");
	unsigned long size, resident;

	if (!f || fscanf(f, "%lu %lu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * Verify everything; in arena mode twice, each slice compressed again after it is
 * verified (so the second pass reads every chunk back through a demand decompression
 * and the stats written at exit show the compressed state). *ret_rss gets the RSS at
 * the end. Returns 0 or the first arena error.
 */
static inline int wl_finale(struct wl_ctx *c, struct wl_pages *const *pages, size_t n,
			    uint64_t *ret_rss)
{
	int r;

	if (c->arena) {
		/* verify, leaving each slice compressed; then every chunk once more through a
		 * demand decompression, and compressed again at the end */
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < n; i++)
				if ((r = wl_pages_verify_all_bounded(pages[i])) < 0)
					return r;
		c->compress_passes++;
	} else {
		for (size_t i = 0; i < n; i++)
			if ((r = wl_pages_verify_all(pages[i])) < 0)
				return r;
	}
	*ret_rss = wl_rss_bytes();
	return 0;
}

static inline double wl_elapsed_sec(uint64_t start_ns)
{
	return (double)(clock_nsec(CLOCK_MONOTONIC) - start_ns) / 1e9;
}

/* The one summary line, then the exit status: 0, or 1 on any mismatch or error. */
static inline int wl_summary(struct wl_ctx *c, uint64_t start_ns, uint64_t rss, const char *extra)
{
	const struct wl_opts *o = c->opts;

	char ctl[256] = "";

	if (o->controller_enroll)
		snprintf(ctl, sizeof(ctl),
			 " controller=%s enrollments=%" PRIu64 " commands=%" PRIu64
			 " controller_freed_bytes=%" PRIu64 " controller_restored_bytes=%" PRIu64
			 " policy=%s",
			 arena_controller_state_to_string(c->ctl_end.state) ?: "?",
			 c->ctl_end.enrollments, c->ctl_end.commands, c->ctl_end.bytes_freed,
			 c->ctl_end.bytes_restored, o->compress_external ? "external" : "auto");
	printf("%s: mode=%s%s data=%s seed=%" PRIu64 " region_mb=%" PRIu64
	       " elapsed_sec=%.2f ops=%" PRIu64 " bytes=%" PRIu64 " mismatches=%" PRIu64
	       " errors=%" PRIu64 " compress_passes=%" PRIu64 " store_full=%" PRIu64
	       " rss_end_kb=%" PRIu64 " run_ops=%" PRIu64 " run_sec=%.3f%s%s%s\n",
	       o->name, o->use_arena ? "arena" : "plain", o->autoloops ? "+loops" : "",
	       wl_data_names[o->data], o->seed, o->region_mb, wl_elapsed_sec(start_ns), c->ops,
	       c->bytes, c->mismatches, c->errors, c->compress_passes, c->store_full, rss >> 10,
	       c->run_ops, (double)(c->run_end_ns - c->run_start_ns) / 1e9, ctl,
	       extra && *extra ? " " : "", extra ? extra : "");
	fflush(stdout);
	return c->mismatches || c->errors ? 1 : 0;
}
