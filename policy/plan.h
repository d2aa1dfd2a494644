/* SPDX-License-Identifier: MIT */
/* policy/plan.h: the cgroup-aware compression planner: each tick, per memory cgroup with
 * enrolled workloads, who compresses how much (COMPRESS) and who may decompress (RELAX).
 * Pure: numbers in, decisions out, time is an argument; no I/O, no clock, no allocation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The manual.
 *
 * Once per tick the daemon calls plan_cgroup_tick() for every memory cgroup that holds
 * enrolled (arena-mode) workloads, with what it sampled (struct plan_cgroup_input), one
 * struct plan_member per enrolled workload in it, and the time. It gets back at most one
 * decision per member (struct plan_decision: COMPRESS or RELAX with the fields of the
 * wire message, and why) and a report on the cgroup (struct plan_report: headroom,
 * targets, pressure) for logs, events and the CSV. It sends the commands (or, with
 * --dry-run, only logs them), and tells the planner what happened through the next
 * tick's inputs: a command in flight, the last COMPRESS_ACK, the last STATS.
 *
 * State between ticks lives in two structs the caller owns and keeps: a struct
 * plan_cgroup_state with each cgroup entry and a struct plan_member_state with each
 * enrollment. Initialise them once (plan_cgroup_state_init(), plan_member_state_init()),
 * pass the same ones every tick, never write them; a cgroup or an enrollment that goes
 * away takes its state with it. Nothing is allocated: the caller gives the output array.
 *
 * Headroom mode (PLAN_MODE_HEADROOM, the default):
 *
 *   limit    = min(limit_bytes, high_bytes)                 (v2: memory.max, memory.high;
 *                                                            v1: limit_in_bytes)
 *   headroom = limit - (usage - reclaimable) (0 at or over it); without any limit:
 *              MemAvailable. reclaimable is the cgroup's inactive file cache, which
 *              the kernel drops before anything else (the working set, as the
 *              kubelet counts it): a v1 cgroup that read files sits at its limit with
 *              cache and is not short of memory for it
 *   base     = limit; without any limit: MemTotal            (what percentages refer to)
 *   floor    = max(floor_bytes, floor_permyriad * base), at most base / 4
 *   band     = max(band_bytes, band_permyriad * base), at most base / 4
 *              (so a small cgroup is not kept half empty)
 *   growth   = the sum over its members of the larger of their rate (weighted by its
 *              confidence) and the growth of their demand: logical bytes less zero
 *              chunks, the data written, raw or compressed (from successive stats:
 *              compressing makes the RSS slope fall while the workload still grows,
 *              demand does not move; a region allocated but untouched is no demand),
 *              or the cgroup's own rate when given and larger (it sees usage that is
 *              no member's)
 *   low      = max(floor, growth * lead)  (+ band under pressure)
 *   high     = low + band
 *
 *   headroom <  low            COMPRESS: free (high - headroom - bytes already asked and
 *                              in flight), split over the members as below. Trigger:
 *                              "floor" when the floor set low, "growth" when
 *                              growth * lead did, "pressure" when pressure raised it.
 *   low <= headroom < high+q   nothing (the hysteresis band; q = min_command_bytes)
 *   headroom >= high + q       RELAX once it has stayed there relax_hold_usec, no
 *                              pressure, relax_hold_usec since headroom was last below
 *                              low, relax_interval_usec since the last RELAX: members may
 *                              take back min(headroom - high - growth * relax_hold,
 *                              relax_max_bytes). Trigger "recovered".
 *
 * Why this never oscillates: a COMPRESS refills headroom to `high`, a RELAX never takes
 * it below `high + growth * relax_hold`, and COMPRESS starts only below `low` = high -
 * band; a direction change needs relax_hold of quiet; and a member's RSS growth is not
 * counted for settle_usec after it relaxed (its RSS rises because we let it decompress,
 * which is not growth to plan for; its demand growth and the floor still count
 * meanwhile).
 *
 * Pressure: PSI some avg10 >= psi_some_permyriad, PSI full avg10 >= psi_full_permyriad,
 * reclaim stall time (BPF vmscan, the cgroup's tasks) >= stall_permyriad of the time
 * since the last call, or a limit event since then (v1 failcnt, v2 memory.events max and
 * high: the kernel had to reclaim at the limit). System-wide PSI (cgroup v1, or v2
 * without memory.pressure) counts only while the cgroup's headroom is below `high`, or
 * when it has no limit: another cgroup's pressure is not this one's to fix. Pressure
 * raises low and high by one band, so a spike costs at most one band of compression,
 * not one per tick while avg10 decays.
 *
 * The split, coldest first: a member can give (its "capacity")
 *
 *   cold:  compressible_cold_bytes * savings * give
 *   warm:  warm_bytes * raw share * savings * give          (urgent rounds only)
 *   hot:   hot_bytes * raw share * savings * give           (critical rounds only)
 *
 * where savings = 1 - compressed_bytes / compressed logical bytes as the member
 * measured it (prior_savings_permyriad until it compressed a MiB), raw share = raw
 * chunks / all chunks, and give = how much of what it was asked it actually freed
 * (an EWMA over its acks, starting at 1). The need goes to the COLD tier first; an
 * urgent round (headroom below the floor or below half of growth * lead, a limit event,
 * PSI full) takes what the cold tier lacks from WARM (up to urgent_max_hotness), a
 * critical one (headroom below half the floor or below a quarter of growth * lead, or
 * a limit event: the OOM killer is next) from HOT as well (up to critical_max_hotness): compressing data in use costs
 * readbacks but loses nothing, an OOM kill loses everything. The command's max_hotness
 * is the hottest tier it got a share of. Within a tier members share in proportion to
 * capacity / cost, where cost = 1 + readback_factor * expected_reads and expected_reads =
 * readbacks/s * chunk * lead / compressed logical bytes (how often each compressed chunk
 * comes back during one lead time), and no member is asked beyond its capacity: the
 * rest goes to the others. Shares under min_command_bytes go to the cheapest members
 * instead. What nobody can give is reported (plan_report.short_bytes), never asked.
 * RELAX shares go the other way: in proportion to compressed logical bytes * cost, so
 * the members that pay most for readbacks get their data back first.
 *
 * A member that cannot give: a COMPRESS ack with result < 0, or with 0 bytes freed while
 * its stats (as of the ack or later) still show capacity at the hotness it was asked
 * (0 freed and nothing left there is running out, not refusing), a command
 * the caller timed out (plan_member.timeouts), or no ack ack_timeout_usec after a
 * command was sent, backs it off for backoff_usec, doubling
 * per consecutive failure up to backoff_max_usec; meanwhile it is not asked (nor
 * relaxed) and its capacity counts for nothing, so the others are asked — except by a
 * round that may go hotter than the ask that freed nothing (no COLD data says nothing
 * of WARM or HOT; errors and silence back off every round). An ack that
 * frees bytes ends the backoff. A member with a command in flight (and not timed out) is
 * sent nothing else; a COMPRESS's target counts as already on the way.
 *
 * Post-exec mode (PLAN_MODE_POST_EXEC): the prototype's controller. Each member gets one
 * COMPRESS post_exec_delay_usec after its exec (exec_usec), target = its resident bytes
 * (all of it), up to post_exec_max_hotness; trigger "post-exec". Nothing else: no
 * headroom, no RELAX. A member enrolled later than that gets it at its first tick.
 *
 * Time: every *_usec time is on the caller's one clock (CLOCK_MONOTONIC or BOOTTIME),
 * now_usec included; times never go backwards from one call to the next for a state.
 * Safety needs lead_usec comfortably above the tick plus the command->ack latency: the
 * planner sees the cgroup once per tick, and growth * lead is the headroom it keeps.
 *
 * Cost: O(n log n) in the members of the cgroup per call (qsort of the caller's output
 * array, used as scratch), no allocation. COMPRESS decisions come cheapest member
 * first, RELAX ones the member paying most for readbacks first.
 *
 * Wiring it (memctld's manager, each tick, each cgroup entry with arena-mode members):
 *   1. plan_cgroup_input from the entry: limit_bytes = mem.limit_bytes (v1: the lower
 *      of it and stat.hierarchical_limit_bytes), high_bytes = mem.high_bytes, usage,
 *      reclaimable = stat.inactive_file_bytes, limit_events = v1 failcnt / v2
 *      events.max + events.high, reclaim_stall_ns, PSI (v2 pressure, else the
 *      system's with PLAN_PSI_SYSTEM), MemAvailable/MemTotal for a cgroup without a
 *      limit, the cgroup's rate if a detector has one, else PLAN_RATE_UNKNOWN.
 *   2. one plan_member per arena-mode enrollment (struct enrollment_info): id, pid,
 *      chunk size from ENROLL, the process's rate, the fields of e->stats and
 *      e->stats_usec, readback_factor = e->readback_factor_permille / 1000.0 (0: 1.0),
 *      exec time, inflight = e->in_flight ? COMPRESS or RELAX by e->cmd_type : NONE
 *      with e->cmd_target_bytes and e->cmd_sent_usec, the last ack (ack_action by
 *      e->last_command, e->last_ack_mono_usec, the command's target, e->last_ack_bytes,
 *      e->last_ack_result), timeouts = e->commands_timed_out, and a pointer to a
 *      plan_member_state kept with the enrollment.
 *   3. for each decision: enroll_send_compress() with d->compress as the body (the
 *      layout is struct ipc_compress's, asserted in the tests) or enroll_send_relax()
 *      with d->relax, plan_trigger_to_string(d->trigger) as the trigger.
 * --dry-run: call the same way and send nothing; no ack ever changes anything, so the
 * same decision comes back each tick (log it when it changes).
 */

