// SPDX-License-Identifier: MIT
/* tests/integration/bpf_smoke.c: load rss, faults and vmscan for real, run a
 * child that touches 64 MiB, check what the programs saw. Exit 0 on success. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/events.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "faults.skel.h"
#include "rss.skel.h"
#include "vmscan.skel.h"

#define TOUCH_BYTES MIB(64)
#define RECLAIM_FILE_BYTES MIB(128)
#define RECLAIM_LIMIT_BYTES MIB(32)
#define V1_MEMORY_ROOT "/sys/fs/cgroup/memory"

static unsigned n_passed, n_failed, n_skipped;

static void _printf_(2, 3) check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		n_passed++;
	else
		n_failed++;
}

static void _printf_(1, 2) skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	n_skipped++;
}

static int _printf_(2, 0) libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !getenv("BPF_SMOKE_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* What the ring-buffer callback saw for the child. */
struct rss_seen {
	pid_t pid;
	uint64_t records;
	uint64_t raw_events;
	struct ev_rss last;
	uint64_t all_records;
};

static int rss_record(void *ctx, void *data, size_t size)
{
	struct rss_seen *seen = ctx;
	const struct ev_rss *e = data;

	if (size < sizeof(*e) || e->type != EV_RSS)
		return 0;
	seen->all_records++;
	if ((pid_t)e->pid != seen->pid)
		return 0;
	seen->records++;
	seen->raw_events += e->raw_events;
	seen->last = *e;
	return 0;
}

static int prog_stats_sum(int map_fd, struct ev_prog_stats *ret)
{
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ struct ev_prog_stats *v = NULL;
	struct ev_prog_stats sum = {};
	uint32_t zero = 0;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &zero, v) < 0)
		return -errno;
	for (int i = 0; i < ncpu; i++) {
		sum.events += v[i].events;
		sum.records += v[i].records;
		sum.lost += v[i].lost;
		sum.map_full += v[i].map_full;
	}
	*ret = sum;
	return 0;
}

/* /proc/PID/status "RssAnon:" in bytes; 0 if absent. */
static uint64_t proc_rss_anon_bytes(pid_t pid)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], line[256];
	unsigned long long kb = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			break;
	return (uint64_t)kb * 1024;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int write_string(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return write_all(fd, s, strlen(s));
}

/* Child: wait for "go", touch TOUCH_BYTES in 4 KiB pages, report, wait to be
 * killed. Never returns. */
