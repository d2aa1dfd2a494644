// SPDX-License-Identifier: MIT
/* tests/workloads/mmap_churn.c: mappings come and go: buffers of random sizes are mapped
 * (arena regions in arena mode), partly filled, read, partly discarded and unmapped, with
 * the live total kept under --region-mb; every buffer is verified before it goes. */

#include "tests/workloads/workload.h"

#define MAX_LIVE 64
#define MIN_BUF_PAGES 16 /* 64 KiB */

struct churn {
	struct wl_ctx *c;
	struct wl_rng rng;
	struct wl_pages *live[MAX_LIVE];
	size_t n_live, live_pages, budget_pages;
	uint64_t next_id;
	uint64_t maps, unmaps, discards;
};

static int churn_map(struct churn *ch)
{
	size_t room = ch->budget_pages - ch->live_pages;
	size_t max = MAX(MIN(ch->budget_pages / 4, room), (size_t)MIN_BUF_PAGES);
	size_t n = MIN_BUF_PAGES + (size_t)wl_rng_below(&ch->rng, max - MIN_BUF_PAGES + 1);
	struct wl_pages *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return wl_error(ch->c, -ENOMEM, "malloc");
	r = wl_pages_new(ch->c, n, ch->next_id, p);
	if (r < 0) {
		free(p);
		return r;
	}
	ch->next_id += n;
	/* sparse, as fresh mappings are: a quarter of the runs stay untouched */
	for (size_t i = 0; i < n; i += 16)
		if (wl_rng_below(&ch->rng, 4) != 0 &&
		    (r = wl_pages_write(p, i, MIN((size_t)16, n - i))) < 0)
			goto fail;
	ch->live[ch->n_live++] = p;
	ch->live_pages += n;
	ch->maps++;
	return 0;
fail:
	wl_pages_free(p);
	free(p);
	return r;
}

static int churn_unmap(struct churn *ch, size_t i)
{
	struct wl_pages *p = ch->live[i];
	int r;

	r = wl_pages_verify_all(p);
	ch->live_pages -= p->n_pages;
	ch->live[i] = ch->live[--ch->n_live];
	wl_pages_free(p);
	free(p);
	ch->unmaps++;
	return r;
}

int main(int argc, char **argv)
{
	struct wl_opts o;
	struct wl_ctx c;
	struct churn ch = {};
	uint64_t start, end, rss = 0;
	char extra[128];
	int r = 0;

	wl_opts_init(&o, "mmap_churn",
		     "Map, fill, read, discard and unmap buffers of random sizes under a total "
		     "budget; verify every buffer before it is unmapped.",
		     0);
	r = wl_opts_parse(&o, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (wl_ctx_init(&c, &o) < 0)
		return 1;
	start = clock_nsec(CLOCK_MONOTONIC);
	ch.c = &c;
	ch.budget_pages = MAX((size_t)(o.region_mb << 20) / WL_PAGE_BYTES, (size_t)MIN_BUF_PAGES);
	wl_rng_init(&ch.rng, o.seed, 0x6d6d6170, 0);

	wl_run_begin(&c);
	end = clock_nsec(CLOCK_MONOTONIC) + (uint64_t)(o.duration_sec * 1e9);
	while (clock_nsec(CLOCK_MONOTONIC) < end) {
		uint64_t kind = wl_rng_below(&ch.rng, 100);
		bool room = ch.live_pages + MIN_BUF_PAGES <= ch.budget_pages &&
			    ch.n_live < MAX_LIVE;

		if (ch.n_live == 0 || (room && kind < 30)) {
			r = churn_map(&ch);
		} else if (kind < 50 || !room) {
			r = churn_unmap(&ch, (size_t)wl_rng_below(&ch.rng, ch.n_live));
		} else {
			struct wl_pages *p = ch.live[wl_rng_below(&ch.rng, ch.n_live)];
			size_t k = (size_t)(1 + wl_rng_below(&ch.rng, 32)), first;

			k = MIN(k, p->n_pages);
			first = (size_t)wl_rng_below(&ch.rng, p->n_pages - k + 1);

			if (kind < 80) {
				r = wl_pages_verify(p, first, k);
			} else if (kind < 90) {
				r = wl_pages_write(p, first, k);
			} else {
				r = wl_pages_discard(p, first, k);
				ch.discards++;
			}
		}
		if (r < 0)
			goto out;
		if ((r = wl_ctx_tick(&c)) < 0)
			goto out;
	}
	wl_run_end(&c);
	r = wl_finale(&c, ch.live, ch.n_live, &rss);
out:
	if (wl_ctx_report(&c) < 0 && r >= 0)
		r = -EIO;
	while (ch.n_live > 0) {
		struct wl_pages *p = ch.live[--ch.n_live];

		wl_pages_free(p);
		free(p);
	}
	wl_ctx_done(&c);
	snprintf(extra, sizeof(extra), "maps=%" PRIu64 " unmaps=%" PRIu64 " discards=%" PRIu64,
		 ch.maps, ch.unmaps, ch.discards);
	return wl_summary(&c, start, rss, extra) || r < 0 ? 1 : 0;
}
