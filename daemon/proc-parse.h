/* SPDX-License-Identifier: MIT */
/* daemon/proc-parse.h: pure parsers for /proc/PID/stat, /proc/PID/status and
 * /proc/PID/cgroup. A buffer in, values out: no I/O, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Rules as in cgroup-parse.h: buf holds len bytes, need not be NUL-terminated;
 * numbers are unsigned decimal unless said otherwise; keys match exactly; on
 * success 0 and *ret written, else *ret untouched and
 *   -EINVAL  not the format shown (empty, garbage, truncated before a needed
 *            field, a negative where none can be, a missing required key, a
 *            key given twice);
 *   -ERANGE  a number too large for its field, or overflowing when scaled
 *            (kB -> bytes);
 *   -ENOMEM  (proc_cgroup_parse only) out of memory;
 *   -ENODATA (proc_cgroup_parse only) neither a v1 "memory" line nor a v2
 *            "0::" line.
 */

/* Room for a comm: TASK_COMM_LEN is 16, but kernel threads show longer names
 * (workqueue workers: "kworker/0:1-events", up to 64 bytes). Longer is cut. */
#define PROC_COMM_MAX 64

/* /proc/PID/stat, one line, fields separated by single spaces:
 *   1234 (my (odd) comm) S 1 1234 1234 0 -1 4194560 2914 0 12 0 ... 98765 ...
 *   ^1   ^2               ^3 ^4                      ^10    ^12       ^22
 * comm is everything between the first '(' and the LAST ')' (it may hold
 * spaces, parentheses, even newlines). Fields 3..22 are required; those not
 * kept must still be (signed) decimal numbers; fields after 22 are ignored. */
struct proc_stat {
	int pid; /* 1, > 0 */
	char comm[PROC_COMM_MAX]; /* 2, NUL-terminated */
	char state; /* 3, one letter: R S D Z T t X I ... */
	int ppid; /* 4, >= 0 */
	uint64_t minflt; /* 10 */
	uint64_t majflt; /* 12 */
	uint64_t num_threads; /* 20 */
	uint64_t starttime_ticks; /* 22, clock ticks (sysconf(_SC_CLK_TCK)) after boot */
};

int proc_stat_parse(const char *buf, size_t len, struct proc_stat *ret);

/* /proc/PID/status, "Key:\tvalue" lines:
 *   Tgid:\t1234          PPid:\t1          (required, > 0 and >= 0)
 *   VmRSS:\t   65536 kB  RssAnon:\t...     RssFile:\t...
 *   RssShmem:\t...       VmSwap:\t...      (all five, or none: kernel threads
 *                                          and zombies have no mm)
 *   Uid:\t1000\t1001\t1000\t1000 (optional: real, effective, saved, fs; the
 *                          effective one is kept)
 * Blanks between ':' and the number are spaces or tabs; memory values end in
 * " kB" and are returned in bytes. Other keys are skipped. */
struct proc_status {
	int tgid;
	int ppid;
	bool has_mm;
	uint64_t vm_rss_bytes;
	uint64_t rss_anon_bytes;
	uint64_t rss_file_bytes;
	uint64_t rss_shmem_bytes;
	uint64_t vm_swap_bytes;
	bool has_uid;
	uint32_t euid; /* effective uid, if has_uid */
};

int proc_status_parse(const char *buf, size_t len, struct proc_status *ret);

/* /proc/meminfo, "Key:   value kB" lines: MemTotal and MemAvailable (3.14+) are
 * required, each once; other keys are skipped (their lines must still be "Key:"
 * lines). Values in bytes. */
struct proc_meminfo {
	uint64_t mem_total_bytes;
	uint64_t mem_available_bytes;
};

int proc_meminfo_parse(const char *buf, size_t len, struct proc_meminfo *ret);

/* /proc/PID/cgroup, "<hierarchy-id>:<controller,list>:<path>" lines:
 *   4:memory:/process_api/ded6   -> v1_memory_path "/process_api/ded6"
 *   3:cpu,memory:/a              (exact controller name "memory" in the list)
 *   0::/user.slice/x.scope       -> v2_path "/user.slice/x.scope"
 *   0::/gone (deleted)           -> v2_path "/gone", v2_deleted (a zombie in
 *                                   a removed cgroup)
 * Paths start with '/' and run to the end of the line (they may hold ':').
 * Other lines are skipped but must have the shape. Both results are
 * optional; at least one is required. */
struct proc_cgroup {
	char *v1_memory_path; /* malloc'd, NULL if no v1 memory line */
	char *v2_path; /* malloc'd, NULL if no "0::" line */
	bool v2_deleted;
};

int proc_cgroup_parse(const char *buf, size_t len, struct proc_cgroup *ret);

/* Frees the paths; the struct may then be reused. Accepts a zeroed struct. */
void proc_cgroup_done(struct proc_cgroup *c);

/*
 * /proc/self/mountinfo (proc(5)): is procfs mounted at mount_point with hidepid
 * (1, 2, noaccess, invisible: users see only their own processes)? One line a
 * mount: "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE
 * SOURCE SUPER_OPTIONS"; the last proc mount at mount_point wins (the one on
 * top). Mount points escape space, tab, newline and backslash as \ooo.
 * 0 and *ret_hidden set (false when hidepid is absent, 0 or "off"); -ENOENT when
 * no proc mount is at mount_point; -EINVAL for a line not in that format.
 */
int proc_mountinfo_hidepid(const char *buf, size_t len, const char *mount_point, bool *ret_hidden);
