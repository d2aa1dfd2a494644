/* SPDX-License-Identifier: MIT */
/* daemon/parse-util.h: strict line and number scanning shared by the pure
 * parsers (cgroup-parse.c, proc-parse.c). Internal; header-only. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A span of a buffer that need not be NUL-terminated. */
struct span {
	const char *p;
	size_t len;
};

/* Iterates over '\n'-terminated lines; the last line may lack its '\n'. A
 * buffer ending in "\n" has no empty last line. */
struct line_iter {
	const char *p, *end;
};

static inline void line_iter_init(struct line_iter *it, const char *buf, size_t len)
{
	it->p = buf;
	it->end = buf + len;
}

static inline bool line_iter_next(struct line_iter *it, struct span *ret)
{
	const char *nl;

	if (it->p >= it->end)
		return false;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	ret->p = it->p;
	ret->len = nl ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
	it->p = nl ? nl + 1 : it->end;
	return true;
}

static inline bool span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && memcmp(s.p, lit, n) == 0;
}

/* Splits s at the first c: *ret_head before it, *ret_tail after it. */
static inline bool span_split(struct span s, char c, struct span *ret_head, struct span *ret_tail)
{
	const char *at = memchr(s.p, c, s.len);

	if (!at)
		return false;
	ret_head->p = s.p;
	ret_head->len = (size_t)(at - s.p);
	ret_tail->p = at + 1;
	ret_tail->len = s.len - ret_head->len - 1;
	return true;
}

/* Strips one trailing '\n', the end of a one-value file. */
static inline struct span span_chomp(struct span s)
{
	if (s.len > 0 && s.p[s.len - 1] == '\n')
		s.len--;
	return s;
}

/* An unsigned decimal filling all of s: -EINVAL if s is empty or holds
 * anything but digits (signs, blanks, "0x"), -ERANGE above UINT64_MAX. */
static inline int span_to_u64(struct span s, uint64_t *ret)
{
	uint64_t v = 0;

	if (s.len == 0)
		return -EINVAL;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -EINVAL;
	}
	for (size_t i = 0; i < s.len; i++) {
		unsigned d = (unsigned)(s.p[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

/* A signed decimal filling all of s ("-" then digits allowed), for fields
 * that are only validated. */
static inline int span_check_s64(struct span s)
{
	uint64_t v;
	int r;

	if (s.len > 0 && s.p[0] == '-') {
		s.p++;
		s.len--;
		r = span_to_u64(s, &v);
		if (r == 0 && v > (uint64_t)INT64_MAX + 1)
			return -ERANGE;
		return r;
	}
	r = span_to_u64(s, &v);
	if (r == 0 && v > INT64_MAX)
		return -ERANGE;
	return r;
}

static inline int u64_mul(uint64_t a, uint64_t b, uint64_t *ret)
{
	if (__builtin_mul_overflow(a, b, ret))
		return -ERANGE;
	return 0;
}

static inline bool buf_has_nul(const char *buf, size_t len)
{
	return len > 0 && memchr(buf, '\0', len) != NULL;
}
