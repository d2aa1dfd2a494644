/* SPDX-License-Identifier: MIT */
/* arena/loops.c: the optional background thread (hotness epochs, compression passes,
 * prefetch) and the prefetch queue that hints, next-k and phase changes feed. */

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "arena/arena-internal.h"
#include "common/macro.h"
#include "common/time-util.h"

void arena_loops_config_init(struct arena_loops_config *cfg)
{
	*cfg = (struct arena_loops_config){
		.loops = ARENA_LOOPS_ALL,
		.epoch_ms = 250,
		.compress_ms = 500,
		.compress_max_hotness = ARENA_COLD,
		.compress_budget_bytes = 0,
	};
}

static int loops_config_check(const struct arena_loops_config *c)
{
	if (c->loops == 0 || (c->loops & ~ARENA_LOOPS_ALL))
		return -EINVAL;
	if (c->epoch_ms < 10 || c->epoch_ms > 60000 || c->compress_ms < 10 ||
	    c->compress_ms > 60000)
		return -EINVAL;
	if (c->compress_max_hotness >= _ARENA_HOTNESS_MAX)
		return -EINVAL;
	return 0;
}

/* ---- prefetch queue (loop_lock) ---- */

void arena_prefetch_queue_push(struct arena *a, struct arena_region *r, uint32_t idx)
{
	pthread_mutex_lock(&a->loop_lock);
	if (a->q_len == PREFETCH_QUEUE_LEN) {
		a->q_head = (a->q_head + 1) % PREFETCH_QUEUE_LEN;
		a->q_len--;
		atomic_fetch_add_explicit(&a->cnt.prefetch_dropped, 1, memory_order_relaxed);
	}
	a->queue[(a->q_head + a->q_len) % PREFETCH_QUEUE_LEN] =
		(struct prefetch_item){ .region = r, .chunk = idx };
	a->q_len++;
	pthread_cond_signal(&a->loop_cond);
	pthread_mutex_unlock(&a->loop_lock);
}

void arena_prefetch_queue_purge(struct arena *a, struct arena_region *r)
{
	uint32_t kept = 0;

	pthread_mutex_lock(&a->loop_lock);
	for (uint32_t i = 0; i < a->q_len; i++) {
		struct prefetch_item it = a->queue[(a->q_head + i) % PREFETCH_QUEUE_LEN];

		if (it.region != r)
			a->queue[(a->q_head + kept++) % PREFETCH_QUEUE_LEN] = it;
	}
	a->q_len = kept;
	pthread_mutex_unlock(&a->loop_lock);
}

void arena_prefetch_queue_serve(struct arena *a, unsigned max_items)
{
	for (unsigned n = 0; n < max_items; n++) {
		struct prefetch_item it;
		struct chunk *c;

		pthread_mutex_lock(&a->loop_lock);
		if (a->q_len == 0) {
			pthread_mutex_unlock(&a->loop_lock);
			return;
		}
		it = a->queue[a->q_head];
		a->q_head = (a->q_head + 1) % PREFETCH_QUEUE_LEN;
		a->q_len--;
		pthread_mutex_unlock(&a->loop_lock);

		/* regions_lock (read) keeps it.region alive: a freed region purges its
		 * entries under the write lock */
		c = &it.region->chunks[it.chunk];
		chunk_lock(c);
		if (c->state == CHUNK_COMPRESSED)
			(void)chunk_decompress_locked(a, it.region, it.chunk, false);
		chunk_unlock(c);
	}
}

/* ---- the thread ---- */

