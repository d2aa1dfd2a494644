// SPDX-License-Identifier: MIT
/* daemon/eventlog.c: two rings of ipc_event_entry records (system, user) with
 * one id sequence, and a token bucket per uid for what users make it log. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/eventlog.h"

#define TOKEN_MILLI 1000U

static uint64_t monotonic_usec(void *userdata)
{
	return now_usec(CLOCK_MONOTONIC);
}

static void ring_init(struct eventlog_ring *r, struct ipc_event_entry *entries, uint32_t capacity)
{
	r->entries = entries;
	r->capacity = capacity;
	r->start = 0;
	r->count = 0;
}

/* The i-th oldest entry, i < count. */
static const struct ipc_event_entry *ring_at(const struct eventlog_ring *r, uint32_t i)
{
	return &r->entries[(r->start + i) % r->capacity];
}

static struct ipc_event_entry *ring_push(struct eventlog_ring *r)
{
	struct ipc_event_entry *e;

	if (r->count == r->capacity) {
		/* full: the oldest of this ring makes room, never the other ring's */
		e = &r->entries[r->start];
		r->start = (r->start + 1) % r->capacity;
	} else {
		e = &r->entries[(r->start + r->count) % r->capacity];
		r->count++;
	}
	return e;
}

/* Index of the first entry with id > since_id (count if none): ids in a ring
 * grow from oldest to newest. */
