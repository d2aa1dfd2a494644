// SPDX-License-Identifier: MIT
/* daemon/memctld.c: memctld's entry point: options, privilege check, then the
 * manager's event loop. */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "ipc/ipc.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static void help(void)
{
	printf("Usage: memctld [OPTIONS]\n"
	       "\n"
	       "cgroup-aware memory policy controller daemon: watches processes and memory\n"
	       "cgroups through eBPF, cgroup files and PSI, and drives enrolled workloads'\n"
	       "compression.\n"
	       "\n"
	       "  -c, --config=PATH       configuration file (default /etc/memctld.conf;\n"
	       "                          when given, it must exist)\n"
	       "  -s, --socket-dir=DIR    directory for memctld.sock and control.sock\n"
	       "                          (default " IPC_DEFAULT_SOCKET_DIR ")\n"
	       "  -l, --log-level=LEVEL   err, warning, notice, info or debug\n"
	       "  -n, --dry-run           decide and log, never act\n"
	       "      --csv=PATH          append a row per decision and ack to PATH (CSV)\n"
	       "      --check-config      validate the configuration, print it, and exit\n"
	       "  -V, --version           print the version and exit\n"
	       "  -h, --help              print this help and exit\n"
	       "\n"
	       "Signals: SIGTERM/SIGINT stop, SIGHUP reloads the configuration.\n"
	       "See memctld(8) and memctld.conf(5).\n");
}

/* Loading tracing BPF programs needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN
 * on kernels before 5.8). Name what is missing instead of failing later with
 * a bare EPERM from the kernel. */
static int check_capabilities(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};
	static const struct {
		int cap;
		const char *name;
	} need[] = { { CAP_BPF, "CAP_BPF" }, { CAP_PERFMON, "CAP_PERFMON" } };

	if (syscall(SYS_capget, &h, d) < 0)
		return log_error_errno(negative_errno(), "capget failed: %m");
	for (size_t i = 0; i < ELEMENTSOF(need); i++) {
		int c = need[i].cap;
		bool have = d[c / 32].effective & (1U << (c % 32));
		bool admin = d[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32));

		if (!have && !admin) {
			log_error(
				"missing capability %s (needed to load BPF programs); run as root "
				"or grant CAP_BPF and CAP_PERFMON",
				need[i].name);
			return -EPERM;
		}
	}
	return 0;
}

int main(int argc, char *argv[])
{
	enum { ARG_CHECK_CONFIG = 0x100, ARG_CSV };
	static const struct option options[] = { { "config", required_argument, NULL, 'c' },
						 { "socket-dir", required_argument, NULL, 's' },
						 { "log-level", required_argument, NULL, 'l' },
						 { "dry-run", no_argument, NULL, 'n' },
						 { "check-config", no_argument, NULL,
						   ARG_CHECK_CONFIG },
						 { "csv", required_argument, NULL, ARG_CSV },
						 { "version", no_argument, NULL, 'V' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	struct manager_options o = { .log_level = -1 };
	bool check_config = false;
	struct manager *m = NULL;
	int c, r;

	log_set_prefix("memctld");
	while ((c = getopt_long(argc, argv, "c:s:l:nVh", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			o.config_path = optarg;
			break;
		case 's':
			if (optarg[0] != '/') {
				log_error("--socket-dir must be an absolute path: %s", optarg);
				return EXIT_FAILURE;
			}
			o.socket_dir = optarg;
			break;
		case 'l':
			o.log_level = log_level_from_string(optarg);
			if (o.log_level < 0) {
				log_error(
					"Unknown log level \"%s\" (err, warning, notice, info, debug)",
					optarg);
				return EXIT_FAILURE;
			}
			log_set_max_level(o.log_level);
			break;
		case 'n':
			o.dry_run = true;
			break;
		case ARG_CHECK_CONFIG:
			check_config = true;
			break;
		case ARG_CSV:
			o.csv_path = optarg;
			break;
		case 'V':
			printf("memctld %s\n", MEMCTL_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			help();
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try 'memctld --help'.\n");
			return EXIT_FAILURE;
		}
	}
	if (optind < argc) {
		log_error("Unexpected argument: %s", argv[optind]);
		return EXIT_FAILURE;
	}

	if (check_config) {
		struct memctld_config cfg;

		r = manager_config_load(o.config_path ?: "/etc/memctld.conf", o.config_path != NULL,
					&cfg);
		if (r < 0)
			return EXIT_FAILURE;
		config_dump(&cfg, stdout);
		return EXIT_SUCCESS;
	}

	if (check_capabilities() < 0)
		return EXIT_FAILURE;

	r = manager_new(&o, &m);
	if (r < 0)
		return EXIT_FAILURE;
	r = manager_run(m);
	manager_free(m);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
