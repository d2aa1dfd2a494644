/* SPDX-License-Identifier: MIT */
/* tests/unit/test_ipc.c: ipc/ under hostile input (tables of malformed messages)
 * and over real AF_UNIX sockets in a private temporary directory. */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "common/macro.h"
#include "common/pidfd-util.h"
#include "ipc/ipc.h"

#define HDR sizeof(struct ipc_header)
#define BODY_MAX 1024

static const uint16_t all_types[] = {
	IPC_ENROLL,
	IPC_ENROLL_ACK,
	IPC_COMPRESS,
	IPC_COMPRESS_ACK,
	IPC_RELAX,
	IPC_STATS,
	IPC_BYE,
	IPC_ERROR,
	IPC_CTL_STATUS,
	IPC_CTL_STATUS_REPLY,
	IPC_CTL_LIST,
	IPC_CTL_LIST_REPLY,
	IPC_CTL_SHOW,
	IPC_CTL_SHOW_REPLY,
	IPC_CTL_ENROLL,
	IPC_CTL_UNENROLL,
	IPC_CTL_OK,
	IPC_CTL_EVENTS,
	IPC_CTL_EVENTS_REPLY,
	IPC_CTL_CGROUPS,
	IPC_CTL_CGROUPS_REPLY,
	IPC_HELLO,
	IPC_RELAX_ACK,
	IPC_CTL_ENROLLED,
	IPC_CTL_ENROLLED_REPLY,
	IPC_CTL_BANDWIDTH,
	IPC_CTL_BANDWIDTH_REPLY,
	IPC_CTL_RECORDS,
	IPC_CTL_RECORDS_REPLY,
	IPC_CTL_METRICS,
	IPC_CTL_METRICS_REPLY,
	IPC_CTL_PROFILE,
	IPC_CTL_PROFILE_REPLY,
	IPC_CTL_PROFILE_ATTACH,
	IPC_CTL_PROFILE_STOP,
};

static const uint16_t list_types[] = {
	IPC_CTL_LIST_REPLY,	IPC_CTL_EVENTS_REPLY,	 IPC_CTL_CGROUPS_REPLY,
	IPC_CTL_ENROLLED_REPLY, IPC_CTL_BANDWIDTH_REPLY, IPC_CTL_RECORDS_REPLY,
	IPC_CTL_METRICS_REPLY,
};

/* ---- building messages ---- */

static bool is_list(uint16_t type)
{
	return ipc_entry_size(type) > 0;
}