static uint32_t ring_lower_bound(const struct eventlog_ring *r, uint64_t since_id)
{
	uint32_t lo = 0, hi = r->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ring_at(r, mid)->id <= since_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void eventlog_init(struct eventlog *l)
{
	/* Everything but the entries: a slot is always written before it is
	 * read, and leaving the 540 KB of them untouched keeps them out of
	 * memctld's RSS until events fill them (+404 KiB at start otherwise). */
	memset(l->buckets, 0, sizeof(l->buckets));
	memset(&l->overflow, 0, sizeof(l->overflow));
	l->suppressed_total = 0;
	l->clock_userdata = NULL;
	ring_init(&l->system, l->system_entries, EVENTLOG_SYSTEM_CAPACITY);
	ring_init(&l->user, l->user_entries, EVENTLOG_USER_CAPACITY);
	l->next_id = 1;
	l->clock_usec = monotonic_usec;
}

static uint64_t append(struct eventlog *l, uint32_t uid, const struct ipc_event_entry *src)
{
	struct eventlog_ring *r = uid == EVENTLOG_SYSTEM ? &l->system : &l->user;
	struct ipc_event_entry *e = ring_push(r);

	*e = *src;
	e->id = l->next_id++;
	e->time_usec = now_usec(CLOCK_REALTIME);
	e->uid = uid;
	/* the wire format requires NUL-terminated strings */
	e->text[sizeof(e->text) - 1] = '\0';
	e->comm[sizeof(e->comm) - 1] = '\0';
	e->cgroup[sizeof(e->cgroup) - 1] = '\0';
	return e->id;
}

static void bucket_refill(struct eventlog_bucket *b, uint64_t now)
{
	uint64_t max = (uint64_t)EVENTLOG_USER_BURST * TOKEN_MILLI, add;

	uint64_t msec;

	if (now <= b->refill_usec)
		return;
	/* whole milliseconds only, the rest stays for the next refill: a uid
	 * calling every 1.5 ms must not lose a third of its refill */
	msec = (now - b->refill_usec) / USEC_PER_MSEC;
	add = msec * EVENTLOG_USER_RATE_PER_SEC; /* milli-events: rate/s = rate/1000 per ms */
	if (b->tokens_milli + add >= max) {
		b->tokens_milli = (uint32_t)max;
		b->refill_usec = now;
		return;
	}
	b->tokens_milli += (uint32_t)add;
	b->refill_usec += msec * USEC_PER_MSEC;
}

static void bucket_reset(struct eventlog_bucket *b, uint32_t uid, uint64_t now)
{
	*b = (struct eventlog_bucket){
		.uid = uid,
		.used = true,
		.tokens_milli = EVENTLOG_USER_BURST * TOKEN_MILLI,
		.refill_usec = now,
	};
}

/* Full again and nothing to report: forgetting it loses nothing. */
static bool bucket_idle(struct eventlog_bucket *b, uint64_t now)
{
	bucket_refill(b, now);
	return b->suppressed == 0 && b->tokens_milli >= EVENTLOG_USER_BURST * TOKEN_MILLI;
}

static struct eventlog_bucket *bucket_get(struct eventlog *l, uint32_t uid, uint64_t now)
{
	struct eventlog_bucket *free_slot = NULL, *idle = NULL;

	for (size_t i = 0; i < ELEMENTSOF(l->buckets); i++) {
		struct eventlog_bucket *b = &l->buckets[i];

		if (b->used && b->uid == uid)
			return b;
		if (!b->used && !free_slot)
			free_slot = b;
	}
	if (!free_slot) {
		for (size_t i = 0; i < ELEMENTSOF(l->buckets) && !idle; i++)
			if (bucket_idle(&l->buckets[i], now))
				idle = &l->buckets[i];
		free_slot = idle;
	}
	if (!free_slot) {
		/* every slot is a uid being limited right now: the rest share one */
		if (!l->overflow.used)
			bucket_reset(&l->overflow, uid, now);
		return &l->overflow;
	}
	bucket_reset(free_slot, uid, now);
	return free_slot;
}

static void notice_emit(struct eventlog *l, struct eventlog_bucket *b)
{
	struct ipc_event_entry e = {
		.kind = IPC_EVENT_EVENTS_SUPPRESSED,
		.value = (int64_t)b->suppressed,
	};
	uint32_t uid = b == &l->overflow ? b->first_uid : b->uid;

	snprintf(e.text, sizeof(e.text), "%" PRIu64 " events from uid %u%s suppressed (over %u/s)",
		 b->suppressed, uid, b == &l->overflow ? " and others" : "",
		 (unsigned)EVENTLOG_USER_RATE_PER_SEC);
	append(l, uid, &e);
	b->suppressed = 0;
}

static void flush_bucket(struct eventlog *l, struct eventlog_bucket *b, uint64_t now)
{
	if (b->used && b->suppressed > 0 &&
	    now - b->window_start_usec >= EVENTLOG_SUPPRESS_WINDOW_USEC)
		notice_emit(l, b);
}

void eventlog_flush(struct eventlog *l)
{
	uint64_t now = l->clock_usec(l->clock_userdata);

	for (size_t i = 0; i < ELEMENTSOF(l->buckets); i++)
		flush_bucket(l, &l->buckets[i], now);
	flush_bucket(l, &l->overflow, now);
}

/* Whether uid may log one more event now; counts the drop if not. */
static bool admit(struct eventlog *l, uint32_t uid)
{
	struct eventlog_bucket *b;
	uint64_t now;

	if (uid == EVENTLOG_SYSTEM || uid == 0)
		return true;
	now = l->clock_usec(l->clock_userdata);
	b = bucket_get(l, uid, now);
	flush_bucket(l, b, now);
	bucket_refill(b, now);
	if (b->tokens_milli >= TOKEN_MILLI) {
		b->tokens_milli -= TOKEN_MILLI;
		return true;
	}
	if (b->suppressed++ == 0) {
		b->window_start_usec = now;
		b->first_uid = uid;
	}
	l->suppressed_total++;
	return false;
}

uint64_t eventlog_add_entry(struct eventlog *l, uint32_t uid, const struct ipc_event_entry *e)
{
	if (!admit(l, uid))
		return 0;
	return append(l, uid, e);
}

uint64_t eventlog_add_entry_for(struct eventlog *l, uint32_t subject_uid,
				const struct ipc_event_entry *e)
{
	if (!admit(l, subject_uid))
		return 0;
	return append(l, EVENTLOG_SYSTEM, e);
}

uint64_t eventlog_add(struct eventlog *l, uint32_t uid, uint32_t kind, uint32_t pid, int64_t value,
		      const char *fmt, ...)
{
	struct ipc_event_entry e = {
		.kind = kind,
		.pid = pid,
		.value = value,
	};
	va_list ap;

	/* decide before formatting: a flood costs no vsnprintf */
	if (!admit(l, uid))
		return 0;
	va_start(ap, fmt);
	vsnprintf(e.text, sizeof(e.text), fmt, ap);
	va_end(ap);
	return append(l, uid, &e);
}

uint32_t eventlog_since(const struct eventlog *l, uint64_t since_id, struct ipc_event_entry *out,
			uint32_t max)
{
	uint32_t i = ring_lower_bound(&l->system, since_id);
	uint32_t j = ring_lower_bound(&l->user, since_id);
	uint32_t n = 0;

	while (n < max && (i < l->system.count || j < l->user.count)) {
		const struct ipc_event_entry *a = i < l->system.count ? ring_at(&l->system, i) :
									NULL;
		const struct ipc_event_entry *b = j < l->user.count ? ring_at(&l->user, j) : NULL;

		if (a && (!b || a->id < b->id)) {
			out[n++] = *a;
			i++;
		} else {
			out[n++] = *b;
			j++;
		}
	}
	return n;
}
