// SPDX-License-Identifier: MIT
/*
 * arena/uffd.c: readback through a userfaultfd.
 *
 * A compressed chunk's pages went back to the kernel. Bringing it back the plain way
 * costs a populate (the kernel allocates and clears each page) and then a decode
 * that writes into cold, freshly mapped memory. With the arena's regions registered
 * with a userfaultfd for missing pages, the decode goes into a warm per-thread
 * scratch buffer and UFFDIO_COPY has the kernel allocate the pages and fill them from
 * it: no clear, no separate populate, no first-write page walk. bench/readback
 * measures the difference without libarena (3-7% at p50), bench/arena's latency
 * section through it (none that stands out of the noise; docs/benchmarks.md).
 *
 * Registration has a price the arena must pay itself: a missing page of a registered
 * region no longer faults in as zero, it waits for someone to resolve it. So:
 *   - every chunk leaving ZERO for RAW through a pin gets its pages mapped first,
 *     which keeps the invariant "a RAW chunk has every page present" that makes the
 *     arena's own accesses fault-free. A read pin maps the shared zero page
 *     (UFFDIO_ZEROPAGE: no memory). A write pin has the kernel copy zeros into new
 *     pages (UFFDIO_COPY from a never-written read-only mapping, which reads as the
 *     zero page): mapping the zero page there would make every first write a
 *     copy-on-write fault, 60% slower than the fault it replaces (measured on a
 *     64 MiB fill: 4.1 against 2.5 us per page);
 *   - a handler thread serves whatever still faults: a thread touching a chunk it
 *     has not pinned, or the kernel reading one in a system call. It resolves the
 *     fault the way a pin would (decompress, or map zeros) without taking a pin, so
 *     such an access sees the right bytes, where it used to see zeros. If the stored
 *     copy is damaged the page is poisoned (UFFDIO_POISON: the access gets SIGBUS),
 *     never filled with wrong bytes.
 *
 * Nothing of this survives fork(): without UFFD_FEATURE_EVENT_FORK the child's
 * copies of the regions are plain anonymous memory, the handler thread is not there,
 * and the userfaultfd still belongs to the parent's address space (an UFFDIO_COPY
 * from the child would fill the parent's pages). A pthread_atfork() child handler
 * bumps a generation; an arena whose generation is stale uses the plain path.
 *
 * Opt-in (ARENA_CONFIG_USERFAULTFD): measured side by side, the readback itself is no
 * faster than the plain path inside libarena (p50 within noise, p99 mostly 0.3-2.5 us
 * worse; docs/benchmarks.md), so the thread and the descriptor are not worth it to everyone.
 * What the option buys is the handler (accesses outside a pin see the right bytes,
 * damaged ones SIGBUS) and faster first writes through write pins. When userfaultfd
 * is not available (an old kernel, a seccomp filter, an unprivileged process where
 * even user-mode-only descriptors are refused) the arena uses the plain path.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arena/arena-internal.h"
#include "common/macro.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
/* Linux 6.6; the build host's headers may predate it */
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef UFFDIO_POISON
struct uffdio_poison {
	struct uffdio_range range;
	__u64 mode;
	__s64 updated;
};
#define _UFFDIO_POISON (0x08)
#define UFFDIO_POISON _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif

#define UFFD_PAGE 4096UL
#define UFFD_MSGS 16

/* ---- fork generation ---- */

static _Atomic uint32_t fork_gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_child(void)
{
	atomic_fetch_add_explicit(&fork_gen, 1, memory_order_relaxed);
}

static void atfork_register(void)
{
	(void)pthread_atfork(NULL, NULL, atfork_child);
}

bool arena_uffd_live(const struct arena *a)
{
	return a->uffd >= 0 && atomic_load_explicit(&fork_gen, memory_order_relaxed) == a->uffd_gen;
}

/* ---- resolving ---- */

