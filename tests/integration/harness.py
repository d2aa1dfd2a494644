# SPDX-License-Identifier: MIT
"""tests/integration/harness.py: start the real memctld in a private socket dir
with a NOTIFY_SOCKET the test owns, talk to it with the real memctl, and speak
the wire protocol (ipc/ipc.h) from Python for hostile-input tests."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, os.environ.get("BUILD", "build"))
MEMCTLD = os.path.join(BUILD, "memctld")
MEMCTL = os.path.join(BUILD, "memctl")

IPC_MAGIC = 0x4C54434D
IPC_VERSION = 2
HDR = struct.Struct("=IHHII")  # magic, version, type, length, seq
IPC_ENROLL, IPC_ENROLL_ACK, IPC_COMPRESS, IPC_COMPRESS_ACK = 1, 2, 3, 4
IPC_RELAX, IPC_STATS, IPC_BYE, IPC_ERROR = 5, 6, 7, 8
ENROLL = struct.Struct("=IIQII32s")  # pid, flags, arena_bytes, chunk, codecs, name
ERROR = struct.Struct("=iIHH96s")
# enrollment_id, stats_interval_ms, flags, readback_factor_permille, reserved,
# readback_cost_permyriad, reserved2
ENROLL_ACK = struct.Struct("=QIIIIII")
# target_bytes, max_hotness, codecs, deadline_ms, min_savings_permyriad,
# pressure_permyriad, reserved, readback_cost_permyriad, reserved2
COMPRESS = struct.Struct("=QIIIIIIII")
IPC_CTL_METRICS, IPC_CTL_METRICS_REPLY = 66, 67
CTL_METRICS = struct.Struct("=QQII")  # serial, offset, format, reserved
CTL_METRICS_REPLY = struct.Struct("=QQQII")  # serial, total_bytes, offset, count, format


def encode(mtype, body=b"", seq=1, version=IPC_VERSION, magic=IPC_MAGIC, length=None):
    if length is None:
        length = HDR.size + len(body)
    return HDR.pack(magic, version, mtype, length, seq) + body


def decode(buf):
    magic, version, mtype, length, seq = HDR.unpack_from(buf)
    return mtype, seq, buf[HDR.size:length]


def recv_fd(sock, size=70000):
    """One datagram and the fd that came with it (SCM_RIGHTS), or None."""
    data, anc, _flags, _addr = sock.recvmsg(size, 256)  # credentials + fds
    fd = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = struct.unpack("%di" % (len(payload) // 4), payload[:len(payload) // 4 * 4])
            for extra in fds[1:]:
                os.close(extra)
            fd = fds[0]
    return data, fd


def enroll(sock, name=b"pytest", seq=1, pid=None, timeout=5):
    """ENROLL over sock (connected to memctld.sock); returns (type, seq, body,
    channel) where channel is the socket ENROLL_ACK passed, or None."""
    sock.send(encode(IPC_ENROLL, ENROLL.pack(os.getpid() if pid is None else pid, 0, 1 << 20,
                                             65536, 3, name), seq=seq))
    sock.settimeout(timeout)
    data, fd = recv_fd(sock)
    t, rseq, body = decode(data)
    ch = None
    if fd is not None:
        ch = socket.socket(fileno=fd)
        ch.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        ch.settimeout(timeout)
    return t, rseq, body, ch


V1_ROOT = "/sys/fs/cgroup/memory"


def v1_cgroup(testcase, limit_bytes, name="memctl-test"):
    """A fresh v1 memory cgroup with a limit, removed at the test's end (its tasks
    must be gone by then). Skips when the machine has no v1 memory controller."""
    if not os.path.isdir(V1_ROOT):
        raise unittest.SkipTest("skip: no cgroup v1 memory controller at %s" % V1_ROOT)
    path = os.path.join(V1_ROOT, "%s-%d-%d" % (name, os.getpid(), time.monotonic_ns()))
    os.mkdir(path)
    testcase.addCleanup(lambda: os.path.isdir(path) and os.rmdir(path))
    with open(os.path.join(path, "memory.limit_in_bytes"), "w") as f:
        f.write(str(limit_bytes))
    return path


def cgroup_file(path, name):
    with open(os.path.join(path, name)) as f:
        return f.read()


def in_cgroup(path, argv):
    """argv run inside the cgroup at path from its first instruction."""
    return ["sh", "-c", 'echo $$ > %s/cgroup.procs && exec "$@"' % path, "sh"] + list(argv)


def require_root(testcase):
    if os.geteuid() != 0:
        raise unittest.SkipTest("skip: needs root to load BPF programs")


class Daemon:
    """A real memctld in a private socket directory."""

    def __init__(self, config_text="", args=(), env=None, watchdog_usec=None, wrap=()):
        """wrap: a command memctld runs under (e.g. prlimit ... --), which must exec it."""
        self.dir = tempfile.mkdtemp(prefix="memctld-test-")
        self.socket_dir = os.path.join(self.dir, "run")
        self.config = os.path.join(self.dir, "memctld.conf")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.notify_path = os.path.join(self.dir, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify_msgs = []
        e = dict(os.environ)
        e["NOTIFY_SOCKET"] = self.notify_path
        e.pop("LISTEN_FDS", None)
        e.pop("WATCHDOG_USEC", None)
        if watchdog_usec:
            e["WATCHDOG_USEC"] = str(watchdog_usec)
        if env:
            e.update(env)
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.stderr = open(self.stderr_path, "w")
        self.args = list(wrap) + [MEMCTLD, "--socket-dir", self.socket_dir, "--config",
                                  self.config] + list(args)
        if os.environ.get("MEMCTL_TEST_LOG_LEVEL"):
            self.args += ["--log-level", os.environ["MEMCTL_TEST_LOG_LEVEL"]]
        self.env = e
        self.proc = subprocess.Popen(self.args, env=e, stderr=self.stderr, stdout=self.stderr)
        # read NOTIFY_SOCKET all along, as systemd does: unread, its queue
        # (net.unix.max_dgram_qlen, 10) fills with STATUS= after ~10 ticks and
        # the daemon's next sd_notify() blocks in sendmsg
        self.notify_stop = False
        self.notify_thread = threading.Thread(target=self._read_notify, daemon=True)
        self.notify_thread.start()

    def _read_notify(self):
        # the only reader of the socket while it runs: a second one (drain_notify
        # once made the socket non-blocking under it) turned a recv() into
        # BlockingIOError, this thread ended, the queue filled, and a restarted
        # daemon's READY=1 was lost (test_control_loop's restart, in CI)
        self.notify.settimeout(0.1)
        while not self.notify_stop:
            try:
                msg = self.notify.recv(4096)
            except (socket.timeout, BlockingIOError, InterruptedError):
                continue
            except OSError:
                return
            self.notify_msgs.append(msg.decode(errors="backslashreplace"))

    def restart(self, sig=signal.SIGKILL):
        """Kill memctld (SIGKILL: a crash) and start it again on the same socket
        directory and config, as systemd's Restart= would; waits for READY=1."""
        self.proc.send_signal(sig)
        self.proc.wait()
        self.notify_msgs.clear()  # the reader thread appends to this very list
        self.proc = subprocess.Popen(self.args, env=self.env, stderr=self.stderr,
                                     stdout=self.stderr)
        self.wait_notify("READY=1")

    def wait_notify(self, needle, timeout=15.0):
        """Wait for a sd_notify datagram containing needle (e.g. READY=1)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in m for m in list(self.notify_msgs)):
                return next(m for m in list(self.notify_msgs) if needle in m)
            if self.proc.poll() is not None:
                raise AssertionError("memctld exited (%s) before %s: %s"
                                     % (self.proc.returncode, needle, self.log()))
            time.sleep(0.01)
        raise AssertionError("no %s from memctld within %.0fs: %s" % (needle, timeout, self.log()))

    def path(self, name):
        return os.path.join(self.socket_dir, name)

    def log(self):
        self.stderr.flush()
        # hostile names may reach the log as they are: never fail to show it
        with open(self.stderr_path, errors="backslashreplace") as f:
            return f.read()

    def drain_notify(self):
        """Keep what the daemon sent to NOTIFY_SOCKET so far. Its queue holds
        net.unix.max_dgram_qlen datagrams (10 by default): a STATUS= per tick
        left unread blocks the daemon in sd_notify() within seconds. While the
        reader thread runs, it does this itself: a no-op."""
        if self.notify_thread.is_alive():
            return
        timeout = self.notify.gettimeout()
        self.notify.setblocking(False)  # a timeout would make recv() wait for it
        try:
            while True:
                self.notify_msgs.append(self.notify.recv(4096).decode())
        except (BlockingIOError, InterruptedError):
            pass
        finally:
            self.notify.settimeout(timeout)

    def ctl(self, *args, check=True):
        self.drain_notify()
        r = subprocess.run([MEMCTL, "--socket-dir", self.socket_dir] + list(args),
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("memctl %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return r

    def ctl_json(self, *args):
        return json.loads(self.ctl(*args, "--json").stdout)

    def try_json(self, *args):
        """For polling: the JSON answer, or None while memctl fails (say, a
        process not tracked yet: records are drained every 100 ms)."""
        r = self.ctl(*args, "--json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def status(self):
        return self.ctl_json("status")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("memctld did not stop within %ds" % timeout)
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify_stop = True
        self.notify_thread.join()
        self.notify.close()
        self.stderr.close()
        subprocess.run(["rm", "-rf", self.dir])


class DaemonTestCase(unittest.TestCase):
    """A test that may start one memctld (self.start) and gets its log on failure."""

    def setUp(self):
        require_root(self)
        self.d = None

    def tearDown(self):
        if self.d:
            # shown by tests/run.sh only when the suite fails
            print("--- memctld log (%s) ---\n%s" % (self.id(), self.d.log()[-3000:]))
            self.d.close()

    def start(self, **kw):
        self.d = Daemon(**kw)
        self.d.wait_notify("READY=1")
        return self.d


def wait_until(pred, timeout=5.0, interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    return pred()


def main():
    # exit 77 (skip) when every test skipped because the host lacks a feature
    r = unittest.main(exit=False, verbosity=2).result
    if not r.wasSuccessful():
        sys.exit(1)
    if r.testsRun and len(r.skipped) == r.testsRun:
        print("skip: all tests skipped")
        sys.exit(77)
    sys.exit(0)
