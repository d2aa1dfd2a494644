// SPDX-License-Identifier: MIT
/* daemon/cli-term.c: raw keys, alternate screen and window size for memctl
 * top, with the terminal restored on every way out. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "daemon/cli-term.h"

/* xterm's alternate screen with the cursor saved (1049), cursor hidden (25):
 * what top and htop use, so the shell's screen comes back as it was */
#define ALT_SCREEN_ON "\033[?1049h\033[?25l"
#define ALT_SCREEN_OFF "\033[?25h\033[?1049l"

int cli_term_enter(struct cli_term *t, int fd)
{
	struct termios raw;

	t->fd = fd;
	t->entered = false;
	if (!isatty(fd) || !isatty(STDOUT_FILENO))
		return -ENOTTY;
	if (tcgetattr(fd, &t->saved) < 0)
		return -errno;
	raw = t->saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSAFLUSH, &raw) < 0)
		return -errno;
	t->entered = true;
	fputs(ALT_SCREEN_ON, stdout);
	fflush(stdout);
	return 0;
}

void cli_term_leave(struct cli_term *t)
{
	if (!t->entered)
		return;
	fputs(ALT_SCREEN_OFF, stdout);
	fflush(stdout);
	(void)tcsetattr(t->fd, TCSAFLUSH, &t->saved);
	t->entered = false;
}

void cli_term_size(unsigned *ret_rows, unsigned *ret_cols)
{
	struct winsize ws = {};

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0) {
		ws.ws_row = 24;
		ws.ws_col = 80;
	}
	*ret_rows = ws.ws_row;
	*ret_cols = ws.ws_col;
}

int cli_term_key(struct cli_term *t, int timeout_ms)
{
	struct pollfd p = { .fd = t->fd, .events = POLLIN };
	unsigned char c;
	ssize_t n;
	int r;

	r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	n = read(t->fd, &c, 1);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -EIO;
	return c ? c : 0;
}
