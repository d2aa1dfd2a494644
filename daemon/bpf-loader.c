// SPDX-License-Identifier: MIT
/* daemon/bpf-loader.c: feature probes decide what loads (never kernel versions);
 * open -> set rodata and map sizes -> load -> attach, one function per program. */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/time-util.h"
#include "daemon/bpf-loader.h"
#include "daemon/config.h"
#include "daemon/log.h"
#include "faults.skel.h"
#include "lifecycle.skel.h"
#include "oom.skel.h"
#include "rss.skel.h"
#include "vmscan.skel.h"

struct bpf_prog_state {
	const char *name;
	bool loaded;
	bool detached; /* loaded, switched off by a reload */
	bool off_by_default; /* off, and the file did not mention it */
	char reason[96]; /* why not loaded, or which parts are off */
};

struct bpf_loader {
	sd_event *event;
	struct bpf_loader_callbacks cb;
	void *userdata;
	struct btf *vmlinux;
	struct ring_buffer *rb;
	sd_event_source *rb_source;
	int ncpus;
	struct lifecycle_bpf *lifecycle;
	struct rss_bpf *rss;
	struct vmscan_bpf *vmscan;
	struct faults_bpf *faults;
	struct oom_bpf *oom;
	struct bpf_map *stats_map[_BPF_PROG_MAX];
	struct bpf_prog_state progs[_BPF_PROG_MAX];
};

static const char *const prog_names[_BPF_PROG_MAX] = {
	[BPF_PROG_LIFECYCLE] = "lifecycle", [BPF_PROG_RSS] = "rss", [BPF_PROG_RECLAIM] = "reclaim",
	[BPF_PROG_FAULTS] = "faults",	    [BPF_PROG_OOM] = "oom",
};

const char *bpf_loader_prog_name(enum bpf_prog_id id)
{
	return (unsigned)id < _BPF_PROG_MAX ? prog_names[id] : NULL;
}

_printf_(2, 0) static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	if (log_get_max_level() < LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	log_debug("libbpf: %s", buf);
	return 0;
}

/* MEMCTLD_TEST_MISSING_TRACEPOINTS="a,b": pretend these tracepoints do not
 * exist, so tests can check the "missing tracepoint" path on a kernel that has
 * them all. Documented in memctld(8). */
