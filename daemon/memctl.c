// SPDX-License-Identifier: MIT
/* daemon/memctl.c: the memctl command-line client, a thin client of ipc/ over
 * memctld's control socket. Human output by default, --json for scripts. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/time-util.h"
#include "daemon/cli-term.h"
#include "daemon/cli-text.h"
#include "daemon/log.h"
#include "ipc/ipc.h"
#include "policy/growth.h"

#define CALL_TIMEOUT_MS 5000

static const char *arg_socket_dir = IPC_DEFAULT_SOCKET_DIR;
static bool arg_json;

/* The first error of this run: under --json it is also printed on stdout as
 * {"error": ..., "errno": ...}, so a script that parses stdout sees why. */
static int first_error;
static char first_error_message[512];
/* set while memctl top owns the terminal: an error printed on the alternate
 * screen would vanish with it */
static bool errors_deferred;

/* Log an error (to stderr, as log_error_errno does) and remember the first.
 * error is a negative errno; %m prints it. Returns error. */
_printf_(2, 3) static int cli_error(int error, const char *fmt, ...)
{
	char buf[sizeof(first_error_message)];
	va_list ap;

	if (error >= 0)
		error = -EINVAL;
	errno = -error;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!first_error) {
		first_error = error;
		memcpy(first_error_message, buf, sizeof(buf));
	}
	if (errors_deferred)
		return error; /* top's screen is up: said when it is down again */
	return log_full_errno(LOG_ERR, error, "%s", buf);
}

/* Every error in this file goes through cli_error(), so none escapes --json. */
#undef log_error_errno
#define log_error_errno(error, ...) cli_error((error), __VA_ARGS__)

/* Escaped copies for printing (cli_escape()), in a small ring of buffers so
 * one printf can take several. Big enough for IPC_PATH_MAX bytes, each
 * escaped to 4. */
#define ESC_BUF_SIZE (4 * IPC_PATH_MAX + 1)
static const char *esc(const char *s)
{
	static char bufs[8][ESC_BUF_SIZE];
	static unsigned next;

	return cli_escape(s, bufs[next++ % ELEMENTSOF(bufs)], ESC_BUF_SIZE);
}

static void help(void)
{
	printf("Usage: memctl [OPTIONS] COMMAND [ARGS]\n"
	       "\n"
	       "Query and steer memctld, the memory policy controller.\n"
	       "\n"
	       "Commands:\n"
	       "  status               daemon version, uptime, BPF programs, event counts\n"
	       "  ps [--sort rss|growth|faults|pid] [--cgroup PATH]\n"
	       "                       tracked processes: user, %%MEM, RSS, swap, growth,\n"
	       "                       faults, cgroup, command line\n"
	       "  top [--sort KEY] [--cgroup PATH] [--delay SEC] [--iterations N]\n"
	       "                       ps, refreshed in place (keys: p r g f sort, q quit);\n"
	       "                       without a terminal, printed once (or N times)\n"
	       "  show PID             one process: RSS by type, faults, its cgroup's limit and usage\n"
	       "  cgroups              memory cgroups of tracked processes: usage, limits, pressure\n"
	       "  events [--since ID] [--follow]\n"
	       "                       recent daemon events (enrollments, growth, compression);\n"
	       "                       --follow streams them until interrupted\n"
	       "  record [--pid PID] [--seconds N] [--label KEY=VALUE]\n"
	       "                       the daemon's coalesced RSS records as they come\n"
	       "  metrics [--openmetrics]\n"
	       "                       the daemon's Prometheus metrics, as GET /metrics\n"
	       "                       answers (text format 0.0.4, or OpenMetrics)\n"
	       "  bandwidth            memory bandwidth and cache occupancy per unit (resctrl),\n"
	       "                       the RMID pool and the L3 domains\n"
	       "  enroll PID [--name N] [--readback-factor F]\n"
	       "                       enroll a process (root or the process's owner): a\n"
	       "                       libarena process in arena mode, any other monitor-only\n"
	       "  list                 enrolled processes: mode, arena figures, commands, acks\n"
	       "  unenroll PID         unenroll a process\n"
	       "  profile PID... [--hz N] [--duration SEC] [--output FILE]\n"
	       "                       sample faults, CPU, RSS and swap N times a second (20)\n"
	       "                       from a ring shared with memctld, until the duration\n"
	       "                       ends, the processes exit or Ctrl-C; --attach ID maps\n"
	       "                       a running profile\n"
	       "\n"
	       "Options:\n"
	       "  -s, --socket-dir=DIR  where memctld's sockets are (default " IPC_DEFAULT_SOCKET_DIR
	       ")\n"
	       "  -j, --json            machine-readable output\n"
	       "  -V, --version         print the version and exit\n"
	       "  -h, --help            print this help and exit\n"
	       "\n"
	       "See memctl(1).\n");
}

/*
 * A control socket is only trusted if root serves it, or we do (a private instance
 * of our own): anyone who can create the directory could otherwise plant a fake
 * control.sock and feed us forged replies. SO_PEERCRED of the connection names who
 * called listen() on it, which a planted socket cannot fake.
 */
static int check_server(int fd, const char *path)
{
	struct ipc_cred cred;
	int r = ipc_peer_cred(fd, &cred);

	if (r < 0)
		return log_error_errno(r, "Cannot tell who serves %s: %m", path);
	if (cred.uid != 0 && cred.uid != getuid())
		return log_error_errno(-EPERM,
				       "Refusing %s: it is served by uid %u (pid %d), not by root "
				       "or you; not memctld, or not one to trust",
				       path, (unsigned)cred.uid, (int)cred.pid);
	return 0;
}

static int connect_daemon(void)
{
	char path[PATH_MAX];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", arg_socket_dir, IPC_CONTROL_SOCKET_NAME);
	fd = ipc_control_connect(path, CALL_TIMEOUT_MS);
	if (fd == -ENOENT)
		return log_error_errno(fd, "memctld is not running: no socket at %s", path);
	if (fd == -ECONNREFUSED)
		return log_error_errno(fd, "memctld is not running: nothing listens on %s", path);
	if (fd < 0)
		return log_error_errno(fd, "Failed to connect to memctld at %s: %m", path);
	r = check_server(fd, path);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* One request, one reply of the expected type; an IPC_ERROR reply is printed. */
static int call(uint16_t type, const void *body, size_t len, uint16_t want, void *buf,
		size_t buf_size, struct ipc_msg *ret)
{
	_cleanup_close_ int fd = connect_daemon();
	int r;

	if (fd < 0)
		return fd;
	r = ipc_control_call(fd, type, body, len, buf, buf_size, ret);
	if (r == -ETIMEDOUT)
		return log_error_errno(r, "memctld did not answer within %u ms", CALL_TIMEOUT_MS);
	if (r < 0)
		return log_error_errno(r, "Failed to talk to memctld: %m");
	if (ret->hdr.type == IPC_ERROR) {
		const struct ipc_error *e = ret->body;

		return log_error_errno(e->code, "%s", esc(e->message));
	}
	if (ret->hdr.type != want)
		return log_error_errno(-EPROTO, "Unexpected reply %s from memctld",
				       ipc_type_to_string(ret->hdr.type) ?: "?");
	return 0;
}

/* Print o (and free it). json-c leaves DEL, C1 controls and invalid UTF-8 raw:
 * cli_json_sanitize() makes the document valid and terminal-safe. */
static int print_json(struct json_object *o)
{
	char *s = cli_json_sanitize(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	if (!s)
		return log_error_errno(-ENOMEM, "Out of memory");
	puts(s);
	free(s);
	return 0;
}

/* {"error": "...", "errno": N} for --json, with the first error logged. */
static void print_json_error(int r)
{
	struct json_object *o = json_object_new_object();

	if (!first_error) {
		first_error = r;
		snprintf(first_error_message, sizeof(first_error_message), "%s", strerror(-r));
	}
	json_object_object_add(o, "error", json_object_new_string(first_error_message));
	json_object_object_add(o, "errno", json_object_new_int(-first_error));
	print_json(o);
}

/*
 * getopt_long over a command's own arguments (argv[0] is the command), with
 * --json/-j taken anywhere too. Options may come after operands; "--" ends
 * them. Returns the option character, -1 at the end (operands are then
 * argv[optind..argc)), or -EINVAL after saying what is wrong.
 */
static int cmd_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	char opts[32];

	snprintf(opts, sizeof(opts), ":j%s", shortopts);
	for (;;) {
		int c = getopt_long(argc, argv, opts, longopts, NULL);

		if (c == 'j') {
			arg_json = true;
			continue;
		}
		if (c == '?' || c == ':') {
			const char *what = c == '?' ? "unknown option" : "missing the argument of";
			const char *arg = argv[optind - 1];

			/* a long option is named by itself, a short one by optopt
			 * (it may sit in a cluster like -jx) */
			if (strncmp(arg, "--", 2) == 0 || !optopt)
				return log_error_errno(-EINVAL, "%s: %s %s", argv[0], what,
						       esc(arg));
			return log_error_errno(-EINVAL, "%s: %s -%c", argv[0], what, optopt);
		}
		return c;
	}
}

/* Commands without options: only --json, and want_operands operands. */
static int cmd_operands(int argc, char **argv, int want_operands, const char *usage)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, {} };
	int c;

	while ((c = cmd_getopt(argc, argv, "", opts)) >= 0)
		;
	if (c < -1)
		return c;
	if (argc - optind > want_operands)
		return log_error_errno(-EINVAL, "%s: unexpected argument %s (usage: memctl %s)",
				       argv[0], esc(argv[optind + want_operands]), usage);
	if (argc - optind < want_operands)
		return log_error_errno(-EINVAL, "%s: missing argument (usage: memctl %s)", argv[0],
				       usage);
	return optind;
}

static void json_add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static void format_duration(uint64_t usec, char *buf, size_t size)
{
	uint64_t s = usec / USEC_PER_SEC;

	if (s >= 86400)
		snprintf(buf, size, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%" PRIu64 "h %" PRIu64 "min", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%" PRIu64 "min %" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, size, "%" PRIu64 ".%01" PRIu64 "s", s, usec % USEC_PER_SEC / 100000);
}

