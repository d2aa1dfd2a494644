/* SPDX-License-Identifier: MIT */
/* daemon/profiler.h: `memctl profile`: registered processes sampled hz times a
 * second (faults, CPU, RSS, swap) into a sealed memfd ring that clients map
 * read-only. A process nobody profiles costs nothing here. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "ipc/ipc.h"

struct manager;
struct profiler;

/* Profiles at once, all users; a user other than root holds at most
 * PROFILER_MAX_PER_UID of them. Each one costs a ring (at most 6 MiB: 65,536
 * samples), two fds (the memfd, the client's pidfd) and two per process. */
#define PROFILER_MAX 32
#define PROFILER_MAX_PER_UID 4
/* Processes in all profiles together: the fds they take are reserved out of the
 * process table's pidfd budget (PROFILER_FDS_MAX). */
#define PROFILER_PROCS_MAX 256
#define PROFILER_FDS_MAX (2 * PROFILER_PROCS_MAX + 2 * PROFILER_MAX)
/* What one user other than root may have sampled, processes x hz summed over its
 * profiles: 2,000 samples/s cost memctld about 2% of a core (docs/benchmarks.md,
 * bench/profile_overhead: ~9.5 us a sample). Root is bounded by PROFILER_PROCS_MAX
 * x IPC_PROFILE_HZ_MAX only. */
#define PROFILER_USER_SAMPLES_PER_SEC 2000
/* A ring holds this long of samples, so a reader may sleep that long. */
#define PROFILER_RING_SEC 10

int profiler_new(struct manager *m, struct profiler **ret);
/* Ends every profile (IPC_RING_END_SHUTDOWN) and frees. NULL accepted. */
struct profiler *profiler_free(struct profiler *p);

/*
 * Start sampling req's processes for requester (uid; 0 = root). client_pidfd:
 * a pidfd of the requesting process (taken over; -1 = none): the profile ends
 * when that process exits. On success 0, *ret filled, *ret_fd a read-only fd
 * of the ring for the caller to pass and close. Errors: -ESRCH (a process does
 * not exist), -EPERM (not root and not a process's owner), -EUSERS
 * (PROFILER_MAX_PER_UID or PROFILER_USER_SAMPLES_PER_SEC), -EBUSY (PROFILER_MAX
 * or PROFILER_PROCS_MAX), -EINVAL (a pid twice), -errno;
 * *ret_why says which process where that helps.
 */
int profiler_start(struct profiler *p, const struct ipc_ctl_profile *req, uid_t requester,
		   int client_pidfd, struct ipc_ctl_profile_reply *ret, int *ret_fd,
		   const char **ret_why);
/* Another read-only fd of a running profile's ring: -ENOENT (no such profile or
 * it ended), -EPERM (not root and not the uid that started it). */
int profiler_attach(struct profiler *p, uint64_t id, uid_t requester,
		    struct ipc_ctl_profile_reply *ret, int *ret_fd);
/* Unregister its processes and end it (IPC_RING_END_STOPPED). Errors as attach. */
int profiler_stop(struct profiler *p, uint64_t id, uid_t requester);

unsigned profiler_count(const struct profiler *p);

/* The running profiles' processes, for the metrics: called once per process with
 * its most recent sample (none yet: skipped). */
typedef void (*profiler_visit_t)(const struct ipc_ring_sample *last, uint64_t profile_id,
				 uint32_t hz, void *userdata);
void profiler_visit(const struct profiler *p, profiler_visit_t cb, void *userdata);
