/* SPDX-License-Identifier: MIT */
/* ipc/ipc.c: the message type table and strict encode/decode of memctl's wire
 * protocol. Every check lives in the table, so encoder and decoder agree. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/macro.h"
#include "ipc/ipc.h"

/*
 * The wire layout is the in-memory layout of these structs (docs/protocol.md
 * gives the offsets). None has implicit padding, so encode->decode->encode is
 * byte-identical; these asserts catch a field added without thinking about it.
 */
_Static_assert(sizeof(struct ipc_enroll) == 56, "ipc_enroll layout");
_Static_assert(sizeof(struct ipc_enroll_ack) == 32, "ipc_enroll_ack layout");
_Static_assert(sizeof(struct ipc_compress) == 40, "ipc_compress layout");
_Static_assert(sizeof(struct ipc_ctl_enroll) == 48, "ipc_ctl_enroll layout");
_Static_assert(sizeof(struct ipc_enrolled_entry) == 336, "ipc_enrolled_entry layout");
_Static_assert(sizeof(struct ipc_compress_ack) == 160, "ipc_compress_ack layout");
_Static_assert(sizeof(struct ipc_relax) == 16, "ipc_relax layout");
_Static_assert(sizeof(struct ipc_stats) == 144, "ipc_stats layout");
_Static_assert(sizeof(struct ipc_bye) == 8, "ipc_bye layout");
_Static_assert(sizeof(struct ipc_error) == 108, "ipc_error layout");
_Static_assert(sizeof(struct ipc_ctl_status_reply) == 640, "ipc_ctl_status_reply layout");
_Static_assert(sizeof(struct ipc_ctl_list) == 264, "ipc_ctl_list layout");
_Static_assert(sizeof(struct ipc_ctl_list_reply) == 8, "ipc_ctl_list_reply layout");
_Static_assert(sizeof(struct ipc_proc_entry) == 264, "ipc_proc_entry layout");
_Static_assert(sizeof(struct ipc_ctl_pid) == 8, "ipc_ctl_pid layout");
_Static_assert(sizeof(struct ipc_cgroup_entry) == 416, "ipc_cgroup_entry layout");
_Static_assert(sizeof(struct ipc_ctl_show_reply) == 928, "ipc_ctl_show_reply layout");
_Static_assert(sizeof(struct ipc_bandwidth_figures) == 32, "ipc_bandwidth_figures layout");
_Static_assert(sizeof(struct ipc_bandwidth_domain) == 48, "ipc_bandwidth_domain layout");
_Static_assert(sizeof(struct ipc_ctl_bandwidth_reply) == 672, "ipc_ctl_bandwidth_reply layout");
_Static_assert(sizeof(struct ipc_bandwidth_entry) == 448, "ipc_bandwidth_entry layout");
_Static_assert(sizeof(struct ipc_ctl_ok) == 8, "ipc_ctl_ok layout");
_Static_assert(sizeof(struct ipc_ctl_events) == 16, "ipc_ctl_events layout");
_Static_assert(sizeof(struct ipc_ctl_events_reply) == 16, "ipc_ctl_events_reply layout");
_Static_assert(sizeof(struct ipc_event_entry) == 440, "ipc_event_entry layout");
_Static_assert(sizeof(struct ipc_ctl_records) == 16, "ipc_ctl_records layout");
_Static_assert(sizeof(struct ipc_ctl_records_reply) == 24, "ipc_ctl_records_reply layout");
_Static_assert(sizeof(struct ipc_rss_record) == 56, "ipc_rss_record layout");
_Static_assert(sizeof(struct ipc_ctl_metrics) == 24, "ipc_ctl_metrics layout");
_Static_assert(sizeof(struct ipc_ctl_metrics_reply) == 32, "ipc_ctl_metrics_reply layout");

/* Linux's MAX_ERRNO (include/linux/err.h): codes below -4095 are not errnos. */
#define IPC_ERRNO_MAX 4095
#define IPC_CHUNK_MIN (4U << 10)
#define IPC_CHUNK_MAX (1U << 20)
#define IPC_PERMYRIAD_MAX 10000U
#define IPC_STATS_INTERVAL_MIN_MS 100U
/* readback cost multiplier: 1.0 .. 10.0 (policy/fairness.h FAIR_BW_FACTOR_MAX) */
#define IPC_READBACK_COST_MIN 10000U
#define IPC_READBACK_COST_MAX 100000U
#define IPC_READBACK_FACTOR_MAX_PERMILLE 1000000U /* 1000x */

