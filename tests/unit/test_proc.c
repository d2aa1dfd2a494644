/* SPDX-License-Identifier: MIT */
/* tests/unit/test_proc.c: proc-parse on hostile input tables and on this
 * process's own /proc files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "daemon/proc-parse.h"

struct err_case {
	const char *buf;
	size_t len; /* 0: strlen(buf) */
	int ret;
};

#define ERR(s, e)       \
	{               \
		s, 0, e \
	}
#define ERR_N(s, e)                 \
	{                           \
		s, sizeof(s) - 1, e \
	}

static size_t case_len(const struct err_case *c)
{
	return c->len ? c->len : strlen(c->buf);
}

static int read_self(const char *name, char *buf, size_t size, size_t *ret_len)
{
	char path[64];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size);
	if (n < 0)
		return -errno;
	*ret_len = (size_t)n;
	return 0;
}

/* ---- /proc/PID/stat ---- */

/* A real line from this kernel (fields after 22 shortened). */
#define STAT_TAIL "1 0 98765 1234567 280 18446744073709551615 1 1 0 0 0 0 0 0 0 17 1 0 0\n"
#define STAT_MID " S 1 4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL

static void test_proc_stat_parse_valid(void **state)
{
	struct proc_stat st;
	const char *s = "4321 (memctld)" STAT_MID;

	assert_int_equal(proc_stat_parse(s, strlen(s), &st), 0);
	assert_int_equal(st.pid, 4321);
	assert_string_equal(st.comm, "memctld");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.minflt, 2914);
	assert_int_equal(st.majflt, 12);
	assert_int_equal(st.num_threads, 1);
	assert_int_equal(st.starttime_ticks, 98765);
}

