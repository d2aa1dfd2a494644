/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* bpf/ringbuf.h: batched ring-buffer wakeups, shared by the BPF programs.
 * A wakeup per record costs the daemon an epoll round trip per record (at
 * 1,000 processes/s, most of its CPU: bench/churn). So records are submitted
 * without a wakeup unless wakeup_bytes are pending; the daemon drains on a
 * short timer (DRAIN_INTERVAL_USEC in daemon/manager.c) and on these wakeups. */
#pragma once

/* set by the loader; 0 = the kernel's default wakeups (see daemon/bpf-loader.c) */
const volatile __u64 wakeup_bytes = 0;

static __always_inline __u64 ringbuf_wakeup_flags(void *ringbuf)
{
	if (!wakeup_bytes)
		return 0; /* the kernel's default: wake only a consumer that caught up */
	if (bpf_ringbuf_query(ringbuf, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}
