/* SPDX-License-Identifier: MIT */
/* tests/unit/test_cgroup.c: cgroup-parse (hostile input tables) and cgroup-read
 * (fixture trees under tests/fixtures, a vanishing cgroup, a real v1 cgroup). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "daemon/cgroup-parse.h"
#include "daemon/cgroup-read.h"

#define V1_MEMORY_ROOT "/sys/fs/cgroup/memory"

/* ---- fixtures ---- */

/* tests/fixtures: $MEMCTL_FIXTURES_DIR, else relative to this source file (the
 * build compiles from the repository root), else to the binary
 * ($BUILD/tests/test_cgroup in the repository). */
static const char *fixtures_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("MEMCTL_FIXTURES_DIR");
	const char *slash;
	char exe[PATH_MAX];
	ssize_t n;

	if (env)
		return env;
	if (dir[0])
		return dir;
	slash = strrchr(__FILE__, '/');
	snprintf(dir, sizeof(dir), "%.*s/../fixtures", slash ? (int)(slash - __FILE__) : 1,
		 slash ? __FILE__ : ".");
	if (access(dir, F_OK) == 0)
		return dir;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		snprintf(dir, sizeof(dir), "%.*s/../../tests/fixtures",
			 slash ? (int)(slash - exe) : 1, slash ? exe : ".");
	}
	return dir;
}

static char *fixture_path(const char *sub)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", fixtures_dir(), sub) >= 0);
	return p;
}

/* ---- hostile input tables ---- */

struct u64_case {
	const char *buf;
	size_t len; /* 0: strlen(buf) */
	int ret;
	uint64_t value;
};

#define CASE_OK(s, v)      \
	{                  \
		s, 0, 0, v \
	}
#define CASE_ERR(s, e)     \
	{                  \
		s, 0, e, 0 \
	}

static size_t case_len(const char *buf, size_t len)
{
	return len ? len : strlen(buf);
}

static void run_u64_cases(int (*parse)(const char *, size_t, uint64_t *),
			  const struct u64_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0xdeadbeef;
		int r = parse(cases[i].buf, case_len(cases[i].buf, cases[i].len), &v);

		if (r != cases[i].ret)
			fail_msg("case %zu \"%s\": returned %d, expected %d", i, cases[i].buf, r,
				 cases[i].ret);
		if (r == 0 && v != cases[i].value)
			fail_msg("case %zu \"%s\": value %ju, expected %ju", i, cases[i].buf,
				 (uintmax_t)v, (uintmax_t)cases[i].value);
		if (r < 0 && v != 0xdeadbeef)
			fail_msg("case %zu \"%s\": output written on failure", i, cases[i].buf);
	}
}

/* Garbage every one-number file must refuse. */
static const struct u64_case number_hostile[] = {
	CASE_ERR("", -EINVAL),
	CASE_ERR("\n", -EINVAL),
	CASE_ERR("-1\n", -EINVAL),
	CASE_ERR("+5\n", -EINVAL),
	CASE_ERR(" 5\n", -EINVAL),
	CASE_ERR("5 \n", -EINVAL),
	CASE_ERR("5\r\n", -EINVAL),
	CASE_ERR("5\n\n", -EINVAL),
	CASE_ERR("5\n6\n", -EINVAL),
	CASE_ERR("12abc\n", -EINVAL),
	CASE_ERR("0x10\n", -EINVAL),
	CASE_ERR("1e9\n", -EINVAL),
	CASE_ERR("1.5\n", -EINVAL),
	CASE_ERR("garbage", -EINVAL),
	{ "12\0\n", 4, -EINVAL, 0 },
	CASE_ERR("18446744073709551616\n", -ERANGE),
	CASE_ERR("99999999999999999999999999999999\n", -ERANGE),
};

static void test_cgroup_v2_limit_parse_valid(void **state)
{
	static const struct u64_case cases[] = {
		CASE_OK("max\n", CGROUP_LIMIT_MAX),
		CASE_OK("max", CGROUP_LIMIT_MAX),
		CASE_OK("0\n", 0),
		CASE_OK("536870912\n", 536870912),
		CASE_OK("536870912", 536870912),
		CASE_OK("000123\n", 123),
		CASE_OK("18446744073709551615\n", UINT64_MAX),
	};

	run_u64_cases(cgroup_v2_limit_parse, cases, ELEMENTSOF(cases));
}

static void test_cgroup_v2_limit_parse_hostile(void **state)
{
	static const struct u64_case cases[] = {
		CASE_ERR("Max\n", -EINVAL),	  CASE_ERR("maxx\n", -EINVAL),
		CASE_ERR("ma\n", -EINVAL),	  CASE_ERR(" max\n", -EINVAL),
		CASE_ERR("max \n", -EINVAL),	  CASE_ERR("max\nmax\n", -EINVAL),
		CASE_ERR("unlimited\n", -EINVAL), { "max\0", 4, -EINVAL, 0 },
	};

	run_u64_cases(cgroup_v2_limit_parse, cases, ELEMENTSOF(cases));
	run_u64_cases(cgroup_v2_limit_parse, number_hostile, ELEMENTSOF(number_hostile));
}

static void test_cgroup_v1_limit_parse_valid(void **state)
{
	static const struct u64_case cases[] = {
		/* PAGE_COUNTER_MAX * 4 KiB, what v1 prints for "no limit" */
		CASE_OK("9223372036854771712\n", CGROUP_LIMIT_MAX),
		/* the same with 64 KiB pages */
		CASE_OK("9223372036854710272\n", CGROUP_LIMIT_MAX),
		CASE_OK("9223372036854775807\n", CGROUP_LIMIT_MAX),
		CASE_OK("18446744073709551615\n", CGROUP_LIMIT_MAX),
		CASE_OK("9223372036854513664\n", CGROUP_LIMIT_MAX),
		CASE_OK("9223372036854513663\n", 9223372036854513663ULL),
		CASE_OK("536870912\n", 536870912),
		CASE_OK("536870912", 536870912),
		CASE_OK("0\n", 0),
	};

	run_u64_cases(cgroup_v1_limit_parse, cases, ELEMENTSOF(cases));
}

