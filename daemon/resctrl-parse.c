// SPDX-License-Identifier: MIT
/* daemon/resctrl-parse.c: strict parsers for resctrl's info and mon_data files:
 * exact formats as the kernel prints them, impossible values refused. */
#include <errno.h>
#include <string.h>

#include "daemon/parse-util.h"
#include "daemon/resctrl-parse.h"

int resctrl_parse_u64(const char *buf, size_t len, uint64_t *ret)
{
	struct span s = { buf, len };

	if (!buf || buf_has_nul(buf, len))
		return -EINVAL;
	return span_to_u64(span_chomp(s), ret);
}

static bool name_ok(struct span s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

int resctrl_parse_mon_features(const char *buf, size_t len, uint32_t *ret_mask)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} known[] = {
		{ "llc_occupancy", RESCTRL_F_LLC_OCCUPANCY },
		{ "mbm_total_bytes", RESCTRL_F_MBM_TOTAL },
		{ "mbm_local_bytes", RESCTRL_F_MBM_LOCAL },
	};
	struct line_iter it;
	struct span line;
	uint32_t mask = 0;

	if (!buf || buf_has_nul(buf, len))
		return -EINVAL;
	line_iter_init(&it, buf, len);
	while (line_iter_next(&it, &line)) {
		if (!name_ok(line))
			return -EINVAL;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (span_eq(line, known[i].name))
				mask |= known[i].bit;
	}
	*ret_mask = mask;
	return 0;
}

int resctrl_parse_counter(const char *buf, size_t len, struct resctrl_counter *ret)
{
	static const struct {
		const char *text;
		uint32_t status;
	} words[] = {
		{ "Unavailable", RESCTRL_COUNTER_UNAVAILABLE },
		{ "Error", RESCTRL_COUNTER_ERROR },
		{ "Unassigned", RESCTRL_COUNTER_UNASSIGNED },
	};
	struct span s = { buf, len };
	uint64_t v;
	int r;

	if (!buf || buf_has_nul(buf, len))
		return -EINVAL;
	s = span_chomp(s);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (span_eq(s, words[i].text)) {
			*ret = (struct resctrl_counter){ .status = words[i].status };
			return 0;
		}
	r = span_to_u64(s, &v);
	if (r < 0)
		return r;
	*ret = (struct resctrl_counter){ .status = RESCTRL_COUNTER_VALUE, .value = v };
	return 0;
}

int resctrl_parse_domain_name(const char *name, uint32_t *ret_id)
{
	static const char prefix[] = "mon_L3_";
	struct span s;
	uint64_t v;

	if (!name || strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return -EINVAL;
	s = (struct span){ name + sizeof(prefix) - 1, strlen(name) - (sizeof(prefix) - 1) };
	if (s.len > 10 || span_to_u64(s, &v) < 0 || v > INT32_MAX)
		return -EINVAL;
	*ret_id = (uint32_t)v;
	return 0;
}
