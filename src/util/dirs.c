#include "util/dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "util/macro.h"

int opendir_at(int dirfd, const char *name, DIR **ret_dir)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = neg_errno();
		close(fd);
		return r;
	}
	*ret_dir = d;
	return 0;
}
