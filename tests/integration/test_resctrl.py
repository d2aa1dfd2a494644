#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_resctrl.py: memctld's resctrl monitoring, the real daemon with
real processes and real cgroups on the resctrl emulator (resctrl_emu.py, a FUSE
filesystem: this machine has no RDT): bandwidth figures, the RMID pool to exhaustion,
stale groups of a crashed daemon, Unavailable reads, a group removed under it."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import DaemonTestCase, Daemon, main, wait_until

EMU = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resctrl_emu.py")
# Debian's interpreter: python3-fusepy is installed for it (scripts/deps.sh)
EMU_PYTHON = "/usr/bin/python3"
V1_ROOT = "/sys/fs/cgroup/memory"
MB = 1000 * 1000


def have_fuse():
    if not os.path.exists("/dev/fuse") or not shutil.which("fusermount"):
        return False
    return subprocess.run([EMU_PYTHON, "-c", "import fusepy"], capture_output=True).returncode == 0


class Emulator:
    def __init__(self, num_rmids=8, domains=1, limbo_ms=1000, extra=()):
        self.dir = tempfile.mkdtemp(prefix="resctrl-emu-%d-" % os.getpid())
        self.mnt = os.path.join(self.dir, "resctrl")
        os.mkdir(self.mnt)
        self.schedule_path = os.path.join(self.dir, "schedule.json")
        self.sched = {"tasks": {}}
        self.write()
        self.log = open(os.path.join(self.dir, "emu.log"), "w")
        self.proc = subprocess.Popen(
            [EMU_PYTHON, EMU, self.mnt, "--num-rmids", str(num_rmids), "--domains",
             str(domains), "--limbo-ms", str(limbo_ms), "--schedule", self.schedule_path]
            + list(extra), stdout=self.log, stderr=self.log)
        if not wait_until(lambda: os.path.exists(os.path.join(self.mnt, "info")), 10):
            self.close()
            raise AssertionError("the resctrl emulator did not mount")

    def write(self):
        tmp = self.schedule_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.sched, f)
        os.rename(tmp, self.schedule_path)
        # the emulator re-reads on a changed mtime: make sure it changes
        st = os.stat(self.schedule_path)
        os.utime(self.schedule_path, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))

    def rate(self, tid, total, local=0, occupancy=0, domain=0):
        self.sched["tasks"][str(tid)] = dict(total=total, local=local, occupancy=occupancy,
                                             domain=domain)
        self.write()

    def groups(self):
        return sorted(os.listdir(os.path.join(self.mnt, "mon_groups")))

    def close(self):
        self.log.flush()
        with open(self.log.name) as f:
            tail = f.read()[-2000:]
        if tail:
            # shown by tests/run.sh only when the suite fails
            print("--- resctrl emulator log ---\n" + tail)
        subprocess.run(["fusermount", "-u", self.mnt], capture_output=True)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def drain_notify(d):
    """Read the daemon's sd_notify datagrams for as long as it runs: it sends STATUS=
    every tick, and with net.unix.max_dgram_qlen (10 here) unread ones block it in
    sendmsg, as they would under a service manager that stopped reading."""
    def run():
        d.notify.settimeout(0.2)
        while d.proc.poll() is None:
            try:
                d.notify_msgs.append(d.notify.recv(4096).decode())
            except (socket.timeout, OSError):
                continue
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