#define PLAN_NO_LIMIT UINT64_MAX /* a limit that is not set (v2 "max", v1 unlimited) */
#define PLAN_RATE_UNKNOWN INT64_MIN /* growth_bytes_per_sec not known */
#define PLAN_CONFIDENCE_UNKNOWN UINT32_MAX /* a rate without confidence: full weight */
#define PLAN_PERMYRIAD 10000U

/* Same values as the wire's (ipc/ipc.h IPC_HOT.., IPC_CODEC_*); tests/unit/test_plan.c
 * asserts it, so a decision's fields copy into struct ipc_compress as they are. */
enum plan_hotness {
	PLAN_HOT = 0,
	PLAN_WARM = 1,
	PLAN_COLD = 2,
};
#define PLAN_CODEC_LZ4 (1U << 0)
#define PLAN_CODEC_ZSTD (1U << 1)
#define PLAN_CODEC_ALL (PLAN_CODEC_LZ4 | PLAN_CODEC_ZSTD)

enum plan_mode {
	PLAN_MODE_HEADROOM = 0, /* "headroom": the planner above */
	PLAN_MODE_POST_EXEC = 1, /* "post-exec": compress N seconds after exec */
	_PLAN_MODE_MAX,
};

enum plan_action {
	PLAN_NONE = 0,
	PLAN_COMPRESS = 1,
	PLAN_RELAX = 2,
	_PLAN_ACTION_MAX,
};

