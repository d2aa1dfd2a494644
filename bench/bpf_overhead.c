// SPDX-License-Identifier: MIT
/* bench/bpf_overhead.c: what memctld's BPF programs cost a fault-heavy
 * workload (2 GiB of fresh anonymous memory touched in 4 KiB pages), run
 * alternately without and with memctld; and how well rss_stat is coalesced. */
#include <getopt.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <math.h>
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

/* Distribution-free 95% interval of the median of n sorted values: the order
 * statistics n/2 -+ 0.98 sqrt(n) (normal approximation to the binomial). */
static void median_ci(double *v, int n, double *ret_lo, double *ret_hi)
{
	int h = (int)(0.98 * sqrt((double)n) + 0.5), lo, hi;

	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	lo = n / 2 - h;
	hi = (n - 1) / 2 + h;
	*ret_lo = v[lo < 0 ? 0 : lo];
	*ret_hi = v[hi >= n ? n - 1 : hi];
}

/* Touch bytes of fresh anonymous memory in 4 KiB pages in this process and
 * give it back; returns wall seconds. */
static double touch_block(size_t bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	double t0 = bench_now();
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "mmap: %s\n", strerror(errno));
		exit(1);
	}
	for (size_t off = 0; off < bytes; off += (size_t)page)
		((volatile char *)p)[off] = 1;
	munmap(p, bytes);
	return bench_now() - t0;
}

/* What --interleave switches on and off between blocks: nothing (--calibrate),
 * the empty program (--floor), memctl's rss program (--rss-only) or a whole
 * memctld (started and stopped; records counted from its status). */
struct toggle {
	struct floor_bpf *fl;
	struct rss_bpf *rs;
	bool daemon;
	bool restart; /* start/stop memctld instead of switching its programs */
	bool on; /* reload mode: the programs are attached */
	uint32_t mask_on; /* reload mode: programs loaded at start */
	struct bench_daemon d;
	struct ipc_ctl_status_reply s0;
	uint64_t records, raw;
	double cpu0, cpu_s; /* the daemon's CPU time while it ran */
	double cpu_blocks; /* reload mode: the daemon's CPU time during timed blocks */
};

/* Reload mode: rewrite memctld's config with its programs on or off, SIGHUP it
 * and wait until its status shows the switch. */
