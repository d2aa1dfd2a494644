/* SPDX-License-Identifier: MIT */
/* daemon/metrics.h: memctld's figures as Prometheus metrics. One rendering per
 * tick and format, shared by the HTTP endpoint ([Metrics] Listen= or a socket
 * from systemd), `memctl metrics` (CTL_METRICS) and the textfile (Textfile=). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "daemon/metrics-text.h"

struct manager;
struct metrics;
struct metrics_http;

/* One rendering, reference counted: an HTTP response in flight keeps the one it
 * sends while a newer one replaces it. */
struct metrics_blob {
	unsigned refs;
	uint64_t serial; /* > 0, never reused */
	enum metrics_format format;
	size_t len;
	char data[]; /* len bytes and a NUL */
};

struct metrics_blob *metrics_blob_ref(struct metrics_blob *b);
void metrics_blob_unref(struct metrics_blob *b);

/* The largest exposition memctld writes: far above the ~3 MiB of 1,000
 * cgroups and 64 workloads, small enough that a pathological table cannot
 * make a scrape take the daemon's memory. Beyond it a scrape answers 500. */
#define METRICS_MAX_BYTES (64U << 20)

/*
 * Set up from m->config: the HTTP endpoint on http_fd (a listening socket from
 * systemd; -1 = create one from Listen=, or none when it is empty) and the
 * textfile. A failure of either is logged and reported as a METRICS_FAILED
 * event, never fatal: metrics are not memctld's job. Returns 0 or -ENOMEM.
 */
int metrics_new(struct manager *m, int http_fd, struct metrics **ret);
struct metrics *metrics_free(struct metrics *x);

/* Each tick: the renderings so far are stale; the textfile is written. */
void metrics_tick(struct metrics *x);
/* After a reload: Textfile=, TopGrowing= and MaxCgroups= take effect;
 * Listen=, MaxConnections= and TimeoutSec= need a restart (said once). */
void metrics_reload(struct metrics *x);

/* The rendering in format f as of the last tick (rendered now if none yet).
 * Borrowed: valid until the next tick or reload (take a ref to keep it).
 * Returns 0, -ENOMEM, -E2BIG (larger than METRICS_MAX_BYTES). */
int metrics_get(struct metrics *x, enum metrics_format f, struct metrics_blob **ret);
/* The rendering named serial if it is still the current one in f, else NULL. */
struct metrics_blob *metrics_get_serial(struct metrics *x, enum metrics_format f, uint64_t serial);

/* Render m's state now into t (metrics_text_init()ed by the caller); for the
 * cache above, the benchmarks and the tests. Returns metrics_text_finish(). */
int metrics_render(struct manager *m, struct metrics *x, struct metrics_text *t);
