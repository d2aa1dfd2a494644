// SPDX-License-Identifier: MIT
/* tests/workloads/anon_streamer.c: a ring buffer of anonymous memory streamed through
 * sequentially: a writer fills page after page, a reader half a ring behind verifies
 * what was written (by then cold, so in arena mode often compressed). */

#include "tests/workloads/workload.h"

#define RUN_PAGES 4 /* pages per write or read step */
#define HINT_AHEAD_PAGES 64 /* the reader announces what it reads next */

int main(int argc, char **argv)
{
	struct wl_opts o;
	struct wl_ctx c;
	struct wl_pages p = {};
	struct wl_pages *all[] = { &p };
	uint64_t start, end, wpos = 0, rpos = 0, rss = 0, laps;
	size_t n, lag;
	char extra[64];
	int r;

	wl_opts_init(&o, "anon_streamer",
		     "Stream through a ring of anonymous memory: write sequentially, read back and "
		     "verify half a ring behind.",
		     0);
	r = wl_opts_parse(&o, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (wl_ctx_init(&c, &o) < 0)
		return 1;
	start = clock_nsec(CLOCK_MONOTONIC);
	n = (size_t)(o.region_mb << 20) / WL_PAGE_BYTES;
	lag = n / 2;
	r = wl_pages_new(&c, n, 0, &p);
	if (r < 0)
		goto out;

	wl_run_begin(&c);
	end = clock_nsec(CLOCK_MONOTONIC) + (uint64_t)(o.duration_sec * 1e9);
	while (clock_nsec(CLOCK_MONOTONIC) < end) {
		size_t w = (size_t)(wpos % n), k = MIN((size_t)RUN_PAGES, n - w);

		r = wl_pages_write(&p, w, k);
		if (r < 0)
			goto out;
		wpos += k;
		/* the reader trails by lag pages and never passes the writer */
		while (rpos + lag <= wpos) {
			size_t rd = (size_t)(rpos % n), m = MIN((size_t)RUN_PAGES, n - rd);

			wl_buf_will_need(&p.buf, (rd + m) * WL_PAGE_BYTES,
					 HINT_AHEAD_PAGES * WL_PAGE_BYTES);
			r = wl_pages_verify(&p, rd, m);
			if (r < 0)
				goto out;
			rpos += m;
		}
		r = wl_ctx_tick(&c);
		if (r < 0)
			goto out;
	}
	wl_run_end(&c);
	r = wl_finale(&c, all, ELEMENTSOF(all), &rss);
out:
	if (wl_ctx_report(&c) < 0 && r >= 0)
		r = -EIO;
	laps = n ? wpos / n : 0;
	wl_pages_free(&p);
	wl_ctx_done(&c);
	snprintf(extra, sizeof(extra), "laps=%" PRIu64, laps);
	return wl_summary(&c, start, rss, extra) || r < 0 ? 1 : 0;
}
