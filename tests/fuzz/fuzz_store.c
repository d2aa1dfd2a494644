/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_store.c: libFuzzer target for libarena's decoding of damaged store
 * objects. (1) Each codec's decoder on arbitrary bytes as a stored payload: exactly
 * one chunk or -EBADMSG, never a read or write outside the buffers. (2) A real arena
 * whose chunks are compressed (over several store segments), then bytes of the
 * store's objects XORed as the input says, owner words included: every read returns
 * the original bytes or -EBADMSG (counted in errors_checksum), never wrong bytes; a
 * damaged chunk fails the same way on a retry; discarding makes it zero; compaction
 * over the damaged segments, a recompression and the reads after keep the rest
 * intact. */

#include <errno.h>

#include "arena/arena-internal.h"
#include "arena/arena.h"
#include "tests/fuzz/fuzz-util.h"

#define REGION_BYTES (768U << 10) /* 3+ store segments of 256 KiB at ~1:1.3 */
#define DAMAGE_MAX 8

/* (1) the decoders alone: each codec, and fill objects (one word repeated but for a
 * few, arena/fill.c), whose decoder must write nothing for a payload it rejects */
static void decode_raw(const uint8_t *data, size_t size)
{
	struct codec_ctx *ctx;
	uint32_t codec;
	size_t n;
	uint8_t *src, *dst;
	int r;

	if (size < 2)
		return;
	codec = data[0] % (_FAIR_CODEC_MAX + 1);
	n = 4096U << (data[1] % 5);
	ctx = codec_ctx_get(n);
	FUZZ_CHECK(ctx != NULL);
	src = (uint8_t *)fuzz_dup(data + 2, size - 2);
	dst = malloc(n);
	FUZZ_CHECK(dst != NULL);
	if (codec == _FAIR_CODEC_MAX) {
		uint8_t *again = malloc(FILL_BYTES_MAX);

		FUZZ_CHECK(again != NULL);
		memset(dst, 0xa5, n);
		r = fill_decode(src, (uint32_t)(size - 2), dst, n);
		FUZZ_CHECK(r == 0 || r == -EBADMSG);
		if (r < 0) {
			FUZZ_CHECK(fuzz_all(dst, n, 0xa5));
		} else {
			/* what decodes is what fill_encode() makes of the result */
			FUZZ_CHECK(fill_encode(dst, n, again) == (long)(size - 2));
			FUZZ_CHECK(memcmp(again, src, size - 2) == 0);
		}
		free(again);
	} else {
		r = codec_decompress(ctx, codec, src, size - 2, dst, n);
		FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
	}
	free(dst);
	free(src);
}

