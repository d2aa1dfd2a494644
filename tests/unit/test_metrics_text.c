// SPDX-License-Identifier: MIT
/* tests/unit/test_metrics_text.c: the exposition writer (HELP/TYPE, the two
 * formats' names, escaping hostile label values, histograms, the size cap),
 * Accept negotiation, and [Metrics] Listen=/Textfile= parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/macro.h"
#include "daemon/config.h"
#include "daemon/metrics-text.h"

static void test_metrics_escape_label_hostile(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "new\nline", "new\\nline" },
		/* C0 controls, DEL and invalid UTF-8 become U+FFFD */
		{ "tab\there", "tab\xef\xbf\xbdhere" },
		{ "esc\x1b[2J", "esc\xef\xbf\xbd[2J" },
		{ "del\x7f", "del\xef\xbf\xbd" },
		{ "bad\xff\xfe", "bad\xef\xbf\xbd\xef\xbf\xbd" },
		{ "overlong\xc0\xaf", "overlong\xef\xbf\xbd\xef\xbf\xbd" },
		{ "cut\xe2\x82", "cut\xef\xbf\xbd\xef\xbf\xbd" },
		/* valid UTF-8 is kept */
		{ "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac" },
		/* systemd's escapes in cgroup paths stay literal, backslash escaped */
		{ "/system.slice/a\\x2db.service", "/system.slice/a\\\\x2db.service" },
	};
	char buf[256];

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		size_t n = metrics_escape_label(cases[i].in, buf, sizeof(buf));

		assert_string_equal(buf, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
	}
}

static void test_metrics_escape_label_cut_at_character(void **state)
{
	char buf[6];

	/* "ab" + U+FFFD would need 6 bytes with the NUL: 5 fit "ab" and no half */
	metrics_escape_label("ab\xff", buf, 5);
	assert_string_equal(buf, "ab");
	metrics_escape_label("a\"\"", buf, 4);
	assert_string_equal(buf, "a\\\"");
	metrics_escape_label("x", buf, 1);
	assert_string_equal(buf, "");
}

static void test_metrics_format_from_accept_cases(void **state)
{
	static const struct {
		const char *accept;
		enum metrics_format want;
	} cases[] = {
		{ NULL, METRICS_FORMAT_TEXT },
		{ "", METRICS_FORMAT_TEXT },
		{ "*/*", METRICS_FORMAT_TEXT },
		{ "text/plain", METRICS_FORMAT_TEXT },
		/* what Prometheus 2.42 sends */
		{ "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
		  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
		  METRICS_FORMAT_OPENMETRICS },
		{ "application/openmetrics-text", METRICS_FORMAT_OPENMETRICS },
		{ "Application/OpenMetrics-Text; Version=1.0.0", METRICS_FORMAT_OPENMETRICS },
		/* only 1.0.0 (or no version) is written */
		{ "application/openmetrics-text;version=0.0.1", METRICS_FORMAT_TEXT },
		{ "application/openmetrics-text;q=0", METRICS_FORMAT_TEXT },
		{ "application/openmetrics-text;q=0.4, text/plain;q=0.5", METRICS_FORMAT_TEXT },
		{ "text/plain;q=0.5, application/openmetrics-text;q=0.9",
		  METRICS_FORMAT_OPENMETRICS },
		/* garbage never crashes and means text */
		{ ";;;,,,;q=", METRICS_FORMAT_TEXT },
		{ "application/openmetrics-text;q=abc", METRICS_FORMAT_TEXT },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		assert_int_equal(metrics_format_from_accept(cases[i].accept), cases[i].want);
	assert_string_equal(metrics_format_content_type(METRICS_FORMAT_TEXT),
			    "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(metrics_format_content_type(METRICS_FORMAT_OPENMETRICS),
			       "application/openmetrics-text; version=1.0.0"));
}

