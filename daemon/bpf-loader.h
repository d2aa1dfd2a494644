/* SPDX-License-Identifier: MIT */
/* daemon/bpf-loader.h: open, probe, load and attach memctl's BPF programs, and
 * feed their ring-buffer records to the manager. A source: it never decides. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "bpf/events.h"

struct memctld_config;

enum bpf_prog_id {
	BPF_PROG_LIFECYCLE,
	BPF_PROG_RSS,
	BPF_PROG_RECLAIM,
	BPF_PROG_FAULTS,
	BPF_PROG_OOM, /* oom:mark_victim; always on where the kernel has it (runs per kill) */
	_BPF_PROG_MAX,
};

struct bpf_loader_callbacks {
	void (*lifecycle)(void *userdata, const struct ev_lifecycle *e);
	void (*rss)(void *userdata, const struct ev_rss *e);
	void (*oom)(void *userdata, const struct ev_oom *e);
};

struct bpf_loader;

/*
 * Probe, open, load and attach every program enabled in config. A program whose
 * tracepoint is missing or that fails to load is left off with one warning; that
 * is not an error. Returns 0 (with *ret set, even if nothing loaded) or -errno
 * for failures that leave nothing usable (no memory; no BTF at all is NOT one).
 */
int bpf_loader_new(const struct memctld_config *config, sd_event *event,
		   const struct bpf_loader_callbacks *cb, void *userdata, struct bpf_loader **ret);
struct bpf_loader *bpf_loader_free(struct bpf_loader *l);

/* "lifecycle", "rss", "reclaim", "faults", "oom"; NULL beyond. */
const char *bpf_loader_prog_name(enum bpf_prog_id id);
/* Bit i set when program i is loaded and attached. */
uint32_t bpf_loader_loaded_mask(const struct bpf_loader *l);
/*
 * Detach (on = false) or re-attach a program loaded at start, for a reload that
 * switches it off or on again; its maps and counters stay. 0 when done or when
 * nothing changes; -ENOENT when it was not loaded at start (only a restart loads
 * it); a negative errno from the kernel when attaching fails (it stays off).
 */
int bpf_loader_set_attached(struct bpf_loader *l, enum bpf_prog_id id, bool on);
/* "lifecycle=loaded rss=off(tracepoint kmem:rss_stat missing) faults=off (default)"
 * (off by default: the file did not mention it) */
void bpf_loader_describe(const struct bpf_loader *l, char *buf, size_t size);
/* A program's counters summed over CPUs (zero if not loaded). */
void bpf_loader_prog_stats(const struct bpf_loader *l, enum bpf_prog_id id,
			   struct ev_prog_stats *ret);
/* Records the kernel side could not submit (ring buffer full), all programs. */
uint64_t bpf_loader_lost(const struct bpf_loader *l);
/* Drain the ring buffers now (before a resync, so nothing queued is stale). */
void bpf_loader_drain(struct bpf_loader *l);

/* faults: count page faults of pid from now on / stop / read. -ENODEV when the
 * program is not loaded, -ENOENT when pid is not tracked, -E2BIG when full. */
int bpf_loader_faults_track(struct bpf_loader *l, pid_t pid);
void bpf_loader_faults_untrack(struct bpf_loader *l, pid_t pid);
int bpf_loader_faults_get(const struct bpf_loader *l, pid_t pid, struct ev_fault_counts *ret);

/* reclaim: global counters summed over CPUs, and one memory cgroup's (by the
 * id in bpf/README.md). -ENODEV when not loaded, -ENOENT when no entry. */
int bpf_loader_reclaim_global(const struct bpf_loader *l, struct ev_reclaim_counters *ret);
int bpf_loader_reclaim_cgroup(const struct bpf_loader *l, uint64_t cgroup_id,
			      struct ev_reclaim_counters *ret);
