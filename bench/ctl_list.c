// SPDX-License-Identifier: MIT
/* bench/ctl_list.c: memctld's CPU time per CTL_LIST request (one page) with
 * 10,000 tracked processes, sorted by pid and by faults, asked by root and by
 * nobody; with --baseline, another memctld binary measured the same way in the
 * same run, daemons alternating round by round. */
#include <getopt.h>
#include <grp.h>
#include <stdbool.h>

#include "bench/daemon-util.h"
#include "common/macro.h"

#define NOBODY_UID 65534

/* Time memctld has spent on a CPU, in ns (schedstat: no 10 ms clock ticks). */
static double daemon_cpu_ms(pid_t pid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return (double)ns / 1e6;
}

/* n CTL_LIST requests (first page, this sort) on one connection, as uid. */
static int ask(const struct bench_daemon *d, uid_t uid, uint32_t sort, int n)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		static uint8_t buf[IPC_MSG_MAX];
		struct ipc_ctl_list q = { .sort = sort };
		struct ipc_msg msg;
		int fd;

		if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
			_exit(2);
		fd = ipc_control_connect(d->control, 60000);
		if (fd < 0)
			_exit(3);
		for (int i = 0; i < n; i++)
			if (ipc_control_call(fd, IPC_CTL_LIST, &q, sizeof(q), buf, sizeof(buf),
					     &msg) < 0 ||
			    msg.hdr.type != IPC_CTL_LIST_REPLY)
				_exit(4);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
}

struct subject {
	const char *name;
	const char *binary;
	struct bench_daemon d;
};

/* Processes the daemon lists. CTL_LIST, not CTL_STATUS: the status reply grew
 * since the baseline, the list reply did not. */
static long listed(const struct bench_daemon *d)
{
	static uint8_t buf[IPC_MSG_MAX];
	struct ipc_ctl_list q = { .sort = IPC_SORT_PID };
	const struct ipc_ctl_list_reply *rep;
	struct ipc_msg msg;
	int fd = ipc_control_connect(d->control, 5000), r;

	if (fd < 0)
		return fd;
	r = ipc_control_call(fd, IPC_CTL_LIST, &q, sizeof(q), buf, sizeof(buf), &msg);
	close(fd);
	if (r < 0 || msg.hdr.type != IPC_CTL_LIST_REPLY)
		return r < 0 ? r : -EPROTO;
	rep = msg.body;
	return rep->total;
}

static int subject_start(struct subject *s, long hold)
{
	int r;

	setenv("MEMCTLD", s->binary, 1);
	/* nobody's requests are measured, not paced: the quota would only make
	 * the run longer (memctld.conf(5), CPUQuotaPerUser=) */
	r = bench_daemon_start(&s->d, "[Control]\nCPUQuotaPerUser=100%\n");
	if (r < 0)
		return r;
	chmod(s->d.dir, 0755); /* nobody must reach the socket */
	for (int i = 0; i < 300; i++) {
		if (listed(&s->d) >= hold)
			return 0;
		usleep(100000);
	}
	return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hold", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "requests", required_argument, NULL, 'k' },
		{ "baseline", required_argument, NULL, 'b' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static const struct {
		const char *name;
		uint32_t sort;
		uid_t uid;
	} cases[] = {
		{ "pid, nobody", IPC_SORT_PID, NOBODY_UID },
		{ "faults, nobody", IPC_SORT_FAULTS, NOBODY_UID },
		{ "pid, root", IPC_SORT_PID, 0 },
		{ "faults, root", IPC_SORT_FAULTS, 0 },
	};
	struct subject subj[2] = { { .name = "this", .binary = bench_memctld_path() } };
	long hold = 10000;
	int rounds = 7, requests = 20, n_subj = 1, rc = 1, c;
	pid_t *held;

	while ((c = getopt_long(argc, argv, "n:r:k:b:qh", opts, NULL)) >= 0) {
		switch (c) {
		case 'n':
			hold = atol(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'k':
			requests = atoi(optarg);
			break;
		case 'b':
			subj[1] = (struct subject){ .name = "baseline", .binary = optarg };
			n_subj = 2;
			break;
		case 'q': /* a smoke run */
			hold = 1000;
			rounds = 3;
			requests = 5;
			break;
		default:
			printf("Usage: ctl_list [--hold N (10000)] [--rounds N (7)] [--requests N (20)]\n"
			       "                [--baseline PATH-TO-MEMCTLD] [--quick]\n"
			       "Needs root; runs $BUILD/memctld (or $MEMCTLD).\n");
			return c == 'h' ? 0 : 1;
		}
	}
	if (hold < 1 || rounds < 1 || requests < 1)
		return fprintf(stderr, "bad arguments\n"), 1;

	/* the processes to list: forked and paused, little memory each */
	held = calloc((size_t)hold, sizeof(*held));
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
	for (int s = 0; s < n_subj; s++) {
		int r = subject_start(&subj[s], hold);

		if (r < 0) {
			fprintf(stderr, "%s memctld (%s) did not start or track %ld: %s\n",
				subj[s].name, subj[s].binary, hold, strerror(-r));
			goto out;
		}
	}

	printf("held_processes=%ld rounds=%d requests_per_round=%d\n", hold, rounds, requests);
	for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
		double *v[2] = { calloc((size_t)rounds, sizeof(double)),
				 calloc((size_t)rounds, sizeof(double)) };
		double med[2] = {};

		if (!v[0] || !v[1]) {
			free(v[0]);
			free(v[1]);
			goto out;
		}
		for (int i = 0; i < rounds; i++)
			for (int j = 0; j < n_subj; j++) {
				/* the daemons take turns going first, so drift hits both */
				int s = (i + j) % n_subj;
				double cpu0 = daemon_cpu_ms(subj[s].d.pid);

				if (ask(&subj[s].d, cases[k].uid, cases[k].sort, requests) < 0) {
					fprintf(stderr, "requests to %s failed\n", subj[s].name);
					free(v[0]);
					free(v[1]);
					goto out;
				}
				v[s][i] = (daemon_cpu_ms(subj[s].d.pid) - cpu0) / requests;
			}
		for (int s = 0; s < n_subj; s++)
			med[s] = bench_median(v[s], rounds);
		printf("sort=%-15s this_ms_per_request=%.3f", cases[k].name, med[0]);
		if (n_subj == 2)
			printf(" baseline_ms_per_request=%.3f baseline/this=%.1f", med[1],
			       med[0] > 0 ? med[1] / med[0] : 0);
		printf("\n");
		fflush(stdout);
		free(v[0]);
		free(v[1]);
	}
	rc = 0;
out:
	/* on every way out: a failed run must not leave 10,000 paused children */
	for (int s = 0; s < n_subj; s++)
		if (subj[s].d.pid > 0)
			bench_daemon_stop(&subj[s].d);
	for (long i = 0; i < hold; i++)
		kill(held[i], SIGKILL);
	for (long i = 0; i < hold; i++)
		waitpid(held[i], NULL, 0);
	free(held);
	return rc;
}
