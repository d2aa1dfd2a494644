/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_cgroup.c: libFuzzer target for daemon/cgroup-parse.c: every parser
 * (v1/v2 limits, byte and count files, memory.events, PSI, memory.stat of both
 * hierarchies, v1 memory.oom_control) on the same input. Each returns 0, -EINVAL or
 * -ERANGE, leaves its result untouched on failure, keeps its domains, and what it
 * accepts, printed back in the kernel's format, parses to the same values. */

#include <errno.h>
#include <inttypes.h>

#include "daemon/cgroup-parse.h"
#include "tests/fuzz/fuzz-util.h"

#define SENTINEL 0xa5

static char text[8192];

static void rc_ok(int r)
{
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
}

typedef int (*u64_parser)(const char *, size_t, uint64_t *);

static void one_number(u64_parser parse, const char *buf, size_t len, int is_limit)
{
	uint64_t v, w;
	int r, n;

	memset(&v, SENTINEL, sizeof(v));
	r = parse(buf, len, &v);
	rc_ok(r);
	if (r < 0) {
		FUZZ_CHECK(fuzz_all(&v, sizeof(v), SENTINEL));
		return;
	}
	if (is_limit && v == CGROUP_LIMIT_MAX && parse == cgroup_v2_limit_parse)
		n = snprintf(text, sizeof(text), "max\n");
	else if (is_limit && v == CGROUP_LIMIT_MAX)
		n = snprintf(text, sizeof(text), "9223372036854771712\n");
	else
		n = snprintf(text, sizeof(text), "%" PRIu64 "\n", v);
	FUZZ_CHECK(parse(text, (size_t)n, &w) == 0 && w == v);
}

static void events(const char *buf, size_t len)
{
	struct cgroup_mem_events e, f;
	int r, n;

	memset(&e, SENTINEL, sizeof(e));
	r = cgroup_events_parse(buf, len, &e);
	rc_ok(r);
	if (r < 0) {
		FUZZ_CHECK(fuzz_all(&e, sizeof(e), SENTINEL));
		return;
	}
	n = snprintf(text, sizeof(text),
		     "low %" PRIu64 "\nhigh %" PRIu64 "\nmax %" PRIu64 "\noom %" PRIu64
		     "\noom_kill %" PRIu64 "\n",
		     e.low, e.high, e.max, e.oom, e.oom_kill);
	if (e.has_oom_group_kill)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "oom_group_kill %" PRIu64 "\n",
			      e.oom_group_kill);
	FUZZ_CHECK(cgroup_events_parse(text, (size_t)n, &f) == 0);
	FUZZ_CHECK(f.low == e.low && f.high == e.high && f.max == e.max && f.oom == e.oom &&
		   f.oom_kill == e.oom_kill && f.has_oom_group_kill == e.has_oom_group_kill);
	FUZZ_CHECK(!e.has_oom_group_kill || f.oom_group_kill == e.oom_group_kill);
}

static int psi_line(char *p, size_t room, const char *name, const struct cgroup_pressure_line *l)
{
	return snprintf(p, room,
			"%s avg10=%u.%02u avg60=%u.%02u avg300=%u.%02u total=%" PRIu64 "\n", name,
			l->avg10_permyriad / 100, l->avg10_permyriad % 100,
			l->avg60_permyriad / 100, l->avg60_permyriad % 100,
			l->avg300_permyriad / 100, l->avg300_permyriad % 100, l->total_usec);
}

static int line_eq(const struct cgroup_pressure_line *a, const struct cgroup_pressure_line *b)
{
	return a->avg10_permyriad == b->avg10_permyriad &&
	       a->avg60_permyriad == b->avg60_permyriad &&
	       a->avg300_permyriad == b->avg300_permyriad && a->total_usec == b->total_usec;
}

