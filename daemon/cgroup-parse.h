/* SPDX-License-Identifier: MIT */
/* daemon/cgroup-parse.h: pure parsers for the memory files of cgroup v1 and v2
 * and for PSI. A buffer in, numbers out: no I/O, no allocation, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Rules shared by every parser here:
 *
 * - buf holds len bytes and need not be NUL-terminated; a NUL inside is garbage.
 * - Lines end in "\n"; the last "\n" is optional. Numbers are unsigned decimal
 *   (leading zeros allowed); a sign, blank, "\r", "0x" or exponent is garbage.
 * - Keys match exactly ("oom" is not "oom_kill"). Keys not listed are
 *   skipped, but their lines must still have the file's shape.
 * - On success return 0 and write *ret_*; on failure leave it untouched and
 *   return:
 *     -EINVAL  not the format shown: empty, garbage, a negative number, a
 *              missing required key, a key given twice, a value outside its
 *              domain (a 0/1 flag that is 2);
 *     -ERANGE  a well-formed number that does not fit: above UINT64_MAX, or
 *              overflowing when scaled (to bytes, to permyriad), or a PSI
 *              average above 100.00.
 */

/* No limit: v2 "max", v1's page_counter maximum, see below. */
#define CGROUP_LIMIT_MAX UINT64_MAX

/* v1 prints "no limit" as PAGE_COUNTER_MAX * PAGE_SIZE: LONG_MAX rounded down
 * to a page, 9223372036854771712 with 4 KiB pages. Anything at or above
 * LONG_MAX rounded down to 256 KiB (the largest page size Linux has) is read
 * as CGROUP_LIMIT_MAX, so 16 KiB and 64 KiB page kernels agree. */
#define CGROUP_V1_UNLIMITED_MIN_BYTES 9223372036854513664ULL

enum cgroup_hierarchy {
	CGROUP_HIERARCHY_V1 = 1,
	CGROUP_HIERARCHY_V2 = 2,
};

/* v2 memory.max, memory.high, memory.low, memory.min, memory.swap.max:
 *   "max\n"      -> CGROUP_LIMIT_MAX
 *   "536870912\n" -> 536870912 */
int cgroup_v2_limit_parse(const char *buf, size_t len, uint64_t *ret_bytes);

/* v1 memory.limit_in_bytes, memory.soft_limit_in_bytes:
 *   "9223372036854771712\n" -> CGROUP_LIMIT_MAX (any value >=
 *                              CGROUP_V1_UNLIMITED_MIN_BYTES)
 *   "536870912\n"          -> 536870912 */
int cgroup_v1_limit_parse(const char *buf, size_t len, uint64_t *ret_bytes);

/* One unsigned number: v2 memory.current, v1 memory.usage_in_bytes,
 * memory.max_usage_in_bytes ("1353007104\n"). */
int cgroup_bytes_parse(const char *buf, size_t len, uint64_t *ret_bytes);

/* One unsigned count: v1 memory.failcnt ("0\n"). */
int cgroup_count_parse(const char *buf, size_t len, uint64_t *ret_count);

/* v2 memory.events (and memory.events.local):
 *   low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n
 * Required: low, high, max, oom, oom_kill. oom_group_kill (v5.17+) is
 * optional: has_oom_group_kill says whether it was there. */
struct cgroup_mem_events {
	uint64_t low;
	uint64_t high;
	uint64_t max;
	uint64_t oom;
	uint64_t oom_kill;
	uint64_t oom_group_kill;
	bool has_oom_group_kill;
};

int cgroup_events_parse(const char *buf, size_t len, struct cgroup_mem_events *ret);

/* PSI, v2 memory.pressure and /proc/pressure/memory:
 *   some avg10=1.53 avg60=0.20 avg300=0.04 total=1234567\n
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=123\n
 * Both lines required, in this order, each with exactly these fields in
 * this order, single spaces. An average is "<int>.<2 digits>" percent, read
 * as permyriad (1.53 -> 153, 100.00 -> 10000); total is microseconds. */
struct cgroup_pressure_line {
	uint32_t avg10_permyriad;
	uint32_t avg60_permyriad;
	uint32_t avg300_permyriad;
	uint64_t total_usec;
};

