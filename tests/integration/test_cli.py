#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_cli.py: what a user of memctl and memctld sees, with
the real daemon: configuration files that are not regular files (at start and
on SIGHUP), memctl's arguments and errors, hostile names in text output."""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import unittest

from harness import (BUILD, DaemonTestCase, ENROLL, IPC_ENROLL, IPC_ENROLL_ACK, IPC_STATS, MEMCTL,
                     MEMCTLD, TOP, decode, encode, enroll, main, wait_until)

V1_MEMORY = "/sys/fs/cgroup/memory"


def tmpdir(testcase):
    tmp = tempfile.mkdtemp(prefix="memctl-test-cli-%d-" % os.getpid())
    testcase.addCleanup(subprocess.run, ["rm", "-rf", tmp])
    return tmp


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
        return tmpdir(self)


class ArgumentsTest(DaemonTestCase):
    """memctl refuses what it does not take, for every command, and under
    --json says why on stdout too."""

    def memctl(self, *args, socket_dir=None):
        r = subprocess.run([MEMCTL, "--socket-dir", socket_dir or self.d.socket_dir] + list(args),
                           capture_output=True, text=True, timeout=30)
        self.assertGreaterEqual(r.returncode, 0, "memctl %s crashed: %s" % (args, r.stderr))
        return r

    def test_json_after_double_dash_does_not_crash(self):
        # args[0] was read uninitialised: SIGSEGV
        r = subprocess.run([MEMCTL, "--", "--json"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn('unknown command "--json"', r.stderr)
        r = subprocess.run([MEMCTL, "--json"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no command", json.loads(r.stdout)["error"])

    def test_extra_arguments_refused_by_every_command(self):
        d = self.start()
        child = subprocess.Popen(["sleep", "30"])
        self.addCleanup(child.kill)
        pid = str(child.pid)
        cases = [["status", "foo"], ["cgroups", "foo"], ["events", "foo"],
                 ["events", "--since", "1", "foo"], ["ps", "foo"], ["ps", "--sort", "rss", "foo"],
                 ["show", pid, "foo"], ["enroll", pid, "foo"], ["unenroll", pid, "foo"],
                 ["enroll", pid, "--name", "x", "foo"], ["unenroll", pid, "--name", "x"],
                 ["list", "foo"],
                 ["status", "--bogus"], ["show"], ["enroll"]]
        for args in cases:
            r = self.memctl(*args)
            self.assertEqual(r.returncode, 1, (args, r.stdout))
            self.assertRegex(r.stderr, "unexpected argument foo|unknown option|missing", args)
            self.assertEqual(r.stdout, "", args)
        self.assertEqual(d.status()["enrolled"], 0)  # "enroll PID foo" did nothing
        # and the forms that are right still work, options after operands too
        self.assertTrue(wait_until(lambda: d.try_json("show", pid)), "not tracked")
        self.assertEqual(self.memctl("show", pid, "--json").returncode, 0)
        self.assertEqual(self.memctl("ps", "--json", "--sort", "rss").returncode, 0)

    def test_json_errors_are_json(self):
        d = self.start()
        cases = [(["show", "4190001"], 3, "no such process"),  # ESRCH
                 (["status", "foo"], 22, "unexpected argument"),
                 (["ps", "--sort", "size"], 22, "expected pid"),
                 (["frobnicate"], 22, "unknown command"),
                 (["enroll", "12abc"], 22, "Invalid PID")]
        for args, code, text in cases:
            for where in ("before", "after"):
                argv = ["--json"] + args if where == "before" else args + ["--json"]
                r = self.memctl(*argv)
                self.assertEqual(r.returncode, 1, (argv, r.stdout, r.stderr))
                o = json.loads(r.stdout)
                self.assertEqual(o["errno"], code, argv)
                self.assertIn(text, o["error"], argv)
                self.assertIn(text, r.stderr, argv)  # and the usual line
        r = self.memctl("--json", "status", socket_dir="/nonexistent-memctld")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout),
                         {"error": "memctld is not running: no socket at "
                          "/nonexistent-memctld/control.sock", "errno": 2})
        # success is unchanged: the object asked for, no "error"
        self.assertNotIn("error", json.loads(self.memctl("--json", "status").stdout))


# a terminal title (OSC 0), a bell, a forged line; 15 bytes, a comm's most
HOSTILE_COMM = "\x1b]0;pwn\x07\nroot 1"


CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def no_controls(testcase, text, what):
    """No raw control character (other than the line ends) in text."""
    bad = CONTROLS.search(text)
    testcase.assertIsNone(bad, "%s: raw control %r in %r" % (
        what, bad and bad.group(), bad and text[max(0, bad.start() - 40):bad.end() + 40]))


class EscapeTest(DaemonTestCase):
    """Names that come from other users (comm, ENROLL names, cgroup paths) are
    escaped in every text output; JSON carries them exactly."""

    def hostile_exec(self):
        # a real exec whose comm, from the file name, holds ESC, BEL and "\n"
        tmp = tmpdir(self)
        path = os.path.join(tmp, HOSTILE_COMM)
        os.symlink("/bin/sleep", path)
        p = subprocess.Popen([path, "30"])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        def comm():
            with open("/proc/%d/comm" % p.pid, "rb") as f:
                return f.read() == HOSTILE_COMM.encode() + b"\n"
        self.assertTrue(wait_until(comm), "exec not done")
        return p

    def check_ps_and_show(self, d, pid, in_ps="\\x1b]0;pwn\\x07\\nroot 1"):
        # ps shows the command line (the name is in it), show the comm
        ps = d.ctl("ps").stdout
        no_controls(self, ps, "ps")
        lines = [l for l in ps.splitlines() if l.split()[0] == str(pid)]
        self.assertEqual(len(lines), 1, ps)
        self.assertIn(in_ps, lines[0])
        self.assertFalse(any(l.startswith("root 1") for l in ps.splitlines()), ps)
        show = d.ctl("show", str(pid)).stdout
        no_controls(self, show, "show")
        self.assertIn("(\\x1b]0;pwn\\x07\\nroot 1)", show)
        # JSON: the exact bytes, escaped by JSON's own rules
        rows = [e for e in d.ctl_json("ps") if e["pid"] == pid]
        self.assertEqual(rows[0]["comm"], HOSTILE_COMM)
        self.assertEqual(d.ctl_json("show", str(pid))["comm"], HOSTILE_COMM)
        self.assertNotIn("\x1b", d.ctl("ps", "--json").stdout)

    def test_comm_from_exec_is_escaped(self):
        d = self.start()
        p = self.hostile_exec()
        self.assertTrue(wait_until(lambda: d.try_json("show", str(p.pid))), "not tracked")
        self.assertTrue(wait_until(
            lambda: d.ctl_json("show", str(p.pid))["comm"] == HOSTILE_COMM), "comm not seen")
        self.check_ps_and_show(d, p.pid)

    def test_comm_set_with_prctl_is_escaped(self):
        # renamed before the daemon starts: its /proc scan reads the name
        code = ("import ctypes,sys,time;ctypes.CDLL(None).prctl(15,sys.argv[1].encode(),0,0,0);"
                "print('ok',flush=1);time.sleep(30)")
        p = subprocess.Popen(["python3", "-c", code, HOSTILE_COMM], stdout=subprocess.PIPE)
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        self.assertEqual(p.stdout.readline(), b"ok\n")
        d = self.start()
        self.assertEqual(d.ctl_json("show", str(p.pid))["comm"], HOSTILE_COMM)
        # its command line holds the name too, cut at 127 bytes
        self.check_ps_and_show(d, p.pid, in_ps=") \\x1b]0...")

    def test_enroll_name_is_escaped_in_events(self):
        d = self.start()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.bind("")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        s.connect(d.path("memctld.sock"))
        s.settimeout(5)
        name = b"\x1b[2J\x1b[H\nforged\x9b1m\xff"  # clear, home, newline, CSI, bad UTF-8
        s.send(encode(IPC_ENROLL, ENROLL.pack(os.getpid(), 0, 4096, 65536, 1, name), seq=3))
        t, _, _ = decode(s.recv(4096))
        self.assertEqual(t, IPC_ENROLL_ACK)
        out = d.ctl("events").stdout
        no_controls(self, out, "events")
        self.assertIn("\\x1b[2J\\x1b[H\\nforged\\x9b1m\\xff enrolled itself", out)
        self.assertFalse(any(l.startswith("forged") for l in out.splitlines()), out)
        # JSON stays valid UTF-8, control characters escaped by JSON's rules
        raw = subprocess.run([MEMCTL, "--socket-dir", d.socket_dir, "events", "--json"],
                             capture_output=True, timeout=30).stdout
        raw.decode("utf-8")  # strict: no invalid byte
        self.assertNotIn(b"\x1b", raw)
        texts = [e["text"] for e in json.loads(raw) if e["kind"] == "enrolled"]
        self.assertEqual(texts, ["\x1b[2J\x1b[H\nforged\ufffd1m\ufffd enrolled itself"])

    def test_cgroup_path_is_escaped(self):
        if not os.path.isdir(V1_MEMORY):
            self.skipTest("skip: no cgroup v1 memory hierarchy")
        name = "memctl-test-cli-%d-\x1b[31mred" % os.getpid()
        cg = os.path.join(V1_MEMORY, name)
        os.mkdir(cg)
        self.addCleanup(os.rmdir, cg)
        p = subprocess.Popen(["sleep", "30"])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(p.pid))
        d = self.start()
        self.assertTrue(wait_until(lambda: any(c["path"] == "/" + name
                                               for c in d.ctl_json("cgroups"))))
        for args in (["cgroups"], ["ps"], ["show", str(p.pid)]):
            out = d.ctl(*args).stdout
            no_controls(self, out, args[0])
            self.assertIn("/memctl-test-cli-%d-\\x1b[31mred" % os.getpid(), out)


class TruthTest(DaemonTestCase):
    """What status, cgroups and ps --cgroup say is what is so."""

    def v1_cgroup_with_sleep(self, suffix=""):
        if not os.path.isdir(V1_MEMORY):
            self.skipTest("skip: no cgroup v1 memory hierarchy")
        name = "memctl-test-cli-%d%s" % (os.getpid(), suffix)
        cg = os.path.join(V1_MEMORY, name)
        os.mkdir(cg)
        self.addCleanup(os.rmdir, cg)
        p = subprocess.Popen(["sleep", "30"])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(p.pid))
        return name, p

    def test_faults_off_by_default_or_by_the_file(self):
        d = self.start()  # an empty file: every key at its default
        self.assertIn("faults=off (default)", d.status()["bpf"]["status"])
        self.assertIn("faults=off (default)", d.ctl("status").stdout)
        self.assertNotIn("disabled in config", d.ctl("status").stdout)
        d.close()
        d = self.start(config_text="[BPF]\nFaults=no\n")
        self.assertIn("faults=off(disabled in config)", d.status()["bpf"]["status"])

    def test_v1_cgroup_psi_is_not_available_not_zero(self):
        name, p = self.v1_cgroup_with_sleep()
        d = self.start()
        rows = wait_until(lambda: [c for c in d.ctl_json("cgroups") if c["path"] == "/" + name])
        self.assertTrue(rows, d.ctl_json("cgroups"))
        self.assertEqual(rows[0]["hierarchy"], 1)
        self.assertIsNone(rows[0]["psi_some_avg10_permyriad"])
        self.assertIsNone(rows[0]["psi_full_avg10_permyriad"])
        line = [l for l in d.ctl("cgroups").stdout.splitlines() if l.endswith("/" + name)]
        self.assertEqual(len(line), 1)
        self.assertIn(" n/a ", line[0])
        self.assertNotIn("0.00%", line[0])
        show = d.ctl_json("show", str(p.pid))["cgroup_detail"]
        self.assertIsNone(show["psi_some_avg10_permyriad"])

    def test_ps_cgroup_with_or_without_slash_and_no_such_cgroup(self):
        name, p = self.v1_cgroup_with_sleep()
        d = self.start()
        self.assertTrue(wait_until(lambda: any(c["path"] == "/" + name
                                               for c in d.ctl_json("cgroups"))))
        for arg in ("/" + name, name, name + "/"):
            pids = [e["pid"] for e in d.ctl_json("ps", "--cgroup", arg)]
            self.assertEqual(pids, [p.pid], arg)
            self.assertIn(" %d " % p.pid, d.ctl("ps", "--cgroup", arg).stdout)
        for arg, why in (("memctl-no-such-cgroup-%d" % os.getpid(), "no such cgroup"),
                         ("/../../etc", "not a cgroup path")):
            r = d.ctl("ps", "--cgroup", arg, check=False)
            self.assertEqual(r.returncode, 1, (arg, r.stdout))
            self.assertIn(why, r.stderr)
            self.assertEqual(r.stdout, "")
        # a cgroup that exists but holds no tracked process: an empty list is true
        empty = os.path.join(V1_MEMORY, "memctl-test-cli-%d-empty" % os.getpid())
        os.mkdir(empty)
        self.addCleanup(os.rmdir, empty)
        self.assertEqual(d.ctl_json("ps", "--cgroup", os.path.basename(empty)), [])