static void test_proc_stat_parse_comm(void **state)
{
	static const struct {
		const char *line;
		const char *comm;
	} cases[] = {
		{ "7 (a b c)" STAT_MID, "a b c" },
		{ "7 ((sd-pam))" STAT_MID, "(sd-pam)" },
		{ "7 (x) S 1 2 3)" STAT_MID, "x) S 1 2 3" },
		{ "7 (x (y) z)" STAT_MID, "x (y) z" },
		{ "7 ())" STAT_MID, ")" },
		{ "7 ()" STAT_MID, "" },
		{ "7 (new\nline)" STAT_MID, "new\nline" },
		{ "7 (kworker/0:1-events)" STAT_MID, "kworker/0:1-events" },
		/* longer than PROC_COMM_MAX - 1: cut */
		{ "7 (0123456789012345678901234567890123456789012345678901234567890123456789)" STAT_MID,
		  "012345678901234567890123456789012345678901234567890123456789012" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct proc_stat st;

		if (proc_stat_parse(cases[i].line, strlen(cases[i].line), &st) != 0)
			fail_msg("case %zu failed to parse", i);
		assert_string_equal(st.comm, cases[i].comm);
		assert_int_equal(st.pid, 7);
		assert_int_equal(st.ppid, 1);
		assert_int_equal(st.starttime_ticks, 98765);
	}
}

static void test_proc_stat_parse_short(void **state)
{
	/* exactly 22 fields, no newline; a kernel thread with ppid 2 and 0 */
	const char *s = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 5 0 0 20 0 1 0 3";
	struct proc_stat st;

	assert_int_equal(proc_stat_parse(s, strlen(s), &st), 0);
	assert_int_equal(st.pid, 2);
	assert_int_equal(st.ppid, 0);
	assert_int_equal(st.starttime_ticks, 3);
}

static void test_proc_stat_parse_hostile(void **state)
{
	static const struct err_case cases[] = {
		ERR("", -EINVAL),
		ERR("\n", -EINVAL),
		ERR("garbage", -EINVAL),
		ERR("4321", -EINVAL),
		ERR("4321 ", -EINVAL),
		ERR("4321 (x", -EINVAL),
		ERR("4321 (x)", -EINVAL),
		ERR("4321 (x) ", -EINVAL),
		ERR("4321 x)" STAT_MID, -EINVAL),
		ERR("4321 (x)S 1", -EINVAL),
		ERR("abc (x)" STAT_MID, -EINVAL),
		ERR("-1 (x)" STAT_MID, -EINVAL),
		ERR("0 (x)" STAT_MID, -EINVAL),
		ERR(" 1 (x)" STAT_MID, -EINVAL),
		ERR("1  (x)" STAT_MID, -EINVAL),
		ERR("99999999999 (x)" STAT_MID, -ERANGE),
		ERR("99999999999999999999999 (x)" STAT_MID, -ERANGE),
		/* state */
		ERR("1 (x) SS 1 4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL,
		    -EINVAL),
		ERR("1 (x) 1 1 4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL,
		    -EINVAL),
		/* ppid */
		ERR("1 (x) S -1 4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL,
		    -EINVAL),
		ERR("1 (x) S 4294967296 4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL,
		    -ERANGE),
		/* minflt, majflt */
		ERR("1 (x) S 1 4321 4321 0 -1 4194560 -2914 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL,
		    -EINVAL),
		ERR("1 (x) S 1 4321 4321 0 -1 4194560 18446744073709551616 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL,
		    -ERANGE),
		ERR("1 (x) S 1 4321 4321 0 -1 4194560 2914 7 1x 3 101 202 -3 -4 20 0 " STAT_TAIL,
		    -EINVAL),
		/* a field we skip must still be a number */
		ERR("1 (x) S 1 4321 4321 0 -1 4194560 2914 7 12 3 abc 202 -3 -4 20 0 " STAT_TAIL,
		    -EINVAL),
		ERR("1 (x) S 1 4321 4321 0 - 4194560 2914 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL,
		    -EINVAL),
		ERR("1 (x) S 1 4321 4321 0 -1 99999999999999999999 2914 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL,
		    -ERANGE),
		/* double space, truncated before starttime */
		ERR("1 (x) S 1  4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL,
		    -EINVAL),
		ERR("1 (x) S 1 4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 1 0", -EINVAL),
		ERR("1 (x) S 1 4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 1 0 ",
		    -EINVAL),
		ERR("1 (x) S 1 4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 1 0 -5\n",
		    -EINVAL),
		ERR("1 (x) S 1 4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 1 0 5\r\n",
		    -EINVAL),
		ERR_N("1 (x\0) S 1 4321 4321 0 -1 4194560 2914 7 12 3 101 202 -3 -4 20 0 " STAT_TAIL,
		      -EINVAL),
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct proc_stat st = { .pid = 42 };
		int r = proc_stat_parse(cases[i].buf, case_len(&cases[i]), &st);

		if (r != cases[i].ret)
			fail_msg("case %zu \"%s\": returned %d, expected %d", i, cases[i].buf, r,
				 cases[i].ret);
		assert_int_equal(st.pid, 42);
	}
}

static void test_proc_stat_parse_self(void **state)
{
	char buf[4096];
	struct proc_stat st;
	size_t len;

	assert_int_equal(read_self("stat", buf, sizeof(buf), &len), 0);
	assert_int_equal(proc_stat_parse(buf, len, &st), 0);
	assert_int_equal(st.pid, getpid());
	assert_int_equal(st.ppid, getppid());
	assert_true(st.minflt > 0);
	assert_true(st.num_threads >= 1);
}

/* ---- /proc/PID/status ---- */

static const char status_user[] =
	"Name:\tmy prog\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4321\nNgid:\t0\n"
	"Pid:\t4321\nPPid:\t1\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\nGid:\t0\t0\t0\t0\n"
	"FDSize:\t64\nGroups:\t\nVmPeak:\t   10000 kB\nVmSize:\t    9000 kB\nVmLck:\t       0 kB\n"
	"VmHWM:\t    2000 kB\nVmRSS:\t    1800 kB\nRssAnon:\t     300 kB\n"
	"RssFile:\t    1400 kB\nRssShmem:\t     100 kB\nVmData:\t     400 kB\n"
	"VmSwap:\t      12 kB\nThreads:\t1\nCpus_allowed_list:\t0-1\n"
	"voluntary_ctxt_switches:\t5\n";

static void test_proc_status_parse_valid(void **state)
{
	struct proc_status st;

	assert_int_equal(proc_status_parse(status_user, strlen(status_user), &st), 0);
	assert_int_equal(st.tgid, 4321);
	assert_int_equal(st.ppid, 1);
	assert_true(st.has_mm);
	assert_int_equal(st.vm_rss_bytes, 1800 * 1024);
	assert_int_equal(st.rss_anon_bytes, 300 * 1024);
	assert_int_equal(st.rss_file_bytes, 1400 * 1024);
	assert_int_equal(st.rss_shmem_bytes, 100 * 1024);
	assert_int_equal(st.vm_swap_bytes, 12 * 1024);
	assert_true(st.has_uid);
	assert_int_equal(st.euid, 1001); /* the effective one, as ps's USER */
}

static void test_proc_status_parse_kernel_thread(void **state)
{
	/* no mm: no Vm* or Rss* lines; no trailing newline */
	const char *s = "Name:\tkthreadd\nState:\tS (sleeping)\nTgid:\t2\nPid:\t2\nPPid:\t0\n"
			"Threads:\t1";
	struct proc_status st;

	assert_int_equal(proc_status_parse(s, strlen(s), &st), 0);
	assert_int_equal(st.tgid, 2);
	assert_int_equal(st.ppid, 0);
	assert_false(st.has_mm);
	assert_int_equal(st.vm_rss_bytes, 0);
	assert_false(st.has_uid); /* optional */
}

static void test_proc_meminfo_parse_valid(void **state)
{
	static const char text[] = "MemTotal:       24608556 kB\n"
				   "MemFree:        23000000 kB\n"
				   "MemAvailable:   23817100 kB\n"
				   "Buffers:           12345 kB\n"
				   "HugePages_Total:       0\n";
	struct proc_meminfo mi;

	assert_int_equal(proc_meminfo_parse(text, strlen(text), &mi), 0);
	assert_int_equal(mi.mem_total_bytes, 24608556ULL * 1024);
	assert_int_equal(mi.mem_available_bytes, 23817100ULL * 1024);
}

/* and the live one parses */
static void test_proc_meminfo_parse_live(void **state)
{
	char buf[8192];
	struct proc_meminfo mi;
	FILE *f = fopen("/proc/meminfo", "re");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(proc_meminfo_parse(buf, n, &mi), 0);
	assert_true(mi.mem_total_bytes > (64ULL << 20));
	assert_true(mi.mem_available_bytes <= mi.mem_total_bytes);
}

static void test_proc_meminfo_parse_hostile(void **state)
{
	static const struct err_case cases[] = {
		ERR("", -EINVAL),
		ERR("MemTotal: 1 kB\n", -EINVAL), /* no MemAvailable */
		ERR("MemAvailable: 1 kB\n", -EINVAL),
		ERR("MemTotal: 1 kB\nMemAvailable: 1 kB\nMemTotal: 1 kB\n", -EINVAL),
		ERR("MemTotal: 1 MB\nMemAvailable: 1 kB\n", -EINVAL),
		ERR("MemTotal: -1 kB\nMemAvailable: 1 kB\n", -EINVAL),
		ERR("MemTotal: 1 kB\nno colon\nMemAvailable: 1 kB\n", -EINVAL),
		ERR("MemTotal: 18014398509481984 kB\nMemAvailable: 1 kB\n", -ERANGE),
		ERR_N("MemTotal: 1 kB\0\nMemAvailable: 1 kB\n", -EINVAL),
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct proc_meminfo mi = { .mem_total_bytes = 42 };
		int r = proc_meminfo_parse(cases[i].buf, case_len(&cases[i]), &mi);

		if (r != cases[i].ret)
			fail_msg("case %zu \"%s\": returned %d, expected %d", i, cases[i].buf, r,
				 cases[i].ret);
		assert_int_equal(mi.mem_total_bytes, 42);
	}
}

static void test_proc_status_parse_hostile(void **state)
{
#define MEM5 "VmRSS:\t1 kB\nRssAnon:\t1 kB\nRssFile:\t0 kB\nRssShmem:\t0 kB\nVmSwap:\t0 kB\n"
	static const struct err_case cases[] = {
		ERR("", -EINVAL),
		ERR("\n", -EINVAL),
		ERR("garbage", -EINVAL),
		ERR("Tgid:\t1\n", -EINVAL), /* no PPid */
		ERR("PPid:\t1\n", -EINVAL), /* no Tgid */
		ERR("Tgid:\t1\nPPid:\t1\nTgid:\t1\n", -EINVAL),
		ERR("Tgid:\t0\nPPid:\t1\n", -EINVAL),
		ERR("Tgid:\t-1\nPPid:\t1\n", -EINVAL),
		ERR("Tgid:\t1\nPPid:\t-1\n", -EINVAL),
		ERR("Tgid:\t12a\nPPid:\t1\n", -EINVAL),
		ERR("Tgid:\t\nPPid:\t1\n", -EINVAL),
		ERR("Tgid:\t1 \nPPid:\t1\n", -EINVAL),
		ERR("Tgid:\t99999999999\nPPid:\t1\n", -ERANGE),
		ERR("TGID:\t1\nPPid:\t1\n", -EINVAL),
		ERR("Tgid:\t1\nPPid:\t1\nno colon here\n", -EINVAL),
		ERR("Tgid:\t1\nPPid:\t1\n\n", -EINVAL),
		/* some of the five memory lines only */
		ERR("Tgid:\t1\nPPid:\t1\nVmRSS:\t1 kB\n", -EINVAL),
		ERR("Tgid:\t1\nPPid:\t1\n" MEM5 "VmRSS:\t1 kB\n", -EINVAL),
		ERR("Tgid:\t1\nPPid:\t1\nVmRSS:\t1 MB\nRssAnon:\t1 kB\nRssFile:\t0 kB\n"
		    "RssShmem:\t0 kB\nVmSwap:\t0 kB\n",
		    -EINVAL),
		ERR("Tgid:\t1\nPPid:\t1\nVmRSS:\t1\nRssAnon:\t1 kB\nRssFile:\t0 kB\n"
		    "RssShmem:\t0 kB\nVmSwap:\t0 kB\n",
		    -EINVAL),
		ERR("Tgid:\t1\nPPid:\t1\nVmRSS:\t-1 kB\nRssAnon:\t1 kB\nRssFile:\t0 kB\n"
		    "RssShmem:\t0 kB\nVmSwap:\t0 kB\n",
		    -EINVAL),
		ERR("Tgid:\t1\nPPid:\t1\nVmRSS:\t1  kB\nRssAnon:\t1 kB\nRssFile:\t0 kB\n"
		    "RssShmem:\t0 kB\nVmSwap:\t0 kB\n",
		    -EINVAL),
		/* 2^54 kB is 2^64 bytes */
		ERR("Tgid:\t1\nPPid:\t1\nVmRSS:\t18014398509481984 kB\nRssAnon:\t1 kB\n"
		    "RssFile:\t0 kB\nRssShmem:\t0 kB\nVmSwap:\t0 kB\n",
		    -ERANGE),
		ERR("Tgid:\t1\nPPid:\t1\nVmRSS:\t99999999999999999999 kB\nRssAnon:\t1 kB\n"
		    "RssFile:\t0 kB\nRssShmem:\t0 kB\nVmSwap:\t0 kB\n",
		    -ERANGE),
		ERR_N("Tgid:\t1\nPPid:\t1\0\n", -EINVAL),
		ERR("Tgid:\t1\nPPid:\t1\nUid:\t0\n", -EINVAL),
		ERR("Tgid:\t1\nPPid:\t1\nUid:\t0\tx\t0\t0\n", -EINVAL),
		ERR("Tgid:\t1\nPPid:\t1\nUid:\t0\t4294967295\t0\t0\n", -ERANGE),
		ERR("Tgid:\t1\nPPid:\t1\nUid:\t0\t0\t0\t0\nUid:\t0\t0\t0\t0\n", -EINVAL),
	};
#undef MEM5

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct proc_status st = { .tgid = 42 };
		int r = proc_status_parse(cases[i].buf, case_len(&cases[i]), &st);

		if (r != cases[i].ret)
			fail_msg("case %zu \"%s\": returned %d, expected %d", i, cases[i].buf, r,
				 cases[i].ret);
		assert_int_equal(st.tgid, 42);
	}
}

