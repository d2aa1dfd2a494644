// SPDX-License-Identifier: MIT
/* daemon/event-journal.c: growth events as structured journal entries (or
 * key=value lines on stderr without a journal). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "daemon/event-journal.h"
#include "daemon/log.h"
#include "policy/growth.h"

/* printable ASCII but space, '"' and '\' as is; anything else as \xNN */
static void escape(const char *s, size_t max, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < max && s[i] && o + 5 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch > ' ' && ch < 0x7f && ch != '"' && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", ch);
	}
	out[o] = '\0';
}

static const char *kind_name(uint32_t kind)
{
	return kind == IPC_EVENT_GROWTH_ENDED ? "GROWTH_ENDED" : "GROWTH_DETECTED";
}

static void seconds_text(uint64_t usec, char *buf, size_t size)
{
	if (usec == UINT64_MAX)
		snprintf(buf, size, "none");
	else
		snprintf(buf, size, "%.1f", (double)usec / 1e6);
}

void event_journal_format(const struct ipc_event_entry *e, char *buf, size_t size)
{
	char comm[4 * IPC_NAME_MAX + 1], cg[4 * IPC_PATH_MAX + 1], secs[32];

	escape(e->comm, sizeof(e->comm), comm, sizeof(comm));
	escape(e->cgroup, sizeof(e->cgroup), cg, sizeof(cg));
	seconds_text(e->time_to_limit_usec, secs, sizeof(secs));
	snprintf(buf, size,
		 "%s pid=%" PRIu32 " comm=\"%s\" cgroup=\"%s\" rate_bytes_per_sec=%" PRId64
		 " pattern=%s confidence=%.2f seconds_to_limit=%s",
		 kind_name(e->kind), e->pid, comm, cg, e->value,
		 growth_pattern_to_string(e->pattern), e->leak_confidence_permyriad / 10000.0,
		 secs);
}

void event_journal_growth(const struct ipc_event_entry *e, bool journal)
{
	char line[2048];
	int r;

	event_journal_format(e, line, sizeof(line));
	if (journal) {
		char comm[4 * IPC_NAME_MAX + 1], cg[4 * IPC_PATH_MAX + 1], secs[32];

		escape(e->comm, sizeof(e->comm), comm, sizeof(comm));
		escape(e->cgroup, sizeof(e->cgroup), cg, sizeof(cg));
		seconds_text(e->time_to_limit_usec, secs, sizeof(secs));
		r = sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", LOG_NOTICE, "MESSAGE_ID=%s",
				    e->kind == IPC_EVENT_GROWTH_ENDED ?
					    EVENT_JOURNAL_ID_GROWTH_ENDED :
					    EVENT_JOURNAL_ID_GROWTH_DETECTED,
				    "MEMCTL_EVENT=%s", kind_name(e->kind), "MEMCTL_PID=%" PRIu32,
				    e->pid, "MEMCTL_COMM=%s", comm, "MEMCTL_CGROUP=%s", cg,
				    "MEMCTL_RATE_BYTES_PER_SEC=%" PRId64, e->value,
				    "MEMCTL_PATTERN=%s", growth_pattern_to_string(e->pattern),
				    "MEMCTL_CONFIDENCE=%.4f",
				    e->leak_confidence_permyriad / 10000.0,
				    "MEMCTL_SECONDS_TO_LIMIT=%s", secs, NULL);
		if (r >= 0)
			return;
	}
	log_notice("%s", line);
}
