/* SPDX-License-Identifier: MIT */
/* daemon/planner.h: each tick, feed policy/plan from the tables (cgroups, processes,
 * enrollments) and hand its decisions to enrollment to carry out (or, in a dry run,
 * only log them). The planner's state per cgroup and per enrollment lives here. */
#pragma once

#include <stdint.h>

#include "policy/plan.h"

struct manager;
struct planner;

int planner_new(const struct plan_params *p, struct planner **ret);
struct planner *planner_free(struct planner *pl);
/* New parameters (a reload); state is kept. */
void planner_set_params(struct planner *pl, const struct plan_params *p);

/* One tick at now_usec (CLOCK_MONOTONIC): every memory cgroup with enrolled workloads
 * in arena mode is planned for. Returns the number of commands decided. */
unsigned planner_tick(struct planner *pl, struct manager *m, uint64_t now_usec);

struct planner_counters {
	uint64_t ticks;
	uint64_t decisions; /* made (sent or, in a dry run, logged) */
	uint64_t sent;
	uint64_t send_failed; /* channel full, workload gone, one in flight */
	uint64_t short_bytes; /* need no member could give, summed over ticks */
};
const struct planner_counters *planner_get_counters(const struct planner *pl);
