/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_proc.c: libFuzzer target for daemon/proc-parse.c: /proc/PID/stat,
 * /proc/PID/status, /proc/meminfo and /proc/PID/cgroup on the same input (a process
 * chooses its comm, so stat's line is attacker-shaped). Each returns only its
 * documented errors, leaves its result untouched on failure, and keeps its domains:
 * comm NUL-terminated, pids positive, cgroup paths absolute and one line long. */

#include <errno.h>
#include <inttypes.h>

#include "daemon/proc-parse.h"
#include "tests/fuzz/fuzz-util.h"

#define SENTINEL 0xa5

static void pstat(const char *buf, size_t len)
{
	struct proc_stat s;
	int r;

	memset(&s, SENTINEL, sizeof(s));
	r = proc_stat_parse(buf, len, &s);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0) {
		FUZZ_CHECK(fuzz_all(&s, sizeof(s), SENTINEL));
		return;
	}
	FUZZ_CHECK(memchr(s.comm, '\0', sizeof(s.comm)) != NULL);
	FUZZ_CHECK(s.pid > 0 && s.ppid >= 0);
	FUZZ_CHECK((s.state >= 'A' && s.state <= 'Z') || (s.state >= 'a' && s.state <= 'z'));
}

static void pstatus(const char *buf, size_t len)
{
	struct proc_status s;
	int r;

	memset(&s, SENTINEL, sizeof(s));
	r = proc_status_parse(buf, len, &s);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0) {
		FUZZ_CHECK(fuzz_all(&s, sizeof(s), SENTINEL));
		return;
	}
	FUZZ_CHECK(s.tgid > 0 && s.ppid >= 0);
	if (!s.has_mm)
		FUZZ_CHECK(s.vm_rss_bytes == 0 && s.rss_anon_bytes == 0 && s.rss_file_bytes == 0 &&
			   s.rss_shmem_bytes == 0 && s.vm_swap_bytes == 0);
	/* kB scaled to bytes */
	FUZZ_CHECK(s.vm_rss_bytes % 1024 == 0 && s.rss_anon_bytes % 1024 == 0 &&
		   s.rss_file_bytes % 1024 == 0 && s.rss_shmem_bytes % 1024 == 0 &&
		   s.vm_swap_bytes % 1024 == 0);
}

static void meminfo(const char *buf, size_t len)
{
	struct proc_meminfo m;
	int r;

	memset(&m, SENTINEL, sizeof(m));
	r = proc_meminfo_parse(buf, len, &m);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0) {
		FUZZ_CHECK(fuzz_all(&m, sizeof(m), SENTINEL));
		return;
	}
	FUZZ_CHECK(m.mem_total_bytes % 1024 == 0 && m.mem_available_bytes % 1024 == 0);
}

static void path_ok(const char *p, size_t len)
{
	FUZZ_CHECK(p[0] == '/');
	FUZZ_CHECK(strlen(p) <= len);
	FUZZ_CHECK(strchr(p, '\n') == NULL);
}

static void pcgroup(const char *buf, size_t len)
{
	struct proc_cgroup c;
	int r;

	memset(&c, SENTINEL, sizeof(c));
	r = proc_cgroup_parse(buf, len, &c);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE || r == -ENOMEM || r == -ENODATA);
	if (r < 0) {
		FUZZ_CHECK(fuzz_all(&c, sizeof(c), SENTINEL));
		return;
	}
	FUZZ_CHECK(c.v1_memory_path || c.v2_path);
	if (c.v1_memory_path)
		path_ok(c.v1_memory_path, len);
	if (c.v2_path)
		path_ok(c.v2_path, len);
	else
		FUZZ_CHECK(!c.v2_deleted);
	proc_cgroup_done(&c);
	proc_cgroup_done(&c); /* done twice is harmless: it clears what it frees */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_dup(data, size);

	pstat(buf, size);
	pstatus(buf, size);
	meminfo(buf, size);
	pcgroup(buf, size);
	free(buf);
	return 0;
}
