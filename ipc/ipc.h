/* SPDX-License-Identifier: MIT */
/* ipc/ipc.h: memctl's wire protocol: message structs, strict encode/decode and
 * socket helpers. No policy, no logging. docs/protocol.md is the prose version. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/socket.h> /* socklen_t */
#include <sys/un.h>
#include <sys/types.h>

/*
 * Every message, on both sockets, is one datagram / one SOCK_SEQPACKET record:
 *
 *   struct ipc_header   (16 bytes)
 *   body                (fixed-width struct for the type; for list-style replies
 *                        a fixed part followed by `count` fixed-size entries)
 *
 * All integers are in host byte order: both ends are on one machine (AF_UNIX).
 * Fields are only ever appended in later versions; a decoder accepts a body
 * exactly as long as its version defines (entries: exactly count * entry size).
 */

#define IPC_MAGIC 0x4c54434dU /* "MCTL" in memory on little-endian */
#define IPC_VERSION 2
#define IPC_MSG_MAX 65536 /* largest message either side sends or accepts */
#define IPC_NAME_MAX 32 /* comm/name fields: NUL-terminated within this */
#define IPC_PATH_MAX 256 /* cgroup path fields: NUL-terminated within this */
#define IPC_ERRMSG_MAX 96
#define IPC_CMDLINE_MAX 128 /* ipc_proc_entry.cmdline: NUL-terminated within this */
#define IPC_UID_UNKNOWN UINT32_MAX

#define IPC_DGRAM_SOCKET_NAME "memctld.sock"
#define IPC_CONTROL_SOCKET_NAME "control.sock"
#define IPC_DEFAULT_SOCKET_DIR "/run/memctld"

struct ipc_header {
	uint32_t magic;
	uint16_t version;
	uint16_t type; /* enum ipc_type */
	uint32_t length; /* whole message, header included */
	uint32_t seq; /* sender's sequence; replies echo the request's */
};
_Static_assert(sizeof(struct ipc_header) == 16, "ipc_header layout");

enum ipc_type {
	/* workload <-> memctld, datagram socket */
	IPC_ENROLL = 1, /* workload -> daemon */
	IPC_ENROLL_ACK = 2, /* daemon -> workload */
	IPC_COMPRESS = 3, /* daemon -> workload */
	IPC_COMPRESS_ACK = 4, /* workload -> daemon, carries arena stats */
	IPC_RELAX = 5, /* daemon -> workload */
	IPC_STATS = 6, /* workload -> daemon, periodic */
	IPC_BYE = 7, /* either way */
	IPC_ERROR = 8, /* either way, also on the control socket */
	IPC_HELLO = 9, /* workload -> daemon: "libarena here, enroll me if asked"; no reply */
	IPC_RELAX_ACK = 10, /* workload -> daemon, answers RELAX (struct ipc_compress_ack) */

	/* memctl <-> memctld, control socket (SOCK_SEQPACKET) */
	IPC_CTL_STATUS = 32, /* empty body */
	IPC_CTL_STATUS_REPLY = 33,
	IPC_CTL_LIST = 34, /* struct ipc_ctl_list */
	IPC_CTL_LIST_REPLY = 35, /* ipc_ctl_list_reply + count * ipc_proc_entry */
	IPC_CTL_SHOW = 36, /* struct ipc_ctl_pid */
	IPC_CTL_SHOW_REPLY = 37, /* struct ipc_ctl_show_reply */
	IPC_CTL_ENROLL = 38, /* struct ipc_ctl_pid */
	IPC_CTL_UNENROLL = 39, /* struct ipc_ctl_pid */
	IPC_CTL_OK = 40, /* struct ipc_ctl_ok */
	IPC_CTL_EVENTS = 41, /* struct ipc_ctl_events */
	IPC_CTL_EVENTS_REPLY = 42, /* ipc_ctl_events_reply + count * ipc_event_entry */
	IPC_CTL_CGROUPS = 43, /* struct ipc_ctl_list */
	IPC_CTL_CGROUPS_REPLY = 44, /* ipc_ctl_list_reply + count * ipc_cgroup_entry */
	IPC_CTL_ENROLLED = 50, /* struct ipc_ctl_list: the enrolled processes */
	IPC_CTL_ENROLLED_REPLY = 51, /* ipc_ctl_list_reply + count * ipc_enrolled_entry */

	/* issue 12 (resctrl): 57..60 */
	IPC_CTL_BANDWIDTH = 57, /* struct ipc_ctl_list (offset; sort and cgroup unused) */
	IPC_CTL_BANDWIDTH_REPLY = 58, /* ipc_ctl_bandwidth_reply + count * ipc_bandwidth_entry */
	/* issue 14 (metrics): 66..68 */
	IPC_CTL_METRICS = 66, /* struct ipc_ctl_metrics */
	IPC_CTL_METRICS_REPLY = 67, /* ipc_ctl_metrics_reply + count bytes of exposition text */
	/* issue 10 (69..72) */
	IPC_CTL_RECORDS = 69, /* struct ipc_ctl_records */
	IPC_CTL_RECORDS_REPLY = 70, /* ipc_ctl_records_reply + count * ipc_rss_record */
	/* issue 13 (profiler): 73..76 */
	IPC_CTL_PROFILE = 73, /* struct ipc_ctl_profile: register processes, start a profile */
	IPC_CTL_PROFILE_REPLY = 74, /* struct ipc_ctl_profile_reply, with the ring's memfd */
	IPC_CTL_PROFILE_ATTACH = 75, /* struct ipc_ctl_profile_id: map a running profile */
	IPC_CTL_PROFILE_STOP = 76, /* struct ipc_ctl_profile_id: unregister; CTL_OK */
};

/* ---- workload messages ---- */

enum ipc_hotness {
	IPC_HOT = 0,
	IPC_WARM = 1,
	IPC_COLD = 2,
};

#define IPC_CODEC_LZ4 (1U << 0)
#define IPC_CODEC_ZSTD (1U << 1)
#define IPC_CODEC_ALL (IPC_CODEC_LZ4 | IPC_CODEC_ZSTD)

