/* SPDX-License-Identifier: MIT */
/* tests/unit/plan-sim.h: a model memory cgroup to drive policy/plan with: a limit, other
 * usage, and members whose data ages HOT -> WARM -> COLD, that compress when asked (after
 * a lag, at a finite speed, at a ratio), read back, relax, or cannot give. The model plays
 * the daemon too: every tick it samples, calls plan_cgroup_tick(), carries decisions out.
 * Deterministic: no clock, no randomness. Include after plan.h and growth.h. */
#pragma once

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy/growth.h"
#include "policy/plan.h"

#define SIM_MIB (1024.0 * 1024.0)
#define SIM_MAX_MEMBERS 8
#define SIM_LOG_MAX 8192
#define SIM_CHUNK 4096.0
/* the model's clock starts here (usec), so no time is 0 ("never" in plan.h) */
#define SIM_T0_USEC UINT64_C(1000000000)

/* the rate the planner is given for a member */
enum sim_rate_source {
	SIM_RATE_DETECTOR = 0, /* policy/growth on its RSS, as memctld feeds it */
	SIM_RATE_TRUE = 1, /* the true allocation rate */
	SIM_RATE_DETECTOR_CONFIDENCE = 2, /* the detector's rate and its leak confidence */
};

enum sim_behaviour {
	SIM_GIVES = 0, /* compresses what it is asked, as far as its data allows */
	SIM_ACKS_ZERO = 1, /* answers at once: 0 bytes freed */
	SIM_ERRORS = 2, /* answers at once: -ENOMEM */
	SIM_NEVER_ACKS = 3, /* never answers */
};

struct sim_member_cfg {
	double start_bytes; /* logical bytes at t=0, long-lived: COLD */
	double ws_bytes; /* working set touched all the time: HOT forever */
	double grow_bps; /* new bytes per second (HOT when written) ... */
	double grow_from_s, grow_until_s; /* ... during [from, until) */
	double cool_s; /* written data is WARM after about cool_s/2, COLD after cool_s */
	double ratio; /* compressed / raw, store overhead included */
	double reject; /* fraction of data the arena finds incompressible */
	double readback_per_s; /* fraction of the compressed data read back per second */
	double compress_bps; /* input bytes compressed per second (decompress: twice that) */
	double lag_s; /* from the command to the work starting */
	double readback_factor; /* given to the planner */
	enum sim_behaviour behaviour;
	double behave_until_s; /* then it gives (0 = forever) */
	uint32_t rate_source; /* enum sim_rate_source: what the planner is told */
	/* the arena region, allocated at the start and touched as it grows: its logical
	 * bytes are all there from t=0, the untouched part zero chunks (0 = no region) */
	double region_bytes;
};

struct sim_member {
	struct sim_member_cfg cfg;
	/* the model: resident raw bytes by class, the compressed store */
	double ws, hot, warm, cold, rejected;
	double comp_logical, comp_stored;
	double readbacks;
	/* the command being carried out */
	uint32_t cmd; /* PLAN_NONE, PLAN_COMPRESS, PLAN_RELAX */
	double cmd_at; /* the work starts */
	double cmd_target, cmd_done;
	uint32_t cmd_hotness;
	bool cmd_started;
	/* the daemon's side */
	struct plan_member pm;
	struct plan_member_state st;
	struct growth_state gs; /* the detector on its RSS */
	double pushed_bytes, pushed_s; /* its last RSS record */
	uint64_t asked; /* commands received */
	uint64_t compress_asked, relax_asked;
	double compress_asked_bytes; /* sum of the COMPRESS targets it got */
};

struct sim_action {
	double t;
	uint32_t member;
	uint32_t action;
	uint32_t trigger;
	uint32_t hotness; /* COMPRESS's max_hotness */
	uint64_t bytes;
};

struct sim {
	struct plan_params p;
	struct plan_cgroup_state cs;
	struct growth_params gp;
	double dt_s, tick_s, stats_s, duration_s;
	double limit; /* 0 = none: headroom is mem_available */
	double base; /* usage that is not the members' */
	double reclaimable; /* of base, inactive file cache */
	double mem_total; /* for no limit: MemAvailable = mem_total - usage */
	double limit2, limit2_at_s; /* the limit becomes limit2 then (0 = never) */
	uint32_t psi_scope;
	double psi_at_s, psi_len_s; /* a PSI spike: ... */
	uint32_t psi_some_permyriad, psi_full_permyriad; /* ... of these values */
	size_t n;
	struct sim_member m[SIM_MAX_MEMBERS];

