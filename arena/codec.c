/* SPDX-License-Identifier: MIT */
/* arena/codec.c: LZ4 and zstd behind one call, with per-thread reusable contexts (no
 * allocation on the hot path), and CRC32C (SSE4.2 when present, else tables). */

#include <errno.h>
#include <lz4.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "arena/arena-internal.h"
#include "common/macro.h"

struct codec_ctx {
	void *lz4_state; /* LZ4_sizeofState() bytes, 8-aligned */
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	int zc_level; /* level zc is set up for; 0 = none */
	size_t chunk_bytes; /* scratch sizes are for this chunk size */
	uint8_t *scratch; /* codec_bound(chunk_bytes) */
	uint8_t *scratch2; /* chunk_bytes */
};

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static __thread struct codec_ctx *tls_ctx;

static void codec_ctx_destroy(void *p)
{
	struct codec_ctx *ctx = p;

	if (!ctx)
		return;
	free(ctx->lz4_state);
	ZSTD_freeCCtx(ctx->zc);
	ZSTD_freeDCtx(ctx->zd);
	free(ctx->scratch);
	free(ctx->scratch2);
	free(ctx);
}

static void ctx_key_make(void)
{
	/* failure leaves contexts of exiting threads unfreed, nothing worse */
	(void)pthread_key_create(&ctx_key, codec_ctx_destroy);
}

size_t codec_bound(size_t n)
{
	size_t a = (size_t)LZ4_compressBound((int)n), b = ZSTD_compressBound(n);

	return MAX(a, b);
}

static int ctx_size(struct codec_ctx *ctx, size_t chunk_bytes)
{
	uint8_t *s, *s2;

	if (ctx->chunk_bytes >= chunk_bytes)
		return 0;
	s = malloc(codec_bound(chunk_bytes));
	s2 = malloc(chunk_bytes);
	if (!s || !s2) {
		free(s);
		free(s2);
		return -ENOMEM;
	}
	free(ctx->scratch);
	free(ctx->scratch2);
	ctx->scratch = s;
	ctx->scratch2 = s2;
	ctx->chunk_bytes = chunk_bytes;
	return 0;
}

struct codec_ctx *codec_ctx_get(size_t chunk_bytes)
{
	struct codec_ctx *ctx = tls_ctx;

	if (_likely_(ctx && ctx->chunk_bytes >= chunk_bytes))
		return ctx;
	if (!ctx) {
		(void)pthread_once(&ctx_once, ctx_key_make);
		ctx = calloc(1, sizeof(*ctx));
		if (!ctx)
			return NULL;
		ctx->lz4_state = malloc((size_t)LZ4_sizeofState());
		if (!ctx->lz4_state) {
			free(ctx);
			return NULL;
		}
		tls_ctx = ctx;
		(void)pthread_setspecific(ctx_key, ctx);
	}
	if (ctx_size(ctx, chunk_bytes) < 0)
		return NULL;
	return ctx;
}

uint8_t *codec_ctx_scratch(struct codec_ctx *ctx)
{
	return ctx->scratch;
}

uint8_t *codec_ctx_scratch2(struct codec_ctx *ctx)
{
	return ctx->scratch2;
}

long codec_compress(struct codec_ctx *ctx, uint32_t codec, int32_t level, const void *src, size_t n,
		    void *dst, size_t cap)
{
	switch (codec) {
	case FAIR_CODEC_LZ4_FAST:
	case FAIR_CODEC_LZ4: {
		int r = LZ4_compress_fast_extState(ctx->lz4_state, src, dst, (int)n, (int)cap,
						   codec == FAIR_CODEC_LZ4 ? 1 : level);

		return r > 0 ? r : -E2BIG;
	}
	case FAIR_CODEC_ZSTD: {
		size_t r;

		if (!ctx->zc) {
			ctx->zc = ZSTD_createCCtx();
			if (!ctx->zc)
				return -ENOMEM;
			ctx->zc_level = 0;
		}
		if (ctx->zc_level != level) {
			/* no frame checksum (the store has its own), no content size (known) */
			if (ZSTD_isError(
				    ZSTD_CCtx_reset(ctx->zc, ZSTD_reset_session_and_parameters)) ||
			    ZSTD_isError(ZSTD_CCtx_setParameter(ctx->zc, ZSTD_c_compressionLevel,
								level)) ||
			    ZSTD_isError(
				    ZSTD_CCtx_setParameter(ctx->zc, ZSTD_c_contentSizeFlag, 0)) ||
			    ZSTD_isError(ZSTD_CCtx_setParameter(ctx->zc, ZSTD_c_checksumFlag, 0)))
				return -EIO;
			ctx->zc_level = level;
		}
		r = ZSTD_compress2(ctx->zc, dst, cap, src, n);
		if (ZSTD_isError(r)) {
			if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
				return -E2BIG;
			if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
				return -ENOMEM;
			return -EIO;
		}
		return (long)r;
	}
	default:
		return -EINVAL;
	}
}

