// SPDX-License-Identifier: MIT
/* bench/bpf_overhead.c: what memctld's BPF programs cost a fault-heavy
 * workload (2 GiB of fresh anonymous memory touched in 4 KiB pages), run
 * alternately without and with memctld; and how well rss_stat is coalesced. */
#include <getopt.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <stdbool.h>

#include "bench/daemon-util.h"
#include "floor.skel.h"
#include "rss.skel.h"

/* Total run time (ns) and runs of every loaded BPF program whose name starts
 * with one of memctl's program prefixes, from the kernel's own accounting
 * (kernel.bpf_stats_enabled). */
static void bpf_prog_time(uint64_t *ret_ns, uint64_t *ret_cnt)
{
	static const char *const ours[] = { "floor_",	     "rss_",	   "page_fault_user",
					    "lifecycle_",    "kswapd_",	   "direct_reclaim",
					    "memcg_reclaim", "softlimit_", "write_folio" };
	__u32 id = 0;

	*ret_ns = *ret_cnt = 0;
	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
				if (strncmp(info.name, ours[i], strlen(ours[i])) == 0) {
					*ret_ns += info.run_time_ns;
					*ret_cnt += info.run_cnt;
					break;
				}
		close(fd);
	}
}

static void bpf_stats_enable(bool on)
{
	int fd = open("/proc/sys/kernel/bpf_stats_enabled", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, on ? "1" : "0", 1) != 1)
			fprintf(stderr, "warning: cannot set kernel.bpf_stats_enabled\n");
		close(fd);
	}
}

/* The workload in a child, so its mm (and rss_stat events) are its own.
 * Returns wall seconds; *ret_cpu gets the child's user+system seconds, where
 * the BPF programs' cost lands (steadier than wall time on a shared host). */