	/* results */
	double t;
	double usage, peak_usage, min_headroom;
	uint64_t crossings; /* model steps with usage above the limit */
	uint64_t limit_events;
	unsigned n_compress, n_relax, ticks_with_action;
	unsigned reversals; /* COMPRESS rounds followed by RELAX rounds or back */
	double min_reversal_gap_s; /* shortest time between rounds of opposite kinds */
	double compressed_in; /* input bytes compressed: the CPU the plan cost */
	double restored; /* resident bytes given back by RELAX */
	double headroom_sum; /* for the mean headroom, per tick */
	unsigned ticks;
	uint32_t last_dir;
	double last_dir_t;
	size_t n_log;
	struct sim_action log[SIM_LOG_MAX];
	struct plan_decision out[SIM_MAX_MEMBERS];
	struct plan_report last_report;
	int last_ret;
	FILE *trace; /* one line per tick when set */
};

static inline void sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	plan_params_init(&s->p);
	growth_params_init(&s->gp);
	plan_cgroup_state_init(&s->cs);
	s->dt_s = 0.02;
	s->tick_s = 1.0;
	s->stats_s = 1.0;
	s->duration_s = 120;
	s->mem_total = 24.0 * 1024 * SIM_MIB;
	s->min_headroom = INFINITY;
	s->min_reversal_gap_s = INFINITY;
	s->psi_scope = PLAN_PSI_SYSTEM;
}

/* A member with the defaults used throughout: interactive_burst-like data (LZ4 to
 * about 30%), cold after 4 s, compressing 400 MB/s, answering within 5 ms. */
static inline struct sim_member *sim_add(struct sim *s, const struct sim_member_cfg *cfg)
{
	struct sim_member *m = &s->m[s->n];

	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	if (m->cfg.cool_s <= 0)
		m->cfg.cool_s = 4;
	if (m->cfg.ratio <= 0)
		m->cfg.ratio = 0.3;
	if (m->cfg.compress_bps <= 0)
		m->cfg.compress_bps = 400 * SIM_MIB;
	if (m->cfg.lag_s <= 0)
		m->cfg.lag_s = 0.005;
	m->ws = cfg->ws_bytes;
	m->cold = cfg->start_bytes * (1 - cfg->reject);
	m->rejected = cfg->start_bytes * cfg->reject;
	plan_member_state_init(&m->st);
	growth_state_init(&m->gs);
	m->pushed_s = -1;
	m->pm.id = 100 + s->n;
	m->pm.pid = 1000 + (uint32_t)s->n;
	m->pm.chunk_size_bytes = (uint32_t)SIM_CHUNK;
	m->pm.rate_confidence_permyriad = PLAN_CONFIDENCE_UNKNOWN;
	m->pm.readback_factor = cfg->readback_factor;
	m->pm.exec_usec = SIM_T0_USEC;
	m->pm.state = &m->st;
	s->n++;
	return m;
}

static inline uint64_t sim_usec(double t)
{
	return SIM_T0_USEC + (uint64_t)llround(t * 1e6);
}

static inline double sim_member_resident(const struct sim_member *m)
{
	return m->ws + m->hot + m->warm + m->cold + m->rejected + m->comp_stored;
}

static inline double sim_usage(const struct sim *s)
{
	double u = s->base;

	for (size_t i = 0; i < s->n; i++)
		u += sim_member_resident(&s->m[i]);
	return u;
}

static inline double sim_limit_now(const struct sim *s)
{
	return s->limit2_at_s > 0 && s->t >= s->limit2_at_s ? s->limit2 : s->limit;
}

static inline uint64_t sim_b(double x)
{
	return x > 0 ? (uint64_t)llround(x) : 0;
}