static void test_cgroup_v1_limit_parse_hostile(void **state)
{
	static const struct u64_case cases[] = {
		CASE_ERR("max\n", -EINVAL),
		CASE_ERR("unlimited\n", -EINVAL),
		CASE_ERR("-1\n", -EINVAL),
		CASE_ERR("512M\n", -EINVAL),
	};

	run_u64_cases(cgroup_v1_limit_parse, cases, ELEMENTSOF(cases));
	run_u64_cases(cgroup_v1_limit_parse, number_hostile, ELEMENTSOF(number_hostile));
}

static void test_cgroup_bytes_parse_valid(void **state)
{
	static const struct u64_case cases[] = {
		CASE_OK("1353007104\n", 1353007104),
		CASE_OK("0", 0),
		CASE_OK("18446744073709551615", UINT64_MAX),
	};

	run_u64_cases(cgroup_bytes_parse, cases, ELEMENTSOF(cases));
}

static void test_cgroup_bytes_parse_hostile(void **state)
{
	static const struct u64_case cases[] = {
		CASE_ERR("max\n", -EINVAL),
	};

	run_u64_cases(cgroup_bytes_parse, cases, ELEMENTSOF(cases));
	run_u64_cases(cgroup_bytes_parse, number_hostile, ELEMENTSOF(number_hostile));
}

static void test_cgroup_count_parse_hostile(void **state)
{
	static const struct u64_case cases[] = {
		CASE_OK("0\n", 0),
		CASE_OK("42", 42),
	};

	run_u64_cases(cgroup_count_parse, cases, ELEMENTSOF(cases));
	run_u64_cases(cgroup_count_parse, number_hostile, ELEMENTSOF(number_hostile));
}

struct err_case {
	const char *buf;
	size_t len;
	int ret;
};

#define ERR(s, e)       \
	{               \
		s, 0, e \
	}

static void test_cgroup_events_parse_valid(void **state)
{
	struct cgroup_mem_events ev;

	assert_int_equal(cgroup_events_parse("low 1\nhigh 12\nmax 3\noom 4\noom_kill 5\n"
					     "oom_group_kill 6\n",
					     strlen("low 1\nhigh 12\nmax 3\noom 4\noom_kill 5\n"
						    "oom_group_kill 6\n"),
					     &ev),
			 0);
	assert_int_equal(ev.low, 1);
	assert_int_equal(ev.high, 12);
	assert_int_equal(ev.max, 3);
	assert_int_equal(ev.oom, 4);
	assert_int_equal(ev.oom_kill, 5);
	assert_int_equal(ev.oom_group_kill, 6);
	assert_true(ev.has_oom_group_kill);

	/* before v5.17: no oom_group_kill; no trailing newline; any order;
	 * keys a later kernel adds are skipped */
	{
		const char *s = "oom_kill 0\nsock_throttled 9\nmax 18446744073709551615\nhigh 0\n"
				"oom 0\nlow 7";

		assert_int_equal(cgroup_events_parse(s, strlen(s), &ev), 0);
		assert_int_equal(ev.low, 7);
		assert_int_equal(ev.max, UINT64_MAX);
		assert_int_equal(ev.oom_group_kill, 0);
		assert_false(ev.has_oom_group_kill);
	}
}

