/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_ipc.c: libFuzzer target for ipc_decode(). Whatever decodes must
 * re-encode to the same bytes; nothing may read past the input. */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "ipc/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[IPC_MSG_MAX];

static void check(int cond)
{
	if (!cond)
		abort();
}

static void decode_reencode(const uint8_t *buf, size_t len)
{
	struct ipc_msg m;
	size_t esz;
	ssize_t n;
	int r;

	r = ipc_decode(buf, len, &m);
	if (r < 0) {
		check(r == -EBADMSG || r == -EPROTO || r == -ENOMSG || r == -EMSGSIZE ||
		      r == -EINVAL || r == -EILSEQ || r == -ERANGE);
		return;
	}

	/* what decodes is self-consistent with the type table */
	esz = ipc_entry_size(m.hdr.type);
	check(ipc_type_to_string(m.hdr.type) != NULL);
	check(m.body_len == ipc_body_size(m.hdr.type));
	check(m.n_entries <= ipc_entries_max(m.hdr.type));
	check(sizeof(struct ipc_header) + m.body_len + (size_t)m.n_entries * esz == len);
	check(m.body == buf + sizeof(struct ipc_header));
	check(m.n_entries == 0 || m.entries == (const uint8_t *)m.body + m.body_len);

	/* and the encoder accepts it and produces the very same bytes */
	n = ipc_encode(out, sizeof(out), m.hdr.type, m.hdr.seq, m.body_len ? m.body : NULL,
		       m.body_len, m.entries, m.n_entries);
	check(n >= 0 && (size_t)n == len);
	check(memcmp(out, buf, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_header hdr;
	uint8_t *framed;
	uint16_t type = 0;

	/* 1. the raw input, as a hostile peer would send it (in an exactly-sized
	 * heap copy, so ASan sees any over-read) */
	{
		uint8_t *copy = malloc(size ? size : 1);

		if (!copy)
			return 0;
		memcpy(copy, data, size);
		decode_reencode(size ? copy : NULL, size);
		free(copy);
	}

	/* 2. the input as a body behind a valid header: the first two bytes choose
	 * the type, so every run reaches the per-type checks */
	if (size >= 2 && size - 2 + sizeof(hdr) <= IPC_MSG_MAX) {
		memcpy(&type, data, sizeof(type));
		hdr = (struct ipc_header){
			.magic = IPC_MAGIC,
			.version = IPC_VERSION,
			.type = type,
			.length = (uint32_t)(size - 2 + sizeof(hdr)),
			.seq = 1,
		};
		framed = malloc(hdr.length);
		if (!framed)
			return 0;
		memcpy(framed, &hdr, sizeof(hdr));
		memcpy(framed + sizeof(hdr), data + 2, size - 2);
		decode_reencode(framed, hdr.length);
		free(framed);
	}

	/* 3. the table lookups for any type value */
	if (ipc_type_to_string(type)) {
		check(ipc_body_size(type) != (size_t)-1);
		check(ipc_entries_max(type) == 0 || ipc_entry_size(type) > 0);
	} else {
		check(ipc_body_size(type) == (size_t)-1);
		check(ipc_entry_size(type) == 0 && ipc_entries_max(type) == 0);
	}

	/* 4. ipc_error_fill() with any code and message always yields a valid body */
	{
		struct ipc_error e;
		char msg[160];
		int code = 0;
		size_t n = MIN(size, sizeof(msg) - 1);

		memcpy(&code, data, MIN(size, sizeof(code)));
		memcpy(msg, data, n);
		msg[n] = '\0';
		ipc_error_fill(&e, code, 1, type, msg);
		check(ipc_encode(out, sizeof(out), IPC_ERROR, 1, &e, sizeof(e), NULL, 0) ==
		      (ssize_t)(sizeof(struct ipc_header) + sizeof(e)));
	}
	return 0;
}
