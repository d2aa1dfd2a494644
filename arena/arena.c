/* SPDX-License-Identifier: MIT */
/* arena/arena.c: libarena's core: configuration, regions, pins, chunk compression and
 * decompression, hotness, and the coldest-first / hottest-first passes. */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "arena/arena-internal.h"
#include "common/macro.h"
#include "common/time-util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define SAMPLE_WARMUP 2 /* chunks per data class measured with every candidate first */
/* probes go to contenders (see plan_locked()) but for one probe in PROBE_WIDE_EVERY */
#define PROBE_CONTENDER_PERMYRIAD 8000
#define PROBE_WIDE_EVERY 4
#define REPROBE_INTERVAL_MAX 64 /* a predicted rejection is tried at least this often */
#define PAGE_BYTES 4096U

/* the thread's shard of the state counters */
static __thread uint32_t state_shard_idx = UINT32_MAX;
static _Atomic uint32_t state_shard_next;

static inline struct state_shard *state_shard(struct arena *a)
{
	if (_unlikely_(state_shard_idx == UINT32_MAX))
		state_shard_idx =
			atomic_fetch_add_explicit(&state_shard_next, 1, memory_order_relaxed) %
			STATE_SHARDS;
	return &a->state[state_shard_idx];
}

static inline void sc_add(struct state_shard *sh, unsigned k, int64_t d)
{
	atomic_fetch_add_explicit(&sh->v[k], d, memory_order_relaxed);
}

unsigned arena_version_number(void)
{
	return ARENA_VERSION_NUMBER;
}

#define STR_(x) #x
#define STR(x) STR_(x)

const char *arena_version_string(void)
{
	return STR(ARENA_VERSION_MAJOR) "." STR(ARENA_VERSION_MINOR) "." STR(ARENA_VERSION_PATCH);
}

const char *arena_hotness_to_string(enum arena_hotness h)
{
	static const char *const names[_ARENA_HOTNESS_MAX] = { "hot", "warm", "cold" };

	return (unsigned)h < _ARENA_HOTNESS_MAX ? names[h] : NULL;
}

const char *arena_codec_to_string(enum arena_codec c)
{
	return fair_codec_to_string((uint32_t)c);
}

void arena_config_init(struct arena_config *cfg)
{
	*cfg = (struct arena_config){
		.chunk_size_bytes = ARENA_CHUNK_SIZE_DEFAULT,
		.min_savings_permyriad = 500,
		.store_capacity_bytes = 0,
		.max_fragmentation_permyriad = 2500,
		.codecs = ARENA_CODECS_ALL,
		.lz4_fast_accelerations = { 4, 16 },
		.n_lz4_fast_accelerations = 2,
		.zstd_levels = { 1, 3 },
		.n_zstd_levels = 2,
		.hot_epochs = 1,
		.cold_epochs = 4,
		.prefetch_next_k = 2,
		.sample_interval = 64,
		.flags = 0,
	};
}

void arena_compress_opts_init(struct arena_compress_opts *opts)
{
	*opts = (struct arena_compress_opts){
		.codecs = 0,
		.min_savings_permyriad = ARENA_MIN_SAVINGS_ARENA,
		.flags = 0,
	};
}

static uint64_t seg_bytes_for(uint32_t chunk)
{
	return MAX((uint64_t)256 << 10, 2 * (uint64_t)chunk);
}

static int config_check(const struct arena_config *c)
{
	uint32_t cs = c->chunk_size_bytes;

	if (cs < ARENA_CHUNK_SIZE_MIN || cs > ARENA_CHUNK_SIZE_MAX || (cs & (cs - 1)))
		return -EINVAL;
	if (c->min_savings_permyriad > 10000 || c->max_fragmentation_permyriad > 10000)
		return -EINVAL;
	if (c->codecs == 0 || (c->codecs & ~ARENA_CODECS_ALL) || (c->flags & ~_ARENA_CONFIG_FLAGS))
		return -EINVAL;
	if (c->n_lz4_fast_accelerations > ARENA_LEVELS_MAX || c->n_zstd_levels > ARENA_LEVELS_MAX)
		return -EINVAL;
	if ((c->codecs & ARENA_CODECS_LZ4_FAST) && c->n_lz4_fast_accelerations == 0)
		return -EINVAL;
	if ((c->codecs & ARENA_CODECS_ZSTD) && c->n_zstd_levels == 0)
		return -EINVAL;
	for (uint32_t i = 0; i < c->n_lz4_fast_accelerations; i++)
		if (c->lz4_fast_accelerations[i] < ARENA_LZ4_ACCEL_MIN ||
		    c->lz4_fast_accelerations[i] > ARENA_LZ4_ACCEL_MAX)
			return -EINVAL;
	for (uint32_t i = 0; i < c->n_zstd_levels; i++)
		if (c->zstd_levels[i] == 0 || c->zstd_levels[i] < ARENA_ZSTD_LEVEL_MIN ||
		    c->zstd_levels[i] > ARENA_ZSTD_LEVEL_MAX)
			return -EINVAL;
	if (c->hot_epochs >= c->cold_epochs || c->cold_epochs > 64 || c->prefetch_next_k > 64)
		return -EINVAL;
	if (c->store_capacity_bytes > 0 && c->store_capacity_bytes < 2 * seg_bytes_for(cs))
		return -EINVAL;
	return 0;
}

static int model_setup(struct arena *a)
{
	struct fair_candidate cand[FAIR_CANDIDATES_MAX];
	struct fair_params p;
	size_t n = 0;

	/* every configured candidate joins the model, allowed or not, so a request
	 * that narrows the codec mask indexes the same table */
	for (uint32_t i = 0; i < a->cfg.n_lz4_fast_accelerations; i++)
		cand[n++] = (struct fair_candidate){ FAIR_CODEC_LZ4_FAST,
						     a->cfg.lz4_fast_accelerations[i] };
	cand[n++] = (struct fair_candidate){ FAIR_CODEC_LZ4, 1 };
	for (uint32_t i = 0; i < a->cfg.n_zstd_levels; i++)
		cand[n++] = (struct fair_candidate){ FAIR_CODEC_ZSTD, a->cfg.zstd_levels[i] };

	/* duplicates in the config are harmless: drop them */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n;)
			if (cand[j].codec == cand[i].codec && cand[j].level == cand[i].level)
				cand[j] = cand[--n];
			else
				j++;

	fair_params_init(&p);
	p.min_savings_permyriad = a->cfg.min_savings_permyriad;
	p.overhead_bytes = sizeof(struct store_obj) + STORE_ALIGN / 2;
	return fair_model_init(&a->model, &p, cand, n);
}

