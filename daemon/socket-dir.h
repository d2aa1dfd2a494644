/* SPDX-License-Identifier: MIT */
/* daemon/socket-dir.h: open memctld's socket directory, creating it if missing, and
 * refuse one another user could use to plant or redirect sockets. */
#pragma once

#include <stddef.h>

/*
 * Open path (absolute) as the directory memctld binds its sockets in: created 0755 if
 * missing; else it must be a real directory (a symlink is refused, never followed),
 * owned by memctld's effective uid, and writable by neither group nor others (what
 * systemd's RuntimeDirectory= makes). Returns an O_DIRECTORY fd (CLOEXEC) to bind
 * through (ipc_*_listen_at), or -errno with why (NUL-terminated, why_size bytes)
 * saying what is wrong: -ELOOP a symlink, -ENOTDIR not a directory, -EPERM owner or
 * mode.
 */
int socket_dir_open(const char *path, char *why, size_t why_size);