static double run_toucher(size_t bytes, double *ret_cpu)
{
	double t0 = bench_now();
	pid_t pid = fork();
	struct rusage ru;
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
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "toucher failed\n");
		exit(1);
	}
	*ret_cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return bench_now() - t0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pairs", required_argument, NULL, 'p' },
		{ "mib", required_argument, NULL, 'm' },
		{ "quick", no_argument, NULL, 'q' },
		{ "floor", no_argument, NULL, 'f' },
		{ "rss-only", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int pairs = 7, c;
	bool floor_only = false, rss_only = false;
	size_t mib = 2048;
	double without[64], with[64], ratio[64], cpu_ratio[64], ca = 0, cb = 0;
	uint64_t records = 0, raw = 0, bpf_ns = 0, bpf_runs = 0;
	double cpu_with = 0;

	while ((c = getopt_long(argc, argv, "p:m:qfRh", opts, NULL)) >= 0) {
		switch (c) {
		case 'p':
			pairs = atoi(optarg);
			break;
		case 'm':
			mib = (size_t)atol(optarg);
			break;
		case 'f':
			floor_only = true;
			break;
		case 'R':
			rss_only = true;
			break;
		case 'q': /* a smoke run: 3 pairs of 256 MiB */
			pairs = 3;
			mib = 256;
			break;
		default:
			printf("Usage: bpf_overhead [--pairs N (1..64, default 7)] [--mib N (default 2048)] [--quick]\n"
			       "                    [--floor]\n"
			       "--floor: instead of memctld, attach an empty program to kmem:rss_stat\n"
			       "(the cost of dispatching that per-page tracepoint to BPF at all).\n"
			       "--rss-only: memctl's rss program alone, loaded here, no daemon.\n"
			       "Needs root; runs $BUILD/memctld (or $MEMCTLD) with the config text in\n"
			       "$MEMCTLD_BENCH_CONFIG (default: built-in defaults).\n");
			return c == 'h' ? 0 : 1;
		}
	}
	if (pairs < 1 || pairs > 64 || mib == 0)
		return fprintf(stderr, "bad --pairs or --mib\n"), 1;

	run_toucher(mib << 20, &ca); /* warm-up: page tables, allocator, CPU caches */
	for (int i = 0; i < pairs; i++) {
		struct ipc_ctl_status_reply s0 = {}, s1 = {};
		struct bench_daemon d = {};
		struct floor_bpf *fl = NULL;
		struct rss_bpf *rs = NULL;
		double a = 0, b;
		int r;

		/* ABBA order cancels drift on a shared, noisy machine */
		if (i % 2 == 0)
			a = run_toucher(mib << 20, &ca);
		if (floor_only) {
			fl = floor_bpf__open_and_load();
			if (!fl || floor_bpf__attach(fl) < 0)
				return fprintf(stderr, "cannot attach the floor program\n"), 1;
		} else if (rss_only) {
			/* as memctld loads it, but nobody consumes: a ring large enough
			 * for a run's ~3,000 records, so reserve never fails */
			rs = rss_bpf__open();
			if (!rs || bpf_map__set_max_entries(rs->maps.events, 16 << 20) < 0 ||
			    rss_bpf__load(rs) < 0 || rss_bpf__attach(rs) < 0)
				return fprintf(stderr, "cannot attach the rss program\n"), 1;
		} else {
			r = bench_daemon_start(&d, getenv("MEMCTLD_BENCH_CONFIG") ?: "");
			if (r < 0)
				return fprintf(stderr, "memctld did not start: %s\n", strerror(-r)),
				       1;
			usleep(300000); /* the start-up /proc scan is not part of the workload */
			if (bench_daemon_status(&d, &s0) < 0)
				return fprintf(stderr, "status failed\n"), 1;
		}
		b = run_toucher(mib << 20, &cb);
		if (i == 0) {
			/* one extra, untimed run with the kernel's BPF run-time
			 * accounting on (it adds its own clock reads to every run) */
			uint64_t ns0, n0, ns1, n1;
			double w;

			bpf_stats_enable(true);
			bpf_prog_time(&ns0, &n0);
			w = run_toucher(mib << 20, &cpu_with);
			bpf_prog_time(&ns1, &n1);
			bpf_stats_enable(false);
			bpf_ns = ns1 - ns0;
			bpf_runs = n1 - n0;
			(void)w;
		}
		if (floor_only || rss_only) {
			floor_bpf__destroy(fl);
			rss_bpf__destroy(rs);
		} else {
			usleep(200000); /* let the last records arrive */
			if (bench_daemon_status(&d, &s1) < 0)
				return fprintf(stderr, "status failed\n"), 1;
			bench_daemon_stop(&d);
		}
		if (i % 2 == 1)
			a = run_toucher(mib << 20, &ca);
		records += s1.events_rss - s0.events_rss;
		raw += s1.rss_raw_events - s0.rss_raw_events;
		without[i] = a;
		with[i] = b;
		ratio[i] = b / a;
		cpu_ratio[i] = cb / ca;
		printf("pair=%d without_s=%.3f with_s=%.3f ratio=%.4f cpu_ratio=%.4f records=%" PRIu64
		       " raw_events=%" PRIu64 "\n",
		       i, a, b, b / a, cb / ca, s1.events_rss - s0.events_rss,
		       s1.rss_raw_events - s0.rss_raw_events);
		fflush(stdout);
	}
	printf("workload=touch_%zu_MiB_4KiB_pages pairs=%d mode=%s\n", mib, pairs,
	       floor_only ? "floor(empty program on rss_stat)" :
	       rss_only	  ? "rss-only(memctl's rss program, no daemon)" :
			    "memctld");
	printf("without_median_s=%.3f\n", bench_median(without, pairs));
	printf("with_median_s=%.3f\n", bench_median(with, pairs));
	printf("slowdown_ratio=%.4f (median of per-pair ratios; target <= 1.03)\n",
	       bench_median(ratio, pairs));
	printf("cpu_slowdown_ratio=%.4f (workload's user+sys time, median of per-pair ratios)\n",
	       bench_median(cpu_ratio, pairs));
	printf("bpf_runs=%" PRIu64 " bpf_ns_per_run=%.1f\n", bpf_runs,
	       bpf_runs ? (double)bpf_ns / (double)bpf_runs : 0);
	printf("bpf_time_share=%.4f (BPF programs' run time / workload CPU time, from the kernel's "
	       "bpf_stats in one extra run; an upper bound: it includes the accounting's own clock reads)\n",
	       cpu_with > 0 ? (double)bpf_ns / 1e9 / cpu_with : 0);
	printf("records=%" PRIu64 " raw_events=%" PRIu64 "\n", records, raw);
	printf("records_per_raw_event=%.6f raw_events_per_record=%.0f (target >= 100)\n",
	       raw ? (double)records / (double)raw : 0,
	       records ? (double)raw / (double)records : 0);
	return 0;
}
