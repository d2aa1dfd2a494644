// SPDX-License-Identifier: MIT
/* daemon/config.c: read memctld.conf (a regular file, size-capped, read whole)
 * into struct memctld_config, validating every value and naming file, line and
 * key on error. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/time-util.h"
#include "daemon/config.h"
#include "daemon/log.h"

void config_init_defaults(struct memctld_config *c)
{
	memset(c, 0, sizeof(*c)); /* padding too: configs are compared with memcmp */
	*c = (struct memctld_config){
		.log_level = LOG_INFO,
		.tick_usec = 1 * USEC_PER_SEC,
		.dry_run = false,
		.bpf_lifecycle = true,
		.bpf_rss = true,
		.bpf_reclaim = true,
		/* off by default: a program on every user page fault cost 2-3% of a
		 * fault-heavy workload (bench/bpf_overhead: 1.06 with it, ~1.03
		 * without), and /proc/PID/stat has the lifetime counts for free;
		 * turn it on for the write/protection breakdown */
		.bpf_faults = false,
		/* issue 3: a record per 1 MiB moved keeps rss_stat forwarding ~100x below
		 * the raw event rate (one event per 4 KiB fault) */
		.rss_threshold_bytes = MIB(1),
		.rss_interval_usec = 1 * USEC_PER_SEC,
		/* each ring's pages are mapped twice into the daemon (data area wraps),
		 * so the ring costs up to 2x its size of RSS; 256 KiB holds ~4,600
		 * lifecycle records, about 50x what a 1,000 processes/s storm queues
		 * between two drains (bench/churn) */
		.ringbuf_bytes = KIB(256),
		.cgroup_root = "",
		.proc_root = "/proc",
		.max_enroll_per_uid = 64,
		/* the planner works from the last STATS (cold bytes especially): at 250 ms
		 * they are that fresh, for a 0.5 ms hotness scan per 512 MiB arena */
		.stats_interval_usec = 250 * USEC_PER_MSEC,
		.resctrl = CONFIG_AUTO,
		.resctrl_root = "/sys/fs/resctrl",
		/* two passes of the kernel's once-a-second limbo check (docs/policy.md) */
		.rmid_min_free_usec = 2 * USEC_PER_SEC,
		.resctrl_monitor = RESCTRL_MONITOR_ENROLLED | RESCTRL_MONITOR_CGROUPS,
		/* below this no L3 domain counts as busy: any DRAM channel does several
		 * GB/s, so an idle machine's small peak never reads as saturation */
		.peak_bandwidth_min_bytes = GIB(1),
		/* issue 9: 64 idle connections by one user locked root out. memctl
		 * opens one per call and closes it; a user needs one or two at once */
		.control_max_connections = 64,
		.control_max_connections_per_uid = 8,
		/* memctl sends its request at once and waits 5 s for the answer:
		 * a connection quiet for 10 s has been abandoned or is squatting */
		.control_idle_timeout_usec = 10 * USEC_PER_SEC,
		.control_hide_others = CONFIG_AUTO,
		/* 10% of one core: `memctl ps` of 10,000 processes costs ~12 ms
		 * (docs/benchmarks.md), far within the 250 ms burst; a loop of
		 * requests from one user gets a tenth of a core, never the loop */
		.control_cpu_quota_per_uid_percent = 10,
	};
	/* [Metrics]: no HTTP endpoint and no textfile unless asked. Ten growing
	 * processes are what a dashboard's "top growers" panel shows; 1,000
	 * cgroups are twice the 500 docs/benchmarks.md measures a scrape with */
	c->metrics_top_growing = 10;
	c->metrics_max_cgroups = 1000;
	/* Prometheus holds one keep-alive connection per target; 16 leave room
	 * for a few scrapers and a curl without letting anyone hold hundreds */
	c->metrics_max_connections = 16;
	/* a scrape of 3 MiB over loopback takes milliseconds; a client that sends
	 * or reads nothing for 10 s is gone or stalling on purpose */
	c->metrics_timeout_usec = 10 * USEC_PER_SEC;
	growth_params_init(&c->growth);
	plan_params_init(&c->plan);
	c->plan_interval_usec = 100 * USEC_PER_MSEC;
	/* measured (docs/benchmarks.md, bench/squeeze): a 512 MiB interactive_burst at
	 * 60% of its footprint ran 1.74M ops with 1 MiB commands (ack p50 3.2 ms),
	 * 1.67M with 2 MiB (6.3 ms) and 0.98M with 4 MiB (9.5 ms): small commands keep
	 * within the 5 ms the loop aims for and take less that is about to be read */
	c->max_command_bytes = MIB(1);
}

