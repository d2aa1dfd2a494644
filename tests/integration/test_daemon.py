#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_daemon.py: the real memctld (real BPF, real sockets):
readiness, lifecycle counts, hostile datagrams, config errors and reload,
missing tracepoints, watchdog, socket activation, privileges, enrollment."""
import errno
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

from harness import (DaemonTestCase, Daemon, ENROLL, ENROLL_ACK, ERROR, HDR, IPC_VERSION, IPC_BYE, IPC_ENROLL, IPC_ENROLL_ACK,
                     IPC_ERROR, IPC_STATS, MEMCTL, MEMCTLD, decode, encode, enroll, main,
                     require_root, wait_until)


class DaemonTest(DaemonTestCase):

    def dgram(self, bind=True):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if bind:
            s.bind("")  # autobind, so the daemon can answer
        s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        s.connect(self.d.path("memctld.sock"))
        s.settimeout(5)
        self.addCleanup(s.close)
        return s

    def test_lifecycle_events_hostile_datagrams_and_clean_stop(self):
        d = self.start()
        base = d.status()["events"]
        self.assertIn("lifecycle=loaded", d.status()["bpf"]["status"])
        procs = [subprocess.Popen(["/bin/true"]) for _ in range(50)]
        for p in procs:
            p.wait()
        st = wait_until(lambda: (lambda s: s if s["events"]["exec"] - base["exec"] >= 50 and
                                 s["events"]["exit"] - base["exit"] >= 50 else None)(d.status()))
        self.assertIsNotNone(st, "50 exec and 50 exit events not seen: %s" % d.status())
        self.assertGreaterEqual(st["events"]["fork"] - base["fork"], 50)
        self.assertEqual(st["events"]["lost"], 0)

        rng = random.Random(1)
        bound, unbound = self.dgram(True), self.dgram(False)
        kinds = [
            lambda: b"",
            lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))),
            lambda: b"\0" * 70000,  # larger than IPC_MSG_MAX
            lambda: encode(IPC_ENROLL, ENROLL.pack(os.getpid(), 0, 1, 65536, 1, b"x")[:-5]),
            lambda: encode(IPC_ENROLL, ENROLL.pack(os.getpid(), 0, 1, 65536, 1, b"x"))[:-5],
            lambda: encode(IPC_ENROLL, ENROLL.pack(os.getpid(), 0, 1, 65536, 1, b"x"), version=9),
            lambda: encode(IPC_ENROLL, ENROLL.pack(os.getpid(), 0, 1, 65536, 1, b"x"), magic=1),
            lambda: encode(999, b""),
            lambda: encode(IPC_ENROLL, ENROLL.pack(os.getpid(), 0, 1, 65536, 1, b"x"), length=9999),
            lambda: encode(IPC_ENROLL, ENROLL.pack(os.getpid(), 0, 1, 65536, 1, b"x" * 32)),
            lambda: encode(IPC_ENROLL, ENROLL.pack(os.getpid(), 0, 1, 12345, 1, b"x")),
            lambda: encode(IPC_ENROLL_ACK, ENROLL_ACK.pack(1, 1000, 0, 0, 0, 10000, 0)),  # wrong direction
            lambda: encode(IPC_STATS, b"\0" * 144),  # not enrolled
        ]
        for i in range(1000):
            (bound if i % 2 else unbound).send(kinds[(i // 2) % len(kinds)]())
        st = wait_until(lambda: (lambda s: s if s["datagrams_rejected"] >= 1000 else None)(d.status()))
        self.assertIsNotNone(st, "rejections not counted: %s" % d.status())
        self.assertEqual(st["datagrams_rejected"], 1000)
        self.assertEqual(d.proc.poll(), None)
        # a bound sender gets an ERROR naming the problem; drain what it was sent
        bound.settimeout(0.5)
        codes = set()
        try:
            while True:
                t, _, body = decode(bound.recv(70000))
                self.assertEqual(t, IPC_ERROR)
                codes.add(ERROR.unpack(body)[0])
        except socket.timeout:
            pass
        for e in (errno.EMSGSIZE, errno.EBADMSG, errno.EPROTO, errno.ENOMSG, errno.EILSEQ,
                  errno.ERANGE, errno.EINVAL, errno.ENOENT, errno.EBADRQC):
            self.assertIn(-e, codes, "no ERROR with -%s" % errno.errorcode[e])
        # and still answers
        self.assertEqual(d.status()["version"], d.ctl("--version").stdout.split()[1])

        self.assertEqual(d.stop(), 0)
        self.assertFalse(os.path.exists(d.path("memctld.sock")))
        self.assertFalse(os.path.exists(d.path("control.sock")))
        self.assertIn("stopping", d.log().lower())

    def test_workload_enroll_stats_bye_over_datagrams(self):
        d = self.start()
        s = self.dgram()
        s.send(encode(IPC_ENROLL, ENROLL.pack(os.getpid() + 1, 0, 4096, 65536, 3, b"liar"), seq=7))
        t, seq, body = decode(s.recv(4096))
        self.assertEqual((t, seq), (IPC_ERROR, 7))
        self.assertEqual(ERROR.unpack(body)[0], -errno.EPERM)

        t, seq, body, ch = enroll(s, seq=8)
        self.assertEqual((t, seq), (IPC_ENROLL_ACK, 8))
        self.assertIsNotNone(ch, "ENROLL_ACK carries the enrollment's channel")
        self.addCleanup(ch.close)
        enrollment_id, interval_ms, flags, readback, _, readback_cost, _ = ENROLL_ACK.unpack(body)
        self.assertEqual(readback_cost, 10000)  # no resctrl here: no bandwidth pressure
        self.assertGreater(enrollment_id, 0)
        self.assertEqual(interval_ms, 250)
        self.assertEqual(d.status()["enrolled"], 1)
        # after the ACK, STATS and BYE belong on the channel, not the shared socket
        s.send(encode(IPC_STATS, b"\0" * 144, seq=9))
        t, seq, body = decode(s.recv(4096))
        self.assertEqual((t, seq, ERROR.unpack(body)[0]), (IPC_ERROR, 9, -errno.EBADRQC))
        ch.send(encode(IPC_STATS, b"\0" * 144, seq=10))
        ch.send(encode(IPC_BYE, struct.pack("=II", 0, 0), seq=11))
        self.assertTrue(wait_until(lambda: d.status()["enrolled"] == 0))
        kinds = [e["kind"] for e in d.ctl_json("events")]
        self.assertIn("enrolled", kinds)
        self.assertIn("unenrolled", kinds)
        self.assertEqual(d.status()["datagrams_rejected"], 2)

    def test_cli_enroll_owner_check_and_pidfd_exit(self):
        d = self.start()
        os.chmod(d.dir, 0o755)
        child = subprocess.Popen(["sleep", "30"])
        self.addCleanup(child.kill)
        r = d.ctl("enroll", str(child.pid))
        self.assertIn("enrolled %d" % child.pid, r.stdout)
        r = d.ctl("enroll", str(child.pid), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already enrolled", r.stderr)
        r = d.ctl("enroll", "12abc", check=False)
        self.assertIn("Invalid PID", r.stderr)
        r = d.ctl("enroll", "4194303", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no such process", r.stderr)
        # another user may read status but not unenroll root's process
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        r = subprocess.run(nobody + [MEMCTL, "--socket-dir", d.socket_dir, "status"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(nobody + [MEMCTL, "--socket-dir", d.socket_dir, "unenroll",
                                     str(child.pid)], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("permission denied", r.stderr)
        self.assertEqual(d.status()["enrolled"], 1)
        # the pidfd tells the daemon the process is gone
        child.kill()
        child.wait()
        self.assertTrue(wait_until(lambda: d.status()["enrolled"] == 0, timeout=2))
        r = d.ctl("unenroll", str(child.pid), check=False)
        self.assertIn("not enrolled", r.stderr)

    def test_not_running_is_one_clear_line(self):
        r = subprocess.run([MEMCTL, "--socket-dir", "/nonexistent-memctld", "status"],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stderr.strip(),
                         "memctl: memctld is not running: no socket at /nonexistent-memctld/control.sock")

    def test_invalid_config_refuses_to_start(self):
        d = self.d = Daemon(config_text="[Daemon]\nLogLevel=info\nTickIntervalSec=fast\n")
        self.assertEqual(d.proc.wait(timeout=10), 1)
        self.assertIn("memctld.conf:3: invalid value for TickIntervalSec= in [Daemon]", d.log())
        r = subprocess.run([MEMCTLD, "--check-config", "--config", d.config],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("TickIntervalSec", r.stderr)

    def test_unknown_key_warns_and_runs(self):
        d = self.start(config_text="[Daemon]\nColour=blue\n")
        self.assertIn('unknown key "Colour" in section [Daemon]', d.log())
        self.assertEqual(d.status()["dry_run"], False)

    def test_sighup_reload_good_then_bad(self):
        d = self.start(config_text="[Daemon]\nDryRun=no\n")
        with open(d.config, "w") as f:
            f.write("[Daemon]\nDryRun=yes\n")
        d.notify_msgs.clear()
        d.proc.send_signal(signal.SIGHUP)
        d.wait_notify("RELOADING=1")
        d.wait_notify("READY=1")
        self.assertTrue(d.status()["dry_run"])
        with open(d.config, "w") as f:
            f.write("[Daemon]\nDryRun=perhaps\n")
        d.notify_msgs.clear()
        d.proc.send_signal(signal.SIGHUP)
        d.wait_notify("READY=1")
        self.assertIsNone(d.proc.poll())
        self.assertTrue(d.status()["dry_run"])
        self.assertIn("keeping the running one", d.log())
        self.assertEqual([e["kind"] for e in d.ctl_json("events")].count("config-reloaded"), 1)

    def _reload(self, d, text):
        with open(d.config, "w") as f:
            f.write(text)
        d.notify_msgs.clear()
        d.proc.send_signal(signal.SIGHUP)
        d.wait_notify("READY=1")

    def _touch(self, mib):
        # a child that touches mib MiB of fresh memory in 4 KiB pages and exits
        subprocess.run([sys.executable, "-c",
                        f"b = bytearray({mib} << 20)\n"
                        f"for i in range(0, len(b), 4096): b[i] = 1\n"], check=True)

    def test_reload_switches_loaded_programs_off_and_on(self):
        d = self.start()
        st = d.status()
        self.assertIn("rss=loaded", st["bpf"]["status"])
        self.assertIn("faults=off (default)", st["bpf"]["status"])
        mask_all = st["bpf"]["programs_loaded_mask"]

        self._reload(d, "[BPF]\nRSS=no\nLifecycle=no\n")
        st = d.status()
        self.assertIn("rss=off(switched off by a reload)", st["bpf"]["status"])
        self.assertIn("lifecycle=off(switched off by a reload)", st["bpf"]["status"])
        self.assertEqual(st["bpf"]["programs_loaded_mask"], mask_all & ~0b11)
        raw0, exec0, resyncs0 = st["events"]["rss_raw"], st["events"]["exec"], st["resyncs"]
        self._touch(64)
        for _ in range(5):
            subprocess.run(["/bin/true"])
        time.sleep(0.3)
        st = d.status()
        # detached: no event reaches the daemon (counters are the kernel's own)
        self.assertEqual(st["events"]["rss_raw"], raw0)
        self.assertEqual(st["events"]["exec"], exec0)
        self.assertIn("switched off", d.log())

        # on again: the same programs count again, the table is resynchronised
        self._reload(d, "[BPF]\nRSS=yes\nLifecycle=yes\n")
        st = d.status()
        self.assertIn("rss=loaded", st["bpf"]["status"])
        self.assertEqual(st["bpf"]["programs_loaded_mask"], mask_all)
        self._touch(64)
        for _ in range(5):
            subprocess.run(["/bin/true"])
        self.assertTrue(wait_until(lambda: d.status()["events"]["rss_raw"] >= raw0 + 16384
                                   and d.status()["events"]["exec"] >= exec0 + 5),
                        d.status()["events"])
        self.assertEqual(st["resyncs"], resyncs0 + 1)  # exec/exit went unseen meanwhile

        # a program not loaded at start needs a restart: refused, stays off
        self._reload(d, "[BPF]\nFaults=yes\n")
        st = d.status()
        self.assertIn("faults=off (default)", st["bpf"]["status"])
        self.assertIn("Faults=yes takes effect at the next restart", d.log())
        self.assertIsNone(d.proc.poll())

    def test_missing_tracepoint_disables_with_one_warning(self):
        d = self.start(env={"MEMCTLD_TEST_MISSING_TRACEPOINTS": "sched_process_fork"})
        st = d.status()
        self.assertIn("partial: missing sched_process_fork", st["bpf"]["status"])
        for _ in range(5):
            subprocess.run(["/bin/true"])
        self.assertTrue(wait_until(lambda: d.status()["events"]["exit"] >= 5))
        self.assertEqual(d.status()["events"]["fork"], 0)
        warnings = [l for l in d.log().splitlines() if "warning" in l]
        self.assertEqual(sum("sched_process_fork" in l for l in warnings), 1, warnings)
        d.stop()

        # every lifecycle tracepoint, rss_stat and page faults gone: those
        # programs are off, reclaim still loads, the daemon still answers
        d2 = Daemon(config_text="[BPF]\nFaults=yes\n", env={"MEMCTLD_TEST_MISSING_TRACEPOINTS":
                         "sched_process_exec,sched_process_fork,sched_process_exit,"
                         "cgroup_attach_task,rss_stat,page_fault_user,mark_victim"})
        self.addCleanup(d2.close)
        d2.wait_notify("READY=1")
        st = d2.status()
        self.assertEqual(st["bpf"]["programs_loaded_mask"], 1 << 2)
        self.assertIn("lifecycle=off(tracepoints missing", st["bpf"]["status"])
        self.assertIn("rss=off(tracepoints missing: rss_stat", st["bpf"]["status"])
        self.assertIn("faults=off(tracepoint missing: page_fault_user)", st["bpf"]["status"])
        self.assertIn("oom=off(", st["bpf"]["status"])  # the string is cut at 255 bytes
        self.assertIn("reclaim=loaded", st["bpf"]["status"])
        # without BPF, the /proc scan still fills the table
        self.assertGreater(st["processes_tracked"], 0)

    def test_config_disables_program(self):
        d = self.start(config_text="[BPF]\nLifecycle=no\n")
        st = d.status()
        self.assertIn("lifecycle=off(disabled in config)", st["bpf"]["status"])
        # the page-fault program is off unless asked for (docs/benchmarks.md)
        self.assertIn("faults=off (default)", st["bpf"]["status"])
        self.assertNotIn("warning", d.log())

    def control(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(5)
        s.connect(self.d.path("control.sock"))
        self.addCleanup(s.close)
        return s

    def test_hostile_control_requests_get_errors(self):
        d = self.start()
        c = self.control()
        cases = [
            (b"\0" * 3, errno.EBADMSG),
            (encode(32, version=IPC_VERSION + 1), errno.EPROTO),
            (encode(999), errno.ENOMSG),
            (encode(32, b"\0" * 8), errno.EINVAL),  # STATUS takes no body
            (encode(36, struct.pack("=II", 0, 0)), errno.ERANGE),  # SHOW pid 0
            (encode(34, struct.pack("=II", 0, 0) + b"x" * 256), errno.EILSEQ),  # unterminated
            (encode(IPC_ENROLL, ENROLL.pack(os.getpid(), 0, 1, 65536, 1, b"x")), errno.EBADRQC),
            (b"\0" * 70000, errno.EMSGSIZE),
        ]
        for msg, want in cases:
            c.send(msg)
            t, _, body = decode(c.recv(70000))
            self.assertEqual(t, IPC_ERROR, msg[:32])
            self.assertEqual(ERROR.unpack(body)[0], -want, errno.errorcode[want])
        # the same connection still works, and so does the daemon
        c.send(encode(32, seq=77))
        t, seq, _ = decode(c.recv(70000))
        self.assertEqual((t, seq), (33, 77))
        # connections are capped: the 65th is refused, the daemon lives on
        conns = [self.control() for _ in range(64)]
        extra = self.control()
        t, seq, body = decode(extra.recv(70000))  # told why, then closed
        self.assertEqual((t, seq), (IPC_ERROR, 0))
        self.assertEqual(ERROR.unpack(body)[0], -errno.EBUSY)
        r = d.ctl("status", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("too many control connections", r.stderr)
        for s in conns:
            s.close()
        self.assertTrue(wait_until(lambda: d.ctl("status", check=False).returncode == 0))
        self.assertEqual(d.status()["pid"], d.proc.pid)  # the same daemon still answers

    def test_enrollments_capped_per_user(self):
        d = self.start(config_text="[Enroll]\nMaxPerUser=2\n")
        kids = [subprocess.Popen(["sleep", "30"]) for _ in range(3)]
        for k in kids:
            self.addCleanup(lambda k=k: (k.kill(), k.wait()))
        d.ctl("enroll", str(kids[0].pid))
        d.ctl("enroll", str(kids[1].pid))
        r = d.ctl("enroll", str(kids[2].pid), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("too many enrollments", r.stderr)
        self.assertEqual(d.status()["enrolled"], 2)
        d.ctl("unenroll", str(kids[0].pid))
        d.ctl("enroll", str(kids[2].pid))
        self.assertEqual(d.status()["enrolled"], 2)

    def test_tick_keeps_running(self):
        # STATUS= goes out every tick: several in a few seconds, not just one
        d = self.start(config_text="[Daemon]\nTickIntervalSec=200ms\n")
        d.notify_msgs.clear()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and \
                sum("STATUS=" in m for m in d.notify_msgs) < 5:
            time.sleep(0.05)  # the harness's reader thread collects them
        self.assertGreaterEqual(sum("STATUS=" in m for m in d.notify_msgs), 5, d.notify_msgs)

    def test_watchdog_pings(self):
        d = self.start(watchdog_usec=200000)
        d.notify_msgs.clear()
        d.wait_notify("WATCHDOG=1", timeout=3)

    def test_second_instance_refused(self):
        d = self.start()
        d2 = Daemon()
        self.addCleanup(d2.close)
        d2.proc.kill()
        d2.proc.wait()
        r = subprocess.run([MEMCTLD, "--socket-dir", d.socket_dir, "--config", d.config],
                           capture_output=True, text=True, timeout=15)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Another memctld is already running", r.stderr)
        self.assertEqual(d.status()["pid"], d.proc.pid)  # the same daemon still answers
        self.assertTrue(os.path.exists(d.path("control.sock")))

    def test_without_capabilities_names_the_missing_one(self):
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            MEMCTLD, "--socket-dir", "/tmp/memctld-nocap"],
                           capture_output=True, text=True, timeout=15)
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing capability CAP_BPF", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)

    def test_socket_activation(self):
        import tempfile
        tmp = tempfile.mkdtemp(prefix="memctld-sa-")
        self.addCleanup(subprocess.run, ["rm", "-rf", tmp])
        dg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        dg.bind(os.path.join(tmp, "memctld.sock"))
        ct = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ct.bind(os.path.join(tmp, "control.sock"))
        ct.listen(8)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(os.path.join(tmp, "notify"))
        notify.settimeout(10)
        fds = (dg.fileno(), ct.fileno())

        def child_setup():
            # via high fds, so neither dup2 clobbers the other's source
            os.dup2(fds[0], 100)
            os.dup2(fds[1], 101)
            os.dup2(100, 3)
            os.dup2(101, 4)
        env = dict(os.environ, LISTEN_FDS="2", NOTIFY_SOCKET=os.path.join(tmp, "notify"))
        # LISTEN_PID must be memctld's own pid: set it after fork, then exec
        p = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', MEMCTLD,
                              "--socket-dir", tmp, "--config", "/dev/null"],
                             env=env, preexec_fn=child_setup,
                             close_fds=False, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        dg.close()
        ct.close()
        self.assertIn("READY=1", notify.recv(4096).decode())
        r = subprocess.run([MEMCTL, "--socket-dir", tmp, "status", "--json"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0)
        # socket-activated paths belong to systemd: left in place
        self.assertTrue(os.path.exists(os.path.join(tmp, "control.sock")))


if __name__ == "__main__":
    main()
