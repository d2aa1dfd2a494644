/* SPDX-License-Identifier: MIT */
/* daemon/cgroup-parse.c: pure parsers for cgroup v1/v2 memory files and PSI;
 * the formats are in cgroup-parse.h. */
#include "daemon/cgroup-parse.h"

#include <errno.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/parse-util.h"

/* One "<key> <u64>" file's expected key. */
struct key_slot {
	const char *key;
	uint64_t value;
	bool required;
	bool seen;
};

static bool key_is_word(struct span k)
{
	if (k.len == 0)
		return false;
	for (size_t i = 0; i < k.len; i++) {
		char c = k.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* Parses "<key> <u64>\n" lines into slots; other keys are skipped once their
 * line is well-formed. */
static int keyed_parse(const char *buf, size_t len, struct key_slot *slots, size_t n_slots)
{
	struct line_iter it;
	struct span line, key, value;
	uint64_t v;
	int r;

	if (len == 0 || buf_has_nul(buf, len))
		return -EINVAL;
	line_iter_init(&it, buf, len);
	while (line_iter_next(&it, &line)) {
		struct key_slot *slot = NULL;

		if (!span_split(line, ' ', &key, &value) || !key_is_word(key))
			return -EINVAL;
		r = span_to_u64(value, &v);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n_slots; i++) {
			if (span_eq(key, slots[i].key)) {
				slot = &slots[i];
				break;
			}
		}
		if (!slot)
			continue;
		if (slot->seen)
			return -EINVAL;
		slot->seen = true;
		slot->value = v;
	}
	for (size_t i = 0; i < n_slots; i++) {
		if (slots[i].required && !slots[i].seen)
			return -EINVAL;
	}
	return 0;
}

static int one_u64_parse(const char *buf, size_t len, uint64_t *ret)
{
	struct span s = { buf, len };

	if (buf_has_nul(buf, len))
		return -EINVAL;
	return span_to_u64(span_chomp(s), ret);
}

int cgroup_v2_limit_parse(const char *buf, size_t len, uint64_t *ret_bytes)
{
	struct span s = { buf, len };
	uint64_t v;
	int r;

	if (buf_has_nul(buf, len))
		return -EINVAL;
	s = span_chomp(s);
	if (span_eq(s, "max")) {
		*ret_bytes = CGROUP_LIMIT_MAX;
		return 0;
	}
	r = span_to_u64(s, &v);
	if (r < 0)
		return r;
	*ret_bytes = v;
	return 0;
}

static uint64_t v1_limit_normalize(uint64_t v)
{
	return v >= CGROUP_V1_UNLIMITED_MIN_BYTES ? CGROUP_LIMIT_MAX : v;
}

int cgroup_v1_limit_parse(const char *buf, size_t len, uint64_t *ret_bytes)
{
	uint64_t v;
	int r;

	r = one_u64_parse(buf, len, &v);
	if (r < 0)
		return r;
	*ret_bytes = v1_limit_normalize(v);
	return 0;
}

int cgroup_bytes_parse(const char *buf, size_t len, uint64_t *ret_bytes)
{
	return one_u64_parse(buf, len, ret_bytes);
}

int cgroup_count_parse(const char *buf, size_t len, uint64_t *ret_count)
{
	return one_u64_parse(buf, len, ret_count);
}

int cgroup_events_parse(const char *buf, size_t len, struct cgroup_mem_events *ret)
{
	enum { LOW, HIGH, MAX, OOM, OOM_KILL, OOM_GROUP_KILL };
	struct key_slot slots[] = {
		[LOW] = { "low", 0, true, false },
		[HIGH] = { "high", 0, true, false },
		[MAX] = { "max", 0, true, false },
		[OOM] = { "oom", 0, true, false },
		[OOM_KILL] = { "oom_kill", 0, true, false },
		[OOM_GROUP_KILL] = { "oom_group_kill", 0, false, false },
	};
	int r;

	r = keyed_parse(buf, len, slots, ELEMENTSOF(slots));
	if (r < 0)
		return r;
	*ret = (struct cgroup_mem_events){
		.low = slots[LOW].value,
		.high = slots[HIGH].value,
		.max = slots[MAX].value,
		.oom = slots[OOM].value,
		.oom_kill = slots[OOM_KILL].value,
		.oom_group_kill = slots[OOM_GROUP_KILL].value,
		.has_oom_group_kill = slots[OOM_GROUP_KILL].seen,
	};
	return 0;
}

/* "<name>=<int>.<2 digits>" -> permyriad, at most 100.00 */
static int psi_avg_parse(struct span field, const char *name, uint32_t *ret)
{
	struct span k, v, ip, fp;
	uint64_t i, f;
	int r;

	if (!span_split(field, '=', &k, &v) || !span_eq(k, name))
		return -EINVAL;
	if (!span_split(v, '.', &ip, &fp) || fp.len != 2)
		return -EINVAL;
	r = span_to_u64(ip, &i);
	if (r < 0)
		return r;
	r = span_to_u64(fp, &f);
	if (r < 0)
		return r;
	if (i > 100 || i * 100 + f > 10000)
		return -ERANGE;
	*ret = (uint32_t)(i * 100 + f);
	return 0;
}

/* "<kind> avg10=A avg60=B avg300=C total=T" */
static int psi_line_parse(struct span line, const char *kind, struct cgroup_pressure_line *ret)
{
	static const char *const avg_names[] = { "avg10", "avg60", "avg300" };
	struct cgroup_pressure_line l = {};
	uint32_t *avgs[] = { &l.avg10_permyriad, &l.avg60_permyriad, &l.avg300_permyriad };
	struct span head, rest = line, k, v;
	int r;

	if (!span_split(rest, ' ', &head, &rest) || !span_eq(head, kind))
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(avg_names); i++) {
		if (!span_split(rest, ' ', &head, &rest))
			return -EINVAL;
		r = psi_avg_parse(head, avg_names[i], avgs[i]);
		if (r < 0)
			return r;
	}
	/* rest is the last field: no further blank allowed */
	if (!span_split(rest, '=', &k, &v) || !span_eq(k, "total"))
		return -EINVAL;
	r = span_to_u64(v, &l.total_usec);
	if (r < 0)
		return r;
	*ret = l;
	return 0;
}

