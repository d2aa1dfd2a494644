/* SPDX-License-Identifier: MIT */
/* arena/examples/arena_example.c: libarena end to end: fill a region, let it go cold,
 * compress it, read it back through pins, print the stats. Exits 1 on any mismatch. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/arena.h"

#define REGION_BYTES (16U << 20)

/* text-like content: compressible, different in every line */
static void fill(char *p, size_t n, size_t base)
{
	size_t off = 0;

	while (off < n) {
		char line[96];
		int len = snprintf(line, sizeof(line), "record %zu: status=ok temperature=%zu\n",
				   (base + off) / 64, ((base + off) * 2654435761U) % 1000);

		memcpy(p + off, line, (size_t)len < n - off ? (size_t)len : n - off);
		off += (size_t)len;
	}
}

int main(void)
{
	struct arena_config cfg;
	struct arena_stats st;
	struct arena_region *region = NULL;
	struct arena *arena = NULL;
	uint64_t freed = 0;
	char *expect = NULL, json[4096];
	void *p;
	int r, ret = 1;

	printf("libarena %s (header %d)\n", arena_version_string(), ARENA_VERSION_NUMBER);
	if (arena_version_number() != ARENA_VERSION_NUMBER) {
		fprintf(stderr, "library/header version mismatch\n");
		return 1;
	}

	arena_config_init(&cfg);
	cfg.store_capacity_bytes = 64U << 20;
	r = arena_new(&cfg, &arena);
	if (r < 0) {
		fprintf(stderr, "arena_new: %s\n", strerror(-r));
		return 1;
	}
	r = arena_region_alloc(arena, REGION_BYTES, 0, &region);
	if (r < 0) {
		fprintf(stderr, "arena_region_alloc: %s\n", strerror(-r));
		goto out;
	}

	/* write the first half (the second stays zero), keeping a copy to compare */
	expect = calloc(1, REGION_BYTES);
	if (!expect)
		goto out;
	fill(expect, REGION_BYTES / 2, 0);
	r = arena_pin(region, 0, REGION_BYTES / 2, ARENA_PIN_WRITE, &p);
	if (r < 0) {
		fprintf(stderr, "arena_pin: %s\n", strerror(-r));
		goto out;
	}
	memcpy(p, expect, REGION_BYTES / 2);
	arena_unpin(region, 0, REGION_BYTES / 2);

	/* let it go cold: a few epochs without touching it */
	for (int i = 0; i < 8; i++)
		arena_epoch_advance(arena);
	r = arena_compress_bytes(arena, 0, ARENA_COLD, NULL, &freed);
	if (r < 0) {
		fprintf(stderr, "arena_compress_bytes: %s\n", strerror(-r));
		goto out;
	}
	printf("compressed: freed %llu bytes\n", (unsigned long long)freed);

	/* read every byte back, 4 KiB at a time */
	for (size_t off = 0; off < REGION_BYTES; off += 4096) {
		r = arena_pin(region, off, 4096, ARENA_PIN_READ, &p);
		if (r < 0) {
			fprintf(stderr, "arena_pin at %zu: %s\n", off, strerror(-r));
			goto out;
		}
		if (memcmp(p, expect + off, 4096) != 0) {
			fprintf(stderr, "mismatch at offset %zu\n", off);
			arena_unpin(region, off, 4096);
			goto out;
		}
		arena_unpin(region, off, 4096);
	}

	arena_stats_get(arena, &st);
	if (arena_stats_to_json(&st, json, sizeof(json)) < 0)
		goto out;
	printf("%s\n", json);
	if (st.errors_checksum || st.errors_nomem || freed == 0) {
		fprintf(stderr, "unexpected: errors or nothing freed\n");
		goto out;
	}
	printf("ok\n");
	ret = 0;
out:
	free(expect);
	arena_region_free(region);
	arena_free(arena);
	return ret;
}
