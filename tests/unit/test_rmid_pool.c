// SPDX-License-Identifier: MIT
/* tests/unit/test_rmid_pool.c: policy/rmid-pool, mirroring the prototype's RMID
 * allocator tests: init and cleanup, allocation to exhaustion, free and the minimum
 * free time, info and status, reuse order; then capacity and priority. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <errno.h>
#include <cmocka.h>

#include "policy/rmid-pool.h"

#define N 4
#define MS 1000ULL
#define MIN_FREE (2000 * MS) /* 2 s */

static struct rmid_pool *pool_new(uint32_t n_max, uint32_t capacity)
{
	struct rmid_pool *p = malloc(rmid_pool_size(n_max));

	assert_non_null(p);
	assert_int_equal(rmid_pool_init(p, n_max, capacity, MIN_FREE), 0);
	return p;
}

static unsigned released;
static uint64_t released_owners;

static void on_release(void *userdata, uint32_t rmid, uint64_t owner)
{
	released++;
	released_owners += owner;
	assert_true(rmid >= 1 && rmid <= N);
}

static void test_rmid_pool_init_done(void **state)
{
	struct rmid_pool *p = pool_new(N, N);
	struct rmid_pool_status st;
	uint32_t r;

	assert_int_equal(p->n_max, N);
	assert_int_equal(p->capacity, N);
	assert_int_equal(p->min_free_usec, MIN_FREE);
	rmid_pool_status(p, 0, &st);
	assert_int_equal(st.capacity, N);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.quarantined, 0);
	assert_int_equal(st.available, N);
	assert_int_equal(st.min_free_usec, MIN_FREE);

	/* bad sizes are refused; capacity is clamped to n_max */
	assert_int_equal(rmid_pool_size(0), 0);
	assert_int_equal(rmid_pool_size(RMID_POOL_MAX + 1), 0);
	assert_int_equal(rmid_pool_init(p, 0, 1, MIN_FREE), -EINVAL);
	assert_int_equal(rmid_pool_init(NULL, N, N, MIN_FREE), -EINVAL);
	assert_int_equal(rmid_pool_init(p, N, 100, MIN_FREE), 0);
	assert_int_equal(p->capacity, N);

	/* cleanup releases every holder, through the callback, and leaves it fresh */
	assert_int_equal(rmid_pool_alloc(p, 10, 0, 1000, &r), 0);
	assert_int_equal(rmid_pool_alloc(p, 20, 0, 1000, &r), 0);
	released = 0;
	released_owners = 0;
	rmid_pool_done(p, on_release, NULL);
	assert_int_equal(released, 2);
	assert_int_equal(released_owners, 30);
	rmid_pool_status(p, 1000, &st);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.quarantined, 0);
	assert_int_equal(st.available, N);
	assert_false(rmid_pool_is_allocated(p, 1));
	free(p);
}

static void test_rmid_pool_alloc_exhaustion(void **state)
{
	struct rmid_pool *p = pool_new(N, N);
	uint64_t now = 1000 * MS;
	uint32_t r = 99;

	/* RMIDs 1..N in order, as the prototype's allocator hands them out */
	for (uint32_t i = 1; i <= N; i++) {
		assert_int_equal(rmid_pool_alloc(p, 1000 + i, 0, now, &r), 0);
		assert_int_equal(r, i);
	}
	r = 99;
	assert_int_equal(rmid_pool_alloc(p, 2000, 0, now, &r), -ENOSPC);
	assert_int_equal(r, 99); /* untouched on failure */
	/* an owner holds at most one */
	assert_int_equal(rmid_pool_alloc(p, 1002, 0, now, &r), -EEXIST);
	assert_int_equal(r, 2);
	assert_int_equal(rmid_pool_alloc(p, 0, 0, now, &r), -EINVAL);
	free(p);
}

static void test_rmid_pool_free_min_free_time(void **state)
{
	struct rmid_pool *p = pool_new(N, N);
	struct rmid_pool_status st;
	uint64_t now = 1000 * MS;
	uint32_t got[N], r;

	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(rmid_pool_alloc(p, 100 + i, 0, now, &got[i]), 0);
	assert_int_equal(rmid_pool_free(p, got[0], now), 0);
	/* immediately, and one microsecond short of the minimum: refused, EBUSY */
	assert_int_equal(rmid_pool_alloc(p, 200, 0, now, &r), -EBUSY);
	assert_int_equal(rmid_pool_alloc(p, 200, 0, now + MIN_FREE - 1, &r), -EBUSY);
	rmid_pool_status(p, now + MIN_FREE - 1, &st);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(st.available, 0);
	assert_int_equal(st.next_free_usec, 1);
	/* at the minimum free time: the freed RMID, again */
	assert_int_equal(rmid_pool_alloc(p, 200, 0, now + MIN_FREE, &r), 0);
	assert_int_equal(r, got[0]);

	/* double free and foreign numbers are refused */
	assert_int_equal(rmid_pool_free(p, got[1], now), 0);
	assert_int_equal(rmid_pool_free(p, got[1], now), -ENOENT);
	assert_int_equal(rmid_pool_free(p, 0, now), -EINVAL);
	assert_int_equal(rmid_pool_free(p, N + 1, now), -EINVAL);
	/* a clock behind the free time keeps it in quarantine */
	assert_int_equal(rmid_pool_alloc(p, 300, 0, now - 1, &r), -EBUSY);
	free(p);
}