enum plan_trigger {
	PLAN_TRIGGER_NONE = 0, /* "none" */
	PLAN_TRIGGER_FLOOR = 1, /* "floor": headroom below the floor */
	PLAN_TRIGGER_GROWTH = 2, /* "growth": headroom below growth * lead time */
	PLAN_TRIGGER_PRESSURE = 3, /* "pressure": PSI, reclaim stalls, limit events */
	PLAN_TRIGGER_POST_EXEC = 4, /* "post-exec": N seconds after exec */
	PLAN_TRIGGER_RECOVERED = 5, /* "recovered": headroom came back (RELAX) */
	_PLAN_TRIGGER_MAX,
};

/* Which PSI the cgroup input carries. */
enum plan_psi_scope {
	PLAN_PSI_NONE = 0, /* no PSI at all: pressure from stalls and limit events only */
	PLAN_PSI_CGROUP = 1, /* the cgroup's own (v2 memory.pressure) */
	PLAN_PSI_SYSTEM = 2, /* /proc/pressure/memory (v1, or v2 without it) */
};

/* plan_report.pressure bits */
#define PLAN_PRESSURE_PSI_SOME (1U << 0)
#define PLAN_PRESSURE_PSI_FULL (1U << 1)
#define PLAN_PRESSURE_STALL (1U << 2)
#define PLAN_PRESSURE_LIMIT_EVENTS (1U << 3)