/* Bytes that compress by a third or so: an xorshift stream with runs of one byte. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (x & 3) ? (uint8_t)(i >> 6) : (uint8_t)x;
	}
}

static int read_chunk(struct arena_region *r, size_t chunk, uint32_t i, const uint8_t *shadow)
{
	uint8_t *p;
	int ret;

	ret = arena_pin(r, (size_t)i * chunk, chunk, ARENA_PIN_READ, (void **)&p);
	if (ret < 0)
		return ret;
	FUZZ_CHECK(memcmp(p, shadow + (size_t)i * chunk, chunk) == 0);
	FUZZ_CHECK(arena_unpin(r, (size_t)i * chunk, chunk) == 0);
	return 0;
}

static void damage_and_read(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct arena_config cfg;
	struct arena_stats st;
	struct arena *a = NULL;
	struct arena_region *r = NULL;
	uint64_t freed, n_bad = 0;
	uint8_t *shadow, *damaged, *bad;
	uint32_t mode, n, keep;
	size_t chunk;

	mode = fuzz_take(&in, 1);
	arena_config_init(&cfg);
	cfg.chunk_size_bytes = 4096U << (mode % 3);
	cfg.codecs = 1 + (mode >> 2) % ARENA_CODECS_ALL;
	cfg.min_savings_permyriad = 0;
	if (mode & 0x80)
		cfg.flags |= ARENA_CONFIG_USERFAULTFD;
	FUZZ_CHECK(arena_new(&cfg, &a) == 0);
	chunk = cfg.chunk_size_bytes;
	n = REGION_BYTES / (uint32_t)chunk;
	FUZZ_CHECK(arena_region_alloc(a, REGION_BYTES, 0, &r) == 0);
	shadow = malloc(REGION_BYTES);
	damaged = calloc(n, 1);
	bad = calloc(n, 1);
	FUZZ_CHECK(shadow && damaged && bad);
	fill(shadow, REGION_BYTES, fuzz_take(&in, 4));
	/* every fourth chunk a fill object: one word and a few others */
	for (uint32_t i = mode % 4; i < n; i += 4) {
		uint64_t w = fuzz_take(&in, 4) * 0x9e3779b97f4a7c15ULL, *q;

		q = (uint64_t *)(shadow + (size_t)i * chunk);
		for (size_t j = 0; j < chunk / 8; j++)
			q[j] = w;
		for (uint32_t e = fuzz_take(&in, 1) % (FILL_EXCEPTIONS_MAX + 2); e > 0; e--)
			q[fuzz_take(&in, 2) % (chunk / 8)] = fuzz_take(&in, 4);
	}
	FUZZ_CHECK(arena_write(r, 0, shadow, REGION_BYTES) == 0);
	/* old enough to be COLD, so zstd is a candidate too */
	for (int k = 0; k < 64; k++)
		arena_epoch_advance(a);
	FUZZ_CHECK(arena_region_compress(r, 0, REGION_BYTES, NULL, &freed) == 0);

	/* the damage: (chunk, offset from its owner word, xor) triples, the owner word
	 * (what compaction walks by) as likely as a payload byte */
	for (int d = 0; d < DAMAGE_MAX && in.n >= 5; d++) {
		uint32_t i = fuzz_take(&in, 2) % n, off = fuzz_take(&in, 2);
		uint8_t x = (uint8_t)fuzz_take(&in, 1);
		struct chunk *c = &r->chunks[i];
		uint32_t span;

		if (c->state != CHUNK_COMPRESSED || (c->flags & CF_PAGES_HELD) || c->obj_size == 0)
			continue;
		span = (uint32_t)sizeof(struct store_obj) + c->obj_size;
		off = (off & 1) ? (off >> 1) % (uint32_t)sizeof(struct store_obj) :
				  (off >> 1) % span;
		((uint8_t *)c->obj)[off] ^= x;
		damaged[i] |= x != 0;
	}

	/* compaction first, over whatever the damage left: a chunk gone out of every
	 * third segment's worth makes the segments sparse enough to evacuate */
	keep = 1 + fuzz_take(&in, 1) % 3;
	for (uint32_t i = 0; i < n; i++) {
		if (i % (keep + 1) == 0 || damaged[i])
			continue;
		FUZZ_CHECK(read_chunk(r, chunk, i, shadow) == 0);
	}
	store_maintain(&a->store, 0);

	/* every read: the original bytes, or -EBADMSG for a damaged chunk only */
	for (uint32_t i = 0; i < n; i++) {
		int ret = read_chunk(r, chunk, i, shadow);

		FUZZ_CHECK(ret == 0 || (ret == -EBADMSG && damaged[i]));
		if (ret == -EBADMSG) {
			bad[i] = 1;
			n_bad++;
			/* and again: the stored copy stays as it was */
			FUZZ_CHECK(read_chunk(r, chunk, i, shadow) == -EBADMSG);
			n_bad++;
		}
	}
	FUZZ_CHECK(arena_stats_get(a, &st) == 0 && st.errors_checksum == n_bad);

	/* discarded, a bad chunk reads as zero; the rest survive recompression and
	 * compaction */
	for (uint32_t i = 0; i < n; i++) {
		if (!bad[i])
			continue;
		FUZZ_CHECK(arena_region_discard(r, (size_t)i * chunk, chunk) == 0);
		memset(shadow + (size_t)i * chunk, 0, chunk);
	}
	FUZZ_CHECK(arena_region_compress(r, 0, REGION_BYTES, NULL, &freed) == 0);
	store_maintain(&a->store, 0);
	for (uint32_t i = 0; i < n; i++)
		FUZZ_CHECK(read_chunk(r, chunk, i, shadow) == 0);

	free(bad);
	free(damaged);
	free(shadow);
	arena_region_free(r);
	arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_raw(data, size);
	damage_and_read(data, size);
	return 0;
}