int arena_new(const struct arena_config *cfg, struct arena **ret_arena)
{
	_cleanup_free_ struct arena *a = NULL;
	struct arena_config defaults;
	int r;

	if (!ret_arena)
		return -EINVAL;
	if (!cfg) {
		arena_config_init(&defaults);
		cfg = &defaults;
	}
	r = config_check(cfg);
	if (r < 0)
		return r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->cfg = *cfg;
	a->chunk_shift = (uint32_t)__builtin_ctz(cfg->chunk_size_bytes);
	a->seg_bytes = seg_bytes_for(cfg->chunk_size_bytes);
	a->cpu_every = MIN(MAX((64U << 10) >> a->chunk_shift, 1U), 16U);
	atomic_init(&a->epoch, 1);
	atomic_init(&a->pm_fd, -2);
	a->pm_pid = getpid();
	r = model_setup(a);
	if (r < 0)
		return r;

	r = -pthread_rwlock_init(&a->regions_lock, NULL);
	if (r < 0)
		return r;
	r = store_init(&a->store, a->seg_bytes, cfg->store_capacity_bytes);
	if (r < 0)
		goto fail_rw;
	r = -pthread_mutex_init(&a->model_lock, NULL);
	if (r < 0)
		goto fail_store;
	r = -pthread_mutex_init(&a->loop_lock, NULL);
	if (r < 0)
		goto fail_model;
	{
		pthread_condattr_t ca;

		/* the loop's deadlines are CLOCK_MONOTONIC */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		r = -pthread_cond_init(&a->loop_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (r < 0)
		goto fail_loop;
	arena_uffd_setup(a); /* optional: the plain readback path works without it */
	arena_hello_start(a); /* optional too: only if memctld runs */

	*ret_arena = TAKE_PTR(a);
	return 0;

fail_loop:
	pthread_mutex_destroy(&a->loop_lock);
fail_model:
	pthread_mutex_destroy(&a->model_lock);
fail_store:
	store_done(&a->store);
fail_rw:
	pthread_rwlock_destroy(&a->regions_lock);
	return r;
}

static void region_destroy(struct arena_region *r);

struct arena *arena_free(struct arena *a)
{
	if (!a)
		return NULL;
	arena_hello_stop(a); /* its thread may be compressing: stop it first */
	(void)arena_loops_stop(a);
	/* the handler first: it walks the region list */
	arena_uffd_done(a);
	while (a->regions) {
		struct arena_region *r = a->regions;

		a->regions = r->next;
		region_destroy(r);
	}
	store_done(&a->store);
	if (atomic_load(&a->pm_fd) >= 0 && a->pm_pid == getpid())
		close(atomic_load(&a->pm_fd));
	pthread_cond_destroy(&a->loop_cond);
	pthread_mutex_destroy(&a->loop_lock);
	pthread_mutex_destroy(&a->model_lock);
	pthread_rwlock_destroy(&a->regions_lock);
	free(a);
	return NULL;
}

void arena_config_get(const struct arena *a, struct arena_config *ret_cfg)
{
	*ret_cfg = a->cfg;
}

uint64_t arena_store_segment_bytes(const struct arena *a)
{
	return a->seg_bytes;
}

/* ---- regions ---- */

int arena_region_alloc(struct arena *a, size_t size_bytes, uint32_t flags,
		       struct arena_region **ret_region)
{
	_cleanup_free_ struct arena_region *r = NULL;
	size_t chunk = a->cfg.chunk_size_bytes, size;
	uint32_t now;
	void *p;

	if (!a || !ret_region || size_bytes == 0 || flags != 0)
		return -EINVAL;
	if (size_bytes > SIZE_MAX - chunk || (size_bytes + chunk - 1) / chunk > UINT32_MAX)
		return -EINVAL;
	size = (size_bytes + chunk - 1) & ~(chunk - 1);

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->arena = a;
	r->size = size;
	r->n_chunks = (uint32_t)(size >> a->chunk_shift);
	r->chunks = calloc(r->n_chunks, sizeof(struct chunk));
	if (!r->chunks)
		return -ENOMEM;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED) {
		free(r->chunks);
		return -ENOMEM;
	}
	/* with THP a 2 MiB page would survive MADV_DONTNEED of one chunk inside it
	 * (split, but not freed until reclaim): keep RSS drops exact */
	if (chunk < (2U << 20))
		(void)madvise(p, size, MADV_NOHUGEPAGE);
	r->base = p;
	r->uffd = arena_uffd_register(a, p, size);
	now = (uint32_t)atomic_load_explicit(&a->epoch, memory_order_relaxed);
	for (uint32_t i = 0; i < r->n_chunks; i++)
		r->chunks[i].last_epoch = now; /* state CHUNK_ZERO, heat 0 */

	atomic_fetch_add(&a->writers_waiting, 1);
	pthread_rwlock_wrlock(&a->regions_lock);
	atomic_fetch_sub(&a->writers_waiting, 1);
	r->next = a->regions;
	if (a->regions)
		a->regions->prev = r;
	a->regions = r;
	a->n_regions++;
	atomic_store_explicit(&a->n_regions_now, a->n_regions, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->logical_bytes, r->size, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->chunks_total, r->n_chunks, memory_order_relaxed);
	sc_add(state_shard(a), SC_ZERO, r->n_chunks);
	pthread_rwlock_unlock(&a->regions_lock);

	*ret_region = TAKE_PTR(r);
	return 0;
}

static void region_destroy(struct arena_region *r)
{
	struct arena *a = r->arena;

	for (uint32_t i = 0; i < r->n_chunks; i++) {
		struct chunk *c = &r->chunks[i];

		chunk_lock(c);
		chunk_update(a, c, CHUNK_ZERO, 0);
		if (c->obj)
			store_free(&a->store, c);
		chunk_unlock(c);
	}
	sc_add(state_shard(a), SC_ZERO, -(int64_t)r->n_chunks);
	munmap(r->base, r->size);
	free(r->chunks);
	free(r);
}

struct arena_region *arena_region_free(struct arena_region *r)
{
	struct arena *a;

	if (!r)
		return NULL;
	a = r->arena;
	atomic_fetch_add(&a->writers_waiting, 1);
	pthread_rwlock_wrlock(&a->regions_lock);
	atomic_fetch_sub(&a->writers_waiting, 1);
	if (r->prev)
		r->prev->next = r->next;
	else
		a->regions = r->next;
	if (r->next)
		r->next->prev = r->prev;
	a->n_regions--;
	atomic_store_explicit(&a->n_regions_now, a->n_regions, memory_order_relaxed);
	atomic_fetch_sub_explicit(&a->logical_bytes, r->size, memory_order_relaxed);
	atomic_fetch_sub_explicit(&a->chunks_total, r->n_chunks, memory_order_relaxed);
	arena_prefetch_queue_purge(a, r);
	pthread_rwlock_unlock(&a->regions_lock);
	region_destroy(r);
	store_maintain(&a->store, a->cfg.max_fragmentation_permyriad);
	return NULL;
}

size_t arena_region_size(const struct arena_region *r)
{
	return r->size;
}

struct arena *arena_region_arena(const struct arena_region *r)
{
	return r->arena;
}

void *arena_region_base(const struct arena_region *r)
{
	return r->base;
}

static int range_check(const struct arena_region *r, size_t offset, size_t length)
{
	if (!r || length == 0 || offset >= r->size || length > r->size - offset)
		return -EINVAL;
	return 0;
}

/* range_check() plus the first and last chunk the range touches */
static int chunk_range(const struct arena_region *r, size_t offset, size_t length,
		       uint32_t *ret_first, uint32_t *ret_last)
{
	int ret = range_check(r, offset, length);

	if (ret < 0)
		return ret;
	*ret_first = (uint32_t)(offset >> r->arena->chunk_shift);
	*ret_last = (uint32_t)((offset + length - 1) >> r->arena->chunk_shift);
	return 0;
}

/* ---- hotness ---- */

int arena_pressure_set(struct arena *a, uint32_t pressure_permyriad)
{
	if (!a || pressure_permyriad > 10000)
		return -EINVAL;
	atomic_store_explicit(&a->pressure_permyriad, pressure_permyriad, memory_order_relaxed);
	return 0;
}

uint32_t arena_pressure_get(const struct arena *a)
{
	return atomic_load_explicit(&a->pressure_permyriad, memory_order_relaxed);
}

/* ---- writer assist ---- */

int arena_assist_set(struct arena *a, uint32_t window_ms, uint32_t share_permyriad)
{
	if (!a || window_ms > ARENA_ASSIST_WINDOW_MAX_MS || share_permyriad > 10000)
		return -EINVAL;
	if (share_permyriad == 0)
		window_ms = 0;
	if (window_ms == 0)
		atomic_store_explicit(&a->assist_debt_bytes, 0, memory_order_relaxed);
	atomic_store_explicit(&a->assist_share_permyriad, share_permyriad, memory_order_relaxed);
	atomic_store_explicit(
		&a->assist_until_ns,
		window_ms ? clock_nsec(CLOCK_MONOTONIC) + (uint64_t)window_ms * NSEC_PER_MSEC : 0,
		memory_order_relaxed);
	return 0;
}

/*
 * A pin made `grown` bytes resident: while assisting, add its share of them to the debt, and
 * once it reaches a batch, this thread pays it: compresses that many bytes' worth
 * of savings from the coldest unpinned chunks, any hotness, as direct reclaim makes
 * an allocating task pay at a cgroup's limit. In batches, because each pass scans
 * the chunks for candidates. Called with no chunk locked (the caller's own chunks
 * are pinned, so never candidates). Off: one relaxed load.
 */
static void assist_pay(struct arena *a, uint64_t grown)
{
	uint64_t until = atomic_load_explicit(&a->assist_until_ns, memory_order_relaxed);
	uint64_t debt, freed = 0;
	int r;

	if (until == 0 || grown == 0)
		return;
	if (clock_nsec(CLOCK_MONOTONIC) >= until) {
		(void)arena_assist_set(a, 0, 0); /* the window lapsed: no one renewed it */
		return;
	}
	grown = grown * atomic_load_explicit(&a->assist_share_permyriad, memory_order_relaxed) /
		10000;
	debt = atomic_fetch_add_explicit(&a->assist_debt_bytes, grown, memory_order_relaxed) +
	       grown;
	if (debt < MAX((uint64_t)ARENA_ASSIST_BATCH_BYTES, a->cfg.chunk_size_bytes))
		return;
	debt = atomic_exchange_explicit(&a->assist_debt_bytes, 0, memory_order_relaxed);
	if (debt == 0)
		return; /* another thread took it */
	r = arena_compress_pass(a, debt, ARENA_HOT, NULL, false, &freed);
	cnt_add(&a->cnt.assist_passes, 1);
	cnt_add(&a->cnt.assist_freed_bytes, freed);
	/* nothing left to take (all pinned, rejected or compressed), or the store is
	 * full: paying again would only rescan; the next arena_assist_set() decides */
	if (r < 0 || freed == 0)
		atomic_store_explicit(&a->assist_until_ns, 0, memory_order_relaxed);
}

int arena_readback_set(struct arena *a, uint32_t weight_permille, uint32_t cost_permyriad)
{
	if (!a || weight_permille > ARENA_READBACK_WEIGHT_MAX ||
	    cost_permyriad > ARENA_READBACK_COST_MAX)
		return -EINVAL;
	atomic_store_explicit(&a->readback_weight_permille, weight_permille, memory_order_relaxed);
	atomic_store_explicit(&a->readback_cost_permyriad, cost_permyriad, memory_order_relaxed);
	return 0;
}

void arena_readback_get(const struct arena *a, uint32_t *ret_weight_permille,
			uint32_t *ret_cost_permyriad)
{
	if (ret_weight_permille)
		*ret_weight_permille =
			atomic_load_explicit(&a->readback_weight_permille, memory_order_relaxed);
	if (ret_cost_permyriad)
		*ret_cost_permyriad =
			atomic_load_explicit(&a->readback_cost_permyriad, memory_order_relaxed);
}

uint64_t arena_epoch_advance(struct arena *a)
{
	return atomic_fetch_add_explicit(&a->epoch, 1, memory_order_relaxed) + 1;
}

/* heat is the decayed access count as of the last pin: a chunk pinned often stays
 * WARM for twice as long after its last use */
static enum arena_hotness hotness_of(const struct arena_config *cfg, uint32_t age, uint8_t heat)
{
	if (age <= cfg->hot_epochs)
		return ARENA_HOT;
	if (age <= cfg->cold_epochs || (age <= 2 * cfg->cold_epochs && heat >= HEAT_WARM_MIN))
		return ARENA_WARM;
	return ARENA_COLD;
}

enum arena_hotness chunk_hotness(const struct arena *a, const struct chunk *c, uint64_t now)
{
	uint32_t age = (uint32_t)now - CHUNK_PEEK(c, last_epoch);

	return hotness_of(&a->cfg, age, CHUNK_PEEK(c, heat));
}

static uint32_t chunk_age(const struct chunk *c, uint64_t now)
{
	return (uint32_t)now - CHUNK_PEEK(c, last_epoch);
}

/* Count an access (chunk locked). */
void chunk_touch(struct arena *a, struct chunk *c)
{
	uint32_t now = (uint32_t)atomic_load_explicit(&a->epoch, memory_order_relaxed);
	uint32_t age = now - c->last_epoch;
	uint8_t heat = c->heat;

	if (age > 0) {
		heat = age >= 8 ? 0 : heat >> age;
		CHUNK_SET(c, last_epoch, now);
	}
	if (heat < CHUNK_HEAT_MAX)
		heat++;
	CHUNK_SET(c, heat, heat);
}

void chunk_update(struct arena *a, struct chunk *c, uint8_t state, uint8_t flags)
{
	struct state_shard *sh = state_shard(a);
	uint8_t os = c->state, of = c->flags;

	if (os != state) {
		sc_add(sh, os, -1);
		sc_add(sh, state, 1);
		if (os == CHUNK_COMPRESSED || state == CHUNK_COMPRESSED) {
			int64_t d = state == CHUNK_COMPRESSED ? 1 : -1;

			sc_add(sh, SC_PAYLOAD_BYTES, d * (int64_t)c->obj_size);
			if (c->cand < a->model.n_cand)
				sc_add(sh, SC_CODEC + a->model.cand[c->cand].codec, d);
		}
	}
	if ((os == CHUNK_RAW && (of & CF_REJECTED)) !=
	    (state == CHUNK_RAW && (flags & CF_REJECTED)))
		sc_add(sh, SC_REJECTED, state == CHUNK_RAW && (flags & CF_REJECTED) ? 1 : -1);
	if ((os == CHUNK_ZERO && (of & CF_ADMITTED_ZERO)) !=
	    (state == CHUNK_ZERO && (flags & CF_ADMITTED_ZERO)))
		sc_add(sh, SC_ADMITTED_ZERO,
		       state == CHUNK_ZERO && (flags & CF_ADMITTED_ZERO) ? 1 : -1);
	CHUNK_SET(c, flags, flags);
	CHUNK_SET(c, state, state);
}

int arena_region_hotness(const struct arena_region *r, size_t offset, enum arena_hotness *ret)
{
	if (!r || offset >= r->size || !ret)
		return -EINVAL;
	*ret = chunk_hotness(r->arena, &r->chunks[offset >> r->arena->chunk_shift],
			     atomic_load_explicit(&r->arena->epoch, memory_order_relaxed));
	return 0;
}

/* ---- stall histogram: 8 buckets per power of two ---- */

static unsigned stall_bucket(uint64_t ns)
{
	unsigned e, m;

	if (ns < 8)
		return (unsigned)ns;
	e = 63U - (unsigned)__builtin_clzll(ns);
	m = (unsigned)(ns >> (e - 3)) & 7;
	return (e - 2) * 8 + m;
}

static void stall_record(struct arena *a, uint64_t ns)
{
	uint64_t max = atomic_load_explicit(&a->cnt.stall_max_ns, memory_order_relaxed);

	atomic_fetch_add_explicit(&a->cnt.stall_hist[MIN(stall_bucket(ns), STALL_HIST_BUCKETS - 1)],
				  1, memory_order_relaxed);
	while (ns > max &&
	       !atomic_compare_exchange_weak_explicit(&a->cnt.stall_max_ns, &max, ns,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

/* ---- chunk transitions ---- */

static inline uint8_t *chunk_ptr(const struct arena *a, const struct arena_region *r, uint32_t idx)
{
	return r->base + ((size_t)idx << a->chunk_shift);
}

static uint32_t obj_crc(uint8_t cand, const void *payload, uint32_t size)
{
	return crc32c(crc32c(0, &cand, 1), payload, size);
}

/*
 * Reading CLOCK_THREAD_CPUTIME_ID is a system call (0.36 us measured here, a tenth of
 * a 4 KiB readback), so codec calls on chunks under 64 KiB are timed one in
 * cpu_every (64 KiB / chunk size, at most 16) and the measurement is scaled by
 * cpu_every. Returns the scale for this call, or 0 for "do not time it".
 */
static __thread uint32_t cpu_tick;

static uint32_t cpu_timed(const struct arena *a)
{
	if (a->cpu_every <= 1)
		return 1;
	return cpu_tick++ % a->cpu_every == 0 ? a->cpu_every : 0;
}

static uint64_t cpu_now(uint32_t timed)
{
	return timed ? clock_nsec(CLOCK_THREAD_CPUTIME_ID) : 0;
}

int chunk_decompress_locked(struct arena *a, struct arena_region *r, uint32_t idx, bool demand)
{
	struct chunk *c = &r->chunks[idx];
	size_t n = a->cfg.chunk_size_bytes;
	uint8_t *dst = chunk_ptr(a, r, idx);
	uint8_t *payload = store_obj_payload(c->obj);
	bool fill = c->cand == CAND_FILL;
	const struct fair_candidate *cand = fill ? NULL : &a->model.cand[c->cand];
	uint64_t t0 = demand ? clock_nsec(CLOCK_MONOTONIC) : 0, c0, c1;
	uint32_t comp_hot, timed;
	struct codec_ctx *ctx;
	bool uffd;
	int ret;

	if (c->flags & CF_PAGES_HELD) {
		/* compressed a moment ago, its pages not released yet: they hold exactly
		 * the bytes the store does (nothing writes an unpinned chunk), so the
		 * readback is taking it out of its release batch */
		chunk_update(a, c, CHUNK_RAW, (uint8_t)(c->flags & ~CF_PAGES_HELD));
		store_free(&a->store, c);
		goto account;
	}
	ctx = codec_ctx_get(n);
	if (!ctx) {
		cnt_add(&a->cnt.errors_nomem, 1);
		return -ENOMEM;
	}
	/* size and CRC come from the chunk, not the store: damage to the store is caught,
	 * whether to the payload or to the owner word compaction relies on */
	if (store_obj_word(c->obj) != (uintptr_t)c ||
	    obj_crc(c->cand, payload, c->obj_size) != c->obj_crc) {
		cnt_add(&a->cnt.errors_checksum, 1);
		return -EBADMSG;
	}
	uffd = region_uffd(r);
	/* plain path: allocate the pages up front (a failure is -ENOMEM here, not the
	 * OOM killer in the middle of a decode; one call instead of one fault per
	 * page) and decode into them. A plain fault for one-page chunks was tried
	 * and taken back: side by side with this path (bench/peer_shape, 4 pairs) its
	 * sequential reread p50 was within 2% and its p99 up to 10% worse
	 * (docs/benchmarks.md, issue 15).
	 * userfaultfd path: decode into the thread's scratch buffer, then have the
	 * kernel fill the missing pages from it. */
	if (!uffd && madvise(dst, n, MADV_POPULATE_WRITE) < 0 && errno != EINVAL) {
		cnt_add(&a->cnt.errors_nomem, 1);
		return -ENOMEM;
	}
	/* a fill object is not a codec's: nothing to time for the model */
	timed = fill ? 0 : cpu_timed(a);
	c0 = cpu_now(timed);
	if (fill)
		ret = fill_decode(payload, c->obj_size, uffd ? codec_ctx_scratch2(ctx) : dst, n);
	else
		ret = codec_decompress(ctx, cand->codec, payload, c->obj_size,
				       uffd ? codec_ctx_scratch2(ctx) : dst, n);
	c1 = cpu_now(timed);
	if (ret == 0 && uffd)
		ret = arena_uffd_copy(a, dst, codec_ctx_scratch2(ctx), n);
	if (ret < 0) {
		/* the stored copy stays; half-written pages go (the uffd path has
		 * written none) */
		if (!uffd)
			(void)madvise(dst, n, MADV_DONTNEED);
		cnt_add(ret == -EBADMSG ? &a->cnt.errors_checksum : &a->cnt.errors_nomem, 1);
		return ret == -EBADMSG ? ret : -ENOMEM;
	}
	if (timed) {
		struct fair_sample s = { .in_bytes = n,
					 .decompress_ns = MAX(c1 - c0, (uint64_t)1) };

		cnt_add(&a->cnt.decompress_cpu_ns_by_codec[cand->codec], (c1 - c0) * timed);
		pthread_mutex_lock(&a->model_lock);
		(void)fair_model_observe(&a->model, c->cls, c->cand, &s);
		pthread_mutex_unlock(&a->model_lock);
	}

	chunk_update(a, c, CHUNK_RAW, c->flags);
	store_free(&a->store, c);

account:
	comp_hot = (c->flags & CF_COMP_HOT_MASK) >> CF_COMP_HOT_SHIFT;
	if (demand) {
		cnt_add(&a->cnt.readbacks, 1);
		cnt_add(&a->cnt.reads_at[comp_hot], 1);
		if (c->readbacks < UINT8_MAX)
			c->readbacks++;
		stall_record(a, clock_nsec(CLOCK_MONOTONIC) - t0);
	} else {
		cnt_add(&a->cnt.prefetches, 1);
	}
	return 0;
}

int chunk_unzero_locked(struct arena *a, struct arena_region *r, uint32_t idx, bool write)
{
	struct chunk *c = &r->chunks[idx];

	/* the pages were released or never touched: they read as zero. With a
	 * userfaultfd they would wait for the handler instead: map them now (uffd.c
	 * says how and why). Pages a release batch still holds are there, zero */
	if (!(c->flags & CF_PAGES_HELD) && region_uffd(r) &&
	    arena_uffd_fill_zero(a, chunk_ptr(a, r, idx), a->cfg.chunk_size_bytes, write) < 0) {
		cnt_add(&a->cnt.errors_nomem, 1);
		return -ENOMEM;
	}
	chunk_update(a, c, CHUNK_RAW, (uint8_t)(c->flags & ~(CF_ADMITTED_ZERO | CF_PAGES_HELD)));
	cnt_add(&a->cnt.zero_fills, 1);
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint64_t v;

	/* p[0..8) zero and every byte equal to the one 8 before it: memcmp's SIMD
	 * loop does the scan */
	memcpy(&v, p, 8);
	return v == 0 && memcmp(p, p + 8, n - 8) == 0;
}

struct compress_req {
	uint32_t codecs; /* ARENA_CODECS_* */
	uint32_t min_savings_permyriad;
};

enum {
	COMPRESS_STORED = 0, /* codec or zero: pages to release, *freed set */
	COMPRESS_SKIPPED = 1, /* not eligible (pinned, not RAW, marked rejected) */
	COMPRESS_REJECTED = 2, /* savings below threshold: stays RAW, marked */
};

/*
 * Chunks whose contents are safe in the store (or all zero) but whose pages are not
 * released yet (CF_PAGES_HELD): the chunk is published and unlocked at once, and one
 * call releases the pages of up to RELEASE_BATCH chunks. A madvise costs ~2 us here,
 * as much as compressing a quarter of a 4 KiB chunk; per chunk, on memory where
 * compressible and incompressible pages alternate, the calls took half the time of
 * a whole-region compression (bench/peer_shape, "alternating").
 *
 * Until issue 15 a batch was a run of adjacent chunks that stayed locked until its
 * one madvise (at most 16 at 4 KiB): a pin of one of them waited for up to 16
 * compressions, and non-adjacent chunks got a call each. Now the flush locks the
 * batch's chunks (ascending, so two flushes never wait on each other; a pin holds
 * one chunk lock at a time, compaction only try-locks), releases the pages of those
 * that still hold them (a pin in between decompressed over the pages, which is why
 * they were kept, and took the chunk out of the batch by clearing the flag), in one
 * process_madvise() for all ranges where the kernel takes MADV_DONTNEED there (Linux
 * 5.19+; else one madvise per range), and unlocks them. A pin waits at most for that
 * one call.
 */
#define RELEASE_BATCH 64U
#define RELEASE_BATCH_BYTES (1U << 20)

struct release_run {
	struct arena_region *r;
	uint32_t n;
	uint32_t idx[RELEASE_BATCH];
};

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* MADV_DONTNEED over iov[0..n): one process_madvise() on our own pidfd where it
 * works, madvise() per range where not (or from the range where it stopped) */
static void release_ranges(struct arena *a, struct iovec *iov, uint32_t n)
{
	uint32_t done = 0;
	int fd = atomic_load_explicit(&a->pm_fd, memory_order_relaxed);

	/* a forked child's copy of the descriptor names the parent: never use it */
	if (n > 1 && fd != -1 && a->pm_pid == getpid()) {
		long r;

		if (fd == -2) {
			int expect = -2;

			fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
			if (fd < 0)
				fd = -1;
			/* two flushes may race to open it: one wins, the other closes */
			if (!atomic_compare_exchange_strong(&a->pm_fd, &expect, fd)) {
				if (fd >= 0)
					close(fd);
				fd = expect;
			}
		}
		r = fd >= 0 ? syscall(SYS_process_madvise, fd, iov, (size_t)n, MADV_DONTNEED, 0) :
			      -1;
		if (r < 0 && fd >= 0 && (errno == EINVAL || errno == ENOSYS || errno == EPERM)) {
			/* the kernel does not take MADV_DONTNEED here: madvise from now on */
			atomic_store(&a->pm_fd, -1);
			close(fd);
		}
		for (size_t left = r > 0 ? (size_t)r : 0; done < n && left >= iov[done].iov_len;
		     done++)
			left -= iov[done].iov_len;
	}
	for (; done < n; done++)
		(void)madvise(iov[done].iov_base, iov[done].iov_len, MADV_DONTNEED);
}

static int u32_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

static void run_flush(struct arena *a, struct release_run *run)
{
	struct iovec iov[RELEASE_BATCH];
	uint32_t n_iov = 0, prev = UINT32_MAX, prev_idx = UINT32_MAX;
	size_t chunk = a->cfg.chunk_size_bytes;

	if (run->n == 0)
		return;
	qsort(run->idx, run->n, sizeof(run->idx[0]), u32_cmp);
	for (uint32_t i = 0; i < run->n; i++) {
		uint32_t idx = run->idx[i];
		struct chunk *c = &run->r->chunks[idx];

		/* queued twice (compressed, read back by a pin, compressed again in the
		 * same pass): the first entry, kept locked below, releases it; locking it
		 * again here was a self-deadlock (test_arena_pin_concurrent_4_threads
		 * hung with 2024, 2024 in its batch) */
		if (i > 0 && idx == prev_idx) {
			run->idx[i] = UINT32_MAX;
			continue;
		}
		prev_idx = idx;
		chunk_lock(c);
		if (!(c->flags & CF_PAGES_HELD)) {
			/* taken out of the batch by a pin (a readback over the pages):
			 * its pages stay */
			run->idx[i] = UINT32_MAX;
			chunk_unlock(c);
			continue;
		}
		CHUNK_SET(c, flags, (uint8_t)(c->flags & ~CF_PAGES_HELD));
		if (n_iov > 0 && idx == prev + 1)
			iov[n_iov - 1].iov_len += chunk;
		else
			iov[n_iov++] = (struct iovec){ chunk_ptr(a, run->r, idx), chunk };
		prev = idx;
	}
	release_ranges(a, iov, n_iov);
	for (uint32_t i = 0; i < run->n; i++)
		if (run->idx[i] != UINT32_MAX)
			chunk_unlock(&run->r->chunks[run->idx[i]]);
	run->n = 0;
}

/* Queue chunk idx (published, unlocked, CF_PAGES_HELD) for release */
static void run_add(struct arena *a, struct release_run *run, struct arena_region *r, uint32_t idx)
{
	if (run->n > 0 && (run->r != r || run->n == RELEASE_BATCH ||
			   ((size_t)run->n << a->chunk_shift) >= RELEASE_BATCH_BYTES))
		run_flush(a, run);
	run->r = r;
	run->idx[run->n++] = idx;
}

static double expected_reads(struct arena *a, enum arena_hotness h, const struct chunk *c)
{
	uint64_t comp = atomic_load_explicit(&a->cnt.comp_at[h], memory_order_relaxed);
	uint64_t reads = atomic_load_explicit(&a->cnt.reads_at[h], memory_order_relaxed);
	double e = comp >= 16 ? (double)reads / (double)comp : 0.0;

	return e + c->readbacks / 2.0;
}

static uint32_t n_allowed(const struct fair_model *m, uint32_t codecs)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->n_cand; i++)
		n += !!(codecs & (1U << m->cand[i].codec));
	return n;
}

/*
 * Compress src with candidate i into scratch, decompress it into scratch2, both
 * timed in thread CPU time, MEASURE_RUNS times; the least time of each counts.
 * Returns 0 and *ret, -ENOMEM, or 1 (did not compress).
 *
 * One run is not enough: a probe is the first call of that codec setting in a while,
 * so it pays for code, hash table and context lines that other codecs evicted, while
 * the chosen setting, run on every chunk, stays warm. Single runs made rivals look
 * 2-3x slower than they are (the incumbent 1.3x) and kept the incumbent in place
 * (bench/arena, hot zero-heavy heap pages: LZ4 default estimated at 1.8 ns/B against
 * 3.0 for LZ4 fast 16; measured warm, as the oracle does, 1.36 against 0.99). The
 * second run is warm (the bench's oracle takes the least of three; a third run here
 * bought nothing measurable in bench/arena's fairness section and cost another 10-20%
 * of sampling CPU). Every call is repeated, long ones too: the first measurements
 * in a fresh arena came out at up to 4x the warm time (LZ4 fast 4 on 4 KiB: ~16 us;
 * first-touch faults on the context and scratch pages, presumably), and an attempt
 * that skipped the repeat of calls over 16 us left that in a class's first estimate.
 * zstd, the costly one to repeat, is rarely probed (plan_locked()).
 */
#define MEASURE_RUNS 2

static int measure(struct arena *a, struct codec_ctx *ctx, const uint8_t *src, size_t n, uint32_t i,
		   struct fair_sample *ret)
{
	const struct fair_candidate *fc = &a->model.cand[i];
	uint64_t t0, t1, t2, best_c = UINT64_MAX, best_d = UINT64_MAX;
	long sz = 0;

	for (int k = 0; k < MEASURE_RUNS; k++) {
		t0 = clock_nsec(CLOCK_THREAD_CPUTIME_ID);
		sz = codec_compress(ctx, fc->codec, fc->level, src, n, codec_ctx_scratch(ctx),
				    codec_bound(n));
		t1 = clock_nsec(CLOCK_THREAD_CPUTIME_ID);
		if (sz == -ENOMEM)
			return -ENOMEM;
		if (sz <= 0)
			return 1;
		if (codec_decompress(ctx, fc->codec, codec_ctx_scratch(ctx), (size_t)sz,
				     codec_ctx_scratch2(ctx), n) < 0)
			return 1;
		t2 = clock_nsec(CLOCK_THREAD_CPUTIME_ID);
		best_c = MIN(best_c, t1 - t0);
		best_d = MIN(best_d, t2 - t1);
	}
	*ret = (struct fair_sample){
		.in_bytes = n,
		.out_bytes = (uint64_t)sz,
		.compress_ns = MAX(best_c, (uint64_t)1),
		.decompress_ns = MAX(best_d, (uint64_t)1),
	};
	return 0;
}

/*
 * Bring the chunk into the cache before candidates are timed on it. Otherwise the first
 * candidate measured pays every cache miss on the source (a cold 4 KiB chunk: ~1 us
 * here, as much as LZ4 fast 16 compressing it) and the fastest settings, measured
 * first, look slower than they are: the model then picked LZ4 fast 4 or LZ4 default
 * where an oracle timing warm codecs picks LZ4 fast 16 (bench/arena, fairness).
 */
static void cache_warm(const uint8_t *src, size_t n)
{
	uint64_t acc = 0;

	for (size_t off = 0; off < n; off += 64)
		acc += src[off];
	__asm__ volatile("" : : "r"(acc));
}

/*
 * Keep the cost model honest. The first SAMPLE_WARMUP chunks of a data class are
 * measured with every allowed candidate and decided from the measurements; after
 * that one chunk in sample_interval gets one extra candidate measured (round robin),
 * besides the chosen codec, which is observed on every compression. probe is the
 * candidate to measure, or -1 for a full sample.
 */
static int sample_full(struct arena *a, struct codec_ctx *ctx, const uint8_t *src, size_t n,
		       const struct fair_input *in, struct fair_decision *ret)
{
	struct fair_sample s[FAIR_CANDIDATES_MAX] = {};
	uint64_t t_start = clock_nsec(CLOCK_THREAD_CPUTIME_ID);
	int r;

	cache_warm(src, n);
	for (uint32_t i = 0; i < a->model.n_cand; i++) {
		if (!(in->codecs & (1U << a->model.cand[i].codec)))
			continue;
		r = measure(a, ctx, src, n, i, &s[i]);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&a->model_lock);
	for (uint32_t i = 0; i < a->model.n_cand; i++)
		if (s[i].out_bytes > 0)
			(void)fair_model_observe(&a->model, in->data_class, i, &s[i]);
	r = fair_choose_measured(&a->model, in, s, a->model.n_cand, ret);
	pthread_mutex_unlock(&a->model_lock);

	cnt_add(&a->cnt.samples, 1);
	cnt_add(&a->cnt.sample_cpu_ns, clock_nsec(CLOCK_THREAD_CPUTIME_ID) - t_start);
	return r;
}

static int sample_probe(struct arena *a, struct codec_ctx *ctx, const uint8_t *src, size_t n,
			uint32_t cls, uint32_t probe)
{
	uint64_t t_start = clock_nsec(CLOCK_THREAD_CPUTIME_ID);
	struct fair_sample s;
	int r;

	cache_warm(src, n);
	r = measure(a, ctx, src, n, probe, &s);
	if (r < 0)
		return r;
	if (r == 0) {
		pthread_mutex_lock(&a->model_lock);
		(void)fair_model_observe(&a->model, cls, probe, &s);
		pthread_mutex_unlock(&a->model_lock);
	}
	cnt_add(&a->cnt.samples, 1);
	cnt_add(&a->cnt.sample_cpu_ns, clock_nsec(CLOCK_THREAD_CPUTIME_ID) - t_start);
	return 0;
}

/* Under model_lock: the next allowed candidate in round-robin order, as a decision */
static void round_robin_locked(struct arena *a, const struct fair_input *in,
			       struct fair_decision *d)
{
	uint32_t cls = in->data_class;

	for (uint32_t k = 0; k < a->model.n_cand; k++) {
		uint32_t i = (a->probe_next[cls] + k) % a->model.n_cand;

		if (!(in->codecs & (1U << a->model.cand[i].codec)))
			continue;
		a->probe_next[cls] = i + 1;
		*d = (struct fair_decision){ .admit = true, .candidate = i };
		return;
	}
}

/*
 * Under model_lock, after the model predicted no savings for a chunk that does not
 * look random: compress it anyway, with the candidate that scores best once the
 * threshold is ignored (round robin when none saves anything by the estimates). A
 * prediction is an average over a class; the bounded compression of this chunk is
 * the test, and its outcome feeds the model either way. Until issue 15 a predicted
 * rejection was tried only at growing intervals (1st, 2nd, 4th, ... then 1 in 64):
 * on real programs' memory the default arena then left up to 16x more chunks raw
 * than an LZ4-only arena did, compressible chunks of a class whose estimate had been
 * pulled under the threshold by its incompressible members. Chunks that really are
 * incompressible are caught before the model by the classifier and a probe
 * (HIGH_ENTROPY, see chunk_compress_locked()), at a fraction of a compression.
 */
static void try_anyway_locked(struct arena *a, const struct fair_input *in, struct fair_decision *d)
{
	struct fair_input any = *in;

	any.min_savings_permyriad = 0;
	(void)fair_choose(&a->model, &any, d);
	if (!d->admit)
		round_robin_locked(a, in, d);
}

/*
 * Under model_lock, for a chunk the classifier and the probe found incompressible:
 * whether to compress it anyway. 1 in REPROBE_INTERVAL_MAX of them is (round robin
 * over the allowed candidates), so that a probe that misjudges some kind of data
 * is found out: the outcome is counted like any compression's.
 */
static bool retry_rejected_locked(struct arena *a, const struct fair_input *in,
				  struct fair_decision *d)
{
	uint32_t run = a->reject_run[in->data_class]++;

	if (run % REPROBE_INTERVAL_MAX != 0)
		return false;
	round_robin_locked(a, in, d);
	return d->admit;
}

/*
 * Under model_lock: decide, or ask for a full sample (*full) or a probe (*probe).
 *
 * Probes go round robin over the contenders: the allowed candidates whose estimated
 * score is within 20% of the best one's, and the chosen one; one probe in
 * PROBE_WIDE_EVERY goes round robin over all allowed candidates (its own pointer:
 * sharing one, the wide probes kept landing on contenders), so a setting that fell
 * behind, or was mis-measured early, is still re-measured. The decisions that matter
 * are between settings a few percent apart (LZ4 fast 4 / 16 / default), and plain
 * round robin spent 2 of 5 probes of a COLD class on zstd 1 and 3, which score 0.3 of
 * LZ4 on heap pages and cost 5-7x as much to measure: on bench/arena's zero-heavy data
 * a class of 723 chunks got about 4 time samples per LZ4 setting, too few to tell
 * fast 4 from fast 16, and the arena split the chunks between them where the oracle
 * takes fast 16.
 */
static void plan_locked(struct arena *a, const struct fair_input *in, bool *full, int *probe,
			struct fair_decision *d)
{
	uint32_t cls = in->data_class, allowed = n_allowed(&a->model, in->codecs);
	uint64_t seen = a->class_seen[cls]++;
	double values[FAIR_CANDIDATES_MAX], best = -INFINITY;
	bool wide;

	*full = false;
	*probe = -1;
	if (a->cfg.sample_interval > 0 && allowed > 1 && seen < SAMPLE_WARMUP) {
		*full = true;
		return;
	}
	(void)fair_model_decide(&a->model, in, d, values);
	wide = !d->admit;
	if (!d->admit)
		try_anyway_locked(a, in, d);
	if (a->cfg.sample_interval == 0 || allowed < 2 || seen % a->cfg.sample_interval != 0)
		return;
	wide = wide || (seen / a->cfg.sample_interval) % PROBE_WIDE_EVERY == 0;
	for (uint32_t i = 0; i < a->model.n_cand; i++)
		best = MAX(best, values[i]);
	for (uint32_t k = 0; k < a->model.n_cand; k++) {
		uint32_t *next = wide ? &a->probe_wide_next[cls] : &a->probe_next[cls];
		uint32_t i = (*next + k) % a->model.n_cand;

		/* the chosen candidate too: its compression below is not timed for
		 * the model (see chunk_compress_locked()), so this is what keeps its
		 * CPU estimate current */
		if (!(in->codecs & (1U << a->model.cand[i].codec)))
			continue;
		/* contenders: a value within 20% of the pick's savings of the best */
		if (!wide && i != d->candidate &&
		    values[i] < best - d->est_bytes_saved * (10000 - PROBE_CONTENDER_PERMYRIAD) /
						10000.0)
			continue;
		*probe = (int)i;
		*next = i + 1;
		return;
	}
}

/*
 * Compress chunk idx of r (locked by the caller, who releases the pages and the lock
 * on COMPRESS_STORED, see struct release_run). Order of events, so that no data can
 * be lost: compress into a thread scratch buffer; reserve the store object; copy and
 * checksum it; publish it in the chunk; only then may the pages go.
 */
/*
 * For a chunk the classifier finds random-looking: LZ4 at acceleration
 * PROBE_ACCELERATION on PROBE_WINDOW bytes from its middle. True when that saves less
 * than PROBE_MIN_SAVINGS_PERMYRIAD of the window: the chunk is then rejected without
 * a codec call on all of it. The probe is what sees repeats (a random record
 * repeated: random bytes, yet LZ4 shrinks it tenfold), which the classifier's byte
 * counts cannot. Cost: bench/arena, classify section.
 */
#define PROBE_WINDOW 1024U
#define PROBE_ACCELERATION 64
#define PROBE_MIN_SAVINGS_PERMYRIAD 300

/* Issued for the next chunk of a pass before the current one is compressed: the
 * classifier's lines and the probe's window are in cache when its turn comes (on
 * one-value pages the classifier's misses cost a quarter of LZ4 itself otherwise:
 * bench/arena, classify section) */
static void compress_prefetch(const uint8_t *src, size_t n)
{
	size_t w = MIN((size_t)PROBE_WINDOW, n), off = (n - w) / 2;

	fair_classify_prefetch(src, n);
	for (size_t k = 0; k < w; k += 64)
		__builtin_prefetch(src + off + k);
}

static bool probe_incompressible(struct codec_ctx *ctx, const uint8_t *src, size_t n)
{
	size_t w = MIN((size_t)PROBE_WINDOW, n), off = (n - w) / 2;
	size_t cap = w - w * PROBE_MIN_SAVINGS_PERMYRIAD / 10000;

	return codec_compress(ctx, FAIR_CODEC_LZ4_FAST, PROBE_ACCELERATION, src + off, w,
			      codec_ctx_scratch(ctx), cap) == -E2BIG;
}

/* Put sz bytes of payload into a store object for c (locked) as candidate cand (or
 * CAND_FILL) and publish it: c is COMPRESSED, its pages still there. Returns 0,
 * -ENOSPC (the store is full, counted), -ENOMEM. */
static int chunk_store_locked(struct arena *a, struct chunk *c, uint8_t cand, uint32_t cls,
			      enum arena_hotness hot, const uint8_t *payload, uint32_t sz)
{
	void *obj;
	int ret;

	ret = store_alloc(&a->store, c, sz, &obj);
	if (ret == -ENOSPC) {
		cnt_add(&a->cnt.compress_store_full, 1);
		return -ENOSPC;
	}
	if (ret < 0)
		return ret;
	/* store_alloc() pointed c->obj and c->obj_size at the object */
	memcpy(store_obj_payload(obj), payload, sz);
	c->obj_crc = obj_crc(cand, store_obj_payload(obj), sz);
	c->cand = cand;
	c->cls = (uint8_t)cls;
	c->readbacks /= 2;
	chunk_update(a, c, CHUNK_COMPRESSED,
		     (uint8_t)((c->flags & ~(CF_REJECTED | CF_ADMITTED_ZERO | CF_COMP_HOT_MASK)) |
			       ((unsigned)hot << CF_COMP_HOT_SHIFT)));
	cnt_add(&a->cnt.compress_admitted, 1);
	cnt_add(&a->cnt.comp_at[hot], 1);
	return 0;
}

/* Store c (locked) as a fill object if it is one, with no codec and no model.
 * Returns COMPRESS_STORED (*freed set), 1 when it is not one, or -errno. */
static int try_fill_locked(struct arena *a, struct chunk *c, enum arena_hotness hot,
			   const struct compress_req *req, struct codec_ctx *ctx,
			   const uint8_t *src, size_t n, uint64_t *freed)
{
	uint8_t *buf = codec_ctx_scratch(ctx);
	uint64_t need = (uint64_t)n * req->min_savings_permyriad / 10000;
	long sz = fill_encode(src, n, buf);
	int ret;

	if (sz <= 0 || store_obj_bytes((uint32_t)sz) + MAX(need, (uint64_t)1) > n)
		return 1;
	ret = chunk_store_locked(a, c, CAND_FILL, FAIR_CLASS_UNIFORM, hot, buf, (uint32_t)sz);
	if (ret < 0)
		return ret;
	*freed = n - store_obj_bytes((uint32_t)sz);
	return COMPRESS_STORED;
}

static int chunk_compress_locked(struct arena *a, struct arena_region *r, uint32_t idx,
				 enum arena_hotness hot, const struct compress_req *req,
				 uint64_t *freed)
{
	struct chunk *c = &r->chunks[idx];
	size_t n = a->cfg.chunk_size_bytes;
	const uint8_t *src = chunk_ptr(a, r, idx);
	const struct fair_candidate *fc;
	uint32_t cls, need, cap, timed;
	struct fair_decision d = {};
	struct fair_sample s;
	struct fair_input in;
	struct codec_ctx *ctx;
	uint64_t c0, c1;
	bool full, tried_fill;
	int probe, ret;
	long sz;

	if (c->state != CHUNK_RAW || c->pins > 0 || (c->flags & CF_REJECTED))
		return COMPRESS_SKIPPED;

	if (all_zero(src, n)) {
		cnt_add(&a->cnt.compress_attempts, 1);
		cnt_add(&a->cnt.compress_admitted, 1);
		chunk_update(a, c, CHUNK_ZERO,
			     (uint8_t)((c->flags & ~CF_REJECTED) | CF_ADMITTED_ZERO));
		*freed = n;
		return COMPRESS_STORED;
	}
	/* e.g. a zstd-only request for a chunk that is not COLD */
	if (req->codecs == 0)
		return COMPRESS_SKIPPED;
	cnt_add(&a->cnt.compress_attempts, 1);
	ctx = codec_ctx_get(n);
	if (!ctx)
		return -ENOMEM;

	/* a fill object (see fill.c) before the classifier when the first line is one
	 * word repeated (its word 0 may be a header): then the classifier never runs on
	 * such a chunk, and a miss costs the few lines the scan read */
	tried_fill = fill_line_uniform(src);
	if (tried_fill && (ret = try_fill_locked(a, c, hot, req, ctx, src, n, freed)) <= 0)
		return ret;
	cls = fair_classify(src, n);
	in = (struct fair_input){
		.bytes = n,
		.hotness = hot,
		.data_class = cls,
		.expected_reads = expected_reads(a, hot, c),
		.codecs = req->codecs,
		.min_savings_permyriad = req->min_savings_permyriad,
		.pressure_permyriad =
			atomic_load_explicit(&a->pressure_permyriad, memory_order_relaxed),
		/* the weights memctld gave (arena_readback_set()): 0 means 1 for both */
		.readback_weight =
			atomic_load_explicit(&a->readback_weight_permille, memory_order_relaxed) /
			1000.0,
		.bandwidth_factor = fair_bandwidth_factor_from_permyriad(
			atomic_load_explicit(&a->readback_cost_permyriad, memory_order_relaxed)),
	};
	/* the classifier's sampled words are one word repeated (the first line may be
	 * a header) */
	if (cls == FAIR_CLASS_UNIFORM && !tried_fill &&
	    (ret = try_fill_locked(a, c, hot, req, ctx, src, n, freed)) <= 0)
		return ret;
	full = false;
	probe = -1;
	if (cls == FAIR_CLASS_HIGH_ENTROPY && probe_incompressible(ctx, src, n)) {
		/* a verdict, not a guess: no codec call on the whole chunk */
		pthread_mutex_lock(&a->model_lock);
		ret = retry_rejected_locked(a, &in, &d);
		pthread_mutex_unlock(&a->model_lock);
		if (!ret) {
			cnt_add(&a->cnt.compress_rejected_probe, 1);
			goto reject;
		}
	} else {
		if (cls == FAIR_CLASS_HIGH_ENTROPY)
			in.data_class = cls = FAIR_CLASS_MID_ENTROPY;
		pthread_mutex_lock(&a->model_lock);
		plan_locked(a, &in, &full, &probe, &d);
		pthread_mutex_unlock(&a->model_lock);
	}
	if (full)
		ret = sample_full(a, ctx, src, n, &in, &d);
	else if (probe >= 0)
		ret = sample_probe(a, ctx, src, n, cls, (uint32_t)probe);
	else
		ret = 0;
	if (ret < 0)
		return ret;

	/* the output must leave min_savings after the store's header and alignment
	 * (raised under bandwidth pressure for chunks that are not COLD, as the model
	 * requires: a chunk compressed anyway, try_anyway_locked(), is held to it too) */
	need = (uint32_t)((uint64_t)n * fair_min_savings_permyriad(&a->model, &in) / 10000);
	cap = (uint32_t)n - MAX(need, 1U);
	cap = cap > sizeof(struct store_obj) + STORE_ALIGN ?
		      cap - (uint32_t)sizeof(struct store_obj) - STORE_ALIGN + 1 :
		      0;
	if (!d.admit || cap == 0)
		goto reject;

	fc = &a->model.cand[d.candidate];
	timed = cpu_timed(a);
	c0 = cpu_now(timed);
	sz = codec_compress(ctx, fc->codec, fc->level, src, n, codec_ctx_scratch(ctx), cap);
	c1 = cpu_now(timed);
	if (timed)
		cnt_add(&a->cnt.compress_cpu_ns_by_codec[fc->codec], (c1 - c0) * timed);
	if (sz == -ENOMEM)
		return -ENOMEM;
	/* -E2BIG: it did not fit, which the model learns as "no savings". Only the size
	 * is learned here: the CPU time of this call includes the cache misses of a cold
	 * chunk, which any candidate would pay, and only the chosen one is timed that way;
	 * folding it in made the incumbent look slower than the (warm) sampled rivals */
	s = (struct fair_sample){
		.in_bytes = n,
		.out_bytes = sz > 0 ? (uint64_t)sz : n,
	};
	if (!full || sz <= 0) {
		pthread_mutex_lock(&a->model_lock);
		(void)fair_model_observe(&a->model, cls, d.candidate, &s);
		pthread_mutex_unlock(&a->model_lock);
	}
	if (sz <= 0)
		goto reject;

	ret = chunk_store_locked(a, c, (uint8_t)d.candidate, cls, hot, codec_ctx_scratch(ctx),
				 (uint32_t)sz);
	if (ret < 0)
		return ret;
	cnt_add(&a->cnt.compress_in_by_codec[fc->codec], n);
	cnt_add(&a->cnt.compress_out_by_codec[fc->codec], (uint64_t)sz);
	*freed = n - store_obj_bytes((uint32_t)sz);
	return COMPRESS_STORED;

reject:
	chunk_update(a, c, c->state, (uint8_t)(c->flags | CF_REJECTED));
	cnt_add(&a->cnt.compress_rejected, 1);
	return COMPRESS_REJECTED;
}

static int req_from_opts(const struct arena *a, const struct arena_compress_opts *o,
			 struct compress_req *ret)
{
	*ret = (struct compress_req){
		.codecs = a->cfg.codecs,
		.min_savings_permyriad = a->cfg.min_savings_permyriad,
	};
	if (!o)
		return 0;
	if (o->flags != 0 || (o->codecs & ~a->cfg.codecs) ||
	    (o->min_savings_permyriad != ARENA_MIN_SAVINGS_ARENA &&
	     o->min_savings_permyriad > 10000))
		return -EINVAL;
	if (o->codecs)
		ret->codecs = o->codecs;
	if (o->min_savings_permyriad != ARENA_MIN_SAVINGS_ARENA)
		ret->min_savings_permyriad = o->min_savings_permyriad;
	return 0;
}

/*
 * Lock chunk idx, compress it and unlock it. On COMPRESS_STORED its pages are still
 * there (CF_PAGES_HELD) and it joins run, whose flush releases them.
 */
static int compress_one(struct arena *a, struct arena_region *r, uint32_t idx,
			const struct compress_req *req, struct release_run *run, uint64_t *freed)
{
	struct chunk *c = &r->chunks[idx];
	uint64_t now = atomic_load_explicit(&a->epoch, memory_order_relaxed);
	struct compress_req q = *req;
	enum arena_hotness hot;
	int ret;

	*freed = 0;
	chunk_lock(c);
	hot = chunk_hotness(a, c, now);
	/* zstd only for COLD chunks */
	if (hot != ARENA_COLD)
		q.codecs &= ~ARENA_CODECS_ZSTD;
	ret = chunk_compress_locked(a, r, idx, hot, &q, freed);
	if (ret == COMPRESS_STORED)
		CHUNK_SET(c, flags, (uint8_t)(c->flags | CF_PAGES_HELD));
	chunk_unlock(c);
	if (ret == COMPRESS_STORED)
		run_add(a, run, r, idx);
	return ret;
}

int arena_region_compress(struct arena_region *r, size_t offset, size_t length,
			  const struct arena_compress_opts *opts, uint64_t *ret_bytes_freed)
{
	struct release_run run = {};
	struct arena *a;
	struct compress_req req;
	uint64_t total = 0;
	uint32_t first, last;
	int ret, result = ARENA_COMPRESS_DONE;

	ret = chunk_range(r, offset, length, &first, &last);
	if (ret < 0)
		return ret;
	a = r->arena;
	ret = req_from_opts(a, opts, &req);
	if (ret < 0)
		return ret;
	for (uint32_t i = first; i <= last; i++) {
		uint64_t freed;

		if (i < last && CHUNK_PEEK(&r->chunks[i + 1], state) == CHUNK_RAW)
			compress_prefetch(chunk_ptr(a, r, i + 1), a->cfg.chunk_size_bytes);
		ret = compress_one(a, r, i, &req, &run, &freed);
		if (ret == -ENOSPC) {
			result = ARENA_COMPRESS_STORE_FULL;
			break;
		}
		if (ret < 0) {
			run_flush(a, &run);
			return ret;
		}
		total += freed;
	}
	run_flush(a, &run);
	store_maintain(&a->store, a->cfg.max_fragmentation_permyriad);
	if (ret_bytes_freed)
		*ret_bytes_freed = total;
	return result;
}

/* ---- coldest-first / hottest-first passes ---- */

struct cand_ref {
	struct arena_region *r;
	uint32_t idx;
	uint32_t key; /* sort key, larger first */
};

/* a comes before b: larger key first, ties in address order */
static inline bool cand_before(const struct cand_ref *a, const struct cand_ref *b)
{
	if (a->key != b->key)
		return a->key > b->key;
	if (a->r != b->r)
		return (uintptr_t)a->r < (uintptr_t)b->r;
	return a->idx < b->idx;
}

/* Sift v[i] down a heap of n whose root comes first (worst_root: comes last). */
static void cand_sift_down(struct cand_ref *v, size_t n, size_t i, bool worst_root)
{
	struct cand_ref x = v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && cand_before(&v[c + 1], &v[c]) != worst_root)
			c++;
		if (cand_before(&v[c], &x) == worst_root)
			break;
		v[i] = v[c];
		i = c;
	}
	v[i] = x;
}

