// SPDX-License-Identifier: MIT
/* daemon/metrics-text.c: the Prometheus text format (0.0.4) and OpenMetrics 1.0.0
 * writer: HELP/TYPE lines, escaped label values, exact integers, histograms. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/macro.h"
#include "daemon/cli-text.h"
#include "daemon/metrics-text.h"

const char *metrics_format_content_type(enum metrics_format f)
{
	return f == METRICS_FORMAT_OPENMETRICS ?
		       "application/openmetrics-text; version=1.0.0; charset=utf-8" :
		       "text/plain; version=0.0.4; charset=utf-8";
}

/* One media range of an Accept header, s[0..len): its type and q-value
 * (1000 = 1.0), and its version parameter if any. */
static void media_range(const char *s, size_t len, char *type, size_t type_size, unsigned *ret_q,
			char *version, size_t version_size)
{
	size_t i = 0, n = 0;

	*ret_q = 1000;
	version[0] = '\0';
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (i < len && s[i] != ';' && s[i] != ' ' && s[i] != '\t' && n + 1 < type_size)
		type[n++] = s[i++];
	type[n] = '\0';
	while (i < len) {
		const char *p;
		size_t plen;

		while (i < len && s[i] != ';')
			i++;
		if (i >= len)
			break;
		i++;
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		p = s + i;
		while (i < len && s[i] != ';')
			i++;
		plen = (size_t)(s + i - p);
		while (plen && (p[plen - 1] == ' ' || p[plen - 1] == '\t'))
			plen--;
		if (plen >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			/* "q=0", "q=0.5", "q=1", "q=1.000": at most three decimals (RFC 9110) */
			unsigned q = 0, scale = 1000;
			size_t k = 2;

			if (k < plen && p[k] >= '0' && p[k] <= '1')
				q = (unsigned)(p[k++] - '0') * 1000;
			if (k < plen && p[k] == '.')
				for (k++; k < plen && p[k] >= '0' && p[k] <= '9' && scale > 1;
				     k++) {
					scale /= 10;
					q += (unsigned)(p[k] - '0') * scale;
				}
			*ret_q = MIN(q, 1000U);
		} else if (plen > 8 && strncasecmp(p, "version=", 8) == 0) {
			snprintf(version, version_size, "%.*s",
				 (int)MIN(plen - 8, version_size - 1), p + 8);
		}
	}
}

enum metrics_format metrics_format_from_accept(const char *accept)
{
	unsigned q_om = 0, q_text = 0;

	if (!accept)
		return METRICS_FORMAT_TEXT;
	for (const char *s = accept; *s;) {
		const char *end = strchr(s, ',') ?: s + strlen(s);
		char type[64], version[16];
		unsigned q;

		media_range(s, (size_t)(end - s), type, sizeof(type), &q, version, sizeof(version));
		if (strcasecmp(type, "application/openmetrics-text") == 0 &&
		    (!version[0] || strcmp(version, "1.0.0") == 0))
			q_om = MAX(q_om, q);
		else if (strcasecmp(type, "text/plain") == 0)
			q_text = MAX(q_text, q);
		s = *end ? end + 1 : end;
	}
	return q_om > 0 && q_om >= q_text ? METRICS_FORMAT_OPENMETRICS : METRICS_FORMAT_TEXT;
}

void metrics_text_init(struct metrics_text *t, enum metrics_format format, size_t max_bytes)
{
	*t = (struct metrics_text){ .format = format, .max_bytes = max_bytes };
}

void metrics_text_done(struct metrics_text *t)
{
	free(t->buf);
	*t = (struct metrics_text){};
}

static bool reserve(struct metrics_text *t, size_t more)
{
	size_t want, cap;
	char *nb;

	if (t->error)
		return false;
	if (more > t->max_bytes || t->len + more + 1 > t->max_bytes) {
		t->error = -E2BIG;
		return false;
	}
	want = t->len + more + 1;
	if (want <= t->cap)
		return true;
	cap = MAX(t->cap ? t->cap : 16384, want);
	while (cap < want)
		cap *= 2;
	cap = MIN(cap, t->max_bytes);
	nb = realloc(t->buf, cap);
	if (!nb) {
		t->error = -ENOMEM;
		return false;
	}
	t->buf = nb;
	t->cap = cap;
	return true;
}

