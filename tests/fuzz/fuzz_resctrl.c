/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_resctrl.c: libFuzzer target for daemon/resctrl-parse.c: the
 * one-number files, mon_features, mon_data counters and mon_data domain names on the
 * same input. Only documented errors, results untouched on failure, only known
 * feature bits and counter states, and what parses prints back to the same value. */

#include <errno.h>
#include <inttypes.h>

#include "daemon/resctrl-parse.h"
#include "tests/fuzz/fuzz-util.h"

#define SENTINEL 0xa5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_dup(data, size), *str = fuzz_strdup(data, size);
	struct resctrl_counter c, d;
	char text[64];
	uint64_t v, w;
	uint32_t mask, id, id2;
	int r, n;

	memset(&v, SENTINEL, sizeof(v));
	r = resctrl_parse_u64(buf, size, &v);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r == 0) {
		n = snprintf(text, sizeof(text), "%" PRIu64 "\n", v);
		FUZZ_CHECK(resctrl_parse_u64(text, (size_t)n, &w) == 0 && w == v);
	} else {
		FUZZ_CHECK(fuzz_all(&v, sizeof(v), SENTINEL));
	}

	memset(&mask, SENTINEL, sizeof(mask));
	r = resctrl_parse_mon_features(buf, size, &mask);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r == 0)
		FUZZ_CHECK((mask & ~(uint32_t)(RESCTRL_F_LLC_OCCUPANCY | RESCTRL_F_MBM_TOTAL |
					       RESCTRL_F_MBM_LOCAL)) == 0);
	else
		FUZZ_CHECK(fuzz_all(&mask, sizeof(mask), SENTINEL));

	memset(&c, SENTINEL, sizeof(c));
	r = resctrl_parse_counter(buf, size, &c);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r == 0) {
		FUZZ_CHECK(c.status <= RESCTRL_COUNTER_UNASSIGNED && c.usec == 0);
		if (c.status == RESCTRL_COUNTER_VALUE) {
			n = snprintf(text, sizeof(text), "%" PRIu64 "\n", c.value);
			FUZZ_CHECK(resctrl_parse_counter(text, (size_t)n, &d) == 0 &&
				   d.status == RESCTRL_COUNTER_VALUE && d.value == c.value);
		} else {
			FUZZ_CHECK(c.value == 0);
		}
	} else {
		FUZZ_CHECK(fuzz_all(&c, sizeof(c), SENTINEL));
	}

	memset(&id, SENTINEL, sizeof(id));
	r = resctrl_parse_domain_name(str, &id);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r == 0) {
		FUZZ_CHECK(id <= INT32_MAX);
		snprintf(text, sizeof(text), "mon_L3_%02" PRIu32, id);
		FUZZ_CHECK(resctrl_parse_domain_name(text, &id2) == 0 && id2 == id);
	} else {
		FUZZ_CHECK(fuzz_all(&id, sizeof(id), SENTINEL));
	}
	free(buf);
	free(str);
	return 0;
}
