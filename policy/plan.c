// SPDX-License-Identifier: MIT
/* policy/plan.c: the compression planner: headroom targets with hysteresis, pressure,
 * the coldest-first split over a cgroup's members, back-off of members that cannot give,
 * and the post-exec mode. The rules are in plan.h; this file says how. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "policy/plan.h"

#define MIB_BYTES MIB(1)
#define USEC_PER_SEC_D 1e6
#define DEFAULT_CHUNK_BYTES 4096U
/* the savings estimate needs this much compressed data before it replaces the prior:
 * below it a few odd chunks would decide a member's capacity */
#define SAVINGS_MIN_LOGICAL_BYTES MIB_BYTES
/* weights of the newest sample in the per-member EWMAs: readbacks/s and logical growth
 * per STATS, give per ack. One half: a member that changes behaviour is followed within
 * two reports, and one odd report moves the estimate only half way */
#define RATE_ALPHA 0.5
#define GIVE_ALPHA 0.5
/* give never falls below this: a member that freed little once is still asked a little
 * (and backs off if it then frees nothing), rather than being written off for good */
#define GIVE_MIN 0.05
#define SEC(x) ((uint64_t)(x)*UINT64_C(1000000))

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* base * pm / 10000 without overflowing */
static uint64_t permyriad_of(uint64_t base, uint32_t pm)
{
	return base / PLAN_PERMYRIAD * pm + base % PLAN_PERMYRIAD * pm / PLAN_PERMYRIAD;
}

static uint64_t to_bytes(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 1.8e19)
		return UINT64_MAX;
	return (uint64_t)ceil(x);
}

void plan_params_init(struct plan_params *p)
{
	*p = (struct plan_params){
		.mode = PLAN_MODE_HEADROOM,
		.floor_bytes = 16 * MIB_BYTES,
		.floor_permyriad = 500,
		.band_bytes = 16 * MIB_BYTES,
		.band_permyriad = 500,
		.lead_usec = SEC(10),
		.relax_hold_usec = SEC(30),
		.relax_interval_usec = SEC(10),
		.settle_usec = SEC(30),
		.relax_max_bytes = 64 * MIB_BYTES,
		.min_command_bytes = MIB_BYTES,
		.psi_some_permyriad = 1000,
		.psi_full_permyriad = 500,
		.stall_permyriad = 1000,
		.codecs = PLAN_CODEC_ALL,
		.min_savings_permyriad = 500,
		.deadline_ms = 2000,
		.urgent_max_hotness = PLAN_WARM,
		.critical_max_hotness = PLAN_HOT,
		.ack_timeout_usec = SEC(5),
		.backoff_usec = SEC(5),
		.backoff_max_usec = SEC(120),
		.prior_savings_permyriad = 5000,
		.post_exec_delay_usec = SEC(10),
		.post_exec_max_hotness = PLAN_HOT,
	};
}

int plan_params_check(const struct plan_params *p)
{
	if (!p || p->mode >= _PLAN_MODE_MAX)
		return -EINVAL;
	if (p->floor_permyriad > PLAN_PERMYRIAD / 2 || p->band_permyriad > PLAN_PERMYRIAD / 2 ||
	    (p->band_bytes == 0 && p->band_permyriad == 0))
		return -EINVAL;
	if (p->lead_usec < SEC(1) || p->lead_usec > SEC(600))
		return -EINVAL;
	if (p->relax_hold_usec > SEC(3600) || p->relax_interval_usec > SEC(3600) ||
	    p->settle_usec > SEC(3600) || p->relax_max_bytes == 0)
		return -EINVAL;
	if (p->psi_some_permyriad > PLAN_PERMYRIAD || p->psi_full_permyriad > PLAN_PERMYRIAD ||
	    p->stall_permyriad > PLAN_PERMYRIAD)
		return -EINVAL;
	if (p->codecs == 0 || (p->codecs & ~PLAN_CODEC_ALL) ||
	    p->min_savings_permyriad > PLAN_PERMYRIAD)
		return -EINVAL;
	if (p->urgent_max_hotness > PLAN_COLD || p->critical_max_hotness > PLAN_COLD ||
	    p->post_exec_max_hotness > PLAN_COLD)
		return -EINVAL;
	if (p->ack_timeout_usec == 0 || p->ack_timeout_usec < (uint64_t)p->deadline_ms * 1000)
		return -EINVAL;
	if (p->backoff_usec == 0 || p->backoff_max_usec < p->backoff_usec)
		return -EINVAL;
	if (p->prior_savings_permyriad == 0 || p->prior_savings_permyriad > PLAN_PERMYRIAD)
		return -EINVAL;
	if (p->post_exec_delay_usec > SEC(3600))
		return -EINVAL;
	return 0;
}

void plan_cgroup_state_init(struct plan_cgroup_state *s)
{
	memset(s, 0, sizeof(*s));
}

void plan_member_state_init(struct plan_member_state *s)
{
	memset(s, 0, sizeof(*s));
	s->give = 1.0;
	s->last_hotness = PLAN_COLD;
	s->failed_hotness = PLAN_HOT;
}