static size_t count_offset(uint16_t type)
{
	if (type == IPC_CTL_RECORDS_REPLY)
		return offsetof(struct ipc_ctl_records_reply, count);
	if (type == IPC_CTL_METRICS_REPLY)
		return offsetof(struct ipc_ctl_metrics_reply, count);
	return type == IPC_CTL_EVENTS_REPLY ? offsetof(struct ipc_ctl_events_reply, count) :
					      offsetof(struct ipc_ctl_list_reply, count);
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put(uint8_t *p, size_t off, unsigned width, uint64_t v)
{
	switch (width) {
	case 1:
		p[off] = (uint8_t)v;
		break;
	case 2:
		put16(p, off, (uint16_t)v);
		break;
	case 4:
		put32(p, off, (uint32_t)v);
		break;
	case 8:
		put64(p, off, v);
		break;
	default:
		fail_msg("bad width %u", width);
	}
}

static void arena_stats_sample(struct ipc_arena_stats *s)
{
	*s = (struct ipc_arena_stats){
		.logical_bytes = 64 << 20,
		.resident_bytes = 20 << 20,
		.compressed_bytes = 12 << 20,
		.hot_bytes = 8 << 20,
		.warm_bytes = 16 << 20,
		.cold_bytes = 40 << 20,
		.compressible_cold_bytes = 30 << 20,
		.chunks_raw = 300,
		.chunks_zero = 12,
		.chunks_lz4 = 500,
		.chunks_zstd = 200,
		.compress_cpu_ns = 123456789,
		.decompress_cpu_ns = 23456789,
		.readbacks = 77,
		.stall_p50_ns = 2000,
		.stall_p99_ns = 90000,
		.errors = 0,
		.fragmentation_permyriad = 1200,
		.admit_rate_permyriad = 10000,
	};
}

static void proc_entry_sample(struct ipc_proc_entry *e, uint32_t i)
{
	*e = (struct ipc_proc_entry){
		.pid = 1000 + i,
		.ppid = 1,
		.start_time_usec = 5000000 + i,
		.rss_anon_bytes = 1 << 20,
		.rss_file_bytes = 2 << 20,
		.rss_shmem_bytes = 4096,
		.swap_bytes = 0,
		.minor_faults = 10 * i,
		.major_faults = i,
		.growth_bytes_per_sec = -4096 + (int64_t)i,
		.enrolled = i & 1,
		.cgroup_id = i,
		.pattern = i % IPC_GROWTH_PATTERN_MAX,
		.leak_confidence_permyriad = 10000 - i,
		.growth_detected = i & 1,
	};
	snprintf(e->comm, sizeof(e->comm), "worker-%u", i);
	e->uid = 1000 + i;
	e->cmdline_bytes = (uint32_t)snprintf(e->cmdline, sizeof(e->cmdline), "worker --id %u", i);
}

static void cgroup_entry_sample(struct ipc_cgroup_entry *e, uint32_t i)
{
	*e = (struct ipc_cgroup_entry){
		.hierarchy = 1 + (i & 1),
		.nr_procs = i,
		.limit_bytes = UINT64_MAX,
		.soft_limit_bytes = 1ULL << 30,
		.usage_bytes = 512ULL << 20,
		.failcnt = 3,
		.oom_events = 0,
		.psi_some_avg10_permyriad = 10000,
		.psi_full_avg10_permyriad = 25,
		.flags = IPC_CGROUP_HAS_PSI,
		.growth_bytes_per_sec = 1 << 20,
		.time_to_limit_usec = UINT64_MAX,
		.pattern = 2,
		.leak_confidence_permyriad = 9900,
		.growth_detected = 1,
	};
	snprintf(e->path, sizeof(e->path), "/memctl/job-%u", i);
}

static void event_entry_sample(struct ipc_event_entry *e, uint32_t i)
{
	*e = (struct ipc_event_entry){
		.id = 100 + i,
		.time_usec = 1700000000000000ULL + i,
		.kind = IPC_EVENT_ENROLLED + i % (_IPC_EVENT_MAX - IPC_EVENT_ENROLLED),
		.pid = 4242,
		.value = -1,
	};
	snprintf(e->text, sizeof(e->text), "event %u", i);
	e->uid = i & 1 ? IPC_EVENT_UID_SYSTEM : 65534;
	e->cgroup_id = i;
	snprintf(e->comm, sizeof(e->comm), "worker-%u", i);
	snprintf(e->cgroup, sizeof(e->cgroup), "/memctl/job-%u", i);
}

static void enrolled_entry_sample(struct ipc_enrolled_entry *e, uint32_t i)
{
	*e = (struct ipc_enrolled_entry){
		.id = 10 + i,
		.pid = 2000 + i,
		.uid = 1000,
		.mode = i & 1 ? IPC_MODE_MONITOR : IPC_MODE_ARENA,
		.cgroup_id = i,
		.last_command = i & 1 ? IPC_RELAX : IPC_COMPRESS,
		.readback_factor_permille = 1500,
		.commands_sent = 3,
		.acks = 2,
	};
	arena_stats_sample(&e->stats);
	snprintf(e->name, sizeof(e->name), "job-%u", i);
}

static void bandwidth_entry_sample(struct ipc_bandwidth_entry *e, uint32_t i)
{
	*e = (struct ipc_bandwidth_entry){
		/* entry 1 (the one range rows patch) is a process */
		.kind = i % 2 ? IPC_BW_UNIT_PROCESS : IPC_BW_UNIT_CGROUP,
		.pid = i % 2 ? 4242 + i : 0,
		.cgroup_id = i % 2 ? 0 : 1 + i,
		.rmid = 1 + i,
		.priority = 1ULL << 63,
		.bw = { .mbm_total_bytes_per_sec = 100 << 20,
			.mbm_local_bytes_per_sec = 50 << 20,
			.llc_occupancy_bytes = 1 << 20,
			.state = IPC_BW_MONITORED,
			.valid = IPC_BW_VALID_ALL },
		.readback_cost_permyriad = 20000,
	};
	snprintf(e->name, sizeof(e->name), "unit-%u", i);
	snprintf(e->group, sizeof(e->group), "memctl-p%u-1", i);
}

static void entry_sample(uint16_t type, uint8_t *p, uint32_t i)
{
	switch (type) {
	case IPC_CTL_BANDWIDTH_REPLY: {
		struct ipc_bandwidth_entry e;
		bandwidth_entry_sample(&e, i);
		memcpy(p, &e, sizeof(e));
		break;
	}
	case IPC_CTL_ENROLLED_REPLY: {
		struct ipc_enrolled_entry e;
		enrolled_entry_sample(&e, i);
		memcpy(p, &e, sizeof(e));
		break;
	}
	case IPC_CTL_LIST_REPLY: {
		struct ipc_proc_entry e;
		proc_entry_sample(&e, i);
		memcpy(p, &e, sizeof(e));
		break;
	}
	case IPC_CTL_CGROUPS_REPLY: {
		struct ipc_cgroup_entry e;
		cgroup_entry_sample(&e, i);
		memcpy(p, &e, sizeof(e));
		break;
	}
	case IPC_CTL_EVENTS_REPLY: {
		struct ipc_event_entry e;
		event_entry_sample(&e, i);
		memcpy(p, &e, sizeof(e));
		break;
	}
	case IPC_CTL_METRICS_REPLY:
		*p = (uint8_t)('a' + i % 26); /* exposition text: any byte but NUL */
		break;
	case IPC_CTL_RECORDS_REPLY: {
		struct ipc_rss_record e = {
			.seq = 10 + i,
			.time_usec = 1000000 + i,
			.pid = 77 + i,
			.anon_bytes = 1 << 20,
		};
		memcpy(p, &e, sizeof(e));
		break;
	}
	default:
		fail_msg("type %u has no entries", type);
	}
}

/* A valid body of type into p (BODY_MAX bytes); list replies announce n entries. */
static size_t body_sample(uint16_t type, uint8_t *p, uint32_t n)
{
	memset(p, 0, BODY_MAX);
	switch (type) {
	case IPC_ENROLL:
	case IPC_HELLO: {
		struct ipc_enroll m = {
			.pid = 4242,
			.arena_bytes = 1 << 30,
			.chunk_size_bytes = 64 << 10,
			.codecs = IPC_CODEC_ALL,
		};
		strcpy(m.name, "redis-like");
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_ENROLL_ACK: {
		struct ipc_enroll_ack m = { .enrollment_id = 7,
					    .stats_interval_ms = 1000,
					    .readback_cost_permyriad = 10000 };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_COMPRESS: {
		struct ipc_compress m = {
			.target_bytes = 256 << 20,
			.max_hotness = IPC_COLD,
			.codecs = IPC_CODEC_LZ4,
			.deadline_ms = 500,
			.min_savings_permyriad = 500,
			.readback_cost_permyriad = 25000,
		};
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_COMPRESS_ACK:
	case IPC_RELAX_ACK: {
		struct ipc_compress_ack m = { .request_seq = 9,
					      .result = -ENOMEM,
					      .bytes_freed = 1 };
		arena_stats_sample(&m.stats);
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_RELAX: {
		struct ipc_relax m = { .prefetch_bytes = 1 << 20 };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_STATS: {
		struct ipc_stats m;
		arena_stats_sample(&m.stats);
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_BYE: {
		struct ipc_bye m = { .reason = IPC_BYE_SHUTDOWN };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_ERROR: {
		struct ipc_error m;
		ipc_error_fill(&m, -EPROTO, 5, IPC_ENROLL, "unsupported version");
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_STATUS:
		return 0;
	case IPC_CTL_STATUS_REPLY: {
		struct ipc_ctl_status_reply m = {
			.uptime_usec = 3600000000ULL,
			.pid = 77,
			.bpf_programs_loaded = 1,
			.bpf_programs_known = 1,
			.events_exec = 50,
			.events_fork = 60,
			.events_exit = 50,
			.events_lost = 0,
			.dry_run = 1,
		};
		strcpy(m.version, "0.1.0");
		strcpy(m.bpf_status, "lifecycle=loaded");
		m.resctrl_state = IPC_RESCTRL_ON;
		strcpy(m.resctrl_status, "on: 1 of 7 RMIDs in use");
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_BANDWIDTH_REPLY: {
		struct ipc_ctl_bandwidth_reply m = {
			.total = n + 2,
			.count = n,
			.state = IPC_RESCTRL_ON,
			.features = 7,
			.num_rmids = 8,
			.capacity = 6,
			.in_use = 3,
			.quarantined = 1,
			.n_domains = 2,
			.min_free_usec = 2000000,
			.n_quarantine = 1,
			.quarantine_left_usec = { 1500000 },
		};
		strcpy(m.status, "on");
		for (int d = 0; d < 2; d++)
			m.domains[d] = (struct ipc_bandwidth_domain){
				.id = (uint32_t)d,
				.valid = IPC_BW_VALID_TOTAL,
				.mbm_total_bytes_per_sec = 1 << 30,
				.peak_bytes_per_sec = 2ULL << 30,
				.readback_cost_permyriad = 10000,
			};
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_LIST:
	case IPC_CTL_CGROUPS:
	case IPC_CTL_BANDWIDTH:
	case IPC_CTL_ENROLLED: {
		struct ipc_ctl_list m = { .offset = 10, .sort = IPC_SORT_FAULTS };
		strcpy(m.cgroup, "/memctl");
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_LIST_REPLY:
	case IPC_CTL_CGROUPS_REPLY:
	case IPC_CTL_ENROLLED_REPLY: {
		struct ipc_ctl_list_reply m = { .total = n + 5, .count = n };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_SHOW:
	case IPC_CTL_UNENROLL: {
		struct ipc_ctl_pid m = { .pid = 4242 };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_ENROLL: {
		struct ipc_ctl_enroll m = { .pid = 4242, .readback_factor_permille = 2000 };
		strcpy(m.name, "my-job");
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_SHOW_REPLY: {
		struct ipc_ctl_show_reply m = {
			.pattern = 2,
			.leak_confidence_permyriad = 9000,
			.time_to_limit_usec = UINT64_MAX,
		};
		proc_entry_sample(&m.proc, 3);
		cgroup_entry_sample(&m.cgroup, 3);
		arena_stats_sample(&m.arena);
		m.proc_bandwidth = (struct ipc_bandwidth_figures){ .mbm_total_bytes_per_sec = 1,
								   .state = IPC_BW_MONITORED,
								   .valid = IPC_BW_VALID_TOTAL };
		m.cgroup_bandwidth.state = IPC_BW_UNMONITORED;
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_OK: {
		struct ipc_ctl_ok m = { 0 };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_EVENTS: {
		struct ipc_ctl_events m = { .since_id = 99, .max = 10 };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_EVENTS_REPLY: {
		struct ipc_ctl_events_reply m = { .next_id = 100 + n, .count = n };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_RECORDS: {
		struct ipc_ctl_records m = { .since_seq = 5, .pid = 42, .max = 100 };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_RECORDS_REPLY: {
		struct ipc_ctl_records_reply m = { .next_seq = 10 + n, .first_seq = 1, .count = n };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_METRICS: {
		struct ipc_ctl_metrics m = { .serial = 3, .offset = 100, .format = 1 };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_METRICS_REPLY: {
		struct ipc_ctl_metrics_reply m = {
			.serial = 3, .total_bytes = 1 << 20, .offset = 0, .count = n, .format = 0
		};
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_PROFILE: {
		struct ipc_ctl_profile m = {
			.hz = 20, .n_pids = 2, .duration_usec = 3000000, .pids = { 42, 43 }
		};
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_PROFILE_REPLY: {
		struct ipc_ctl_profile_reply m = { .profile_id = 1,
						   .ring_bytes = ipc_ring_bytes(1024),
						   .capacity = 1024,
						   .sample_bytes = sizeof(struct ipc_ring_sample),
						   .hz = 20,
						   .n_pids = 2 };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	case IPC_CTL_PROFILE_ATTACH:
	case IPC_CTL_PROFILE_STOP: {
		struct ipc_ctl_profile_id m = { .profile_id = 7 };
		memcpy(p, &m, sizeof(m));
		return sizeof(m);
	}
	}
	fail_msg("no sample for type %u", type);
	return 0;
}

/* A sample message: body and n entries (n ignored for fixed types). */
struct sample {
	uint8_t body[BODY_MAX];
	size_t body_len;
	uint8_t *entries; /* malloc'ed, n * entry size */
	uint32_t n;
};

static void sample_init(struct sample *s, uint16_t type, uint32_t n)
{
	size_t esz = ipc_entry_size(type);

	if (esz == 0)
		n = 0;
	s->n = n;
	s->body_len = body_sample(type, s->body, n);
	s->entries = NULL;
	if (n > 0) {
		s->entries = malloc(n * esz);
		assert_non_null(s->entries);
		for (uint32_t i = 0; i < n; i++)
			entry_sample(type, s->entries + i * esz, i);
	}
}

static void sample_done(struct sample *s)
{
	free(s->entries);
	s->entries = NULL;
}

static ssize_t sample_encode(const struct sample *s, uint16_t type, uint32_t seq, uint8_t *buf,
			     size_t size)
{
	return ipc_encode(buf, size, type, seq, s->body_len ? s->body : NULL, s->body_len,
			  s->entries, s->n);
}

/* Encode a valid message of type with n entries into a fresh heap buffer of
 * exactly its length (ASan then catches any read past the end). */
static uint8_t *msg_new(uint16_t type, uint32_t n, size_t *ret_len)
{
	_cleanup_free_ uint8_t *tmp = malloc(IPC_MSG_MAX);
	struct sample s;
	uint8_t *buf;
	ssize_t len;

	assert_non_null(tmp);
	sample_init(&s, type, n);
	len = sample_encode(&s, type, 42, tmp, IPC_MSG_MAX);
	sample_done(&s);
	if (len <= 0)
		fail_msg("encode of sample %s failed: %zd", ipc_type_to_string(type), len);
	buf = malloc((size_t)len);
	assert_non_null(buf);
	memcpy(buf, tmp, (size_t)len);
	*ret_len = (size_t)len;
	return buf;
}

/* Decode from an exactly-sized heap copy of buf[0..len). */
static int decode_exact(const uint8_t *buf, size_t len, struct ipc_msg *ret)
{
	_cleanup_free_ uint8_t *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	r = ipc_decode(len ? copy : NULL, len, ret);
	if (ret)
		*ret = (struct ipc_msg){ 0 }; /* points into copy, gone now */
	return r;
}

/* Raw header into buf, no checks: for messages an encoder would refuse. */
static void hdr_put(uint8_t *buf, uint32_t magic, uint16_t version, uint16_t type, uint32_t length,
		    uint32_t seq)
{
	struct ipc_header h = {
		.magic = magic,
		.version = version,
		.type = type,
		.length = length,
		.seq = seq,
	};
	memcpy(buf, &h, sizeof(h));
}

#define expect_r(r, want, fmt, ...)                                                             \
	do {                                                                                    \
		long long _r = (r), _w = (want);                                                \
		if (_r != _w)                                                                   \
			fail_msg("got %lld (%s), want %lld (%s): " fmt, _r, strerror((int)-_r), \
				 _w, strerror((int)-_w), __VA_ARGS__);                          \
	} while (0)

/* ---- type table ---- */

static void test_ipc_type_to_string_known(void **state)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
		{ IPC_ENROLL, "ENROLL" },
		{ IPC_ENROLL_ACK, "ENROLL_ACK" },
		{ IPC_COMPRESS, "COMPRESS" },
		{ IPC_COMPRESS_ACK, "COMPRESS_ACK" },
		{ IPC_RELAX, "RELAX" },
		{ IPC_STATS, "STATS" },
		{ IPC_BYE, "BYE" },
		{ IPC_ERROR, "ERROR" },
		{ IPC_CTL_STATUS, "CTL_STATUS" },
		{ IPC_CTL_STATUS_REPLY, "CTL_STATUS_REPLY" },
		{ IPC_CTL_LIST, "CTL_LIST" },
		{ IPC_CTL_LIST_REPLY, "CTL_LIST_REPLY" },
		{ IPC_CTL_SHOW, "CTL_SHOW" },
		{ IPC_CTL_SHOW_REPLY, "CTL_SHOW_REPLY" },
		{ IPC_CTL_ENROLL, "CTL_ENROLL" },
		{ IPC_CTL_UNENROLL, "CTL_UNENROLL" },
		{ IPC_CTL_OK, "CTL_OK" },
		{ IPC_CTL_EVENTS, "CTL_EVENTS" },
		{ IPC_CTL_EVENTS_REPLY, "CTL_EVENTS_REPLY" },
		{ IPC_CTL_CGROUPS, "CTL_CGROUPS" },
		{ IPC_CTL_CGROUPS_REPLY, "CTL_CGROUPS_REPLY" },
		{ IPC_HELLO, "HELLO" },
		{ IPC_RELAX_ACK, "RELAX_ACK" },
		{ IPC_CTL_ENROLLED, "CTL_ENROLLED" },
		{ IPC_CTL_ENROLLED_REPLY, "CTL_ENROLLED_REPLY" },
		{ IPC_CTL_BANDWIDTH, "CTL_BANDWIDTH" },
		{ IPC_CTL_BANDWIDTH_REPLY, "CTL_BANDWIDTH_REPLY" },
		{ IPC_CTL_RECORDS, "CTL_RECORDS" },
		{ IPC_CTL_RECORDS_REPLY, "CTL_RECORDS_REPLY" },
		{ IPC_CTL_METRICS, "CTL_METRICS" },
		{ IPC_CTL_METRICS_REPLY, "CTL_METRICS_REPLY" },
		{ IPC_CTL_PROFILE, "CTL_PROFILE" },
		{ IPC_CTL_PROFILE_REPLY, "CTL_PROFILE_REPLY" },
		{ IPC_CTL_PROFILE_ATTACH, "CTL_PROFILE_ATTACH" },
		{ IPC_CTL_PROFILE_STOP, "CTL_PROFILE_STOP" },
	};

	assert_int_equal(ELEMENTSOF(names), ELEMENTSOF(all_types));
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		const char *s = ipc_type_to_string(names[i].type);

		assert_non_null(s);
		assert_string_equal(s, names[i].name);
	}
}

static void test_ipc_type_to_string_unknown(void **state)
{
	unsigned known = 0;

	for (uint32_t t = 0; t <= UINT16_MAX; t++)
		if (ipc_type_to_string((uint16_t)t)) {
			known++;
			assert_true(ipc_body_size((uint16_t)t) != (size_t)-1);
		} else {
			assert_true(ipc_body_size((uint16_t)t) == (size_t)-1);
			assert_int_equal(ipc_entry_size((uint16_t)t), 0);
			assert_int_equal(ipc_entries_max((uint16_t)t), 0);
		}
	assert_int_equal(known, ELEMENTSOF(all_types));
}

static void test_ipc_body_size_known(void **state)
{
	static const struct {
		uint16_t type;
		size_t body, entry;
	} sizes[] = {
		{ IPC_ENROLL, sizeof(struct ipc_enroll), 0 },
		{ IPC_ENROLL_ACK, sizeof(struct ipc_enroll_ack), 0 },
		{ IPC_COMPRESS, sizeof(struct ipc_compress), 0 },
		{ IPC_COMPRESS_ACK, sizeof(struct ipc_compress_ack), 0 },
		{ IPC_RELAX, sizeof(struct ipc_relax), 0 },
		{ IPC_STATS, sizeof(struct ipc_stats), 0 },
		{ IPC_BYE, sizeof(struct ipc_bye), 0 },
		{ IPC_ERROR, sizeof(struct ipc_error), 0 },
		{ IPC_CTL_STATUS, 0, 0 },
		{ IPC_CTL_STATUS_REPLY, sizeof(struct ipc_ctl_status_reply), 0 },
		{ IPC_CTL_LIST, sizeof(struct ipc_ctl_list), 0 },
		{ IPC_CTL_LIST_REPLY, sizeof(struct ipc_ctl_list_reply),
		  sizeof(struct ipc_proc_entry) },
		{ IPC_CTL_SHOW, sizeof(struct ipc_ctl_pid), 0 },
		{ IPC_CTL_SHOW_REPLY, sizeof(struct ipc_ctl_show_reply), 0 },
		{ IPC_CTL_ENROLL, sizeof(struct ipc_ctl_enroll), 0 },
		{ IPC_CTL_UNENROLL, sizeof(struct ipc_ctl_pid), 0 },
		{ IPC_CTL_OK, sizeof(struct ipc_ctl_ok), 0 },
		{ IPC_CTL_EVENTS, sizeof(struct ipc_ctl_events), 0 },
		{ IPC_CTL_EVENTS_REPLY, sizeof(struct ipc_ctl_events_reply),
		  sizeof(struct ipc_event_entry) },
		{ IPC_CTL_CGROUPS, sizeof(struct ipc_ctl_list), 0 },
		{ IPC_CTL_CGROUPS_REPLY, sizeof(struct ipc_ctl_list_reply),
		  sizeof(struct ipc_cgroup_entry) },
		{ IPC_HELLO, sizeof(struct ipc_enroll), 0 },
		{ IPC_RELAX_ACK, sizeof(struct ipc_compress_ack), 0 },
		{ IPC_CTL_ENROLLED, sizeof(struct ipc_ctl_list), 0 },
		{ IPC_CTL_ENROLLED_REPLY, sizeof(struct ipc_ctl_list_reply),
		  sizeof(struct ipc_enrolled_entry) },
		{ IPC_CTL_BANDWIDTH, sizeof(struct ipc_ctl_list), 0 },
		{ IPC_CTL_BANDWIDTH_REPLY, sizeof(struct ipc_ctl_bandwidth_reply),
		  sizeof(struct ipc_bandwidth_entry) },
		{ IPC_CTL_RECORDS, sizeof(struct ipc_ctl_records), 0 },
		{ IPC_CTL_RECORDS_REPLY, sizeof(struct ipc_ctl_records_reply),
		  sizeof(struct ipc_rss_record) },
		{ IPC_CTL_METRICS, sizeof(struct ipc_ctl_metrics), 0 },
		{ IPC_CTL_METRICS_REPLY, sizeof(struct ipc_ctl_metrics_reply), 1 },
	};

	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		assert_int_equal(ipc_body_size(sizes[i].type), sizes[i].body);
		assert_int_equal(ipc_entry_size(sizes[i].type), sizes[i].entry);
	}
	/* the documented wire sizes (docs/protocol.md) */
	assert_int_equal(ipc_body_size(IPC_ENROLL), 56);
	assert_int_equal(ipc_body_size(IPC_ERROR), 108);
	assert_int_equal(ipc_body_size(IPC_ENROLL_ACK), 32);
	assert_int_equal(ipc_body_size(IPC_COMPRESS), 40);
	assert_int_equal(ipc_body_size(IPC_CTL_STATUS_REPLY), 640);
	assert_int_equal(ipc_body_size(IPC_CTL_SHOW_REPLY), 928);
	assert_int_equal(ipc_body_size(IPC_CTL_BANDWIDTH_REPLY), 672);
	assert_int_equal(ipc_entry_size(IPC_CTL_BANDWIDTH_REPLY), 448);
	assert_int_equal(ipc_entry_size(IPC_CTL_ENROLLED_REPLY), 336);
	assert_int_equal(ipc_entry_size(IPC_CTL_LIST_REPLY), 264);
	assert_int_equal(ipc_entry_size(IPC_CTL_CGROUPS_REPLY), 416);
	assert_int_equal(ipc_entry_size(IPC_CTL_EVENTS_REPLY), 440);
	assert_int_equal(ipc_body_size(IPC_CTL_RECORDS), 16);
	assert_int_equal(ipc_body_size(IPC_CTL_RECORDS_REPLY), 24);
	assert_int_equal(ipc_entry_size(IPC_CTL_RECORDS_REPLY), 56);
	assert_int_equal(ipc_body_size(IPC_CTL_METRICS), 24);
	assert_int_equal(ipc_body_size(IPC_CTL_METRICS_REPLY), 32);
}

static void test_ipc_entries_max_fits(void **state)
{
	assert_int_equal(ipc_entries_max(IPC_CTL_LIST_REPLY), 248);
	assert_int_equal(ipc_entries_max(IPC_CTL_CGROUPS_REPLY), 157);
	assert_int_equal(ipc_entries_max(IPC_CTL_EVENTS_REPLY), 148);
	assert_int_equal(ipc_entries_max(IPC_CTL_RECORDS_REPLY), 1169);
	assert_int_equal(ipc_entries_max(IPC_CTL_METRICS_REPLY), 65488);
	for (size_t i = 0; i < ELEMENTSOF(all_types); i++) {
		uint16_t t = all_types[i];
		size_t esz = ipc_entry_size(t), max = ipc_entries_max(t);

		if (esz == 0) {
			assert_int_equal(max, 0);
			continue;
		}
		/* as many as fit, and not one more */
		assert_true(HDR + ipc_body_size(t) + max * esz <= IPC_MSG_MAX);
		assert_true(HDR + ipc_body_size(t) + (max + 1) * esz > IPC_MSG_MAX);
	}
}

/* ---- encode ---- */

static void roundtrip_check(uint16_t type, uint32_t n)
{
	_cleanup_free_ uint8_t *buf = malloc(IPC_MSG_MAX);
	struct sample s;
	struct ipc_msg m;
	ssize_t len;
	size_t esz = ipc_entry_size(type);

	assert_non_null(buf);
	sample_init(&s, type, n);
	len = sample_encode(&s, type, 0xdeadbeef, buf, IPC_MSG_MAX);
	expect_r(len, (ssize_t)(HDR + s.body_len + s.n * esz), "%s n=%u", ipc_type_to_string(type),
		 n);

	expect_r(ipc_decode(buf, (size_t)len, &m), 0, "%s n=%u", ipc_type_to_string(type), n);
	assert_int_equal(m.hdr.magic, IPC_MAGIC);
	assert_int_equal(m.hdr.version, IPC_VERSION);
	assert_int_equal(m.hdr.type, type);
	assert_int_equal(m.hdr.length, len);
	assert_int_equal(m.hdr.seq, 0xdeadbeef);
	assert_ptr_equal(m.body, buf + HDR);
	assert_int_equal(m.body_len, s.body_len);
	if (s.body_len)
		assert_memory_equal(m.body, s.body, s.body_len);
	assert_int_equal(m.n_entries, s.n);
	if (s.n) {
		assert_ptr_equal(m.entries, buf + HDR + s.body_len);
		assert_memory_equal(m.entries, s.entries, s.n * esz);
	} else {
		assert_null(m.entries);
	}
	sample_done(&s);
}

static void test_ipc_encode_roundtrip_every_type(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(all_types); i++)
		roundtrip_check(all_types[i], 0);
}

static void test_ipc_encode_roundtrip_list_entries(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(list_types); i++) {
		uint16_t t = list_types[i];
		uint32_t ns[] = { 1, 2, 3, 17, ipc_entries_max(t) - 1, ipc_entries_max(t) };

		for (size_t j = 0; j < ELEMENTSOF(ns); j++)
			roundtrip_check(t, ns[j]);
	}
}

static void test_ipc_encode_roundtrip_typed(void **state)
{
	uint8_t buf[256];
	struct ipc_enroll in = {
		.pid = 1,
		.arena_bytes = UINT64_MAX,
		.chunk_size_bytes = 1 << 20,
		.codecs = IPC_CODEC_ZSTD,
	}, out;
	struct ipc_msg m;
	ssize_t len;

	memset(in.name, 'n', sizeof(in.name) - 1); /* longest name that fits */
	len = ipc_encode(buf, sizeof(buf), IPC_ENROLL, 7, &in, sizeof(in), NULL, 0);
	assert_int_equal(len, HDR + sizeof(in));
	assert_int_equal(ipc_decode(buf, (size_t)len, &m), 0);
	assert_int_equal(m.body_len, sizeof(out));
	memcpy(&out, m.body, sizeof(out));
	assert_int_equal(out.pid, 1);
	assert_true(out.arena_bytes == UINT64_MAX);
	assert_int_equal(out.chunk_size_bytes, 1 << 20);
	assert_int_equal(out.codecs, IPC_CODEC_ZSTD);
	assert_int_equal(strlen(out.name), IPC_NAME_MAX - 1);
}

static void test_ipc_encode_unknown_type(void **state)
{
	uint8_t buf[64], body[8] = { 0 };

	for (uint32_t t = 0; t <= UINT16_MAX; t++)
		if (!ipc_type_to_string((uint16_t)t))
			expect_r(ipc_encode(buf, sizeof(buf), (uint16_t)t, 1, body, sizeof(body),
					    NULL, 0),
				 -ENOMSG, "type %u", t);
}

static void test_ipc_encode_body_len_mismatch(void **state)
{
	uint8_t buf[2048], body[BODY_MAX] = { 0 };

	for (size_t i = 0; i < ELEMENTSOF(all_types); i++) {
		uint16_t t = all_types[i];
		size_t bs = ipc_body_size(t);
		const char *name = ipc_type_to_string(t);

		body_sample(t, body, 0);
		if (bs > 0) {
			expect_r(ipc_encode(buf, sizeof(buf), t, 1, body, bs - 1, NULL, 0), -EINVAL,
				 "%s -1", name);
			expect_r(ipc_encode(buf, sizeof(buf), t, 1, NULL, bs, NULL, 0), -EINVAL,
				 "%s NULL body", name);
		}
		expect_r(ipc_encode(buf, sizeof(buf), t, 1, body, bs + 1, NULL, 0), -EINVAL,
			 "%s +1", name);
		expect_r(ipc_encode(buf, sizeof(buf), t, 1, body, bs + 8, NULL, 0), -EINVAL,
			 "%s +8", name);
	}
}

static void test_ipc_encode_entries_mismatch(void **state)
{
	uint8_t buf[4096], entry[512] = { 0 };
	struct sample s;

	/* entries on a type that has none */
	for (size_t i = 0; i < ELEMENTSOF(all_types); i++) {
		uint16_t t = all_types[i];

		if (is_list(t))
			continue;
		sample_init(&s, t, 0);
		expect_r(ipc_encode(buf, sizeof(buf), t, 1, s.body_len ? s.body : NULL, s.body_len,
				    entry, 1),
			 -EINVAL, "%s with entries", ipc_type_to_string(t));
		expect_r(ipc_encode(buf, sizeof(buf), t, 1, s.body_len ? s.body : NULL, s.body_len,
				    NULL, 1),
			 -EINVAL, "%s with n_entries", ipc_type_to_string(t));
		sample_done(&s);
	}

	for (size_t i = 0; i < ELEMENTSOF(list_types); i++) {
		uint16_t t = list_types[i];
		const char *name = ipc_type_to_string(t);

		sample_init(&s, t, 3);
		/* count in the body disagrees with n_entries */
		expect_r(ipc_encode(buf, sizeof(buf), t, 1, s.body, s.body_len, s.entries, 2),
			 -EINVAL, "%s count 3, n 2", name);
		expect_r(ipc_encode(buf, sizeof(buf), t, 1, s.body, s.body_len, s.entries, 4),
			 -EINVAL, "%s count 3, n 4", name);
		/* entries missing */
		expect_r(ipc_encode(buf, sizeof(buf), t, 1, s.body, s.body_len, NULL, 3), -EINVAL,
			 "%s NULL entries", name);
		sample_done(&s);
	}
}

static void test_ipc_encode_buffer_too_small(void **state)
{
	_cleanup_free_ uint8_t *buf = malloc(IPC_MSG_MAX);

	assert_non_null(buf);
	for (size_t i = 0; i < ELEMENTSOF(all_types); i++) {
		uint16_t t = all_types[i];
		struct sample s;
		size_t need;

		sample_init(&s, t, 2);
		need = HDR + s.body_len + s.n * ipc_entry_size(t);
		expect_r(sample_encode(&s, t, 1, buf, need - 1), -EMSGSIZE, "%s",
			 ipc_type_to_string(t));
		expect_r(sample_encode(&s, t, 1, buf, 0), -EMSGSIZE, "%s", ipc_type_to_string(t));
		expect_r(sample_encode(&s, t, 1, NULL, 0), -EMSGSIZE, "%s", ipc_type_to_string(t));
		expect_r(sample_encode(&s, t, 1, buf, need), (ssize_t)need, "%s",
			 ipc_type_to_string(t));
		sample_done(&s);
	}
}

static void test_ipc_encode_too_many_entries(void **state)
{
	_cleanup_free_ uint8_t *buf = malloc(2 * IPC_MSG_MAX);

	assert_non_null(buf);
	for (size_t i = 0; i < ELEMENTSOF(list_types); i++) {
		uint16_t t = list_types[i];
		uint32_t max = ipc_entries_max(t);
		struct sample s;

		/* one more than fits in IPC_MSG_MAX, however large buf is */
		sample_init(&s, t, max + 1);
		expect_r(sample_encode(&s, t, 1, buf, 2 * IPC_MSG_MAX), -EMSGSIZE, "%s",
			 ipc_type_to_string(t));
		sample_done(&s);

		/* a huge count never reaches the entries */
		sample_init(&s, t, 0);
		put32(s.body, count_offset(t), UINT32_MAX);
		expect_r(ipc_encode(buf, 2 * IPC_MSG_MAX, t, 1, s.body, s.body_len, s.body,
				    UINT32_MAX),
			 -EMSGSIZE, "%s", ipc_type_to_string(t));
		sample_done(&s);
	}
}

/* ---- decode: framing ---- */

static void test_ipc_decode_short(void **state)
{
	size_t len;
	_cleanup_free_ uint8_t *msg = msg_new(IPC_BYE, 0, &len);

	/* empty, and 1..15 bytes of an otherwise valid message */
	assert_int_equal(ipc_decode(NULL, 0, NULL), -EBADMSG);
	for (size_t n = 0; n < HDR; n++)
		expect_r(decode_exact(msg, n, NULL), -EBADMSG, "len %zu", n);
}

static void test_ipc_decode_bad_magic(void **state)
{
	static const uint32_t magics[] = {
		0,
		1,
		0x4d43544cU /* byte-swapped */,
		IPC_MAGIC ^ 1,
		IPC_MAGIC ^ 0x80000000U,
		UINT32_MAX,
	};
	size_t len;
	_cleanup_free_ uint8_t *msg = msg_new(IPC_ENROLL, 0, &len);

	for (size_t i = 0; i < ELEMENTSOF(magics); i++) {
		put32(msg, offsetof(struct ipc_header, magic), magics[i]);
		expect_r(decode_exact(msg, len, NULL), -EBADMSG, "magic %#x", magics[i]);
	}
	/* also with a header and nothing else */
	expect_r(decode_exact(msg, HDR, NULL), -EBADMSG, "%s", "header only");
}

static void test_ipc_decode_bad_version(void **state)
{
	size_t len;
	_cleanup_free_ uint8_t *msg = msg_new(IPC_ENROLL, 0, &len);

	for (uint32_t v = 0; v <= UINT16_MAX; v++) {
		put16(msg, offsetof(struct ipc_header, version), (uint16_t)v);
		expect_r(ipc_decode(msg, len, NULL), v == IPC_VERSION ? 0 : -EPROTO, "version %u",
			 v);
	}
}

static void test_ipc_decode_unknown_type(void **state)
{
	uint8_t buf[HDR + 8] = { 0 };

	for (uint32_t t = 0; t <= UINT16_MAX; t++) {
		if (ipc_type_to_string((uint16_t)t))
			continue;
		hdr_put(buf, IPC_MAGIC, IPC_VERSION, (uint16_t)t, sizeof(buf), 1);
		expect_r(ipc_decode(buf, sizeof(buf), NULL), -ENOMSG, "type %u", t);
		hdr_put(buf, IPC_MAGIC, IPC_VERSION, (uint16_t)t, HDR, 1);
		expect_r(decode_exact(buf, HDR, NULL), -ENOMSG, "type %u, no body", t);
	}
}

static void test_ipc_decode_length_mismatch(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(all_types); i++) {
		uint16_t t = all_types[i];
		const char *name = ipc_type_to_string(t);
		size_t len;
		_cleanup_free_ uint8_t *msg = msg_new(t, 1, &len);
		_cleanup_free_ uint8_t *big = calloc(1, len + 64);
		const uint32_t lengths[] = { 0,	      1,	HDR - 1,     HDR,	len - 1,
					     len + 1, len + 64, IPC_MSG_MAX, UINT32_MAX };

		assert_non_null(big);
		for (size_t j = 0; j < ELEMENTSOF(lengths); j++) {
			if (lengths[j] == len)
				continue;
			put32(msg, offsetof(struct ipc_header, length), lengths[j]);
			expect_r(decode_exact(msg, len, NULL), -EMSGSIZE, "%s length %u", name,
				 lengths[j]);
		}
		/* header right, buffer longer or shorter than it says */
		put32(msg, offsetof(struct ipc_header, length), (uint32_t)len);
		memcpy(big, msg, len);
		expect_r(decode_exact(big, len + 1, NULL), -EMSGSIZE, "%s buffer +1", name);
		expect_r(decode_exact(big, len + 64, NULL), -EMSGSIZE, "%s buffer +64", name);
		if (len > HDR)
			expect_r(decode_exact(msg, len - 1, NULL), -EMSGSIZE, "%s buffer -1", name);
	}
}

static void test_ipc_decode_too_large(void **state)
{
	const size_t sizes[] = { IPC_MSG_MAX + 1, IPC_MSG_MAX + 112, 2 * IPC_MSG_MAX };
	_cleanup_free_ uint8_t *buf = calloc(1, 2 * IPC_MSG_MAX);

	assert_non_null(buf);
	for (size_t i = 0; i < ELEMENTSOF(list_types); i++) {
		uint16_t t = list_types[i];
		size_t esz = ipc_entry_size(t), bs = ipc_body_size(t);
		uint32_t n = ipc_entries_max(t) + 1;

		/* a list reply with one entry more than fits, header and count consistent */
		body_sample(t, buf + HDR, n);
		for (uint32_t j = 0; j < n; j++)
			entry_sample(t, buf + HDR + bs + (size_t)j * esz, j);
		hdr_put(buf, IPC_MAGIC, IPC_VERSION, t, (uint32_t)(HDR + bs + n * esz), 1);
		expect_r(ipc_decode(buf, HDR + bs + n * esz, NULL), -EMSGSIZE, "%s max+1",
			 ipc_type_to_string(t));

		for (size_t j = 0; j < ELEMENTSOF(sizes); j++) {
			hdr_put(buf, IPC_MAGIC, IPC_VERSION, t, (uint32_t)sizes[j], 1);
			expect_r(ipc_decode(buf, sizes[j], NULL), -EMSGSIZE, "%s %zu",
				 ipc_type_to_string(t), sizes[j]);
		}
	}
	hdr_put(buf, IPC_MAGIC, IPC_VERSION, IPC_ENROLL, IPC_MSG_MAX + 1, 1);
	assert_int_equal(ipc_decode(buf, IPC_MSG_MAX + 1, NULL), -EMSGSIZE);
}

/* Rewrite hdr.length to the buffer's length, as a careful attacker would. */
static void body_len_check(uint16_t type, const uint8_t *msg, size_t msg_len, size_t new_len,
			   int want, const char *what)
{
	_cleanup_free_ uint8_t *buf = calloc(1, new_len + 1);

	assert_non_null(buf);
	memcpy(buf, msg, MIN(msg_len, new_len));
	put32(buf, offsetof(struct ipc_header, length), (uint32_t)new_len);
	expect_r(decode_exact(buf, new_len, NULL), want, "%s %s", ipc_type_to_string(type), what);
}

static void test_ipc_decode_body_len_wrong(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(all_types); i++) {
		uint16_t t = all_types[i];
		size_t len, bs = ipc_body_size(t), esz = ipc_entry_size(t);
		_cleanup_free_ uint8_t *msg = msg_new(t, 2, &len);

		body_len_check(t, msg, len, len + 1, -EINVAL, "+1");
		body_len_check(t, msg, len, len + 8, -EINVAL, "+8");
		if (len > HDR)
			body_len_check(t, msg, len, len - 1, -EINVAL, "-1");
		if (esz) {
			/* fixed part cut short: count cannot even be read */
			body_len_check(t, msg, len, HDR + bs - 1, -EINVAL, "fixed -1");
			body_len_check(t, msg, len, HDR + 1, -EINVAL, "1 byte of body");
			/* a whole entry more or less than count says */
			body_len_check(t, msg, len, len - esz, -EINVAL, "-1 entry");
			body_len_check(t, msg, len, len + esz, -EINVAL, "+1 entry");
			body_len_check(t, msg, len, HDR + bs, -EINVAL, "no entries");
		} else if (bs > 0) {
			body_len_check(t, msg, len, HDR, -EINVAL, "no body");
			body_len_check(t, msg, len, len + bs, -EINVAL, "body twice");
		}
	}
}

static void test_ipc_decode_list_count_inconsistent(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(list_types); i++) {
		uint16_t t = list_types[i];
		size_t len, esz = ipc_entry_size(t);
		_cleanup_free_ uint8_t *msg = msg_new(t, 3, &len);
		size_t off = HDR + count_offset(t);
		/* counts whose count * entry_size wraps to the real length in 32 bits
		 * (and 16 bits), besides plainly wrong ones */
		uint32_t wrap32 = 3 + (uint32_t)(1ULL << (32 - __builtin_ctz((unsigned)esz)));
		uint32_t wrap16 = 3 + (uint32_t)(1U << (16 - __builtin_ctz((unsigned)esz)));
		const uint32_t counts[] = { 0,
					    2,
					    4,
					    1000,
					    ipc_entries_max(t),
					    ipc_entries_max(t) + 1,
					    wrap16,
					    wrap32,
					    UINT32_MAX,
					    UINT32_MAX / (uint32_t)esz + 1,
					    INT32_MAX };

		assert_int_equal((uint32_t)((uint64_t)wrap32 * esz), (uint32_t)(3 * esz));
		for (size_t j = 0; j < ELEMENTSOF(counts); j++) {
			/* 1-byte entries (CTL_METRICS_REPLY) cannot wrap: wrap32 is 3 */
			if (counts[j] == 3)
				continue;
			put32(msg, off, counts[j]);
			expect_r(decode_exact(msg, len, NULL), -EINVAL, "%s count %u",
				 ipc_type_to_string(t), counts[j]);
		}
		put32(msg, off, 3);
		assert_int_equal(decode_exact(msg, len, NULL), 0);
	}
}

/* ---- decode: strings ---- */

struct string_row {
	uint16_t type;
	bool entry;
	size_t offset, size;
	const char *what;
};

#define STR_ROW(t, st, field)                                                           \
	{                                                                               \
		t, false, offsetof(st, field), sizeof(((st *)0)->field), #st "." #field \
	}
#define STR_ENTRY_ROW(t, st, field)                                                    \
	{                                                                              \
		t, true, offsetof(st, field), sizeof(((st *)0)->field), #st "." #field \
	}

static const struct string_row string_rows[] = {
	STR_ROW(IPC_ENROLL, struct ipc_enroll, name),
	STR_ROW(IPC_ERROR, struct ipc_error, message),
	STR_ROW(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, version),
	STR_ROW(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, bpf_status),
	STR_ROW(IPC_CTL_LIST, struct ipc_ctl_list, cgroup),
	STR_ROW(IPC_CTL_CGROUPS, struct ipc_ctl_list, cgroup),
	STR_ROW(IPC_CTL_SHOW_REPLY, struct ipc_ctl_show_reply, proc.comm),
	STR_ROW(IPC_CTL_SHOW_REPLY, struct ipc_ctl_show_reply, cgroup.path),
	STR_ENTRY_ROW(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, comm),
	STR_ENTRY_ROW(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, cmdline),
	STR_ENTRY_ROW(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, path),
	STR_ENTRY_ROW(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, text),
	STR_ROW(IPC_HELLO, struct ipc_enroll, name),
	STR_ROW(IPC_CTL_ENROLL, struct ipc_ctl_enroll, name),
	STR_ROW(IPC_CTL_ENROLLED, struct ipc_ctl_list, cgroup),
	STR_ENTRY_ROW(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, name),
	STR_ROW(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, resctrl_status),
	STR_ROW(IPC_CTL_BANDWIDTH, struct ipc_ctl_list, cgroup),
	STR_ROW(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, status),
	STR_ENTRY_ROW(IPC_CTL_BANDWIDTH_REPLY, struct ipc_bandwidth_entry, name),
	STR_ENTRY_ROW(IPC_CTL_BANDWIDTH_REPLY, struct ipc_bandwidth_entry, group),
	STR_ENTRY_ROW(IPC_CTL_BANDWIDTH_REPLY, struct ipc_bandwidth_entry, reason),
	STR_ENTRY_ROW(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, comm),
	STR_ENTRY_ROW(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, cgroup),
};

/* Patch one string field of a 3-entry sample (entry index `which`) to fill, and
 * check both decoder and encoder. */
static void string_row_check(const struct string_row *row, uint32_t which, uint8_t fill,
			     bool terminate, int want)
{
	_cleanup_free_ uint8_t *buf = malloc(IPC_MSG_MAX);
	size_t esz = ipc_entry_size(row->type);
	struct sample s;
	uint8_t *field;
	ssize_t len;

	assert_non_null(buf);
	sample_init(&s, row->type, 3);
	field = row->entry ? s.entries + which * esz + row->offset : s.body + row->offset;
	memset(field, fill, row->size);
	if (terminate)
		field[row->size - 1] = '\0';

	/* want: the message length when valid, else the errno */
	expect_r(sample_encode(&s, row->type, 1, buf, IPC_MSG_MAX), want, "encode %s entry %u",
		 row->what, which);

	/* build the same message by hand (the encoder may refuse it) */
	len = (ssize_t)(HDR + s.body_len + s.n * esz);
	hdr_put(buf, IPC_MAGIC, IPC_VERSION, row->type, (uint32_t)len, 1);
	memcpy(buf + HDR, s.body, s.body_len);
	if (s.n)
		memcpy(buf + HDR + s.body_len, s.entries, s.n * esz);
	expect_r(decode_exact(buf, (size_t)len, NULL), want > 0 ? 0 : want, "decode %s entry %u",
		 row->what, which);
	sample_done(&s);
}

static void test_ipc_decode_unterminated_string(void **state)
{
	static const uint8_t fills[] = { 'A', 0xff, 0x80, '\n' };

	for (size_t i = 0; i < ELEMENTSOF(string_rows); i++) {
		const struct string_row *row = &string_rows[i];
		uint32_t last = row->entry ? 2 : 0;

		for (size_t f = 0; f < ELEMENTSOF(fills); f++) {
			string_row_check(row, 0, fills[f], false, -EILSEQ);
			string_row_check(row, last, fills[f], false, -EILSEQ);
		}
	}
}

static void test_ipc_decode_longest_string(void **state)
{
	/* size - 1 bytes and a NUL in the last byte is the longest valid string */
	for (size_t i = 0; i < ELEMENTSOF(string_rows); i++) {
		const struct string_row *row = &string_rows[i];
		size_t esz = ipc_entry_size(row->type);
		/* a list type's sample has 3 entries, whichever field is patched */
		size_t len = HDR + ipc_body_size(row->type) + (is_list(row->type) ? 3 * esz : 0);

		string_row_check(row, row->entry ? 2 : 0, 'x', true, (int)len);
	}
}

/* ---- decode: ranges ---- */

struct range_row {
	uint16_t type;
	bool entry; /* offset is into entry 1 of 3, else into the body */
	size_t offset;
	unsigned width;
	uint64_t value;
	int want; /* -ERANGE, or 0 for a boundary value that must pass */
	const char *what;
};

#define F(st, field) offsetof(st, field), sizeof(((st *)0)->field)
#define BAD(t, st, field, v)                                                  \
	{                                                                     \
		t, false, F(st, field), (uint64_t)(v), -ERANGE, #field "=" #v \
	}
#define OK(t, st, field, v)                                             \
	{                                                               \
		t, false, F(st, field), (uint64_t)(v), 0, #field "=" #v \
	}
#define BAD_E(t, st, field, v)                                               \
	{                                                                    \
		t, true, F(st, field), (uint64_t)(v), -ERANGE, #field "=" #v \
	}
#define OK_E(t, st, field, v)                                          \
	{                                                              \
		t, true, F(st, field), (uint64_t)(v), 0, #field "=" #v \
	}

/* CTL_METRICS_REPLY's entries are bytes of text */
struct metrics_byte {
	uint8_t c;
};

#define EN struct ipc_enroll
#define CA struct ipc_compress_ack
#define SR struct ipc_ctl_show_reply
static const struct range_row range_rows[] = {
	BAD(IPC_ENROLL, EN, pid, 0),
	BAD(IPC_ENROLL, EN, pid, 0x80000000U),
	BAD(IPC_ENROLL, EN, pid, UINT32_MAX),
	OK(IPC_ENROLL, EN, pid, INT32_MAX),
	BAD(IPC_ENROLL, EN, flags, 1),
	BAD(IPC_ENROLL, EN, flags, 0x80000000U),
	BAD(IPC_ENROLL, EN, chunk_size_bytes, 0),
	BAD(IPC_ENROLL, EN, chunk_size_bytes, 1),
	BAD(IPC_ENROLL, EN, chunk_size_bytes, 2048),
	BAD(IPC_ENROLL, EN, chunk_size_bytes, 4095),
	BAD(IPC_ENROLL, EN, chunk_size_bytes, 4097),
	BAD(IPC_ENROLL, EN, chunk_size_bytes, 12288),
	BAD(IPC_ENROLL, EN, chunk_size_bytes, 65535),
	BAD(IPC_ENROLL, EN, chunk_size_bytes, 2 << 20),
	BAD(IPC_ENROLL, EN, chunk_size_bytes, 0x80000000U),
	OK(IPC_ENROLL, EN, chunk_size_bytes, 4096),
	OK(IPC_ENROLL, EN, chunk_size_bytes, 1 << 20),
	BAD(IPC_ENROLL, EN, codecs, 0),
	BAD(IPC_ENROLL, EN, codecs, 4),
	BAD(IPC_ENROLL, EN, codecs, IPC_CODEC_ALL | 0x80000000U),
	OK(IPC_ENROLL, EN, codecs, IPC_CODEC_LZ4),
	BAD(IPC_ENROLL_ACK, struct ipc_enroll_ack, stats_interval_ms, 0),
	BAD(IPC_ENROLL_ACK, struct ipc_enroll_ack, stats_interval_ms, 99),
	OK(IPC_ENROLL_ACK, struct ipc_enroll_ack, stats_interval_ms, 100),
	OK(IPC_ENROLL_ACK, struct ipc_enroll_ack, stats_interval_ms, UINT32_MAX),
	BAD(IPC_ENROLL_ACK, struct ipc_enroll_ack, readback_cost_permyriad, 0),
	BAD(IPC_ENROLL_ACK, struct ipc_enroll_ack, readback_cost_permyriad, 9999),
	BAD(IPC_ENROLL_ACK, struct ipc_enroll_ack, readback_cost_permyriad, 100001),
	OK(IPC_ENROLL_ACK, struct ipc_enroll_ack, readback_cost_permyriad, 100000),
	BAD(IPC_ENROLL_ACK, struct ipc_enroll_ack, reserved2, 1),
	BAD(IPC_COMPRESS, struct ipc_compress, readback_cost_permyriad, 0),
	BAD(IPC_COMPRESS, struct ipc_compress, readback_cost_permyriad, UINT32_MAX),
	OK(IPC_COMPRESS, struct ipc_compress, readback_cost_permyriad, 10000),
	BAD(IPC_COMPRESS, struct ipc_compress, reserved2, 1),
	BAD(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, resctrl_state, 2),
	BAD(IPC_CTL_SHOW_REPLY, SR, proc_bandwidth.state, 4),
	BAD(IPC_CTL_SHOW_REPLY, SR, proc_bandwidth.valid, 8),
	BAD(IPC_CTL_SHOW_REPLY, SR, cgroup_bandwidth.valid, 1), /* not monitored: no figures */
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, state, 2),
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, features, 8),
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, n_domains, 9),
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, n_quarantine, 17),
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, in_use, 7),
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, capacity, 9),
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, reserved, 1),
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, quarantine_left_usec[1], 1),
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply,
	    domains[0].readback_cost_permyriad, 0),
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, domains[1].reserved, 1),
	BAD(IPC_CTL_BANDWIDTH_REPLY, struct ipc_ctl_bandwidth_reply, domains[2].id, 1),
	BAD_E(IPC_CTL_BANDWIDTH_REPLY, struct ipc_bandwidth_entry, kind, 0),
	BAD_E(IPC_CTL_BANDWIDTH_REPLY, struct ipc_bandwidth_entry, kind, 3),
	BAD_E(IPC_CTL_BANDWIDTH_REPLY, struct ipc_bandwidth_entry, pid, 0),
	BAD_E(IPC_CTL_BANDWIDTH_REPLY, struct ipc_bandwidth_entry, cgroup_id, 5),
	BAD_E(IPC_CTL_BANDWIDTH_REPLY, struct ipc_bandwidth_entry, readback_cost_permyriad, 0),
	BAD_E(IPC_CTL_BANDWIDTH_REPLY, struct ipc_bandwidth_entry, bw.state, 9),
	BAD_E(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, bandwidth.state, 4),
	BAD_E(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, bandwidth.valid, 1),
	BAD(IPC_ENROLL_ACK, struct ipc_enroll_ack, flags, 1),
	BAD(IPC_COMPRESS, struct ipc_compress, target_bytes, 0),
	OK(IPC_COMPRESS, struct ipc_compress, target_bytes, 1),
	BAD(IPC_COMPRESS, struct ipc_compress, max_hotness, IPC_COLD + 1),
	BAD(IPC_COMPRESS, struct ipc_compress, max_hotness, UINT32_MAX),
	OK(IPC_COMPRESS, struct ipc_compress, max_hotness, IPC_HOT),
	BAD(IPC_COMPRESS, struct ipc_compress, codecs, 0),
	BAD(IPC_COMPRESS, struct ipc_compress, codecs, 8),
	BAD(IPC_COMPRESS, struct ipc_compress, min_savings_permyriad, 10001),
	BAD(IPC_COMPRESS, struct ipc_compress, min_savings_permyriad, UINT32_MAX),
	OK(IPC_COMPRESS, struct ipc_compress, min_savings_permyriad, 10000),
	BAD(IPC_COMPRESS_ACK, CA, result, 1),
	BAD(IPC_COMPRESS_ACK, CA, result, INT32_MAX),
	BAD(IPC_COMPRESS_ACK, CA, result, (uint32_t)-4096),
	BAD(IPC_COMPRESS_ACK, CA, result, (uint32_t)INT32_MIN),
	OK(IPC_COMPRESS_ACK, CA, result, 0),
	OK(IPC_COMPRESS_ACK, CA, result, (uint32_t)-4095),
	BAD(IPC_COMPRESS_ACK, CA, stats.fragmentation_permyriad, 10001),
	BAD(IPC_COMPRESS_ACK, CA, stats.admit_rate_permyriad, 10001),
	BAD(IPC_STATS, struct ipc_stats, stats.fragmentation_permyriad, UINT32_MAX),
	BAD(IPC_STATS, struct ipc_stats, stats.admit_rate_permyriad, 10001),
	OK(IPC_STATS, struct ipc_stats, stats.errors, UINT64_MAX),
	BAD(IPC_RELAX, struct ipc_relax, flags, 1),
	BAD(IPC_RELAX, struct ipc_relax, reserved, 1),
	BAD(IPC_RELAX, struct ipc_relax, reserved, 0x80000000U),
	OK(IPC_RELAX, struct ipc_relax, prefetch_bytes, 0),
	BAD(IPC_BYE, struct ipc_bye, reason, IPC_BYE_SHUTDOWN + 1),
	BAD(IPC_BYE, struct ipc_bye, reason, UINT32_MAX),
	OK(IPC_BYE, struct ipc_bye, reason, IPC_BYE_EXIT),
	BAD(IPC_BYE, struct ipc_bye, reserved, 1),
	BAD(IPC_ERROR, struct ipc_error, code, 0),
	BAD(IPC_ERROR, struct ipc_error, code, 1),
	BAD(IPC_ERROR, struct ipc_error, code, INT32_MAX),
	BAD(IPC_ERROR, struct ipc_error, code, (uint32_t)-4096),
	BAD(IPC_ERROR, struct ipc_error, code, (uint32_t)INT32_MIN),
	OK(IPC_ERROR, struct ipc_error, code, (uint32_t)-1),
	OK(IPC_ERROR, struct ipc_error, code, (uint32_t)-4095),
	BAD(IPC_ERROR, struct ipc_error, reserved, 1),
	OK(IPC_ERROR, struct ipc_error, ref_type, 0xffff), /* refusing unknown types */
	BAD(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, dry_run, 2),
	BAD(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, psi_some_avg10_permyriad, 10001),
	BAD(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, psi_full_avg10_permyriad, 10001),
	BAD(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, reserved, 1),
	BAD(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, identity_pidfd, 2),
	BAD(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, reserved2, 1),
	BAD(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, policy_mode, 2),
	BAD(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, reserved3, 1),
	OK(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, identity_pidfd, 1),
	OK(IPC_CTL_STATUS_REPLY, struct ipc_ctl_status_reply, dry_run, 0),
	BAD(IPC_CTL_LIST, struct ipc_ctl_list, sort, IPC_SORT_FAULTS + 1),
	BAD(IPC_CTL_LIST, struct ipc_ctl_list, sort, UINT32_MAX),
	OK(IPC_CTL_LIST, struct ipc_ctl_list, sort, IPC_SORT_PID),
	OK(IPC_CTL_LIST, struct ipc_ctl_list, offset, UINT32_MAX),
	BAD(IPC_CTL_CGROUPS, struct ipc_ctl_list, sort, IPC_SORT_FAULTS + 1),
	BAD(IPC_CTL_LIST_REPLY, struct ipc_ctl_list_reply, total, 2), /* count 3 > total */
	OK(IPC_CTL_LIST_REPLY, struct ipc_ctl_list_reply, total, 3),
	BAD_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, pid, 0),
	BAD_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, pid, 0x80000000U),
	BAD_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, ppid, 0x80000000U),
	OK_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, ppid, 0),
	BAD_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, enrolled, 2),
	OK_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, cmdline_bytes, 0xffffffffU),
	OK_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, uid, 0xffffffffU),
	BAD_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, pattern, IPC_GROWTH_PATTERN_MAX),
	OK_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, pattern, IPC_GROWTH_PATTERN_MAX - 1),
	BAD_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, leak_confidence_permyriad, 10001),
	OK_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, leak_confidence_permyriad, 10000),
	BAD_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, growth_detected, 2),
	BAD_E(IPC_CTL_LIST_REPLY, struct ipc_proc_entry, growth_reserved, 1),
	BAD_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, pattern, UINT32_MAX),
	BAD_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, leak_confidence_permyriad, 10001),
	BAD_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, growth_detected, 2),
	BAD_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, growth_reserved, 1),
	OK_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, growth_bytes_per_sec, -1),
	BAD(IPC_CTL_METRICS, struct ipc_ctl_metrics, format, 2),
	BAD(IPC_CTL_METRICS, struct ipc_ctl_metrics, format, UINT32_MAX),
	OK(IPC_CTL_METRICS, struct ipc_ctl_metrics, format, 0),
	BAD(IPC_CTL_METRICS, struct ipc_ctl_metrics, reserved, 1),
	OK(IPC_CTL_METRICS, struct ipc_ctl_metrics, serial, 0),
	OK(IPC_CTL_METRICS, struct ipc_ctl_metrics, offset, UINT64_MAX),
	BAD(IPC_CTL_METRICS_REPLY, struct ipc_ctl_metrics_reply, serial, 0),
	BAD(IPC_CTL_METRICS_REPLY, struct ipc_ctl_metrics_reply, format, 2),
	/* offset + count (3 entries) beyond the whole */
	BAD(IPC_CTL_METRICS_REPLY, struct ipc_ctl_metrics_reply, total_bytes, 2),
	OK(IPC_CTL_METRICS_REPLY, struct ipc_ctl_metrics_reply, total_bytes, 3),
	BAD(IPC_CTL_METRICS_REPLY, struct ipc_ctl_metrics_reply, offset, (1 << 20) - 2),
	BAD(IPC_CTL_METRICS_REPLY, struct ipc_ctl_metrics_reply, offset, UINT64_MAX),
	OK(IPC_CTL_METRICS_REPLY, struct ipc_ctl_metrics_reply, offset, (1 << 20) - 3),
	BAD_E(IPC_CTL_METRICS_REPLY, struct metrics_byte, c, 0),
	OK_E(IPC_CTL_METRICS_REPLY, struct metrics_byte, c, 0xff),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, hz, 0),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, hz, 101),
	OK(IPC_CTL_PROFILE, struct ipc_ctl_profile, hz, 100),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, n_pids, 0),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, n_pids, 3), /* pids[2] is 0 */
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, n_pids, 65),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, n_pids, 1), /* pids[1] is not 0 */
	OK(IPC_CTL_PROFILE, struct ipc_ctl_profile, n_pids, 2),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, duration_usec, 86400000001ULL),
	OK(IPC_CTL_PROFILE, struct ipc_ctl_profile, duration_usec, 86400000000ULL),
	OK(IPC_CTL_PROFILE, struct ipc_ctl_profile, duration_usec, 0),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, flags, 1),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, reserved, 1),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, pids[0], 0),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, pids[1], 0x80000000U),
	BAD(IPC_CTL_PROFILE, struct ipc_ctl_profile, pids[63], 5), /* beyond n_pids */
	BAD(IPC_CTL_PROFILE_REPLY, struct ipc_ctl_profile_reply, profile_id, 0),
	BAD(IPC_CTL_PROFILE_REPLY, struct ipc_ctl_profile_reply, capacity, 1000),
	BAD(IPC_CTL_PROFILE_REPLY, struct ipc_ctl_profile_reply, capacity, 2048), /* bytes */
	BAD(IPC_CTL_PROFILE_REPLY, struct ipc_ctl_profile_reply, ring_bytes, 4096),
	BAD(IPC_CTL_PROFILE_REPLY, struct ipc_ctl_profile_reply, sample_bytes, 88),
	BAD(IPC_CTL_PROFILE_REPLY, struct ipc_ctl_profile_reply, hz, 0),
	BAD(IPC_CTL_PROFILE_REPLY, struct ipc_ctl_profile_reply, n_pids, 65),
	BAD(IPC_CTL_PROFILE_ATTACH, struct ipc_ctl_profile_id, profile_id, 0),
	BAD(IPC_CTL_PROFILE_STOP, struct ipc_ctl_profile_id, profile_id, 0),
	OK(IPC_CTL_PROFILE_STOP, struct ipc_ctl_profile_id, profile_id, UINT64_MAX),
	BAD(IPC_CTL_RECORDS, struct ipc_ctl_records, pid, 0x80000000U),
	OK(IPC_CTL_RECORDS, struct ipc_ctl_records, pid, 0),
	BAD(IPC_CTL_RECORDS_REPLY, struct ipc_ctl_records_reply, reserved, 1),
	BAD_E(IPC_CTL_RECORDS_REPLY, struct ipc_rss_record, pid, 0),
	BAD_E(IPC_CTL_RECORDS_REPLY, struct ipc_rss_record, reserved, 1),
	BAD(IPC_CTL_CGROUPS_REPLY, struct ipc_ctl_list_reply, total, 0),
	BAD_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, hierarchy, 0),
	BAD_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, hierarchy, 3),
	OK_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, hierarchy, 2),
	BAD_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, psi_some_avg10_permyriad, 10001),
	BAD_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, psi_full_avg10_permyriad, 10001),
	BAD_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, flags, 16),
	OK_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, flags, 15),
	BAD_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, flags, 0x80000000U),
	OK_E(IPC_CTL_CGROUPS_REPLY, struct ipc_cgroup_entry, flags, 0),
	BAD(IPC_CTL_SHOW, struct ipc_ctl_pid, pid, 0),
	BAD(IPC_CTL_SHOW, struct ipc_ctl_pid, pid, 0x80000000U),
	BAD(IPC_CTL_SHOW, struct ipc_ctl_pid, reserved, 1),
	BAD(IPC_CTL_ENROLL, struct ipc_ctl_enroll, pid, 0),
	BAD(IPC_CTL_ENROLL, struct ipc_ctl_enroll, pid, 0x80000000U),
	BAD(IPC_CTL_ENROLL, struct ipc_ctl_enroll, flags, 1),
	BAD(IPC_CTL_ENROLL, struct ipc_ctl_enroll, reserved, 1),
	BAD(IPC_CTL_ENROLL, struct ipc_ctl_enroll, readback_factor_permille, 1000001),
	OK(IPC_CTL_ENROLL, struct ipc_ctl_enroll, readback_factor_permille, 1000000),
	OK(IPC_CTL_ENROLL, struct ipc_ctl_enroll, readback_factor_permille, 0),
	BAD(IPC_HELLO, EN, pid, 0),
	BAD(IPC_HELLO, EN, flags, 1),
	BAD(IPC_HELLO, EN, codecs, 0),
	BAD(IPC_RELAX_ACK, CA, result, 1),
	OK(IPC_RELAX_ACK, CA, result, (uint32_t)-4095),
	BAD(IPC_ENROLL_ACK, struct ipc_enroll_ack, reserved, 1),
	BAD(IPC_ENROLL_ACK, struct ipc_enroll_ack, readback_factor_permille, 1000001),
	OK(IPC_ENROLL_ACK, struct ipc_enroll_ack, readback_factor_permille, 1000000),
	BAD(IPC_COMPRESS, struct ipc_compress, pressure_permyriad, 10001),
	OK(IPC_COMPRESS, struct ipc_compress, pressure_permyriad, 10000),
	BAD(IPC_COMPRESS, struct ipc_compress, reserved, 1),
	BAD(IPC_CTL_ENROLLED, struct ipc_ctl_list, sort, IPC_SORT_FAULTS + 1),
	BAD_E(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, pid, 0),
	BAD_E(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, mode, 0),
	BAD_E(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, mode, 3),
	OK_E(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, mode, IPC_MODE_MONITOR),
	BAD_E(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, last_command, IPC_STATS),
	OK_E(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, last_command, 0),
	BAD_E(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, readback_factor_permille, 1000001),
	BAD_E(IPC_CTL_ENROLLED_REPLY, struct ipc_enrolled_entry, stats.admit_rate_permyriad, 10001),
	BAD(IPC_CTL_UNENROLL, struct ipc_ctl_pid, pid, UINT32_MAX),
	BAD(IPC_CTL_UNENROLL, struct ipc_ctl_pid, reserved, 1),
	BAD(IPC_CTL_SHOW_REPLY, SR, proc.pid, 0),
	BAD(IPC_CTL_SHOW_REPLY, SR, proc.enrolled, 2),
	BAD(IPC_CTL_SHOW_REPLY, SR, cgroup.hierarchy, 3),
	BAD(IPC_CTL_SHOW_REPLY, SR, cgroup.hierarchy, 0), /* path is not empty */
	BAD(IPC_CTL_SHOW_REPLY, SR, cgroup.psi_some_avg10_permyriad, 10001),
	BAD(IPC_CTL_SHOW_REPLY, SR, arena.admit_rate_permyriad, 10001),
	BAD(IPC_CTL_SHOW_REPLY, SR, leak_confidence_permyriad, 10001),
	OK(IPC_CTL_SHOW_REPLY, SR, leak_confidence_permyriad, 10000),
	OK(IPC_CTL_SHOW_REPLY, SR, pattern, UINT32_MAX), /* policy's enum, not ours */
	BAD(IPC_CTL_OK, struct ipc_ctl_ok, result, 1),
	BAD(IPC_CTL_OK, struct ipc_ctl_ok, result, (uint32_t)-1),
	BAD(IPC_CTL_OK, struct ipc_ctl_ok, reserved, 1),
	BAD(IPC_CTL_EVENTS, struct ipc_ctl_events, reserved, 1),
	OK(IPC_CTL_EVENTS, struct ipc_ctl_events, max, UINT32_MAX),
	BAD(IPC_CTL_EVENTS_REPLY, struct ipc_ctl_events_reply, reserved, 1),
	BAD_E(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, kind, 0),
	BAD_E(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, kind, _IPC_EVENT_MAX),
	BAD_E(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, kind, UINT32_MAX),
	BAD_E(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, pid, 0x80000000U),
	OK_E(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, kind, _IPC_EVENT_MAX - 1),
	OK_E(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, pid, 0),
	OK_E(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, kind, IPC_EVENT_OOM_KILL),
	OK_E(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, kind, IPC_EVENT_EVENTS_SUPPRESSED),
	OK_E(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, uid, IPC_EVENT_UID_SYSTEM),
	OK_E(IPC_CTL_EVENTS_REPLY, struct ipc_event_entry, cgroup_id, UINT32_MAX),
};
#undef EN
#undef CA
#undef SR

