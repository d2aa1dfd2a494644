#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_growth_events.py: growth events end to end: the real
memctld sees a memory_grower leak and says so once (GROWTH_DETECTED), and once
more when it stops (GROWTH_ENDED, here by exiting); `memctl events --json
--follow` streams them as JSON lines and survives a daemon restart with one
line; each event is one structured line on the daemon's stderr."""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import time
import unittest

from harness import BUILD, HDR, MEMCTL, Daemon, DaemonTestCase, main

GROWER = os.path.join(BUILD, "workloads", "memory_grower")
MIB = 1 << 20
# detect quickly: this test is about the events, tests/accuracy about when
FAST = "[Growth]\nMinHistorySec=0\nMinDurationSec=2s\n"




def ctl_show_raw(socket_dir, pid):
    """CTL_SHOW (36) on the control socket itself: the reply's own pattern and
    leak_confidence_permyriad (offsets 824, 828; docs/protocol.md), which
    memctl does not print (it prints proc's), beside proc's (248, 252)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.settimeout(5)
        s.connect(os.path.join(socket_dir, "control.sock"))
        s.send(HDR.pack(0x4C54434D, 2, 36, HDR.size + 8, 1) + struct.pack("=II", pid, 0))
        buf = s.recv(65536)
    finally:
        s.close()
    _, _, mtype, length, _ = HDR.unpack_from(buf)
    if mtype != 37 or length != HDR.size + 928:
        raise AssertionError("CTL_SHOW answered type %d, %d bytes" % (mtype, length))
    body = buf[HDR.size:]
    rpid, = struct.unpack_from("=I", body, 0)
    ppat, pconf = struct.unpack_from("=II", body, 248)
    pat, conf = struct.unpack_from("=II", body, 824)
    return {"pid": rpid, "pattern": pat, "leak_confidence_permyriad": conf,
            "proc_pattern": ppat, "proc_leak_confidence_permyriad": pconf}


class Follower:
    def __init__(self, socket_dir):
        self.p = subprocess.Popen([MEMCTL, "--socket-dir", socket_dir, "events", "--json",
                                   "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        self.events = []
        self.buf = b""
        os.set_blocking(self.p.stdout.fileno(), False)

    def wait_for(self, pred, timeout, daemons=()):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # lines from the fd itself: a buffered readline() would keep
            # the next lines where select() cannot see them
            r, _, _ = select.select([self.p.stdout.fileno()], [], [], 0.2)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    break
                self.buf += chunk
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                self.events.append(json.loads(line))
                if pred(self.events[-1]):
                    return self.events[-1]
        return None

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        err = self.p.stderr.read()
        self.p.stdout.close()
        self.p.stderr.close()
        return err


class GrowthEventsTest(DaemonTestCase):

    def test_detected_ended_follow_and_restart(self):
        d = self.start(config_text=FAST)
        f = Follower(d.socket_dir)
        self.addCleanup(lambda: f.p.poll() is None and f.p.kill())
        g = subprocess.Popen([GROWER, "--pattern", "linear", "--rate-mb", "8", "--duration-sec",
                              "12", "--hold-sec", "1"], stdout=subprocess.DEVNULL)
        self.addCleanup(lambda: g.poll() is None and g.kill())
        det = f.wait_for(lambda e: e["kind"] == "growth-detected" and e["pid"] == g.pid, 20, [d])
        self.assertIsNotNone(det, "no growth-detected for %d: %s" % (g.pid, f.events))
        self.assertEqual(det["comm"], "memory_grower")
        self.assertEqual(det["pattern"], "linear")
        self.assertGreater(det["rate_bytes_per_sec"], 4 * MIB)
        self.assertGreaterEqual(det["confidence"], 0.5)
        self.assertIn("seconds_to_limit", det)
        self.assertIsNone(det["uid"])  # the kernel side, not a user
        self.assertTrue(det["cgroup"].startswith("/"), det)
        # CTL_SHOW_REPLY's own pattern and confidence are filled, as proc's
        # (they were once left zero); the grower still grows, so read both in
        # one reply and expect linear (2) with a confidence that detected it
        show = ctl_show_raw(d.socket_dir, g.pid)
        self.assertEqual(show["pid"], g.pid)
        self.assertEqual(show["pattern"], show["proc_pattern"], show)
        self.assertEqual(show["leak_confidence_permyriad"],
                         show["proc_leak_confidence_permyriad"], show)
        self.assertEqual(show["pattern"], 2, show)  # GROWTH_PATTERN_LINEAR
        self.assertGreaterEqual(show["leak_confidence_permyriad"], 5000, show)
        # one detection per episode: ps says growing, no second event
        ps = {e["pid"]: e for e in d.ctl_json("ps")}
        self.assertTrue(ps[g.pid]["growth_detected"])
        g.wait(30)
        end = f.wait_for(lambda e: e["kind"] == "growth-ended" and e["pid"] == g.pid, 10, [d])
        self.assertIsNotNone(end, f.events)
        mine = [e["kind"] for e in f.events if e["pid"] == g.pid]
        self.assertEqual(mine, ["growth-detected", "growth-ended"])
        # the structured line, on stderr without a journal
        log = d.log()
        lines = [l for l in log.splitlines() if "GROWTH_DETECTED pid=%d " % g.pid in l]
        self.assertEqual(len(lines), 1, log)
        self.assertIn('comm="memory_grower"', lines[0])
        self.assertIn("pattern=linear", lines[0])
        self.assertIn("seconds_to_limit=", lines[0])
        self.assertEqual(len([l for l in log.splitlines()
                              if "GROWTH_ENDED pid=%d " % g.pid in l]), 1)

        # a restart: the same socket directory, another daemon; one line
        old_pid = d.proc.pid
        self.assertEqual(d.stop(), 0)
        d2 = Daemon(config_text=FAST, args=("--socket-dir", d.socket_dir))
        self.addCleanup(d2.close)
        d2.wait_notify("READY=1")
        os.kill(d2.proc.pid, signal.SIGHUP)  # an event in the new daemon
        got = f.wait_for(lambda e: e["kind"] == "config-reloaded", 20, [d2])
        if got is None:
            err = f.stop()
            self.fail("no config-reloaded from the new daemon: %s; follower said: %s; "
                      "new daemon's log: %s" % (f.events, err, d2.log()))
        self.assertIsNone(f.p.poll(), "the follower exited with the daemon")
        err = f.stop()
        restart = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(restart), 1, err)
        self.assertIn("restarted (pid %d -> %d)" % (old_pid, d2.proc.pid), restart[0])
        print("follow: %d events, restart line: %s" % (len(f.events), restart[0]))


if __name__ == "__main__":
    main()
