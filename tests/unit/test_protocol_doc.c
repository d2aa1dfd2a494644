// SPDX-License-Identifier: MIT
/* tests/unit/test_protocol_doc.c: docs/protocol.md against ipc/: every size,
 * entry size, entry cap, offset table and constant the page states must be
 * what the structs and ipc_body_size()/ipc_entry_size() say, so it cannot drift. */
#include <ctype.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/macro.h"
#include "ipc/ipc.h"

#define DOC_PATH "docs/protocol.md"
#define MAX_LINES 4096
#define MAX_CELLS 8

/* Every struct the page may name. A struct added to ipc/ipc.h and described
 * in the page must be added here too: the test names it when it is missing. */
#define S(name)                            \
	{                                  \
#name, sizeof(struct name) \
	}
static const struct {
	const char *name;
	size_t size;
} structs[] = {
	S(ipc_header),
	S(ipc_enroll),
	S(ipc_enroll_ack),
	S(ipc_compress),
	S(ipc_arena_stats),
	S(ipc_compress_ack),
	S(ipc_relax),
	S(ipc_stats),
	S(ipc_bye),
	S(ipc_error),
	S(ipc_ctl_status_reply),
	S(ipc_ctl_list),
	S(ipc_ctl_list_reply),
	S(ipc_proc_entry),
	S(ipc_ctl_pid),
	S(ipc_cgroup_entry),
	S(ipc_ctl_show_reply),
	S(ipc_ctl_ok),
	S(ipc_ctl_events),
	S(ipc_ctl_events_reply),
	S(ipc_event_entry),
	S(ipc_ctl_enroll),
	S(ipc_enrolled_entry),
	S(ipc_bandwidth_figures),
	S(ipc_bandwidth_domain),
	S(ipc_ctl_bandwidth_reply),
	S(ipc_bandwidth_entry),
	S(ipc_ctl_records),
	S(ipc_ctl_records_reply),
	S(ipc_rss_record),
	S(ipc_ctl_metrics),
	S(ipc_ctl_metrics_reply),
	S(ipc_ctl_profile),
	S(ipc_ctl_profile_reply),
	S(ipc_ctl_profile_id),
	S(ipc_ring_header),
	S(ipc_ring_proc),
	S(ipc_ring_sample),
};
#undef S

#define C(name)             \
	{                   \
#name, name \
	}
static const struct {
	const char *name;
	unsigned long value;
} constants[] = {
	C(IPC_VERSION),	 C(IPC_MSG_MAX),    C(IPC_NAME_MAX),
	C(IPC_PATH_MAX), C(IPC_ERRMSG_MAX), C(IPC_CMDLINE_MAX),
};
#undef C

struct doc {
	char *text;
	char *lines[MAX_LINES];
	size_t n_lines;
	unsigned failures;
	bool quiet; /* count, do not print (the checker's own test) */
};