static void range_row_check(const struct range_row *row)
{
	_cleanup_free_ uint8_t *buf = malloc(IPC_MSG_MAX);
	size_t esz = ipc_entry_size(row->type);
	const char *name = ipc_type_to_string(row->type);
	struct sample s;
	size_t len;
	ssize_t r;

	assert_non_null(buf);
	sample_init(&s, row->type, 3);
	put(row->entry ? s.entries + esz : s.body, row->offset, row->width, row->value);
	len = HDR + s.body_len + s.n * esz;

	r = sample_encode(&s, row->type, 1, buf, IPC_MSG_MAX);
	expect_r(r, row->want == 0 ? (ssize_t)len : row->want, "encode %s %s", name, row->what);

	hdr_put(buf, IPC_MAGIC, IPC_VERSION, row->type, (uint32_t)len, 1);
	memcpy(buf + HDR, s.body, s.body_len);
	if (s.n)
		memcpy(buf + HDR + s.body_len, s.entries, s.n * esz);
	expect_r(decode_exact(buf, len, NULL), row->want, "decode %s %s", name, row->what);
	sample_done(&s);
}

static void test_ipc_decode_out_of_range(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(range_rows); i++)
		if (range_rows[i].want != 0)
			range_row_check(&range_rows[i]);
}