static int cmd_status(int argc, char **argv)
{
	static uint8_t buf[IPC_MSG_MAX];
	const struct ipc_ctl_status_reply *s;
	struct ipc_msg msg;
	char up[64];
	int r;

	r = cmd_operands(argc, argv, 0, "status");
	if (r < 0)
		return r;
	r = call(IPC_CTL_STATUS, NULL, 0, IPC_CTL_STATUS_REPLY, buf, sizeof(buf), &msg);
	if (r < 0)
		return r;
	s = msg.body;
	if (arg_json) {
		struct json_object *o = json_object_new_object(), *ev = json_object_new_object(),
				   *bpf = json_object_new_object();

		json_object_object_add(o, "version", json_object_new_string(s->version));
		json_add_u64(o, "pid", s->pid);
		json_add_u64(o, "uptime_usec", s->uptime_usec);
		json_object_object_add(o, "dry_run", json_object_new_boolean(s->dry_run));
		json_add_u64(bpf, "programs_loaded_mask", s->bpf_programs_loaded);
		json_add_u64(bpf, "programs_known", s->bpf_programs_known);
		json_object_object_add(bpf, "status", json_object_new_string(s->bpf_status));
		json_object_object_add(o, "bpf", bpf);
		json_add_u64(ev, "exec", s->events_exec);
		json_add_u64(ev, "fork", s->events_fork);
		json_add_u64(ev, "exit", s->events_exit);
		json_add_u64(ev, "rss", s->events_rss);
		json_add_u64(ev, "lost", s->events_lost);
		json_add_u64(ev, "rss_raw", s->rss_raw_events);
		json_add_u64(ev, "map_full", s->bpf_map_full);
		json_object_object_add(o, "events", ev);
		json_add_u64(o, "resyncs", s->resyncs);
		json_add_u64(o, "processes_tracked", s->processes_tracked);
		json_add_u64(o, "cgroups_tracked", s->cgroups_tracked);
		json_add_u64(o, "enrolled", s->enrolled);
		json_add_u64(o, "datagrams_rejected", s->datagrams_rejected);
		json_add_u64(o, "workload_replies_dropped", s->workload_replies_dropped);
		json_add_u64(o, "workload_channel_dropped", s->workload_channel_dropped);
		json_add_u64(o, "identity_pidfd", s->identity_pidfd);
		json_add_u64(o, "hellos", s->hellos);
		json_add_u64(o, "commands_sent", s->commands_sent);
		json_add_u64(o, "acks", s->acks);
		json_object_object_add(o, "policy",
				       json_object_new_string(s->policy_mode ? "post-exec" :
									       "headroom"));
		json_add_u64(o, "psi_some_avg10_permyriad", s->psi_some_avg10_permyriad);
		json_add_u64(o, "psi_full_avg10_permyriad", s->psi_full_avg10_permyriad);
		{
			struct json_object *rc = json_object_new_object();

			json_object_object_add(rc, "on",
					       json_object_new_boolean(s->resctrl_state ==
								       IPC_RESCTRL_ON));
			json_object_object_add(rc, "status",
					       json_object_new_string(s->resctrl_status));
			json_add_u64(rc, "units_monitored", s->resctrl_units_monitored);
			json_object_object_add(o, "resctrl", rc);
		}
		{
			struct json_object *files = json_object_new_object(),
					   *ctl = json_object_new_object();

			json_add_u64(files, "limit", s->fd_limit);
			json_add_u64(files, "pidfd_max", s->pidfd_max);
			json_add_u64(files, "processes_unpinned", s->processes_unpinned);
			json_object_object_add(o, "files", files);
			json_add_u64(ctl, "refused", s->control_refused);
			json_add_u64(ctl, "idle_closed", s->control_idle_closed);
			json_add_u64(ctl, "paced", s->control_paced);
			json_object_object_add(o, "control", ctl);
		}
		return print_json(o);
	}
	format_duration(s->uptime_usec, up, sizeof(up));
	printf("memctld %s (pid %" PRIu64 "), up %s%s\n", esc(s->version), s->pid, up,
	       s->dry_run ? ", dry run" : "");
	printf("BPF:      %s\n", esc(s->bpf_status));
	printf("events:   exec %" PRIu64 ", fork %" PRIu64 ", exit %" PRIu64 ", rss %" PRIu64
	       ", lost %" PRIu64 "\n",
	       s->events_exec, s->events_fork, s->events_exit, s->events_rss, s->events_lost);
	if (s->rss_raw_events)
		printf("rss:      %" PRIu64 " records from %" PRIu64
		       " rss_stat events (1 per %.0f)\n",
		       s->events_rss, s->rss_raw_events,
		       (double)s->rss_raw_events / (double)(s->events_rss ? s->events_rss : 1));
	printf("pressure: some %.2f%%, full %.2f%% (avg10, system)\n",
	       (double)s->psi_some_avg10_permyriad / 100,
	       (double)s->psi_full_avg10_permyriad / 100);
	printf("tracking: %" PRIu64 " processes, %" PRIu64 " cgroups, %" PRIu64
	       " enrolled, %" PRIu64 " waiting (HELLO)\n",
	       s->processes_tracked, s->cgroups_tracked, s->enrolled, s->hellos);
	printf("policy:   %s; %" PRIu64 " commands sent, %" PRIu64 " acked\n",
	       s->policy_mode ? "post-exec" : "headroom", s->commands_sent, s->acks);
	printf("rejected: %" PRIu64 " datagrams; %" PRIu64 " replies and %" PRIu64
	       " commands dropped (peers not reading)\n",
	       s->datagrams_rejected, s->workload_replies_dropped, s->workload_channel_dropped);
	printf("identity: %s\n", s->identity_pidfd ? "SCM_PIDFD (bound to each datagram)" :
						     "PID, uid and start time (no SO_PASSPIDFD)");
	printf("resctrl:  %s\n", esc(s->resctrl_status));
	printf("files:    limit %" PRIu64 ", up to %" PRIu64 " processes pinned by pidfd",
	       s->fd_limit, s->pidfd_max);
	if (s->processes_unpinned)
		printf("; %" PRIu64 " tracked without one (file limit reached)",
		       s->processes_unpinned);
	printf("\n");
	printf("control:  %" PRIu64 " connections refused, %" PRIu64 " closed idle, %" PRIu64
	       " times a user was paced\n",
	       s->control_refused, s->control_idle_closed, s->control_paced);
	return 0;
}

static const char *event_kind_name(uint32_t kind)
{
	static const char *const names[_IPC_EVENT_MAX] = {
		[IPC_EVENT_ENROLLED] = "enrolled",
		[IPC_EVENT_UNENROLLED] = "unenrolled",
		[IPC_EVENT_GROWTH_DETECTED] = "growth-detected",
		[IPC_EVENT_COMPRESS_SENT] = "compress-sent",
		[IPC_EVENT_COMPRESS_DONE] = "compress-done",
		[IPC_EVENT_RELAX_SENT] = "relax-sent",
		[IPC_EVENT_LOST_RECORDS] = "lost-records",
		[IPC_EVENT_CGROUP_PRESSURE] = "cgroup-pressure",
		[IPC_EVENT_CONFIG_RELOADED] = "config-reloaded",
		[IPC_EVENT_OOM_KILL] = "oom-kill",
		[IPC_EVENT_EVENTS_SUPPRESSED] = "events-suppressed",
		[IPC_EVENT_RELAX_DONE] = "relax-done",
		[IPC_EVENT_COMMAND_DROPPED] = "command-dropped",
		[IPC_EVENT_ACK_TIMEOUT] = "ack-timeout",
		[IPC_EVENT_PLAN] = "plan",
		[IPC_EVENT_RMIDS_EXHAUSTED] = "rmids-exhausted",
		[IPC_EVENT_RESCTRL_GROUP_LOST] = "resctrl-group-lost",
		[IPC_EVENT_GROWTH_ENDED] = "growth-ended",
		[IPC_EVENT_METRICS_FAILED] = "metrics-failed",
		[IPC_EVENT_PROFILE_STARTED] = "profile-started",
		[IPC_EVENT_PROFILE_ENDED] = "profile-ended",
	};
	return kind < _IPC_EVENT_MAX && names[kind] ? names[kind] : "unknown";
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	*ret = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

/* usec as seconds, null for "never" (UINT64_MAX) */
static struct json_object *seconds_json(uint64_t usec)
{
	return usec == UINT64_MAX ? NULL : json_object_new_double((double)usec / USEC_PER_SEC);
}

static int parse_pid(const char *s, uint32_t *ret);

static struct json_object *event_json(const struct ipc_event_entry *e)
{
	struct json_object *o = json_object_new_object();

	json_add_u64(o, "id", e->id);
	json_add_u64(o, "time_usec", e->time_usec);
	json_object_object_add(o, "kind", json_object_new_string(event_kind_name(e->kind)));
	json_add_u64(o, "pid", e->pid);
	json_object_object_add(o, "value", json_object_new_int64(e->value));
	json_object_object_add(o, "text", json_object_new_string(e->text));
	/* null: the kernel side or the daemon, not a user */
	json_object_object_add(
		o, "uid", e->uid == IPC_EVENT_UID_SYSTEM ? NULL : json_object_new_uint64(e->uid));
	json_object_object_add(o, "comm", json_object_new_string(e->comm));
	json_object_object_add(o, "cgroup", json_object_new_string(e->cgroup));
	json_add_u64(o, "cgroup_id", e->cgroup_id);
	if (e->kind == IPC_EVENT_GROWTH_DETECTED || e->kind == IPC_EVENT_GROWTH_ENDED) {
		json_object_object_add(o, "rate_bytes_per_sec", json_object_new_int64(e->value));
		json_object_object_add(
			o, "pattern", json_object_new_string(growth_pattern_to_string(e->pattern)));
		json_object_object_add(
			o, "confidence",
			json_object_new_double(e->leak_confidence_permyriad / 10000.0));
		json_object_object_add(o, "seconds_to_limit", seconds_json(e->time_to_limit_usec));
	}
	return o;
}

static void event_print_line(const struct ipc_event_entry *e)
{
	time_t t = (time_t)(e->time_usec / USEC_PER_SEC);
	char ts[32];
	struct tm tm;

	strftime(ts, sizeof(ts), "%F %T", localtime_r(&t, &tm));
	printf("%6" PRIu64 "  %s  %-16s %7" PRIu32 "  %s\n", e->id, ts, event_kind_name(e->kind),
	       e->pid, esc(e->text));
}

/* For --follow, where a daemon that went away is expected: connect without
 * saying so when nothing listens, but never to a socket check_server()
 * refuses (-EPERM, said once by it, and fatal to the caller). */
static int connect_daemon_quiet(void)
{
	char path[PATH_MAX];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", arg_socket_dir, IPC_CONTROL_SOCKET_NAME);
	fd = ipc_control_connect(path, CALL_TIMEOUT_MS);
	if (fd < 0)
		return fd;
	r = check_server(fd, path);
	if (r < 0) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* One CTL_EVENTS round trip without logging. */
static int events_fetch(struct ipc_ctl_events *q, uint8_t *buf, size_t size, struct ipc_msg *msg)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = connect_daemon_quiet();
	if (fd < 0)
		return fd;
	r = ipc_control_call(fd, IPC_CTL_EVENTS, q, sizeof(*q), buf, size, msg);
	if (r < 0)
		return r;
	return msg->hdr.type == IPC_CTL_EVENTS_REPLY ? 0 : -EPROTO;
}

static uint64_t daemon_pid_quiet(void)
{
	static uint8_t buf[IPC_MSG_MAX];
	_cleanup_close_ int fd = -1;
	struct ipc_msg msg;

	fd = connect_daemon_quiet();
	if (fd < 0 || ipc_control_call(fd, IPC_CTL_STATUS, NULL, 0, buf, sizeof(buf), &msg) < 0 ||
	    msg.hdr.type != IPC_CTL_STATUS_REPLY)
		return 0;
	return ((const struct ipc_ctl_status_reply *)msg.body)->pid;
}

#define FOLLOW_POLL_USEC (250 * USEC_PER_MSEC)

/*
 * --follow: poll for newer events until interrupted, one line (or JSON
 * object, with --json) per event. When memctld goes away the stream waits;
 * when a daemon answers again, one line on stderr says so, and a restarted
 * daemon (another pid: its ids start again at 1) is followed from its first
 * event.
 */
static int events_follow(struct ipc_ctl_events q)
{
	static uint8_t buf[IPC_MSG_MAX];
	uint64_t pid = daemon_pid_quiet();
	bool away = false;
	unsigned idle = 0;
	struct ipc_msg msg;

	if (!pid)
		return log_error_errno(-ECONNREFUSED, "memctld is not running (socket dir %s)",
				       arg_socket_dir);
	for (;;) {
		const struct ipc_ctl_events_reply *rep;
		const struct ipc_event_entry *e;
		int r;

		/* who answers: after an outage, and once a second while idle (a
		 * daemon restarted between two polls starts its ids at 1 again) */
		if (away || idle >= 4) {
			uint64_t now_pid = daemon_pid_quiet();

			idle = 0;
			if (!now_pid) {
				away = true;
				usleep(2 * FOLLOW_POLL_USEC);
				continue;
			}
			if (now_pid != pid) {
				fprintf(stderr,
					"memctl: memctld restarted (pid %" PRIu64 " -> %" PRIu64
					"), following the new daemon's events\n",
					pid, now_pid);
				pid = now_pid;
				q.since_id = 0;
			} else if (away) {
				fprintf(stderr, "memctl: memctld (pid %" PRIu64 ") answers again\n",
					pid);
			}
			away = false;
		}
		r = events_fetch(&q, buf, sizeof(buf), &msg);
		if (r == -EPERM)
			return r; /* a socket we must not talk to */
		if (r < 0) {
			away = true;
			usleep(2 * FOLLOW_POLL_USEC);
			continue;
		}
		rep = msg.body;
		e = msg.entries;
		for (uint32_t i = 0; i < msg.n_entries; i++) {
			if (arg_json) {
				struct json_object *o = event_json(&e[i]);

				puts(json_object_to_json_string_ext(
					o,
					JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
				json_object_put(o);
			} else {
				event_print_line(&e[i]);
			}
		}
		fflush(stdout);
		if (msg.n_entries && rep->next_id > q.since_id) {
			q.since_id = rep->next_id;
			continue; /* more may be waiting */
		}
		idle++;
		usleep(FOLLOW_POLL_USEC);
	}
}

static int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = { { "since", required_argument, NULL, 'S' },
					      { "follow", no_argument, NULL, 'f' },
					      { "json", no_argument, NULL, 'j' },
					      {} };
	static uint8_t buf[IPC_MSG_MAX];
	struct ipc_ctl_events q = {};
	struct json_object *arr = NULL;
	struct ipc_msg msg;
	bool follow = false;
	int c, r;

	while ((c = cmd_getopt(argc, argv, "f", opts)) >= 0) {
		if (c == 'S' && parse_u64(optarg, &q.since_id) < 0)
			return log_error_errno(-EINVAL, "events: invalid --since: %s", esc(optarg));
		if (c == 'f')
			follow = true;
	}
	if (c < -1)
		return c;
	if (optind < argc)
		return log_error_errno(-EINVAL,
				       "events: unexpected argument %s (usage: memctl "
				       "events [--since ID] [--follow])",
				       esc(argv[optind]));
	if (follow)
		return events_follow(q);
	if (arg_json)
		arr = json_object_new_array();
	/* page until the daemon has nothing newer */
	for (;;) {
		const struct ipc_ctl_events_reply *rep;
		const struct ipc_event_entry *e;

		r = call(IPC_CTL_EVENTS, &q, sizeof(q), IPC_CTL_EVENTS_REPLY, buf, sizeof(buf),
			 &msg);
		if (r < 0) {
			json_object_put(arr);
			return r;
		}
		rep = msg.body;
		e = msg.entries;
		for (uint32_t i = 0; i < msg.n_entries; i++) {
			if (arr)
				json_object_array_add(arr, event_json(&e[i]));
			else
				event_print_line(&e[i]);
		}
		if (msg.n_entries == 0 || rep->next_id <= q.since_id)
			break;
		q.since_id = rep->next_id;
	}
	if (arr)
		return print_json(arr);
	return 0;
}

/*
 * record: the daemon's coalesced RSS records as they come, one line each
 * ("time_usec pid anon file shmem swap", bytes; CLOCK_BOOTTIME), for the
 * accuracy harness's recorded traces (tests/accuracy/traces/). --pid limits
 * to one process, --seconds stops after that long (default: until a signal),
 * --label KEY=VALUE adds a "# KEY VALUE" header line (the trace's truth).
 */
/* The whole exposition text, page by page on one connection; *ret_len bytes in
 * a malloc'd, NUL-terminated *ret. -ESTALE when a tick replaced the rendering
 * midway (the caller starts over). */
static int metrics_fetch(uint32_t format, char **ret, size_t *ret_len)
{
	static uint8_t buf[IPC_MSG_MAX];
	struct ipc_ctl_metrics q = { .format = format };
	_cleanup_close_ int fd = connect_daemon();
	_cleanup_free_ char *text = NULL;
	uint64_t total = 0;
	int r;

	if (fd < 0)
		return fd;
	do {
		const struct ipc_ctl_metrics_reply *rep;
		struct ipc_msg msg;

		r = ipc_control_call(fd, IPC_CTL_METRICS, &q, sizeof(q), buf, sizeof(buf), &msg);
		if (r == -ETIMEDOUT)
			return log_error_errno(r, "memctld did not answer within %u ms",
					       CALL_TIMEOUT_MS);
		if (r < 0)
			return log_error_errno(r, "Failed to talk to memctld: %m");
		if (msg.hdr.type == IPC_ERROR) {
			const struct ipc_error *e = msg.body;

			if (e->code == -ESTALE)
				return -ESTALE;
			return log_error_errno(e->code, "%s", esc(e->message));
		}
		if (msg.hdr.type != IPC_CTL_METRICS_REPLY)
			return log_error_errno(-EPROTO, "Unexpected reply %s from memctld",
					       ipc_type_to_string(msg.hdr.type) ?: "?");
		rep = msg.body;
		if (!text) {
			total = rep->total_bytes;
			/* the daemon never renders more than 64 MiB (METRICS_MAX_BYTES) */
			if (total > (64U << 20))
				return log_error_errno(-EFBIG,
						       "memctld announced %" PRIu64
						       " bytes of metrics",
						       total);
			text = malloc(total + 1);
			if (!text)
				return log_error_errno(-ENOMEM, "Out of memory");
		}
		if (rep->total_bytes != total || rep->offset != q.offset ||
		    (q.serial && rep->serial != q.serial))
			return log_error_errno(-EPROTO, "memctld sent a page out of order");
		memcpy(text + q.offset, msg.entries, msg.n_entries);
		q.serial = rep->serial;
		q.offset += msg.n_entries;
		if (msg.n_entries == 0 && q.offset < total)
			return log_error_errno(-EPROTO, "memctld sent an empty page");
	} while (q.offset < total);
	text[total] = '\0';
	*ret_len = total;
	*ret = TAKE_PTR(text);
	return 0;
}

/* `memctl metrics`: what GET /metrics answers, over the control socket. */
static int cmd_metrics(int argc, char **argv)
{
	static const struct option opts[] = { { "openmetrics", no_argument, NULL, 'o' },
					      { "json", no_argument, NULL, 'j' },
					      {} };
	uint32_t format = IPC_METRICS_TEXT;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int c, r = -ESTALE;

	while ((c = cmd_getopt(argc, argv, "o", opts)) >= 0)
		if (c == 'o')
			format = IPC_METRICS_OPENMETRICS;
	if (c < -1)
		return c;
	if (optind < argc)
		return log_error_errno(-EINVAL,
				       "metrics: unexpected argument %s (usage: memctl metrics "
				       "[--openmetrics])",
				       esc(argv[optind]));
	/* a rendering lasts a tick (1 s by default); fetching one takes milliseconds */
	for (int attempt = 0; attempt < 5 && r == -ESTALE; attempt++)
		r = metrics_fetch(format, &text, &len);
	if (r == -ESTALE)
		return log_error_errno(r,
				       "The metrics changed while being read, 5 times; giving up");
	if (r < 0)
		return r;
	if (arg_json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(
			o, "content_type",
			json_object_new_string(
				format == IPC_METRICS_OPENMETRICS ?
					"application/openmetrics-text; version=1.0.0" :
					"text/plain; version=0.0.4"));
		json_object_object_add(o, "text", json_object_new_string_len(text, (int)len));
		return print_json(o);
	}
	if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
		return log_error_errno(-EIO, "Failed to write the metrics: %m");
	return 0;
}

static int cmd_record(int argc, char **argv)
{
	static uint8_t buf[IPC_MSG_MAX];
	struct ipc_ctl_records q = {};
	double seconds = -1;
	uint64_t t0 = now_usec(CLOCK_MONOTONIC);
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pid") == 0 && i + 1 < argc) {
			r = parse_pid(argv[++i], &q.pid);
			if (r < 0)
				return r;
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			char *end;

			seconds = strtod(argv[++i], &end);
			if (*end || seconds <= 0)
				return log_error_errno(-EINVAL, "Invalid --seconds: %s", argv[i]);
		} else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc) {
			char *eq = strchr(argv[++i], '=');

			if (!eq || eq == argv[i] || strpbrk(argv[i], " \n"))
				return log_error_errno(-EINVAL, "--label wants KEY=VALUE, got %s",
						       argv[i]);
			printf("# %.*s %s\n", (int)(eq - argv[i]), argv[i], eq + 1);
		} else {
			return log_error_errno(-EINVAL, "record: unexpected argument %s", argv[i]);
		}
	}
	printf("# memctl record v1: time_usec pid anon_bytes file_bytes shmem_bytes swap_bytes\n");
	while (seconds < 0 || (double)(now_usec(CLOCK_MONOTONIC) - t0) < seconds * 1e6) {
		const struct ipc_ctl_records_reply *rep;
		const struct ipc_rss_record *e;
		struct ipc_msg msg;

		r = call(IPC_CTL_RECORDS, &q, sizeof(q), IPC_CTL_RECORDS_REPLY, buf, sizeof(buf),
			 &msg);
		if (r < 0)
			return r;
		rep = msg.body;
		e = msg.entries;
		if (q.since_seq && rep->first_seq > q.since_seq + 1)
			printf("# lost %" PRIu64 " records (the daemon's ring was overwritten)\n",
			       rep->first_seq - q.since_seq - 1);
		for (uint32_t i = 0; i < msg.n_entries; i++)
			printf("%" PRIu64 " %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64
			       " %" PRIu64 "\n",
			       e[i].time_usec, e[i].pid, e[i].anon_bytes, e[i].file_bytes,
			       e[i].shmem_bytes, e[i].swap_bytes);
		fflush(stdout);
		if (rep->next_seq > q.since_seq) {
			q.since_seq = rep->next_seq;
			if (msg.n_entries)
				continue;
		}
		usleep(100 * USEC_PER_MSEC);
	}
	return 0;
}