/*
 * Parameters; plan_params_init() sets the defaults shown, chosen with the model in
 * tests/unit/plan-sim.h (docs/policy.md, "Planner", has the figures). The daemon
 * exposes each as a [Policy] key.
 */
struct plan_params {
	uint32_t mode; /* enum plan_mode; default HEADROOM */
	/* the floor: headroom always kept; the larger of the two; default 16 MiB and 500
	 * (5% of the limit). floor_permyriad <= 5000. */
	uint64_t floor_bytes;
	uint32_t floor_permyriad;
	/* the hysteresis band above low; the larger of the two; default 16 MiB and 500
	 * (5%). band_permyriad <= 5000; together not 0. */
	uint32_t band_permyriad;
	uint64_t band_bytes;
	/* headroom kept = growth * lead; default 10 s; 1 s .. 10 min */
	uint64_t lead_usec;
	/* RELAX only after this long with headroom back and quiet; default 30 s; <= 1 h */
	uint64_t relax_hold_usec;
	/* at most one RELAX round per cgroup per this; default 10 s; <= 1 h */
	uint64_t relax_interval_usec;
	/* after a RELAX, a member's RSS rate (and the cgroup's) is not growth for this long:
	 * it rose because we let it decompress. Must outlast the time the rate the caller
	 * feeds keeps showing such a step, or the relax comes back as growth and brings on
	 * a COMPRESS (a 16-sample least-squares slope did, at 10 s); default 30 s; <= 1 h */
	uint64_t settle_usec;
	/* bytes one RELAX round gives back, the whole cgroup; default 64 MiB; > 0 */
	uint64_t relax_max_bytes;
	/* no command smaller than this (except a member's whole capacity); default 1 MiB */
	uint64_t min_command_bytes;
	/* pressure thresholds; default some 1000 (10%), full 500 (5%), stall 1000 (10% of
	 * the time in memcg reclaim); each <= 10000, 0 = that signal is off */
	uint32_t psi_some_permyriad;
	uint32_t psi_full_permyriad;
	uint32_t stall_permyriad;
	/* COMPRESS fields: codecs (PLAN_CODEC_* mask, nonzero; default ALL: the arena's
	 * fairness policy picks), min savings (<= 10000; default 500 = 5%), deadline given
	 * to the workload (default 2000 ms; 0 = none) */
	uint32_t codecs;
	uint32_t min_savings_permyriad;
	uint32_t deadline_ms;
	/* hottest class an urgent round may take; default WARM (COLD = never escalate) */
	uint32_t urgent_max_hotness;
	/* and a critical one (headroom under half the floor or a quarter of growth * lead,
	 * or a limit event: the OOM killer is next); default HOT. A critical round goes at least as far as an
	 * urgent one: the hotter of the two applies */
	uint32_t critical_max_hotness;
	/* no ack this long after a COMPRESS: the member could not give; default 5 s;
	 * > 0 and >= deadline_ms */
	uint64_t ack_timeout_usec;
	/* back-off after a member could not give, doubling to the max; default 5 s, 2 min */
	uint64_t backoff_usec;
	uint64_t backoff_max_usec;
	/* savings assumed before a member has compressed 1 MiB; default 5000 (50%);
	 * 1 .. 10000 */
	uint32_t prior_savings_permyriad;
	/* post-exec mode: delay after exec (default 10 s, <= 1 h) and hottest class
	 * compressed (default HOT: everything, as the prototype's signal did) */
	uint64_t post_exec_delay_usec;
	uint32_t post_exec_max_hotness;
};

