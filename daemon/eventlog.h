/* SPDX-License-Identifier: MIT */
/* daemon/eventlog.h: a bounded log of notable daemon events for `memctl events`.
 * Oldest entries are overwritten; ids only grow, so a reader can poll by id. */
#pragma once

#include <stdint.h>

#include "ipc/ipc.h"

#define EVENTLOG_CAPACITY 1024

struct eventlog {
	struct ipc_event_entry entries[EVENTLOG_CAPACITY];
	uint64_t next_id; /* id of the next event; the first is 1 */
};

void eventlog_init(struct eventlog *l);
/* Append an event; text is printf-formatted and truncated to fit. Returns its id. */
uint64_t eventlog_add(struct eventlog *l, uint32_t kind, uint32_t pid, int64_t value,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Copy up to max events with id > since_id, oldest first. Returns how many. */
uint32_t eventlog_since(const struct eventlog *l, uint64_t since_id, struct ipc_event_entry *out,
			uint32_t max);
