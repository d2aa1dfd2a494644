/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_ctl.c: libFuzzer target for the control socket's records: the first
 * byte picks one of the control types (each request memctld serves, each reply memctl
 * reads), the rest is its body and entries behind a valid header, so every run reaches
 * that type's checks; the raw input is decoded too. What decodes holds what the
 * handlers rely on (strings terminated, enums in range, counts that fit), re-encodes to
 * the same bytes, and its strings print through cli_escape() (how memctld logs and
 * memctl shows them) as one line with no control bytes. */

#include <errno.h>

#include "daemon/cli-text.h"
#include "ipc/ipc.h"
#include "tests/fuzz/fuzz-util.h"

static const uint16_t ctl_types[] = {
	IPC_CTL_STATUS,
	IPC_CTL_STATUS_REPLY,
	IPC_CTL_LIST,
	IPC_CTL_LIST_REPLY,
	IPC_CTL_SHOW,
	IPC_CTL_SHOW_REPLY,
	IPC_CTL_ENROLL,
	IPC_CTL_UNENROLL,
	IPC_CTL_OK,
	IPC_CTL_EVENTS,
	IPC_CTL_EVENTS_REPLY,
	IPC_CTL_CGROUPS,
	IPC_CTL_CGROUPS_REPLY,
	IPC_CTL_ENROLLED,
	IPC_CTL_ENROLLED_REPLY,
	IPC_CTL_BANDWIDTH,
	IPC_CTL_BANDWIDTH_REPLY,
	IPC_CTL_METRICS,
	IPC_CTL_METRICS_REPLY,
	IPC_CTL_RECORDS,
	IPC_CTL_RECORDS_REPLY,
	IPC_ERROR,
};

static uint8_t out[IPC_MSG_MAX];

/* s (within a field of size bytes) prints as one line of visible characters */
static void printable(const char *s, size_t size)
{
	char esc[4 * 512 + 1];

	FUZZ_CHECK(memchr(s, '\0', size) != NULL);
	cli_escape(s, esc, sizeof(esc));
	FUZZ_CHECK(strlen(esc) < sizeof(esc));
	for (const unsigned char *p = (const unsigned char *)esc; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p != 0x7f);
}

#define PRINTABLE(field) printable((field), sizeof(field))