static void test_cgroup_events_parse_hostile(void **state)
{
	static const struct err_case cases[] = {
		ERR("", -EINVAL),
		ERR("\n", -EINVAL),
		ERR("garbage", -EINVAL),
		ERR("garbage\n", -EINVAL),
		/* missing required keys */
		ERR("low 0\nhigh 0\nmax 0\noom 0\n", -EINVAL),
		ERR("low 0\nhigh 0\nmax 0\noom_kill 0\n", -EINVAL),
		ERR("oom_group_kill 0\n", -EINVAL),
		/* exact keys: a prefix or a case change is another key */
		ERR("low 0\nhigh 0\nmax 0\noom 0\noom_killx 0\n", -EINVAL),
		ERR("LOW 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		/* duplicates */
		ERR("low 0\nlow 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		/* bad values */
		ERR("low -1\nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		ERR("low 1 2\nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		ERR("low  1\nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		ERR("low\t1\nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		ERR("low \nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		ERR("low max\nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		ERR("low 0\n\nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		ERR("low 0\r\nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		ERR(" low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", -EINVAL),
		/* a skipped key must still be well-formed */
		ERR("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\nnew-key 1\n", -EINVAL),
		ERR("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\nnew_key x\n", -EINVAL),
		ERR("low 0\nhigh 0\nmax 0\noom 0\noom_kill 99999999999999999999\n", -ERANGE),
		ERR("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\nnew_key 99999999999999999999\n",
		    -ERANGE),
#define WITH_NUL "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\0\n"
		{ WITH_NUL, sizeof(WITH_NUL) - 1, -EINVAL },
#undef WITH_NUL
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct cgroup_mem_events ev = { .low = 42 };
		int r = cgroup_events_parse(cases[i].buf, case_len(cases[i].buf, cases[i].len),
					    &ev);

		if (r != cases[i].ret)
			fail_msg("case %zu: returned %d, expected %d", i, r, cases[i].ret);
		assert_int_equal(ev.low, 42);
	}
}

static void test_cgroup_pressure_parse_valid(void **state)
{
	struct cgroup_pressure p;
	const char *s = "some avg10=1.53 avg60=0.20 avg300=0.04 total=1234567\n"
			"full avg10=100.00 avg60=0.01 avg300=0.00 total=18446744073709551615\n";

	assert_int_equal(cgroup_pressure_parse(s, strlen(s), &p), 0);
	assert_int_equal(p.some.avg10_permyriad, 153);
	assert_int_equal(p.some.avg60_permyriad, 20);
	assert_int_equal(p.some.avg300_permyriad, 4);
	assert_int_equal(p.some.total_usec, 1234567);
	assert_int_equal(p.full.avg10_permyriad, 10000);
	assert_int_equal(p.full.avg60_permyriad, 1);
	assert_int_equal(p.full.avg300_permyriad, 0);
	assert_int_equal(p.full.total_usec, UINT64_MAX);

	s = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0";
	assert_int_equal(cgroup_pressure_parse(s, strlen(s), &p), 0);
	assert_int_equal(p.full.total_usec, 0);
}

static void test_cgroup_pressure_parse_hostile(void **state)
{
#define FULL0 "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
#define SOME0 "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	static const struct err_case cases[] = {
		ERR("", -EINVAL),
		ERR("\n", -EINVAL),
		ERR("garbage\n", -EINVAL),
		ERR(SOME0, -EINVAL), /* no full line */
		ERR(FULL0 SOME0, -EINVAL), /* order */
		ERR(SOME0 SOME0, -EINVAL),
		ERR(SOME0 FULL0 FULL0, -EINVAL),
		ERR(SOME0 FULL0 "\n", -EINVAL),
		ERR(SOME0 "\n" FULL0, -EINVAL),
		ERR("some avg10=0.00 avg60=0.00 avg300=0.00\n" FULL0, -EINVAL),
		ERR("some avg10=0.00 avg60=0.00 total=0\n" FULL0, -EINVAL),
		ERR("some avg60=0.00 avg10=0.00 avg300=0.00 total=0\n" FULL0, -EINVAL),
		ERR("some avg10=0.00 avg60=0.00 avg300=0.00 total=0 extra=1\n" FULL0, -EINVAL),
		ERR("some  avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" FULL0, -EINVAL),
		ERR("some avg10=0.00 avg60=0.00 avg300=0.00 total=0 \n" FULL0, -EINVAL),
		ERR("some avg10=0.0 avg60=0.00 avg300=0.00 total=0\n" FULL0, -EINVAL),
		ERR("some avg10=0.000 avg60=0.00 avg300=0.00 total=0\n" FULL0, -EINVAL),
		ERR("some avg10=1 avg60=0.00 avg300=0.00 total=0\n" FULL0, -EINVAL),
		ERR("some avg10=.50 avg60=0.00 avg300=0.00 total=0\n" FULL0, -EINVAL),
		ERR("some avg10=-1.00 avg60=0.00 avg300=0.00 total=0\n" FULL0, -EINVAL),
		ERR("some avg10=1,00 avg60=0.00 avg300=0.00 total=0\n" FULL0, -EINVAL),
		ERR("some avg10=0.00 avg60=0.00 avg300=0.00 total=-5\n" FULL0, -EINVAL),
		ERR("some avg10=0.00 avg60=0.00 avg300=0.00 total=1e3\n" FULL0, -EINVAL),
		ERR("some avg10=0.00 avg60=0.00 avg300=0.00 total=\n" FULL0, -EINVAL),
		ERR("some avg10= avg60=0.00 avg300=0.00 total=0\n" FULL0, -EINVAL),
		ERR("SOME avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" FULL0, -EINVAL),
		ERR("some avg10=100.01 avg60=0.00 avg300=0.00 total=0\n" FULL0, -ERANGE),
		ERR("some avg10=101.00 avg60=0.00 avg300=0.00 total=0\n" FULL0, -ERANGE),
		ERR("some avg10=99999999999999999999.00 avg60=0.00 avg300=0.00 total=0\n" FULL0,
		    -ERANGE),
		ERR("some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616\n" FULL0,
		    -ERANGE),
	};
#undef FULL0
#undef SOME0

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct cgroup_pressure p = { .some.total_usec = 42 };
		int r = cgroup_pressure_parse(cases[i].buf, case_len(cases[i].buf, cases[i].len),
					      &p);

		if (r != cases[i].ret)
			fail_msg("case %zu \"%s\": returned %d, expected %d", i, cases[i].buf, r,
				 cases[i].ret);
		assert_int_equal(p.some.total_usec, 42);
	}
}

static const char stat_v2[] = "anon 100663296\nfile 218103808\nkernel 8650752\n"
			      "shmem 1048576\nfile_mapped 41943040\nfile_dirty 135168\n"
			      "file_writeback 4096\nswapcached 0\ninactive_anon 4194304\n"
			      "active_anon 96468992\ninactive_file 167772160\n"
			      "active_file 50331648\nunevictable 8192\n"
			      "workingset_refault_anon 7\nworkingset_refault_file 1234\n"
			      "pgfault 1301864\npgmajfault 753\n"
			      "slab 5242880\nsock 4096\npagetables 2097152\n";

static void test_cgroup_stat_parse_v2(void **state)
{
	struct cgroup_mem_stat st;

	assert_int_equal(cgroup_stat_parse(stat_v2, strlen(stat_v2), CGROUP_HIERARCHY_V2, &st), 0);
	assert_int_equal(st.anon_bytes, 100663296);
	assert_int_equal(st.file_bytes, 218103808);
	assert_int_equal(st.shmem_bytes, 1048576);
	assert_int_equal(st.file_mapped_bytes, 41943040);
	assert_int_equal(st.file_dirty_bytes, 135168);
	assert_int_equal(st.file_writeback_bytes, 4096);
	assert_int_equal(st.inactive_anon_bytes, 4194304);
	assert_int_equal(st.active_anon_bytes, 96468992);
	assert_int_equal(st.inactive_file_bytes, 167772160);
	assert_int_equal(st.active_file_bytes, 50331648);
	assert_int_equal(st.unevictable_bytes, 8192);
	assert_int_equal(st.pgfault, 1301864);
	assert_int_equal(st.pgmajfault, 753);
	assert_int_equal(st.workingset_refault_anon, 7);
	assert_int_equal(st.workingset_refault_file, 1234);
	assert_int_equal(st.present, CGROUP_STAT_HAS_REFAULT_ANON | CGROUP_STAT_HAS_REFAULT_FILE |
					     CGROUP_STAT_HAS_KERNEL | CGROUP_STAT_HAS_SLAB |
					     CGROUP_STAT_HAS_SOCK | CGROUP_STAT_HAS_PAGETABLES);
	assert_int_equal(st.kernel_bytes, 8650752);
	assert_int_equal(st.slab_bytes, 5242880);
	assert_int_equal(st.sock_bytes, 4096);
	assert_int_equal(st.pagetables_bytes, 2097152);
	assert_int_equal(st.swap_bytes, 0);
	assert_int_equal(st.hierarchical_limit_bytes, CGROUP_LIMIT_MAX);
}

static const char stat_v1[] =
	"cache 42196992\nrss 6316032\nrss_huge 0\nshmem 9084928\nmapped_file 7651328\n"
	"dirty 20480\nwriteback 0\nswap 4096\npgpgin 34636\npgfault 38805\npgmajfault 0\n"
	"inactive_anon 0\nactive_anon 1531904\ninactive_file 15896576\nactive_file 17215488\n"
	"unevictable 13869056\nhierarchical_memory_limit 536870912\n"
	"hierarchical_memsw_limit 9223372036854771712\ntotal_cache 1341509632\n"
	"total_rss 11657216\ntotal_shmem 9084929\ntotal_mapped_file 11177984\n"
	"total_dirty 135168\ntotal_writeback 1\ntotal_swap 8192\ntotal_pgfault 1301864\n"
	"total_pgmajfault 753\ntotal_inactive_anon 5115904\ntotal_active_anon 1564672\n"
	"total_inactive_file 943968256\ntotal_active_file 388456448\n"
	"total_unevictable 13869057\n";

static void test_cgroup_stat_parse_v1_total_preferred(void **state)
{
	struct cgroup_mem_stat st;

	assert_int_equal(cgroup_stat_parse(stat_v1, strlen(stat_v1), CGROUP_HIERARCHY_V1, &st), 0);
	/* hierarchical total_* win over the local values */
	assert_int_equal(st.anon_bytes, 11657216);
	assert_int_equal(st.file_bytes, 1341509632);
	assert_int_equal(st.shmem_bytes, 9084929);
	assert_int_equal(st.file_mapped_bytes, 11177984);
	assert_int_equal(st.file_dirty_bytes, 135168);
	assert_int_equal(st.file_writeback_bytes, 1);
	assert_int_equal(st.inactive_anon_bytes, 5115904);
	assert_int_equal(st.active_anon_bytes, 1564672);
	assert_int_equal(st.inactive_file_bytes, 943968256);
	assert_int_equal(st.active_file_bytes, 388456448);
	assert_int_equal(st.unevictable_bytes, 13869057);
	assert_int_equal(st.pgfault, 1301864);
	assert_int_equal(st.pgmajfault, 753);
	assert_int_equal(st.swap_bytes, 8192);
	assert_int_equal(st.hierarchical_limit_bytes, 536870912);
	assert_int_equal(st.present, CGROUP_STAT_HAS_SWAP | CGROUP_STAT_HAS_HIERARCHICAL_LIMIT);
}

static void test_cgroup_stat_parse_v1_local_only(void **state)
{
	const char *s = "cache 1\nrss 2\nshmem 3\nmapped_file 4\ndirty 5\nwriteback 6\n"
			"inactive_anon 7\nactive_anon 8\ninactive_file 9\nactive_file 10\n"
			"unevictable 11\npgfault 12\npgmajfault 13\n"
			"hierarchical_memory_limit 9223372036854771712";
	struct cgroup_mem_stat st;

	assert_int_equal(cgroup_stat_parse(s, strlen(s), CGROUP_HIERARCHY_V1, &st), 0);
	assert_int_equal(st.file_bytes, 1);
	assert_int_equal(st.anon_bytes, 2);
	assert_int_equal(st.pgmajfault, 13);
	assert_int_equal(st.present, CGROUP_STAT_HAS_HIERARCHICAL_LIMIT);
	assert_int_equal(st.hierarchical_limit_bytes, CGROUP_LIMIT_MAX);
}

static void test_cgroup_stat_parse_hostile(void **state)
{
	static const struct {
		const char *buf;
		enum cgroup_hierarchy h;
		int ret;
	} cases[] = {
		{ "", CGROUP_HIERARCHY_V2, -EINVAL },
		{ "\n", CGROUP_HIERARCHY_V2, -EINVAL },
		{ "anon 1\n", CGROUP_HIERARCHY_V2, -EINVAL },
		/* v1 keys are not v2 keys and the other way round */
		{ stat_v1, CGROUP_HIERARCHY_V2, -EINVAL },
		{ stat_v2, CGROUP_HIERARCHY_V1, -EINVAL },
		{ stat_v2, (enum cgroup_hierarchy)3, -EINVAL },
		{ "garbage\n", CGROUP_HIERARCHY_V1, -EINVAL },
		{ "anon 99999999999999999999\n", CGROUP_HIERARCHY_V2, -ERANGE },
		{ "anon -1\n", CGROUP_HIERARCHY_V2, -EINVAL },
	};
	char buf[2048];
	struct cgroup_mem_stat st = { .anon_bytes = 42 };

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int r = cgroup_stat_parse(cases[i].buf, strlen(cases[i].buf), cases[i].h, &st);

		if (r != cases[i].ret)
			fail_msg("case %zu: returned %d, expected %d", i, r, cases[i].ret);
	}
	/* each required v2 key missing in turn */
	{
		const char *keys[] = { "anon ",		 "file ",	 "shmem ",
				       "file_mapped ",	 "file_dirty ",	 "file_writeback ",
				       "inactive_anon ", "active_anon ", "inactive_file ",
				       "active_file ",	 "unevictable ", "pgfault ",
				       "pgmajfault " };

		for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
			const char *at;
			size_t n = 0;

			/* drop the line starting with keys[k] */
			for (const char *p = stat_v2; *p; p = strchr(p, '\n') + 1) {
				size_t l = (size_t)(strchr(p, '\n') - p) + 1;

				if (strncmp(p, keys[k], strlen(keys[k])) != 0) {
					memcpy(buf + n, p, l);
					n += l;
				}
			}
			at = buf;
			assert_int_equal(cgroup_stat_parse(at, n, CGROUP_HIERARCHY_V2, &st),
					 -EINVAL);
		}
	}
	/* a duplicated key */
	snprintf(buf, sizeof(buf), "%sanon 1\n", stat_v2);
	assert_int_equal(cgroup_stat_parse(buf, strlen(buf), CGROUP_HIERARCHY_V2, &st), -EINVAL);
	snprintf(buf, sizeof(buf), "%stotal_rss 1\n", stat_v1);
	assert_int_equal(cgroup_stat_parse(buf, strlen(buf), CGROUP_HIERARCHY_V1, &st), -EINVAL);
	/* truncated mid-line */
	assert_int_equal(cgroup_stat_parse(stat_v2, 20, CGROUP_HIERARCHY_V2, &st), -EINVAL);
	assert_int_equal(st.anon_bytes, 42);
}

static void test_cgroup_oom_control_parse_valid(void **state)
{
	struct cgroup_oom_control oc;
	const char *s = "oom_kill_disable 1\nunder_oom 0\noom_kill 7\n";

	assert_int_equal(cgroup_oom_control_parse(s, strlen(s), &oc), 0);
	assert_true(oc.oom_kill_disable);
	assert_false(oc.under_oom);
	assert_int_equal(oc.oom_kill, 7);
}

static void test_cgroup_oom_control_parse_hostile(void **state)
{
	static const struct err_case cases[] = {
		ERR("", -EINVAL),
		ERR("oom_kill_disable 0\nunder_oom 0\n", -EINVAL),
		ERR("oom_kill_disable 2\nunder_oom 0\noom_kill 0\n", -EINVAL),
		ERR("oom_kill_disable 0\nunder_oom 9\noom_kill 0\n", -EINVAL),
		ERR("oom_kill_disable 0\nunder_oom 0\noom_kill -1\n", -EINVAL),
		ERR("oom_kill_disable 0\nunder_oom 0\noom_kill 0\noom_kill 0\n", -EINVAL),
		ERR("oom_kill_disable 0\nunder_oom 0\noom_kill 99999999999999999999\n", -ERANGE),
		ERR("oom_kill_disable: 0\nunder_oom 0\noom_kill 0\n", -EINVAL),
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct cgroup_oom_control oc = { .oom_kill = 42 };
		int r = cgroup_oom_control_parse(cases[i].buf, strlen(cases[i].buf), &oc);

		if (r != cases[i].ret)
			fail_msg("case %zu: returned %d, expected %d", i, r, cases[i].ret);
		assert_int_equal(oc.oom_kill, 42);
	}
}

/* ---- cgroup_mem_read on the fixture trees ---- */

static void test_cgroup_mem_read_v2_fixture(void **state)
{
	_cleanup_free_ char *root = fixture_path("cgroup-v2");
	struct cgroup_mem m;

	assert_int_equal(cgroup_mem_read(root, "/app.slice", &m), 0);
	assert_int_equal(m.hierarchy, CGROUP_HIERARCHY_V2);
	/* kernel memory: memory.stat's "kernel" (5.18+) */
	assert_int_equal(m.present, CGROUP_MEM_HAS_LIMIT | CGROUP_MEM_HAS_HIGH |
					    CGROUP_MEM_HAS_USAGE | CGROUP_MEM_HAS_EVENTS |
					    CGROUP_MEM_HAS_PRESSURE | CGROUP_MEM_HAS_STAT |
					    CGROUP_MEM_HAS_KERNEL | CGROUP_MEM_HAS_KERNEL_SOCK);
	assert_int_equal(m.kernel_bytes, 8650752);
	assert_int_equal(m.kernel_sock_bytes, 0); /* "sock 0" */
	assert_int_equal(m.stat.slab_bytes, 5242880);
	assert_int_equal(m.stat.pagetables_bytes, 2097152);
	assert_int_equal(m.limit_bytes, 536870912);
	assert_int_equal(m.high_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.soft_limit_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.usage_bytes, 123456789);
	assert_int_equal(m.events.low, 0);
	assert_int_equal(m.events.high, 12);
	assert_int_equal(m.events.max, 3);
	assert_int_equal(m.events.oom, 1);
	assert_int_equal(m.events.oom_kill, 1);
	assert_int_equal(m.events.oom_group_kill, 0);
	assert_true(m.events.has_oom_group_kill);
	assert_int_equal(m.pressure.some.avg10_permyriad, 153);
	assert_int_equal(m.pressure.some.avg60_permyriad, 20);
	assert_int_equal(m.pressure.some.avg300_permyriad, 4);
	assert_int_equal(m.pressure.some.total_usec, 1234567);
	assert_int_equal(m.pressure.full.avg10_permyriad, 75);
	assert_int_equal(m.pressure.full.avg60_permyriad, 10);
	assert_int_equal(m.pressure.full.total_usec, 654321);
	assert_int_equal(m.stat.anon_bytes, 100663296);
	assert_int_equal(m.stat.file_bytes, 218103808);
	assert_int_equal(m.stat.shmem_bytes, 1048576);
	assert_int_equal(m.stat.file_mapped_bytes, 41943040);
	assert_int_equal(m.stat.pgfault, 1301864);
	assert_int_equal(m.stat.pgmajfault, 753);
	assert_int_equal(m.stat.workingset_refault_file, 1234);

	/* the same cgroup spelled without the leading '/' */
	assert_int_equal(cgroup_mem_read(root, "app.slice", &m), 0);
	assert_int_equal(m.usage_bytes, 123456789);
}

static void test_cgroup_mem_read_v2_no_trailing_newline(void **state)
{
	_cleanup_free_ char *root = fixture_path("cgroup-v2");
	struct cgroup_mem m;

	assert_int_equal(cgroup_mem_read(root, "/app.slice/worker", &m), 0);
	assert_int_equal(m.hierarchy, CGROUP_HIERARCHY_V2);
	/* no memory.pressure in this one */
	assert_int_equal(m.present, CGROUP_MEM_HAS_LIMIT | CGROUP_MEM_HAS_HIGH |
					    CGROUP_MEM_HAS_USAGE | CGROUP_MEM_HAS_EVENTS |
					    CGROUP_MEM_HAS_STAT | CGROUP_MEM_HAS_KERNEL |
					    CGROUP_MEM_HAS_KERNEL_SOCK);
	assert_int_equal(m.limit_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.high_bytes, 268435456);
	assert_int_equal(m.usage_bytes, 4096);
	assert_false(m.events.has_oom_group_kill);
	assert_int_equal(m.stat.anon_bytes, 4096);
}

static void test_cgroup_mem_read_v2_root(void **state)
{
	_cleanup_free_ char *root = fixture_path("cgroup-v2");
	struct cgroup_mem m;

	/* a v2 root has memory.stat and memory.pressure, no limits or usage */
	assert_int_equal(cgroup_mem_read(root, "/", &m), 0);
	assert_int_equal(m.hierarchy, CGROUP_HIERARCHY_V2);
	assert_int_equal(m.present, CGROUP_MEM_HAS_PRESSURE | CGROUP_MEM_HAS_STAT |
					    CGROUP_MEM_HAS_KERNEL | CGROUP_MEM_HAS_KERNEL_SOCK);
	assert_int_equal(m.limit_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.high_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.usage_bytes, 0);
	assert_int_equal(m.stat.anon_bytes, 209715200);
	assert_int_equal(cgroup_mem_read(root, "", &m), 0);
}

static void test_cgroup_mem_read_v1_fixture(void **state)
{
	_cleanup_free_ char *root = fixture_path("cgroup-v1");
	struct cgroup_mem m;

	assert_int_equal(cgroup_mem_read(root, "/memctl", &m), 0);
	assert_int_equal(m.hierarchy, CGROUP_HIERARCHY_V1);
	assert_int_equal(m.present, CGROUP_MEM_HAS_LIMIT | CGROUP_MEM_HAS_SOFT_LIMIT |
					    CGROUP_MEM_HAS_USAGE | CGROUP_MEM_HAS_FAILCNT |
					    CGROUP_MEM_HAS_OOM_CONTROL | CGROUP_MEM_HAS_STAT |
					    CGROUP_MEM_HAS_KERNEL | CGROUP_MEM_HAS_KERNEL_SOCK);
	/* memory.kmem.usage_in_bytes, memory.kmem.tcp.usage_in_bytes */
	assert_int_equal(m.kernel_bytes, 12582912);
	assert_int_equal(m.kernel_sock_bytes, 65536);
	assert_int_equal(m.limit_bytes, 536870912);
	assert_int_equal(m.soft_limit_bytes, 268435456);
	assert_int_equal(m.high_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.usage_bytes, 104857600);
	assert_int_equal(m.failcnt, 3);
	assert_true(m.oom.oom_kill_disable);
	assert_true(m.oom.under_oom);
	assert_int_equal(m.oom.oom_kill, 2);
	assert_int_equal(m.stat.anon_bytes, 94371840); /* total_rss */
	assert_int_equal(m.stat.file_bytes, 1341509632); /* total_cache */
	assert_int_equal(m.stat.hierarchical_limit_bytes, 536870912);
	assert_int_equal(m.stat.present, CGROUP_STAT_HAS_SWAP | CGROUP_STAT_HAS_REFAULT_ANON |
						 CGROUP_STAT_HAS_REFAULT_FILE |
						 CGROUP_STAT_HAS_HIERARCHICAL_LIMIT);

	/* the root: "no limit" is PAGE_COUNTER_MAX pages */
	assert_int_equal(cgroup_mem_read(root, "/", &m), 0);
	assert_int_equal(m.hierarchy, CGROUP_HIERARCHY_V1);
	assert_int_equal(m.limit_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.soft_limit_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.usage_bytes, 1353007104);
	assert_int_equal(m.failcnt, 0);
	assert_false(m.oom.oom_kill_disable);
	assert_int_equal(m.stat.anon_bytes, 11657216);
	assert_int_equal(m.stat.hierarchical_limit_bytes, CGROUP_LIMIT_MAX);
}

static void test_cgroup_mem_read_v1_optional_absent(void **state)
{
	_cleanup_free_ char *root = fixture_path("cgroup-v1");
	struct cgroup_mem m;

	/* no soft limit, failcnt or oom_control; memory.stat without total_* */
	assert_int_equal(cgroup_mem_read(root, "no-total", &m), 0);
	assert_int_equal(m.hierarchy, CGROUP_HIERARCHY_V1);
	assert_int_equal(m.present,
			 CGROUP_MEM_HAS_LIMIT | CGROUP_MEM_HAS_USAGE | CGROUP_MEM_HAS_STAT);
	assert_int_equal(m.limit_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.soft_limit_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.usage_bytes, 8192);
	assert_int_equal(m.stat.anon_bytes, 6316032); /* local rss */
	assert_int_equal(m.stat.present,
			 CGROUP_STAT_HAS_REFAULT_ANON | CGROUP_STAT_HAS_REFAULT_FILE);
}

static void test_cgroup_mem_read_errors(void **state)
{
	_cleanup_free_ char *v2 = fixture_path("cgroup-v2");
	_cleanup_free_ char *v1 = fixture_path("cgroup-v1");
	struct cgroup_mem m = { .usage_bytes = 42 };

	assert_int_equal(cgroup_mem_read(v2, "/does-not-exist", &m), -ENOENT);
	assert_int_equal(cgroup_mem_read(v2, "/app.slice/memory.max", &m), -ENOENT);
	assert_int_equal(cgroup_mem_read("/does/not/exist", "/", &m), -ENOENT);
	assert_int_equal(cgroup_mem_read(v2, "/nomem", &m), -EOPNOTSUPP);
	assert_int_equal(cgroup_mem_read(v2, "/bad-garbage", &m), -EINVAL);
	assert_int_equal(cgroup_mem_read(v2, "/bad-huge", &m), -ERANGE);
	assert_int_equal(cgroup_mem_read(v2, "/bad-missing-key", &m), -EINVAL);
	assert_int_equal(cgroup_mem_read(NULL, "/", &m), -EINVAL);
	assert_int_equal(cgroup_mem_read(v1, NULL, &m), -EINVAL);
	assert_int_equal(m.usage_bytes, 42);
}

static void test_cgroup_pressure_read_fixture(void **state)
{
	_cleanup_free_ char *file = fixture_path("proc/pressure/memory");
	_cleanup_free_ char *missing = fixture_path("proc/pressure/nothing");
	struct cgroup_pressure p;

	assert_int_equal(cgroup_pressure_read(file, &p), 0);
	assert_int_equal(p.some.avg10_permyriad, 1234);
	assert_int_equal(p.some.avg60_permyriad, 500);
	assert_int_equal(p.some.avg300_permyriad, 101);
	assert_int_equal(p.some.total_usec, 987654321);
	assert_int_equal(p.full.avg10_permyriad, 10000);
	assert_int_equal(p.full.avg60_permyriad, 1);
	assert_int_equal(p.full.total_usec, 42);
	assert_int_equal(cgroup_pressure_read(missing, &p), -ENOENT);
}

static void test_cgroup_pressure_read_proc(void **state)
{
	struct cgroup_pressure p;
	int r = cgroup_pressure_read("/proc/pressure/memory", &p);

	if (r == -ENOENT || r == -EOPNOTSUPP) {
		print_message("skipped: this kernel has no PSI (/proc/pressure/memory)\n");
		skip();
	}
	assert_int_equal(r, 0);
	assert_true(p.some.avg10_permyriad <= 10000);
	assert_true(p.full.total_usec <= p.some.total_usec);
}

/* ---- a cgroup that vanishes ---- */

static int copy_file(const char *from, const char *to)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = -EBADF;
	char buf[8192];
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n)
			return -EIO;
	}
	return n < 0 ? -errno : 0;
}

