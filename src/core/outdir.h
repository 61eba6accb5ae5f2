/* The output directory of run/watch. Files are created without following symlinks and,
 * under sudo, handed to the invoking user. */
#ifndef PK_CORE_OUTDIR_H
#define PK_CORE_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>

/* Creates (or, if it exists and is empty or force is set, reuses) the directory. When path
 * is NULL, makes ./profkit-<label>-<YYYYmmdd-HHMMSS>[-N] and returns its name in
 * ret_path. Returns an O_DIRECTORY fd, or -errno: -ENOTEMPTY when the directory holds
 * files and force is false, -ENOTDIR when it is not a directory. */
int outdir_create(const char *path, const char *label, bool force, char *ret_path,
		  size_t ret_path_size);
/* Opens dir/name for writing (truncating), refusing symlinks; -errno. */
int outdir_open_file(int dirfd, const char *name);

#endif
