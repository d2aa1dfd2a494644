// SPDX-License-Identifier: MIT
/* tests/workloads/kmem_grower.c: hold kernel memory on request (seed 001's kmalloc
 * module, in user space): pipe buffers enlarged with F_SETPIPE_SZ and filled, one
 * JSON line per step, all freed when it closes the pipes (exit or signal). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/*
 * Why pipes: pipe_write() allocates each buffer page with GFP_HIGHUSER |
 * __GFP_ACCOUNT (fs/pipe.c), so the page is charged to the writer's memory
 * cgroup as kernel memory: v1 memory.kmem.usage_in_bytes (and usage_in_bytes,
 * which includes it), v2 memory.stat "kernel". It is not in anyone's RSS, and it
 * stays charged for as long as the read end is open, even after the write end
 * is closed, so one fd per MiB holds it. Socket queues would be charged too, but
 * on v1 only with tcp accounting and only for TCP; pipes are charged everywhere.
 */
#define PIPE_BYTES (1U << 20) /* pipe-max-size's default: allowed without privilege */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_usec(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* One pipe holding up to PIPE_BYTES of kernel memory; returns its read end, or
 * -errno. *ret_bytes: what it holds. */
static int pipe_fill(const char *page, size_t *ret_bytes)
{
	int fds[2], sz;
	size_t held = 0;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	sz = fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES);
	if (sz < 0) {
		int r = -errno;

		close(fds[0]);
		close(fds[1]);
		return r;
	}
	/* page-sized writes: each fills one buffer slot with one charged page */
	while (held < (size_t)sz) {
		ssize_t n = write(fds[1], page, 4096);

		if (n <= 0)
			break;
		held += (size_t)n;
	}
	close(fds[1]);
	*ret_bytes = held;
	return fds[0];
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: kmem_grower [--mb MIB] [--step-mb MIB] [--step-sec S] [--hold-sec S]\n"
		   "Hold MIB MiB of kernel memory (filled pipe buffers), STEP MiB every S s,\n"
		   "then hold it HOLD s (default: until SIGINT/SIGTERM), then free it.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "mb", required_argument, NULL, 'm' },
					      { "step-mb", required_argument, NULL, 's' },
					      { "step-sec", required_argument, NULL, 'i' },
					      { "hold-sec", required_argument, NULL, 'H' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	double mb = 64, step_mb = 0, step_sec = 1, hold = -1;
	struct rlimit rl;
	char page[4096];
	size_t want, step, held = 0, n_fds = 0, cap;
	int *fds, c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case 'm':
			mb = atof(optarg);
			break;
		case 's':
			step_mb = atof(optarg);
			break;
		case 'i':
			step_sec = atof(optarg);
			break;
		case 'H':
			hold = atof(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || mb <= 0 || mb > 65536 || step_mb < 0 || step_sec < 0) {
		usage(stderr);
		return 2;
	}
	want = (size_t)(mb * (1 << 20));
	step = step_mb > 0 ? (size_t)(step_mb * (1 << 20)) : want;
	/* one fd per MiB: raise the soft limit as far as the hard one allows */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	cap = want / PIPE_BYTES + 2;
	fds = calloc(cap, sizeof(*fds));
	if (!fds)
		return 1;
	memset(page, 0x5a, sizeof(page));
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	while (!stop && held < want) {
		size_t goal = held + step < want ? held + step : want;

		while (held < goal && n_fds < cap) {
			size_t got = 0;
			int fd = pipe_fill(page, &got);

			if (fd < 0) {
				fprintf(stderr, "kmem_grower: pipe: %s (holding %zu bytes)\n",
					strerror(-fd), held);
				goto hold;
			}
			fds[n_fds++] = fd;
			held += got;
		}
		printf("{\"event\":\"holding\",\"bytes\":%zu,\"pipes\":%zu,\"t_mono_usec\":%" PRIu64
		       ",\"pid\":%d}\n",
		       held, n_fds, now_usec(CLOCK_MONOTONIC), (int)getpid());
		fflush(stdout);
		if (held < want)
			for (double t = 0; !stop && t < step_sec; t += 0.05)
				usleep(50000);
	}
hold:
	for (double t = 0; !stop && (hold < 0 || t < hold); t += 0.05)
		usleep(50000);
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	free(fds);
	printf("{\"event\":\"freed\",\"bytes\":%zu,\"t_mono_usec\":%" PRIu64 ",\"pid\":%d}\n", held,
	       now_usec(CLOCK_MONOTONIC), (int)getpid());
	return 0;
}