static const char *const app_slice_files[] = {
	"cgroup.procs",	 "memory.max",	    "memory.high", "memory.current",
	"memory.events", "memory.pressure", "memory.stat",
};

/* A copy of cgroup-v2/app.slice as <tmp>/cg. */
static char *app_slice_copy(char *tmpdir)
{
	_cleanup_free_ char *src = fixture_path("cgroup-v2/app.slice");
	char *cg = NULL;

	assert_non_null(mkdtemp(tmpdir));
	assert_true(asprintf(&cg, "%s/cg", tmpdir) >= 0);
	assert_int_equal(mkdir(cg, 0755), 0);
	for (size_t i = 0; i < ELEMENTSOF(app_slice_files); i++) {
		_cleanup_free_ char *from = NULL, *to = NULL;

		assert_true(asprintf(&from, "%s/%s", src, app_slice_files[i]) >= 0);
		assert_true(asprintf(&to, "%s/%s", cg, app_slice_files[i]) >= 0);
		assert_int_equal(copy_file(from, to), 0);
	}
	return cg;
}

static void app_slice_unlink_files(const char *cg)
{
	for (size_t i = 0; i < ELEMENTSOF(app_slice_files); i++) {
		_cleanup_free_ char *f = NULL;

		assert_true(asprintf(&f, "%s/%s", cg, app_slice_files[i]) >= 0);
		assert_int_equal(unlink(f), 0);
	}
}