static void put(struct metrics_text *t, const char *s, size_t n)
{
	if (!reserve(t, n))
		return;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void puts_(struct metrics_text *t, const char *s)
{
	put(t, s, strlen(s));
}

_printf_(2, 3) static void putf(struct metrics_text *t, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (!t->error)
			t->error = -EINVAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		put(t, small, (size_t)n);
		return;
	}
	if (!reserve(t, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

size_t metrics_escape_label(const char *s, char *buf, size_t size)
{
	static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	if (size == 0)
		return 0;
	while (*p) {
		char esc[4];
		const char *out = esc;
		size_t len, in = 1;
		unsigned cp;

		if (*p == '\\' || *p == '"' || *p == '\n') {
			esc[0] = '\\';
			esc[1] = *p == '\n' ? 'n' : (char)*p;
			len = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			out = replacement;
			len = 3;
		} else if (*p < 0x80) {
			esc[0] = (char)*p;
			len = 1;
		} else if ((in = cli_utf8_char(p, &cp)) > 0) {
			out = (const char *)p;
			len = in;
		} else {
			out = replacement;
			len = 3;
			in = 1;
		}
		if (n + len + 1 > size)
			break; /* cut before the character, never inside it */
		memcpy(buf + n, out, len);
		n += len;
		p += in;
	}
	buf[n] = '\0';
	return n;
}

/* The family name the OpenMetrics TYPE line uses: a counter's without _total,
 * an info's without _info. */
static size_t om_family_len(const char *name, enum metrics_type type)
{
	size_t n = strlen(name);
	const char *suffix = type == METRICS_COUNTER ? "_total" :
			     type == METRICS_INFO    ? "_info" :
						       NULL;

	if (suffix && n > strlen(suffix) && strcmp(name + n - strlen(suffix), suffix) == 0)
		n -= strlen(suffix);
	return n;
}

void metrics_text_family(struct metrics_text *t, const char *name, enum metrics_type type,
			 const char *help)
{
	static const char *const types[] = {
		[METRICS_GAUGE] = "gauge",
		[METRICS_COUNTER] = "counter",
		[METRICS_HISTOGRAM] = "histogram",
		[METRICS_INFO] = "info",
	};
	bool om = t->format == METRICS_FORMAT_OPENMETRICS;
	size_t n = om ? om_family_len(name, type) : strlen(name);
	const char *type_name = types[type];

	if (!om && type == METRICS_INFO)
		type_name = "gauge"; /* the text format has no info type */
	t->family = name;
	t->type = type;
	t->families++;
	putf(t, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type_name);
}

/* name{a="x",b="y"} (with extra as one more label, e.g. le), no value yet. */
static void series(struct metrics_text *t, const char *suffix, const struct metrics_label *labels,
		   size_t n_labels, const char *extra_name, const char *extra_value)
{
	/* a cgroup path may be PATH_MAX long, each byte escaped to at most 3: cutting
	 * two long values to one prefix would make duplicate series */
	static char esc[3 * 4096 + 1];

	puts_(t, t->family);
	if (suffix)
		puts_(t, suffix);
	if (n_labels == 0 && !extra_name)
		return;
	put(t, "{", 1);
	for (size_t i = 0; i < n_labels; i++) {
		metrics_escape_label(labels[i].value ?: "", esc, sizeof(esc));
		putf(t, "%s%s=\"", i ? "," : "", labels[i].name);
		puts_(t, esc);
		put(t, "\"", 1);
	}
	if (extra_name)
		putf(t, "%s%s=\"%s\"", n_labels ? "," : "", extra_name, extra_value);
	put(t, "}", 1);
	t->samples++;
}

void metrics_text_u64(struct metrics_text *t, const struct metrics_label *labels, size_t n_labels,
		      uint64_t value)
{
	series(t, NULL, labels, n_labels, NULL, NULL);
	putf(t, " %" PRIu64 "\n", value);
}

void metrics_text_i64(struct metrics_text *t, const struct metrics_label *labels, size_t n_labels,
		      int64_t value)
{
	series(t, NULL, labels, n_labels, NULL, NULL);
	putf(t, " %" PRId64 "\n", value);
}

static void format_double(double v, char *buf, size_t size)
{
	if (isnan(v))
		snprintf(buf, size, "NaN");
	else if (isinf(v))
		snprintf(buf, size, "%sInf", v > 0 ? "+" : "-");
	else
		snprintf(buf, size, "%.9g", v);
}

void metrics_text_double(struct metrics_text *t, const struct metrics_label *labels,
			 size_t n_labels, double value)
{
	char v[32];

	format_double(value, v, sizeof(v));
	series(t, NULL, labels, n_labels, NULL, NULL);
	putf(t, " %s\n", v);
}

void metrics_text_histogram(struct metrics_text *t, const struct metrics_label *labels,
			    size_t n_labels, const double *bounds, const uint64_t *counts,
			    size_t n_bounds, double sum)
{
	uint64_t cumulative = 0;
	char le[32], v[32];

	if (t->type != METRICS_HISTOGRAM) {
		if (!t->error)
			t->error = -EINVAL;
		return;
	}
	for (size_t i = 0; i <= n_bounds; i++) {
		cumulative += counts[i];
		if (i < n_bounds)
			format_double(bounds[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		series(t, "_bucket", labels, n_labels, "le", le);
		putf(t, " %" PRIu64 "\n", cumulative);
	}
	format_double(sum, v, sizeof(v));
	series(t, "_sum", labels, n_labels, NULL, NULL);
	putf(t, " %s\n", v);
	series(t, "_count", labels, n_labels, NULL, NULL);
	putf(t, " %" PRIu64 "\n", cumulative);
}

int metrics_text_finish(struct metrics_text *t)
{
	if (t->format == METRICS_FORMAT_OPENMETRICS)
		puts_(t, "# EOF\n");
	else if (!t->error && !t->buf)
		put(t, "", 0); /* an empty exposition is still a string */
	return t->error;
}
