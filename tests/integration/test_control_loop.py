#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_control_loop.py: enrollment and the control loop with the
real daemon and real libarena workloads (issue 11): self-enrollment, HELLO then
`memctl enroll`, monitor-only processes, refusals, a daemon killed and restarted."""
import os
import re
import signal
import socket
import struct
import subprocess
import time

from harness import (BUILD, DaemonTestCase, ENROLL, IPC_COMPRESS, MEMCTL, cgroup_file,
                     encode, in_cgroup, main, v1_cgroup, wait_until)

IPC_HELLO = 9

WORKLOADS = os.path.join(BUILD, "workloads")


def summary(text):
    """The workload's summary line as a dict of key=value."""
    for line in text.splitlines():
        if " mode=" in line:
            return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    return {}


class ControlLoopBase(DaemonTestCase):

    def workload(self, name, *args, env=None, **kw):
        e = dict(os.environ, MEMCTLD_SOCKET=self.d.path("memctld.sock"))
        e.pop("ARENA_NO_HELLO", None)
        if env:
            e.update(env)
        p = subprocess.Popen([os.path.join(WORKLOADS, name)] + list(args), env=e,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    def listed(self, pid):
        for e in self.d.try_json("list") or []:
            if e["pid"] == pid:
                return e
        return None


class ControlLoopTest(ControlLoopBase):

    def test_self_enrollment_reports_stats(self):
        self.start()
        p = self.workload("interactive_burst", "--use-mem-arena", "--controller-enroll",
                          "--region-mb", "32", "--duration-sec", "4", "--data", "text")
        e = wait_until(lambda: (lambda x: x if x and x["logical_bytes"] > 0 else None)(
            self.listed(p.pid)), timeout=5)
        self.assertIsNotNone(e, "not listed with stats: %s" % self.d.log())
        self.assertEqual(e["mode"], "arena")
        self.assertEqual(e["name"], "interactive_burst")
        self.assertEqual(e["logical_bytes"], 32 << 20)
        self.assertEqual(e["uid"], 0)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        s = summary(out)
        self.assertEqual(s["mismatches"], "0")
        self.assertEqual(s["controller"], "enrolled")
        self.assertEqual(s["enrollments"], "1")
        # BYE at exit: gone from the list at once
        self.assertTrue(wait_until(lambda: self.listed(p.pid) is None, timeout=2))
        kinds = [x["kind"] for x in self.d.ctl_json("events")]
        self.assertIn("enrolled", kinds)
        self.assertIn("unenrolled", kinds)

    def test_hello_then_memctl_enroll_is_arena_mode(self):
        self.start()
        p = self.workload("random_touch_heap", "--use-mem-arena", "--region-mb", "16",
                          "--duration-sec", "20")
        # it said HELLO, but nobody enrolled it
        self.assertTrue(wait_until(lambda: self.d.status().get("hellos", 0) >= 1, timeout=5),
                        self.d.status())
        self.assertIsNone(self.listed(p.pid))
        r = self.d.ctl("enroll", str(p.pid), "--name", "heap", "--readback-factor", "2")
        self.assertIn("enrolled %d" % p.pid, r.stdout)
        e = wait_until(lambda: (lambda x: x if x and x["logical_bytes"] else None)(
            self.listed(p.pid)), timeout=5)
        self.assertIsNotNone(e)
        self.assertEqual(e["mode"], "arena")
        self.assertEqual(e["name"], "heap")
        self.assertEqual(e["readback_factor_permille"], 2000)
        # unenrolled: it goes back to waiting, and can be taken up again
        self.d.ctl("unenroll", str(p.pid))
        self.assertTrue(wait_until(lambda: self.d.status().get("hellos", 0) >= 1, timeout=15))
        self.d.ctl("enroll", str(p.pid))
        self.assertEqual(wait_until(lambda: (self.listed(p.pid) or {}).get("mode"), timeout=5),
                         "arena")

    def test_hello_refusals(self):
        """The new messages keep the old rules: the pid in the body must be the
        sender's, only root or the owner may enroll, HELLOs are capped per user."""
        d = self.start(config_text="[Enroll]\nMaxPerUser=2\n")
        os.chmod(d.dir, 0o755)
        sock = d.path("memctld.sock")

        def hello(pid, name=b"hello"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind("")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            s.connect(sock)
            s.send(encode(IPC_HELLO, ENROLL.pack(pid, 0, 1 << 20, 4096, 1, name)))
            return s
        # a HELLO claiming another pid: counted, not held
        rejected = d.status()["datagrams_rejected"]
        s1 = hello(os.getpid() + 1)
        self.addCleanup(s1.close)
        self.assertTrue(wait_until(lambda: d.status()["datagrams_rejected"] == rejected + 1))
        self.assertEqual(d.status()["hellos"], 0)
        # a root libarena process that said HELLO: nobody may not enroll it, root may
        p = self.workload("random_touch_heap", "--use-mem-arena", "--region-mb", "8",
                          "--duration-sec", "20")
        self.assertTrue(wait_until(lambda: d.status()["hellos"] == 1, timeout=5))
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        r = subprocess.run(nobody + [MEMCTL, "--socket-dir", d.socket_dir, "enroll",
                                     str(p.pid)], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("permission denied", r.stderr)
        self.assertIsNone(self.listed(p.pid))
        # at most MaxPerUser= (2) HELLOs held per user: three more libarena processes
        for _ in range(3):
            self.workload("random_touch_heap", "--use-mem-arena", "--region-mb", "4",
                          "--duration-sec", "20")
        time.sleep(1)
        self.assertEqual(d.status()["hellos"], 2)
        d.ctl("enroll", str(p.pid))
        self.assertEqual(self.listed(p.pid)["mode"], "arena")

    def test_plain_process_and_no_hello_are_monitor_only(self):
        self.start()
        sleeper = subprocess.Popen(["sleep", "30"])
        self.addCleanup(lambda: (sleeper.kill(), sleeper.wait()))
        # Popen returns after fork, maybe before exec: enrolled then, the entry
        # keeps the name it had (python3), which the listing below is not about
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open("/proc/%d/comm" % sleeper.pid) as f:
                if f.read().strip() == "sleep":
                    break
            time.sleep(0.01)
        self.d.ctl("enroll", str(sleeper.pid))
        self.assertEqual(self.listed(sleeper.pid)["mode"], "monitor-only")
        p = self.workload("random_touch_heap", "--use-mem-arena", "--region-mb", "8",
                          "--duration-sec", "20", env={"ARENA_NO_HELLO": "1"})
        time.sleep(0.5)
        self.assertEqual(self.d.status().get("hellos"), 0)
        self.d.ctl("enroll", str(p.pid))
        self.assertEqual(self.listed(p.pid)["mode"], "monitor-only")
        out = self.d.ctl("list").stdout
        self.assertRegex(out, r"\n\s*%d\s+sleep\s+monitor" % sleeper.pid)

    def test_nobody_cannot_command_a_workload(self):
        """Only memctld's own sockets can reach a workload: its shared-socket end is
        connect()ed to the daemon, its channel is a socketpair."""
        self.start()
        p = self.workload("random_touch_heap", "--use-mem-arena", "--controller-enroll",
                          "--region-mb", "8", "--duration-sec", "20")
        self.assertTrue(wait_until(lambda: self.listed(p.pid), timeout=5))
        ss = subprocess.run(["ss", "-xpH"], capture_output=True, text=True).stdout
        addrs = set()
        for line in ss.splitlines():
            if "pid=%d," % p.pid in line:
                for f in line.split():
                    if f.startswith("@"):
                        addrs.add(f[1:])
        self.assertTrue(addrs, "the workload's autobound address not found:\n" + ss)
        body = struct.pack("=QIIIIII", 8 << 20, 2, 3, 0, 0, 0, 0)
        for a in addrs:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind("")
            try:
                s.sendto(encode(IPC_COMPRESS, body), "\0" + a)
                self.fail("a COMPRESS from a stranger was accepted by %s" % a)
            except PermissionError:
                pass
            finally:
                s.close()
        time.sleep(0.3)
        e = self.listed(p.pid)
        self.assertEqual(e["commands_sent"], 0)

    def test_daemon_killed_and_restarted_workload_reenrolls(self):
        d = self.start()
        p = self.workload("interactive_burst", "--use-mem-arena", "--controller-enroll",
                          "--compress-policy", "external", "--controller-fallback-ms", "2000", "--region-mb", "32",
                          "--duration-sec", "12")
        self.assertTrue(wait_until(lambda: self.listed(p.pid), timeout=5))
        d.restart()
        t0 = time.monotonic()
        self.assertTrue(wait_until(lambda: self.listed(p.pid), timeout=6),
                        "not enrolled again: %s" % d.log())
        self.assertLess(time.monotonic() - t0, 5.5)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        s = summary(out)
        self.assertEqual(s["mismatches"], "0")
        self.assertEqual(s["errors"], "0")
        self.assertEqual(s["enrollments"], "2")


class LimitedCgroupTest(ControlLoopBase):
    """The point of it all: a workload whose memory does not fit its cgroup completes
    because memctld tells it when and how much to compress (issue 11)."""

    REGION_MB = 512
    # 60% of the footprint: the region plus the program's own few MiB
    LIMIT = int(0.6 * ((REGION_MB + 8) << 20))
    ARGS = ["--use-mem-arena", "--region-mb", str(REGION_MB), "--data", "zero-heavy",
            "--fill-mb-per-sec", "64", "--duration-sec", "3", "--controller-enroll",
            "--compress-policy", "external"]

    def run_in(self, cg, env=None):
        e = dict(os.environ, MEMCTLD_SOCKET=(self.d.path("memctld.sock") if self.d else
                                             "/nonexistent/memctld.sock"))
        e.update(env or {})
        p = subprocess.run(in_cgroup(cg, [os.path.join(WORKLOADS, "interactive_burst")] +
                                     self.ARGS), env=e, capture_output=True, text=True,
                           timeout=180)
        oom = cgroup_file(cg, "memory.oom_control")
        kills = int(re.search(r"oom_kill (\d+)", oom).group(1))
        return p, kills

    def test_too_small_without_memctld_fits_with_it(self):
        # without memctld nobody compresses: killed at the limit (or out of memory)
        cg = v1_cgroup(self, self.LIMIT)
        p, kills = self.run_in(cg)
        self.assertNotEqual(p.returncode, 0, "it fit without memctld: %s" % p.stdout)
        self.assertTrue(kills >= 1 or "failed" in p.stderr, (kills, p.stderr))

        # with it, the same run completes, every byte verified, never OOM-killed
        csv = "/tmp/memctl-limited-%d.csv" % os.getpid()
        self.addCleanup(lambda: os.path.exists(csv) and os.unlink(csv))
        self.start(args=["--csv", csv])
        cg2 = v1_cgroup(self, self.LIMIT)
        p, kills = self.run_in(cg2)
        if p.returncode != 0:
            with open(csv) as f:
                print("--- decisions ---\n" + "".join(f.readlines()[-40:]))
        self.assertEqual(p.returncode, 0, "%s\n%s" % (p.stdout, p.stderr))
        self.assertEqual(kills, 0)
        s = summary(p.stdout)
        self.assertEqual(s["mismatches"], "0")
        self.assertEqual(s["errors"], "0")
        self.assertEqual(s["controller"], "enrolled")
        self.assertGreater(int(s["commands"]), 0)
        self.assertGreater(int(s["controller_freed_bytes"]), 64 << 20)
        peak = int(cgroup_file(cg2, "memory.max_usage_in_bytes"))
        self.assertLessEqual(peak, self.LIMIT)
        st = self.d.status()
        self.assertGreater(st["commands_sent"], 0)
        self.assertGreater(st["acks"], 0)
        kinds = [x["kind"] for x in self.d.ctl_json("events")]
        self.assertIn("compress-sent", kinds)
        self.assertIn("compress-done", kinds)
        print("peak usage %.0f MiB of %.0f MiB; %s commands, %s MiB freed" % (
            peak / 2**20, self.LIMIT / 2**20, s["commands"],
            int(s["controller_freed_bytes"]) >> 20))


class PolicyModesTest(ControlLoopBase):

    def test_post_exec_compresses_once_after_the_delay(self):
        # 2 s: the 32 MiB are written by then even on a loaded machine (the command's
        # target is what the arena holds at the time)
        self.start(config_text="[Policy]\nMode=post-exec\nPostExecDelaySec=2s\n")
        self.assertEqual(self.d.status()["policy"], "post-exec")
        p = self.workload("interactive_burst", "--use-mem-arena", "--controller-enroll",
                          "--compress-policy", "external", "--region-mb", "32",
                          "--duration-sec", "6", "--data", "zero-heavy")
        e = wait_until(lambda: (lambda x: x if x and x["acks"] >= 1 else None)(
            self.listed(p.pid)), timeout=8)
        self.assertIsNotNone(e, "no COMPRESS acked: %s" % self.d.log())
        self.assertEqual(e["last_command"], "compress")
        self.assertGreater(e["bytes_freed"], 8 << 20)
        time.sleep(1.5)
        self.assertEqual(self.listed(p.pid)["commands_sent"], 1, "post-exec asks once")
        texts = [x["text"] for x in self.d.ctl_json("events") if x["kind"] == "compress-sent"]
        self.assertTrue(any("post-exec" in t for t in texts), texts)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)

    def test_dry_run_decides_logs_and_sends_nothing(self):
        csv = "/tmp/memctl-dry-%d.csv" % os.getpid()
        self.addCleanup(lambda: os.path.exists(csv) and os.unlink(csv))
        self.start(args=["--dry-run", "--csv", csv],
                   config_text="[Policy]\nMode=post-exec\nPostExecDelaySec=500ms\n")
        p = self.workload("random_touch_heap", "--use-mem-arena", "--controller-enroll",
                          "--compress-policy", "external", "--region-mb", "16",
                          "--duration-sec", "4")
        self.assertTrue(wait_until(lambda: any(x["kind"] == "plan" for x in
                                               self.d.ctl_json("events")), timeout=6),
                        self.d.log())
        e = self.listed(p.pid)
        self.assertEqual(e["commands_sent"], 0)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(summary(out)["commands"], "0")
        with open(csv) as f:
            rows = f.read().splitlines()
        self.assertTrue(rows[0].startswith("time,pid,name,cgroup,event,trigger,"), rows[0])
        self.assertTrue(any(",\"dry-run-compress\",\"post-exec\"," in r for r in rows),
                        rows)

    def test_csv_has_a_row_per_command_and_ack(self):
        csv = "/tmp/memctl-csv-%d.csv" % os.getpid()
        self.addCleanup(lambda: os.path.exists(csv) and os.unlink(csv))
        self.start(args=["--csv", csv],
                   config_text="[Policy]\nMode=post-exec\nPostExecDelaySec=500ms\n")
        p = self.workload("interactive_burst", "--use-mem-arena", "--controller-enroll",
                          "--compress-policy", "external", "--region-mb", "16",
                          "--duration-sec", "3", "--data", "zero-heavy")
        self.assertTrue(wait_until(lambda: (self.listed(p.pid) or {}).get("acks"), timeout=6))
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        with open(csv) as f:
            rows = [r.split(",") for r in f.read().splitlines()[1:]]
        events = [r[4] for r in rows]
        self.assertIn('"compress"', events)
        self.assertIn('"compress-ack"', events)
        ack = [r for r in rows if r[4] == '"compress-ack"'][0]
        self.assertEqual(int(ack[1]), p.pid)
        self.assertGreater(int(ack[7]), 0)  # bytes in
        self.assertGreaterEqual(int(ack[12]), 0)  # latency
        self.assertEqual(ack[13], "0")


if __name__ == "__main__":
    main()