static void test_ipc_decode_range_boundaries(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(range_rows); i++)
		if (range_rows[i].want == 0)
			range_row_check(&range_rows[i]);
}

static void test_ipc_decode_show_reply_no_cgroup(void **state)
{
	uint8_t buf[HDR + sizeof(struct ipc_ctl_show_reply)], body[BODY_MAX];
	struct ipc_ctl_show_reply m;

	/* "empty path if unknown": then hierarchy may be 0 */
	body_sample(IPC_CTL_SHOW_REPLY, body, 0);
	memcpy(&m, body, sizeof(m));
	memset(&m.cgroup, 0, sizeof(m.cgroup));
	assert_int_equal(ipc_encode(buf, sizeof(buf), IPC_CTL_SHOW_REPLY, 1, &m, sizeof(m), NULL,
				    0),
			 sizeof(buf));
	assert_int_equal(ipc_decode(buf, sizeof(buf), NULL), 0);
	m.cgroup.hierarchy = 3;
	assert_int_equal(ipc_encode(buf, sizeof(buf), IPC_CTL_SHOW_REPLY, 1, &m, sizeof(m), NULL,
				    0),
			 -ERANGE);
}

static void test_ipc_decode_error_order(void **state)
{
	size_t len;
	_cleanup_free_ uint8_t *msg = msg_new(IPC_ENROLL, 0, &len);
	_cleanup_free_ uint8_t *m = calloc(1, len + 8);
	const size_t name_off = HDR + offsetof(struct ipc_enroll, name);
	const size_t flags_off = HDR + offsetof(struct ipc_enroll, flags);

	assert_non_null(m);
	/* wrong magic beats everything */
	memcpy(m, msg, len);
	hdr_put(m, 0, 0, 0xffff, 0, 1);
	assert_int_equal(decode_exact(m, len, NULL), -EBADMSG);
	/* then version */
	hdr_put(m, IPC_MAGIC, IPC_VERSION + 1, 0xffff, 0, 1);
	assert_int_equal(decode_exact(m, len, NULL), -EPROTO);
	/* then type */
	hdr_put(m, IPC_MAGIC, IPC_VERSION, 0xffff, 0, 1);
	assert_int_equal(decode_exact(m, len, NULL), -ENOMSG);
	/* then length, even with a body too long for the type */
	hdr_put(m, IPC_MAGIC, IPC_VERSION, IPC_ENROLL, (uint32_t)len, 1);
	assert_int_equal(decode_exact(m, len + 8, NULL), -EMSGSIZE);
	/* then body size, even with bad strings and ranges in it */
	memset(m + name_off, 'A', IPC_NAME_MAX);
	put32(m, flags_off, 1);
	hdr_put(m, IPC_MAGIC, IPC_VERSION, IPC_ENROLL, (uint32_t)len + 8, 1);
	assert_int_equal(decode_exact(m, len + 8, NULL), -EINVAL);
	/* then strings before ranges */
	hdr_put(m, IPC_MAGIC, IPC_VERSION, IPC_ENROLL, (uint32_t)len, 1);
	assert_int_equal(decode_exact(m, len, NULL), -EILSEQ);
	m[name_off] = '\0';
	assert_int_equal(decode_exact(m, len, NULL), -ERANGE);
	put32(m, flags_off, 0);
	assert_int_equal(decode_exact(m, len, NULL), 0);
}

