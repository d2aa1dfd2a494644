/* SPDX-License-Identifier: MIT */
/* daemon/eventlog.h: the bounded log of notable daemon events behind `memctl
 * events`. Every event says who caused it; what users cause is rate-limited
 * per uid and can never push out what the kernel side reported. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ipc/ipc.h"

/*
 * Two rings, one id sequence:
 *
 * - the system ring holds events nobody can make the daemon log at will:
 *   the kernel's (lost records, OOM kills, growth detections, cgroup
 *   pressure) and the daemon's own (a reload). Caused by EVENTLOG_SYSTEM.
 * - the user ring holds events some uid caused through a socket, or that
 *   concern its enrolled workload: enrolling and unenrolling (the requester),
 *   an enrolled process exiting, saying BYE, closing its channel, the
 *   commands sent to it, its acks, timeouts and dropped commands (its owner:
 *   their number grows with what that user runs), and the EVENTS_SUPPRESSED
 *   notices.
 *
 * Each ring drops its own oldest entry when full, so a flood in one never
 * evicts the other. Ids come from one counter and only grow; eventlog_since()
 * merges both rings by id, so paging with `since_id = largest id seen` stays
 * exact (an id that was evicted, or never given out, is simply absent).
 *
 * Rate limit: a token bucket per uid, EVENTLOG_USER_BURST events deep and
 * refilled at EVENTLOG_USER_RATE_PER_SEC. Root (uid 0) and EVENTLOG_SYSTEM
 * are exempt. An event over the limit is dropped (eventlog_add returns 0) and
 * counted; one EVENTS_SUPPRESSED event per uid says how many were dropped,
 * EVENTLOG_SUPPRESS_WINDOW_USEC after the first drop of a window (emitted by
 * the next eventlog_add() or eventlog_flush() after the window ends), so a
 * sustained flood costs one entry per window, not one per event.
 *
 * The uid table holds EVENTLOG_UIDS_MAX uids. When it is full, a slot whose
 * bucket is full again (nothing to remember: a new bucket starts full) is
 * reused; when there is none, every further uid shares one overflow bucket,
 * and its notice reads "N events from uid U and others suppressed".
 */
#define EVENTLOG_SYSTEM_CAPACITY 256
#define EVENTLOG_USER_CAPACITY 1024
#define EVENTLOG_CAPACITY (EVENTLOG_SYSTEM_CAPACITY + EVENTLOG_USER_CAPACITY)

/* The uid of an event nobody's request caused (= IPC_EVENT_UID_SYSTEM). */
#define EVENTLOG_SYSTEM IPC_EVENT_UID_SYSTEM

#define EVENTLOG_USER_BURST 64
#define EVENTLOG_USER_RATE_PER_SEC 1
#define EVENTLOG_SUPPRESS_WINDOW_USEC (5 * UINT64_C(1000000))
#define EVENTLOG_UIDS_MAX 64

struct eventlog_ring {
	struct ipc_event_entry *entries; /* capacity slots */
	uint32_t capacity;
	uint32_t start; /* slot of the oldest entry */
	uint32_t count;
};

struct eventlog_bucket {
	uint32_t uid;
	bool used;
	uint32_t tokens_milli; /* thousandths of an event */
	uint64_t refill_usec; /* CLOCK_MONOTONIC of the last refill */
	uint64_t suppressed; /* dropped in the current window */
	uint64_t window_start_usec; /* first drop of the window, when suppressed > 0 */
	uint32_t first_uid; /* overflow bucket: the first uid it dropped */
};

struct eventlog {
	struct eventlog_ring system, user;
	struct ipc_event_entry system_entries[EVENTLOG_SYSTEM_CAPACITY];
	struct ipc_event_entry user_entries[EVENTLOG_USER_CAPACITY];
	uint64_t next_id; /* id of the next event; the first is 1 */
	struct eventlog_bucket buckets[EVENTLOG_UIDS_MAX];
	struct eventlog_bucket overflow; /* uids beyond a full table */
	uint64_t suppressed_total; /* all events ever dropped by the rate limit */
	/* CLOCK_MONOTONIC in usec for the rate limit; tests may replace it */
	uint64_t (*clock_usec)(void *userdata);
	void *clock_userdata;
};

void eventlog_init(struct eventlog *l);

/*
 * Log an event caused by uid (a user's uid, 0 for root, or EVENTLOG_SYSTEM
 * for the kernel side and the daemon itself). pid is the process concerned
 * (0 if none); value is kind-specific; text is printf-formatted and truncated
 * to fit. Returns the event's id (> 0), or 0 when uid is over its rate and
 * the event was dropped (and counted; see above). Never fails otherwise.
 */
uint64_t eventlog_add(struct eventlog *l, uint32_t uid, uint32_t kind, uint32_t pid, int64_t value,
		      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * The same with every field of struct ipc_event_entry the caller wants: e's
 * kind, pid, value, text, comm, cgroup, cgroup_id (and any field appended
 * later) are copied; id, time_usec and uid are set here. Strings in e must be
 * NUL-terminated within their fields. Returns as eventlog_add().
 */
uint64_t eventlog_add_entry(struct eventlog *l, uint32_t uid, const struct ipc_event_entry *e);

/*
 * A kernel-side event that subject_uid's processes brought about (an OOM kill
 * of its process, a growth detection of its process): caused by the system
 * and kept in the system ring, but admitted against subject_uid's token
 * bucket like that user's own events, so a process respawning into a small
 * cgroup cannot fill the system ring with its kills either. subject_uid 0 or
 * EVENTLOG_SYSTEM (unknown) is not limited. Returns as eventlog_add().
 */
uint64_t eventlog_add_entry_for(struct eventlog *l, uint32_t subject_uid,
				const struct ipc_event_entry *e);

/* Emit the EVENTS_SUPPRESSED notices whose window has ended (the manager
 * calls this every tick, so a flood that stopped is still reported). */
void eventlog_flush(struct eventlog *l);

/* Copy up to max events with id > since_id, oldest first, from both rings
 * merged by id. Returns how many. */
uint32_t eventlog_since(const struct eventlog *l, uint64_t since_id, struct ipc_event_entry *out,
			uint32_t max);