/*
 * The candidates of a pass, taken in batches. A pass takes a few MiB from an arena
 * of any size: 4 MiB, one COMPRESS slice of the controller client, is ~1,000 of the
 * 131,072 chunks of a 512 MiB region. Until issue 15 each pass listed every chunk
 * that qualified (16 bytes each, 2 MiB at 512 MiB) and qsort()ed them all (glibc's
 * merge sort: 2 MiB more), for every slice. On the limited control-loop test's data
 * (tests/integration/test_control_loop.py: 512 MiB, zero-heavy) that was 6.9 ms of
 * CPU per 4 MiB slice, of which the codec took 1.8 (perf: the sort 25%, LZ4 16%),
 * and near the cgroup's limit every fresh page of those 4 MiB went through memcg
 * reclaim first: the slice's wall time rose with the usage (15 ms at 200 MiB of a
 * 312 MiB limit, 60 ms before the kill), so compression fell behind the fill just
 * when it mattered. Now a scan keeps only the first `want` in order (a heap of
 * that size whose root is its last), 2 x the chunks the target needs: 33 KiB for
 * 4 MiB, allocated once per pass; the batch is popped in order, and only if the
 * target is not reached yet does another scan take the next batch, after the last
 * one taken. The order is the same total order as before; keys are computed at one
 * epoch per pass, so a chunk's place cannot move between batches.
 *
 * The other way measured: list every candidate, quickselect the first
 * target / (chunk / 8) + 256 and sort only those, the rest following unsorted.
 * Side by side (bench/arena --sections slices --mb 512, docs/benchmarks.md) the
 * heap's CPU per slice was 0.90x of it on zero-heavy data at 1 MiB slices
 * (memctld's MaxCommand= default), 0.94x at 4 MiB, 0.96x on mixed data at 1 MiB
 * and 1.05x on mixed at 4 MiB (where a 2x batch runs out once and a second scan
 * of every chunk follows); it needs no array of every chunk and keeps the order
 * exact past the batch.
 */