/* The arena's figures as the member last reported them (STATS or COMPRESS_ACK): the
 * fields of struct ipc_arena_stats the planner uses, same names, same units. */
struct plan_arena_stats {
	uint64_t logical_bytes;
	uint64_t resident_bytes;
	uint64_t compressed_bytes; /* bytes in the compressed store */
	uint64_t hot_bytes;
	uint64_t warm_bytes;
	uint64_t cold_bytes;
	uint64_t compressible_cold_bytes;
	uint64_t chunks_raw;
	uint64_t chunks_zero;
	uint64_t chunks_lz4;
	uint64_t chunks_zstd;
	uint64_t readbacks; /* cumulative demand decompressions */
};

/* One tick's view of a cgroup. Counters are cumulative as the files show them; the
 * planner takes the deltas (a counter that went backwards counts as 0). */
struct plan_cgroup_input {
	/* v1: the lower of memory.limit_in_bytes and memory.stat hierarchical_memory_limit
	 * (a parent's limit binds too); v2: memory.max; PLAN_NO_LIMIT when none */
	uint64_t limit_bytes;
	uint64_t high_bytes; /* v2 memory.high; PLAN_NO_LIMIT (v1: always) */
	uint64_t usage_bytes; /* v1 memory.usage_in_bytes, v2 memory.current */
	uint64_t reclaimable_bytes; /* memory.stat inactive_file (v1 total_inactive_file) */
	/* system /proc/meminfo, used when neither limit is set */
	uint64_t mem_available_bytes;
	uint64_t mem_total_bytes;
	uint64_t limit_events; /* v1 memory.failcnt; v2 memory.events max + high */
	uint64_t reclaim_stall_ns; /* its tasks' memcg reclaim time (BPF vmscan); 0 = none */
	uint32_t psi_scope; /* enum plan_psi_scope */
	uint32_t psi_some_avg10_permyriad;
	uint32_t psi_full_avg10_permyriad;
	uint32_t reserved; /* 0 */
	/* the cgroup's own growth (a detector on its usage series), or PLAN_RATE_UNKNOWN;
	 * planned for when larger than the members' */
	int64_t growth_bytes_per_sec;
};

/* The planner's memory of a member; the caller keeps it with the enrollment. The
 * fields are the planner's; reading them (for `memctl list`) is fine. */
struct plan_member_state {
	bool primed;
	bool post_exec_done; /* post-exec mode: its COMPRESS was decided */
	uint32_t failures; /* consecutive acks that freed nothing, and timeouts */
	uint64_t backoff_until_usec; /* not asked before this */
	uint64_t last_ack_usec; /* newest ack seen */
	uint64_t timeout_seen_usec; /* inflight_usec of the command counted as timed out */
	uint64_t timeouts; /* the caller's timeouts counter, last seen */
	uint64_t last_compress_usec; /* last COMPRESS decided for it */
	uint64_t last_relax_usec; /* last RELAX decided for it */
	uint64_t stats_usec; /* stats_usec of the last stats folded in */
	uint64_t readbacks; /* their readbacks */
	uint64_t demand_bytes; /* their logical bytes less zero chunks */
	uint32_t rate_samples; /* stats intervals folded into the two rates */
	double readback_rate; /* demand decompressions per second, EWMA */
	double demand_rate; /* demand bytes per second, EWMA (may be < 0) */
	uint32_t last_hotness; /* max_hotness of its last COMPRESS (PLAN_COLD before any) */
	uint32_t failed_hotness; /* backed off for rounds up to this hotness (HOT: all) */
	double give; /* freed / asked over its acks, EWMA in [0, 1]; starts at 1 */
};