struct ipc_enroll {
	uint32_t pid; /* must equal the sender's SCM_CREDENTIALS pid */
	uint32_t flags; /* none defined; must be 0 */
	uint64_t arena_bytes; /* logical bytes the arena currently holds */
	uint32_t chunk_size_bytes; /* 4 KiB .. 1 MiB, power of two */
	uint32_t codecs; /* IPC_CODEC_* mask, nonzero */
	char name[IPC_NAME_MAX]; /* workload's own name, NUL-terminated */
};

/* Sent with the enrollment channel's fd (SCM_RIGHTS). In answer to ENROLL it echoes
 * its seq; unsolicited (seq 0) when `memctl enroll` takes up a HELLO. */
struct ipc_enroll_ack {
	uint64_t enrollment_id;
	uint32_t stats_interval_ms; /* how often to send IPC_STATS; >= 100 */
	uint32_t flags; /* none defined; must be 0 */
	/* weight of decode cost against compress cost (fairness policy), per mille;
	 * 0 = keep the arena's own */
	uint32_t readback_factor_permille;
	uint32_t reserved; /* must be 0 */
	/* memory-bandwidth pressure: readback cost multiplier, 10000 = 1.0 (no pressure),
	 * at most 100000 (policy/fairness.h fair_bandwidth_factor(); docs/policy.md) */
	uint32_t readback_cost_permyriad;
	uint32_t reserved2; /* must be 0 */
};

struct ipc_compress {
	uint64_t target_bytes; /* free this many resident bytes; > 0 */
	uint32_t max_hotness; /* enum ipc_hotness: compress chunks up to this class */
	uint32_t codecs; /* IPC_CODEC_* mask allowed; nonzero */
	uint32_t deadline_ms; /* answer within; 0 = no deadline */
	uint32_t min_savings_permyriad; /* admission threshold, <= 10000 */
	/* how scarce memory is where the workload runs: 0 = plenty .. 10000 = at its
	 * limit; the arena may weigh a saved byte more under pressure */
	uint32_t pressure_permyriad;
	uint32_t reserved; /* must be 0 */
	/* as in ipc_enroll_ack, for this workload now; 10000 .. 100000 */
	uint32_t readback_cost_permyriad;
	uint32_t reserved2; /* must be 0 */
};

/* Arena figures as reported to the daemon; all counters are cumulative. */
struct ipc_arena_stats {
	uint64_t logical_bytes; /* bytes the workload allocated */
	uint64_t resident_bytes; /* raw chunks + compressed store actually held */
	uint64_t compressed_bytes; /* bytes in the compressed store */
	uint64_t hot_bytes;
	uint64_t warm_bytes;
	uint64_t cold_bytes;
	uint64_t compressible_cold_bytes; /* cold raw bytes worth compressing */
	uint64_t chunks_raw;
	uint64_t chunks_zero;
	uint64_t chunks_lz4;
	uint64_t chunks_zstd;
	uint64_t compress_cpu_ns;
	uint64_t decompress_cpu_ns;
	uint64_t readbacks; /* demand decompressions */
	uint64_t stall_p50_ns;
	uint64_t stall_p99_ns;
	uint64_t errors; /* checksum mismatches + failed allocations */
	uint32_t fragmentation_permyriad;
	uint32_t admit_rate_permyriad;
};
_Static_assert(sizeof(struct ipc_arena_stats) == 17 * 8 + 8, "ipc_arena_stats layout");

struct ipc_compress_ack {
	uint32_t request_seq; /* seq of the IPC_COMPRESS answered */
	int32_t result; /* 0 or -errno */
	uint64_t bytes_freed;
	struct ipc_arena_stats stats;
};

struct ipc_relax {
	uint64_t prefetch_bytes; /* may decompress up to this many hot bytes */
	uint32_t flags; /* none defined; must be 0 */
	uint32_t reserved; /* must be 0 */
};

struct ipc_stats {
	struct ipc_arena_stats stats;
};

enum ipc_bye_reason {
	IPC_BYE_EXIT = 0,
	IPC_BYE_UNENROLLED = 1,
	IPC_BYE_SHUTDOWN = 2,
};

struct ipc_bye {
	uint32_t reason; /* enum ipc_bye_reason */
	uint32_t reserved; /* must be 0 */
};

struct ipc_error {
	int32_t code; /* negative errno, < 0 */
	uint32_t ref_seq; /* seq of the message refused (0 if unknown) */
	uint16_t ref_type; /* its type (0 if unknown) */
	uint16_t reserved; /* must be 0 */
	char message[IPC_ERRMSG_MAX]; /* NUL-terminated */
};

/* ---- control messages ---- */

struct ipc_ctl_status_reply {
	char version[IPC_NAME_MAX];
	uint64_t uptime_usec;
	uint64_t pid; /* memctld's pid */
	uint32_t bpf_programs_loaded; /* bit i = program i (see bpf_program_names) */
	uint32_t bpf_programs_known;
	uint64_t events_exec;
	uint64_t events_fork;
	uint64_t events_exit;
	uint64_t events_rss;
	uint64_t events_lost; /* ring-buffer records dropped by the kernel */
	uint64_t resyncs;
	uint64_t processes_tracked;
	uint64_t cgroups_tracked;
	uint64_t enrolled;
	uint64_t datagrams_rejected; /* hostile or malformed datagrams */
	uint32_t dry_run;
	uint32_t reserved;
	char bpf_status[IPC_PATH_MAX]; /* "prog=loaded prog=off(reason) ..." */
	uint64_t rss_raw_events; /* kmem:rss_stat hits folded into events_rss records */
	uint64_t bpf_map_full; /* per-process BPF map entries refused (map full) */
	uint64_t psi_some_avg10_permyriad; /* system-wide, /proc/pressure/memory */
	uint64_t psi_full_avg10_permyriad;
	/* replies on the workload socket not sent: a peer's budget spent, or no room */
	uint64_t workload_replies_dropped;
	/* datagrams to enrolled workloads dropped because their channel was full */
	uint64_t workload_channel_dropped;
	uint32_t identity_pidfd; /* 1: senders identified by SCM_PIDFD; 0: PID+uid+start time */
	uint32_t reserved2; /* must be 0 */
	uint64_t hellos; /* libarena processes that said HELLO and are not enrolled */
	uint64_t commands_sent; /* COMPRESS and RELAX, all enrollments, since start */
	uint64_t acks;
	uint32_t policy_mode; /* 0 headroom, 1 post-exec */
	uint32_t reserved3; /* must be 0 */
	/* resctrl: IPC_RESCTRL_OFF / ON, and "off (why)" or a one-line summary */
	uint32_t resctrl_state;
	uint32_t resctrl_units_monitored;
	char resctrl_status[IPC_ERRMSG_MAX];
	uint64_t processes_unpinned; /* tracked without a pidfd (file limit reached) */
	uint64_t pidfd_max; /* processes the daemon pins: RLIMIT_NOFILE less its reserve */
	uint64_t fd_limit; /* memctld's soft RLIMIT_NOFILE; UINT64_MAX = unlimited */
	uint64_t control_refused; /* connections refused (MaxConnections*=) */
	uint64_t control_idle_closed; /* closed after IdleTimeoutSec= without a request */
	uint64_t control_paced; /* times a user's requests were held back (CPUQuotaPerUser=) */
};