/* what the arena would report (struct ipc_arena_stats' fields) */
static inline void sim_stats(struct sim *s, struct sim_member *m)
{
	double raw = m->ws + m->hot + m->warm + m->cold + m->rejected;
	double written = raw + m->comp_logical;
	double untouched = m->cfg.region_bytes > written ? m->cfg.region_bytes - written : 0;

	m->pm.stats = (struct plan_arena_stats){
		.logical_bytes = sim_b(written + untouched),
		.chunks_zero = sim_b(untouched / SIM_CHUNK),
		.resident_bytes = sim_b(raw + m->comp_stored),
		.compressed_bytes = sim_b(m->comp_stored),
		.hot_bytes = sim_b(m->ws + m->hot),
		.warm_bytes = sim_b(m->warm),
		/* compressed chunks stay cold until read */
		.cold_bytes = sim_b(m->cold + m->rejected + m->comp_logical),
		.compressible_cold_bytes = sim_b(m->cold),
		.chunks_raw = sim_b(raw / SIM_CHUNK),
		.chunks_lz4 = sim_b(m->comp_logical / SIM_CHUNK),
		.readbacks = sim_b(m->readbacks),
	};
	m->pm.stats_usec = sim_usec(s->t);
}

static inline void sim_ack(struct sim *s, struct sim_member *m, double bytes, int result)
{
	m->pm.ack_usec = sim_usec(s->t);
	m->pm.ack_action = m->cmd;
	m->pm.ack_target_bytes = sim_b(m->cmd_target);
	m->pm.ack_bytes = sim_b(bytes);
	m->pm.ack_result = result;
	m->pm.inflight = PLAN_NONE;
	m->cmd = PLAN_NONE;
	sim_stats(s, m);
}

/* take up to *budget input bytes from one class into the store */
static inline void sim_compress_from(struct sim_member *m, double *cls, double *budget,
				     double *freed, double goal, struct sim *s)
{
	double in = fmin(*cls, *budget), need_in = (goal - *freed) / (1 - m->cfg.ratio);
	double bad;

	if (need_in < in)
		in = need_in;
	if (in <= 0)
		return;
	/* the arena tries incompressible chunks too: CPU spent, nothing freed */
	bad = in * m->cfg.reject;
	*cls -= in;
	*budget -= in;
	m->rejected += bad;
	m->comp_logical += in - bad;
	m->comp_stored += (in - bad) * m->cfg.ratio;
	*freed += (in - bad) * (1 - m->cfg.ratio);
	s->compressed_in += in;
}

static inline void sim_member_step(struct sim *s, struct sim_member *m)
{
	const struct sim_member_cfg *c = &m->cfg;
	double dt = s->dt_s, k = dt / (c->cool_s / 2), x;
	enum sim_behaviour b = c->behave_until_s > 0 && s->t >= c->behave_until_s ? SIM_GIVES :
										    c->behaviour;

	/* growth: new data is HOT */
	if (s->t >= c->grow_from_s && s->t < c->grow_until_s)
		m->hot += c->grow_bps * dt;
	/* ageing: HOT -> WARM -> COLD, about cool_s/2 in each */
	x = m->warm * k;
	m->warm -= x;
	m->cold += x * (1 - c->reject);
	m->rejected += x * c->reject;
	x = m->hot * k;
	m->hot -= x;
	m->warm += x;
	/* readbacks: compressed data comes back raw and HOT */
	if (m->comp_logical > 0 && c->readback_per_s > 0) {
		x = m->comp_logical * c->readback_per_s * dt;
		m->comp_stored -= x * (m->comp_stored / m->comp_logical);
		m->comp_logical -= x;
		m->hot += x;
		m->readbacks += x / SIM_CHUNK;
	}
	/* the command */
	if (m->cmd == PLAN_NONE || s->t < m->cmd_at)
		return;
	if (m->cmd == PLAN_COMPRESS) {
		double budget = c->compress_bps * dt;

		if (b == SIM_ACKS_ZERO || b == SIM_ERRORS) {
			sim_ack(s, m, 0, b == SIM_ERRORS ? -ENOMEM : 0);
			return;
		}
		if (b == SIM_NEVER_ACKS) {
			m->cmd = PLAN_NONE; /* dropped on the floor */
			return;
		}
		sim_compress_from(m, &m->cold, &budget, &m->cmd_done, m->cmd_target, s);
		if (m->cmd_hotness <= PLAN_WARM)
			sim_compress_from(m, &m->warm, &budget, &m->cmd_done, m->cmd_target, s);
		if (m->cmd_hotness <= PLAN_HOT) {
			sim_compress_from(m, &m->hot, &budget, &m->cmd_done, m->cmd_target, s);
			sim_compress_from(m, &m->ws, &budget, &m->cmd_done, m->cmd_target, s);
		}
		/* done: the target reached, or nothing eligible left (budget unspent) */
		if (m->cmd_done >= m->cmd_target - 1 || budget > 0)
			sim_ack(s, m, m->cmd_done, 0);
	} else if (m->cmd == PLAN_RELAX) {
		double in = fmin(2 * c->compress_bps * dt, m->comp_logical);
		double per = m->comp_logical > 0 ? m->comp_stored / m->comp_logical : 0;
		double grow = in * (1 - per);

		if (grow > m->cmd_target - m->cmd_done && 1 - per > 0) {
			in = (m->cmd_target - m->cmd_done) / (1 - per);
			grow = m->cmd_target - m->cmd_done;
		}
		m->comp_logical -= in;
		m->comp_stored -= in * per;
		m->warm += in;
		m->cmd_done += grow;
		s->restored += grow;
		if (m->cmd_done >= m->cmd_target - 1 || m->comp_logical <= 0)
			sim_ack(s, m, m->cmd_done, 0); /* RELAX_ACK */
	}
}