static void test_ipc_decode_error_order_entries(void **state)
{
	size_t len, esz = sizeof(struct ipc_event_entry);
	_cleanup_free_ uint8_t *msg = msg_new(IPC_CTL_EVENTS_REPLY, 3, &len);
	size_t e0 = HDR + sizeof(struct ipc_ctl_events_reply);

	/* a range fault in entry 0 and a string fault in entry 2: the string wins */
	put32(msg, e0 + offsetof(struct ipc_event_entry, kind), 0);
	memset(msg + e0 + 2 * esz + offsetof(struct ipc_event_entry, text), 'x', IPC_ERRMSG_MAX);
	assert_int_equal(decode_exact(msg, len, NULL), -EILSEQ);
	/* strings fixed, the range fault in entry 0 remains */
	msg[e0 + 2 * esz + offsetof(struct ipc_event_entry, text)] = '\0';
	assert_int_equal(decode_exact(msg, len, NULL), -ERANGE);
}

static void test_ipc_decode_unaligned(void **state)
{
	_cleanup_free_ uint8_t *buf = malloc(IPC_MSG_MAX + 8);

	assert_non_null(buf);
	for (size_t i = 0; i < ELEMENTSOF(all_types); i++) {
		uint16_t t = all_types[i];
		size_t len;
		_cleanup_free_ uint8_t *msg = msg_new(t, 3, &len);

		for (size_t shift = 1; shift < 8; shift++) {
			struct ipc_msg m;

			memcpy(buf + shift, msg, len);
			expect_r(ipc_decode(buf + shift, len, &m), 0, "%s shift %zu",
				 ipc_type_to_string(t), shift);
			assert_ptr_equal(m.body, buf + shift + HDR);
			assert_int_equal(m.hdr.type, t);
			assert_memory_equal(m.body, msg + HDR, len - HDR);
		}
	}
}

