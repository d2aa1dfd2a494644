// SPDX-License-Identifier: MIT
/* policy/rmid-pool.c: the RMID pool: a free ring ordered by free time (oldest first),
 * quarantine by timestamp, capacity and priority. Pure: no I/O, clocks or allocation. */
#include <errno.h>
#include <string.h>

#include "policy/rmid-pool.h"

size_t rmid_pool_size(uint32_t n_max)
{
	size_t head;

	if (n_max == 0 || n_max > RMID_POOL_MAX)
		return 0;
	head = sizeof(struct rmid_pool) + ((size_t)n_max + 1) * sizeof(struct rmid_slot);
	/* the ring of uint32_t follows the slots; slots keep it 8-byte aligned */
	return head + (size_t)n_max * sizeof(uint32_t);
}

int rmid_pool_init(struct rmid_pool *p, uint32_t n_max, uint32_t capacity, uint64_t min_free_usec)
{
	if (!p || n_max == 0 || n_max > RMID_POOL_MAX)
		return -EINVAL;
	memset(p, 0, rmid_pool_size(n_max));
	p->n_max = n_max;
	p->capacity = capacity < n_max ? capacity : n_max;
	p->min_free_usec = min_free_usec;
	p->ring = (uint32_t *)(void *)&p->slot[n_max + 1];
	for (uint32_t i = 0; i < n_max; i++)
		p->ring[i] = i + 1;
	p->n_free = n_max;
	return 0;
}

static bool valid(const struct rmid_pool *p, uint32_t rmid)
{
	return p && rmid != RMID_POOL_NONE && rmid <= p->n_max;
}

/* freed less than min_free_usec before now (a clock behind the free time counts too) */
static bool quarantined(const struct rmid_pool *p, const struct rmid_slot *s, uint64_t now)
{
	return s->ever_freed && (now < s->freed_usec || now - s->freed_usec < p->min_free_usec);
}

static uint32_t ring_at(const struct rmid_pool *p, uint32_t i)
{
	return p->ring[(p->ring_head + i) % p->n_max];
}

/* Free RMIDs in quarantine at now, and the time until the first of them is free. */
static uint32_t count_quarantined(const struct rmid_pool *p, uint64_t now, uint64_t *ret_next)
{
	uint32_t n = 0;
	uint64_t next = 0;

	for (uint32_t i = 0; i < p->n_free; i++) {
		const struct rmid_slot *s = &p->slot[ring_at(p, i)];

		if (!quarantined(p, s, now))
			continue;
		if (n++ == 0)
			next = now < s->freed_usec ? p->min_free_usec :
						     s->freed_usec + p->min_free_usec - now;
	}
	if (ret_next)
		*ret_next = next;
	return n;
}

void rmid_pool_done(struct rmid_pool *p, void (*cb)(void *userdata, uint32_t rmid, uint64_t owner),
		    void *userdata)
{
	if (!p)
		return;
	for (uint32_t r = 1; r <= p->n_max; r++)
		if (p->slot[r].state == RMID_IN_USE && cb)
			cb(userdata, r, p->slot[r].owner);
	rmid_pool_init(p, p->n_max, p->capacity, p->min_free_usec);
}

uint32_t rmid_pool_find(const struct rmid_pool *p, uint64_t owner)
{
	if (!p || owner == 0)
		return RMID_POOL_NONE;
	for (uint32_t r = 1; r <= p->n_max; r++)
		if (p->slot[r].state == RMID_IN_USE && p->slot[r].owner == owner)
			return r;
	return RMID_POOL_NONE;
}

int rmid_pool_alloc(struct rmid_pool *p, uint64_t owner, uint64_t priority, uint64_t now_usec,
		    uint32_t *ret_rmid)
{
	struct rmid_slot *s;
	uint32_t r;

	if (!p || owner == 0)
		return -EINVAL;
	r = rmid_pool_find(p, owner);
	if (r != RMID_POOL_NONE) {
		if (ret_rmid)
			*ret_rmid = r;
		return -EEXIST;
	}
	if (p->in_use >= p->capacity)
		return -ENOSPC;
	/* hardware RMIDs in limbo count against capacity as long as ours are quarantined */
	if (p->in_use + count_quarantined(p, now_usec, NULL) >= p->capacity)
		return -EBUSY;
	/* the ring is in free order, so its head is the oldest and, since something is
	 * allocatable, out of quarantine */
	r = p->ring[p->ring_head];
	s = &p->slot[r];
	if (quarantined(p, s, now_usec))
		return -EBUSY; /* not reached: the count above saw it */
	p->ring_head = (p->ring_head + 1) % p->n_max;
	p->n_free--;
	p->in_use++;
	s->state = RMID_IN_USE;
	s->owner = owner;
	s->priority = priority;
	s->alloc_usec = now_usec;
	if (ret_rmid)
		*ret_rmid = r;
	return 0;
}