enum ipc_resctrl_state {
	IPC_RESCTRL_OFF = 0,
	IPC_RESCTRL_ON = 1,
};

enum ipc_sort {
	IPC_SORT_PID = 0,
	IPC_SORT_RSS = 1,
	IPC_SORT_GROWTH = 2,
	IPC_SORT_FAULTS = 3,
};

struct ipc_ctl_list {
	uint32_t offset; /* first entry wanted (paging) */
	uint32_t sort; /* enum ipc_sort */
	char cgroup[IPC_PATH_MAX]; /* only this cgroup if non-empty; NUL-terminated */
};

struct ipc_ctl_list_reply {
	uint32_t total; /* entries in the table */
	uint32_t count; /* entries in this message */
};

struct ipc_proc_entry {
	uint32_t pid;
	uint32_t ppid;
	char comm[IPC_NAME_MAX];
	uint64_t start_time_usec; /* CLOCK_BOOTTIME */
	uint64_t rss_anon_bytes;
	uint64_t rss_file_bytes;
	uint64_t rss_shmem_bytes;
	uint64_t swap_bytes;
	uint64_t minor_faults;
	uint64_t major_faults;
	int64_t growth_bytes_per_sec;
	uint32_t enrolled;
	uint32_t cgroup_id; /* ipc_cgroup_entry.id of its memory cgroup, 0 if unknown */
	uint32_t uid; /* effective uid (/proc/PID/status), IPC_UID_UNKNOWN if unread */
	uint32_t cmdline_bytes; /* its length; IPC_CMDLINE_MAX: longer, and cut */
	char cmdline[IPC_CMDLINE_MAX]; /* arguments joined by spaces, cut to fit; "" if none */
	/* policy/growth at the last tick; growth_bytes_per_sec is its rate */
	uint32_t pattern; /* enum growth_pattern (policy/growth.h), < IPC_GROWTH_PATTERN_MAX */
	uint32_t leak_confidence_permyriad; /* <= 10000 */
	uint32_t growth_detected; /* 0 or 1: in a growth episode */
	uint32_t growth_reserved; /* must be 0 */
};

/* patterns are enum growth_pattern; the protocol only bounds them */
#define IPC_GROWTH_PATTERN_MAX 9

struct ipc_ctl_pid {
	uint32_t pid;
	uint32_t reserved; /* must be 0 */
};

/* CTL_ENROLL: a HELLO'd libarena process is enrolled in arena mode, any other in
 * monitor-only mode. */
struct ipc_ctl_enroll {
	uint32_t pid;
	uint32_t flags; /* none defined; must be 0 */
	uint32_t readback_factor_permille; /* 0 = the arena's own; <= 1000000 */
	uint32_t reserved; /* must be 0 */
	char name[IPC_NAME_MAX]; /* "" = the process's comm (or its HELLO name) */
};

enum ipc_enroll_mode {
	IPC_MODE_ARENA = 1, /* a libarena process: receives COMPRESS / RELAX */
	IPC_MODE_MONITOR = 2, /* any process: watched (growth, faults, events), no commands */
};

/* ---- memory bandwidth (resctrl) ---- */

enum ipc_bw_state {
	IPC_BW_NONE = 0, /* not a monitored unit (or resctrl off) */
	IPC_BW_MONITORED = 1, /* has a monitoring group; figures below */
	IPC_BW_PENDING = 2, /* waiting for an RMID (quarantine) or its group */
	IPC_BW_UNMONITORED = 3, /* no RMID: exhausted, refused or preempted; see reason */
};

#define IPC_BW_VALID_TOTAL (1U << 0) /* mbm_total_bytes_per_sec measured */
#define IPC_BW_VALID_LOCAL (1U << 1)
#define IPC_BW_VALID_OCCUPANCY (1U << 2)
#define IPC_BW_VALID_ALL (IPC_BW_VALID_TOTAL | IPC_BW_VALID_LOCAL | IPC_BW_VALID_OCCUPANCY)

struct ipc_bandwidth_figures {
	uint64_t mbm_total_bytes_per_sec; /* all L3 domains summed */
	uint64_t mbm_local_bytes_per_sec;
	uint64_t llc_occupancy_bytes;
	uint32_t state; /* enum ipc_bw_state */
	uint32_t valid; /* IPC_BW_VALID_*: which figures were measured (else 0) */
};

#define IPC_BW_DOMAINS_MAX 8
#define IPC_BW_QUARANTINE_MAX 16

struct ipc_bandwidth_domain {
	uint32_t id; /* mon_L3_<id> */
	uint32_t valid; /* IPC_BW_VALID_* */
	uint64_t mbm_total_bytes_per_sec; /* the whole default control group */
	uint64_t mbm_local_bytes_per_sec;
	uint64_t llc_occupancy_bytes;
	uint64_t peak_bytes_per_sec; /* highest total seen, floored at PeakBandwidthMin= */
	uint32_t readback_cost_permyriad; /* fair_bandwidth_factor(total, peak) */
	uint32_t reserved; /* must be 0 */
};

