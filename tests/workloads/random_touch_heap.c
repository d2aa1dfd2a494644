// SPDX-License-Identifier: MIT
/* tests/workloads/random_touch_heap.c: a heap touched at random with a skewed, drifting
 * hot set: reads of 1-4 pages, page rewrites, small in-place updates and frees (discards);
 * every read is verified. */

#include "tests/workloads/workload.h"

#define HOT_SHARE_PCT 90 /* of accesses that go to the hot set */
#define HOT_SET_PCT 10 /* of the pages in the hot set */
#define HOT_DRIFT_OPS 5000 /* the hot set moves this often */

int main(int argc, char **argv)
{
	struct wl_opts o;
	struct wl_ctx c;
	struct wl_pages p = {};
	struct wl_pages *all[] = { &p };
	struct wl_rng rng;
	uint64_t start, end, rss = 0, reads = 0, writes = 0, patches = 0, discards = 0;
	size_t n, hot_first = 0, hot_n;
	char extra[128];
	int r = 0;

	wl_opts_init(&o, "random_touch_heap",
		     "Touch a heap at random with a skewed, drifting hot set; verify every read.",
		     0);
	r = wl_opts_parse(&o, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (wl_ctx_init(&c, &o) < 0)
		return 1;
	start = clock_nsec(CLOCK_MONOTONIC);
	n = (size_t)(o.region_mb << 20) / WL_PAGE_BYTES;
	hot_n = MAX(n * HOT_SET_PCT / 100, (size_t)1);
	wl_rng_init(&rng, o.seed, 0x68656170, 0);
	r = wl_pages_new(&c, n, 0, &p);
	if (r < 0)
		goto out;
	if ((r = wl_pages_fill(&p)) < 0)
		goto out;

	wl_run_begin(&c);
	end = clock_nsec(CLOCK_MONOTONIC) + (uint64_t)(o.duration_sec * 1e9);
	for (uint64_t op = 0;; op++) {
		uint64_t kind = wl_rng_below(&rng, 100);
		size_t pg, k;

		if ((op & 63) == 0) {
			if (clock_nsec(CLOCK_MONOTONIC) >= end)
				break;
			if ((r = wl_ctx_tick(&c)) < 0)
				goto out;
		}
		if (op % HOT_DRIFT_OPS == 0)
			hot_first = (size_t)wl_rng_below(&rng, n);
		if (wl_rng_below(&rng, 100) < HOT_SHARE_PCT)
			pg = (hot_first + (size_t)wl_rng_below(&rng, hot_n)) % n;
		else
			pg = (size_t)wl_rng_below(&rng, n);

		if (kind < 55) {
			k = (size_t)(1 + wl_rng_below(&rng, 4));
			k = MIN(k, n - pg);
			r = wl_pages_verify(&p, pg, k);
			reads++;
		} else if (kind < 80) {
			r = wl_pages_write(&p, pg, 1);
			writes++;
		} else if (kind < 95) {
			size_t len = 16 + 8 * (size_t)wl_rng_below(&rng, 62);
			size_t off = 8 * (size_t)wl_rng_below(&rng, (WL_PAGE_BYTES - len) / 8 + 1);

			r = wl_pages_patch(&p, pg, off, len, op);
			patches++;
		} else {
			r = wl_pages_discard(&p, pg, 1);
			discards++;
		}
		if (r < 0)
			goto out;
	}
	wl_run_end(&c);
	r = wl_finale(&c, all, ELEMENTSOF(all), &rss);
out:
	if (wl_ctx_report(&c) < 0 && r >= 0)
		r = -EIO;
	wl_pages_free(&p);
	wl_ctx_done(&c);
	snprintf(extra, sizeof(extra),
		 "reads=%" PRIu64 " writes=%" PRIu64 " patches=%" PRIu64 " discards=%" PRIu64,
		 reads, writes, patches, discards);
	return wl_summary(&c, start, rss, extra) || r < 0 ? 1 : 0;
}