static void test_proc_status_parse_self(void **state)
{
	char buf[8192];
	struct proc_status st;
	size_t len;

	assert_int_equal(read_self("status", buf, sizeof(buf), &len), 0);
	assert_int_equal(proc_status_parse(buf, len, &st), 0);
	assert_int_equal(st.tgid, getpid());
	assert_int_equal(st.ppid, getppid());
	assert_true(st.has_mm);
	assert_true(st.vm_rss_bytes > 0);
	assert_true(st.vm_rss_bytes >= st.rss_anon_bytes);
	assert_true(st.has_uid);
	assert_int_equal(st.euid, geteuid());
}

/* ---- /proc/PID/cgroup ---- */

static void test_proc_cgroup_parse_v1_and_v2(void **state)
{
	/* as on this machine: v1 controllers plus an empty cgroup2 */
	const char *s = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/ded6a22e\n"
			"3:cpuset:/\n1:cpu:/\n0::/\n";
	struct proc_cgroup c = {};

	assert_int_equal(proc_cgroup_parse(s, strlen(s), &c), 0);
	assert_string_equal(c.v1_memory_path, "/process_api/ded6a22e");
	assert_string_equal(c.v2_path, "/");
	assert_false(c.v2_deleted);
	proc_cgroup_done(&c);
	assert_null(c.v1_memory_path);
	assert_null(c.v2_path);
	proc_cgroup_done(&c);
}