int config_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
	static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	return -EINVAL;
}

/* Parse a non-negative decimal number with an optional unit suffix from table. */
struct unit {
	const char *suffix;
	uint64_t factor;
};

static int parse_with_units(const char *s, const struct unit *units, size_t n_units,
			    uint64_t bare_factor, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL; /* rejects "", "-1", "+1", " 1" */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	while (*end == ' ')
		end++;
	if (*end == '\0') {
		if (v > UINT64_MAX / bare_factor)
			return -ERANGE;
		*ret = v * bare_factor;
		return 0;
	}
	for (size_t i = 0; i < n_units; i++)
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > UINT64_MAX / units[i].factor)
				return -ERANGE;
			*ret = v * units[i].factor;
			return 0;
		}
	return -EINVAL;
}

int config_parse_bytes(const char *s, uint64_t *ret_bytes)
{
	static const struct unit units[] = {
		{ "B", 1 },	   { "K", KIB(1) },    { "KiB", KIB(1) },
		{ "M", MIB(1) },   { "MiB", MIB(1) },  { "G", GIB(1) },
		{ "GiB", GIB(1) }, { "T", GIB(1024) }, { "TiB", GIB(1024) },
	};
	return parse_with_units(s, units, ELEMENTSOF(units), 1, ret_bytes);
}

int config_parse_listen(const char *s, struct sockaddr_storage *ret, unsigned *ret_len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	unsigned long long p;
	char *end;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host) ||
		    memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
	}
	if (!isdigit((unsigned char)port[0]))
		return -EINVAL;
	errno = 0;
	p = strtoull(port, &end, 10);
	if (errno || *end || p == 0 || p > 65535)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ret;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p);
		*ret_len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ret;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		*ret_len = sizeof(*a);
	}
	return 0;
}

int config_parse_duration(const char *s, uint64_t *ret_usec)
{
	static const struct unit units[] = {
		{ "us", 1 },
		{ "ms", USEC_PER_MSEC },
		{ "s", USEC_PER_SEC },
		{ "sec", USEC_PER_SEC },
		{ "min", 60 * USEC_PER_SEC },
		{ "m", 60 * USEC_PER_SEC },
		{ "h", 3600 * USEC_PER_SEC },
	};
	return parse_with_units(s, units, ELEMENTSOF(units), USEC_PER_SEC, ret_usec);
}

enum key_kind {
	K_BOOL,
	K_BYTES,
	K_DURATION,
	K_U32,
	K_LOGLEVEL,
	K_PATH,
	K_DURATION_MS32, /* a duration kept as uint32_t milliseconds */
	K_PLAN_MODE, /* "headroom" | "post-exec" */
	K_HOTNESS, /* "hot" | "warm" | "cold" (uint32_t, PLAN_HOT..) */
	K_CODECS, /* "lz4", "zstd", "lz4,zstd" (uint32_t PLAN_CODEC_* mask) */
	K_AUTOBOOL, /* "auto" | boolean (int, CONFIG_AUTO) */
	K_MONITOR, /* "enrolled" | "cgroups" | "all" (RESCTRL_MONITOR_* mask) */
	K_PERCENT, /* "10%" or "10" (uint32_t percent) */
	K_LISTEN, /* "ADDRESS:PORT" or "" (char[64]; config_parse_listen()) */
	K_TEXTFILE, /* an absolute path ending in ".prom", or "" (char[256]) */
};

static const char *const hotness_names[] = { "hot", "warm", "cold" };

struct key_desc {
	const char *section;
	const char *key;
	enum key_kind kind;
	size_t offset;
	uint64_t min, max; /* for numbers; bytes, usec or plain */
	bool pow2;
};

