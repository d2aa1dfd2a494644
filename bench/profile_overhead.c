// SPDX-License-Identifier: MIT
/* bench/profile_overhead.c: memctld's CPU time while it profiles 0, 10 (20 Hz) and
 * 100 (100 Hz) processes, through the real CTL_PROFILE and the real ring; the
 * samples it wrote are checked (count, sequence, totals) and the timer's jitter
 * is reported. Medians of --runs runs. */
#include <getopt.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "bench/daemon-util.h"

#define MAX_PROCS 128

struct scenario {
	const char *name;
	unsigned n; /* processes profiled */
	unsigned hz;
};

/* CPU time of pid's main thread in seconds, to the ns (/proc/PID/schedstat's
 * first field): memctld is one thread, and utime+stime's 10 ms ticks are too
 * coarse for a fraction of a percent over a few seconds. */
static double cpu_seconds_ns(pid_t pid)
{
	char path[64];
	unsigned long long ns;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return bench_cpu_seconds(pid);
	n = fscanf(f, "%llu", &ns);
	fclose(f);
	return n == 1 ? (double)ns / 1e9 : bench_cpu_seconds(pid);
}

static pid_t spawn_sleeper(void)
{
	pid_t p = fork();

	if (p == 0) {
		for (;;)
			pause();
	}
	return p;
}

struct ring {
	void *map;
	size_t bytes;
	uint64_t id;
};

/* CTL_PROFILE of pids[0..n): the ring mapped read-only. */
static int profile_start(struct bench_daemon *d, const pid_t *pids, unsigned n, unsigned hz,
			 struct ring *ret)
{
	static uint8_t buf[IPC_MSG_MAX];
	struct ipc_ctl_profile q = { .hz = hz, .n_pids = n };
	const struct ipc_ctl_profile_reply *rep;
	struct ipc_msg msg;
	int fd, rfd = -1, r;

	for (unsigned i = 0; i < n; i++)
		q.pids[i] = (uint32_t)pids[i];
	fd = ipc_control_connect(d->control, 5000);
	if (fd < 0)
		return fd;
	r = ipc_control_call_fd(fd, IPC_CTL_PROFILE, &q, sizeof(q), buf, sizeof(buf), &msg, &rfd);
	close(fd);
	if (r < 0)
		return r;
	if (msg.hdr.type != IPC_CTL_PROFILE_REPLY || rfd < 0) {
		if (msg.hdr.type == IPC_ERROR)
			fprintf(stderr, "CTL_PROFILE: %s\n",
				((const struct ipc_error *)msg.body)->message);
		return -EPROTO;
	}
	rep = msg.body;
	ret->bytes = rep->ring_bytes;
	ret->id = rep->profile_id;
	ret->map = mmap(NULL, ret->bytes, PROT_READ, MAP_SHARED, rfd, 0);
	close(rfd);
	return ret->map == MAP_FAILED ? -errno : 0;
}

static int profile_stop(struct bench_daemon *d, uint64_t id)
{
	static uint8_t buf[IPC_MSG_MAX];
	struct ipc_ctl_profile_id q = { .profile_id = id };
	struct ipc_msg msg;
	int fd = ipc_control_connect(d->control, 5000), r;

	if (fd < 0)
		return fd;
	r = ipc_control_call(fd, IPC_CTL_PROFILE_STOP, &q, sizeof(q), buf, sizeof(buf), &msg);
	close(fd);
	return r < 0 ? r : msg.hdr.type == IPC_CTL_OK ? 0 : -EPROTO;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double cpu_pct;
	double samples_per_s;
	double max_lateness_us;
	uint64_t missed;
	bool ok;
};