struct cand_pass {
	uint64_t now;
	uint8_t state;
	enum arena_hotness limit;
	bool coldest_first;
	bool exhausted; /* the last scan found no more than want */
	bool bounded; /* take only candidates after last */
	struct cand_ref last;
	struct cand_ref *v;
	size_t n, want;
};

static void cand_pass_done(struct cand_pass *p)
{
	free(p->v);
	p->v = NULL;
}

/* Chunks in state no hotter (coldest_first) or no colder (else) than limit, in order
 * coldest-oldest first or hottest-newest first; ties in address order so that
 * neighbours stay together (one madvise per run). target 0: all of them. */
static int cand_pass_init(struct cand_pass *p, struct arena *a, uint8_t state,
			  enum arena_hotness limit, bool coldest_first, uint64_t target)
{
	uint64_t total = 0;

	for (struct arena_region *r = a->regions; r; r = r->next)
		total += r->n_chunks;
	*p = (struct cand_pass){
		.now = atomic_load_explicit(&a->epoch, memory_order_relaxed),
		.state = state,
		.limit = limit,
		.coldest_first = coldest_first,
		.want = (size_t)MAX(target ? MIN(total, target / a->cfg.chunk_size_bytes * 2 + 64) :
					     total,
				    (uint64_t)1),
	};
	p->v = malloc(p->want * sizeof(*p->v));
	return p->v ? 0 : -ENOMEM;
}