#define F(field) offsetof(struct memctld_config, field)
static const struct key_desc keys[] = {
	{ "Daemon", "LogLevel", K_LOGLEVEL, F(log_level), 0, 0, false },
	{ "Daemon", "TickIntervalSec", K_DURATION, F(tick_usec), 100 * USEC_PER_MSEC,
	  60 * USEC_PER_SEC, false },
	{ "Daemon", "DryRun", K_BOOL, F(dry_run), 0, 0, false },
	{ "BPF", "Lifecycle", K_BOOL, F(bpf_lifecycle), 0, 0, false },
	{ "BPF", "RSS", K_BOOL, F(bpf_rss), 0, 0, false },
	{ "BPF", "Reclaim", K_BOOL, F(bpf_reclaim), 0, 0, false },
	{ "BPF", "Faults", K_BOOL, F(bpf_faults), 0, 0, false },
	{ "BPF", "RssThreshold", K_BYTES, F(rss_threshold_bytes), KIB(4), GIB(1), false },
	{ "BPF", "RssIntervalSec", K_DURATION, F(rss_interval_usec), 10 * USEC_PER_MSEC,
	  60 * USEC_PER_SEC, false },
	{ "BPF", "RingBufferSize", K_BYTES, F(ringbuf_bytes), KIB(4), MIB(256), true },
	{ "Cgroup", "Root", K_PATH, F(cgroup_root), 0, 0, false },
	{ "Cgroup", "ProcRoot", K_PATH, F(proc_root), 0, 0, false },
	{ "Enroll", "MaxPerUser", K_U32, F(max_enroll_per_uid), 1, 4096, false },
	{ "Enroll", "StatsIntervalSec", K_DURATION, F(stats_interval_usec), 100 * USEC_PER_MSEC,
	  3600 * USEC_PER_SEC, false },
	{ "Growth", "BucketSec", K_DURATION, F(growth.bucket_usec), 100 * USEC_PER_MSEC,
	  60 * USEC_PER_SEC, false },
	{ "Growth", "MinHistorySec", K_DURATION, F(growth.min_history_usec), 0,
	  86400 * USEC_PER_SEC, false },
	{ "Growth", "MinDurationSec", K_DURATION, F(growth.min_duration_usec), 0,
	  3600 * USEC_PER_SEC, false },
	{ "Growth", "MinGrowth", K_BYTES, F(growth.min_growth_bytes), 0, GIB(1024), false },
	{ "Growth", "DetectConfidence", K_U32, F(growth.detect_permyriad), 1, 10000, false },
	{ "Growth", "EndConfidence", K_U32, F(growth.end_permyriad), 0, 9999, false },
	{ "Policy", "Mode", K_PLAN_MODE, F(plan.mode), 0, 0, false },
	{ "Policy", "IntervalSec", K_DURATION, F(plan_interval_usec), 10 * USEC_PER_MSEC,
	  10 * USEC_PER_SEC, false },
	{ "Policy", "MaxCommand", K_BYTES, F(max_command_bytes), KIB(64), GIB(64), false },
	{ "Policy", "CsvPath", K_PATH, F(csv_path), 0, 0, false },
	{ "Policy", "FloorBytes", K_BYTES, F(plan.floor_bytes), 0, GIB(1024), false },
	{ "Policy", "FloorPermyriad", K_U32, F(plan.floor_permyriad), 0, 5000, false },
	{ "Policy", "BandBytes", K_BYTES, F(plan.band_bytes), 0, GIB(1024), false },
	{ "Policy", "BandPermyriad", K_U32, F(plan.band_permyriad), 0, 5000, false },
	{ "Policy", "LeadSec", K_DURATION, F(plan.lead_usec), USEC_PER_SEC, 600 * USEC_PER_SEC,
	  false },
	{ "Policy", "RelaxHoldSec", K_DURATION, F(plan.relax_hold_usec), 0, 3600 * USEC_PER_SEC,
	  false },
	{ "Policy", "RelaxIntervalSec", K_DURATION, F(plan.relax_interval_usec), 0,
	  3600 * USEC_PER_SEC, false },
	{ "Policy", "SettleSec", K_DURATION, F(plan.settle_usec), 0, 3600 * USEC_PER_SEC, false },
	{ "Policy", "RelaxMax", K_BYTES, F(plan.relax_max_bytes), 1, GIB(1024), false },
	{ "Policy", "MinCommand", K_BYTES, F(plan.min_command_bytes), 0, GIB(1024), false },
	{ "Policy", "PsiSomePermyriad", K_U32, F(plan.psi_some_permyriad), 0, 10000, false },
	{ "Policy", "PsiFullPermyriad", K_U32, F(plan.psi_full_permyriad), 0, 10000, false },
	{ "Policy", "StallPermyriad", K_U32, F(plan.stall_permyriad), 0, 10000, false },
	{ "Policy", "Codecs", K_CODECS, F(plan.codecs), 0, 0, false },
	{ "Policy", "MinSavingsPermyriad", K_U32, F(plan.min_savings_permyriad), 0, 10000, false },
	{ "Policy", "DeadlineSec", K_DURATION_MS32, F(plan.deadline_ms), 0, 60 * USEC_PER_SEC,
	  false },
	{ "Policy", "UrgentMaxHotness", K_HOTNESS, F(plan.urgent_max_hotness), 0, 0, false },
	{ "Policy", "AckTimeoutSec", K_DURATION, F(plan.ack_timeout_usec), USEC_PER_MSEC,
	  600 * USEC_PER_SEC, false },
	{ "Policy", "BackoffSec", K_DURATION, F(plan.backoff_usec), USEC_PER_MSEC,
	  3600 * USEC_PER_SEC, false },
	{ "Policy", "BackoffMaxSec", K_DURATION, F(plan.backoff_max_usec), 0, 86400 * USEC_PER_SEC,
	  false },
	{ "Policy", "PriorSavingsPermyriad", K_U32, F(plan.prior_savings_permyriad), 1, 10000,
	  false },
	{ "Policy", "PostExecDelaySec", K_DURATION, F(plan.post_exec_delay_usec), 0,
	  3600 * USEC_PER_SEC, false },
	{ "Policy", "PostExecMaxHotness", K_HOTNESS, F(plan.post_exec_max_hotness), 0, 0, false },
	{ "Growth", "EndHoldSec", K_DURATION, F(growth.end_hold_usec), 0, 86400 * USEC_PER_SEC,
	  false },
	{ "Resctrl", "Resctrl", K_AUTOBOOL, F(resctrl), 0, 0, false },
	{ "Resctrl", "ResctrlRoot", K_PATH, F(resctrl_root), 0, 0, false },
	{ "Resctrl", "MinFreeSec", K_DURATION, F(rmid_min_free_usec), 0, 600 * USEC_PER_SEC,
	  false },
	{ "Resctrl", "Monitor", K_MONITOR, F(resctrl_monitor), 0, 0, false },
	{ "Resctrl", "PeakBandwidthMin", K_BYTES, F(peak_bandwidth_min_bytes), MIB(1), GIB(16384),
	  false },
	{ "Control", "HideOtherUsers", K_AUTOBOOL, F(control_hide_others), 0, 0, false },
	{ "Control", "MaxConnections", K_U32, F(control_max_connections), 8, 4096, false },
	{ "Control", "MaxConnectionsPerUser", K_U32, F(control_max_connections_per_uid), 1, 4096,
	  false },
	{ "Control", "IdleTimeoutSec", K_DURATION, F(control_idle_timeout_usec), 1 * USEC_PER_SEC,
	  3600 * USEC_PER_SEC, false },
	{ "Control", "CPUQuotaPerUser", K_PERCENT, F(control_cpu_quota_per_uid_percent), 1, 100,
	  false },
	{ "Metrics", "Listen", K_LISTEN, F(metrics_listen), 0, 0, false },
	{ "Metrics", "Textfile", K_TEXTFILE, F(metrics_textfile), 0, 0, false },
	{ "Metrics", "TopGrowing", K_U32, F(metrics_top_growing), 0, 1000, false },
	{ "Metrics", "MaxCgroups", K_U32, F(metrics_max_cgroups), 0, 100000, false },
	{ "Metrics", "MaxConnections", K_U32, F(metrics_max_connections), 1, 1024, false },
	{ "Metrics", "TimeoutSec", K_DURATION, F(metrics_timeout_usec), USEC_PER_SEC,
	  3600 * USEC_PER_SEC, false },
};
#undef F