struct ipc_ctl_bandwidth_reply {
	uint32_t total; /* units */
	uint32_t count; /* entries in this message */
	uint32_t state; /* enum ipc_resctrl_state */
	uint32_t features; /* bit 0 llc_occupancy, 1 mbm_total_bytes, 2 mbm_local_bytes */
	char status[IPC_ERRMSG_MAX]; /* as in the status reply */
	uint32_t num_rmids; /* info/L3_MON/num_rmids */
	uint32_t capacity; /* RMIDs memctld may hold */
	uint32_t in_use;
	uint32_t quarantined;
	uint32_t unmonitored; /* units without an RMID */
	uint32_t n_domains; /* <= IPC_BW_DOMAINS_MAX */
	uint64_t min_free_usec;
	uint64_t max_threshold_occupancy_bytes;
	uint32_t n_quarantine; /* <= IPC_BW_QUARANTINE_MAX */
	uint32_t reserved; /* must be 0 */
	uint64_t quarantine_left_usec[IPC_BW_QUARANTINE_MAX]; /* soonest first */
	struct ipc_bandwidth_domain domains[IPC_BW_DOMAINS_MAX];
};

enum ipc_bw_unit_kind {
	IPC_BW_UNIT_PROCESS = 1, /* an enrolled workload */
	IPC_BW_UNIT_CGROUP = 2, /* a tracked memory cgroup */
};

struct ipc_bandwidth_entry {
	char name[IPC_PATH_MAX]; /* the workload's name or the cgroup's path */
	char group[IPC_NAME_MAX * 2]; /* its mon_groups/ directory, memctl-... */
	char reason[IPC_NAME_MAX * 2]; /* why not monitored ("" when monitored) */
	uint32_t kind; /* enum ipc_bw_unit_kind */
	uint32_t pid; /* process units; 0 for cgroups */
	uint32_t cgroup_id; /* cgroup units: ipc_cgroup_entry.id; 0 for processes */
	uint32_t rmid; /* the pool's RMID, 0 if none */
	uint64_t priority; /* the pool's priority key (policy/rmid-pool.h) */
	struct ipc_bandwidth_figures bw;
	uint32_t readback_cost_permyriad; /* what COMPRESS carries for it */
	uint32_t unavailable_reads; /* counter reads that said Unavailable or Error */
};

struct ipc_enrolled_entry {
	uint64_t id;
	uint32_t pid;
	uint32_t uid;
	char name[IPC_NAME_MAX];
	uint32_t mode; /* enum ipc_enroll_mode */
	uint32_t cgroup_id; /* ipc_cgroup_entry.id, 0 if unknown */
	struct ipc_arena_stats stats; /* zero in monitor-only mode */
	uint64_t enrolled_usec; /* CLOCK_REALTIME */
	uint32_t last_command; /* IPC_COMPRESS, IPC_RELAX, or 0 */
	uint32_t readback_factor_permille; /* 0 = the arena's own */
	uint64_t last_command_usec; /* CLOCK_REALTIME; 0 = none yet */
	uint64_t last_ack_usec; /* CLOCK_REALTIME; 0 = none yet */
	uint64_t last_latency_usec; /* command -> ack of the last acked command */
	uint64_t latency_p50_usec; /* over the last 64 acks */
	uint64_t latency_p99_usec;
	uint64_t commands_sent;
	uint64_t acks;
	uint64_t commands_dropped; /* its channel was full */
	uint64_t commands_timed_out; /* no ack within the deadline */
	uint64_t bytes_freed; /* cumulative, from COMPRESS_ACKs */
	uint64_t bytes_restored; /* cumulative, from RELAX_ACKs */
	/* resctrl figures of its monitoring group (state IPC_BW_NONE when none) */
	struct ipc_bandwidth_figures bandwidth;
};

/* ipc_cgroup_entry.flags. HAS_PSI: psi_* were read; without it they are 0 and
 * mean "no PSI here" (v1 has none), not "no pressure". */
#define IPC_CGROUP_HAS_PSI (1U << 0)
/* kernel_bytes was read (v1 memory.kmem.usage_in_bytes, v2 memory.stat kernel) */
#define IPC_CGROUP_HAS_KERNEL (1U << 1)
/* kernel_sock_bytes was read (v1 memory.kmem.tcp.usage_in_bytes, v2 sock) */
#define IPC_CGROUP_HAS_KERNEL_SOCK (1U << 2)
/* slab_bytes and pagetables_bytes were read (v2 memory.stat) */
#define IPC_CGROUP_HAS_KERNEL_DETAIL (1U << 3)
#define IPC_CGROUP_FLAGS_ALL                                                       \
	(IPC_CGROUP_HAS_PSI | IPC_CGROUP_HAS_KERNEL | IPC_CGROUP_HAS_KERNEL_SOCK | \
	 IPC_CGROUP_HAS_KERNEL_DETAIL)

struct ipc_cgroup_entry {
	char path[IPC_PATH_MAX]; /* relative to the memory hierarchy root */
	uint32_t hierarchy; /* 1 or 2 */
	uint32_t nr_procs; /* tracked processes in it; 0 = kept for its limit or OOM kills */
	uint64_t limit_bytes; /* UINT64_MAX = no limit */
	uint64_t soft_limit_bytes; /* v1 soft limit / v2 memory.high; UINT64_MAX = none */
	uint64_t usage_bytes;
	uint64_t failcnt; /* v1 failcnt / v2 memory.events max */
	uint64_t oom_events; /* OOM kills: v1 oom_control oom_kill / v2 memory.events oom_kill */
	uint64_t psi_some_avg10_permyriad; /* v2 memory.pressure (IPC_CGROUP_HAS_PSI) */
	uint64_t psi_full_avg10_permyriad;
	uint32_t id; /* the daemon's id for this cgroup (never reused), > 0 */
	uint32_t flags; /* IPC_CGROUP_*; was "reserved, 0" before version 2 */
	uint64_t reclaims; /* memcg (limit/high) + v1 soft-limit reclaim runs, from BPF */
	uint64_t reclaim_stall_usec; /* time its tasks spent in those reclaims */
	uint64_t reclaimed_pages;
	/* policy/growth on its usage (kernel memory included) at the last tick */
	int64_t growth_bytes_per_sec;
	uint64_t time_to_limit_usec; /* at that rate; UINT64_MAX = never / no limit */
	uint32_t pattern; /* enum growth_pattern, < IPC_GROWTH_PATTERN_MAX */
	uint32_t leak_confidence_permyriad; /* <= 10000 */
	uint32_t growth_detected; /* 0 or 1 */
	uint32_t growth_reserved; /* must be 0 */
	/* kernel memory charged to it (part of usage_bytes), per IPC_CGROUP_HAS_KERNEL* */
	uint64_t kernel_bytes;
	uint64_t kernel_sock_bytes;
	uint64_t slab_bytes;
	uint64_t pagetables_bytes;
};

