// SPDX-License-Identifier: MIT
/* daemon/planner.c: the tick's planning step: group the arena-mode enrollments by
 * memory cgroup, describe each cgroup and its members to policy/plan, and carry out
 * what it decides through enrollment (or log it, in a dry run). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/cgroup-table.h"
#include "daemon/decision-log.h"
#include "daemon/enroll.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/planner.h"
#include "daemon/proc-table.h"

struct member_slot {
	uint64_t id; /* enrollment id */
	struct plan_member_state st;
	bool seen;
	UT_hash_handle hh;
};

/* The cgroup's demand: usage plus what its members freed for us (less what they took
 * back). Compressing makes usage flat while the workload still grows; demand does
 * not move with what we do, so its slope is the growth to plan for. */
#define DEMAND_SAMPLES 16
#define DEMAND_WINDOW_USEC (1 * USEC_PER_SEC) /* the slope's span: ten intervals */
#define DEMAND_MIN_SPAN_USEC (300 * USEC_PER_MSEC)

struct cgroup_slot {
	uint32_t id; /* cgroup entry id, never reused; 0 = processes with no known cgroup */
	struct plan_cgroup_state st;
	uint64_t demand_usec[DEMAND_SAMPLES];
	uint64_t demand_bytes[DEMAND_SAMPLES];
	unsigned demand_n, demand_head;
	bool seen;
	UT_hash_handle hh;
};

/* Add a demand sample and return the slope over the last DEMAND_WINDOW_USEC, bytes/s
 * (>= 0), or PLAN_RATE_UNKNOWN while the window is shorter than DEMAND_MIN_SPAN_USEC. */
static int64_t demand_rate(struct cgroup_slot *c, uint64_t now, uint64_t demand)
{
	unsigned oldest = 0;
	uint64_t span;
	double rate;

	c->demand_head = (c->demand_head + 1) % DEMAND_SAMPLES;
	c->demand_usec[c->demand_head] = now;
	c->demand_bytes[c->demand_head] = demand;
	if (c->demand_n < DEMAND_SAMPLES)
		c->demand_n++;
	/* the oldest sample still inside the window */
	for (unsigned k = 1; k < c->demand_n; k++) {
		unsigned i = (c->demand_head + DEMAND_SAMPLES - k) % DEMAND_SAMPLES;

		if (now - c->demand_usec[i] > DEMAND_WINDOW_USEC)
			break;
		oldest = k;
	}
	if (oldest == 0)
		return PLAN_RATE_UNKNOWN;
	oldest = (c->demand_head + DEMAND_SAMPLES - oldest) % DEMAND_SAMPLES;
	span = now - c->demand_usec[oldest];
	if (span < DEMAND_MIN_SPAN_USEC)
		return PLAN_RATE_UNKNOWN;
	rate = ((double)demand - (double)c->demand_bytes[oldest]) * 1e6 / (double)span;
	return rate > 0 ? (int64_t)rate : 0;
}

struct planner {
	struct plan_params params;
	struct member_slot *members;
	struct cgroup_slot *cgroups;
	struct planner_counters counters;
	/* scratch, grown as needed */
	struct plan_member *in;
	struct plan_decision *out;
	const struct enrollment_info **who;
	uint32_t *group;
	size_t cap;
};

int planner_new(const struct plan_params *p, struct planner **ret)
{
	struct planner *pl;

	if (plan_params_check(p) < 0)
		return -EINVAL;
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	pl->params = *p;
	*ret = pl;
	return 0;
}

struct planner *planner_free(struct planner *pl)
{
	struct member_slot *m, *mt;
	struct cgroup_slot *c, *ct;

	if (!pl)
		return NULL;
	HASH_ITER(hh, pl->members, m, mt)
	{
		HASH_DEL(pl->members, m);
		free(m);
	}
	HASH_ITER(hh, pl->cgroups, c, ct)
	{
		HASH_DEL(pl->cgroups, c);
		free(c);
	}
	free(pl->in);
	free(pl->out);
	free(pl->who);
	free(pl->group);
	free(pl);
	return NULL;
}

void planner_set_params(struct planner *pl, const struct plan_params *p)
{
	if (plan_params_check(p) == 0)
		pl->params = *p;
}

const struct planner_counters *planner_get_counters(const struct planner *pl)
{
	return &pl->counters;
}

