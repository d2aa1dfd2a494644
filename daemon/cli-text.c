// SPDX-License-Identifier: MIT
/* daemon/cli-text.c: escaping untrusted strings for memctl's text and JSON
 * output: no byte from a comm, command line or workload name may move the
 * cursor, set a terminal title or start a line of its own. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cli-text.h"

size_t cli_utf8_char(const unsigned char *s, unsigned *ret_cp)
{
	unsigned cp, min;
	size_t n;

	if (s[0] == 0)
		return 0;
	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0; /* a continuation byte, or 0xf8..0xff */
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* truncated (a NUL ends the string here too) */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, beyond Unicode, or a surrogate */
	*ret_cp = cp;
	return n;
}

/* Characters a terminal acts on, or that reorder what is shown around them. */
static bool cp_unsafe(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *cli_escape(const char *s, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (size == 0)
		return buf;
	while (*p) {
		char esc[16 + 1];
		unsigned cp = 0;
		size_t n = cli_utf8_char(p, &cp), len;

		if (n && !cp_unsafe(cp)) {
			memcpy(esc, p, n);
			len = n;
		} else if (n == 1 && (cp == '\n' || cp == '\r' || cp == '\t')) {
			esc[0] = '\\';
			esc[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
			len = 2;
		} else {
			/* every byte of an unsafe character, or the one bad byte */
			if (n == 0)
				n = 1;
			len = 0;
			for (size_t i = 0; i < n; i++)
				len += (size_t)snprintf(esc + len, sizeof(esc) - len, "\\x%02x",
							p[i]);
		}
		if (o + len >= size)
			break; /* cut before the character, never inside it */
		memcpy(buf + o, esc, len);
		o += len;
		p += n;
	}
	buf[o] = '\0';
	return buf;
}

char *cli_truncate(char *s, size_t cols)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0;

	while (*p && i < cols) {
		unsigned cp;
		size_t n = cli_utf8_char(p, &cp);

		p += n ? n : 1;
		i++;
	}
	*p = '\0';
	return s;
}

char *cli_json_sanitize(const char *json)
{
	const unsigned char *p = (const unsigned char *)json;
	size_t len = strlen(json), o = 0;
	/* worst case: every byte becomes "\ufffd" (6 bytes) */
	char *out;

	if (len > (SIZE_MAX - 1) / 6)
		return NULL;
	out = malloc(len * 6 + 1);
	if (!out)
		return NULL;
	while (*p) {
		unsigned cp = 0;
		size_t n = cli_utf8_char(p, &cp);

		if (n == 0) {
			memcpy(out + o, "\\ufffd", 6);
			o += 6;
			p++;
		} else if (cp_unsafe(cp) && cp >= 0x7f) {
			/* C0 controls are json-c's: it never leaves one raw */
			o += (size_t)sprintf(out + o, "\\u%04x", cp);
			p += n;
		} else {
			memcpy(out + o, p, n);
			o += n;
			p += n;
		}
	}
	out[o] = '\0';
	return out;
}