/*
 * The largest file read. The shipped memctld.conf, every key with its comment,
 * is 2 KiB; 1 MiB is 500 times that, and reading and parsing it took 2 ms here
 * (tests/unit/test_config.c: test_config_load_size_cap), so neither a start
 * nor a SIGHUP reload, which runs on the event loop, can be made long or large
 * by a file that is merely big.
 */
#define CONFIG_FILE_MAX (1024 * 1024)

struct parse_state {
	const char *path;
	unsigned line;
	struct memctld_config *c;
	struct config_error *err;
	bool failed;
	unsigned unknown;
	config_unknown_cb_t unknown_cb;
	void *userdata;
};

_printf_(4, 5) static int fail(struct parse_state *st, const char *section, const char *key,
			       const char *fmt, ...)
{
	va_list ap;

	if (st->failed)
		return 0; /* keep the first error */
	st->failed = true;
	st->err->line = st->line;
	snprintf(st->err->section, sizeof(st->err->section), "%s", section);
	snprintf(st->err->key, sizeof(st->err->key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(st->err->message, sizeof(st->err->message), fmt, ap);
	va_end(ap);
	return 0;
}

/*
 * A path with a control character in it is an editing accident (a "\r\r\n" ending
 * keeps one "\r" after the CRLF is taken off), never a path anyone means, and
 * --check-config would print it as a line that does not read back the same
 * (tests/fuzz/fuzz_config found that).
 */
#define CONTROL_CHAR_TEXT "a control character in the path (a stray carriage return?)"

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int apply(struct parse_state *st, const struct key_desc *k, const char *value)
{
	void *field = (char *)st->c + k->offset;
	uint64_t v;
	bool b;
	int r;

	switch (k->kind) {
	case K_BOOL:
		if (config_parse_bool(value, &b) < 0)
			return fail(st, k->section, k->key,
				    "expected a boolean (yes/no), got \"%s\"", value);
		*(bool *)field = b;
		return 1;
	case K_LOGLEVEL:
		r = log_level_from_string(value);
		if (r < 0)
			return fail(st, k->section, k->key,
				    "expected err, warning, notice, info or debug, got \"%s\"",
				    value);
		*(int *)field = r;
		return 1;
	case K_PLAN_MODE:
		if (plan_mode_from_string(value, (uint32_t *)field) < 0)
			return fail(st, k->section, k->key,
				    "expected headroom or post-exec, got \"%s\"", value);
		return 1;
	case K_HOTNESS:
		for (size_t i = 0; i < ELEMENTSOF(hotness_names); i++)
			if (strcmp(value, hotness_names[i]) == 0) {
				*(uint32_t *)field = (uint32_t)i;
				return 1;
			}
		return fail(st, k->section, k->key, "expected hot, warm or cold, got \"%s\"",
			    value);
	case K_CODECS: {
		uint32_t mask = 0;
		char buf[64], *save = NULL;

		bool bad = strlen(value) >= sizeof(buf);

		snprintf(buf, sizeof(buf), "%s", value);
		for (char *w = strtok_r(buf, ", ", &save); w && !bad;
		     w = strtok_r(NULL, ", ", &save)) {
			if (strcmp(w, "lz4") == 0)
				mask |= PLAN_CODEC_LZ4;
			else if (strcmp(w, "zstd") == 0)
				mask |= PLAN_CODEC_ZSTD;
			else
				bad = true;
		}
		if (bad || !mask)
			return fail(st, k->section, k->key,
				    "expected lz4, zstd or \"lz4,zstd\", got \"%s\"", value);
		*(uint32_t *)field = mask;
		return 1;
	}
	case K_PATH:
		if (value[0] != '\0' && value[0] != '/')
			return fail(st, k->section, k->key, "expected an absolute path, got \"%s\"",
				    value);
		if (has_control(value))
			return fail(st, k->section, k->key, "%s", CONTROL_CHAR_TEXT);
		if (strlen(value) >= sizeof(st->c->cgroup_root))
			return fail(st, k->section, k->key, "path longer than %zu bytes",
				    sizeof(st->c->cgroup_root) - 1);
		strcpy(field, value);
		return 1;
	case K_LISTEN: {
		struct sockaddr_storage ss;
		unsigned len;

		if (value[0] && config_parse_listen(value, &ss, &len) < 0)
			return fail(
				st, k->section, k->key,
				"expected ADDRESS:PORT with a numeric address (127.0.0.1:10640, "
				"[::1]:10640), got \"%s\"",
				value);
		if (strlen(value) >= sizeof(st->c->metrics_listen))
			return fail(st, k->section, k->key, "longer than %zu bytes",
				    sizeof(st->c->metrics_listen) - 1);
		strcpy(field, value);
		return 1;
	}
	case K_TEXTFILE: {
		size_t n = strlen(value);

		/* node_exporter's textfile collector reads *.prom files only: any
		 * other name would be written and never collected */
		if (value[0] && (value[0] != '/' || n < 7 || strcmp(value + n - 5, ".prom") != 0 ||
				 value[n - 6] == '/'))
			return fail(st, k->section, k->key,
				    "expected an absolute path to a *.prom file (node_exporter's "
				    "textfile collector reads no other), got \"%s\"",
				    value);
		if (has_control(value))
			return fail(st, k->section, k->key, "%s", CONTROL_CHAR_TEXT);
		if (n >= sizeof(st->c->metrics_textfile))
			return fail(st, k->section, k->key, "path longer than %zu bytes",
				    sizeof(st->c->metrics_textfile) - 1);
		strcpy(field, value);
		return 1;
	}
	case K_AUTOBOOL:
		if (strcasecmp(value, "auto") == 0) {
			*(int *)field = CONFIG_AUTO;
			return 1;
		}
		if (config_parse_bool(value, &b) < 0)
			return fail(st, k->section, k->key, "expected auto, yes or no, got \"%s\"",
				    value);
		*(int *)field = b;
		return 1;
	case K_MONITOR:
		if (strcasecmp(value, "enrolled") == 0)
			*(uint32_t *)field = RESCTRL_MONITOR_ENROLLED;
		else if (strcasecmp(value, "cgroups") == 0)
			*(uint32_t *)field = RESCTRL_MONITOR_CGROUPS;
		else if (strcasecmp(value, "all") == 0)
			*(uint32_t *)field = RESCTRL_MONITOR_ENROLLED | RESCTRL_MONITOR_CGROUPS;
		else
			return fail(st, k->section, k->key,
				    "expected enrolled, cgroups or all, got \"%s\"", value);
		return 1;
	case K_BYTES:
		r = config_parse_bytes(value, &v);
		break;
	case K_DURATION:
	case K_DURATION_MS32:
		r = config_parse_duration(value, &v);
		break;
	case K_U32:
		r = parse_with_units(value, NULL, 0, 1, &v);
		break;
	case K_PERCENT:
		r = parse_with_units(value, (const struct unit[]){ { "%", 1 } }, 1, 1, &v);
		break;
	default:
		return fail(st, k->section, k->key, "internal: unknown key kind");
	}
	if (r < 0)
		return fail(st, k->section, k->key, "cannot parse \"%s\"%s", value,
			    k->kind == K_BYTES ? " as a size (e.g. 1M, 4096)" :
			    k->kind == K_DURATION || k->kind == K_DURATION_MS32 ?
						 " as a duration (e.g. 1s, 500ms)" :
			    k->kind == K_PERCENT ? " as a percentage (e.g. 10%)" :
						   " as a number");
	if (v < k->min || v > k->max)
		return fail(st, k->section, k->key, "%s out of range [%" PRIu64 ", %" PRIu64 "]%s",
			    value, k->min, k->max,
			    k->kind == K_DURATION || k->kind == K_DURATION_MS32 ? " usec" :
			    k->kind == K_BYTES					? " bytes" :
			    k->kind == K_PERCENT				? " percent" :
										  "");
	if (k->pow2 && (v & (v - 1)))
		return fail(st, k->section, k->key, "%s is not a power of two", value);
	if (k->kind == K_U32 || k->kind == K_PERCENT)
		*(uint32_t *)field = (uint32_t)v;
	else if (k->kind == K_DURATION_MS32)
		*(uint32_t *)field = (uint32_t)(v / USEC_PER_MSEC);
	else
		*(uint64_t *)field = v;
	return 1;
}

static int handler(struct parse_state *st, const char *section, const char *name, const char *value)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, name) == 0) {
			if (!apply(st, &keys[i], value))
				return 0;
			st->c->keys_set[i / 64] |= UINT64_C(1) << (i % 64);
			return 1;
		}

	st->unknown++;
	if (st->unknown_cb)
		st->unknown_cb(st->path, st->line, section, name, st->userdata);
	return 1; /* unknown keys warn, never fail */
}