struct ipc_ctl_show_reply {
	struct ipc_proc_entry proc;
	struct ipc_cgroup_entry cgroup; /* empty path if unknown */
	struct ipc_arena_stats arena; /* zero unless enrolled */
	uint32_t pattern; /* growth pattern, policy/growth.h enum */
	uint32_t leak_confidence_permyriad;
	uint64_t time_to_limit_usec; /* UINT64_MAX = never / unknown */
	uint64_t faults_seen; /* user page faults since tracked (BPF; 0 if Faults=no) */
	uint64_t write_faults_seen;
	uint64_t prot_faults_seen; /* on present pages, e.g. copy-on-write */
	/* resctrl figures of the process's own monitoring group (enrolled and monitored)
	 * and of its cgroup's; state IPC_BW_NONE when there is none */
	struct ipc_bandwidth_figures proc_bandwidth;
	struct ipc_bandwidth_figures cgroup_bandwidth;
};

struct ipc_ctl_ok {
	int32_t result; /* 0 */
	uint32_t reserved;
};

struct ipc_ctl_events {
	uint64_t since_id; /* events with id > since_id */
	uint32_t max; /* at most this many; 0 = as many as fit */
	uint32_t reserved;
};

struct ipc_ctl_events_reply {
	uint64_t next_id; /* largest id returned (or since_id if none) */
	uint32_t count;
	uint32_t reserved;
};

/* The daemon's most recent coalesced RSS records (`memctl record`): a bounded
 * ring; seq numbers only grow, so a reader polls with since_seq. */
struct ipc_ctl_records {
	uint64_t since_seq; /* records with seq > since_seq */
	uint32_t pid; /* only this process; 0 = all */
	uint32_t max; /* at most this many; 0 = as many as fit */
};

struct ipc_ctl_records_reply {
	uint64_t next_seq; /* largest seq returned (or since_seq if none) */
	uint64_t first_seq; /* oldest seq still held: a gap after since_seq was lost */
	uint32_t count;
	uint32_t reserved; /* must be 0 */
};

struct ipc_rss_record {
	uint64_t seq;
	uint64_t time_usec; /* CLOCK_BOOTTIME, from the record */
	uint32_t pid;
	uint32_t reserved; /* must be 0 */
	uint64_t anon_bytes;
	uint64_t file_bytes;
	uint64_t shmem_bytes;
	uint64_t swap_bytes;
};

/* `memctl metrics`: the exposition text in pages. A rendering is kept until the
 * next tick; serial names it, so every page of one listing comes from one
 * rendering. */
enum ipc_metrics_format {
	IPC_METRICS_TEXT = 0, /* Prometheus text format 0.0.4 */
	IPC_METRICS_OPENMETRICS = 1, /* OpenMetrics 1.0.0 */
	_IPC_METRICS_FORMAT_MAX,
};

struct ipc_ctl_metrics {
	uint64_t serial; /* 0: the current rendering; else that one (gone: -ESTALE) */
	uint64_t offset; /* first byte wanted */
	uint32_t format; /* enum ipc_metrics_format */
	uint32_t reserved; /* must be 0 */
};

struct ipc_ctl_metrics_reply {
	uint64_t serial; /* the rendering these bytes come from; > 0 */
	uint64_t total_bytes; /* its whole length */
	uint64_t offset; /* of the first byte here; offset + count <= total_bytes */
	uint32_t count; /* bytes of text after this struct */
	uint32_t format; /* enum ipc_metrics_format */
};

enum ipc_event_kind {
	IPC_EVENT_ENROLLED = 1,
	IPC_EVENT_UNENROLLED = 2,
	IPC_EVENT_GROWTH_DETECTED = 3,
	IPC_EVENT_COMPRESS_SENT = 4,
	IPC_EVENT_COMPRESS_DONE = 5,
	IPC_EVENT_RELAX_SENT = 6,
	IPC_EVENT_LOST_RECORDS = 7,
	IPC_EVENT_CGROUP_PRESSURE = 8,
	IPC_EVENT_CONFIG_RELOADED = 9,
	/* issue 9 (10..14) */
	IPC_EVENT_OOM_KILL = 10, /* pid (0 = unknown), comm, cgroup; value = RSS bytes */
	IPC_EVENT_EVENTS_SUPPRESSED = 11, /* uid over its event rate; value = events dropped */
	/* issue 10 (15..17): GROWTH_DETECTED (3) starts a growth episode of a
	 * process (pid, comm) or a cgroup (pid 0, cgroup); value = bytes/s */
	IPC_EVENT_GROWTH_ENDED = 15, /* the episode ended; value = bytes/s now */
	IPC_EVENT_RELAX_DONE = 18,
	IPC_EVENT_COMMAND_DROPPED = 19, /* a workload's channel was full */
	IPC_EVENT_ACK_TIMEOUT = 20, /* no ack within the command's deadline */
	IPC_EVENT_PLAN = 21, /* a decision not carried out (dry run) */
	/* issue 12 (resctrl): 23..24 */
	IPC_EVENT_RMIDS_EXHAUSTED = 23, /* value: units left unmonitored */
	IPC_EVENT_RESCTRL_GROUP_LOST = 24, /* a monitoring group vanished under memctld */
	/* issue 13 (profiler): 25..26; value = processes (STARTED) or samples (ENDED) */
	IPC_EVENT_PROFILE_STARTED = 25,
	IPC_EVENT_PROFILE_ENDED = 26,
	/* issue 14 (metrics): 27 */
	IPC_EVENT_METRICS_FAILED =
		27, /* the HTTP endpoint or the textfile failed; value = -errno */
	_IPC_EVENT_MAX,
};

/* ipc_event_entry.uid of an event no user's request caused: the kernel side
 * (lost records, OOM kills, growth, pressure) or the daemon itself. */
#define IPC_EVENT_UID_SYSTEM UINT32_MAX