/* One scan: the first `want` candidates after p->last, best first. Caller holds
 * regions_lock (read). */
static void cand_pass_scan(struct arena *a, struct cand_pass *p)
{
	size_t n = 0;

	for (struct arena_region *r = a->regions; r; r = r->next)
		for (uint32_t i = 0; i < r->n_chunks; i++) {
			const struct chunk *c = &r->chunks[i];
			struct cand_ref x;
			enum arena_hotness h;
			uint32_t age;

			if (CHUNK_PEEK(c, state) != p->state)
				continue;
			if (p->state == CHUNK_RAW &&
			    (CHUNK_PEEK(c, pins) > 0 || (CHUNK_PEEK(c, flags) & CF_REJECTED)))
				continue;
			h = chunk_hotness(a, c, p->now);
			/* HOT < WARM < COLD: compression takes limit and colder,
			 * relax takes limit and hotter */
			if (p->coldest_first ? h < p->limit : h > p->limit)
				continue;
			age = MIN(chunk_age(c, p->now), (uint32_t)0xffffff);
			x = (struct cand_ref){
				.r = r,
				.idx = i,
				.key = p->coldest_first ? ((uint32_t)h << 24) | age :
							  ((uint32_t)(ARENA_COLD - h) << 24) |
								  (0xffffff - age),
			};
			if (p->bounded && !cand_before(&p->last, &x))
				continue;
			if (n < p->want) {
				/* sift up in a heap whose root comes last */
				size_t k = n++;

				while (k > 0 && cand_before(&p->v[(k - 1) / 2], &x)) {
					p->v[k] = p->v[(k - 1) / 2];
					k = (k - 1) / 2;
				}
				p->v[k] = x;
			} else if (cand_before(&x, &p->v[0])) {
				p->v[0] = x;
				cand_sift_down(p->v, n, 0, true);
			}
		}
	p->exhausted = n < p->want;
	for (size_t k = n / 2; k-- > 0;)
		cand_sift_down(p->v, n, k, false);
	p->n = n;
}

