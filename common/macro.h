/* SPDX-License-Identifier: MIT */
/* common/macro.h: small macros every module may use (cleanup, ownership, sizes).
 * Header-only; modelled on systemd's macro.h/alloc-util.h. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLAMP(x, lo, hi) MIN(MAX((x), (lo)), (hi))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define KIB(x) ((uint64_t)(x) << 10)
#define MIB(x) ((uint64_t)(x) << 20)
#define GIB(x) ((uint64_t)(x) << 30)

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Take ownership: return the value and leave the variable empty so its
 * cleanup handler does nothing. */
#define TAKE_GENERIC(var, type, nullvalue) \
	({                                 \
		type *_pvar_ = &(var);     \
		type _var_ = *_pvar_;      \
		*_pvar_ = (nullvalue);     \
		_var_;                     \
	})
#define TAKE_PTR(p) TAKE_GENERIC(p, typeof(p), NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -1)

/* Define a cleanup helper for a type with a _free() that accepts NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			*p = func(*p);          \
	}

/* Convert libc's -1/errno convention into -errno, never 0 by accident. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}