int cgroup_pressure_parse(const char *buf, size_t len, struct cgroup_pressure *ret)
{
	struct cgroup_pressure p = {};
	struct line_iter it;
	struct span line;
	int r;

	if (len == 0 || buf_has_nul(buf, len))
		return -EINVAL;
	line_iter_init(&it, buf, len);
	if (!line_iter_next(&it, &line))
		return -EINVAL;
	r = psi_line_parse(line, "some", &p.some);
	if (r < 0)
		return r;
	if (!line_iter_next(&it, &line))
		return -EINVAL;
	r = psi_line_parse(line, "full", &p.full);
	if (r < 0)
		return r;
	if (line_iter_next(&it, &line))
		return -EINVAL;
	*ret = p;
	return 0;
}

/* memory.stat: the struct field, the v2 key and the v1 key of each value. */
enum stat_field {
	STAT_ANON,
	STAT_FILE,
	STAT_SHMEM,
	STAT_FILE_MAPPED,
	STAT_FILE_DIRTY,
	STAT_FILE_WRITEBACK,
	STAT_INACTIVE_ANON,
	STAT_ACTIVE_ANON,
	STAT_INACTIVE_FILE,
	STAT_ACTIVE_FILE,
	STAT_UNEVICTABLE,
	STAT_PGFAULT,
	STAT_PGMAJFAULT,
	_STAT_REQUIRED,
	STAT_SWAP = _STAT_REQUIRED,
	STAT_REFAULT_ANON,
	STAT_REFAULT_FILE,
	STAT_HIERARCHICAL_LIMIT,
	STAT_KERNEL,
	STAT_SLAB,
	STAT_SOCK,
	STAT_PAGETABLES,
	_STAT_MAX,
};

