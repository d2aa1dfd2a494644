/* SPDX-License-Identifier: MIT */
/* tests/unit/test_arena_uffd.c: libarena's readback through a userfaultfd: which path
 * is in use, accesses outside a pin (from user space and from the kernel), damaged
 * copies, zero chunks under read and write pins, fork, and concurrent faults. */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena/arena-internal.h"
#include "arena/arena.h"
#include "common/macro.h"
#include "unit/unit-util.h"

#define PAGE 4096U

/* Text-like bytes: compressible, different on every page. */
static void fill_text(uint8_t *p, size_t n, uint64_t seed)
{
	static const char *const words[] = { "memory ", "arena ",   "chunk ",
					     "cold ",	"user=42 ", "\n" };
	size_t off = 0;

	while (off < n) {
		const char *w;
		size_t l;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		w = words[(seed >> 33) % ELEMENTSOF(words)];
		l = MIN(strlen(w), n - off);
		memcpy(p + off, w, l);
		off += l;
	}
}

static struct arena *make(uint32_t chunk, uint32_t flags)
{
	struct arena_config cfg;
	struct arena *a = NULL;

	arena_config_init(&cfg);
	cfg.chunk_size_bytes = chunk;
	cfg.flags = flags;
	assert_int_equal(arena_new(&cfg, &a), 0);
	return a;
}

static struct arena_stats stats(struct arena *a)
{
	struct arena_stats s;

	assert_int_equal(arena_stats_get(a, &s), 0);
	return s;
}

/* An arena with one region holding n bytes of text, all compressed. */
static struct arena_region *compressed_region(struct arena *a, uint8_t *data, size_t n)
{
	struct arena_region *r;

	assert_int_equal(arena_region_alloc(a, n, 0, &r), 0);
	fill_text(data, n, 7);
	assert_int_equal(arena_write(r, 0, data, n), 0);
	assert_int_equal(arena_region_compress(r, 0, n, NULL, NULL), ARENA_COMPRESS_DONE);
	for (size_t off = 0; off < n; off += a->cfg.chunk_size_bytes)
		assert_int_equal(arena_test_chunk_state(r, off), CHUNK_COMPRESSED);
	return r;
}

/* The region's address, for accesses outside a pin (pinning its first page, which
 * comes back RAW). */
static uint8_t *region_base(struct arena_region *r)
{
	uint8_t *base;

	assert_int_equal(arena_pin(r, 0, PAGE, ARENA_PIN_READ, (void **)&base), 0);
	assert_int_equal(arena_unpin(r, 0, PAGE), 0);
	return base;
}

/* This machine runs the tests as root on Linux 6.x: with the flag the userfaultfd
 * path must be in use; without it, not (reason 0: not asked for). */
static void test_uffd_in_use_only_with_the_flag(void **state)
{
	struct arena *a = make(PAGE, ARENA_CONFIG_USERFAULTFD), *b = make(PAGE, 0);
	struct arena_stats s = stats(a), t = stats(b);
	char json[4096];

	assert_int_equal(s.readback_userfaultfd, 1);
	assert_int_equal(s.readback_userfaultfd_errno, 0);
	assert_int_equal(t.readback_userfaultfd, 0);
	assert_int_equal(t.readback_userfaultfd_errno, 0);
	assert_true(arena_stats_to_json(&s, json, sizeof(json)) > 0);
	assert_non_null(strstr(json, "\"readback_userfaultfd\":1"));
	assert_non_null(strstr(json, "\"unpinned_faults\":0"));
	arena_free(a);
	arena_free(b);
}

/* A thread reading a compressed chunk without a pin sees its bytes (it used to see
 * zeros), the chunk comes back RAW, and the handler counted the fault. */
static void test_uffd_unpinned_read_gets_the_bytes(void **state)
{
	const size_t n = 64 * PAGE;
	struct arena *a = make(PAGE, ARENA_CONFIG_USERFAULTFD);
	uint8_t *data = malloc(n);
	struct arena_region *r = compressed_region(a, data, n);
	uint8_t *base;
	struct arena_stats s;

	base = region_base(r);
	/* pages 1..63 are still compressed; read every one straight from the region */
	assert_memory_equal(base + PAGE, data + PAGE, n - PAGE);
	s = stats(a);
	assert_int_equal(s.unpinned_faults, 63);
	assert_int_equal(s.errors_checksum, 0);
	for (size_t off = 0; off < n; off += PAGE)
		assert_int_equal(arena_test_chunk_state(r, off), CHUNK_RAW);
	arena_region_free(r);
	arena_free(a);
	free(data);
}