static int grow(struct planner *pl, size_t n)
{
	void *a, *b, *c, *d;

	if (n <= pl->cap)
		return 0;
	n = MAX(n, pl->cap * 2);
	a = realloc(pl->in, n * sizeof(*pl->in));
	if (a)
		pl->in = a;
	b = realloc(pl->out, n * sizeof(*pl->out));
	if (b)
		pl->out = b;
	c = realloc(pl->who, n * sizeof(*pl->who));
	if (c)
		pl->who = c;
	d = realloc(pl->group, n * sizeof(*pl->group));
	if (d)
		pl->group = d;
	if (!a || !b || !c || !d)
		return -ENOMEM;
	pl->cap = n;
	return 0;
}

static struct member_slot *member_slot(struct planner *pl, uint64_t id)
{
	struct member_slot *s;

	HASH_FIND(hh, pl->members, &id, sizeof(id), s);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		s->id = id;
		plan_member_state_init(&s->st);
		HASH_ADD(hh, pl->members, id, sizeof(s->id), s);
	}
	s->seen = true;
	return s;
}

static struct cgroup_slot *cgroup_slot(struct planner *pl, uint32_t id)
{
	struct cgroup_slot *s;

	HASH_FIND(hh, pl->cgroups, &id, sizeof(id), s);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		s->id = id;
		plan_cgroup_state_init(&s->st);
		HASH_ADD(hh, pl->cgroups, id, sizeof(s->id), s);
	}
	s->seen = true;
	return s;
}

static void stats_from_ipc(const struct ipc_arena_stats *s, struct plan_arena_stats *ret)
{
	*ret = (struct plan_arena_stats){
		.logical_bytes = s->logical_bytes,
		.resident_bytes = s->resident_bytes,
		.compressed_bytes = s->compressed_bytes,
		.hot_bytes = s->hot_bytes,
		.warm_bytes = s->warm_bytes,
		.cold_bytes = s->cold_bytes,
		.compressible_cold_bytes = s->compressible_cold_bytes,
		.chunks_raw = s->chunks_raw,
		.chunks_zero = s->chunks_zero,
		.chunks_lz4 = s->chunks_lz4,
		.chunks_zstd = s->chunks_zstd,
		.readbacks = s->readbacks,
	};
}

/* What a cgroup (or, c NULL, the machine) looks like to the planner this tick. */
static void cgroup_input(const struct manager *m, const struct cgroup_entry *c,
			 struct plan_cgroup_input *in)
{
	*in = (struct plan_cgroup_input){
		.limit_bytes = PLAN_NO_LIMIT,
		.high_bytes = PLAN_NO_LIMIT,
		.growth_bytes_per_sec = PLAN_RATE_UNKNOWN,
		.psi_scope = m->psi_valid ? PLAN_PSI_SYSTEM : PLAN_PSI_NONE,
		.psi_some_avg10_permyriad = m->psi.some.avg10_permyriad,
		.psi_full_avg10_permyriad = m->psi.full.avg10_permyriad,
	};
	if (m->meminfo_valid) {
		in->mem_available_bytes = m->meminfo.mem_available_bytes;
		in->mem_total_bytes = m->meminfo.mem_total_bytes;
	}
	if (!c || !c->valid)
		return;
	in->usage_bytes = c->mem.usage_bytes;
	in->reclaimable_bytes = c->mem.stat.inactive_file_bytes;
	in->reclaim_stall_ns = c->reclaim_stall_ns;
	if (c->mem.hierarchy == CGROUP_HIERARCHY_V1) {
		uint64_t hier = c->mem.stat.hierarchical_limit_bytes;

		/* a parent's limit binds too (0: the file does not say) */
		in->limit_bytes = hier ? MIN(c->mem.limit_bytes, hier) : c->mem.limit_bytes;
		in->limit_events = c->mem.failcnt;
	} else {
		in->limit_bytes = c->mem.limit_bytes;
		in->high_bytes = c->mem.high_bytes;
		in->limit_events = c->mem.events.max + c->mem.events.high;
		if (c->mem.present & CGROUP_MEM_HAS_PRESSURE) {
			in->psi_scope = PLAN_PSI_CGROUP;
			in->psi_some_avg10_permyriad = c->mem.pressure.some.avg10_permyriad;
			in->psi_full_avg10_permyriad = c->mem.pressure.full.avg10_permyriad;
		}
	}
	if (in->limit_bytes == CGROUP_LIMIT_MAX)
		in->limit_bytes = PLAN_NO_LIMIT;
	if (in->high_bytes == CGROUP_LIMIT_MAX)
		in->high_bytes = PLAN_NO_LIMIT;
}