static bool pretend_missing(const char *tp)
{
	const char *list = getenv("MEMCTLD_TEST_MISSING_TRACEPOINTS");
	size_t n = strlen(tp);

	for (const char *p = list; p && *p;) {
		const char *end = strchrnul(p, ',');

		if ((size_t)(end - p) == n && strncmp(p, tp, n) == 0)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* tp_btf programs attach to a raw tracepoint described in vmlinux BTF by the
 * typedef btf_trace_<name>; its presence is the feature probe. */
static bool tracepoint_exists(struct bpf_loader *l, const char *tp)
{
	char name[128];

	if (pretend_missing(tp) || !l->vmlinux)
		return false;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf__find_by_name_kind(l->vmlinux, name, BTF_KIND_TYPEDEF) >= 0;
}

/* Whether argument i (after the tracepoint's own void *) of a tp_btf
 * tracepoint is a pointer to struct type: how a program tells a signature
 * it was written for from an older one (oom:mark_victim took a pid until
 * Linux 6.8). */
static bool tracepoint_arg_is_struct_ptr(struct bpf_loader *l, const char *tp, unsigned i,
					 const char *type)
{
	const struct btf_type *t;
	const struct btf_param *params;
	char name[128];
	int id;

	if (!l->vmlinux)
		return false;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(l->vmlinux, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		return false;
	/* typedef -> pointer -> function prototype */
	t = btf__type_by_id(l->vmlinux, btf__resolve_type(l->vmlinux, (__u32)id));
	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(l->vmlinux, btf__resolve_type(l->vmlinux, t->type));
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < i + 2)
		return false;
	params = btf_params(t);
	t = btf__type_by_id(l->vmlinux, btf__resolve_type(l->vmlinux, params[i + 1].type));
	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(l->vmlinux, btf__resolve_type(l->vmlinux, t->type));
	return t && btf_is_struct(t) &&
	       strcmp(btf__name_by_offset(l->vmlinux, t->name_off), type) == 0;
}

_printf_(3, 4) static void prog_off(struct bpf_loader *l, enum bpf_prog_id id, const char *fmt, ...)
{
	struct bpf_prog_state *p = &l->progs[id];
	va_list ap;

	p->loaded = false;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	log_warning("BPF program %s not loaded: %s; carrying on without it", p->name, p->reason);
}

struct tp_prog {
	const char *tp;
	struct bpf_program *prog;
	bool required; /* the program is useless without this one */
};

/*
 * Turn off the programs whose tracepoints are missing. Returns true if the
 * object should still load; fills missing with a comma-separated list.
 */
static bool probe_tracepoints(struct bpf_loader *l, enum bpf_prog_id id, struct tp_prog *tps,
			      size_t n, char *missing, size_t size)
{
	bool required_missing = false;
	unsigned n_on = 0;

	missing[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (tracepoint_exists(l, tps[i].tp)) {
			n_on++;
			continue;
		}
		bpf_program__set_autoload(tps[i].prog, false);
		required_missing |= tps[i].required;
		snprintf(missing + strlen(missing), size - strlen(missing), "%s%s",
			 missing[0] ? "," : "", tps[i].tp);
	}
	if (n_on == 0 || required_missing) {
		prog_off(l, id, "tracepoint%s missing: %s", strchr(missing, ',') ? "s" : "",
			 missing);
		return false;
	}
	return true;
}

/* After load+attach: record the outcome; r < 0 turns the program off. */
static bool prog_loaded(struct bpf_loader *l, enum bpf_prog_id id, int r, const char *missing,
			struct bpf_map *stats)
{
	struct bpf_prog_state *p = &l->progs[id];

	if (r < 0) {
		prog_off(l, id, "load/attach failed: %s", strerror(-r));
		return false;
	}
	p->loaded = true;
	l->stats_map[id] = stats;
	if (missing[0]) {
		/* the reason is a summary; the warning below has the whole list */
		snprintf(p->reason, sizeof(p->reason), "partial: missing %.*s",
			 (int)sizeof(p->reason) - 20, missing);
		log_warning("BPF program %s: tracepoint(s) %s missing, those events are off",
			    p->name, missing);
	}
	return true;
}

/* Off by the configuration: "off (default)" when that is the built-in value
 * and the file never set it (there may be no file at all), else the file's. */
static bool disabled(struct bpf_loader *l, enum bpf_prog_id id, const struct memctld_config *c,
		     size_t field_offset)
{
	if (*(const bool *)((const char *)c + field_offset))
		return false;
	l->progs[id].off_by_default = !config_key_set(c, field_offset);
	snprintf(l->progs[id].reason, sizeof(l->progs[id].reason), "%s",
		 l->progs[id].off_by_default ? "default" : "disabled in config");
	return true;
}

static int on_lifecycle_record(void *ctx, void *data, size_t size)
{
	struct bpf_loader *l = ctx;

	if (size >= sizeof(struct ev_lifecycle) && l->cb.lifecycle)
		l->cb.lifecycle(l->userdata, data);
	return 0;
}

static int on_rss_record(void *ctx, void *data, size_t size)
{
	struct bpf_loader *l = ctx;

	if (size >= sizeof(struct ev_rss) && l->cb.rss)
		l->cb.rss(l->userdata, data);
	return 0;
}

static int on_oom_record(void *ctx, void *data, size_t size)
{
	struct bpf_loader *l = ctx;

	if (size >= sizeof(struct ev_oom) && l->cb.oom)
		l->cb.oom(l->userdata, data);
	return 0;
}

static int ringbuf_add(struct bpf_loader *l, struct bpf_map *map, ring_buffer_sample_fn fn)
{
	if (!l->rb) {
		l->rb = ring_buffer__new(bpf_map__fd(map), fn, l, NULL);
		return l->rb ? 0 : negative_errno();
	}
	return ring_buffer__add(l->rb, bpf_map__fd(map), fn, l) < 0 ? negative_errno() : 0;
}

static void lifecycle_load(struct bpf_loader *l, const struct memctld_config *c)
{
	struct lifecycle_bpf *skel;
	char missing[320];
	int r;

	if (disabled(l, BPF_PROG_LIFECYCLE, c, offsetof(struct memctld_config, bpf_lifecycle)))
		return;
	skel = lifecycle_bpf__open();
	if (!skel)
		return prog_off(l, BPF_PROG_LIFECYCLE, "open failed: %s", strerror(errno));
	struct tp_prog tps[] = {
		{ "sched_process_exec", skel->progs.lifecycle_exec, false },
		{ "sched_process_fork", skel->progs.lifecycle_fork, false },
		{ "sched_process_exit", skel->progs.lifecycle_exit, false },
		{ "cgroup_attach_task", skel->progs.lifecycle_cgroup, false },
	};
	if (!probe_tracepoints(l, BPF_PROG_LIFECYCLE, tps, ELEMENTSOF(tps), missing,
			       sizeof(missing))) {
		lifecycle_bpf__destroy(skel);
		return;
	}
	skel->rodata->wakeup_bytes = c->ringbuf_bytes / 4;
	r = bpf_map__set_max_entries(skel->maps.events, (uint32_t)c->ringbuf_bytes);
	if (r >= 0)
		r = lifecycle_bpf__load(skel);
	if (r >= 0)
		r = lifecycle_bpf__attach(skel);
	if (r >= 0)
		r = ringbuf_add(l, skel->maps.events, on_lifecycle_record);
	if (!prog_loaded(l, BPF_PROG_LIFECYCLE, r, missing, skel->maps.stats))
		lifecycle_bpf__destroy(skel);
	else
		l->lifecycle = skel;
}

static void rss_load(struct bpf_loader *l, const struct memctld_config *c)
{
	struct rss_bpf *skel;
	char missing[320];
	int r;

	if (disabled(l, BPF_PROG_RSS, c, offsetof(struct memctld_config, bpf_rss)))
		return;
	skel = rss_bpf__open();
	if (!skel)
		return prog_off(l, BPF_PROG_RSS, "open failed: %s", strerror(errno));
	struct tp_prog tps[] = {
		{ "rss_stat", skel->progs.rss_stat, true },
		/* without it, per-mm state is freed by the teardown check instead */
		{ "sched_process_exit", skel->progs.rss_process_exit, false },
	};
	if (!probe_tracepoints(l, BPF_PROG_RSS, tps, ELEMENTSOF(tps), missing, sizeof(missing))) {
		rss_bpf__destroy(skel);
		return;
	}
	skel->rodata->rss_threshold_bytes = c->rss_threshold_bytes;
	skel->rodata->rss_interval_ns = c->rss_interval_usec * NSEC_PER_USEC;
	skel->rodata->page_shift = (uint32_t)__builtin_ctzl((unsigned long)sysconf(_SC_PAGESIZE));
	skel->rodata->wakeup_bytes = c->ringbuf_bytes / 4;
	r = bpf_map__set_max_entries(skel->maps.events, (uint32_t)c->ringbuf_bytes);
	if (r >= 0)
		r = rss_bpf__load(skel);
	if (r >= 0)
		r = rss_bpf__attach(skel);
	if (r >= 0)
		r = ringbuf_add(l, skel->maps.events, on_rss_record);
	if (!prog_loaded(l, BPF_PROG_RSS, r, missing, skel->maps.stats))
		rss_bpf__destroy(skel);
	else
		l->rss = skel;
}

static void vmscan_load(struct bpf_loader *l, const struct memctld_config *c)
{
	struct vmscan_bpf *skel;
	char missing[320];
	int r;

	if (disabled(l, BPF_PROG_RECLAIM, c, offsetof(struct memctld_config, bpf_reclaim)))
		return;
	skel = vmscan_bpf__open();
	if (!skel)
		return prog_off(l, BPF_PROG_RECLAIM, "open failed: %s", strerror(errno));
	struct tp_prog tps[] = {
		{ "mm_vmscan_kswapd_wake", skel->progs.kswapd_wake, false },
		{ "mm_vmscan_kswapd_sleep", skel->progs.kswapd_sleep, false },
		{ "mm_vmscan_direct_reclaim_begin", skel->progs.direct_reclaim_begin, false },
		{ "mm_vmscan_direct_reclaim_end", skel->progs.direct_reclaim_end, false },
		{ "mm_vmscan_memcg_reclaim_begin", skel->progs.memcg_reclaim_begin, false },
		{ "mm_vmscan_memcg_reclaim_end", skel->progs.memcg_reclaim_end, false },
		{ "mm_vmscan_memcg_softlimit_reclaim_begin", skel->progs.softlimit_reclaim_begin,
		  false },
		{ "mm_vmscan_memcg_softlimit_reclaim_end", skel->progs.softlimit_reclaim_end,
		  false },
		{ "mm_vmscan_write_folio", skel->progs.write_folio, false },
	};

	if (!probe_tracepoints(l, BPF_PROG_RECLAIM, tps, ELEMENTSOF(tps), missing,
			       sizeof(missing))) {
		vmscan_bpf__destroy(skel);
		return;
	}
	r = vmscan_bpf__load(skel);
	if (r >= 0)
		r = vmscan_bpf__attach(skel);
	if (!prog_loaded(l, BPF_PROG_RECLAIM, r, missing, skel->maps.stats))
		vmscan_bpf__destroy(skel);
	else
		l->vmscan = skel;
}

static void faults_load(struct bpf_loader *l, const struct memctld_config *c)
{
	struct faults_bpf *skel;
	char missing[320];
	int r;

	if (disabled(l, BPF_PROG_FAULTS, c, offsetof(struct memctld_config, bpf_faults)))
		return;
	skel = faults_bpf__open();
	if (!skel)
		return prog_off(l, BPF_PROG_FAULTS, "open failed: %s", strerror(errno));
	struct tp_prog tps[] = {
		{ "page_fault_user", skel->progs.page_fault_user, true },
	};
	if (!probe_tracepoints(l, BPF_PROG_FAULTS, tps, ELEMENTSOF(tps), missing,
			       sizeof(missing))) {
		faults_bpf__destroy(skel);
		return;
	}
	r = faults_bpf__load(skel);
	if (r >= 0)
		r = faults_bpf__attach(skel);
	if (!prog_loaded(l, BPF_PROG_FAULTS, r, missing, skel->maps.stats))
		faults_bpf__destroy(skel);
	else
		l->faults = skel;
}

/* No config switch: it runs once per OOM kill, costs nothing otherwise, and
 * an OOM kill nobody reports is what issue 9 found. */
static void oom_load(struct bpf_loader *l, const struct memctld_config *c)
{
	struct oom_bpf *skel;
	char missing[320];
	int r;

	skel = oom_bpf__open();
	if (!skel)
		return prog_off(l, BPF_PROG_OOM, "open failed: %s", strerror(errno));
	struct tp_prog tps[] = {
		{ "mark_victim", skel->progs.oom_mark_victim, true },
	};
	if (!probe_tracepoints(l, BPF_PROG_OOM, tps, ELEMENTSOF(tps), missing, sizeof(missing))) {
		oom_bpf__destroy(skel);
		return;
	}
	if (!tracepoint_arg_is_struct_ptr(l, "mark_victim", 0, "task_struct")) {
		oom_bpf__destroy(skel);
		return prog_off(l, BPF_PROG_OOM,
				"tracepoint mark_victim passes no task (kernel before 6.8)");
	}
	r = oom_bpf__load(skel);
	if (r >= 0)
		r = oom_bpf__attach(skel);
	if (r >= 0)
		r = ringbuf_add(l, skel->maps.oom_events, on_oom_record);
	if (!prog_loaded(l, BPF_PROG_OOM, r, missing, skel->maps.stats))
		oom_bpf__destroy(skel);
	else
		l->oom = skel;
}

static int on_ringbuf_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct bpf_loader *l = userdata;
	int r;

	r = ring_buffer__consume(l->rb);
	if (r < 0)
		log_ratelimit_warning_errno(r, "Failed to consume BPF ring buffer: %m, ignoring");
	return 0;
}

void bpf_loader_drain(struct bpf_loader *l)
{
	if (l && l->rb)
		ring_buffer__consume(l->rb);
}

int bpf_loader_new(const struct memctld_config *config, sd_event *event,
		   const struct bpf_loader_callbacks *cb, void *userdata, struct bpf_loader **ret)
{
	struct bpf_loader *l;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->event = sd_event_ref(event);
	l->cb = *cb;
	l->userdata = userdata;
	l->ncpus = libbpf_num_possible_cpus();
	for (size_t i = 0; i < _BPF_PROG_MAX; i++)
		l->progs[i].name = prog_names[i];

	libbpf_set_print(libbpf_print);
	l->vmlinux = btf__load_vmlinux_btf();
	if (!l->vmlinux)
		log_warning_errno(
			negative_errno(),
			"Kernel BTF not readable (/sys/kernel/btf/vmlinux): %m; "
			"no BPF program can load, carrying on with /proc and cgroup files only");

	lifecycle_load(l, config);
	rss_load(l, config);
	vmscan_load(l, config);
	faults_load(l, config);
	oom_load(l, config);
	/* probing is done: vmlinux BTF is several MiB of heap we no longer need */
	btf__free(l->vmlinux);
	l->vmlinux = NULL;

	if (l->rb) {
		r = sd_event_add_io(event, &l->rb_source, ring_buffer__epoll_fd(l->rb), EPOLLIN,
				    on_ringbuf_ready, l);
		if (r < 0) {
			bpf_loader_free(l);
			return log_error_errno(r, "Failed to watch the BPF ring buffer: %m");
		}
		sd_event_source_set_description(l->rb_source, "bpf-ringbuf");
		/* before anything clients drive: records cannot wait (manager.h,
		 * MANAGER_PRIORITY_KERNEL) */
		sd_event_source_set_priority(l->rb_source, SD_EVENT_PRIORITY_IMPORTANT);
	}
	*ret = l;
	return 0;
}

struct bpf_loader *bpf_loader_free(struct bpf_loader *l)
{
	if (!l)
		return NULL;
	sd_event_source_disable_unref(l->rb_source);
	ring_buffer__free(l->rb);
	lifecycle_bpf__destroy(l->lifecycle);
	rss_bpf__destroy(l->rss);
	vmscan_bpf__destroy(l->vmscan);
	faults_bpf__destroy(l->faults);
	oom_bpf__destroy(l->oom);
	btf__free(l->vmlinux);
	sd_event_unref(l->event);
	free(l);
	return NULL;
}

uint32_t bpf_loader_loaded_mask(const struct bpf_loader *l)
{
	uint32_t m = 0;

	for (size_t i = 0; i < _BPF_PROG_MAX; i++)
		if (l->progs[i].loaded && !l->progs[i].detached)
			m |= 1U << i;
	return m;
}

/* The skeleton of a loaded program's object */
static struct bpf_object_skeleton *prog_skeleton(const struct bpf_loader *l, enum bpf_prog_id id)
{
	switch (id) {
	case BPF_PROG_LIFECYCLE:
		return l->lifecycle ? l->lifecycle->skeleton : NULL;
	case BPF_PROG_RSS:
		return l->rss ? l->rss->skeleton : NULL;
	case BPF_PROG_RECLAIM:
		return l->vmscan ? l->vmscan->skeleton : NULL;
	case BPF_PROG_FAULTS:
		return l->faults ? l->faults->skeleton : NULL;
	case BPF_PROG_OOM:
		return l->oom ? l->oom->skeleton : NULL;
	default:
		return NULL;
	}
}

int bpf_loader_set_attached(struct bpf_loader *l, enum bpf_prog_id id, bool on)
{
	struct bpf_object_skeleton *skel;
	struct bpf_prog_state *p;
	int r;

	if (id >= _BPF_PROG_MAX)
		return -EINVAL;
	if (!l)
		return on ? -ENOENT : 0;
	p = &l->progs[id];
	skel = prog_skeleton(l, id);
	if (!p->loaded || !skel)
		return on ? -ENOENT : 0;
	if (on != p->detached)
		return 0;
	if (!on) {
		bpf_object__detach_skeleton(skel);
	} else {
		r = bpf_object__attach_skeleton(skel);
		if (r < 0) {
			/* a partial attach: take the rest down too, it stays off */
			bpf_object__detach_skeleton(skel);
			return r;
		}
	}
	p->detached = !on;
	return 0;
}

void bpf_loader_describe(const struct bpf_loader *l, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < _BPF_PROG_MAX && off < size; i++) {
		const struct bpf_prog_state *p = &l->progs[i];
		int n;

		if (!p->loaded && p->off_by_default)
			n = snprintf(buf + off, size - off, "%s%s=off (default)", off ? " " : "",
				     p->name);
		else if (p->detached)
			n = snprintf(buf + off, size - off, "%s%s=off(switched off by a reload)",
				     off ? " " : "", p->name);
		else if (p->loaded && !p->reason[0])
			n = snprintf(buf + off, size - off, "%s%s=loaded", off ? " " : "", p->name);
		else
			n = snprintf(buf + off, size - off, "%s%s=%s(%s)", off ? " " : "", p->name,
				     p->loaded ? "loaded" : "off", p->reason);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Per-CPU array element 0, summed. values must hold ncpus elements of size. */
static int percpu_sum(const struct bpf_loader *l, struct bpf_map *map, size_t size, uint64_t *ret,
		      size_t n_u64)
{
	uint32_t zero = 0;
	int r = 0;

	if (l->ncpus <= 0 || l->ncpus > 4096)
		return -EINVAL;
	uint64_t *v = calloc((size_t)l->ncpus, size);
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(map), &zero, v) < 0) {
		r = negative_errno();
	} else {
		memset(ret, 0, n_u64 * sizeof(uint64_t));
		for (int c = 0; c < l->ncpus; c++)
			for (size_t i = 0; i < n_u64; i++)
				ret[i] += v[(size_t)c * (size / sizeof(uint64_t)) + i];
	}
	free(v);
	return r;
}

