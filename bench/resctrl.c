// SPDX-License-Identifier: MIT
/* bench/resctrl.c: what reading resctrl counters costs memctld per tick, for N monitored
 * units (default 1,000): its own read path (daemon/resctrl-read.c) over a tree of the
 * kernel's layout, against the floor of one pread per counter on descriptors kept open.
 *
 *   build/bench/resctrl [--units N] [--domains D] [--ticks T] [--quick]
 *
 * The tree lives in tmpfs (/dev/shm): the figure is memctld's CPU (path walks, opens,
 * reads, parsing), not the kernel's cost of producing a real counter (an IPI to a CPU of
 * the domain to read the MSR), which comes on top on RDT hardware. Prints key=value
 * figures; medians over the ticks of CLOCK_PROCESS_CPUTIME_ID per tick. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* the daemon's own code, not a copy */
#include "daemon/resctrl-parse.c"
#include "daemon/resctrl-read.c"

static const char *const events[] = { "llc_occupancy", "mbm_total_bytes", "mbm_local_bytes" };

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void mkd(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "cannot mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* mon_data with D domains under dir */
static void mon_data(const char *dir, int domains, unsigned seed)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/mon_data", dir);
	mkd(p);
	for (int d = 0; d < domains; d++) {
		snprintf(p, sizeof(p), "%s/mon_data/mon_L3_%02d", dir, d);
		mkd(p);
		for (size_t e = 0; e < 3; e++) {
			char f[600], v[32];

			snprintf(f, sizeof(f), "%s/%s", p, events[e]);
			snprintf(v, sizeof(v), "%u\n",
				 seed * 7919u + (unsigned)(d * 3 + e) * 104729u);
			put(f, v);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "units", required_argument, NULL, 'u' },
					      { "domains", required_argument, NULL, 'd' },
					      { "ticks", required_argument, NULL, 't' },
					      { "quick", no_argument, NULL, 'q' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	int units = 1000, domains = 2, ticks = 31, c;
	char root[] = "/dev/shm/bench-resctrl-XXXXXX", p[512], why[128];
	struct resctrl_info info;
	double *mine, *floor_ns;
	int rootfd, *mfd, *kept;
	long bad = 0;

	while ((c = getopt_long(argc, argv, "u:d:t:qh", opts, NULL)) >= 0) {
		switch (c) {
		case 'u':
			units = atoi(optarg);
			break;
		case 'd':
			domains = atoi(optarg);
			break;
		case 't':
			ticks = atoi(optarg);
			break;
		case 'q':
			units = 100;
			ticks = 5;
			break;
		default:
			printf("Usage: %s [--units N] [--domains D] [--ticks T] [--quick]\n",
			       argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (units < 1 || domains < 1 || domains > RESCTRL_DOMAINS_MAX || ticks < 1) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	/* the kernel's layout: info/L3_MON, the root's mon_data, mon_groups/memctl-* */
	snprintf(p, sizeof(p), "%s/info", root);
	mkd(p);
	snprintf(p, sizeof(p), "%s/info/L3_MON", root);
	mkd(p);
	snprintf(p, sizeof(p), "%s/info/L3_MON/num_rmids", root);
	{
		char v[32];

		snprintf(v, sizeof(v), "%d\n", units + 1);
		put(p, v);
	}
	snprintf(p, sizeof(p), "%s/info/L3_MON/mon_features", root);
	put(p, "llc_occupancy\nmbm_total_bytes\nmbm_local_bytes\n");
	mon_data(root, domains, 0);
	snprintf(p, sizeof(p), "%s/mon_groups", root);
	mkd(p);
	for (int i = 0; i < units; i++) {
		snprintf(p, sizeof(p), "%s/mon_groups/memctl-c%d", root, i + 1);
		mkd(p);
		mon_data(p, domains, (unsigned)i + 1);
	}

	rootfd = resctrl_open(root, false, &info, why, sizeof(why));
	if (rootfd < 0) {
		fprintf(stderr, "resctrl_open: %s\n", why);
		return 1;
	}
	mfd = calloc((size_t)units, sizeof(*mfd));
	kept = calloc((size_t)units * (size_t)domains * 3, sizeof(*kept));
	mine = calloc((size_t)ticks, sizeof(*mine));
	floor_ns = calloc((size_t)ticks, sizeof(*floor_ns));
	if (!mfd || !kept || !mine || !floor_ns)
		return 1;
	for (int i = 0; i < units; i++) {
		char name[32];

		snprintf(name, sizeof(name), "memctl-c%d", i + 1);
		mfd[i] = resctrl_mon_data_open(rootfd, name);
		if (mfd[i] < 0) {
			fprintf(stderr, "mon_data of %s: %s\n", name, strerror(-mfd[i]));
			return 1;
		}
		for (int d = 0; d < domains; d++)
			for (int e = 0; e < 3; e++) {
				char f[64];
				int k = (i * domains + d) * 3 + e;

				snprintf(f, sizeof(f), "mon_L3_%02d/%s", d, events[e]);
				kept[k] = openat(mfd[i], f, O_RDONLY | O_CLOEXEC);
				if (kept[k] < 0) {
					/* fds: 3 per unit per domain, beyond a default ulimit */
					fprintf(stderr, "openat %s: %s (raise ulimit -n)\n", f,
						strerror(errno));
					return 1;
				}
			}
	}

	/* interleave the two methods tick by tick so drift hits both alike */
	for (int t = 0; t < ticks; t++) {
		double t0 = cpu_ns();

		for (int i = 0; i < units; i++) {
			struct resctrl_sample s;

			if (resctrl_sample_read(mfd[i], &info, &s) < 0 ||
			    s.d[0].total.status != RESCTRL_COUNTER_VALUE)
				bad++;
		}
		mine[t] = cpu_ns() - t0;
		t0 = cpu_ns();
		for (int k = 0; k < units * domains * 3; k++) {
			char buf[64];
			struct resctrl_counter ctr;
			ssize_t n = pread(kept[k], buf, sizeof(buf), 0);

			if (n <= 0 || resctrl_parse_counter(buf, (size_t)n, &ctr) < 0)
				bad++;
		}
		floor_ns[t] = cpu_ns() - t0;
	}
	double m = median(mine, ticks), f = median(floor_ns, ticks);

	printf("units=%d domains=%d events=3 ticks=%d\n", units, domains, ticks);
	printf("read_cpu_ms_per_tick=%.3f\n", m / 1e6);
	printf("read_cpu_us_per_unit=%.2f\n", m / 1e3 / units);
	printf("kept_fd_pread_cpu_ms_per_tick=%.3f\n", f / 1e6);
	printf("read_vs_kept_fd=%.2f\n", f > 0 ? m / f : 0);
	printf("tick_share_of_a_core_pct_at_1s=%.3f\n", m / 1e9 * 100);
	printf("bad_reads=%ld\n", bad);

	for (int k = 0; k < units * domains * 3; k++)
		close(kept[k]);
	for (int i = 0; i < units; i++)
		close(mfd[i]);
	close(rootfd);
	snprintf(p, sizeof(p), "rm -rf %s", root);
	if (system(p) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return bad ? 1 : 0;
}