static _Noreturn void child_touch(int go_fd, int done_fd)
{
	char c;
	uint8_t *p;

	if (read(go_fd, &c, 1) != 1)
		_exit(2);
	p = mmap(NULL, TOUCH_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(3);
	/* 4 KiB faults, one rss_stat event each: no THP */
	(void)madvise(p, TOUCH_BYTES, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < TOUCH_BYTES; off += 4096)
		p[off] = 1;
	if (write(done_fd, "d", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

static void poll_ring(struct ring_buffer *rb, uint64_t ms)
{
	uint64_t end = clock_nsec(CLOCK_MONOTONIC) + ms * NSEC_PER_MSEC;

	while (clock_nsec(CLOCK_MONOTONIC) < end)
		(void)ring_buffer__poll(rb, 50);
}

static bool rss_state_has_pid(int map_fd, pid_t pid)
{
	uint64_t key, next;
	uint64_t *prev = NULL;
	struct ev_rss_state s;

	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(map_fd, &next, &s) == 0 && (pid_t)s.pid == pid)
			return true;
		key = next;
		prev = &key;
	}
	return false;
}

static unsigned map_count(int map_fd)
{
	uint64_t key, next, *prev = NULL;
	unsigned n = 0;

	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		n++;
		key = next;
		prev = &key;
	}
	return n;
}

/* A child growing by one page every 100 ms for 3.5 s stays below the 1 MiB
 * threshold: records come from the 1 s interval, not per event. */
static void test_rss_interval(struct rss_bpf *rss)
{
	struct rss_seen seen = {};
	struct ring_buffer *rb;
	uint64_t hz;
	pid_t pid;

	rb = ring_buffer__new(bpf_map__fd(rss->maps.events), rss_record, &seen, NULL);
	if (!rb) {
		check(false, "rss: ring_buffer__new: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		uint8_t *p = mmap(NULL, MIB(1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);

		if (p == MAP_FAILED)
			_exit(1);
		for (int i = 0; i < 35; i++) {
			p[i * 4096] = 1;
			usleep(100 * 1000);
		}
		_exit(0);
	}
	if (pid < 0) {
		check(false, "fork: %m");
		ring_buffer__free(rb);
		return;
	}
	seen.pid = pid;
	while (waitpid(pid, NULL, WNOHANG) == 0)
		(void)ring_buffer__poll(rb, 50);
	poll_ring(rb, 100);
	/* one record after fork (the copied RSS against 0), then ~1 per second */
	check(seen.records >= 3 && seen.records <= 6,
	      "rss: slow grower: %llu records for %llu raw events in 3.5 s (3..6)",
	      (unsigned long long)seen.records, (unsigned long long)seen.raw_events);
	hz = rss->bss->interval_jiffies;
	check(hz >= 90 && hz <= 1100, "rss: interval calibrated to %llu jiffies per second",
	      (unsigned long long)hz);
	ring_buffer__free(rb);
}

/* 50 short-lived processes that each touch 4 MiB: their per-mm states must
 * not outlive them. */
static void test_rss_state_churn(struct rss_bpf *rss)
{
	int fd = bpf_map__fd(rss->maps.rss_state);
	unsigned before = map_count(fd), after;

	for (int i = 0; i < 50; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			uint8_t *p = mmap(NULL, MIB(4), PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				_exit(1);
			for (size_t off = 0; off < MIB(4); off += 4096)
				p[off] = 1;
			_exit(0);
		}
		if (pid > 0)
			(void)waitpid(pid, NULL, 0);
	}
	after = map_count(fd);
	check(after <= before + 5, "rss: rss_state entries %u before, %u after 50 exited processes",
	      before, after);
}

static void test_rss_and_faults(struct rss_bpf *rss, struct faults_bpf *faults)
{
	struct rss_seen seen = {};
	struct ring_buffer *rb = NULL;
	struct ev_fault_counts fc = {}, zero_fc = {};
	struct ev_prog_stats st;
	int go[2] = { -1, -1 }, done[2] = { -1, -1 };
	uint64_t rss_anon, diff;
	double ratio;
	pid_t pid;
	char c;
	int r;

	rb = ring_buffer__new(bpf_map__fd(rss->maps.events), rss_record, &seen, NULL);
	if (!rb) {
		check(false, "rss: ring_buffer__new: %s", strerror(errno));
		return;
	}
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0) {
		check(false, "pipe: %m");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		check(false, "fork: %m");
		goto out;
	}
	if (pid == 0)
		child_touch(go[0], done[1]);
	seen.pid = pid;

	r = bpf_map_update_elem(bpf_map__fd(faults->maps.tracked), &pid, &zero_fc, BPF_NOEXIST);
	check(r == 0, "faults: child %d inserted into tracked", (int)pid);
	if (write(go[1], "g", 1) != 1) {
		check(false, "write go: %m");
		goto kill;
	}
	/* drain records while the child touches its memory */
	for (;;) {
		struct pollfd pfd = { .fd = done[0], .events = POLLIN };

		(void)ring_buffer__poll(rb, 20);
		if (poll(&pfd, 1, 0) == 1)
			break;
	}
	if (read(done[0], &c, 1) != 1) {
		check(false, "child %d died before touching its memory", (int)pid);
		goto kill;
	}
	poll_ring(rb, 300);
	rss_anon = proc_rss_anon_bytes(pid);

	check(seen.records > 0, "rss: %llu records for the child (%llu raw events folded)",
	      (unsigned long long)seen.records, (unsigned long long)seen.raw_events);
	diff = seen.last.anon_bytes > rss_anon ? seen.last.anon_bytes - rss_anon :
						 rss_anon - seen.last.anon_bytes;
	check(rss_anon > 0 && diff * 100 <= rss_anon * 5,
	      "rss: last record anon_bytes=%llu vs /proc RssAnon=%llu (diff %.2f%%, limit 5%%)",
	      (unsigned long long)seen.last.anon_bytes, (unsigned long long)rss_anon,
	      rss_anon ? 100.0 * (double)diff / (double)rss_anon : 100.0);
	ratio = seen.records ? (double)seen.raw_events / (double)seen.records : 0;
	check(ratio >= 100, "rss: raw_events/records=%.1f for the child (>= 100)", ratio);

	r = bpf_map_lookup_elem(bpf_map__fd(faults->maps.tracked), &pid, &fc);
	check(r == 0 && fc.faults > 16000,
	      "faults: child faults=%llu write=%llu prot=%llu (> 16000)",
	      (unsigned long long)fc.faults, (unsigned long long)fc.write_faults,
	      (unsigned long long)fc.prot_faults);

kill:
	kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
	(void)bpf_map_delete_elem(bpf_map__fd(faults->maps.tracked), &pid);
	poll_ring(rb, 100);
	check(!rss_state_has_pid(bpf_map__fd(rss->maps.rss_state), pid),
	      "rss: the child's per-mm state is freed after exit");

	r = prog_stats_sum(bpf_map__fd(rss->maps.stats), &st);
	check(r == 0 && st.lost == 0 && st.map_full == 0,
	      "rss: stats events=%llu records=%llu lost=%llu map_full=%llu (all processes)",
	      (unsigned long long)st.events, (unsigned long long)st.records,
	      (unsigned long long)st.lost, (unsigned long long)st.map_full);
	if (r == 0 && st.records)
		printf("INFO rss: all processes: %.1f raw events per record, %llu records read\n",
		       (double)st.events / (double)st.records,
		       (unsigned long long)seen.all_records);
	r = prog_stats_sum(bpf_map__fd(faults->maps.stats), &st);
	check(r == 0 && st.events >= fc.faults, "faults: stats events=%llu (all processes)",
	      (unsigned long long)st.events);
out:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (done[i] >= 0)
			close(done[i]);
	}
	ring_buffer__free(rb);
}

