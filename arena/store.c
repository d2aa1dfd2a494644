/* SPDX-License-Identifier: MIT */
/* arena/store.c: the compressed store: size-aligned mmap'd segments filled log-style,
 * a capacity cap with one segment kept for compaction, and compaction by evacuation. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "arena/arena-internal.h"
#include "common/macro.h"

#define PAGE_BYTES 4096U

static inline struct store_seg *obj_seg(const struct store *s, const void *obj)
{
	return (struct store_seg *)((uintptr_t)obj & ~(uintptr_t)(s->seg_bytes - 1));
}

int store_init(struct store *s, uint64_t seg_bytes, uint64_t cap_bytes)
{
	int r;

	*s = (struct store){ .seg_bytes = seg_bytes, .cap_bytes = cap_bytes };
	r = pthread_mutex_init(&s->lock, NULL);
	return r > 0 ? -r : 0;
}

static uint64_t page_round(uint64_t n)
{
	return (n + PAGE_BYTES - 1) & ~(uint64_t)(PAGE_BYTES - 1);
}

/* Every change of a segment's written size goes through here, so that the store's
 * resident size (each segment's written part, page-rounded) is kept, not summed. */
static void seg_set_used(struct store *s, struct store_seg *seg, uint32_t used)
{
	s->resident_bytes += page_round(used) - page_round(seg->used);
	seg->used = used;
}

static void seg_unmap(struct store *s, struct store_seg *seg)
{
	uint32_t idx = seg->index;

	seg_set_used(s, seg, 0);
	/* swap-remove from the table */
	s->segs[idx] = s->segs[--s->n_segs];
	s->segs[idx]->index = idx;
	if (s->head == seg)
		s->head = NULL;
	munmap(seg, s->seg_bytes);
}

void store_done(struct store *s)
{
	while (s->n_segs > 0)
		seg_unmap(s, s->segs[s->n_segs - 1]);
	free(s->segs);
	s->segs = NULL;
	pthread_mutex_destroy(&s->lock);
}

/* Map a new segment (aligned to its size) and make it the head. reserve allows the
 * last segment under the cap, which only compaction may use. */
