#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_kmem.py: kernel memory in the accounts. kmem_grower holds
pipe buffers (charged to its v1 memory cgroup as kernel memory) in a limited
cgroup: `memctl cgroups` and `memctl show` report it within 2% of
memory.kmem.usage_in_bytes, it disappears when kmem_grower closes its pipes, and
the growth detector sees the cgroup grow although no process's RSS does."""
import json
import os
import signal
import subprocess
import time
import unittest

from harness import BUILD, DaemonTestCase, cgroup_file, in_cgroup, main, v1_cgroup, wait_until

KMEM_GROWER = os.path.join(BUILD, "workloads", "kmem_grower")
MIB = 1 << 20
FAST = "[Growth]\nMinHistorySec=0\nMinDurationSec=2s\n"


def rel(path):
    return "/" + os.path.basename(path)


class KmemTest(DaemonTestCase):

    def cgroup_entry(self, d, path):
        for c in d.ctl_json("cgroups"):
            if c["path"] == rel(path):
                return c
        return None

    def grower(self, cg, *args):
        p = subprocess.Popen(in_cgroup(cg, [KMEM_GROWER] + list(args)), stdout=subprocess.PIPE,
                             text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    def test_kernel_bytes_follow_the_cgroup_file(self):
        d = self.start()
        cg = v1_cgroup(self, 512 * MIB, "memctl-kmem")
        g = self.grower(cg, "--mb", "64", "--hold-sec", "60")
        line = json.loads(g.stdout.readline())
        self.assertEqual(line["event"], "holding")
        self.assertEqual(line["bytes"], 64 * MIB)
        file_kmem = int(cgroup_file(cg, "memory.kmem.usage_in_bytes"))
        self.assertGreaterEqual(file_kmem, 64 * MIB)  # the kernel charged the pipes

        # the daemon reads the cgroup each tick: within 2% of the file, both read
        # after the charge settled (nothing else runs in this cgroup)
        def close_to_file():
            c = self.cgroup_entry(d, cg)
            if not c or c["kernel_bytes"] is None:
                return None
            f = int(cgroup_file(cg, "memory.kmem.usage_in_bytes"))
            return c if abs(c["kernel_bytes"] - f) <= 0.02 * f else None
        c = wait_until(close_to_file, 10, 0.2)
        self.assertIsNotNone(c, "%s vs file %s" % (self.cgroup_entry(d, cg), file_kmem))
        self.assertGreaterEqual(c["kernel_bytes"], 64 * MIB)
        self.assertLessEqual(c["kernel_bytes"], c["usage_bytes"])  # part of usage on v1
        self.assertIsNotNone(c["kernel_sock_bytes"])  # memory.kmem.tcp.usage_in_bytes
        self.assertIsNone(c["slab_bytes"])  # v2 only
        # no process holds it in RSS
        ps = {p["pid"]: p for p in d.ctl_json("ps")}
        self.assertLess(ps[g.pid]["rss_bytes"], 16 * MIB, ps[g.pid])

        # memctl show and the table
        show = d.ctl_json("show", str(g.pid))
        self.assertGreaterEqual(show["cgroup_detail"]["kernel_bytes"], 63 * MIB, show)
        text = d.ctl("cgroups").stdout
        self.assertIn("KERNEL", text.splitlines()[0])
        row = [l for l in text.splitlines() if l.endswith(rel(cg))]
        self.assertEqual(len(row), 1, text)
        self.assertIn("kernel:", d.ctl("show", str(g.pid)).stdout)

        # closing the pipes frees it: the cgroup stays (it has a limit), its
        # kernel memory drops to what the file says, near nothing
        g.send_signal(signal.SIGTERM)
        self.assertEqual(g.wait(10), 0)
        self.assertEqual(json.loads(g.stdout.readline())["event"], "freed")
        after = int(cgroup_file(cg, "memory.kmem.usage_in_bytes"))
        self.assertLess(after, 4 * MIB)
        c = wait_until(lambda: (lambda e: e if e and e["kernel_bytes"] is not None
                                and e["kernel_bytes"] < 4 * MIB else None)(
                                    self.cgroup_entry(d, cg)), 10, 0.2)
        self.assertIsNotNone(c, self.cgroup_entry(d, cg))
        self.assertEqual(c["nr_procs"], 0)

    def test_growth_detector_sees_kernel_memory(self):
        d = self.start(config_text=FAST)
        cg = v1_cgroup(self, 256 * MIB, "memctl-kmem-growth")
        since = max([e["id"] for e in d.ctl_json("events")] or [0])
        # 8 MiB/s of pipe buffers for 12 s: the cgroup grows, no RSS does
        g = self.grower(cg, "--mb", "96", "--step-mb", "8", "--step-sec", "1", "--hold-sec", "30")

        def detected():
            for e in d.ctl_json("events"):
                if e["id"] > since and e["kind"] == "growth-detected" and \
                        e.get("cgroup") == rel(cg) and not e["pid"]:
                    return e
            return None
        det = wait_until(detected, 25, 0.5)
        self.assertIsNotNone(det, "no cgroup growth-detected: %s" % d.ctl_json("events")[-5:])
        self.assertGreater(det["rate_bytes_per_sec"], 2 * MIB, det)
        c = self.cgroup_entry(d, cg)
        self.assertTrue(c["growth_detected"], c)
        # and it is kernel memory: the grower's own RSS stayed flat
        ps = {p["pid"]: p for p in d.ctl_json("ps")}
        self.assertFalse(ps[g.pid]["growth_detected"], ps[g.pid])
        g.send_signal(signal.SIGTERM)
        g.wait(10)


if __name__ == "__main__":
    main()