struct ipc_event_entry {
	uint64_t id;
	uint64_t time_usec; /* CLOCK_REALTIME */
	uint32_t kind; /* enum ipc_event_kind */
	uint32_t pid;
	int64_t value; /* kind-specific (bytes, bytes/s, count) */
	char text[IPC_ERRMSG_MAX]; /* NUL-terminated human summary */
	uint32_t uid; /* who caused it; IPC_EVENT_UID_SYSTEM = the kernel or the daemon */
	uint32_t cgroup_id; /* ipc_cgroup_entry.id of the cgroup concerned, 0 = none/unknown */
	char comm[IPC_NAME_MAX]; /* the process's name where one is known, else "" */
	char cgroup[IPC_PATH_MAX]; /* memory cgroup path for cgroup events, else "" */
	/* growth events (GROWTH_DETECTED, GROWTH_ENDED); 0 in others */
	uint32_t pattern; /* enum growth_pattern, < IPC_GROWTH_PATTERN_MAX */
	uint32_t leak_confidence_permyriad; /* <= 10000 */
	uint64_t time_to_limit_usec; /* at value bytes/s; UINT64_MAX = never / no limit */
};

/* ---- the profiler (`memctl profile`) ---- */

#define IPC_PROFILE_PIDS_MAX 64 /* processes in one profile */
#define IPC_PROFILE_HZ_DEFAULT 20
#define IPC_PROFILE_HZ_MAX 100
#define IPC_PROFILE_DURATION_MAX_USEC (24 * 3600 * UINT64_C(1000000))

/* CTL_PROFILE: register pids[0 .. n_pids) and sample them hz times a second until
 * duration_usec passes (0 = no end), they all exit, the requesting process exits or
 * CTL_PROFILE_STOP. Each pid: root or its owner, as for CTL_ENROLL. */
struct ipc_ctl_profile {
	uint32_t hz; /* 1 .. IPC_PROFILE_HZ_MAX */
	uint32_t n_pids; /* 1 .. IPC_PROFILE_PIDS_MAX */
	uint64_t duration_usec; /* <= IPC_PROFILE_DURATION_MAX_USEC; 0 = until stopped */
	uint32_t flags; /* none defined; must be 0 */
	uint32_t reserved; /* must be 0 */
	uint32_t pids[IPC_PROFILE_PIDS_MAX]; /* 1 .. 2^31-1 each; unused ones 0 */
};

/* The answer to CTL_PROFILE and CTL_PROFILE_ATTACH, sent with a read-only fd of the
 * ring's memfd (SCM_RIGHTS): map ring_bytes of it with PROT_READ, MAP_SHARED. */
struct ipc_ctl_profile_reply {
	uint64_t profile_id; /* > 0, never reused while the daemon runs */
	uint64_t ring_bytes; /* IPC_RING_HEADER_BYTES + capacity * sample_bytes */
	uint32_t capacity; /* samples the ring holds: a power of two */
	uint32_t sample_bytes; /* sizeof(struct ipc_ring_sample) */
	uint32_t hz;
	uint32_t n_pids;
};

struct ipc_ctl_profile_id {
	uint64_t profile_id; /* > 0 */
};

/*
 * The ring, in a memfd sealed against shrinking and growing (F_SEAL_SHRINK,
 * F_SEAL_GROW, F_SEAL_FUTURE_WRITE, F_SEAL_SEAL): struct ipc_ring_header at 0,
 * sample slot i at IPC_RING_HEADER_BYTES + i * sample_bytes. memctld is the one
 * writer; readers never write and never make the writer wait.
 *
 * Sample n (n = 0, 1, ...) goes to slot n % capacity. Its slot's seq is 2n + 1
 * while it is written and 2n + 2 once complete (a seqlock per slot); then
 * write_index becomes n + 1. A reader wanting sample n reads seq, the sample,
 * then seq again: both 2n + 2 means a whole sample n; greater means it was
 * overwritten (the reader fell behind: overrun); a change between the two
 * reads means a torn read. ipc_ring_read() does all of that.
 */
#define IPC_RING_MAGIC 0x5250434dU /* "MCPR" in memory on little-endian */
#define IPC_RING_VERSION 1
#define IPC_RING_HEADER_BYTES 4096
#define IPC_RING_CAPACITY_MIN 256
#define IPC_RING_CAPACITY_MAX 65536

enum ipc_ring_state {
	IPC_RING_RUNNING = 0,
	IPC_RING_ENDED = 1, /* no more samples: read what is left and stop */
};

enum ipc_ring_end {
	IPC_RING_END_NONE = 0, /* still running */
	IPC_RING_END_STOPPED = 1, /* CTL_PROFILE_STOP */
	IPC_RING_END_DURATION = 2, /* duration_usec passed */
	IPC_RING_END_EXITED = 3, /* every process exited */
	IPC_RING_END_CLIENT = 4, /* the process that asked for it exited */
	IPC_RING_END_SHUTDOWN = 5, /* memctld stopped */
};

enum ipc_ring_proc_state {
	IPC_RING_PROC_RUNNING = 0,
	IPC_RING_PROC_EXITED = 1, /* its last sample is in the ring */
};

struct ipc_ring_proc {
	uint32_t pid;
	uint32_t state; /* enum ipc_ring_proc_state */
	uint64_t samples; /* of it written so far */
};

struct ipc_ring_header {
	uint32_t magic; /* IPC_RING_MAGIC */
	uint16_t version; /* IPC_RING_VERSION */
	uint16_t reserved0;
	uint32_t header_bytes; /* IPC_RING_HEADER_BYTES: offset of slot 0 */
	uint32_t sample_bytes; /* sizeof(struct ipc_ring_sample) */
	uint32_t capacity; /* slots, a power of two */
	uint32_t hz;
	uint64_t profile_id;
	uint64_t interval_nsec; /* 1e9 / hz */
	uint64_t start_realtime_nsec; /* CLOCK_REALTIME of deadline 0 */
	uint64_t write_index; /* samples complete so far (read with acquire) */
	uint32_t state; /* enum ipc_ring_state (read with acquire, after write_index) */
	uint32_t end_reason; /* enum ipc_ring_end */
	uint64_t ticks; /* timer deadlines served */
	uint64_t missed_ticks; /* deadlines skipped because the daemon was late by one or more */
	uint64_t max_lateness_nsec; /* worst timer lateness seen (jitter) */
	uint32_t n_procs;
	uint32_t reserved1;
	uint64_t reserved[5];
	struct ipc_ring_proc procs[IPC_PROFILE_PIDS_MAX];
};

#define IPC_SAMPLE_LAST (1U << 0) /* the process exited: no more samples of it */

