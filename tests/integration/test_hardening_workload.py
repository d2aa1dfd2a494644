#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_hardening_workload.py: the workload socket and enrollment
under attack by an unprivileged user (issue 9, items 1, 2, 7 and 11): a peer that
never reads, a PID reused between a datagram and its handling, unsafe socket
directories and fake control sockets, and targets that are never enrolled."""
import errno
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from harness import (DaemonTestCase, ENROLL, ERROR, IPC_ENROLL, IPC_ENROLL_ACK, IPC_ERROR,
                     MEMCTL, MEMCTLD, decode, encode, enroll, main, wait_until)

NOBODY = 65534


def as_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def dgram_to(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.connect(path)
    return s


def set_last_pid(pid):
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(pid))


def spawn_with_pid(pid, argv, preexec=None, tries=200):
    """Start argv as exactly PID pid (ns_last_pid), or return None."""
    for _ in range(tries):
        set_last_pid(pid - 1)
        p = subprocess.Popen(argv, preexec_fn=preexec)
        if p.pid == pid:
            return p
        p.kill()
        p.wait()
    return None


class WorkloadSocketTest(DaemonTestCase):

    def start_open(self, **kw):
        d = self.start(**kw)
        os.chmod(d.dir, 0o755)  # let nobody reach the sockets
        return d

    def test_peer_that_never_reads_does_not_block_others(self):
        d = self.start_open()
        path = d.path("memctld.sock")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            # nobody: a connected socket, hundreds of bad datagrams, replies never read
            try:
                as_nobody()
                s = dgram_to(path)
                s.setblocking(False)
                for i in range(3000):
                    while True:
                        try:
                            s.send(encode(999, b"x" * 64, seq=i + 1))
                            break
                        except BlockingIOError:
                            time.sleep(0.001)  # the daemon's queue is full: wait
                os.write(w, b"k")
                time.sleep(30)
            finally:
                os._exit(0)
        self.addCleanup(lambda: (os.kill(pid, signal.SIGKILL), os.waitpid(pid, 0)))
        os.close(w)
        self.assertEqual(os.read(r, 1), b"k")
        self.assertTrue(wait_until(lambda: d.status()["datagrams_rejected"] >= 3000, timeout=10),
                        d.status())
        st = d.status()
        # nobody got a few ERRORs, then its budget ran out: dropped, counted
        self.assertGreater(st["workload_replies_dropped"], 2000, st)
        # a root workload still enrolls at once
        s = dgram_to(path)
        self.addCleanup(s.close)
        t, seq, body, ch = enroll(s, seq=5, timeout=2)
        self.assertEqual((t, seq), (IPC_ENROLL_ACK, 5))
        self.assertIsNotNone(ch)
        ch.close()
        # and so does a second unprivileged user's (uid 1000 here): its budget is its own
        r2, w2 = os.pipe()
        pid2 = os.fork()
        if pid2 == 0:
            ok = b"n"
            try:
                os.setgroups([])
                os.setgid(1000)
                os.setuid(1000)
                s2 = dgram_to(path)
                t2, seq2, _, ch2 = enroll(s2, seq=6, timeout=2)
                ok = b"y" if (t2, seq2) == (IPC_ENROLL_ACK, 6) and ch2 else b"n"
            finally:
                os.write(w2, ok)
                os._exit(0)
        os.close(w2)
        self.assertEqual(os.read(r2, 1), b"y", "uid 1000's ENROLL went unanswered")
        os.waitpid(pid2, 0)
        self.assertIsNone(d.proc.poll())

    def reuse_race(self, reuser_uid):
        """A nobody child sends ENROLL and exits while the daemon is stopped; a
        process of reuser_uid takes its PID; the daemon resumes. Returns the
        reusing process."""
        d = self.d
        path = d.path("memctld.sock")
        os.kill(d.proc.pid, signal.SIGSTOP)
        self.addCleanup(lambda: d.proc.poll() is None and os.kill(d.proc.pid, signal.SIGCONT))
        pid = os.fork()
        if pid == 0:
            try:
                as_nobody()
                s = dgram_to(path)
                s.send(encode(IPC_ENROLL, ENROLL.pack(os.getpid(), 0, 1, 65536, 1, b"ghost")))
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.05)  # the reuser starts well after the datagram was sent
        pre = (lambda: (os.setgroups([]), os.setgid(reuser_uid), os.setuid(reuser_uid))) \
            if reuser_uid else None
        victim = spawn_with_pid(pid, ["sleep", "30"], preexec=pre)
        if victim is None:
            self.fail("could not reuse PID %d" % pid)
        self.addCleanup(lambda: (victim.kill(), victim.wait()))
        os.kill(d.proc.pid, signal.SIGCONT)
        self.assertTrue(wait_until(lambda: d.status()["datagrams_rejected"] >= 1, timeout=5),
                        "the stale ENROLL was neither enrolled nor rejected: %s" % d.log())
        return victim

    def test_enroll_from_a_reused_pid_is_refused(self):
        d = self.start_open()
        self.assertEqual(d.status()["identity_pidfd"], 1)
        victim = self.reuse_race(0)
        self.assertEqual(d.status()["enrolled"], 0, "root's process under the reused PID "
                         "was enrolled: %s" % d.log())
        self.assertFalse([p for p in d.ctl_json("ps") if p["pid"] == victim.pid and p["enrolled"]])

    def test_enroll_from_a_reused_pid_is_refused_without_scm_pidfd(self):
        # the fallback for kernels without SO_PASSPIDFD: uid and start time; the PID
        # is reused by another process of the same user, so only the start time tells
        d = self.start_open(env={"MEMCTLD_IDENTITY": "procfs"})
        self.assertEqual(d.status()["identity_pidfd"], 0)
        self.reuse_race(NOBODY)
        self.assertEqual(d.status()["enrolled"], 0, d.log())

    def test_hostile_names_are_escaped_in_the_log(self):
        d = self.start()
        s = dgram_to(d.path("memctld.sock"))
        self.addCleanup(s.close)
        t, _, _, ch = enroll(s, name=b"ev\x1b]0;pwn\x07\nforged line")
        self.assertEqual(t, IPC_ENROLL_ACK)
        ch.close()
        self.assertTrue(wait_until(lambda: "enrolled, arena" in d.log()))
        log = d.log()
        self.assertNotIn("\x1b", log)  # no raw ESC
        self.assertNotIn("\nforged line", log)  # no forged line
        self.assertIn("ev\\x1b]0;pwn\\x07\\nforged line", log)

    def test_never_enrolled_targets(self):
        d = self.start()
        r = d.ctl("enroll", "1", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("PID 1 (init) is never enrolled", r.stderr)
        r = d.ctl("enroll", str(d.proc.pid), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("memctld does not enroll itself", r.stderr)
        zombie = subprocess.Popen(["true"])
        def state(pid):
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0]
        self.assertTrue(wait_until(lambda: state(zombie.pid) == "Z"))
        r = d.ctl("enroll", str(zombie.pid), check=False)
        zombie.wait()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("has exited", r.stderr)
        self.assertEqual(d.status()["enrolled"], 0)


class SocketDirTest(DaemonTestCase):

    def run_daemon(self, socket_dir):
        return subprocess.run([MEMCTLD, "--socket-dir", socket_dir, "--config", "/dev/null"],
                              capture_output=True, text=True, timeout=20)

    def tmpdir(self):
        t = tempfile.mkdtemp(prefix="memctld-dir-")
        self.addCleanup(shutil.rmtree, t, True)
        os.chmod(t, 0o755)
        return t

    def test_unsafe_socket_directories_are_refused(self):
        t = self.tmpdir()
        wide = os.path.join(t, "wide")
        os.mkdir(wide)
        os.chmod(wide, 0o777)
        r = self.run_daemon(wide)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("its mode 0777 lets group or others write", r.stderr)
        self.assertEqual(os.listdir(wide), [])

        theirs = os.path.join(t, "theirs")
        os.mkdir(theirs, 0o755)
        os.chown(theirs, NOBODY, NOBODY)
        r = self.run_daemon(theirs)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("owned by uid 65534", r.stderr)
        self.assertEqual(os.listdir(theirs), [])

        real = os.path.join(t, "real")
        os.mkdir(real, 0o755)
        link = os.path.join(t, "link")
        os.symlink(real, link)
        r = self.run_daemon(link)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("is a symlink", r.stderr)
        self.assertEqual(os.listdir(real), [])

    def test_planted_symlink_is_not_followed(self):
        # a root 0600 file behind a symlink named like the socket is never chmod'ed
        t = self.tmpdir()
        run = os.path.join(t, "run")
        os.mkdir(run, 0o755)
        secret = os.path.join(t, "secret")
        with open(secret, "w") as f:
            f.write("x")
        os.chmod(secret, 0o600)
        os.symlink(secret, os.path.join(run, "control.sock"))
        r = self.run_daemon(run)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(os.stat(secret).st_mode & 0o7777, 0o600)
        self.assertTrue(os.path.islink(os.path.join(run, "control.sock")))

    def test_memctl_refuses_a_socket_served_by_another_user(self):
        t = self.tmpdir()
        fake = os.path.join(t, "fake")
        os.mkdir(fake, 0o755)
        os.chown(fake, NOBODY, NOBODY)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                as_nobody()
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.bind(os.path.join(fake, "control.sock"))
                s.listen(4)
                os.write(w, b"k")
                c, _ = s.accept()
                c.settimeout(5)
                c.recv(4096)
                # a forged status reply: memctl must not get that far
                c.send(b"forged")
                time.sleep(5)
            finally:
                os._exit(0)
        self.addCleanup(lambda: (os.kill(pid, signal.SIGKILL), os.waitpid(pid, 0)))
        os.close(w)
        self.assertEqual(os.read(r, 1), b"k")
        res = subprocess.run([MEMCTL, "--socket-dir", fake, "status"], capture_output=True,
                             text=True, timeout=15)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("served by uid 65534", res.stderr)


if __name__ == "__main__":
    main()
