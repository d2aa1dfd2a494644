#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_hostile_load.py: a real memctld under 10^5 hostile datagrams
and 10^5 hostile control records, half sent as root and half as nobody, each half from
many sockets at once. The records are generated from the protocol description
(ipc/ipc.h, docs/protocol.md): the right magic and version with wrong lengths, counts,
strings and types, types sent in the wrong direction, enrollments of processes that did
not ask (pid 1, memctld, another user's, nonexistent), replays of what was sent before.
Meanwhile a root client asks CTL_STATUS every 20 ms and times each answer. The daemon
must answer every probe, answer each control record (or close nothing but what it
documents), end with the fd count it started with and its RSS within 2 MiB of it, and
have enrolled nothing but the one process enrolled on purpose. The figures are printed
(docs/reliability.md quotes them); tests never assert on time."""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

from harness import DaemonTestCase, HDR, IPC_MAGIC, IPC_VERSION, TOP, decode, main, wait_until

N_DGRAMS = int(os.environ.get("HOSTILE_DGRAMS", "100000"))
N_RECORDS = int(os.environ.get("HOSTILE_RECORDS", "100000"))
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

# The attacker: argv = socket dir, "dgram" or "ctl", count, seed, JSON of pid targets,
# JSON of every type's body and entry size.
# Prints one JSON line: what it sent and what came back.
ATTACKER = r'''
import errno, json, os, random, socket, struct, sys, time
HDR = struct.Struct("=IHHII")
MAGIC, VERSION = 0x4c54434d, 2
sock_dir, mode, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
targets = json.loads(sys.argv[5])  # pids this sender must not be able to enroll
rng = random.Random(seed)
SIZES = {int(t): tuple(v) for t, v in json.loads(sys.argv[6]).items()}  # body, entry
COUNT_AT = {35: 4, 42: 8, 44: 4, 51: 4, 58: None, 67: 24, 70: 16}
DGRAM_IN = [1, 9]  # what the shared socket takes
CTL_IN = [32, 34, 36, 38, 39, 41, 43, 50, 57, 66, 69]
UNKNOWN = [0, 11, 31, 45, 49, 52, 56, 59, 65, 68, 71, 79, 80, 255, 0x7fff, 0xffff]
pid_max = int(open("/proc/sys/kernel/pid_max").read())
sent = []  # for replays

def pid_pick():
    k = rng.randrange(6)
    if k == 0:
        return rng.choice(targets)
    if k == 1:
        return rng.randrange(pid_max + 1, 1 << 31)  # no such process
    if k == 2:
        return rng.choice([0, 0x80000000, 0xffffffff])  # out of range
    if k == 3:
        return 1
    return rng.choice(targets)

def string(n):
    k = rng.randrange(4)
    if k == 0:
        return bytes(rng.randrange(1, 256) for _ in range(n))  # no NUL
    if k == 1:
        return (b"\x1b]0;owned\x07\x1b[2J\xc2\x9b\xe2\x80\xae\n" * 8)[:n - 1] + b"\0"
    if k == 2:
        return b"/../../etc".ljust(n, b"\0")
    return rng.randbytes(n)

def body_for(t, size):
    b = bytearray(rng.randbytes(size)) if rng.randrange(2) else bytearray(size)
    if t in (1, 9) and size >= 56:       # ENROLL/HELLO: someone else's pid, odd names
        struct.pack_into("=I", b, 0, pid_pick())
        b[24:56] = string(32)
    elif t in (36, 38, 39) and size >= 8:  # SHOW/ENROLL/UNENROLL
        struct.pack_into("=I", b, 0, pid_pick())
        if rng.randrange(2):
            b[4:8] = bytes(4)
        if t == 38 and size >= 48:
            b[8:16] = bytes(8) if rng.randrange(2) else b[8:16]
            b[16:48] = string(32)
    elif t in (34, 43, 50, 57) and size >= 264:  # list requests: offsets, sorts, paths
        struct.pack_into("=II", b, 0, rng.choice([0, 1, 0xffffffff, rng.randrange(1 << 32)]),
                         rng.choice([0, 1, 2, 3, 4, 0xffffffff]))
        b[8:264] = string(256)
    elif t in (41, 69, 66):
        b[12:16] = bytes(4) if rng.randrange(2) else b[12:16]
    return bytes(b)

def one(types_in):
    k = rng.randrange(12)
    if k == 0 and sent:
        return rng.choice(sent)          # a replay
    if k == 1:
        t = rng.choice(UNKNOWN)
        body = rng.randbytes(rng.randrange(0, 128))
    elif k == 2:                          # the wrong direction, or the wrong socket
        t = rng.choice([t for t in SIZES if t not in types_in])
        body = body_for(t, SIZES[t][0])
    else:
        t = rng.choice(types_in)
        body = body_for(t, SIZES[t][0])
    length = None
    v = VERSION
    magic = MAGIC
    if k == 3:
        length = rng.choice([0, 1, 15, 16, len(body) + 15, len(body) + 17, 65536, 65537, 0xffffffff])
    elif k == 4:
        body = body[:rng.randrange(len(body) + 1)]        # truncated
    elif k == 5:
        body += rng.randbytes(rng.choice([1, 7, 8, 263, 264, 440, 4096]))  # extended
    elif k == 6:
        v = rng.choice([0, 1, 3, 0xffff])
    elif k == 7:
        magic = rng.choice([0, MAGIC ^ 1, 0x4d43544c, 0xffffffff])
    elif k == 8 and SIZES.get(t, (0, 0))[1]:             # counts that lie
        et = rng.choice([t for t in SIZES if SIZES[t][1]])
        bs, es = SIZES[et]
        n = rng.randrange(4)
        body = bytearray(rng.randbytes(bs + n * es))
        off = COUNT_AT.get(et) or 16
        struct.pack_into("=I", body, off, rng.choice([n + 1, n - 1 if n else 1, 0xffffffff, 1 << 20]))
        t, body = et, bytes(body)
    elif k == 9:
        return rng.randbytes(rng.randrange(0, 64))  # noise
    if length is None:
        length = HDR.size + len(body)
    m = HDR.pack(magic, v, t, length & 0xffffffff, rng.randrange(1 << 32)) + body
    if len(sent) < 256:
        sent.append(m)
    else:
        sent[rng.randrange(256)] = m
    return m

res = {"sent": 0, "send_errors": {}, "replies": {}, "unanswered": 0, "closed": 0}
if mode == "dgram":
    path = os.path.join(sock_dir, "memctld.sock")
    socks = []
    for _ in range(32):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        s.bind("")
        s.connect(path)
        s.settimeout(5)
        socks.append(s)
    for i in range(count):
        m = one(DGRAM_IN)
        try:
            socks[i % len(socks)].send(m[:65536])
            res["sent"] += 1
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "timeout"
            res["send_errors"][name] = res["send_errors"].get(name, 0) + 1
            if name == "timeout":
                break
    # the daemon answers on the shared socket within a budget; read what came
    for s in socks:
        s.setblocking(False)
        try:
            while True:
                b = s.recv(65536)
                t = struct.unpack_from("=H", b, 6)[0] if len(b) >= 8 else -1
                res["replies"][str(t)] = res["replies"].get(str(t), 0) + 1
        except (BlockingIOError, OSError):
            pass
else:
    path = os.path.join(sock_dir, "control.sock")
    socks = []
    for _ in range(8):  # MaxConnectionsPerUser= default
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        s.settimeout(5)
        socks.append(s)
    for i in range(count):
        s = socks[i % len(socks)]
        m = one(CTL_IN)
        try:
            s.send(m[:65536])
            res["sent"] += 1
            b = s.recv(65536)
        except socket.timeout:
            res["unanswered"] += 1
            continue
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno))
            res["send_errors"][name] = res["send_errors"].get(name, 0) + 1
            b = b""
        if not b:
            res["closed"] += 1
            s.close()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(path)
            s.settimeout(5)
            socks[i % len(socks)] = s
            continue
        t = struct.unpack_from("=H", b, 6)[0] if len(b) >= 8 else -1
        key = str(t)
        if t == 8 and len(b) >= 20:
            key = "8:%d" % struct.unpack_from("=i", b, 16)[0]
        res["replies"][key] = res["replies"].get(key, 0) + 1
print(json.dumps(res), flush=True)
'''


def protocol_sizes():
    """{type: (body bytes, entry bytes)} from docs/protocol.md's Messages table, which
    tests/unit/test_protocol_doc.c checks against ipc/ipc.h's structs."""
    sizes = {}
    with open(os.path.join(TOP, "docs", "protocol.md")) as f:
        for line in f:
            m = re.match(r"\| (\d+) \| `[A-Z_]+` \| [^|]+ \| (\d+)(?: \+ n × (\d+))? \|", line)
            if m:
                sizes[int(m.group(1))] = (int(m.group(2)), int(m.group(3) or 0))
    assert len(sizes) >= 30 and sizes[1][0] > 0, sizes
    return sizes


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def fds(pid):
    """memctld's fds by kind; pidfds apart, since it holds one per tracked process and
    the machine's other processes come and go."""
    kinds = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            continue
        k = "pidfd" if t == "anon_inode:[pidfd]" else t.split(":")[0] if ":" in t else "file"
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


def fd_count(pid):
    """fds other than pidfds"""
    return sum(n for k, n in fds(pid).items() if k != "pidfd")


class Prober:
    """CTL_STATUS every 20 ms over one root connection, and every 10th over a fresh
    connection (the accept path); each answer timed."""

    def __init__(self, path):
        self.path = path
        self.lat_ms = []
        self.failures = []
        self.stop = False
        self.seq = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(2)
        s.connect(self.path)
        return s

    def ask(self, s):
        self.seq += 1
        t0 = time.monotonic()
        s.send(HDR.pack(IPC_MAGIC, IPC_VERSION, 32, HDR.size, self.seq))
        while True:
            b = s.recv(65536)
            if not b:
                raise AssertionError("status connection closed")
            t, seq, _ = decode(b)
            if t == 33 and seq == self.seq:
                return (time.monotonic() - t0) * 1000

    def run(self):
        s = self.connect()
        n = 0
        while not self.stop:
            n += 1
            try:
                if n % 10 == 0:
                    f = self.connect()
                    self.lat_ms.append(self.ask(f))
                    f.close()
                else:
                    self.lat_ms.append(self.ask(s))
            except (OSError, AssertionError) as e:
                self.failures.append("%s at probe %d" % (e, n))
                try:
                    s.close()
                    s = self.connect()
                except OSError:
                    pass
            time.sleep(0.02)
        s.close()

    def figures(self):
        v = sorted(self.lat_ms)
        if not v:
            return "no answers"
        pick = lambda q: v[min(len(v) - 1, int(q * len(v)))]
        return "%d probes: median %.2f ms, p99 %.2f ms, max %.2f ms, %d over 100 ms" % (
            len(v), pick(0.5), pick(0.99), v[-1], sum(1 for x in v if x > 100))


class TestHostileLoad(DaemonTestCase):
    def test_hostile_datagrams_and_records(self):
        d = self.start()
        os.chmod(d.dir, 0o755)  # nobody must reach the sockets
        pid = d.proc.pid
        # one process enrolled on purpose (monitor mode), and one that must never be
        helper = subprocess.Popen(["sleep", "300"])
        self.addCleanup(lambda: (helper.kill(), helper.wait()))
        victim = subprocess.Popen(["sleep", "300"])
        self.addCleanup(lambda: (victim.kill(), victim.wait()))
        d.ctl("enroll", str(helper.pid))
        for _ in range(5):
            d.status()
        time.sleep(0.5)
        rss0, fd0 = rss_kib(pid), fd_count(pid)
        print("memctld before: RSS %d KiB, fds %s" % (rss0, json.dumps(fds(pid), sort_keys=True)))

        prober = Prober(d.path("control.sock"))
        prober.thread.start()
        t0 = time.monotonic()
        # root may enroll any process: its targets are only those never enrollable (pid
        # 1, memctld itself, nonexistent); nobody's also root's processes
        root_targets = [1, pid, 0x7fffffff]
        nobody_targets = root_targets + [victim.pid, helper.pid, os.getpid()]
        sizes = protocol_sizes()
        procs = []
        for who, targets in (([], root_targets), (NOBODY, nobody_targets)):
            for mode, n in (("dgram", N_DGRAMS // 2), ("ctl", N_RECORDS // 2)):
                procs.append((who and "nobody" or "root", mode, subprocess.Popen(
                    who + [sys.executable, "-c", ATTACKER, d.socket_dir, mode, str(n),
                           str(len(procs) + 1), json.dumps(targets), json.dumps(sizes)],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        results = []
        for who, mode, p in procs:
            out, err = p.communicate(timeout=180)
            self.assertEqual(p.returncode, 0, "%s %s attacker failed: %s" % (who, mode, err))
            r = json.loads(out)
            results.append((who, mode, r))
            print("%s %s: %s" % (who, mode, json.dumps(r, sort_keys=True)))
        elapsed = time.monotonic() - t0
        time.sleep(0.3)
        prober.stop = True
        prober.thread.join()
        print("hostile load: %.1f s; status while under it: %s" % (elapsed, prober.figures()))

        # every datagram went out (the daemon kept reading), every record was answered
        for who, mode, r in results:
            n = (N_DGRAMS if mode == "dgram" else N_RECORDS) // 2
            self.assertEqual(r["sent"], n, "%s %s: %s" % (who, mode, r))
            if mode == "ctl":
                self.assertEqual(r["unanswered"], 0, "%s ctl: %s" % (who, r))
                self.assertEqual(r["closed"], 0, "%s ctl: %s" % (who, r))
                self.assertEqual(sum(r["replies"].values()), n, r)
        self.assertEqual(prober.failures, [], prober.failures[:5])
        self.assertGreater(len(prober.lat_ms), 10)

        # it ends where it started: fds exactly (once our sockets are gone), RSS
        self.assertTrue(wait_until(lambda: fd_count(pid) == fd0, timeout=5),
                        "fd count %d, was %d" % (fd_count(pid), fd0))
        rss1, fd1 = rss_kib(pid), fd_count(pid)
        print("memctld RSS %d -> %d KiB (%+d), fds other than pidfds %d -> %d; now %s"
              % (rss0, rss1, rss1 - rss0, fd0, fd1, json.dumps(fds(pid), sort_keys=True)))
        self.assertLess(rss1 - rss0, 2048, "RSS grew from %d to %d KiB" % (rss0, rss1))

        # and nothing was enrolled or unenrolled that should not be
        enrolled = d.ctl_json("list")
        pids = sorted(e["pid"] for e in enrolled)
        self.assertEqual(pids, [helper.pid], enrolled)
        st = d.status()
        self.assertEqual(st["enrolled"], 1, st)
        self.assertEqual(st["commands_sent"], 0, st)
        print("datagrams_rejected %d, workload_replies_dropped %d" % (
            st["datagrams_rejected"], st["workload_replies_dropped"]))
        self.assertGreater(st["datagrams_rejected"], 0, st)
        self.assertIsNone(d.proc.poll(), "memctld exited")

    def test_empty_record_is_malformed_not_a_hangup(self):
        # recv() reads 0 for an empty SOCK_SEQPACKET record as for the end: memctld
        # closed such connections; now it answers -EBADMSG and keeps them
        d = self.start()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(5)
        s.connect(d.path("control.sock"))
        s.send(b"")
        t, seq, body = decode(s.recv(65536))
        self.assertEqual((t, seq), (8, 0))
        self.assertEqual(struct.unpack_from("=i", body)[0], -74)  # -EBADMSG
        s.send(HDR.pack(IPC_MAGIC, IPC_VERSION, 32, HDR.size, 5))
        t, seq, _ = decode(s.recv(65536))
        self.assertEqual((t, seq), (33, 5))
        s.close()


if __name__ == "__main__":
    main()