static void test_proc_cgroup_parse_variants(void **state)
{
	static const struct {
		const char *buf;
		const char *v1;
		const char *v2;
		bool deleted;
	} cases[] = {
		{ "0::/user.slice/x.scope\n", NULL, "/user.slice/x.scope", false },
		{ "0::/user.slice/x.scope", NULL, "/user.slice/x.scope", false },
		{ "0::/gone (deleted)\n", NULL, "/gone", true },
		{ "0::/odd:name\n", NULL, "/odd:name", false },
		/* a cgroup name may hold any byte but '/' and NUL */
		{ "0::/a\rb\n", NULL, "/a\rb", false },
		{ "3:cpu,memory,pids:/a\n", "/a", NULL, false },
		{ "3:memory,cpu:/a b\n", "/a b", NULL, false },
		/* not the memory controller: exact names */
		{ "3:name=memory:/x\n4:memory:/y\n", "/y", NULL, false },
		{ "3:memoryx:/x\n0::/z\n", NULL, "/z", false },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(proc_cgroup_done) struct proc_cgroup c = {};

		if (proc_cgroup_parse(cases[i].buf, strlen(cases[i].buf), &c) != 0)
			fail_msg("case %zu failed to parse", i);
		if (cases[i].v1)
			assert_string_equal(c.v1_memory_path, cases[i].v1);
		else
			assert_null(c.v1_memory_path);
		if (cases[i].v2)
			assert_string_equal(c.v2_path, cases[i].v2);
		else
			assert_null(c.v2_path);
		assert_int_equal(c.v2_deleted, cases[i].deleted);
	}
}

