/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_store.c: libFuzzer target for libarena's decoding of damaged store
 * objects. (1) Each codec's decoder on arbitrary bytes as a stored payload: exactly
 * one chunk or -EBADMSG, never a read or write outside the buffers. (2) A real arena
 * whose chunks are compressed, then bytes of the store's objects XORed as the input
 * says: every read returns the original bytes or -EBADMSG (counted in
 * errors_checksum), never wrong bytes; a damaged chunk fails the same way on a
 * retry, discarding it makes it zero, compaction and a recompression keep the rest
 * intact. */

#include <errno.h>

#include "arena/arena-internal.h"
#include "arena/arena.h"
#include "tests/fuzz/fuzz-util.h"

#define CHUNKS 16U
#define DAMAGE_MAX 8

/* (1) the decoders alone */
static void decode_raw(const uint8_t *data, size_t size)
{
	struct codec_ctx *ctx;
	uint32_t codec;
	size_t n;
	uint8_t *src, *dst;
	int r;

	if (size < 2)
		return;
	codec = data[0] % _FAIR_CODEC_MAX;
	n = 4096U << (data[1] % 5);
	ctx = codec_ctx_get(n);
	FUZZ_CHECK(ctx != NULL);
	src = (uint8_t *)fuzz_dup(data + 2, size - 2);
	dst = malloc(n);
	FUZZ_CHECK(dst != NULL);
	r = codec_decompress(ctx, codec, src, size - 2, dst, n);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
	free(dst);
	free(src);
}

static void fill(uint8_t *p, size_t n, uint32_t seed, struct fuzz_input *in)
{
	uint8_t snip[8];
	size_t sl = 1 + seed % sizeof(snip);

	for (size_t i = 0; i < sl; i++)
		snip[i] = (uint8_t)(seed >> (i % 4 * 8)) ^ (uint8_t)fuzz_take(in, 1);
	for (size_t i = 0; i < n; i++)
		p[i] = snip[i % sl] + (uint8_t)(i / 509);
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
	bool damaged[CHUNKS] = {}, bad[CHUNKS] = {};
	uint64_t freed, n_bad = 0;
	uint8_t *shadow;
	uint32_t mode;
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
	FUZZ_CHECK(arena_region_alloc(a, CHUNKS * chunk, 0, &r) == 0);
	shadow = malloc(CHUNKS * chunk);
	FUZZ_CHECK(shadow != NULL);
	for (uint32_t i = 0; i < CHUNKS; i++)
		fill(shadow + (size_t)i * chunk, chunk, fuzz_take(&in, 2) * 2654435761U + i, &in);
	FUZZ_CHECK(arena_write(r, 0, shadow, CHUNKS * chunk) == 0);
	/* old enough to be COLD, so zstd is a candidate too */
	for (int k = 0; k < 64; k++)
		arena_epoch_advance(a);
	FUZZ_CHECK(arena_region_compress(r, 0, CHUNKS * chunk, NULL, &freed) == 0);

	/* the damage: (chunk, offset in its payload, xor) triples */
	for (int d = 0; d < DAMAGE_MAX && in.n >= 4; d++) {
		uint32_t i = fuzz_take(&in, 1) % CHUNKS, off = fuzz_take(&in, 2);
		uint8_t x = (uint8_t)fuzz_take(&in, 1);
		struct chunk *c = &r->chunks[i];

		if (c->state != CHUNK_COMPRESSED || (c->flags & CF_PAGES_HELD) || c->obj_size == 0)
			continue;
		store_obj_payload(c->obj)[off % c->obj_size] ^= x;
		damaged[i] |= x != 0;
	}

	/* every read: the original bytes, or -EBADMSG for a damaged chunk only */
	for (uint32_t i = 0; i < CHUNKS; i++) {
		int ret = read_chunk(r, chunk, i, shadow);

		FUZZ_CHECK(ret == 0 || (ret == -EBADMSG && damaged[i]));
		if (ret == -EBADMSG) {
			bad[i] = true;
			n_bad++;
			/* and again: the stored copy stays as it was */
			FUZZ_CHECK(read_chunk(r, chunk, i, shadow) == -EBADMSG);
			n_bad++;
		}
	}
	FUZZ_CHECK(arena_stats_get(a, &st) == 0 && st.errors_checksum == n_bad);

	/* discarded, a bad chunk reads as zero; the rest survive compaction */
	for (uint32_t i = 0; i < CHUNKS; i++) {
		if (!bad[i])
			continue;
		FUZZ_CHECK(arena_region_discard(r, (size_t)i * chunk, chunk) == 0);
		memset(shadow + (size_t)i * chunk, 0, chunk);
	}
	FUZZ_CHECK(arena_region_compress(r, 0, CHUNKS * chunk, NULL, &freed) == 0);
	store_maintain(&a->store, 0);
	for (uint32_t i = 0; i < CHUNKS; i++)
		FUZZ_CHECK(read_chunk(r, chunk, i, shadow) == 0);

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
