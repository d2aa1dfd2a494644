// SPDX-License-Identifier: MIT
/* daemon/metrics.c: memctld's tables as Prometheus metrics (names, units, HELP),
 * one rendering per tick and format shared by every reader, the textfile for
 * node_exporter written atomically each tick, and the HTTP endpoint's setup. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/time-util.h"
#include "daemon/bpf-loader.h"
#include "daemon/cgroup-table.h"
#include "daemon/enroll.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/metrics-http.h"
#include "daemon/metrics.h"
#include "daemon/planner.h"
#include "daemon/proc-table.h"
#include "daemon/profiler.h"
#include "daemon/resctrl-table.h"
#include "ipc/ipc.h"

struct metrics {
	struct manager *m;
	struct metrics_blob *cache[_METRICS_FORMAT_MAX]; /* as of the last tick; NULL = none */
	uint64_t next_serial;
	struct metrics_http *http;
	/* what the endpoint was started with: changes need a restart */
	char listen[sizeof(((struct memctld_config *)0)->metrics_listen)];
	bool listen_from_systemd;
	uint32_t max_connections;
	uint64_t timeout_usec;
	/* the textfile: its directory held open, written through it */
	char textfile[sizeof(((struct memctld_config *)0)->metrics_textfile)];
	int textfile_dirfd;
	const char *textfile_name; /* points into textfile[] */
	bool textfile_failing; /* said once per episode */
	uint64_t textfile_writes;
	uint64_t textfile_errors;
	/* the last rendering's cost and what it left out */
	double render_seconds;
	uint64_t renders;
	unsigned cgroups_omitted;
};

struct metrics_blob *metrics_blob_ref(struct metrics_blob *b)
{
	if (b)
		b->refs++;
	return b;
}

void metrics_blob_unref(struct metrics_blob *b)
{
	if (b && --b->refs == 0)
		free(b);
}

static void event_failed(struct manager *m, int error, const char *what)
{
	eventlog_add(&m->eventlog, EVENTLOG_SYSTEM, IPC_EVENT_METRICS_FAILED, 0, error,
		     "metrics: %s: %s", what, strerror(-error));
}

/* ---- rendering: small helpers ---- */

#define LBL(n, v)                         \
	{                                 \
		.name = (n), .value = (v) \
	}

static void gauge_u64(struct metrics_text *t, const char *name, const char *help, uint64_t v)
{
	metrics_text_family(t, name, METRICS_GAUGE, help);
	metrics_text_u64(t, NULL, 0, v);
}

static void gauge_double(struct metrics_text *t, const char *name, const char *help, double v)
{
	metrics_text_family(t, name, METRICS_GAUGE, help);
	metrics_text_double(t, NULL, 0, v);
}

static void counter_u64(struct metrics_text *t, const char *name, const char *help, uint64_t v)
{
	metrics_text_family(t, name, METRICS_COUNTER, help);
	metrics_text_u64(t, NULL, 0, v);
}

static double usec_to_sec(uint64_t usec)
{
	return (double)usec / (double)USEC_PER_SEC;
}

/* ---- the daemon ---- */

/* process_* as Prometheus's client libraries name them, so the usual
 * "exporter health" panels work on memctld as they are */
static void render_process(struct manager *m, struct metrics_text *t)
{
	unsigned long long vsize = 0, rss = 0;
	uint64_t start_real = now_usec(CLOCK_REALTIME) - manager_uptime_usec(m);
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%llu %llu", &vsize, &rss) != 2)
			vsize = rss = 0;
		fclose(f);
	}
	metrics_text_family(t, "process_cpu_seconds_total", METRICS_COUNTER,
			    "CPU time memctld used, user and system, in seconds.");
	metrics_text_double(t, NULL, 0,
			    (double)clock_nsec(CLOCK_PROCESS_CPUTIME_ID) / (double)NSEC_PER_SEC);
	gauge_u64(t, "process_resident_memory_bytes", "memctld's resident set size.",
		  rss * (uint64_t)sysconf(_SC_PAGESIZE));
	gauge_u64(t, "process_virtual_memory_bytes", "memctld's virtual memory size.",
		  vsize * (uint64_t)sysconf(_SC_PAGESIZE));
	gauge_double(t, "process_start_time_seconds",
		     "When memctld started, in seconds since the Unix epoch.",
		     usec_to_sec(start_real));
	if (m->fd_limit != UINT64_MAX)
		gauge_u64(t, "process_max_fds", "memctld's soft limit on open file descriptors.",
			  m->fd_limit);
}