struct cgroup_pressure {
	struct cgroup_pressure_line some;
	struct cgroup_pressure_line full;
};

int cgroup_pressure_parse(const char *buf, size_t len, struct cgroup_pressure *ret);

/* memory.stat, one "<key> <value>\n" per line, values in bytes except the
 * pg* event counts. The hierarchy picks the key names:
 *
 *   field                 v2 key          v1 key (total_<key> preferred:
 *                                                 hierarchical, like v2)
 *   anon_bytes            anon            rss
 *   file_bytes            file            cache
 *   shmem_bytes           shmem           shmem
 *   file_mapped_bytes     file_mapped     mapped_file
 *   file_dirty_bytes      file_dirty      dirty
 *   file_writeback_bytes  file_writeback  writeback
 *   inactive_anon_bytes   inactive_anon   inactive_anon
 *   active_anon_bytes     active_anon     active_anon
 *   inactive_file_bytes   inactive_file   inactive_file
 *   active_file_bytes     active_file     active_file
 *   unevictable_bytes     unevictable     unevictable
 *   pgfault               pgfault         pgfault
 *   pgmajfault            pgmajfault      pgmajfault
 *   (optional, see present)
 *   swap_bytes            -               swap (with swap accounting)
 *   workingset_refault_anon, workingset_refault_file (both, v5.9+)
 *   kernel_bytes          kernel (5.18+)  -
 *   slab_bytes            slab (5.9+)     -
 *   sock_bytes            sock            -
 *   pagetables_bytes      pagetables      -
 *   hierarchical_limit_bytes  -           hierarchical_memory_limit
 *                                         (>= CGROUP_V1_UNLIMITED_MIN_BYTES
 *                                         -> CGROUP_LIMIT_MAX)
 *
 * Every row above "optional" is required. */
enum {
	CGROUP_STAT_HAS_SWAP = 1 << 0,
	CGROUP_STAT_HAS_REFAULT_ANON = 1 << 1,
	CGROUP_STAT_HAS_REFAULT_FILE = 1 << 2,
	CGROUP_STAT_HAS_HIERARCHICAL_LIMIT = 1 << 3,
	CGROUP_STAT_HAS_KERNEL = 1 << 4,
	CGROUP_STAT_HAS_SLAB = 1 << 5,
	CGROUP_STAT_HAS_SOCK = 1 << 6,
	CGROUP_STAT_HAS_PAGETABLES = 1 << 7,
};

struct cgroup_mem_stat {
	uint64_t anon_bytes;
	uint64_t file_bytes;
	uint64_t shmem_bytes;
	uint64_t file_mapped_bytes;
	uint64_t file_dirty_bytes;
	uint64_t file_writeback_bytes;
	uint64_t inactive_anon_bytes;
	uint64_t active_anon_bytes;
	uint64_t inactive_file_bytes;
	uint64_t active_file_bytes;
	uint64_t unevictable_bytes;
	uint64_t pgfault;
	uint64_t pgmajfault;
	uint64_t swap_bytes;
	uint64_t workingset_refault_anon;
	uint64_t workingset_refault_file;
	uint64_t hierarchical_limit_bytes;
	uint32_t present; /* CGROUP_STAT_HAS_* */
	uint64_t kernel_bytes; /* v2 "kernel": slab, stacks, page tables, sockets, ... */
	uint64_t slab_bytes; /* v2 "slab" */
	uint64_t sock_bytes; /* v2 "sock": socket buffers */
	uint64_t pagetables_bytes; /* v2 "pagetables" */
};

int cgroup_stat_parse(const char *buf, size_t len, enum cgroup_hierarchy hierarchy,
		      struct cgroup_mem_stat *ret);

/* v1 memory.oom_control, all three keys required, flags 0 or 1:
 *   oom_kill_disable 0\nunder_oom 0\noom_kill 2\n */
struct cgroup_oom_control {
	bool oom_kill_disable;
	bool under_oom;
	uint64_t oom_kill;
};

int cgroup_oom_control_parse(const char *buf, size_t len, struct cgroup_oom_control *ret);