int arena_uffd_copy(struct arena *a, void *dst, const void *src, size_t n)
{
	bool zapped = false;
	size_t done = 0;

	while (done < n) {
		struct uffdio_copy c = {
			.dst = (uintptr_t)dst + done,
			.src = (uintptr_t)src + done,
			.len = n - done,
			.mode = UFFDIO_COPY_MODE_DONTWAKE, /* see arena_uffd_zero() */
		};

		int err;

		if (ioctl(a->uffd, UFFDIO_COPY, &c) == 0)
			return 0;
		err = errno;
		if (c.copy > 0)
			done += (size_t)c.copy;
		if (err == EAGAIN)
			continue; /* the layout changed under the copy: the rest again */
		if (err == EEXIST && !zapped) {
			/* a page of a COMPRESSED chunk is present (only something outside
			 * the arena maps one, e.g. a MADV_POPULATE on the region): its
			 * bytes mean nothing, drop them and copy again, once */
			(void)madvise((uint8_t *)dst + done, n - done, MADV_DONTNEED);
			zapped = true;
			continue;
		}
		/* take back what was filled: the chunk keeps its state */
		(void)madvise(dst, n, MADV_DONTNEED);
		return -err;
	}
	return 0;
}

int arena_uffd_fill_zero(struct arena *a, void *dst, size_t n, bool write)
{
	if (write)
		return arena_uffd_copy(a, dst, a->uffd_zero_src, n);
	return arena_uffd_zero(a, dst, n);
}

int arena_uffd_zero(struct arena *a, void *dst, size_t n)
{
	size_t done = 0;

	while (done < n) {
		/* no wake: a thread waiting on these pages must not run on before the
		 * chunk's state says what its pages now hold; the handler wakes it
		 * after the state is set and the chunk unlocked */
		struct uffdio_zeropage z = {
			.range = { .start = (uintptr_t)dst + done, .len = n - done },
			.mode = UFFDIO_ZEROPAGE_MODE_DONTWAKE,
		};

		if (ioctl(a->uffd, UFFDIO_ZEROPAGE, &z) == 0)
			return 0;
		if (z.zeropage > 0)
			done += (size_t)z.zeropage;
		if (errno == EAGAIN)
			continue;
		if (errno == EEXIST) {
			done += UFFD_PAGE; /* present already: keep it, map the rest */
			continue;
		}
		return -errno;
	}
	return 0;
}

static void uffd_wake(struct arena *a, uintptr_t addr, size_t n)
{
	struct uffdio_range range = { .start = addr, .len = n };

	(void)ioctl(a->uffd, UFFDIO_WAKE, &range);
}

/* A page that cannot be given its bytes: the access gets SIGBUS (poison), or, on a
 * kernel without UFFDIO_POISON, zeros as before registration (counted either way by
 * the caller). */
static void uffd_refuse(struct arena *a, uintptr_t page)
{
	struct uffdio_poison p = { .range = { .start = page, .len = UFFD_PAGE } };

	if (a->uffd_poison && ioctl(a->uffd, UFFDIO_POISON, &p) == 0)
		return;
	(void)arena_uffd_zero(a, (void *)page, UFFD_PAGE);
}

/* Find the region holding addr (caller holds regions_lock for reading). */
static struct arena_region *region_at(struct arena *a, uintptr_t addr)
{
	for (struct arena_region *r = a->regions; r; r = r->next)
		if (addr >= (uintptr_t)r->base && addr - (uintptr_t)r->base < r->size)
			return r;
	return NULL;
}

static void serve_fault(struct arena *a, uintptr_t addr)
{
	uintptr_t page = addr & ~(UFFD_PAGE - 1);
	struct arena_region *r;

	cnt_add(&a->cnt.unpinned_faults, 1);
	pthread_rwlock_rdlock(&a->regions_lock);
	r = region_at(a, page);
	if (!r) {
		/* not the arena's (a region being freed): let the access see zeros */
		(void)arena_uffd_zero(a, (void *)page, UFFD_PAGE);
	} else {
		uint32_t idx = (uint32_t)((page - (uintptr_t)r->base) >> a->chunk_shift);
		struct chunk *c = &r->chunks[idx];
		int ret;

		/* as a pin would, without the pin */
		chunk_lock(c);
		if (c->state == CHUNK_COMPRESSED)
			ret = chunk_decompress_locked(a, r, idx, true);
		else if (c->state == CHUNK_ZERO)
			ret = chunk_unzero_locked(a, r, idx, false);
		else /* RAW with a page missing (dropped from outside the arena) */
			ret = arena_uffd_zero(a, (void *)page, UFFD_PAGE);
		if (ret < 0)
			uffd_refuse(a, page);
		else
			chunk_touch(a, c);
		chunk_unlock(c);
	}
	pthread_rwlock_unlock(&a->regions_lock);
	/* whoever filled the page (us, a pin that got there first: both fill without
	 * waking), wake the faulter now that the chunk's state is final */
	uffd_wake(a, page, UFFD_PAGE);
}

