#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_grower.py: the growth workloads (memory_grower with
every pattern, malloc_once, bytearray.py) do what their JSON lines say: the
resident memory they report is the memory the kernel counts."""
import json
import os
import subprocess
import sys
import time
import unittest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, os.environ.get("BUILD", "build"))
GROWER = os.path.join(BUILD, "workloads", "memory_grower")
MIB = 1 << 20


def vmrss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def lines(out):
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


class GrowerTest(unittest.TestCase):

    def run_grower(self, *args):
        r = subprocess.run([GROWER] + list(args), capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return lines(r.stdout)

    def test_every_pattern_reports_its_phases(self):
        # base 16 MiB, 32 MiB/s for 1.5 s (period 0.5 s where there is one)
        want_end = {"linear": 16 + 48, "accelerating": 16 + 48, "burst": 16 + 48,
                    "stable": 16, "plateau": 16 + 16, "shrinking": 52 - 48}
        for pat in ("linear", "accelerating", "oscillating", "burst", "stable", "sawtooth",
                    "plateau", "shrinking"):
            ph = self.run_grower("--pattern", pat, "--rate-mb", "32", "--duration-sec", "1.5",
                                 "--period-sec", "0.5", "--seed", "7")
            self.assertEqual([(p["event"], p["phase"]) for p in ph],
                             [("phase_start", "hold"), ("phase_end", "hold"),
                              ("phase_start", "pattern"), ("phase_end", "pattern"),
                              ("phase_start", "after"), ("phase_end", "after")], pat)
            start, end = ph[2], ph[3]
            self.assertEqual(start["pattern"], pat)
            self.assertLess(start["t_usec"], end["t_usec"])
            # the pattern phase lasted what was asked (within 0.3 s)
            self.assertAlmostEqual((end["t_usec"] - start["t_usec"]) / 1e6, 1.5, delta=0.3)
            if pat in want_end:
                self.assertAlmostEqual(end["bytes"] / MIB, want_end[pat], delta=0.1 * want_end[pat] + 2,
                                       msg="%s: %s" % (pat, end))
        lin = self.run_grower("--pattern", "linear", "--rate-mb", "32", "--duration-sec", "1")
        self.assertEqual(lin[2]["rate_bytes_per_sec"], 32 * MIB)
        self.assertEqual(self.run_grower("--pattern", "shrinking", "--rate-mb", "8",
                                         "--duration-sec", "0.5")[2]["rate_bytes_per_sec"], -8 * MIB)

    def test_resident_memory_is_real(self):
        p = subprocess.Popen([GROWER, "--pattern", "linear", "--rate-mb", "64", "--duration-sec",
                              "1", "--after-sec", "-1"], stdout=subprocess.PIPE, text=True)
        try:
            got = []
            while len(got) < 5:
                got.append(json.loads(p.stdout.readline()))
            self.assertEqual(got[4]["phase"], "after")
            rss = vmrss(p.pid)
            # 16 + 64 MiB touched; the binary and libc add a little
            self.assertGreater(rss, got[3]["bytes"])
            self.assertLess(rss, got[3]["bytes"] + 16 * MIB)
        finally:
            p.terminate()
            p.wait(5)
        self.assertEqual(p.returncode, 0)

    def test_bad_arguments(self):
        for args in ([], ["--pattern", "leaky"], ["--pattern", "linear", "--rate-mb", "-1"],
                     ["--pattern", "linear", "--duration-sec", "0"]):
            r = subprocess.run([GROWER] + args, capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("--pattern", r.stderr)

    def test_malloc_once_and_bytearray_hold_what_they_say(self):
        for cmd in ([os.path.join(BUILD, "workloads", "malloc_once"), "48"],
                    [sys.executable, os.path.join(TOP, "tests", "workloads", "bytearray.py"), "48"]):
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            try:
                a = json.loads(p.stdout.readline())
                self.assertEqual(a["event"], "allocated")
                self.assertEqual(a["bytes"], 48 * MIB)
                self.assertEqual(a["pid"], p.pid)
                r1 = vmrss(p.pid)
                time.sleep(0.3)
                self.assertGreater(r1, 48 * MIB)
                self.assertLess(abs(vmrss(p.pid) - r1), MIB)  # holds still
            finally:
                p.terminate()
                p.wait(5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