static void render_daemon(struct manager *m, struct metrics *x, struct metrics_text *t)
{
	struct metrics_label version[] = { LBL("version", MEMCTL_VERSION) };
	struct enroll_counters ec;
	uint64_t lost = m->bpf ? bpf_loader_lost(m->bpf) : 0;
	uint32_t loaded = m->bpf ? bpf_loader_loaded_mask(m->bpf) : 0;

	metrics_text_family(t, "memctl_build_info", METRICS_INFO, "memctld's version; always 1.");
	metrics_text_u64(t, version, ELEMENTSOF(version), 1);
	gauge_double(t, "memctl_uptime_seconds", "Time since memctld started.",
		     usec_to_sec(manager_uptime_usec(m)));
	gauge_u64(t, "memctl_dry_run", "1 when memctld decides and logs but never acts.",
		  m->config.dry_run);

	metrics_text_family(t, "memctl_bpf_program_loaded", METRICS_GAUGE,
			    "1 when the BPF program is loaded and attached, 0 when it is off.");
	for (int i = 0; i < _BPF_PROG_MAX; i++) {
		struct metrics_label l[] = { LBL("program", bpf_loader_prog_name(i)) };

		metrics_text_u64(t, l, 1, !!(loaded & (1U << i)));
	}
	metrics_text_family(t, "memctl_bpf_program_events_total", METRICS_COUNTER,
			    "Tracepoint hits of each BPF program.");
	for (int i = 0; i < _BPF_PROG_MAX; i++) {
		struct metrics_label l[] = { LBL("program", bpf_loader_prog_name(i)) };
		struct ev_prog_stats ps = {};

		if (m->bpf)
			bpf_loader_prog_stats(m->bpf, i, &ps);
		metrics_text_u64(t, l, 1, ps.events);
	}
	metrics_text_family(t, "memctl_bpf_program_map_full_total", METRICS_COUNTER,
			    "Per-process BPF map entries a program could not add (map full).");
	for (int i = 0; i < _BPF_PROG_MAX; i++) {
		struct metrics_label l[] = { LBL("program", bpf_loader_prog_name(i)) };
		struct ev_prog_stats ps = {};

		if (m->bpf)
			bpf_loader_prog_stats(m->bpf, i, &ps);
		metrics_text_u64(t, l, 1, ps.map_full);
	}
	metrics_text_family(t, "memctl_bpf_records_total", METRICS_COUNTER,
			    "Ring-buffer records memctld received, by type.");
	{
		struct metrics_label l[][1] = { { LBL("type", "exec") },
						{ LBL("type", "fork") },
						{ LBL("type", "exit") },
						{ LBL("type", "rss") } };
		uint64_t v[] = { m->counters.events_exec, m->counters.events_fork,
				 m->counters.events_exit, m->counters.events_rss };

		for (size_t i = 0; i < ELEMENTSOF(v); i++)
			metrics_text_u64(t, l[i], 1, v[i]);
	}
	counter_u64(t, "memctl_bpf_records_lost_total",
		    "Ring-buffer records the kernel side dropped (ring full).", lost);
	counter_u64(t, "memctl_resyncs_total",
		    "Times the process table was rebuilt from /proc after lost records.",
		    m->counters.resyncs);

	gauge_u64(t, "memctl_processes_tracked", "Processes in memctld's table.",
		  proc_table_count(m->procs));
	gauge_u64(t, "memctl_processes_unpinned",
		  "Tracked processes without a pidfd (the file limit was reached).",
		  proc_table_unpinned(m->procs));
	gauge_u64(t, "memctl_cgroups_tracked", "Memory cgroups in memctld's table.",
		  cgroup_table_count(m->cgroups));
	counter_u64(t, "memctl_oom_kills_total", "OOM kills memctld saw, traced or counted.",
		    m->counters.oom_kills);

	enroll_table_counters(m->enroll, &ec);
	metrics_text_family(t, "memctl_workloads_enrolled", METRICS_GAUGE,
			    "Enrolled processes, by mode (arena: libarena with a channel).");
	{
		unsigned arena = 0, monitor = 0;
		struct metrics_label la[] = { LBL("mode", "arena") };
		struct metrics_label lm[] = { LBL("mode", "monitor") };

		for (const struct enrollment_info *e = enroll_table_next(m->enroll, NULL); e;
		     e = enroll_table_next(m->enroll, e))
			e->connected ? arena++ : monitor++;
		metrics_text_u64(t, la, 1, arena);
		metrics_text_u64(t, lm, 1, monitor);
	}
	gauge_u64(t, "memctl_workloads_hello",
		  "libarena processes that said HELLO and are not enrolled.", ec.hellos);
	counter_u64(t, "memctl_commands_sent_total",
		    "COMPRESS and RELAX commands sent, all enrollments, since start.",
		    ec.commands_sent);
	counter_u64(t, "memctl_acks_total", "Acks received, all enrollments, since start.",
		    ec.acks);
	counter_u64(t, "memctl_workload_replies_dropped_total",
		    "Replies on the workload socket not sent (a peer's budget spent, or no room).",
		    ec.replies_dropped);
	counter_u64(t, "memctl_workload_channel_dropped_total",
		    "Datagrams to enrolled workloads dropped: their channel was full.",
		    ec.channel_dropped);
	counter_u64(t, "memctl_datagrams_rejected_total",
		    "Malformed or hostile datagrams on the workload socket.",
		    m->counters.datagrams_rejected);
	counter_u64(t, "memctl_control_refused_total",
		    "Control connections refused (MaxConnections=, MaxConnectionsPerUser=).",
		    m->counters.control_refused);
	counter_u64(t, "memctl_control_idle_closed_total",
		    "Control connections closed after IdleTimeoutSec= without a request.",
		    m->counters.control_idle_closed);
	counter_u64(t, "memctl_control_paced_total",
		    "Times a user's control requests were held back (CPUQuotaPerUser=).",
		    m->counters.control_paced);
	counter_u64(t, "memctl_events_suppressed_total",
		    "Events the per-user rate limit kept out of the event log.",
		    m->eventlog.suppressed_total);

	if (m->planner) {
		const struct planner_counters *pc = planner_get_counters(m->planner);

		counter_u64(t, "memctl_planner_ticks_total", "Rounds of the control loop.",
			    pc->ticks);
		counter_u64(t, "memctl_planner_decisions_total",
			    "Commands the planner decided (sent, or logged in a dry run).",
			    pc->decisions);
		counter_u64(
			t, "memctl_planner_send_failures_total",
			"Decided commands not sent (channel full, workload gone, one in flight).",
			pc->send_failed);
		counter_u64(t, "memctl_planner_short_bytes_total",
			    "Bytes the planner needed freed that no enrolled member could give, "
			    "summed over rounds.",
			    pc->short_bytes);
	}

	metrics_text_family(t, "memctl_growth_episodes_total", METRICS_COUNTER,
			    "Growth episodes detected (GROWTH_DETECTED), by subject and pattern.");
	for (int s = 0; s < 2; s++)
		for (unsigned p = 0; p < IPC_GROWTH_PATTERN_MAX; p++) {
			struct metrics_label l[] = { LBL("subject", s ? "cgroup" : "process"),
						     LBL("pattern", growth_pattern_to_string(p)) };

			metrics_text_u64(t, l, 2, m->counters.growth_episodes[s][p]);
		}

	if (m->psi_valid) {
		struct metrics_label ls[] = { LBL("kind", "some") };
		struct metrics_label lf[] = { LBL("kind", "full") };

		metrics_text_family(t, "memctl_pressure_avg10_ratio", METRICS_GAUGE,
				    "System-wide memory pressure (/proc/pressure/memory), the "
				    "share of the last 10 s tasks stalled.");
		metrics_text_double(t, ls, 1, m->psi.some.avg10_permyriad / 10000.0);
		metrics_text_double(t, lf, 1, m->psi.full.avg10_permyriad / 10000.0);
		metrics_text_family(t, "memctl_pressure_stalled_seconds_total", METRICS_COUNTER,
				    "System-wide memory stall time (/proc/pressure/memory total).");
		metrics_text_double(t, ls, 1, usec_to_sec(m->psi.some.total_usec));
		metrics_text_double(t, lf, 1, usec_to_sec(m->psi.full.total_usec));
	}

	gauge_double(t, "memctl_metrics_render_seconds",
		     "Time the previous rendering of these metrics took.",
		     x ? x->render_seconds : 0);
	gauge_u64(t, "memctl_metrics_cgroups_omitted",
		  "Tracked cgroups left out of the last rendering (MaxCgroups=).",
		  x ? x->cgroups_omitted : 0);
	if (x && x->textfile[0]) {
		counter_u64(t, "memctl_metrics_textfile_writes_total",
			    "Times the textfile (Textfile=) was written.", x->textfile_writes);
		counter_u64(t, "memctl_metrics_textfile_errors_total",
			    "Times writing the textfile failed.", x->textfile_errors);
	}
	if (x && x->http) {
		const struct metrics_http_stats *hs = metrics_http_get_stats(x->http);
		static const char *const codes[] = { "200", "404", "405", "500" };

		metrics_text_family(t, "memctl_http_requests_total", METRICS_COUNTER,
				    "HTTP requests answered, by status code.");
		for (int i = 0; i < _METRICS_HTTP_CODE_MAX; i++) {
			struct metrics_label l[] = { LBL("code", codes[i]) };

			metrics_text_u64(t, l, 1, hs->requests[i]);
		}
		gauge_u64(t, "memctl_http_connections", "HTTP connections open now.",
			  hs->connections);
		gauge_u64(t, "memctl_http_connections_max", "HTTP connections allowed at once.",
			  hs->connections_max);
		counter_u64(t, "memctl_http_connections_total", "HTTP connections accepted.",
			    hs->connections_total);
	}
}

