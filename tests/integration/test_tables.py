#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_tables.py: the process and cgroup tables of the real
memctld (real BPF, real processes, a real v1 memory cgroup with a real limit;
a v2 fixture tree for what this machine lacks)."""
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from harness import V1_ROOT, DaemonTestCase, Daemon, main, require_root, v1_cgroup, wait_until

TOUCH = r"""
import sys, time
n = int(sys.argv[1]) << 20
b = bytearray(n)
for i in range(0, n, 4096):
    b[i] = 1
print("ready", flush=True)
time.sleep(120)
"""


def vmrss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


def toucher(mb, prefix=()):
    p = subprocess.Popen(list(prefix) + [sys.executable, "-c", TOUCH, str(mb)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


class TablesTest(DaemonTestCase):

    def listed(self):
        return {p["pid"] for p in self.d.ctl_json("ps")}

    def kill_later(self, p):
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))

    def test_ten_processes_listed_within_1s_and_gone_within_1s(self):
        self.start()
        procs = [subprocess.Popen(["sleep", "60"]) for _ in range(10)]
        for p in procs:
            self.kill_later(p)
        pids = {p.pid for p in procs}
        t0 = time.monotonic()
        self.assertTrue(wait_until(lambda: pids <= self.listed(), timeout=1.0),
                        "not all listed within 1 s: %s" % (pids - self.listed()))
        print("listed after %.3f s" % (time.monotonic() - t0))
        for p in procs:
            p.kill()
            p.wait()
        t0 = time.monotonic()
        self.assertTrue(wait_until(lambda: not (pids & self.listed()), timeout=1.0),
                        "still listed after 1 s: %s" % (pids & self.listed()))
        print("gone after %.3f s" % (time.monotonic() - t0))
        st = self.d.status()
        self.assertGreaterEqual(st["processes_tracked"], 1)
        self.assertEqual(st["events"]["lost"], 0)

    def test_rss_of_256mib_process_matches_vmrss(self):
        self.start()
        p = toucher(256)
        self.kill_later(p)

        def close_enough():
            s = self.d.try_json("show", str(p.pid))
            want = vmrss_bytes(p.pid)
            return s and abs(s["rss_bytes"] - want) <= 0.02 * want and (s["rss_bytes"], want)
        r = wait_until(close_enough, timeout=3)
        self.assertTrue(r, "memctl show %s vs VmRSS %s" % (
            self.d.try_json("show", str(p.pid)), vmrss_bytes(p.pid)))
        print("show rss=%d VmRSS=%d (%.2f%%)" % (r[0], r[1], 100.0 * (r[0] - r[1]) / r[1]))
        show = self.d.ctl_json("show", str(p.pid))
        self.assertGreater(show["rss_anon_bytes"], 256 << 20)
        self.assertGreater(show["minor_faults"], 65536)  # one per touched 4 KiB page
        # the RSS came from coalesced records, far fewer than raw events
        self.assertGreater(self.d.status()["events"]["rss"], 0)

    def test_fault_breakdown_with_faults_program(self):
        self.start(config_text="[BPF]\nFaults=yes\n")
        self.assertIn("faults=loaded", self.d.status()["bpf"]["status"])
        # counts start when the daemon tracks the process: let it, then touch
        p = subprocess.Popen([sys.executable, "-c", "input()\n" + TOUCH, "64"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.kill_later(p)
        self.assertTrue(wait_until(lambda: p.pid in self.listed(), timeout=2))
        time.sleep(0.2)  # one drain after the fork record: in the fault map
        p.stdin.write("\n")
        p.stdin.flush()
        self.assertEqual(p.stdout.readline().strip(), "ready")
        s = wait_until(lambda: (lambda s: s if s and s["faults_seen"] >= 16384 else None)(
            self.d.try_json("show", str(p.pid))), timeout=3)
        self.assertIsNotNone(s, self.d.try_json("show", str(p.pid)))
        # 64 MiB written in 4 KiB pages: at least that many write faults
        self.assertGreaterEqual(s["write_faults_seen"], 16384)
        self.assertLessEqual(s["faults_seen"], s["minor_faults"] + s["major_faults"])
        self.assertIn("since traced:", self.d.ctl("show", str(p.pid)).stdout)

    def test_ps_sorting_and_errors(self):
        self.start()
        p = toucher(64)
        self.kill_later(p)
        self.assertTrue(wait_until(lambda: (self.d.try_json("show", str(p.pid)) or
                                            {"rss_bytes": 0})["rss_bytes"] > 64 << 20,
                                   timeout=3))
        for key, field in (("rss", "rss_bytes"), ("faults", "minor_faults"),
                           ("growth", "growth_bytes_per_sec")):
            ps = self.d.ctl_json("ps", "--sort", key)
            vals = [x[field] for x in ps]
            self.assertEqual(vals, sorted(vals, reverse=True), key)
        self.assertIn(p.pid, [x["pid"] for x in self.d.ctl_json("ps", "--sort", "rss")[:20]])
        pids = [x["pid"] for x in self.d.ctl_json("ps")]
        self.assertEqual(pids, sorted(pids))
        text = self.d.ctl("ps").stdout.splitlines()
        self.assertTrue(text[0].split()[:3] == ["PID", "PPID", "USER"])
        r = self.d.ctl("ps", "--sort", "size", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("expected pid, rss, growth or faults", r.stderr)
        r = self.d.ctl("show", "4194000", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no such process", r.stderr)

    def v1_cgroup(self, limit):
        return v1_cgroup(self, limit)

    def test_v1_cgroup_limit_and_usage(self):
        self.start()
        cg = self.v1_cgroup(512 << 20)
        rel = "/" + os.path.basename(cg)
        p = toucher(64, ["sh", "-c", 'echo $$ > %s/cgroup.procs && exec "$@"' % cg, "sh"])
        self.kill_later(p)

        def shown():
            s = self.d.try_json("show", str(p.pid))
            return s if s and s["cgroup"] == rel else None
        s = wait_until(shown, timeout=3)
        self.assertIsNotNone(s, "cgroup not resolved: %s" % self.d.try_json("show", str(p.pid)))
        c = s["cgroup_detail"]
        self.assertEqual(c["hierarchy"], 1)
        self.assertEqual(c["limit_bytes"], 512 << 20)
        with open(os.path.join(cg, "memory.usage_in_bytes")) as f:
            usage = int(f.read())
        self.assertLessEqual(abs(c["usage_bytes"] - usage), 0.02 * usage,
                             "usage %d vs memory.usage_in_bytes %d" % (c["usage_bytes"], usage))
        self.assertGreater(usage, 64 << 20)
        listed = [x for x in self.d.ctl_json("cgroups") if x["path"] == rel]
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["nr_procs"], 1)
        self.assertEqual({x["pid"] for x in self.d.ctl_json("ps", "--cgroup", rel)}, {p.pid})

        # migration: moved out, the table follows (cgroup_attach_task)
        with open(os.path.join(V1_ROOT, "cgroup.procs"), "w") as f:
            f.write(str(p.pid))
        self.assertTrue(wait_until(lambda: self.d.ctl_json("show", str(p.pid))["cgroup"] == "/",
                                   timeout=3))
        # removed while we track others: the entry goes, quietly
        os.rmdir(cg)
        self.assertTrue(wait_until(
            lambda: not [x for x in self.d.ctl_json("cgroups") if x["path"] == rel], timeout=3))
        self.assertTrue(self.d.proc.poll() is None)

    def test_reclaim_counters_of_a_cgroup_at_its_limit(self):
        self.start()
        cg = self.v1_cgroup(32 << 20)
        rel = "/" + os.path.basename(cg)
        data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                            os.environ.get("BUILD", "build"), "reclaim-test.dat")
        self.addCleanup(lambda: os.path.exists(data) and os.unlink(data))
        # 128 MiB of page cache written from inside a 32 MiB cgroup: memcg reclaim
        p = subprocess.Popen(["sh", "-c", 'echo $$ > %s/cgroup.procs && dd if=/dev/zero of=%s '
                              'bs=1M count=128 status=none && echo ready && exec sleep 60'
                              % (cg, data)], stdout=subprocess.PIPE, text=True)
        self.kill_later(p)
        self.assertEqual(p.stdout.readline().strip(), "ready")

        def reclaimed():
            c = [x for x in self.d.ctl_json("cgroups") if x["path"] == rel]
            return c and c[0]["reclaims"] > 0 and c[0]["reclaimed_pages"] > 0 and c[0]
        c = wait_until(reclaimed, timeout=3)
        self.assertTrue(c, "no reclaim counted: %s" % self.d.ctl_json("cgroups"))
        print("reclaims=%d reclaimed_pages=%d stall_usec=%d" % (
            c["reclaims"], c["reclaimed_pages"], c["reclaim_stall_usec"]))
        self.assertLessEqual(c["usage_bytes"], 32 << 20)

    def test_cgroup_removed_while_tracked_no_error_storm(self):
        self.start()
        cg = self.v1_cgroup(256 << 20)
        rel = "/" + os.path.basename(cg)
        procs = [subprocess.Popen(["sh", "-c", 'echo $$ > %s/cgroup.procs && exec sleep 60' % cg])
                 for _ in range(3)]
        for p in procs:
            self.kill_later(p)
        self.assertTrue(wait_until(lambda: any(x["path"] == rel and x["nr_procs"] == 3
                                               for x in self.d.ctl_json("cgroups")), timeout=3))
        for p in procs:
            p.kill()
            p.wait()
        # remove it as soon as the kernel lets us: the daemon may read it mid-way
        def empty():
            with open(os.path.join(cg, "cgroup.procs")) as f:
                return not f.read().strip()
        wait_until(empty, timeout=3)
        os.rmdir(cg)
        self.assertTrue(wait_until(
            lambda: not [x for x in self.d.ctl_json("cgroups") if x["path"] == rel], timeout=3))
        time.sleep(1.2)  # a tick or more after the removal
        noisy = [l for l in self.d.log().splitlines() if "warning" in l or "err" in l.split(":")[1:2]]
        self.assertEqual(noisy, [], "log lines after a vanished cgroup")
        self.assertEqual(self.d.status()["pid"], self.d.proc.pid)  # still answering

    def test_v2_fixture_tree(self):
        tmp = tempfile.mkdtemp(prefix="memctl-v2-")
        self.addCleanup(subprocess.run, ["rm", "-rf", tmp])
        root, proc = os.path.join(tmp, "cg"), os.path.join(tmp, "proc")

        def w(path, text):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        stat_v2 = "anon 1048576\nfile 2097152\nshmem 0\nfile_mapped 0\nfile_dirty 0\n" \
                  "file_writeback 0\ninactive_anon 0\nactive_anon 1048576\ninactive_file 0\n" \
                  "active_file 2097152\nunevictable 0\npgfault 10\npgmajfault 0\n"
        w(root + "/cgroup.procs", "")
        w(root + "/memory.stat", stat_v2)
        good = {"memory.max": "536870912\n", "memory.high": "max\n",
                "memory.current": "123456789\n",
                "memory.events": "low 0\nhigh 3\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n",
                "memory.pressure": "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\n"
                                   "full avg10=0.75 avg60=0.00 avg300=0.00 total=678\n",
                "memory.stat": stat_v2, "cgroup.procs": ""}
        for k, v in good.items():
            w(root + "/app/" + k, v)
        bad = dict(good)
        bad["memory.max"] = "lots\n"
        for k, v in bad.items():
            w(root + "/bad/" + k, v)
        huge = dict(good)
        huge["memory.current"] = "99999999999999999999999\n"
        for k, v in huge.items():
            w(root + "/huge/" + k, v)
        for pid, cg in ((4190001, "/app"), (4190002, "/bad"), (4190003, "/huge")):
            w("%s/%d/stat" % (proc, pid),
              "%d (fixture proc) S 1 %d %d 0 -1 4194560 500 0 0 0 0 0 0 0 20 0 1 0 100 "
              "10000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
              % (pid, pid, pid))
            w("%s/%d/status" % (proc, pid),
              "Name:\tfixture\nTgid:\t%d\nPid:\t%d\nPPid:\t1\nVmRSS:\t   12288 kB\n"
              "RssAnon:\t    8192 kB\nRssFile:\t    4096 kB\nRssShmem:\t       0 kB\n"
              "VmSwap:\t       0 kB\n" % (pid, pid))
            w("%s/%d/cgroup" % (proc, pid), "0::%s\n" % cg)
        self.start(config_text="[Cgroup]\nRoot=%s\nProcRoot=%s\n" % (root, proc))
        s = self.d.ctl_json("show", "4190001")
        self.assertEqual(s["cgroup"], "/app")
        c = s["cgroup_detail"]
        self.assertEqual((c["hierarchy"], c["limit_bytes"], c["soft_limit_bytes"], c["usage_bytes"],
                          c["failcnt"], c["oom_events"], c["psi_some_avg10_permyriad"],
                          c["psi_full_avg10_permyriad"]),
                         (2, 536870912, None, 123456789, 7, 1, 150, 75))  # oom_events: kills
        self.assertEqual(s["rss_anon_bytes"], 8192 * 1024)
        self.assertEqual(s["minor_faults"], 500)
        for pid in ("4190002", "4190003"):  # malformed files: no figures, no crash
            s = self.d.ctl_json("show", pid)
            self.assertIsNone(s["cgroup_detail"]["limit_bytes"])
            self.assertEqual(s["cgroup_detail"]["usage_bytes"], 0)
        self.assertIsNone(self.d.proc.poll())
        paths = {x["path"] for x in self.d.ctl_json("cgroups")}
        self.assertLessEqual({"/app", "/bad", "/huge"}, paths)

    def test_ring_buffer_overflow_counted_and_resynced(self):
        self.start(config_text="[BPF]\nRingBufferSize=4K\n")
        sleepers = []
        storm = []
        # freeze the consumer so the 4 KiB ring buffers must overflow
        self.d.proc.send_signal(signal.SIGSTOP)
        self.addCleanup(lambda: self.d.proc.send_signal(signal.SIGCONT))
        for i in range(3000):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            storm.append(pid)
            if i % 300 == 0:
                sleepers.append(subprocess.Popen(["sleep", "60"]))
        for pid in storm:
            os.waitpid(pid, 0)
        self.d.proc.send_signal(signal.SIGCONT)
        for p in sleepers:
            self.kill_later(p)
        st = wait_until(lambda: (lambda s: s if s["events"]["lost"] > 0 and s["resyncs"] > 0
                                 else None)(self.d.status()), timeout=3)
        self.assertIsNotNone(st, "no loss or no resync: %s" % self.d.status())
        print("lost=%d resyncs=%d" % (st["events"]["lost"], st["resyncs"]))
        events = [e for e in self.d.ctl_json("events") if e["kind"] == "lost-records"]
        self.assertTrue(events)
        for p in sleepers[::2]:
            p.kill()
            p.wait()
        alive = {p.pid for p in sleepers[1::2]}
        dead = {p.pid for p in sleepers[::2]} | set(storm)

        def correct():
            pids = self.listed()
            return alive <= pids and not (dead & pids)
        self.assertTrue(wait_until(correct, timeout=3),
                        "table wrong after resync: missing %s, ghosts %s" % (
                            alive - self.listed(), dead & self.listed()))


if __name__ == "__main__":
    main()