static void test_ipc_decode_every_prefix(void **state)
{
	/* every truncation of every valid message fails cleanly (ASan: no over-read) */
	for (size_t i = 0; i < ELEMENTSOF(all_types); i++) {
		uint16_t t = all_types[i];
		size_t len;
		_cleanup_free_ uint8_t *msg = msg_new(t, 2, &len);

		for (size_t n = 0; n < len; n++) {
			int r = decode_exact(msg, n, NULL);

			if (r != (n < HDR ? -EBADMSG : -EMSGSIZE))
				fail_msg("%s prefix %zu: %d", ipc_type_to_string(t), n, r);
		}
		/* and with the header's length patched to match the prefix */
		for (size_t n = HDR; n < len; n++) {
			put32(msg, offsetof(struct ipc_header, length), (uint32_t)n);
			if (decode_exact(msg, n, NULL) != -EINVAL)
				fail_msg("%s patched prefix %zu", ipc_type_to_string(t), n);
		}
	}
}

static void test_ipc_decode_ret_untouched_on_error(void **state)
{
	size_t len;
	_cleanup_free_ uint8_t *msg = msg_new(IPC_BYE, 0, &len);
	struct ipc_msg m, want;

	memset(&m, 0x5a, sizeof(m));
	want = m;
	put32(msg, HDR + offsetof(struct ipc_bye, reason), 99);
	assert_int_equal(ipc_decode(msg, len, &m), -ERANGE);
	assert_memory_equal(&m, &want, sizeof(m));
}

/* ---- ipc_error_fill ---- */

static void test_ipc_error_fill_truncates(void **state)
{
	char longmsg[300];
	struct ipc_error e;
	uint8_t buf[HDR + sizeof(e)];

	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	memset(&e, 0xff, sizeof(e));
	ipc_error_fill(&e, -EPERM, 12, IPC_CTL_ENROLL, longmsg);
	assert_int_equal(e.code, -EPERM);
	assert_int_equal(e.ref_seq, 12);
	assert_int_equal(e.ref_type, IPC_CTL_ENROLL);
	assert_int_equal(e.reserved, 0);
	assert_int_equal(strlen(e.message), IPC_ERRMSG_MAX - 1);
	assert_int_equal(ipc_encode(buf, sizeof(buf), IPC_ERROR, 12, &e, sizeof(e), NULL, 0),
			 sizeof(buf));
	assert_int_equal(ipc_decode(buf, sizeof(buf), NULL), 0);

	ipc_error_fill(&e, -EINVAL, 0, 0, NULL);
	assert_string_equal(e.message, "");
	ipc_error_fill(&e, -EINVAL, 0, 0, "short");
	assert_string_equal(e.message, "short");
}

static void test_ipc_error_fill_code(void **state)
{
	static const struct {
		int in, out;
	} codes[] = {
		{ -EPERM, -EPERM }, { EPERM, -EPERM }, { -4095, -4095 },
		{ 4095, -4095 },    { 0, -EIO },       { 4096, -EIO },
		{ -4096, -EIO },    { INT_MIN, -EIO }, { INT_MAX, -EIO },
	};
	uint8_t buf[HDR + sizeof(struct ipc_error)];

	for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
		struct ipc_error e;

		ipc_error_fill(&e, codes[i].in, 1, IPC_ENROLL, "x");
		expect_r(e.code, codes[i].out, "in %d", codes[i].in);
		/* whatever the caller passed, the body is one the decoder accepts */
		assert_int_equal(ipc_encode(buf, sizeof(buf), IPC_ERROR, 1, &e, sizeof(e), NULL, 0),
				 sizeof(buf));
	}
}

/* ---- sockets ---- */

/*
 * Interposes libc's fchmodat() for this binary: records the socket file's mode at
 * the moment ipc/ calls it, i.e. right after bind(), so a test can see the window
 * between bind() and the chmod never opens the file beyond the mode asked; and,
 * when swap_to is set, replaces the socket file with a symlink to swap_to first,
 * as an attacker racing the daemon would, before calling the real fchmodat.
 */
static mode_t mode_at_chmod;
static const char *swap_to;

int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	static int (*real)(int, const char *, mode_t, int);
	struct stat st;

	if (!real)
		real = (int (*)(int, const char *, mode_t, int))dlsym(RTLD_NEXT, "fchmodat");
	mode_at_chmod = fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mode & 07777 :
									      (mode_t)-1;
	if (swap_to) {
		assert_int_equal(unlinkat(dirfd, path, 0), 0);
		assert_int_equal(symlinkat(swap_to, dirfd, path), 0);
	}
	return real(dirfd, path, mode, flags);
}

struct fixture {
	char dir[64];
	char dgram[128];
	char control[128];
};

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_ipc.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->dgram, sizeof(f->dgram), "%s/%s", f->dir, IPC_DGRAM_SOCKET_NAME);
	snprintf(f->control, sizeof(f->control), "%s/%s", f->dir, IPC_CONTROL_SOCKET_NAME);
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *de;

	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				(void)unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static unsigned fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void socket_flags_check(int fd, int type)
{
	int v = 0;
	socklen_t len = sizeof(v);

	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	assert_int_equal(v, type);
}

static int passcred(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_PASSCRED, &v, &len), 0);
	return v;
}

static void test_ipc_dgram_listen_mode(void **state)
{
	struct fixture *f = *state;
	static const mode_t modes[] = { 0600, 0660, 0666, 0620, 0 };
	static const mode_t umasks[] = { 0, 022, 077, 0777 };

	for (size_t i = 0; i < ELEMENTSOF(modes); i++)
		for (size_t j = 0; j < ELEMENTSOF(umasks); j++) {
			mode_t old = umask(umasks[j]);
			_cleanup_close_ int fd = -1;
			struct stat st;

			mode_at_chmod = (mode_t)-1;
			fd = ipc_dgram_listen(f->dgram, modes[i]);
			umask(old);
			expect_r(fd >= 0 ? 0 : fd, 0, "mode %o umask %o", modes[i], umasks[j]);
			/* between bind() and chmod(): never more open than asked */
			if (mode_at_chmod == (mode_t)-1 || (mode_at_chmod & ~modes[i]))
				fail_msg("mode %o umask %o: %o right after bind()", modes[i],
					 umasks[j], mode_at_chmod);
			assert_int_equal(lstat(f->dgram, &st), 0);
			assert_true(S_ISSOCK(st.st_mode));
			if ((st.st_mode & 07777) != modes[i])
				fail_msg("mode %o umask %o: file has %o", modes[i], umasks[j],
					 st.st_mode & 07777);
			socket_flags_check(fd, SOCK_DGRAM);
			assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
			assert_true(passcred(fd));
			assert_int_equal(unlink(f->dgram), 0);
		}
}

