/* SPDX-License-Identifier: MIT */
/* ipc/ring.c: the profiler's shared sample ring (layout in ipc/ipc.h and
 * docs/protocol.md): one writer, any number of readers that never block it. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/macro.h"
#include "ipc/ipc.h"

_Static_assert(sizeof(struct ipc_ring_header) == 1160, "ipc_ring_header layout");
_Static_assert(sizeof(struct ipc_ring_header) <= IPC_RING_HEADER_BYTES, "header fits its page");
_Static_assert(sizeof(struct ipc_ring_proc) == 16, "ipc_ring_proc layout");
_Static_assert(sizeof(struct ipc_ring_sample) == 96, "ipc_ring_sample layout");
_Static_assert(sizeof(struct ipc_ring_sample) % 8 == 0, "samples are copied by 8-byte words");
_Static_assert(sizeof(struct ipc_ctl_profile) == 280, "ipc_ctl_profile layout");
_Static_assert(sizeof(struct ipc_ctl_profile_reply) == 32, "ipc_ctl_profile_reply layout");
_Static_assert(sizeof(struct ipc_ctl_profile_id) == 8, "ipc_ctl_profile_id layout");

#define SAMPLE_WORDS (sizeof(struct ipc_ring_sample) / 8)

static bool capacity_ok(uint32_t c)
{
	return c >= IPC_RING_CAPACITY_MIN && c <= IPC_RING_CAPACITY_MAX && (c & (c - 1)) == 0;
}

size_t ipc_ring_bytes(uint32_t capacity)
{
	return IPC_RING_HEADER_BYTES + (size_t)capacity * sizeof(struct ipc_ring_sample);
}

static uint64_t *slot_words(const void *base, uint32_t capacity, uint64_t n)
{
	return (uint64_t *)((uint8_t *)base + IPC_RING_HEADER_BYTES +
			    (size_t)(n & (capacity - 1)) * sizeof(struct ipc_ring_sample));
}

int ipc_ring_init(void *base, size_t size, uint32_t capacity, uint32_t hz, uint64_t profile_id)
{
	struct ipc_ring_header *h = base;

	if (!base || !capacity_ok(capacity) || size < ipc_ring_bytes(capacity) || hz == 0)
		return -EINVAL;
	h->version = IPC_RING_VERSION;
	h->header_bytes = IPC_RING_HEADER_BYTES;
	h->sample_bytes = sizeof(struct ipc_ring_sample);
	h->capacity = capacity;
	h->hz = hz;
	h->profile_id = profile_id;
	h->interval_nsec = 1000000000ULL / hz;
	/* magic last: a header with it is whole */
	__atomic_store_n(&h->magic, IPC_RING_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

void ipc_ring_write(void *base, const struct ipc_ring_sample *s)
{
	struct ipc_ring_header *h = base;
	uint64_t n = h->write_index; /* the one writer: no one else changes it */
	uint64_t *w = slot_words(base, h->capacity, n);
	uint64_t src[SAMPLE_WORDS];

	memcpy(src, s, sizeof(src));
	/* odd: a reader that sees it (or sees it change) drops what it copied; the
	 * release fence orders this store before the data stores below */
	__atomic_store_n(&w[0], 2 * n + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (size_t i = 1; i < SAMPLE_WORDS; i++)
		__atomic_store_n(&w[i], src[i], __ATOMIC_RELAXED);
	__atomic_store_n(&w[0], 2 * n + 2, __ATOMIC_RELEASE);
	__atomic_store_n(&h->write_index, n + 1, __ATOMIC_RELEASE);
}

void ipc_ring_end(void *base, uint32_t reason)
{
	struct ipc_ring_header *h = base;

	h->end_reason = reason;
	__atomic_store_n(&h->state, IPC_RING_ENDED, __ATOMIC_RELEASE);
}

int ipc_ring_reader_init(struct ipc_ring_reader *r, const void *base, size_t size)
{
	const struct ipc_ring_header *h = base;
	uint64_t w;

	if (!r || !base || size < sizeof(*h))
		return -EINVAL;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != IPC_RING_MAGIC)
		return -EBADMSG;
	if (h->version != IPC_RING_VERSION)
		return -EPROTO;
	if (h->header_bytes != IPC_RING_HEADER_BYTES ||
	    h->sample_bytes != sizeof(struct ipc_ring_sample) || !capacity_ok(h->capacity) ||
	    size < ipc_ring_bytes(h->capacity) || h->n_procs > IPC_PROFILE_PIDS_MAX)
		return -EINVAL;
	w = __atomic_load_n(&h->write_index, __ATOMIC_ACQUIRE);
	*r = (struct ipc_ring_reader){
		.base = base,
		.size = size,
		.capacity = h->capacity,
		.sample_bytes = h->sample_bytes,
		.next = w > h->capacity ? w - h->capacity : 0,
	};
	return 0;
}

int ipc_ring_read(struct ipc_ring_reader *r, struct ipc_ring_sample *ret)
{
	const struct ipc_ring_header *h = (const void *)r->base;

	/* each pass either returns or moves next on: at most capacity + 1 passes */
	for (;;) {
		uint64_t w = __atomic_load_n(&h->write_index, __ATOMIC_ACQUIRE);
		uint64_t want, s1, s2, buf[SAMPLE_WORDS];
		const uint64_t *src;

		if (r->next >= w)
			return 0;
		if (w - r->next > r->capacity) {
			/* lapped: everything older than the last capacity samples is gone */
			r->lost += w - r->capacity - r->next;
			r->next = w - r->capacity;
		}
		src = slot_words(r->base, r->capacity, r->next);
		want = 2 * r->next + 2;
		s1 = __atomic_load_n(&src[0], __ATOMIC_ACQUIRE);
		if (s1 != want) {
			/* write_index said it was complete, so a later sample is being
			 * (or was) written over it */
			r->lost++;
			r->next++;
			continue;
		}
		for (size_t i = 1; i < SAMPLE_WORDS; i++)
			buf[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&src[0], __ATOMIC_RELAXED);
		if (s2 != s1) {
			r->torn++;
			r->lost++;
			r->next++;
			continue;
		}
		buf[0] = s1;
		memcpy(ret, buf, sizeof(*ret));
		r->next++;
		return 1;
	}
}

uint32_t ipc_ring_state(const struct ipc_ring_reader *r, uint32_t *ret_end_reason)
{
	const struct ipc_ring_header *h = (const void *)r->base;
	uint32_t st = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);

	if (ret_end_reason)
		*ret_end_reason = h->end_reason;
	return st;
}
