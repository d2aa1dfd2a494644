/* SPDX-License-Identifier: MIT */
/* daemon/bpf-loader.h: open, probe, load and attach memctl's BPF programs, and
 * feed their ring-buffer records to the manager. A source: it never decides. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "bpf/events.h"

struct memctld_config;

enum bpf_prog_id {
	BPF_PROG_LIFECYCLE,
	_BPF_PROG_MAX,
};

struct bpf_loader_callbacks {
	void (*lifecycle)(void *userdata, const struct ev_lifecycle *e);
};

struct bpf_prog_state {
	const char *name;
	bool loaded;
	char reason[96]; /* why not loaded, or which parts are off */
};

struct bpf_loader;

/*
 * Probe, open, load and attach every program enabled in config. A program whose
 * tracepoint is missing or that fails to load is left off with one warning; that
 * is not an error. Returns 0 (with *ret set, even if nothing loaded) or -errno
 * for failures that leave nothing usable (no memory, no BTF at all is NOT one).
 */
int bpf_loader_new(const struct memctld_config *config, sd_event *event,
		   const struct bpf_loader_callbacks *cb, void *userdata, struct bpf_loader **ret);
struct bpf_loader *bpf_loader_free(struct bpf_loader *l);

const struct bpf_prog_state *bpf_loader_prog(const struct bpf_loader *l, enum bpf_prog_id id);
/* Bit i set when program i is loaded. */
uint32_t bpf_loader_loaded_mask(const struct bpf_loader *l);
/* "lifecycle=loaded rss=off(tracepoint kmem:rss_stat missing) ..." */
void bpf_loader_describe(const struct bpf_loader *l, char *buf, size_t size);
/* Sum of records the kernel side could not submit (ring buffer full). */
uint64_t bpf_loader_lost(const struct bpf_loader *l);
