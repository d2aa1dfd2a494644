#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/integration/resctrl_emu.py: a test tool, not part of memctl. A FUSE filesystem
that behaves like the kernel's resctrl (Documentation/filesystems/resctrl.rst,
fs/resctrl/) for every file and operation memctld uses, so the daemon runs unchanged on
a machine without RDT:

  info/last_cmd_status, info/L3_MON/{num_rmids,mon_features,max_threshold_occupancy}
  tasks, cpus, cpus_list, mon_data/mon_L3_XX/{llc_occupancy,mbm_total_bytes,
  mbm_local_bytes}, mon_groups/ at the root and in every control group (mkdir at
  the top makes a CTRL_MON group, in mon_groups a MON group)

  - mkdir takes an RMID: ENOSPC past num_rmids ("Out of RMIDs"), EBUSY when only
    RMIDs in limbo are left; rmdir moves the group's tasks to its parent and puts its
    RMID into limbo for --limbo-ms (the kernel re-checks limbo once a second);
  - writing "tid[,tid...]" to tasks validates each ID like the kernel: EINVAL for a
    bad number, ESRCH for a missing task ("No task N"), EINVAL for a task of another
    control group written to a MON group ("Can't move task to different control
    group"); tasks are moved one by one, the first failure aborts;
  - counters advance from a schedule the test writes (JSON, re-read when it changes):
      {"tasks": {"TID": {"total": B/s, "local": B/s, "occupancy": bytes,
                         "domain": N}},
       "unavailable": ["GROUP", ...],  "error": ["GROUP", ...],
       "reset": ["GROUP", ...]}
    a task's bytes go to the group (RMID) it is in while it is there; mbm_* are
    cumulative byte counts, llc_occupancy the current bytes; GROUP is a directory
    name (or "*"): its counter files read "Unavailable" or "Error", or its counters
    restart from 0 once per change of the file.

Usage: resctrl_emu.py MOUNTPOINT [--num-rmids N] [--domains N] [--limbo-ms MS]
       [--schedule FILE] [--no-local] [--no-occupancy]
Runs in the foreground until unmounted (fusermount -u MOUNTPOINT) or SIGTERM.
Needs python3-fusepy (scripts/deps.sh installs it) and /dev/fuse.
"""
import argparse
import errno
import json
import os
import stat
import threading
import time

import fusepy
from fusepy import FUSE, FuseOSError, Operations

FILE_MODE = stat.S_IFREG | 0o644
RO_MODE = stat.S_IFREG | 0o444
DIR_MODE = stat.S_IFDIR | 0o755


class Group:
    def __init__(self, name, parent, rmid, mon=False):
        self.name = name
        self.parent = parent  # None for the root; the CTRL_MON group of a MON group
        self.rmid = rmid
        self.is_mon = mon
        self.children = {}  # CTRL_MON: its mon_groups
        self.ctrl_children = {}  # root only: CTRL_MON groups


class Resctrl(Operations):
    def __init__(self, num_rmids, domains, limbo_ms, schedule, local, occupancy):
        self.mu = threading.RLock()
        self.num_rmids = num_rmids
        self.domains = domains
        self.limbo_s = limbo_ms / 1000.0
        self.schedule_path = schedule
        self.schedule = {}
        self.schedule_mtime = None
        self.features = ["llc_occupancy"] if occupancy else []
        self.features.append("mbm_total_bytes")
        if local:
            self.features.append("mbm_local_bytes")
        self.root = Group("", None, 0)
        self.free = list(range(1, num_rmids))  # RMID 0 is the default group's
        self.limbo = []  # (time freed, rmid)
        self.acc = {r: [[0.0, 0.0] for _ in range(domains)] for r in range(num_rmids)}
        self.task_ctrl = {}  # tid -> ctrl group (absent: root)
        self.task_mon = {}  # tid -> mon group
        self.last = time.monotonic()
        self.last_cmd = "ok"
        self.start = time.time()

    # ---- model ----
    def load_schedule(self):
        if not self.schedule_path:
            return
        try:
            mt = os.stat(self.schedule_path).st_mtime_ns
        except OSError:
            return
        if mt == self.schedule_mtime:
            return
        self.advance()
        try:
            with open(self.schedule_path) as f:
                sched = json.load(f)
        except (OSError, ValueError):
            return
        self.schedule_mtime = mt
        self.schedule = sched
        for name in sched.get("reset", []):
            for g in self.all_groups():
                if name in ("*", g.name):
                    self.acc[g.rmid] = [[0.0, 0.0] for _ in range(self.domains)]

    def rmid_of_task(self, tid):
        g = self.task_mon.get(tid) or self.task_ctrl.get(tid) or self.root
        return g.rmid

    def advance(self):
        now = time.monotonic()
        dt = now - self.last
        self.last = now
        if dt <= 0:
            return
        for tid, rates in self.schedule.get("tasks", {}).items():
            tid = int(tid)
            d = int(rates.get("domain", 0)) % self.domains
            a = self.acc[self.rmid_of_task(tid)][d]
            a[0] += float(rates.get("total", 0)) * dt
            a[1] += float(rates.get("local", 0)) * dt
        keep = []
        for t, r in self.limbo:
            # the kernel checks its limbo list once a second
            if now - t >= self.limbo_s:
                self.free.append(r)
            else:
                keep.append((t, r))
        self.limbo = keep

    def occupancy(self, rmid, d):
        occ = 0
        for tid, rates in self.schedule.get("tasks", {}).items():
            if self.rmid_of_task(int(tid)) == rmid and \
                    int(rates.get("domain", 0)) % self.domains == d:
                occ += int(rates.get("occupancy", 0))
        return occ

    def all_groups(self):
        out = [self.root]
        for c in self.root.ctrl_children.values():
            out.append(c)
            out.extend(c.children.values())
        out.extend(self.root.children.values())
        return out

    def group_rmids(self, g):
        """RMIDs whose counts a group's mon_data sums: a CTRL_MON group's own and its
        MON groups' (resctrl.rst: "the sum for all tasks in the CTRL_MON group and all
        tasks in MON groups")."""
        if g.is_mon:
            return [g.rmid]
        return [g.rmid] + [m.rmid for m in g.children.values()]

    # ---- paths ----
    def resolve(self, path):
        """(kind, group, rest) for a path; kind: 'dir', 'file', or raise ENOENT."""
        parts = [p for p in path.split("/") if p]
        g = self.root
        if not parts:
            return ("groupdir", g, None)
        if parts[0] == "info":
            return self.resolve_info(parts[1:])
        i = 0
        # /CTRL/...
        if parts[0] in self.root.ctrl_children:
            g = self.root.ctrl_children[parts[0]]
            i = 1
            if len(parts) == 1:
                return ("groupdir", g, None)
        if parts[i] == "mon_groups":
            if len(parts) == i + 1:
                return ("mongroups", g, None)
            m = g.children.get(parts[i + 1])
            if not m:
                raise FuseOSError(errno.ENOENT)
            g = m
            i += 2
            if len(parts) == i:
                return ("groupdir", g, None)
        rest = parts[i:]
        if rest[0] in ("tasks", "cpus", "cpus_list") and len(rest) == 1:
            return ("file", g, rest[0])
        if rest[0] == "mon_data":
            if len(rest) == 1:
                return ("mondata", g, None)
            dname = rest[1]
            if not dname.startswith("mon_L3_"):
                raise FuseOSError(errno.ENOENT)
            try:
                d = int(dname[7:])
            except ValueError:
                raise FuseOSError(errno.ENOENT)
            if d >= self.domains or dname != "mon_L3_%02d" % d:
                raise FuseOSError(errno.ENOENT)
            if len(rest) == 2:
                return ("domain", g, d)
            if len(rest) == 3 and rest[2] in self.features:
                return ("counter", g, (d, rest[2]))
        raise FuseOSError(errno.ENOENT)

    def resolve_info(self, parts):
        if not parts:
            return ("info", None, None)
        if parts == ["last_cmd_status"]:
            return ("infofile", None, "last_cmd_status")
        if parts[0] == "L3_MON":
            if len(parts) == 1:
                return ("l3mon", None, None)
            if len(parts) == 2 and parts[1] in ("num_rmids", "mon_features",
                                                  "max_threshold_occupancy"):
                return ("infofile", None, parts[1])
        raise FuseOSError(errno.ENOENT)

    def content(self, kind, g, what):
        if kind == "infofile":
            if what == "last_cmd_status":
                return self.last_cmd + "\n"
            if what == "num_rmids":
                return "%d\n" % self.num_rmids
            if what == "mon_features":
                return "".join(f + "\n" for f in self.features)
            if what == "max_threshold_occupancy":
                return "%d\n" % (32 * 1024 * 1024 // self.num_rmids)
        if kind == "file":
            if what == "tasks":
                return "".join("%d\n" % t for t in sorted(self.tasks_of(g)))
            if what == "cpus":
                return "f\n"
            return "0-3\n"
        if kind == "counter":
            d, ev = what
            for key, word in (("unavailable", "Unavailable"), ("error", "Error")):
                names = self.schedule.get(key, [])
                if "*" in names or g.name in names:
                    return word + "\n"
            self.advance()
            if ev == "llc_occupancy":
                return "%d\n" % sum(self.occupancy(r, d) for r in self.group_rmids(g))
            idx = 0 if ev == "mbm_total_bytes" else 1
            return "%d\n" % int(sum(self.acc[r][d][idx] for r in self.group_rmids(g)))
        raise FuseOSError(errno.EISDIR)

    def tasks_of(self, g):
        if g.is_mon:
            return [t for t, m in self.task_mon.items() if m is g]
        if g is self.root:
            out = []
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    for tid in os.listdir("/proc/%s/task" % pid):
                        t = int(tid)
                        if t not in self.task_ctrl:
                            out.append(t)
                except OSError:
                    pass
            return out
        return [t for t, c in self.task_ctrl.items() if c is g]

    # ---- FUSE operations ----
    def getattr(self, path, fh=None):
        with self.mu:
            self.load_schedule()
            kind, g, what = self.resolve(path)
            now = self.start
            if kind in ("file", "counter", "infofile"):
                mode = FILE_MODE if kind == "file" else RO_MODE
                # kernfs reports size 0; reads are direct
                return dict(st_mode=mode, st_nlink=1, st_size=0, st_uid=0, st_gid=0,
                            st_atime=now, st_mtime=now, st_ctime=now)
            return dict(st_mode=DIR_MODE, st_nlink=2, st_uid=0, st_gid=0,
                        st_atime=now, st_mtime=now, st_ctime=now)

    def readdir(self, path, fh):
        with self.mu:
            kind, g, what = self.resolve(path)
            base = [".", ".."]
            if kind == "groupdir":
                names = ["tasks", "cpus", "cpus_list", "mon_data"]
                if not g.is_mon:
                    names.append("mon_groups")
                if g is self.root:
                    names.append("info")
                    names.extend(self.root.ctrl_children)
                return base + names
            if kind == "mongroups":
                return base + list(g.children)
            if kind == "mondata":
                return base + ["mon_L3_%02d" % d for d in range(self.domains)]
            if kind == "domain":
                return base + list(self.features)
            if kind == "info":
                return base + ["last_cmd_status", "L3_MON"]
            if kind == "l3mon":
                return base + ["num_rmids", "mon_features", "max_threshold_occupancy"]
            raise FuseOSError(errno.ENOTDIR)

    def open(self, path, flags):
        with self.mu:
            kind, g, what = self.resolve(path)
            if kind not in ("file", "counter", "infofile"):
                raise FuseOSError(errno.EISDIR)
            if (flags & os.O_ACCMODE) != os.O_RDONLY and kind != "file":
                raise FuseOSError(errno.EACCES)
            return 0

    def read(self, path, size, offset, fh):
        with self.mu:
            self.load_schedule()
            kind, g, what = self.resolve(path)
            data = self.content(kind, g, what).encode()
            return data[offset:offset + size]

    def truncate(self, path, length, fh=None):
        with self.mu:
            self.resolve(path)
            return 0

    def write(self, path, data, offset, fh):
        with self.mu:
            self.load_schedule()
            kind, g, what = self.resolve(path)
            if kind != "file" or what != "tasks":
                raise FuseOSError(errno.EINVAL)
            self.advance()
            text = data.decode(errors="replace").strip()
            for tok in text.split(","):
                tok = tok.strip()
                try:
                    tid = int(tok)
                except ValueError:
                    self.last_cmd = "Invalid pid %s" % tok
                    raise FuseOSError(errno.EINVAL)
                if tid < 0:
                    self.last_cmd = "Invalid pid %d" % tid
                    raise FuseOSError(errno.EINVAL)
                if tid == 0 or not os.path.exists("/proc/%d" % tid):
                    self.last_cmd = "No task %d" % tid
                    raise FuseOSError(errno.ESRCH)
                self.move(tid, g)
            self.last_cmd = "ok"
            return len(data)

    def move(self, tid, g):
        if g.is_mon:
            ctrl = self.task_ctrl.get(tid, self.root)
            if ctrl is not g.parent:
                self.last_cmd = "Can't move task to different control group"
                raise FuseOSError(errno.EINVAL)
            self.task_mon[tid] = g
            return
        self.task_mon.pop(tid, None)
        if g is self.root:
            self.task_ctrl.pop(tid, None)
        else:
            self.task_ctrl[tid] = g

    def alloc_rmid(self):
        self.advance()
        if not self.free:
            self.last_cmd = "Out of RMIDs"
            raise FuseOSError(errno.EBUSY if self.limbo else errno.ENOSPC)
        # least recently freed first, like the kernel's rmid_free_lru
        r = self.free.pop(0)
        self.acc[r] = [[0.0, 0.0] for _ in range(self.domains)]
        return r

    def mkdir(self, path, mode):
        with self.mu:
            parts = [p for p in path.split("/") if p]
            name = parts[-1]
            if "\n" in name:
                self.last_cmd = "Name cannot contain newlines"
                raise FuseOSError(errno.EINVAL)
            if len(parts) == 1:
                if name in ("info", "mon_groups", "mon_data", "tasks", "cpus", "cpus_list") or \
                        name in self.root.ctrl_children:
                    raise FuseOSError(errno.EEXIST)
                g = Group(name, self.root, self.alloc_rmid())
                self.root.ctrl_children[name] = g
                self.last_cmd = "ok"
                return 0
            kind, parent, _ = self.resolve("/" + "/".join(parts[:-1]))
            if kind != "mongroups":
                raise FuseOSError(errno.EPERM)
            if name in parent.children:
                raise FuseOSError(errno.EEXIST)
            parent.children[name] = Group(name, parent, self.alloc_rmid(), mon=True)
            self.last_cmd = "ok"
            return 0

    def free_group(self, g):
        self.advance()
        self.limbo.append((time.monotonic(), g.rmid))

    def rmdir(self, path):
        with self.mu:
            kind, g, _ = self.resolve(path)
            if kind != "groupdir" or g is self.root:
                raise FuseOSError(errno.EPERM)
            if g.is_mon:
                for t in [t for t, m in self.task_mon.items() if m is g]:
                    del self.task_mon[t]
                del g.parent.children[g.name]
                self.free_group(g)
                return 0
            for m in list(g.children.values()):
                for t in [t for t, mm in self.task_mon.items() if mm is m]:
                    del self.task_mon[t]
                self.free_group(m)
            for t in [t for t, c in self.task_ctrl.items() if c is g]:
                del self.task_ctrl[t]
            del self.root.ctrl_children[g.name]
            self.free_group(g)
            return 0

    def create(self, path, mode, fi=None):
        raise FuseOSError(errno.EACCES)

    def unlink(self, path):
        raise FuseOSError(errno.EPERM)

    def rename(self, old, new):
        raise FuseOSError(errno.EPERM)

    def chmod(self, path, mode):
        raise FuseOSError(errno.EPERM)

    def chown(self, path, uid, gid):
        raise FuseOSError(errno.EPERM)

    def utimens(self, path, times=None):
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mountpoint")
    ap.add_argument("--num-rmids", type=int, default=8)
    ap.add_argument("--domains", type=int, default=1)
    ap.add_argument("--limbo-ms", type=int, default=1000)
    ap.add_argument("--schedule")
    ap.add_argument("--no-local", action="store_true")
    ap.add_argument("--no-occupancy", action="store_true")
    a = ap.parse_args()
    ops = Resctrl(a.num_rmids, a.domains, a.limbo_ms, a.schedule, not a.no_local,
                  not a.no_occupancy)
    FUSE(ops, a.mountpoint, foreground=True, nothreads=True, direct_io=True,
         attr_timeout=0, entry_timeout=0, negative_timeout=0, fsname="resctrl-emu")


if __name__ == "__main__":
    main()