_Static_assert(ELEMENTSOF(keys) <= 64 * ELEMENTSOF(((struct memctld_config *)0)->keys_set),
	       "memctld_config.keys_set needs more words");

bool config_key_set(const struct memctld_config *c, size_t field_offset)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (keys[i].offset == field_offset)
			return c->keys_set[i / 64] & (UINT64_C(1) << (i % 64));
	return false;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Trim blanks from both ends of s[0..*len), in place; returns the new start. */
static char *strip(char *s, size_t *len)
{
	while (*len && is_blank(*s)) {
		s++;
		(*len)--;
	}
	while (*len && is_blank(s[*len - 1]))
		(*len)--;
	s[*len] = '\0';
	return s;
}

/* An inline comment starts at a ';' after a blank (as inih had it). */
static void cut_inline_comment(char *s, size_t *len)
{
	for (size_t i = 1; i < *len; i++)
		if (s[i] == ';' && is_blank(s[i - 1])) {
			*len = i;
			break;
		}
}

/*
 * Parse buf[0..size) (NUL at buf[size], written over in place) line by line.
 * One line is whatever lies between two '\n', of any length the file cap
 * allows: inih, which this replaces, reads through a 200-byte line buffer in
 * Debian's build, so a 199-character comment split in two and its tail was
 * reported, on the wrong line, as a syntax error.
 */
