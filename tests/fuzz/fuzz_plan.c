/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_plan.c: libFuzzer target for plan_cgroup_tick(): ticks of arbitrary
 * cgroup and member figures (what hostile workloads report goes in as it is). Bad input
 * is -EINVAL and changes nothing; decisions always keep the planner's promises. */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "policy/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEMBERS_MAX 4
#define TICKS_MAX 16

/* abort with the line, so a crash says which promise broke */
#define check(cond)                                                               \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "fuzz_plan.c:%d: %s\n", __LINE__, #cond); \
			abort();                                                  \
		}                                                                 \
	} while (0)

/* as the report adds them */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

struct reader {
	const uint8_t *p;
	size_t left;
};

/* n bytes from the input, zeros once it runs out */
static void take(struct reader *r, void *dst, size_t n)
{
	size_t k = MIN(n, r->left);

	memcpy(dst, r->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	r->p += k;
	r->left -= k;
}

static uint8_t take_u8(struct reader *r)
{
	uint8_t v;

	take(r, &v, 1);
	return v;
}

/* Mostly sane values with a hostile one now and then, so the planner's logic is
 * reached and not only its validation. */
static void member_from(struct reader *r, struct plan_member *m, unsigned i,
			struct plan_member_state *st)
{
	uint8_t mode = take_u8(r);

	if (mode & 1) {
		take(r, m, sizeof(*m));
	} else {
		uint32_t v[12];

		take(r, v, sizeof(v));
		memset(m, 0, sizeof(*m));
		m->id = i;
		m->pid = 1000 + i;
		m->chunk_size_bytes = 4096;
		m->rate_bytes_per_sec = (int64_t)(int32_t)v[0] * 64;
		m->rate_confidence_permyriad = v[1] % 10001;
		m->readback_factor = (double)(v[2] % 1000) / 100;
		m->stats.logical_bytes = (uint64_t)v[3] << 12;
		m->stats.resident_bytes = (uint64_t)v[4] << 12;
		m->stats.compressible_cold_bytes = (uint64_t)v[5] << 12;
		m->stats.warm_bytes = (uint64_t)v[6] << 12;
		m->stats.chunks_raw = v[7];
		m->stats.chunks_lz4 = v[8] & 0xffff;
		m->stats.compressed_bytes = (uint64_t)v[9] << 8;
		m->stats.readbacks = v[10];
		m->stats_usec = v[11] & 1 ? 0 : UINT64_C(1) << 40;
		m->inflight = (v[11] >> 1) % 3;
		m->inflight_bytes = (uint64_t)v[5] << 10;
		m->inflight_usec = UINT64_C(1) << 40;
		m->ack_action = (v[11] >> 3) % 3;
		m->ack_usec = (v[11] >> 5) & 1 ? (UINT64_C(1) << 40) + v[0] : 0;
		m->ack_target_bytes = (uint64_t)v[6] << 10;
		m->ack_bytes = (uint64_t)v[7] << 10;
		m->ack_result = (v[11] >> 6) & 1 ? -ENOMEM : 0;
		m->timeouts = (v[11] >> 7) & 3;
	}
	m->state = st;
	if (mode & 2)
		m->state = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = { data, size };
	struct plan_params p;
	struct plan_cgroup_state cs, cs_before;
	struct plan_member_state st[MEMBERS_MAX], st_before[MEMBERS_MAX];
	struct plan_member m[MEMBERS_MAX];
	struct plan_decision out[MEMBERS_MAX];
	struct plan_report rep;
	uint64_t now = UINT64_C(1) << 40;
	uint8_t flags = take_u8(&r);

	plan_params_init(&p);
	if (flags & 1)
		p.mode = PLAN_MODE_POST_EXEC;
	if (flags & 2)
		take(&r, &p, sizeof(p)); /* raw: mostly invalid, must be refused */
	plan_cgroup_state_init(&cs);
	for (unsigned i = 0; i < MEMBERS_MAX; i++)
		plan_member_state_init(&st[i]);

	for (unsigned tick = 0; tick < TICKS_MAX && r.left > 0; tick++) {
		struct plan_cgroup_input cg;
		bool seen[MEMBERS_MAX] = { false };
		uint64_t asked = 0, relaxed = 0;
		size_t n = take_u8(&r) % (MEMBERS_MAX + 1);
		uint32_t step;
		int ret;

		take(&r, &cg, sizeof(cg));
		if (!(flags & 4)) {
			/* keep the enums and reserved fields right most of the time */
			cg.psi_scope %= 3;
			cg.reserved = 0;
			cg.psi_some_avg10_permyriad %= 10001;
			cg.psi_full_avg10_permyriad %= 10001;
		}
		for (unsigned i = 0; i < n; i++)
			member_from(&r, &m[i], i, &st[i]);
		take(&r, &step, sizeof(step));
		now += step;

		cs_before = cs;
		memcpy(st_before, st, sizeof(st));

		ret = plan_cgroup_tick(&p, &cs, &cg, m, n, now, out, MEMBERS_MAX, &rep);
		if (ret < 0) {
			check(ret == -EINVAL);
			check(memcmp(&cs, &cs_before, sizeof(cs)) == 0);
			check(memcmp(st, st_before, sizeof(st)) == 0);
			continue;
		}
		check((size_t)ret <= n);
		check(rep.n_decisions == (uint32_t)ret);
		for (int j = 0; j < ret; j++) {
			const struct plan_decision *d = &out[j];
			const struct plan_member *mm;

			check(d->member_index < n);
			mm = &m[d->member_index];
			check(!seen[d->member_index]);
			seen[d->member_index] = true;
			check(d->member_id == mm->id && d->pid == mm->pid);
			/* a member backing off is sent nothing, but a COMPRESS hotter than the
			 * ask it failed (headroom mode) */
			if (mm->state && now < mm->state->backoff_until_usec)
				check(p.mode == PLAN_MODE_POST_EXEC ||
				      (d->action == PLAN_COMPRESS &&
				       d->compress.max_hotness < mm->state->failed_hotness));
			if (d->action == PLAN_COMPRESS) {
				check(d->compress.target_bytes > 0);
				check(d->compress.max_hotness <= PLAN_COLD);
				check(d->compress.codecs == p.codecs);
				check(d->compress.deadline_ms == p.deadline_ms);
				check(d->compress.min_savings_permyriad == p.min_savings_permyriad);
				check(d->compress.pressure_permyriad <= PLAN_PERMYRIAD);
				check(d->compress.reserved == 0);
				if (p.mode == PLAN_MODE_HEADROOM) {
					/* never more than it holds */
					check(d->compress.target_bytes <= mm->stats.resident_bytes);
					check(d->trigger == PLAN_TRIGGER_FLOOR ||
					      d->trigger == PLAN_TRIGGER_GROWTH ||
					      d->trigger == PLAN_TRIGGER_PRESSURE);
					asked = sat_add(asked, d->compress.target_bytes);
				} else {
					check(d->trigger == PLAN_TRIGGER_POST_EXEC);
				}
			} else {
				check(d->action == PLAN_RELAX);
				check(p.mode == PLAN_MODE_HEADROOM);
				check(d->trigger == PLAN_TRIGGER_RECOVERED);
				check(d->relax.prefetch_bytes > 0);
				check(d->relax.flags == 0 && d->relax.reserved == 0);
				relaxed = sat_add(relaxed, d->relax.prefetch_bytes);
			}
		}
		if (p.mode == PLAN_MODE_HEADROOM) {
			check(rep.asked_bytes == asked);
			check(rep.relax_bytes == relaxed);
			check(relaxed <= p.relax_max_bytes);
			check(rep.low_bytes <= rep.high_bytes);
		}
	}
	return 0;
}