ARENA_FIELDS = ["logical_bytes", "resident_bytes", "compressed_bytes", "hot_bytes", "warm_bytes",
                "cold_bytes", "compressible_cold_bytes", "chunks_raw", "chunks_zero", "chunks_lz4",
                "chunks_zstd", "compress_cpu_ns", "decompress_cpu_ns", "readbacks", "stall_p50_ns",
                "stall_p99_ns", "errors", "fragmentation_permyriad", "admit_rate_permyriad"]


class ShowTest(DaemonTestCase):

    def test_show_json_has_every_arena_field(self):
        d = self.start()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.bind("")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        s.connect(d.path("memctld.sock"))
        t, _, _, ch = enroll(s, name=b"arena-fields")
        self.assertEqual(t, IPC_ENROLL_ACK)
        self.addCleanup(ch.close)
        values = list(range(1001, 1018)) + [1234, 5678]  # all distinct, permyriads <= 10000
        ch.send(encode(IPC_STATS, struct.pack("=17Q2I", *values), seq=2))
        pid = str(os.getpid())
        got = wait_until(lambda: (lambda a: a if a and a["logical_bytes"] == 1001 else None)(
            d.ctl_json("show", pid)["arena"]))
        self.assertEqual(got, dict(zip(ARENA_FIELDS, values)))
        self.assertIn("arena:", d.ctl("show", pid).stdout)
        # a process that is not enrolled: "arena" is null, not missing
        child = subprocess.Popen(["sleep", "30"])
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)
        o = wait_until(lambda: d.try_json("show", str(child.pid)))
        self.assertIsNone(o["arena"])