static int parse_buffer(struct parse_state *st, char *buf, size_t size)
{
	char section[sizeof(st->err->section)] = "";
	char *p = buf, *end = buf + size;

	/* a UTF-8 byte order mark, as editors on other systems write one */
	if (size >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (st->line = 1; p < end && !st->failed; st->line++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ?: end) - p);
		char *line = p, *eq;

		p = nl ? nl + 1 : end;
		if (len && line[len - 1] == '\r')
			len--; /* CRLF */
		if (memchr(line, '\0', len))
			return fail(st, "", "", "a NUL byte: not a text file"), -EINVAL;
		line = strip(line, &len);
		if (len == 0 || line[0] == '#' || line[0] == ';')
			continue;
		cut_inline_comment(line, &len);
		line = strip(line, &len);
		if (line[0] == '[') {
			if (line[len - 1] != ']' || len < 3)
				return fail(st, "", "", "syntax error: expected [Section]"),
				       -EINVAL;
			line[len - 1] = '\0';
			len -= 2;
			line = strip(line + 1, &len);
			if (len == 0)
				return fail(st, "", "", "syntax error: an empty [Section] name"),
				       -EINVAL;
			if (len >= sizeof(section))
				return fail(st, "", "", "section name longer than %zu bytes",
					    sizeof(section) - 1),
				       -EINVAL;
			memcpy(section, line, len + 1);
			continue;
		}
		eq = memchr(line, '=', len);
		if (!eq || eq == line)
			return fail(st, "", "", "syntax error: expected [Section] or Key=Value"),
			       -EINVAL;
		size_t klen = (size_t)(eq - line), vlen = len - klen - 1;
		char *key = strip(line, &klen), *value = strip(eq + 1, &vlen);

		if (klen == 0)
			return fail(st, "", "", "syntax error: expected [Section] or Key=Value"),
			       -EINVAL;
		handler(st, section, key, value);
	}
	return st->failed ? -EINVAL : 0;
}

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	default:
		return "of an unknown type";
	}
}