class ResctrlTest(DaemonTestCase):

    def setUp(self):
        super().setUp()
        if not have_fuse():
            raise unittest.SkipTest("skip: no /dev/fuse, fusermount or python3-fusepy")

    def start(self, **kw):
        d = super().start(**kw)
        drain_notify(d)
        return d

    def emu(self, **kw):
        e = Emulator(**kw)
        self.addCleanup(e.close)
        return e

    def config(self, e, extra=""):
        return ("[Resctrl]\nResctrl=yes\nResctrlRoot=%s\nMinFreeSec=2s\n%s" % (e.mnt, extra))

    def sleeper(self):
        p = subprocess.Popen(["sleep", "300"])
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
        return p

    def enroll(self, p):
        wait_until(lambda: self.d.try_json("show", str(p.pid)), 5)
        self.d.ctl("enroll", str(p.pid))

    def units(self):
        return {u["pid"] if u["kind"] == "process" else u["name"]: u
                for u in self.d.ctl_json("bandwidth")["units"]}

    def test_resctrl_bandwidth_of_three_workloads_within_2pct(self):
        e = self.emu(num_rmids=8, domains=2)
        self.start(config_text=self.config(e, "Monitor=enrolled\n"))
        procs = [self.sleeper() for _ in range(3)]
        want = {}
        for i, (p, total) in enumerate(zip(procs, (100 * MB, 250 * MB, 600 * MB))):
            # the third workload's traffic is split between the two domains
            e.rate(p.pid, total, local=total // 2, occupancy=(i + 1) << 20, domain=i % 2)
            want[p.pid] = total
            self.enroll(p)

        def measured():
            u = self.units()
            if not all(pid in u and u[pid]["mbm_total_bytes_per_sec"] for pid in want):
                return None
            return u
        self.assertTrue(wait_until(measured, 10), self.d.ctl("bandwidth").stdout)
        # a few ticks, every one within 2% of the schedule
        for _ in range(3):
            time.sleep(1.1)
            u = self.units()
            for pid, total in want.items():
                got = u[pid]
                self.assertEqual(got["state"], "monitored")
                self.assertAlmostEqual(got["mbm_total_bytes_per_sec"] / total, 1.0, delta=0.02,
                                       msg="pid %d: %s" % (pid, got))
                self.assertAlmostEqual(got["mbm_local_bytes_per_sec"] / (total // 2), 1.0,
                                       delta=0.02)
                self.assertGreater(got["rmid"], 0)
                self.assertTrue(got["group"].startswith("memctl-p%d-" % pid))
        occ = {pid: u[pid]["llc_occupancy_bytes"] for pid in want}
        self.assertEqual(sorted(occ.values()), [1 << 20, 2 << 20, 3 << 20])
        # show carries the process's figures; status says resctrl is on
        s = self.d.ctl_json("show", str(procs[2].pid))
        self.assertAlmostEqual(s["bandwidth"]["mbm_total_bytes_per_sec"] / (600 * MB), 1.0,
                               delta=0.02)
        st = self.d.status()["resctrl"]
        self.assertTrue(st["on"])
        self.assertEqual(st["units_monitored"], 3)
        human = self.d.ctl("bandwidth").stdout
        self.assertIn("mon_L3_00", human)
        self.assertIn("mon_L3_01", human)
        # domains: the default group sums every task of both domains
        b = self.d.ctl_json("bandwidth")
        dom = {d["id"]: d for d in b["domains"]}
        self.assertAlmostEqual(dom[0]["mbm_total_bytes_per_sec"] / (700 * MB), 1.0, delta=0.02)
        self.assertAlmostEqual(dom[1]["mbm_total_bytes_per_sec"] / (250 * MB), 1.0, delta=0.02)
        # unenroll: its group goes; at shutdown all of them go
        self.d.ctl("unenroll", str(procs[0].pid))
        self.assertTrue(wait_until(lambda: len(e.groups()) == 2, 5), e.groups())
        self.assertEqual(self.d.stop(), 0)
        self.assertEqual(e.groups(), [])

    def test_resctrl_pool_exhaustion_and_quarantine(self):
        # 4 RMIDs: the default group's and 3 for memctld
        e = self.emu(num_rmids=4)
        self.start(config_text=self.config(e, "Monitor=enrolled\n"))
        procs = [self.sleeper() for _ in range(5)]
        for p in procs:
            e.rate(p.pid, 10 * MB)
            self.enroll(p)

        def states():
            return sorted(x["state"] for x in self.units().values())
        self.assertTrue(wait_until(lambda: states() == ["monitored"] * 3 + ["unmonitored"] * 2,
                                   10), self.d.ctl("bandwidth").stdout)
        b = self.d.ctl_json("bandwidth")
        self.assertEqual((b["pool"]["capacity"], b["pool"]["in_use"]), (3, 3))
        self.assertEqual(b["pool"]["unmonitored"], 2)
        for u in b["units"]:
            if u["state"] == "unmonitored":
                self.assertEqual(u["reason"], "RMIDs exhausted")
                self.assertIsNone(u["mbm_total_bytes_per_sec"])
        self.assertEqual(len(e.groups()), 3)
        ev = [x["kind"] for x in self.d.ctl_json("events")]
        self.assertIn("rmids-exhausted", ev)
        self.assertIn("RMIDs exhausted", self.d.log())
        # one monitored workload exits: its RMID is in quarantine for MinFreeSec=
        gone = next(p for p in procs if self.units()[p.pid]["state"] == "monitored")
        gone.kill()
        gone.wait()
        t0 = time.monotonic()
        self.assertTrue(wait_until(lambda: self.d.ctl_json("bandwidth")["pool"]["quarantined"] == 1, 5))
        q = self.d.ctl_json("bandwidth")["pool"]["quarantine_left_usec"]
        self.assertEqual(len(q), 1)
        self.assertTrue(0 < q[0] <= 2000000, q)
        # the 2 units wait for it, pending: nothing is handed out in the meantime
        self.assertEqual(states(), ["monitored"] * 2 + ["pending"] * 2)
        self.assertIn("quarantine", [u for u in self.units().values()
                                     if u["state"] == "pending"][0]["reason"])
        # after the minimum free time one of the waiting units gets it
        self.assertTrue(wait_until(lambda: states() == ["monitored"] * 3 + ["unmonitored"], 8),
                        self.d.ctl("bandwidth").stdout)
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)

    def test_resctrl_crashed_daemon_stale_groups_cleaned(self):
        e = self.emu(num_rmids=8)
        # someone else's group, and leftovers of an earlier crash
        os.mkdir(os.path.join(e.mnt, "mon_groups", "other"))
        os.mkdir(os.path.join(e.mnt, "mon_groups", "memctl-c99"))
        self.start(config_text=self.config(e, "Monitor=enrolled\n"))
        self.assertEqual(e.groups(), ["other"])
        self.assertIn("removed 1 stale monitoring group", self.d.log())
        b = self.d.ctl_json("bandwidth")
        self.assertEqual(b["pool"]["num_rmids"], 8)
        self.assertEqual(b["pool"]["capacity"], 6)  # less the default group and "other"
        p = self.sleeper()
        self.enroll(p)
        self.assertTrue(wait_until(lambda: len(e.groups()) == 2, 5))
        # crash: SIGKILL leaves the group behind
        self.d.stop(signal.SIGKILL)
        self.assertEqual(len(e.groups()), 2)
        log1 = self.d.log()
        self.d.close()
        self.d = None
        self.start(config_text=self.config(e, "Monitor=enrolled\n"))
        self.assertEqual(e.groups(), ["other"])
        self.assertIn("removed 1 stale monitoring group", self.d.log(), log1)

    def test_resctrl_unavailable_and_vanished_group_handled(self):
        e = self.emu(num_rmids=8)
        self.start(config_text=self.config(e, "Monitor=enrolled\n"))
        p = self.sleeper()
        e.rate(p.pid, 200 * MB)
        self.enroll(p)
        self.assertTrue(wait_until(lambda: (self.units().get(p.pid) or {}).get(
            "mbm_total_bytes_per_sec"), 10))
        group = self.units()[p.pid]["group"]
        # the kernel answers "Unavailable": the figure goes away, the daemon carries on
        e.sched["unavailable"] = [group]
        e.write()
        self.assertTrue(wait_until(lambda: self.units()[p.pid]["mbm_total_bytes_per_sec"] is None,
                                   8), self.units())
        self.assertGreater(self.units()[p.pid]["unavailable_reads"], 0)
        self.assertEqual(self.units()[p.pid]["state"], "monitored")
        # ... and "Error"
        e.sched["unavailable"] = []
        e.sched["error"] = [group]
        e.write()
        time.sleep(1.5)
        n = self.units()[p.pid]["unavailable_reads"]
        time.sleep(1.2)
        self.assertGreater(self.units()[p.pid]["unavailable_reads"], n)
        # values again, and right: a counter restarting from 0 is a new baseline
        e.sched["error"] = []
        e.sched["reset"] = [group]
        e.write()
        self.assertTrue(wait_until(lambda: abs((self.units()[p.pid]["mbm_total_bytes_per_sec"]
                                                or 0) / (200 * MB) - 1) < 0.02, 8), self.units())
        # an administrator removes the group under it: made again, reported
        os.rmdir(os.path.join(e.mnt, "mon_groups", group))
        self.assertTrue(wait_until(lambda: "resctrl-group-lost" in
                                   [x["kind"] for x in self.d.ctl_json("events")], 5))
        self.assertTrue(wait_until(lambda: group in e.groups(), 8), e.groups())
        with open(os.path.join(e.mnt, "mon_groups", group, "tasks")) as f:
            self.assertIn(str(p.pid), f.read().split())
        self.assertTrue(wait_until(lambda: abs((self.units()[p.pid]["mbm_total_bytes_per_sec"]
                                                or 0) / (200 * MB) - 1) < 0.02, 8), self.units())
        self.assertIsNone(self.d.proc.poll())

    @unittest.skipUnless(os.path.isdir(V1_ROOT), "skip: no v1 memory cgroup hierarchy")
    def test_resctrl_cgroup_unit(self):
        e = self.emu(num_rmids=16)
        cg = os.path.join(V1_ROOT, "memctl-resctrl-%d" % os.getpid())
        os.mkdir(cg)
        self.addCleanup(lambda: os.path.isdir(cg) and os.rmdir(cg))
        self.start(config_text=self.config(e, "Monitor=cgroups\n"))
        p = self.sleeper()
        child = self.sleeper()
        for x in (p, child):
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(x.pid))
        self.addCleanup(lambda: [self.move_out(x.pid) for x in (p, child)])
        e.rate(p.pid, 300 * MB, occupancy=4 << 20)
        e.rate(child.pid, 100 * MB)
        path = "/" + os.path.basename(cg)

        def unit():
            return next((u for u in self.d.ctl_json("bandwidth")["units"]
                         if u["kind"] == "cgroup" and u["name"] == path), None)
        self.assertTrue(wait_until(lambda: (unit() or {}).get("mbm_total_bytes_per_sec"), 15),
                        self.d.ctl("bandwidth").stdout)
        time.sleep(1.1)
        self.assertAlmostEqual(unit()["mbm_total_bytes_per_sec"] / (400 * MB), 1.0, delta=0.02)
        cgs = {c["path"]: c for c in self.d.ctl_json("cgroups")}
        self.assertAlmostEqual(cgs[path]["bandwidth"]["mbm_total_bytes_per_sec"] / (400 * MB),
                               1.0, delta=0.02)
        self.assertIn(path, self.d.ctl("cgroups").stdout)
        s = self.d.ctl_json("show", str(p.pid))
        self.assertEqual(s["cgroup_bandwidth"]["state"], "monitored")
        # a process moved out leaves the group (back to the default group)
        self.move_out(child.pid)
        group = unit()["group"]
        def in_group():
            with open(os.path.join(e.mnt, "mon_groups", group, "tasks")) as f:
                return f.read().split()
        self.assertTrue(wait_until(lambda: str(child.pid) not in in_group(), 5), in_group())
        self.assertIn(str(p.pid), in_group())
        self.assertTrue(wait_until(lambda: abs(unit()["mbm_total_bytes_per_sec"] / (300 * MB) - 1)
                                   < 0.02, 8), unit())

    def move_out(self, pid):
        try:
            with open(os.path.join(V1_ROOT, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        except OSError:
            pass


class ResctrlOffTest(DaemonTestCase):

    def test_resctrl_off_says_why_once(self):
        missing = tempfile.mkdtemp(prefix="no-resctrl-")
        os.rmdir(missing)
        d = self.start(config_text="[Resctrl]\nResctrlRoot=%s\n" % missing)
        st = d.status()["resctrl"]
        self.assertFalse(st["on"])
        self.assertIn("off (no %s" % missing, st["status"])
        self.assertIn("resctrl:  off (", d.ctl("status").stdout)
        b = d.ctl_json("bandwidth")
        self.assertFalse(b["on"])
        self.assertEqual(b["units"], [])
        self.assertEqual(d.log().count("resctrl: off"), 1)

    def test_resctrl_yes_without_resctrl_refuses_to_start(self):
        d = Daemon(config_text="[Resctrl]\nResctrl=yes\nResctrlRoot=/nonexistent-resctrl\n")
        try:
            self.assertNotEqual(d.proc.wait(timeout=20), 0)
            self.assertIn("Resctrl=yes, but no /nonexistent-resctrl", d.log())
        finally:
            d.close()


if __name__ == "__main__":
    main()
