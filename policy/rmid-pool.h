/* SPDX-License-Identifier: MIT */
/* policy/rmid-pool.h: the RMID pool: which monitored units hold one of the few resctrl
 * monitoring groups, who comes first, and when a freed one may be used again. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every resctrl monitoring group takes one hardware RMID, and there are few of them
 * (info/L3_MON/num_rmids, commonly 64..512 per L3 domain, one of them the default
 * group's). memctld makes one group per monitored unit; this pool decides which units
 * get one. An "RMID" here is one group memctld may hold; the kernel picks the hardware
 * number at mkdir.
 *
 * Rules (the user-space successor of the prototype's kernel RMID allocator):
 *   - RMIDs are numbered 1..n_max; 0 is never a valid RMID (RMID_POOL_NONE);
 *   - at most `capacity` are in use or in quarantine at once: capacity is num_rmids
 *     less the default group and the groups memctld did not make, and may change;
 *   - a freed RMID is in quarantine for min_free_usec before it may be allocated
 *     again, like the kernel's limbo list (a freed hardware RMID still tags cache
 *     lines of its previous user; the kernel hands it out again only once its
 *     occupancy fell below max_threshold_occupancy, checking once a second), so a
 *     new unit never starts with the previous one's occupancy and memctld does not
 *     spend mkdir calls the kernel would refuse with EBUSY;
 *   - reuse order: the RMID freed longest ago first (the kernel's rmid_free_lru);
 *     never-used RMIDs first of all, lowest number first;
 *   - priority: a 64-bit key (rmid_priority()); enrolled workloads above every
 *     cgroup, then by size and growth. A candidate displaces the lowest holder only
 *     when rmid_priority_preempts() says so (a clear margin, so it never flaps).
 * Nothing here does I/O, reads a clock or allocates: the caller passes CLOCK_MONOTONIC
 * microseconds and the memory (rmid_pool_size()).
 */

#define RMID_POOL_NONE 0U
#define RMID_POOL_MAX 65536U /* largest n_max accepted */

enum rmid_state {
	RMID_FREE = 0, /* may be allocated */
	RMID_IN_USE = 1,
	RMID_QUARANTINE = 2, /* freed less than min_free_usec ago */
};

struct rmid_slot {
	uint64_t owner; /* the unit's key while in use (never 0), else 0 */
	uint64_t priority; /* while in use */
	uint64_t alloc_usec; /* when allocated (in use) */
	uint64_t freed_usec; /* when last freed (valid if ever_freed) */
	uint32_t state; /* RMID_IN_USE, or RMID_FREE for a slot on the free ring */
	uint32_t ever_freed;
};

struct rmid_pool {
	uint32_t n_max; /* RMIDs 1..n_max exist */
	uint32_t capacity; /* <= n_max */
	uint64_t min_free_usec;
	uint32_t in_use;
	uint32_t n_free; /* entries on the free ring (n_max - in_use) */
	uint32_t ring_head; /* index into ring of the oldest free RMID */
	uint32_t reserved;
	uint32_t *ring; /* n_max entries after slot[], free RMIDs by free time */
	struct rmid_slot slot[]; /* n_max + 1 entries; slot[0] unused */
};

struct rmid_info {
	uint32_t rmid;
	uint32_t state; /* enum rmid_state, as of now */
	uint64_t owner; /* 0 unless in use */
	uint64_t priority;
	uint64_t alloc_usec; /* in use: since when */
	uint64_t quarantine_left_usec; /* in quarantine: how long still */
};

struct rmid_pool_status {
	uint32_t capacity;
	uint32_t in_use;
	uint32_t quarantined; /* freed less than min_free_usec ago */
	uint32_t available; /* may be allocated now: capacity - in_use - quarantined, >= 0 */
	uint64_t next_free_usec; /* time until the next quarantined RMID is free; 0 if none */
	uint64_t min_free_usec;
};

