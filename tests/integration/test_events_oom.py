#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_events_oom.py: the event log under a user's flood
(kernel-side events, a real OOM kill among them, survive; the flood is
rate-limited per uid) and OOM kills in a real v1 memory cgroup with a 32 MiB
limit and no swap (the event with the victim, failcnt and oom_kill as the
kernel counts them, the row kept after the victim died), traced by
oom:mark_victim or, without it, from the oom_kill counter."""
import os
import signal
import subprocess
import sys
import time

from harness import DaemonTestCase, main, wait_until

NOBODY = 65534
AS_NOBODY = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]
BURST, RATE_PER_SEC, WINDOW_SEC = 64, 1, 5  # daemon/eventlog.h

# nobody enrolls and unenrolls its own process N times over one control
# connection (raw CTL_ENROLL / CTL_UNENROLL records); prints "ok N", N the
# requests answered CTL_OK (the first error is printed too)
FLOOD = r"""
import os, socket, struct, sys
HDR = struct.Struct("=IHHII")
path, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(30)
s.connect(path)
enroll = struct.pack("=IIII32s", os.getpid(), 0, 0, 0, b"")  # struct ipc_ctl_enroll
unenroll = struct.pack("=II", os.getpid(), 0)  # struct ipc_ctl_pid
ok = 0
for i in range(2 * n):
    t, body = (38, enroll) if i % 2 == 0 else (39, unenroll)
    s.send(HDR.pack(0x4C54434D, 2, t, HDR.size + len(body), i + 1) + body)
    r = s.recv(4096)
    if HDR.unpack_from(r)[2] == 40:
        ok += 1
    elif ok == i:
        print("error", r[HDR.size + 12:].split(b"\0")[0].decode(), file=sys.stderr)
print("ok", ok, flush=True)
"""


V1_ROOT = "/sys/fs/cgroup/memory"
LIMIT = 32 << 20
# allocates and touches 64 MiB, twice its cgroup's limit; with "wait", only
# after a line on stdin
ALLOC = r"""
import sys
if sys.argv[1:] == ["wait"]:
    print("ready", flush=True)
    sys.stdin.readline()
b = bytearray(64 << 20)
for i in range(0, len(b), 4096):
    b[i] = 1
