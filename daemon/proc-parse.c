/* SPDX-License-Identifier: MIT */
/* daemon/proc-parse.c: pure parsers for /proc/PID/{stat,status,cgroup}; the
 * formats are in proc-parse.h. */
#include "daemon/proc-parse.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/parse-util.h"

#define PROC_STAT_FIELDS 22 /* through starttime */

static int span_to_int(struct span s, int min, int *ret)
{
	uint64_t v;
	int r;

	r = span_to_u64(s, &v);
	if (r < 0)
		return r;
	if (v > INT_MAX)
		return -ERANGE;
	if ((int)v < min)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static const char *last_paren(const char *p, size_t len)
{
	for (size_t i = len; i > 0; i--) {
		if (p[i - 1] == ')')
			return p + i - 1;
	}
	return NULL;
}

int proc_stat_parse(const char *buf, size_t len, struct proc_stat *ret)
{
	struct proc_stat st = {};
	struct span s = { buf, len }, field, rest;
	const char *open, *close;
	size_t comm_len;
	int r;

	if (len == 0 || buf_has_nul(buf, len))
		return -EINVAL;
	s = span_chomp(s);

	/* 1: pid, then " (" */
	if (!span_split(s, ' ', &field, &rest))
		return -EINVAL;
	r = span_to_int(field, 1, &st.pid);
	if (r < 0)
		return r;
	if (rest.len == 0 || rest.p[0] != '(')
		return -EINVAL;
	open = rest.p;

	/* 2: comm, up to the last ')' */
	close = last_paren(rest.p, rest.len);
	if (!close)
		return -EINVAL;
	comm_len = (size_t)(close - open - 1);
	memcpy(st.comm, open + 1, MIN(comm_len, sizeof(st.comm) - 1));
	rest.len -= (size_t)(close + 1 - rest.p);
	rest.p = close + 1;
	if (rest.len == 0 || rest.p[0] != ' ')
		return -EINVAL;
	rest.p++;
	rest.len--;

	/* 3..22, single spaces; the last one may end the line */
	for (unsigned i = 3; i <= PROC_STAT_FIELDS; i++) {
		if (!span_split(rest, ' ', &field, &rest)) {
			if (i != PROC_STAT_FIELDS)
				return -EINVAL;
			field = rest;
		}
		switch (i) {
		case 3:
			if (field.len != 1 || !((field.p[0] >= 'A' && field.p[0] <= 'Z') ||
						(field.p[0] >= 'a' && field.p[0] <= 'z')))
				return -EINVAL;
			st.state = field.p[0];
			break;
		case 4:
			r = span_to_int(field, 0, &st.ppid);
			break;
		case 10:
			r = span_to_u64(field, &st.minflt);
			break;
		case 12:
			r = span_to_u64(field, &st.majflt);
			break;
		case 20:
			r = span_to_u64(field, &st.num_threads);
			break;
		case 22:
			r = span_to_u64(field, &st.starttime_ticks);
			break;
		default:
			r = span_check_s64(field);
			break;
		}
		if (r < 0)
			return r;
	}
	*ret = st;
	return 0;
}

/* Skips the blanks after "Key:". */
static struct span span_skip_blanks(struct span s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	return s;
}

/* "<u64> kB" -> bytes */
static int kb_to_bytes(struct span v, uint64_t *ret)
{
	struct span num, unit;
	uint64_t kb;
	int r;

	if (!span_split(v, ' ', &num, &unit) || !span_eq(unit, "kB"))
		return -EINVAL;
	r = span_to_u64(num, &kb);
	if (r < 0)
		return r;
	return u64_mul(kb, 1024, ret);
}

int proc_meminfo_parse(const char *buf, size_t len, struct proc_meminfo *ret)
{
	struct proc_meminfo mi = {};
	bool total = false, avail = false;
	struct line_iter it;
	struct span line, key, value;
	int r;

	if (len == 0 || buf_has_nul(buf, len))
		return -EINVAL;
	line_iter_init(&it, buf, len);
	while (line_iter_next(&it, &line)) {
		uint64_t *field;
		bool *seen;

		if (!span_split(line, ':', &key, &value))
			return -EINVAL;
		if (span_eq(key, "MemTotal")) {
			field = &mi.mem_total_bytes;
			seen = &total;
		} else if (span_eq(key, "MemAvailable")) {
			field = &mi.mem_available_bytes;
			seen = &avail;
		} else {
			continue;
		}
		if (*seen)
			return -EINVAL;
		*seen = true;
		r = kb_to_bytes(span_skip_blanks(value), field);
		if (r < 0)
			return r;
	}
	if (!total || !avail)
		return -EINVAL;
	*ret = mi;
	return 0;
}

int proc_status_parse(const char *buf, size_t len, struct proc_status *ret)
{
	static const char *const mem_keys[] = { "VmRSS", "RssAnon", "RssFile", "RssShmem",
						"VmSwap" };
	struct proc_status st = {};
	uint64_t *mem_fields[] = { &st.vm_rss_bytes, &st.rss_anon_bytes, &st.rss_file_bytes,
				   &st.rss_shmem_bytes, &st.vm_swap_bytes };
	bool mem_seen[ELEMENTSOF(mem_keys)] = {}, tgid_seen = false, ppid_seen = false;
	unsigned n_mem = 0;
	struct line_iter it;
	struct span line, key, value;
	int r;

	if (len == 0 || buf_has_nul(buf, len))
		return -EINVAL;
	line_iter_init(&it, buf, len);
	while (line_iter_next(&it, &line)) {
		if (!span_split(line, ':', &key, &value))
			return -EINVAL;
		value = span_skip_blanks(value);
		if (span_eq(key, "Tgid")) {
			if (tgid_seen)
				return -EINVAL;
			tgid_seen = true;
			r = span_to_int(value, 1, &st.tgid);
			if (r < 0)
				return r;
			continue;
		}
		if (span_eq(key, "Uid")) {
			/* real, effective, saved, filesystem: tab-separated */
			struct span real, rest, eff;
			uint64_t v;

			if (st.has_uid)
				return -EINVAL;
			if (!span_split(value, '\t', &real, &rest) ||
			    !span_split(rest, '\t', &eff, &rest))
				return -EINVAL;
			r = span_to_u64(eff, &v);
			if (r < 0)
				return r;
			if (v > UINT32_MAX - 1) /* (uid_t)-1 is never a uid */
				return -ERANGE;
			st.euid = (uint32_t)v;
			st.has_uid = true;
			continue;
		}
		if (span_eq(key, "PPid")) {
			if (ppid_seen)
				return -EINVAL;
			ppid_seen = true;
			r = span_to_int(value, 0, &st.ppid);
			if (r < 0)
				return r;
			continue;
		}
		for (size_t i = 0; i < ELEMENTSOF(mem_keys); i++) {
			if (!span_eq(key, mem_keys[i]))
				continue;
			if (mem_seen[i])
				return -EINVAL;
			mem_seen[i] = true;
			n_mem++;
			r = kb_to_bytes(value, mem_fields[i]);
			if (r < 0)
				return r;
			break;
		}
	}
	if (!tgid_seen || !ppid_seen)
		return -EINVAL;
	if (n_mem != 0 && n_mem != ELEMENTSOF(mem_keys))
		return -EINVAL;
	st.has_mm = n_mem != 0;
	*ret = st;
	return 0;
}

void proc_cgroup_done(struct proc_cgroup *c)
{
	if (!c)
		return;
	free(c->v1_memory_path);
	free(c->v2_path);
	*c = (struct proc_cgroup){};
}

static bool controllers_have_memory(struct span list)
{
	struct span head;

	while (span_split(list, ',', &head, &list)) {
		if (span_eq(head, "memory"))
			return true;
	}
	return span_eq(list, "memory");
}

#define DELETED_SUFFIX " (deleted)"

int proc_cgroup_parse(const char *buf, size_t len, struct proc_cgroup *ret)
{
	_cleanup_(proc_cgroup_done) struct proc_cgroup c = {};
	struct line_iter it;
	struct span line, id, controllers, path;
	uint64_t hid;
	int r;

	if (len == 0 || buf_has_nul(buf, len))
		return -EINVAL;
	line_iter_init(&it, buf, len);
	while (line_iter_next(&it, &line)) {
		if (!span_split(line, ':', &id, &controllers) ||
		    !span_split(controllers, ':', &controllers, &path))
			return -EINVAL;
		r = span_to_u64(id, &hid);
		if (r < 0)
			return r;
		if (path.len == 0 || path.p[0] != '/')
			return -EINVAL;

		if (hid == 0 && controllers.len == 0) {
			size_t sl = strlen(DELETED_SUFFIX);
			bool deleted = path.len > sl &&
				       memcmp(path.p + path.len - sl, DELETED_SUFFIX, sl) == 0;

			if (c.v2_path)
				return -EINVAL;
			if (deleted)
				path.len -= sl;
			c.v2_path = strndup(path.p, path.len);
			if (!c.v2_path)
				return -ENOMEM;
			c.v2_deleted = deleted;
		} else if (hid != 0 && controllers_have_memory(controllers)) {
			if (c.v1_memory_path)
				return -EINVAL;
			c.v1_memory_path = strndup(path.p, path.len);
			if (!c.v1_memory_path)
				return -ENOMEM;
		} else if (hid == 0 || controllers.len == 0) {
			/* "0:x:/" or "5::/": neither v1 nor v2 */
			return -EINVAL;
		}
	}
	if (!c.v1_memory_path && !c.v2_path)
		return -ENODATA;
	*ret = c;
	c = (struct proc_cgroup){};
	return 0;
}

/* the mountinfo field at *p (up to a space or the line's end) as a
 * NUL-terminated copy, \ooo escapes decoded; -EINVAL when empty or too long */
static int mi_field(const char **p, const char *end, char *out, size_t size, bool unescape)
{
	size_t n = 0;

	while (*p < end && **p == ' ')
		(*p)++;
	while (*p < end && **p != ' ' && **p != '\n') {
		char c = **p;

		if (unescape && c == '\\' && end - *p >= 4 && (*p)[1] >= '0' && (*p)[1] <= '3' &&
		    (*p)[2] >= '0' && (*p)[2] <= '7' && (*p)[3] >= '0' && (*p)[3] <= '7') {
			c = (char)(((*p)[1] - '0') << 6 | ((*p)[2] - '0') << 3 | ((*p)[3] - '0'));
			*p += 3;
		}
		if (n + 1 >= size)
			return -EINVAL;
		out[n++] = c;
		(*p)++;
	}
	if (n == 0)
		return -EINVAL;
	out[n] = '\0';
	return 0;
}

int proc_mountinfo_hidepid(const char *buf, size_t len, const char *mount_point, bool *ret_hidden)
{
	const char *p = buf, *end = buf + len;
	bool found = false, hidden = false;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)) ?: end;
		char f[4096], point[4096], fstype[64];
		int r = 0;

		if (eol == p) {
			p++;
			continue;
		}
		/* ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS */
		for (int i = 0; i < 4 && r == 0; i++)
			r = mi_field(&p, eol, f, sizeof(f), false);
		if (r == 0)
			r = mi_field(&p, eol, point, sizeof(point), true);
		if (r == 0)
			r = mi_field(&p, eol, f, sizeof(f), false);
		/* optional fields up to the lone "-" */
		while (r == 0 && (r = mi_field(&p, eol, f, sizeof(f), false)) == 0 &&
		       strcmp(f, "-") != 0)
			;
		if (r == 0)
			r = mi_field(&p, eol, fstype, sizeof(fstype), false);
		if (r == 0)
			r = mi_field(&p, eol, f, sizeof(f), false); /* source */
		if (r == 0)
			r = mi_field(&p, eol, f, sizeof(f), false); /* super options */
		if (r < 0)
			return -EINVAL;
		if (strcmp(fstype, "proc") == 0 && strcmp(point, mount_point) == 0) {
			const char *o = f;

			found = true;
			hidden = false;
			while (o && *o) {
				const char *comma = strchr(o, ',');
				size_t n = comma ? (size_t)(comma - o) : strlen(o);

				if (n > 8 && strncmp(o, "hidepid=", 8) == 0)
					hidden = !((n == 9 && o[8] == '0') ||
						   (n == 11 && strncmp(o + 8, "off", 3) == 0));
				o = comma ? comma + 1 : NULL;
			}
		}
		p = eol < end ? eol + 1 : end;
	}
	if (!found)
		return -ENOENT;
	*ret_hidden = hidden;
	return 0;
}