static void test_rmid_pool_info_status(void **state)
{
	struct rmid_pool *p = pool_new(N, N);
	struct rmid_pool_status st;
	struct rmid_info info;
	uint64_t now = 5000 * MS;
	uint32_t r;

	/* invalid RMIDs have no info (0 is reserved, as in the prototype) */
	assert_int_equal(rmid_pool_info(p, 0, now, &info), -EINVAL);
	assert_int_equal(rmid_pool_info(p, N + 1, now, &info), -EINVAL);
	assert_false(rmid_pool_is_allocated(p, 0));
	assert_false(rmid_pool_is_allocated(p, N + 1));

	assert_int_equal(rmid_pool_alloc(p, 1234, 77, now, &r), 0);
	assert_true(rmid_pool_is_allocated(p, r));
	assert_int_equal(rmid_pool_find(p, 1234), r);
	assert_int_equal(rmid_pool_find(p, 4321), RMID_POOL_NONE);
	assert_int_equal(rmid_pool_info(p, r, now, &info), 0);
	assert_int_equal(info.rmid, r);
	assert_int_equal(info.state, RMID_IN_USE);
	assert_int_equal(info.owner, 1234);
	assert_int_equal(info.priority, 77);
	assert_int_equal(info.alloc_usec, now);
	assert_int_equal(rmid_pool_set_priority(p, r, 78), 0);
	assert_int_equal(rmid_pool_info(p, r, now, &info), 0);
	assert_int_equal(info.priority, 78);
	assert_int_equal(rmid_pool_set_priority(p, r + 1, 1), -ENOENT);

	assert_int_equal(rmid_pool_free(p, r, now), 0);
	assert_false(rmid_pool_is_allocated(p, r));
	assert_int_equal(rmid_pool_info(p, r, now + 500 * MS, &info), 0);
	assert_int_equal(info.state, RMID_QUARANTINE);
	assert_int_equal(info.owner, 0);
	assert_int_equal(info.quarantine_left_usec, MIN_FREE - 500 * MS);
	assert_int_equal(rmid_pool_info(p, r, now + MIN_FREE, &info), 0);
	assert_int_equal(info.state, RMID_FREE);
	assert_string_equal(rmid_state_to_string(RMID_QUARANTINE), "quarantine");
	assert_null(rmid_state_to_string(99));

	rmid_pool_status(p, now + 500 * MS, &st);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(st.available, N - 1);
	assert_int_equal(st.next_free_usec, MIN_FREE - 500 * MS);
	free(p);
}

static void test_rmid_pool_reuse_order(void **state)
{
	struct rmid_pool *p = pool_new(N, N);
	uint64_t t = 1000 * MS;
	uint32_t r;

	for (uint32_t i = 1; i <= N; i++)
		assert_int_equal(rmid_pool_alloc(p, i, 0, t, &r), 0);
	/* free 3, then 1, then 4: they come back in that order, the oldest first */
	assert_int_equal(rmid_pool_free(p, 3, t), 0);
	assert_int_equal(rmid_pool_free(p, 1, t + 10 * MS), 0);
	assert_int_equal(rmid_pool_free(p, 4, t + 20 * MS), 0);
	t += 20 * MS + MIN_FREE;
	assert_int_equal(rmid_pool_alloc(p, 11, 0, t, &r), 0);
	assert_int_equal(r, 3);
	assert_int_equal(rmid_pool_alloc(p, 12, 0, t, &r), 0);
	assert_int_equal(r, 1);
	assert_int_equal(rmid_pool_alloc(p, 13, 0, t, &r), 0);
	assert_int_equal(r, 4);
	assert_int_equal(rmid_pool_alloc(p, 14, 0, t, &r), -ENOSPC);

	/* with spare never-used RMIDs, those go first; a quarantined one waits */
	free(p);
	p = pool_new(8, 8);
	t = 0;
	assert_int_equal(rmid_pool_alloc(p, 1, 0, t, &r), 0);
	assert_int_equal(r, 1);
	assert_int_equal(rmid_pool_free(p, 1, t), 0);
	assert_int_equal(rmid_pool_alloc(p, 2, 0, t, &r), 0);
	assert_int_equal(r, 2);
	free(p);
}

