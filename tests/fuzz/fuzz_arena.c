/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_arena.c: libFuzzer round trip: random data and operation sequences
 * (alloc/write/compress/read/discard/free) checked against a shadow copy; aborts on
 * any mismatch or unexpected error. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/arena.h"
#include "common/macro.h"
#include "tests/fuzz/fuzz-util.h"

#define SLOTS 4
#define REGION_MAX (256U << 10)
#define WRITE_MAX (20U << 10)
#define OPS_MAX 256

struct slot {
	struct arena_region *r;
	uint8_t *shadow;
	size_t size;
};

static void die(const char *what, int r)
{
	fprintf(stderr, "fuzz_arena: %s: %d\n", what, r);
	abort();
}

static void check_range(struct slot *s, size_t off, size_t len)
{
	uint8_t *p;
	int r;

	r = arena_pin(s->r, off, len, ARENA_PIN_READ, (void **)&p);
	if (r < 0)
		die("arena_pin(read)", r);
	if (memcmp(p, s->shadow + off, len) != 0)
		die("contents differ from the shadow copy", 0);
	r = arena_unpin(s->r, off, len);
	if (r < 0)
		die("arena_unpin", r);
}

/* Fill dst from the input: copied bytes, a run of one byte, zeros, or a repeated
 * snippet, so that compressible and incompressible chunks both occur. */
