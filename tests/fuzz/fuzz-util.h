/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz-util.h: what the libFuzzer targets share: a check that aborts (so
 * libFuzzer keeps the input), exact-size heap copies (so ASan sees any over-read). */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                         \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

/* A heap copy of exactly len bytes (1 for len 0, never read then). */
static inline char *fuzz_dup(const uint8_t *data, size_t len)
{
	char *p = malloc(len ? len : 1);

	if (!p)
		abort();
	memcpy(p, data, len);
	return p;
}

/* A heap copy with a NUL after len bytes, for the parsers of C strings. */
static inline char *fuzz_strdup(const uint8_t *data, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		abort();
	memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

/* Whether n bytes at p are all the byte b (a result left untouched). */
static inline int fuzz_all(const void *p, size_t n, uint8_t b)
{
	const uint8_t *q = p;

	for (size_t i = 0; i < n; i++)
		if (q[i] != b)
			return 0;
	return 1;
}

/* The input read as a stream of big-endian numbers; past its end, zeros. */
struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

static inline uint32_t fuzz_take(struct fuzz_input *in, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v <<= 8;
		if (in->n > 0) {
			v |= *in->p++;
			in->n--;
		}
	}
	return v;
}