/* The planner's memory of a cgroup; the caller keeps it with the cgroup entry. */
struct plan_cgroup_state {
	bool primed;
	uint64_t prev_usec; /* the previous call's now */
	uint64_t limit_events; /* the previous call's counters */
	uint64_t reclaim_stall_ns;
	uint64_t last_low_usec; /* headroom last seen below low (or a limit event) */
	uint64_t last_relax_usec; /* last RELAX round */
	uint64_t relax_ok_since_usec; /* headroom above high + q since; 0 = not now */
};

/* One enrolled workload, as the caller sees it this tick. */
struct plan_member {
	uint64_t id; /* the caller's (enrollment id); copied into decisions */
	uint32_t pid;
	uint32_t chunk_size_bytes; /* from ENROLL; 0 = 4096 */
	/* growth: policy/growth's rate for the process (or any rate). Its confidence
	 * weighs it; memctld passes PLAN_CONFIDENCE_UNKNOWN (full weight): a healthy
	 * startup fills a cgroup as surely as a leak, and leak confidence says which */
	int64_t rate_bytes_per_sec;
	uint32_t rate_confidence_permyriad; /* 0..10000, or PLAN_CONFIDENCE_UNKNOWN */
	uint32_t reserved; /* 0 */
	double readback_factor; /* `memctl enroll --readback-factor`; 0 = 1.0; else > 0 */
	uint64_t exec_usec; /* its exec (or enrollment when unknown), for post-exec */
	struct plan_arena_stats stats;
	uint64_t stats_usec; /* when stats was reported; 0 = never (not asked then) */
	/* the command sent and not answered yet: PLAN_NONE, PLAN_COMPRESS or PLAN_RELAX,
	 * its target (target_bytes / prefetch_bytes) and when it was sent. A member with
	 * one in flight is sent nothing else; a COMPRESS's target counts as on its way. One
	 * left here past ack_timeout_usec counts as a failure once and is then ignored; the
	 * caller replaces it when it sends the next command */
	uint32_t inflight;
	/* what the newest ack answered: PLAN_COMPRESS (judged: did it give?), PLAN_RELAX
	 * (not judged), PLAN_NONE (no ack yet) */
	uint32_t ack_action;
	uint64_t inflight_bytes;
	uint64_t inflight_usec;
	/* the newest ack: when it came (0 = none yet), the target of the command it
	 * answered, the bytes freed (COMPRESS) or restored (RELAX), its result (0 or
	 * -errno) */
	uint64_t ack_usec;
	uint64_t ack_target_bytes;
	uint64_t ack_bytes;
	int32_t ack_result;
	uint32_t reserved3; /* 0 */
	/* cumulative: commands the caller timed out (its own deadline); each new one is
	 * a failure to give, like an ack with nothing freed */
	uint64_t timeouts;
	struct plan_member_state *state; /* the caller's, never NULL */
};

/* Field for field struct ipc_compress / struct ipc_relax (same order, types, units). */
struct plan_compress {
	uint64_t target_bytes; /* resident bytes to free; > 0 */
	uint32_t max_hotness; /* enum plan_hotness: compress up to this class */
	uint32_t codecs; /* PLAN_CODEC_* */
	uint32_t deadline_ms;
	uint32_t min_savings_permyriad;
	/* how scarce memory is: 10000 * (high - headroom) / high, 0 with headroom at the
	 * top of the band or above, 10000 at the limit (post-exec: the same figure) */
	uint32_t pressure_permyriad;
	uint32_t reserved; /* 0 */
	/* bandwidth pressure (readback cost multiplier, permyriad): left 0 here; memctld's
	 * sender fills it from resctrl for every COMPRESS (daemon/resctrl-table.h) */
	uint32_t readback_cost_permyriad;
	uint32_t reserved2; /* 0 */
};