int rmid_pool_free(struct rmid_pool *p, uint32_t rmid, uint64_t now_usec)
{
	struct rmid_slot *s;

	if (!valid(p, rmid))
		return -EINVAL;
	s = &p->slot[rmid];
	if (s->state != RMID_IN_USE)
		return -ENOENT;
	*s = (struct rmid_slot){ .state = RMID_FREE, .ever_freed = 1, .freed_usec = now_usec };
	p->ring[(p->ring_head + p->n_free) % p->n_max] = rmid;
	p->n_free++;
	p->in_use--;
	return 0;
}

bool rmid_pool_is_allocated(const struct rmid_pool *p, uint32_t rmid)
{
	return valid(p, rmid) && p->slot[rmid].state == RMID_IN_USE;
}

int rmid_pool_info(const struct rmid_pool *p, uint32_t rmid, uint64_t now_usec,
		   struct rmid_info *ret)
{
	const struct rmid_slot *s;

	if (!valid(p, rmid) || !ret)
		return -EINVAL;
	s = &p->slot[rmid];
	*ret = (struct rmid_info){ .rmid = rmid };
	if (s->state == RMID_IN_USE) {
		ret->state = RMID_IN_USE;
		ret->owner = s->owner;
		ret->priority = s->priority;
		ret->alloc_usec = s->alloc_usec;
	} else if (quarantined(p, s, now_usec)) {
		ret->state = RMID_QUARANTINE;
		ret->quarantine_left_usec = now_usec < s->freed_usec ?
						    p->min_free_usec :
						    s->freed_usec + p->min_free_usec - now_usec;
	} else {
		ret->state = RMID_FREE;
	}
	return 0;
}

void rmid_pool_status(const struct rmid_pool *p, uint64_t now_usec, struct rmid_pool_status *ret)
{
	uint32_t q, used;

	*ret = (struct rmid_pool_status){};
	if (!p)
		return;
	q = count_quarantined(p, now_usec, &ret->next_free_usec);
	used = p->in_use + q;
	ret->capacity = p->capacity;
	ret->in_use = p->in_use;
	ret->quarantined = q;
	ret->available = used < p->capacity ? p->capacity - used : 0;
	ret->min_free_usec = p->min_free_usec;
}

void rmid_pool_set_capacity(struct rmid_pool *p, uint32_t capacity)
{
	if (p)
		p->capacity = capacity < p->n_max ? capacity : p->n_max;
}

uint32_t rmid_pool_excess(const struct rmid_pool *p)
{
	return p && p->in_use > p->capacity ? p->in_use - p->capacity : 0;
}

int rmid_pool_set_priority(struct rmid_pool *p, uint32_t rmid, uint64_t priority)
{
	if (!valid(p, rmid))
		return -EINVAL;
	if (p->slot[rmid].state != RMID_IN_USE)
		return -ENOENT;
	p->slot[rmid].priority = priority;
	return 0;
}

uint32_t rmid_pool_lowest(const struct rmid_pool *p)
{
	uint32_t best = RMID_POOL_NONE;

	if (!p)
		return RMID_POOL_NONE;
	for (uint32_t r = 1; r <= p->n_max; r++) {
		const struct rmid_slot *s = &p->slot[r], *b = &p->slot[best];

		if (s->state != RMID_IN_USE)
			continue;
		if (best == RMID_POOL_NONE || s->priority < b->priority ||
		    (s->priority == b->priority && s->alloc_usec > b->alloc_usec))
			best = r;
	}
	return best;
}

uint64_t rmid_priority(bool enrolled, uint64_t usage_bytes, int64_t growth_bytes_per_sec)
{
	const uint64_t cap = RMID_PRIORITY_ENROLLED - 1;
	uint64_t w = usage_bytes < cap ? usage_bytes : cap;

	if (growth_bytes_per_sec > 0) {
		uint64_t g = (uint64_t)growth_bytes_per_sec;

		g = g > cap / RMID_PRIORITY_GROWTH_HORIZON_SEC ?
			    cap :
			    g * RMID_PRIORITY_GROWTH_HORIZON_SEC;
		w = g > cap - w ? cap : w + g;
	}
	return enrolled ? RMID_PRIORITY_ENROLLED | w : w;
}

#define PREEMPT_MIN_MARGIN_BYTES (UINT64_C(1) << 20)

bool rmid_priority_preempts(uint64_t candidate, uint64_t holder)
{
	uint64_t cw = candidate & ~RMID_PRIORITY_ENROLLED, hw = holder & ~RMID_PRIORITY_ENROLLED;

	if ((candidate & RMID_PRIORITY_ENROLLED) != (holder & RMID_PRIORITY_ENROLLED))
		return candidate > holder;
	return cw / 2 >= hw && cw - hw >= PREEMPT_MIN_MARGIN_BYTES;
}

const char *rmid_state_to_string(uint32_t state)
{
	switch (state) {
	case RMID_FREE:
		return "free";
	case RMID_IN_USE:
		return "in-use";
	case RMID_QUARANTINE:
		return "quarantine";
	default:
		return NULL;
	}
}
