// SPDX-License-Identifier: MIT
/* daemon/decision-log.c: append decision and ack rows to a CSV file (RFC 4180
 * quoting; names and cgroup paths come from workloads and may hold anything). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "daemon/decision-log.h"

#define HEADER                                                                      \
	"time,pid,name,cgroup,event,trigger,target_bytes,bytes_in,bytes_out,ratio," \
	"compress_cpu_ms,decompress_cpu_ms,latency_usec,result\n"

struct decision_log {
	int fd;
	uint64_t errors;
};

int decision_log_open(const char *path, struct decision_log **ret)
{
	struct decision_log *l;
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int r = S_ISREG(st.st_mode) ? -errno : -EINVAL;

		close(fd);
		return r;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	l->fd = fd;
	if (st.st_size == 0 && write(fd, HEADER, strlen(HEADER)) != (ssize_t)strlen(HEADER))
		l->errors++;
	*ret = l;
	return 0;
}

struct decision_log *decision_log_close(struct decision_log *l)
{
	if (l) {
		close(l->fd);
		free(l);
	}
	return NULL;
}

uint64_t decision_log_errors(const struct decision_log *l)
{
	return l ? l->errors : 0;
}

/* s as one CSV field: quoted, quotes doubled, control characters as '?' so a row is
 * always one line. */
static size_t put_field(char *buf, size_t size, size_t off, const char *s)
{
	if (off + 3 >= size)
		return off;
	buf[off++] = '"';
	for (; s && *s && off + 3 < size; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"')
			buf[off++] = '"';
		buf[off++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	buf[off++] = '"';
	buf[off++] = ',';
	buf[off] = '\0';
	return off;
}

void decision_log_write(struct decision_log *l, const struct decision_row *r)
{
	char buf[1024];
	size_t off;
	int n;

	if (!l)
		return;
	n = snprintf(buf, sizeof(buf), "%" PRIu64 ".%06" PRIu64 ",%d,", r->time_usec / 1000000,
		     r->time_usec % 1000000, (int)r->pid);
	off = n > 0 ? (size_t)n : 0;
	off = put_field(buf, sizeof(buf), off, r->name);
	off = put_field(buf, sizeof(buf), off, r->cgroup);
	off = put_field(buf, sizeof(buf), off, r->event);
	off = put_field(buf, sizeof(buf), off, r->trigger);
	n = snprintf(buf + off, sizeof(buf) - off,
		     "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%.3f,%" PRId64 ",%d\n",
		     r->target_bytes, r->bytes_in, r->bytes_out,
		     r->bytes_out ? (double)r->bytes_in / (double)r->bytes_out : 0.0,
		     r->compress_cpu_ms, r->decompress_cpu_ms, r->latency_usec, r->result);
	if (n < 0 || (size_t)n >= sizeof(buf) - off) {
		l->errors++;
		return;
	}
	off += (size_t)n;
	if (write(l->fd, buf, off) != (ssize_t)off)
		l->errors++;
}
