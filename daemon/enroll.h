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

#define ENROLL_LATENCY_SAMPLES 64
/* Upper bounds (usec) of the ack latency histogram's buckets, for metrics: the
 * control loop aims at acks within 5 ms (docs/policy.md), a deadline is 2 s. */
#define ENROLL_LATENCY_BUCKETS 13
extern const uint32_t enroll_latency_bounds_usec[ENROLL_LATENCY_BUCKETS];

/* What an enrollment knows; the planner reads it, enroll.c alone writes it. */
struct enrollment_info {
	uint64_t id;
	pid_t pid;
	uid_t uid;
	bool connected; /* arena mode: a libarena process with a channel */
	char name[IPC_NAME_MAX];
	uint32_t readback_factor_permille; /* 0 = the arena's own */
	uint32_t chunk_size_bytes; /* from ENROLL/HELLO; 0 = unknown */
	uint64_t enrolled_usec; /* CLOCK_REALTIME */
	uint64_t enrolled_mono_usec; /* CLOCK_MONOTONIC */
	struct ipc_arena_stats stats; /* the latest STATS or ack */
	uint64_t stats_usec; /* CLOCK_MONOTONIC of that; 0 = none yet */

	/* the one command in flight, if any */
	bool in_flight;
	uint16_t cmd_type; /* IPC_COMPRESS or IPC_RELAX */
	uint32_t cmd_seq;
	uint64_t cmd_sent_usec; /* CLOCK_MONOTONIC */
	uint64_t cmd_deadline_usec; /* CLOCK_MONOTONIC: no ack by then = timed out */
	uint64_t cmd_target_bytes;
	char cmd_trigger[16];
	struct ipc_arena_stats cmd_stats; /* stats when it was sent, for the ack's deltas */

	/* the last command and its answer */
	uint16_t last_command; /* IPC_COMPRESS, IPC_RELAX, or 0 */
	uint64_t last_command_usec; /* CLOCK_REALTIME */
	uint64_t last_ack_usec; /* CLOCK_REALTIME; 0 = none yet */
	uint64_t last_ack_mono_usec; /* CLOCK_MONOTONIC, for the planner */
	int32_t last_ack_result;
	uint64_t last_ack_bytes; /* freed (COMPRESS) or restored (RELAX) */
	uint64_t last_latency_usec;
	uint16_t last_ack_type; /* IPC_COMPRESS or IPC_RELAX: what the last ack answered */
	uint64_t last_ack_target_bytes; /* the target of the command it answered */
	uint32_t latency_usec[ENROLL_LATENCY_SAMPLES]; /* ring of the last acks' latencies */
	uint32_t latency_n;

	uint64_t commands_sent;
	uint64_t acks;
	uint64_t commands_dropped;
	uint64_t commands_timed_out;
	uint64_t bytes_freed;
	uint64_t bytes_restored;
	/* every ack's latency since enrolling: [i] counts those up to
	 * enroll_latency_bounds_usec[i] (and above the one before), the last those
	 * above all; with their sum, a Prometheus histogram */
	uint64_t latency_hist[ENROLL_LATENCY_BUCKETS + 1];
	uint64_t latency_sum_usec;
};

/* Latency quantile q (0..1) over the ring, usec; 0 with no acks yet. */
uint64_t enrollment_latency_quantile(const struct enrollment_info *e, double q);

/* Serve the workload datagram socket fd (ownership taken). */
int enroll_table_new(struct manager *m, int dgram_fd, struct enroll_table **ret);
/* Tell every connected workload goodbye (IPC_BYE_SHUTDOWN) and free. */
struct enroll_table *enroll_table_free(struct enroll_table *t);

unsigned enroll_table_count(const struct enroll_table *t);
/* Look up by pid; NULL if not enrolled. */
const struct enrollment_info *enroll_table_get(const struct enroll_table *t, pid_t pid);
/* Iterate: for (e = enroll_table_next(t, NULL); e; e = enroll_table_next(t, e)). The
 * table must not change meanwhile (no sends, no ticks). */
const struct enrollment_info *enroll_table_next(const struct enroll_table *t,
						const struct enrollment_info *prev);

/*
 * Send COMPRESS (body c) or RELAX (body r) to pid's enrollment, trigger naming why
 * (for events and the CSV). At most one command is in flight per enrollment. Returns
 * 0; -ENOENT (not enrolled), -ENOTCONN (monitor-only: no channel), -EBUSY (one in
 * flight), -EAGAIN (its channel is full: dropped and counted), -ECONNREFUSED (the
 * workload closed its channel: unenrolled), or an encode error.
 */
int enroll_send_compress(struct enroll_table *t, pid_t pid, const struct ipc_compress *c,
			 const char *trigger);
int enroll_send_relax(struct enroll_table *t, pid_t pid, const struct ipc_relax *r,
		      const char *trigger);

/* Each tick: commands past their deadline are timed out (counted, an event); HELLOs
 * of processes that have exited are forgotten. */
void enroll_table_tick(struct enroll_table *t, uint64_t now_usec);

/* HELLOs held (libarena processes `memctl enroll` can take up in arena mode). */
unsigned enroll_table_hello_count(const struct enroll_table *t);

struct enroll_counters {
	uint64_t replies_sent; /* on the shared workload socket */
	uint64_t replies_dropped; /* not sent: a peer's budget spent, or no room */
	uint64_t channel_dropped; /* to enrolled workloads: their channel was full */
	bool identity_pidfd; /* senders identified by the kernel's SCM_PIDFD */
	uint64_t hellos; /* held now */
	uint64_t commands_sent; /* since start, enrollments gone included */
	uint64_t acks;
};
void enroll_table_counters(const struct enroll_table *t, struct enroll_counters *ret);

/*
 * Enroll req->pid on behalf of a control client with credentials (uid). Root may
 * enroll any process; others only their own. A libarena process that said HELLO is
 * enrolled in arena mode (it is sent an ENROLL_ACK with a channel), any other in
 * monitor-only mode. PID 1, memctld itself and processes that have exited (zombies
 * too) are refused for everyone. Returns 0 (*ret_arena_mode says which mode, may be
 * NULL), -ESRCH (no such process, or exited), -EPERM, -EEXIST (already enrolled),
 * -EUSERS (per-uid cap reached), -EAGAIN (a HELLO'd process did not take the ACK:
 * its socket is full). For a refusal with a reason of its own, *ret_why says it.
 */
int enroll_table_add_pid(struct enroll_table *t, const struct ipc_ctl_enroll *req, uid_t requester,
			 bool *ret_arena_mode, const char **ret_why);
/* Returns 0, -ENOENT (not enrolled), -EPERM. */
int enroll_table_remove_pid(struct enroll_table *t, pid_t pid, uid_t requester);
