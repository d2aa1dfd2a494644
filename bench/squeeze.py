#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/squeeze.py: the four workloads in a v1 memory cgroup limited to 60% of their
footprint, three ways side by side: memctld + libarena (the daemon decides when they
compress), kernel zram swap with lz4 under the same limit, and no limit. Prints, per
workload, throughput against the unlimited run, peak usage, OOM or not, data verified,
and command->ack latency. Runs in the order A B C A B C ...; quotes medians.

  bench/squeeze.py [--reps N] [--region-mb M] [--duration-sec S] [--data KIND]
                   [--workloads a,b] [--limit-pct P] [--quick]

Root only. It sets up /dev/zram0 as swap for the zram runs and takes it down again
(refusing to touch a zram0 or swap already in use)."""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.join(TOP, os.environ.get("BUILD", "build"))
V1 = "/sys/fs/cgroup/memory"
WORKLOADS = ["interactive_burst", "anon_streamer", "random_touch_heap", "mmap_churn"]


def summary(text):
    for line in text.splitlines():
        if " mode=" in line and "run_ops=" in line:
            return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    return {}


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def read(path):
    with open(path) as f:
        return f.read()


class Zram:
    """/dev/zram0 as lz4 swap, for the zram runs; taken down again at exit."""

    def __init__(self, size_bytes):
        self.on = False
        if read("/proc/swaps").count("\n") > 1:
            sys.exit("squeeze: swap is already on (%s); not touching it" %
                     read("/proc/swaps").splitlines()[1])
        if not os.path.exists("/sys/block/zram0"):
            sys.exit("squeeze: no /dev/zram0 (zram module not loaded?)")
        if int(read("/sys/block/zram0/disksize")) != 0:
            sys.exit("squeeze: /dev/zram0 is in use (disksize set); not touching it")
        write("/sys/block/zram0/comp_algorithm", "lz4")
        write("/sys/block/zram0/disksize", size_bytes)
        subprocess.run(["mkswap", "/dev/zram0"], check=True, capture_output=True)
        subprocess.run(["swapon", "/dev/zram0"], check=True)
        self.on = True

    def off(self):
        if self.on:
            subprocess.run(["swapoff", "/dev/zram0"], check=False)
            write("/sys/block/zram0/reset", 1)
            self.on = False


class Memctld:
    def __init__(self, tmp):
        self.dir = tmp
        self.csv = os.path.join(tmp, "decisions.csv")
        self.log = open(os.path.join(tmp, "memctld.log"), "w")
        self.p = subprocess.Popen([os.path.join(BUILD, "memctld"), "--socket-dir",
                                   os.path.join(tmp, "run"), "--config", "/dev/null",
                                   "--csv", self.csv, "--log-level", "warning"],
                                  stdout=self.log, stderr=self.log)
        for _ in range(100):
            r = subprocess.run([os.path.join(BUILD, "memctl"), "--socket-dir",
                                os.path.join(tmp, "run"), "status"], capture_output=True)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        sys.exit("squeeze: memctld did not start: %s" % read(self.log.name))

    def socket(self):
        return os.path.join(self.dir, "run", "memctld.sock")

    def ack_latencies_usec(self):
        out = []
        with open(self.csv) as f:
            for row in f.read().splitlines()[1:]:
                cols = row.split(",")
                if cols[4] == '"compress-ack"':
                    out.append(int(cols[12]))
        return out

    def ack_to_next_usec(self):
        """Per workload, from each compress-ack to the next compress command
        sent to it: how long an ack waits for its next round."""
        out, pending = [], {}
        with open(self.csv) as f:
            for row in f.read().splitlines()[1:]:
                cols = row.split(",")
                t = float(cols[0])
                if cols[4] == '"compress-ack"':
                    pending[cols[1]] = t
                elif cols[4] == '"compress"' and cols[1] in pending:
                    out.append(int((t - pending.pop(cols[1])) * 1e6))
        return out

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=20)


def run_one(args, workload, mode, limit, daemon):
    """One run: 'unlimited' (plain memory, no limit), 'zram' (plain memory, the limit,
    zram swap), 'memctld' (libarena, the limit, memctld decides). Returns a dict."""
    cg = os.path.join(V1, "memctl-squeeze-%d-%d" % (os.getpid(), time.monotonic_ns()))
    os.mkdir(cg)
    try:
        if mode != "unlimited":
            write(os.path.join(cg, "memory.limit_in_bytes"), limit)
        argv = [os.path.join(BUILD, "workloads", workload), "--region-mb", str(args.region_mb),
                "--duration-sec", str(args.duration_sec), "--data", args.data]
        if workload in ("interactive_burst", "random_touch_heap"):
            argv += ["--fill-mb-per-sec", str(args.fill_mb_per_sec)]
        env = dict(os.environ)
        if mode == "memctld":
            argv += ["--use-mem-arena", "--controller-enroll", "--compress-policy", "external"]
            env["MEMCTLD_SOCKET"] = daemon.socket()
        t0 = time.monotonic()
        p = subprocess.run(["sh", "-c", 'echo $$ > %s/cgroup.procs && exec "$@"' % cg, "sh"] +
                           argv, env=env, capture_output=True, text=True, timeout=600)
        wall = time.monotonic() - t0
        s = summary(p.stdout)
        oom = int(re.search(r"oom_kill (\d+)", read(os.path.join(cg, "memory.oom_control")))
                  .group(1))
        peak = int(read(os.path.join(cg, "memory.max_usage_in_bytes")))
        ok = p.returncode == 0 and s.get("mismatches") == "0" and s.get("errors") == "0"
        thr = (int(s["run_ops"]) / float(s["run_sec"])) if s and float(s["run_sec"]) > 0 else 0
        return {"ok": ok, "rc": p.returncode, "oom": oom, "peak": peak, "thr": thr,
                "wall": wall, "verified": s.get("mismatches") == "0" and p.returncode == 0,
                "stderr": p.stderr[-300:]}
    finally:
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.1)


def footprint(args, workload):
    """Peak usage of an unlimited plain run: the memory the workload needs."""
    r = run_one(args, workload, "unlimited", 0, None)
    if not r["ok"]:
        sys.exit("squeeze: %s failed unlimited: %s" % (workload, r["stderr"]))
    return r["peak"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--region-mb", type=int, default=512)
    ap.add_argument("--duration-sec", type=float, default=10)
    ap.add_argument("--fill-mb-per-sec", type=int, default=128)
    ap.add_argument("--data", default="mixed")
    ap.add_argument("--limit-pct", type=int, default=60)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--quick", action="store_true", help="1 rep, 256 MiB, 4 s")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.region_mb, args.duration_sec = 1, 256, 4
    if os.geteuid() != 0:
        sys.exit("squeeze: needs root (cgroups, zram)")
    tmp = tempfile.mkdtemp(prefix="memctl-squeeze-")
    os.chmod(tmp, 0o755)
    zram = None
    daemon = None
    try:
        zram = Zram(4 * args.region_mb << 20)
        daemon = Memctld(tmp)
        print("# squeeze: %s, %d cpus; region %d MiB of %s data, limit %d%% of the "
              "footprint, %g s timed, %d rep(s) in A B C order; medians" % (
                  os.uname().release, os.cpu_count(), args.region_mb, args.data,
                  args.limit_pct, args.duration_sec, args.reps))
        print("%-18s %9s %9s %8s %8s %6s %6s %9s %9s %5s" % (
            "workload", "vs_unlim", "zram_vs", "peak_MiB", "limit", "oom", "data",
            "ack_p50ms", "ack_p99ms", "zOOM"))
        for w in args.workloads.split(","):
            limit = int(footprint(args, w) * args.limit_pct / 100)
            runs = {"unlimited": [], "memctld": [], "zram": []}
            before = len(daemon.ack_latencies_usec())
            before_next = len(daemon.ack_to_next_usec())
            for _ in range(args.reps):
                for mode in ("unlimited", "memctld", "zram"):
                    runs[mode].append(run_one(args, w, mode, limit, daemon))
            lat = sorted(daemon.ack_latencies_usec()[before:])
            nxt = sorted(daemon.ack_to_next_usec()[before_next:])
            base = statistics.median(r["thr"] for r in runs["unlimited"])
            med = {m: statistics.median(r["thr"] for r in runs[m]) for m in runs}
            mc = runs["memctld"]
            print("%-18s %9.3f %9.3f %8.0f %8.0f %6s %6s %9s %9s %5s" % (
                w, med["memctld"] / base if base else 0, med["zram"] / base if base else 0,
                max(r["peak"] for r in mc) / 2**20, limit / 2**20,
                "yes" if any(r["oom"] for r in mc) else "no",
                "ok" if all(r["verified"] for r in mc) else "BAD",
                "%.2f" % (lat[len(lat) // 2] / 1000) if lat else "-",
                "%.2f" % (lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000) if lat else "-",
                "yes" if any(r["oom"] for r in runs["zram"]) else "no"), flush=True)
            print("squeeze_%s: memctld_vs_unlimited=%.3f zram_vs_unlimited=%.3f "
                  "memctld_vs_zram=%.3f peak_bytes=%d limit_bytes=%d oom=%d verified=%d "
                  "acks=%d ack_p50_usec=%d ack_p99_usec=%d ack_to_next_p50_usec=%d" % (
                      w, med["memctld"] / base if base else 0,
                      med["zram"] / base if base else 0,
                      med["memctld"] / med["zram"] if med["zram"] else 0,
                      max(r["peak"] for r in mc), limit, sum(r["oom"] for r in mc),
                      all(r["verified"] for r in mc), len(lat),
                      lat[len(lat) // 2] if lat else 0,
                      lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0,
                      nxt[len(nxt) // 2] if nxt else 0), flush=True)
    finally:
        if daemon:
            daemon.stop()
        if zram:
            zram.off()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
