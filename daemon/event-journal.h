/* SPDX-License-Identifier: MIT */
/* daemon/event-journal.h: one structured journal line per growth event:
 * sd_journal_send() with a MESSAGE_ID per kind under systemd, one key=value
 * line on stderr otherwise. */
#pragma once

#include <stdbool.h>

#include "ipc/ipc.h"

/* `journalctl MESSAGE_ID=...` finds every event of a kind */
#define EVENT_JOURNAL_ID_GROWTH_DETECTED "dcc5d4c0ff864e86a81d019887ed4dc1"
#define EVENT_JOURNAL_ID_GROWTH_ENDED "fb2118868f1047d88c2e551d94d8445e"

/*
 * Write e (IPC_EVENT_GROWTH_DETECTED or _ENDED, as eventlog holds it) with
 * fields MEMCTL_EVENT, MEMCTL_PID, MEMCTL_COMM, MEMCTL_CGROUP,
 * MEMCTL_RATE_BYTES_PER_SEC, MEMCTL_PATTERN, MEMCTL_CONFIDENCE and
 * MEMCTL_SECONDS_TO_LIMIT ("none" without a limit). journal: use the journal
 * (the daemon passes whether JOURNAL_STREAM is set); when sending fails,
 * stderr. Names from processes are escaped (\xNN for anything but printable
 * ASCII, space, '"' and '\'), so no one can forge a field or a line.
 */
void event_journal_growth(const struct ipc_event_entry *e, bool journal);

/* The stderr form into buf (for tests): "GROWTH_DETECTED pid=... ...". */
void event_journal_format(const struct ipc_event_entry *e, char *buf, size_t size);
