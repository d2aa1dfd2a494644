/* SPDX-License-Identifier: MIT */
/* daemon/cli-term.h: the terminal for memctl top: raw keys, the alternate
 * screen, the window size, and getting all of it back on the way out. */
#pragma once

#include <stdbool.h>
#include <termios.h>

struct cli_term {
	int fd; /* the terminal (stdin) */
	struct termios saved;
	bool entered;
};

/*
 * Take the terminal on fd (stdin; output goes to stdout): keys one at a time
 * without echo (ISIG stays, so Ctrl-C is still SIGINT), the alternate screen,
 * the cursor hidden. 0, or -ENOTTY when fd or stdout is not a terminal, or
 * -errno. cli_term_leave() undoes it; call it on every way out.
 */
int cli_term_enter(struct cli_term *t, int fd);
void cli_term_leave(struct cli_term *t);

/* Rows and columns of stdout's terminal; 24x80 when it cannot say. */
void cli_term_size(unsigned *ret_rows, unsigned *ret_cols);

/*
 * Wait up to timeout_ms for a key. Returns the key (a byte > 0), 0 when the
 * time passed, -EINTR when a signal came (SIGWINCH, SIGINT: the caller looks
 * at its flags), -EIO when the terminal went away (end of file).
 */
int cli_term_key(struct cli_term *t, int timeout_ms);
