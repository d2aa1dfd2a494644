#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_growth_journal.py: under systemd (JOURNAL_STREAM set)
each growth event is one journal entry with its MESSAGE_ID and MEMCTL_*
fields. PID 1 here is not systemd: the test runs the real memctld in a private
mount namespace whose /run has a socket of its own at the journal's path,
reads the entries sd_journal_send() writes there (the native protocol:
KEY=VALUE lines), and checks them."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from harness import BUILD, MEMCTLD, main, require_root

GROWER = os.path.join(BUILD, "workloads", "memory_grower")
DETECTED = "dcc5d4c0ff864e86a81d019887ed4dc1"
ENDED = "fb2118868f1047d88c2e551d94d8445e"

# runs inside `unshare -m`: a tmpfs over /run, a journal socket, the daemon
INNER = r"""
import json, os, socket, subprocess, sys, time
memctld, grower, tmp = sys.argv[1:4]
subprocess.run(["mount", "--make-rprivate", "/"], check=True)
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
os.makedirs("/run/systemd/journal")
j = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
j.bind("/run/systemd/journal/socket")
j.settimeout(0.5)
conf = os.path.join(tmp, "memctld.conf")
with open(conf, "w") as f:
    f.write("[Growth]\nMinHistorySec=0\nMinDurationSec=2s\n")
env = dict(os.environ, JOURNAL_STREAM="8:42")
env.pop("NOTIFY_SOCKET", None)
err = open(os.path.join(tmp, "stderr"), "w")
d = subprocess.Popen([memctld, "--socket-dir", os.path.join(tmp, "run"), "--config", conf],
                     env=env, stderr=err, stdout=err)
time.sleep(3)
g = subprocess.Popen([grower, "--pattern", "linear", "--rate-mb", "8", "--duration-sec", "10",
                      "--hold-sec", "1"], stdout=subprocess.DEVNULL)
entries = []
deadline = time.monotonic() + 40
while time.monotonic() < deadline:
    try:
        data = j.recv(65536)
    except socket.timeout:
        if g.poll() is not None and any(e.get("MESSAGE_ID") == "%s" and
                                        e.get("MEMCTL_PID") == str(g.pid) for e in entries):
            break
        continue
    e = {}
    for line in data.decode(errors="replace").split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            e[k] = v
    entries.append(e)
d.terminate()
d.wait(10)
g.wait(10)
print(json.dumps({"grower": g.pid, "entries": entries}))
""" % ENDED


class GrowthJournalTest(unittest.TestCase):

    def setUp(self):
        require_root(self)
        if subprocess.run(["unshare", "--help"], capture_output=True).returncode != 0:
            raise unittest.SkipTest("skip: no unshare(1)")

    def test_one_entry_per_event_with_message_id(self):
        tmp = tempfile.mkdtemp(prefix="memctl-journal-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", tmp]))
        r = subprocess.run(["unshare", "-m", "--", sys.executable, "-c", INNER, MEMCTLD, GROWER,
                            tmp], capture_output=True, text=True, timeout=90)
        with open(os.path.join(tmp, "stderr")) as f:
            log = f.read()
        self.assertEqual(r.returncode, 0, r.stderr + log)
        out = json.loads(r.stdout.strip().splitlines()[-1])
        pid = str(out["grower"])
        mine = [e for e in out["entries"] if e.get("MEMCTL_PID") == pid]
        kinds = [e.get("MESSAGE_ID") for e in mine]
        self.assertEqual(kinds, [DETECTED, ENDED], "entries: %s\nlog: %s" % (out["entries"], log))
        det = mine[0]
        self.assertEqual(det["MEMCTL_EVENT"], "GROWTH_DETECTED")
        self.assertEqual(det["MEMCTL_COMM"], "memory_grower")
        self.assertEqual(det["MEMCTL_PATTERN"], "linear")
        self.assertGreater(int(det["MEMCTL_RATE_BYTES_PER_SEC"]), 4 << 20)
        self.assertGreaterEqual(float(det["MEMCTL_CONFIDENCE"]), 0.5)
        self.assertIn("MEMCTL_SECONDS_TO_LIMIT", det)
        self.assertIn("MEMCTL_CGROUP", det)
        self.assertEqual(det["PRIORITY"], "5")
        self.assertTrue(det["MESSAGE"].startswith("GROWTH_DETECTED pid=%s " % pid), det)
        self.assertEqual(mine[1]["MEMCTL_EVENT"], "GROWTH_ENDED")
        # in the journal, not also on stderr
        self.assertNotIn("GROWTH_DETECTED pid=%s " % pid, log)
        print("journal entries for %s: %s" % (pid, [e["MEMCTL_EVENT"] for e in mine]))


if __name__ == "__main__":
    main()
