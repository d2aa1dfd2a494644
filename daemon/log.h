/* SPDX-License-Identifier: MIT */
/* daemon/log.h: logging for memctld and memctl (libraries never log).
 * Under systemd (JOURNAL_STREAM set) lines carry sd-daemon "<N>" priority prefixes. */
#pragma once

#include <errno.h>
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