/* Writing a never-pinned ZERO chunk without a pin keeps the bytes: the chunk is RAW
 * after the handler zero-filled it, so a compression pass stores what was written. */
static void test_uffd_unpinned_write_to_zero_chunk_kept(void **state)
{
	const size_t n = 16 * PAGE;
	struct arena *a = make(PAGE, ARENA_CONFIG_USERFAULTFD);
	struct arena_region *r;
	uint8_t *base, got[PAGE];

	assert_int_equal(arena_region_alloc(a, n, 0, &r), 0);
	base = region_base(r);
	assert_int_equal(arena_test_chunk_state(r, 5 * PAGE), CHUNK_ZERO);
	memset(base + 5 * PAGE + 100, 0x5a, 200);
	assert_int_equal(arena_test_chunk_state(r, 5 * PAGE), CHUNK_RAW);
	assert_int_equal(arena_region_compress(r, 0, n, NULL, NULL), ARENA_COMPRESS_DONE);
	assert_int_equal(arena_read(r, 5 * PAGE, got, PAGE), 0);
	for (size_t i = 0; i < PAGE; i++)
		assert_int_equal(got[i], i >= 100 && i < 300 ? 0x5a : 0);
	assert_true(stats(a).unpinned_faults >= 1);
	arena_region_free(r);
	arena_free(a);
}

/* The kernel reading a compressed chunk in a system call (write(2) from the region
 * into a pipe) gets the bytes too: the handler serves kernel-mode faults. */
static void test_uffd_kernel_access_gets_the_bytes(void **state)
{
	const size_t n = 8 * PAGE;
	struct arena *a = make(PAGE, ARENA_CONFIG_USERFAULTFD);
	uint8_t *data = malloc(n), *base, got[PAGE];
	struct arena_region *r = compressed_region(a, data, n);
	int fd[2];

	base = region_base(r);
	assert_int_equal(pipe(fd), 0);
	assert_int_equal(write(fd[1], base + 3 * PAGE, PAGE), (ssize_t)PAGE);
	assert_int_equal(read(fd[0], got, PAGE), (ssize_t)PAGE);
	assert_memory_equal(got, data + 3 * PAGE, PAGE);
	assert_int_equal(arena_test_chunk_state(r, 3 * PAGE), CHUNK_RAW);
	close(fd[0]);
	close(fd[1]);
	arena_region_free(r);
	arena_free(a);
	free(data);
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, sig);
}

/* A damaged stored copy touched without a pin: the access gets SIGBUS (the page is
 * poisoned), never wrong bytes; a pin still reports -EBADMSG; discarding the chunk
 * makes it usable again. */
static void test_uffd_unpinned_damaged_copy_sigbus(void **state)
{
	const size_t n = 8 * PAGE;
	struct arena *a = make(PAGE, ARENA_CONFIG_USERFAULTFD);
	uint8_t *data = malloc(n), *base, *payload;
	struct arena_region *r = compressed_region(a, data, n);
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	volatile uint8_t seen = 0xee;
	uint32_t size;
	void *p;

	base = region_base(r);
	assert_int_equal(arena_test_stored_payload(r, 2 * PAGE, &payload, &size), 0);
	payload[size / 2] ^= 0x10;

	assert_int_equal(sigaction(SIGBUS, &sa, &old), 0);
	if (sigsetjmp(bus_jmp, 1) == 0) {
		seen = base[2 * PAGE + 10];
		sigaction(SIGBUS, &old, NULL);
		fail_msg("read a damaged chunk without a fault: 0x%02x", seen);
	}
	sigaction(SIGBUS, &old, NULL);
	assert_int_equal(seen, 0xee);
	assert_true(stats(a).errors_checksum >= 1);
	assert_int_equal(arena_test_chunk_state(r, 2 * PAGE), CHUNK_COMPRESSED);
	assert_int_equal(arena_pin(r, 2 * PAGE, 1, ARENA_PIN_READ, &p), -EBADMSG);
	/* the neighbours are untouched */
	assert_memory_equal(base + 3 * PAGE, data + 3 * PAGE, PAGE);
	/* discarded, it reads as zeros, through a pin (the poison is gone) */
	assert_int_equal(arena_region_discard(r, 2 * PAGE, PAGE), 0);
	assert_int_equal(arena_pin(r, 2 * PAGE, PAGE, ARENA_PIN_READ, &p), 0);
	for (size_t i = 0; i < PAGE; i++)
		assert_int_equal(((uint8_t *)p)[i], 0);
	assert_int_equal(arena_unpin(r, 2 * PAGE, PAGE), 0);
	arena_region_free(r);
	arena_free(a);
	free(data);
}

