/* SPDX-License-Identifier: MIT */
/* daemon/resctrl-parse.h: pure parsers for the files of the kernel's resctrl filesystem
 * (Documentation/filesystems/resctrl.rst) that memctld reads. Buffer in, value out. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Monitoring events, from info/L3_MON/mon_features. */
enum {
	RESCTRL_F_LLC_OCCUPANCY = 1 << 0, /* "llc_occupancy" */
	RESCTRL_F_MBM_TOTAL = 1 << 1, /* "mbm_total_bytes" */
	RESCTRL_F_MBM_LOCAL = 1 << 2, /* "mbm_local_bytes" */
};

/*
 * A one-number file (info/L3_MON/num_rmids, max_threshold_occupancy):
 *   "<decimal>\n"
 * The newline is optional; nothing else is allowed. Returns 0, -EINVAL, -ERANGE.
 */
int resctrl_parse_u64(const char *buf, size_t len, uint64_t *ret);

/*
 * info/L3_MON/mon_features: one event name per line,
 *   "llc_occupancy\nmbm_total_bytes\nmbm_local_bytes\n"
 * (with BMEC also "mbm_total_bytes_config", "mbm_local_bytes_config", and newer kernels
 * list other events). Known names set RESCTRL_F_* bits, other well-formed names
 * ([a-z0-9_]+) are ignored; an empty line, a NUL or any other byte gives -EINVAL.
 */
int resctrl_parse_mon_features(const char *buf, size_t len, uint32_t *ret_mask);

/* What a mon_data event file said (fs/resctrl/ctrlmondata.c, rdtgroup_mondata_show). */
enum resctrl_counter_status {
	RESCTRL_COUNTER_VALUE = 0, /* "<decimal>\n": bytes (cumulative for mbm_*) */
	RESCTRL_COUNTER_UNAVAILABLE = 1, /* "Unavailable\n": no value yet (-EINVAL inside) */
	RESCTRL_COUNTER_ERROR = 2, /* "Error\n": the hardware read failed (-EIO inside) */
	RESCTRL_COUNTER_UNASSIGNED = 3, /* "Unassigned\n": mbm_event mode, no counter */
};

struct resctrl_counter {
	uint32_t status; /* enum resctrl_counter_status */
	uint64_t value; /* valid for RESCTRL_COUNTER_VALUE */
	uint64_t usec; /* when it was read (set by the reader, 0 from the parser) */
};

/* Parse one mon_data event file. Returns 0, -EINVAL (anything else), -ERANGE (a
 * number beyond 64 bits). */
int resctrl_parse_counter(const char *buf, size_t len, struct resctrl_counter *ret);

/*
 * A mon_data directory name, "mon_L3_<id>" with the id printed as %02d by the kernel
 * ("mon_L3_00", "mon_L3_01", "mon_L3_123"). Returns 0 and the id, -EINVAL otherwise
 * (another resource, "mon_sub_L3_..." of SNC, a sign, no digits).
 */
int resctrl_parse_domain_name(const char *name, uint32_t *ret_id);
