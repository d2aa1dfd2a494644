/* SPDX-License-Identifier: MIT */
/* daemon/enroll.h: the workload datagram socket and the enrollment table.
 * Enrolled processes are held by pidfd, so a reused PID is never acted on. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc/ipc.h"

struct manager;
struct enroll_table;

struct enrollment_info {
	uint64_t id;
	pid_t pid;
	uid_t uid;
	bool connected; /* the workload enrolled itself: it has a channel */
	char name[IPC_NAME_MAX];
	struct ipc_arena_stats stats;
};

/* Serve the workload datagram socket fd (ownership taken). */
int enroll_table_new(struct manager *m, int dgram_fd, struct enroll_table **ret);
/* Tell every connected workload goodbye (IPC_BYE_SHUTDOWN) and free. */
struct enroll_table *enroll_table_free(struct enroll_table *t);

unsigned enroll_table_count(const struct enroll_table *t);
/* Look up by pid; NULL if not enrolled. */
const struct enrollment_info *enroll_table_get(const struct enroll_table *t, pid_t pid);

struct enroll_counters {
	uint64_t replies_sent; /* on the shared workload socket */
	uint64_t replies_dropped; /* not sent: a peer's budget spent, or no room */
	uint64_t channel_dropped; /* to enrolled workloads: their channel was full */
	bool identity_pidfd; /* senders identified by the kernel's SCM_PIDFD */
};
void enroll_table_counters(const struct enroll_table *t, struct enroll_counters *ret);

/*
 * Enroll pid on behalf of a control client with credentials (uid). Root may
 * enroll any process; others only their own. PID 1, memctld itself and processes
 * that have exited (zombies too) are refused for everyone. Returns 0, -ESRCH (no
 * such process, or exited), -EPERM, -EEXIST (already enrolled), -EUSERS (per-uid
 * cap reached). For a refusal with a reason of its own, *ret_why says it (else
 * NULL).
 */
int enroll_table_add_pid(struct enroll_table *t, pid_t pid, uid_t requester,
			 const char **ret_why);
/* Returns 0, -ENOENT (not enrolled), -EPERM. */
int enroll_table_remove_pid(struct enroll_table *t, pid_t pid, uid_t requester);