static void *uffd_main(void *arg)
{
	struct arena *a = arg;
	struct pollfd p[2] = {
		{ .fd = a->uffd, .events = POLLIN },
		{ .fd = a->uffd_stop, .events = POLLIN },
	};

	for (;;) {
		struct uffd_msg msg[UFFD_MSGS];
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
		n = read(a->uffd, msg, sizeof(msg));
		if (n < 0)
			continue; /* EAGAIN: a wake raced the read */
		for (size_t i = 0; i < (size_t)n / sizeof(msg[0]); i++)
			if (msg[i].event == UFFD_EVENT_PAGEFAULT)
				serve_fault(a, (uintptr_t)msg[i].arg.pagefault.address);
	}
	return NULL;
}

/* ---- setup ---- */

static int uffd_open(bool *ret_poison)
{
	/* no features asked for: UFFDIO_API answers with every feature the kernel
	 * has, and UFFDIO_POISON needs none enabled, only the kernel to know it */
	struct uffdio_api api = { .api = UFFD_API };
	int fd, r;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && (errno == EPERM || errno == EACCES))
		/* vm.unprivileged_userfaultfd=0: user-mode faults only (Linux 5.11) */
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_poison = (api.features & UFFD_FEATURE_POISON) != 0;
	return fd;
}

void arena_uffd_setup(struct arena *a)
{
	sigset_t all, old;
	bool poison = false;
	int fd, r;

	a->uffd = -1;
	a->uffd_stop = -1;
	a->uffd_zero_src = NULL;
	if (!(a->cfg.flags & ARENA_CONFIG_USERFAULTFD)) {
		a->uffd_error = 0;
		return;
	}
	(void)pthread_once(&atfork_once, atfork_register);
	fd = uffd_open(&poison);
	if (fd < 0) {
		a->uffd_error = -fd;
		return;
	}
	a->uffd_stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->uffd_stop < 0) {
		a->uffd_error = errno;
		close(fd);
		return;
	}
	/* never written, so every page of it reads as the zero page: the source of
	 * UFFDIO_COPY for write pins of ZERO chunks (no memory behind it) */
	a->uffd_zero_src = mmap(NULL, a->cfg.chunk_size_bytes, PROT_READ,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->uffd_zero_src == MAP_FAILED) {
		a->uffd_error = errno;
		a->uffd_zero_src = NULL;
		close(a->uffd_stop);
		close(fd);
		a->uffd_stop = -1;
		return;
	}
	a->uffd = fd;
	a->uffd_poison = poison;
	a->uffd_gen = atomic_load_explicit(&fork_gen, memory_order_relaxed);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&a->uffd_thread, NULL, uffd_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		a->uffd_error = r;
		munmap(a->uffd_zero_src, a->cfg.chunk_size_bytes);
		a->uffd_zero_src = NULL;
		close(a->uffd_stop);
		close(fd);
		a->uffd = a->uffd_stop = -1;
		return;
	}
	a->uffd_error = 0;
}

void arena_uffd_done(struct arena *a)
{
	if (a->uffd < 0)
		return;
	/* in a forked child the thread is not there to join, and the descriptor is
	 * the parent's: close our copy only */
	if (arena_uffd_live(a)) {
		uint64_t one = 1;

		(void)!write(a->uffd_stop, &one, sizeof(one));
		pthread_join(a->uffd_thread, NULL);
	}
	munmap(a->uffd_zero_src, a->cfg.chunk_size_bytes);
	a->uffd_zero_src = NULL;
	close(a->uffd_stop);
	close(a->uffd);
	a->uffd = a->uffd_stop = -1;
}

bool arena_uffd_register(struct arena *a, void *base, size_t size)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)base, .len = size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	if (!arena_uffd_live(a))
		return false;
	if (ioctl(a->uffd, UFFDIO_REGISTER, &reg) < 0)
		return false;
	if (!(reg.ioctls & ((__u64)1 << _UFFDIO_COPY)) ||
	    !(reg.ioctls & ((__u64)1 << _UFFDIO_ZEROPAGE))) {
		struct uffdio_range range = reg.range;

		(void)ioctl(a->uffd, UFFDIO_UNREGISTER, &range);
		return false;
	}
	return true;
}