print("survived", flush=True)
"""


def v1_cgroup(testcase, limit=LIMIT):
    """A real v1 memory cgroup with a limit and no swap, removed afterwards."""
    if not os.path.isdir(V1_ROOT):
        testcase.skipTest("skip: no cgroup v1 memory controller at %s" % V1_ROOT)
    path = os.path.join(V1_ROOT, "memctl-oom-%d-%d" % (os.getpid(), time.monotonic_ns()))
    os.mkdir(path)

    def remove():
        # its processes are dead; the kernel lets go of the directory soon after
        wait_until(lambda: not open(os.path.join(path, "cgroup.procs")).read().strip(), 5)
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except OSError:
                time.sleep(0.1)
        os.rmdir(path)
    testcase.addCleanup(remove)
    for name, value in (("memory.limit_in_bytes", limit), ("memory.swappiness", 0)):
        with open(os.path.join(path, name), "w") as f:
            f.write(str(value))
    return path


def in_cgroup(path, *argv, **kw):
    return subprocess.Popen(["sh", "-c", 'echo $$ > %s/cgroup.procs && exec "$@"' % path, "sh"]
                            + list(argv), **kw)


def cgroup_file(path, name):
    with open(os.path.join(path, name)) as f:
        return f.read()


def oom_kills(path):
    for line in cgroup_file(path, "memory.oom_control").splitlines():
        if line.startswith("oom_kill "):
            return int(line.split()[1])
    raise AssertionError("no oom_kill in %s/memory.oom_control" % path)


def fork_storm(n):
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)


class EventLogTest(DaemonTestCase):

    def events(self, since=0):
        return self.d.ctl_json("events", "--since", str(since))

    def events_polled(self):
        """For polling: [] while the daemon is busy (a resync after lost
        records reads /proc for every process on a loaded machine)."""
        return self.d.try_json("events") or []

    def lose_records(self):
        """Freeze the consumer, overflow its 4 KiB ring buffers: a LOST_RECORDS
        event from the kernel side. Returns its id."""
        before = {e["id"] for e in self.events() if e["kind"] == "lost-records"}
        self.d.proc.send_signal(signal.SIGSTOP)
        try:
            fork_storm(1500)
        finally:
            self.d.proc.send_signal(signal.SIGCONT)
        ids = wait_until(lambda: {e["id"] for e in self.events_polled()
                                  if e["kind"] == "lost-records"} - before, timeout=10)
        self.assertTrue(ids, "no lost-records event: %s" % self.d.status())
        return max(ids)

    def wait_flood(self, flood, timeout=120):
        """The flood's output; meanwhile keep the daemon's NOTIFY_SOCKET
        drained, or it blocks in sd_notify() after 10 ticks (harness.py)."""
        deadline = time.monotonic() + timeout
        while True:
            self.d.drain_notify()
            try:
                return flood.communicate(timeout=0.5)[0]
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise

    def test_user_flood_cannot_evict_kernel_events(self):
        """Issue 9 item 10: 10,000 enroll/unenroll cycles by nobody."""
        d = self.start(config_text="[BPF]\nRingBufferSize=4K\n")
        os.chmod(d.dir, 0o755)  # nobody reaches control.sock (0666)
        cg = v1_cgroup(self)
        kernel_ids = [self.lose_records()]
        d.proc.send_signal(signal.SIGHUP)  # the daemon's own event, also kept
        reload_id = wait_until(lambda: [e["id"] for e in self.events_polled()
                                        if e["kind"] == "config-reloaded"], timeout=5)
        self.assertTrue(reload_id)
        kernel_ids += reload_id

        start = time.monotonic()
        flood = subprocess.Popen(AS_NOBODY + [sys.executable, "-c", FLOOD,
                                              d.path("control.sock"), "10000"],
                                 stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: flood.poll() is None and flood.kill())
        # more kernel-side events while the flood runs (not polled: the
        # daemon is busy; found by id once the flood is over)
        time.sleep(0.3)
        lost_before = d.status()["events"]["lost"]
        d.proc.send_signal(signal.SIGSTOP)
        try:
            fork_storm(1500)
        finally:
            d.proc.send_signal(signal.SIGCONT)
        victim = in_cgroup(cg, sys.executable, "-c", ALLOC, stdout=subprocess.DEVNULL)
        self.assertEqual(victim.wait(timeout=30), -signal.SIGKILL)
        out = self.wait_flood(flood)
        elapsed = time.monotonic() - start
        self.assertEqual(out.split(), ["ok", "20000"], "every request answered CTL_OK")
        print("flood: 20000 requests in %.1fs" % elapsed)

        # the last window's notice comes at most a window plus a tick later
        def settled():
            ev = self.events_polled()
            made = [e for e in ev if e.get("uid") == NOBODY
                    and e["kind"] in ("enrolled", "unenrolled")]
            notes = [e for e in ev if e["kind"] == "events-suppressed"]
            return (ev, made, notes) if len(made) + sum(n["value"] for n in notes) == 20000 \
                else None
        got = wait_until(settled, timeout=WINDOW_SEC + 3, interval=0.5)
        ev = self.events()

        # every kernel-side event is still there, the one logged mid-flood too
        ids = {e["id"] for e in ev}
        self.assertEqual(set(kernel_ids) - ids, set(), "kernel-side events evicted")
        self.assertGreater(d.status()["events"]["lost"], lost_before)
        during = [e["id"] for e in ev if e["kind"] == "lost-records" and e["id"] > kernel_ids[-1]]
        self.assertTrue(during, "the lost-records event logged during the flood is gone")
        kills = [e["id"] for e in ev if e["kind"] == "oom-kill" and e["pid"] == victim.pid]
        self.assertEqual(len(kills), 1, "the OOM kill during the flood: %s"
                         % [e for e in ev if e["kind"] == "oom-kill"])
        kernel_ids += during + kills
        for e in ev:
            if e["id"] in kernel_ids:
                self.assertIsNone(e["uid"], e)  # caused by the system, not a user

        made = [e for e in ev if e.get("uid") == NOBODY and e["kind"] in ("enrolled", "unenrolled")]
        notes = [e for e in ev if e["kind"] == "events-suppressed"]
        self.assertIsNotNone(got, "nobody's %d logged + %d suppressed != 20000: %s"
                             % (len(made), sum(n["value"] for n in notes), notes))
        ev, made, notes = got
        # nobody's flood: a burst plus the refill, one notice per window
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(len(made), BURST)
        self.assertLessEqual(len(made), BURST + RATE_PER_SEC * elapsed + 1)
        self.assertTrue(notes)
        self.assertLessEqual(len(notes), elapsed / WINDOW_SEC + 1)
        for n in notes:
            self.assertEqual(n["uid"], NOBODY)
            self.assertIn("from uid %d suppressed" % NOBODY, n["text"])
        print("nobody: %d events logged, %d suppressed in %d notice(s); %d events in all"
              % (len(made), sum(n["value"] for n in notes), len(notes), len(ev)))
        # paging by id across both rings: strictly increasing, nothing twice
        ev_ids = [e["id"] for e in ev]
        self.assertEqual(ev_ids, sorted(set(ev_ids)))
        mid = ev_ids[len(ev_ids) // 2]
        self.assertEqual([e["id"] for e in self.events(mid)], [i for i in ev_ids if i > mid])
        self.assertEqual(d.status()["pid"], d.proc.pid)


class OomTest(DaemonTestCase):
    """Issue 9, Truthfulness: OOM kills in a real v1 memory cgroup."""

    def row(self, rel):
        rows = [c for c in self.d.ctl_json("cgroups") if c["path"] == rel]
        return rows[0] if rows else None

    def kills(self, rel):
        return [e for e in self.d.ctl_json("events") if e["kind"] == "oom-kill"
                and e["cgroup"] == rel]

    def test_oom_kill_event_figures_and_row_kept(self):
        d = self.start()
        cg = v1_cgroup(self)
        rel = "/" + os.path.basename(cg)
        victim = in_cgroup(cg, sys.executable, "-c", ALLOC, stdout=subprocess.PIPE, text=True)
        out, _ = victim.communicate(timeout=60)
        self.assertEqual(victim.returncode, -signal.SIGKILL, "not OOM-killed: %r" % out)

        ev = wait_until(lambda: self.kills(rel), timeout=3)
        self.assertEqual(len(ev), 1, "one OOM-kill event: %s" % d.ctl_json("events"))
        e = ev[0]
        self.assertEqual(e["pid"], victim.pid)
        self.assertEqual(e["comm"], "python3")
        self.assertIsNone(e["uid"])  # the kernel's doing, not a user's
        self.assertIn(rel, e["text"])
        # its RSS when killed: about the limit (anon and file pages charged)
        self.assertGreater(e["value"], LIMIT // 2)
        self.assertLess(e["value"], 2 * LIMIT)
        print("event: %s (RSS %d KiB)" % (e["text"], e["value"] >> 10))

        # the figures match the kernel's, and the row outlives its last process
        def counted():
            c = self.row(rel)
            return c if c and c["oom_events"] == oom_kills(cg) == 1 else None
        c = wait_until(counted, timeout=3)
        self.assertIsNotNone(c, "row %s vs oom_kill %d" % (self.row(rel), oom_kills(cg)))
        self.assertGreater(c["failcnt"], 0)
        self.assertLessEqual(c["failcnt"], int(cgroup_file(cg, "memory.failcnt")))
        self.assertEqual(c["oom_kills"], 1)
        self.assertEqual((c["nr_procs"], c["limit_bytes"]), (0, LIMIT))
        self.assertEqual(e["cgroup_id"], c["id"])
        time.sleep(2.5)  # a few ticks later: still there, still right
        c = self.row(rel)
        self.assertIsNotNone(c, "row dropped after the victim died")
        failcnt = int(cgroup_file(cg, "memory.failcnt"))  # settled once the victim is gone
        self.assertEqual((c["oom_events"], c["failcnt"]), (1, failcnt))
        self.assertEqual(len(self.kills(rel)), 1)  # counted once, not again by the counter
        print("cgroup: failcnt %d, oom kills %d, procs %d" % (c["failcnt"], c["oom_events"],
                                                              c["nr_procs"]))
        self.assertIn("oom=loaded", d.status()["bpf"]["status"])

    def test_oom_kill_without_tracepoint_from_the_counter(self):
        d = self.start(env={"MEMCTLD_TEST_MISSING_TRACEPOINTS": "mark_victim"})
        cg = v1_cgroup(self)
        rel = "/" + os.path.basename(cg)
        victim = in_cgroup(cg, sys.executable, "-c", ALLOC, "wait", stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: victim.poll() is None and victim.kill())
        self.assertEqual(victim.stdout.readline().strip(), "ready")
        # the counter is all there is: the daemon must know the cgroup first
        self.assertTrue(wait_until(lambda: self.row(rel), timeout=3))
        victim.stdin.write("\n")
        victim.stdin.flush()
        self.assertEqual(victim.wait(timeout=60), -signal.SIGKILL)
        ev = wait_until(lambda: self.kills(rel), timeout=4)
        self.assertEqual(len(ev), 1, d.ctl_json("events"))
        self.assertEqual(ev[0]["pid"], 0)  # the counter does not say who
        self.assertIn("victim unknown", ev[0]["text"])
        c = self.row(rel)
        self.assertEqual((c["oom_events"], c["nr_procs"]), (oom_kills(cg), 0))
        self.assertIn("victim unknown", d.log())
        self.assertIn("oom=off(tracepoint missing: mark_victim)", d.status()["bpf"]["status"])


if __name__ == "__main__":
    main()