/* ---- a member's figures ---- */

static uint64_t member_chunk(const struct plan_member *m)
{
	return m->chunk_size_bytes ? m->chunk_size_bytes : DEFAULT_CHUNK_BYTES;
}

/* The member's demand: logical bytes less its zero chunks, i.e. the data it has
 * written, raw or compressed. Compressing or decompressing does not move it; an
 * allocated region does not either until it is touched (a region's logical bytes all
 * arrive at once, untouched: 512 MiB in one stats interval is no 512 MiB/s of growth) */
static uint64_t member_demand(const struct plan_member *m)
{
	uint64_t zero = m->stats.chunks_zero > UINT64_MAX / member_chunk(m) ?
				UINT64_MAX :
				m->stats.chunks_zero * member_chunk(m);

	return sat_sub(m->stats.logical_bytes, zero);
}

/* logical bytes of its LZ4/zstd chunks (zero chunks left out: an untouched region is
 * all zero chunks, and would make any data look compressible) */
static double compressed_logical(const struct plan_member *m)
{
	return ((double)m->stats.chunks_lz4 + (double)m->stats.chunks_zstd) *
	       (double)member_chunk(m);
}

/* fraction of a chunk's bytes compression releases, as this member measured it */
static double member_savings(const struct plan_params *p, const struct plan_member *m)
{
	double logical = compressed_logical(m);

	if (logical < (double)SAVINGS_MIN_LOGICAL_BYTES)
		return (double)p->prior_savings_permyriad / PLAN_PERMYRIAD;
	return fmax(0.0, 1.0 - (double)m->stats.compressed_bytes / logical);
}

/* 1 + readback_factor * expected readbacks per compressed chunk in one lead time */
static double member_cost(const struct plan_params *p, const struct plan_member *m)
{
	double rf = m->readback_factor > 0 ? m->readback_factor : 1.0;
	double chunk = (double)member_chunk(m);
	double reads = m->state->readback_rate * chunk * ((double)p->lead_usec / USEC_PER_SEC_D) /
		       fmax(compressed_logical(m), chunk);

	return 1.0 + rf * reads;
}

enum tier {
	TIER_COLD,
	TIER_WARM, /* urgent rounds */
	TIER_HOT, /* critical rounds (or urgent ones with urgent_max_hotness HOT) */
	TIER_RELAX,
};

/* resident bytes the member could give (COMPRESS tiers) or take back (RELAX) */
static uint64_t member_cap(const struct plan_params *p, const struct plan_member *m, enum tier tier)
{
	const struct plan_arena_stats *st = &m->stats;
	double savings = member_savings(p, m), give = m->state->give, bytes;

	switch (tier) {
	case TIER_COLD:
		bytes = (double)st->compressible_cold_bytes * savings * give;
		break;
	case TIER_WARM:
	case TIER_HOT: {
		/* The raw bytes of the class are what compresses. The stats give bytes per
		 * class over every state, so estimate: the raw bytes that are not cold
		 * (compression took the coldest first, so the compressed chunks are mostly
		 * cold), WARM's share of them first, HOT gets the rest. (A share of all
		 * chunks, as before, undercounted a filling workload's fresh data about
		 * sixfold once most of its region was compressed: its raw chunks are
		 * nearly all hot, and the planner saw a few MiB it could take where there
		 * were fifty.) */
		double chunk = m->chunk_size_bytes ? (double)m->chunk_size_bytes : 4096.0;
		double raw = (double)st->chunks_raw * chunk;
		double not_cold = raw > (double)st->compressible_cold_bytes ?
					  raw - (double)st->compressible_cold_bytes :
					  0;
		double warm = fmin((double)st->warm_bytes, not_cold);

		bytes = (tier == TIER_WARM ? warm : fmin((double)st->hot_bytes, not_cold - warm)) *
			savings * give;
		break;
	}
	case TIER_RELAX:
	default:
		/* decompressing everything adds back what compression released */
		return to_bytes(floor(compressed_logical(m) - (double)st->compressed_bytes));
	}
	bytes = floor(bytes);
	/* nobody frees more than it holds */
	return bytes < (double)st->resident_bytes ? to_bytes(bytes) : st->resident_bytes;
}

/* ---- acks, timeouts, readbacks: what happened since the last tick ---- */

/* A failure to give at hotness `at`: backed off for COMMANDs up to that hotness (an
 * arena that had nothing COLD may have WARM or HOT data), PLAN_HOT for all of them
 * (errors, silence). */
static void member_fail(const struct plan_params *p, struct plan_member_state *s, uint64_t now,
			uint32_t at)
{
	uint64_t step = p->backoff_usec;

	s->failures++;
	s->failed_hotness = at;
	/* doubling per consecutive failure, up to the max */
	for (uint32_t i = 1; i < s->failures && step < p->backoff_max_usec; i++)
		step = step > UINT64_MAX / 2 ? UINT64_MAX : step * 2;
	if (step > p->backoff_max_usec)
		step = p->backoff_max_usec;
	s->backoff_until_usec = sat_add(now, step);
}

