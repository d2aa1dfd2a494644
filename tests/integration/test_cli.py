#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_cli.py: what a user of memctl and memctld sees, with
the real daemon: configuration files that are not regular files (at start and
on SIGHUP), memctl's arguments and errors."""
import os
import signal
import subprocess
import unittest

from harness import DaemonTestCase, MEMCTLD, main, wait_until


class ConfigFileTest(DaemonTestCase):
    """memctld reads only a regular file of at most 1 MiB, at start and on
    SIGHUP, and stays responsive to SIGTERM whatever sits at the path."""

    def check_config(self, path, timeout=10):
        # before the fix /dev/zero was read for ever and a FIFO blocked in open:
        # the timeout is what fails then
        return subprocess.run([MEMCTLD, "--check-config", "--config", path],
                              capture_output=True, text=True, timeout=timeout)

    def test_start_refuses_what_is_not_a_regular_file(self):
        tmp = self.tmpdir()
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        loop = os.path.join(tmp, "loop")
        os.symlink(loop, loop)
        big = os.path.join(tmp, "big.conf")
        with open(big, "w") as f:
            f.write(("#" * 1023 + "\n") * 1025)
        cases = [("/dev/zero", "a character device"), (fifo, "a FIFO"), (tmp, "a directory"),
                 (loop, "Too many levels of symbolic links"), (big, "larger than")]
        for path, why in cases:
            r = self.check_config(path)
            self.assertEqual(r.returncode, 1, (path, r.stderr))
            self.assertIn(why, r.stderr, path)
            self.assertEqual(r.stdout, "", path)  # nothing dumped

    def test_long_lines_and_the_line_of_an_error(self):
        tmp = self.tmpdir()
        path = os.path.join(tmp, "memctld.conf")
        with open(path, "w") as f:
            f.write("# " + "x" * 4998 + "\n[Daemon]\n;" + "y" * 198 + "\nDryRun=yes\n")
        r = self.check_config(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("DryRun=yes", r.stdout)
        with open(path, "a") as f:
            f.write("\n\nTickIntervalSec=forever\n")
        r = self.check_config(path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:7: invalid value for TickIntervalSec=" % path, r.stderr)

    def sighup_with(self, make):
        d = self.start(config_text="[Daemon]\nDryRun=yes\n")
        os.unlink(d.config)
        make(d.config)
        d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "not reloaded" in d.log(), timeout=10), d.log())
        self.assertIn("not a regular file", d.log())
        self.assertTrue(d.status()["dry_run"])  # still answers, configuration kept
        self.assertEqual(d.stop(timeout=10), 0)  # SIGTERM served

    def test_sighup_with_a_device_keeps_serving_and_stops(self):
        self.sighup_with(lambda path: os.symlink("/dev/zero", path))

    def test_sighup_with_a_fifo_keeps_serving_and_stops(self):
        self.sighup_with(os.mkfifo)

    def tmpdir(self):
        import tempfile
        tmp = tempfile.mkdtemp(prefix="memctl-test-cli-%d-" % os.getpid())
        self.addCleanup(subprocess.run, ["rm", "-rf", tmp])
        return tmp


if __name__ == "__main__":
    main()