/* Carry out (or log) one decision. */
static void act(struct planner *pl, struct manager *m, const struct enrollment_info *e,
		const struct plan_decision *d, const struct plan_report *rep, const char *cgroup)
{
	const char *trigger = plan_trigger_to_string(d->trigger) ?: "?";
	int r;

	pl->counters.decisions++;
	if (m->config.dry_run) {
		bool c = d->action == PLAN_COMPRESS;
		uint64_t bytes = c ? d->compress.target_bytes : d->relax.prefetch_bytes;

		eventlog_add(&m->eventlog, e->uid, IPC_EVENT_PLAN, (uint32_t)e->pid, (int64_t)bytes,
			     "dry run: would ask %s to %s %" PRIu64 " bytes (%s)", e->name,
			     c ? "free" : "restore", bytes, trigger);
		decision_log_write(m->decisions,
				   &(struct decision_row){
					   .time_usec = now_usec(CLOCK_REALTIME),
					   .pid = e->pid,
					   .name = e->name,
					   .cgroup = cgroup,
					   .event = c ? "dry-run-compress" : "dry-run-relax",
					   .trigger = trigger,
					   .target_bytes = bytes,
					   .latency_usec = -1,
				   });
		return;
	}
	if (d->action == PLAN_COMPRESS) {
		struct ipc_compress cmd = {
			/* small commands answer fast; the planner asks for the rest next time
			 * (at once: an ack brings the next round forward). Post-exec's one
			 * command is the whole arena, as the prototype's was. */
			.target_bytes =
				d->trigger == PLAN_TRIGGER_POST_EXEC ?
					d->compress.target_bytes :
					MIN(d->compress.target_bytes, m->config.max_command_bytes),
			.max_hotness = d->compress.max_hotness,
			.codecs = d->compress.codecs,
			.deadline_ms = d->compress.deadline_ms,
			.min_savings_permyriad = d->compress.min_savings_permyriad,
			.pressure_permyriad = d->compress.pressure_permyriad,
		};

		r = enroll_send_compress(m->enroll, e->pid, &cmd, trigger);
	} else {
		struct ipc_relax cmd = { .prefetch_bytes = d->relax.prefetch_bytes };

		r = enroll_send_relax(m->enroll, e->pid, &cmd, trigger);
	}
	if (r < 0) {
		pl->counters.send_failed++;
		log_debug_errno(r, "%s to %d not sent: %m", plan_action_to_string(d->action),
				(int)e->pid);
		return;
	}
	pl->counters.sent++;
}

static void sweep(struct planner *pl)
{
	struct member_slot *ms, *mt;
	struct cgroup_slot *cs, *ct;

	HASH_ITER(hh, pl->members, ms, mt)
	{
		if (!ms->seen) {
			HASH_DEL(pl->members, ms);
			free(ms);
		} else {
			ms->seen = false;
		}
	}
	HASH_ITER(hh, pl->cgroups, cs, ct)
	{
		if (!cs->seen) {
			HASH_DEL(pl->cgroups, cs);
			free(cs);
		} else {
			cs->seen = false;
		}
	}
}

static int cmp_group(const void *a, const void *b, void *arg)
{
	const uint32_t *g = arg;
	uint32_t x = g[*(const uint32_t *)a], y = g[*(const uint32_t *)b];

	return x < y ? -1 : x > y;
}

