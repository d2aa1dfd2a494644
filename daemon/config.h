/* SPDX-License-Identifier: MIT */
/* daemon/config.h: memctld.conf, an INI file with systemd-style sections. Every
 * key has a built-in default, so no file is needed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/growth.h"
#include "policy/plan.h"

struct memctld_config {
	/* [Daemon] */
	int log_level; /* LOG_* */
	uint64_t tick_usec; /* TickIntervalSec=, 100ms .. 60s */
	bool dry_run; /* DryRun= */
	/* [BPF] */
	bool bpf_lifecycle; /* Lifecycle= */
	bool bpf_rss; /* RSS= */
	bool bpf_reclaim; /* Reclaim= */
	bool bpf_faults; /* Faults= */
	uint64_t rss_threshold_bytes; /* RssThreshold=, 4K .. 1G */
	uint64_t rss_interval_usec; /* RssIntervalSec=, 10ms .. 60s */
	uint64_t ringbuf_bytes; /* RingBufferSize=, power of two, 4K .. 256M */
	/* [Cgroup] */
	char cgroup_root[256]; /* Root=, "" = find the memory hierarchy with libcgroup */
	char proc_root[256]; /* ProcRoot=, default /proc */
	/* [Enroll] */
	uint32_t max_enroll_per_uid; /* MaxPerUser=, 1 .. 4096 */
	uint64_t stats_interval_usec; /* StatsIntervalSec=, 100ms .. 1h */
	/* [Growth] */
	struct growth_params growth; /* policy/growth.h; defaults from tests/accuracy */
	/* [Policy] */
	struct plan_params plan; /* policy/plan.h; defaults from its model (docs/policy.md) */
	uint64_t plan_interval_usec; /* IntervalSec=, 10ms .. 10s: the control loop's period */
	uint64_t max_command_bytes; /* MaxCommand=: largest COMPRESS target sent at once */
	char csv_path[256]; /* CsvPath=: a row per decision and ack; "" = none */
	/* [Control] */
	uint32_t control_max_connections; /* MaxConnections=, 8 .. 4096, root's reserve included */
	uint32_t control_max_connections_per_uid; /* MaxConnectionsPerUser=, 1 .. 4096, not root */
	uint64_t control_idle_timeout_usec; /* IdleTimeoutSec=, 1s .. 1h */
	uint32_t control_cpu_quota_per_uid_percent; /* CPUQuotaPerUser=, 1 .. 100 (%), not root */
	/* HideOtherUsers=: CONFIG_AUTO (default: as ProcRoot='s hidepid= says), 1, 0 */
	int control_hide_others;
	/* bit i: the file set key i of config.c's table (config_key_set()) */
	uint64_t keys_set[2];
	/* [Resctrl] */
	int resctrl; /* Resctrl=: CONFIG_AUTO (default), 1 = required, 0 = off */
	uint32_t resctrl_monitor; /* Monitor=: RESCTRL_MONITOR_* mask */
	char resctrl_root[256]; /* ResctrlRoot=, default /sys/fs/resctrl */
	uint64_t rmid_min_free_usec; /* MinFreeSec=, 0 .. 10min */
	uint64_t peak_bandwidth_min_bytes; /* PeakBandwidthMin= (bytes/s), 1M .. 16T */
	/* [Metrics] */
	char metrics_listen[64]; /* Listen=ADDRESS:PORT; "" = no HTTP endpoint of our own */
	char metrics_textfile[256]; /* Textfile=, an absolute *.prom path; "" = none */
	uint32_t metrics_top_growing; /* TopGrowing=, 0 .. 1000 */
	uint32_t metrics_max_cgroups; /* MaxCgroups=, 0 .. 100000 */
	uint32_t metrics_max_connections; /* MaxConnections=, 1 .. 1024 */
	uint64_t metrics_timeout_usec; /* TimeoutSec=, 1s .. 1h: an HTTP client without progress */
};

#define CONFIG_AUTO (-1)
/* [Resctrl] Monitor=: enrolled, cgroups or all (both) */
#define RESCTRL_MONITOR_ENROLLED (1U << 0)
#define RESCTRL_MONITOR_CGROUPS (1U << 1)

/* The first error found in a file; line 0 = the file itself. */
struct config_error {
	unsigned line;
	char section[64];
	char key[64];
	char message[256];
};

void config_init_defaults(struct memctld_config *c);

/*
 * Parse path over the values already in *c (call config_init_defaults() first).
 * The format, in memctld.conf(5): "[Section]" and "Key=Value" lines of any
 * length, comments from '#' or ';' at the start of a line or " ;" inside one,
 * blanks around names and values stripped, CRLF and a UTF-8 BOM accepted.
 * path must be (or link to) a regular file of at most 1 MiB, or /dev/null
 * (an empty file).
 * Returns 0, -ENOENT if the file does not exist (c untouched), -EINVAL for an
 * invalid value or syntax error, or a file that is not a regular file or is too
 * large (*ret_error says where and why, line 0 meaning the file itself; c is
 * left partially updated: parse into a copy when that matters), or another
 * -errno if it cannot be opened or read (-ELOOP, -EACCES, ...). Unknown
 * sections/keys are counted in *ret_unknown (may be NULL) and reported through
 * unknown_cb (may be NULL), never fatal.
 */
typedef void (*config_unknown_cb_t)(const char *path, unsigned line, const char *section,
				    const char *key, void *userdata);
int config_load(const char *path, struct memctld_config *c, struct config_error *ret_error,
		unsigned *ret_unknown, config_unknown_cb_t unknown_cb, void *userdata);

/* Whether the file loaded into c set the key stored at field_offset (an
 * offsetof(struct memctld_config, ...)), or it has its built-in value. */
bool config_key_set(const struct memctld_config *c, size_t field_offset);

/* Value parsers, shared with the CLI and the tests. Return 0 or -EINVAL/-ERANGE. */
int config_parse_bool(const char *s, bool *ret);
/* "1048576", "1M", "1MiB", "4K", "2G" (1024-based) */
int config_parse_bytes(const char *s, uint64_t *ret_bytes);
/* "1", "1s", "500ms", "250us", "2min", "1h"; a bare number is seconds */
int config_parse_duration(const char *s, uint64_t *ret_usec);

/*
 * [Metrics] Listen=: "127.0.0.1:10640", "[::1]:10640", "0.0.0.0:10640",
 * "[::]:10640"; numeric addresses only (no name lookups in a root daemon) and
 * a port in 1..65535. Fills *ret (an AF_INET or AF_INET6 address) and
 * *ret_len. -EINVAL otherwise.
 */
struct sockaddr_storage;
int config_parse_listen(const char *s, struct sockaddr_storage *ret, unsigned *ret_len);

/* Write the effective configuration as an INI file (for --check-config). */
void config_dump(const struct memctld_config *c, FILE *f);
