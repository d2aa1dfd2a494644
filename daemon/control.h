/* SPDX-License-Identifier: MIT */
/* daemon/control.h: the control socket (SOCK_SEQPACKET) that memctl talks to.
 * Read-only queries for everyone; enroll/unenroll for root or the PID's owner. */
#pragma once

struct manager;
struct control_server;

/* Serve on fd (a listening SOCK_SEQPACKET socket, ownership taken). */
int control_server_new(struct manager *m, int fd, struct control_server **ret);
struct control_server *control_server_free(struct control_server *s);