static bool inflight_live(const struct plan_params *p, const struct plan_member *m, uint64_t now)
{
	return m->inflight != PLAN_NONE && now < sat_add(m->inflight_usec, p->ack_timeout_usec);
}

/* Backing off at all (no RELAX, counted in the report) */
static bool backing_off(const struct plan_member *m, uint64_t now)
{
	return now < m->state->backoff_until_usec;
}

/* Backing off for a COMPRESS round that may go as hot as `hottest`: a round hotter
 * than the ask it failed may ask it again, for the hotter data */
static bool backed_off(const struct plan_member *m, uint64_t now, uint32_t hottest)
{
	return backing_off(m, now) && hottest >= m->state->failed_hotness;
}

/* An ack that freed nothing, with stats from then on showing nothing left to take at
 * the hotness it was asked for: it ran out, which is no failure to give (its
 * capacity is 0 now, so it is not asked until it has some again). A member that
 * reports capacity and frees nothing did fail. */
static bool ran_out(const struct plan_params *p, const struct plan_member *m)
{
	uint64_t cap;

	if (m->stats_usec < m->ack_usec)
		return false;
	cap = member_cap(p, m, TIER_COLD);
	if (m->state->last_hotness <= PLAN_WARM)
		cap = sat_add(cap, member_cap(p, m, TIER_WARM));
	if (m->state->last_hotness <= PLAN_HOT)
		cap = sat_add(cap, member_cap(p, m, TIER_HOT));
	return cap < p->min_command_bytes;
}

/* Returns true if the member newly failed to give. */
static bool member_note(const struct plan_params *p, const struct plan_member *m, uint64_t now)
{
	struct plan_member_state *s = m->state;
	bool failed = false;

	if (m->ack_usec > s->last_ack_usec) {
		s->last_ack_usec = m->ack_usec;
		/* only a COMPRESS answer says whether it can give */
		if (m->ack_action != PLAN_COMPRESS) {
			/* a RELAX answer */
		} else if (m->ack_result < 0 || (m->ack_bytes == 0 && !ran_out(p, m))) {
			/* an error says nothing about hotness; nothing freed, about the asked */
			member_fail(p, s, now, m->ack_result < 0 ? PLAN_HOT : s->last_hotness);
			failed = true;
		} else if (m->ack_bytes == 0) {
			/* it gave what it had: nothing is left at that hotness */
		} else {
			double got = m->ack_target_bytes ?
					     (double)m->ack_bytes / (double)m->ack_target_bytes :
					     1.0;

			s->failures = 0;
			s->backoff_until_usec = 0;
			s->give = (1 - GIVE_ALPHA) * s->give + GIVE_ALPHA * fmin(got, 1.0);
			if (s->give < GIVE_MIN)
				s->give = GIVE_MIN;
		}
	}
	/* commands the caller stopped waiting for, and ones it still waits for past
	 * ack_timeout_usec: each counts once (a command the caller timed out and still
	 * shows in flight is not counted again) */
	if (s->primed && m->timeouts > s->timeouts) {
		if (m->inflight != PLAN_NONE)
			s->timeout_seen_usec = m->inflight_usec;
		if (!failed)
			member_fail(p, s, now, PLAN_HOT);
		failed = true;
	}
	s->timeouts = m->timeouts;
	if (m->inflight != PLAN_NONE && !inflight_live(p, m, now) &&
	    s->timeout_seen_usec != m->inflight_usec && m->ack_usec < m->inflight_usec) {
		s->timeout_seen_usec = m->inflight_usec;
		if (!failed)
			member_fail(p, s, now, PLAN_HOT);
		failed = true;
	}
	if (m->stats_usec > s->stats_usec) {
		if (s->primed && s->stats_usec && m->stats.readbacks >= s->readbacks) {
			double dt = (double)(m->stats_usec - s->stats_usec) / USEC_PER_SEC_D;
			double reads = (double)(m->stats.readbacks - s->readbacks) / dt;
			double grow = ((double)member_demand(m) - (double)s->demand_bytes) / dt;
			/* the first interval replaces the zeros, later ones are averaged in */
			double a = s->rate_samples ? RATE_ALPHA : 1.0;

			s->readback_rate = (1 - a) * s->readback_rate + a * reads;
			s->demand_rate = (1 - a) * s->demand_rate + a * grow;
			s->rate_samples++;
		} else {
			/* first stats, or the arena started over */
			s->readback_rate = 0;
			s->demand_rate = 0;
			s->rate_samples = 0;
		}
		s->stats_usec = m->stats_usec;
		s->readbacks = m->stats.readbacks;
		s->demand_bytes = member_demand(m);
	}
	s->primed = true;
	return failed;
}

/* ---- validation ---- */

static int cmp_state_ptr(const void *a, const void *b, void *ctx)
{
	const struct plan_member *m = ctx;
	uintptr_t x = (uintptr_t)m[((const struct plan_decision *)a)->member_index].state;
	uintptr_t y = (uintptr_t)m[((const struct plan_decision *)b)->member_index].state;

	return x < y ? -1 : x > y;
}