static char *render_sample(enum metrics_format f)
{
	struct metrics_text t;
	struct metrics_label l[] = { { "cgroup", "/a\"b\n" }, { "pid", "42" } };
	static const double bounds[] = { 0.001, 0.01 };
	static const uint64_t counts[] = { 2, 3, 1 };
	char *s;

	metrics_text_init(&t, f, 1 << 20);
	metrics_text_family(&t, "x_build_info", METRICS_INFO, "Build.");
	metrics_text_u64(&t, l + 1, 1, 1);
	metrics_text_family(&t, "x_events_total", METRICS_COUNTER, "Events.");
	metrics_text_u64(&t, NULL, 0, UINT64_MAX);
	metrics_text_family(&t, "x_rate_bytes_per_second", METRICS_GAUGE, "Rate.");
	metrics_text_i64(&t, l, 2, -5);
	metrics_text_double(&t, NULL, 0, INFINITY);
	metrics_text_double(&t, l + 1, 1, 0.5);
	metrics_text_family(&t, "x_latency_seconds", METRICS_HISTOGRAM, "Latency.");
	metrics_text_histogram(&t, l + 1, 1, bounds, counts, 2, 0.25);
	assert_int_equal(metrics_text_finish(&t), 0);
	s = strdup(t.buf);
	metrics_text_done(&t);
	return s;
}

static void test_metrics_text_format_text(void **state)
{
	char *s = render_sample(METRICS_FORMAT_TEXT);

	assert_string_equal(s, "# HELP x_build_info Build.\n"
			       "# TYPE x_build_info gauge\n"
			       "x_build_info{pid=\"42\"} 1\n"
			       "# HELP x_events_total Events.\n"
			       "# TYPE x_events_total counter\n"
			       "x_events_total 18446744073709551615\n"
			       "# HELP x_rate_bytes_per_second Rate.\n"
			       "# TYPE x_rate_bytes_per_second gauge\n"
			       "x_rate_bytes_per_second{cgroup=\"/a\\\"b\\n\",pid=\"42\"} -5\n"
			       "x_rate_bytes_per_second +Inf\n"
			       "x_rate_bytes_per_second{pid=\"42\"} 0.5\n"
			       "# HELP x_latency_seconds Latency.\n"
			       "# TYPE x_latency_seconds histogram\n"
			       "x_latency_seconds_bucket{pid=\"42\",le=\"0.001\"} 2\n"
			       "x_latency_seconds_bucket{pid=\"42\",le=\"0.01\"} 5\n"
			       "x_latency_seconds_bucket{pid=\"42\",le=\"+Inf\"} 6\n"
			       "x_latency_seconds_sum{pid=\"42\"} 0.25\n"
			       "x_latency_seconds_count{pid=\"42\"} 6\n");
	free(s);
}

static void test_metrics_text_format_openmetrics(void **state)
{
	char *s = render_sample(METRICS_FORMAT_OPENMETRICS);

	/* families without _total/_info, info typed, samples as in text, # EOF */
	assert_non_null(strstr(s, "# TYPE x_build info\nx_build_info{pid=\"42\"} 1\n"));
	assert_non_null(strstr(s, "# HELP x_events Events.\n# TYPE x_events counter\n"
				  "x_events_total 18446744073709551615\n"));
	assert_non_null(strstr(s, "# TYPE x_latency_seconds histogram\n"));
	assert_null(strstr(s, "x_events_total counter"));
	assert_true(strlen(s) > 6 && strcmp(s + strlen(s) - 6, "# EOF\n") == 0);
	free(s);
}

static void test_metrics_text_size_cap(void **state)
{
	struct metrics_text t;

	metrics_text_init(&t, METRICS_FORMAT_TEXT, 4096);
	metrics_text_family(&t, "x_things", METRICS_GAUGE, "Things.");
	for (int i = 0; i < 1000; i++) {
		char v[16];
		struct metrics_label l[] = { { "i", v } };

		snprintf(v, sizeof(v), "%d", i);
		metrics_text_u64(&t, l, 1, (uint64_t)i);
	}
	assert_int_equal(metrics_text_finish(&t), -E2BIG);
	assert_true(t.cap <= 4096);
	metrics_text_done(&t);

	/* a histogram sample outside a histogram family is a caller's bug */
	metrics_text_init(&t, METRICS_FORMAT_TEXT, 4096);
	metrics_text_family(&t, "x_g", METRICS_GAUGE, "G.");
	metrics_text_histogram(&t, NULL, 0, (const double[]){ 1 }, (const uint64_t[]){ 1, 1 }, 1,
			       1);
	assert_int_equal(metrics_text_finish(&t), -EINVAL);
	metrics_text_done(&t);
}

