// SPDX-License-Identifier: MIT
/* daemon/log.c: one place that writes log lines: stderr, with sd-daemon
 * priority prefixes when stderr is the journal. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
{
	static int journal = -1;
	char buf[2048];
	va_list ap;

	if (level > log_max_level)
		return error;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;

	/* make %m print the error we were given, not whatever errno is now */
	errno = error < 0 ? -error : error;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	if (journal)
		fprintf(stderr, "<%d>%s\n", level, buf);
	else if (log_max_level >= LOG_DEBUG)
		fprintf(stderr, "%s[%s:%d] %s: %s\n", log_prefix, file, line, level_names[level],
			buf);
	else if (level == LOG_WARNING)
		fprintf(stderr, "%s: warning: %s\n", log_prefix, buf);
	else
		fprintf(stderr, "%s: %s\n", log_prefix, buf);
	return error;
}
