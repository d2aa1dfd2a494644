/* SPDX-License-Identifier: MIT */
/* daemon/cli-text.h: making untrusted strings (comms, command lines, workload
 * names, cgroup paths) safe to print on a terminal and in JSON, for memctl. */
#pragma once

#include <stddef.h>

/*
 * Copy s into buf (size bytes, always NUL-terminated, cut at a character
 * boundary when it does not fit) with every byte that could steer a terminal
 * or forge a line written as a visible escape:
 *   "\n" "\r" "\t"             for newline, carriage return, tab
 *   "\xHH" per byte            for the other C0 controls (ESC is "\x1b"), DEL,
 *                              the C1 controls U+0080..U+009F (CSI is U+009B),
 *                              the bidirectional overrides and isolates
 *                              (U+202A..U+202E, U+2066..U+2069), and every
 *                              byte that is not part of valid UTF-8
 *                              (overlong forms, surrogates, > U+10FFFF,
 *                              truncated sequences)
 * Everything else, printable ASCII and valid UTF-8, is copied as it is,
 * backslashes too (cgroup paths hold systemd's "\x2d" escapes literally).
 * Returns buf.
 */
char *cli_escape(const char *s, char *buf, size_t size);

/*
 * The same for a JSON document already serialised (json-c escapes C0 controls
 * but copies DEL, C1 controls and invalid UTF-8 as they are, which is neither
 * valid JSON nor safe on a terminal): DEL, C1 controls and the bidirectional
 * controls become "\u00XX"/"\u20XX" escapes (the same characters, escaped),
 * a byte that is not valid UTF-8 becomes "\ufffd". Valid JSON in, valid JSON
 * out, with the same meaning except for invalid bytes, which JSON cannot hold.
 * Returns a malloc'd string or NULL (out of memory).
 */
char *cli_json_sanitize(const char *json);

/* Bytes of the valid UTF-8 character at s (1..4), or 0 if s does not start
 * with one (NUL counts as invalid here). *ret_cp gets the code point. */
size_t cli_utf8_char(const unsigned char *s, unsigned *ret_cp);

/* Cut s (valid UTF-8, as cli_escape() writes it) in place after cols
 * characters, each counted as one column (wide characters err on the short
 * side); returns s. */
char *cli_truncate(char *s, size_t cols);