static void test_ipc_dgram_listen_bad_args(void **state)
{
	struct fixture *f = *state;
	char longpath[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	char missing[256];

	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(missing, sizeof(missing), "%s/nodir/s.sock", f->dir);

	assert_int_equal(ipc_dgram_listen(longpath, 0600), -ENAMETOOLONG);
	assert_int_equal(ipc_dgram_listen("", 0600), -EINVAL);
	assert_int_equal(ipc_dgram_listen(NULL, 0600), -EINVAL);
	assert_int_equal(ipc_dgram_listen(f->dgram, 010000), -EINVAL);
	assert_int_equal(ipc_dgram_listen(missing, 0600), -ENOENT);
	assert_int_equal(ipc_control_listen(f->control, 0600, 0), -EINVAL);
	assert_int_equal(ipc_control_listen(longpath, 0600, 8), -ENAMETOOLONG);
	assert_int_equal(ipc_dgram_connect(longpath), -ENAMETOOLONG);
	assert_int_equal(ipc_control_connect(longpath, 100), -ENAMETOOLONG);
}

static void test_ipc_dgram_listen_stale(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, stale;

	/* a socket file nobody is bound to any more (a crashed daemon) */
	strcpy(sa.sun_path, f->dgram);
	stale = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(stale >= 0);
	assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(stale);

	fd = ipc_dgram_listen(f->dgram, 0666);
	assert_true(fd >= 0);
	/* it is ours now: a client reaches it */
	{
		_cleanup_close_ int c = ipc_dgram_connect(f->dgram);
		uint8_t b[4];

		assert_true(c >= 0);
		assert_int_equal(ipc_dgram_send(c, "ping", 4, NULL, 0), 0);
		assert_int_equal(ipc_dgram_recv(fd, b, sizeof(b), NULL, NULL, NULL), 4);
	}
	/* a live one is not stolen */
	assert_int_equal(ipc_dgram_listen(f->dgram, 0666), -EADDRINUSE);
	assert_int_equal(ipc_control_listen(f->dgram, 0666, 4), -EADDRINUSE);
	close(fd);
}

static void test_ipc_control_listen_stale(void **state)
{
	struct fixture *f = *state;
	int fd, again;

	fd = ipc_control_listen(f->control, 0600, 4);
	assert_true(fd >= 0);
	assert_int_equal(ipc_control_listen(f->control, 0600, 4), -EADDRINUSE);
	close(fd);
	/* the daemon died without unlinking: the next one takes over */
	again = ipc_control_listen(f->control, 0600, 4);
	assert_true(again >= 0);
	close(again);
}

static void test_ipc_dgram_listen_not_socket(void **state)
{
	struct fixture *f = *state;
	char buf[8] = { 0 };
	int fd;

	fd = open(f->dgram, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);

	assert_int_equal(ipc_dgram_listen(f->dgram, 0666), -EEXIST);
	assert_int_equal(ipc_control_listen(f->dgram, 0666, 4), -EEXIST);
	/* and the file is intact */
	fd = open(f->dgram, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "data");
	close(fd);
}

static void test_ipc_dgram_recv_credentials(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int srv = ipc_dgram_listen(f->dgram, 0666);
	_cleanup_close_ int cli = -1;
	uint8_t msg[256], buf[IPC_MSG_MAX];
	struct sockaddr_un from;
	socklen_t fromlen = sizeof(from);
	struct ipc_cred cred;
	struct ipc_msg m;
	struct ipc_bye bye = { .reason = IPC_BYE_EXIT };
	ssize_t len, n;

	assert_true(srv >= 0);
	cli = ipc_dgram_connect(f->dgram);
	assert_true(cli >= 0);
	socket_flags_check(cli, SOCK_DGRAM);
	assert_false(fcntl(cli, F_GETFL) & O_NONBLOCK);
	assert_true(passcred(cli));

	len = ipc_encode(msg, sizeof(msg), IPC_BYE, 3, &bye, sizeof(bye), NULL, 0);
	assert_true(len > 0);
	assert_int_equal(ipc_dgram_send(cli, msg, (size_t)len, NULL, 0), 0);

	memset(&cred, 0, sizeof(cred));
	n = ipc_dgram_recv(srv, buf, sizeof(buf), &cred, &from, &fromlen);
	assert_int_equal(n, len);
	assert_int_equal(cred.pid, getpid());
	assert_int_equal(cred.uid, getuid());
	assert_int_equal(cred.gid, getgid());
	/* the client's autobound abstract address: NUL, then 5 hex digits */
	assert_int_equal(from.sun_family, AF_UNIX);
	assert_true(fromlen > offsetof(struct sockaddr_un, sun_path) + 1);
	assert_int_equal(from.sun_path[0], '\0');
	assert_int_equal(ipc_decode(buf, (size_t)n, &m), 0);
	assert_int_equal(m.hdr.type, IPC_BYE);
	assert_int_equal(m.hdr.seq, 3);
}

static void test_ipc_dgram_send_reply_to_autobind(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int srv = ipc_dgram_listen(f->dgram, 0666);
	_cleanup_close_ int cli = ipc_dgram_connect(f->dgram);
	struct sockaddr_un from;
	socklen_t fromlen = sizeof(from);
	struct ipc_cred cred;
	char buf[16] = { 0 };

	assert_true(srv >= 0 && cli >= 0);
	assert_int_equal(ipc_dgram_send(cli, "hello", 5, NULL, 0), 0);
	assert_int_equal(ipc_dgram_recv(srv, buf, sizeof(buf), &cred, &from, &fromlen), 5);

	/* the daemon answers the address it received from */
	assert_int_equal(ipc_dgram_send(srv, "world", 5, &from, fromlen), 0);
	memset(buf, 0, sizeof(buf));
	memset(&cred, 0, sizeof(cred));
	assert_int_equal(ipc_dgram_recv(cli, buf, sizeof(buf), &cred, NULL, NULL), 5);
	assert_string_equal(buf, "world");
	assert_int_equal(cred.pid, getpid());
	assert_int_equal(ipc_dgram_send(srv, "x", 1, &from, 0), -EINVAL);
}

static void test_ipc_dgram_connect_daemon_only(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int srv = ipc_dgram_listen(f->dgram, 0666);
	_cleanup_close_ int cli = ipc_dgram_connect(f->dgram);
	_cleanup_close_ int other = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr;
	socklen_t addrlen = sizeof(addr);

	assert_true(srv >= 0 && cli >= 0 && other >= 0);
	/* bound to an abstract autobind name before sending anything */
	assert_int_equal(getsockname(cli, (struct sockaddr *)&addr, &addrlen), 0);
	assert_true(addrlen > offsetof(struct sockaddr_un, sun_path) + 1);
	assert_int_equal(addr.sun_path[0], '\0');
	/* a third party cannot inject into a connected workload socket */
	assert_int_equal(sendto(other, "evil", 4, MSG_DONTWAIT, (struct sockaddr *)&addr, addrlen),
			 -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ipc_dgram_send(other, "evil", 4, &addr, addrlen), -EPERM);
}

static void test_ipc_dgram_connect_missing(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int stale;

	assert_int_equal(ipc_dgram_connect(f->dgram), -ENOENT);
	assert_int_equal(ipc_dgram_connect(""), -EINVAL);

	strcpy(sa.sun_path, f->dgram);
	stale = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(stale >= 0);
	assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(stale);
	assert_int_equal(ipc_dgram_connect(f->dgram), -ECONNREFUSED);
}

static void test_ipc_dgram_recv_empty(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int srv = ipc_dgram_listen(f->dgram, 0666);
	uint8_t buf[64];
	struct sockaddr_un from;

	assert_true(srv >= 0);
	assert_int_equal(ipc_dgram_recv(srv, buf, sizeof(buf), NULL, NULL, NULL), -EAGAIN);
	assert_int_equal(ipc_dgram_recv(srv, buf, sizeof(buf), NULL, &from, NULL), -EINVAL);
	assert_int_equal(ipc_dgram_recv(-1, buf, sizeof(buf), NULL, NULL, NULL), -EBADF);
}

static void test_ipc_dgram_recv_truncated(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int srv = ipc_dgram_listen(f->dgram, 0666);
	_cleanup_close_ int cli = ipc_dgram_connect(f->dgram);
	uint8_t big[IPC_MSG_MAX + 1] = { 0 }, buf[IPC_MSG_MAX];
	struct ipc_cred cred = { 0 };

	assert_true(srv >= 0 && cli >= 0);
	assert_int_equal(ipc_dgram_send(cli, big, 100, NULL, 0), 0);
	assert_int_equal(ipc_dgram_recv(srv, buf, 10, &cred, NULL, NULL), -EMSGSIZE);
	assert_int_equal(cred.pid, 0); /* ret_* untouched on failure */
	/* one byte over the largest message */
	assert_int_equal(ipc_dgram_send(cli, big, sizeof(big), NULL, 0), 0);
	assert_int_equal(ipc_dgram_recv(srv, buf, sizeof(buf), &cred, NULL, NULL), -EMSGSIZE);
	/* the next datagram is unaffected */
	assert_int_equal(ipc_dgram_send(cli, big, 10, NULL, 0), 0);
	assert_int_equal(ipc_dgram_recv(srv, buf, 10, &cred, NULL, NULL), 10);
	assert_int_equal(cred.pid, getpid());
}

static void test_ipc_dgram_recv_no_credentials(void **state)
{
	int sv[2];
	uint8_t buf[16];
	struct ipc_cred cred = { .pid = -7 };

	/* neither end has SO_PASSCRED: the kernel attaches nothing */
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(send(sv[0], "abc", 3, 0), 3);
	assert_int_equal(ipc_dgram_recv(sv[1], buf, sizeof(buf), &cred, NULL, NULL), -ENODATA);
	assert_int_equal(cred.pid, -7);
	close(sv[0]);
	close(sv[1]);
}

static void test_ipc_dgram_recv_closes_passed_fds(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int srv = ipc_dgram_listen(f->dgram, 0666);
	_cleanup_close_ int cli = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	_cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fds[4];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(fds))];
	} control;
	struct iovec iov = { .iov_base = "fds!", .iov_len = 4 };
	struct msghdr mh = {
		.msg_name = &sa,
		.msg_namelen = sizeof(sa),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = &control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *c;
	struct ipc_cred cred;
	uint8_t buf[16];
	unsigned before;

	assert_true(srv >= 0 && cli >= 0 && devnull >= 0);
	strcpy(sa.sun_path, f->dgram);
	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		fds[i] = devnull;
	memset(&control, 0, sizeof(control));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	assert_int_equal(sendmsg(cli, &mh, 0), 4);

	before = fds_open();
	assert_int_equal(ipc_dgram_recv(srv, buf, sizeof(buf), &cred, NULL, NULL), 4);
	assert_int_equal(cred.pid, getpid());
	assert_int_equal(fds_open(), before);
}

/* A symlink swapped in for the socket between bind() and the chmod: the chmod must
 * not follow it (issue 9: a root 0600 file was made 0666 that way). */
static void test_ipc_dgram_listen_chmod_never_follows(void **state)
{
	struct fixture *f = *state;
	char secret[160];
	struct stat st;
	int fd;

	snprintf(secret, sizeof(secret), "%s/secret", f->dir);
	fd = open(secret, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(secret, 0600), 0);
	swap_to = secret;
	fd = ipc_dgram_listen(f->dgram, 0666);
	swap_to = NULL;
	assert_true(fd < 0); /* refused: the name is no longer our socket */
	assert_int_equal(stat(secret, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* and the planted name is gone, not left pointing anywhere */
	assert_int_equal(lstat(f->dgram, &st), -1);
}

/* Binding through a directory fd: renaming the directory (or swapping a symlink in
 * for it) after it was opened cannot move where the socket is made. */
static void test_ipc_listen_at_binds_through_the_fd(void **state)
{
	struct fixture *f = *state;
	char sub[160], moved[160], path[200];
	_cleanup_close_ int dir = -1, fd = -1, fd2 = -1;
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	snprintf(moved, sizeof(moved), "%s/moved", f->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	dir = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dir >= 0);
	assert_int_equal(rename(sub, moved), 0);
	assert_int_equal(mkdir(sub, 0755), 0); /* a decoy where the path pointed */
	fd = ipc_dgram_listen_at(dir, IPC_DGRAM_SOCKET_NAME, 0666);
	assert_true(fd >= 0);
	fd2 = ipc_control_listen_at(dir, IPC_CONTROL_SOCKET_NAME, 0600, 4);
	assert_true(fd2 >= 0);
	snprintf(path, sizeof(path), "%s/%s", moved, IPC_DGRAM_SOCKET_NAME);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0666);
	snprintf(path, sizeof(path), "%s/%s", sub, IPC_DGRAM_SOCKET_NAME);
	assert_int_equal(lstat(path, &st), -1);
	/* a live socket under the name is not stolen */
	assert_int_equal(ipc_dgram_listen_at(dir, IPC_DGRAM_SOCKET_NAME, 0666), -EADDRINUSE);
	assert_int_equal(ipc_dgram_listen_at(dir, "a/b", 0666), -EINVAL);
	assert_int_equal(ipc_dgram_listen_at(dir, "", 0666), -EINVAL);
	assert_int_equal(ipc_control_listen_at(dir, "x", 0666, 0), -EINVAL);
	snprintf(path, sizeof(path), "%s/%s", moved, IPC_DGRAM_SOCKET_NAME);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", moved, IPC_CONTROL_SOCKET_NAME);
	unlink(path);
	rmdir(moved);
	rmdir(sub);
}

/* SCM_PIDFD names the sender as it was when it sent: the pidfd of a sender that has
 * exited and been reaped since is dead, whatever now holds its PID. */
static void test_ipc_dgram_recv_meta_pidfd(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int srv = ipc_dgram_listen(f->dgram, 0666);
	struct ipc_recv_meta m;
	uint8_t buf[16];
	pid_t child;
	int status;

	assert_true(srv >= 0);
	assert_int_equal(ipc_socket_pass_pidfd(srv), 0);
	{
		_cleanup_close_ int cli = ipc_dgram_connect(f->dgram);

		assert_int_equal(ipc_dgram_send(cli, "me", 2, NULL, 0), 0);
	}
	assert_int_equal(ipc_dgram_recv_meta(srv, buf, sizeof(buf), false, &m), 2);
	assert_true(m.pidfd >= 0);
	assert_int_equal(m.cred.pid, getpid());
	assert_int_equal(pidfd_check_alive(m.pidfd), 0);
	assert_true(m.addrlen > sizeof(sa_family_t));
	ipc_recv_meta_done(&m);
	assert_int_equal(m.pidfd, -1);

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int c = ipc_dgram_connect(f->dgram);

		_exit(c >= 0 && ipc_dgram_send(c, "ghost", 5, NULL, 0) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(status, 0);
	assert_int_equal(ipc_dgram_recv_meta(srv, buf, sizeof(buf), false, &m), 5);
	assert_int_equal(m.cred.pid, child);
	assert_true(m.pidfd >= 0);
	assert_int_equal(pidfd_check_alive(m.pidfd), -ESRCH);
	ipc_recv_meta_done(&m);
}

/* An fd passed with ipc_dgram_send_fd arrives with keep_fd and is closed without. */
static void test_ipc_dgram_send_fd_roundtrip(void **state)
{
	int sv[2], pass[2], one = 1;
	struct ipc_recv_meta m;
	unsigned before;
	uint8_t buf[8];

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	assert_int_equal(pipe2(pass, O_CLOEXEC), 0);
	assert_int_equal(ipc_dgram_send_fd(sv[0], "fd", 2, NULL, 0, pass[1]), 0);
	assert_int_equal(ipc_dgram_recv_meta(sv[1], buf, sizeof(buf), true, &m), 2);
	assert_true(m.fd >= 0);
	assert_int_equal(write(m.fd, "z", 1), 1); /* the same pipe */
	assert_int_equal(read(pass[0], buf, 1), 1);
	assert_int_equal(buf[0], 'z');
	ipc_recv_meta_done(&m);

	before = fds_open();
	assert_int_equal(ipc_dgram_send_fd(sv[0], "fd", 2, NULL, 0, pass[1]), 0);
	assert_int_equal(ipc_dgram_recv_meta(sv[1], buf, sizeof(buf), false, &m), 2);
	assert_int_equal(m.fd, -1);
	assert_int_equal(fds_open(), before);
	assert_int_equal(ipc_dgram_send_fd(sv[0], "fd", 2, NULL, 0, -1), -EINVAL);
	close(pass[0]);
	close(pass[1]);
	close(sv[0]);
	close(sv[1]);
}

/* SIOCOUTQ counts what a socket sent and its peer has not read yet. */
static void test_ipc_socket_outq_counts_unread(void **state)
{
	size_t q0, q1, q2, sndbuf;
	int sv[2];
	uint8_t buf[256];

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ipc_socket_outq(sv[0], &q0, &sndbuf), 0);
	assert_true(sndbuf > 0);
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < 10; i++)
		assert_int_equal(send(sv[0], buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(ipc_socket_outq(sv[0], &q1, &sndbuf), 0);
	assert_true(q1 >= q0 + 10 * sizeof(buf));
	for (int i = 0; i < 10; i++)
		assert_int_equal(recv(sv[1], buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(ipc_socket_outq(sv[0], &q2, &sndbuf), 0);
	assert_int_equal(q2, q0);
	close(sv[0]);
	close(sv[1]);
}

static void test_ipc_socket_set_timeouts_values(void **state)
{
	int sv[2];
	struct timeval tv;
	socklen_t len = sizeof(tv);

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ipc_socket_set_timeouts(sv[0], 1500), 0);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
	assert_int_equal(tv.tv_sec, 1);
	assert_int_equal(tv.tv_usec, 500000);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, &len), 0);
	assert_int_equal(tv.tv_sec, 1);
	assert_int_equal(tv.tv_usec, 500000);
	assert_int_equal(ipc_socket_set_timeouts(sv[0], 0), 0);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 0);
	assert_int_equal(ipc_socket_set_timeouts(-1, 10), -EBADF);
	close(sv[0]);
	close(sv[1]);
}

static void test_ipc_peer_cred_socketpair(void **state)
{
	int sv[2];
	struct ipc_cred cred;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ipc_peer_cred(sv[0], &cred), 0);
	assert_int_equal(cred.pid, getpid());
	assert_int_equal(cred.uid, getuid());
	assert_int_equal(cred.gid, getgid());
	assert_int_equal(ipc_peer_cred(-1, &cred), -EBADF);
	close(sv[0]);
	close(sv[1]);
}

static void test_ipc_control_listen_mode(void **state)
{
	struct fixture *f = *state;
	static const mode_t modes[] = { 0600, 0666, 0640 };

	for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
		mode_t old = umask(0);
		_cleanup_close_ int fd = ipc_control_listen(f->control, modes[i], 16);
		struct stat st;
		int acc = 0;
		socklen_t len = sizeof(acc);

		umask(old);
		assert_true(fd >= 0);
		assert_int_equal(lstat(f->control, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
		assert_int_equal(st.st_mode & 07777, modes[i]);
		socket_flags_check(fd, SOCK_SEQPACKET);
		assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
		assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len), 0);
		assert_true(acc);
		assert_int_equal(unlink(f->control), 0);
	}
}

static void test_ipc_control_connect_missing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ipc_control_connect(f->control, 100), -ENOENT);
	assert_int_equal(ipc_control_connect(NULL, 100), -EINVAL);
}

