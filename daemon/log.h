/* SPDX-License-Identifier: MIT */
/* daemon/log.h: logging for memctld and memctl (libraries never log).
 * Under systemd (JOURNAL_STREAM set) lines carry sd-daemon "<N>" priority prefixes. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "common/macro.h"

/* The log level is one of the two mutable globals the daemon allows. */
void log_set_max_level(int level);
int log_get_max_level(void);
/* "err", "warning", "notice", "info", "debug" (or 0..7) -> LOG_*; -EINVAL if unknown */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);
void log_set_prefix(const char *prefix);

/* Log at level; error is a negative errno (or 0) made available to %m.
 * Returns error, so `return log_error_errno(r, "...: %m");` works. */
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
	_printf_(5, 6);

#define log_full_errno(level, error, ...) \
	log_internal(level, error, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

/*
 * Rate-limited logging, for every message a client or the kernel can make the
 * daemon repeat at its own pace (issue 9: a connect/close loop against a full
 * connection table wrote 409,663 warnings in 5 s; accept() failing with EMFILE,
 * 1.7 M lines in 10 s). As systemd's log_ratelimit_*(): each call site logs at
 * most `burst` lines per `interval`; the others are counted, not formatted, and
 * when the window has closed one line says how many were dropped:
 *
 *   memctld: warning: Suppressed 40961 similar message(s) within 10.0s of: Refused a ...
 *
 * That line comes before the call site's next message, or from
 * log_ratelimit_flush(), which memctld's tick calls, so a flood that stops is
 * still summed up. Messages above the log level are neither logged nor counted.
 *
 *   log_ratelimit_warning("Refusing a connection from uid %u", uid);
 *   return log_ratelimit_warning_errno(r, "accept() failed: %m");
 *   log_ratelimit_full_errno(LOG_INFO, 0, 60 * USEC_PER_SEC, 1, "...");  own window
 *
 * The state is one static per macro expansion: a call site is one limit, and a
 * helper called from several places shares it (pass your own struct
 * log_ratelimit to log_ratelimit_internal() for a limit per object). Each macro
 * returns its error argument, as log_*_errno() does. One thread only.
 */
#define LOG_RATELIMIT_INTERVAL_USEC (10 * UINT64_C(1000000))
#define LOG_RATELIMIT_BURST 5

struct log_ratelimit {
	uint64_t interval_usec;
	unsigned burst;
	/* the window: CLOCK_MONOTONIC start (0 = none yet), lines let through */
	uint64_t begin_usec;
	unsigned n_logged;
	uint64_t n_suppressed; /* in the window, not yet reported */
	int level; /* of the first suppressed line: the summary's level */
	char sample[96]; /* the window's first line, to say what was suppressed */
	struct log_ratelimit *next; /* on the flush list once it has suppressed */
	bool listed;
};

#define LOG_RATELIMIT_INIT(interval, burst_)                   \
	{                                                      \
		.interval_usec = (interval), .burst = (burst_) \
	}

/*
 * The decision alone (no output): true if a line may go out at now_usec. When
 * a new window opens, *ret_suppressed (may be NULL) gets the count dropped in
 * the window that closed (else 0); the caller reports it. For tests and for
 * callers with their own output.
 */
bool log_ratelimit_test(struct log_ratelimit *rl, uint64_t now_usec, uint64_t *ret_suppressed);

int log_ratelimit_internal(struct log_ratelimit *rl, int level, int error, const char *file,
			   int line, const char *fmt, ...) _printf_(6, 7);

/* Summarise every call site whose window closed with lines suppressed. */
void log_ratelimit_flush(uint64_t now_usec);

#define log_ratelimit_full_errno(level, error, interval, burst, ...)                          \
	({                                                                                    \
		static struct log_ratelimit _rl_ = LOG_RATELIMIT_INIT(interval, burst);       \
		log_ratelimit_internal(&_rl_, level, error, __FILE__, __LINE__, __VA_ARGS__); \
	})
#define log_ratelimit_errno(level, error, ...)                                                   \
	log_ratelimit_full_errno(level, error, LOG_RATELIMIT_INTERVAL_USEC, LOG_RATELIMIT_BURST, \
				 __VA_ARGS__)
#define log_ratelimit_info(...) log_ratelimit_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_ratelimit_notice(...) log_ratelimit_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_ratelimit_warning(...) log_ratelimit_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_ratelimit_info_errno(e, ...) log_ratelimit_errno(LOG_INFO, e, __VA_ARGS__)
#define log_ratelimit_warning_errno(e, ...) log_ratelimit_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_ratelimit_error_errno(e, ...) log_ratelimit_errno(LOG_ERR, e, __VA_ARGS__)
