#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/accuracy/record.py: record the real traces in tests/accuracy/traces/:
run the workloads and real programs (CPython, node, redis-server from Debian)
under a real memctld and keep its coalesced RSS records of each (`memctl
record --pid`). The truth in each file's header comes from what the program
was told to do and printed (memory_grower's JSON phase lines), never from the
detector; "# pattern -" marks a real program whose shape nobody can state
beforehand (scored for false alarms and detection only).

Usage (root, BPF): tests/accuracy/record.py [OUTDIR] [NAME...]
Needs build/memctld, build/memctl, build/workloads/*; redis-server and node
are skipped when missing. Takes about 3 minutes (all run at once)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, os.environ.get("BUILD", "build"))
W = os.path.join(BUILD, "workloads")
MIB = 1 << 20
HOLD = 40  # past the detector's MinHistorySec= (30 s): a running process

PY_LEAK = r"""
import sys, time
keep = []
time.sleep(float(sys.argv[2]))  # a running process first
print("start", time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1000, flush=True)
t0 = time.monotonic()
while time.monotonic() - t0 < float(sys.argv[1]):
    keep.append(bytearray(b"x" * (64 << 10)))  # 64 KiB every 1/16 s: 1 MiB/s
    time.sleep(1 / 16)
print("end", time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1000, flush=True)
time.sleep(5)
"""

PY_CHURN = r"""
import random, sys, time
random.seed(1)
time.sleep(float(sys.argv[2]))
print("start", time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1000, flush=True)
t0 = time.monotonic()
while time.monotonic() - t0 < float(sys.argv[1]):
    # build a working set of dicts and strings, use it, drop it: the GC and
    # CPython's arenas decide what RSS does
    work = [{"k%d" % i: "v" * random.randint(10, 400) for i in range(200)}
            for _ in range(random.randint(50, 400))]
    sum(len(d) for d in work)
    del work
    time.sleep(0.2)
print("end", time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1000, flush=True)
"""

NODE_LEAK = r"""
const keep = [];
setTimeout(() => {
const t0 = Date.now();
console.log("start");
const iv = setInterval(() => {
  keep.push(Buffer.alloc(64 * 1024, 1));  // 1 MiB/s retained
  if (Date.now() - t0 > Number(process.argv[1]) * 1000) { clearInterval(iv); console.log("end"); }
}, 1000 / 16);
}, Number(process.argv[2]) * 1000);
"""

NODE_CHURN = r"""
setTimeout(() => {
const t0 = Date.now();
console.log("start");
const iv = setInterval(() => {
  let work = [];
  for (let i = 0; i < 20000; i++) work.push({ a: i, s: "x".repeat(i % 300) });
  work = null;  // garbage for V8's GC
  if (Date.now() - t0 > Number(process.argv[1]) * 1000) { clearInterval(iv); console.log("end"); }
}, 200);
}, Number(process.argv[2]) * 1000);
"""


def boottime_usec():
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1000


def grower(name, args, pattern, leak, duration):
    return {"name": name, "kind": "grower", "args": args, "pattern": pattern, "leak": leak,
            "duration": duration}


SCENARIOS = [
    grower("grower-linear", ["--pattern", "linear", "--rate-mb", "2"], "linear", 1, 80),
    grower("grower-accelerating", ["--pattern", "accelerating", "--rate-mb", "1"],
           "accelerating", 1, 80),
    grower("grower-sawtooth-leak", ["--pattern", "sawtooth", "--rate-mb", "4",
                                    "--period-sec", "10", "--leak-mb", "0.5"], "sawtooth", 1, 90),
    grower("grower-sawtooth", ["--pattern", "sawtooth", "--rate-mb", "4", "--period-sec", "10"],
           "sawtooth", 0, 90),
    grower("grower-burst", ["--pattern", "burst", "--rate-mb", "1", "--period-sec", "8"],
           "burst", 1, 80),
    grower("grower-oscillating", ["--pattern", "oscillating", "--rate-mb", "2",
                                  "--period-sec", "30"], "oscillating", 0, 90),
    grower("grower-stable", ["--pattern", "stable"], "stable", 0, 80),
    grower("grower-plateau", ["--pattern", "plateau", "--rate-mb", "8", "--period-sec", "5"],
           "plateau", 0, 40),
    grower("grower-shrinking", ["--pattern", "shrinking", "--rate-mb", "1", "--base-mb", "120"],
           "shrinking", 0, 80),
    {"name": "malloc-once-64", "kind": "hold", "argv": [os.path.join(W, "malloc_once"), "64"],
     "pattern": "stable", "leak": 0, "duration": 120},
    {"name": "python-bytearray-64", "kind": "hold",
     "argv": [sys.executable, os.path.join(TOP, "tests", "workloads", "bytearray.py"), "64"],
     "pattern": "stable", "leak": 0, "duration": 120},
    {"name": "python-leak-1mib", "kind": "script", "argv": [sys.executable, "-c", PY_LEAK],
     "pattern": "linear", "leak": 1, "rate": MIB, "duration": 80},
    {"name": "python-churn", "kind": "script", "argv": [sys.executable, "-c", PY_CHURN],
     "pattern": "-", "leak": 0, "duration": 100},
    {"name": "node-leak-1mib", "kind": "script", "argv": ["node", "-e", NODE_LEAK],
     "pattern": "-", "leak": 1, "rate": 0, "duration": 80, "needs": "node"},
    {"name": "node-churn", "kind": "script", "argv": ["node", "-e", NODE_CHURN],
     "pattern": "-", "leak": 0, "duration": 100, "needs": "node"},
    {"name": "redis-fixed-keys", "kind": "redis", "grow": False, "pattern": "-", "leak": 0,
     "duration": 100, "needs": "redis-server"},
    {"name": "redis-growing-keys", "kind": "redis", "grow": True, "pattern": "-", "leak": 1,
     "duration": 80, "needs": "redis-server"},
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Run:
    """One program under test, with a `memctl record` of it."""

    def __init__(self, sc, socket_dir, tmp):
        self.sc = sc
        self.labels = {"pattern": sc["pattern"], "leak": sc["leak"]}
        self.extra = []
        self.tmp = tmp
        self.done_at = None
        kind = sc["kind"]
        if kind == "grower":
            self.p = subprocess.Popen([os.path.join(W, "memory_grower")] + sc["args"] +
                                      ["--hold-sec", str(HOLD), "--duration-sec",
                                       str(sc["duration"]), "--after-sec", "5"],
                                      stdout=subprocess.PIPE, text=True)
        elif kind == "hold":
            self.p = subprocess.Popen(sc["argv"], stdout=subprocess.PIPE, text=True)
        elif kind == "script":
            # the script idles HOLD s in the interpreter, then starts its pattern
            self.p = subprocess.Popen(sc["argv"] + [str(sc["duration"]), str(HOLD)],
                                      stdout=subprocess.PIPE, text=True)
        elif kind == "redis":
            self.port = free_port()
            self.p = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "",
                                       "--appendonly", "no", "--bind", "127.0.0.1"],
                                      stdout=subprocess.DEVNULL)
        self.pid = self.p.pid
        self.out = open(os.path.join(tmp, sc["name"] + ".rec"), "w")
        self.rec = subprocess.Popen([os.path.join(BUILD, "memctl"), "--socket-dir", socket_dir,
                                     "record", "--pid", str(self.pid)], stdout=self.out)
        self.start = boottime_usec()

    def drive(self):
        """Block until the program's pattern is over; fill the labels."""
        sc = self.sc
        if sc["kind"] == "grower":
            for line in self.p.stdout:
                ph = json.loads(line)
                if ph["event"] == "phase_start" and ph["phase"] == "pattern":
                    if sc["leak"]:
                        self.labels["onset_boottime_usec"] = ph["t_usec"]
                    self.labels["rate_bytes_per_sec"] = int(ph["rate_bytes_per_sec"])
                if ph["event"] == "phase_end" and ph["phase"] == "pattern":
                    self.labels["class_boottime_usec"] = ph["t_usec"]
                    break
            self.p.wait()
        elif sc["kind"] == "hold":
            json.loads(self.p.stdout.readline())
            time.sleep(sc["duration"])
            self.labels["class_boottime_usec"] = boottime_usec()
            self.p.terminate()
            self.p.wait()
        elif sc["kind"] == "script":
            # the interpreter idles before the script starts: a running process
            self.idle_then_run()
        elif sc["kind"] == "redis":
            self.run_redis()
        time.sleep(2)
        self.rec.send_signal(signal.SIGINT)
        self.rec.wait()
        self.out.close()

    def idle_then_run(self):
        sc = self.sc
        for line in self.p.stdout:
            if line.startswith("start"):
                if sc["leak"]:
                    self.labels["onset_boottime_usec"] = boottime_usec()
                if sc.get("rate"):
                    self.labels["rate_bytes_per_sec"] = sc["rate"]
            if line.startswith("end"):
                self.labels["class_boottime_usec"] = boottime_usec()
                break
        self.p.terminate()
        self.p.wait()

    def run_redis(self):
        sc = self.sc
        cli = ["redis-cli", "-p", str(self.port)]
        for _ in range(50):
            if subprocess.run(cli + ["ping"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        time.sleep(HOLD)
        t0 = time.monotonic()
        if sc["leak"]:
            self.labels["onset_boottime_usec"] = boottime_usec()
        n = 0
        if sc["grow"]:
            # 1,000 new 1 KiB keys a second, through one pipe: the keyspace grows
            pipe = subprocess.Popen(cli + ["--pipe"], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL)
            val = "v" * 1024
            while time.monotonic() - t0 < sc["duration"]:
                batch = "".join("SET key:%d %s\r\n" % (n + i, val) for i in range(100))
                pipe.stdin.write(batch.encode())
                pipe.stdin.flush()
                n += 100
                time.sleep(0.1)
            pipe.stdin.close()
            pipe.wait()
        else:
            # the same 10,000 keys overwritten again and again
            subprocess.run(["redis-benchmark", "-p", str(self.port), "-q", "-t", "set,get",
                            "-r", "10000", "-d", "512", "-n", "2000000", "-c", "4"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=sc["duration"] + 60)
        self.labels["class_boottime_usec"] = boottime_usec()
        subprocess.run(cli + ["shutdown", "nosave"], capture_output=True)
        self.p.wait(10)

    def write(self, outdir):
        path = os.path.join(outdir, self.sc["name"] + ".trace")
        with open(os.path.join(self.tmp, self.sc["name"] + ".rec")) as f:
            body = f.read()
        with open(path, "w") as f:
            f.write("# recorded by tests/accuracy/record.py: %s (%s)\n"
                    % (self.sc["name"], os.uname().release))
            for k, v in self.labels.items():
                f.write("# %s %s\n" % (k, v))
            f.write(body)
        return path


def main(argv):
    outdir = argv[1] if len(argv) > 1 else os.path.join(TOP, "tests", "accuracy", "traces")
    only = set(argv[2:])
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="memctl-record-")
    conf = os.path.join(tmp, "memctld.conf")
    open(conf, "w").close()
    sock = os.path.join(tmp, "run")
    d = subprocess.Popen([os.path.join(BUILD, "memctld"), "--socket-dir", sock, "--config", conf],
                         stderr=open(os.path.join(tmp, "memctld.log"), "w"))
    try:
        for _ in range(100):
            if os.path.exists(os.path.join(sock, "control.sock")):
                break
            time.sleep(0.1)
        time.sleep(1)
        runs = []
        for sc in SCENARIOS:
            if only and sc["name"] not in only:
                continue
            if sc.get("needs") and not shutil.which(sc["needs"]):
                print("skip %s: no %s" % (sc["name"], sc["needs"]))
                continue
            runs.append(Run(sc, sock, tmp))
        import threading
        threads = [threading.Thread(target=r.drive) for r in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in runs:
            print("wrote %s" % r.write(outdir))
    finally:
        d.terminate()
        d.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
