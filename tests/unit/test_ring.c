// SPDX-License-Identifier: MIT
/* tests/unit/test_ring.c: the profiler's sample ring (ipc/ring.c): layout checks,
 * overrun of a reader that falls behind, and a reader racing a writer thread in
 * a small ring: torn and overwritten samples are detected and skipped, and no
 * sample it returns is anything but what was written as that sample. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ipc/ipc.h"

#define CAP IPC_RING_CAPACITY_MIN

/* Every field of sample n follows from n, so a reader can tell a mix of two. */
static void sample_of(uint64_t n, struct ipc_ring_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->time_nsec = n * 1000 + 1;
	s->pid = (uint32_t)(n % 1000 + 1);
	s->proc_index = (uint32_t)(n % 64);
	s->minor_faults = n * 3;
	s->major_faults = n * 5;
	s->minor_total = n * 7;
	s->major_total = n * 11;
	s->cpu_nsec = n * 13;
	s->interval_nsec = n * 17;
	s->util_permyriad = (uint32_t)(n % 10001);
	s->flags = 0;
	s->rss_bytes = n * 19;
	s->swap_bytes = ~n;
}

/* n from a sample's time; false if any field disagrees with sample n's. */
static bool sample_check(const struct ipc_ring_sample *s, uint64_t *ret_n)
{
	struct ipc_ring_sample want;
	uint64_t n = (s->time_nsec - 1) / 1000;

	sample_of(n, &want);
	want.seq = 2 * n + 2;
	*ret_n = n;
	return memcmp(&want, s, sizeof(want)) == 0;
}

static void *ring_new(uint32_t cap)
{
	size_t size = ipc_ring_bytes(cap);
	void *p = aligned_alloc(4096, size);

	assert_non_null(p);
	memset(p, 0, size);
	assert_int_equal(ipc_ring_init(p, size, cap, 20, 7), 0);
	return p;
}

static void test_ipc_ring_init_rejects(void **state)
{
	static uint8_t buf[IPC_RING_HEADER_BYTES + 512 * sizeof(struct ipc_ring_sample)]
		__attribute__((aligned(4096)));
	struct ipc_ring_reader r;

	assert_int_equal(ipc_ring_init(buf, sizeof(buf), 300, 20, 1), -EINVAL); /* not 2^k */
	assert_int_equal(ipc_ring_init(buf, sizeof(buf), 128, 20, 1), -EINVAL); /* too small */
	assert_int_equal(ipc_ring_init(buf, sizeof(buf), 1024, 20, 1), -EINVAL); /* no room */
	assert_int_equal(ipc_ring_init(buf, sizeof(buf), 512, 0, 1), -EINVAL);
	assert_int_equal(ipc_ring_reader_init(&r, buf, sizeof(buf)), -EBADMSG); /* no magic */
	assert_int_equal(ipc_ring_init(buf, sizeof(buf), 512, 20, 1), 0);
	assert_int_equal(ipc_ring_reader_init(&r, buf, sizeof(buf)), 0);
	assert_int_equal(r.capacity, 512);
	assert_int_equal(ipc_ring_reader_init(&r, buf, sizeof(buf) - 1), -EINVAL); /* cut */
	((struct ipc_ring_header *)buf)->version = 2;
	assert_int_equal(ipc_ring_reader_init(&r, buf, sizeof(buf)), -EPROTO);
	((struct ipc_ring_header *)buf)->version = IPC_RING_VERSION;
	((struct ipc_ring_header *)buf)->sample_bytes = 88;
	assert_int_equal(ipc_ring_reader_init(&r, buf, sizeof(buf)), -EINVAL);
}

static void test_ipc_ring_read_in_order_and_end(void **state)
{
	void *ring = ring_new(CAP);
	struct ipc_ring_reader r;
	struct ipc_ring_sample s;
	uint32_t why = 0;
	uint64_t n;

	assert_int_equal(ipc_ring_reader_init(&r, ring, ipc_ring_bytes(CAP)), 0);
	assert_int_equal(ipc_ring_read(&r, &s), 0); /* empty */
	for (uint64_t i = 0; i < 10; i++) {
		sample_of(i, &s);
		ipc_ring_write(ring, &s);
	}
	for (uint64_t i = 0; i < 10; i++) {
		assert_int_equal(ipc_ring_read(&r, &s), 1);
		assert_true(sample_check(&s, &n));
		assert_int_equal(n, i);
	}
	assert_int_equal(ipc_ring_read(&r, &s), 0);
	assert_int_equal(ipc_ring_state(&r, NULL), IPC_RING_RUNNING);
	ipc_ring_end(ring, IPC_RING_END_EXITED);
	assert_int_equal(ipc_ring_state(&r, &why), IPC_RING_ENDED);
	assert_int_equal(why, IPC_RING_END_EXITED);
	assert_int_equal(r.lost, 0);
	free(ring);
}

/* A reader that falls behind by more than the ring holds loses the oldest, says
 * how many, and goes on with the oldest sample still there. */
static void test_ipc_ring_read_overrun(void **state)
{
	void *ring = ring_new(CAP);
	struct ipc_ring_reader r, late;
	struct ipc_ring_sample s;
	uint64_t n;

	assert_int_equal(ipc_ring_reader_init(&r, ring, ipc_ring_bytes(CAP)), 0);
	for (uint64_t i = 0; i < 3 * CAP + 5; i++) {
		sample_of(i, &s);
		ipc_ring_write(ring, &s);
	}
	assert_int_equal(ipc_ring_read(&r, &s), 1);
	assert_true(sample_check(&s, &n));
	assert_int_equal(n, 2 * CAP + 5);
	assert_int_equal(r.lost, 2 * CAP + 5);
	for (uint64_t i = 1; i < CAP; i++) {
		assert_int_equal(ipc_ring_read(&r, &s), 1);
		assert_true(sample_check(&s, &n));
		assert_int_equal(n, 2 * CAP + 5 + i);
	}
	assert_int_equal(ipc_ring_read(&r, &s), 0);
	/* a reader starting late starts at the oldest still held */
	assert_int_equal(ipc_ring_reader_init(&late, ring, ipc_ring_bytes(CAP)), 0);
	assert_int_equal(late.next, 2 * CAP + 5);
	free(ring);
}

