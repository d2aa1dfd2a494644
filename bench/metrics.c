// SPDX-License-Identifier: MIT
/* bench/metrics.c: memctld's CPU per /metrics scrape with 10,000 tracked processes
 * in 500 real v1 memory cgroups: the rendering (its own thread-CPU figure,
 * memctl_metrics_render_seconds), a scrape served from the tick's rendering, and
 * the idle tick they compare to, in the same run; medians over rounds. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bench/daemon-util.h"
#include "common/macro.h"

#define V1_ROOT "/sys/fs/cgroup/memory"

/* Time memctld has spent on a CPU, in seconds (schedstat: ns, no 10 ms ticks). */
static double daemon_cpu(pid_t pid)
{
	unsigned long long ns = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return (double)ns / 1e9;
}

/* GET /metrics; the body's length, and memctl_metrics_render_seconds in it. */
static long scrape(int port, double *ret_render)
{
	static char buf[64 << 20];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	const char req[] = "GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n";
	long n = 0;
	ssize_t k;
	char *p;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (n < (long)sizeof(buf) - 1 &&
	       (k = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += k;
	close(fd);
	buf[n] = '\0';
	p = strstr(buf, "\nmemctl_metrics_render_seconds ");
	if (ret_render)
		*ret_render = p ? atof(p + strlen("\nmemctl_metrics_render_seconds ")) : -1;
	return n;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hold", required_argument, NULL, 'n' },
		{ "cgroups", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	long hold = 10000, n_cg = 500;
	int rounds = 9, cached = 50, c, rc = 1, port = free_port();
	struct bench_daemon d = {};
	struct ipc_ctl_status_reply st;
	char cfg[256], path[PATH_MAX];
	double *render, *serve, *idle;
	pid_t *held;

	while ((c = getopt_long(argc, argv, "n:c:r:qh", opts, NULL)) >= 0) {
		switch (c) {
		case 'n':
			hold = atol(optarg);
			break;
		case 'c':
			n_cg = atol(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'q': /* a smoke run */
			hold = 500;
			n_cg = 20;
			rounds = 3;
			cached = 5;
			break;
		default:
			printf("Usage: metrics [--hold N (10000)] [--cgroups N (500)] [--rounds N (9)] "
			       "[--quick]\nNeeds root and cgroup v1 memory; runs $BUILD/memctld.\n");
			return c == 'h' ? 0 : 1;
		}
	}
	if (hold < 1 || n_cg < 1 || rounds < 1 || port < 0 || access(V1_ROOT, W_OK) < 0)
		return fprintf(stderr, "bad arguments, or no writable %s\n", V1_ROOT), 1;
	render = calloc((size_t)rounds, sizeof(double));
	serve = calloc((size_t)rounds, sizeof(double));
	idle = calloc((size_t)rounds, sizeof(double));
	held = calloc((size_t)hold, sizeof(*held));
	if (!render || !serve || !idle || !held)
		return 1;
	for (long i = 0; i < n_cg; i++) {
		snprintf(path, sizeof(path), V1_ROOT "/memctl-bench-metrics-%d-%ld", (int)getpid(),
			 i);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return fprintf(stderr, "mkdir %s: %s\n", path, strerror(errno)), 1;
	}
	/* the processes: forked, each moved into its cgroup, paused */
	for (long i = 0; i < hold; i++) {
		held[i] = fork();
		if (held[i] == 0) {
			char p[PATH_MAX];
			int fd;

			snprintf(p, sizeof(p), V1_ROOT "/memctl-bench-metrics-%d-%ld/cgroup.procs",
				 (int)getppid(), i % n_cg);
			fd = open(p, O_WRONLY | O_CLOEXEC);
			if (fd >= 0 && write(fd, "0", 1) < 0)
				_exit(3);
			pause();
			_exit(0);
		}
		if (held[i] < 0) {
			fprintf(stderr, "fork %ld failed: %s\n", i, strerror(errno));
			hold = i;
			break;
		}
	}
	snprintf(cfg, sizeof(cfg), "[Metrics]\nListen=127.0.0.1:%d\nMaxCgroups=100000\n", port);
	if (bench_daemon_start(&d, cfg) < 0)
		goto out;
	for (int i = 0; i < 600; i++) {
		if (bench_daemon_status(&d, &st) == 0 && (long)st.processes_tracked >= hold &&
		    (long)st.cgroups_tracked >= n_cg)
			break;
		usleep(100000);
	}
	if (bench_daemon_status(&d, &st) < 0)
		goto out;
	sleep(2); /* a few ticks: every cgroup read, growth series started */
	printf("tracked_processes=%" PRIu64 " tracked_cgroups=%" PRIu64 " rounds=%d\n",
	       st.processes_tracked, st.cgroups_tracked, rounds);
	for (int r = 0; r < rounds; r++) {
		double t0, c0, c1, c2;
		long len = 0;

		/* idle: one tick's worth (1 s) of the daemon with no scrape */
		c0 = daemon_cpu(d.pid);
		t0 = bench_now();
		usleep(1000000);
		idle[r] = (daemon_cpu(d.pid) - c0) / (bench_now() - t0);
		/* the first scrape of a tick renders; its figure comes in the next */
		usleep(1050000);
		scrape(port, NULL);
		usleep(1050000);
		len = scrape(port, &render[r]);
		/* then `cached` scrapes from the same tick's rendering */
		c1 = daemon_cpu(d.pid);
		for (int k = 0; k < cached; k++)
			scrape(port, NULL);
		c2 = daemon_cpu(d.pid);
		serve[r] = (c2 - c1) / cached;
		if (len <= 0 || render[r] < 0)
			goto out;
		if (r == 0)
			printf("exposition_bytes=%ld\n", len);
	}
	printf("render_cpu_ms_median=%.2f\n", bench_median(render, rounds) * 1e3);
	printf("cached_scrape_cpu_ms_median=%.3f\n", bench_median(serve, rounds) * 1e3);
	printf("idle_cpu_ms_per_tick_median=%.2f\n", bench_median(idle, rounds) * 1e3);
	printf("render_over_idle_tick=%.2f\n",
	       bench_median(render, rounds) / bench_median(idle, rounds));
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "metrics bench failed\n");
	bench_daemon_stop(&d);
	for (long i = 0; i < hold; i++)
		if (held[i] > 0)
			kill(held[i], SIGKILL);
	for (long i = 0; i < hold; i++)
		if (held[i] > 0)
			waitpid(held[i], NULL, 0);
	for (long i = 0; i < n_cg; i++) {
		snprintf(path, sizeof(path), V1_ROOT "/memctl-bench-metrics-%d-%ld", (int)getpid(),
			 i);
		rmdir(path);
	}
	return rc;
}