static void pressure(const char *buf, size_t len)
{
	struct cgroup_pressure p, q;
	int r, n;

	memset(&p, SENTINEL, sizeof(p));
	r = cgroup_pressure_parse(buf, len, &p);
	rc_ok(r);
	if (r < 0) {
		FUZZ_CHECK(fuzz_all(&p, sizeof(p), SENTINEL));
		return;
	}
	FUZZ_CHECK(p.some.avg10_permyriad <= 10000 && p.some.avg60_permyriad <= 10000 &&
		   p.some.avg300_permyriad <= 10000 && p.full.avg10_permyriad <= 10000 &&
		   p.full.avg60_permyriad <= 10000 && p.full.avg300_permyriad <= 10000);
	n = psi_line(text, sizeof(text), "some", &p.some);
	n += psi_line(text + n, sizeof(text) - (size_t)n, "full", &p.full);
	FUZZ_CHECK(cgroup_pressure_parse(text, (size_t)n, &q) == 0);
	FUZZ_CHECK(line_eq(&p.some, &q.some) && line_eq(&p.full, &q.full));
}

/* memory.stat's optional keys by hierarchy (cgroup-parse.h); a new CGROUP_STAT_HAS_*
 * bit fails here until it is listed */
#define V1_ONLY ((uint32_t)(CGROUP_STAT_HAS_SWAP | CGROUP_STAT_HAS_HIERARCHICAL_LIMIT))
#define V2_ONLY                                                                            \
	((uint32_t)(CGROUP_STAT_HAS_KERNEL | CGROUP_STAT_HAS_SLAB | CGROUP_STAT_HAS_SOCK | \
		    CGROUP_STAT_HAS_PAGETABLES))
#define BOTH ((uint32_t)(CGROUP_STAT_HAS_REFAULT_ANON | CGROUP_STAT_HAS_REFAULT_FILE))

static void mem_stat(const char *buf, size_t len, enum cgroup_hierarchy h)
{
	struct cgroup_mem_stat s;
	int r;

	memset(&s, SENTINEL, sizeof(s));
	r = cgroup_stat_parse(buf, len, h, &s);
	rc_ok(r);
	if (r < 0) {
		FUZZ_CHECK(fuzz_all(&s, sizeof(s), SENTINEL));
		return;
	}
	FUZZ_CHECK((s.present & ~(V1_ONLY | V2_ONLY | BOTH)) == 0);
	/* each hierarchy has keys of its own only */
	FUZZ_CHECK(!(s.present & (h == CGROUP_HIERARCHY_V2 ? V1_ONLY : V2_ONLY)));
	if ((s.present & CGROUP_STAT_HAS_HIERARCHICAL_LIMIT) &&
	    s.hierarchical_limit_bytes != CGROUP_LIMIT_MAX)
		FUZZ_CHECK(s.hierarchical_limit_bytes < CGROUP_V1_UNLIMITED_MIN_BYTES);
}

static void oom_control(const char *buf, size_t len)
{
	struct cgroup_oom_control o, p;
	int r, n;

	memset(&o, SENTINEL, sizeof(o));
	r = cgroup_oom_control_parse(buf, len, &o);
	rc_ok(r);
	if (r < 0) {
		FUZZ_CHECK(fuzz_all(&o, sizeof(o), SENTINEL));
		return;
	}
	n = snprintf(text, sizeof(text),
		     "oom_kill_disable %d\nunder_oom %d\noom_kill %" PRIu64 "\n",
		     o.oom_kill_disable, o.under_oom, o.oom_kill);
	FUZZ_CHECK(cgroup_oom_control_parse(text, (size_t)n, &p) == 0);
	FUZZ_CHECK(p.oom_kill_disable == o.oom_kill_disable && p.under_oom == o.under_oom &&
		   p.oom_kill == o.oom_kill);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_dup(data, size);

	one_number(cgroup_v2_limit_parse, buf, size, 1);
	one_number(cgroup_v1_limit_parse, buf, size, 1);
	one_number(cgroup_bytes_parse, buf, size, 0);
	one_number(cgroup_count_parse, buf, size, 0);
	events(buf, size);
	pressure(buf, size);
	mem_stat(buf, size, CGROUP_HIERARCHY_V1);
	mem_stat(buf, size, CGROUP_HIERARCHY_V2);
	oom_control(buf, size);
	free(buf);
	return 0;
}