/* A read pin of never-touched memory maps the zero page (RSS stays); a write pin
 * gets real pages (no copy-on-write fault per page later). */
static void test_uffd_zero_chunks_read_and_write_pins(void **state)
{
	const size_t n = 32U << 20, chunk = 64U << 10;
	struct arena *a = make(chunk, ARENA_CONFIG_USERFAULTFD);
	struct arena_region *r;
	uint64_t before, mid, after;
	uint8_t *p;

	assert_int_equal(arena_region_alloc(a, n, 0, &r), 0);
	before = unit_rss_bytes();
	assert_int_equal(arena_pin(r, 0, n, ARENA_PIN_READ, (void **)&p), 0);
	for (size_t off = 0; off < n; off += PAGE)
		assert_int_equal(p[off], 0);
	mid = unit_rss_bytes();
	assert_int_equal(arena_unpin(r, 0, n), 0);
	print_message("read pin of %zu MiB: rss %+.1f MiB\n", n >> 20,
		      ((double)mid - (double)before) / 1048576.0);
	assert_true(mid < before + (2U << 20));

	assert_int_equal(arena_region_discard(r, 0, n), 0);
	assert_int_equal(arena_pin(r, 0, n, ARENA_PIN_WRITE, (void **)&p), 0);
	after = unit_rss_bytes();
	print_message("write pin of %zu MiB: rss %+.1f MiB\n", n >> 20,
		      ((double)after - (double)mid) / 1048576.0);
	assert_true(after >= mid + n / 10 * 9);
	for (size_t off = 0; off < n; off += PAGE)
		assert_int_equal(p[off], 0);
	memset(p + 12345, 0x77, 3 * PAGE);
	assert_int_equal(arena_unpin(r, 0, n), 0);
	assert_int_equal(arena_region_compress(r, 0, n, NULL, NULL), ARENA_COMPRESS_DONE);
	assert_int_equal(arena_pin(r, 0, n, ARENA_PIN_READ, (void **)&p), 0);
	for (size_t i = 0; i < n; i += 97)
		assert_int_equal(p[i], i >= 12345 && i < 12345 + 3 * PAGE ? 0x77 : 0);
	assert_int_equal(arena_unpin(r, 0, n), 0);
	assert_int_equal(stats(a).unpinned_faults, 0);
	arena_region_free(r);
	arena_free(a);
}

/* A forked child's copy of the arena reads compressed chunks on the plain path (the
 * userfaultfd belongs to the parent's address space) and frees the arena without
 * waiting for a handler thread that is not there; the parent is unaffected. */
static void test_uffd_fork_child_uses_plain_path(void **state)
{
	const size_t n = 32 * PAGE;
	struct arena *a = make(PAGE, ARENA_CONFIG_USERFAULTFD);
	uint8_t *data = malloc(n);
	struct arena_region *r = compressed_region(a, data, n);
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t got[PAGE];
		struct arena_stats s;

		alarm(20); /* a hang would be the bug */
		if (arena_stats_get(a, &s) < 0 || s.readback_userfaultfd != 0)
			_exit(10);
		for (size_t off = 0; off < n; off += PAGE)
			if (arena_read(r, off, got, PAGE) < 0 || memcmp(got, data + off, PAGE))
				_exit(11);
		arena_free(a);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the child filled nothing here: every chunk is still compressed */
	for (size_t off = 0; off < n; off += PAGE)
		assert_int_equal(arena_test_chunk_state(r, off), CHUNK_COMPRESSED);
	for (size_t off = 0; off < n; off += PAGE) {
		uint8_t got[PAGE];

		assert_int_equal(arena_read(r, off, got, PAGE), 0);
		assert_memory_equal(got, data + off, PAGE);
	}
	assert_int_equal(stats(a).readback_userfaultfd, 1);
	arena_region_free(r);
	arena_free(a);
	free(data);
}