/* ---- cgroups ---- */

struct cgroup_sel {
	struct cgroup_entry **v;
	size_t n;
};

/* Those with a limit first (what alerts are about), then by usage. */
static int cgroup_priority_cmp(const void *a, const void *b)
{
	const struct cgroup_entry *x = *(struct cgroup_entry *const *)a;
	const struct cgroup_entry *y = *(struct cgroup_entry *const *)b;
	bool lx = x->mem.limit_bytes != CGROUP_LIMIT_MAX,
	     ly = y->mem.limit_bytes != CGROUP_LIMIT_MAX;

	if (lx != ly)
		return lx ? -1 : 1;
	if (x->mem.usage_bytes != y->mem.usage_bytes)
		return x->mem.usage_bytes > y->mem.usage_bytes ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* The cgroups rendered: every valid one, at most MaxCgroups= of them. */
static int cgroups_select(struct manager *m, struct metrics *x, struct cgroup_sel *ret)
{
	size_t n = 0, cap = cgroup_table_count(m->cgroups);
	struct cgroup_entry **v;

	*ret = (struct cgroup_sel){};
	if (x)
		x->cgroups_omitted = 0;
	if (cap == 0)
		return 0;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (struct cgroup_entry *c = cgroup_table_first(m->cgroups); c && n < cap; c = c->hh.next)
		if (c->valid && !c->gone)
			v[n++] = c;
	if (n > m->config.metrics_max_cgroups) {
		qsort(v, n, sizeof(*v), cgroup_priority_cmp);
		if (x)
			x->cgroups_omitted = (unsigned)(n - m->config.metrics_max_cgroups);
		n = m->config.metrics_max_cgroups;
	}
	*ret = (struct cgroup_sel){ .v = v, .n = n };
	return 0;
}

/* A value of one cgroup for one family: false when it has none (no limit,
 * no PSI on v1, ...), and then no sample is written. */
enum value_kind { V_NONE, V_U64, V_I64, V_DOUBLE };
struct value {
	enum value_kind kind;
	uint64_t u;
	int64_t i;
	double d;
};

typedef struct value (*cgroup_get_t)(struct manager *m, const struct cgroup_entry *c);

#define VU(x) ((struct value){ .kind = V_U64, .u = (x) })
#define VI(x) ((struct value){ .kind = V_I64, .i = (x) })
#define VD(x) ((struct value){ .kind = V_DOUBLE, .d = (x) })
#define VNONE ((struct value){ .kind = V_NONE })

static struct value cg_usage(struct manager *m, const struct cgroup_entry *c)
{
	return VU(c->mem.usage_bytes);
}

static struct value cg_limit(struct manager *m, const struct cgroup_entry *c)
{
	return c->mem.limit_bytes != CGROUP_LIMIT_MAX ? VU(c->mem.limit_bytes) : VNONE;
}

static struct value cg_soft(struct manager *m, const struct cgroup_entry *c)
{
	uint64_t v = c->mem.hierarchy == CGROUP_HIERARCHY_V1 ? c->mem.soft_limit_bytes :
							       c->mem.high_bytes;

	return v != CGROUP_LIMIT_MAX ? VU(v) : VNONE;
}

static struct value cg_kernel(struct manager *m, const struct cgroup_entry *c)
{
	return c->mem.present & CGROUP_MEM_HAS_KERNEL ? VU(c->mem.kernel_bytes) : VNONE;
}

static struct value cg_anon(struct manager *m, const struct cgroup_entry *c)
{
	return VU(c->mem.stat.anon_bytes);
}

static struct value cg_file(struct manager *m, const struct cgroup_entry *c)
{
	return VU(c->mem.stat.file_bytes);
}

static struct value cg_swap(struct manager *m, const struct cgroup_entry *c)
{
	return c->mem.stat.present & CGROUP_STAT_HAS_SWAP ? VU(c->mem.stat.swap_bytes) : VNONE;
}

static struct value cg_procs(struct manager *m, const struct cgroup_entry *c)
{
	return VU(c->nr_procs);
}

static struct value cg_hits(struct manager *m, const struct cgroup_entry *c)
{
	return VU(c->mem.hierarchy == CGROUP_HIERARCHY_V1 ? c->mem.failcnt : c->mem.events.max);
}

static struct value cg_ooms(struct manager *m, const struct cgroup_entry *c)
{
	uint64_t v;

	return cgroup_mem_oom_kills(&c->mem, &v) ? VU(v) : VNONE;
}

static struct value cg_reclaims(struct manager *m, const struct cgroup_entry *c)
{
	return VU(c->reclaims);
}

static struct value cg_stall(struct manager *m, const struct cgroup_entry *c)
{
	return VD((double)c->reclaim_stall_ns / (double)NSEC_PER_SEC);
}

static struct value cg_reclaimed(struct manager *m, const struct cgroup_entry *c)
{
	return VU(c->reclaimed_pages * (uint64_t)sysconf(_SC_PAGESIZE));
}

static struct value cg_rate(struct manager *m, const struct cgroup_entry *c)
{
	return VI(c->growth_now.rate_bytes_per_sec);
}

static struct value cg_confidence(struct manager *m, const struct cgroup_entry *c)
{
	return VD(c->growth_now.confidence_permyriad / 10000.0);
}

static struct value cg_detected(struct manager *m, const struct cgroup_entry *c)
{
	return VU(c->growth_now.detected);
}

static struct value cg_ttl(struct manager *m, const struct cgroup_entry *c)
{
	return c->time_to_limit_usec != UINT64_MAX ? VD(usec_to_sec(c->time_to_limit_usec)) : VNONE;
}

static const struct {
	const char *name;
	enum metrics_type type;
	const char *help;
	cgroup_get_t get;
} cgroup_families[] = {
	{ "memctl_cgroup_memory_usage_bytes", METRICS_GAUGE,
	  "Memory charged to the cgroup, kernel memory included (v1 memory.usage_in_bytes, "
	  "v2 memory.current).",
	  cg_usage },
	{ "memctl_cgroup_memory_limit_bytes", METRICS_GAUGE,
	  "The cgroup's hard limit (v1 memory.limit_in_bytes, v2 memory.max); absent when "
	  "there is none.",
	  cg_limit },
	{ "memctl_cgroup_memory_soft_limit_bytes", METRICS_GAUGE,
	  "v1 memory.soft_limit_in_bytes, v2 memory.high; absent when there is none.", cg_soft },
	{ "memctl_cgroup_memory_kernel_bytes", METRICS_GAUGE,
	  "Kernel memory charged to the cgroup (v1 memory.kmem.usage_in_bytes, v2 memory.stat "
	  "kernel).",
	  cg_kernel },
	{ "memctl_cgroup_memory_anon_bytes", METRICS_GAUGE, "Anonymous memory (memory.stat).",
	  cg_anon },
	{ "memctl_cgroup_memory_file_bytes", METRICS_GAUGE, "Page cache (memory.stat).", cg_file },
	{ "memctl_cgroup_memory_swap_bytes", METRICS_GAUGE,
	  "Swap used (v1 memory.stat with swap accounting).", cg_swap },
	{ "memctl_cgroup_processes", METRICS_GAUGE,
	  "Tracked processes in the cgroup; 0 for one kept for its limit or OOM kills.", cg_procs },
	{ "memctl_cgroup_limit_hits_total", METRICS_COUNTER,
	  "Times usage hit the limit (v1 memory.failcnt, v2 memory.events max).", cg_hits },
	{ "memctl_cgroup_oom_kills_total", METRICS_COUNTER,
	  "OOM kills in the cgroup (v1 memory.oom_control, v2 memory.events oom_kill).", cg_ooms },
	{ "memctl_cgroup_reclaims_total", METRICS_COUNTER,
	  "Memory cgroup reclaim runs (limit, high and v1 soft limit), from BPF vmscan.",
	  cg_reclaims },
	{ "memctl_cgroup_reclaim_stall_seconds_total", METRICS_COUNTER,
	  "Time the cgroup's tasks spent in those reclaims.", cg_stall },
	{ "memctl_cgroup_reclaimed_bytes_total", METRICS_COUNTER, "Memory those reclaims freed.",
	  cg_reclaimed },
	{ "memctl_cgroup_growth_rate_bytes_per_second", METRICS_GAUGE,
	  "Growth of the cgroup's usage (policy/growth), bytes per second; negative when it "
	  "shrinks.",
	  cg_rate },
	{ "memctl_cgroup_leak_confidence_ratio", METRICS_GAUGE,
	  "Leak confidence of the cgroup's usage series, 0 to 1.", cg_confidence },
	{ "memctl_cgroup_growth_detected", METRICS_GAUGE,
	  "1 while the cgroup is in a growth episode (between GROWTH_DETECTED and GROWTH_ENDED).",
	  cg_detected },
	{ "memctl_cgroup_time_to_limit_seconds", METRICS_GAUGE,
	  "At the growth rate, time until usage reaches the limit; absent when never (no "
	  "limit, no growth).",
	  cg_ttl },
};

static void write_value(struct metrics_text *t, const struct metrics_label *l, size_t n,
			struct value v)
{
	switch (v.kind) {
	case V_U64:
		metrics_text_u64(t, l, n, v.u);
		break;
	case V_I64:
		metrics_text_i64(t, l, n, v.i);
		break;
	case V_DOUBLE:
		metrics_text_double(t, l, n, v.d);
		break;
	case V_NONE:
		break;
	}
}

static void render_cgroups(struct manager *m, const struct cgroup_sel *sel, struct metrics_text *t)
{
	/* every family is written, with no samples where nothing has it (v1 has
	 * no PSI, this machine no resctrl): dashboards and rules see the same
	 * names everywhere */
	for (size_t f = 0; f < ELEMENTSOF(cgroup_families); f++) {
		metrics_text_family(t, cgroup_families[f].name, cgroup_families[f].type,
				    cgroup_families[f].help);
		for (size_t i = 0; i < sel->n; i++) {
			struct metrics_label l[] = { LBL("cgroup", sel->v[i]->path) };

			write_value(t, l, 1, cgroup_families[f].get(m, sel->v[i]));
		}
	}
	{
		metrics_text_family(t, "memctl_cgroup_pressure_avg10_ratio", METRICS_GAUGE,
				    "The cgroup's memory pressure (v2 memory.pressure), the share "
				    "of the last 10 s its tasks stalled.");
		for (size_t i = 0; i < sel->n; i++) {
			const struct cgroup_entry *c = sel->v[i];
			struct metrics_label ls[] = { LBL("cgroup", c->path), LBL("kind", "some") };
			struct metrics_label lf[] = { LBL("cgroup", c->path), LBL("kind", "full") };

			if (!(c->mem.present & CGROUP_MEM_HAS_PRESSURE))
				continue;
			metrics_text_double(t, ls, 2,
					    c->mem.pressure.some.avg10_permyriad / 10000.0);
			metrics_text_double(t, lf, 2,
					    c->mem.pressure.full.avg10_permyriad / 10000.0);
		}
		metrics_text_family(t, "memctl_cgroup_pressure_stalled_seconds_total",
				    METRICS_COUNTER,
				    "The cgroup's memory stall time (v2 memory.pressure total).");
		for (size_t i = 0; i < sel->n; i++) {
			const struct cgroup_entry *c = sel->v[i];
			struct metrics_label ls[] = { LBL("cgroup", c->path), LBL("kind", "some") };
			struct metrics_label lf[] = { LBL("cgroup", c->path), LBL("kind", "full") };

			if (!(c->mem.present & CGROUP_MEM_HAS_PRESSURE))
				continue;
			metrics_text_double(t, ls, 2, usec_to_sec(c->mem.pressure.some.total_usec));
			metrics_text_double(t, lf, 2, usec_to_sec(c->mem.pressure.full.total_usec));
		}
	}
	{
		metrics_text_family(t, "memctl_cgroup_memory_bandwidth_bytes_per_second",
				    METRICS_GAUGE,
				    "Memory bandwidth of the cgroup's tasks (resctrl mbm_*_bytes), "
				    "all L3 domains, by scope (total, local).");
		for (size_t i = 0; i < sel->n; i++) {
			const struct resctrl_unit *u =
				resctrl_table_find_cgroup(m->resctrl, sel->v[i]->id);
			struct metrics_label lt[] = { LBL("cgroup", sel->v[i]->path),
						      LBL("scope", "total") };
			struct metrics_label ll[] = { LBL("cgroup", sel->v[i]->path),
						      LBL("scope", "local") };

			if (!u || u->state != IPC_BW_MONITORED)
				continue;
			if (u->bw.valid & IPC_BW_VALID_TOTAL)
				metrics_text_u64(t, lt, 2, u->bw.mbm_total_bytes_per_sec);
			if (u->bw.valid & IPC_BW_VALID_LOCAL)
				metrics_text_u64(t, ll, 2, u->bw.mbm_local_bytes_per_sec);
		}
		metrics_text_family(t, "memctl_cgroup_llc_occupancy_bytes", METRICS_GAUGE,
				    "L3 cache the cgroup's tasks occupy (resctrl llc_occupancy).");
		for (size_t i = 0; i < sel->n; i++) {
			const struct resctrl_unit *u =
				resctrl_table_find_cgroup(m->resctrl, sel->v[i]->id);
			struct metrics_label l[] = { LBL("cgroup", sel->v[i]->path) };

			if (u && u->state == IPC_BW_MONITORED &&
			    (u->bw.valid & IPC_BW_VALID_OCCUPANCY))
				metrics_text_u64(t, l, 1, u->bw.llc_occupancy_bytes);
		}
	}
}

/* ---- processes: the enrolled and the top TopGrowing= growing ---- */

struct proc_sel {
	struct proc_entry **v;
	size_t n;
};

static int procs_select(struct manager *m, struct proc_sel *ret)
{
	uint32_t top = m->config.metrics_top_growing;
	size_t n_enrolled = enroll_table_count(m->enroll), n = 0, n_top = 0;
	struct proc_entry **v;

	*ret = (struct proc_sel){};
	v = calloc(top + n_enrolled + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	/* the top ones by growth rate, kept sorted in v[0..n_top): one pass and
	 * an insertion into at most TopGrowing= slots per growing process */
	if (top > 0)
		for (struct proc_entry *p = proc_table_first(m->procs); p; p = p->hh.next) {
			int64_t rate = p->growth_now.rate_bytes_per_sec;
			size_t k;

			if (rate <= 0 ||
			    (n_top == top && rate <= v[n_top - 1]->growth_now.rate_bytes_per_sec))
				continue;
			k = n_top < top ? n_top++ : n_top - 1;
			while (k > 0 && v[k - 1]->growth_now.rate_bytes_per_sec < rate) {
				v[k] = v[k - 1];
				k--;
			}
			v[k] = p;
		}
	n = n_top;
	for (const struct enrollment_info *e = enroll_table_next(m->enroll, NULL); e;
	     e = enroll_table_next(m->enroll, e)) {
		struct proc_entry *p = proc_table_get(m->procs, e->pid);
		bool dup = false;

		for (size_t k = 0; p && k < n_top && !dup; k++)
			dup = v[k] == p;
		if (p && !dup && n < top + n_enrolled)
			v[n++] = p;
	}
	*ret = (struct proc_sel){ .v = v, .n = n };
	return 0;
}

static const char *proc_cgroup_path(const struct proc_entry *p)
{
	return p && p->cgroup && !p->cgroup->gone ? p->cgroup->path : "";
}

static void render_procs(struct manager *m, const struct proc_sel *sel, struct metrics_text *t)
{
	static const struct {
		const char *name;
		const char *help;
	} fam[] = {
		{ "memctl_process_resident_bytes",
		  "Resident memory (anon + file + shmem) of an enrolled or top growing process." },
		{ "memctl_process_swap_bytes", "Swap used by the process." },
		{ "memctl_process_growth_rate_bytes_per_second",
		  "Growth of the process's RSS (policy/growth), bytes per second." },
		{ "memctl_process_leak_confidence_ratio",
		  "Leak confidence of the process's RSS series, 0 to 1." },
		{ "memctl_process_growth_detected", "1 while the process is in a growth episode." },
	};

	for (size_t f = 0; f < ELEMENTSOF(fam); f++) {
		metrics_text_family(t, fam[f].name, METRICS_GAUGE, fam[f].help);
		for (size_t i = 0; i < sel->n; i++) {
			const struct proc_entry *p = sel->v[i];
			char pid[16];
			struct metrics_label l[] = { LBL("pid", pid), LBL("name", p->comm),
						     LBL("cgroup", proc_cgroup_path(p)) };

			snprintf(pid, sizeof(pid), "%d", (int)p->pid);
			switch (f) {
			case 0:
				metrics_text_u64(t, l, 3,
						 p->rss_anon_bytes + p->rss_file_bytes +
							 p->rss_shmem_bytes);
				break;
			case 1:
				metrics_text_u64(t, l, 3, p->swap_bytes);
				break;
			case 2:
				metrics_text_i64(t, l, 3, p->growth_now.rate_bytes_per_sec);
				break;
			case 3:
				metrics_text_double(t, l, 3,
						    p->growth_now.confidence_permyriad / 10000.0);
				break;
			default:
				metrics_text_u64(t, l, 3, p->growth_now.detected);
				break;
			}
		}
	}
}

/* ---- profiled processes (`memctl profile`) ---- */

struct prof_sel {
	struct prof_row {
		struct ipc_ring_sample last;
		uint64_t profile_id;
		uint32_t hz;
	} v[PROFILER_MAX * IPC_PROFILE_PIDS_MAX];
	size_t n;
};

static void prof_collect(const struct ipc_ring_sample *last, uint64_t profile_id, uint32_t hz,
			 void *userdata)
{
	struct prof_sel *sel = userdata;

	if (sel->n < ELEMENTSOF(sel->v))
		sel->v[sel->n++] =
			(struct prof_row){ .last = *last, .profile_id = profile_id, .hz = hz };
}

/* Each profiled process as of its latest sample: a series per process and
 * profile, so at most PROFILER_MAX x IPC_PROFILE_PIDS_MAX (2,048) per family. */
static void render_profiles(struct manager *m, struct metrics_text *t)
{
	static const struct {
		const char *name;
		enum metrics_type type;
		const char *help;
	} fam[] = {
		{ "memctl_profiled_minor_faults_total", METRICS_COUNTER,
		  "Minor page faults of a profiled process (lifetime, /proc/PID/stat), at its "
		  "latest sample." },
		{ "memctl_profiled_major_faults_total", METRICS_COUNTER,
		  "Major page faults of a profiled process (lifetime), at its latest sample." },
		{ "memctl_profiled_cpu_utilization_ratio", METRICS_GAUGE,
		  "CPU time of a profiled process over its latest sample interval (1 = one CPU)." },
		{ "memctl_profiled_minor_faults_per_second", METRICS_GAUGE,
		  "Minor page faults per second over the latest sample interval." },
		{ "memctl_profiled_major_faults_per_second", METRICS_GAUGE,
		  "Major page faults per second over the latest sample interval." },
	};
	static struct prof_sel sel; /* 2,048 rows: off the stack; one thread renders */

	gauge_u64(t, "memctl_profiles_running", "Profiles memctld is sampling (memctl profile).",
		  profiler_count(m->profiler));
	sel.n = 0;
	profiler_visit(m->profiler, prof_collect, &sel);
	for (size_t f = 0; f < ELEMENTSOF(fam); f++) {
		metrics_text_family(t, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < sel.n; i++) {
			const struct ipc_ring_sample *s = &sel.v[i].last;
			double secs = (double)s->interval_nsec / (double)NSEC_PER_SEC;
			char pid[16], prof[24];
			struct metrics_label l[] = { LBL("pid", pid), LBL("profile", prof) };

			snprintf(pid, sizeof(pid), "%" PRIu32, s->pid);
			snprintf(prof, sizeof(prof), "%" PRIu64, sel.v[i].profile_id);
			switch (f) {
			case 0:
				metrics_text_u64(t, l, 2, s->minor_total);
				break;
			case 1:
				metrics_text_u64(t, l, 2, s->major_total);
				break;
			case 2:
				metrics_text_double(t, l, 2, s->util_permyriad / 10000.0);
				break;
			case 3:
				metrics_text_double(t, l, 2, secs > 0 ? s->minor_faults / secs : 0);
				break;
			default:
				metrics_text_double(t, l, 2, secs > 0 ? s->major_faults / secs : 0);
				break;
			}
		}
	}
}

/* ---- enrolled workloads ---- */

enum wl_value {
	WL_LOGICAL,
	WL_RESIDENT,
	WL_COMPRESSED,
	WL_COLD,
	WL_COMPRESSIBLE,
	WL_RATIO,
	WL_COMMANDS,
	WL_ACKS,
	WL_DROPPED,
	WL_TIMED_OUT,
	WL_FREED,
	WL_RESTORED,
	WL_READBACKS,
	WL_ERRORS,
	WL_COMPRESS_CPU,
	WL_DECOMPRESS_CPU,
	_WL_MAX,
};

static const struct {
	const char *name;
	enum metrics_type type;
	bool arena_only; /* figures libarena reports: absent for monitor-only enrollments */
	const char *help;
} wl_families[_WL_MAX] = {
	[WL_LOGICAL] = { "memctl_workload_logical_bytes", METRICS_GAUGE, true,
			 "Bytes the workload allocated in its arena." },
	[WL_RESIDENT] = { "memctl_workload_resident_bytes", METRICS_GAUGE, true,
			  "Bytes its arena holds resident: raw chunks and the compressed store." },
	[WL_COMPRESSED] = { "memctl_workload_compressed_bytes", METRICS_GAUGE, true,
			    "Bytes in its arena's compressed store." },
	[WL_COLD] = { "memctl_workload_cold_bytes", METRICS_GAUGE, true,
		      "Bytes of its arena classed cold." },
	[WL_COMPRESSIBLE] = { "memctl_workload_compressible_cold_bytes", METRICS_GAUGE, true,
			      "Cold raw bytes worth compressing: what it can still give." },
	[WL_RATIO] = { "memctl_workload_compression_ratio", METRICS_GAUGE, true,
		       "Logical over resident bytes (1 = nothing saved); absent while nothing "
		       "is resident." },
	[WL_COMMANDS] = { "memctl_workload_commands_total", METRICS_COUNTER, false,
			  "COMPRESS and RELAX commands sent to the workload." },
	[WL_ACKS] = { "memctl_workload_acks_total", METRICS_COUNTER, false,
		      "Acks the workload sent." },
	[WL_DROPPED] = { "memctl_workload_commands_dropped_total", METRICS_COUNTER, false,
			 "Commands dropped: its channel was full." },
	[WL_TIMED_OUT] = { "memctl_workload_commands_timed_out_total", METRICS_COUNTER, false,
			   "Commands with no ack within their deadline." },
	[WL_FREED] = { "memctl_workload_freed_bytes_total", METRICS_COUNTER, false,
		       "Bytes its COMPRESS acks say were freed." },
	[WL_RESTORED] = { "memctl_workload_restored_bytes_total", METRICS_COUNTER, false,
			  "Bytes its RELAX acks say were restored." },
	[WL_READBACKS] = { "memctl_workload_readbacks_total", METRICS_COUNTER, true,
			   "Demand decompressions in its arena." },
	[WL_ERRORS] = { "memctl_workload_arena_errors_total", METRICS_COUNTER, true,
			"Checksum mismatches and failed allocations its arena reported." },
	[WL_COMPRESS_CPU] = { "memctl_workload_compress_cpu_seconds_total", METRICS_COUNTER, true,
			      "CPU time its arena spent compressing." },
	[WL_DECOMPRESS_CPU] = { "memctl_workload_decompress_cpu_seconds_total", METRICS_COUNTER,
				true, "CPU time its arena spent decompressing." },
};

static struct value wl_get(const struct enrollment_info *e, enum wl_value w)
{
	const struct ipc_arena_stats *s = &e->stats;

	switch (w) {
	case WL_LOGICAL:
		return VU(s->logical_bytes);
	case WL_RESIDENT:
		return VU(s->resident_bytes);
	case WL_COMPRESSED:
		return VU(s->compressed_bytes);
	case WL_COLD:
		return VU(s->cold_bytes);
	case WL_COMPRESSIBLE:
		return VU(s->compressible_cold_bytes);
	case WL_RATIO:
		return s->resident_bytes ?
			       VD((double)s->logical_bytes / (double)s->resident_bytes) :
			       VNONE;
	case WL_COMMANDS:
		return VU(e->commands_sent);
	case WL_ACKS:
		return VU(e->acks);
	case WL_DROPPED:
		return VU(e->commands_dropped);
	case WL_TIMED_OUT:
		return VU(e->commands_timed_out);
	case WL_FREED:
		return VU(e->bytes_freed);
	case WL_RESTORED:
		return VU(e->bytes_restored);
	case WL_READBACKS:
		return VU(s->readbacks);
	case WL_ERRORS:
		return VU(s->errors);
	case WL_COMPRESS_CPU:
		return VD((double)s->compress_cpu_ns / (double)NSEC_PER_SEC);
	case WL_DECOMPRESS_CPU:
		return VD((double)s->decompress_cpu_ns / (double)NSEC_PER_SEC);
	case _WL_MAX:
		break;
	}
	return VNONE;
}

struct wl_labels {
	char pid[16];
	struct metrics_label l[4];
};

static void wl_labels_fill(struct manager *m, const struct enrollment_info *e, struct wl_labels *w)
{
	snprintf(w->pid, sizeof(w->pid), "%d", (int)e->pid);
	w->l[0] = (struct metrics_label)LBL("pid", w->pid);
	w->l[1] = (struct metrics_label)LBL("name", e->name);
	w->l[2] = (struct metrics_label)LBL("cgroup",
					    proc_cgroup_path(proc_table_get(m->procs, e->pid)));
	w->l[3] = (struct metrics_label)LBL("mode", e->connected ? "arena" : "monitor");
}

static void render_workloads(struct manager *m, struct metrics_text *t)
{
	double bounds[ENROLL_LATENCY_BUCKETS];

	metrics_text_family(t, "memctl_workload_info", METRICS_INFO,
			    "One per enrolled process, with its mode (arena, monitor); always 1.");
	for (const struct enrollment_info *e = enroll_table_next(m->enroll, NULL); e;
	     e = enroll_table_next(m->enroll, e)) {
		struct wl_labels w;

		wl_labels_fill(m, e, &w);
		metrics_text_u64(t, w.l, 4, 1);
	}
	for (int f = 0; f < _WL_MAX; f++) {
		metrics_text_family(t, wl_families[f].name, wl_families[f].type,
				    wl_families[f].help);
		for (const struct enrollment_info *e = enroll_table_next(m->enroll, NULL); e;
		     e = enroll_table_next(m->enroll, e)) {
			struct wl_labels w;

			if (wl_families[f].arena_only && !e->connected)
				continue;
			wl_labels_fill(m, e, &w);
			write_value(t, w.l, 3, wl_get(e, (enum wl_value)f));
		}
	}
	for (size_t i = 0; i < ENROLL_LATENCY_BUCKETS; i++)
		bounds[i] = usec_to_sec(enroll_latency_bounds_usec[i]);
	metrics_text_family(t, "memctl_workload_ack_latency_seconds", METRICS_HISTOGRAM,
			    "Time from a command to its ack, every ack since enrolling.");
	for (const struct enrollment_info *e = enroll_table_next(m->enroll, NULL); e;
	     e = enroll_table_next(m->enroll, e)) {
		struct wl_labels w;

		wl_labels_fill(m, e, &w);
		metrics_text_histogram(t, w.l, 3, bounds, e->latency_hist, ENROLL_LATENCY_BUCKETS,
				       usec_to_sec(e->latency_sum_usec));
	}
	metrics_text_family(t, "memctl_workload_memory_bandwidth_bytes_per_second", METRICS_GAUGE,
			    "Memory bandwidth of the workload's own monitoring group (resctrl), "
			    "by scope (total, local).");
	for (const struct enrollment_info *e = enroll_table_next(m->enroll, NULL); e;
	     e = enroll_table_next(m->enroll, e)) {
		const struct proc_entry *p = proc_table_get(m->procs, e->pid);
		const struct resctrl_unit *u =
			p ? resctrl_table_find_process(m->resctrl, p->pid, p->start_time_usec) :
			    NULL;
		struct wl_labels w;
		struct metrics_label l[4];

		if (!u || u->state != IPC_BW_MONITORED)
			continue;
		wl_labels_fill(m, e, &w);
		memcpy(l, w.l, 3 * sizeof(l[0]));
		if (u->bw.valid & IPC_BW_VALID_TOTAL) {
			l[3] = (struct metrics_label)LBL("scope", "total");
			metrics_text_u64(t, l, 4, u->bw.mbm_total_bytes_per_sec);
		}
		if (u->bw.valid & IPC_BW_VALID_LOCAL) {
			l[3] = (struct metrics_label)LBL("scope", "local");
			metrics_text_u64(t, l, 4, u->bw.mbm_local_bytes_per_sec);
		}
	}
}

/* ---- resctrl: the pool and the L3 domains ---- */

static void render_resctrl(struct manager *m, struct metrics_text *t)
{
	struct ipc_ctl_bandwidth_reply r = {};
	bool on = resctrl_table_on(m->resctrl);

	gauge_u64(t, "memctl_resctrl_on", "1 when memctld monitors memory bandwidth (resctrl).",
		  on);
	if (on)
		resctrl_table_fill_reply(m->resctrl, now_usec(CLOCK_MONOTONIC), &r);
	metrics_text_family(t, "memctl_resctrl_rmids", METRICS_GAUGE,
			    "RMIDs memctld may hold, holds, and has in quarantine.");
	if (on) {
		struct metrics_label l[][1] = { { LBL("state", "capacity") },
						{ LBL("state", "in_use") },
						{ LBL("state", "quarantined") } };

		metrics_text_u64(t, l[0], 1, r.capacity);
		metrics_text_u64(t, l[1], 1, r.in_use);
		metrics_text_u64(t, l[2], 1, r.quarantined);
	}
	metrics_text_family(t, "memctl_resctrl_units_unmonitored", METRICS_GAUGE,
			    "Units (workloads, cgroups) left without an RMID.");
	if (on)
		metrics_text_u64(t, NULL, 0, r.unmonitored);
	metrics_text_family(
		t, "memctl_l3_memory_bandwidth_bytes_per_second", METRICS_GAUGE,
		"Memory bandwidth of each L3 domain's default control group, by scope.");
	for (uint32_t i = 0; i < MIN(r.n_domains, (uint32_t)IPC_BW_DOMAINS_MAX); i++) {
		char id[16];
		struct metrics_label lt[] = { LBL("domain", id), LBL("scope", "total") };
		struct metrics_label ll[] = { LBL("domain", id), LBL("scope", "local") };

		snprintf(id, sizeof(id), "%u", r.domains[i].id);
		if (r.domains[i].valid & IPC_BW_VALID_TOTAL)
			metrics_text_u64(t, lt, 2, r.domains[i].mbm_total_bytes_per_sec);
		if (r.domains[i].valid & IPC_BW_VALID_LOCAL)
			metrics_text_u64(t, ll, 2, r.domains[i].mbm_local_bytes_per_sec);
	}
	metrics_text_family(t, "memctl_l3_llc_occupancy_bytes", METRICS_GAUGE,
			    "L3 cache occupied in each domain's default control group.");
	for (uint32_t i = 0; i < MIN(r.n_domains, (uint32_t)IPC_BW_DOMAINS_MAX); i++) {
		char id[16];
		struct metrics_label l[] = { LBL("domain", id) };

		snprintf(id, sizeof(id), "%u", r.domains[i].id);
		if (r.domains[i].valid & IPC_BW_VALID_OCCUPANCY)
			metrics_text_u64(t, l, 1, r.domains[i].llc_occupancy_bytes);
	}
}

int metrics_render(struct manager *m, struct metrics *x, struct metrics_text *t)
{
	struct cgroup_sel cs = {};
	struct proc_sel ps = {};
	int r;

	r = cgroups_select(m, x, &cs);
	if (r >= 0)
		r = procs_select(m, &ps);
	if (r < 0) {
		free(cs.v);
		t->error = t->error ?: r;
		return r;
	}
	render_daemon(m, x, t);
	render_process(m, t);
	render_cgroups(m, &cs, t);
	render_procs(m, &ps, t);
	render_profiles(m, t);
	render_workloads(m, t);
	render_resctrl(m, t);
	free(cs.v);
	free(ps.v);
	return metrics_text_finish(t);
}

/* ---- the cache ---- */

static int render_blob(struct metrics *x, enum metrics_format f, struct metrics_blob **ret)
{
	uint64_t t0 = clock_nsec(CLOCK_THREAD_CPUTIME_ID);
	struct metrics_text t;
	struct metrics_blob *b;
	int r;

	metrics_text_init(&t, f, METRICS_MAX_BYTES);
	r = metrics_render(x->m, x, &t);
	if (r < 0) {
		metrics_text_done(&t);
		return r;
	}
	b = malloc(sizeof(*b) + t.len + 1);
	if (!b) {
		metrics_text_done(&t);
		return -ENOMEM;
	}
	*b = (struct metrics_blob){
		.refs = 1, .serial = ++x->next_serial, .format = f, .len = t.len
	};
	memcpy(b->data, t.buf, t.len + 1);
	metrics_text_done(&t);
	x->renders++;
	x->render_seconds =
		(double)(clock_nsec(CLOCK_THREAD_CPUTIME_ID) - t0) / (double)NSEC_PER_SEC;
	*ret = b;
	return 0;
}

int metrics_get(struct metrics *x, enum metrics_format f, struct metrics_blob **ret)
{
	int r;

	if ((unsigned)f >= _METRICS_FORMAT_MAX)
		return -EINVAL;
	if (!x->cache[f]) {
		r = render_blob(x, f, &x->cache[f]);
		if (r < 0)
			return r;
	}
	*ret = x->cache[f];
	return 0;
}

struct metrics_blob *metrics_get_serial(struct metrics *x, enum metrics_format f, uint64_t serial)
{
	if ((unsigned)f >= _METRICS_FORMAT_MAX || !x->cache[f] || x->cache[f]->serial != serial)
		return NULL;
	return x->cache[f];
}

static void cache_drop(struct metrics *x)
{
	for (int f = 0; f < _METRICS_FORMAT_MAX; f++) {
		metrics_blob_unref(x->cache[f]);
		x->cache[f] = NULL;
	}
}

/* ---- the textfile ---- */

static void textfile_close(struct metrics *x)
{
	if (x->textfile_dirfd >= 0)
		close(x->textfile_dirfd);
	x->textfile_dirfd = -1;
}

/* Hold the textfile's directory open: every write goes through this fd, so
 * the path is looked up once, as root configured it. */
static int textfile_open(struct metrics *x)
{
	char dir[sizeof(x->textfile)];
	char *slash;

	textfile_close(x);
	snprintf(x->textfile, sizeof(x->textfile), "%s", x->m->config.metrics_textfile);
	x->textfile_failing = false;
	if (!x->textfile[0])
		return 0;
	snprintf(dir, sizeof(dir), "%s", x->textfile);
	slash = strrchr(dir, '/');
	*slash = '\0';
	x->textfile_name = x->textfile + (slash - dir) + 1;
	x->textfile_dirfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x->textfile_dirfd < 0) {
		int r = negative_errno();

		log_warning_errno(r, "Cannot open the directory of Textfile=%s: %m; not writing it",
				  x->textfile);
		event_failed(x->m, r, "textfile directory");
		x->textfile_failing = true;
		return r;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * Write NAME.tmp next to it and rename it over NAME: node_exporter reads
 * either the old file or the new one, never half of one, and only *.prom
 * files, so it never reads the temporary. O_EXCL|O_NOFOLLOW through the
 * directory's fd: whoever else may write in that directory cannot make us
 * write anywhere else (a planted link or file is removed and the write
 * retried once). No fsync: a crash loses a second of metrics, not the file.
 */
static int textfile_write(struct metrics *x, const struct metrics_blob *b)
{
	char tmp[sizeof(x->textfile) + 8];
	_cleanup_close_ int fd = -1;
	int r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", x->textfile_name);
	for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
		fd = openat(x->textfile_dirfd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd < 0 && errno == EEXIST && attempt == 0)
			(void)unlinkat(x->textfile_dirfd, tmp, 0);
		else if (fd < 0)
			return negative_errno();
	}
	if (fd < 0)
		return -EEXIST;
	/* the umask must not make it unreadable for node_exporter */
	(void)fchmod(fd, 0644);
	r = write_all(fd, b->data, b->len);
	if (r >= 0 && renameat(x->textfile_dirfd, tmp, x->textfile_dirfd, x->textfile_name) < 0)
		r = negative_errno();
	if (r < 0)
		(void)unlinkat(x->textfile_dirfd, tmp, 0);
	return r;
}

static void textfile_tick(struct metrics *x)
{
	struct metrics_blob *b;
	int r;

	if (!x->textfile[0] || x->textfile_dirfd < 0)
		return;
	r = metrics_get(x, METRICS_FORMAT_TEXT, &b);
	if (r >= 0)
		r = textfile_write(x, b);
	if (r < 0) {
		x->textfile_errors++;
		if (!x->textfile_failing) {
			log_warning_errno(r, "Cannot write Textfile=%s: %m; retrying each tick",
					  x->textfile);
			event_failed(x->m, r, "textfile");
		}
		x->textfile_failing = true;
		return;
	}
	if (x->textfile_failing)
		log_info("Writing Textfile=%s again", x->textfile);
	x->textfile_failing = false;
	x->textfile_writes++;
}

/* ---- setup ---- */

/* The listening socket for Listen=: memctld's own, outside systemd. Under the
 * shipped unit RestrictAddressFamilies=AF_UNIX refuses this socket() (the
 * unit gets its socket from memctld-metrics.socket instead). */
static int listen_socket(const char *listen_on)
{
	struct sockaddr_storage ss;
	_cleanup_close_ int fd = -1;
	unsigned len;
	int one = 1;

	if (config_parse_listen(listen_on, &ss, &len) < 0)
		return -EINVAL;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return negative_errno();
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return negative_errno();
	if (listen(fd, 64) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

int metrics_new(struct manager *m, int http_fd, struct metrics **ret)
{
	struct metrics *x = calloc(1, sizeof(*x));
	int r;

	if (!x) {
		if (http_fd >= 0)
			close(http_fd);
		return -ENOMEM;
	}
	x->m = m;
	x->textfile_dirfd = -1;
	snprintf(x->listen, sizeof(x->listen), "%s", m->config.metrics_listen);
	x->listen_from_systemd = http_fd >= 0;
	x->max_connections = m->config.metrics_max_connections;
	x->timeout_usec = m->config.metrics_timeout_usec;
	if (http_fd < 0 && x->listen[0]) {
		http_fd = listen_socket(x->listen);
		if (http_fd < 0) {
			if (http_fd == -EAFNOSUPPORT || http_fd == -EPERM)
				log_error_errno(http_fd,
						"Cannot listen on [Metrics] Listen=%s: %m (the "
						"unit's RestrictAddressFamilies=AF_UNIX? use "
						"memctld-metrics.socket); no HTTP metrics",
						x->listen);
			else
				log_error_errno(http_fd,
						"Cannot listen on [Metrics] Listen=%s: %m; no HTTP "
						"metrics",
						x->listen);
			event_failed(m, http_fd, "listen");
		}
	}
	if (http_fd >= 0) {
		r = metrics_http_new(m->event, http_fd, x->max_connections,
				     (unsigned)(m->config.metrics_timeout_usec / USEC_PER_SEC), x,
				     &x->http);
		if (r < 0) {
			log_error_errno(r, "Cannot serve HTTP metrics: %m; no HTTP metrics");
			event_failed(m, r, "HTTP server");
		} else {
			log_info("Serving metrics over HTTP on %s%s",
				 x->listen_from_systemd ? "the socket from systemd" : x->listen,
				 "/metrics");
		}
	}
	(void)textfile_open(x);
	if (x->textfile[0] && x->textfile_dirfd >= 0)
		log_info("Writing metrics to %s each tick", x->textfile);
	*ret = x;
	return 0;
}

struct metrics *metrics_free(struct metrics *x)
{
	if (!x)
		return NULL;
	x->http = metrics_http_free(x->http);
	cache_drop(x);
	textfile_close(x);
	free(x);
	return NULL;
}

void metrics_tick(struct metrics *x)
{
	if (!x)
		return;
	cache_drop(x);
	textfile_tick(x);
}

void metrics_reload(struct metrics *x)
{
	const struct memctld_config *c;

	if (!x)
		return;
	c = &x->m->config;
	if (!x->listen_from_systemd && strcmp(c->metrics_listen, x->listen) != 0)
		log_warning("[Metrics] Listen= changes take effect at the next restart");
	if (c->metrics_max_connections != x->max_connections ||
	    c->metrics_timeout_usec != x->timeout_usec)
		log_warning("[Metrics] MaxConnections= and TimeoutSec= changes take effect at the "
			    "next restart");
	if (strcmp(c->metrics_textfile, x->textfile) != 0) {
		(void)textfile_open(x);
		if (x->textfile[0] && x->textfile_dirfd >= 0)
			log_info("Writing metrics to %s each tick", x->textfile);
	}
	cache_drop(x);
}