static int parse_pid(const char *s, uint32_t *ret)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v == 0 || v > INT32_MAX)
		return log_error_errno(-EINVAL, "Invalid PID: %s", s ? esc(s) : "(none)");
	*ret = (uint32_t)v;
	return 0;
}

/* "2", "0.5", "1.25": a factor as per mille, 0 < F <= 1000. */
static int parse_factor_permille(const char *s, uint32_t *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0 && v <= 1000))
		return log_error_errno(-EINVAL,
				       "Invalid --readback-factor: %s (a number above 0, at most "
				       "1000)",
				       esc(s));
	*ret = (uint32_t)(v * 1000 + 0.5);
	if (*ret == 0)
		*ret = 1;
	return 0;
}

static int cmd_enroll(int argc, char **argv)
{
	static uint8_t buf[IPC_MSG_MAX];
	bool enroll = strcmp(argv[0], "enroll") == 0;
	struct ipc_ctl_enroll e = {};
	struct ipc_ctl_pid p = {};
	const char *pid_arg = NULL;
	struct ipc_msg msg;
	int r;

	static const struct option opts[] = { { "name", required_argument, NULL, 'N' },
					      { "readback-factor", required_argument, NULL, 'R' },
					      { "json", no_argument, NULL, 'j' },
					      {} };
	const char *usage = enroll ? "enroll PID [--name NAME] [--readback-factor F]" :
				     "unenroll PID";
	int c;

	/* unenroll takes no options but --json */
	while ((c = cmd_getopt(argc, argv, "", enroll ? opts : opts + 2)) >= 0) {
		if (c == 'N') {
			if (strlen(optarg) >= sizeof(e.name))
				return log_error_errno(-ENAMETOOLONG,
						       "enroll: --name: at most %zu bytes",
						       sizeof(e.name) - 1);
			snprintf(e.name, sizeof(e.name), "%s", optarg);
		} else if (c == 'R') {
			r = parse_factor_permille(optarg, &e.readback_factor_permille);
			if (r < 0)
				return r;
		}
	}
	if (c < -1)
		return c;
	if (argc - optind < 1)
		return log_error_errno(-EINVAL, "%s: missing argument (usage: memctl %s)", argv[0],
				       usage);
	if (argc - optind > 1)
		return log_error_errno(-EINVAL, "%s: unexpected argument %s (usage: memctl %s)",
				       argv[0], esc(argv[optind + 1]), usage);
	pid_arg = argv[optind];
	r = parse_pid(pid_arg, &p.pid);
	if (r < 0)
		return r;
	e.pid = p.pid;
	r = enroll ? call(IPC_CTL_ENROLL, &e, sizeof(e), IPC_CTL_OK, buf, sizeof(buf), &msg) :
		     call(IPC_CTL_UNENROLL, &p, sizeof(p), IPC_CTL_OK, buf, sizeof(buf), &msg);
	if (r < 0)
		return r;
	if (arg_json) {
		struct json_object *o = json_object_new_object();

		json_add_u64(o, "pid", p.pid);
		json_object_object_add(o, enroll ? "enrolled" : "unenrolled",
				       json_object_new_boolean(true));
		return print_json(o);
	}
	printf("%s %" PRIu32 "\n", enroll ? "enrolled" : "unenrolled", p.pid);
	return 0;
}

static void format_bytes(uint64_t b, char *buf, size_t size)
{
	static const char *const units[] = { "B", "K", "M", "G", "T" };
	double v = (double)b;
	size_t u = 0;

	if (b == UINT64_MAX) {
		snprintf(buf, size, "max");
		return;
	}
	while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%" PRIu64 "B", b);
	else
		snprintf(buf, size, "%.1f%s", v, units[u]);
}

static void format_rate(int64_t r, char *buf, size_t size)
{
	char b[16];

	format_bytes(r < 0 ? 0 - (uint64_t)r : (uint64_t)r, b, sizeof(b));
	if ((size_t)snprintf(buf, size, "%s%s/s", r < 0 ? "-" : r > 0 ? "+" : "", b) >= size)
		snprintf(buf, size, "?");
}

/* Cgroup id -> path, fetched page by page (for ps's CGROUP column). */
struct cgroup_names {
	uint32_t n;
	struct ipc_cgroup_entry *v;
};

/* Page through a list-style request (offset in q) and collect every entry
 * into one malloc'd array. */
static int list_some(uint16_t type, uint16_t reply_type, struct ipc_ctl_list *q, uint32_t max,
		     void **ret, uint32_t *ret_n);

static int list_all(uint16_t type, uint16_t reply_type, struct ipc_ctl_list *q, void **ret,
		    uint32_t *ret_n)
{
	return list_some(type, reply_type, q, 0, ret, ret_n);
}