/* The next candidate in order, or false when none is left. */
static bool cand_pass_next(struct arena *a, struct cand_pass *p, struct cand_ref *ret)
{
	if (p->n == 0) {
		if (p->exhausted && p->bounded)
			return false;
		cand_pass_scan(a, p);
		if (p->n == 0)
			return false;
	}
	*ret = p->v[0];
	p->v[0] = p->v[--p->n];
	if (p->n > 1)
		cand_sift_down(p->v, p->n, 0, false);
	p->last = *ret;
	p->bounded = true;
	return true;
}

/* The one that cand_pass_next() returns next if it is in this batch, or NULL. */
static const struct cand_ref *cand_pass_peek(const struct cand_pass *p)
{
	return p->n > 0 ? &p->v[0] : NULL;
}

int arena_compress_pass(struct arena *a, uint64_t target, enum arena_hotness max_hotness,
			const struct arena_compress_opts *opts, bool from_loop,
			uint64_t *ret_bytes_freed)
{
	_cleanup_(cand_pass_done) struct cand_pass pass = {};
	const struct cand_ref *next;
	struct release_run run = {};
	struct compress_req req;
	struct cand_ref cur;
	uint64_t total = 0;
	int ret, result = ARENA_COMPRESS_PARTIAL;

	if (!a || (unsigned)max_hotness >= _ARENA_HOTNESS_MAX)
		return -EINVAL;
	ret = req_from_opts(a, opts, &req);
	if (ret < 0)
		return ret;

	pthread_rwlock_rdlock(&a->regions_lock);
	ret = cand_pass_init(&pass, a, CHUNK_RAW, max_hotness, true, target);
	if (ret < 0) {
		pthread_rwlock_unlock(&a->regions_lock);
		return ret;
	}
	if (target == 0)
		result = ARENA_COMPRESS_DONE;
	for (uint64_t i = 0; cand_pass_next(a, &pass, &cur); i++) {
		uint64_t freed;

		if (from_loop && (i & 15) == 0) {
			bool stop;

			arena_prefetch_queue_serve(a, 64);
			pthread_mutex_lock(&a->loop_lock);
			stop = a->loop_stop;
			pthread_mutex_unlock(&a->loop_lock);
			/* background work yields to region alloc/free (they wait for the
			 * write lock); the next pass picks up where this one stopped */
			if (stop || atomic_load_explicit(&a->writers_waiting, memory_order_relaxed))
				break;
		}
		if ((next = cand_pass_peek(&pass)))
			compress_prefetch(chunk_ptr(a, next->r, next->idx),
					  a->cfg.chunk_size_bytes);
		ret = compress_one(a, cur.r, cur.idx, &req, &run, &freed);
		if (ret == -ENOSPC) {
			result = ARENA_COMPRESS_STORE_FULL;
			break;
		}
		if (ret < 0) {
			run_flush(a, &run);
			pthread_rwlock_unlock(&a->regions_lock);
			return ret;
		}
		total += freed;
		if (target > 0 && total >= target) {
			result = ARENA_COMPRESS_DONE;
			break;
		}
	}
	run_flush(a, &run);
	pthread_rwlock_unlock(&a->regions_lock);
	store_maintain(&a->store, a->cfg.max_fragmentation_permyriad);
	if (ret_bytes_freed)
		*ret_bytes_freed = total;
	return result;
}

