// SPDX-License-Identifier: MIT
/* tests/unit/test_resctrl.c: daemon/resctrl-parse and resctrl-read on fixture trees
 * (tests/fixtures/resctrl: good, garbage values, huge numbers, missing files) and on a
 * scratch tree for the operations that change it (stale groups, counting, tasks). */
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/resctrl-parse.h"
#include "daemon/resctrl-read.h"

#define FIX "tests/fixtures/resctrl/"

static void test_resctrl_parse_u64_table(void **state)
{
	static const struct {
		const char *in;
		int r;
		uint64_t v;
	} t[] = {
		{ "16\n", 0, 16 },
		{ "0", 0, 0 },
		{ "18446744073709551615\n", 0, UINT64_MAX },
		{ "18446744073709551616\n", -ERANGE, 0 },
		{ "99999999999999999999\n", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "\n", -EINVAL, 0 },
		{ "-1\n", -EINVAL, 0 },
		{ " 16\n", -EINVAL, 0 },
		{ "16 \n", -EINVAL, 0 },
		{ "16\n\n", -EINVAL, 0 },
		{ "0x10\n", -EINVAL, 0 },
		{ "sixteen\n", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 7;

		assert_int_equal(resctrl_parse_u64(t[i].in, strlen(t[i].in), &v), t[i].r);
		if (t[i].r == 0)
			assert_true(v == t[i].v);
	}
	/* a NUL inside is garbage */
	assert_int_equal(resctrl_parse_u64("1\0002", 3, &(uint64_t){ 0 }), -EINVAL);
}

static void test_resctrl_parse_mon_features_table(void **state)
{
	uint32_t m;

	assert_int_equal(resctrl_parse_mon_features("llc_occupancy\nmbm_total_bytes\n"
						    "mbm_local_bytes\n",
						    46, &m),
			 0);
	assert_int_equal(m, RESCTRL_F_LLC_OCCUPANCY | RESCTRL_F_MBM_TOTAL | RESCTRL_F_MBM_LOCAL);
	/* BMEC's *_config lines and events memctld does not know are skipped */
	const char *b = "mbm_total_bytes\nmbm_total_bytes_config\nsome_new_event\n";
	assert_int_equal(resctrl_parse_mon_features(b, strlen(b), &m), 0);
	assert_int_equal(m, RESCTRL_F_MBM_TOTAL);
	assert_int_equal(resctrl_parse_mon_features("", 0, &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(resctrl_parse_mon_features("llc_occupancy\n\n", 15, &m), -EINVAL);
	assert_int_equal(resctrl_parse_mon_features("LLC occupancy\n", 14, &m), -EINVAL);
	assert_int_equal(resctrl_parse_mon_features("mbm_total_bytes\0\n", 17, &m), -EINVAL);
}

static void test_resctrl_parse_counter_table(void **state)
{
	static const struct {
		const char *in;
		int r;
		uint32_t status;
		uint64_t v;
	} t[] = {
		{ "123456789\n", 0, RESCTRL_COUNTER_VALUE, 123456789 },
		{ "0\n", 0, RESCTRL_COUNTER_VALUE, 0 },
		{ "18446744073709551615\n", 0, RESCTRL_COUNTER_VALUE, UINT64_MAX },
		{ "Unavailable\n", 0, RESCTRL_COUNTER_UNAVAILABLE, 0 },
		{ "Error\n", 0, RESCTRL_COUNTER_ERROR, 0 },
		{ "Unassigned\n", 0, RESCTRL_COUNTER_UNASSIGNED, 0 },
		{ "184467440737095516160\n", -ERANGE, 0, 0 },
		{ "unavailable\n", -EINVAL, 0, 0 },
		{ "12a\n", -EINVAL, 0, 0 },
		{ "-5\n", -EINVAL, 0, 0 },
		{ "", -EINVAL, 0, 0 },
		{ "1 2\n", -EINVAL, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct resctrl_counter c = { .status = 99 };

		assert_int_equal(resctrl_parse_counter(t[i].in, strlen(t[i].in), &c), t[i].r);
		if (t[i].r == 0) {
			assert_int_equal(c.status, t[i].status);
			assert_true(c.value == t[i].v);
		}
	}
}

static void test_resctrl_parse_domain_name_table(void **state)
{
	uint32_t id;

	assert_int_equal(resctrl_parse_domain_name("mon_L3_00", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(resctrl_parse_domain_name("mon_L3_07", &id), 0);
	assert_int_equal(id, 7);
	assert_int_equal(resctrl_parse_domain_name("mon_L3_123", &id), 0);
	assert_int_equal(id, 123);
	assert_int_equal(resctrl_parse_domain_name("mon_L3_", &id), -EINVAL);
	assert_int_equal(resctrl_parse_domain_name("mon_L3_-1", &id), -EINVAL);
	assert_int_equal(resctrl_parse_domain_name("mon_L3_99999999999", &id), -EINVAL);
	assert_int_equal(resctrl_parse_domain_name("mon_sub_L3_00", &id), -EINVAL);
	assert_int_equal(resctrl_parse_domain_name("mon_MB_00", &id), -EINVAL);
	assert_int_equal(resctrl_parse_domain_name(".", &id), -EINVAL);
}

static int open_fixture(const char *name, struct resctrl_info *info, char *why, size_t n)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), FIX "%s", name);
	return resctrl_open(path, false, info, why, n);
}

static void test_resctrl_open_fixtures(void **state)
{
	struct resctrl_info info;
	struct resctrl_sample s;
	char why[128];
	int fd, mfd;

	fd = open_fixture("good", &info, why, sizeof(why));
	assert_true(fd >= 0);
	assert_int_equal(info.num_rmids, 16);
	assert_int_equal(info.features,
			 RESCTRL_F_LLC_OCCUPANCY | RESCTRL_F_MBM_TOTAL | RESCTRL_F_MBM_LOCAL);
	assert_true(info.max_threshold_occupancy == 1441792);
	/* mon_sub_L3_00 (SNC) is not a domain */
	assert_int_equal(info.n_domains, 2);
	assert_int_equal(info.domain_ids[0], 0);
	assert_int_equal(info.domain_ids[1], 1);
	assert_false(info.mounted_by_us);

	mfd = resctrl_mon_data_open(fd, NULL);
	assert_true(mfd >= 0);
	assert_int_equal(resctrl_sample_read(mfd, &info, &s), 0);
	assert_int_equal(s.n_domains, 2);
	assert_int_equal(s.d[0].total.status, RESCTRL_COUNTER_VALUE);
	assert_true(s.d[0].total.value == 123456789);
	assert_int_equal(s.d[0].local.status, RESCTRL_COUNTER_UNAVAILABLE);
	assert_true(s.d[0].occupancy.value == 1048576);
	assert_int_equal(s.d[1].occupancy.status, RESCTRL_COUNTER_ERROR);
	assert_true(s.d[1].total.value == UINT64_MAX);
	close(mfd);
	/* a group that does not exist is -ENOENT, a name with a slash is refused */
	assert_int_equal(resctrl_mon_data_open(fd, "memctl-gone"), -ENOENT);
	assert_int_equal(resctrl_mon_data_open(fd, "../x"), -EINVAL);
	assert_int_equal(resctrl_mon_data_open(fd, ".."), -EINVAL);
	resctrl_last_cmd_status(fd, why, sizeof(why));
	assert_string_equal(why, "ok");
	close(fd);

	/* garbage in num_rmids, huge numbers, missing files: clear reasons */
	assert_int_equal(open_fixture("garbage", &info, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "num_rmids"));
	assert_int_equal(open_fixture("huge", &info, why, sizeof(why)), -ERANGE);
	assert_non_null(strstr(why, "num_rmids"));
	assert_int_equal(open_fixture("no-features", &info, why, sizeof(why)), -EOPNOTSUPP);
	assert_non_null(strstr(why, "mon_features"));
	assert_int_equal(open_fixture("no-l3mon", &info, why, sizeof(why)), -EOPNOTSUPP);
	assert_non_null(strstr(why, "no info/L3_MON"));
	assert_int_equal(open_fixture("one-rmid", &info, why, sizeof(why)), -EINVAL);
	assert_int_equal(open_fixture("does-not-exist", &info, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "does-not-exist"));
}

static void test_resctrl_sample_read_bad_counters(void **state)
{
	struct resctrl_info info = {
		.num_rmids = 4, .features = RESCTRL_F_MBM_TOTAL, .n_domains = 1, .domain_ids = { 0 }
	};
	struct resctrl_sample s;
	int fd;

	fd = open(FIX "garbage/mon_data", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(resctrl_sample_read(fd, &info, &s), -EINVAL);
	info.features = RESCTRL_F_LLC_OCCUPANCY;
	assert_int_equal(resctrl_sample_read(fd, &info, &s), -EINVAL);
	close(fd);
	fd = open(FIX "huge/mon_data", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	info.features = RESCTRL_F_MBM_TOTAL;
	assert_int_equal(resctrl_sample_read(fd, &info, &s), -ERANGE);
	/* a file that is missing: the group is gone */
	info.features = RESCTRL_F_MBM_LOCAL;
	assert_int_equal(resctrl_sample_read(fd, &info, &s), -ENOENT);
	close(fd);
}

static void mkdirs(const char *root, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void test_resctrl_stale_and_foreign(void **state)
{
	char root[] = "/tmp/test-resctrl-XXXXXX";
	int fd;

	assert_non_null(mkdtemp(root));
	mkdirs(root, "info");
	mkdirs(root, "mon_groups");
	mkdirs(root, "mon_data");
	mkdirs(root, "mon_groups/memctl-p1-2");
	mkdirs(root, "mon_groups/memctl-c3");
	mkdirs(root, "mon_groups/theirs");
	mkdirs(root, "ctl1");
	mkdirs(root, "ctl1/mon_groups");
	mkdirs(root, "ctl1/mon_groups/m1");
	mkdirs(root, "ctl1/mon_groups/m2");
	fd = open(root, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	/* theirs + ctl1 + its two monitoring groups; ours are not counted */
	assert_int_equal(resctrl_count_foreign(fd), 4);
	assert_int_equal(resctrl_remove_stale(fd), 2);
	assert_int_equal(resctrl_remove_stale(fd), 0);
	assert_int_equal(resctrl_count_foreign(fd), 4);
	assert_int_equal(faccessat(fd, "mon_groups/theirs", F_OK, 0), 0);
	/* create and remove one of ours */
	assert_int_equal(resctrl_group_create(fd, "memctl-x"), 0);
	assert_int_equal(resctrl_group_create(fd, "memctl-x"), -EEXIST);
	assert_int_equal(resctrl_group_remove(fd, "memctl-x"), 0);
	assert_int_equal(resctrl_group_remove(fd, "memctl-x"), -ENOENT);
	assert_int_equal(resctrl_group_create(fd, "a/b"), -EINVAL);
	close(fd);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

static void test_resctrl_list_threads_self(void **state)
{
	pid_t tids[8];
	int n = resctrl_list_threads("/proc", getpid(), tids, 8);

	assert_true(n >= 1);
	assert_int_equal(tids[0] > 0, 1);
	assert_int_equal(resctrl_list_threads("/proc", INT32_MAX, tids, 8), -ESRCH);
	assert_int_equal(resctrl_group_name((char[8]){ 0 }, 8, "p12345"), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resctrl_parse_u64_table),
		cmocka_unit_test(test_resctrl_parse_mon_features_table),
		cmocka_unit_test(test_resctrl_parse_counter_table),
		cmocka_unit_test(test_resctrl_parse_domain_name_table),
		cmocka_unit_test(test_resctrl_open_fixtures),
		cmocka_unit_test(test_resctrl_sample_read_bad_counters),
		cmocka_unit_test(test_resctrl_stale_and_foreign),
		cmocka_unit_test(test_resctrl_list_threads_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