struct race {
	void *ring;
	uint64_t total;
	volatile int done;
};

static void *writer_main(void *arg)
{
	struct race *x = arg;
	struct ipc_ring_sample s;

	for (uint64_t i = 0; i < x->total; i++) {
		sample_of(i, &s);
		ipc_ring_write(x->ring, &s);
	}
	__atomic_store_n(&x->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The writer laps a slow reader many times over; every sample returned is whole
 * and comes after the one before it, and everything not returned is counted. */
static void test_ipc_ring_read_concurrent_writer(void **state)
{
	struct race x = { .ring = ring_new(CAP), .total = 4000000 };
	struct ipc_ring_reader r;
	struct ipc_ring_sample s;
	uint64_t got = 0, last = 0, n;
	bool first = true;
	pthread_t t;

	assert_int_equal(ipc_ring_reader_init(&r, x.ring, ipc_ring_bytes(CAP)), 0);
	assert_int_equal(pthread_create(&t, NULL, writer_main, &x), 0);
	while (!__atomic_load_n(&x.done, __ATOMIC_ACQUIRE) || r.next < x.total) {
		int k = ipc_ring_read(&r, &s);

		if (k == 0) {
			if (__atomic_load_n(&x.done, __ATOMIC_ACQUIRE) &&
			    r.next >= __atomic_load_n(
					      &((struct ipc_ring_header *)x.ring)->write_index,
					      __ATOMIC_ACQUIRE))
				break;
			continue;
		}
		if (!sample_check(&s, &n))
			fail_msg("sample %" PRIu64 " is not what was written (torn read returned)",
				 n);
		if (!first && n <= last)
			fail_msg("sample %" PRIu64 " after %" PRIu64, n, last);
		first = false;
		last = n;
		got++;
		/* a slow reader: copy the sample around a bit */
		for (volatile int i = 0; i < 50; i++)
			;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(got + r.lost, x.total);
	assert_true(r.lost > 0); /* it was lapped: the test exercised the overrun path */
	print_message("read %" PRIu64 ", lost %" PRIu64 " (torn %" PRIu64 ")\n", got, r.lost,
		      r.torn);
	free(x.ring);
}

/* A sample half overwritten, as a reader finds it while the writer is at it
 * (its seq odd, its fields a mix): skipped and counted, never returned. */
static void test_ipc_ring_read_half_written(void **state)
{
	void *ring = ring_new(CAP);
	struct ipc_ring_reader r;
	struct ipc_ring_sample s;
	uint64_t *slot, n;

	assert_int_equal(ipc_ring_reader_init(&r, ring, ipc_ring_bytes(CAP)), 0);
	for (uint64_t i = 0; i < 2; i++) {
		sample_of(i, &s);
		ipc_ring_write(ring, &s);
	}
	/* sample 0's slot as the writer leaves it midway through sample CAP */
	slot = (uint64_t *)((uint8_t *)ring + IPC_RING_HEADER_BYTES);
	slot[0] = 2 * CAP + 1;
	slot[3] = 12345;
	assert_int_equal(ipc_ring_read(&r, &s), 1);
	assert_true(sample_check(&s, &n));
	assert_int_equal(n, 1);
	assert_int_equal(r.lost, 1);
	free(ring);
}

/* The reader chases the oldest slot, the one the writer overwrites next: the
 * race is as close as it gets. Torn reads are detected (the count says how many
 * this run saw); no sample returned is a mix. */
static void test_ipc_ring_read_oldest_races_writer(void **state)
{
	struct race x = { .ring = ring_new(CAP), .total = 4000000 };
	const struct ipc_ring_header *h = x.ring;
	struct ipc_ring_reader r;
	struct ipc_ring_sample s;
	uint64_t got = 0, n;
	pthread_t t;

	assert_int_equal(ipc_ring_reader_init(&r, x.ring, ipc_ring_bytes(CAP)), 0);
	assert_int_equal(pthread_create(&t, NULL, writer_main, &x), 0);
	while (!__atomic_load_n(&x.done, __ATOMIC_ACQUIRE)) {
		uint64_t w = __atomic_load_n(&h->write_index, __ATOMIC_ACQUIRE);

		if (w <= CAP)
			continue;
		r.next = w - CAP;
		if (ipc_ring_read(&r, &s) == 1) {
			if (!sample_check(&s, &n))
				fail_msg("sample %" PRIu64 " is a mix of two writes", n);
			got++;
		}
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(got > 0);
	print_message("read %" PRIu64 ", torn %" PRIu64 ", lost %" PRIu64 "\n", got, r.torn,
		      r.lost);
	free(x.ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipc_ring_init_rejects),
		cmocka_unit_test(test_ipc_ring_read_in_order_and_end),
		cmocka_unit_test(test_ipc_ring_read_overrun),
		cmocka_unit_test(test_ipc_ring_read_concurrent_writer),
		cmocka_unit_test(test_ipc_ring_read_half_written),
		cmocka_unit_test(test_ipc_ring_read_oldest_races_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
