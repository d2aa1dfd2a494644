#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_connection_exhaustion.py: 1,000 control connections opened
and held by one unprivileged user (nobody): a third idle, a third having sent half a
header, a third having sent requests whose replies they never read. Meanwhile root
and another user are still served; the idle timeout closes all 1,000 (each told
-ETIMEDOUT or hung up); 1,000 new ones are all admitted after (the slots were
reclaimed); and once the user is gone memctld holds the sockets it held before."""
import json
import os
import subprocess
import sys
import time

from harness import MEMCTL, DaemonTestCase, main, wait_until

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
OTHER = ["setpriv", "--reuid=60123", "--regid=60123", "--clear-groups"]
N = 1000

HOLDER = r'''
import json, select, socket, struct, sys, time
HDR = struct.Struct("=IHHII")
path, n = sys.argv[1], int(sys.argv[2])

def open_all():
    conns = []
    for i in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        conns.append(s)
    return conns

def refused(conns, wait):
    # an admitted connection says nothing until asked; a refused one gets an ERROR
    time.sleep(wait)
    return sum(1 for s in conns if select.select([s], [], [], 0)[0])

conns = open_all()
events = HDR.pack(0x4c54434d, 2, 41, HDR.size + 16, 1) + struct.pack("=QII", 0, 0, 0)
for i, s in enumerate(conns):
    if i % 3 == 1:
        s.send(HDR.pack(0x4c54434d, 2, 32, HDR.size, 1)[:8])  # half a header
    elif i % 3 == 2:
        s.setblocking(False)
        for _ in range(40):  # CTL_EVENTS, replies never read
            try:
                s.send(events)
            except BlockingIOError:
                break
print(json.dumps({"held": len(conns)}), flush=True)
sys.stdin.readline()  # the test probes meanwhile
# the idle timeout: every connection ends (an ERROR, then EOF), none left open
t0 = time.monotonic()
left = set(range(len(conns)))
while left and time.monotonic() - t0 < 20:
    r = select.select([conns[i] for i in left], [], [], 1)[0]
    for s in r:
        i = conns.index(s)
        s.setblocking(False)
        try:
            while s.recv(65536):
                pass  # what it was sent (replies, the ERROR saying why) before the end
        except BlockingIOError:
            continue  # still open
        except OSError:
            pass  # reset: closed too
        left.discard(i)
closed_after = time.monotonic() - t0
for s in conns:
    s.close()
# the slots are back: n new connections, none refused
conns = open_all()
r = refused(conns, 0.5)
print(json.dumps({"open_after": len(left), "closed_after_s": round(closed_after, 2),
                  "refused_second_round": r}), flush=True)
sys.stdin.readline()
'''


def sockets(pid):
    """memctld's socket fds (a held connection is one, beside its pidfd)"""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except FileNotFoundError:
            pass
    return n


class TestConnectionExhaustion(DaemonTestCase):
    def test_thousand_held_connections(self):
        d = self.start(config_text="[Control]\nMaxConnections=1100\n"
                       "MaxConnectionsPerUser=1000\nIdleTimeoutSec=6s\n")
        os.chmod(d.dir, 0o755)
        pid = d.proc.pid
        d.status()
        fd0 = sockets(pid)
        h = subprocess.Popen(NOBODY + [sys.executable, "-c", HOLDER, d.path("control.sock"),
                                       str(N)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: h.poll() is None and (h.kill(), h.wait()))
        first = json.loads(h.stdout.readline() or "{}")
        self.assertEqual(first.get("held"), N, h.stderr.read() if h.poll() is not None else "")
        # accepted as they come (the listen backlog holds the rest a moment)
        wait_until(lambda: sockets(pid) - fd0 >= N, timeout=3)
        held_fds = sockets(pid)

        # others are served while the 1,000 are held
        lat = []
        for who in ([], OTHER, [], OTHER):
            t0 = time.monotonic()
            r = subprocess.run(who + [MEMCTL, "--socket-dir", d.socket_dir, "status"],
                               capture_output=True, text=True, timeout=10)
            lat.append((time.monotonic() - t0) * 1000)
            self.assertEqual(r.returncode, 0, r.stderr)
        print("holding %d connections: memctld sockets %d -> %d; memctl status "
              "as root / uid 60123 took %s ms" % (N, fd0, held_fds,
                                                 " / ".join("%.0f" % x for x in lat)))
        self.assertGreaterEqual(held_fds - fd0, N)

        h.stdin.write("go\n")
        h.stdin.flush()
        second = json.loads(h.stdout.readline() or "{}")
        print("after the idle timeout: %s" % second)
        self.assertEqual(second.get("open_after"), 0, second)
        self.assertEqual(second.get("refused_second_round"), 0, second)
        h.stdin.write("done\n")
        h.stdin.flush()
        h.wait(timeout=10)
        self.assertTrue(wait_until(lambda: sockets(pid) == fd0, timeout=5),
                        "sockets %d, were %d" % (sockets(pid), fd0))
        self.assertEqual(d.status()["pid"], pid)


if __name__ == "__main__":
    main()
