// SPDX-License-Identifier: MIT
/* daemon/eventlog.c: fixed-size ring of ipc_event_entry records. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/time-util.h"
#include "daemon/eventlog.h"

void eventlog_init(struct eventlog *l)
{
	memset(l, 0, sizeof(*l));
	l->next_id = 1;
}

uint64_t eventlog_add(struct eventlog *l, uint32_t kind, uint32_t pid, int64_t value,
		      const char *fmt, ...)
{
	struct ipc_event_entry *e = &l->entries[l->next_id % EVENTLOG_CAPACITY];
	va_list ap;

	memset(e, 0, sizeof(*e));
	e->id = l->next_id++;
	e->time_usec = now_usec(CLOCK_REALTIME);
	e->kind = kind;
	e->pid = pid;
	e->value = value;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return e->id;
}

uint32_t eventlog_since(const struct eventlog *l, uint64_t since_id, struct ipc_event_entry *out,
			uint32_t max)
{
	uint64_t first = l->next_id > EVENTLOG_CAPACITY ? l->next_id - EVENTLOG_CAPACITY : 1;
	uint32_t n = 0;

	if (since_id + 1 > first)
		first = since_id + 1;
	for (uint64_t id = first; id < l->next_id && n < max; id++)
		out[n++] = l->entries[id % EVENTLOG_CAPACITY];
	return n;
}
