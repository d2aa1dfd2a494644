// SPDX-License-Identifier: MIT
/* daemon/bpf-loader.c: feature probes decide what loads (never kernel versions);
 * open -> set rodata -> load -> attach in one function per program. */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/bpf-loader.h"
#include "daemon/config.h"
#include "daemon/log.h"
#include "lifecycle.skel.h"

struct bpf_loader {
	sd_event *event;
	struct bpf_loader_callbacks cb;
	void *userdata;
	struct btf *vmlinux;
	struct ring_buffer *rb;
	sd_event_source *rb_source;
	struct lifecycle_bpf *lifecycle;
	struct bpf_prog_state progs[_BPF_PROG_MAX];
};

static const char *const prog_names[_BPF_PROG_MAX] = {
	[BPF_PROG_LIFECYCLE] = "lifecycle",
};

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

static int on_lifecycle_record(void *ctx, void *data, size_t size)
{
	struct bpf_loader *l = ctx;

	if (size < sizeof(struct ev_lifecycle))
		return 0; /* a record from an older program build; not ours to guess */
	if (l->cb.lifecycle)
		l->cb.lifecycle(l->userdata, data);
	return 0;
}

static int ringbuf_add(struct bpf_loader *l, int map_fd, ring_buffer_sample_fn fn)
{
	if (!l->rb) {
		l->rb = ring_buffer__new(map_fd, fn, l, NULL);
		return l->rb ? 0 : negative_errno();
	}
	return ring_buffer__add(l->rb, map_fd, fn, l) < 0 ? negative_errno() : 0;
}

static int lifecycle_load(struct bpf_loader *l, const struct memctld_config *c)
{
	static const struct {
		const char *tp;
		size_t prog_offset;
	} tps[] = {
		{ "sched_process_exec", offsetof(struct lifecycle_bpf, progs.lifecycle_exec) },
		{ "sched_process_fork", offsetof(struct lifecycle_bpf, progs.lifecycle_fork) },
		{ "sched_process_exit", offsetof(struct lifecycle_bpf, progs.lifecycle_exit) },
	};
	struct lifecycle_bpf *skel;
	char missing[64] = "";
	unsigned n_on = 0;
	int r;

	if (!c->bpf_lifecycle) {
		snprintf(l->progs[BPF_PROG_LIFECYCLE].reason, sizeof(l->progs[0].reason),
			 "disabled in config");
		return 0;
	}
	skel = lifecycle_bpf__open();
	if (!skel) {
		prog_off(l, BPF_PROG_LIFECYCLE, "open failed: %s", strerror(errno));
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(tps); i++) {
		struct bpf_program *prog =
			*(struct bpf_program **)((char *)skel + tps[i].prog_offset);

		if (tracepoint_exists(l, tps[i].tp)) {
			n_on++;
			continue;
		}
		bpf_program__set_autoload(prog, false);
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			 missing[0] ? "," : "", tps[i].tp);
	}
	if (n_on == 0) {
		prog_off(l, BPF_PROG_LIFECYCLE, "tracepoints missing: %s", missing);
		lifecycle_bpf__destroy(skel);
		return 0;
	}
	r = bpf_map__set_max_entries(skel->maps.events, (uint32_t)c->ringbuf_bytes);
	if (r >= 0)
		r = lifecycle_bpf__load(skel);
	if (r >= 0)
		r = lifecycle_bpf__attach(skel);
	if (r >= 0)
		r = ringbuf_add(l, bpf_map__fd(skel->maps.events), on_lifecycle_record);
	if (r < 0) {
		prog_off(l, BPF_PROG_LIFECYCLE, "load/attach failed: %s", strerror(-r));
		lifecycle_bpf__destroy(skel);
		return 0;
	}
	l->lifecycle = skel;
	l->progs[BPF_PROG_LIFECYCLE].loaded = true;
	if (missing[0]) {
		snprintf(l->progs[BPF_PROG_LIFECYCLE].reason, sizeof(l->progs[0].reason),
			 "partial: missing %s", missing);
		log_warning("BPF program lifecycle: tracepoint(s) %s missing, those events are off",
			    missing);
	}
	return 0;
}

static int on_ringbuf_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct bpf_loader *l = userdata;
	int r;

	r = ring_buffer__consume(l->rb);
	if (r < 0)
		log_warning_errno(r, "Failed to consume BPF ring buffer: %m, ignoring");
	return 0;
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

	if (l->rb) {
		r = sd_event_add_io(event, &l->rb_source, ring_buffer__epoll_fd(l->rb), EPOLLIN,
				    on_ringbuf_ready, l);
		if (r < 0) {
			bpf_loader_free(l);
			return log_error_errno(r, "Failed to watch the BPF ring buffer: %m");
		}
		sd_event_source_set_description(l->rb_source, "bpf-ringbuf");
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
	btf__free(l->vmlinux);
	sd_event_unref(l->event);
	free(l);
	return NULL;
}

const struct bpf_prog_state *bpf_loader_prog(const struct bpf_loader *l, enum bpf_prog_id id)
{
	return &l->progs[id];
}

uint32_t bpf_loader_loaded_mask(const struct bpf_loader *l)
{
	uint32_t m = 0;

	for (size_t i = 0; i < _BPF_PROG_MAX; i++)
		if (l->progs[i].loaded)
			m |= 1U << i;
	return m;
}

void bpf_loader_describe(const struct bpf_loader *l, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < _BPF_PROG_MAX && off < size; i++) {
		const struct bpf_prog_state *p = &l->progs[i];
		int n;

		if (p->loaded && !p->reason[0])
			n = snprintf(buf + off, size - off, "%s%s=loaded", off ? " " : "", p->name);
		else
			n = snprintf(buf + off, size - off, "%s%s=%s(%s)", off ? " " : "", p->name,
				     p->loaded ? "loaded" : "off", p->reason);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static uint64_t percpu_stats_lost(struct bpf_map *map)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t lost = 0;
	uint32_t zero = 0;

	if (ncpu <= 0 || ncpu > 4096)
		return 0;
	struct ev_prog_stats *v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(map), &zero, v) == 0)
		for (int i = 0; i < ncpu; i++)
			lost += v[i].lost;
	free(v);
	return lost;
}

uint64_t bpf_loader_lost(const struct bpf_loader *l)
{
	uint64_t lost = 0;

	if (l->lifecycle)
		lost += percpu_stats_lost(l->lifecycle->maps.stats);
	return lost;
}
