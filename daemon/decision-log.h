/* SPDX-License-Identifier: MIT */
/* daemon/decision-log.h: the optional CSV of every decision and ack (CsvPath= or
 * --csv): one row each, for plotting and auditing what memctld did. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct decision_row {
	uint64_t time_usec; /* CLOCK_REALTIME */
	pid_t pid;
	const char *name;
	const char *cgroup; /* NULL or "" if unknown */
	const char *event; /* "compress", "relax", "compress-ack", "relax-ack", "timeout",
			    * "dropped", "dry-run-compress", "dry-run-relax" */
	const char *trigger; /* why: "headroom", "growth", "pressure", "post-exec", ... */
	uint64_t target_bytes;
	uint64_t bytes_in; /* logical bytes that went into the store */
	uint64_t bytes_out; /* what the store grew by */
	double compress_cpu_ms;
	double decompress_cpu_ms;
	int64_t latency_usec; /* command -> ack; -1 when not an ack */
	int result; /* 0 or -errno */
};

struct decision_log;

/* Open (append, create 0640, never through a symlink) path; a new or empty file gets
 * the header row first. Returns 0, or -errno (the file is then not written). */
int decision_log_open(const char *path, struct decision_log **ret);
struct decision_log *decision_log_close(struct decision_log *l);
/* Append one row; l may be NULL (no CSV configured). Write errors are counted, not
 * fatal (a full disk must not stop the daemon). */
void decision_log_write(struct decision_log *l, const struct decision_row *r);
uint64_t decision_log_errors(const struct decision_log *l);
