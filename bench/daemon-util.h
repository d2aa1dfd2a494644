/* SPDX-License-Identifier: MIT */
/* bench/daemon-util.h: start a private memctld for a benchmark, ask it for
 * status over the real control protocol, read its CPU time and memory. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"

struct bench_daemon {
	pid_t pid;
	char dir[64];
	char control[PATH_MAX];
};

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline const char *bench_memctld_path(void)
{
	const char *b = getenv("BUILD");
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/memctld", b && *b ? b : "build");
	return getenv("MEMCTLD") ?: path;
}

/* Start memctld with a private socket dir and the given config text. */
static inline int bench_daemon_start(struct bench_daemon *d, const char *config_text)
{
	char cfg[PATH_MAX];
	FILE *f;

	snprintf(d->dir, sizeof(d->dir), "/tmp/memctl-bench-XXXXXX");
	if (!mkdtemp(d->dir))
		return -errno;
	snprintf(cfg, sizeof(cfg), "%s/memctld.conf", d->dir);
	f = fopen(cfg, "we");
	if (!f)
		return -errno;
	fputs(config_text ?: "", f);
	fclose(f);
	snprintf(d->control, sizeof(d->control), "%s/%s", d->dir, IPC_CONTROL_SOCKET_NAME);
	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(bench_memctld_path(), "memctld", "--socket-dir", d->dir, "--config", cfg,
		      "--log-level", "err", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		int fd = ipc_control_connect(d->control, 1000);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid)
			return -ECHILD;
		usleep(25000);
	}
	return -ETIMEDOUT;
}

static inline int bench_daemon_status(struct bench_daemon *d, struct ipc_ctl_status_reply *ret)
{
	static uint8_t buf[IPC_MSG_MAX];
	struct ipc_msg msg;
	int fd = ipc_control_connect(d->control, 5000), r;

	if (fd < 0)
		return fd;
	r = ipc_control_call(fd, IPC_CTL_STATUS, NULL, 0, buf, sizeof(buf), &msg);
	close(fd);
	if (r < 0)
		return r;
	if (msg.hdr.type != IPC_CTL_STATUS_REPLY)
		return -EPROTO;
	memcpy(ret, msg.body, sizeof(*ret));
	return 0;
}

static inline void bench_daemon_stop(struct bench_daemon *d)
{
	char cmd[128];

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", d->dir);
}

/* utime + stime of pid in seconds */
static inline double bench_cpu_seconds(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* a "Key:  N kB" line of /proc/pid/status, in bytes */
static inline long long bench_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	long long v = -1;
	size_t n = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = atoll(line + n + 1) * 1024;
			break;
		}
	fclose(f);
	return v;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
