// SPDX-License-Identifier: MIT
/* tests/unit/test_config.c: memctld.conf parsing: defaults, every key, and
 * hostile values that must name the line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/config.h"
#include "daemon/log.h"

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/memctl-test-config-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int load_text(const char *text, struct memctld_config *c, struct config_error *err,
		     unsigned *unknown)
{
	char *path = write_tmp(text);
	int r;

	config_init_defaults(c);
	r = config_load(path, c, err, unknown, NULL, NULL);
	unlink(path);
	free(path);
	return r;
}

static void test_config_init_defaults(void **state)
{
	struct memctld_config c;

	config_init_defaults(&c);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(c.tick_usec, USEC_PER_SEC);
	assert_false(c.dry_run);
	assert_true(c.bpf_lifecycle && c.bpf_rss && c.bpf_reclaim);
	assert_false(c.bpf_faults);
	assert_int_equal(c.rss_threshold_bytes, 1 << 20);
	assert_int_equal(c.rss_interval_usec, USEC_PER_SEC);
	assert_int_equal(c.ringbuf_bytes, 256 << 10);
	assert_string_equal(c.cgroup_root, "");
	assert_string_equal(c.proc_root, "/proc");
	assert_int_equal(c.max_enroll_per_uid, 64);
}

static void test_config_load_missing_file(void **state)
{
	struct memctld_config c;
	struct config_error err;

	config_init_defaults(&c);
	assert_int_equal(config_load("/nonexistent/memctld.conf", &c, &err, NULL, NULL, NULL),
			 -ENOENT);
	assert_int_equal(c.tick_usec, USEC_PER_SEC);
}

static void test_config_load_every_key(void **state)
{
	struct memctld_config c;
	struct config_error err;
	unsigned unknown = 99;

	assert_int_equal(load_text("# comment\n"
				   "[Daemon]\n"
				   "LogLevel=debug\n"
				   "TickIntervalSec=250ms\n"
				   "DryRun=yes\n"
				   "[BPF]\n"
				   "Lifecycle=no\n"
				   "RSS=off\n"
				   "Reclaim=false\n"
				   "Faults=0\n"
				   "RssThreshold=2M\n"
				   "RssIntervalSec=500ms\n"
				   "RingBufferSize=64K\n"
				   "[Cgroup]\n"
				   "Root=/tmp/fixture\n"
				   "ProcRoot=/tmp/proc\n"
				   "[Enroll]\n"
				   "MaxPerUser=3\n"
				   "StatsIntervalSec=2\n"
				   "[Control]\n"
				   "MaxConnections=16\n"
				   "MaxConnectionsPerUser=2\n"
				   "IdleTimeoutSec=30s\n"
				   "CPUQuotaPerUser=25%\n",
				   &c, &err, &unknown),
			 0);
	assert_int_equal(unknown, 0);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.tick_usec, 250 * USEC_PER_MSEC);
	assert_true(c.dry_run);
	assert_false(c.bpf_lifecycle || c.bpf_rss || c.bpf_reclaim || c.bpf_faults);
	assert_int_equal(c.rss_threshold_bytes, 2 << 20);
	assert_int_equal(c.rss_interval_usec, 500 * USEC_PER_MSEC);
	assert_int_equal(c.ringbuf_bytes, 64 << 10);
	assert_string_equal(c.cgroup_root, "/tmp/fixture");
	assert_string_equal(c.proc_root, "/tmp/proc");
	assert_int_equal(c.max_enroll_per_uid, 3);
	assert_int_equal(c.stats_interval_usec, 2 * USEC_PER_SEC);
	assert_int_equal(c.control_max_connections, 16);
	assert_int_equal(c.control_max_connections_per_uid, 2);
	assert_int_equal(c.control_idle_timeout_usec, 30 * USEC_PER_SEC);
	assert_int_equal(c.control_cpu_quota_per_uid_percent, 25);
}

static void test_config_load_unknown_keys_warn(void **state)
{
	struct memctld_config c;
	struct config_error err;
	unsigned unknown = 0;

	assert_int_equal(load_text("[Daemon]\nNoSuchKey=1\n[NoSuchSection]\nLogLevel=err\n"
				   "[Daemon]\nLogLevel=warning\n",
				   &c, &err, &unknown),
			 0);
	assert_int_equal(unknown, 2);
	assert_int_equal(c.log_level, LOG_WARNING);
}

struct bad_case {
	const char *text;
	unsigned line;
	const char *key;
};

static void test_config_load_invalid_values(void **state)
{
	static const struct bad_case cases[] = {
		{ "[Daemon]\nLogLevel=loud\n", 2, "LogLevel" },
		{ "[Daemon]\n\n\nTickIntervalSec=10ms\n", 4, "TickIntervalSec" }, /* < 100ms */
		{ "[Daemon]\nTickIntervalSec=2h\n", 2, "TickIntervalSec" },
		{ "[Daemon]\nTickIntervalSec=-1\n", 2, "TickIntervalSec" },
		{ "[Daemon]\nTickIntervalSec=1 fortnight\n", 2, "TickIntervalSec" },
		{ "[Daemon]\nDryRun=maybe\n", 2, "DryRun" },
		{ "[BPF]\nRSS=\n", 2, "RSS" },
		{ "[BPF]\nRssThreshold=1\n", 2, "RssThreshold" }, /* < 4K */
		{ "[BPF]\nRssThreshold=99999999999999999999999\n", 2, "RssThreshold" },
		{ "[BPF]\nRssThreshold=18446744073709551615G\n", 2, "RssThreshold" },
		{ "[BPF]\nRssThreshold=1X\n", 2, "RssThreshold" },
		{ "[BPF]\nRingBufferSize=12K\n", 2, "RingBufferSize" }, /* not a power of two */
		{ "[BPF]\nRingBufferSize=1G\n", 2, "RingBufferSize" },
		{ "[Cgroup]\nRoot=relative/path\n", 2, "Root" },
		{ "[Cgroup]\nRoot=/sys/fs/cgroup\r\r\n", 2, "Root" }, /* one CR stays */
		{ "[Resctrl]\nResctrlRoot=/sys/fs/\x1bresctrl\n", 2, "ResctrlRoot" },
		{ "[Metrics]\nTextfile=/var/lib/\tx.prom\n", 2, "Textfile" },
		{ "[Enroll]\nMaxPerUser=0\n", 2, "MaxPerUser" },
		{ "[Enroll]\nMaxPerUser=4097\n", 2, "MaxPerUser" },
		{ "[Enroll]\nMaxPerUser=1.5\n", 2, "MaxPerUser" },
		{ "[Control]\nMaxConnections=7\n", 2, "MaxConnections" }, /* < root's reserve */
		{ "[Control]\nMaxConnectionsPerUser=0\n", 2, "MaxConnectionsPerUser" },
		{ "[Control]\nIdleTimeoutSec=500ms\n", 2, "IdleTimeoutSec" },
		{ "[Control]\nCPUQuotaPerUser=0%\n", 2, "CPUQuotaPerUser" },
		{ "[Control]\nCPUQuotaPerUser=101\n", 2, "CPUQuotaPerUser" },
		{ "[Control]\nCPUQuotaPerUser=10 percent\n", 2, "CPUQuotaPerUser" },
		{ "[Control]\nCPUQuotaPerUser=%\n", 2, "CPUQuotaPerUser" },
		{ "[Daemon]\nLogLevel=info\nLogLevel=bogus\nDryRun=bogus\n", 3, "LogLevel" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct memctld_config c;
		struct config_error err;

		assert_int_equal(load_text(cases[i].text, &c, &err, NULL), -EINVAL);
		assert_int_equal(err.line, cases[i].line);
		assert_string_equal(err.key, cases[i].key);
		assert_true(strlen(err.message) > 0);
	}
}

