#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_hardening_control.py: memctld's control socket and its own
resources against a hostile local user (issue 9, items 3-6): connection caps, root's
reserve and the idle timeout; log floods and accept() backing off on EMFILE; the file
limit; CTL_LIST sorted by faults hammered during a fork storm. Attackers run as nobody."""
import errno
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import unittest

from harness import DaemonTestCase, HDR, IPC_VERSION, MEMCTL, decode, main, wait_until

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

# What a user without privileges runs against the control socket (argv: socket path,
# command, arguments); one JSON line per report on stdout.
ATTACKER = r'''
import json, select, socket, struct, sys, time
HDR = struct.Struct("=IHHII")
ERR = struct.Struct("=iIHH96s")
path, cmd = sys.argv[1], sys.argv[2]

def error_of(buf):
    if len(buf) >= HDR.size + ERR.size and struct.unpack_from("=H", buf, 6)[0] == 8:
        code, _, _, _, msg = ERR.unpack_from(buf, HDR.size)
        return [code, msg.split(b"\0")[0].decode()]
    return ["other", len(buf)]

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    return s

if cmd == "hold":
    # open N connections, say which the daemon refused, keep the rest idle
    conns = [connect() for _ in range(int(sys.argv[3]))]
    time.sleep(0.5)
    res = []
    for s in conns:
        if not select.select([s], [], [], 0)[0]:
            res.append(None)
            continue
        b = s.recv(65536)
        res.append(error_of(b) if b else ["eof"])
    print(json.dumps(res), flush=True)
    line = sys.stdin.readline().split()
    if line and line[0] == "watch":
        # how and when the idle ones are closed
        t0 = time.monotonic()
        deadline = t0 + float(line[1])
        left = [s for s, r in zip(conns, res) if r is None]
        closed = []
        while left and time.monotonic() < deadline:
            for s in select.select(left, [], [], max(0, deadline - time.monotonic()))[0]:
                b = s.recv(65536)
                closed.append([time.monotonic() - t0] + (error_of(b) if b else ["eof"]))
                left.remove(s)
        print(json.dumps({"closed": closed, "open": len(left)}), flush=True)
        sys.stdin.readline()
elif cmd == "flood":
    # connect and close as fast as we can
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < float(sys.argv[3]):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.connect(path)
            n += 1
        except OSError:
            pass
        s.close()
    print(json.dumps({"connects": n}), flush=True)
elif cmd == "list":
    # CTL_LIST (34) with this sort key, again and again on one connection
    sort = int(sys.argv[4])
    req = HDR.pack(0x4C54434D, 2, 34, HDR.size + 264, 1) + struct.pack("=II256s", 0, sort, b"")
    s = connect()
    s.settimeout(60)
    n, other, t0 = 0, 0, time.monotonic()
    while time.monotonic() - t0 < float(sys.argv[3]):
        s.send(req)
        b = s.recv(65536)
        if struct.unpack_from("=H", b, 6)[0] == 35:
            n += 1
        else:
            other += 1
    print(json.dumps({"replies": n, "other": other}), flush=True)
'''

# perl forks an order of magnitude faster than python (a 3,000-child hold in
# 0.7 s here) and is in every Debian base system
PERL_SLEEPERS = 'for (1..$ARGV[0]) { my $p = fork; if (defined $p && !$p) { sleep 600; exit 0 } } ' \
                'print "ready\\n"; $| = 1; sleep 600'
# N forks at about R per second (each child exits at once): fork and exit records
PERL_STORM = 'use POSIX; use Time::HiRes qw(usleep time); my $t0 = time; ' \
             'for my $i (1..$ARGV[0]) { my $p = fork; POSIX::_exit(0) if defined $p && !$p; ' \
             'while (waitpid(-1, WNOHANG) > 0) {} my $ahead = $t0 + $i / $ARGV[1] - time; ' \
             'usleep($ahead * 1e6) if $ahead > 0 } 1 while wait != -1'


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ControlHardeningTest(DaemonTestCase):

    def start_private(self, config_text="", **kw):
        d = self.start(config_text=config_text, **kw)
        os.chmod(d.dir, 0o755)  # nobody must reach the socket
        return d

    def attacker(self, *args, uid=65534):
        who = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"]
        p = subprocess.Popen(who + [sys.executable, "-c", ATTACKER, self.d.path("control.sock")] +
                             [str(a) for a in args], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        def stop():
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdin.close()
            p.stdout.close()
        self.addCleanup(stop)
        return p

    def report(self, p, timeout=30):
        r, _, _ = select.select([p.stdout], [], [], timeout)
        self.assertTrue(r, "attacker said nothing within %ds" % timeout)
        line = p.stdout.readline()
        self.assertTrue(line, "attacker exited (%s)" % p.poll())
        return json.loads(line)

    def group(self, script, *args):
        """A perl process tree in its own process group, killed at cleanup."""
        p = subprocess.Popen(["perl", "-e", script] + [str(a) for a in args],
                             stdout=subprocess.PIPE, text=True, start_new_session=True)

        def kill():
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
            p.stdout.close()
        self.addCleanup(kill)
        return p, kill

    def log_lines(self):
        return self.d.log().count("\n")

    def test_idle_connections_capped_per_user_and_closed(self):
        d = self.start_private("[Control]\nIdleTimeoutSec=3s\n")
        a = self.attacker("hold", 70)
        res = self.report(a)
        held = [r for r in res if r is None]
        refused = [r for r in res if r is not None]
        # 64 idle connections by nobody used to take every slot
        self.assertEqual(len(held), 8, res)
        for r in refused:
            self.assertEqual(r[0], -errno.EUSERS, r)
            self.assertIn("MaxConnectionsPerUser=8", r[1])
        # root is answered; nobody's next call gets a clear error
        st = d.status()
        self.assertEqual(st["control"]["refused"], 62)
        r = subprocess.run(NOBODY + [MEMCTL, "--socket-dir", d.socket_dir, "status"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("too many control connections for this user", r.stderr)
        # the idle ones are closed after the timeout, each told why
        a.stdin.write("watch 10\n")
        a.stdin.flush()
        w = self.report(a)
        self.assertEqual(w["open"], 0, w)
        self.assertEqual(len(w["closed"]), 8)
        for c in w["closed"]:
            self.assertEqual(c[1], -errno.ETIMEDOUT, c)
            self.assertIn("IdleTimeoutSec=", c[2])
        self.assertGreaterEqual(d.status()["control"]["idle_closed"], 8)
        # and the user has its connections back
        r = subprocess.run(NOBODY + [MEMCTL, "--socket-dir", d.socket_dir, "status"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_root_reserve_when_users_fill_the_table(self):
        d = self.start_private("[Control]\nMaxConnections=12\nMaxConnectionsPerUser=4\n"
                               "IdleTimeoutSec=60s\n")
        a = self.attacker("hold", 6, uid=65534)
        self.assertEqual([r for r in self.report(a) if r is None], [None] * 4)
        b = self.attacker("hold", 4, uid=65533)
        self.assertEqual(self.report(b), [None] * 4)
        # 8 of 12 taken by users: the other 4 are root's
        c = self.attacker("hold", 2, uid=65532)
        for r in self.report(c):
            self.assertEqual(r[0], -errno.EBUSY, r)
            self.assertIn("kept for root", r[1])
        mine = []
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(d.path("control.sock"))
            mine.append(s)
            self.addCleanup(s.close)
        st = d.status()  # root's fourth
        self.assertEqual(st["control"]["refused"], 2 + 2)
        for s in mine:
            self.assertFalse(select.select([s], [], [], 0)[0], "root's connection refused")

    def test_connect_flood_against_a_full_table_logs_little(self):
        d = self.start_private()
        # nobody holds all it can get: the table is full for it
        a = self.attacker("hold", 70)
        self.assertTrue(any(r is not None for r in self.report(a)))
        before = self.log_lines()
        f = self.attacker("flood", 5)
        n = self.report(f, timeout=60)["connects"]
        self.assertGreater(n, 1000, "the flood did not flood")
        # was one warning per connection: 409,663 lines in 5 s
        grown = self.log_lines() - before
        self.assertLess(grown, 50, d.log()[-2000:])
        self.assertEqual(d.status()["pid"], d.proc.pid)
        self.assertGreaterEqual(d.status()["control"]["refused"], n)
        # when the 10 s window closes, one line says how many were suppressed
        self.assertTrue(wait_until(lambda: "Suppressed" in d.log(), timeout=15), d.log()[-2000:])
        self.assertRegex(d.log(), r"Suppressed \d+ similar message\(s\) within 10\.0s of: "
                                  r"Refused a control connection from pid \d+ \(uid 65534\)")

    def test_accept_emfile_backs_off_and_recovers(self):
        d = self.start_private()
        pid = d.proc.pid
        soft = int(open("/proc/%d/limits" % pid).read().split("Max open files")[1].split()[0])
        nfds = len(os.listdir("/proc/%d/fd" % pid))
        subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:" % nfds], check=True)
        self.addCleanup(lambda: subprocess.run(["prlimit", "--pid", str(pid),
                                                "--nofile=%d:" % soft]))
        before, cpu0, t0 = self.log_lines(), cpu_seconds(pid), time.monotonic()
        # queued connections the daemon cannot accept, one with a request in it
        waiting = []
        for i in range(5):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(d.path("control.sock"))
            self.addCleanup(s.close)
            waiting.append(s)
        waiting[0].send(HDR.pack(0x4C54434D, IPC_VERSION, 32, HDR.size, 7))
        time.sleep(5)
        cpu, elapsed = cpu_seconds(pid) - cpu0, time.monotonic() - t0
        # was 1.7 M lines in 10 s, at 100% of a core
        grown = self.log_lines() - before
        self.assertLess(grown, 50, d.log()[-2000:])
        self.assertIn("Too many open files", d.log())
        self.assertLess(cpu, elapsed / 2, "spinning: %.2fs of CPU in %.2fs" % (cpu, elapsed))
        subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:" % soft], check=True)
        # the queued request is answered, and new ones are
        waiting[0].settimeout(10)
        t, seq, _ = decode(waiting[0].recv(65536))
        self.assertEqual((t, seq), (33, 7))
        self.assertEqual(d.status()["pid"], pid)

    def children(self, p):
        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
            return {int(x) for x in f.read().split()}

    def all_listed(self, pids):
        listed = {x["pid"] for x in self.d.ctl_json("ps")}
        return pids <= listed

    def test_file_limit_pins_what_it_can_and_recovers(self):
        # a hard limit with room for ~600 pidfds beyond what this shared machine
        # runs now (the daemon keeps ~250 fds for itself, and 576 for the
        # profiler's processes: PROFILER_FDS_MAX), then 1,000 sleepers
        # more than fit. Other users' processes come and go meanwhile: the
        # checks are against the daemon's own figures, not fixed counts.
        hard = sum(n.isdigit() for n in os.listdir("/proc")) + 850 + 576
        d = self.start_private(wrap=["prlimit", "--nofile=100:%d" % hard, "--"])
        st = d.status()
        n = max(1000, st.get("files", {}).get("pidfd_max", 0) - st["processes_tracked"] + 1000)
        p, kill = self.group(PERL_SLEEPERS, n)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        kids = self.children(p)
        self.assertEqual(len(kids), n)
        # answering all along (it used to stop accepting at the file limit)
        self.assertTrue(wait_until(lambda: self.all_listed(kids), timeout=30, interval=0.3),
                        "%d sleepers not tracked: %s" % (n, d.status()))
        for _ in range(5):
            self.assertEqual(d.status()["pid"], d.proc.pid)
        st = d.status()
        # the soft limit was raised to the hard one
        self.assertEqual(st["files"]["limit"], hard)
        pin_max = st["files"]["pidfd_max"]
        self.assertGreater(pin_max, 0)
        self.assertLess(pin_max, hard - 128)
        # tracked all the same: the budget used, the excess without a pidfd
        unpinned = st["files"]["processes_unpinned"]
        pinned = st["processes_tracked"] - unpinned
        self.assertGreater(unpinned, 0, st)
        self.assertLessEqual(pinned, pin_max)
        self.assertGreater(pinned, pin_max - 50)
        self.assertLess(len(os.listdir("/proc/%d/fd" % d.proc.pid)), hard)
        # said once, and shown
        self.assertEqual(d.log().count("File limit: "), 1, d.log()[-2000:])
        self.assertIn("tracked without one (file limit reached)", d.ctl("status").stdout)

        def budget_used(s):
            # every process pinned, or as many as the budget allows
            return s["files"]["processes_unpinned"] <= max(
                0, s["processes_tracked"] - s["files"]["pidfd_max"])
        # their exits are seen without pidfds (BPF exit records), and pinning resumes
        kill()
        st = wait_until(lambda: (lambda s: s if budget_used(s) and not kids & {
            x["pid"] for x in d.ctl_json("ps")} else None)(d.status()), timeout=30, interval=0.3)
        self.assertIsNotNone(st, d.status())
        if st["files"]["processes_unpinned"] == 0:
            self.assertIn("pinned by a pidfd again", d.log())
        p, kill = self.group(PERL_SLEEPERS, 50)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        kids = self.children(p)
        st = wait_until(lambda: (lambda s: s if budget_used(s) and self.all_listed(kids) else
                                 None)(d.status()), timeout=30, interval=0.3)
        self.assertIsNotNone(st, d.status())
        kill()

    def test_list_flood_during_fork_storm_loses_no_records(self):
        # a ring the storm alone does not overflow (checked with no clients):
        # 1,170 records, over half a second of this storm
        d = self.start_private("[BPF]\nRingBufferSize=64K\n")
        # 10,000 processes made a sort by faults cost 112 ms of daemon time
        p, kill = self.group(PERL_SLEEPERS, 10000)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        self.assertTrue(wait_until(lambda: d.status()["processes_tracked"] >= 10000, timeout=60))
        time.sleep(1)  # their fork burst drained, any resync done
        base = d.status()
        attackers = [self.attacker("list", 8, 3) for _ in range(8)]  # 3 = IPC_SORT_FAULTS
        time.sleep(1)
        # 3,000 forks (6,000 records) in about 3 s
        storm, _ = self.group(PERL_STORM, 3000, 1000)
        calls = []  # root's status calls meanwhile: did each get an answer
        while storm.poll() is None:
            calls.append(d.ctl("status", "--json", check=False).returncode == 0)
            time.sleep(0.1)
        reports = [self.report(a, timeout=60) for a in attackers]
        st = d.status()
        # today's daemon lost 3,500-4,500 records here (885 in issue 9's run); a
        # few may still go on a machine this loaded, not more
        lost = st["events"]["lost"] - base["events"]["lost"]
        self.assertLess(lost, 60, (st["events"], reports))
        self.assertTrue(all(calls), calls)
        self.assertTrue(all(r["replies"] > 0 for r in reports), reports)
        self.assertGreaterEqual(st["events"]["fork"] - base["events"]["fork"] + lost, 3000)
        # served fairly: each client got answers, and the user was held to its quota
        self.assertGreater(st["control"]["paced"], 0)
        kill()

if __name__ == "__main__":
    main()