/* The first max entries (0: all), in as few pages as that takes. */
static int list_some(uint16_t type, uint16_t reply_type, struct ipc_ctl_list *q, uint32_t max,
		     void **ret, uint32_t *ret_n)
{
	static uint8_t buf[IPC_MSG_MAX];
	size_t esz = ipc_entry_size(reply_type);
	uint8_t *v = NULL;
	uint32_t n = 0;
	struct ipc_msg msg;
	int r;

	for (;;) {
		const struct ipc_ctl_list_reply *rep;
		void *nv;

		r = call(type, q, sizeof(*q), reply_type, buf, sizeof(buf), &msg);
		if (r < 0) {
			free(v);
			return r;
		}
		rep = msg.body;
		nv = realloc(v, (n + msg.n_entries + 1) * esz);
		if (!nv) {
			free(v);
			return log_error_errno(-ENOMEM, "Out of memory");
		}
		v = nv;
		memcpy(v + n * esz, msg.entries, msg.n_entries * esz);
		n += msg.n_entries;
		q->offset += msg.n_entries;
		if (msg.n_entries == 0 || q->offset >= rep->total || (max && n >= max))
			break;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int fetch_cgroups(const char *only, struct cgroup_names *ret)
{
	struct ipc_ctl_list q = {};

	ret->n = 0;
	ret->v = NULL;
	if (only)
		snprintf(q.cgroup, sizeof(q.cgroup), "%s", only);
	return list_all(IPC_CTL_CGROUPS, IPC_CTL_CGROUPS_REPLY, &q, (void **)&ret->v, &ret->n);
}

/* A cgroup path as the daemon keeps it: "/" first (as `memctl cgroups` prints
 * it, but "app/web" means the same), no trailing "/" (except the root). */
static int cgroup_path_normalize(const char *in, char *out, size_t size)
{
	size_t len;

	if ((size_t)snprintf(out, size, "%s%s", in[0] == '/' ? "" : "/", in) >= size)
		return -ENAMETOOLONG;
	len = strlen(out);
	while (len > 1 && out[len - 1] == '/')
		out[--len] = '\0';
	return 0;
}

static const char *cgroup_name(const struct cgroup_names *c, uint32_t id)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (c->v[i].id == id)
			return c->v[i].path;
	return "-";
}

static uint64_t proc_rss(const struct ipc_proc_entry *p)
{
	return p->rss_anon_bytes + p->rss_file_bytes + p->rss_shmem_bytes;
}

/* MemTotal from /proc/meminfo, once (0 if unreadable): %MEM is against it, as
 * in ps and htop. memctl and memctld share the machine, so this is the
 * daemon's MemTotal too. */
static uint64_t mem_total_bytes(void)
{
	static uint64_t total;
	static bool read_once;
	char line[256];
	FILE *f;

	if (read_once)
		return total;
	read_once = true;
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
			total = kb * 1024;
			break;
		}
	}
	fclose(f);
	return total;
}

/* User names by uid, each looked up once per run (NSS may be slow). */
static struct {
	uint32_t uid;
	bool known;
	char name[64];
} users[128];
static unsigned n_users;

static unsigned user_lookup(uint32_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	unsigned i;

	for (i = 0; i < n_users; i++)
		if (users[i].uid == uid)
			return i;
	i = n_users < ELEMENTSOF(users) ? n_users++ : ELEMENTSOF(users) - 1;
	users[i].uid = uid;
	users[i].known = getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
			 strlen(pw.pw_name) < sizeof(users[i].name);
	snprintf(users[i].name, sizeof(users[i].name), "%s", users[i].known ? pw.pw_name : "");
	return i;
}

static bool user_known(uint32_t uid)
{
	return users[user_lookup(uid)].known;
}

/* The name, or the uid in decimal when it has none. */
static const char *user_name(uint32_t uid)
{
	unsigned i = user_lookup(uid);

	if (!users[i].known)
		snprintf(users[i].name, sizeof(users[i].name), "%" PRIu32, uid);
	return users[i].name;
}

static struct json_object *proc_json(const struct ipc_proc_entry *p, const char *cgroup)
{
	struct json_object *o = json_object_new_object();

	json_add_u64(o, "pid", p->pid);
	json_add_u64(o, "ppid", p->ppid);
	json_object_object_add(o, "comm", json_object_new_string(p->comm));
	json_object_object_add(o, "cgroup", cgroup ? json_object_new_string(cgroup) : NULL);
	json_add_u64(o, "rss_bytes", p->rss_anon_bytes + p->rss_file_bytes + p->rss_shmem_bytes);
	json_add_u64(o, "rss_anon_bytes", p->rss_anon_bytes);
	json_add_u64(o, "rss_file_bytes", p->rss_file_bytes);
	json_add_u64(o, "rss_shmem_bytes", p->rss_shmem_bytes);
	json_add_u64(o, "swap_bytes", p->swap_bytes);
	json_add_u64(o, "minor_faults", p->minor_faults);
	json_add_u64(o, "major_faults", p->major_faults);
	json_object_object_add(o, "growth_bytes_per_sec",
			       json_object_new_int64(p->growth_bytes_per_sec));
	json_object_object_add(o, "rate_bytes_per_sec",
			       json_object_new_int64(p->growth_bytes_per_sec));
	json_object_object_add(o, "pattern",
			       json_object_new_string(growth_pattern_to_string(p->pattern)));
	json_object_object_add(o, "leak_confidence",
			       json_object_new_double(p->leak_confidence_permyriad / 10000.0));
	json_object_object_add(o, "growth_detected", json_object_new_boolean(p->growth_detected));
	json_object_object_add(o, "enrolled", json_object_new_boolean(p->enrolled));
	json_add_u64(o, "start_time_usec", p->start_time_usec);
	json_object_object_add(o, "uid",
			       p->uid == IPC_UID_UNKNOWN ? NULL : json_object_new_uint64(p->uid));
	json_object_object_add(o, "user",
			       p->uid == IPC_UID_UNKNOWN || !user_known(p->uid) ?
				       NULL :
				       json_object_new_string(user_name(p->uid)));
	json_object_object_add(o, "cmdline", json_object_new_string(p->cmdline));
	json_object_object_add(o, "cmdline_truncated",
			       json_object_new_boolean(p->cmdline_bytes >= IPC_CMDLINE_MAX));
	json_object_object_add(o, "mem_percent",
			       mem_total_bytes() ?
				       json_object_new_double(100.0 * (double)proc_rss(p) /
							      (double)mem_total_bytes()) :
				       NULL);
	return o;
}

static struct json_object *limit_json(uint64_t v)
{
	return v == UINT64_MAX ? NULL : json_object_new_uint64(v);
}

static struct json_object *cgroup_json(const struct ipc_cgroup_entry *c)
{
	struct json_object *o = json_object_new_object();

	json_add_u64(o, "id", c->id);
	json_object_object_add(o, "path", json_object_new_string(c->path));
	json_add_u64(o, "hierarchy", c->hierarchy);
	json_add_u64(o, "nr_procs", c->nr_procs);
	json_object_object_add(o, "limit_bytes", limit_json(c->limit_bytes));
	json_object_object_add(o, "soft_limit_bytes", limit_json(c->soft_limit_bytes));
	json_add_u64(o, "usage_bytes", c->usage_bytes);
	json_add_u64(o, "failcnt", c->failcnt);
	json_add_u64(o, "oom_events", c->oom_events);
	json_add_u64(o, "oom_kills", c->oom_events); /* the same: what it counts */
	/* null where the hierarchy has no PSI (v1), never a made-up 0 */
	json_object_object_add(o, "psi_some_avg10_permyriad",
			       c->flags & IPC_CGROUP_HAS_PSI ?
				       json_object_new_uint64(c->psi_some_avg10_permyriad) :
				       NULL);
	json_object_object_add(o, "psi_full_avg10_permyriad",
			       c->flags & IPC_CGROUP_HAS_PSI ?
				       json_object_new_uint64(c->psi_full_avg10_permyriad) :
				       NULL);
	json_add_u64(o, "reclaims", c->reclaims);
	json_add_u64(o, "reclaim_stall_usec", c->reclaim_stall_usec);
	json_add_u64(o, "reclaimed_pages", c->reclaimed_pages);
	json_object_object_add(o, "rate_bytes_per_sec",
			       json_object_new_int64(c->growth_bytes_per_sec));
	json_object_object_add(o, "pattern",
			       json_object_new_string(growth_pattern_to_string(c->pattern)));
	json_object_object_add(o, "leak_confidence",
			       json_object_new_double(c->leak_confidence_permyriad / 10000.0));
	json_object_object_add(o, "growth_detected", json_object_new_boolean(c->growth_detected));
	json_object_object_add(o, "seconds_to_limit", seconds_json(c->time_to_limit_usec));
	/* null where the cgroup's files do not say (no kmem accounting, old v2) */
	json_object_object_add(
		o, "kernel_bytes",
		c->flags & IPC_CGROUP_HAS_KERNEL ? json_object_new_uint64(c->kernel_bytes) : NULL);
	json_object_object_add(o, "kernel_sock_bytes",
			       c->flags & IPC_CGROUP_HAS_KERNEL_SOCK ?
				       json_object_new_uint64(c->kernel_sock_bytes) :
				       NULL);
	json_object_object_add(o, "slab_bytes",
			       c->flags & IPC_CGROUP_HAS_KERNEL_DETAIL ?
				       json_object_new_uint64(c->slab_bytes) :
				       NULL);
	json_object_object_add(o, "pagetables_bytes",
			       c->flags & IPC_CGROUP_HAS_KERNEL_DETAIL ?
				       json_object_new_uint64(c->pagetables_bytes) :
				       NULL);
	return o;
}

/* "12.0M" or "-" where the cgroup's files do not say */
static void format_kernel(const struct ipc_cgroup_entry *c, char *buf, size_t size)
{
	if (c->flags & IPC_CGROUP_HAS_KERNEL)
		format_bytes(c->kernel_bytes, buf, size);
	else
		snprintf(buf, size, "-");
}

static const char *const sort_names[] = { [IPC_SORT_PID] = "pid",
					  [IPC_SORT_RSS] = "rss",
					  [IPC_SORT_GROWTH] = "growth",
					  [IPC_SORT_FAULTS] = "faults" };

static int parse_sort(const char *cmd, const char *s, uint32_t *ret)
{
	for (size_t k = 0; k < ELEMENTSOF(sort_names); k++)
		if (strcmp(s, sort_names[k]) == 0) {
			*ret = (uint32_t)k;
			return 0;
		}
	return log_error_errno(-EINVAL, "%s: --sort: expected pid, rss, growth or faults, got %s",
			       cmd, esc(s));
}

/* How ps and top lay a process table out: the cgroup column as wide as the
 * widest path shown (up to a point), and lines cut to cols (0: never). */
struct ps_layout {
	size_t cgroup_width;
	unsigned cols;
};

#define PS_CGROUP_WIDTH_MAX 40

static void ps_layout_init(struct ps_layout *l, const struct ipc_proc_entry *e, uint32_t n,
			   const struct cgroup_names *cg, unsigned cols)
{
	l->cols = cols;
	l->cgroup_width = strlen("CGROUP");
	for (uint32_t i = 0; i < n; i++) {
		const char *p = e[i].cgroup_id ? cgroup_name(cg, e[i].cgroup_id) : "-";
		char buf[ESC_BUF_SIZE];
		size_t w = strlen(cli_escape(p, buf, sizeof(buf)));

		l->cgroup_width = MAX(l->cgroup_width, MIN(w, (size_t)PS_CGROUP_WIDTH_MAX));
	}
}

/* Print line (printable, as the columns are escaped) cut to l->cols. */
static void ps_emit(FILE *f, const struct ps_layout *l, char *line, const char *eol)
{
	if (l->cols)
		cli_truncate(line, l->cols);
	fputs(line, f);
	fputs(eol, f);
}

static void ps_header(FILE *f, const struct ps_layout *l, const char *eol)
{
	char line[512];

	snprintf(line, sizeof(line), "%7s %7s %-8s %5s %9s %9s %11s %-13s %9s %1s %-*s %s", "PID",
		 "PPID", "USER", "%MEM", "RSS", "SWAP", "GROWTH", "PATTERN", "FAULTS", "E",
		 (int)l->cgroup_width, "CGROUP", "COMMAND");
	ps_emit(f, l, line, eol);
}

static void ps_row(FILE *f, const struct ps_layout *l, const struct ipc_proc_entry *e,
		   const struct cgroup_names *cg, const char *eol)
{
	const char *cgp = e->cgroup_id ? cgroup_name(cg, e->cgroup_id) : "-";
	char rss[16], swap[16], gr[32], mem[16], user[16], cmd[ESC_BUF_SIZE + 8], line[1536];
	char pat[24];
	const char *u;

	format_bytes(proc_rss(e), rss, sizeof(rss));
	format_bytes(e->swap_bytes, swap, sizeof(swap));
	format_rate(e->growth_bytes_per_sec, gr, sizeof(gr));
	if (mem_total_bytes())
		snprintf(mem, sizeof(mem), "%.1f",
			 100.0 * (double)proc_rss(e) / (double)mem_total_bytes());
	else
		snprintf(mem, sizeof(mem), "-");
	/* as ps: a name longer than the column is shown as the uid */
	u = e->uid == IPC_UID_UNKNOWN ? "?" : user_name(e->uid);
	if (strlen(u) > 8)
		snprintf(user, sizeof(user), "%" PRIu32, e->uid);
	else
		snprintf(user, sizeof(user), "%s", esc(u));
	/* as ps: no command line (a zombie, a process not read yet) shows [comm] */
	if (e->cmdline[0])
		snprintf(cmd, sizeof(cmd), "%s%s", esc(e->cmdline),
			 e->cmdline_bytes >= IPC_CMDLINE_MAX ? "..." : "");
	else
		snprintf(cmd, sizeof(cmd), "[%s]", esc(e->comm));
	/* the pattern, with "!" while in a growth episode */
	snprintf(pat, sizeof(pat), "%s%s", growth_pattern_to_string(e->pattern),
		 e->growth_detected ? "!" : "");
	snprintf(line, sizeof(line),
		 "%7" PRIu32 " %7" PRIu32 " %-8s %5s %9s %9s %11s %-13s %9" PRIu64 " %1s %-*s %s",
		 e->pid, e->ppid, user, mem, rss, swap, gr, pat, e->minor_faults,
		 e->enrolled ? "*" : "", (int)l->cgroup_width, esc(cgp), cmd);
	ps_emit(f, l, line, eol);
}

