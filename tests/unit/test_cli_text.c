// SPDX-License-Identifier: MIT
/* tests/unit/test_cli_text.c: memctl's escaping of untrusted strings: terminal
 * controls, forged lines, invalid UTF-8, cuts at character boundaries, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/macro.h"
#include "daemon/cli-text.h"

static void test_cli_escape_table(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "", "" },
		{ "bash", "bash" },
		{ "a b/c.d-e_f", "a b/c.d-e_f" },
		{ "evil\nroot 1 0 fake", "evil\\nroot 1 0 fake" },
		{ "\x1b]0;owned\x07", "\\x1b]0;owned\\x07" }, /* OSC: terminal title */
		{ "\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H" }, /* clear screen, home */
		{ "a\rb\tc", "a\\rb\\tc" },
		{ "\x7f", "\\x7f" },
		{ "\xc2\x9b"
		  "31m",
		  "\\xc2\\x9b31m" }, /* U+009B: an 8-bit CSI */
		{ "x\xe2\x80\xaey", "x\\xe2\\x80\\xaey" }, /* U+202E right-to-left override */
		{ "\xe2\x81\xa6", "\\xe2\\x81\\xa6" }, /* U+2066 isolate */
		{ "caf\xc3\xa9", "caf\xc3\xa9" }, /* é: valid UTF-8 stays */
		{ "\xe6\x97\xa5\xf0\x9f\x98\x80", "\xe6\x97\xa5\xf0\x9f\x98\x80" }, /* 日😀 */
		{ "\xff", "\\xff" },
		{ "\xc3(", "\\xc3(" }, /* truncated sequence */
		{ "\xc0\xaf", "\\xc0\\xaf" }, /* overlong '/' */
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" }, /* a surrogate */
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" }, /* > U+10FFFF */
		{ "\x80", "\\x80" }, /* a lone continuation byte */
		{ "sd\\x2dfsck", "sd\\x2dfsck" }, /* systemd's escapes kept literally */
	};
	char buf[256];

	for (size_t i = 0; i < ELEMENTSOF(t); i++)
		assert_string_equal(cli_escape(t[i].in, buf, sizeof(buf)), t[i].out);
}

/* What comes out never holds a byte below 0x20 or DEL, whatever goes in. */
static void test_cli_escape_every_byte(void **state)
{
	char in[512], out[4096];

	for (unsigned seed = 1; seed <= 2000; seed++) {
		unsigned x = seed;

		for (size_t i = 0; i < sizeof(in) - 1; i++) {
			x = x * 1103515245 + 12345;
			in[i] = (char)((x >> 16) % 255 + 1);
		}
		in[sizeof(in) - 1] = '\0';
		cli_escape(in, out, sizeof(out));
		for (const unsigned char *p = (const unsigned char *)out; *p; p++)
			assert_true(*p >= 0x20 && *p != 0x7f);
		/* and it is valid UTF-8 throughout */
		for (const unsigned char *p = (const unsigned char *)out; *p;) {
			unsigned cp;
			size_t n = cli_utf8_char(p, &cp);

			assert_true(n > 0);
			p += n;
		}
	}
}

static void test_cli_escape_cuts_at_boundaries(void **state)
{
	char buf[8];

	/* "\x1b" is 4 bytes: it does not fit after "abcd" in 8, and is not cut */
	assert_string_equal(cli_escape("abcd\x1bz", buf, sizeof(buf)), "abcd");
	assert_string_equal(cli_escape("ab\xc3\xa9\xc3\xa9\xc3\xa9", buf, sizeof(buf)),
			    "ab\xc3\xa9\xc3\xa9");
	assert_string_equal(cli_escape("x", buf, 1), "");
}

static void test_cli_truncate(void **state)
{
	char a[] = "h\xc3\xa9llo world", b[] = "short";

	assert_string_equal(cli_truncate(a, 5), "h\xc3\xa9llo");
	assert_string_equal(cli_truncate(b, 10), "short");
	assert_string_equal(cli_truncate(b, 0), "");
}

static void test_cli_json_sanitize(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "{\n  \"a\": \"x\\u001b\\n\"\n}", "{\n  \"a\": \"x\\u001b\\n\"\n}" },
		{ "[\"\x7f\"]", "[\"\\u007f\"]" },
		{ "[\"\xc2\x9b\"]", "[\"\\u009b\"]" },
		{ "[\"\xe2\x80\xae\"]", "[\"\\u202e\"]" },
		{ "[\"\xff\xc3(\"]", "[\"\\ufffd\\ufffd(\"]" },
		{ "[\"caf\xc3\xa9\"]", "[\"caf\xc3\xa9\"]" },
	};

	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		char *s = cli_json_sanitize(t[i].in);

		assert_non_null(s);
		assert_string_equal(s, t[i].out);
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_escape_table),
		cmocka_unit_test(test_cli_escape_every_byte),
		cmocka_unit_test(test_cli_escape_cuts_at_boundaries),
		cmocka_unit_test(test_cli_truncate),
		cmocka_unit_test(test_cli_json_sanitize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