/* A child in a v1 memory cgroup limited to 32 MiB reads a 128 MiB file: the
 * page cache is reclaimed by the memcg, counted under the cgroup's inode. */
static void test_vmscan_memcg(struct vmscan_bpf *vm)
{
	char cg[128], path[192], tmpl[] = "/var/tmp/memctl-smoke-XXXXXX", buf[64];
	struct ev_reclaim_counters c = {};
	struct stat sb;
	uint64_t cgid;
	int fd, r, status = 0;
	pid_t pid;

	if (geteuid() != 0 || access(V1_MEMORY_ROOT "/memory.limit_in_bytes", F_OK) < 0) {
		skip("vmscan: memcg reclaim: needs root and cgroup v1 memory at %s",
		     V1_MEMORY_ROOT);
		return;
	}
	snprintf(cg, sizeof(cg), V1_MEMORY_ROOT "/memctl-smoke-%d", (int)getpid());
	if (mkdir(cg, 0755) < 0 || stat(cg, &sb) < 0) {
		check(false, "vmscan: mkdir %s: %m", cg);
		return;
	}
	cgid = sb.st_ino;
	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", cg);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)RECLAIM_LIMIT_BYTES);
	r = write_string(path, buf);
	if (r < 0) {
		check(false, "vmscan: write %s: %s", path, strerror(-r));
		goto rmdir;
	}

	fd = mkstemp(tmpl);
	if (fd < 0) {
		check(false, "vmscan: mkstemp: %m");
		goto rmdir;
	}
	unlink(tmpl);
	{
		_cleanup_free_ char *block = calloc(1, MIB(1));

		for (uint64_t i = 0; block && i < RECLAIM_FILE_BYTES / MIB(1); i++)
			if (write_all(fd, block, MIB(1)) < 0)
				break;
	}
	(void)fsync(fd);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);

	pid = fork();
	if (pid == 0) {
		char page[65536];
		off_t off = 0;
		ssize_t n;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		if (write_string(path, "0") < 0)
			_exit(2);
		while ((n = pread(fd, page, sizeof(page), off)) > 0)
			off += n;
		_exit(off == (off_t)RECLAIM_FILE_BYTES ? 0 : 3);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		check(false, "vmscan: reader child failed (status %d)", status);
		close(fd);
		goto rmdir;
	}
	close(fd);

	r = bpf_map_lookup_elem(bpf_map__fd(vm->maps.reclaim_by_cgroup), &cgid, &c);
	check(r == 0 && c.memcg_end > 0 && c.memcg_reclaimed_pages > 0,
	      "vmscan: cgroup ino %llu: memcg reclaims=%llu reclaimed_pages=%llu stall_ns=%llu max_stall_ns=%llu",
	      (unsigned long long)cgid, (unsigned long long)c.memcg_end,
	      (unsigned long long)c.memcg_reclaimed_pages, (unsigned long long)c.memcg_stall_ns,
	      (unsigned long long)c.memcg_stall_max_ns);
	(void)bpf_map_delete_elem(bpf_map__fd(vm->maps.reclaim_by_cgroup), &cgid);
