/* Directories opened relative to a directory descriptor, the way /proc and sysfs are
 * walked: by *at() calls from an fd, never by rebuilt paths. */
#ifndef PK_UTIL_DIRS_H
#define PK_UTIL_DIRS_H

#include <dirent.h>

/* Opens name, relative to dirfd (or absolute, or relative to AT_FDCWD), as a directory
 * stream for readdir(); "." reads dirfd's own directory from its start, whatever dirfd's
 * offset. The stream has its own close-on-exec descriptor: closedir() it. Returns 0 and
 * *ret_dir, or -errno (-ENOTDIR: not a directory; *ret_dir untouched). */
int opendir_at(int dirfd, const char *name, DIR **ret_dir);

#endif
