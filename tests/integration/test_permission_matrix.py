#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/integration/test_permission_matrix.py: who may do what, row by row (docs/
protocol.md, "Who may send what"). Every control request as root, as the target
process's owner (uid 60200) and as another unprivileged user (uid 60201), each from its
own process over the real control socket; then workload datagrams whose credentials do
not match what they claim. Each row says what is expected and checks the daemon's state
after it (enrolled or not). The table is printed; docs/reliability.md shows it."""
import json
import os
import struct
import subprocess
import sys
import time

from harness import DaemonTestCase, ENROLL, main, wait_until

OWNER, OTHER = 60200, 60201


def as_uid(uid):
    return [] if uid == 0 else ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                                "--clear-groups"]


# one request over its own connection: prints [reply type, error code or 0]
ASK = r'''
import json, socket, struct, sys
HDR = struct.Struct("=IHHII")
path, t, body = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(path)
s.send(HDR.pack(0x4c54434d, 2, t, HDR.size + len(body), 9) + body)
b = s.recv(65536)
rt = struct.unpack_from("=H", b, 6)[0]
code = struct.unpack_from("=i", b, HDR.size)[0] if rt == 8 else 0
print(json.dumps([rt, code]))
'''

# a workload datagram claiming pid argv[3] (ENROLL or HELLO): prints the reply or null
FORGE = r'''
import json, os, socket, struct, sys
HDR = struct.Struct("=IHHII")
path, t, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("")
s.connect(path)
s.settimeout(1.5)
body = struct.pack("=IIQII32s", pid, 0, 1 << 20, 65536, 3, b"forged")
s.send(HDR.pack(0x4c54434d, 2, t, HDR.size + len(body), 3) + body)
try:
    b = s.recv(65536)
    rt = struct.unpack_from("=H", b, 6)[0]
    code = struct.unpack_from("=i", b, HDR.size)[0] if rt == 8 else 0
    print(json.dumps([rt, code]))
except socket.timeout:
    print("null")
'''

LIST = struct.pack("=II256s", 0, 0, b"")
EPERM = -1


class TestPermissionMatrix(DaemonTestCase):
    def ask(self, uid, t, body=b""):
        r = subprocess.run(as_uid(uid) + [sys.executable, "-c", ASK, self.d.path("control.sock"),
                                          str(t), body.hex()],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def enrolled(self):
        return {e["pid"] for e in self.d.ctl_json("list")}

    def test_matrix(self):
        d = self.start()
        os.chmod(d.dir, 0o755)
        target = subprocess.Popen(as_uid(OWNER) + ["sleep", "120"])
        self.addCleanup(lambda: (target.kill(), target.wait()))
        tp = target.pid
        self.assertTrue(wait_until(lambda: d.try_json("show", str(tp)), timeout=5))
        pid_body = struct.pack("=II", tp, 0)
        enroll_body = struct.pack("=IIII32s", tp, 0, 0, 0, b"")
        rows = []

        def row(what, uid, t, body, want_type, want_code=0, enrolled_after=None):
            got = self.ask(uid, t, body)
            ok = got == [want_type, want_code]
            state = None
            if enrolled_after is not None:
                state = tp in self.enrolled()
                ok = ok and state == enrolled_after
            who = {0: "root", OWNER: "owner", OTHER: "other user"}[uid]
            rows.append("| %s | %s | %s | %s%s |" % (
                what, who, "allowed" if want_type != 8 else "refused (%d)" % want_code,
                "as expected" if ok else "GOT %s" % got,
                "" if state is None else ", enrolled after: %s" % ("yes" if state else "no")))
            self.assertTrue(ok, "%s as %s: got %s, enrolled %s" % (what, who, got, state))

        # read-only requests: everyone
        for what, t, body, rt in (("CTL_STATUS", 32, b"", 33), ("CTL_LIST", 34, LIST, 35),
                                  ("CTL_SHOW (the target)", 36, pid_body, 37),
                                  ("CTL_EVENTS", 41, struct.pack("=QII", 0, 0, 0), 42),
                                  ("CTL_CGROUPS", 43, LIST, 44), ("CTL_ENROLLED", 50, LIST, 51),
                                  ("CTL_BANDWIDTH", 57, LIST, 58),
                                  ("CTL_RECORDS", 69, struct.pack("=QII", 0, 0, 0), 70),
                                  ("CTL_METRICS", 66, struct.pack("=QQII", 0, 0, 0, 0), 67)):
            for uid in (0, OWNER, OTHER):
                row(what, uid, t, body, rt)

        # enroll/unenroll: root or the owner; another user is refused and changes nothing
        row("CTL_ENROLL (the target)", OTHER, 38, enroll_body, 8, EPERM, False)
        row("CTL_ENROLL (the target)", OWNER, 38, enroll_body, 40, 0, True)
        row("CTL_UNENROLL (the target)", OTHER, 39, pid_body, 8, EPERM, True)
        row("CTL_UNENROLL (the target)", OWNER, 39, pid_body, 40, 0, False)
        row("CTL_ENROLL (the target)", 0, 38, enroll_body, 40, 0, True)
        row("CTL_UNENROLL (the target)", OTHER, 39, pid_body, 8, EPERM, True)
        row("CTL_UNENROLL (the target)", 0, 39, pid_body, 40, 0, False)
        # nobody enrolls pid 1 or memctld, not even root
        for uid in (0, OTHER):
            row("CTL_ENROLL (pid 1)", uid, 38, struct.pack("=IIII32s", 1, 0, 0, 0, b""), 8, EPERM)

        # workload datagrams claiming another process: no answer that enrolls, nothing
        # enrolled (ENROLL.pid must be the sender's credential pid)
        for what, t in (("ENROLL", 1), ("HELLO", 9)):
            for uid in (0, OWNER, OTHER):
                r = subprocess.run(as_uid(uid) + [sys.executable, "-c", FORGE,
                                                  d.path("memctld.sock"), str(t), str(tp)],
                                   capture_output=True, text=True, timeout=20)
                self.assertEqual(r.returncode, 0, r.stderr)
                got = json.loads(r.stdout)
                time.sleep(0.1)
                state = tp in self.enrolled()
                ok = (got is None or got[0] == 8) and not state
                who = {0: "root", OWNER: "owner", OTHER: "other user"}[uid]
                rows.append("| %s claiming the target's pid | %s | refused | %s, enrolled "
                            "after: %s |" % (what, who, "as expected (%s)" % (
                                "no answer" if got is None else "ERROR %d" % got[1])
                                if ok else "GOT %s" % got, "yes" if state else "no"))
                self.assertTrue(ok, "%s from %s claiming %d: %s, enrolled %s"
                                % (what, who, tp, got, state))
        # a forged HELLO left nothing behind: enrolled by its owner now, the target is
        # monitor-only (a HELLO'd process would be enrolled as an arena, its commands
        # going to whoever sent the HELLO)
        row("CTL_ENROLL after forged HELLOs", OWNER, 38, enroll_body, 40, 0, True)
        mode = [e["mode"] for e in d.ctl_json("list") if e["pid"] == tp]
        self.assertEqual(mode, ["monitor-only"], mode)
        rows.append("| (the target's mode after that) | | monitor-only | %s |" % mode[0])
        print("| request | caller | expected | result |\n|---|---|---|---|\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
