# SPDX-License-Identifier: MIT
"""tests/integration/test_metrics.py: the real memctld's Prometheus metrics:
promtool checks a live exposition (hostile names in it), OpenMetrics on request,
`memctl metrics` gives the same text, the textfile is written atomically, a real
Prometheus server scrapes a private memctld and its HTTP API returns the values
the daemon reports, the socket from systemd-socket-activate is used without the
daemon calling socket(AF_INET), and hostile HTTP (huge headers, slow clients,
200 connections, unknown paths, other methods) leaves it answering with its RSS
and fd count flat. Everything on loopback, bounded in count and time."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (DaemonTestCase, Daemon, MEMCTL, MEMCTLD, TOP, in_cgroup,  # noqa: E402
                     main, v1_cgroup, wait_until)

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
RULES = os.path.join(TOP, "docs", "prometheus", "memctl-rules.yml")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(port, path="/metrics", headers=None, method="GET", timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict(r.getheaders()), body


def samples(text):
    """{(name, frozenset(labels)): value} of a text exposition, and the
    families with HELP and TYPE lines."""
    out, helps, types = {}, set(), {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
        elif line.startswith("# TYPE "):
            types[line.split()[2]] = line.split()[3]
        elif line and not line.startswith("#"):
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
            assert m, "unparsable sample line: %r" % line
            labels = frozenset(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
            out[(m.group(1), labels)] = float(m.group(4))
    return out, helps, types


def value(s, name, **labels):
    for (n, ls), v in s.items():
        if n == name and all((k, v2) in ls for k, v2 in labels.items()):
            return v
    return None


def promtool_check(testcase, text):
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    testcase.assertEqual(r.returncode, 0, "promtool check metrics: %s %s"
                         % (r.stdout.decode(), r.stderr.decode()))
    # promtool prints lint findings (names, units, counters) and exits 0 for some
    testcase.assertEqual(r.stdout.decode().strip() + r.stderr.decode().strip(), "",
                         "promtool lint findings")


def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class MetricsTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        if not PROMTOOL:
            self.skipTest("skip: promtool not installed (Debian's prometheus package)")
        self.tmp = tempfile.mkdtemp(prefix="memctl-metrics-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        super().tearDown()

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def start_metrics(self, extra=""):
        self.port = free_port()
        self.textfile = os.path.join(self.tmp, "memctld.prom")
        return self.start(config_text="[Daemon]\nTickIntervalSec=200ms\n[Metrics]\n"
                          "Listen=127.0.0.1:%d\nTextfile=%s\n%s" % (self.port, self.textfile, extra))

    def hostile_process(self, cg):
        """A process in cgroup cg whose name holds a quote, a backslash, a newline
        and a byte that is not UTF-8, enrolled (monitor-only) under that name."""
        code = ("import os,sys,time\n"
                "open('/proc/self/comm','wb').write(b'ev\"il\\\\x\\xff')\n"
                "sys.stdout.write('ok\\n'); sys.stdout.flush(); time.sleep(120)\n")
        p = self.spawn(in_cgroup(cg, [sys.executable, "-c", code]), stdout=subprocess.PIPE)
        self.assertEqual(p.stdout.readline(), b"ok\n")
        wait_until(lambda: self.d.try_json("show", str(p.pid)), timeout=10)
        # the comm holds the newline-free part (the kernel's comm file ends in a
        # newline); the enrollment name, from --name, the newline and 0xff too
        r = subprocess.run([MEMCTL.encode(), b"--socket-dir", self.d.socket_dir.encode(),
                            b"enroll", str(p.pid).encode(), b"--name", b'ev"il\\\nx\xff'],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        return p

    def test_exposition_checked_by_promtool(self):
        d = self.start_metrics()
        cg = v1_cgroup(self, 256 << 20, "memctl-metrics")
        name = "/" + os.path.basename(cg)
        p = self.hostile_process(cg)
        # in a rendering after the enrollment (one per tick) and the tick that
        # resolved the process's cgroup
        def ready():
            s = samples(get(self.port)[2].decode())[0]
            return (value(s, "memctl_cgroup_memory_limit_bytes", cgroup=name) is not None and
                    value(s, "memctl_workloads_enrolled", mode="monitor") == 1)
        self.assertTrue(wait_until(ready, timeout=10))
        status, headers, body = get(self.port)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        text = body.decode()
        promtool_check(self, text)
        s, helps, types = samples(text)
        # every family has HELP and TYPE, every sample a family
        for (n, _ls) in s:
            fam = re.sub(r"_(bucket|sum|count)$", "", n) if n not in types else n
            self.assertIn(fam, types, n)
            self.assertIn(fam, helps, n)
        self.assertEqual(value(s, "memctl_cgroup_memory_limit_bytes", cgroup=name), 256 << 20)
        self.assertEqual(value(s, "memctl_build_info", version=d.status()["version"]), 1)
        self.assertGreaterEqual(value(s, "memctl_processes_tracked"), 3)
        self.assertEqual(value(s, "memctl_bpf_program_loaded", program="lifecycle"), 1)
        # the hostile name, escaped: quote and backslash and newline, U+FFFD
        esc = 'ev\\"il\\\\\\nx\ufffd'
        self.assertIn('memctl_workload_info{pid="%d",name="%s"' % (p.pid, esc), text)
        # the process's comm, as the table has it (set after exec: the next
        # resync or exec renames it; python3 until then)
        self.assertIn('memctl_process_resident_bytes{pid="%d",name=' % p.pid, text)
        self.assertEqual(value(s, "memctl_workloads_enrolled", mode="monitor"), 1)
        self.assertIsNotNone(value(s, "memctl_workload_ack_latency_seconds_count",
                                   pid=str(p.pid)))
        # the growth episodes family is there for every pattern, from 0
        self.assertEqual(len([k for k in s if k[0] == "memctl_growth_episodes_total"]), 18)

        # OpenMetrics when asked, as Prometheus asks
        om_accept = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        status, headers, body = get(self.port, headers={"Accept": om_accept})
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith(
            "application/openmetrics-text; version=1.0.0"))
        om = body.decode()
        self.assertTrue(om.endswith("# EOF\n"))
        self.assertIn("# TYPE memctl_bpf_records_lost counter\n", om)
        self.assertIn("# TYPE memctl_build info\n", om)

        # `memctl metrics` is the same text (one rendering per tick: retry
        # until both come from one)
        def same():
            a = get(self.port)[2].decode()
            b = d.ctl("metrics").stdout
            return a == b
        self.assertTrue(wait_until(same, timeout=10, interval=0.01))
        mo = d.ctl("metrics", "--openmetrics").stdout
        self.assertTrue(mo.endswith("# EOF\n"))
        j = d.ctl_json("metrics")
        self.assertIn("memctl_uptime_seconds", j["text"])
        r = d.ctl("metrics", "extra", check=False)
        self.assertNotEqual(r.returncode, 0)

        # the textfile: the text format, 0644, rewritten each tick
        if not wait_until(lambda: os.path.exists(self.textfile), timeout=5):
            self.fail("no textfile: %s" % [l for l in d.ctl("metrics").stdout.splitlines()
                                           if "textfile" in l])
        st = os.stat(self.textfile)
        self.assertEqual(st.st_mode & 0o777, 0o644)
        with open(self.textfile) as f:
            promtool_check(self, f.read())
        before = st.st_ino
        self.assertTrue(wait_until(lambda: os.stat(self.textfile).st_ino != before, timeout=5))
        self.assertFalse(os.path.exists(self.textfile + ".tmp"))

    def test_textfile_never_follows_a_planted_link(self):
        self.start_metrics()
        victim = os.path.join(self.tmp, "victim")
        with open(victim, "w") as f:
            f.write("keep me\n")
        tmp = self.textfile + ".tmp"
        wait_until(lambda: os.path.exists(self.textfile), timeout=5)
        for _ in range(5):  # planted again and again between ticks
            try:
                os.symlink(victim, tmp)
            except FileExistsError:
                pass
            time.sleep(0.25)
        with open(victim) as f:
            self.assertEqual(f.read(), "keep me\n")
        self.assertFalse(os.path.islink(self.textfile))
        with open(self.textfile) as f:
            self.assertIn("memctl_uptime_seconds", f.read())

    def test_textfile_unwritable_is_an_event_not_a_failure(self):
        self.port = free_port()
        d = self.start(config_text="[Metrics]\nTextfile=/nonexistent-dir-%d/m.prom\n"
                       % os.getpid())
        ev = wait_until(lambda: [e for e in d.ctl_json("events")
                                 if e["kind"] == "metrics-failed"], timeout=5)
        self.assertTrue(ev)
        self.assertIn("textfile", ev[0]["text"])
        self.assertTrue(d.status()["version"])
        self.assertIn("memctl_uptime_seconds", d.ctl("metrics").stdout)

    def test_prometheus_scrapes_a_private_memctld(self):
        if not PROMETHEUS:
            self.skipTest("skip: prometheus not installed")
        d = self.start_metrics()
        cg = v1_cgroup(self, 128 << 20, "memctl-prom")
        name = "/" + os.path.basename(cg)
        # 32 MiB touched in the cgroup: its usage is at least that
        code = ("import sys,time\nb=bytearray(32<<20)\nfor i in range(0,len(b),4096): b[i]=1\n"
                "sys.stdout.write('ok\\n'); sys.stdout.flush(); time.sleep(120)\n")
        w = self.spawn(in_cgroup(cg, [sys.executable, "-c", code]), stdout=subprocess.PIPE)
        self.assertEqual(w.stdout.readline(), b"ok\n")
        wait_until(lambda: any(c["path"] == name for c in d.ctl_json("cgroups")),
                   timeout=10)
        pport = free_port()
        pdir = os.path.join(self.tmp, "prom")
        os.mkdir(pdir)
        cfg = os.path.join(pdir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: memctld\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % self.port)
        plog = open(os.path.join(pdir, "log"), "w")
        self.addCleanup(plog.close)
        prom = self.spawn([PROMETHEUS, "--config.file=" + cfg,
                           "--storage.tsdb.path=" + os.path.join(pdir, "data"),
                           "--web.listen-address=127.0.0.1:%d" % pport, "--log.level=warn"],
                          stdout=plog, stderr=plog)

        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?%s" % (pport, urllib.parse.urlencode(
                {"query": q}))
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    res = json.load(r)
            except OSError:
                return None
            if res.get("status") != "success" or not res["data"]["result"]:
                return None
            return float(res["data"]["result"][0]["value"][1])

        up = wait_until(lambda: query('up{job="memctld"}') == 1, timeout=30, interval=0.5)
        if not up:
            with open(os.path.join(pdir, "log")) as f:
                self.fail("prometheus never scraped memctld: %s" % f.read()[-2000:])
        self.assertEqual(prom.poll(), None)
        # the values the daemon reports, through Prometheus's API
        limit = wait_until(lambda: query('memctl_cgroup_memory_limit_bytes{cgroup="%s"}' % name),
                           timeout=10, interval=0.5)
        self.assertEqual(limit, 128 << 20)
        usage = query('memctl_cgroup_memory_usage_bytes{cgroup="%s"}' % name)
        mine = [c for c in d.ctl_json("cgroups") if c["path"] == name][0]
        self.assertGreaterEqual(usage, 32 << 20)
        self.assertLess(abs(usage - mine["usage_bytes"]), 8 << 20,
                        "prometheus %s vs memctl cgroups %s" % (usage, mine["usage_bytes"]))
        tracked = query("memctl_processes_tracked")
        now = d.status()["processes_tracked"]
        self.assertLess(abs(tracked - now), max(20, now * 0.2), (tracked, now))
        # OpenMetrics was negotiated and parsed: the info metric is there
        self.assertEqual(query('memctl_build_info{version="%s"}' % d.status()["version"]), 1)
        self.assertEqual(query('scrape_samples_scraped{job="memctld"}') > 100, True)
        prom.send_signal(signal.SIGTERM)
        prom.wait(timeout=15)

    def test_rules_pass_promtool(self):
        r = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        self.assertIn("SUCCESS", r.stdout.decode())
        # and a broken rule is caught by the same check (it can fail)
        bad = os.path.join(self.tmp, "bad.yml")
        with open(RULES) as f, open(bad, "w") as g:
            g.write(f.read().replace("expr: ", "expr: sum by( ", 1))
        r = subprocess.run([PROMTOOL, "check", "rules", bad], capture_output=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)

    def test_dashboard_uses_only_exported_metrics(self):
        d = self.start_metrics()
        cg = v1_cgroup(self, 256 << 20, "memctl-dash")
        self.hostile_process(cg)
        wait_until(lambda: "memctl_workload_info" in d.ctl("metrics").stdout, timeout=10)
        exported = set(re.findall(r"^# TYPE (\S+)", d.ctl("metrics").stdout, re.M))
        exported |= {n + s for n in list(exported) for s in ("_bucket", "_sum", "_count")}
        with open(RULES) as f:
            rules = f.read()
        recorded = set(re.findall(r"record: (\S+)", rules))
        with open(os.path.join(TOP, "docs", "grafana", "memctl.json")) as f:
            dash = json.load(f)
        exprs = []

        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k in ("expr", "query") and isinstance(v, str):
                        exprs.append(v)
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(dash)
        self.assertGreater(len(exprs), 5)
        for e in exprs + re.findall(r"expr: (.*)", rules):
            for n in re.findall(r"\b(memctl_[a-z0-9_]+|memctl:[a-z0-9_:]+)", e):
                self.assertTrue(n in exported or n in recorded, "%s in %r is not exported" % (n, e))

    def test_socket_from_systemd_without_inet_socket_calls(self):
        ssa = shutil.which("systemd-socket-activate")
        strace = shutil.which("strace")
        if not ssa or not strace:
            self.skipTest("skip: systemd-socket-activate or strace missing")
        self.port = free_port()
        trace = os.path.join(self.tmp, "trace")
        # systemd-socket-activate binds the socket and execs memctld with it
        # (LISTEN_FDS=1); memctld must never create an AF_INET socket itself,
        # as RestrictAddressFamilies=AF_UNIX in the unit would refuse it
        d = Daemon(config_text="[Metrics]\nListen=\n",
                   wrap=(strace, "-f", "-qq", "-o", trace, "-e", "trace=socket,execve",
                         ssa, "-E", "NOTIFY_SOCKET", "-l", "127.0.0.1:%d" % self.port))
        self.d = d
        # it starts memctld at the first connection, which then waits in the backlog
        first = {}

        def poke():
            for _ in range(100):
                try:
                    first["r"] = get(self.port, timeout=20)
                    return
                except OSError:
                    time.sleep(0.1)
        t = threading.Thread(target=poke)
        t.start()
        d.wait_notify("READY=1", timeout=30)
        t.join(30)
        self.assertEqual(first["r"][0], 200)
        self.assertIn(b"memctl_uptime_seconds", first["r"][2])
        self.assertIn("the socket from systemd", d.log())
        pid = d.status()["pid"]
        self.addCleanup(lambda: os.kill(pid, signal.SIGKILL) if os.path.exists(
            "/proc/%d" % pid) else None)
        with open(trace) as f:
            lines = f.read().splitlines()
        exec_at = [i for i, l in enumerate(lines) if 'execve("%s"' % MEMCTLD in l
                   and l.rstrip().endswith("= 0")]
        self.assertTrue(exec_at, "\n".join(lines[:20]))
        after = lines[exec_at[0]:]
        inet = [l for l in after if re.search(r"socket\(AF_INET6?,", l)]
        self.assertEqual(inet, [], "memctld created an inet socket itself")
        self.assertTrue([l for l in after if "socket(AF_UNIX" in l])

    def test_hostile_http_keeps_it_answering(self):
        d = self.start_metrics("MaxConnections=16\nTimeoutSec=2s\n")
        pid = d.status()["pid"]
        self.assertEqual(get(self.port)[0], 200)
        # unknown paths, other methods
        self.assertEqual(get(self.port, "/nope")[0], 404)
        self.assertEqual(get(self.port, "/metrics/../etc/passwd")[0], 404)
        for m in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            status, headers, _ = get(self.port, method=m)
            self.assertEqual(status, 405, m)
            self.assertEqual(headers.get("Allow"), "GET, HEAD")
        status, _h, body = get(self.port, method="HEAD")
        self.assertEqual((status, body), (200, b""))

        def barrage():
            socks = []
            # oversized headers: 64 KiB of them, far over the 16 KiB a connection gets
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
                try:
                    head = s.recv(64)
                except (ConnectionResetError, socket.timeout):
                    head = b""
                self.assertFalse(head.startswith(b"HTTP/1.1 200"), head)
                s.close()
            # slow clients: half a request line, then nothing
            for _ in range(8):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                s.sendall(b"GET /met")
                socks.append(s)
            # 200 connections at once, over MaxConnections=16: the rest wait in
            # the backlog or are dropped (non-blocking connects: never waited for)
            for _ in range(200):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", self.port))
                socks.append(s)
            # it keeps answering its control socket meanwhile
            t0 = time.monotonic()
            self.assertTrue(d.status()["version"])
            self.assertLess(time.monotonic() - t0, 5)
            # the slow ones are closed after TimeoutSec=
            time.sleep(3)
            closed = 0
            for s in socks[:8]:
                s.settimeout(2)  # the slow ones are blocking sockets
                try:
                    closed += s.recv(1) == b""
                except (ConnectionResetError, socket.timeout):
                    closed += 1
            self.assertEqual(closed, 8)
            for s in socks:
                s.close()
        barrage()
        # scrapes work again once they are gone
        self.assertTrue(wait_until(lambda: get(self.port)[0] == 200, timeout=10))
        time.sleep(1)
        rss0, fds0 = proc_rss_kb(pid), proc_fds(pid)
        for _ in range(2):
            barrage()
            self.assertTrue(wait_until(lambda: get(self.port)[0] == 200, timeout=10))
        # the open connections are gone: back to the same fds; RSS flat
        self.assertTrue(wait_until(lambda: proc_fds(pid) <= fds0, timeout=10),
                        (proc_fds(pid), fds0))
        rss1 = proc_rss_kb(pid)
        self.assertLess(rss1 - rss0, 2048, "RSS grew from %d to %d kB" % (rss0, rss1))
        s = samples(get(self.port)[2].decode())[0]
        self.assertGreaterEqual(value(s, "memctl_http_requests_total", code="405"), 5)
        self.assertGreaterEqual(value(s, "memctl_http_requests_total", code="404"), 2)
        self.assertLessEqual(value(s, "memctl_http_connections_max"), 16)


if __name__ == "__main__":
    main()