static void test_proc_cgroup_parse_hostile(void **state)
{
	static const struct err_case cases[] = {
		ERR("", -EINVAL),
		ERR("\n", -EINVAL),
		ERR("garbage", -EINVAL),
		ERR("garbage\n", -EINVAL),
		ERR("4:memory\n", -EINVAL),
		ERR("4:memory:\n", -EINVAL),
		ERR("4:memory:relative\n", -EINVAL),
		ERR("x:memory:/\n", -EINVAL),
		ERR("-1:memory:/\n", -EINVAL),
		ERR(":memory:/\n", -EINVAL),
		ERR("99999999999999999999:memory:/\n", -ERANGE),
		ERR("0:memory:/\n", -EINVAL),
		ERR("5::/\n", -EINVAL),
		ERR("4:memory:/a\n4:memory:/b\n", -EINVAL),
		ERR("0::/a\n0::/b\n", -EINVAL),
		ERR("4:memory:/a\n\n0::/\n", -EINVAL),
		ERR_N("0::/a\0b\n", -EINVAL),
		/* well-formed, but neither a v1 memory line nor a v2 line */
		ERR("8:pids:/\n1:cpu:/\n", -ENODATA),
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct proc_cgroup c = { .v2_deleted = true };
		int r = proc_cgroup_parse(cases[i].buf, case_len(&cases[i]), &c);

		if (r != cases[i].ret)
			fail_msg("case %zu \"%s\": returned %d, expected %d", i, cases[i].buf, r,
				 cases[i].ret);
		assert_true(c.v2_deleted);
		assert_null(c.v2_path);
	}
}

