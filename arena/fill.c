/* SPDX-License-Identifier: MIT */
/* arena/fill.c: fill objects: a chunk that is one 8-byte word repeated, but for a few
 * words, stored as that word and the exceptions instead of a codec's output. */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "arena/arena-internal.h"

/*
 * Why: a page of one value (a memset, a fill pattern, a zeroed structure with a
 * header) is common, and LZ4 spends ~0.5-0.7 us on a 4 KiB one to produce 27 bytes,
 * plus the store's 8-byte owner word: 35 bytes a page, a ratio of 117 against the
 * peer arena's 128 (bench/peer_shape "one"). As a fill object it is the owner word
 * and 20 bytes (ratio 146), found by a pass of word compares that costs a fraction
 * of the LZ4 call, and put back by a memset and a patch.
 *
 * Payload, little-endian as the machine stores words (it never leaves the process):
 *   u64 fill word, then per exception { u32 word index, u64 word }, indexes strictly
 *   ascending and below chunk / 8, at most FILL_EXCEPTIONS_MAX of them.
 * The decoder checks all of it before it writes a byte; the CRC32C in the chunk
 * covers the payload as for any object, so this is a second line, against a payload
 * that passes its checksum and is still not one fill_encode() could have made.
 */

static inline uint64_t word_at(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

bool fill_line_uniform(const uint8_t *src)
{
	uint64_t w = word_at(src + 8), d = 0;

	for (unsigned j = 2; j < 8; j++)
		d |= word_at(src + j * 8) ^ w;
	return d == 0;
}

/* The 64 bytes at p are ref eight times. SSE2 where there is one: gcc -O2 leaves
 * the plain word loop scalar, 4.5x slower than the C library's memcmp here. */
#if defined(__SSE2__)
#include <emmintrin.h>

static inline bool line_is(const uint8_t *p, uint64_t ref)
{
	const __m128i r = _mm_set1_epi64x((long long)ref);
	__m128i a = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), r);
	__m128i b = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), r);
	__m128i c = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), r);
	__m128i d = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), r);

	return _mm_movemask_epi8(_mm_and_si128(_mm_and_si128(a, b), _mm_and_si128(c, d))) == 0xffff;
}
#else
static inline bool line_is(const uint8_t *p, uint64_t ref)
{
	uint64_t d = 0;

	for (unsigned j = 0; j < 8; j++)
		d |= word_at(p + j * 8) ^ ref;
	return d == 0;
}
#endif

long fill_encode(const uint8_t *src, size_t n, uint8_t *dst)
{
	size_t words = n / 8;
	uint64_t ref;
	unsigned k = 0;
	uint8_t *o;

	if (n % 64 != 0 || n == 0 || words > UINT32_MAX)
		return 0;
	/* the middle word: byte 0 of a page is often a header */
	ref = word_at(src + (words / 2) * 8);
	memcpy(dst, &ref, 8);
	o = dst + 8;
	/* every word from word 1 on the same (each equal to the next): one memcmp, the
	 * C library's vector loop, about twice as fast as the word loop below; only
	 * word 0 can differ then */
	if (memcmp(src + 8, src + 16, n - 16) == 0) {
		uint64_t w0 = word_at(src);
		uint32_t idx = 0;

		if (w0 == ref)
			return 8;
		memcpy(o, &idx, 4);
		memcpy(o + 4, &w0, 8);
		return 8 + FILL_EXCEPTION_BYTES;
	}
	for (size_t i = 0; i < words; i += 8) {
		const uint8_t *p = src + i * 8;

		if (line_is(p, ref))
			continue;
		for (unsigned j = 0; j < 8; j++) {
			uint64_t w = word_at(p + j * 8);
			uint32_t idx = (uint32_t)(i + j);

			if (w == ref)
				continue;
			if (k == FILL_EXCEPTIONS_MAX)
				return 0;
			memcpy(o, &idx, 4);
			memcpy(o + 4, &w, 8);
			o += FILL_EXCEPTION_BYTES;
			k++;
		}
	}
	return (long)(o - dst);
}

int fill_decode(const uint8_t *payload, uint32_t size, uint8_t *dst, size_t n)
{
	size_t words = n / 8;
	uint32_t k, prev = 0;
	uint64_t ref;

	if (size < 8 || (size - 8) % FILL_EXCEPTION_BYTES != 0 || n % 64 != 0 || n == 0)
		return -EBADMSG;
	k = (size - 8) / FILL_EXCEPTION_BYTES;
	if (k > FILL_EXCEPTIONS_MAX)
		return -EBADMSG;
	/* every index in range and ascending (so none repeats) before a byte is written */
	for (uint32_t e = 0; e < k; e++) {
		uint32_t idx;

		memcpy(&idx, payload + 8 + e * FILL_EXCEPTION_BYTES, 4);
		if (idx >= words || (e > 0 && idx <= prev))
			return -EBADMSG;
		prev = idx;
	}
	ref = word_at(payload);
	if (ref == (ref & 0xff) * 0x0101010101010101ULL) {
		memset(dst, (int)(ref & 0xff), n);
	} else {
		for (size_t i = 0; i < words; i++)
			memcpy(dst + i * 8, &ref, 8);
	}
	for (uint32_t e = 0; e < k; e++) {
		const uint8_t *x = payload + 8 + e * FILL_EXCEPTION_BYTES;
		uint32_t idx;

		memcpy(&idx, x, 4);
		memcpy(dst + (size_t)idx * 8, x + 4, 8);
	}
	return 0;
}