static int seg_new(struct store *s, bool reserve)
{
	uint64_t limit = s->cap_bytes, mapped = (uint64_t)s->n_segs * s->seg_bytes;
	struct store_seg *seg;
	uint8_t *p, *aligned;
	size_t len = s->seg_bytes * 2;

	if (limit > 0) {
		if (!reserve)
			limit = limit >= s->seg_bytes ? limit - s->seg_bytes : 0;
		if (mapped + s->seg_bytes > limit)
			return -ENOSPC;
	}
	if (s->n_segs == s->n_alloc) {
		uint32_t n = s->n_alloc ? s->n_alloc * 2 : 16;
		struct store_seg **t = reallocarray(s->segs, n, sizeof(*t));

		if (!t)
			return -ENOMEM;
		s->segs = t;
		s->n_alloc = n;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	aligned = (uint8_t *)(((uintptr_t)p + s->seg_bytes - 1) & ~(uintptr_t)(s->seg_bytes - 1));
	if (aligned > p)
		munmap(p, aligned - p);
	if (aligned + s->seg_bytes < p + len)
		munmap(aligned + s->seg_bytes, p + len - (aligned + s->seg_bytes));
	/* the store is written once per object and read on readback: small pages keep
	 * its resident size exact */
	(void)madvise(aligned, s->seg_bytes, MADV_NOHUGEPAGE);

	seg = (struct store_seg *)aligned;
	*seg = (struct store_seg){
		.magic = STORE_SEG_MAGIC,
		.index = s->n_segs,
	};
	seg_set_used(s, seg, STORE_SEG_HDR);
	s->segs[s->n_segs++] = seg;
	s->head = seg;
	return 0;
}

static int alloc_locked(struct store *s, struct chunk *owner, uint32_t payload, bool reserve,
			struct store_seg *avoid, void **ret_obj)
{
	uint32_t bytes = store_obj_bytes(payload);
	void *o;
	int r;

	if (bytes > s->seg_bytes - STORE_SEG_HDR)
		return -E2BIG;
	if (!s->head || s->head == avoid || s->head->used + bytes > s->seg_bytes) {
		/* an empty segment can become the head again instead of a new mapping */
		struct store_seg *reuse = NULL;

		if (s->empty_segs > 0)
			for (uint32_t i = 0; i < s->n_segs; i++)
				if (s->segs[i]->live == 0 && s->segs[i] != s->head &&
				    s->segs[i] != avoid && !s->segs[i]->evacuating) {
					reuse = s->segs[i];
					break;
				}
		if (reuse) {
			s->empty_segs--;
			seg_set_used(s, reuse, STORE_SEG_HDR);
			/* the old head keeps its objects; if it was empty it counts as such */
			if (s->head && s->head->live == 0)
				s->empty_segs++;
			s->head = reuse;
		} else {
			struct store_seg *old = s->head;

			r = seg_new(s, reserve);
			if (r < 0)
				return r;
			if (old && old->live == 0)
				s->empty_segs++;
		}
	}
	o = (uint8_t *)s->head + s->head->used;
	store_obj_set_word(o, (uintptr_t)owner);
	seg_set_used(s, s->head, s->head->used + bytes);
	s->head->live += bytes;
	s->live_bytes += bytes;
	*ret_obj = o;
	return 0;
}

static uint64_t resident_locked(const struct store *s)
{
	return s->resident_bytes;
}

/* Objects moved per store-lock hold: a pin freeing its object never waits for more
 * than this many copies (~32 x 1.5 KiB here, a few microseconds). */
#define EVACUATE_BATCH 32

/*
 * The chunk an owner word names, if it is this object's owner. A word damaged in the
 * store (a stray write by the process: the store is plain memory) may point anywhere,
 * and dereferencing it, or try-locking it, would crash or write into whatever is
 * there: tests/fuzz/fuzz_store found compaction doing the first. So the candidate is
 * read through process_vm_readv(), which fails with EFAULT instead of faulting, and
 * accepted only if it points back at this very object (a chunk has at most one, and
 * its obj changes only under the store lock, which we hold). One system call per
 * live object moved, next to a copy of the object. Where the call is filtered
 * (ENOSYS, EPERM: a seccomp sandbox) the word is trusted as before.
 */
static bool owner_of(const void *o, uint64_t w, pid_t self, struct chunk **ret)
{
	static _Atomic bool no_readv;
	struct chunk copy;
	struct iovec local = { &copy, sizeof(copy) },
		     remote = { (void *)(uintptr_t)w, sizeof(copy) };

	if (w == 0 || (w & (_Alignof(struct chunk) - 1)) != 0)
		return false;
	if (!no_readv && process_vm_readv(self, &local, 1, &remote, 1, 0) != sizeof(copy)) {
		if (errno != ENOSYS && errno != EPERM)
			return false;
		no_readv = true;
	}
	if (no_readv)
		memcpy(&copy, (const void *)(uintptr_t)w, sizeof(copy));
	if (copy.obj != o || copy.obj_size == 0)
		return false;
	*ret = (struct chunk *)(uintptr_t)w;
	return true;
}

/*
 * Move every live object of victim whose owner can be locked without waiting into
 * the head. Returns true when the victim is left empty. try-lock only: the caller
 * holds the store lock, and lock order is chunk -> store. The lock is dropped every
 * EVACUATE_BATCH objects; victim->evacuating keeps others from reusing or unmapping
 * the segment meanwhile.
 */
static bool evacuate(struct store *s, struct store_seg *victim)
{
	uint32_t off = STORE_SEG_HDR, batch = 0;
	pid_t self = getpid();
	bool all = true;

	victim->evacuating = 1;
	while (off < victim->used) {
		uint8_t *o = (uint8_t *)victim + off;
		uint64_t w = store_obj_word(o);
		uint32_t bytes;
		struct chunk *c;
		void *n;

		if (w & STORE_OBJ_DEAD) {
			bytes = (uint32_t)(w >> 1);
			c = NULL;
		} else if (owner_of(o, w, self, &c)) {
			/* the owner's obj_size changes only under the store lock, which we
			 * hold: it is this object's size even while the owner is busy */
			bytes = store_obj_bytes(CHUNK_PEEK(c, obj_size));
		} else {
			bytes = 0;
			c = NULL;
		}
		if (bytes < sizeof(struct store_obj) || bytes > victim->used - off) {
			/* a damaged walk (only a corrupted store can make one): leave the
			 * segment where it is rather than step into the unknown */
			all = false;
			break;
		}
		off += bytes;
		if (!c)
			continue;
		if (!chunk_trylock(c)) {
			all = false;
			continue;
		}
		/* the owner's lock makes o stable; compaction may use the reserve */
		if (c->obj != o || alloc_locked(s, c, c->obj_size, true, victim, &n) < 0) {
			chunk_unlock(c);
			all = false;
			continue;
		}
		memcpy(n, o, bytes); /* the owner word too */
		c->obj = n;
		store_obj_set_word(o, ((uint64_t)bytes << 1) | STORE_OBJ_DEAD);
		victim->live -= bytes;
		s->live_bytes -= bytes;
		s->moved_bytes += bytes;
		chunk_unlock(c);
		if (++batch % EVACUATE_BATCH == 0) {
			pthread_mutex_unlock(&s->lock);
			pthread_mutex_lock(&s->lock);
		}
	}
	victim->evacuating = 0;
	return all && victim->live == 0;
}

/* Unmap segments without live objects; the head too once the store is empty. */
static void release_empty_locked(struct store *s)
{
	bool all = s->live_bytes == 0;

	if (s->empty_segs == 0 && !(all && s->head))
		return;
	for (uint32_t i = 0; i < s->n_segs;) {
		struct store_seg *seg = s->segs[i];

		if (seg->live == 0 && (seg != s->head || all) && !seg->evacuating) {
			seg_unmap(s, seg); /* moves the last entry to i */
			continue;
		}
		i++;
	}
	s->empty_segs = 0;
}

/*
 * Compact: evacuate the sparsest non-head segments while fragmentation stays above
 * the bound (or, with need_segment, until one segment's worth of cap is free).
 * Evacuating a segment with live bytes L costs L bytes of copying and frees
 * seg_bytes - L; only segments at most half live are taken, so every pass frees at
 * least as much as it copies.
 */
static void compact_locked(struct store *s, uint32_t max_frag_permyriad, bool need_segment)
{
	uint32_t max_rounds = s->n_segs + 1; /* each round unmaps one segment */
	bool progress = false;

	release_empty_locked(s);
	for (uint32_t rounds = 0; rounds < max_rounds; rounds++) {
		uint64_t res = resident_locked(s);
		struct store_seg *victim = NULL;

		if (need_segment) {
			if (s->cap_bytes == 0 ||
			    (uint64_t)(s->n_segs + 2) * s->seg_bytes <= s->cap_bytes)
				break;
		} else if (res == 0 || (res - s->live_bytes) * 10000 <= res * max_frag_permyriad) {
			break;
		}
		for (uint32_t i = 0; i < s->n_segs; i++) {
			struct store_seg *seg = s->segs[i];

			if (seg == s->head || seg->live * 2 > s->seg_bytes || seg->evacuating)
				continue;
			if (!victim || seg->live < victim->live)
				victim = seg;
		}
		if (!victim)
			break;
		if (!evacuate(s, victim))
			break;
		/* the victim is empty now */
		seg_unmap(s, victim);
		progress = true;
		/* let waiting pins in between segments */
		pthread_mutex_unlock(&s->lock);
		pthread_mutex_lock(&s->lock);
	}
	if (progress)
		s->compactions++;
}

int store_alloc(struct store *s, struct chunk *owner, uint32_t payload, void **ret_obj)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = alloc_locked(s, owner, payload, false, NULL, ret_obj);
	if (r == -ENOSPC) {
		compact_locked(s, 0, true);
		r = alloc_locked(s, owner, payload, false, NULL, ret_obj);
	}
	if (r == 0) {
		/* under the store lock: a segment walk sizes the object by it */
		owner->obj = *ret_obj;
		CHUNK_SET(owner, obj_size, payload);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void store_free(struct store *s, struct chunk *owner)
{
	void *o = owner->obj;
	struct store_seg *seg = obj_seg(s, o);
	uint32_t bytes = store_obj_bytes(owner->obj_size);

	pthread_mutex_lock(&s->lock);
	store_obj_set_word(o, ((uint64_t)bytes << 1) | STORE_OBJ_DEAD);
	owner->obj = NULL;
	CHUNK_SET(owner, obj_size, 0);
	seg->live -= bytes;
	s->live_bytes -= bytes;
	/* unmapping waits for store_maintain(): a pin should not pay for munmap */
	if (seg->live == 0 && seg != s->head)
		s->empty_segs++;
	pthread_mutex_unlock(&s->lock);
}

void store_maintain(struct store *s, uint32_t max_frag_permyriad)
{
	pthread_mutex_lock(&s->lock);
	compact_locked(s, max_frag_permyriad, false);
	pthread_mutex_unlock(&s->lock);
}

void store_stats_get(struct store *s, struct store_stats *ret)
{
	pthread_mutex_lock(&s->lock);
	/* segments emptied by readbacks wait for maintenance; a snapshot should show
	 * what the process holds, so give them back now (cheap when there are none) */
	release_empty_locked(s);
	*ret = (struct store_stats){
		.mapped_bytes = (uint64_t)s->n_segs * s->seg_bytes,
		.resident_bytes = resident_locked(s),
		.live_bytes = s->live_bytes,
		.segments = s->n_segs,
		.compactions = s->compactions,
		.moved_bytes = s->moved_bytes,
	};
	pthread_mutex_unlock(&s->lock);
}