static void test_cgroup_mem_read_vanished(void **state)
{
	char tmpdir[] = "/tmp/memctl-test-cgroup-XXXXXX";
	_cleanup_free_ char *cg = app_slice_copy(tmpdir);
	struct cgroup_mem m;

	assert_int_equal(cgroup_mem_read(tmpdir, "/cg", &m), 0);
	assert_int_equal(m.usage_bytes, 123456789);

	/* removed between two reads */
	app_slice_unlink_files(cg);
	assert_int_equal(rmdir(cg), 0);
	assert_int_equal(cgroup_mem_read(tmpdir, "/cg", &m), -ENOENT);
	assert_int_equal(rmdir(tmpdir), 0);
}

static void test_cgroup_mem_read_vanished_files(void **state)
{
	char tmpdir[] = "/tmp/memctl-test-cgroup-XXXXXX";
	_cleanup_free_ char *cg = app_slice_copy(tmpdir);
	struct cgroup_mem m;

	/* as kernfs does: the files go, the directory lingers */
	app_slice_unlink_files(cg);
	assert_int_equal(cgroup_mem_read(tmpdir, "/cg", &m), -ENOENT);
	assert_int_equal(rmdir(cg), 0);
	assert_int_equal(rmdir(tmpdir), 0);
}

/* Removes the cgroup's other files while cgroup_mem_read() is blocked opening
 * its memory.max, a FIFO, then lets it go on. */