static inline void sim_log(struct sim *s, uint32_t member, const struct plan_decision *d)
{
	uint64_t bytes = d->action == PLAN_COMPRESS ? d->compress.target_bytes :
						      d->relax.prefetch_bytes;

	if (s->n_log < SIM_LOG_MAX)
		s->log[s->n_log++] = (struct sim_action){
			s->t, member, d->action, d->trigger, d->compress.max_hotness, bytes
		};
}

static inline void sim_tick(struct sim *s)
{
	struct plan_cgroup_input in = { 0 };
	double limit = sim_limit_now(s), usage = sim_usage(s);
	uint64_t now = sim_usec(s->t);
	bool spike = s->psi_len_s > 0 && s->t >= s->psi_at_s && s->t < s->psi_at_s + s->psi_len_s;
	uint32_t dir = PLAN_NONE;
	int r;

	for (size_t i = 0; i < s->n; i++) {
		struct sim_member *m = &s->m[i];
		bool growing = s->t >= m->cfg.grow_from_s && s->t < m->cfg.grow_until_s;

		if (s->ticks % (unsigned)fmax(1, llround(s->stats_s / s->tick_s)) == 0)
			sim_stats(s, m);
		if (m->cfg.rate_source == SIM_RATE_TRUE) {
			m->pm.rate_bytes_per_sec = growing ? (int64_t)m->cfg.grow_bps : 0;
		} else {
			struct growth_result g;

			growth_state_evaluate(&m->gs, &s->gp, now, &g);
			m->pm.rate_bytes_per_sec = g.rate_bytes_per_sec;
			if (m->cfg.rate_source == SIM_RATE_DETECTOR_CONFIDENCE)
				m->pm.rate_confidence_permyriad = g.confidence_permyriad;
		}
	}
	in.limit_bytes = limit > 0 ? sim_b(limit) : PLAN_NO_LIMIT;
	in.high_bytes = PLAN_NO_LIMIT;
	in.usage_bytes = sim_b(usage);
	in.reclaimable_bytes = sim_b(s->reclaimable);
	in.mem_total_bytes = sim_b(s->mem_total);
	in.mem_available_bytes = sim_b(s->mem_total - usage);
	in.limit_events = s->limit_events;
	in.psi_scope = s->psi_scope;
	in.psi_some_avg10_permyriad = spike ? s->psi_some_permyriad : 0;
	in.psi_full_avg10_permyriad = spike ? s->psi_full_permyriad : 0;
	in.growth_bytes_per_sec = PLAN_RATE_UNKNOWN;

	struct plan_member pms[SIM_MAX_MEMBERS];
	for (size_t i = 0; i < s->n; i++)
		pms[i] = s->m[i].pm;
	r = plan_cgroup_tick(&s->p, &s->cs, &in, pms, s->n, now, s->out, SIM_MAX_MEMBERS,
			     &s->last_report);
	s->last_ret = r;
	s->ticks++;
	if (s->trace) {
		const struct plan_report *t = &s->last_report;

		fprintf(s->trace,
			"t=%6.1f usage=%7.1f H=%7.1f low=%6.1f high=%6.1f g=%6.1f need=%6.1f "
			"cap=%7.1f short=%6.1f p=%x%s dec=%d",
			s->t, usage / SIM_MIB, t->headroom_bytes / SIM_MIB, t->low_bytes / SIM_MIB,
			t->high_bytes / SIM_MIB, t->growth_bytes_per_sec / SIM_MIB,
			t->need_bytes / SIM_MIB, t->capacity_bytes / SIM_MIB,
			t->short_bytes / SIM_MIB, t->pressure, t->urgent ? " urgent" : "", r);
		for (size_t i = 0; i < s->n; i++)
			fprintf(s->trace, " [m%zu cold=%.0f warm=%.0f hot=%.0f comp=%.0f/%.0f]", i,
				s->m[i].cold / SIM_MIB, s->m[i].warm / SIM_MIB,
				(s->m[i].hot + s->m[i].ws) / SIM_MIB, s->m[i].comp_stored / SIM_MIB,
				s->m[i].comp_logical / SIM_MIB);
		fputc('\n', s->trace);
	}
	s->headroom_sum += (double)s->last_report.headroom_bytes;
	for (int j = 0; j < r; j++) {
		const struct plan_decision *d = &s->out[j];
		struct sim_member *m = &s->m[d->member_index];

		m->asked++;
		sim_log(s, d->member_index, d);
		dir = d->action;
		if (d->action == PLAN_COMPRESS) {
			s->n_compress++;
			m->compress_asked++;
			m->compress_asked_bytes += (double)d->compress.target_bytes;
			m->cmd = PLAN_COMPRESS;
			m->cmd_target = (double)d->compress.target_bytes;
			m->cmd_hotness = d->compress.max_hotness;
			m->pm.inflight = PLAN_COMPRESS;
			m->pm.inflight_bytes = d->compress.target_bytes;
			m->pm.inflight_usec = now;
		} else {
			s->n_relax++;
			m->relax_asked++;
			m->cmd = PLAN_RELAX;
			m->cmd_target = (double)d->relax.prefetch_bytes;
			m->pm.inflight = PLAN_RELAX;
			m->pm.inflight_bytes = d->relax.prefetch_bytes;
			m->pm.inflight_usec = now;
		}
		m->cmd_at = s->t + m->cfg.lag_s;
		m->cmd_done = 0;
	}
	if (dir != PLAN_NONE) {
		s->ticks_with_action++;
		if (s->last_dir != PLAN_NONE && dir != s->last_dir) {
			s->reversals++;
			if (s->t - s->last_dir_t < s->min_reversal_gap_s)
				s->min_reversal_gap_s = s->t - s->last_dir_t;
		}
		s->last_dir = dir;
		s->last_dir_t = s->t;
	}
}