void bpf_loader_prog_stats(const struct bpf_loader *l, enum bpf_prog_id id,
			   struct ev_prog_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (l && l->stats_map[id])
		percpu_sum(l, l->stats_map[id], sizeof(*ret), (uint64_t *)ret, sizeof(*ret) / 8);
}

uint64_t bpf_loader_lost(const struct bpf_loader *l)
{
	uint64_t lost = 0;

	for (size_t i = 0; i < _BPF_PROG_MAX; i++) {
		struct ev_prog_stats s;

		bpf_loader_prog_stats(l, (enum bpf_prog_id)i, &s);
		lost += s.lost;
	}
	return lost;
}

int bpf_loader_faults_track(struct bpf_loader *l, pid_t pid)
{
	struct ev_fault_counts zero = {};
	uint32_t key = (uint32_t)pid;

	if (!l || !l->faults)
		return -ENODEV;
	if (bpf_map_update_elem(bpf_map__fd(l->faults->maps.tracked), &key, &zero, BPF_NOEXIST) <
		    0 &&
	    errno != EEXIST)
		return negative_errno();
	return 0;
}

void bpf_loader_faults_untrack(struct bpf_loader *l, pid_t pid)
{
	uint32_t key = (uint32_t)pid;

	if (l && l->faults)
		bpf_map_delete_elem(bpf_map__fd(l->faults->maps.tracked), &key);
}