static void *vanish_while_reading(void *arg)
{
	const char *cg = arg;
	_cleanup_free_ char *fifo = NULL;
	_cleanup_close_ int fd = -EBADF;

	if (asprintf(&fifo, "%s/memory.max", cg) < 0)
		return NULL;
	/* the open succeeds once the reader has opened the FIFO: poll, 10 s */
	for (int i = 0; i < 10000 && fd < 0; i++) {
		fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			usleep(1000);
	}
	if (fd < 0)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(app_slice_files); i++) {
		_cleanup_free_ char *f = NULL;

		if (strcmp(app_slice_files[i], "memory.max") == 0)
			continue;
		if (asprintf(&f, "%s/%s", cg, app_slice_files[i]) >= 0)
			(void)unlink(f);
	}
	(void)write(fd, "max\n", 4);
	return (void *)1;
}

static void test_cgroup_mem_read_vanished_mid_read(void **state)
{
	char tmpdir[] = "/tmp/memctl-test-cgroup-XXXXXX";
	_cleanup_free_ char *cg = app_slice_copy(tmpdir);
	_cleanup_free_ char *fifo = NULL;
	struct cgroup_mem m = { .usage_bytes = 42 };
	pthread_t t;
	void *ok = NULL;

	assert_true(asprintf(&fifo, "%s/memory.max", cg) >= 0);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(pthread_create(&t, NULL, vanish_while_reading, cg), 0);
	assert_int_equal(cgroup_mem_read(tmpdir, "/cg", &m), -ENOENT);
	assert_int_equal(pthread_join(t, &ok), 0);
	assert_non_null(ok);
	assert_int_equal(m.usage_bytes, 42);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(rmdir(cg), 0);
	assert_int_equal(rmdir(tmpdir), 0);
}

