#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_growth_live.py: the growth detector live: the real
memctld with its real BPF programs watches five memory_grower processes at once
(linear 1 MiB/s, accelerating, oscillating, burst, stable) and one more in a
real v1 memory cgroup with a real limit. The truth comes from the workloads'
JSON phase lines, never from the daemon. Writes a markdown report with
tests/accuracy/report."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from harness import DaemonTestCase, main, BUILD, TOP

V1_ROOT = "/sys/fs/cgroup/memory"
GROWER = os.path.join(BUILD, "workloads", "memory_grower")
REPORT = os.path.join(TOP, "tests", "accuracy", "report")
MIB = 1 << 20
HOLD = 35  # the detector's MinHistorySec= is 30 s: startup growth is normal
DURATION = 50
SCENARIOS = [
    # name, args, pattern the detector should name, a leak?
    ("linear", ["--pattern", "linear", "--rate-mb", "1"], "linear", True),
    ("accelerating", ["--pattern", "accelerating", "--rate-mb", "1"], "accelerating", True),
    ("oscillating", ["--pattern", "oscillating", "--rate-mb", "4", "--period-sec", "20"],
     "oscillating", False),
    ("burst", ["--pattern", "burst", "--rate-mb", "2", "--period-sec", "5"], "burst", True),
    ("stable", ["--pattern", "stable"], "stable", False),
]
CG_RATE_MB = 2
CG_LIMIT = 512 * MIB




def boottime_usec():
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1000


def proc_cpu_sec(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vmrss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Grower:
    def __init__(self, name, args, cgroup_procs=None):
        self.name = name
        argv = [GROWER] + args + ["--hold-sec", str(HOLD), "--duration-sec", str(DURATION),
                                  "--after-sec", "-1", "--seed", str(len(name))]

        def enter():
            if cgroup_procs:
                with open(cgroup_procs, "w") as f:
                    f.write(str(os.getpid()))
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, preexec_fn=enter)
        self.phases = []
        self.pid = self.p.pid

    def read_phase(self):
        line = self.p.stdout.readline()
        if not line:
            raise AssertionError("%s exited early" % self.name)
        ph = json.loads(line)
        self.phases.append(ph)
        return ph

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait(10)


