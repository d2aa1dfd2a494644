// SPDX-License-Identifier: MIT
/* daemon/log.c: one place that writes log lines: stderr, with sd-daemon
 * priority prefixes when stderr is the journal. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/time-util.h"
#include "daemon/cli-text.h"
#include "daemon/log.h"

static int log_max_level = LOG_INFO;
static const char *log_prefix = "memctld";

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",	  [LOG_CRIT] = "crit",
	[LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

void log_set_max_level(int level)
{
	log_max_level = CLAMP(level, LOG_EMERG, LOG_DEBUG);
}

int log_get_max_level(void)
{
	return log_max_level;
}

void log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

int log_level_from_string(const char *s)
{
	if (!s || !*s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	if (strcasecmp(s, "warn") == 0)
		return LOG_WARNING;
	return -EINVAL;
}

const char *log_level_to_string(int level)
{
	if (level < 0 || (size_t)level >= ELEMENTSOF(level_names))
		return NULL;
	return level_names[level];
}

/* Write one formatted line at level (already checked against the max level). */
static void log_write(int level, const char *file, int line, const char *raw)
{
	static int journal = -1;
	char buf[4096];

	/* names in log lines come from other processes (a workload's ENROLL name, a
	 * comm): escaped, so none can forge a line or steer a terminal (issue 9) */
	cli_escape(raw, buf, sizeof(buf));
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	if (journal)
		fprintf(stderr, "<%d>%s\n", level, buf);
	else if (log_max_level >= LOG_DEBUG)
		fprintf(stderr, "%s[%s:%d] %s: %s\n", log_prefix, file, line, level_names[level],
			buf);
	else if (level == LOG_WARNING)
		fprintf(stderr, "%s: warning: %s\n", log_prefix, buf);
	else
		fprintf(stderr, "%s: %s\n", log_prefix, buf);
}

_printf_(2, 0) static void log_format(int error, const char *fmt, va_list ap, char *buf,
				      size_t size)
{
	/* make %m print the error we were given, not whatever errno is now */
	errno = error < 0 ? -error : error;
	vsnprintf(buf, size, fmt, ap);
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	if (level > log_max_level)
		return error;
	va_start(ap, fmt);
	log_format(error, fmt, ap, buf, sizeof(buf));
	va_end(ap);
	log_write(level, file, line, buf);
	return error;
}

/* Call sites that have suppressed lines not yet reported. Like the log level,
 * logging state is process-wide; the daemon has one thread. */
static struct log_ratelimit *ratelimit_list;

bool log_ratelimit_test(struct log_ratelimit *rl, uint64_t now_usec, uint64_t *ret_suppressed)
{
	uint64_t dropped = 0;

	if (rl->begin_usec == 0 || now_usec - rl->begin_usec >= rl->interval_usec ||
	    now_usec < rl->begin_usec) {
		dropped = rl->n_suppressed;
		rl->begin_usec = now_usec ?: 1;
		rl->n_logged = 0;
		rl->n_suppressed = 0;
	}
	if (ret_suppressed)
		*ret_suppressed = dropped;
	if (rl->n_logged < rl->burst) {
		rl->n_logged++;
		return true;
	}
	rl->n_suppressed++;
	return false;
}

static void ratelimit_report(struct log_ratelimit *rl, uint64_t n, int level)
{
	char buf[256];

	if (n == 0 || level > log_max_level)
		return;
	snprintf(buf, sizeof(buf), "Suppressed %" PRIu64 " similar message(s) within %.1fs of: %s",
		 n, (double)rl->interval_usec / 1e6, rl->sample);
	log_write(level, "ratelimit", 0, buf);
}

int log_ratelimit_internal(struct log_ratelimit *rl, int level, int error, const char *file,
			   int line, const char *fmt, ...)
{
	uint64_t dropped;
	char buf[2048];
	va_list ap;

	if (level > log_max_level)
		return error;
	if (!log_ratelimit_test(rl, now_usec(CLOCK_MONOTONIC), &dropped)) {
		if (!rl->listed) {
			rl->level = level;
			rl->next = ratelimit_list;
			ratelimit_list = rl;
			rl->listed = true;
		}
		return error;
	}
	ratelimit_report(rl, dropped, rl->level);
	va_start(ap, fmt);
	log_format(error, fmt, ap, buf, sizeof(buf));
	va_end(ap);
	/* the window's first line names what a later summary counts */
	if (rl->n_logged == 1)
		snprintf(rl->sample, sizeof(rl->sample), "%.*s", (int)sizeof(rl->sample) - 1, buf);
	log_write(level, file, line, buf);
	return error;
}

void log_ratelimit_flush(uint64_t now_usec)
{
	for (struct log_ratelimit **p = &ratelimit_list; *p;) {
		struct log_ratelimit *rl = *p;

		if (rl->n_suppressed > 0 && now_usec - rl->begin_usec < rl->interval_usec) {
			p = &rl->next;
			continue;
		}
		/* the window closed: report, and start the next one empty */
		ratelimit_report(rl, rl->n_suppressed, rl->level);
		rl->n_suppressed = 0;
		rl->begin_usec = 0;
		rl->listed = false;
		*p = rl->next;
		rl->next = NULL;
	}
}