static void test_config_load_syntax_error(void **state)
{
	struct memctld_config c;
	struct config_error err;

	assert_int_equal(load_text("[Daemon]\nLogLevel=info\nthis line has no equals sign\n", &c,
				   &err, NULL),
			 -EINVAL);
	assert_int_equal(err.line, 3);
	assert_string_equal(err.key, "");
	assert_non_null(strstr(err.message, "syntax"));
}

/* A file that is not a regular file is refused at once, naming what it is:
 * /dev/zero was read for ever, a FIFO blocked in open(), a directory failed
 * late with EISDIR from fgets. */
static void test_config_load_refuses_non_regular_files(void **state)
{
	char dir[] = "/tmp/memctl-test-config-dir-XXXXXX", fifo[PATH_MAX], loop[PATH_MAX];
	static const struct {
		const char *path; /* NULL: filled below */
		const char *kind;
	} fixed[] = {
		{ "/dev/zero", "a character device" },
		{ "/dev/urandom", "a character device" },
	};
	struct memctld_config c;
	struct config_error err;

	for (size_t i = 0; i < ELEMENTSOF(fixed); i++) {
		config_init_defaults(&c);
		assert_int_equal(config_load(fixed[i].path, &c, &err, NULL, NULL, NULL), -EINVAL);
		assert_int_equal(err.line, 0);
		assert_non_null(strstr(err.message, fixed[i].kind));
		assert_non_null(strstr(err.message, "not a regular file"));
	}

	/* the null device is the one exception: an empty file, defaults */
	config_init_defaults(&c);
	c.tick_usec = 7;
	assert_int_equal(config_load("/dev/null", &c, &err, NULL, NULL, NULL), 0);
	assert_int_equal(c.tick_usec, 7);

	assert_non_null(mkdtemp(dir));
	config_init_defaults(&c);
	assert_int_equal(config_load(dir, &c, &err, NULL, NULL, NULL), -EINVAL);
	assert_non_null(strstr(err.message, "a directory"));

	/* no writer: a blocking open() would wait for ever */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	config_init_defaults(&c);
	assert_int_equal(config_load(fifo, &c, &err, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.message, "a FIFO"));

	/* a symlink loop is the kernel's ELOOP, passed on */
	snprintf(loop, sizeof(loop), "%s/loop", dir);
	assert_int_equal(symlink(loop, loop), 0);
	config_init_defaults(&c);
	assert_int_equal(config_load(loop, &c, &err, NULL, NULL, NULL), -ELOOP);
	assert_int_equal(unlink(loop), 0);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(c.tick_usec, USEC_PER_SEC); /* untouched */
}