class GrowthLiveTest(DaemonTestCase):

    def setUp(self):
        super().setUp()
        if not os.path.isdir(V1_ROOT):
            raise unittest.SkipTest("skip: no cgroup v1 memory controller at %s" % V1_ROOT)
        self.cg = os.path.join(V1_ROOT, "memctl-growth-%d" % os.getpid())
        os.mkdir(self.cg)
        self.addCleanup(self.remove_cgroup)
        with open(os.path.join(self.cg, "memory.limit_in_bytes"), "w") as f:
            f.write(str(CG_LIMIT))
        self.growers = []
        self.addCleanup(lambda: [g.stop() for g in self.growers])

    @staticmethod
    def line_ready(g):
        import select
        return bool(select.select([g.p.stdout], [], [], 0)[0])

    def remove_cgroup(self):
        for g in self.growers:
            g.stop()
        for _ in range(50):
            try:
                os.rmdir(self.cg)
                return
            except OSError:
                time.sleep(0.1)

    def test_five_patterns_and_a_cgroup(self):
        d = self.start()
        daemon_pid = d.proc.pid
        cpu0, wall0 = proc_cpu_sec(daemon_pid), time.monotonic()
        t_begin = time.time()
        for name, args, _, _ in SCENARIOS:
            self.growers.append(Grower(name, args))
        cgg = Grower("cgroup-linear", ["--pattern", "linear", "--rate-mb", str(CG_RATE_MB)],
                     os.path.join(self.cg, "cgroup.procs"))
        self.growers.append(cgg)
        for g in self.growers:
            self.assertEqual(g.read_phase()["phase"], "hold")
        for g in self.growers:  # hold ends, pattern starts: two lines
            while g.p.stdout.readable() and not self.line_ready(g):
                time.sleep(0.2)
            g.read_phase()
            start = g.read_phase()
            self.assertEqual(start["event"], "phase_start")
            self.assertEqual(start["phase"], "pattern")
            g.start_usec = start["t_usec"]
            g.true_rate = start["rate_bytes_per_sec"]
        by_pid = {g.pid: g for g in self.growers}
        first_detect = {}
        history = {g.pid: [] for g in self.growers}
        cg_samples = []
        rss_max = 0
        end_usec = max(g.start_usec for g in self.growers) + DURATION * 1000000
        cg_rel = "/" + os.path.basename(self.cg)
        while boottime_usec() < end_usec - 500000:
            now = boottime_usec()
            for e in d.ctl_json("ps"):
                if e["pid"] in by_pid:
                    history[e["pid"]].append((now, e))
                    if e["growth_detected"] and e["pid"] not in first_detect:
                        first_detect[e["pid"]] = now
            for c in d.ctl_json("cgroups"):
                if c["path"] == cg_rel:
                    cg_samples.append((now, c))
            rss_max = max(rss_max, vmrss(daemon_pid))
            time.sleep(0.5)
        cpu1, wall1 = proc_cpu_sec(daemon_pid), time.monotonic()
        events = d.ctl_json("events")

        results = []
        failures = []
        for (name, _, want_pattern, leak), g in zip(SCENARIOS, self.growers):
            last = history[g.pid][-1][1]
            # the pattern over the last 5 s of the phase (the detector's last word)
            tail = [e["pattern"] for t, e in history[g.pid] if t >= end_usec - 5500000]
            got = max(set(tail), key=tail.count)
            det = first_detect.get(g.pid)
            lat = (det - g.start_usec) / 1e6 if det else None
            results.append({"name": name, "pid": g.pid, "pattern_true": want_pattern,
                            "pattern": got, "leak": leak, "detected": det is not None,
                            "latency_sec": lat, "rate_true": g.true_rate,
                            "rate": last["rate_bytes_per_sec"],
                            "confidence": last["leak_confidence"]})
            print("%-13s pattern %-12s (want %-12s) rate %9d (true %9d) conf %.2f detected %s "
                  "latency %s" % (name, got, want_pattern, last["rate_bytes_per_sec"],
                                  g.true_rate, last["leak_confidence"], det is not None,
                                  "%.1f s" % lat if lat is not None else "-"))
            if got != want_pattern:
                failures.append("%s classified %s, want %s" % (name, got, want_pattern))
        lin = results[0]
        stable = results[4]
        if not (0.95 * MIB <= lin["rate"] <= 1.05 * MIB):
            failures.append("linear rate %d not within 5%% of %d" % (lin["rate"], MIB))
        if lin["latency_sec"] is None or lin["latency_sec"] >= 10:
            failures.append("linear detection latency %s, want < 10 s" % lin["latency_sec"])
        if stable["detected"] or any(e["kind"] == "growth-detected" and e["pid"] == stable["pid"]
                                     for e in events):
            failures.append("the stable process was flagged")

        # the cgroup: seconds_to_limit against (limit - usage) / true rate,
        # once its growth has run 25 s (its series is sampled each tick)
        cg_checked = [(t, c) for t, c in cg_samples if t >= cgg.start_usec + 25000000 and
                      c["seconds_to_limit"] is not None]
        cg_err = None
        if not cg_checked:
            failures.append("cgroup %s: no seconds_to_limit: %s" % (cg_rel, cg_samples[-1:]))
        else:
            t, c = cg_checked[-1]
            truth = (c["limit_bytes"] - c["usage_bytes"]) / cgg.true_rate
            cg_err = (c["seconds_to_limit"] - truth) / truth
            print("cgroup %s: usage %d limit %d rate %d pattern %s seconds_to_limit %.1f "
                  "(truth %.1f, %+.1f%%)" % (cg_rel, c["usage_bytes"], c["limit_bytes"],
                                            c["rate_bytes_per_sec"], c["pattern"],
                                            c["seconds_to_limit"], truth, 100 * cg_err))
            if abs(cg_err) > 0.10:
                failures.append("cgroup seconds_to_limit %.1f vs truth %.1f" %
                                (c["seconds_to_limit"], truth))

        summary = {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(t_begin)),
            "kernel": os.uname().release,
            "duration_sec": round(time.time() - t_begin, 1),
            "scenarios": results,
            "cgroup": {"path": cg_rel, "limit_bytes": CG_LIMIT,
                       "rate_true": cgg.true_rate,
                       "seconds_to_limit_rel_err": cg_err},
            "processes_monitored": d.status()["processes_tracked"],
            "daemon_cpu_pct": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 2),
            "daemon_rss_max_bytes": rss_max,
            "growth_events": [e for e in events if e["kind"].startswith("growth")],
        }
        out = os.environ.get("MEMCTL_GROWTH_REPORT_DIR") or tempfile.mkdtemp(prefix="growth-report-")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "growth-live.json"), "w") as f:
            json.dump(summary, f, indent=1)
        r = subprocess.run([sys.executable, REPORT, os.path.join(out, "growth-live.json"),
                            os.path.join(out, "growth-live.md")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(out, "growth-live.md")) as f:
            md = f.read()
        print("report: %s\n%s" % (os.path.join(out, "growth-live.md"), md))
        for needle in ("Kernel", os.uname().release, "Leaks detected", "False positives",
                       "Detection latency", "Daemon CPU", "Daemon RSS", "linear"):
            self.assertIn(needle, md)
        self.assertEqual(failures, [])


if __name__ == "__main__":
    main()