static void make_bytes(struct fuzz_input *in, uint8_t *dst, size_t len)
{
	uint32_t kind = fuzz_take(in, 1) % 4;

	switch (kind) {
	case 0: {
		size_t have = MIN(len, in->n);

		memcpy(dst, in->p, have);
		in->p += have;
		in->n -= have;
		memset(dst + have, 0x5a, len - have);
		break;
	}
	case 1:
		memset(dst, (int)fuzz_take(in, 1), len);
		break;
	case 2:
		memset(dst, 0, len);
		break;
	default: {
		uint8_t snip[16];
		size_t sl = 1 + fuzz_take(in, 1) % sizeof(snip);

		for (size_t i = 0; i < sl; i++)
			snip[i] = (uint8_t)fuzz_take(in, 1);
		for (size_t i = 0; i < len; i++)
			dst[i] = snip[i % sl];
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct slot slots[SLOTS] = {};
	static uint8_t buf[WRITE_MAX];
	struct arena_config cfg;
	struct arena *a = NULL;
	uint32_t cap_sel;
	int r;

	arena_config_init(&cfg);
	cfg.chunk_size_bytes = 4096U << (fuzz_take(&in, 1) % 5); /* 4..64 KiB */
	cfg.codecs = 1 + fuzz_take(&in, 1) % ARENA_CODECS_ALL;
	cfg.min_savings_permyriad = fuzz_take(&in, 1) % 3 == 0 ? 0 : 500;
	cfg.sample_interval = fuzz_take(&in, 1) % 4; /* often sample */
	cap_sel = fuzz_take(&in, 1);
	if (cap_sel & 0x80) /* both readback paths */
		cfg.flags |= ARENA_CONFIG_USERFAULTFD;
	cap_sel %= 3;
	if (cap_sel > 0)
		cfg.store_capacity_bytes =
			(cap_sel + 1) * 2 * MAX(256U << 10, 2 * cfg.chunk_size_bytes);
	r = arena_new(&cfg, &a);
	if (r < 0)
		die("arena_new", r);

	for (int op = 0; op < OPS_MAX && in.n > 0; op++) {
		struct slot *s = &slots[fuzz_take(&in, 1) % SLOTS];
		uint32_t code = fuzz_take(&in, 1) % 12;
		size_t off, len;
		uint64_t freed;

		if (!s->r && code != 0)
			continue;
		switch (code) {
		case 0: /* alloc */
			if (s->r)
				break;
			s->size = 1 + fuzz_take(&in, 3) % REGION_MAX;
			r = arena_region_alloc(a, s->size, 0, &s->r);
			if (r < 0)
				die("arena_region_alloc", r);
			s->size = arena_region_size(s->r);
			s->shadow = calloc(1, s->size);
			if (!s->shadow)
				abort();
			break;
		case 1: /* free */
			s->r = arena_region_free(s->r);
			free(s->shadow);
			s->shadow = NULL;
			break;
		case 2: { /* write */
			uint8_t *p;

			off = fuzz_take(&in, 3) % s->size;
			len = 1 + fuzz_take(&in, 2) % MIN((size_t)WRITE_MAX, s->size - off);
			make_bytes(&in, buf, len);
			r = arena_pin(s->r, off, len, ARENA_PIN_WRITE, (void **)&p);
			if (r < 0)
				die("arena_pin(write)", r);
			memcpy(p, buf, len);
			memcpy(s->shadow + off, buf, len);
			arena_unpin(s->r, off, len);
			break;
		}
		case 3: /* read */
			off = fuzz_take(&in, 3) % s->size;
			len = 1 + fuzz_take(&in, 2) % (s->size - off);
			check_range(s, off, len);
			break;
		case 4: /* region compress */
			r = arena_region_compress(s->r, 0, s->size, NULL, &freed);
			if (r < 0)
				die("arena_region_compress", r);
			break;
		case 5: /* compress bytes */
			r = arena_compress_bytes(a, fuzz_take(&in, 2) * 1024ULL,
						 (enum arena_hotness)(fuzz_take(&in, 1) % 3), NULL,
						 &freed);
			if (r < 0)
				die("arena_compress_bytes", r);
			break;
		case 6:
			for (uint32_t k = fuzz_take(&in, 1) % 8; k > 0; k--)
				arena_epoch_advance(a);
			break;
		case 7: /* discard */
			off = fuzz_take(&in, 3) % s->size;
			len = 1 + fuzz_take(&in, 3) % (s->size - off);
			r = arena_region_discard(s->r, off, len);
			if (r < 0)
				die("arena_region_discard", r);
			memset(s->shadow + off, 0, len);
			break;
		case 8: /* prefetch / hint */
			off = fuzz_take(&in, 3) % s->size;
			len = 1 + fuzz_take(&in, 3) % (s->size - off);
			r = (fuzz_take(&in, 1) & 1) ? arena_prefetch(s->r, off, len) :
						      arena_hint_will_need(s->r, off, len);
			if (r < 0)
				die("arena_prefetch", r);
			break;
		case 9: /* relax */
			r = arena_decompress_bytes(a, fuzz_take(&in, 2) * 1024ULL,
						   (enum arena_hotness)(fuzz_take(&in, 1) % 3),
						   &freed);
			if (r < 0)
				die("arena_decompress_bytes", r);
			break;
		case 10: { /* stats: the kept counters against the walk */
			struct arena_stats st, w;
			char json[4096];

			if (arena_stats_get(a, &st) < 0 || arena_stats_scan(a, &w) < 0 ||
			    arena_stats_to_json(&st, json, sizeof(json)) < 0)
				die("stats", -1);
			if (st.chunks_raw != w.chunks_raw || st.chunks_zero != w.chunks_zero ||
			    st.chunks_rejected != w.chunks_rejected ||
			    st.compressed_logical_bytes != w.compressed_logical_bytes ||
			    st.compressed_payload_bytes != w.compressed_payload_bytes ||
			    st.logical_bytes != w.logical_bytes ||
			    st.chunks_total != w.chunks_total ||
			    memcmp(st.chunks_by_codec, w.chunks_by_codec,
				   sizeof(st.chunks_by_codec)) ||
			    st.ratio_admitted_post_comp != w.ratio_admitted_post_comp)
				die("arena_stats_get() differs from arena_stats_scan()", 0);
			if (st.errors_checksum || st.errors_nomem)
				die("error counters", (int)st.errors_checksum);
			if (st.raw_bytes + st.zero_bytes + st.compressed_logical_bytes !=
			    st.logical_bytes)
				die("stats do not add up", 0);
			break;
		}
		default: /* phase */
			arena_phase_hint(a, (enum arena_phase)(fuzz_take(&in, 1) & 1));
			break;
		}
	}

	for (int i = 0; i < SLOTS; i++) {
		if (!slots[i].r)
			continue;
		check_range(&slots[i], 0, slots[i].size);
		arena_region_free(slots[i].r);
		free(slots[i].shadow);
	}
	arena_free(a);
	return 0;
}