static const struct {
	const char *v2;
	const char *v1;
	const char *v1_total; /* hierarchical v1 key, preferred */
	uint32_t present_flag; /* 0: required */
} stat_keys[_STAT_MAX] = {
	[STAT_ANON] = { "anon", "rss", "total_rss", 0 },
	[STAT_FILE] = { "file", "cache", "total_cache", 0 },
	[STAT_SHMEM] = { "shmem", "shmem", "total_shmem", 0 },
	[STAT_FILE_MAPPED] = { "file_mapped", "mapped_file", "total_mapped_file", 0 },
	[STAT_FILE_DIRTY] = { "file_dirty", "dirty", "total_dirty", 0 },
	[STAT_FILE_WRITEBACK] = { "file_writeback", "writeback", "total_writeback", 0 },
	[STAT_INACTIVE_ANON] = { "inactive_anon", "inactive_anon", "total_inactive_anon", 0 },
	[STAT_ACTIVE_ANON] = { "active_anon", "active_anon", "total_active_anon", 0 },
	[STAT_INACTIVE_FILE] = { "inactive_file", "inactive_file", "total_inactive_file", 0 },
	[STAT_ACTIVE_FILE] = { "active_file", "active_file", "total_active_file", 0 },
	[STAT_UNEVICTABLE] = { "unevictable", "unevictable", "total_unevictable", 0 },
	[STAT_PGFAULT] = { "pgfault", "pgfault", "total_pgfault", 0 },
	[STAT_PGMAJFAULT] = { "pgmajfault", "pgmajfault", "total_pgmajfault", 0 },
	[STAT_SWAP] = { NULL, "swap", "total_swap", CGROUP_STAT_HAS_SWAP },
	[STAT_REFAULT_ANON] = { "workingset_refault_anon", "workingset_refault_anon",
				"total_workingset_refault_anon", CGROUP_STAT_HAS_REFAULT_ANON },
	[STAT_REFAULT_FILE] = { "workingset_refault_file", "workingset_refault_file",
				"total_workingset_refault_file", CGROUP_STAT_HAS_REFAULT_FILE },
	[STAT_HIERARCHICAL_LIMIT] = { NULL, "hierarchical_memory_limit", NULL,
				      CGROUP_STAT_HAS_HIERARCHICAL_LIMIT },
	/* v2 since Linux 5.18; v1 has memory.kmem.usage_in_bytes instead */
	[STAT_KERNEL] = { "kernel", NULL, NULL, CGROUP_STAT_HAS_KERNEL },
	/* v2 parts of kernel memory; v1 memory.stat has none of them (v1 has
	 * memory.kmem.tcp.usage_in_bytes for sockets, cgroup-read.c) */
	[STAT_SLAB] = { "slab", NULL, NULL, CGROUP_STAT_HAS_SLAB },
	[STAT_SOCK] = { "sock", NULL, NULL, CGROUP_STAT_HAS_SOCK },
	[STAT_PAGETABLES] = { "pagetables", NULL, NULL, CGROUP_STAT_HAS_PAGETABLES },
};

int cgroup_stat_parse(const char *buf, size_t len, enum cgroup_hierarchy hierarchy,
		      struct cgroup_mem_stat *ret)
{
	/* slots [0, _STAT_MAX): v2 key or v1 local key; [_STAT_MAX, 2x): v1 total_ */
	struct key_slot slots[2 * _STAT_MAX] = {};
	uint64_t v[_STAT_MAX] = {};
	struct cgroup_mem_stat st = {};
	size_t n = 0;
	int r;

