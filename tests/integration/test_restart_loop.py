#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_restart_loop.py: memctld killed with SIGKILL 20 times at random
points while libarena workloads it commands run in limited v1 memory cgroups, and
started again each time (as systemd's Restart= would). Every workload is enrolled
again within 5 s of each restart, finishes with its data verified (0 mismatches, 0
arena errors, 21 enrollments), is never OOM-killed, and no memctld, socket or fd is
left behind. While memctld is down the workloads' own fallback
(--controller-fallback-ms: compress cold memory on their own once the daemon has
been unreachable that long) keeps them under their limits. Figures printed."""
import os
import random
import re
import signal
import subprocess
import time

from harness import BUILD, DaemonTestCase, cgroup_file, in_cgroup, main, v1_cgroup, wait_until

WORKLOADS = os.path.join(BUILD, "workloads")
KILLS = 20
REGION_MB = 64
LIMIT = int(0.6 * ((REGION_MB + 8) << 20))


def summary(text):
    for line in text.splitlines():
        if " mode=" in line:
            return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    return {}


def daemons_on(socket_dir):
    """pids of memctld processes serving socket_dir"""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"memctld") and socket_dir.encode() in argv:
            out.append(int(p))
    return out


def fds_not_pidfd(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:[pidfd]":
                n += 1
        except FileNotFoundError:
            pass
    return n


class TestRestartLoop(DaemonTestCase):
    def listed(self):
        return {e["pid"] for e in self.d.try_json("list") or []}

    def test_kill_restart_loop_with_enrolled_workloads(self):
        d = self.start()
        rng = random.Random(16)
        env = dict(os.environ, MEMCTLD_SOCKET=d.path("memctld.sock"))
        env.pop("ARENA_NO_HELLO", None)
        work = []
        for i in range(2):
            cg = v1_cgroup(self, LIMIT, name="memctl-restart%d" % i)
            p = subprocess.Popen(in_cgroup(cg, [
                os.path.join(WORKLOADS, "interactive_burst"), "--use-mem-arena",
                "--region-mb", str(REGION_MB), "--data", "zero-heavy", "--seed", str(i + 1),
                "--fill-mb-per-sec", "16", "--duration-sec", "35", "--controller-enroll",
                "--compress-policy", "external", "--controller-fallback-ms", "500"]),
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.addCleanup(lambda p=p: p.poll() is None and (p.kill(), p.wait()))
            work.append((p, cg))
        pids = {p.pid for p, _ in work}
        self.assertTrue(wait_until(lambda: pids <= self.listed(), timeout=5),
                        "not enrolled: %s" % d.log()[-2000:])
        fd0 = fds_not_pidfd(d.proc.pid)
        reenroll = []
        for k in range(KILLS):
            # a random point: mid-tick, mid-command, mid-readback
            time.sleep(rng.uniform(0.2, 1.5))
            for p, _ in work:
                if p.poll() is not None:
                    self.fail("workload ended early (%s): %s %s" % ((p.returncode,) + p.communicate()))
            d.restart(signal.SIGKILL)
            t0 = time.monotonic()
            self.assertTrue(wait_until(lambda: pids <= self.listed(), timeout=5, interval=0.02),
                            "restart %d: not all enrolled again within 5 s: %s"
                            % (k + 1, d.log()[-2000:]))
            reenroll.append(time.monotonic() - t0)
            self.assertEqual(daemons_on(d.socket_dir), [d.proc.pid])
        fd1 = fds_not_pidfd(d.proc.pid)
        reenroll.sort()
        print("%d kill -9/restart cycles: enrolled again after median %.2f s, max %.2f s; "
              "fds (pidfds apart) %d at the first start, %d after the last"
              % (KILLS, reenroll[len(reenroll) // 2], reenroll[-1], fd0, fd1))
        self.assertEqual(fd1, fd0)

        for p, cg in work:
            out, err = p.communicate(timeout=120)
            s = summary(out)
            oom = cgroup_file(cg, "memory.oom_control")
            kills = int(re.search(r"oom_kill (\d+)", oom).group(1))
            print("workload %d: %s; cgroup failcnt %s, max usage %s of limit %d, oom kills %d"
                  % (p.pid, out.strip(), cgroup_file(cg, "memory.failcnt").strip(),
                     cgroup_file(cg, "memory.max_usage_in_bytes").strip(), LIMIT, kills))
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(s.get("mismatches"), "0", out)
            self.assertEqual(s.get("errors"), "0", out)
            self.assertEqual(s.get("enrollments"), str(KILLS + 1), out)
            self.assertEqual(kills, 0)

        # stopped for good: no memctld and no socket left
        self.assertEqual(d.stop(), 0)
        self.assertEqual(daemons_on(d.socket_dir), [])
        left = sorted(os.listdir(d.socket_dir)) if os.path.isdir(d.socket_dir) else []
        self.assertEqual([n for n in left if n.endswith(".sock")], [], left)


if __name__ == "__main__":
    main()