struct toucher {
	const uint8_t *base, *data;
	size_t n;
	uint64_t seed;
	int rounds; /* passes over the region */
	int bad;
};

static void *toucher_main(void *arg)
{
	struct toucher *t = arg;

	for (int round = 0; round < MAX(t->rounds, 1); round++)
		for (size_t k = 0; k < t->n / PAGE; k++) {
			size_t page = (k * 7 + t->seed + (size_t)round) % (t->n / PAGE);

			if (memcmp(t->base + page * PAGE, t->data + page * PAGE, PAGE) != 0)
				t->bad++;
		}
	return NULL;
}

/* Four threads fault on the same compressed chunks at once, without pins, while the
 * main thread pins some of them: every read sees the right bytes. */
static void test_uffd_concurrent_unpinned_faults(void **state)
{
	const size_t n = 256 * PAGE;
	struct arena *a = make(PAGE, ARENA_CONFIG_USERFAULTFD);
	uint8_t *data = malloc(n), *base;
	struct arena_region *r = compressed_region(a, data, n);
	struct toucher t[4];
	pthread_t th[4];

	base = region_base(r);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct toucher){ .base = base, .data = data, .n = n, .seed = (uint64_t)i };
		assert_int_equal(pthread_create(&th[i], NULL, toucher_main, &t[i]), 0);
	}
	for (size_t off = 0; off < n; off += 5 * PAGE) {
		uint8_t got[PAGE];

		assert_int_equal(arena_read(r, off, got, PAGE), 0);
		assert_memory_equal(got, data + off, PAGE);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].bad, 0);
	}
	assert_int_equal(stats(a).errors_checksum, 0);
	arena_region_free(r);
	arena_free(a);
	free(data);
}

/* Readers outside a pin race compression passes that keep taking the same chunks'
 * pages away: every read still sees the right bytes (from the pages, or from the
 * handler's decompression once they are gone), and nothing is counted as an error. */
static void test_uffd_unpinned_reads_race_compression(void **state)
{
	const size_t n = 128 * PAGE;
	struct arena *a = make(PAGE, ARENA_CONFIG_USERFAULTFD);
	uint8_t *data = malloc(n), *base;
	struct arena_region *r = compressed_region(a, data, n);
	struct toucher t[3];
	pthread_t th[3];
	struct arena_stats s;

	base = region_base(r);
	for (int i = 0; i < 3; i++) {
		t[i] = (struct toucher){
			.base = base, .data = data, .n = n, .seed = (uint64_t)i * 41, .rounds = 40
		};
		assert_int_equal(pthread_create(&th[i], NULL, toucher_main, &t[i]), 0);
	}
	for (int pass = 0; pass < 200; pass++) {
		int ret = arena_region_compress(r, 0, n, NULL, NULL);

		assert_true(ret == ARENA_COMPRESS_DONE || ret == ARENA_COMPRESS_PARTIAL);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].bad, 0);
	}
	s = stats(a);
	print_message("unpinned faults served: %" PRIu64 "\n", s.unpinned_faults);
	assert_true(s.unpinned_faults > 0);
	assert_int_equal(s.errors_checksum + s.errors_nomem, 0);
	for (size_t off = 0; off < n; off += PAGE) {
		uint8_t got[PAGE];

		assert_int_equal(arena_read(r, off, got, PAGE), 0);
		assert_memory_equal(got, data + off, PAGE);
	}
	arena_region_free(r);
	arena_free(a);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uffd_in_use_only_with_the_flag),
		cmocka_unit_test(test_uffd_unpinned_read_gets_the_bytes),
		cmocka_unit_test(test_uffd_unpinned_write_to_zero_chunk_kept),
		cmocka_unit_test(test_uffd_kernel_access_gets_the_bytes),
		cmocka_unit_test(test_uffd_unpinned_damaged_copy_sigbus),
		cmocka_unit_test(test_uffd_zero_chunks_read_and_write_pins),
		cmocka_unit_test(test_uffd_fork_child_uses_plain_path),
		cmocka_unit_test(test_uffd_concurrent_unpinned_faults),
		cmocka_unit_test(test_uffd_unpinned_reads_race_compression),
	};

	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