static int check_inputs(const struct plan_params *p, const struct plan_cgroup_state *cs,
			const struct plan_cgroup_input *cg, const struct plan_member *members,
			size_t n, uint64_t now, struct plan_decision *out, size_t out_size)
{
	if (plan_params_check(p) < 0 || !cs || !cg || (n > 0 && (!members || !out)) ||
	    out_size < n || n > UINT32_MAX)
		return -EINVAL;
	if (cs->primed && now < cs->prev_usec)
		return -EINVAL;
	if (cg->psi_scope > PLAN_PSI_SYSTEM || cg->reserved ||
	    cg->psi_some_avg10_permyriad > PLAN_PERMYRIAD ||
	    cg->psi_full_avg10_permyriad > PLAN_PERMYRIAD)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct plan_member *m = &members[i];

		if (!m->state || m->reserved || m->reserved3)
			return -EINVAL;
		if (!isfinite(m->readback_factor) || m->readback_factor < 0)
			return -EINVAL;
		if (m->rate_confidence_permyriad > PLAN_PERMYRIAD &&
		    m->rate_confidence_permyriad != PLAN_CONFIDENCE_UNKNOWN)
			return -EINVAL;
		if (m->inflight >= _PLAN_ACTION_MAX || m->ack_action >= _PLAN_ACTION_MAX)
			return -EINVAL;
		if (m->ack_result > 0)
			return -EINVAL;
		out[i].member_index = (uint32_t)i;
	}
	/* one state per member: sort the indices by state address, compare neighbours */
	if (n > 1) {
		qsort_r(out, n, sizeof(*out), cmp_state_ptr, (void *)members);
		for (size_t i = 1; i < n; i++)
			if (members[out[i].member_index].state ==
			    members[out[i - 1].member_index].state)
				return -EINVAL;
	}
	return 0;
}

/* ---- the split ---- */

struct split_ctx {
	const struct plan_params *p;
	const struct plan_member *members;
	uint64_t now;
	bool relax; /* order by cost descending (RELAX) instead of ascending */
};

static uint32_t tier_hotness(enum tier tier)
{
	return tier == TIER_HOT ? PLAN_HOT : tier == TIER_WARM ? PLAN_WARM : PLAN_COLD;
}

/* member_cap(), but nothing from a COMPRESS tier it is backing off for: a member that
 * freed nothing at COLD is asked in a hotter round for the hotter data only */
static uint64_t tier_cap(const struct split_ctx *c, const struct plan_member *m, enum tier tier)
{
	if (tier != TIER_RELAX && c->now < m->state->backoff_until_usec &&
	    tier_hotness(tier) >= m->state->failed_hotness)
		return 0;
	return member_cap(c->p, m, tier);
}