/* Columns of stdout's terminal, 0 when it is not one (a pipe gets it all). */
static unsigned stdout_cols(void)
{
	unsigned rows, cols;

	if (!isatty(STDOUT_FILENO))
		return 0;
	cli_term_size(&rows, &cols);
	return cols;
}

/* The process list (its first max entries, 0: all) and the cgroup names. */
static int fetch_procs(struct ipc_ctl_list *q, uint32_t max, struct ipc_proc_entry **ret,
		       uint32_t *ret_n, struct cgroup_names *ret_cg)
{
	struct ipc_ctl_list page = *q;
	int r;

	r = fetch_cgroups(NULL, ret_cg);
	if (r == -ENODEV)
		r = 0; /* no cgroup hierarchy: processes only */
	if (r < 0)
		return r;
	r = list_some(IPC_CTL_LIST, IPC_CTL_LIST_REPLY, &page, max, (void **)ret, ret_n);
	if (r < 0) {
		free(ret_cg->v);
		ret_cg->v = NULL;
	}
	return r;
}

static int cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = { { "sort", required_argument, NULL, 'S' },
					      { "cgroup", required_argument, NULL, 'C' },
					      { "json", no_argument, NULL, 'j' },
					      {} };
	struct ipc_ctl_list q = { .sort = IPC_SORT_PID };
	struct cgroup_names cg = {};
	struct ipc_proc_entry *e = NULL;
	struct ps_layout l;
	uint32_t n = 0;
	int c, r;

	while ((c = cmd_getopt(argc, argv, "", opts)) >= 0) {
		if (c == 'S' && (r = parse_sort("ps", optarg, &q.sort)) < 0)
			return r;
		if (c == 'C' && cgroup_path_normalize(optarg, q.cgroup, sizeof(q.cgroup)) < 0)
			return log_error_errno(-ENAMETOOLONG, "ps: --cgroup: path too long");
	}
	if (c < -1)
		return c;
	if (optind < argc)
		return log_error_errno(-EINVAL,
				       "ps: unexpected argument %s (usage: memctl ps "
				       "[--sort KEY] [--cgroup PATH])",
				       esc(argv[optind]));
	/* the whole list first: an error (no such cgroup) prints no header */
	r = fetch_procs(&q, 0, &e, &n, &cg);
	if (r < 0)
		return r;
	if (arg_json) {
		struct json_object *arr = json_object_new_array();

		for (uint32_t i = 0; i < n; i++)
			json_object_array_add(
				arr,
				proc_json(&e[i], e[i].cgroup_id ? cgroup_name(&cg, e[i].cgroup_id) :
								  NULL));
		r = print_json(arr);
	} else {
		ps_layout_init(&l, e, n, &cg, stdout_cols());
		ps_header(stdout, &l, "\n");
		for (uint32_t i = 0; i < n; i++)
			ps_row(stdout, &l, &e[i], &cg, "\n");
	}
	free(e);
	free(cg.v);
	return r;
}

/* ---- top ---- */

static volatile sig_atomic_t top_quit, top_resized;

static void top_signal(int sig)
{
	if (sig == SIGWINCH)
		top_resized = 1;
	else
		top_quit = 1;
}

/*
 * One frame: a summary, the table header and as many rows as fit in rows
 * (0: all). eol ends each line: "\033[K\n" on the screen (clearing what the
 * last frame left to the right), "\n" for a pipe.
 */
static int top_frame(FILE *f, struct ipc_ctl_list *q, unsigned rows, unsigned cols,
		     uint64_t delay_usec, const char *eol)
{
	static uint8_t buf[IPC_MSG_MAX];
	const struct ipc_ctl_status_reply *s;
	struct cgroup_names cg = {};
	struct ipc_proc_entry *e = NULL;
	struct ipc_msg msg;
	struct ps_layout l;
	char up[64], clock[16], line[512];
	uint32_t n = 0, max;
	time_t now = time(NULL);
	struct tm tm;
	int r;

	r = call(IPC_CTL_STATUS, NULL, 0, IPC_CTL_STATUS_REPLY, buf, sizeof(buf), &msg);
	if (r < 0)
		return r;
	s = msg.body;
	format_duration(s->uptime_usec, up, sizeof(up));
	strftime(clock, sizeof(clock), "%T", localtime_r(&now, &tm));
	/* on a screen, only what fits: one page per refresh for a big table */
	max = rows ? (rows > 5 ? rows - 5 : 1) : 0;
	r = fetch_procs(q, max, &e, &n, &cg);
	if (r < 0)
		return r;
	n = max ? MIN(n, max) : n;
	ps_layout_init(&l, e, n, &cg, cols);
	snprintf(line, sizeof(line),
		 "memctl top - %s  memctld %s, up %s  processes %" PRIu64 "  cgroups %" PRIu64
		 "  enrolled %" PRIu64,
		 clock, esc(s->version), up, s->processes_tracked, s->cgroups_tracked, s->enrolled);
	ps_emit(f, &l, line, eol);
	snprintf(line, sizeof(line),
		 "pressure some %.2f%% full %.2f%% (avg10)  sort %s  every %.1fs  "
		 "keys: p r g f sort, q quit",
		 (double)s->psi_some_avg10_permyriad / 100,
		 (double)s->psi_full_avg10_permyriad / 100, sort_names[q->sort],
		 (double)delay_usec / USEC_PER_SEC);
	ps_emit(f, &l, line, eol);
	fputs(eol, f);
	ps_header(f, &l, eol);
	for (uint32_t i = 0; i < n; i++)
		ps_row(f, &l, &e[i], &cg, eol);
	free(e);
	free(cg.v);
	return 0;
}

/* Draw one frame at the top left of the screen, in one write. */
static int top_draw(struct ipc_ctl_list *q, uint64_t delay_usec)
{
	char *frame = NULL;
	size_t len = 0;
	unsigned rows, cols;
	FILE *f;
	int r;

	cli_term_size(&rows, &cols);
	f = open_memstream(&frame, &len);
	if (!f)
		return log_error_errno(-ENOMEM, "Out of memory");
	fputs("\033[H", f);
	r = top_frame(f, q, rows, cols, delay_usec, "\033[K\n");
	fputs("\033[J", f); /* rows the last frame had and this one has not */
	fclose(f);
	if (r >= 0) {
		fwrite(frame, 1, len, stdout);
		fflush(stdout);
	}
	free(frame);
	return r;
}

static int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = { { "sort", required_argument, NULL, 'S' },
					      { "cgroup", required_argument, NULL, 'C' },
					      { "delay", required_argument, NULL, 'd' },
					      { "iterations", required_argument, NULL, 'n' },
					      { "json", no_argument, NULL, 'j' },
					      {} };
	struct ipc_ctl_list q = { .sort = IPC_SORT_RSS };
	uint64_t delay_usec = 2 * USEC_PER_SEC, iterations = 0;
	struct sigaction sa = { .sa_handler = top_signal }, old[4];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
	struct cli_term term;
	int c, r;

	while ((c = cmd_getopt(argc, argv, "d:n:", opts)) >= 0) {
		char *end;
		double d;

		if (c == 'S' && (r = parse_sort("top", optarg, &q.sort)) < 0)
			return r;
		if (c == 'C' && cgroup_path_normalize(optarg, q.cgroup, sizeof(q.cgroup)) < 0)
			return log_error_errno(-ENAMETOOLONG, "top: --cgroup: path too long");
		if (c == 'd') {
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(d >= 0.1 && d <= 3600))
				return log_error_errno(-EINVAL,
						       "top: --delay: seconds, 0.1 .. 3600, got %s",
						       esc(optarg));
			delay_usec = (uint64_t)(d * USEC_PER_SEC);
		}
		if (c == 'n' && (parse_u64(optarg, &iterations) < 0 || iterations == 0))
			return log_error_errno(-EINVAL, "top: --iterations: a count > 0, got %s",
					       esc(optarg));
	}
	if (c < -1)
		return c;
	if (optind < argc)
		return log_error_errno(
			-EINVAL,
			"top: unexpected argument %s (usage: memctl top [--sort KEY] "
			"[--cgroup PATH] [--delay SEC] [--iterations N])",
			esc(argv[optind]));
	if (arg_json)
		return log_error_errno(-EINVAL, "top: no JSON here; use memctl ps --json");

	/* not a terminal: print a frame (or --iterations of them) and stop,
	 * as top -b does, never escape sequences into a pipe */
	r = cli_term_enter(&term, STDIN_FILENO);
	if (r == -ENOTTY) {
		for (uint64_t i = 0; i < (iterations ?: 1); i++) {
			if (i > 0) {
				usleep((useconds_t)MIN(delay_usec, 3600 * USEC_PER_SEC));
				putchar('\n');
			}
			r = top_frame(stdout, &q, 0, 0, delay_usec, "\n");
			if (r < 0)
				return r;
			fflush(stdout);
		}
		return 0;
	}
	if (r < 0)
		return log_error_errno(r, "top: cannot set up the terminal: %m");

	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigaction(sigs[i], &sa, &old[i]); /* no SA_RESTART: poll() wakes */
	errors_deferred = true;
	for (uint64_t frames = 0; !top_quit;) {
		uint64_t deadline;

		top_resized = 0;
		r = top_draw(&q, delay_usec);
		if (r < 0 || (iterations && ++frames >= iterations))
			break;
		deadline = now_usec(CLOCK_MONOTONIC) + delay_usec;
		while (!top_quit && !top_resized) {
			uint64_t t = now_usec(CLOCK_MONOTONIC);
			int k;

			if (t >= deadline)
				break;
			k = cli_term_key(&term, (int)((deadline - t + 999) / 1000));
			if (k == 'q' || k == 'Q' || k == -EIO) {
				top_quit = 1;
			} else if (k == 'p' || k == 'r' || k == 'g' || k == 'f') {
				q.sort = k == 'p' ? IPC_SORT_PID :
					 k == 'r' ? IPC_SORT_RSS :
					 k == 'g' ? IPC_SORT_GROWTH :
						    IPC_SORT_FAULTS;
				break; /* show it now */
			} else if (k == ' ' || k == '\f') {
				break; /* redraw now, as top does */
			} else if (k < 0 && k != -EINTR) {
				r = log_error_errno(k, "top: reading the terminal: %m");
				top_quit = 1;
			}
		}
	}
	cli_term_leave(&term);
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
	errors_deferred = false;
	if (r < 0 && first_error)
		log_full_errno(LOG_ERR, first_error, "%s", first_error_message);
	return r < 0 ? r : 0;
}

static const char *bw_state_name(uint32_t state)
{
	switch (state) {
	case IPC_BW_MONITORED:
		return "monitored";
	case IPC_BW_PENDING:
		return "pending";
	case IPC_BW_UNMONITORED:
		return "unmonitored";
	default:
		return "none";
	}
}

static struct json_object *bw_json(const struct ipc_bandwidth_figures *f)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "state", json_object_new_string(bw_state_name(f->state)));
	json_object_object_add(o, "mbm_total_bytes_per_sec",
			       f->valid & IPC_BW_VALID_TOTAL ?
				       json_object_new_uint64(f->mbm_total_bytes_per_sec) :
				       NULL);
	json_object_object_add(o, "mbm_local_bytes_per_sec",
			       f->valid & IPC_BW_VALID_LOCAL ?
				       json_object_new_uint64(f->mbm_local_bytes_per_sec) :
				       NULL);
	json_object_object_add(o, "llc_occupancy_bytes",
			       f->valid & IPC_BW_VALID_OCCUPANCY ?
				       json_object_new_uint64(f->llc_occupancy_bytes) :
				       NULL);
	return o;
}

/* "1.2G/s" or "-" when not measured */
static void format_bw(const struct ipc_bandwidth_figures *f, uint32_t bit, uint64_t v, bool rate,
		      char *buf, size_t size)
{
	char b[16];

	if (!(f->valid & bit)) {
		snprintf(buf, size, "-");
		return;
	}
	format_bytes(v, b, sizeof(b));
	snprintf(buf, size, "%s%s", b, rate ? "/s" : "");
}

/* Every page of `bandwidth`: the fixed part of the first reply and all entries. */
static int fetch_bandwidth(struct ipc_ctl_bandwidth_reply *ret_head,
			   struct ipc_bandwidth_entry **ret, uint32_t *ret_n)
{
	static uint8_t buf[IPC_MSG_MAX];
	struct ipc_ctl_list q = {};
	struct ipc_bandwidth_entry *v = NULL;
	uint32_t n = 0;
	struct ipc_msg msg;
	int r;