static void test_config_parse_listen_cases(void **state)
{
	static const struct {
		const char *s;
		int family;
		uint16_t port;
	} good[] = {
		{ "127.0.0.1:10640", AF_INET, 10640 },
		{ "0.0.0.0:1", AF_INET, 1 },
		{ "[::1]:10640", AF_INET6, 10640 },
		{ "[::]:65535", AF_INET6, 65535 },
	};
	static const char *const bad[] = {
		"",
		"127.0.0.1",
		":10640",
		"127.0.0.1:",
		"127.0.0.1:0",
		"127.0.0.1:65536",
		"localhost:10640",
		"::1:10640",
		"[::1]10640",
		"[::1:10640",
		"1.2.3.4:+80",
		"1.2.3.4:80x",
		"1.2.3.4: 80",
		"[]:80",
		"300.1.1.1:80",
	};
	struct sockaddr_storage ss;
	unsigned len;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		assert_int_equal(config_parse_listen(good[i].s, &ss, &len), 0);
		assert_int_equal(ss.ss_family, good[i].family);
		assert_int_equal(ntohs(good[i].family == AF_INET ?
					       ((struct sockaddr_in *)&ss)->sin_port :
					       ((struct sockaddr_in6 *)&ss)->sin6_port),
				 good[i].port);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(config_parse_listen(bad[i], &ss, &len), -EINVAL);
}

static int load_text(const char *text, struct memctld_config *c, struct config_error *err)
{
	char path[] = "/tmp/test-metrics-conf-XXXXXX";
	int fd = mkstemp(path), r;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	config_init_defaults(c);
	r = config_load(path, c, err, NULL, NULL, NULL);
	unlink(path);
	return r;
}

static void test_config_metrics_section(void **state)
{
	struct memctld_config c;
	struct config_error err;

	config_init_defaults(&c);
	assert_string_equal(c.metrics_listen, ""); /* off by default */
	assert_string_equal(c.metrics_textfile, "");
	assert_int_equal(load_text("[Metrics]\nListen=127.0.0.1:10640\n"
				   "Textfile=/var/lib/node-exporter/memctld.prom\nTopGrowing=0\n"
				   "MaxCgroups=5\nMaxConnections=2\n",
				   &c, &err),
			 0);
	assert_string_equal(c.metrics_listen, "127.0.0.1:10640");
	assert_string_equal(c.metrics_textfile, "/var/lib/node-exporter/memctld.prom");
	assert_int_equal(c.metrics_top_growing, 0);
	assert_int_equal(c.metrics_max_cgroups, 5);
	assert_int_equal(c.metrics_max_connections, 2);

	static const char *const bad[] = {
		"[Metrics]\nListen=localhost:10640\n",	"[Metrics]\nTextfile=relative.prom\n",
		"[Metrics]\nTextfile=/var/lib/x.txt\n", "[Metrics]\nTextfile=/.prom\n",
		"[Metrics]\nTextfile=/a/.prom\n",	"[Metrics]\nMaxConnections=0\n",
		"[Metrics]\nTopGrowing=1001\n",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		assert_int_equal(load_text(bad[i], &c, &err), -EINVAL);
		assert_string_equal(err.section, "Metrics");
		assert_true(err.message[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_escape_label_hostile),
		cmocka_unit_test(test_metrics_escape_label_cut_at_character),
		cmocka_unit_test(test_metrics_format_from_accept_cases),
		cmocka_unit_test(test_metrics_text_format_text),
		cmocka_unit_test(test_metrics_text_format_openmetrics),
		cmocka_unit_test(test_metrics_text_size_cap),
		cmocka_unit_test(test_config_parse_listen_cases),
		cmocka_unit_test(test_config_metrics_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