/* A symlink to a regular file is followed (/etc files often are links). */
static void test_config_load_follows_symlink_to_regular_file(void **state)
{
	char *target = write_tmp("[Daemon]\nDryRun=yes\n"), link[PATH_MAX];
	struct memctld_config c;
	struct config_error err;

	snprintf(link, sizeof(link), "%s.link", target);
	assert_int_equal(symlink(target, link), 0);
	config_init_defaults(&c);
	assert_int_equal(config_load(link, &c, &err, NULL, NULL, NULL), 0);
	assert_true(c.dry_run);
	unlink(link);
	unlink(target);
	free(target);
}

/* At most 1 MiB: one byte more is refused before anything is parsed; exactly
 * 1 MiB of comments parses (and how long that takes is printed: the figure in
 * config.c's comment). */
static void test_config_load_size_cap(void **state)
{
	const size_t cap = 1024 * 1024;
	char *text = malloc(cap + 2);
	struct memctld_config c;
	struct config_error err;
	struct timespec t0, t1;
	char *path;
	int r;

	assert_non_null(text);
	/* lines of 1023 '#' and a newline, then DryRun=yes at the very end */
	for (size_t i = 0; i < cap; i++)
		text[i] = (i % 1024 == 1023) ? '\n' : '#';
	memcpy(text + cap - 20, "\n[Daemon]\nDryRun=yes\n", 20);
	text[cap] = '\0';
	assert_int_equal(strlen(text), cap);
	path = write_tmp(text);
	config_init_defaults(&c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = config_load(path, &c, &err, NULL, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(r, 0);
	assert_true(c.dry_run);
	print_message("a 1 MiB file read and parsed in %.2f ms\n",
		      (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			      (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	unlink(path);
	free(path);

	text[cap] = '\n';
	text[cap + 1] = '\0';
	path = write_tmp(text);
	config_init_defaults(&c);
	assert_int_equal(config_load(path, &c, &err, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.message, "larger than"));
	assert_false(c.dry_run);
	unlink(path);
	free(path);
	free(text);
}

/* Append n copies of ch, then the string tail, at *len. */
static void append(char *buf, size_t *len, char ch, size_t n, const char *tail)
{
	memset(buf + *len, ch, n);
	*len += n;
	*len += (size_t)sprintf(buf + *len, "%s", tail);
}

/* Long lines are lines: a 5,000-character comment, a comment of exactly 199
 * (inih's limit split it), and a 255-byte Root= path (the longest allowed,
 * a 261-character line) all load; a bad value after them names its own line. */
static void test_config_load_long_lines(void **state)
{
	char text[16384], root[256];
	struct memctld_config c;
	struct config_error err;
	size_t n = 0;

	memset(root, 'r', sizeof(root) - 1);
	root[0] = '/';
	root[sizeof(root) - 1] = '\0';
	append(text, &n, '#', 1, " ");
	append(text, &n, 'x', 4998, "\n[Daemon]\n;"); /* lines 1, 2 */
	append(text, &n, 'y', 198, "\nDryRun=yes\n[Cgroup]\nRoot="); /* lines 3-6 */
	append(text, &n, 'r', 0, root);
	append(text, &n, 0, 0, "\n");
	assert_int_equal(strchr(text, '\n') - text, 5000);
	assert_int_equal(load_text(text, &c, &err, NULL), 0);
	assert_true(c.dry_run);
	assert_string_equal(c.cgroup_root, root);

	/* line 7 unknown (a warning), line 9 bad */
	append(text, &n, 0, 0, "XaxPerUser=1\n[Enroll]\nMaxPerUser=many\n");
	assert_int_equal(load_text(text, &c, &err, NULL), -EINVAL);
	assert_int_equal(err.line, 9);
	assert_string_equal(err.key, "MaxPerUser");

	/* a garbage line of 5,000 characters is a syntax error on its own line */
	n = 0;
	append(text, &n, 0, 0, "[Daemon]\nDryRun=yes\n");
	append(text, &n, 'z', 5000, "\nLogLevel=info\n");
	assert_int_equal(load_text(text, &c, &err, NULL), -EINVAL);
	assert_int_equal(err.line, 3);
	assert_non_null(strstr(err.message, "syntax"));
}

/* A bad key on line N is reported as line N, whatever came before. */
static void test_config_load_error_line_numbers(void **state)
{
	static const struct bad_case cases[] = {
		{ "\n\n\n\n[Daemon]\n\n#\n;\n   \nLogLevel=loud\n", 10, "LogLevel" },
		{ "[Daemon]\r\nDryRun=yes\r\n\r\nTickIntervalSec=1d\r\n", 4, "TickIntervalSec" },
		{ "\xef\xbb\xbf[BPF]\nRSS=yes ; inline comment\nReclaim=perhaps ; no\n", 3,
		  "Reclaim" },
		{ "[Enroll]\n  MaxPerUser = 0  \n", 2, "MaxPerUser" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct memctld_config c;
		struct config_error err;

		assert_int_equal(load_text(cases[i].text, &c, &err, NULL), -EINVAL);
		assert_int_equal(err.line, cases[i].line);
		assert_string_equal(err.key, cases[i].key);
	}
}

/* What inih accepted, and the rest of the syntax: blanks, CRLF, BOM, inline
 * " ;" comments, empty values reaching the key's parser, keys before any
 * section (unknown, warned). */
static void test_config_load_syntax(void **state)
{
	struct memctld_config c;
	struct config_error err;
	unsigned unknown = 0;

	assert_int_equal(load_text("\xef\xbb\xbf"
				   "Stray=1\n"
				   "[Daemon]\r\n"
				   "  LogLevel =  debug ; chatty\r\n"
				   "\tDryRun\t=\tyes\n"
				   "[ BPF ]\n"
				   "RssThreshold=2M",
				   &c, &err, &unknown),
			 0);
	assert_int_equal(unknown, 1);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_true(c.dry_run);
	assert_int_equal(c.rss_threshold_bytes, 2 << 20);

	static const struct {
		const char *text;
		unsigned line;
		const char *what;
	} bad[] = {
		{ "[Daemon\n", 1, "syntax" },
		{ "[]\n", 1, "syntax" },
		{ "\n[ ]\n", 2, "empty" },
		{ "[Daemon] x\n", 1, "syntax" },
		{ "[Daemon]\n=yes\n", 2, "syntax" },
		{ "[Daemon]\nDryRun yes\n", 2, "syntax" },
		{ "[Daemon]\nDryRun: yes\n", 2, "syntax" },
		{ "[Daemon]\nDry\0Run=yes\n", 2, "NUL" },
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		/* the NUL case: write the bytes, not the C string */
		size_t len = strlen(bad[i].text);
		char *path;
		int fd;

		if (strstr(bad[i].what, "NUL"))
			len = sizeof("[Daemon]\nDry\0Run=yes\n") - 1;
		path = strdup("/tmp/memctl-test-config-XXXXXX");
		fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, bad[i].text, len), (ssize_t)len);
		close(fd);
		config_init_defaults(&c);
		assert_int_equal(config_load(path, &c, &err, NULL, NULL, NULL), -EINVAL);
		assert_int_equal(err.line, bad[i].line);
		assert_non_null(strstr(err.message, bad[i].what));
		unlink(path);
		free(path);
	}
}

/* The file's own keys are known apart from built-in defaults (memctl status
 * says "off (default)" for what the file never mentioned). */
static void test_config_key_set(void **state)
{
	struct memctld_config c;
	struct config_error err;

	config_init_defaults(&c);
	assert_false(config_key_set(&c, offsetof(struct memctld_config, bpf_faults)));
	assert_int_equal(load_text("[BPF]\nFaults=no\n", &c, &err, NULL), 0);
	assert_true(config_key_set(&c, offsetof(struct memctld_config, bpf_faults)));
	assert_false(config_key_set(&c, offsetof(struct memctld_config, bpf_rss)));
	assert_int_equal(load_text("[BPF]\nRSS=no\n", &c, &err, NULL), 0);
	assert_false(config_key_set(&c, offsetof(struct memctld_config, bpf_faults)));
	assert_true(config_key_set(&c, offsetof(struct memctld_config, bpf_rss)));
}

static void test_config_parse_bytes_table(void **state)
{
	static const struct {
		const char *s;
		int r;
		uint64_t v;
	} t[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "4K", 0, 4096 },
		{ "4KiB", 0, 4096 },
		{ "1M", 0, 1 << 20 },
		{ "3G", 0, 3ULL << 30 },
		{ "1T", 0, 1ULL << 40 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "17179869184G", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1k", -EINVAL, 0 },
		{ "M", -EINVAL, 0 },
		{ "1MB", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 12345;

		assert_int_equal(config_parse_bytes(t[i].s, &v), t[i].r);
		if (t[i].r == 0)
			assert_int_equal(v, t[i].v);
		else
			assert_int_equal(v, 12345); /* untouched on failure */
	}
}

static void test_config_parse_duration_table(void **state)
{
	static const struct {
		const char *s;
		int r;
		uint64_t v;
	} t[] = {
		{ "1", 0, USEC_PER_SEC },
		{ "1s", 0, USEC_PER_SEC },
		{ "500ms", 0, 500 * USEC_PER_MSEC },
		{ "250us", 0, 250 },
		{ "2min", 0, 120 * USEC_PER_SEC },
		{ "1h", 0, 3600 * USEC_PER_SEC },
		{ "1.5s", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "10 ms", 0, 10 * USEC_PER_MSEC },
		{ "99999999999999999999h", -ERANGE, 0 },
		{ "18446744073709551615h", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 0;

		assert_int_equal(config_parse_duration(t[i].s, &v), t[i].r);
		if (t[i].r == 0)
			assert_int_equal(v, t[i].v);
	}
}

static void test_config_parse_bool_table(void **state)
{
	static const char *const yes[] = { "yes", "YES", "true", "on", "1", "y", "t" };
	static const char *const no[] = { "no", "false", "off", "0", "n", "f" };
	static const char *const bad[] = { "", "2", "yess", "nope", " yes" };
	bool b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(config_parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(config_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(config_parse_bool(bad[i], &b), -EINVAL);
}

static void test_config_dump_round_trip(void **state)
{
	struct memctld_config a, b;
	struct config_error err;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	config_init_defaults(&a);
	a.tick_usec = 300 * USEC_PER_MSEC;
	a.dry_run = true;
	a.max_enroll_per_uid = 7;
	a.control_cpu_quota_per_uid_percent = 33;
	a.control_idle_timeout_usec = 1500 * USEC_PER_MSEC;
	snprintf(a.cgroup_root, sizeof(a.cgroup_root), "/x/y");
	config_dump(&a, f);
	fclose(f);
	assert_int_equal(load_text(text, &b, &err, NULL), 0);
	free(text);
	/* the dump names every key, so the file set them all */
	assert_true(config_key_set(&b, offsetof(struct memctld_config, tick_usec)));
	assert_true(config_key_set(&b, offsetof(struct memctld_config, stats_interval_usec)));
	memset(b.keys_set, 0, sizeof(b.keys_set));
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_log_level_from_string_table(void **state)
{
	assert_int_equal(log_level_from_string("err"), LOG_ERR);
	assert_int_equal(log_level_from_string("error"), LOG_ERR);
	assert_int_equal(log_level_from_string("WARNING"), LOG_WARNING);
	assert_int_equal(log_level_from_string("7"), LOG_DEBUG);
	assert_int_equal(log_level_from_string("8"), -EINVAL);
	assert_int_equal(log_level_from_string(""), -EINVAL);
	assert_int_equal(log_level_from_string("loud"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_init_defaults),
		cmocka_unit_test(test_config_load_missing_file),
		cmocka_unit_test(test_config_load_every_key),
		cmocka_unit_test(test_config_load_unknown_keys_warn),
		cmocka_unit_test(test_config_load_invalid_values),
		cmocka_unit_test(test_config_load_syntax_error),
		cmocka_unit_test(test_config_load_refuses_non_regular_files),
		cmocka_unit_test(test_config_load_follows_symlink_to_regular_file),
		cmocka_unit_test(test_config_load_size_cap),
		cmocka_unit_test(test_config_load_long_lines),
		cmocka_unit_test(test_config_load_error_line_numbers),
		cmocka_unit_test(test_config_load_syntax),
		cmocka_unit_test(test_config_key_set),
		cmocka_unit_test(test_config_parse_bytes_table),
		cmocka_unit_test(test_config_parse_duration_table),
		cmocka_unit_test(test_config_parse_bool_table),
		cmocka_unit_test(test_config_dump_round_trip),
		cmocka_unit_test(test_log_level_from_string_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