unsigned planner_tick(struct planner *pl, struct manager *m, uint64_t now)
{
	uint64_t boot_to_mono = now_usec(CLOCK_BOOTTIME) - now;
	_cleanup_free_ uint32_t *order = NULL;
	size_t n = 0, count = enroll_table_count(m->enroll);
	unsigned decided = 0;

	pl->counters.ticks++;
	if (count == 0 || grow(pl, count) < 0)
		goto done;
	order = calloc(count, sizeof(*order));
	if (!order)
		goto done;
	/* the arena-mode members, each with its cgroup's id (0: unknown) */
	for (const struct enrollment_info *e = enroll_table_next(m->enroll, NULL); e && n < count;
	     e = enroll_table_next(m->enroll, e)) {
		struct proc_entry *p;

		if (!e->connected)
			continue;
		p = proc_table_get(m->procs, e->pid);
		/* a member's cgroup cannot wait for the next tick's resolution */
		if (p && (!p->cgroup || p->cgroup_stale))
			(void)proc_table_resolve_cgroup(m->procs, p);
		pl->who[n] = e;
		pl->group[n] = p && p->cgroup ? p->cgroup->id : 0;
		order[n] = (uint32_t)n;
		n++;
	}
	qsort_r(order, n, sizeof(*order), cmp_group, pl->group);

	for (size_t i = 0; i < n;) {
		uint32_t gid = pl->group[order[i]];
		struct cgroup_entry *c = NULL;
		struct plan_cgroup_input cin;
		struct plan_report rep;
		struct cgroup_slot *cs;
		uint64_t freed = 0;
		size_t k = 0, j;
		int r;

		/* the members of this cgroup */
		for (j = i; j < n && pl->group[order[j]] == gid; j++) {
			const struct enrollment_info *e = pl->who[order[j]];
			struct proc_entry *p = proc_table_get(m->procs, e->pid);
			struct member_slot *ms = member_slot(pl, e->id);
			struct plan_member *pm = &pl->in[k];

			if (!ms)
				continue;
			if (p && p->cgroup)
				c = p->cgroup;
			*pm = (struct plan_member){
				.id = e->id,
				.pid = (uint32_t)e->pid,
				.chunk_size_bytes = e->chunk_size_bytes,
				.rate_bytes_per_sec = p ? p->growth_now.rate_bytes_per_sec :
							  PLAN_RATE_UNKNOWN,
				.rate_confidence_permyriad = PLAN_CONFIDENCE_UNKNOWN,
				.readback_factor = (double)e->readback_factor_permille / 1000.0,
				/* the process's start, on our clock; else when it enrolled */
				.exec_usec = p && p->start_time_usec > boot_to_mono ?
						     p->start_time_usec - boot_to_mono :
						     e->enrolled_mono_usec,
				.stats_usec = e->stats_usec,
				.ack_action = !e->last_ack_mono_usec	    ? PLAN_NONE :
					      e->last_ack_type == IPC_RELAX ? PLAN_RELAX :
									      PLAN_COMPRESS,
				.ack_usec = e->last_ack_mono_usec,
				.ack_target_bytes = e->last_ack_target_bytes,
				.ack_bytes = e->last_ack_bytes,
				.ack_result = e->last_ack_result,
				.timeouts = e->commands_timed_out,
				.state = &ms->st,
			};
			stats_from_ipc(&e->stats, &pm->stats);
			freed += e->bytes_freed - MIN(e->bytes_freed, e->bytes_restored);
			if (e->in_flight) {
				pm->inflight = e->cmd_type == IPC_RELAX ? PLAN_RELAX :
									  PLAN_COMPRESS;
				pm->inflight_bytes = e->cmd_target_bytes;
				pm->inflight_usec = e->cmd_sent_usec;
			}
			pl->who[order[j]] = e; /* unchanged; k indexes pl->in */
			order[i + k] = order[j];
			k++;
		}
		cs = cgroup_slot(pl, gid);
		if (!cs || k == 0) {
			i = j;
			continue;
		}
		/* the files now, not as of the last tick: the loop runs faster than that */
		if (c && m->cgroups)
			(void)cgroup_table_reread(m->cgroups, c);
		cgroup_input(m, c, &cin);
		if (c && c->valid)
			cin.growth_bytes_per_sec = demand_rate(cs, now, cin.usage_bytes + freed);
		r = plan_cgroup_tick(&pl->params, &cs->st, &cin, pl->in, k, now, pl->out, pl->cap,
				     &rep);
		if (r < 0) {
			log_warning_errno(r,
					  "Planner refused the inputs of cgroup %s: %m, skipping",
					  c ? c->path : "(unknown)");
		} else {
			log_debug("plan %s: members=%zu limit=%" PRIu64 " usage=%" PRIu64
				  " headroom=%" PRIu64 " low=%" PRIu64 " high=%" PRIu64
				  " growth=%" PRIu64 " need=%" PRIu64 " capacity=%" PRIu64
				  " short=%" PRIu64
				  " decisions=%d backed_off=%u inflight=%u urgent=%d"
				  " critical=%d",
				  c ? c->path : "-", k, rep.limit_bytes, cin.usage_bytes,
				  rep.headroom_bytes, rep.low_bytes, rep.high_bytes,
				  rep.growth_bytes_per_sec, rep.need_bytes, rep.capacity_bytes,
				  rep.short_bytes, r, rep.n_backed_off, rep.n_inflight, rep.urgent,
				  rep.critical);
			pl->counters.short_bytes += rep.short_bytes;
			for (int d = 0; d < r; d++) {
				const struct enrollment_info *e =
					pl->who[order[i + pl->out[d].member_index]];

				act(pl, m, e, &pl->out[d], &rep, c ? c->path : "");
				decided++;
			}
		}
		i = j;
	}
done:
	sweep(pl);
	return decided;
}