def v1_cgroup(testcase, suffix):
    if not os.path.isdir(V1_MEMORY):
        testcase.skipTest("skip: no cgroup v1 memory hierarchy")
    name = "memctl-test-cli-%d-%s" % (os.getpid(), suffix)
    cg = os.path.join(V1_MEMORY, name)
    os.mkdir(cg)
    testcase.addCleanup(os.rmdir, cg)
    return name, cg


def spawn(testcase, argv, cg=None, **kw):
    """A child, in cgroup cg (a v1 directory) from its first instruction."""
    pre = None
    if cg:
        def pre():
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
    p = subprocess.Popen(argv, preexec_fn=pre, **kw)
    testcase.addCleanup(p.wait)
    testcase.addCleanup(p.kill)
    return p


class PsColumnsTest(DaemonTestCase):
    """USER, %MEM, SWAP and the command line, as htop and ps users expect."""

    def row(self, d, pid):
        return wait_until(lambda: next((e for e in d.ctl_json("ps") if e["pid"] == pid), None))

    def test_user_command_line_mem_and_swap(self):
        name, cg = v1_cgroup(self, "cols")
        d = self.start()
        nobody = spawn(self, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              "sleep", "31337"], cg=cg)
        longer = spawn(self, ["sleep", "31338"] + ["0"] * 150, cg=cg)  # 311 bytes
        self.assertTrue(wait_until(lambda: [e for e in d.ctl_json("ps", "--cgroup", name)
                                            if e["cmdline"] == "sleep 31337"]))
        e = self.row(d, nobody.pid)
        self.assertEqual((e["uid"], e["user"], e["cmdline"], e["cmdline_truncated"]),
                         (65534, "nobody", "sleep 31337", False))
        with open("/proc/meminfo") as f:
            total = int(next(l for l in f if l.startswith("MemTotal:")).split()[1]) * 1024
        self.assertAlmostEqual(e["mem_percent"], 100.0 * e["rss_bytes"] / total, places=6)
        self.assertEqual(e["swap_bytes"], 0)  # no swap on this machine
        e = self.row(d, longer.pid)
        self.assertTrue(e["cmdline_truncated"])
        self.assertEqual(e["cmdline"], ("sleep 31338" + " 0" * 150)[:127])
        # the text table: the columns, and the command line cut with "..."
        out = d.ctl("ps", "--cgroup", name).stdout.splitlines()
        self.assertEqual(out[0].split(), ["PID", "PPID", "USER", "%MEM", "RSS", "SWAP", "GROWTH",
                                          "PATTERN", "FAULTS", "E", "CGROUP", "COMMAND"])
        line = next(l for l in out if l.split()[0] == str(nobody.pid))
        cols = line.split()
        self.assertEqual(cols[2], "nobody")
        self.assertRegex(cols[3], r"^\d+\.\d$")
        self.assertEqual(cols[5], "0B")
        self.assertTrue(line.endswith("/%s sleep 31337" % name), line)
        line = next(l for l in out if l.split()[0] == str(longer.pid))
        self.assertTrue(line.endswith(" 0..."), line)

    def test_command_line_kept_until_exec(self):
        name, cg = v1_cgroup(self, "exec")
        d = self.start()
        # perl's $0 rewrites its argv in place, without an exec; then it execs
        # (its comm put back, so that a resync after lost records, which takes
        # a new comm for a missed exec, keeps the identity too)
        p = spawn(self, ["perl", "-e", '$| = 1; print "a\n"; <STDIN>; $0 = "renamed-in-place"; '
                         'open(C, ">/proc/self/comm") and print C "perl" and close C; '
                         'print "b\n"; <STDIN>; exec "sleep", "31339"'],
                  cg=cg, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.assertEqual(p.stdout.readline(), b"a\n")
        # its exec record handled (records are drained every 100 ms, later
        # under load): what is read now is kept
        self.assertTrue(wait_until(lambda: self.row(d, p.pid)["comm"] == "perl", timeout=10))
        first = self.row(d, p.pid)["cmdline"]
        self.assertTrue(first.startswith("perl -e"), first)
        p.stdin.write(b"\n")
        p.stdin.flush()
        self.assertEqual(p.stdout.readline(), b"b\n")
        with open("/proc/%d/cmdline" % p.pid, "rb") as f:
            self.assertTrue(f.read().startswith(b"renamed-in-place"))
        # read once, kept: the daemon does not re-read it for every request
        self.assertEqual(self.row(d, p.pid)["cmdline"], first)
        p.stdin.write(b"\n")
        p.stdin.flush()
        # the exec record drops what was kept: the new command line shows
        self.assertTrue(wait_until(lambda: self.row(d, p.pid)["cmdline"] == "sleep 31339"),
                        self.row(d, p.pid))


class TopTest(DaemonTestCase):
    """memctl top refreshes in place in a real terminal (tmux), switches its sort
    key, quits on q and gives the screen back; without a terminal it prints."""

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.server, "-f", "/dev/null"] + list(args),
                              capture_output=True, text=True, timeout=30)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "top").stdout

    def test_top_in_tmux(self):
        if not shutil.which("tmux"):
            self.skipTest("skip: no tmux")
        name, cg = v1_cgroup(self, "top")
        d = self.start()
        marker = spawn(self, ["sleep", "31340"], cg=cg)
        self.assertTrue(wait_until(lambda: [e for e in d.ctl_json("ps", "--cgroup", name)
                                            if e["cmdline"] == "sleep 31340"]))
        self.server = os.path.join(tmpdir(self), "tmux")  # a private server, removed after
        self.addCleanup(self.tmux, "kill-server")
        cmd = "%s --socket-dir %s top --cgroup %s --delay 0.3; echo TOP-EXIT=$?; sleep 60" % (
            MEMCTL, d.socket_dir, name)
        r = self.tmux("new-session", "-d", "-s", "top", "-x", "160", "-y", "30", cmd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(wait_until(lambda: "sleep 31340" in self.screen(), timeout=10),
                        self.screen())
        first = self.screen()
        self.assertIn("memctl top - ", first)
        self.assertIn("sort rss", first)
        self.assertRegex(first, r"PID +PPID +USER +%MEM +RSS +SWAP")
        self.assertEqual(first.count("memctl top - "), 1)  # in place, not scrolled
        clock = re.search(r"memctl top - (\d\d:\d\d:\d\d)", first).group(1)
        self.assertTrue(wait_until(
            lambda: re.search(r"memctl top - (\d\d:\d\d:\d\d)", self.screen()).group(1)
            != clock, timeout=5), "no refresh")
        self.assertEqual(self.screen().count("memctl top - "), 1)
        self.tmux("send-keys", "-t", "top", "f")
        self.assertTrue(wait_until(lambda: "sort faults" in self.screen()), self.screen())
        self.tmux("send-keys", "-t", "top", "q")
        self.assertTrue(wait_until(lambda: "TOP-EXIT=0" in self.screen()), self.screen())
        # the alternate screen is gone: the shell's screen is back, without top
        self.assertNotIn("memctl top - ", self.screen())

    def test_top_without_a_terminal_prints(self):
        name, cg = v1_cgroup(self, "batch")
        d = self.start()
        spawn(self, ["sleep", "31341"], cg=cg)
        self.assertTrue(wait_until(lambda: d.ctl_json("ps", "--cgroup", name)))
        r = subprocess.run([MEMCTL, "--socket-dir", d.socket_dir, "top", "--cgroup", name,
                            "--iterations", "2", "--delay", "0.2"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("memctl top - "), 2)
        self.assertIn("sleep 31341", r.stdout)
        self.assertNotIn("\x1b", r.stdout)  # no escape sequences into a pipe
        r = d.ctl("top", "--json", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ps --json", r.stderr)


class MakeRunTest(DaemonTestCase):
    """make run is what README says: a private socket directory under the build
    directory, no configuration file unless CONFIG= names one."""

    def make_run(self, *extra):
        # output to a file: a pipe nobody reads would fill and block the daemon
        log = open(os.path.join(tmpdir(self), "make-run.log"), "w+")
        self.addCleanup(log.close)
        p = subprocess.Popen(["make", "-C", TOP, "--no-print-directory", "BUILD=" + BUILD, "run"]
                             + list(extra), stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)

        def stop():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)  # make and its memctld
                p.wait(timeout=15)
        self.addCleanup(stop)
        sock = os.path.join(BUILD, "run", "control.sock")
        ok = wait_until(lambda: os.path.exists(sock) or p.poll() is not None, timeout=120)
        log.seek(0)
        self.assertTrue(ok and p.poll() is None, "no socket at %s: %s" % (sock, log.read()))
        return p, os.path.join(BUILD, "run")

    def memctld_args(self, run_dir):
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().decode().split("\0")
            except (OSError, ValueError):
                continue
            if argv[0] == os.path.join(BUILD, "memctld") and "--socket-dir=" + run_dir in argv:
                return argv
        return None

    def test_make_run_is_private_and_config_free(self):
        p, run_dir = self.make_run()
        argv = self.memctld_args(run_dir)
        self.assertIsNotNone(argv, "no memctld with --socket-dir=%s" % run_dir)
        self.assertIn("--config=/dev/null", argv)
        r = subprocess.run([MEMCTL, "--socket-dir", run_dir, "status", "--json"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(json.loads(r.stdout)["dry_run"])
        os.killpg(p.pid, signal.SIGTERM)  # as Ctrl-C would, to make and memctld
        p.wait(timeout=15)
        self.assertTrue(wait_until(lambda: self.memctld_args(run_dir) is None), "still running")
        self.assertFalse(os.path.exists(os.path.join(run_dir, "control.sock")))

    def test_make_run_config(self):
        conf = os.path.join(tmpdir(self), "memctld.conf")
        with open(conf, "w") as f:
            f.write("[Daemon]\nDryRun=yes\n")
        p, run_dir = self.make_run("CONFIG=" + conf)
        self.assertIn("--config=" + conf, self.memctld_args(run_dir))
        r = subprocess.run([MEMCTL, "--socket-dir", run_dir, "status", "--json"],
                           capture_output=True, text=True, timeout=30)
        self.assertTrue(json.loads(r.stdout)["dry_run"])


if __name__ == "__main__":
    main()