/* Run the model for duration_s. Returns the first negative plan_cgroup_tick() result, or 0. */
static inline int sim_run(struct sim *s)
{
	uint64_t steps = (uint64_t)llround(s->duration_s / s->dt_s);
	uint64_t per_tick = (uint64_t)llround(s->tick_s / s->dt_s);

	for (uint64_t i = 0; i <= steps; i++) {
		double limit, usage;

		s->t = (double)i * s->dt_s;
		for (size_t j = 0; j < s->n; j++) {
			struct sim_member *m = &s->m[j];
			double rss;

			sim_member_step(s, m);
			/* an RSS record as bpf/rss.bpf.c coalesces them: 1 MiB moved, or 1 s
			 * passed with a change */
			rss = sim_member_resident(m);
			if (m->pushed_s < 0 || fabs(rss - m->pushed_bytes) >= SIM_MIB ||
			    (s->t - m->pushed_s >= 1 && rss != m->pushed_bytes)) {
				growth_state_push(&m->gs, &s->gp, sim_usec(s->t), sim_b(rss));
				m->pushed_bytes = rss;
				m->pushed_s = s->t;
			}
		}
		usage = sim_usage(s);
		limit = sim_limit_now(s);
		s->usage = usage;
		if (usage > s->peak_usage)
			s->peak_usage = usage;
		if (limit > 0) {
			if (usage > limit) {
				s->crossings++;
				s->limit_events++; /* the kernel would reclaim, or OOM-kill */
			}
			if (limit - usage < s->min_headroom)
				s->min_headroom = limit - usage;
		}
		if (i % per_tick == 0) {
			sim_tick(s);
			if (s->last_ret < 0)
				return s->last_ret;
		}
	}
	return 0;
}