	if (hierarchy != CGROUP_HIERARCHY_V1 && hierarchy != CGROUP_HIERARCHY_V2)
		return -EINVAL;
	for (size_t i = 0; i < _STAT_MAX; i++) {
		const char *k = hierarchy == CGROUP_HIERARCHY_V2 ? stat_keys[i].v2 :
								   stat_keys[i].v1;

		/* a NULL key never matches: span_eq() needs a string */
		slots[i].key = k ? k : "";
		slots[_STAT_MAX + i].key = "";
		if (hierarchy == CGROUP_HIERARCHY_V1 && stat_keys[i].v1_total)
			slots[_STAT_MAX + i].key = stat_keys[i].v1_total;
	}
	n = hierarchy == CGROUP_HIERARCHY_V2 ? _STAT_MAX : 2 * _STAT_MAX;
	r = keyed_parse(buf, len, slots, n);
	if (r < 0)
		return r;

	for (size_t i = 0; i < _STAT_MAX; i++) {
		bool total = n > _STAT_MAX && slots[_STAT_MAX + i].seen;
		bool seen = slots[i].seen || total;

		if (!seen) {
			if (i < _STAT_REQUIRED)
				return -EINVAL;
			continue;
		}
		v[i] = total ? slots[_STAT_MAX + i].value : slots[i].value;
		st.present |= stat_keys[i].present_flag;
	}

	st.anon_bytes = v[STAT_ANON];
	st.file_bytes = v[STAT_FILE];
	st.shmem_bytes = v[STAT_SHMEM];
	st.file_mapped_bytes = v[STAT_FILE_MAPPED];
	st.file_dirty_bytes = v[STAT_FILE_DIRTY];
	st.file_writeback_bytes = v[STAT_FILE_WRITEBACK];
	st.inactive_anon_bytes = v[STAT_INACTIVE_ANON];
	st.active_anon_bytes = v[STAT_ACTIVE_ANON];
	st.inactive_file_bytes = v[STAT_INACTIVE_FILE];
	st.active_file_bytes = v[STAT_ACTIVE_FILE];
	st.unevictable_bytes = v[STAT_UNEVICTABLE];
	st.pgfault = v[STAT_PGFAULT];
	st.pgmajfault = v[STAT_PGMAJFAULT];
	st.swap_bytes = v[STAT_SWAP];
	st.workingset_refault_anon = v[STAT_REFAULT_ANON];
	st.workingset_refault_file = v[STAT_REFAULT_FILE];
	st.kernel_bytes = v[STAT_KERNEL];
	st.slab_bytes = v[STAT_SLAB];
	st.sock_bytes = v[STAT_SOCK];
	st.pagetables_bytes = v[STAT_PAGETABLES];
	st.hierarchical_limit_bytes = (st.present & CGROUP_STAT_HAS_HIERARCHICAL_LIMIT) ?
					      v1_limit_normalize(v[STAT_HIERARCHICAL_LIMIT]) :
					      CGROUP_LIMIT_MAX;
	*ret = st;
	return 0;
}

int cgroup_oom_control_parse(const char *buf, size_t len, struct cgroup_oom_control *ret)
{
	enum { KILL_DISABLE, UNDER_OOM, OOM_KILL };
	struct key_slot slots[] = {
		[KILL_DISABLE] = { "oom_kill_disable", 0, true, false },
		[UNDER_OOM] = { "under_oom", 0, true, false },
		[OOM_KILL] = { "oom_kill", 0, true, false },
	};
	int r;

	r = keyed_parse(buf, len, slots, ELEMENTSOF(slots));
	if (r < 0)
		return r;
	if (slots[KILL_DISABLE].value > 1 || slots[UNDER_OOM].value > 1)
		return -EINVAL;
	*ret = (struct cgroup_oom_control){
		.oom_kill_disable = slots[KILL_DISABLE].value,
		.under_oom = slots[UNDER_OOM].value,
		.oom_kill = slots[OOM_KILL].value,
	};
	return 0;
}