_printf_(3, 4) static void doc_fail(struct doc *d, size_t line, const char *fmt, ...)
{
	va_list ap;

	d->failures++;
	if (d->quiet)
		return;
	fprintf(stderr, "%s:%zu: ", DOC_PATH, line + 1);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void doc_load(struct doc *d)
{
	FILE *f = fopen(DOC_PATH, "re");
	long n;
	char *p;

	memset(d, 0, sizeof(*d));
	if (!f)
		fail_msg("cannot open %s (run from the top of the tree)", DOC_PATH);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	d->text = calloc(1, (size_t)n + 1);
	assert_non_null(d->text);
	assert_int_equal(fread(d->text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	/* a second copy split into lines; the first stays whole for mentions
	 * that wrap */
	p = strdup(d->text);
	assert_non_null(p);
	while (p && d->n_lines < MAX_LINES) {
		char *nl = strchr(p, '\n');

		d->lines[d->n_lines++] = p;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
	}
}

static void doc_free(struct doc *d)
{
	if (d->n_lines)
		free(d->lines[0]);
	free(d->text);
}

static long struct_size(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(structs) / sizeof(structs[0]); i++)
		if (strlen(structs[i].name) == len && strncmp(structs[i].name, name, len) == 0)
			return (long)structs[i].size;
	return -1;
}

/* Split "| a | b | c |" into trimmed cells; returns the count (0: not a row). */
static size_t row_cells(const char *line, char cells[MAX_CELLS][128])
{
	size_t n = 0;
	const char *p = line;

	while (*p == ' ')
		p++;
	if (*p != '|')
		return 0;
	p++;
	while (*p && n < MAX_CELLS) {
		const char *end = strchr(p, '|');
		size_t len;

		if (!end)
			break;
		while (p < end && *p == ' ')
			p++;
		len = (size_t)(end - p);
		while (len && p[len - 1] == ' ')
			len--;
		snprintf(cells[n], sizeof(cells[n]), "%.*s", (int)len, p);
		n++;
		p = end + 1;
	}
	return n;
}

static bool is_separator(const char *cell)
{
	return cell[0] == '-' || cell[0] == ':';
}

/* "`NAME`" -> NAME (into out), or the cell itself */
static void unquote(const char *cell, char *out, size_t size)
{
	size_t len = strlen(cell);

	if (len >= 2 && cell[0] == '`' && cell[len - 1] == '`')
		snprintf(out, size, "%.*s", (int)(len - 2), cell + 1);
	else
		snprintf(out, size, "%s", cell);
}

/* A decimal number at the start of s; -1 if none. */
static long leading_number(const char *s)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtol(s, &end, 10);
	return end == s ? -1 : v;
}

/* "8 + n × 112" -> fixed 8, entry 112; "400" -> 400, 0. false if neither. */
static bool parse_body_cell(const char *cell, long *fixed, long *entry)
{
	const char *x = strstr(cell, "×");

	*fixed = leading_number(cell);
	*entry = 0;
	if (*fixed < 0)
		return false;
	if (x) {
		x += strlen("×");
		while (*x == ' ')
			x++;
		*entry = leading_number(x);
		if (*entry <= 0)
			return false;
	} else if (strchr(cell, 'n')) {
		return false;
	}
	return true;
}

static uint16_t type_by_name(const char *name, bool *found)
{
	for (unsigned t = 0; t <= UINT16_MAX; t++) {
		const char *s = ipc_type_to_string((uint16_t)t);

		if (s && strcmp(s, name) == 0) {
			*found = true;
			return (uint16_t)t;
		}
	}
	*found = false;
	return 0;
}

/* The Messages table: type, name, socket, body, message. */
static void check_messages_table(struct doc *d, size_t start, bool seen[UINT16_MAX + 1])
{
	char cells[MAX_CELLS][128], name[64];

	for (size_t i = start + 1; i < d->n_lines; i++) {
		size_t n = row_cells(d->lines[i], cells);
		long type, fixed, entry, msg;
		size_t want_body, want_entry;

		if (n == 0)
			break;
		if (is_separator(cells[0]))
			continue;
		if (n < 5) {
			doc_fail(d, i, "Messages row has %zu cells, expected 5", n);
			continue;
		}
		type = leading_number(cells[0]);
		unquote(cells[1], name, sizeof(name));
		if (type < 0 || type > UINT16_MAX) {
			doc_fail(d, i, "bad type number \"%s\"", cells[0]);
			continue;
		}
		if (!ipc_type_to_string((uint16_t)type) ||
		    strcmp(ipc_type_to_string((uint16_t)type), name) != 0) {
			doc_fail(d, i, "type %ld is %s in ipc/, the page says %s", type,
				 ipc_type_to_string((uint16_t)type) ?: "unknown", name);
			continue;
		}
		seen[type] = true;
		want_body = ipc_body_size((uint16_t)type);
		want_entry = ipc_entry_size((uint16_t)type);
		if (!parse_body_cell(cells[3], &fixed, &entry)) {
			doc_fail(d, i, "%s: cannot read the body size \"%s\"", name, cells[3]);
			continue;
		}
		if ((size_t)fixed != want_body || (size_t)entry != want_entry)
			doc_fail(d, i, "%s: the page says body %s, ipc/ says %zu%s%.0zu", name,
				 cells[3], want_body, want_entry ? " + n × " : "", want_entry);
		if (want_entry) {
			if (strcmp(cells[4], "see Size caps") != 0)
				doc_fail(d, i,
					 "%s: a list reply's message size is \"see Size caps\"",
					 name);
			continue;
		}
		msg = leading_number(cells[4]);
		if (msg < 0 || (size_t)msg != want_body + sizeof(struct ipc_header))
			doc_fail(d, i, "%s: the page says message %s, it is %zu", name, cells[4],
				 want_body + sizeof(struct ipc_header));
	}
}

/* The Size caps table: reply, fixed part, entry, max entries, largest message. */
static void check_caps_table(struct doc *d, size_t start, bool seen[UINT16_MAX + 1])
{
	char cells[MAX_CELLS][128], name[64];

	for (size_t i = start + 1; i < d->n_lines; i++) {
		size_t n = row_cells(d->lines[i], cells);
		uint16_t type;
		bool found;
		long v[4];
		size_t want[4];

		if (n == 0)
			break;
		if (is_separator(cells[0]))
			continue;
		if (n < 5) {
			doc_fail(d, i, "Size caps row has %zu cells, expected 5", n);
			continue;
		}
		unquote(cells[0], name, sizeof(name));
		type = type_by_name(name, &found);
		if (!found || ipc_entry_size(type) == 0) {
			doc_fail(d, i, "%s is not a list reply in ipc/", name);
			continue;
		}
		want[0] = ipc_body_size(type);
		want[1] = ipc_entry_size(type);
		want[2] = ipc_entries_max(type);
		want[3] = sizeof(struct ipc_header) + want[0] + want[2] * want[1];
		for (int k = 0; k < 4; k++) {
			v[k] = leading_number(cells[k + 1]);
			if (v[k] < 0 || (size_t)v[k] != want[k])
				doc_fail(d, i, "%s: column %d says %s, ipc/ says %zu", name, k + 2,
					 cells[k + 1], want[k]);
		}
		seen[type] = true;
	}
}

/* An offset table: offsets contiguous from 0, ending at the size of the struct
 * named last before it. */
static void check_offset_table(struct doc *d, size_t start, const char *sname, long ssize)
{
	char cells[MAX_CELLS][128];
	long next = 0;

	for (size_t i = start + 1; i < d->n_lines; i++) {
		size_t n = row_cells(d->lines[i], cells);
		long off, size;

		if (n == 0)
			break;
		if (is_separator(cells[0]))
			continue;
		off = leading_number(cells[0]);
		size = leading_number(n > 1 ? cells[1] : "");
		if (off < 0 || size <= 0) {
			doc_fail(d, i, "offset table row without offset and size");
			continue;
		}
		if (off != next)
			doc_fail(d, i, "%s: offset %ld, expected %ld after the row before", sname,
				 off, next);
		next = off + size;
	}
	if (next != ssize)
		doc_fail(d, start, "%s: the offset table ends at %ld, the struct is %ld bytes",
			 sname, next, ssize);
}

/* Byte offset of line i in d->text. */
static size_t line_offset(const struct doc *d, size_t i)
{
	return (size_t)(d->lines[i] - d->lines[0]);
}

/* Every "`struct NAME`, N" or "`struct NAME` (N" in the text: N is its size.
 * Returns how many were checked. */
static unsigned check_struct_mentions(struct doc *d)
{
	unsigned n = 0;

	for (const char *p = strstr(d->text, "`struct "); p; p = strstr(p + 1, "`struct ")) {
		const char *name = p + strlen("`struct "), *end = strchr(name, '`'), *q;
		size_t line = 0;
		long size, v;

		if (!end)
			break;
		for (size_t i = 0; i < d->n_lines && line_offset(d, i) <= (size_t)(p - d->text);
		     i++)
			line = i;
		size = struct_size(name, (size_t)(end - name));
		if (size < 0) {
			doc_fail(d, line, "struct %.*s is not in this test's table: add it",
				 (int)(end - name), name);
			continue;
		}
		q = end + 1;
		if (*q == ',' || *q == ' ')
			q++;
		while (*q == ' ' || *q == '\n' || *q == '(')
			q++;
		v = leading_number(q);
		if (v < 0)
			continue; /* named without a size */
		n++;
		if (v != size)
			doc_fail(d, line, "struct %.*s: the page says %ld bytes, it is %ld",
				 (int)(end - name), name, v, size);
	}
	return n;
}

/* The struct named last before line i, and its size; false if none. */
static bool struct_before(const struct doc *d, size_t i, char *name, size_t size, long *ret_size)
{
	const char *limit = d->text + line_offset(d, i), *last = NULL;

	for (const char *p = strstr(d->text, "`struct "); p && p < limit;
	     p = strstr(p + 1, "`struct "))
		last = p;
	if (!last)
		return false;
	last += strlen("`struct ");
	const char *end = strchr(last, '`');
	if (!end)
		return false;
	snprintf(name, size, "%.*s", (int)(end - last), last);
	*ret_size = struct_size(last, (size_t)(end - last));
	return *ret_size >= 0;
}

/* "`IPC_NAME` = N": N must be the constant's value. */
static unsigned check_constants(struct doc *d)
{
	unsigned n = 0;

	for (size_t k = 0; k < sizeof(constants) / sizeof(constants[0]); k++) {
		char pat[64];

		snprintf(pat, sizeof(pat), "`%s` = ", constants[k].name);
		for (const char *p = strstr(d->text, pat); p; p = strstr(p + 1, pat)) {
			long v = leading_number(p + strlen(pat));

			n++;
			if (v < 0 || (unsigned long)v != constants[k].value)
				fprintf(stderr, "%s: %s is %lu, the page says %.20s\n", DOC_PATH,
					constants[k].name, constants[k].value, p + strlen(pat)),
					d->failures++;
		}
	}
	return n;
}

static void test_protocol_doc_matches_ipc(void **state)
{
	static bool seen[UINT16_MAX + 1], seen_caps[UINT16_MAX + 1];
	char cells[MAX_CELLS][128], scratch[MAX_CELLS][128];
	unsigned messages = 0, caps = 0, offsets = 0, mentions, consts, failures;
	struct doc d;

	doc_load(&d);
	memset(seen, 0, sizeof(seen));
	memset(seen_caps, 0, sizeof(seen_caps));
	for (size_t i = 0; i < d.n_lines; i++) {
		size_t n = row_cells(d.lines[i], cells);

		/* a table's first row: a row with none before it */
		if (n == 0 || (i > 0 && row_cells(d.lines[i - 1], scratch)))
			continue;
		if (n >= 5 && strcmp(cells[0], "type") == 0 && strcmp(cells[1], "name") == 0 &&
		    strcmp(cells[3], "body") == 0) {
			check_messages_table(&d, i, seen);
			messages++;
		} else if (n >= 5 && strcmp(cells[0], "reply") == 0 &&
			   strcmp(cells[1], "fixed part") == 0) {
			check_caps_table(&d, i, seen_caps);
			caps++;
		} else if (n >= 3 && strcmp(cells[0], "offset") == 0 &&
			   strcmp(cells[1], "size") == 0) {
			char sname[64];
			long ssize;

			if (!struct_before(&d, i, sname, sizeof(sname), &ssize))
				doc_fail(&d, i,
					 "offset table without a known `struct NAME` before it");
			else
				check_offset_table(&d, i, sname, ssize);
			offsets++;
		}
	}
	/* every type ipc/ knows is in the Messages table */
	for (unsigned t = 0; t <= UINT16_MAX; t++)
		if (ipc_type_to_string((uint16_t)t) && !seen[t])
			fprintf(stderr, "%s: type %u (%s) is missing from the Messages table\n",
				DOC_PATH, t, ipc_type_to_string((uint16_t)t)),
				d.failures++;
	/* every list reply is in the Size caps table */
	for (unsigned t = 0; t <= UINT16_MAX; t++)
		if (ipc_type_to_string((uint16_t)t) && ipc_entry_size((uint16_t)t) && !seen_caps[t])
			fprintf(stderr, "%s: list reply %s is missing from the Size caps table\n",
				DOC_PATH, ipc_type_to_string((uint16_t)t)),
				d.failures++;
	mentions = check_struct_mentions(&d);
	consts = check_constants(&d);
	failures = d.failures;
	doc_free(&d);
	print_message("%u Messages, %u Size caps and %u offset tables, %u struct sizes and %u "
		      "constants checked\n",
		      messages, caps, offsets, mentions, consts);
	assert_int_equal(messages, 1);
	assert_int_equal(caps, 1);
	assert_true(offsets >= 15);
	assert_true(mentions >= 15);
	assert_true(consts >= 5);
	assert_int_equal(failures, 0); /* each is printed above */
}

/* The checker itself must see a wrong size: feed it a doctored copy. */
static void test_protocol_doc_checker_catches_drift(void **state)
{
	struct doc d;
	unsigned before, after;
	char *p;

	doc_load(&d);
	d.quiet = true;
	before = d.failures;
	/* CTL_SHOW_REPLY's stated size, one byte off */
	p = strstr(d.text, "`struct ipc_ctl_show_reply`, ");
	assert_non_null(p);
	p += strlen("`struct ipc_ctl_show_reply`, ");
	assert_true(isdigit((unsigned char)*p));
	*p = *p == '9' ? '1' : (char)(*p + 1);
	check_struct_mentions(&d);
	after = d.failures;
	doc_free(&d);
	assert_true(after > before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protocol_doc_matches_ipc),
		cmocka_unit_test(test_protocol_doc_checker_catches_drift),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
