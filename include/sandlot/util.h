/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Small helpers every sandlot module uses: cleanup attributes, ownership transfer and array
 * sizes. Error convention everywhere: functions return >= 0 on success and -errno on failure;
 * output parameters are named ret_* and are left untouched on failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* Returns the pointer/fd and leaves NULL/-1 behind, so a cleanup attribute no longer frees it. */
#define TAKE_PTR(p)                 \
	({                          \
		typeof(p) _p = (p); \
		(p) = NULL;         \
		_p;                 \
	})
#define TAKE_FD(fd)             \
	({                      \
		int _fd = (fd); \
		(fd) = -1;      \
		_fd;            \
	})

static inline void sl_freep(void *p)
{
	free(*(void **)p);
}

/* Closes *fd if it is >= 0, keeping errno intact; sets it to -1. */
static inline void sl_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
		*fd = -1;
	}
}

static inline void sl_fclosep(FILE **f)
{
	if (*f) {
		fclose(*f);
		*f = NULL;
	}
}

#define _cleanup_(f)	 __attribute__((cleanup(f)))
#define _cleanup_free_	 _cleanup_(sl_freep)
#define _cleanup_close_	 _cleanup_(sl_closep)
#define _cleanup_fclose_ _cleanup_(sl_fclosep)
#define _unused_	 __attribute__((unused))
#define _printf_(a, b)	 __attribute__((format(printf, a, b)))
#define _noreturn_	 __attribute__((noreturn))
#define _likely_(x)	 __builtin_expect(!!(x), 1)
#define _unlikely_(x)	 __builtin_expect(!!(x), 0)

/* -errno of the last libc call, never 0 (a libc failure that left errno unset becomes -EIO). */
static inline int sl_negerrno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/*
 * Reads a whole small file (at most max-1 bytes) into buf, NUL-terminated, without a trailing
 * newline. Returns the length or -errno (-EFBIG when it does not fit).
 */
int sl_read_file(const char *path, char *buf, size_t max);

/* Same, relative to a directory fd. */
int sl_read_fileat(int dirfd, const char *name, char *buf, size_t max);

/*
 * Reads fd to its end into buf, as bytes (no NUL added), fewer than max of them: -EFBIG when
 * max or more are there. Retries EINTR. Returns 0 with *ret_len set, or -errno.
 */
int sl_read_fd(int fd, void *buf, size_t max, size_t *ret_len);

/* Writes s to path (open O_WRONLY, one write). Returns 0 or -errno. */
int sl_write_file(const char *path, const char *s);

/* Same, relative to a directory fd. */
int sl_write_fileat(int dirfd, const char *name, const char *s);