/* ---- a real v1 memory cgroup ---- */

static int write_string(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(s);

	if (fd < 0)
		return -errno;
	if (write(fd, s, n) != (ssize_t)n)
		return -errno;
	return 0;
}

static void test_cgroup_mem_read_real_v1(void **state)
{
	char name[64], path[128], file[192];
	struct cgroup_mem m;
	int go[2], done[2];
	char c;
	pid_t pid;

	if (geteuid() != 0) {
		print_message("skipped: creating a v1 memory cgroup needs root\n");
		skip();
	}
	if (access(V1_MEMORY_ROOT "/memory.limit_in_bytes", F_OK) < 0) {
		print_message("skipped: no cgroup v1 memory controller at %s\n", V1_MEMORY_ROOT);
		skip();
	}
	snprintf(name, sizeof(name), "memctl-test-%d", (int)getpid());
	snprintf(path, sizeof(path), V1_MEMORY_ROOT "/%s", name);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(file, sizeof(file), "%s/memory.limit_in_bytes", path);
	assert_int_equal(write_string(file, "536870912"), 0);

	assert_int_equal(cgroup_mem_read(V1_MEMORY_ROOT, name, &m), 0);
	assert_int_equal(m.hierarchy, CGROUP_HIERARCHY_V1);
	assert_int_equal(m.limit_bytes, MIB(512));
	assert_int_equal(m.soft_limit_bytes, CGROUP_LIMIT_MAX);
	assert_int_equal(m.stat.hierarchical_limit_bytes, MIB(512));
	assert_true(m.present & CGROUP_MEM_HAS_OOM_CONTROL);

	/* a child charged 16 MiB of anonymous memory to it */
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(done, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t *p;

		snprintf(file, sizeof(file), "%s/cgroup.procs", path);
		if (read(go[0], &c, 1) != 1 || write_string(file, "0") < 0)
			_exit(1);
		p = mmap(NULL, MIB(16), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(2);
		memset(p, 1, MIB(16));
		if (write(done[1], "d", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(done[0], &c, 1), 1);
	assert_int_equal(cgroup_mem_read(V1_MEMORY_ROOT, name, &m), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	assert_true(m.usage_bytes >= MIB(16));
	assert_true(m.usage_bytes < MIB(512));
	assert_true(m.stat.anon_bytes >= MIB(16));

	/* removed: the next read says so quietly */
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(cgroup_mem_read(V1_MEMORY_ROOT, name, &m), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_v2_limit_parse_valid),
		cmocka_unit_test(test_cgroup_v2_limit_parse_hostile),
		cmocka_unit_test(test_cgroup_v1_limit_parse_valid),
		cmocka_unit_test(test_cgroup_v1_limit_parse_hostile),
		cmocka_unit_test(test_cgroup_bytes_parse_valid),
		cmocka_unit_test(test_cgroup_bytes_parse_hostile),
		cmocka_unit_test(test_cgroup_count_parse_hostile),
		cmocka_unit_test(test_cgroup_events_parse_valid),
		cmocka_unit_test(test_cgroup_events_parse_hostile),
		cmocka_unit_test(test_cgroup_pressure_parse_valid),
		cmocka_unit_test(test_cgroup_pressure_parse_hostile),
		cmocka_unit_test(test_cgroup_stat_parse_v2),
		cmocka_unit_test(test_cgroup_stat_parse_v1_total_preferred),
		cmocka_unit_test(test_cgroup_stat_parse_v1_local_only),
		cmocka_unit_test(test_cgroup_stat_parse_hostile),
		cmocka_unit_test(test_cgroup_oom_control_parse_valid),
		cmocka_unit_test(test_cgroup_oom_control_parse_hostile),
		cmocka_unit_test(test_cgroup_mem_read_v2_fixture),
		cmocka_unit_test(test_cgroup_mem_read_v2_no_trailing_newline),
		cmocka_unit_test(test_cgroup_mem_read_v2_root),
		cmocka_unit_test(test_cgroup_mem_read_v1_fixture),
		cmocka_unit_test(test_cgroup_mem_read_v1_optional_absent),
		cmocka_unit_test(test_cgroup_mem_read_errors),
		cmocka_unit_test(test_cgroup_pressure_read_fixture),
		cmocka_unit_test(test_cgroup_pressure_read_proc),
		cmocka_unit_test(test_cgroup_mem_read_vanished),
		cmocka_unit_test(test_cgroup_mem_read_vanished_files),
		cmocka_unit_test(test_cgroup_mem_read_vanished_mid_read),
		cmocka_unit_test(test_cgroup_mem_read_real_v1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