int codec_decompress(struct codec_ctx *ctx, uint32_t codec, const void *src, size_t size, void *dst,
		     size_t n)
{
	switch (codec) {
	case FAIR_CODEC_LZ4_FAST:
	case FAIR_CODEC_LZ4: {
		int r = LZ4_decompress_safe(src, dst, (int)size, (int)n);

		return r == (int)n ? 0 : -EBADMSG;
	}
	case FAIR_CODEC_ZSTD: {
		size_t r;

		if (!ctx->zd) {
			ctx->zd = ZSTD_createDCtx();
			if (!ctx->zd)
				return -ENOMEM;
		}
		r = ZSTD_decompressDCtx(ctx->zd, dst, n, src, size);
		if (ZSTD_isError(r))
			return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? -ENOMEM :
										      -EBADMSG;
		return r == n ? 0 : -EBADMSG;
	}
	default:
		return -EBADMSG;
	}
}

/* ---- CRC32C (Castagnoli), reflected polynomial 0x82f63b78 ---- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static bool crc_hw;

/*
 * The hardware path runs three streams over three CRC_BLOCK-byte blocks at once: the
 * crc32 instruction has a latency of 3 cycles and a throughput of 1, so one stream
 * uses a third of it (measured in a readback: ~560 cycles for a 1.5 KiB payload in
 * cache, most of the CRC's share). The register of a CRC over A|B is
 * shift_|B|(R(A)) ^ R(0, B), shift_L being "append L zero bytes", which is linear: 4
 * table lookups (crc_shift), tables built once from the software CRC.
 */
#define CRC_BLOCK 256U

static uint32_t crc_shift_table[4][256];

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t n);

static void crc_init(void)
{
	static const uint8_t zeros[CRC_BLOCK];

	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];
	for (uint32_t b = 0; b < 4; b++)
		for (uint32_t i = 0; i < 256; i++)
			crc_shift_table[b][i] = crc32c_sw(i << (8 * b), zeros, CRC_BLOCK);
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* The register after CRC_BLOCK zero bytes */
static inline uint32_t crc_shift(uint32_t crc)
{
	return crc_shift_table[0][crc & 0xff] ^ crc_shift_table[1][(crc >> 8) & 0xff] ^
	       crc_shift_table[2][(crc >> 16) & 0xff] ^ crc_shift_table[3][crc >> 24];
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		v ^= crc;
		crc = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
		      crc_table[5][(v >> 16) & 0xff] ^ crc_table[4][(v >> 24) & 0xff] ^
		      crc_table[3][(v >> 32) & 0xff] ^ crc_table[2][(v >> 40) & 0xff] ^
		      crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
							    size_t n)
{
	uint64_t c = crc;

	while (n >= 3 * CRC_BLOCK) {
		uint64_t c1 = 0, c2 = 0;

		for (size_t i = 0; i < CRC_BLOCK; i += 8) {
			uint64_t v0, v1, v2;

			memcpy(&v0, p + i, 8);
			memcpy(&v1, p + CRC_BLOCK + i, 8);
			memcpy(&v2, p + 2 * CRC_BLOCK + i, 8);
			c = __builtin_ia32_crc32di(c, v0);
			c1 = __builtin_ia32_crc32di(c1, v1);
			c2 = __builtin_ia32_crc32di(c2, v2);
		}
		c = crc_shift(crc_shift((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
		p += 3 * CRC_BLOCK;
		n -= 3 * CRC_BLOCK;
	}
	while (n >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		n -= 8;
	}
	crc = (uint32_t)c;
	while (n--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

/* The portable path, whatever the CPU: for tests */
uint32_t crc32c_portable(uint32_t crc, const void *buf, size_t n)
{
	(void)pthread_once(&crc_once, crc_init);
	return ~crc32c_sw(~crc, buf, n);
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t n)
{
	(void)pthread_once(&crc_once, crc_init);
	crc = ~crc;
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc32c_hw(crc, buf, n);
#endif
	return ~crc32c_sw(crc, buf, n);
}
