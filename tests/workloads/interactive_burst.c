// SPDX-License-Identifier: MIT
/* tests/workloads/interactive_burst.c: an interactive program: bursts of activity on a
 * session's working set, then idle phases in which, in arena mode, the working set may be
 * compressed (IDLE phase hint) and is prefetched back before the next burst. */

#include "tests/workloads/workload.h"

#define SESSION_PCT 10 /* of the region one burst works on */

int main(int argc, char **argv)
{
	struct wl_opts o;
	struct wl_ctx c;
	struct wl_pages p = {};
	struct wl_pages *all[] = { &p };
	struct wl_hist lat = {};
	struct wl_rng rng;
	uint64_t start, end, rss = 0, bursts = 0;
	size_t n, session_n, session_first = 0;
	char extra[160];
	int r = 0;

	wl_opts_init(&o, "interactive_burst",
		     "Alternate bursts of reads and writes on a session's working set with idle "
		     "phases; report the burst operations' latency.",
		     WL_OPT_PHASES);
	r = wl_opts_parse(&o, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (wl_ctx_init(&c, &o) < 0)
		return 1;
	start = clock_nsec(CLOCK_MONOTONIC);
	n = (size_t)(o.region_mb << 20) / WL_PAGE_BYTES;
	session_n = MAX(n * SESSION_PCT / 100, (size_t)1);
	wl_rng_init(&rng, o.seed, 0x6275727374, 0);
	r = wl_pages_new(&c, n, 0, &p);
	if (r < 0)
		goto out;
	if ((r = wl_pages_fill(&p)) < 0)
		goto out;

	wl_run_begin(&c);
	end = clock_nsec(CLOCK_MONOTONIC) + (uint64_t)(o.duration_sec * 1e9);
	for (;;) {
		uint64_t now = clock_nsec(CLOCK_MONOTONIC), burst_end, idle_end;

		if (now >= end)
			break;
		/* a session: two bursts in three go back to the previous working set */
		if (bursts == 0 || wl_rng_below(&rng, 3) == 0)
			session_first = (size_t)wl_rng_below(&rng, n);
		if (c.arena && (r = arena_phase_hint(c.arena, ARENA_PHASE_ACTIVE)) < 0) {
			wl_error(&c, r, "arena_phase_hint");
			goto out;
		}
		burst_end = MIN(now + o.active_ms * NSEC_PER_MSEC, end);
		for (uint64_t op = 0;; op++) {
			size_t pg = (session_first + (size_t)wl_rng_below(&rng, session_n)) % n;
			uint64_t t0;

			if ((op & 15) == 0) {
				if (clock_nsec(CLOCK_MONOTONIC) >= burst_end)
					break;
				if ((r = wl_ctx_tick(&c)) < 0)
					goto out;
			}
			t0 = clock_nsec(CLOCK_MONOTONIC);
			if (wl_rng_below(&rng, 10) < 7)
				r = wl_pages_verify(&p, pg, 1);
			else
				r = wl_pages_write(&p, pg, 1);
			if (r < 0)
				goto out;
			wl_hist_add(&lat, clock_nsec(CLOCK_MONOTONIC) - t0);
		}
		bursts++;

		/* idle: say so; without the loops compress what is not hot ourselves */
		idle_end = MIN(clock_nsec(CLOCK_MONOTONIC) + o.idle_ms * NSEC_PER_MSEC, end);
		if (c.arena) {
			if ((r = arena_phase_hint(c.arena, ARENA_PHASE_IDLE)) < 0) {
				wl_error(&c, r, "arena_phase_hint");
				goto out;
			}
			if (!o.autoloops) {
				/* (with --compress-policy external this compresses nothing while
				 * memctld is reachable: it decides) */
				arena_epoch_advance(c.arena);
				if ((r = wl_ctx_compress(&c, ARENA_WARM)) < 0)
					goto out;
			}
		}
		for (uint64_t t; (t = clock_nsec(CLOCK_MONOTONIC)) < idle_end;) {
			struct timespec ts = { .tv_nsec = (long)MIN(idle_end - t,
								    10 * NSEC_PER_MSEC) };

			nanosleep(&ts, NULL);
			if ((r = wl_ctx_tick(&c)) < 0)
				goto out;
		}
	}
	wl_run_end(&c);
	r = wl_finale(&c, all, ELEMENTSOF(all), &rss);
out:
	if (wl_ctx_report(&c) < 0 && r >= 0)
		r = -EIO;
	wl_pages_free(&p);
	wl_ctx_done(&c);
	snprintf(extra, sizeof(extra),
		 "bursts=%" PRIu64 " op_p50_ns=%" PRIu64 " op_p99_ns=%" PRIu64
		 " op_max_ns=%" PRIu64,
		 bursts, wl_hist_quantile(&lat, 0.5), wl_hist_quantile(&lat, 0.99), lat.max);
	return wl_summary(&c, start, rss, extra) || r < 0 ? 1 : 0;
}