	for (;;) {
		const struct ipc_ctl_bandwidth_reply *rep;
		void *nv;

		r = call(IPC_CTL_BANDWIDTH, &q, sizeof(q), IPC_CTL_BANDWIDTH_REPLY, buf,
			 sizeof(buf), &msg);
		if (r < 0) {
			free(v);
			return r;
		}
		rep = msg.body;
		if (q.offset == 0)
			*ret_head = *rep;
		nv = realloc(v, (n + msg.n_entries + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return log_error_errno(-ENOMEM, "Out of memory");
		}
		v = nv;
		memcpy(v + n, msg.entries, msg.n_entries * sizeof(*v));
		n += msg.n_entries;
		q.offset += msg.n_entries;
		if (msg.n_entries == 0 || q.offset >= rep->total)
			break;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static const struct ipc_bandwidth_figures *cgroup_bw(const struct ipc_bandwidth_entry *e,
						     uint32_t n, uint32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].kind == IPC_BW_UNIT_CGROUP && e[i].cgroup_id == id)
			return &e[i].bw;
	return NULL;
}

static int cmd_cgroups(int argc, char **argv)
{
	static const struct ipc_bandwidth_figures none = { .state = IPC_BW_NONE };
	struct ipc_ctl_bandwidth_reply bwh;
	struct ipc_bandwidth_entry *bwe = NULL;
	uint32_t bwn = 0;
	struct cgroup_names cg;
	struct json_object *arr = NULL;
	int r;

	r = cmd_operands(argc, argv, 0, "cgroups");
	if (r < 0)
		return r;
	r = fetch_cgroups(NULL, &cg);
	if (r < 0)
		return r;
	/* bandwidth figures come from the resctrl units, joined by cgroup id */
	if (fetch_bandwidth(&bwh, &bwe, &bwn) < 0)
		bwn = 0;
	if (arg_json)
		arr = json_object_new_array();
	else
		printf("%4s %2s %6s %9s %9s %9s %9s %8s %5s %7s %8s %9s %10s %8s %11s %-12s %10s  "
		       "%s\n",
		       "ID", "V", "PROCS", "USAGE", "KERNEL", "LIMIT", "SOFT", "FAILCNT", "OOM",
		       "PSI10", "RECLAIMS", "STALL", "MBM", "LLC", "GROWTH", "PATTERN", "LIMIT IN",
		       "PATH");
	for (uint32_t i = 0; i < cg.n; i++) {
		const struct ipc_cgroup_entry *c = &cg.v[i];
		char use[16], kmem[16], lim[16], soft[16], psi[16], mbm[24], llc[24], gr[32],
			tl[32];
		const struct ipc_bandwidth_figures *bw = cgroup_bw(bwe, bwn, c->id) ?: &none;

		if (arr) {
			struct json_object *o = cgroup_json(c);

			json_object_object_add(o, "bandwidth", bw_json(bw));
			json_object_array_add(arr, o);
			continue;
		}
		format_bw(bw, IPC_BW_VALID_TOTAL, bw->mbm_total_bytes_per_sec, true, mbm,
			  sizeof(mbm));
		format_bw(bw, IPC_BW_VALID_OCCUPANCY, bw->llc_occupancy_bytes, false, llc,
			  sizeof(llc));
		format_rate(c->growth_bytes_per_sec, gr, sizeof(gr));
		if (c->time_to_limit_usec == UINT64_MAX)
			snprintf(tl, sizeof(tl), "-");
		else
			format_duration(c->time_to_limit_usec, tl, sizeof(tl));
		format_bytes(c->usage_bytes, use, sizeof(use));
		format_kernel(c, kmem, sizeof(kmem));
		format_bytes(c->limit_bytes, lim, sizeof(lim));
		format_bytes(c->soft_limit_bytes, soft, sizeof(soft));
		if (c->flags & IPC_CGROUP_HAS_PSI)
			snprintf(psi, sizeof(psi), "%.2f%%",
				 (double)c->psi_some_avg10_permyriad / 100);
		else
			snprintf(psi, sizeof(psi), "n/a");
		printf("%4" PRIu32 " v%" PRIu32 " %6" PRIu32 " %9s %9s %9s %9s %8" PRIu64
		       " %5" PRIu64 " %7s %8" PRIu64 " %7.1fms %10s %8s %11s %-12s %10s  %s\n",
		       c->id, c->hierarchy, c->nr_procs, use, kmem, lim, soft, c->failcnt,
		       c->oom_events, psi, c->reclaims, (double)c->reclaim_stall_usec / 1000, mbm,
		       llc, gr, growth_pattern_to_string(c->pattern), tl, esc(c->path));
	}
	free(cg.v);
	free(bwe);
	return arr ? print_json(arr) : 0;
}

static const char *command_name(uint32_t type)
{
	return type == IPC_COMPRESS ? "compress" : type == IPC_RELAX ? "relax" : "-";
}

static struct json_object *time_or_null(uint64_t usec)
{
	return usec ? json_object_new_uint64(usec) : NULL;
}

static int cmd_list(int argc, char **argv)
{
	struct ipc_ctl_list q = {};
	struct cgroup_names cg = {};
	struct ipc_enrolled_entry *e = NULL;
	struct json_object *arr = NULL;
	uint32_t n = 0;
	int r;

	r = cmd_operands(argc, argv, 0, "list");
	if (r < 0)
		return r;
	r = fetch_cgroups(NULL, &cg);
	if (r == -ENODEV)
		r = 0;
	if (r < 0)
		return r;
	r = list_all(IPC_CTL_ENROLLED, IPC_CTL_ENROLLED_REPLY, &q, (void **)&e, &n);
	if (r < 0) {
		free(cg.v);
		return r;
	}
	if (arg_json)
		arr = json_object_new_array();
	else
		printf("%7s %-16s %-7s %9s %9s %9s %6s %-8s %8s %8s %10s  %s\n", "PID", "NAME",
		       "MODE", "LOGICAL", "RESIDENT", "COMPRESSD", "RATIO", "LAST", "ACK",
		       "LATENCY", "MBM", "CGROUP");
	for (uint32_t i = 0; i < n; i++) {
		const struct ipc_enrolled_entry *x = &e[i];
		const char *cgp = x->cgroup_id ? cgroup_name(&cg, x->cgroup_id) : "-";
		double ratio = x->stats.resident_bytes ? (double)x->stats.logical_bytes /
								 (double)x->stats.resident_bytes :
							 0;
		char lg[16], rs[16], cp[16], ago[32], lat[32], mbm[24];

		if (arr) {
			struct json_object *o = json_object_new_object();

			json_add_u64(o, "pid", x->pid);
			json_add_u64(o, "uid", x->uid);
			json_add_u64(o, "enrollment_id", x->id);
			json_object_object_add(o, "name", json_object_new_string(x->name));
			json_object_object_add(o, "mode",
					       json_object_new_string(x->mode == IPC_MODE_ARENA ?
									      "arena" :
									      "monitor-only"));
			json_object_object_add(o, "cgroup",
					       x->cgroup_id ? json_object_new_string(cgp) : NULL);
			json_add_u64(o, "logical_bytes", x->stats.logical_bytes);
			json_add_u64(o, "resident_bytes", x->stats.resident_bytes);
			json_add_u64(o, "compressed_bytes", x->stats.compressed_bytes);
			json_add_u64(o, "cold_bytes", x->stats.cold_bytes);
			json_add_u64(o, "compressible_cold_bytes",
				     x->stats.compressible_cold_bytes);
			json_object_object_add(o, "ratio", json_object_new_double(ratio));
			json_object_object_add(
				o, "last_command",
				x->last_command ?
					json_object_new_string(command_name(x->last_command)) :
					NULL);
			json_object_object_add(o, "last_command_usec",
					       time_or_null(x->last_command_usec));
			json_object_object_add(o, "last_ack_usec", time_or_null(x->last_ack_usec));
			json_object_object_add(
				o, "latency_usec",
				x->acks ? json_object_new_uint64(x->last_latency_usec) : NULL);
			json_add_u64(o, "latency_p50_usec", x->latency_p50_usec);
			json_add_u64(o, "latency_p99_usec", x->latency_p99_usec);
			json_add_u64(o, "commands_sent", x->commands_sent);
			json_add_u64(o, "acks", x->acks);
			json_add_u64(o, "commands_dropped", x->commands_dropped);
			json_add_u64(o, "commands_timed_out", x->commands_timed_out);
			json_add_u64(o, "bytes_freed", x->bytes_freed);
			json_add_u64(o, "bytes_restored", x->bytes_restored);
			json_add_u64(o, "readback_factor_permille", x->readback_factor_permille);
			json_object_object_add(o, "bandwidth", bw_json(&x->bandwidth));
			json_object_array_add(arr, o);
			continue;
		}
		format_bytes(x->stats.logical_bytes, lg, sizeof(lg));
		format_bytes(x->stats.resident_bytes, rs, sizeof(rs));
		format_bytes(x->stats.compressed_bytes, cp, sizeof(cp));
		if (x->last_ack_usec) {
			uint64_t now = now_usec(CLOCK_REALTIME);

			format_duration(now > x->last_ack_usec ? now - x->last_ack_usec : 0, ago,
					sizeof(ago));
		} else {
			snprintf(ago, sizeof(ago), "-");
		}
		if (x->acks)
			snprintf(lat, sizeof(lat), "%.1fms", (double)x->last_latency_usec / 1000);
		else
			snprintf(lat, sizeof(lat), "-");
		format_bw(&x->bandwidth, IPC_BW_VALID_TOTAL, x->bandwidth.mbm_total_bytes_per_sec,
			  true, mbm, sizeof(mbm));
		if (x->mode == IPC_MODE_ARENA)
			printf("%7" PRIu32 " %-16s %-7s %9s %9s %9s %5.2fx %-8s %8s %8s %10s  %s\n",
			       x->pid, esc(x->name), "arena", lg, rs, cp, ratio,
			       command_name(x->last_command), ago, lat, mbm, esc(cgp));
		else
			printf("%7" PRIu32 " %-16s %-7s %9s %9s %9s %6s %-8s %8s %8s %10s  %s\n",
			       x->pid, esc(x->name), "monitor", "-", "-", "-", "-", "-", "-", "-",
			       mbm, esc(cgp));
	}
	free(e);
	free(cg.v);
	return arr ? print_json(arr) : 0;
}

/* Every field of struct ipc_arena_stats, named as in ipc/ipc.h. */
static struct json_object *arena_json(const struct ipc_arena_stats *a)
{
	struct json_object *o = json_object_new_object();
	const struct {
		const char *name;
		uint64_t v;
	} f[] = {
		{ "logical_bytes", a->logical_bytes },
		{ "resident_bytes", a->resident_bytes },
		{ "compressed_bytes", a->compressed_bytes },
		{ "hot_bytes", a->hot_bytes },
		{ "warm_bytes", a->warm_bytes },
		{ "cold_bytes", a->cold_bytes },
		{ "compressible_cold_bytes", a->compressible_cold_bytes },
		{ "chunks_raw", a->chunks_raw },
		{ "chunks_zero", a->chunks_zero },
		{ "chunks_lz4", a->chunks_lz4 },
		{ "chunks_zstd", a->chunks_zstd },
		{ "compress_cpu_ns", a->compress_cpu_ns },
		{ "decompress_cpu_ns", a->decompress_cpu_ns },
		{ "readbacks", a->readbacks },
		{ "stall_p50_ns", a->stall_p50_ns },
		{ "stall_p99_ns", a->stall_p99_ns },
		{ "errors", a->errors },
		{ "fragmentation_permyriad", a->fragmentation_permyriad },
		{ "admit_rate_permyriad", a->admit_rate_permyriad },
	};