struct ipc_ring_sample {
	uint64_t seq; /* 2n + 2 when complete (see above) */
	uint64_t time_nsec; /* CLOCK_REALTIME when read */
	uint32_t pid;
	uint32_t proc_index; /* into ipc_ring_header.procs */
	uint64_t minor_faults; /* since its previous sample */
	uint64_t major_faults;
	uint64_t minor_total; /* lifetime, /proc/PID/stat minflt */
	uint64_t major_total; /* majflt */
	uint64_t cpu_nsec; /* utime + stime since its previous sample */
	uint64_t interval_nsec; /* since its previous sample (CLOCK_MONOTONIC) */
	uint32_t util_permyriad; /* cpu_nsec / interval_nsec; 10000 = one CPU busy */
	uint32_t flags; /* IPC_SAMPLE_* */
	uint64_t rss_bytes; /* anon + file + shmem */
	uint64_t swap_bytes;
};

/* A reader of a mapped ring; no system call per sample. */
struct ipc_ring_reader {
	const uint8_t *base;
	size_t size;
	uint32_t capacity;
	uint32_t sample_bytes;
	uint64_t next; /* index of the next sample wanted */
	uint64_t lost; /* samples overwritten before they were read (overrun) */
	uint64_t torn; /* reads a concurrent write spoiled (counted in lost too) */
};

/* Bytes a ring of capacity samples takes. */
size_t ipc_ring_bytes(uint32_t capacity);
/*
 * Lay out an empty ring in base (size >= ipc_ring_bytes(capacity), zeroed):
 * capacity a power of two within IPC_RING_CAPACITY_MIN/MAX. -EINVAL otherwise.
 */
int ipc_ring_init(void *base, size_t size, uint32_t capacity, uint32_t hz, uint64_t profile_id);
/* The writer (one thread): publish s as the next sample (s->seq is ignored). */
void ipc_ring_write(void *base, const struct ipc_ring_sample *s);
/* The writer: say the ring ends (reason: enum ipc_ring_end); readers see it after
 * every sample written before. */
void ipc_ring_end(void *base, uint32_t reason);
/*
 * Check the header of a mapped ring (size bytes at base) and start reading at its
 * oldest sample still held. 0, or -EBADMSG (magic), -EPROTO (version), -EINVAL
 * (sizes disagree with size or with this build's structs).
 */
int ipc_ring_reader_init(struct ipc_ring_reader *r, const void *base, size_t size);
/*
 * The next sample: 1 and *ret filled with a whole sample (never a torn or
 * overwritten one), 0 when there is none yet. Overwritten samples are skipped
 * and counted in r->lost.
 */
int ipc_ring_read(struct ipc_ring_reader *r, struct ipc_ring_sample *ret);
/* state (enum ipc_ring_state) with acquire: after ENDED, every sample written is
 * visible to ipc_ring_read(). */
uint32_t ipc_ring_state(const struct ipc_ring_reader *r, uint32_t *ret_end_reason);

/* ---- encode / decode ---- */

/*
 * Distinct errors from ipc_decode(), so a peer (and a test) can tell them apart:
 *   -EBADMSG   shorter than a header, or wrong magic
 *   -EPROTO    version other than IPC_VERSION
 *   -ENOMSG    unknown type
 *   -EMSGSIZE  header length disagrees with the buffer, or larger than IPC_MSG_MAX
 *   -EINVAL    body length wrong for the type
 *   -EILSEQ    a string field is not NUL-terminated within its size
 *   -ERANGE    a field is out of range (enum, reserved not zero, count too big, ...)
 * Checked in this order; the first failure is returned. docs/protocol.md lists
 * every range rule.
 */

struct ipc_msg {
	struct ipc_header hdr;
	const void *body; /* points into the decoded buffer */
	size_t body_len;
	/* for list-style replies: the entries after the fixed part */
	const void *entries;
	uint32_t n_entries;
};

/* Name of a type ("ENROLL", "CTL_STATUS", ...), or NULL if unknown. */
const char *ipc_type_to_string(uint16_t type);

/* Body size of a fixed-size type, or (size_t)-1 for unknown types. For
 * list-style replies this is the fixed part only. */
size_t ipc_body_size(uint16_t type);

/* Entry size for list-style replies (0 for other types). */
size_t ipc_entry_size(uint16_t type);

/*
 * Encode a message into buf (size buf_size). body/body_len is the fixed part;
 * entries/n_entries the optional array (list-style replies only).
 * Returns the message length (> 0), -EMSGSIZE if it does not fit in buf or
 * IPC_MSG_MAX, -EINVAL if body_len or entries do not match the type, -ENOMSG
 * for an unknown type. The body is validated as ipc_decode() would, so an
 * encoder never sends what a decoder refuses (-EILSEQ, -ERANGE).
 * For list-style replies the count field in body must equal n_entries (-EINVAL
 * otherwise); the encoder does not rewrite the caller's body.
 */
ssize_t ipc_encode(void *buf, size_t buf_size, uint16_t type, uint32_t seq, const void *body,
		   size_t body_len, const void *entries, uint32_t n_entries);

/* Validate buf (len bytes) and fill *ret. Never reads past buf+len. See the
 * error list above. On success ret->body is aligned as buf is. */
int ipc_decode(const void *buf, size_t len, struct ipc_msg *ret);

/* Most entries of a list-style reply type that fit in one IPC_MSG_MAX message. */
uint32_t ipc_entries_max(uint16_t type);

/* Fill an IPC_ERROR body. message is truncated to fit and NUL-terminated.
 * code may be -errno or errno; anything else (0, beyond 4095) becomes -EIO, so
 * the body always passes ipc_decode(). message may be NULL (empty). */
void ipc_error_fill(struct ipc_error *e, int code, uint32_t ref_seq, uint16_t ref_type,
		    const char *message);

/* ---- sockets ---- */

/* sender credentials of a datagram */
struct ipc_cred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/*
 * Create a SOCK_DGRAM (workload) or SOCK_SEQPACKET (control) socket bound to
 * path with the given mode, CLOEXEC and NONBLOCK. A stale socket file at path is
 * replaced. The datagram socket gets SO_PASSCRED; the seqpacket socket listens.
 * Returns an fd or -errno. The file never has more permissions than mode, even
 * briefly, whatever the umask. A socket file some process is still bound to
 * gives -EADDRINUSE; a non-socket at path is left alone and gives -EEXIST.
 */