static void test_ipc_control_connect_timeout(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int srv = ipc_control_listen(f->control, 0600, 1);
	int fds[16];
	size_t n = 0;
	int r = 0;

	/* nobody accepts: once the backlog is full, connect() times out */
	assert_true(srv >= 0);
	while (n < ELEMENTSOF(fds)) {
		r = ipc_control_connect(f->control, 50);
		if (r < 0)
			break;
		fds[n++] = r;
	}
	assert_int_equal(r, -ETIMEDOUT);
	assert_true(n >= 1);
	while (n > 0)
		close(fds[--n]);
}

enum serve_mode {
	SERVE_ECHO, /* answer CTL_STATUS with a status reply, CTL_LIST with a full page */
	SERVE_ERROR, /* answer with IPC_ERROR */
	SERVE_BAD_SEQ, /* answer with another seq */
	SERVE_HANGUP, /* read the request, close */
	SERVE_GARBAGE, /* answer with bytes that are no message */
};

struct server {
	int listen_fd;
	enum serve_mode mode;
	unsigned requests;
	/* results, read by the test after pthread_join() */
	int r;
	struct ipc_cred peer;
	uint16_t types[4];
	uint32_t seqs[4];
	unsigned served;
};

static int server_reply(struct server *s, int fd, const struct ipc_msg *req)
{
	_cleanup_free_ uint8_t *out = malloc(IPC_MSG_MAX);
	uint8_t body[BODY_MAX];
	struct sample smp;
	ssize_t len;

	if (!out)
		return -ENOMEM;
	switch (s->mode) {
	case SERVE_ECHO:
	case SERVE_BAD_SEQ: {
		uint16_t type = req->hdr.type == IPC_CTL_LIST ? IPC_CTL_LIST_REPLY :
								IPC_CTL_STATUS_REPLY;
		uint32_t seq = s->mode == SERVE_BAD_SEQ ? req->hdr.seq + 1 : req->hdr.seq;

		sample_init(&smp, type, type == IPC_CTL_LIST_REPLY ? ipc_entries_max(type) : 0);
		len = sample_encode(&smp, type, seq, out, IPC_MSG_MAX);
		sample_done(&smp);
		break;
	}
	case SERVE_ERROR: {
		struct ipc_error e;

		ipc_error_fill(&e, -EPERM, req->hdr.seq, req->hdr.type, "not allowed");
		memcpy(body, &e, sizeof(e));
		len = ipc_encode(out, IPC_MSG_MAX, IPC_ERROR, req->hdr.seq, body, sizeof(e), NULL,
				 0);
		break;
	}
	case SERVE_GARBAGE:
		memset(out, 0xa5, 40);
		len = 40;
		break;
	default:
		return 0;
	}
	if (len < 0)
		return (int)len;
	if (send(fd, out, (size_t)len, MSG_NOSIGNAL) != len)
		return -errno;
	return 0;
}

static void *server_run(void *userdata)
{
	struct server *s = userdata;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *buf = malloc(IPC_MSG_MAX);
	struct pollfd p = { .fd = s->listen_fd, .events = POLLIN };
	int r;

	if (!buf) {
		s->r = -ENOMEM;
		return NULL;
	}
	if (poll(&p, 1, 5000) != 1) {
		s->r = -ETIMEDOUT;
		return NULL;
	}
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		s->r = -errno;
		return NULL;
	}
	r = ipc_socket_set_timeouts(fd, 5000);
	if (r >= 0)
		r = ipc_peer_cred(fd, &s->peer);
	for (unsigned i = 0; r >= 0 && i < s->requests; i++) {
		struct ipc_msg req;
		ssize_t n = recv(fd, buf, IPC_MSG_MAX, 0);

		if (n <= 0) {
			r = n < 0 ? -errno : -ECONNRESET;
			break;
		}
		r = ipc_decode(buf, (size_t)n, &req);
		if (r < 0)
			break;
		s->types[i] = req.hdr.type;
		s->seqs[i] = req.hdr.seq;
		r = server_reply(s, fd, &req);
		if (r >= 0)
			s->served++;
	}
	s->r = r;
	return NULL;
}

static void server_start(struct server *s, pthread_t *t, const char *path, enum serve_mode mode,
			 unsigned requests)
{
	*s = (struct server){ .mode = mode, .requests = requests };
	s->listen_fd = ipc_control_listen(path, 0600, 4);
	assert_true(s->listen_fd >= 0);
	assert_int_equal(pthread_create(t, NULL, server_run, s), 0);
}

static void server_stop(struct server *s, pthread_t t)
{
	assert_int_equal(pthread_join(t, NULL), 0);
	close(s->listen_fd);
}

static void test_ipc_control_call_roundtrip(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ uint8_t *reply = malloc(IPC_MSG_MAX);
	struct ipc_ctl_status_reply st;
	struct ipc_ctl_list list = { .sort = IPC_SORT_RSS };
	struct ipc_ctl_list_reply lr;
	struct ipc_proc_entry pe;
	struct server s;
	struct ipc_msg m;
	pthread_t t;
	int fd;

	assert_non_null(reply);
	server_start(&s, &t, f->control, SERVE_ECHO, 2);
	fd = ipc_control_connect(f->control, 5000);
	assert_true(fd >= 0);
	socket_flags_check(fd, SOCK_SEQPACKET);

	assert_int_equal(ipc_control_call(fd, IPC_CTL_STATUS, NULL, 0, reply, IPC_MSG_MAX, &m), 0);
	assert_int_equal(m.hdr.type, IPC_CTL_STATUS_REPLY);
	assert_ptr_equal(m.body, reply + HDR);
	memcpy(&st, m.body, sizeof(st));
	assert_string_equal(st.version, "0.1.0");
	assert_int_equal(st.events_exec, 50);

	/* a full page: one SOCK_SEQPACKET record of almost IPC_MSG_MAX bytes */
	assert_int_equal(
		ipc_control_call(fd, IPC_CTL_LIST, &list, sizeof(list), reply, IPC_MSG_MAX, &m), 0);
	assert_int_equal(m.hdr.type, IPC_CTL_LIST_REPLY);
	assert_int_equal(m.n_entries, ipc_entries_max(IPC_CTL_LIST_REPLY));
	memcpy(&lr, m.body, sizeof(lr));
	assert_int_equal(lr.count, m.n_entries);
	memcpy(&pe, (const uint8_t *)m.entries + 7 * sizeof(pe), sizeof(pe));
	assert_int_equal(pe.pid, 1007);
	assert_string_equal(pe.comm, "worker-7");
	close(fd);
	server_stop(&s, t);

	assert_int_equal(s.r, 0);
	assert_int_equal(s.served, 2);
	assert_int_equal(s.peer.pid, getpid());
	assert_int_equal(s.peer.uid, getuid());
	assert_int_equal(s.types[0], IPC_CTL_STATUS);
	assert_int_equal(s.types[1], IPC_CTL_LIST);
	assert_int_not_equal(s.seqs[0], 0);
	assert_int_not_equal(s.seqs[0], s.seqs[1]);
}

static void test_ipc_control_call_error_reply(void **state)
{
	struct fixture *f = *state;
	uint8_t reply[512];
	struct ipc_ctl_pid req = { .pid = 1 };
	struct ipc_error e;
	struct server s;
	struct ipc_msg m;
	pthread_t t;
	int fd;

	server_start(&s, &t, f->control, SERVE_ERROR, 1);
	fd = ipc_control_connect(f->control, 5000);
	assert_true(fd >= 0);
	assert_int_equal(ipc_control_call(fd, IPC_CTL_UNENROLL, &req, sizeof(req), reply,
					  sizeof(reply), &m),
			 0);
	assert_int_equal(m.hdr.type, IPC_ERROR);
	memcpy(&e, m.body, sizeof(e));
	assert_int_equal(e.code, -EPERM);
	assert_int_equal(e.ref_type, IPC_CTL_UNENROLL);
	assert_string_equal(e.message, "not allowed");
	close(fd);
	server_stop(&s, t);
	assert_int_equal(s.r, 0);
}

static void test_ipc_control_call_bad_reply(void **state)
{
	static const struct {
		enum serve_mode mode;
		size_t reply_size;
		int want;
	} cases[] = {
		{ SERVE_BAD_SEQ, IPC_MSG_MAX, -EBADMSG },
		{ SERVE_HANGUP, IPC_MSG_MAX, -ECONNRESET },
		{ SERVE_GARBAGE, IPC_MSG_MAX, -EBADMSG },
		{ SERVE_ECHO, 64, -EMSGSIZE }, /* reply larger than reply_buf */
	};
	struct fixture *f = *state;
	_cleanup_free_ uint8_t *reply = malloc(IPC_MSG_MAX);

	assert_non_null(reply);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct server s;
		struct ipc_msg m;
		pthread_t t;
		int fd;

		server_start(&s, &t, f->control, cases[i].mode, 1);
		fd = ipc_control_connect(f->control, 5000);
		assert_true(fd >= 0);
		expect_r(ipc_control_call(fd, IPC_CTL_STATUS, NULL, 0, reply, cases[i].reply_size,
					  &m),
			 cases[i].want, "case %zu", i);
		close(fd);
		server_stop(&s, t);
		assert_int_equal(unlink(f->control), 0);
	}
}

static void test_ipc_control_call_refuses_invalid_request(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int srv = ipc_control_listen(f->control, 0600, 4);
	_cleanup_close_ int fd = -1;
	struct ipc_ctl_pid bad = { .pid = 0 };
	uint8_t reply[64];
	struct ipc_msg m;

	assert_true(srv >= 0);
	fd = ipc_control_connect(f->control, 100);
	assert_true(fd >= 0);
	/* nothing is sent: the encoder refuses first */
	assert_int_equal(ipc_control_call(fd, IPC_CTL_SHOW, &bad, sizeof(bad), reply, sizeof(reply),
					  &m),
			 -ERANGE);
	assert_int_equal(ipc_control_call(fd, 0x7777, NULL, 0, reply, sizeof(reply), &m), -ENOMSG);
	assert_int_equal(ipc_control_call(fd, IPC_CTL_SHOW, &bad, 3, reply, sizeof(reply), &m),
			 -EINVAL);
	assert_int_equal(ipc_control_call(fd, IPC_CTL_STATUS, NULL, 0, NULL, 0, &m), -EINVAL);
}

static void test_ipc_control_call_timeout(void **state)
{
	struct fixture *f = *state;
	_cleanup_close_ int srv = ipc_control_listen(f->control, 0600, 4);
	_cleanup_close_ int fd = -1;
	uint8_t reply[512];
	struct ipc_msg m;

	/* the connection sits in the backlog: the request is queued, no reply comes */
	assert_true(srv >= 0);
	fd = ipc_control_connect(f->control, 100);
	assert_true(fd >= 0);
	assert_int_equal(ipc_control_call(fd, IPC_CTL_STATUS, NULL, 0, reply, sizeof(reply), &m),
			 -ETIMEDOUT);
}

int main(void)
{
#define SOCKET_TEST(t) cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipc_type_to_string_known),
		cmocka_unit_test(test_ipc_type_to_string_unknown),
		cmocka_unit_test(test_ipc_body_size_known),
		cmocka_unit_test(test_ipc_entries_max_fits),
		cmocka_unit_test(test_ipc_encode_roundtrip_every_type),
		cmocka_unit_test(test_ipc_encode_roundtrip_list_entries),
		cmocka_unit_test(test_ipc_encode_roundtrip_typed),
		cmocka_unit_test(test_ipc_encode_unknown_type),
		cmocka_unit_test(test_ipc_encode_body_len_mismatch),
		cmocka_unit_test(test_ipc_encode_entries_mismatch),
		cmocka_unit_test(test_ipc_encode_buffer_too_small),
		cmocka_unit_test(test_ipc_encode_too_many_entries),
		cmocka_unit_test(test_ipc_decode_short),
		cmocka_unit_test(test_ipc_decode_bad_magic),
		cmocka_unit_test(test_ipc_decode_bad_version),
		cmocka_unit_test(test_ipc_decode_unknown_type),
		cmocka_unit_test(test_ipc_decode_length_mismatch),
		cmocka_unit_test(test_ipc_decode_too_large),
		cmocka_unit_test(test_ipc_decode_body_len_wrong),
		cmocka_unit_test(test_ipc_decode_list_count_inconsistent),
		cmocka_unit_test(test_ipc_decode_unterminated_string),
		cmocka_unit_test(test_ipc_decode_longest_string),
		cmocka_unit_test(test_ipc_decode_out_of_range),
		cmocka_unit_test(test_ipc_decode_range_boundaries),
		cmocka_unit_test(test_ipc_decode_show_reply_no_cgroup),
		cmocka_unit_test(test_ipc_decode_error_order),
		cmocka_unit_test(test_ipc_decode_error_order_entries),
		cmocka_unit_test(test_ipc_decode_unaligned),
		cmocka_unit_test(test_ipc_decode_every_prefix),
		cmocka_unit_test(test_ipc_decode_ret_untouched_on_error),
		cmocka_unit_test(test_ipc_error_fill_truncates),
		cmocka_unit_test(test_ipc_error_fill_code),
		SOCKET_TEST(test_ipc_dgram_listen_mode),
		SOCKET_TEST(test_ipc_dgram_listen_bad_args),
		SOCKET_TEST(test_ipc_dgram_listen_stale),
		SOCKET_TEST(test_ipc_control_listen_stale),
		SOCKET_TEST(test_ipc_dgram_listen_not_socket),
		SOCKET_TEST(test_ipc_dgram_recv_credentials),
		SOCKET_TEST(test_ipc_dgram_send_reply_to_autobind),
		SOCKET_TEST(test_ipc_dgram_connect_daemon_only),
		SOCKET_TEST(test_ipc_dgram_connect_missing),
		SOCKET_TEST(test_ipc_dgram_recv_empty),
		SOCKET_TEST(test_ipc_dgram_recv_truncated),
		cmocka_unit_test(test_ipc_dgram_recv_no_credentials),
		SOCKET_TEST(test_ipc_dgram_recv_closes_passed_fds),
		SOCKET_TEST(test_ipc_dgram_listen_chmod_never_follows),
		SOCKET_TEST(test_ipc_listen_at_binds_through_the_fd),
		SOCKET_TEST(test_ipc_dgram_recv_meta_pidfd),
		cmocka_unit_test(test_ipc_dgram_send_fd_roundtrip),
		cmocka_unit_test(test_ipc_socket_outq_counts_unread),
		cmocka_unit_test(test_ipc_socket_set_timeouts_values),
		cmocka_unit_test(test_ipc_peer_cred_socketpair),
		SOCKET_TEST(test_ipc_control_listen_mode),
		SOCKET_TEST(test_ipc_control_connect_missing),
		SOCKET_TEST(test_ipc_control_connect_timeout),
		SOCKET_TEST(test_ipc_control_call_roundtrip),
		SOCKET_TEST(test_ipc_control_call_error_reply),
		SOCKET_TEST(test_ipc_control_call_bad_reply),
		SOCKET_TEST(test_ipc_control_call_refuses_invalid_request),
		SOCKET_TEST(test_ipc_control_call_timeout),
	};
#undef SOCKET_TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}
