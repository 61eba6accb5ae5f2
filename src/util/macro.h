/* Small shared macros: cleanup attributes, array size, errno helpers. */
#ifndef PK_UTIL_MACRO_H
#define PK_UTIL_MACRO_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Negative errno of the last libc failure, never 0. */
static inline int neg_errno(void) { return errno > 0 ? -errno : -EIO; }

/* A process vanished: the /proc reader's normal, non-error end of a target. */
static inline int errno_is_gone(int e)
{
	e = e < 0 ? -e : e;
	return e == ESRCH || e == ENOENT;
}
static inline int errno_is_privilege(int e)
{
	e = e < 0 ? -e : e;
	return e == EACCES || e == EPERM;
}

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL

#endif