/* Bytes a pool of n_max RMIDs needs (header, slots and free ring); 0 if n_max is 0 or
 * above RMID_POOL_MAX. */
size_t rmid_pool_size(uint32_t n_max);

/*
 * Set up a pool in memory of rmid_pool_size(n_max) bytes (suitably aligned, e.g. from
 * malloc): every RMID free and allocatable at once, capacity clamped to n_max.
 * Returns 0, or -EINVAL (n_max 0 or above RMID_POOL_MAX, NULL pool).
 */
int rmid_pool_init(struct rmid_pool *p, uint32_t n_max, uint32_t capacity, uint64_t min_free_usec);

/* Release every RMID in use, calling cb (may be NULL) with each RMID and owner first,
 * and leave the pool as rmid_pool_init() made it. */
void rmid_pool_done(struct rmid_pool *p, void (*cb)(void *userdata, uint32_t rmid, uint64_t owner),
		    void *userdata);

/*
 * Allocate an RMID for owner (nonzero) at time now. Returns 0 and *ret_rmid, or
 *   -EINVAL  owner 0
 *   -EEXIST  owner already holds one (*ret_rmid gets it)
 *   -ENOSPC  exhausted: capacity RMIDs are in use
 *   -EBUSY   the rest are in quarantine; rmid_pool_status().next_free_usec says when
 */
int rmid_pool_alloc(struct rmid_pool *p, uint64_t owner, uint64_t priority, uint64_t now_usec,
		    uint32_t *ret_rmid);

/* Free rmid at now; it is in quarantine until now + min_free_usec. Returns 0, -EINVAL
 * (not an RMID of the pool), -ENOENT (not in use). */
int rmid_pool_free(struct rmid_pool *p, uint32_t rmid, uint64_t now_usec);

/* The RMID owner holds, or RMID_POOL_NONE. */
uint32_t rmid_pool_find(const struct rmid_pool *p, uint64_t owner);

bool rmid_pool_is_allocated(const struct rmid_pool *p, uint32_t rmid);

/* State of one RMID at now. Returns 0, or -EINVAL (0 or above n_max). */
int rmid_pool_info(const struct rmid_pool *p, uint32_t rmid, uint64_t now_usec,
		   struct rmid_info *ret);

void rmid_pool_status(const struct rmid_pool *p, uint64_t now_usec, struct rmid_pool_status *ret);

/* Change the capacity (clamped to n_max). Nothing is freed: when in_use exceeds the new
 * capacity, rmid_pool_excess() says how many holders the caller should release,
 * lowest priority first (rmid_pool_lowest()). */
void rmid_pool_set_capacity(struct rmid_pool *p, uint32_t capacity);
uint32_t rmid_pool_excess(const struct rmid_pool *p);

/* Update the priority of an RMID in use. Returns 0, -EINVAL, -ENOENT (not in use). */
int rmid_pool_set_priority(struct rmid_pool *p, uint32_t rmid, uint64_t priority);

/* The RMID in use with the lowest priority (of equals, the most recently allocated),
 * or RMID_POOL_NONE when none is in use. */
uint32_t rmid_pool_lowest(const struct rmid_pool *p);

/*
 * Priority key: enrolled workloads (bit 63) above every cgroup; within a class the
 * weight is usage plus a minute of growth (bytes), "the largest or fastest-growing"
 * first. Saturates, never wraps.
 */
#define RMID_PRIORITY_ENROLLED (UINT64_C(1) << 63)
#define RMID_PRIORITY_GROWTH_HORIZON_SEC 60
uint64_t rmid_priority(bool enrolled, uint64_t usage_bytes, int64_t growth_bytes_per_sec);

/* Whether a unit of priority candidate should take the RMID of a holder of priority
 * holder: a higher class always; within a class only at twice the holder's weight
 * (and at least 1 MiB more), so units of similar size never trade places. */
bool rmid_priority_preempts(uint64_t candidate, uint64_t holder);

const char *rmid_state_to_string(uint32_t state);
