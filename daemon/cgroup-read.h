/* SPDX-License-Identifier: MIT */
/* daemon/cgroup-read.h: read one memory cgroup's files under a configurable
 * cgroupfs root into a struct cgroup_mem snapshot. No logging: -errno. */
#pragma once

#include <stdint.h>

#include "daemon/cgroup-parse.h"

/* Which files were read; the others are absent in this cgroup or hierarchy
 * (a v2 root cgroup has no memory.max/high/current/events; memory.pressure
 * needs PSI) and their fields are 0, or CGROUP_LIMIT_MAX for limits. */
enum {
	CGROUP_MEM_HAS_LIMIT = 1 << 0, /* v2 memory.max, v1 memory.limit_in_bytes */
	CGROUP_MEM_HAS_HIGH = 1 << 1, /* v2 memory.high */
	CGROUP_MEM_HAS_SOFT_LIMIT = 1 << 2, /* v1 memory.soft_limit_in_bytes */
	CGROUP_MEM_HAS_USAGE = 1 << 3, /* v2 memory.current, v1 memory.usage_in_bytes */
	CGROUP_MEM_HAS_FAILCNT = 1 << 4, /* v1 memory.failcnt */
	CGROUP_MEM_HAS_EVENTS = 1 << 5, /* v2 memory.events */
	CGROUP_MEM_HAS_OOM_CONTROL = 1 << 6, /* v1 memory.oom_control */
	CGROUP_MEM_HAS_PRESSURE = 1 << 7, /* v2 memory.pressure */
	CGROUP_MEM_HAS_STAT = 1 << 8, /* memory.stat, always set on success */
	CGROUP_MEM_HAS_EVENTS_LOCAL = 1 << 9, /* v2 memory.events.local (Linux 5.2+) */
	/* kernel memory charged to it: v1 memory.kmem.usage_in_bytes, v2 memory.stat
	 * "kernel" (Linux 5.18+) */
	CGROUP_MEM_HAS_KERNEL = 1 << 10,
	/* socket buffers charged to it: v1 memory.kmem.tcp.usage_in_bytes, v2
	 * memory.stat "sock" */
	CGROUP_MEM_HAS_KERNEL_SOCK = 1 << 11,
};

struct cgroup_mem {
	enum cgroup_hierarchy hierarchy;
	uint32_t present; /* CGROUP_MEM_HAS_* */
	uint64_t limit_bytes; /* CGROUP_LIMIT_MAX: none */
	uint64_t high_bytes; /* v2; CGROUP_LIMIT_MAX: none */
	uint64_t soft_limit_bytes; /* v1; CGROUP_LIMIT_MAX: none */
	uint64_t usage_bytes;
	uint64_t failcnt; /* v1 */
	struct cgroup_mem_events events; /* v2, this cgroup and its descendants */
	struct cgroup_mem_events events_local; /* v2, this cgroup's own */
	struct cgroup_oom_control oom; /* v1 */
	struct cgroup_pressure pressure; /* v2 */
	struct cgroup_mem_stat stat;
	uint64_t kernel_bytes; /* CGROUP_MEM_HAS_KERNEL */
	uint64_t kernel_sock_bytes; /* CGROUP_MEM_HAS_KERNEL_SOCK */
};

/*
 * Reads the cgroup at root/path: root is the memory hierarchy's mount point
 * (/sys/fs/cgroup/memory for v1, the cgroup2 mount for v2, or a fixture
 * tree); path is the cgroup's path in it as /proc/PID/cgroup shows it ("/"
 * or "" for the root, "/a/b", "a/b"). The hierarchy is detected from the
 * files: memory.limit_in_bytes -> v1, else memory.stat -> v2.
 *
 * Required: v1 memory.limit_in_bytes, memory.usage_in_bytes, memory.stat;
 * v2 memory.stat. The rest is optional (see CGROUP_MEM_HAS_*).
 *
 * Returns 0 and fills *ret; or
 *   -ENOENT      the cgroup does not exist or vanished while being read
 *                (ENOENT or ENODEV from the kernel, a required file gone):
 *                normal, cgroups come and go;
 *   -EOPNOTSUPP  the directory exists but has no memory controller files;
 *   -EINVAL/-ERANGE  a file did not parse (see cgroup-parse.h);
 *   -EFBIG       a file larger than 64 KiB;
 *   another -errno from openat()/read() (-EACCES, -ENOMEM...).
 */
int cgroup_mem_read(const char *root, const char *path, struct cgroup_mem *ret);

/* Reads a PSI file such as /proc/pressure/memory (or a fixture). -ENOENT if
 * absent (kernel without PSI, or psi=0), else as cgroup_pressure_parse(). */
int cgroup_pressure_read(const char *file, struct cgroup_pressure *ret);

/*
 * OOM kills of a cgroup as its file shows them: v1 memory.oom_control
 * oom_kill, v2 memory.events oom_kill (which counts its descendants' kills
 * too). false if neither file was read.
 */
bool cgroup_mem_oom_kills(const struct cgroup_mem *m, uint64_t *ret);
/*
 * OOM kills of processes in this cgroup itself, for telling kills apart:
 * v2 memory.events.local oom_kill where the kernel has it; v1 oom_kill is
 * already local (memcg_memory_event() stops at the first cgroup off the
 * default hierarchy, mm/memcontrol.h). false if nothing was read.
 */
bool cgroup_mem_oom_kills_local(const struct cgroup_mem *m, uint64_t *ret);