	/* 19 fields: a field appended to the struct breaks this on purpose */
	_Static_assert(sizeof(struct ipc_arena_stats) == 17 * 8 + 2 * 4,
		       "ipc_arena_stats grew: add the field to arena_json()");
	for (size_t i = 0; i < ELEMENTSOF(f); i++)
		json_add_u64(o, f[i].name, f[i].v);
	return o;
}

static int cmd_bandwidth(int argc, char **argv)
{
	struct ipc_ctl_bandwidth_reply h;
	struct ipc_bandwidth_entry *e = NULL;
	uint32_t n = 0;
	int r;

	r = cmd_operands(argc, argv, 0, "bandwidth");
	if (r < 0)
		return r;
	r = fetch_bandwidth(&h, &e, &n);
	if (r < 0)
		return r;
	if (arg_json) {
		struct json_object *o = json_object_new_object(), *pool = json_object_new_object(),
				   *q = json_object_new_array(), *doms = json_object_new_array(),
				   *units = json_object_new_array(),
				   *feat = json_object_new_array();
		static const char *const fnames[] = { "llc_occupancy", "mbm_total_bytes",
						      "mbm_local_bytes" };

		json_object_object_add(o, "on", json_object_new_boolean(h.state == IPC_RESCTRL_ON));
		json_object_object_add(o, "status", json_object_new_string(h.status));
		for (size_t i = 0; i < ELEMENTSOF(fnames); i++)
			if (h.features & (1U << i))
				json_object_array_add(feat, json_object_new_string(fnames[i]));
		json_object_object_add(o, "features", feat);
		json_add_u64(pool, "num_rmids", h.num_rmids);
		json_add_u64(pool, "capacity", h.capacity);
		json_add_u64(pool, "in_use", h.in_use);
		json_add_u64(pool, "quarantined", h.quarantined);
		json_add_u64(pool, "available",
			     h.capacity > h.in_use + h.quarantined ?
				     h.capacity - h.in_use - h.quarantined :
				     0);
		json_add_u64(pool, "min_free_usec", h.min_free_usec);
		json_add_u64(pool, "max_threshold_occupancy_bytes",
			     h.max_threshold_occupancy_bytes);
		for (uint32_t i = 0; i < h.n_quarantine; i++)
			json_object_array_add(q, json_object_new_uint64(h.quarantine_left_usec[i]));
		json_object_object_add(pool, "quarantine_left_usec", q);
		json_add_u64(pool, "unmonitored", h.unmonitored);
		json_object_object_add(o, "pool", pool);
		for (uint32_t i = 0; i < h.n_domains; i++) {
			const struct ipc_bandwidth_domain *d = &h.domains[i];
			struct ipc_bandwidth_figures f = {
				.mbm_total_bytes_per_sec = d->mbm_total_bytes_per_sec,
				.mbm_local_bytes_per_sec = d->mbm_local_bytes_per_sec,
				.llc_occupancy_bytes = d->llc_occupancy_bytes,
				.state = IPC_BW_MONITORED,
				.valid = d->valid,
			};
			struct json_object *dj = bw_json(&f);

			json_object_object_del(dj, "state");
			json_add_u64(dj, "id", d->id);
			json_add_u64(dj, "peak_bytes_per_sec", d->peak_bytes_per_sec);
			json_add_u64(dj, "readback_cost_permyriad", d->readback_cost_permyriad);
			json_object_array_add(doms, dj);
		}
		json_object_object_add(o, "domains", doms);
		for (uint32_t i = 0; i < n; i++) {
			struct json_object *u = bw_json(&e[i].bw);

			json_object_object_add(
				u, "kind",
				json_object_new_string(
					e[i].kind == IPC_BW_UNIT_PROCESS ? "process" : "cgroup"));
			json_object_object_add(u, "name", json_object_new_string(e[i].name));
			if (e[i].pid)
				json_add_u64(u, "pid", e[i].pid);
			if (e[i].cgroup_id)
				json_add_u64(u, "cgroup_id", e[i].cgroup_id);
			json_object_object_add(u, "group", json_object_new_string(e[i].group));
			json_add_u64(u, "rmid", e[i].rmid);
			json_add_u64(u, "priority", e[i].priority);
			json_add_u64(u, "readback_cost_permyriad", e[i].readback_cost_permyriad);
			json_add_u64(u, "unavailable_reads", e[i].unavailable_reads);
			json_object_object_add(
				u, "reason",
				e[i].reason[0] ? json_object_new_string(e[i].reason) : NULL);
			json_object_array_add(units, u);
		}
		json_object_object_add(o, "units", units);
		free(e);
		return print_json(o);
	}
	printf("resctrl: %s\n", esc(h.status));
	if (h.state != IPC_RESCTRL_ON) {
		free(e);
		return 0;
	}
	printf("RMIDs:   %" PRIu32 " for memctld of %" PRIu32 " (the default group's and others' "
	       "excluded); %" PRIu32 " in use, %" PRIu32 " in quarantine, min free time %.1fs\n",
	       h.capacity, h.num_rmids, h.in_use, h.quarantined, (double)h.min_free_usec / 1e6);
	for (uint32_t i = 0; i < h.n_quarantine; i++)
		printf("         quarantine: %.1fs left\n",
		       (double)h.quarantine_left_usec[i] / 1e6);
	printf("%-7s %11s %11s %10s %11s %6s\n", "DOMAIN", "TOTAL", "LOCAL", "LLC", "PEAK", "COST");
	for (uint32_t i = 0; i < h.n_domains; i++) {
		const struct ipc_bandwidth_domain *d = &h.domains[i];
		struct ipc_bandwidth_figures f = { .valid = d->valid };
		char a[24], b[24], c[24], pk[24];

		format_bw(&f, IPC_BW_VALID_TOTAL, d->mbm_total_bytes_per_sec, true, a, sizeof(a));
		format_bw(&f, IPC_BW_VALID_LOCAL, d->mbm_local_bytes_per_sec, true, b, sizeof(b));
		format_bw(&f, IPC_BW_VALID_OCCUPANCY, d->llc_occupancy_bytes, false, c, sizeof(c));
		format_bytes(d->peak_bytes_per_sec, pk, sizeof(pk));
		strcat(pk, "/s");
		printf("mon_L3_%02" PRIu32 " %9s %11s %10s %11s %6.2f\n", d->id, a, b, c, pk,
		       d->readback_cost_permyriad / 10000.0);
	}
	printf("\n%-7s %7s %-11s %5s %11s %11s %10s %6s  %s\n", "KIND", "ID", "STATE", "RMID",
	       "TOTAL", "LOCAL", "LLC", "COST", "NAME");
	for (uint32_t i = 0; i < n; i++) {
		char a[24], b[24], c[24], rm[16];

		format_bw(&e[i].bw, IPC_BW_VALID_TOTAL, e[i].bw.mbm_total_bytes_per_sec, true, a,
			  sizeof(a));
		format_bw(&e[i].bw, IPC_BW_VALID_LOCAL, e[i].bw.mbm_local_bytes_per_sec, true, b,
			  sizeof(b));
		format_bw(&e[i].bw, IPC_BW_VALID_OCCUPANCY, e[i].bw.llc_occupancy_bytes, false, c,
			  sizeof(c));
		if (e[i].rmid)
			snprintf(rm, sizeof(rm), "%" PRIu32, e[i].rmid);
		else
			snprintf(rm, sizeof(rm), "-");
		printf("%-7s %7" PRIu32 " %-11s %5s %11s %11s %10s %6.2f  %s%s%s%s\n",
		       e[i].kind == IPC_BW_UNIT_PROCESS ? "process" : "cgroup",
		       e[i].kind == IPC_BW_UNIT_PROCESS ? e[i].pid : e[i].cgroup_id,
		       bw_state_name(e[i].bw.state), rm, a, b, c,
		       e[i].readback_cost_permyriad / 10000.0, esc(e[i].name),
		       e[i].reason[0] ? " (" : "", esc(e[i].reason), e[i].reason[0] ? ")" : "");
	}
	free(e);
	return 0;
}

static int cmd_show(int argc, char **argv)
{
	static uint8_t buf[IPC_MSG_MAX];
	const struct ipc_ctl_show_reply *s;
	struct ipc_ctl_pid q = {};
	struct ipc_msg msg;
	char a[32], b[16], c[16], d[16], e[16];
	int r;

	r = cmd_operands(argc, argv, 1, "show PID");
	if (r < 0)
		return r;
	r = parse_pid(argv[r], &q.pid);
	if (r < 0)
		return r;
	r = call(IPC_CTL_SHOW, &q, sizeof(q), IPC_CTL_SHOW_REPLY, buf, sizeof(buf), &msg);
	if (r < 0)
		return r;
	s = msg.body;
	if (arg_json) {
		struct json_object *o =
			proc_json(&s->proc, s->cgroup.path[0] ? s->cgroup.path : NULL);

		json_object_object_add(o, "cgroup_detail",
				       s->cgroup.path[0] ? cgroup_json(&s->cgroup) : NULL);
		json_add_u64(o, "faults_seen", s->faults_seen);
		json_add_u64(o, "write_faults_seen", s->write_faults_seen);
		json_add_u64(o, "prot_faults_seen", s->prot_faults_seen);
		json_object_object_add(o, "time_to_limit_usec",
				       s->time_to_limit_usec == UINT64_MAX ?
					       NULL :
					       json_object_new_uint64(s->time_to_limit_usec));
		json_object_object_add(o, "seconds_to_limit", seconds_json(s->time_to_limit_usec));
		json_object_object_add(o, "bandwidth", bw_json(&s->proc_bandwidth));
		json_object_object_add(o, "cgroup_bandwidth", bw_json(&s->cgroup_bandwidth));
		json_object_object_add(o, "arena", s->proc.enrolled ? arena_json(&s->arena) : NULL);
		return print_json(o);
	}
	format_bytes(s->proc.rss_anon_bytes + s->proc.rss_file_bytes + s->proc.rss_shmem_bytes, a,
		     sizeof(a));
	format_bytes(s->proc.rss_anon_bytes, b, sizeof(b));
	format_bytes(s->proc.rss_file_bytes, c, sizeof(c));
	format_bytes(s->proc.rss_shmem_bytes, d, sizeof(d));
	format_bytes(s->proc.swap_bytes, e, sizeof(e));
	printf("pid:          %" PRIu32 " (%s), parent %" PRIu32 "%s\n", s->proc.pid,
	       esc(s->proc.comm), s->proc.ppid, s->proc.enrolled ? ", enrolled" : "");
	printf("command:      %s%s\n", s->proc.cmdline[0] ? esc(s->proc.cmdline) : "-",
	       s->proc.cmdline_bytes >= IPC_CMDLINE_MAX ? "..." : "");
	printf("user:         %s\n",
	       s->proc.uid == IPC_UID_UNKNOWN ? "?" : esc(user_name(s->proc.uid)));
	printf("rss:          %s (anon %s, file %s, shmem %s), swap %s\n", a, b, c, d, e);
	format_rate(s->proc.growth_bytes_per_sec, a, sizeof(a));
	printf("growth:       %s, %s, leak confidence %.2f%s\n", a,
	       growth_pattern_to_string(s->proc.pattern),
	       s->proc.leak_confidence_permyriad / 10000.0,
	       s->proc.growth_detected ? " (growth detected)" : "");
	printf("faults:       %" PRIu64 " minor, %" PRIu64 " major\n", s->proc.minor_faults,
	       s->proc.major_faults);
	if (s->faults_seen)
		printf("since traced: %" PRIu64 " faults (%" PRIu64 " write, %" PRIu64
		       " on present pages)\n",
		       s->faults_seen, s->write_faults_seen, s->prot_faults_seen);
	if (s->proc.enrolled) {
		format_bytes(s->arena.logical_bytes, a, sizeof(a));
		format_bytes(s->arena.resident_bytes, b, sizeof(b));
		format_bytes(s->arena.compressed_bytes, c, sizeof(c));
		printf("arena:        %s logical, %s resident (%s compressed), %" PRIu64
		       " readbacks, %" PRIu64 " errors\n",
		       a, b, c, s->arena.readbacks, s->arena.errors);
	}
	if (s->cgroup.path[0]) {
		format_bytes(s->cgroup.usage_bytes, a, sizeof(a));
		format_bytes(s->cgroup.limit_bytes, b, sizeof(b));
		printf("cgroup:       %s (v%" PRIu32 ")\n", esc(s->cgroup.path),
		       s->cgroup.hierarchy);
		printf("usage/limit:  %s / %s\n", a, b);
		if (s->cgroup.flags & IPC_CGROUP_HAS_KERNEL) {
			format_kernel(&s->cgroup, a, sizeof(a));
			if (s->cgroup.flags & IPC_CGROUP_HAS_KERNEL_SOCK)
				format_bytes(s->cgroup.kernel_sock_bytes, b, sizeof(b));
			else
				snprintf(b, sizeof(b), "-");
			printf("kernel:       %s of the usage (sockets %s)\n", a, b);
		}
		if (s->time_to_limit_usec != UINT64_MAX) {
			format_duration(s->time_to_limit_usec, a, sizeof(a));
			printf("limit in:     %s at the current growth\n", a);
		}
	} else {
		printf("cgroup:       unknown\n");
	}
	for (int k = 0; k < 2; k++) {
		const struct ipc_bandwidth_figures *f = k ? &s->cgroup_bandwidth :
							    &s->proc_bandwidth;
		char t[24], l[24], o[24];

		if (f->state == IPC_BW_NONE)
			continue;
		format_bw(f, IPC_BW_VALID_TOTAL, f->mbm_total_bytes_per_sec, true, t, sizeof(t));
		format_bw(f, IPC_BW_VALID_LOCAL, f->mbm_local_bytes_per_sec, true, l, sizeof(l));
		format_bw(f, IPC_BW_VALID_OCCUPANCY, f->llc_occupancy_bytes, false, o, sizeof(o));
		printf("%-13s %s: mbm_total %s, mbm_local %s, llc_occupancy %s\n",
		       k ? "bandwidth/cg:" : "bandwidth:", bw_state_name(f->state), t, l, o);
	}
	return 0;
}

/* ---- memctl profile ---- */

static volatile sig_atomic_t profile_signalled;

static void profile_signal(int sig)
{
	profile_signalled = sig;
}

static const char *ring_end_name(uint32_t reason)
{
	static const char *const names[] = {
		[IPC_RING_END_NONE] = "running",	 [IPC_RING_END_STOPPED] = "stopped",
		[IPC_RING_END_DURATION] = "duration",	 [IPC_RING_END_EXITED] = "exited",
		[IPC_RING_END_CLIENT] = "client-exited", [IPC_RING_END_SHUTDOWN] = "shutdown",
	};
	return reason < ELEMENTSOF(names) ? names[reason] : "unknown";
}

/* The seed's profile format: time minor major utilization, one line a sample
 * (deltas over the interval; utilization 1.0 = one CPU), and the pid. */
static void profile_print(FILE *f, const struct ipc_ring_sample *s)
{
	double t = (double)s->time_nsec / 1e9;

	if (!arg_json) {
		fprintf(f, "%.6f %" PRIu64 " %" PRIu64 " %.4f %" PRIu32 "\n", t, s->minor_faults,
			s->major_faults, s->util_permyriad / 10000.0, s->pid);
		return;
	}
	fprintf(f,
		"{\"time\":%.6f,\"time_nsec\":%" PRIu64 ",\"pid\":%" PRIu32
		",\"minor_faults\":%" PRIu64 ",\"major_faults\":%" PRIu64
		",\"minor_total\":%" PRIu64 ",\"major_total\":%" PRIu64
		",\"util\":%.4f,\"cpu_nsec\":%" PRIu64 ",\"interval_nsec\":%" PRIu64
		",\"rss_bytes\":%" PRIu64 ",\"swap_bytes\":%" PRIu64 ",\"last\":%s}\n",
		t, s->time_nsec, s->pid, s->minor_faults, s->major_faults, s->minor_total,
		s->major_total, s->util_permyriad / 10000.0, s->cpu_nsec, s->interval_nsec,
		s->rss_bytes, s->swap_bytes, s->flags & IPC_SAMPLE_LAST ? "true" : "false");
}

static int profile_stop(uint64_t id)
{
	static uint8_t buf[IPC_MSG_MAX];
	struct ipc_ctl_profile_id q = { .profile_id = id };
	struct ipc_msg msg;

	return call(IPC_CTL_PROFILE_STOP, &q, sizeof(q), IPC_CTL_OK, buf, sizeof(buf), &msg);
}

/* Start (or attach to) a profile: one control round trip that brings the
 * ring's fd. */
static int profile_open(uint16_t type, const void *body, size_t len,
			struct ipc_ctl_profile_reply *ret, int *ret_fd)
{
	static uint8_t buf[IPC_MSG_MAX];
	_cleanup_close_ int fd = connect_daemon();
	struct ipc_msg msg;
	int r, rfd = -1;

