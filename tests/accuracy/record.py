#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/accuracy/record.py: record the real traces in tests/accuracy/traces/:
run the workloads and real programs (Debian's CPython, node, OpenJDK and
redis-server, driven from loopback) under a real memctld and keep its
coalesced RSS records of each (`memctl record --pid`). The truth in each
file's header comes from what the program was told to do and printed
(memory_grower's JSON phase lines, a script's start/end lines), never from
the detector; "# why" says how it is known; "# pattern -" marks a real
program whose shape nobody can state beforehand (scored for false alarms and
detection only).

Usage (root, BPF): tests/accuracy/record.py [OUTDIR] [NAME...]
Needs build/memctld, build/memctl, build/workloads/*; node, javac and
redis-server scenarios are skipped when the program is missing. Takes about
2.5 minutes (all run at once)."""
import json
import random
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, os.environ.get("BUILD", "build"))
W = os.path.join(BUILD, "workloads")
MIB = 1 << 20
HOLD = 40  # past the detector's MinHistorySec= (30 s): a running process

# Debian's interpreter, not whatever python3 comes first on PATH
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# Each leaking script keeps 64 KiB chunks at 16 a second counted from its start
# (it catches up after a late wake-up), so the true rate is 1 MiB/s of payload
# however loaded the machine is.
PY_LEAK = r"""
import sys, time
keep = []
time.sleep(float(sys.argv[2]))  # a running process first
print("start", flush=True)
t0 = time.monotonic()
while time.monotonic() - t0 < float(sys.argv[1]):
    while len(keep) < (time.monotonic() - t0) * 16:
        keep.append(bytearray(b"x" * (64 << 10)))
    time.sleep(1 / 32)
print("end", flush=True)
time.sleep(5)
"""

PY_CHURN = r"""
import random, sys, time
random.seed(1)
time.sleep(float(sys.argv[2]))
print("start", flush=True)
t0 = time.monotonic()
while time.monotonic() - t0 < float(sys.argv[1]):
    # build a working set of dicts and strings, use it, drop it: the GC and
    # CPython's arenas decide what RSS does
    work = [{"k%d" % i: "v" * random.randint(10, 400) for i in range(200)}
            for _ in range(random.randint(50, 400))]
    sum(len(d) for d in work)
    del work
    time.sleep(0.2)
print("end", flush=True)
"""

# A read-through cache in front of a slow source: 4,000 requests a second for
# keys drawn uniformly from 40,000, a miss stores a 4 KiB value. It fills as
# 1 - exp(-t / 10 s) toward ~170 MiB and then only hits: healthy, bounded by
# its keyspace (the warm-up that looks like a leak for its first seconds).
PY_CACHE = r"""
import random, sys, time
random.seed(2)
time.sleep(float(sys.argv[2]))
print("start", flush=True)
cache, done, t0 = {}, 0, time.monotonic()
while time.monotonic() - t0 < float(sys.argv[1]):
    while done < (time.monotonic() - t0) * 4000:
        k = random.randrange(40000)
        v = cache.get(k)
        if v is None:
            cache[k] = v = bytes([k & 255]) * 4096
        done += 1
    time.sleep(0.01)
print("end", len(cache), flush=True)
"""

NODE_LEAK = r"""
const keep = [];
setTimeout(() => {
const t0 = Date.now();
console.log("start");
const iv = setInterval(() => {
  while (keep.length < (Date.now() - t0) / 1000 * 16)
    keep.push(Buffer.alloc(64 * 1024, 1));  // 1 MiB/s retained, off V8's heap
  if (Date.now() - t0 > Number(process.argv[1]) * 1000) { clearInterval(iv); console.log("end"); }
}, 1000 / 32);
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

# A JVM (Debian's OpenJDK, G1, -Xmx512m) allocating ~40 MB/s of short-lived
# objects around a fixed 32 MiB live set; Leak also keeps a 64 KiB array 16
# times a second (1 MiB/s retained).
JAVA_SRC = r"""
import java.util.ArrayList;
public class Mem {
    static volatile long sink;
    public static void main(String[] a) throws Exception {
        boolean leak = a[0].equals("leak");
        double dur = Double.parseDouble(a[1]);
        Thread.sleep((long) (Double.parseDouble(a[2]) * 1000));
        byte[][] live = new byte[512][];
        for (int i = 0; i < live.length; i++) live[i] = new byte[64 << 10];
        ArrayList<byte[]> keep = new ArrayList<>();
        System.out.println("start");
        System.out.flush();
        long t0 = System.nanoTime();
        while ((System.nanoTime() - t0) / 1e9 < dur) {
            double t = (System.nanoTime() - t0) / 1e9;
            for (int i = 0; i < 400; i++) {       // ~400 KiB of garbage per 10 ms
                byte[] g = new byte[1024];
                g[i & 1023] = 1;
                sink += g[0];
            }
            live[(int) (t * 100) % live.length] = new byte[64 << 10];
            while (leak && keep.size() < t * 16) {
                byte[] k = new byte[64 << 10];
                for (int j = 0; j < k.length; j += 4096) k[j] = 1;
                keep.add(k);
            }
            Thread.sleep(10);
        }
        System.out.println("end");
        System.out.flush();
    }
}
"""


def boottime_usec():
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1000


def grower(name, args, pattern, leak, duration, why):
    return {"name": name, "kind": "grower", "args": args, "pattern": pattern, "leak": leak,
            "duration": duration, "why": why}


JAVA = ["java", "-Xmx512m", "-XX:+UseG1GC", "-cp", "{javadir}", "Mem"]

# "why": how the label is known (written into the trace's header)
SCENARIOS = [
    grower("grower-linear", ["--pattern", "linear", "--rate-mb", "2"], "linear", 1, 80,
           "memory_grower keeps 2 MiB/s it never frees"),
    grower("grower-accelerating", ["--pattern", "accelerating", "--rate-mb", "1"],
           "accelerating", 1, 80, "memory_grower keeps memory at a rate rising from 0 to 2 MiB/s"),
    grower("grower-sawtooth-leak", ["--pattern", "sawtooth", "--rate-mb", "4",
                                    "--period-sec", "10", "--leak-mb", "0.5"], "sawtooth", 1, 90,
           "memory_grower frees its 4 MiB/s every 10 s but keeps 0.5 MiB/s"),
    grower("grower-sawtooth", ["--pattern", "sawtooth", "--rate-mb", "4", "--period-sec", "10"],
           "sawtooth", 0, 90, "memory_grower frees all it took every 10 s"),
    grower("grower-burst", ["--pattern", "burst", "--rate-mb", "1", "--period-sec", "8"],
           "burst", 1, 80, "memory_grower keeps 8 MiB in one burst every 8 s"),
    grower("grower-oscillating", ["--pattern", "oscillating", "--rate-mb", "2",
                                  "--period-sec", "30"], "oscillating", 0, 90,
           "memory_grower goes up and back down around its base"),
    grower("grower-stable", ["--pattern", "stable"], "stable", 0, 80,
           "memory_grower holds its base"),
    grower("grower-plateau", ["--pattern", "plateau", "--rate-mb", "8", "--period-sec", "5"],
           "plateau", 0, 40, "memory_grower takes 40 MiB in 5 s, then holds it"),
    grower("grower-shrinking", ["--pattern", "shrinking", "--rate-mb", "1", "--base-mb", "120"],
           "shrinking", 0, 80, "memory_grower gives back 1 MiB/s"),
    {"name": "malloc-once-64", "kind": "hold", "argv": [os.path.join(W, "malloc_once"), "64"],
     "pattern": "stable", "leak": 0, "duration": 120,
     "why": "malloc_once takes 64 MiB at its start and holds it"},
    {"name": "python-bytearray-64", "kind": "hold",
     "argv": [PYTHON, os.path.join(TOP, "tests", "workloads", "bytearray.py"), "64"],
     "pattern": "stable", "leak": 0, "duration": 120,
     "why": "bytearray.py takes 64 MiB at its start and holds it"},
    {"name": "python-leak-1mib", "kind": "script", "argv": [PYTHON, "-c", PY_LEAK],
     "pattern": "linear", "leak": 1, "rate": MIB, "duration": 80,
     "why": "CPython keeps a 64 KiB bytearray 16 times a second in a list"},
    {"name": "python-churn", "kind": "script", "argv": [PYTHON, "-c", PY_CHURN],
     "pattern": "-", "leak": 0, "duration": 100,
     "why": "CPython builds and drops up to 400 dicts of strings 5 times a second"},
    {"name": "python-cache-warmup", "kind": "script", "argv": [PYTHON, "-c", PY_CACHE],
     "pattern": "-", "leak": 0, "duration": 100,
     "why": "a dict cache over 40,000 keys fills (tau 10 s, ~170 MiB), then only hits"},
    {"name": "node-leak-1mib", "kind": "script", "argv": ["node", "-e", NODE_LEAK],
     "pattern": "-", "leak": 1, "duration": 80, "needs": "node",
     "why": "node keeps a 64 KiB Buffer 16 times a second in an array"},
    {"name": "node-churn", "kind": "script", "argv": ["node", "-e", NODE_CHURN],
     "pattern": "-", "leak": 0, "duration": 100, "needs": "node",
     "why": "node builds and drops 20,000 objects 5 times a second (V8's GC)"},
    {"name": "java-leak-1mib", "kind": "script", "argv": JAVA + ["leak"],
     "pattern": "-", "leak": 1, "duration": 80, "needs": "javac",
     "why": "a JVM program keeps a 64 KiB array 16 times a second beside its garbage"},
    {"name": "java-churn", "kind": "script", "argv": JAVA + ["churn"],
     "pattern": "-", "leak": 0, "duration": 100, "needs": "javac",
     "why": "a JVM program makes ~40 MB/s of garbage around a fixed 32 MiB live set (G1)"},
    {"name": "redis-fixed-keys", "kind": "redis", "mode": "fixed", "pattern": "-", "leak": 0,
     "duration": 100, "needs": "redis-server",
     "why": "redis-benchmark overwrites the same 10,000 keys again and again"},
    {"name": "redis-cache-fill", "kind": "redis", "mode": "fill", "pattern": "-", "leak": 0,
     "duration": 100, "needs": "redis-server",
     "why": "10,000 SETs a second of 1 KiB values over 200,000 keys: fills (tau 20 s), then "
            "overwrites"},
    {"name": "redis-growing-keys", "kind": "redis", "mode": "grow", "pattern": "-", "leak": 1,
     "duration": 80, "needs": "redis-server",
     "why": "1,000 new 1 KiB keys a second, none deleted or expired: the dataset grows "
            "without bound"},
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Run:
    """One program under test, with a `memctl record` of it."""

    def __init__(self, sc, socket_dir, tmp, javadir):
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
            argv = [a.replace("{javadir}", javadir) for a in sc["argv"]]
            self.p = subprocess.Popen(argv + [str(sc["duration"]), str(HOLD)],
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
            time.sleep(2)  # its exit (RSS to nothing) comes after the check
            self.p.terminate()
            self.p.wait()
        elif sc["kind"] == "script":
            # the interpreter idles before the script starts: a running process
            self.idle_then_run()
        elif sc["kind"] == "redis":
            self.run_redis()
        # every branch waited for the program's exit: no record after this
        # means none was due (a quiet process sends none), not a lost one
        self.labels["end_boottime_usec"] = boottime_usec()
        time.sleep(2)
        self.rec.send_signal(signal.SIGTERM)  # SIGINT: ignored in a background job
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
        time.sleep(2)  # its exit (RSS to nothing) comes after the check
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
        if sc["mode"] in ("grow", "fill"):
            # through one pipe, paced by the clock: "grow" adds 1,000 new 1 KiB
            # keys a second; "fill" sets 10,000 random keys of 200,000 a second
            pipe = subprocess.Popen(cli + ["--pipe"], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL)
            rnd = random.Random(3)
            per_sec = 1000 if sc["mode"] == "grow" else 10000
            val = "v" * 1024
            while time.monotonic() - t0 < sc["duration"]:
                want = int((time.monotonic() - t0) * per_sec)
                if sc["mode"] == "grow":
                    keys = range(n, want)
                else:
                    keys = [rnd.randrange(200000) for _ in range(want - n)]
                pipe.stdin.write("".join("SET key:%d %s\r\n" % (k, val)
                                         for k in keys).encode())
                pipe.stdin.flush()
                n = max(n, want)
                time.sleep(0.05)
            pipe.stdin.close()
            pipe.wait()
        else:
            # the same 10,000 keys overwritten again and again, for the duration
            while time.monotonic() - t0 < sc["duration"]:
                subprocess.run(["redis-benchmark", "-p", str(self.port), "-q", "-t", "set,get",
                                "-r", "10000", "-d", "512", "-n", "100000", "-c", "4"],
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
            f.write("# why %s\n" % self.sc["why"])
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
        javadir = os.path.join(tmp, "java")
        if shutil.which("javac"):
            os.makedirs(javadir)
            with open(os.path.join(javadir, "Mem.java"), "w") as f:
                f.write(JAVA_SRC)
            subprocess.run(["javac", "-d", javadir, os.path.join(javadir, "Mem.java")],
                           check=True)
        runs = []
        for sc in SCENARIOS:
            if only and sc["name"] not in only:
                continue
            if sc.get("needs") and not shutil.which(sc["needs"]):
                print("skip %s: no %s" % (sc["name"], sc["needs"]))
                continue
            runs.append(Run(sc, sock, tmp, javadir))
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