/* One run: profile s->n of pids for seconds, read every sample back. */
static int run_one(struct bench_daemon *d, const struct scenario *s, const pid_t *pids,
		   double seconds, struct result *ret)
{
	struct ring rings[2] = {};
	unsigned n_rings = 0, left = s->n;
	struct ipc_ring_reader rd[2];
	struct ipc_ring_sample smp;
	uint64_t got = 0, lost = 0, written = 0, missed = 0, late = 0;
	double cpu0, cpu1, t0, t1;
	int r;

	/* a profile holds at most 64: two for 100 */
	while (left > 0) {
		unsigned k = left > IPC_PROFILE_PIDS_MAX ? IPC_PROFILE_PIDS_MAX : left;

		r = profile_start(d, pids + (s->n - left), k, s->hz, &rings[n_rings]);
		if (r < 0)
			return r;
		if (ipc_ring_reader_init(&rd[n_rings], rings[n_rings].map, rings[n_rings].bytes) <
		    0)
			return -EBADMSG;
		n_rings++;
		left -= k;
	}
	cpu0 = cpu_seconds_ns(d->pid);
	t0 = bench_now();
	while (bench_now() - t0 < seconds) {
		usleep(200000);
		for (unsigned i = 0; i < n_rings; i++)
			while (ipc_ring_read(&rd[i], &smp) == 1)
				got++;
	}
	t1 = bench_now();
	cpu1 = cpu_seconds_ns(d->pid);
	for (unsigned i = 0; i < n_rings; i++) {
		const struct ipc_ring_header *h = rings[i].map;

		if (profile_stop(d, rings[i].id) < 0)
			return -EIO;
		while (ipc_ring_read(&rd[i], &smp) == 1)
			got++;
		lost += rd[i].lost;
		written += h->write_index;
		missed += h->missed_ticks;
		late = h->max_lateness_nsec > late ? h->max_lateness_nsec : late;
		munmap(rings[i].map, rings[i].bytes);
	}
	ret->cpu_pct = 100.0 * (cpu1 - cpu0) / (t1 - t0);
	ret->samples_per_s = (double)got / (t1 - t0);
	ret->max_lateness_us = (double)late / 1000;
	ret->missed = missed;
	/* every sample written was read, none lost */
	ret->ok = s->n == 0 || (got == written && lost == 0 && got > 0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static const struct scenario scenarios[] = {
		{ "none", 0, 20 },
		{ "p10_20hz", 10, 20 },
		{ "p100_100hz", 100, 100 },
	};
	struct bench_daemon d = {};
	pid_t pids[MAX_PROCS];
	double seconds = 10;
	int runs = 3, c, r, fails = 0;

	while ((c = getopt_long(argc, argv, "s:r:qh", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			seconds = atof(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'q':
			seconds = 2;
			runs = 1;
			break;
		default:
			printf("Usage: profile_overhead [--seconds N (10)] [--runs N (3)] [--quick]\n"
			       "Needs root; runs $BUILD/memctld (or $MEMCTLD).\n");
			return c == 'h' ? 0 : 1;
		}
	}
	if (seconds <= 0 || runs < 1 || runs > 99)
		return fprintf(stderr, "bad arguments\n"), 1;
	r = bench_daemon_start(&d, "");
	if (r < 0)
		return fprintf(stderr, "memctld did not start: %s\n", strerror(-r)), 1;
	/* 100 idle processes live in every scenario: the unprofiled ones must cost
	 * nothing more than without the profiler */
	for (int i = 0; i < 100; i++)
		pids[i] = spawn_sleeper();
	sleep(1);

	for (size_t k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++) {
		const struct scenario *s = &scenarios[k];
		double cpu[99], rate[99], late[99];
		uint64_t missed = 0;

		for (int i = 0; i < runs; i++) {
			struct result res;

			r = run_one(&d, s, pids, seconds, &res);
			if (r < 0) {
				fprintf(stderr, "%s: %s\n", s->name, strerror(-r));
				fails++;
				break;
			}
			if (!res.ok) {
				fprintf(stderr, "%s: samples written and read disagree\n", s->name);
				fails++;
			}
			cpu[i] = res.cpu_pct;
			rate[i] = res.samples_per_s;
			late[i] = res.max_lateness_us;
			missed += res.missed;
		}
		qsort(cpu, (size_t)runs, sizeof(double), cmp_double);
		qsort(rate, (size_t)runs, sizeof(double), cmp_double);
		qsort(late, (size_t)runs, sizeof(double), cmp_double);
		printf("%s_processes=%u %s_hz=%u %s_daemon_cpu_pct=%.3f %s_samples_per_s=%.1f "
		       "%s_max_lateness_us=%.0f %s_missed_ticks=%" PRIu64 "\n",
		       s->name, s->n, s->name, s->hz, s->name, cpu[runs / 2], s->name,
		       rate[runs / 2], s->name, late[runs / 2], s->name, missed);
		fflush(stdout);
	}
	printf("runs=%d seconds=%.1f idle_processes=100 (of one core; medians)\n", runs, seconds);
	for (int i = 0; i < 100; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	bench_daemon_stop(&d);
	return fails ? 1 : 0;
}