static void *loop_main(void *arg)
{
	struct arena *a = arg;
	const struct arena_loops_config *cfg = &a->loops;
	uint64_t now = clock_nsec(CLOCK_MONOTONIC);
	uint64_t next_epoch = now + cfg->epoch_ms * NSEC_PER_MSEC;
	uint64_t next_compress = now + cfg->compress_ms * NSEC_PER_MSEC;

	pthread_mutex_lock(&a->loop_lock);
	while (!a->loop_stop) {
		uint64_t deadline = UINT64_MAX;
		struct timespec ts;

		if ((cfg->loops & ARENA_LOOP_PREFETCH) && a->q_len > 0) {
			pthread_mutex_unlock(&a->loop_lock);
			pthread_rwlock_rdlock(&a->regions_lock);
			arena_prefetch_queue_serve(a, PREFETCH_QUEUE_LEN);
			pthread_rwlock_unlock(&a->regions_lock);
			pthread_mutex_lock(&a->loop_lock);
			continue;
		}

		now = clock_nsec(CLOCK_MONOTONIC);
		if ((cfg->loops & ARENA_LOOP_HOTNESS) && now >= next_epoch) {
			arena_epoch_advance(a);
			next_epoch = now + cfg->epoch_ms * NSEC_PER_MSEC;
		}
		if ((cfg->loops & ARENA_LOOP_COMPRESS) && now >= next_compress) {
			enum arena_hotness max = (enum arena_hotness)cfg->compress_max_hotness;

			if (atomic_load(&a->phase) == ARENA_PHASE_IDLE && max > ARENA_WARM)
				max = ARENA_WARM;
			pthread_mutex_unlock(&a->loop_lock);
			/* errors are counted in the stats; the loop carries on */
			(void)arena_compress_pass(a, cfg->compress_budget_bytes, max, NULL, true,
						  NULL);
			pthread_mutex_lock(&a->loop_lock);
			next_compress =
				clock_nsec(CLOCK_MONOTONIC) + cfg->compress_ms * NSEC_PER_MSEC;
			continue;
		}

		if (cfg->loops & ARENA_LOOP_HOTNESS)
			deadline = MIN(deadline, next_epoch);
		if (cfg->loops & ARENA_LOOP_COMPRESS)
			deadline = MIN(deadline, next_compress);
		if (deadline == UINT64_MAX) {
			pthread_cond_wait(&a->loop_cond, &a->loop_lock);
			continue;
		}
		ts.tv_sec = (time_t)(deadline / NSEC_PER_SEC);
		ts.tv_nsec = (long)(deadline % NSEC_PER_SEC);
		(void)pthread_cond_timedwait(&a->loop_cond, &a->loop_lock, &ts);
	}
	pthread_mutex_unlock(&a->loop_lock);
	return NULL;
}

int arena_loops_start(struct arena *a, const struct arena_loops_config *cfg)
{
	struct arena_loops_config defaults;
	sigset_t all, old;
	int r;

	if (!a)
		return -EINVAL;
	if (!cfg) {
		arena_loops_config_init(&defaults);
		cfg = &defaults;
	}
	r = loops_config_check(cfg);
	if (r < 0)
		return r;

	pthread_mutex_lock(&a->loop_lock);
	if (a->loop_running) {
		pthread_mutex_unlock(&a->loop_lock);
		return -EALREADY;
	}
	a->loops = *cfg;
	a->loop_stop = false;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&a->loop_thread, NULL, loop_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0) {
		a->loop_running = true;
		atomic_store(&a->prefetch_active, (cfg->loops & ARENA_LOOP_PREFETCH) != 0);
	}
	pthread_mutex_unlock(&a->loop_lock);
	return -r;
}

int arena_loops_stop(struct arena *a)
{
	if (!a)
		return -EINVAL;
	pthread_mutex_lock(&a->loop_lock);
	if (!a->loop_running) {
		pthread_mutex_unlock(&a->loop_lock);
		return -ESRCH;
	}
	a->loop_stop = true;
	atomic_store(&a->prefetch_active, false);
	pthread_cond_signal(&a->loop_cond);
	pthread_mutex_unlock(&a->loop_lock);

	pthread_join(a->loop_thread, NULL);

	pthread_mutex_lock(&a->loop_lock);
	a->loop_running = false;
	a->q_len = 0;
	pthread_mutex_unlock(&a->loop_lock);
	return 0;
}