int arena_compress_bytes(struct arena *a, uint64_t target_bytes, enum arena_hotness max_hotness,
			 const struct arena_compress_opts *opts, uint64_t *ret_bytes_freed)
{
	return arena_compress_pass(a, target_bytes, max_hotness, opts, false, ret_bytes_freed);
}

int arena_decompress_bytes(struct arena *a, uint64_t target, enum arena_hotness min_hotness,
			   uint64_t *ret_bytes_restored)
{
	_cleanup_(cand_pass_done) struct cand_pass pass = {};
	struct cand_ref cur;
	uint64_t total = 0;
	int ret = 0;

	if (!a || (unsigned)min_hotness >= _ARENA_HOTNESS_MAX)
		return -EINVAL;
	pthread_rwlock_rdlock(&a->regions_lock);
	ret = cand_pass_init(&pass, a, CHUNK_COMPRESSED, min_hotness, false, target);
	if (ret < 0) {
		pthread_rwlock_unlock(&a->regions_lock);
		return ret;
	}
	while ((target == 0 || total < target) && cand_pass_next(a, &pass, &cur)) {
		struct chunk *c = &cur.r->chunks[cur.idx];

		chunk_lock(c);
		if (c->state == CHUNK_COMPRESSED) {
			uint64_t stored = store_obj_bytes(c->obj_size);

			ret = chunk_decompress_locked(a, cur.r, cur.idx, false);
			if (ret == 0)
				total += a->cfg.chunk_size_bytes - stored;
		}
		chunk_unlock(c);
		if (ret < 0)
			break;
	}
	pthread_rwlock_unlock(&a->regions_lock);
	store_maintain(&a->store, a->cfg.max_fragmentation_permyriad);
	if (ret < 0)
		return ret;
	if (ret_bytes_restored)
		*ret_bytes_restored = total;
	return 0;
}

/* ---- pins ---- */

static void unpin_chunks(struct arena_region *r, uint32_t first, uint32_t last)
{
	for (uint32_t i = first; i <= last; i++) {
		struct chunk *c = &r->chunks[i];

		chunk_lock(c);
		CHUNK_SET(c, pins, (uint16_t)(c->pins - 1));
		chunk_unlock(c);
	}
}

int arena_pin(struct arena_region *r, size_t offset, size_t length, uint32_t flags, void **ret_ptr)
{
	return arena_pin_ex(r, offset, length, flags, ret_ptr, NULL);
}

