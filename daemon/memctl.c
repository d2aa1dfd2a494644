// SPDX-License-Identifier: MIT
/* daemon/memctl.c: the memctl command-line client, a thin client of ipc/ over
 * memctld's control socket. Human output by default, --json for scripts. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/time-util.h"
#include "daemon/log.h"
#include "ipc/ipc.h"

#define CALL_TIMEOUT_MS 5000

static const char *arg_socket_dir = IPC_DEFAULT_SOCKET_DIR;
static bool arg_json;

static void help(void)
{
	printf("Usage: memctl [OPTIONS] COMMAND [ARGS]\n"
	       "\n"
	       "Query and steer memctld, the memory policy controller.\n"
	       "\n"
	       "Commands:\n"
	       "  status               daemon version, uptime, BPF programs, event counts\n"
	       "  events [--since ID]  recent daemon events (enrollments, growth, compression)\n"
	       "  enroll PID           enroll a process (root or the process's owner)\n"
	       "  unenroll PID         unenroll a process\n"
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

static int connect_daemon(void)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", arg_socket_dir, IPC_CONTROL_SOCKET_NAME);
	fd = ipc_control_connect(path, CALL_TIMEOUT_MS);
	if (fd == -ENOENT)
		return log_error_errno(fd, "memctld is not running: no socket at %s", path);
	if (fd == -ECONNREFUSED)
		return log_error_errno(fd, "memctld is not running: nothing listens on %s", path);
	if (fd < 0)
		return log_error_errno(fd, "Failed to connect to memctld at %s: %m", path);
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

		return log_error_errno(e->code, "%s", e->message);
	}
	if (ret->hdr.type != want)
		return log_error_errno(-EPROTO, "Unexpected reply %s from memctld",
				       ipc_type_to_string(ret->hdr.type) ?: "?");
	return 0;
}

static int print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
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
		json_object_object_add(o, "events", ev);
		json_add_u64(o, "resyncs", s->resyncs);
		json_add_u64(o, "processes_tracked", s->processes_tracked);
		json_add_u64(o, "cgroups_tracked", s->cgroups_tracked);
		json_add_u64(o, "enrolled", s->enrolled);
		json_add_u64(o, "datagrams_rejected", s->datagrams_rejected);
		return print_json(o);
	}
	format_duration(s->uptime_usec, up, sizeof(up));
	printf("memctld %s (pid %" PRIu64 "), up %s%s\n", s->version, s->pid, up,
	       s->dry_run ? ", dry run" : "");
	printf("BPF:      %s\n", s->bpf_status);
	printf("events:   exec %" PRIu64 ", fork %" PRIu64 ", exit %" PRIu64 ", rss %" PRIu64
	       ", lost %" PRIu64 "\n",
	       s->events_exec, s->events_fork, s->events_exit, s->events_rss, s->events_lost);
	printf("tracking: %" PRIu64 " processes, %" PRIu64 " cgroups, %" PRIu64 " enrolled\n",
	       s->processes_tracked, s->cgroups_tracked, s->enrolled);
	printf("rejected: %" PRIu64 " datagrams\n", s->datagrams_rejected);
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

static int cmd_events(int argc, char **argv)
{
	static uint8_t buf[IPC_MSG_MAX];
	struct ipc_ctl_events q = {};
	struct json_object *arr = NULL;
	struct ipc_msg msg;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &q.since_id) < 0)
				return log_error_errno(-EINVAL, "Invalid --since: %s", argv[i]);
		} else {
			return log_error_errno(-EINVAL, "events: unexpected argument %s", argv[i]);
		}
	}
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
			if (arr) {
				struct json_object *o = json_object_new_object();

				json_add_u64(o, "id", e[i].id);
				json_add_u64(o, "time_usec", e[i].time_usec);
				json_object_object_add(
					o, "kind",
					json_object_new_string(event_kind_name(e[i].kind)));
				json_add_u64(o, "pid", e[i].pid);
				json_object_object_add(o, "value",
						       json_object_new_int64(e[i].value));
				json_object_object_add(o, "text",
						       json_object_new_string(e[i].text));
				json_object_array_add(arr, o);
			} else {
				time_t t = (time_t)(e[i].time_usec / USEC_PER_SEC);
				char ts[32];
				struct tm tm;

				strftime(ts, sizeof(ts), "%F %T", localtime_r(&t, &tm));
				printf("%6" PRIu64 "  %s  %-16s %7" PRIu32 "  %s\n", e[i].id, ts,
				       event_kind_name(e[i].kind), e[i].pid, e[i].text);
			}
		}
		if (msg.n_entries == 0 || rep->next_id <= q.since_id)
			break;
		q.since_id = rep->next_id;
	}
	if (arr)
		return print_json(arr);
	return 0;
}

static int parse_pid(const char *s, uint32_t *ret)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v == 0 || v > INT32_MAX)
		return log_error_errno(-EINVAL, "Invalid PID: %s", s ?: "(none)");
	*ret = (uint32_t)v;
	return 0;
}

static int cmd_enroll(int argc, char **argv)
{
	static uint8_t buf[IPC_MSG_MAX];
	bool enroll = strcmp(argv[0], "enroll") == 0;
	struct ipc_ctl_pid p = {};
	struct ipc_msg msg;
	int r;

	if (argc != 2)
		return log_error_errno(-EINVAL, "Usage: memctl %s PID", argv[0]);
	r = parse_pid(argv[1], &p.pid);
	if (r < 0)
		return r;
	r = call(enroll ? IPC_CTL_ENROLL : IPC_CTL_UNENROLL, &p, sizeof(p), IPC_CTL_OK, buf,
		 sizeof(buf), &msg);
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

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "status", cmd_status },
	{ "events", cmd_events },
	{ "enroll", cmd_enroll },
	{ "unenroll", cmd_enroll },
};

int main(int argc, char *argv[])
{
	static const struct option options[] = { { "socket-dir", required_argument, NULL, 's' },
						 { "json", no_argument, NULL, 'j' },
						 { "version", no_argument, NULL, 'V' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	int c;

	log_set_prefix("memctl");
	log_set_max_level(LOG_NOTICE);
	/* options may come before or after the command; "+" keeps getopt from
	 * permuting command arguments like negative numbers */
	while ((c = getopt_long(argc, argv, "+s:jVh", options, NULL)) >= 0) {
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
		default:
			fprintf(stderr, "Try 'memctl --help'.\n");
			return EXIT_FAILURE;
		}
	}
	if (optind >= argc) {
		help();
		return EXIT_FAILURE;
	}
	/* a trailing --json after the command is accepted too */
	int n = 0;
	char *args[64];
	for (int i = optind; i < argc && n < (int)ELEMENTSOF(args); i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			arg_json = true;
		else
			args[n++] = argv[i];
	}
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (strcmp(args[0], commands[i].name) == 0)
			return commands[i].fn(n, args) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	log_error("Unknown command \"%s\". Try 'memctl --help'.", args[0]);
	return EXIT_FAILURE;
}