static void test_rmid_pool_capacity_counts_quarantine(void **state)
{
	struct rmid_pool *p = pool_new(8, 2);
	uint64_t t = 0;
	uint32_t a, b, r;

	assert_int_equal(rmid_pool_alloc(p, 1, 0, t, &a), 0);
	assert_int_equal(rmid_pool_alloc(p, 2, 0, t, &b), 0);
	assert_int_equal(rmid_pool_alloc(p, 3, 0, t, &r), -ENOSPC);
	/* a never-used RMID exists, but the freed one's hardware RMID is in limbo */
	assert_int_equal(rmid_pool_free(p, a, t), 0);
	assert_int_equal(rmid_pool_alloc(p, 3, 0, t + 1, &r), -EBUSY);
	assert_int_equal(rmid_pool_alloc(p, 3, 0, t + MIN_FREE, &r), 0);

	/* shrinking frees nothing, it reports the excess */
	rmid_pool_set_capacity(p, 1);
	assert_int_equal(rmid_pool_excess(p), 1);
	assert_int_equal(rmid_pool_alloc(p, 4, 0, t + MIN_FREE, &r), -ENOSPC);
	rmid_pool_set_capacity(p, 100);
	assert_int_equal(p->capacity, 8);
	assert_int_equal(rmid_pool_excess(p), 0);
	free(p);
}

static void test_rmid_pool_lowest(void **state)
{
	struct rmid_pool *p = pool_new(N, N);
	uint32_t a, b, c;

	assert_int_equal(rmid_pool_lowest(p), RMID_POOL_NONE);
	assert_int_equal(rmid_pool_alloc(p, 1, 500, 10, &a), 0);
	assert_int_equal(rmid_pool_alloc(p, 2, 100, 20, &b), 0);
	assert_int_equal(rmid_pool_alloc(p, 3, 100, 30, &c), 0);
	/* lowest priority; of equals the newest, so older holders keep theirs */
	assert_int_equal(rmid_pool_lowest(p), c);
	assert_int_equal(rmid_pool_free(p, c, 40), 0);
	assert_int_equal(rmid_pool_lowest(p), b);
	free(p);
}

static void test_rmid_priority_order(void **state)
{
	const uint64_t M = 1 << 20;

	/* enrolled above any cgroup, however large */
	assert_true(rmid_priority(true, 0, 0) > rmid_priority(false, UINT64_MAX, INT64_MAX));
	/* size, then a minute of growth */
	assert_true(rmid_priority(false, 200 * M, 0) > rmid_priority(false, 100 * M, 0));
	assert_true(rmid_priority(false, 100 * M, (int64_t)M) > rmid_priority(false, 150 * M, 0));
	assert_int_equal(rmid_priority(false, 100 * M, -(int64_t)M),
			 rmid_priority(false, 100 * M, 0));
	/* saturates within the class */
	assert_int_equal(rmid_priority(false, UINT64_MAX, INT64_MAX), RMID_PRIORITY_ENROLLED - 1);
	assert_int_equal(rmid_priority(true, UINT64_MAX, INT64_MAX), UINT64_MAX);
}

static void test_rmid_priority_preempts_margin(void **state)
{
	const uint64_t M = 1 << 20;

	assert_true(rmid_priority_preempts(rmid_priority(true, 0, 0),
					   rmid_priority(false, 1000 * M, 0)));
	assert_false(rmid_priority_preempts(rmid_priority(false, 1000 * M, 0),
					    rmid_priority(true, 0, 0)));
	/* within a class: twice the weight, not a little more */
	assert_false(rmid_priority_preempts(rmid_priority(false, 150 * M, 0),
					    rmid_priority(false, 100 * M, 0)));
	assert_true(rmid_priority_preempts(rmid_priority(false, 200 * M, 0),
					   rmid_priority(false, 100 * M, 0)));
	/* tiny units never trade places over a few bytes */
	assert_false(rmid_priority_preempts(rmid_priority(false, 4096, 0),
					    rmid_priority(false, 1024, 0)));
	assert_false(
		rmid_priority_preempts(rmid_priority(false, M, 0), rmid_priority(false, M, 0)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rmid_pool_init_done),
		cmocka_unit_test(test_rmid_pool_alloc_exhaustion),
		cmocka_unit_test(test_rmid_pool_free_min_free_time),
		cmocka_unit_test(test_rmid_pool_info_status),
		cmocka_unit_test(test_rmid_pool_reuse_order),
		cmocka_unit_test(test_rmid_pool_capacity_counts_quarantine),
		cmocka_unit_test(test_rmid_pool_lowest),
		cmocka_unit_test(test_rmid_priority_order),
		cmocka_unit_test(test_rmid_priority_preempts_margin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