static int daemon_switch(struct toggle *t, bool on)
{
	const char *base = getenv("MEMCTLD_BENCH_CONFIG") ?: "";
	struct ipc_ctl_status_reply st;
	char path[PATH_MAX];
	FILE *f;

	if (t->on == on)
		return 0;
	snprintf(path, sizeof(path), "%s/memctld.conf", t->d.dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	/* on: the base text, as at start; off: every program switched off after
	 * it (later keys win) */
	fprintf(f, "%s\n%s", base,
		on ? "" : "[BPF]\nLifecycle=no\nRSS=no\nReclaim=no\nFaults=no\n");
	fclose(f);
	kill(t->d.pid, SIGHUP);
	for (int i = 0; i < 500; i++) {
		int r = bench_daemon_status(&t->d, &st);

		if (r < 0)
			return r;
		/* the oom program (bit 4) has no switch: it runs only on an OOM kill */
		if ((st.bpf_programs_loaded & ~(1U << 4)) == (on ? t->mask_on & ~(1U << 4) : 0)) {
			t->on = on;
			return 0;
		}
		usleep(2000);
	}
	return -ETIMEDOUT;
}

static void toggle_set(struct toggle *t, bool on)
{
	int r = 0;

	if (t->fl) {
		r = on ? floor_bpf__attach(t->fl) : (floor_bpf__detach(t->fl), 0);
	} else if (t->rs) {
		r = on ? rss_bpf__attach(t->rs) : (rss_bpf__detach(t->rs), 0);
	} else if (t->daemon && !t->restart) {
		r = daemon_switch(t, on);
	} else if (t->daemon && on) {
		r = bench_daemon_start(&t->d, getenv("MEMCTLD_BENCH_CONFIG") ?: "");
		if (r == 0) {
			usleep(300000); /* the start-up /proc scan is not part of the workload */
			r = bench_daemon_status(&t->d, &t->s0);
			t->cpu0 = bench_cpu_seconds(t->d.pid);
		}
	} else if (t->daemon && t->d.pid > 0) {
		struct ipc_ctl_status_reply s1 = {};

		usleep(200000); /* let the last records arrive */
		t->cpu_s += bench_cpu_seconds(t->d.pid) - t->cpu0;
		r = bench_daemon_status(&t->d, &s1);
		t->records += s1.events_rss - t->s0.events_rss;
		t->raw += s1.rss_raw_events - t->s0.rss_raw_events;
		bench_daemon_stop(&t->d);
		t->d.pid = 0;
	}
	if (r < 0) {
		fprintf(stderr, "%s failed: %s\n", t->daemon ? "memctld" : "attach", strerror(-r));
		exit(1);
	}
}

/*
 * The block method (everything but --whole-runs): this process touches blocks of
 * fresh memory with the programs (or memctld) on and off in ABBA order, state
 * after state; block j of one state is paired with block j of the other. Whole
 * 2 GiB runs in a fresh child vary by +-20% here (which pages the host backs,
 * other tenants); blocks of ~10 ms reuse the same freed pages and see the same
 * neighbours, so per-block ratios are tight and there are many of them.
 * Switching happens between timed blocks. BPF_OVERHEAD_DUMP=1 prints every
 * block's two times to stderr.
 */
static int run_interleaved(struct toggle *t, int sets, int blocks, size_t block_mib,
			   const char *mode)
{
	int pairs = sets * blocks;
	double *with = calloc((size_t)pairs, sizeof(double)),
	       *without = calloc((size_t)pairs, sizeof(double)),
	       *ratio = calloc((size_t)pairs, sizeof(double)), lo, hi, sw = 0, swo = 0;

	if (!with || !without || !ratio)
		return fprintf(stderr, "out of memory\n"), 1;
	for (int i = 0; i < 4; i++) /* warm-up: page tables, allocator, caches */
		touch_block(block_mib << 20);
	for (int i = 0; i < sets; i++) {
		bool on_first = i % 2 == 1;

		for (int pass = 0; pass < 2; pass++) {
			bool on = pass == 0 ? on_first : !on_first;
			double *dst = on ? with : without;

			toggle_set(t, on);
			/* untimed: attaching patches kernel text (IPIs, a serialising
			 * sync on every CPU) and a detach waits for RCU; let caches
			 * and the allocator settle the same way in both states */
			touch_block(block_mib << 18);
			double c0 = t->daemon && t->d.pid > 0 ? bench_cpu_seconds(t->d.pid) : 0;

			for (int j = 0; j < blocks; j++)
				dst[i * blocks + j] = touch_block(block_mib << 20);
			if (t->daemon && t->d.pid > 0)
				t->cpu_blocks += bench_cpu_seconds(t->d.pid) - c0;
			if (on)
				toggle_set(t, false);
		}
	}
	if (getenv("BPF_OVERHEAD_DUMP"))
		for (int i = 0; i < pairs; i++)
			fprintf(stderr, "block %d %d %.3f %.3f\n", i / blocks, i % blocks,
				without[i] * 1e3, with[i] * 1e3);
	for (int i = 0; i < pairs; i++) {
		ratio[i] = with[i] / without[i];
		sw += with[i];
		swo += without[i];
	}
	printf("workload=touch_%zu_MiB_blocks_4KiB_pages states=%d blocks_per_state=%d pairs=%d "
	       "mode=interleave-%s\n",
	       block_mib, sets, blocks, pairs, mode);
	printf("without_block_median_ms=%.3f\n", bench_median(without, pairs) * 1e3);
	printf("with_block_median_ms=%.3f\n", bench_median(with, pairs) * 1e3);
	/* both sorted now: noise on a shared host only ever adds time, so the
	 * fast tail of each side is its least disturbed cost */
	printf("q10_ratio=%.4f q25_ratio=%.4f (10th/25th percentile block time, with / without)\n",
	       with[pairs / 10] / without[pairs / 10], with[pairs / 4] / without[pairs / 4]);
	printf("sum_ratio=%.4f (total time with / without)\n", swo > 0 ? sw / swo : 0);
	printf("slowdown_ratio=%.4f (median of per-block-pair ratios; target <= 1.03)\n",
	       bench_median(ratio, pairs));
	median_ci(ratio, pairs, &lo, &hi);
	printf("slowdown_ratio_ci95=%.4f..%.4f (distribution-free interval of that median)\n", lo,
	       hi);
	printf("per_pair_ratio_p10=%.4f per_pair_ratio_p90=%.4f\n", ratio[pairs / 10],
	       ratio[pairs - 1 - pairs / 10]);
	if (t->daemon && !t->restart) {
		struct ipc_ctl_status_reply s1 = {};

		if (bench_daemon_status(&t->d, &s1) == 0) {
			t->records = s1.events_rss - t->s0.events_rss;
			t->raw = s1.rss_raw_events - t->s0.rss_raw_events;
		}
		t->cpu_s = bench_cpu_seconds(t->d.pid) - t->cpu0;
	}
	if (t->daemon)
		printf("records=%" PRIu64 " raw_events=%" PRIu64 " records_per_raw_event=%.6f "
		       "raw_events_per_record=%.0f (target >= 100)\n",
		       t->records, t->raw, t->raw ? (double)t->records / (double)t->raw : 0,
		       t->records ? (double)t->raw / (double)t->records : 0);
	if (!t->daemon && (t->fl || t->rs)) {
		/* after the timed pairs: the kernel's own run-time accounting over
		 * 64 blocks (it adds two clock reads per run, so an upper bound) */
		uint64_t ns0, n0, ns1, n1;

		toggle_set(t, true);
		bpf_stats_enable(true);
		bpf_prog_time(&ns0, &n0);
		for (int i = 0; i < 64; i++)
			touch_block(block_mib << 20);
		bpf_prog_time(&ns1, &n1);
		bpf_stats_enable(false);
		toggle_set(t, false);
		printf("bpf_runs=%" PRIu64 " bpf_ns_per_run=%.1f\n", n1 - n0,
		       n1 > n0 ? (double)(ns1 - ns0) / (double)(n1 - n0) : 0);
	}
	if (t->daemon)
		printf("daemon_cpu_ms_per_block=%.3f (memctld's own CPU time during the timed blocks, "
		       "per block; %.1f ms in all, switches included)\n",
		       t->cpu_blocks * 1e3 / (t->restart ? pairs : 2.0 * pairs), t->cpu_s * 1e3);
	free(with);
	free(without);
	free(ratio);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pairs", required_argument, NULL, 'p' },
		{ "mib", required_argument, NULL, 'm' },
		{ "quick", no_argument, NULL, 'q' },
		{ "floor", no_argument, NULL, 'f' },
		{ "rss-only", no_argument, NULL, 'R' },
		{ "whole-runs", no_argument, NULL, 'w' },
		{ "restart", no_argument, NULL, 'S' },
		{ "calibrate", no_argument, NULL, 'c' },
		{ "block-mib", required_argument, NULL, 'b' },
		{ "blocks", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int pairs = 7, c;
	bool floor_only = false, rss_only = false, whole_runs = false, calibrate = false,
	     restart = false;
	size_t mib = 2048, block_mib = 16;
	int blocks = 0;
	double without[64], with[64], ratio[64], cpu_ratio[64], ca = 0, cb = 0;
	uint64_t records = 0, raw = 0, bpf_ns = 0, bpf_runs = 0;
	double cpu_with = 0;

	while ((c = getopt_long(argc, argv, "p:m:qfRwcSb:B:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'w':
			whole_runs = true;
			break;
		case 'S':
			restart = true;
			break;
		case 'c':
			calibrate = true;
			break;
		case 'b':
			block_mib = (size_t)atol(optarg);
			break;
		case 'B':
			blocks = atoi(optarg);
			break;
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
			blocks = 4;
			break;
		default:
			printf("Usage: bpf_overhead [--pairs N] [--block-mib N] [--blocks N] [--quick]\n"
			       "                    [--restart | --floor | --rss-only | --calibrate]\n"
			       "       bpf_overhead --whole-runs [--pairs N (1..64)] [--mib N] [--floor | --rss-only]\n"
			       "\n"
			       "What memctld's BPF programs cost a workload that touches fresh anonymous\n"
			       "memory in 4 KiB pages. This process touches blocks of --block-mib (default\n"
			       "16) in fresh mappings, each timed, --blocks per state, with the programs on\n"
			       "and off in ABBA order, --pairs pairs of states; slowdown_ratio is the median\n"
			       "of the per-block ratios, with a 95%% interval.\n"
			       "  (default)   one private memctld; its programs switched off and on by\n"
			       "              reloads (64 pairs x 8 blocks)\n"
			       "  --restart   memctld started and stopped instead (7 pairs x 128 blocks:\n"
			       "              2 GiB per state); starts reshuffle the page allocator\n"
			       "  --floor     an empty program on kmem:rss_stat, attached and detached\n"
			       "              (the kernel's cost of running any program there)\n"
			       "  --rss-only  memctl's rss program alone, loaded here, no daemon\n"
			       "  --calibrate switch nothing: truly 1.00, the method's own resolution\n"
			       "              (these three: 401 pairs x 1 block)\n"
			       "  --whole-runs  the first method: a fresh child touches --mib (2048)\n"
			       "              per run, memctld started and stopped between runs\n"
			       "Needs root; runs $BUILD/memctld (or $MEMCTLD) with the config text in\n"
			       "$MEMCTLD_BENCH_CONFIG (default: built-in defaults). BPF_OVERHEAD_DUMP=1\n"
			       "prints every block's times to stderr.\n");
			return c == 'h' ? 0 : 1;
		}
	}
	if (!whole_runs) {
		struct toggle t = {};
		bool pairs_set = false;
		int r;

		for (int i = 1; i < argc; i++)
			pairs_set |= strncmp(argv[i], "--pairs", 7) == 0 ||
				     strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--quick") == 0;
		if (calibrate + floor_only + rss_only > 1)
			return fprintf(stderr, "--floor, --rss-only and --calibrate exclude each "
					       "other\n"),
			       1;
		t.daemon = !calibrate && !floor_only && !rss_only;
		t.restart = restart;
		/* restarts cost ~1 s each: few long states; reloads and program
		 * switches are cheap: many short ones */
		if (!pairs_set)
			pairs = !t.daemon ? 401 : restart ? 7 : 64;
		if (blocks == 0)
			blocks = !t.daemon ? 1 : restart ? (int)(2048 / (block_mib ?: 1) ?: 1) : 8;
		if (pairs < 1 || blocks < 1 || (long)pairs * blocks > 1000000 || block_mib == 0 ||
		    block_mib > 65536)
			return fprintf(stderr, "bad --pairs, --blocks or --block-mib\n"), 1;
		if (floor_only) {
			t.fl = floor_bpf__open_and_load();
			if (!t.fl)
				return fprintf(stderr, "cannot load the floor program\n"), 1;
		} else if (rss_only) {
			t.rs = rss_bpf__open();
			if (!t.rs || bpf_map__set_max_entries(t.rs->maps.events, 16 << 20) < 0 ||
			    rss_bpf__load(t.rs) < 0)
				return fprintf(stderr, "cannot load the rss program\n"), 1;
		}
		if (t.daemon && !t.restart) {
			/* one memctld for the whole run, its programs switched by reloads */
			r = bench_daemon_start(&t.d, getenv("MEMCTLD_BENCH_CONFIG") ?: "");
			if (r < 0)
				return fprintf(stderr, "memctld did not start: %s\n", strerror(-r)),
				       1;
			usleep(300000);
			if ((r = bench_daemon_status(&t.d, &t.s0)) < 0)
				return fprintf(stderr, "status failed: %s\n", strerror(-r)), 1;
			t.mask_on = t.s0.bpf_programs_loaded;
			t.on = true;
			t.cpu0 = bench_cpu_seconds(t.d.pid);
		}
		r = run_interleaved(&t, pairs, blocks, block_mib,
				    floor_only ? "floor" :
				    rss_only   ? "rss-only" :
				    calibrate  ? "calibrate" :
				    t.restart  ? "memctld-restart" :
						 "memctld");
		if (t.daemon && !t.restart)
			bench_daemon_stop(&t.d);
		floor_bpf__destroy(t.fl);
		rss_bpf__destroy(t.rs);
		return r;
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