rmdir:
	if (rmdir(cg) < 0)
		printf("WARN rmdir %s: %m\n", cg);
}

static void test_vmscan_global(struct vmscan_bpf *vm)
{
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ struct ev_reclaim_counters *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
	uint64_t memcg_end = 0, kswapd_wake = 0, direct_end = 0;
	uint32_t zero = 0;
	int r;

	r = v ? bpf_map_lookup_elem(bpf_map__fd(vm->maps.reclaim_global), &zero, v) : -ENOMEM;
	for (int i = 0; r == 0 && i < ncpu; i++) {
		memcg_end += v[i].memcg_end;
		kswapd_wake += v[i].kswapd_wake;
		direct_end += v[i].direct_end;
	}
	check(r == 0,
	      "vmscan: global counters readable: memcg_end=%llu kswapd_wake=%llu direct_end=%llu",
	      (unsigned long long)memcg_end, (unsigned long long)kswapd_wake,
	      (unsigned long long)direct_end);
}

int main(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct rss_bpf *rss = NULL;
	struct faults_bpf *faults = NULL;
	struct vmscan_bpf *vm = NULL;
	long pagesize = sysconf(_SC_PAGESIZE);
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	(void)setrlimit(RLIMIT_MEMLOCK, &rl); /* kernels before 5.11 charge memlock */

	rss = rss_bpf__open();
	if (!rss) {
		check(false, "rss: open: %m");
		goto out;
	}
	rss->rodata->page_shift = (uint32_t)__builtin_ctzl((unsigned long)pagesize);
	r = rss_bpf__load(rss);
	check(r == 0, "rss: load (%s)", r ? strerror(-r) : "ok");
	if (r == 0) {
		r = rss_bpf__attach(rss);
		check(r == 0, "rss: attach (%s)", r ? strerror(-r) : "ok");
	}

	faults = faults_bpf__open_and_load();
	check(faults != NULL, "faults: open and load");
	if (faults) {
		r = faults_bpf__attach(faults);
		check(r == 0, "faults: attach (%s)", r ? strerror(-r) : "ok");
	}

	vm = vmscan_bpf__open_and_load();
	check(vm != NULL, "vmscan: open and load");
	if (vm) {
		struct bpf_program *prog;
		unsigned attached = 0, total = 0;

		r = vmscan_bpf__attach(vm);
		bpf_object__for_each_program(prog, vm->obj)
			total++;
		attached = r == 0 ? total : 0;
		check(r == 0, "vmscan: attach %u/%u programs (%s)", attached, total,
		      r ? strerror(-r) : "ok");
	}

	if (rss && faults && rss->links.rss_stat && faults->links.page_fault_user) {
		test_rss_and_faults(rss, faults);
		test_rss_state_churn(rss);
		test_rss_interval(rss);
	} else
		check(false, "rss/faults: not attached, child test not run");
	if (vm && vm->links.memcg_reclaim_end) {
		test_vmscan_memcg(vm);
		test_vmscan_global(vm);
	}
out:
	vmscan_bpf__destroy(vm);
	faults_bpf__destroy(faults);
	rss_bpf__destroy(rss);
	printf("bpf_smoke: %u passed, %u failed, %u skipped\n", n_passed, n_failed, n_skipped);
	return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