int arena_pin_ex(struct arena_region *r, size_t offset, size_t length, uint32_t flags,
		 void **ret_ptr, uint32_t *ret_what)
{
	struct arena *a;
	uint32_t first, last, what = 0;
	uint64_t grown = 0;
	int ret;

	ret = chunk_range(r, offset, length, &first, &last);
	if (ret < 0)
		return ret;
	if (flags == 0 || (flags & ~(ARENA_PIN_READ | ARENA_PIN_WRITE)) || !ret_ptr)
		return -EINVAL;
	a = r->arena;

	for (uint32_t i = first; i <= last; i++) {
		struct chunk *c = &r->chunks[i];
		bool demand = false;

		chunk_lock(c);
		if (c->pins == CHUNK_PINS_MAX) {
			ret = -EOVERFLOW;
		} else if (c->state == CHUNK_COMPRESSED) {
			uint64_t stored = store_obj_bytes(c->obj_size);

			ret = chunk_decompress_locked(a, r, i, true);
			demand = ret == 0;
			if (demand)
				grown += a->cfg.chunk_size_bytes -
					 MIN(stored, a->cfg.chunk_size_bytes);
			what |= ARENA_PINNED_DECOMPRESSED;
		} else if (c->state == CHUNK_ZERO) {
			ret = chunk_unzero_locked(a, r, i, flags & ARENA_PIN_WRITE);
			if (ret == 0 && (flags & ARENA_PIN_WRITE))
				grown += a->cfg.chunk_size_bytes; /* a read maps the zero page */
			what |= ARENA_PINNED_ZERO_FILLED;
		}
		if (ret < 0) {
			chunk_unlock(c);
			if (i > first)
				unpin_chunks(r, first, i - 1);
			return ret;
		}
		if ((flags & ARENA_PIN_WRITE) && (c->flags & CF_REJECTED))
			chunk_update(a, c, c->state, (uint8_t)(c->flags & ~CF_REJECTED));
		CHUNK_SET(c, pins, (uint16_t)(c->pins + 1));
		chunk_touch(a, c);
		chunk_unlock(c);

		if (demand && a->cfg.prefetch_next_k > 0 &&
		    atomic_load_explicit(&a->prefetch_active, memory_order_relaxed))
			for (uint32_t k = 1; k <= a->cfg.prefetch_next_k && i + k < r->n_chunks;
			     k++)
				if (CHUNK_PEEK(&r->chunks[i + k], state) == CHUNK_COMPRESSED)
					arena_prefetch_queue_push(a, r, i + k);
	}
	assist_pay(a, grown);
	*ret_ptr = r->base + offset;
	if (ret_what)
		*ret_what = what;
	return 0;
}

int arena_unpin(struct arena_region *r, size_t offset, size_t length)
{
	uint32_t first, last;
	int ret;

	ret = chunk_range(r, offset, length, &first, &last);
	if (ret < 0)
		return ret;
	/* check first so a bad unpin changes nothing; pins cannot drop to 0 meanwhile
	 * unless the caller races its own unpins */
	for (uint32_t i = first; i <= last; i++)
		if (CHUNK_PEEK(&r->chunks[i], pins) == 0)
			return -EPERM;
	for (uint32_t i = first; i <= last; i++) {
		struct chunk *c = &r->chunks[i];

		chunk_lock(c);
		if (c->pins > 0)
			CHUNK_SET(c, pins, (uint16_t)(c->pins - 1));
		chunk_unlock(c);
	}
	return 0;
}

int arena_read(struct arena_region *r, size_t offset, void *buf, size_t length)
{
	void *p;
	int ret;

	if (!buf)
		return -EINVAL;
	ret = arena_pin(r, offset, length, ARENA_PIN_READ, &p);
	if (ret < 0)
		return ret;
	memcpy(buf, p, length);
	return arena_unpin(r, offset, length);
}

int arena_write(struct arena_region *r, size_t offset, const void *buf, size_t length)
{
	void *p;
	int ret;

	if (!buf)
		return -EINVAL;
	ret = arena_pin(r, offset, length, ARENA_PIN_WRITE, &p);
	if (ret < 0)
		return ret;
	memcpy(p, buf, length);
	return arena_unpin(r, offset, length);
}

int arena_region_discard(struct arena_region *r, size_t offset, size_t length)
{
	struct arena *a;
	size_t chunk, end, wfirst, wend;
	int ret;

	ret = range_check(r, offset, length);
	if (ret < 0)
		return ret;
	a = r->arena;
	chunk = a->cfg.chunk_size_bytes;
	end = offset + length;
	wfirst = (offset + chunk - 1) & ~(chunk - 1);
	wend = end & ~(chunk - 1);

	/* partial chunks at the ends: zero through a write pin */
	if (wfirst >= wend) {
		void *p;

		ret = arena_pin(r, offset, length, ARENA_PIN_WRITE, &p);
		if (ret < 0)
			return ret;
		memset(p, 0, length);
		return arena_unpin(r, offset, length);
	}
	if (offset < wfirst) {
		void *p;

		ret = arena_pin(r, offset, wfirst - offset, ARENA_PIN_WRITE, &p);
		if (ret < 0)
			return ret;
		memset(p, 0, wfirst - offset);
		(void)arena_unpin(r, offset, wfirst - offset);
	}
	if (wend < end) {
		void *p;

		ret = arena_pin(r, wend, end - wend, ARENA_PIN_WRITE, &p);
		if (ret < 0)
			return ret;
		memset(p, 0, end - wend);
		(void)arena_unpin(r, wend, end - wend);
	}
	for (size_t off = wfirst; off < wend; off += chunk) {
		uint32_t i = (uint32_t)(off >> a->chunk_shift);
		struct chunk *c = &r->chunks[i];

		chunk_lock(c);
		if (c->pins > 0) {
			chunk_unlock(c);
			return -EBUSY;
		}
		if (c->state != CHUNK_ZERO || (c->flags & CF_PAGES_HELD))
			(void)madvise(chunk_ptr(a, r, i), chunk, MADV_DONTNEED);
		chunk_update(a, c, CHUNK_ZERO, (uint8_t)(c->flags & CF_WORKING_SET));
		if (c->obj)
			store_free(&a->store, c);
		chunk_unlock(c);
	}
	return 0;
}

/* ---- prefetch ---- */

int arena_prefetch(struct arena_region *r, size_t offset, size_t length)
{
	struct arena *a;
	uint32_t first, last;
	int ret;

	ret = chunk_range(r, offset, length, &first, &last);
	if (ret < 0)
		return ret;
	a = r->arena;
	for (uint32_t i = first; i <= last; i++) {
		struct chunk *c = &r->chunks[i];

		chunk_lock(c);
		if (c->state == CHUNK_COMPRESSED)
			ret = chunk_decompress_locked(a, r, i, false);
		chunk_unlock(c);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int arena_hint_will_need(struct arena_region *r, size_t offset, size_t length)
{
	struct arena *a;
	uint32_t first, last;
	int ret;

	ret = chunk_range(r, offset, length, &first, &last);
	if (ret < 0)
		return ret;
	a = r->arena;
	if (!atomic_load_explicit(&a->prefetch_active, memory_order_relaxed)) {
		(void)arena_prefetch(r, offset, length);
		return 0;
	}
	for (uint32_t i = first; i <= last; i++)
		if (CHUNK_PEEK(&r->chunks[i], state) == CHUNK_COMPRESSED)
			arena_prefetch_queue_push(a, r, i);
	return 0;
}

int arena_phase_hint(struct arena *a, enum arena_phase phase)
{
	uint64_t now;
	bool queue;

	if (!a || (unsigned)phase >= _ARENA_PHASE_MAX)
		return -EINVAL;
	atomic_store(&a->phase, (uint32_t)phase);
	now = atomic_load_explicit(&a->epoch, memory_order_relaxed);
	queue = atomic_load_explicit(&a->prefetch_active, memory_order_relaxed);

	pthread_rwlock_rdlock(&a->regions_lock);
	for (struct arena_region *r = a->regions; r; r = r->next)
		for (uint32_t i = 0; i < r->n_chunks; i++) {
			struct chunk *c = &r->chunks[i];
			bool push = false;

			chunk_lock(c);
			if (phase == ARENA_PHASE_IDLE) {
				if (c->state != CHUNK_ZERO &&
				    chunk_hotness(a, c, now) != ARENA_COLD)
					CHUNK_SET(c, flags, (uint8_t)(c->flags | CF_WORKING_SET));
			} else if (c->flags & CF_WORKING_SET) {
				CHUNK_SET(c, flags, (uint8_t)(c->flags & ~CF_WORKING_SET));
				if (c->state == CHUNK_COMPRESSED) {
					if (queue)
						push = true;
					else
						(void)chunk_decompress_locked(a, r, i, false);
				}
			}
			chunk_unlock(c);
			if (push)
				arena_prefetch_queue_push(a, r, i);
		}
	pthread_rwlock_unlock(&a->regions_lock);
	return 0;
}

/* ---- test hooks ---- */

int arena_test_stored_payload(struct arena_region *r, size_t offset, uint8_t **ret_payload,
			      uint32_t *ret_size)
{
	struct chunk *c;
	int ret = 0;

	if (!r || offset >= r->size)
		return -EINVAL;
	c = &r->chunks[offset >> r->arena->chunk_shift];
	chunk_lock(c);
	if (c->state != CHUNK_COMPRESSED) {
		ret = -ENODATA;
	} else {
		*ret_payload = store_obj_payload(c->obj);
		*ret_size = c->obj_size;
	}
	chunk_unlock(c);
	return ret;
}

int arena_test_chunk_codec(struct arena_region *r, size_t offset, uint32_t *ret_codec,
			   int32_t *ret_level)
{
	struct chunk *c;
	int ret = 0;

	if (!r || offset >= r->size || !ret_codec || !ret_level)
		return -EINVAL;
	c = &r->chunks[offset >> r->arena->chunk_shift];
	chunk_lock(c);
	if (c->state != CHUNK_COMPRESSED) {
		ret = -ENODATA;
	} else if (c->cand == CAND_FILL) {
		ret = -ENOMSG;
	} else {
		*ret_codec = r->arena->model.cand[c->cand].codec;
		*ret_level = r->arena->model.cand[c->cand].level;
	}
	chunk_unlock(c);
	return ret;
}

long arena_test_fill_try(const void *src, size_t n, void *dst)
{
	return fill_line_uniform(src) ? fill_encode(src, n, dst) : 0;
}

void arena_test_compress_prefetch(const void *src, size_t n)
{
	compress_prefetch(src, n);
}

bool arena_test_probe_incompressible(const void *src, size_t n)
{
	struct codec_ctx *ctx = codec_ctx_get(n);

	return ctx && probe_incompressible(ctx, src, n);
}

int arena_test_chunk_state(struct arena_region *r, size_t offset)
{
	if (!r || offset >= r->size)
		return -EINVAL;
	return CHUNK_PEEK(&r->chunks[offset >> r->arena->chunk_shift], state);
}