/* A fixed-size char array inside a body or entry that must hold a NUL. */
struct ipc_string_field {
	uint16_t offset;
	uint16_t size;
};

#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
#define STRING_FIELD(type, member)                                \
	{                                                         \
		offsetof(type, member), MEMBER_SIZE(type, member) \
	}

struct ipc_type_info {
	uint16_t type;
	const char *name;
	uint16_t body_size; /* list replies: the fixed part */
	uint16_t entry_size; /* 0 unless a list reply */
	uint16_t count_offset; /* list replies: offset of the uint32_t count in the body */
	const struct ipc_string_field *strings;
	size_t n_strings;
	const struct ipc_string_field *entry_strings;
	size_t n_entry_strings;
	/* Range checks. p points at raw, possibly unaligned bytes of the right size
	 * whose strings are already known to be terminated. 0 or -ERANGE. */
	int (*validate)(const struct ipc_type_info *t, const void *p);
	int (*validate_entry)(const void *p);
};

static bool chunk_size_ok(uint32_t v)
{
	return v >= IPC_CHUNK_MIN && v <= IPC_CHUNK_MAX && (v & (v - 1)) == 0;
}

static bool codecs_ok(uint32_t v)
{
	return v != 0 && (v & ~IPC_CODEC_ALL) == 0;
}

static bool pid_ok(uint32_t v)
{
	return v > 0 && v <= INT32_MAX;
}

static bool errno_ok(int32_t v)
{
	return v < 0 && v >= -IPC_ERRNO_MAX;
}

static uint32_t entries_max(const struct ipc_type_info *t)
{
	if (t->entry_size == 0)
		return 0;
	return (IPC_MSG_MAX - sizeof(struct ipc_header) - t->body_size) / t->entry_size;
}

static bool readback_cost_ok(uint32_t v)
{
	return v >= IPC_READBACK_COST_MIN && v <= IPC_READBACK_COST_MAX;
}

