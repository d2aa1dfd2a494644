// SPDX-License-Identifier: MIT
/* bench/churn.c: memctld under a fork/exec/exit storm (default 1,000
 * processes/s for 30 s): its CPU, peak RSS and lost records; then its RSS
 * while it tracks 10,000 live processes. */
#include <getopt.h>
#include <spawn.h>
#include <stdbool.h>

#include "bench/daemon-util.h"

extern char **environ;

/* Reap n children other than the daemon (also our child); block if wait. */
static long reap(pid_t daemon, long n, bool wait)
{
	long reaped = 0;
	pid_t pid;

	while (reaped < n && (pid = waitpid(-1, NULL, wait ? 0 : WNOHANG)) > 0)
		if (pid != daemon)
			reaped++;
	return reaped;
}

/* Spawn /bin/true at a fixed rate for seconds; returns how many were spawned. */
static long storm(pid_t daemon, double rate, double seconds)
{
	char *argv[] = { "/bin/true", NULL };
	double t0 = bench_now(), next = t0;
	long n = 0, reaped = 0;

	while (bench_now() - t0 < seconds) {
		pid_t pid;

		if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) == 0)
			n++;
		reaped += reap(daemon, n - reaped, false);
		next += 1.0 / rate;
		double sleep_s = next - bench_now();
		if (sleep_s > 0)
			usleep((useconds_t)(sleep_s * 1e6));
	}
	reap(daemon, n - reaped, true);
	return n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "hold", required_argument, NULL, 'n' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct ipc_ctl_status_reply s0, s1;
	struct bench_daemon d = {};
	double rate = 1000, seconds = 30, cpu0, cpu1, t0, t1;
	long hold = 10000, spawned;
	unsigned hold_seconds = 10; /* CPU measured while holding */
	pid_t *held;
	int c, r;

	while ((c = getopt_long(argc, argv, "r:s:n:qh", opts, NULL)) >= 0) {
		switch (c) {
		case 'r':
			rate = atof(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'n':
			hold = atol(optarg);
			break;
		case 'q': /* a smoke run */
			seconds = 3;
			hold = 1000;
			hold_seconds = 2;
			break;
		default:
			printf("Usage: churn [--rate N/s (1000)] [--seconds N (30)] [--hold N (10000)] [--quick]\n"
			       "Needs root; runs $BUILD/memctld (or $MEMCTLD).\n");
			return c == 'h' ? 0 : 1;
		}
	}
	if (rate <= 0 || seconds <= 0 || hold < 0)
		return fprintf(stderr, "bad arguments\n"), 1;

	r = bench_daemon_start(&d, "");
	if (r < 0)
		return fprintf(stderr, "memctld did not start: %s\n", strerror(-r)), 1;
	usleep(500000);
	if (bench_daemon_status(&d, &s0) < 0)
		return fprintf(stderr, "status failed\n"), 1;

	/* phase 1: the storm */
	cpu0 = bench_cpu_seconds(d.pid);
	t0 = bench_now();
	spawned = storm(d.pid, rate, seconds);
	usleep(500000); /* the last exits */
	t1 = bench_now();
	cpu1 = bench_cpu_seconds(d.pid);
	if (bench_daemon_status(&d, &s1) < 0)
		return fprintf(stderr, "status failed\n"), 1;
	printf("storm_processes=%ld storm_rate_per_s=%.0f storm_seconds=%.1f\n", spawned,
	       (double)spawned / seconds, seconds);
	printf("exec_events=%" PRIu64 " exit_events=%" PRIu64 "\n", s1.events_exec - s0.events_exec,
	       s1.events_exit - s0.events_exit);
	printf("daemon_cpu_pct=%.2f (of one core; target <= 2)\n",
	       100.0 * (cpu1 - cpu0) / (t1 - t0));
	printf("lost_records=%" PRIu64 " (target 0)\n", s1.events_lost - s0.events_lost);
	printf("daemon_peak_rss_bytes=%lld after storm\n", bench_status_kb(d.pid, "VmHWM"));
	fflush(stdout);

	/* phase 2: hold N live processes (forked, paused: little memory each) */
	held = calloc((size_t)hold + 1, sizeof(*held));
	if (!held)
		return 1;
	for (long i = 0; i < hold; i++) {
		held[i] = fork();
		if (held[i] == 0) {
			pause();
			_exit(0);
		}
		if (held[i] < 0) {
			fprintf(stderr, "fork %ld failed: %s\n", i, strerror(errno));
			hold = i;
			break;
		}
	}
	for (int i = 0; i < 100; i++) {
		if (bench_daemon_status(&d, &s1) == 0 &&
		    s1.processes_tracked >= s0.processes_tracked + (uint64_t)hold)
			break;
		usleep(100000);
	}
	sleep(2); /* a tick or two with everything tracked */
	bench_daemon_status(&d, &s1);
	printf("held_processes=%ld tracked_processes=%" PRIu64 "\n", hold, s1.processes_tracked);
	printf("daemon_rss_bytes_holding=%lld daemon_peak_rss_bytes=%lld (target <= 16 MiB = 16777216)\n",
	       bench_status_kb(d.pid, "VmRSS"), bench_status_kb(d.pid, "VmHWM"));
	printf("daemon_rss_anon_bytes=%lld daemon_rss_file_bytes=%lld daemon_rss_shmem_bytes=%lld\n",
	       bench_status_kb(d.pid, "RssAnon"), bench_status_kb(d.pid, "RssFile"),
	       bench_status_kb(d.pid, "RssShmem"));
	/* the daemon's CPU while it tracks them all: each tick (1 s,
	 * TickIntervalSec=) evaluates every process's growth series, a paused
	 * one being flat (no statistics), plus whatever else the tick does */
	cpu0 = bench_cpu_seconds(d.pid);
	t0 = bench_now();
	sleep(hold_seconds);
	cpu1 = bench_cpu_seconds(d.pid);
	t1 = bench_now();
	printf("daemon_cpu_pct_holding=%.2f (of one core) per_process_per_tick_ns=%.0f\n",
	       100.0 * (cpu1 - cpu0) / (t1 - t0),
	       hold ? (cpu1 - cpu0) / (t1 - t0) / (double)hold * 1e9 : 0.0);
	for (long i = 0; i < hold; i++)
		kill(held[i], SIGKILL);
	reap(d.pid, hold, true);
	free(held);
	bench_daemon_stop(&d);
	return 0;
}