	if (fd < 0)
		return fd;
	r = ipc_control_call_fd(fd, type, body, len, buf, sizeof(buf), &msg, &rfd);
	if (r == -ETIMEDOUT)
		return log_error_errno(r, "memctld did not answer within %u ms", CALL_TIMEOUT_MS);
	if (r < 0)
		return log_error_errno(r, "Failed to talk to memctld: %m");
	if (msg.hdr.type == IPC_ERROR) {
		const struct ipc_error *e = msg.body;

		if (rfd >= 0)
			close(rfd);
		return log_error_errno(e->code, "profile: %s", esc(e->message));
	}
	if (msg.hdr.type != IPC_CTL_PROFILE_REPLY || rfd < 0) {
		if (rfd >= 0)
			close(rfd);
		return log_error_errno(-EPROTO, "Unexpected reply %s from memctld",
				       ipc_type_to_string(msg.hdr.type) ?: "?");
	}
	memcpy(ret, msg.body, sizeof(*ret));
	*ret_fd = rfd;
	return 0;
}

static int parse_profile_seconds(const char *s, uint64_t *ret_usec)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) ||
	    v * USEC_PER_SEC > (double)IPC_PROFILE_DURATION_MAX_USEC)
		return log_error_errno(-EINVAL, "Invalid --duration: %s (seconds, at most 86400)",
				       esc(s));
	*ret_usec = (uint64_t)(v * USEC_PER_SEC);
	return 0;
}

static int cmd_profile(int argc, char **argv)
{
	static const struct option opts[] = { { "hz", required_argument, NULL, 'H' },
					      { "duration", required_argument, NULL, 'd' },
					      { "output", required_argument, NULL, 'o' },
					      { "attach", required_argument, NULL, 'a' },
					      { "json", no_argument, NULL, 'j' },
					      {} };
	const char *usage = "profile PID... [--hz N] [--duration SEC] [--output FILE] [--json] "
			    "| profile --attach ID";
	struct ipc_ctl_profile req = { .hz = IPC_PROFILE_HZ_DEFAULT };
	struct ipc_ctl_profile_reply rep;
	struct ipc_ring_reader rd;
	struct ipc_ring_sample s;
	struct sigaction sa = { .sa_handler = profile_signal }, old[3];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	const char *output = NULL;
	uint64_t attach = 0, samples = 0, quiet_usec = 0, v;
	const struct ipc_ring_header *h;
	bool stop_sent = false;
	uint32_t why = 0;
	FILE *out = stdout;
	void *map;
	int c, r, fd;

	while ((c = cmd_getopt(argc, argv, "", opts)) >= 0) {
		switch (c) {
		case 'H':
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > IPC_PROFILE_HZ_MAX)
				return log_error_errno(-EINVAL, "Invalid --hz: %s (1 .. %u)",
						       esc(optarg), IPC_PROFILE_HZ_MAX);
			req.hz = (uint32_t)v;
			break;
		case 'd':
			r = parse_profile_seconds(optarg, &req.duration_usec);
			if (r < 0)
				return r;
			break;
		case 'o':
			output = optarg;
			break;
		case 'a':
			if (parse_u64(optarg, &attach) < 0 || attach == 0)
				return log_error_errno(-EINVAL,
						       "Invalid --attach: %s (a profile id)",
						       esc(optarg));
			break;
		}
	}
	if (c < -1)
		return c;
	if (attach ? argc > optind : argc == optind)
		return log_error_errno(-EINVAL, "profile: %s (usage: memctl %s)",
				       attach ? "--attach takes no PID" : "missing PID", usage);
	if (argc - optind > IPC_PROFILE_PIDS_MAX)
		return log_error_errno(-E2BIG, "profile: at most %u processes",
				       IPC_PROFILE_PIDS_MAX);
	for (int i = optind; i < argc; i++) {
		r = parse_pid(argv[i], &req.pids[req.n_pids]);
		if (r < 0)
			return r;
		req.n_pids++;
	}
	if (output) {
		out = fopen(output, "we");
		if (!out)
			return log_error_errno(negative_errno(), "Cannot open %s: %m", esc(output));
	}
	if (attach) {
		struct ipc_ctl_profile_id q = { .profile_id = attach };

		r = profile_open(IPC_CTL_PROFILE_ATTACH, &q, sizeof(q), &rep, &fd);
	} else {
		r = profile_open(IPC_CTL_PROFILE, &req, sizeof(req), &rep, &fd);
	}
	if (r < 0)
		goto done;
	map = mmap(NULL, rep.ring_bytes, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		r = log_error_errno(negative_errno(), "Cannot map the profile's ring: %m");
		goto done;
	}
	r = ipc_ring_reader_init(&rd, map, rep.ring_bytes);
	if (r < 0) {
		log_error_errno(r, "The profile's ring is not one this memctl reads: %m");
		goto unmap;
	}
	h = map;
	fprintf(stderr,
		"memctl: profile %" PRIu64 ": %" PRIu32 " processes at %" PRIu32
		" Hz (another client: memctl profile --attach %" PRIu64 ")\n",
		rep.profile_id, rep.n_pids, rep.hz, rep.profile_id);
	if (!arg_json)
		fprintf(out, "# time minor major util pid\n");
	/* no SA_RESTART: the sleep below wakes at once */
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigaction(sigs[i], &sa, &old[i]);

	for (;;) {
		bool ended = ipc_ring_state(&rd, &why) == IPC_RING_ENDED;
		uint64_t before = samples;
		struct timespec nap = { 0, (long)(NSEC_PER_SEC / rep.hz / 2) };

		/* ENDED read first: every sample written before it is readable now */
		while (ipc_ring_read(&rd, &s) == 1) {
			profile_print(out, &s);
			samples++;
		}
		fflush(out);
		if (ended)
			break;
		if (profile_signalled) {
			if (attach)
				break; /* a second client leaves the profile running */
			if (!stop_sent) {
				stop_sent = true;
				/* unregister; the ring then says ENDED and we drain it */
				if (profile_stop(rep.profile_id) < 0)
					break;
				continue;
			}
		}
		/* a daemon that went away leaves the ring RUNNING forever: check it
		 * is still there after 2 s without a sample */
		if (samples == before) {
			quiet_usec += (uint64_t)nap.tv_nsec / NSEC_PER_USEC;
			if (quiet_usec >= 2 * USEC_PER_SEC) {
				int cfd = connect_daemon_quiet();

				quiet_usec = 0;
				if (cfd < 0) {
					r = log_error_errno(cfd, "memctld went away mid-profile");
					break;
				}
				close(cfd);
			}
		} else {
			quiet_usec = 0;
		}
		nanosleep(&nap, NULL);
	}
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
	if (r >= 0) {
		if (arg_json)
			fprintf(out,
				"{\"event\":\"end\",\"profile_id\":%" PRIu64
				",\"reason\":\"%s\",\"samples\":%" PRIu64 ",\"lost\":%" PRIu64
				",\"ticks\":%" PRIu64 ",\"missed_ticks\":%" PRIu64
				",\"max_lateness_usec\":%" PRIu64 "}\n",
				rep.profile_id,
				attach && profile_signalled ? "detached" : ring_end_name(why),
				samples, rd.lost, h->ticks, h->missed_ticks,
				h->max_lateness_nsec / NSEC_PER_USEC);
		fprintf(stderr,
			"memctl: profile %" PRIu64 " %s: %" PRIu64 " samples read, %" PRIu64
			" lost; %" PRIu64 " ticks, %" PRIu64 " missed, max lateness %" PRIu64
			" us\n",
			rep.profile_id,
			attach && profile_signalled ? "detached" : ring_end_name(why), samples,
			rd.lost, h->ticks, h->missed_ticks, h->max_lateness_nsec / NSEC_PER_USEC);
		r = 0;
	}
unmap:
	munmap(map, rep.ring_bytes);
done:
	if (out != stdout && fclose(out) != 0 && r >= 0)
		r = log_error_errno(negative_errno(), "Cannot write %s: %m", esc(output));
	return r;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "ps", cmd_ps },	    { "show", cmd_show },
	{ "cgroups", cmd_cgroups }, { "status", cmd_status },
	{ "events", cmd_events },   { "enroll", cmd_enroll },
	{ "unenroll", cmd_enroll }, { "list", cmd_list },
	{ "top", cmd_top },	    { "bandwidth", cmd_bandwidth },
	{ "record", cmd_record },   { "metrics", cmd_metrics },
	{ "profile", cmd_profile },
};

/* --json or -j among the arguments, before any "--": known before the options
 * are parsed, so even an error about them comes out as JSON. */
static bool wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			return true;
	}
	return false;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = { { "socket-dir", required_argument, NULL, 's' },
						 { "json", no_argument, NULL, 'j' },
						 { "version", no_argument, NULL, 'V' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	const char *name;
	int c, r = -EINVAL;

	log_set_prefix("memctl");
	log_set_max_level(LOG_NOTICE);
	arg_json = wants_json(argc, argv);
	/* options before the command; "+" stops at the command, whose own
	 * options (and --json) its parser takes */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:s:jVh", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			arg_socket_dir = optarg;
			break;
		case 'j':
			arg_json = true;
			break;
		case 'V':
			printf("memctl %s\n", MEMCTL_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			help();
			return EXIT_SUCCESS;
		case ':':
			log_error_errno(-EINVAL,
					"option %s needs an argument. Try 'memctl --help'.",
					esc(argv[optind - 1]));
			goto fail;
		default:
			if (optopt)
				log_error_errno(-EINVAL, "unknown option -%c. Try 'memctl --help'.",
						optopt);
			else
				log_error_errno(-EINVAL, "unknown option %s. Try 'memctl --help'.",
						esc(argv[optind - 1]));
			goto fail;
		}
	}
	if (optind >= argc) {
		if (!arg_json) {
			help();
			return EXIT_FAILURE;
		}
		log_error_errno(-EINVAL, "no command given. Try 'memctl --help'.");
		goto fail;
	}
	name = argv[optind];
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (strcmp(name, commands[i].name) == 0) {
			int cmd_argc = argc - optind;
			char **cmd_argv = argv + optind;

			optind = 0; /* a fresh getopt for the command's own arguments */
			r = commands[i].fn(cmd_argc, cmd_argv);
			if (r < 0)
				goto fail;
			return EXIT_SUCCESS;
		}
	log_error_errno(-EINVAL, "unknown command \"%s\". Try 'memctl --help'.", esc(name));
fail:
	if (arg_json)
		print_json_error(r);
	return EXIT_FAILURE;
}
