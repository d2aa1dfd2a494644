#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_profile.py: `memctl profile` against the real memctld: two
real processes for 3 s at 20 Hz (60 +- 2 samples each, 50 ms apart, fault totals
equal to /proc/PID/stat's), a process that exits ends its stream cleanly, a second
client maps the same ring, Ctrl-C unregisters, and nobody cannot profile root."""
import json
import os
import signal
import subprocess
import time
import unittest

from harness import MEMCTL, DaemonTestCase, main, wait_until

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# minor faults at a steady pace: 8 MiB touched, dropped, touched again
FAULTER = """
import mmap, sys, time
m = mmap.mmap(-1, 8 << 20)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    for i in range(0, 8 << 20, 4096):
        m[i] = 1
    m.madvise(mmap.MADV_DONTNEED)
    time.sleep(0.005)
"""


def stat_faults(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[7]), int(fields[9])  # minflt (10), majflt (12)


def lines_of(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


class ProfileTest(DaemonTestCase):

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    def faulter(self, seconds, prefix=()):
        return self.spawn(list(prefix) + ["python3", "-c", FAULTER, str(seconds)])

    def profile(self, *args, user=()):
        return self.spawn(list(user) + [MEMCTL, "--socket-dir", self.d.socket_dir, "profile"] +
                          list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def profile_id(self, p):
        """The id memctl profile prints on stderr first."""
        line = p.stderr.readline()
        self.assertIn("memctl: profile ", line)
        return int(line.split()[2].rstrip(":"))

    def test_two_processes_three_seconds(self):
        d = self.start()
        a, b = self.faulter(30), self.faulter(30)
        time.sleep(0.3)  # both past their start-up
        p = self.profile(str(a.pid), str(b.pid), "--duration", "3", "--json")
        # a stops faulting before the end (SIGSTOP): its last total must equal
        # /proc's exactly; b runs on, so /proc is ahead by what it did since
        time.sleep(2.4)
        a.send_signal(signal.SIGSTOP)
        out, err = p.communicate(timeout=15)
        t_read = time.time()
        b_minflt = stat_faults(b.pid)[0]
        a_minflt, a_majflt = stat_faults(a.pid)
        self.assertEqual(p.returncode, 0, err)
        lines = lines_of(out)
        end = lines[-1]
        self.assertEqual(end["event"], "end", end)
        self.assertEqual(end["reason"], "duration", end)
        self.assertEqual(end["lost"], 0, end)
        samples = lines[:-1]
        by = {a.pid: [], b.pid: []}
        for s in samples:
            by[s["pid"]].append(s)
        for pid, ss in by.items():
            self.assertLessEqual(abs(len(ss) - 60), 2, "%d: %d samples" % (pid, len(ss)))
            # stamped with real time, 50 ms apart: no drift over the 3 s
            gaps = sorted(y["time"] - x["time"] for x, y in zip(ss, ss[1:]))
            self.assertLess(abs(gaps[len(gaps) // 2] - 0.05), 0.005, gaps)
            self.assertLess(abs((ss[-1]["time"] - ss[0]["time"]) - 2.95), 0.1)
            # deltas add up to the totals
            first_total = ss[0]["minor_total"] - ss[0]["minor_faults"]
            self.assertEqual(sum(s["minor_faults"] for s in ss), ss[-1]["minor_total"] - first_total)
            self.assertGreater(sum(s["minor_faults"] for s in ss), 1000, pid)  # it faulted
            self.assertTrue(all(0 <= s["util"] <= 2.0 for s in ss))
            self.assertGreater(max(s["util"] for s in ss), 0.0)
            self.assertGreater(ss[-1]["rss_bytes"], 0)
        self.assertEqual(by[a.pid][-1]["minor_total"], a_minflt)
        self.assertEqual(by[a.pid][-1]["major_total"], a_majflt)
        self.assertEqual(by[a.pid][-1]["minor_faults"], 0)  # stopped for the last 0.6 s
        # b: /proc's figure is within what b does in the time since its last sample
        last = by[b.pid][-1]
        rate = max(s["minor_faults"] / (s["interval_nsec"] / 1e9) for s in by[b.pid])
        ahead = b_minflt - last["minor_total"]
        self.assertGreaterEqual(ahead, 0)
        self.assertLessEqual(ahead, rate * (t_read - last["time"] + 0.05), (ahead, rate))
        a.send_signal(signal.SIGCONT)
        # both registrations are gone
        kinds = [e["kind"] for e in d.ctl_json("events")]
        self.assertEqual(kinds.count("profile-started"), 1)
        self.assertEqual(kinds.count("profile-ended"), 1)

    def test_exit_ends_the_stream(self):
        self.start()
        f = self.faulter(1.2)
        p = self.profile(str(f.pid), "--json")
        out, err = p.communicate(timeout=15)
        self.assertEqual(p.returncode, 0, err)
        lines = lines_of(out)
        self.assertEqual(lines[-1]["reason"], "exited", lines[-1])
        samples = lines[:-1]
        self.assertGreaterEqual(len(samples), 15)
        self.assertLessEqual(len(samples), 30)
        self.assertTrue(samples[-1]["last"], samples[-1])  # the zombie's final figures
        self.assertFalse(any(s["last"] for s in samples[:-1]))
        self.assertIn("exited", err)

    def test_second_client_and_ctrl_c(self):
        d = self.start()
        f = self.faulter(30)
        owner = self.profile(str(f.pid), "--hz", "50", "--json")
        pid = self.profile_id(owner)
        second = self.profile("--attach", str(pid), "--json")
        self.assertEqual(self.profile_id(second), pid)
        time.sleep(1.0)
        owner.send_signal(signal.SIGINT)  # Ctrl-C: unregister, drain, exit 0
        out1, err1 = owner.communicate(timeout=10)
        out2, err2 = second.communicate(timeout=10)
        self.assertEqual(owner.returncode, 0, err1)
        self.assertEqual(second.returncode, 0, err2)
        l1, l2 = lines_of(out1), lines_of(out2)
        self.assertEqual(l1[-1]["reason"], "stopped")
        self.assertEqual(l2[-1]["reason"], "stopped")  # the same ring ended for both
        s1 = [(s["time_nsec"], s["minor_total"]) for s in l1[:-1]]
        s2 = [(s["time_nsec"], s["minor_total"]) for s in l2[:-1]]
        self.assertGreater(len(s1), 30)
        # one buffer: the second client read the very samples the first did
        self.assertEqual(s2, s1[len(s1) - len(s2):])
        self.assertGreaterEqual(len(s2), len(s1) - 5)
        # unregistered: nothing left to attach to, and the daemon says why it ended
        r = d.ctl("profile", "--attach", str(pid), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no such profile", r.stderr)
        ended = [e for e in d.ctl_json("events") if e["kind"] == "profile-ended"]
        self.assertEqual(len(ended), 1)
        self.assertIn("stopped", ended[0]["text"])

    def test_client_killed_unregisters(self):
        d = self.start()
        s = self.spawn(["sleep", "30"])
        p = self.profile(str(s.pid))
        pid = self.profile_id(p)
        p.kill()  # no chance to say STOP: the daemon follows the client's pidfd
        p.wait()
        gone = wait_until(lambda: d.ctl("profile", "--attach", str(pid), check=False)
                          .returncode != 0, 5)
        self.assertTrue(gone)
        ended = wait_until(lambda: [e for e in d.ctl_json("events")
                                    if e["kind"] == "profile-ended"], 5)
        self.assertIn("client exited", ended[0]["text"])

    def test_metrics_series_while_profiled(self):
        d = self.start()
        f = self.faulter(30)
        p = self.profile(str(f.pid), "--json")
        pid = self.profile_id(p)
        key = 'memctl_profiled_minor_faults_total{pid="%d",profile="%d"} ' % (f.pid, pid)

        def series():
            text = d.ctl("metrics").stdout
            return next((int(float(l.split()[-1])) for l in text.splitlines()
                         if l.startswith(key)), None), text
        v = wait_until(lambda: series()[0], 5, 0.2)
        self.assertIsNotNone(v, series()[1][-2000:])
        self.assertGreater(v, 0)
        self.assertLessEqual(v, stat_faults(f.pid)[0])  # a sample's total, not ahead of /proc
        text = series()[1]
        self.assertIn("\nmemctl_profiles_running 1\n", text)
        self.assertIn('memctl_profiled_cpu_utilization_ratio{pid="%d",profile="%d"} ' %
                      (f.pid, pid), text)
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=10)
        # unregistered: its series go with it (the rendering is redone each tick)
        gone = wait_until(lambda: key not in series()[1], 5, 0.2)
        self.assertTrue(gone)
        self.assertIn("\nmemctl_profiles_running 0\n", series()[1])

    def test_nobody_cannot_profile_root(self):
        d = self.start()
        os.chmod(d.dir, 0o755)  # nobody reaches the control socket
        root_sleep = self.spawn(["sleep", "30"])
        p = self.profile(str(root_sleep.pid), "--duration", "1", user=NOBODY)
        out, err = p.communicate(timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("permission denied", err)
        self.assertEqual(out, "")
        # its own process it may profile
        mine = self.spawn(NOBODY + ["sleep", "30"])
        time.sleep(0.2)  # setpriv has exec'd sleep
        p = self.profile(str(mine.pid), "--duration", "0.5", "--json", user=NOBODY)
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(lines_of(out)[-1]["samples"], 10)
        # bounded per user: 21 processes at 100 Hz are over its 2,000 samples/s
        many = [self.spawn(NOBODY + ["sleep", "30"]) for _ in range(21)]
        time.sleep(0.3)
        p = self.profile(*[str(x.pid) for x in many], "--hz", "100", "--duration", "1",
                         user=NOBODY)
        out, err = p.communicate(timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("sample budget", err)
        # and 4 profiles at once, not 5; root is not held to that
        holders = [self.profile(str(mine.pid), user=NOBODY) for _ in range(4)]
        for h in holders:
            self.profile_id(h)
        p = self.profile(str(mine.pid), "--duration", "1", user=NOBODY)
        out, err = p.communicate(timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("too many profiles for this user", err)
        self.assertEqual(d.ctl("profile", str(mine.pid), "--duration", "0.3").returncode, 0)
        for h in holders:
            h.send_signal(signal.SIGINT)
            self.assertEqual(h.wait(10), 0)
        # and hostile requests leave the daemon answering
        for args in (["0"], ["--hz", "101", "1"], ["--hz", "0", "1"], ["--attach", "999"],
                     ["--duration", "-1", "1"]):
            r = d.ctl("profile", *args, check=False)
            self.assertNotEqual(r.returncode, 0, args)
        self.assertEqual(d.status()["pid"], d.proc.pid)


if __name__ == "__main__":
    main()
