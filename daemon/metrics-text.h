/* SPDX-License-Identifier: MIT */
/* daemon/metrics-text.h: write Prometheus's text exposition format (0.0.4) or
 * OpenMetrics 1.0.0 into a growing buffer: families with HELP and TYPE, samples
 * with escaped labels, histograms. No I/O, no daemon state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum metrics_format {
	METRICS_FORMAT_TEXT = 0, /* text/plain; version=0.0.4 */
	METRICS_FORMAT_OPENMETRICS = 1, /* application/openmetrics-text; version=1.0.0 */
	_METRICS_FORMAT_MAX,
};

enum metrics_type {
	METRICS_GAUGE,
	METRICS_COUNTER, /* name ends in _total */
	METRICS_HISTOGRAM,
	METRICS_INFO, /* name ends in _info; value 1; a gauge in the text format */
};

/* The Content-Type header of each format. */
const char *metrics_format_content_type(enum metrics_format f);

/*
 * The format an HTTP Accept header asks for: OpenMetrics when it lists
 * application/openmetrics-text (version 1.0.0 or none) with a q-value above 0
 * and at least that of text/plain; the text format otherwise, a missing or
 * malformed header included. Prometheus since 2.5 sends
 * "application/openmetrics-text;version=1.0.0,...;q=0.75,text/plain;version=0.0.4;q=0.5,*\/\*;q=0.1".
 */
enum metrics_format metrics_format_from_accept(const char *accept);

struct metrics_label {
	const char *name; /* [a-zA-Z_][a-zA-Z0-9_]*, a constant */
	const char *value; /* any bytes: escaped, invalid UTF-8 replaced */
};

struct metrics_text {
	char *buf; /* NUL-terminated while error == 0 */
	size_t len, cap;
	size_t max_bytes; /* the text never grows beyond this: -E2BIG */
	int error; /* the first failure: -ENOMEM, -E2BIG, -EINVAL (a caller's bug) */
	enum metrics_format format;
	const char *family; /* the family being written, as given to _family() */
	enum metrics_type type;
	unsigned families, samples;
};

void metrics_text_init(struct metrics_text *t, enum metrics_format format, size_t max_bytes);
void metrics_text_done(struct metrics_text *t);

/*
 * Start a family: name as the text format spells it (a counter's ends in
 * "_total", an info's in "_info"; the OpenMetrics TYPE line drops them), help
 * a constant without newlines. Every sample until the next family belongs to
 * it: both formats want a family's samples together.
 */
void metrics_text_family(struct metrics_text *t, const char *name, enum metrics_type type,
			 const char *help);
/* One sample of the current family (not a histogram): integers exactly. */
void metrics_text_u64(struct metrics_text *t, const struct metrics_label *labels, size_t n_labels,
		      uint64_t value);
void metrics_text_i64(struct metrics_text *t, const struct metrics_label *labels, size_t n_labels,
		      int64_t value);
/* Doubles with 9 significant digits; +Inf, -Inf and NaN as the formats spell them. */
void metrics_text_double(struct metrics_text *t, const struct metrics_label *labels,
			 size_t n_labels, double value);
/*
 * One histogram of the current family: n_bounds upper bounds (ascending, in
 * the family's unit), counts[i] observations in (bounds[i-1], bounds[i]] and
 * counts[n_bounds] above the last; written cumulative with le="+Inf", _sum and
 * _count.
 */
void metrics_text_histogram(struct metrics_text *t, const struct metrics_label *labels,
			    size_t n_labels, const double *bounds, const uint64_t *counts,
			    size_t n_bounds, double sum);
/* End the exposition ("# EOF" in OpenMetrics). Returns 0 or the first error. */
int metrics_text_finish(struct metrics_text *t);

/*
 * Escape a label value into buf (size bytes, NUL-terminated, cut at a
 * character boundary): backslash, double quote and newline as \\ \" \n, other
 * C0 controls and DEL and every byte that is not valid UTF-8 as U+FFFD: a
 * scrape with an invalid label value fails whole in Prometheus, and a process
 * chooses its own name. Returns the length written.
 */
size_t metrics_escape_label(const char *s, char *buf, size_t size);
