/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_config.c: libFuzzer target for daemon/config.c: the input as a
 * memctld.conf (the INI reader that replaced inih, every key's value validation), and
 * its lines as values to the shared value parsers. config_load() returns only its
 * documented errors with a message; what loads dumps (--check-config) to a file that
 * loads again to the same configuration. */

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/config.h"
#include "tests/fuzz/fuzz-util.h"

static int file_fd = -1;
static char file_path[64];

static void file_set(const void *p, size_t n)
{
	if (file_fd < 0) {
		file_fd = memfd_create("fuzz-config", MFD_CLOEXEC);
		if (file_fd < 0)
			abort();
		snprintf(file_path, sizeof(file_path), "/proc/self/fd/%d", file_fd);
	}
	if (ftruncate(file_fd, 0) < 0 || pwrite(file_fd, p, n, 0) != (ssize_t)n)
		abort();
}

static char *dump(const struct memctld_config *c, size_t *ret_len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, ret_len);

	if (!f)
		abort();
	config_dump(c, f);
	if (fclose(f) != 0)
		abort();
	return text;
}

static void values(const char *s)
{
	struct sockaddr_storage sa;
	unsigned sa_len;
	uint64_t v;
	bool b;
	int r;

	r = config_parse_bool(s, &b);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	r = config_parse_bytes(s, &v);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	r = config_parse_duration(s, &v);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	r = config_parse_listen(s, &sa, &sa_len);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r == 0)
		FUZZ_CHECK((sa.ss_family == AF_INET || sa.ss_family == AF_INET6) && sa_len > 0 &&
			   sa_len <= sizeof(sa));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memctld_config c, d;
	struct config_error err;
	unsigned unknown = 0;
	char *text, *text2, *str;
	size_t len, len2;
	int r;

	if (size > (1U << 20))
		return 0;

	/* 1. the whole input as the configuration file */
	file_set(data, size);
	config_init_defaults(&c);
	memset(&err, 0, sizeof(err));
	r = config_load(file_path, &c, &err, &unknown, NULL, NULL);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		FUZZ_CHECK(err.message[0] != '\0');
		FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)) &&
			   memchr(err.section, '\0', sizeof(err.section)) &&
			   memchr(err.key, '\0', sizeof(err.key)));
	} else {
		/* 2. its dump loads back to the same effective configuration */
		text = dump(&c, &len);
		file_set(text, len);
		config_init_defaults(&d);
		r = config_load(file_path, &d, &err, NULL, NULL, NULL);
		if (r != 0)
			fprintf(stderr, "dump does not load: line %u [%s] %s: %s\n%s", err.line,
				err.section, err.key, err.message, text);
		FUZZ_CHECK(r == 0);
		text2 = dump(&d, &len2);
		if (len != len2 || memcmp(text, text2, len) != 0)
			fprintf(stderr, "dump differs after a reload:\n%s\n---\n%s", text, text2);
		FUZZ_CHECK(len == len2 && memcmp(text, text2, len) == 0);
		free(text);
		free(text2);
	}

	/* 3. the input as one value (up to its first NUL) to each value parser */
	str = fuzz_strdup(data, size);
	values(str);
	free(str);
	return 0;
}
