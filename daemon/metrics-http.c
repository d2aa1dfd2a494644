// SPDX-License-Identifier: MIT
/* daemon/metrics-http.c: GET /metrics with libmicrohttpd in "external polling"
 * mode: its epoll fd is an sd-event I/O source, its timeout an sd-event timer,
 * MHD_run() is called from the loop; it never starts a thread. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/metrics-http.h"
#include "daemon/metrics.h"

struct metrics_http {
	struct MHD_Daemon *d;
	sd_event *event;
	sd_event_source *io; /* libmicrohttpd's epoll fd */
	sd_event_source *timer; /* MHD_get_timeout() */
	struct metrics *x;
	struct metrics_http_stats stats;
	uint64_t closed; /* connections closed, for http_run() */
	int listen_fd;
};

static const char index_page[] = "memctld: metrics at /metrics\n";
static const char not_found_page[] = "not found: memctld serves /metrics\n";
static const char not_allowed_page[] = "method not allowed: GET or HEAD\n";
static const char failed_page[] = "memctld could not render its metrics, see its log\n";

/* libmicrohttpd's messages ("Server reached connection limit", a client that
 * went away) are for debugging: any client can cause them at will. */
_printf_(2, 0) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	if (log_get_max_level() < LOG_DEBUG)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("libmicrohttpd: %s", buf);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct metrics_http *h = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		h->stats.connections++;
		h->stats.connections_total++;
	} else {
		h->closed++;
		if (h->stats.connections > 0)
			h->stats.connections--;
	}
}

static void blob_free_cb(void *cls)
{
	metrics_blob_unref(cls);
}

static enum MHD_Result answer_static(struct metrics_http *h, struct MHD_Connection *conn,
				     unsigned status, enum metrics_http_code code, const char *body)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	h->stats.requests[code]++;
	return ret;
}

static enum MHD_Result answer_metrics(struct metrics_http *h, struct MHD_Connection *conn)
{
	const char *accept =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	enum metrics_format f = metrics_format_from_accept(accept);
	struct MHD_Response *r;
	struct metrics_blob *b;
	enum MHD_Result ret;
	int e;

	e = metrics_get(h->x, f, &b);
	if (e < 0) {
		log_ratelimit_warning_errno(e, "Cannot render the metrics for a scrape: %m");
		return answer_static(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, METRICS_HTTP_500,
				     failed_page);
	}
	/* no copy: the response holds a reference on the rendering, which a
	 * slow client may keep past the next tick */
	metrics_blob_ref(b);
	r = MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->data, blob_free_cb,
								   b);
	if (!r) {
		metrics_blob_unref(b);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, metrics_format_content_type(f));
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	h->stats.requests[METRICS_HTTP_200]++;
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	static int headers_seen;
	struct metrics_http *h = cls;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		/* at once, whatever body follows: libmicrohttpd closes the
		 * connection after this answer rather than read it */
		return answer_static(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, METRICS_HTTP_405,
				     not_allowed_page);
	if (!*con_cls) {
		*con_cls = &headers_seen; /* answer once the whole request is in */
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a GET with a body: the body means nothing */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") == 0)
		return answer_metrics(h, conn);
	if (strcmp(url, "/") == 0)
		return answer_static(h, conn, MHD_HTTP_OK, METRICS_HTTP_200, index_page);
	return answer_static(h, conn, MHD_HTTP_NOT_FOUND, METRICS_HTTP_404, not_found_page);
}

/* Run what is ready, then sleep until libmicrohttpd's next deadline (a
 * connection's timeout, or at once when it has data already read). */
static void http_run(struct metrics_http *h)
{
	uint64_t closed = h->closed;
	MHD_UNSIGNED_LONG_LONG ms;
	int r;

	MHD_run(h->d);
	/* At MaxConnections= libmicrohttpd takes the listening socket out of its
	 * epoll set and puts it back only at the start of its next run, after a
	 * connection closed: with nothing else pending that run never came, and
	 * the endpoint stayed deaf for good (the hostile HTTP test found it). */
	if (h->closed != closed)
		MHD_run(h->d);
	if (MHD_get_timeout(h->d, &ms) == MHD_YES) {
		r = sd_event_source_set_time(
			h->timer, now_usec(CLOCK_MONOTONIC) +
					  MIN(ms, (MHD_UNSIGNED_LONG_LONG)3600000) * USEC_PER_MSEC);
		if (r >= 0)
			r = sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
		if (r < 0)
			log_warning_errno(r, "Failed to arm the HTTP timer: %m");
	} else {
		(void)sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
	}
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	http_run(userdata);
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	http_run(userdata);
	return 0;
}

int metrics_http_new(sd_event *event, int listen_fd, unsigned max_connections, unsigned timeout_sec,
		     struct metrics *x, struct metrics_http **ret)
{
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct metrics_http *h;
	int r;

#if MHD_VERSION >= 0x00097707
	/* one thread calls it, ever: no locks needed (libmicrohttpd 0.9.77+) */
	flags |= MHD_USE_NO_THREAD_SAFETY;
#endif
	h = calloc(1, sizeof(*h));
	if (!h) {
		close(listen_fd);
		return -ENOMEM;
	}
	h->x = x;
	h->event = sd_event_ref(event);
	h->listen_fd = listen_fd;
	h->stats.connections_max = max_connections;
	if (fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK) < 0) {
		r = negative_errno();
		goto fail;
	}
	/* Every client may be hostile (any local user reaches a loopback port):
	 * connections capped; per connection, the request in 16 KiB (a larger
	 * header gets 431) and TimeoutSec= without progress before it is closed. */
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET,
				(MHD_socket)listen_fd, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned)max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)METRICS_HTTP_CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT,
				timeout_sec, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_END);
	if (!h->d) {
		r = -EINVAL;
		goto fail;
	}
	h->listen_fd = -1; /* MHD_stop_daemon() closes it */
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		r = -EOPNOTSUPP;
		goto fail;
	}
	r = sd_event_add_io(event, &h->io, info->epoll_fd, EPOLLIN, on_io, h);
	if (r >= 0)
		r = sd_event_source_set_priority(h->io, MANAGER_PRIORITY_CLIENTS);
	if (r >= 0)
		r = sd_event_add_time(event, &h->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer,
				      h);
	if (r >= 0)
		r = sd_event_source_set_priority(h->timer, MANAGER_PRIORITY_CLIENTS);
	if (r >= 0)
		r = sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
	if (r < 0)
		goto fail;
	*ret = h;
	return 0;
fail:
	metrics_http_free(h);
	return r;
}

struct metrics_http *metrics_http_free(struct metrics_http *h)
{
	if (!h)
		return NULL;
	h->io = sd_event_source_disable_unref(h->io);
	h->timer = sd_event_source_disable_unref(h->timer);
	if (h->d)
		MHD_stop_daemon(h->d); /* closes its connections, not the socket we gave */
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	sd_event_unref(h->event);
	free(h);
	return NULL;
}

const struct metrics_http_stats *metrics_http_get_stats(const struct metrics_http *h)
{
	return h ? &h->stats : NULL;
}