static void test_proc_cgroup_parse_self(void **state)
{
	char buf[4096];
	_cleanup_(proc_cgroup_done) struct proc_cgroup c = {};
	size_t len;

	assert_int_equal(read_self("cgroup", buf, sizeof(buf), &len), 0);
	assert_int_equal(proc_cgroup_parse(buf, len, &c), 0);
	assert_true(c.v1_memory_path || c.v2_path);
	if (c.v1_memory_path)
		assert_int_equal(c.v1_memory_path[0], '/');
	if (c.v2_path)
		assert_int_equal(c.v2_path[0], '/');
}

/* /proc/self/mountinfo: hidepid of the proc mount at a point, the top one winning */
static void test_proc_mountinfo_hidepid(void **state)
{
	static const char mi[] =
		"22 1 0:5 / /dev rw,nosuid - devtmpfs udev rw,size=4096k\n"
		"24 1 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
		"90 24 0:40 / /proc rw,relatime - proc proc rw,hidepid=invisible\n"
		"91 1 0:41 / /srv/my\\040proc rw master:3 shared:4 - proc none rw,hidepid=2,gid=27\n"
		"92 1 0:42 / /p0 rw - proc proc rw,hidepid=0\n"
		"93 1 0:43 / /poff rw - proc proc rw,hidepid=off\n"
		"94 1 0:44 / /tmp rw - tmpfs tmpfs rw,hidepid=2\n";
	bool h = false;

	assert_int_equal(proc_mountinfo_hidepid(mi, sizeof(mi) - 1, "/proc", &h), 0);
	assert_true(h); /* mount 90 is on top of 24 */
	assert_int_equal(
		proc_mountinfo_hidepid(mi, (size_t)(strstr(mi, "90 24") - mi), "/proc", &h), 0);
	assert_false(h); /* the lines before mount 90: only 24 */
	assert_int_equal(proc_mountinfo_hidepid(mi, sizeof(mi) - 1, "/srv/my proc", &h), 0);
	assert_true(h);
	assert_int_equal(proc_mountinfo_hidepid(mi, sizeof(mi) - 1, "/p0", &h), 0);
	assert_false(h);
	h = true;
	assert_int_equal(proc_mountinfo_hidepid(mi, sizeof(mi) - 1, "/poff", &h), 0);
	assert_false(h);
	/* not proc, or no mount there */
	assert_int_equal(proc_mountinfo_hidepid(mi, sizeof(mi) - 1, "/tmp", &h), -ENOENT);
	assert_int_equal(proc_mountinfo_hidepid(mi, sizeof(mi) - 1, "/nope", &h), -ENOENT);
	assert_int_equal(proc_mountinfo_hidepid("", 0, "/proc", &h), -ENOENT);
	/* malformed: no "-" separator, cut short */
	assert_int_equal(proc_mountinfo_hidepid("24 1 0:22 / /proc rw shared:12 proc proc rw\n", 45,
						"/proc", &h),
			 -EINVAL);
	assert_int_equal(proc_mountinfo_hidepid("24 1 0:22 /", 11, "/proc", &h), -EINVAL);
}

/* this machine's own mountinfo parses, and /proc is a proc mount */
static void test_proc_mountinfo_hidepid_self(void **state)
{
	static char buf[1 << 16];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	size_t n;
	bool h;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(proc_mountinfo_hidepid(buf, n, "/proc", &h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_stat_parse_valid),
		cmocka_unit_test(test_proc_stat_parse_comm),
		cmocka_unit_test(test_proc_stat_parse_short),
		cmocka_unit_test(test_proc_stat_parse_hostile),
		cmocka_unit_test(test_proc_stat_parse_self),
		cmocka_unit_test(test_proc_status_parse_valid),
		cmocka_unit_test(test_proc_meminfo_parse_valid),
		cmocka_unit_test(test_proc_meminfo_parse_live),
		cmocka_unit_test(test_proc_meminfo_parse_hostile),
		cmocka_unit_test(test_proc_status_parse_kernel_thread),
		cmocka_unit_test(test_proc_status_parse_hostile),
		cmocka_unit_test(test_proc_status_parse_self),
		cmocka_unit_test(test_proc_cgroup_parse_v1_and_v2),
		cmocka_unit_test(test_proc_cgroup_parse_variants),
		cmocka_unit_test(test_proc_cgroup_parse_hostile),
		cmocka_unit_test(test_proc_cgroup_parse_self),
		cmocka_unit_test(test_proc_mountinfo_hidepid),
		cmocka_unit_test(test_proc_mountinfo_hidepid_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