/*
 * The file's bytes, NUL-terminated, in a malloc'd buffer. O_NONBLOCK so that
 * opening a FIFO or a tty returns at once instead of waiting for a writer or
 * a carrier (it means nothing for the regular file that is accepted after);
 * O_NOCTTY so a tty never becomes ours. Symlinks are followed: /etc files are
 * often links (config management, /etc/alternatives), and the path is root's
 * choice (the command line, or /etc, which only root can write). Only a
 * regular file (or /dev/null) is read, and at most CONFIG_FILE_MAX bytes of it even if it
 * grows while being read: /dev/zero used to be read forever.
 */
static int read_file(struct parse_state *st, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, alloc;
	struct stat sb;

	fd = open(st->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		return -errno;
	/* the null device (1:3, devices.txt) reads as empty and cannot block:
	 * "--config /dev/null" is the usual way to say "no file, defaults" */
	if (S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(1, 3)) {
		buf = strdup("");
		if (!buf)
			return -ENOMEM;
		*ret = TAKE_PTR(buf);
		*ret_size = 0;
		return 0;
	}
	if (!S_ISREG(sb.st_mode))
		return fail(st, "", "", "%s, not a regular file: refusing to read it",
			    file_kind(sb.st_mode)),
		       -EINVAL;
	if (sb.st_size > CONFIG_FILE_MAX)
		return fail(st, "", "",
			    "%jd bytes, larger than the %d bytes a configuration may be",
			    (intmax_t)sb.st_size, CONFIG_FILE_MAX),
		       -EINVAL;
	/* one byte more than it says, to see it grow */
	alloc = (size_t)sb.st_size + 2;
	buf = malloc(alloc);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + size, alloc - 1 - size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > CONFIG_FILE_MAX)
			return fail(st, "", "", "grew beyond the %d bytes a configuration may be",
				    CONFIG_FILE_MAX),
			       -EINVAL;
		if (size == alloc - 1) {
			size_t na = MIN(alloc * 2, (size_t)CONFIG_FILE_MAX + 2);
			char *nb = realloc(buf, na);

			if (!nb)
				return -ENOMEM;
			buf = nb;
			alloc = na;
		}
	}
	buf[size] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_size = size;
	return 0;
}

