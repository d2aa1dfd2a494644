#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Where /proc hides other users' processes (hidepid=), memctld does not show them
to an unprivileged caller either: ps, show, list, records, bandwidth and events
carry only its own; root sees everything. HideOtherUsers=yes|no overrides.

The daemon runs in a mount namespace of its own with a new proc instance mounted
hidepid=invisible (each proc mount is its own instance since Linux 5.8, so the
machine's /proc is untouched); the CLI runs as nobody outside it."""

import json
import os
import subprocess

from harness import MEMCTL, DaemonTestCase, main, wait_until

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
HIDEPID_WRAP = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount -t proc -o hidepid=invisible proc /proc && exec "$@"', "sh"]


class HidePidTest(DaemonTestCase):

    def spawn(self, argv):
        p = subprocess.Popen(argv)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        return p

    def as_nobody(self, d, *args, check=True):
        r = subprocess.run(NOBODY + [MEMCTL, "--socket-dir", d.socket_dir] + list(args),
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("memctl %s as nobody: %d %s" % (args, r.returncode, r.stderr))
        return r

    def pids(self, d, who, *args):
        out = (self.as_nobody(d, *args, "--json") if who == "nobody" else
               d.ctl(*args, "--json")).stdout
        return {e["pid"] for e in json.loads(out)}

    def setup_procs(self, d):
        mine = self.spawn(NOBODY + ["sleep", "31341"])
        roots = self.spawn(["sleep", "31342"])
        # both tracked (with their owners read) before the checks
        self.assertTrue(wait_until(lambda: {mine.pid, roots.pid} <= self.pids(d, "root", "ps")))
        return mine, roots

    def start_private(self, **kw):
        d = self.start(**kw)
        os.chmod(d.dir, 0o755)  # nobody must reach the socket
        return d

    def test_hidepid_hides_other_users_processes(self):
        d = self.start_private(wrap=HIDEPID_WRAP)
        self.assertIn("Unprivileged callers see only their own processes (hidepid= on /proc)",
                      d.log())
        mine, roots = self.setup_procs(d)
        seen = self.pids(d, "nobody", "ps")
        self.assertIn(mine.pid, seen)
        self.assertNotIn(roots.pid, seen)
        self.assertNotIn(1, seen)
        # root sees both
        self.assertTrue({mine.pid, roots.pid, 1} <= self.pids(d, "root", "ps"))
        # show: another user's process is as if it were not there
        r = self.as_nobody(d, "show", str(roots.pid), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no such process", r.stderr)
        self.assertEqual(json.loads(self.as_nobody(d, "show", str(mine.pid), "--json")
                                    .stdout)["pid"], mine.pid)
        # records: only its own processes' RSS records, while both allocate
        grow = ["python3", "-c", "import time\nx = []\nfor _ in range(80):\n"
                "    x.append(bytearray(1 << 20)); time.sleep(0.05)\ntime.sleep(30)"]
        g_mine, g_root = self.spawn(NOBODY + grow), self.spawn(grow)
        out = self.as_nobody(d, "record", "--seconds", "3").stdout
        d_out = d.ctl("record", "--seconds", "2").stdout
        rec_pids = lambda text: {int(l.split()[1]) for l in text.splitlines()
                                 if l and not l.startswith("#")}
        self.assertIn(g_mine.pid, rec_pids(out))
        self.assertNotIn(g_root.pid, rec_pids(out))
        self.assertIn(g_root.pid, rec_pids(d_out))
        # events: root's enrollment of its own process is not nobody's to see
        d.ctl("enroll", str(roots.pid))
        self.assertTrue(wait_until(lambda: any(
            e.get("pid") == roots.pid for e in d.ctl_json("events"))))
        theirs = [e for e in json.loads(self.as_nobody(d, "events", "--json").stdout or "[]")
                  if e.get("pid") == roots.pid]
        self.assertEqual(theirs, [])
        # list (enrolled): root's enrollment hidden from nobody
        self.assertNotIn(roots.pid, self.pids(d, "nobody", "list"))
        self.assertIn(roots.pid, self.pids(d, "root", "list"))
        # metrics name workloads: root's only
        r = self.as_nobody(d, "metrics", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("hidden", r.stderr)

    def test_hide_other_users_yes_without_hidepid(self):
        d = self.start_private(config_text="[Control]\nHideOtherUsers=yes\n")
        self.assertIn("Unprivileged callers see only their own processes (HideOtherUsers=)",
                      d.log())
        mine, roots = self.setup_procs(d)
        seen = self.pids(d, "nobody", "ps")
        self.assertIn(mine.pid, seen)
        self.assertNotIn(roots.pid, seen)

    def test_hide_other_users_no_overrides_hidepid(self):
        d = self.start_private(wrap=HIDEPID_WRAP, config_text="[Control]\nHideOtherUsers=no\n")
        self.assertNotIn("see only their own", d.log())
        mine, roots = self.setup_procs(d)
        self.assertTrue({mine.pid, roots.pid} <= self.pids(d, "nobody", "ps"))

    def test_default_without_hidepid_shows_everyone(self):
        d = self.start_private()
        mine, roots = self.setup_procs(d)
        self.assertTrue({mine.pid, roots.pid} <= self.pids(d, "nobody", "ps"))


if __name__ == "__main__":
    main()