static int bw_figures_check(const struct ipc_bandwidth_figures *f)
{
	if (f->state > IPC_BW_UNMONITORED || (f->valid & ~IPC_BW_VALID_ALL))
		return -ERANGE;
	/* figures only for a monitored unit */
	if (f->state != IPC_BW_MONITORED && f->valid != 0)
		return -ERANGE;
	return 0;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int arena_stats_check(const struct ipc_arena_stats *s)
{
	if (s->fragmentation_permyriad > IPC_PERMYRIAD_MAX ||
	    s->admit_rate_permyriad > IPC_PERMYRIAD_MAX)
		return -ERANGE;
	return 0;
}

static int proc_entry_check(const struct ipc_proc_entry *e)
{
	if (!pid_ok(e->pid) || e->ppid > INT32_MAX || e->enrolled > 1)
		return -ERANGE;
	if (e->pattern >= IPC_GROWTH_PATTERN_MAX ||
	    e->leak_confidence_permyriad > IPC_PERMYRIAD_MAX || e->growth_detected > 1 ||
	    e->growth_reserved != 0)
		return -ERANGE;
	return 0;
}

static int cgroup_entry_check(const struct ipc_cgroup_entry *e, bool may_be_empty)
{
	bool empty = e->path[0] == '\0';

	if (e->hierarchy == 0 ? !(may_be_empty && empty) : e->hierarchy > 2)
		return -ERANGE;
	if (e->psi_some_avg10_permyriad > IPC_PERMYRIAD_MAX ||
	    e->psi_full_avg10_permyriad > IPC_PERMYRIAD_MAX || (e->flags & ~IPC_CGROUP_FLAGS_ALL))
		return -ERANGE;
	if (e->pattern >= IPC_GROWTH_PATTERN_MAX ||
	    e->leak_confidence_permyriad > IPC_PERMYRIAD_MAX || e->growth_detected > 1 ||
	    e->growth_reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_enroll(const struct ipc_type_info *t, const void *p)
{
	struct ipc_enroll m;

	memcpy(&m, p, sizeof(m));
	if (!pid_ok(m.pid) || m.flags != 0 || !chunk_size_ok(m.chunk_size_bytes) ||
	    !codecs_ok(m.codecs))
		return -ERANGE;
	return 0;
}

static int validate_enroll_ack(const struct ipc_type_info *t, const void *p)
{
	struct ipc_enroll_ack m;

	memcpy(&m, p, sizeof(m));
	if (m.stats_interval_ms < IPC_STATS_INTERVAL_MIN_MS || m.flags != 0 || m.reserved != 0 ||
	    m.readback_factor_permille > IPC_READBACK_FACTOR_MAX_PERMILLE ||
	    !readback_cost_ok(m.readback_cost_permyriad) || m.reserved2 != 0)
		return -ERANGE;
	return 0;
}

static int validate_compress(const struct ipc_type_info *t, const void *p)
{
	struct ipc_compress m;

	memcpy(&m, p, sizeof(m));
	if (m.target_bytes == 0 || m.max_hotness > IPC_COLD || !codecs_ok(m.codecs) ||
	    m.min_savings_permyriad > IPC_PERMYRIAD_MAX ||
	    m.pressure_permyriad > IPC_PERMYRIAD_MAX || m.reserved != 0 ||
	    !readback_cost_ok(m.readback_cost_permyriad) || m.reserved2 != 0)
		return -ERANGE;
	return 0;
}

static int validate_compress_ack(const struct ipc_type_info *t, const void *p)
{
	struct ipc_compress_ack m;

	memcpy(&m, p, sizeof(m));
	if (m.result != 0 && !errno_ok(m.result))
		return -ERANGE;
	return arena_stats_check(&m.stats);
}

static int validate_relax(const struct ipc_type_info *t, const void *p)
{
	struct ipc_relax m;

	memcpy(&m, p, sizeof(m));
	if (m.flags != 0 || m.reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_stats(const struct ipc_type_info *t, const void *p)
{
	struct ipc_stats m;

	memcpy(&m, p, sizeof(m));
	return arena_stats_check(&m.stats);
}

static int validate_bye(const struct ipc_type_info *t, const void *p)
{
	struct ipc_bye m;

	memcpy(&m, p, sizeof(m));
	if (m.reason > IPC_BYE_SHUTDOWN || m.reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_error(const struct ipc_type_info *t, const void *p)
{
	struct ipc_error m;

	/* ref_type is not checked: refusing an unknown type is what IPC_ERROR is for. */
	memcpy(&m, p, sizeof(m));
	if (!errno_ok(m.code) || m.reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_status_reply(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_status_reply m;

	memcpy(&m, p, sizeof(m));
	if (m.dry_run > 1 || m.reserved != 0 || m.psi_some_avg10_permyriad > IPC_PERMYRIAD_MAX ||
	    m.psi_full_avg10_permyriad > IPC_PERMYRIAD_MAX || m.identity_pidfd > 1 ||
	    m.reserved2 != 0 || m.policy_mode > 1 || m.reserved3 != 0 ||
	    m.resctrl_state > IPC_RESCTRL_ON)
		return -ERANGE;
	return 0;
}

static int validate_ctl_list(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_list m;

	memcpy(&m, p, sizeof(m));
	if (m.sort > IPC_SORT_FAULTS)
		return -ERANGE;
	return 0;
}

static int validate_list_reply(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_list_reply m;

	memcpy(&m, p, sizeof(m));
	if (m.count > entries_max(t) || m.count > m.total)
		return -ERANGE;
	return 0;
}

static int validate_proc_entry(const void *p)
{
	struct ipc_proc_entry e;

	memcpy(&e, p, sizeof(e));
	return proc_entry_check(&e);
}

static int validate_cgroup_entry(const void *p)
{
	struct ipc_cgroup_entry e;

	memcpy(&e, p, sizeof(e));
	return cgroup_entry_check(&e, false);
}

static int validate_show_reply(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_show_reply m;
	int r;

	memcpy(&m, p, sizeof(m));
	r = proc_entry_check(&m.proc);
	if (r < 0)
		return r;
	r = cgroup_entry_check(&m.cgroup, true);
	if (r < 0)
		return r;
	r = arena_stats_check(&m.arena);
	if (r < 0)
		return r;
	if (m.leak_confidence_permyriad > IPC_PERMYRIAD_MAX)
		return -ERANGE;
	r = bw_figures_check(&m.proc_bandwidth);
	if (r < 0)
		return r;
	return bw_figures_check(&m.cgroup_bandwidth);
}

static int validate_bandwidth_reply(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_bandwidth_reply m;

	memcpy(&m, p, sizeof(m));
	if (m.count > entries_max(t) || m.count > m.total || m.state > IPC_RESCTRL_ON ||
	    (m.features & ~7U) || m.n_domains > IPC_BW_DOMAINS_MAX ||
	    m.n_quarantine > IPC_BW_QUARANTINE_MAX || m.reserved != 0 || m.in_use > m.capacity ||
	    m.capacity > m.num_rmids)
		return -ERANGE;
	for (uint32_t i = m.n_quarantine; i < IPC_BW_QUARANTINE_MAX; i++)
		if (m.quarantine_left_usec[i] != 0)
			return -ERANGE;
	for (uint32_t i = 0; i < IPC_BW_DOMAINS_MAX; i++) {
		const struct ipc_bandwidth_domain *d = &m.domains[i];

		if (i >= m.n_domains) {
			if (!all_zero(d, sizeof(*d)))
				return -ERANGE;
			continue;
		}
		if ((d->valid & ~IPC_BW_VALID_ALL) || d->reserved != 0 ||
		    !readback_cost_ok(d->readback_cost_permyriad))
			return -ERANGE;
	}
	return 0;
}

static int validate_bandwidth_entry(const void *p)
{
	struct ipc_bandwidth_entry e;

	memcpy(&e, p, sizeof(e));
	if (e.kind == IPC_BW_UNIT_PROCESS ? !pid_ok(e.pid) || e.cgroup_id != 0 :
	    e.kind == IPC_BW_UNIT_CGROUP  ? e.pid != 0 || e.cgroup_id == 0 :
					    true)
		return -ERANGE;
	if (!readback_cost_ok(e.readback_cost_permyriad))
		return -ERANGE;
	return bw_figures_check(&e.bw);
}

static int validate_ctl_pid(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_pid m;

	memcpy(&m, p, sizeof(m));
	if (!pid_ok(m.pid) || m.reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_ctl_enroll(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_enroll m;

	memcpy(&m, p, sizeof(m));
	if (!pid_ok(m.pid) || m.flags != 0 || m.reserved != 0 ||
	    m.readback_factor_permille > IPC_READBACK_FACTOR_MAX_PERMILLE)
		return -ERANGE;
	return 0;
}

static int validate_enrolled_entry(const void *p)
{
	struct ipc_enrolled_entry e;

	memcpy(&e, p, sizeof(e));
	if (!pid_ok(e.pid) || (e.mode != IPC_MODE_ARENA && e.mode != IPC_MODE_MONITOR) ||
	    (e.last_command != 0 && e.last_command != IPC_COMPRESS &&
	     e.last_command != IPC_RELAX) ||
	    e.readback_factor_permille > IPC_READBACK_FACTOR_MAX_PERMILLE)
		return -ERANGE;
	if (bw_figures_check(&e.bandwidth) < 0)
		return -ERANGE;
	return arena_stats_check(&e.stats);
}

static int validate_ctl_ok(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_ok m;

	/* Failures travel as IPC_ERROR; an OK carries exactly 0. */
	memcpy(&m, p, sizeof(m));
	if (m.result != 0 || m.reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_ctl_events(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_events m;

	memcpy(&m, p, sizeof(m));
	if (m.reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_events_reply(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_events_reply m;

	memcpy(&m, p, sizeof(m));
	if (m.count > entries_max(t) || m.reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_event_entry(const void *p)
{
	struct ipc_event_entry e;

	memcpy(&e, p, sizeof(e));
	if (e.kind < IPC_EVENT_ENROLLED || e.kind >= _IPC_EVENT_MAX || e.pid > INT32_MAX)
		return -ERANGE;
	if (e.pattern >= IPC_GROWTH_PATTERN_MAX || e.leak_confidence_permyriad > IPC_PERMYRIAD_MAX)
		return -ERANGE;
	return 0;
}

static int validate_ctl_records(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_records m;

	memcpy(&m, p, sizeof(m));
	if (m.pid > INT32_MAX)
		return -ERANGE;
	return 0;
}

static int validate_records_reply(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_records_reply m;

	memcpy(&m, p, sizeof(m));
	if (m.count > entries_max(t) || m.reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_rss_record(const void *p)
{
	struct ipc_rss_record e;

	memcpy(&e, p, sizeof(e));
	if (!pid_ok(e.pid) || e.reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_ctl_metrics(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_metrics m;

	memcpy(&m, p, sizeof(m));
	if (m.format >= _IPC_METRICS_FORMAT_MAX || m.reserved != 0)
		return -ERANGE;
	return 0;
}

static int validate_metrics_reply(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_metrics_reply m;

	memcpy(&m, p, sizeof(m));
	if (m.serial == 0 || m.count > entries_max(t) || m.format >= _IPC_METRICS_FORMAT_MAX ||
	    m.offset > m.total_bytes || m.count > m.total_bytes - m.offset)
		return -ERANGE;
	return 0;
}

/* Exposition text: any byte but NUL (the text is printed as a C string). */
static int validate_metrics_byte(const void *p)
{
	return *(const char *)p ? 0 : -ERANGE;
}

static int validate_ctl_profile(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_profile m;

	memcpy(&m, p, sizeof(m));
	if (m.hz == 0 || m.hz > IPC_PROFILE_HZ_MAX || m.n_pids == 0 ||
	    m.n_pids > IPC_PROFILE_PIDS_MAX || m.duration_usec > IPC_PROFILE_DURATION_MAX_USEC ||
	    m.flags != 0 || m.reserved != 0)
		return -ERANGE;
	for (uint32_t i = 0; i < IPC_PROFILE_PIDS_MAX; i++)
		if (i < m.n_pids ? !pid_ok(m.pids[i]) : m.pids[i] != 0)
			return -ERANGE;
	return 0;
}

static int validate_profile_reply(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_profile_reply m;
	uint32_t c;

	memcpy(&m, p, sizeof(m));
	c = m.capacity;
	if (m.profile_id == 0 || c < IPC_RING_CAPACITY_MIN || c > IPC_RING_CAPACITY_MAX ||
	    (c & (c - 1)) != 0 || m.sample_bytes != sizeof(struct ipc_ring_sample) ||
	    m.ring_bytes != ipc_ring_bytes(c) || m.hz == 0 || m.hz > IPC_PROFILE_HZ_MAX ||
	    m.n_pids == 0 || m.n_pids > IPC_PROFILE_PIDS_MAX)
		return -ERANGE;
	return 0;
}

static int validate_profile_id(const struct ipc_type_info *t, const void *p)
{
	struct ipc_ctl_profile_id m;

	memcpy(&m, p, sizeof(m));
	return m.profile_id == 0 ? -ERANGE : 0;
}

static const struct ipc_string_field enroll_strings[] = {
	STRING_FIELD(struct ipc_enroll, name),
};
static const struct ipc_string_field ctl_enroll_strings[] = {
	STRING_FIELD(struct ipc_ctl_enroll, name),
};
static const struct ipc_string_field enrolled_entry_strings[] = {
	STRING_FIELD(struct ipc_enrolled_entry, name),
};
static const struct ipc_string_field error_strings[] = {
	STRING_FIELD(struct ipc_error, message),
};
static const struct ipc_string_field status_reply_strings[] = {
	STRING_FIELD(struct ipc_ctl_status_reply, version),
	STRING_FIELD(struct ipc_ctl_status_reply, bpf_status),
	STRING_FIELD(struct ipc_ctl_status_reply, resctrl_status),
};
static const struct ipc_string_field bandwidth_reply_strings[] = {
	STRING_FIELD(struct ipc_ctl_bandwidth_reply, status),
};
static const struct ipc_string_field bandwidth_entry_strings[] = {
	STRING_FIELD(struct ipc_bandwidth_entry, name),
	STRING_FIELD(struct ipc_bandwidth_entry, group),
	STRING_FIELD(struct ipc_bandwidth_entry, reason),
};
static const struct ipc_string_field ctl_list_strings[] = {
	STRING_FIELD(struct ipc_ctl_list, cgroup),
};
static const struct ipc_string_field proc_entry_strings[] = {
	STRING_FIELD(struct ipc_proc_entry, comm),
	STRING_FIELD(struct ipc_proc_entry, cmdline),
};
static const struct ipc_string_field cgroup_entry_strings[] = {
	STRING_FIELD(struct ipc_cgroup_entry, path),
};
static const struct ipc_string_field show_reply_strings[] = {
	STRING_FIELD(struct ipc_ctl_show_reply, proc.comm),
	STRING_FIELD(struct ipc_ctl_show_reply, proc.cmdline),
	STRING_FIELD(struct ipc_ctl_show_reply, cgroup.path),
};
static const struct ipc_string_field event_entry_strings[] = {
	STRING_FIELD(struct ipc_event_entry, text),
	STRING_FIELD(struct ipc_event_entry, comm),
	STRING_FIELD(struct ipc_event_entry, cgroup),
};

#define STRINGS(a) .strings = (a), .n_strings = ELEMENTSOF(a)
#define ENTRY_STRINGS(a) .entry_strings = (a), .n_entry_strings = ELEMENTSOF(a)
#define FIXED(t, n, st, ...)                                               \
	{                                                                  \
		.type = t, .name = n, .body_size = sizeof(st), __VA_ARGS__ \
	}
#define LIST(t, n, st, entry, ...)                                                          \
	{                                                                                   \
		.type = t, .name = n, .body_size = sizeof(st), .entry_size = sizeof(entry), \
		.count_offset = offsetof(st, count), __VA_ARGS__                            \
	}

/* The one table: name, sizes, strings and validators of every type. */
static const struct ipc_type_info ipc_types[] = {
	FIXED(IPC_ENROLL, "ENROLL", struct ipc_enroll, STRINGS(enroll_strings),
	      .validate = validate_enroll),
	FIXED(IPC_ENROLL_ACK, "ENROLL_ACK", struct ipc_enroll_ack, .validate = validate_enroll_ack),
	FIXED(IPC_COMPRESS, "COMPRESS", struct ipc_compress, .validate = validate_compress),
	FIXED(IPC_COMPRESS_ACK, "COMPRESS_ACK", struct ipc_compress_ack,
	      .validate = validate_compress_ack),
	FIXED(IPC_RELAX, "RELAX", struct ipc_relax, .validate = validate_relax),
	FIXED(IPC_STATS, "STATS", struct ipc_stats, .validate = validate_stats),
	FIXED(IPC_BYE, "BYE", struct ipc_bye, .validate = validate_bye),
	FIXED(IPC_ERROR, "ERROR", struct ipc_error, STRINGS(error_strings),
	      .validate = validate_error),
	FIXED(IPC_HELLO, "HELLO", struct ipc_enroll, STRINGS(enroll_strings),
	      .validate = validate_enroll),
	FIXED(IPC_RELAX_ACK, "RELAX_ACK", struct ipc_compress_ack,
	      .validate = validate_compress_ack),
	{ .type = IPC_CTL_STATUS, .name = "CTL_STATUS", .body_size = 0 },
	FIXED(IPC_CTL_STATUS_REPLY, "CTL_STATUS_REPLY", struct ipc_ctl_status_reply,
	      STRINGS(status_reply_strings), .validate = validate_status_reply),
	FIXED(IPC_CTL_LIST, "CTL_LIST", struct ipc_ctl_list, STRINGS(ctl_list_strings),
	      .validate = validate_ctl_list),
	LIST(IPC_CTL_LIST_REPLY, "CTL_LIST_REPLY", struct ipc_ctl_list_reply, struct ipc_proc_entry,
	     ENTRY_STRINGS(proc_entry_strings), .validate = validate_list_reply,
	     .validate_entry = validate_proc_entry),
	FIXED(IPC_CTL_SHOW, "CTL_SHOW", struct ipc_ctl_pid, .validate = validate_ctl_pid),
	FIXED(IPC_CTL_SHOW_REPLY, "CTL_SHOW_REPLY", struct ipc_ctl_show_reply,
	      STRINGS(show_reply_strings), .validate = validate_show_reply),
	FIXED(IPC_CTL_ENROLL, "CTL_ENROLL", struct ipc_ctl_enroll, STRINGS(ctl_enroll_strings),
	      .validate = validate_ctl_enroll),
	FIXED(IPC_CTL_UNENROLL, "CTL_UNENROLL", struct ipc_ctl_pid, .validate = validate_ctl_pid),
	FIXED(IPC_CTL_OK, "CTL_OK", struct ipc_ctl_ok, .validate = validate_ctl_ok),
	FIXED(IPC_CTL_EVENTS, "CTL_EVENTS", struct ipc_ctl_events, .validate = validate_ctl_events),
	LIST(IPC_CTL_EVENTS_REPLY, "CTL_EVENTS_REPLY", struct ipc_ctl_events_reply,
	     struct ipc_event_entry, ENTRY_STRINGS(event_entry_strings),
	     .validate = validate_events_reply, .validate_entry = validate_event_entry),
	FIXED(IPC_CTL_CGROUPS, "CTL_CGROUPS", struct ipc_ctl_list, STRINGS(ctl_list_strings),
	      .validate = validate_ctl_list),
	LIST(IPC_CTL_CGROUPS_REPLY, "CTL_CGROUPS_REPLY", struct ipc_ctl_list_reply,
	     struct ipc_cgroup_entry, ENTRY_STRINGS(cgroup_entry_strings),
	     .validate = validate_list_reply, .validate_entry = validate_cgroup_entry),
	FIXED(IPC_CTL_ENROLLED, "CTL_ENROLLED", struct ipc_ctl_list, STRINGS(ctl_list_strings),
	      .validate = validate_ctl_list),
	LIST(IPC_CTL_ENROLLED_REPLY, "CTL_ENROLLED_REPLY", struct ipc_ctl_list_reply,
	     struct ipc_enrolled_entry, ENTRY_STRINGS(enrolled_entry_strings),
	     .validate = validate_list_reply, .validate_entry = validate_enrolled_entry),
	FIXED(IPC_CTL_BANDWIDTH, "CTL_BANDWIDTH", struct ipc_ctl_list, STRINGS(ctl_list_strings),
	      .validate = validate_ctl_list),
	LIST(IPC_CTL_BANDWIDTH_REPLY, "CTL_BANDWIDTH_REPLY", struct ipc_ctl_bandwidth_reply,
	     struct ipc_bandwidth_entry, STRINGS(bandwidth_reply_strings),
	     ENTRY_STRINGS(bandwidth_entry_strings), .validate = validate_bandwidth_reply,
	     .validate_entry = validate_bandwidth_entry),
	FIXED(IPC_CTL_RECORDS, "CTL_RECORDS", struct ipc_ctl_records,
	      .validate = validate_ctl_records),
	LIST(IPC_CTL_RECORDS_REPLY, "CTL_RECORDS_REPLY", struct ipc_ctl_records_reply,
	     struct ipc_rss_record, .validate = validate_records_reply,
	     .validate_entry = validate_rss_record),
	FIXED(IPC_CTL_METRICS, "CTL_METRICS", struct ipc_ctl_metrics,
	      .validate = validate_ctl_metrics),
	LIST(IPC_CTL_METRICS_REPLY, "CTL_METRICS_REPLY", struct ipc_ctl_metrics_reply, char,
	     .validate = validate_metrics_reply, .validate_entry = validate_metrics_byte),
	FIXED(IPC_CTL_PROFILE, "CTL_PROFILE", struct ipc_ctl_profile,
	      .validate = validate_ctl_profile),
	FIXED(IPC_CTL_PROFILE_REPLY, "CTL_PROFILE_REPLY", struct ipc_ctl_profile_reply,
	      .validate = validate_profile_reply),
	FIXED(IPC_CTL_PROFILE_ATTACH, "CTL_PROFILE_ATTACH", struct ipc_ctl_profile_id,
	      .validate = validate_profile_id),
	FIXED(IPC_CTL_PROFILE_STOP, "CTL_PROFILE_STOP", struct ipc_ctl_profile_id,
	      .validate = validate_profile_id),
};

static const struct ipc_type_info *type_lookup(uint16_t type)
{
	for (size_t i = 0; i < ELEMENTSOF(ipc_types); i++)
		if (ipc_types[i].type == type)
			return &ipc_types[i];
	return NULL;
}

const char *ipc_type_to_string(uint16_t type)
{
	const struct ipc_type_info *t = type_lookup(type);

	return t ? t->name : NULL;
}

size_t ipc_body_size(uint16_t type)
{
	const struct ipc_type_info *t = type_lookup(type);

	return t ? t->body_size : (size_t)-1;
}

size_t ipc_entry_size(uint16_t type)
{
	const struct ipc_type_info *t = type_lookup(type);

	return t ? t->entry_size : 0;
}

uint32_t ipc_entries_max(uint16_t type)
{
	const struct ipc_type_info *t = type_lookup(type);

	return t ? entries_max(t) : 0;
}

static uint32_t body_count(const struct ipc_type_info *t, const void *body)
{
	uint32_t count;

	memcpy(&count, (const uint8_t *)body + t->count_offset, sizeof(count));
	return count;
}

static int strings_check(const struct ipc_string_field *f, size_t n, const uint8_t *p)
{
	for (size_t i = 0; i < n; i++)
		if (!memchr(p + f[i].offset, '\0', f[i].size))
			return -EILSEQ;
	return 0;
}

/* Check the fixed part and n entries: every string first (-EILSEQ), then every
 * range (-ERANGE), so a message with both faults always gives the same errno. */
static int content_check(const struct ipc_type_info *t, const void *body, const void *entries,
			 uint32_t n)
{
	const uint8_t *e = entries;
	int r;

	r = strings_check(t->strings, t->n_strings, body);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < n; i++) {
		r = strings_check(t->entry_strings, t->n_entry_strings,
				  e + (size_t)i * t->entry_size);
		if (r < 0)
			return r;
	}

	if (t->validate) {
		r = t->validate(t, body);
		if (r < 0)
			return r;
	}
	for (uint32_t i = 0; i < n; i++) {
		r = t->validate_entry(e + (size_t)i * t->entry_size);
		if (r < 0)
			return r;
	}
	return 0;
}

ssize_t ipc_encode(void *buf, size_t buf_size, uint16_t type, uint32_t seq, const void *body,
		   size_t body_len, const void *entries, uint32_t n_entries)
{
	const struct ipc_type_info *t;
	struct ipc_header hdr;
	size_t len;
	int r;

	t = type_lookup(type);
	if (!t)
		return -ENOMSG;

	if (body_len != t->body_size || (body_len > 0 && !body))
		return -EINVAL;
	if (t->entry_size == 0) {
		if (entries || n_entries > 0)
			return -EINVAL;
	} else {
		if (n_entries > 0 && !entries)
			return -EINVAL;
		/* The count travels in the body; it must describe what follows. */
		if (body_count(t, body) != n_entries)
			return -EINVAL;
		if (n_entries > entries_max(t))
			return -EMSGSIZE;
	}

	/* n_entries <= entries_max, so this cannot overflow and is <= IPC_MSG_MAX */
	len = sizeof(hdr) + body_len + (size_t)n_entries * t->entry_size;
	if (!buf || len > buf_size)
		return -EMSGSIZE;

	r = content_check(t, body, entries, n_entries);
	if (r < 0)
		return r;

	hdr = (struct ipc_header){
		.magic = IPC_MAGIC,
		.version = IPC_VERSION,
		.type = type,
		.length = (uint32_t)len,
		.seq = seq,
	};
	memcpy(buf, &hdr, sizeof(hdr));
	if (body_len > 0)
		memcpy((uint8_t *)buf + sizeof(hdr), body, body_len);
	if (n_entries > 0)
		memcpy((uint8_t *)buf + sizeof(hdr) + body_len, entries,
		       (size_t)n_entries * t->entry_size);
	return (ssize_t)len;
}

int ipc_decode(const void *buf, size_t len, struct ipc_msg *ret)
{
	const struct ipc_type_info *t;
	struct ipc_header hdr;
	const uint8_t *body;
	size_t body_len;
	uint32_t n = 0;
	int r;

	if (!buf || len < sizeof(hdr))
		return -EBADMSG;
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.magic != IPC_MAGIC)
		return -EBADMSG;
	if (hdr.version != IPC_VERSION)
		return -EPROTO;
	t = type_lookup(hdr.type);
	if (!t)
		return -ENOMSG;
	if (hdr.length != len || len > IPC_MSG_MAX)
		return -EMSGSIZE;

	body = (const uint8_t *)buf + sizeof(hdr);
	body_len = len - sizeof(hdr);
	if (t->entry_size == 0) {
		if (body_len != t->body_size)
			return -EINVAL;
	} else {
		size_t rest;

		if (body_len < t->body_size)
			return -EINVAL;
		n = body_count(t, body);
		rest = body_len - t->body_size;
		/* divide rather than multiply: count is attacker-controlled */
		if (rest % t->entry_size != 0 || rest / t->entry_size != n)
			return -EINVAL;
	}

	r = content_check(t, body, body + t->body_size, n);
	if (r < 0)
		return r;

	if (ret)
		*ret = (struct ipc_msg){
			.hdr = hdr,
			.body = body,
			.body_len = t->body_size,
			.entries = n > 0 ? body + t->body_size : NULL,
			.n_entries = n,
		};
	return 0;
}

void ipc_error_fill(struct ipc_error *e, int code, uint32_t ref_seq, uint16_t ref_type,
		    const char *message)
{
	size_t n = 0;

	/* Accept either errno convention; anything that is no errno becomes -EIO so
	 * the result always passes the decoder's range check. */
	if (code > 0 && code <= IPC_ERRNO_MAX)
		code = -code;
	if (!errno_ok(code))
		code = -EIO;

	*e = (struct ipc_error){
		.code = code,
		.ref_seq = ref_seq,
		.ref_type = ref_type,
	};
	if (message) {
		n = strnlen(message, sizeof(e->message) - 1);
		memcpy(e->message, message, n);
	}
	e->message[n] = '\0';
}