int config_load(const char *path, struct memctld_config *c, struct config_error *ret_error,
		unsigned *ret_unknown, config_unknown_cb_t unknown_cb, void *userdata)
{
	_cleanup_free_ char *buf = NULL;
	struct config_error scratch = {};
	struct parse_state st = {
		.path = path,
		.c = c,
		.err = ret_error ?: &scratch,
		.unknown_cb = unknown_cb,
		.userdata = userdata,
	};
	size_t size = 0;
	int r;

	*st.err = (struct config_error){};
	r = read_file(&st, &buf, &size);
	if (r < 0)
		return r;
	r = parse_buffer(&st, buf, size);
	if (ret_unknown)
		*ret_unknown = st.unknown;
	return r;
}

void config_dump(const struct memctld_config *c, FILE *f)
{
	const char *last = NULL;

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		const struct key_desc *k = &keys[i];
		const void *field = (const char *)c + k->offset;

		if (!last || strcmp(last, k->section) != 0)
			fprintf(f, "%s[%s]\n", last ? "\n" : "", k->section);
		last = k->section;
		fprintf(f, "%s=", k->key);
		switch (k->kind) {
		case K_BOOL:
			fprintf(f, "%s\n", *(const bool *)field ? "yes" : "no");
			break;
		case K_LOGLEVEL:
			fprintf(f, "%s\n", log_level_to_string(*(const int *)field));
			break;
		case K_PATH:
		case K_LISTEN:
		case K_TEXTFILE:
			fprintf(f, "%s\n", (const char *)field);
			break;
		case K_BYTES:
			fprintf(f, "%" PRIu64 "\n", *(const uint64_t *)field);
			break;
		case K_DURATION:
			fprintf(f, "%" PRIu64 "ms\n", *(const uint64_t *)field / USEC_PER_MSEC);
			break;
		case K_U32:
			fprintf(f, "%" PRIu32 "\n", *(const uint32_t *)field);
			break;
		case K_DURATION_MS32:
			fprintf(f, "%" PRIu32 "ms\n", *(const uint32_t *)field);
			break;
		case K_PLAN_MODE:
			fprintf(f, "%s\n", plan_mode_to_string(*(const uint32_t *)field) ?: "?");
			break;
		case K_HOTNESS: {
			uint32_t h = *(const uint32_t *)field;

			fprintf(f, "%s\n", h < ELEMENTSOF(hotness_names) ? hotness_names[h] : "?");
			break;
		}
		case K_CODECS: {
			uint32_t m = *(const uint32_t *)field;

			fprintf(f, "%s%s%s\n", m & PLAN_CODEC_LZ4 ? "lz4" : "",
				m == PLAN_CODEC_ALL ? "," : "", m & PLAN_CODEC_ZSTD ? "zstd" : "");
			break;
		}
		case K_AUTOBOOL:
			fprintf(f, "%s\n",
				*(const int *)field == CONFIG_AUTO ? "auto" :
				*(const int *)field		   ? "yes" :
								     "no");
			break;
		case K_MONITOR: {
			uint32_t mon = *(const uint32_t *)field;

			fprintf(f, "%s\n",
				mon == RESCTRL_MONITOR_ENROLLED ? "enrolled" :
				mon == RESCTRL_MONITOR_CGROUPS	? "cgroups" :
								  "all");
			break;
		}
		case K_PERCENT:
			fprintf(f, "%" PRIu32 "%%\n", *(const uint32_t *)field);
			break;
		}
	}
}