int ipc_dgram_listen(const char *path, mode_t mode);
int ipc_control_listen(const char *path, mode_t mode, int backlog);
/* The same for name (no '/') in the directory dirfd: bound through the fd, so no
 * change to any directory above it can redirect the socket. */
int ipc_dgram_listen_at(int dirfd, const char *name, mode_t mode);
int ipc_control_listen_at(int dirfd, const char *name, mode_t mode, int backlog);

/*
 * Workload side: an unbound-then-autobound datagram socket, SO_PASSCRED on,
 * connect()ed to the daemon's path so it accepts datagrams from the daemon only.
 * Returns an fd (CLOEXEC, blocking) or -errno.
 */
int ipc_dgram_connect(const char *path);

/* CLI side: a connected SOCK_SEQPACKET socket (CLOEXEC) with send and receive
 * timeouts of timeout_ms. Returns an fd or -errno (-ENOENT/-ECONNREFUSED when no
 * daemon listens, -ETIMEDOUT when its backlog stays full for timeout_ms). */
int ipc_control_connect(const char *path, unsigned timeout_ms);

/* Set SO_RCVTIMEO and SO_SNDTIMEO (0 = no timeout). Returns 0 or -errno. */
int ipc_socket_set_timeouts(int fd, unsigned timeout_ms);

/*
 * Receive one datagram with its SCM_CREDENTIALS. Writes the sender address
 * (for replying) to *ret_addr and *ret_addrlen if non-NULL. Returns the datagram
 * length (>= 0), -EAGAIN when none is queued, -EMSGSIZE when it was truncated
 * (larger than buf_size), -ENODATA when no credentials came with it.
 * *ret_addrlen is in/out as for recvfrom(): the size of ret_addr on input, the
 * address length on output. Blocks or not as fd does. Any SCM_RIGHTS fds a
 * sender attached are closed. The datagram is consumed even on -EMSGSIZE and
 * -ENODATA.
 */
ssize_t ipc_dgram_recv(int fd, void *buf, size_t buf_size, struct ipc_cred *ret_cred,
		       void *ret_addr, socklen_t *ret_addrlen);

/* Send buf to addr (NULL = the connected peer) with MSG_DONTWAIT|MSG_NOSIGNAL.
 * Returns 0 or -errno (-EAGAIN when the kernel has no room: never blocks). */
int ipc_dgram_send(int fd, const void *buf, size_t len, const void *addr, socklen_t addrlen);
/* The same, passing pass_fd (SCM_RIGHTS) with the datagram. */
int ipc_dgram_send_fd(int fd, const void *buf, size_t len, const void *addr, socklen_t addrlen,
		      int pass_fd);

/* What came with a datagram besides its bytes. */
struct ipc_recv_meta {
	struct ipc_cred cred; /* SCM_CREDENTIALS (always present on success) */
	int pidfd; /* SCM_PIDFD (SO_PASSPIDFD set on the socket), else -1; may name a
		    * process that has already exited. Owned: ipc_recv_meta_done() */
	int fd; /* the first SCM_RIGHTS fd when keep_fd, else -1 (all others closed) */
	uint64_t time_usec; /* SCM_TIMESTAMP (SO_TIMESTAMP set), CLOCK_REALTIME; else 0 */
	struct sockaddr_un addr; /* the sender's address, for replies */
	socklen_t addrlen;
};

/*
 * Receive one datagram with everything ipc_recv_meta holds. Returns the length
 * (>= 0) as ipc_dgram_recv() does, and the same errors; on an error nothing is
 * left open, and ret->addr (and ret->cred, pid 0 if none came) are still filled for
 * -EMSGSIZE and -ENODATA, so the sender can be answered. On success the caller owns ret->pidfd and ret->fd (close them, or
 * call ipc_recv_meta_done()).
 */
ssize_t ipc_dgram_recv_meta(int fd, void *buf, size_t buf_size, bool keep_fd,
			    struct ipc_recv_meta *ret);
/* Close the fds a received datagram brought (safe to call twice). */
void ipc_recv_meta_done(struct ipc_recv_meta *m);

/* SO_PASSPIDFD (6.5+): every datagram then brings a pidfd of its sender, taken
 * by the kernel at send time, so the sender's identity is bound to the datagram
 * itself and a PID reused meanwhile cannot be mistaken for it. -ENOPROTOOPT or
 * -EINVAL on older kernels. */
int ipc_socket_pass_pidfd(int fd);
/* SO_PEERPIDFD (6.5+): a pidfd of a connected peer (as of connect/listen), or -errno. */
int ipc_peer_pidfd(int fd);
/* Bytes the kernel holds on fd's behalf not yet read by their receivers (SIOCOUTQ:
 * for AF_UNIX, what this socket sent and peers have not consumed), and the send
 * buffer they count against (SO_SNDBUF). */
int ipc_socket_outq(int fd, size_t *ret_queued, size_t *ret_sndbuf);

/* Peer credentials of a connected control socket (SO_PEERCRED). */
int ipc_peer_cred(int fd, struct ipc_cred *ret);

/*
 * Control-socket round trip: encode (type, body) into one record, send it,
 * receive one reply record into reply_buf and decode it into *ret. Returns 0,
 * or -errno (timeouts give -ETIMEDOUT; a decoded IPC_ERROR reply is returned
 * as success: the caller looks at ret->hdr.type).
 * fd must be blocking (as ipc_control_connect() returns it). The seq is chosen
 * here; a reply with another seq gives -EBADMSG (except an IPC_ERROR with seq
 * 0), a truncated reply -EMSGSIZE, the daemon hanging up -ECONNRESET, and any
 * ipc_decode() error is returned as is. ret->body points into reply_buf.
 */
int ipc_control_call(int fd, uint16_t type, const void *body, size_t body_len, void *reply_buf,
		     size_t reply_buf_size, struct ipc_msg *ret);
/* The same, keeping the first fd the reply brought (SCM_RIGHTS, CLOEXEC) in
 * *ret_fd (-1 if none; the caller closes it). */
int ipc_control_call_fd(int fd, uint16_t type, const void *body, size_t body_len, void *reply_buf,
			size_t reply_buf_size, struct ipc_msg *ret, int *ret_fd);