struct plan_relax {
	uint64_t prefetch_bytes; /* resident bytes it may take back; > 0 */
	uint32_t flags; /* 0 */
	uint32_t reserved; /* 0 */
};

struct plan_decision {
	uint64_t member_id; /* plan_member.id */
	uint32_t member_index; /* into the members array */
	uint32_t pid;
	uint32_t action; /* PLAN_COMPRESS or PLAN_RELAX */
	uint32_t trigger; /* enum plan_trigger */
	struct plan_compress compress; /* PLAN_COMPRESS */
	struct plan_relax relax; /* PLAN_RELAX */
};

/* What the planner saw and wanted, this tick, for one cgroup. */
struct plan_report {
	uint64_t limit_bytes; /* effective: min(limit, high); PLAN_NO_LIMIT */
	uint64_t headroom_bytes;
	uint64_t floor_bytes;
	uint64_t low_bytes; /* compress below this */
	uint64_t high_bytes; /* compress up to this */
	uint64_t growth_bytes_per_sec; /* the growth planned for (>= 0) */
	uint64_t need_bytes; /* high - headroom when compressing, else 0 */
	uint64_t inflight_bytes; /* of it, already asked and not answered */
	uint64_t asked_bytes; /* COMPRESS targets decided now */
	uint64_t short_bytes; /* need no member could take (capacity exhausted) */
	uint64_t capacity_bytes; /* what the askable members could give, all tiers */
	uint64_t relax_bytes; /* RELAX prefetch decided now */
	uint64_t limit_events; /* delta since the last call */
	uint32_t pressure; /* PLAN_PRESSURE_* */
	uint32_t trigger; /* of this tick's decisions, PLAN_TRIGGER_NONE if none */
	uint32_t n_decisions;
	uint32_t n_backed_off; /* members skipped: backing off */
	uint32_t n_inflight; /* members skipped: a COMPRESS in flight */
	uint32_t n_new_failures; /* members that failed to give since the last call */
	bool urgent; /* WARM allowed this round */
	bool critical; /* HOT allowed this round */
	bool no_limit; /* headroom from MemAvailable */
};

/* Defaults documented in struct plan_params. */
void plan_params_init(struct plan_params *p);
/* Ranges documented in struct plan_params. Returns 0 or -EINVAL. */
int plan_params_check(const struct plan_params *p);

void plan_cgroup_state_init(struct plan_cgroup_state *s);
void plan_member_state_init(struct plan_member_state *s);

/*
 * One tick for one cgroup: n members (0 is fine: nothing to decide), decisions into
 * out (room for out_size; out_size >= n is required, the array is also scratch), the
 * report into *ret_report (may be NULL). Updates *cs and every member's state.
 *
 * Returns the number of decisions written (0..n), or -EINVAL: params failing
 * plan_params_check(), NULL pointers, out_size < n, a member with a NULL state, the
 * same state twice, a readback_factor < 0 or not finite, a confidence above 10000, an
 * enum out of range, nonzero reserved fields, or now_usec earlier than the previous
 * call's for cs. On -EINVAL no state changes (out may have served as scratch).
 */
int plan_cgroup_tick(const struct plan_params *p, struct plan_cgroup_state *cs,
		     const struct plan_cgroup_input *cg, const struct plan_member *members,
		     size_t n, uint64_t now_usec, struct plan_decision *out, size_t out_size,
		     struct plan_report *ret_report);

/* "headroom", "post-exec" / "none", "compress", "relax" / "floor", "growth", "pressure",
 * "post-exec", "recovered"; NULL when out of range. */
const char *plan_mode_to_string(uint32_t mode);
const char *plan_action_to_string(uint32_t action);
const char *plan_trigger_to_string(uint32_t trigger);
/* The reverse of plan_mode_to_string() (exact match). Returns 0 or -EINVAL. */
int plan_mode_from_string(const char *s, uint32_t *ret_mode);
