// SPDX-License-Identifier: MIT
/* bench/bpf_overhead.c: what memctld's BPF programs cost a fault-heavy
 * workload (2 GiB of fresh anonymous memory touched in 4 KiB pages), run
 * alternately without and with memctld; and how well rss_stat is coalesced. */
#include <getopt.h>
#include <sys/mman.h>

#include "bench/daemon-util.h"

/* The workload in a child, so its mm (and rss_stat events) are its own. */
static double run_toucher(size_t bytes)
{
	double t0 = bench_now();
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		long page = sysconf(_SC_PAGESIZE);
		char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);

		if (p == MAP_FAILED)
			_exit(1);
		for (size_t off = 0; off < bytes; off += (size_t)page)
			p[off] = 1;
		munmap(p, bytes);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "toucher failed\n");
		exit(1);
	}
	return bench_now() - t0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pairs", required_argument, NULL, 'p' },
		{ "mib", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int pairs = 7, c;
	size_t mib = 2048;
	double without[64], with[64], ratio[64];
	uint64_t records = 0, raw = 0;

	while ((c = getopt_long(argc, argv, "p:m:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'p':
			pairs = atoi(optarg);
			break;
		case 'm':
			mib = (size_t)atol(optarg);
			break;
		default:
			printf("Usage: bpf_overhead [--pairs N (5..64, default 7)] [--mib N (default 2048)]\n"
			       "Needs root; runs $BUILD/memctld (or $MEMCTLD) with the config text in\n"
			       "$MEMCTLD_BENCH_CONFIG (default: built-in defaults).\n");
			return c == 'h' ? 0 : 1;
		}
	}
	if (pairs < 1 || pairs > 64 || mib == 0)
		return fprintf(stderr, "bad --pairs or --mib\n"), 1;

	run_toucher(mib << 20); /* warm-up: page tables, allocator, CPU caches */
	for (int i = 0; i < pairs; i++) {
		struct ipc_ctl_status_reply s0, s1;
		struct bench_daemon d = {};
		double a, b;
		int r;

		/* ABBA order cancels drift on a shared, noisy machine */
		if (i % 2 == 0)
			a = run_toucher(mib << 20);
		r = bench_daemon_start(&d, getenv("MEMCTLD_BENCH_CONFIG") ?: "");
		if (r < 0)
			return fprintf(stderr, "memctld did not start: %s\n", strerror(-r)), 1;
		usleep(300000); /* the start-up /proc scan is not part of the workload */
		if (bench_daemon_status(&d, &s0) < 0)
			return fprintf(stderr, "status failed\n"), 1;
		b = run_toucher(mib << 20);
		usleep(200000); /* let the last records arrive */
		if (bench_daemon_status(&d, &s1) < 0)
			return fprintf(stderr, "status failed\n"), 1;
		bench_daemon_stop(&d);
		if (i % 2 == 1)
			a = run_toucher(mib << 20);
		records += s1.events_rss - s0.events_rss;
		raw += s1.rss_raw_events - s0.rss_raw_events;
		without[i] = a;
		with[i] = b;
		ratio[i] = b / a;
		printf("pair=%d without_s=%.3f with_s=%.3f ratio=%.4f records=%" PRIu64
		       " raw_events=%" PRIu64 "\n",
		       i, a, b, b / a, s1.events_rss - s0.events_rss,
		       s1.rss_raw_events - s0.rss_raw_events);
		fflush(stdout);
	}
	printf("workload=touch_%zu_MiB_4KiB_pages pairs=%d\n", mib, pairs);
	printf("without_median_s=%.3f\n", bench_median(without, pairs));
	printf("with_median_s=%.3f\n", bench_median(with, pairs));
	printf("slowdown_ratio=%.4f (median of per-pair ratios; target <= 1.03)\n",
	       bench_median(ratio, pairs));
	printf("records=%" PRIu64 " raw_events=%" PRIu64 "\n", records, raw);
	printf("records_per_raw_event=%.6f raw_events_per_record=%.0f (target >= 100)\n",
	       raw ? (double)records / (double)raw : 0,
	       records ? (double)raw / (double)records : 0);
	return 0;
}