static void semantics(const struct ipc_msg *m)
{
	switch (m->hdr.type) {
	case IPC_CTL_LIST:
	case IPC_CTL_CGROUPS:
	case IPC_CTL_ENROLLED:
	case IPC_CTL_BANDWIDTH: {
		const struct ipc_ctl_list *q = m->body;

		FUZZ_CHECK(q->sort <= IPC_SORT_FAULTS);
		PRINTABLE(q->cgroup);
		break;
	}
	case IPC_CTL_SHOW:
	case IPC_CTL_UNENROLL: {
		const struct ipc_ctl_pid *q = m->body;

		FUZZ_CHECK(q->pid > 0 && q->pid <= INT32_MAX && q->reserved == 0);
		break;
	}
	case IPC_CTL_ENROLL: {
		const struct ipc_ctl_enroll *q = m->body;

		FUZZ_CHECK(q->pid > 0 && q->pid <= INT32_MAX && q->flags == 0 && q->reserved == 0);
		FUZZ_CHECK(q->readback_factor_permille <= 1000000U /* ipc.c: 1000x */);
		PRINTABLE(q->name);
		break;
	}
	case IPC_CTL_METRICS: {
		const struct ipc_ctl_metrics *q = m->body;

		FUZZ_CHECK(q->format < _IPC_METRICS_FORMAT_MAX && q->reserved == 0);
		break;
	}
	case IPC_CTL_RECORDS: {
		const struct ipc_ctl_records *q = m->body;

		FUZZ_CHECK(q->pid <= INT32_MAX);
		break;
	}
	case IPC_CTL_METRICS_REPLY: {
		const struct ipc_ctl_metrics_reply *q = m->body;

		FUZZ_CHECK(q->serial > 0 && q->offset <= q->total_bytes &&
			   q->count <= q->total_bytes - q->offset && q->count == m->n_entries);
		FUZZ_CHECK(m->n_entries == 0 || memchr(m->entries, 0, m->n_entries) == NULL);
		break;
	}
	case IPC_CTL_STATUS_REPLY: {
		const struct ipc_ctl_status_reply *q = m->body;

		PRINTABLE(q->version);
		PRINTABLE(q->bpf_status);
		PRINTABLE(q->resctrl_status);
		break;
	}
	case IPC_CTL_LIST_REPLY: {
		const struct ipc_proc_entry *e = m->entries;

		for (uint32_t i = 0; i < m->n_entries; i++) {
			PRINTABLE(e[i].comm);
			PRINTABLE(e[i].cmdline);
		}
		break;
	}
	case IPC_CTL_CGROUPS_REPLY: {
		const struct ipc_cgroup_entry *e = m->entries;

		for (uint32_t i = 0; i < m->n_entries; i++)
			PRINTABLE(e[i].path);
		break;
	}
	case IPC_CTL_EVENTS_REPLY: {
		const struct ipc_event_entry *e = m->entries;

		for (uint32_t i = 0; i < m->n_entries; i++) {
			FUZZ_CHECK(e[i].kind >= IPC_EVENT_ENROLLED && e[i].kind < _IPC_EVENT_MAX);
			PRINTABLE(e[i].text);
			PRINTABLE(e[i].comm);
			PRINTABLE(e[i].cgroup);
		}
		break;
	}
	case IPC_CTL_ENROLLED_REPLY: {
		const struct ipc_enrolled_entry *e = m->entries;

		for (uint32_t i = 0; i < m->n_entries; i++) {
			FUZZ_CHECK(e[i].mode == IPC_MODE_ARENA || e[i].mode == IPC_MODE_MONITOR);
			PRINTABLE(e[i].name);
		}
		break;
	}
	case IPC_CTL_BANDWIDTH_REPLY: {
		const struct ipc_ctl_bandwidth_reply *q = m->body;
		const struct ipc_bandwidth_entry *e = m->entries;

		PRINTABLE(q->status);
		for (uint32_t i = 0; i < m->n_entries; i++) {
			PRINTABLE(e[i].name);
			PRINTABLE(e[i].group);
			PRINTABLE(e[i].reason);
		}
		break;
	}
	case IPC_ERROR: {
		const struct ipc_error *q = m->body;

		FUZZ_CHECK(q->code < 0);
		PRINTABLE(q->message);
		break;
	}
	default:
		break;
	}
}

static void decode(const uint8_t *buf, size_t len)
{
	struct ipc_msg m;
	ssize_t n;
	int r;

	r = ipc_decode(buf, len, &m);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -EPROTO || r == -ENOMSG || r == -EMSGSIZE ||
			   r == -EINVAL || r == -EILSEQ || r == -ERANGE);
		return;
	}
	FUZZ_CHECK(m.n_entries <= ipc_entries_max(m.hdr.type));
	semantics(&m);
	n = ipc_encode(out, sizeof(out), m.hdr.type, m.hdr.seq, m.body_len ? m.body : NULL,
		       m.body_len, m.entries, m.n_entries);
	FUZZ_CHECK(n >= 0 && (size_t)n == len && memcmp(out, buf, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_header hdr;
	uint8_t *framed;
	char *raw;

	raw = fuzz_dup(data, size);
	decode(size ? (const uint8_t *)raw : NULL, size);
	free(raw);

	if (size < 1 || size - 1 + sizeof(hdr) > IPC_MSG_MAX)
		return 0;
	hdr = (struct ipc_header){
		.magic = IPC_MAGIC,
		.version = IPC_VERSION,
		.type = ctl_types[data[0] % (sizeof(ctl_types) / sizeof(ctl_types[0]))],
		.length = (uint32_t)(size - 1 + sizeof(hdr)),
		.seq = 7,
	};
	framed = malloc(hdr.length);
	if (!framed)
		abort();
	memcpy(framed, &hdr, sizeof(hdr));
	memcpy(framed + sizeof(hdr), data + 1, size - 1);
	decode(framed, hdr.length);
	free(framed);
	return 0;
}