static int cmp_cost(const void *a, const void *b, void *ctx)
{
	const struct split_ctx *c = ctx;
	const struct plan_member *x = &c->members[((const struct plan_decision *)a)->member_index];
	const struct plan_member *y = &c->members[((const struct plan_decision *)b)->member_index];
	double cx = member_cost(c->p, x), cy = member_cost(c->p, y);

	if (cx != cy)
		return (cx < cy) != c->relax ? -1 : 1;
	/* ties by id, so the order never depends on the caller's array order */
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Share need over the first k entries of v (sorted by cmp_cost), member j getting in
 * proportion to weight w_j = cap_j / cost_j (COMPRESS) or cap_j * cost_j (RELAX), never
 * more than cap_j: water-filling. share_j / cap_j is largest at the front of the order,
 * so members saturate front to back and one pass does it. The share lands in
 * *field(v[j]) (added to what is there). Returns what is left unassigned.
 */
static uint64_t waterfill(const struct split_ctx *c, struct plan_decision *v, size_t k,
			  enum tier tier, uint64_t need, uint64_t *(*field)(struct plan_decision *))
{
	uint64_t left = need;
	double wsum = 0;
	size_t j;

	for (j = 0; j < k; j++) {
		const struct plan_member *m = &c->members[v[j].member_index];
		uint64_t cap = tier_cap(c, m, tier);
		double cost = member_cost(c->p, m);

		wsum += c->relax ? (double)cap * cost : (double)cap / cost;
	}
	for (j = 0; j < k && left > 0 && wsum > 0; j++) {
		const struct plan_member *m = &c->members[v[j].member_index];
		uint64_t cap = tier_cap(c, m, tier), *f = field(&v[j]), take;
		double cost = member_cost(c->p, m);
		double w = c->relax ? (double)cap * cost : (double)cap / cost;

		if (cap == 0)
			continue;
		/* shares round up, and the last ones take what is left: the sum is need
		 * exactly (a RELAX round's cap is a promise), never more */
		take = MIN(MIN(to_bytes((double)left * w / wsum), cap), left);
		wsum -= w;
		*f += take;
		/* a member that saturates takes less than its share, which raises left / wsum
		 * for the rest: the level only rises, so no member before wants more */
		left -= take;
	}
	return left;
}

static uint64_t *compress_field(struct plan_decision *d)
{
	return &d->compress.target_bytes;
}

/* scratch for the WARM and HOT tiers' shares until fill_compress() writes the decision */
static uint64_t *warm_field(struct plan_decision *d)
{
	return &d->relax.prefetch_bytes;
}

static uint64_t *hot_field(struct plan_decision *d)
{
	return &d->member_id;
}

static uint64_t *relax_field(struct plan_decision *d)
{
	return &d->relax.prefetch_bytes;
}

/*
 * Shares below min_command_bytes are not worth a datagram and a pass over the arena:
 * give them to the members already asked (front of the order first), then, if some is
 * left, to the next members in order, a whole min_command (or capacity) each.
 * Returns what nobody could take.
 */
static uint64_t round_shares(const struct split_ctx *c, struct plan_decision *v, size_t k,
			     uint64_t (*total)(const struct split_ctx *,
					       const struct plan_member *),
			     uint64_t *(*field)(struct plan_decision *), uint64_t left)
{
	uint64_t q = c->p->min_command_bytes;
	size_t j;

	for (j = 0; j < k; j++) {
		uint64_t *f = field(&v[j]);

		if (*f > 0 && *f < q && total(c, &c->members[v[j].member_index]) >= q) {
			/* it could take a whole command: keep it for the second pass */
			left = sat_add(left, *f);
			*f = 0;
		}
	}
	for (j = 0; j < k && left > 0; j++) {
		uint64_t *f = field(&v[j]), room;

		if (*f == 0)
			continue;
		room = sat_sub(total(c, &c->members[v[j].member_index]), *f);
		room = room < left ? room : left;
		*f += room;
		left -= room;
	}
	for (j = 0; j < k && left > 0; j++) {
		uint64_t *f = field(&v[j]), room, take;

		if (*f > 0)
			continue;
		room = total(c, &c->members[v[j].member_index]);
		take = left > q ? left : q;
		take = take < room ? take : room;
		*f = take;
		left = sat_sub(left, take);
	}
	return left;
}

/* a member's capacity in the tier being rounded */
static uint64_t room_cold(const struct split_ctx *c, const struct plan_member *m)
{
	return tier_cap(c, m, TIER_COLD);
}

static uint64_t room_warm(const struct split_ctx *c, const struct plan_member *m)
{
	return tier_cap(c, m, TIER_WARM);
}

static uint64_t room_hot(const struct split_ctx *c, const struct plan_member *m)
{
	return tier_cap(c, m, TIER_HOT);
}

static uint64_t room_relax(const struct split_ctx *c, const struct plan_member *m)
{
	return tier_cap(c, m, TIER_RELAX);
}

/* ---- one tick ---- */

static void fill_compress(const struct plan_params *p, struct plan_decision *d,
			  const struct plan_member *m, uint32_t index, uint64_t target,
			  uint32_t max_hotness, uint32_t trigger, uint32_t pressure)
{
	*d = (struct plan_decision){
		.member_id = m->id,
		.member_index = index,
		.pid = m->pid,
		.action = PLAN_COMPRESS,
		.trigger = trigger,
		.compress = {
			.target_bytes = target,
			.max_hotness = max_hotness,
			.codecs = p->codecs,
			.deadline_ms = p->deadline_ms,
			.min_savings_permyriad = p->min_savings_permyriad,
			.pressure_permyriad = pressure,
		},
	};
}

static size_t post_exec(const struct plan_params *p, const struct plan_member *members, size_t n,
			uint64_t now, uint32_t pressure, struct plan_decision *out)
{
	size_t d = 0;

	for (size_t i = 0; i < n; i++) {
		const struct plan_member *m = &members[i];
		uint64_t target;

		if (m->state->post_exec_done ||
		    now < sat_add(m->exec_usec, p->post_exec_delay_usec))
			continue;
		/* everything it holds: the arena stops when it runs out of eligible chunks */
		target = m->stats.resident_bytes ? m->stats.resident_bytes :
			 m->stats.logical_bytes	 ? m->stats.logical_bytes :
						   member_chunk(m);
		fill_compress(p, &out[d++], m, (uint32_t)i, target, p->post_exec_max_hotness,
			      PLAN_TRIGGER_POST_EXEC, pressure);
		m->state->post_exec_done = true;
		m->state->last_hotness = p->post_exec_max_hotness;
		m->state->last_compress_usec = now;
	}
	return d;
}

/* a member's RSS growth counts, unless it is settling after a RELAX */
static bool settling(const struct plan_params *p, uint64_t last_relax, uint64_t now)
{
	return last_relax && now < sat_add(last_relax, p->settle_usec);
}

static double members_growth(const struct plan_params *p, const struct plan_member *members,
			     size_t n, uint64_t now)
{
	double g = 0;

	for (size_t i = 0; i < n; i++) {
		const struct plan_member *m = &members[i];
		double w = m->rate_confidence_permyriad == PLAN_CONFIDENCE_UNKNOWN ?
				   1.0 :
				   (double)m->rate_confidence_permyriad / PLAN_PERMYRIAD;
		double rss = m->rate_bytes_per_sec > 0 ? (double)m->rate_bytes_per_sec * w : 0;

		/* the RSS slope falls when it compresses and rises when it relaxes, which is
		 * our doing, not growth; its arena's logical bytes do neither. The larger of
		 * the two, and only the logical rate while it settles after a RELAX */
		if (settling(p, m->state->last_relax_usec, now))
			rss = 0;
		g += fmax(rss, m->state->demand_rate);
	}
	return g;
}

/* COMPRESS: need over the askable members, cold tier first. Returns decisions. */
static size_t plan_compress(const struct plan_params *p, const struct plan_member *members,
			    size_t n, uint64_t now, uint64_t need, uint32_t hottest,
			    uint32_t trigger, uint32_t pressure, struct plan_decision *out,
			    struct plan_report *r)
{
	struct split_ctx c = { .p = p, .members = members, .now = now, .relax = false };
	uint64_t left;
	size_t k = 0, d = 0;

	for (size_t i = 0; i < n; i++) {
		const struct plan_member *m = &members[i];

		if (backed_off(m, now, hottest) || inflight_live(p, m, now) || !m->stats_usec)
			continue;
		out[k] = (struct plan_decision){ .member_index = (uint32_t)i };
		r->capacity_bytes = sat_add(r->capacity_bytes, tier_cap(&c, m, TIER_COLD));
		if (hottest <= PLAN_WARM)
			r->capacity_bytes = sat_add(r->capacity_bytes, tier_cap(&c, m, TIER_WARM));
		if (hottest <= PLAN_HOT)
			r->capacity_bytes = sat_add(r->capacity_bytes, tier_cap(&c, m, TIER_HOT));
		k++;
	}
	if (k == 0) {
		r->short_bytes = need;
		return 0;
	}
	qsort_r(out, k, sizeof(*out), cmp_cost, &c);

	left = waterfill(&c, out, k, TIER_COLD, need, compress_field);
	left = round_shares(&c, out, k, room_cold, compress_field, left);
	/* what COLD lacks from WARM, then HOT, as far as this round may go */
	if (left > 0 && hottest <= PLAN_WARM) {
		left = waterfill(&c, out, k, TIER_WARM, left, warm_field);
		left = round_shares(&c, out, k, room_warm, warm_field, left);
	}
	if (left > 0 && hottest <= PLAN_HOT) {
		left = waterfill(&c, out, k, TIER_HOT, left, hot_field);
		left = round_shares(&c, out, k, room_hot, hot_field, left);
	}
	r->short_bytes = left;

	/* compact in place: d <= j, and out[j] is read before out[d] is written */
	for (size_t j = 0; j < k; j++) {
		struct plan_decision v = out[j];
		const struct plan_member *m = &members[v.member_index];
		uint64_t warm = v.relax.prefetch_bytes, hot = v.member_id;
		uint64_t target = sat_add(sat_add(v.compress.target_bytes, warm), hot);
		uint32_t hotness = hot ? PLAN_HOT : warm ? PLAN_WARM : PLAN_COLD;

		/* the tiers each fit in what it holds; together they do unless its figures
		 * contradict each other (a workload reports them): never more than it holds */
		if (target > m->stats.resident_bytes) {
			r->short_bytes = sat_add(r->short_bytes, target - m->stats.resident_bytes);
			target = m->stats.resident_bytes;
		}
		if (target == 0)
			continue;
		fill_compress(p, &out[d++], m, v.member_index, target, hotness, trigger, pressure);
		m->state->last_compress_usec = now;
		m->state->last_hotness = hotness;
		r->asked_bytes = sat_add(r->asked_bytes, target);
	}
	return d;
}

/* RELAX: total over the members holding compressed data, readback-heavy first. */
static size_t plan_relax(const struct plan_params *p, const struct plan_member *members, size_t n,
			 uint64_t now, uint64_t total, struct plan_decision *out,
			 struct plan_report *r)
{
	struct split_ctx c = { .p = p, .members = members, .now = now, .relax = true };
	size_t k = 0, d = 0;

	for (size_t i = 0; i < n; i++) {
		const struct plan_member *m = &members[i];

		if (backing_off(m, now) || inflight_live(p, m, now) || !m->stats_usec ||
		    member_cap(p, m, TIER_RELAX) == 0)
			continue;
		out[k++] = (struct plan_decision){ .member_index = (uint32_t)i };
	}
	if (k == 0)
		return 0;
	qsort_r(out, k, sizeof(*out), cmp_cost, &c);
	(void)round_shares(&c, out, k, room_relax, relax_field,
			   waterfill(&c, out, k, TIER_RELAX, total, relax_field));
	for (size_t j = 0; j < k; j++) {
		struct plan_decision v = out[j];
		const struct plan_member *m = &members[v.member_index];

		if (v.relax.prefetch_bytes == 0)
			continue;
		out[d++] = (struct plan_decision){
			.member_id = m->id,
			.member_index = v.member_index,
			.pid = m->pid,
			.action = PLAN_RELAX,
			.trigger = PLAN_TRIGGER_RECOVERED,
			.relax = { .prefetch_bytes = v.relax.prefetch_bytes },
		};
		m->state->last_relax_usec = now;
		r->relax_bytes = sat_add(r->relax_bytes, v.relax.prefetch_bytes);
	}
	return d;
}

int plan_cgroup_tick(const struct plan_params *p, struct plan_cgroup_state *cs,
		     const struct plan_cgroup_input *cg, const struct plan_member *members,
		     size_t n, uint64_t now, struct plan_decision *out, size_t out_size,
		     struct plan_report *ret_report)
{
	struct plan_report r = { 0 };
	uint64_t limit, used, headroom, base, floor_b, band, low, high, dt, stall, q, g_lead;
	uint32_t trigger, scarcity, hottest;
	double growth, stall_pm;
	bool pressure_raise;
	size_t d = 0;
	int ret;

	ret = check_inputs(p, cs, cg, members, n, now, out, out_size);
	if (ret < 0)
		return ret;

	/* what happened since the last tick: acks, timeouts, readbacks */
	for (size_t i = 0; i < n; i++) {
		if (member_note(p, &members[i], now))
			r.n_new_failures++;
		if (backing_off(&members[i], now))
			r.n_backed_off++;
		else if (inflight_live(p, &members[i], now)) {
			r.n_inflight++;
			if (members[i].inflight == PLAN_COMPRESS)
				r.inflight_bytes =
					sat_add(r.inflight_bytes, members[i].inflight_bytes);
		}
	}

	/* headroom, and what percentages are of */
	limit = cg->limit_bytes < cg->high_bytes ? cg->limit_bytes : cg->high_bytes;
	if (limit != PLAN_NO_LIMIT) {
		used = sat_sub(cg->usage_bytes, cg->reclaimable_bytes);
		headroom = sat_sub(limit, used);
		base = limit;
	} else {
		r.no_limit = true;
		headroom = cg->mem_available_bytes;
		base = cg->mem_total_bytes ? cg->mem_total_bytes :
					     sat_add(cg->usage_bytes, cg->mem_available_bytes);
	}
	/* at most a quarter of base each, so a small cgroup is not kept half empty */
	floor_b = permyriad_of(base, p->floor_permyriad);
	floor_b = floor_b > p->floor_bytes ? floor_b : p->floor_bytes;
	floor_b = floor_b < base / 4 ? floor_b : base / 4;
	band = permyriad_of(base, p->band_permyriad);
	band = band > p->band_bytes ? band : p->band_bytes;
	band = band < base / 4 ? band : base / 4;
	q = p->min_command_bytes;

	/* growth to plan for: the members', or the cgroup's own rate where that is larger
	 * (it sees usage that is no member's) and not settling after a RELAX. A cgroup's
	 * usage slope falls when its members compress, as their RSS slopes do; their
	 * arenas' logical growth does not */
	growth = members_growth(p, members, n, now);
	if (cg->growth_bytes_per_sec != PLAN_RATE_UNKNOWN && !settling(p, cs->last_relax_usec, now))
		growth = fmax(growth, (double)cg->growth_bytes_per_sec);
	g_lead = to_bytes(growth * ((double)p->lead_usec / USEC_PER_SEC_D));
	low = floor_b;
	trigger = PLAN_TRIGGER_FLOOR;
	if (g_lead > low) {
		low = g_lead;
		trigger = PLAN_TRIGGER_GROWTH;
	}
	high = sat_add(low, band);

	/* pressure since the last tick */
	dt = cs->primed ? now - cs->prev_usec : 0;
	if (cs->primed && cg->limit_events > cs->limit_events)
		r.limit_events = cg->limit_events - cs->limit_events;
	stall = cs->primed && cg->reclaim_stall_ns > cs->reclaim_stall_ns ?
			cg->reclaim_stall_ns - cs->reclaim_stall_ns :
			0;
	stall_pm = dt ? (double)stall / ((double)dt * 1000.0) * PLAN_PERMYRIAD : 0;
	if (r.limit_events)
		r.pressure |= PLAN_PRESSURE_LIMIT_EVENTS;
	if (p->stall_permyriad && stall_pm >= p->stall_permyriad)
		r.pressure |= PLAN_PRESSURE_STALL;
	if (cg->psi_scope != PLAN_PSI_NONE &&
	    /* system PSI is everyone's: this cgroup's only near its limit */
	    (cg->psi_scope == PLAN_PSI_CGROUP || r.no_limit || headroom < high)) {
		if (p->psi_some_permyriad && cg->psi_some_avg10_permyriad >= p->psi_some_permyriad)
			r.pressure |= PLAN_PRESSURE_PSI_SOME;
		if (p->psi_full_permyriad && cg->psi_full_avg10_permyriad >= p->psi_full_permyriad)
			r.pressure |= PLAN_PRESSURE_PSI_FULL;
	}
	pressure_raise = r.pressure != 0;
	if (pressure_raise) {
		low = sat_add(low, band);
		high = sat_add(high, band);
		trigger = PLAN_TRIGGER_PRESSURE;
	}
	/* urgent: below the floor, or less than half the lead time of growth left, or the
	 * kernel is already reclaiming at the limit: WARM may go too */
	r.urgent = headroom < floor_b || headroom < g_lead / 2 ||
		   (r.pressure & (PLAN_PRESSURE_LIMIT_EVENTS | PLAN_PRESSURE_PSI_FULL));
	/* critical: under half the floor, under a quarter of the lead time of growth left,
	 * or the kernel reclaimed at the limit since the last call: the OOM killer is next,
	 * and compressing data in use costs readbacks but loses nothing; HOT may go too */
	r.critical = headroom < floor_b / 2 || headroom < g_lead / 4 ||
		     (r.pressure & PLAN_PRESSURE_LIMIT_EVENTS);
	hottest = r.critical ? MIN(p->urgent_max_hotness, p->critical_max_hotness) :
		  r.urgent   ? p->urgent_max_hotness :
			       (uint32_t)PLAN_COLD;

	r.limit_bytes = limit;
	r.headroom_bytes = headroom;
	r.floor_bytes = floor_b;
	r.low_bytes = low;
	r.high_bytes = high;
	r.growth_bytes_per_sec = to_bytes(growth);

	/* for the arena: how deep into the band (or past it) the headroom is */
	scarcity = headroom >= high ?
			   0 :
			   (uint32_t)((double)(high - headroom) / (double)high * PLAN_PERMYRIAD);
	if (p->mode == PLAN_MODE_POST_EXEC) {
		d = post_exec(p, members, n, now, scarcity, out);
		r.trigger = d ? PLAN_TRIGGER_POST_EXEC : PLAN_TRIGGER_NONE;
	} else if (headroom < low) {
		cs->last_low_usec = now;
		cs->relax_ok_since_usec = 0;
		r.need_bytes = high - headroom;
		if (r.need_bytes > r.inflight_bytes) {
			d = plan_compress(p, members, n, now, r.need_bytes - r.inflight_bytes,
					  hottest, trigger, scarcity, out, &r);
			r.trigger = d ? trigger : PLAN_TRIGGER_NONE;
		}
	} else if (!r.pressure && headroom >= sat_add(high, q)) {
		uint64_t hold = to_bytes(growth * ((double)p->relax_hold_usec / USEC_PER_SEC_D));
		uint64_t room = sat_sub(headroom, sat_add(high, hold));

		if (!cs->relax_ok_since_usec)
			cs->relax_ok_since_usec = now;
		if (now - cs->relax_ok_since_usec >= p->relax_hold_usec &&
		    (!cs->last_low_usec || now - cs->last_low_usec >= p->relax_hold_usec) &&
		    (!cs->last_relax_usec || now - cs->last_relax_usec >= p->relax_interval_usec) &&
		    room >= q) {
			d = plan_relax(p, members, n, now,
				       room < p->relax_max_bytes ? room : p->relax_max_bytes, out,
				       &r);
			if (d) {
				cs->last_relax_usec = now;
				r.trigger = PLAN_TRIGGER_RECOVERED;
			}
		}
	} else {
		cs->relax_ok_since_usec = 0;
	}

	cs->primed = true;
	cs->prev_usec = now;
	cs->limit_events = cg->limit_events;
	cs->reclaim_stall_ns = cg->reclaim_stall_ns;
	r.n_decisions = (uint32_t)d;
	if (ret_report)
		*ret_report = r;
	return (int)d;
}

/* ---- strings ---- */

static const char *const mode_names[_PLAN_MODE_MAX] = {
	[PLAN_MODE_HEADROOM] = "headroom",
	[PLAN_MODE_POST_EXEC] = "post-exec",
};

static const char *const action_names[_PLAN_ACTION_MAX] = {
	[PLAN_NONE] = "none",
	[PLAN_COMPRESS] = "compress",
	[PLAN_RELAX] = "relax",
};

static const char *const trigger_names[_PLAN_TRIGGER_MAX] = {
	[PLAN_TRIGGER_NONE] = "none",		[PLAN_TRIGGER_FLOOR] = "floor",
	[PLAN_TRIGGER_GROWTH] = "growth",	[PLAN_TRIGGER_PRESSURE] = "pressure",
	[PLAN_TRIGGER_POST_EXEC] = "post-exec", [PLAN_TRIGGER_RECOVERED] = "recovered",
};

const char *plan_mode_to_string(uint32_t mode)
{
	return mode < _PLAN_MODE_MAX ? mode_names[mode] : NULL;
}

const char *plan_action_to_string(uint32_t action)
{
	return action < _PLAN_ACTION_MAX ? action_names[action] : NULL;
}

const char *plan_trigger_to_string(uint32_t trigger)
{
	return trigger < _PLAN_TRIGGER_MAX ? trigger_names[trigger] : NULL;
}

int plan_mode_from_string(const char *s, uint32_t *ret_mode)
{
	if (!s || !ret_mode)
		return -EINVAL;
	for (uint32_t i = 0; i < _PLAN_MODE_MAX; i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*ret_mode = i;
			return 0;
		}
	return -EINVAL;
}
