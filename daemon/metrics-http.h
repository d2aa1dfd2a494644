/* SPDX-License-Identifier: MIT */
/* daemon/metrics-http.h: GET /metrics over HTTP with libmicrohttpd, driven from
 * memctld's sd-event loop (its epoll fd and timeout handed to sd-event; no
 * thread of its own), every per-connection resource capped. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

struct metrics;
struct metrics_http;

enum metrics_http_code {
	METRICS_HTTP_200,
	METRICS_HTTP_404,
	METRICS_HTTP_405,
	METRICS_HTTP_500,
	_METRICS_HTTP_CODE_MAX,
};

struct metrics_http_stats {
	uint64_t requests[_METRICS_HTTP_CODE_MAX]; /* answered, by status */
	uint64_t connections_total; /* accepted */
	unsigned connections; /* open now */
	unsigned connections_max; /* MaxConnections= */
};

/*
 * Serve on listen_fd (a listening TCP socket: ownership taken, closed by
 * _free()) with at most max_connections at once. Each connection may use
 * METRICS_HTTP_CONN_MEMORY bytes for its request (a larger header is refused
 * with 431 by libmicrohttpd) and is closed after timeout_sec without
 * progress. Returns 0 or -errno.
 */
int metrics_http_new(sd_event *event, int listen_fd, unsigned max_connections, unsigned timeout_sec,
		     struct metrics *x, struct metrics_http **ret);
struct metrics_http *metrics_http_free(struct metrics_http *h);
const struct metrics_http_stats *metrics_http_get_stats(const struct metrics_http *h);

#define METRICS_HTTP_CONN_MEMORY (16U << 10)