int bpf_loader_faults_get(const struct bpf_loader *l, pid_t pid, struct ev_fault_counts *ret)
{
	uint32_t key = (uint32_t)pid;

	if (!l || !l->faults)
		return -ENODEV;
	if (bpf_map_lookup_elem(bpf_map__fd(l->faults->maps.tracked), &key, ret) < 0)
		return negative_errno();
	/* Then each CPU's unflushed counts for this tgid. In this order a
	 * flush between the two reads can only undercount, for one read; the
	 * other order could count a batch twice. */
	if (l->ncpus <= 0 || l->ncpus > 4096)
		return 0;
	struct fault_cpu_cache *c = calloc((size_t)l->ncpus, sizeof(*c));
	uint32_t zero = 0;

	if (!c)
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(l->faults->maps.fault_cpu), &zero, c) == 0)
		for (int i = 0; i < l->ncpus; i++)
			if (c[i].tgid == key && c[i].is_tracked) {
				ret->faults += c[i].counts.faults;
				ret->write_faults += c[i].counts.write_faults;
				ret->prot_faults += c[i].counts.prot_faults;
			}
	free(c);
	return 0;
}

int bpf_loader_reclaim_global(const struct bpf_loader *l, struct ev_reclaim_counters *ret)
{
	if (!l || !l->vmscan)
		return -ENODEV;
	return percpu_sum(l, l->vmscan->maps.reclaim_global, sizeof(*ret), (uint64_t *)ret,
			  sizeof(*ret) / 8);
}

int bpf_loader_reclaim_cgroup(const struct bpf_loader *l, uint64_t cgroup_id,
			      struct ev_reclaim_counters *ret)
{
	if (!l || !l->vmscan)
		return -ENODEV;
	if (bpf_map_lookup_elem(bpf_map__fd(l->vmscan->maps.reclaim_by_cgroup), &cgroup_id, ret) <
	    0)
		return negative_errno();
	return 0;
}
