#include "core/outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "util/dirs.h"
#include "util/macro.h"

/* Under sudo, files belong to the user who ran sudo, not to root. */
static void give_to_invoker(int fd)
{
	const char *u = getenv("SUDO_UID"), *g = getenv("SUDO_GID");
	if (geteuid() != 0 || !u || !g)
		return;
	char *end;
	long uid = strtol(u, &end, 10);
	if (*end || uid <= 0)
		return;
	long gid = strtol(g, &end, 10);
	if (*end || gid < 0)
		return;
	if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0) {
		/* Not fatal: the files are still there, owned by root. */
	}
}

static int dir_is_empty(int dirfd)
{
	DIR *d;
	int r = opendir_at(dirfd, ".", &d);
	if (r < 0)
		return r;
	struct dirent *e;
	int empty = 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int open_dir(const char *path, bool created, bool force)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ELOOP : neg_errno();
	if (!created && !force) {
		int e = dir_is_empty(fd);
		if (e <= 0) {
			close(fd);
			return e < 0 ? e : -ENOTEMPTY;
		}
	}
	if (faccessat(fd, ".", W_OK, AT_EACCESS) < 0) {
		int r = neg_errno();
		close(fd);
		return r;
	}
	if (created)
		give_to_invoker(fd);
	return fd;
}

int outdir_create(const char *path, const char *label, bool force, char *ret_path,
		  size_t ret_path_size)
{
	if (path) {
		snprintf(ret_path, ret_path_size, "%s", path);
		bool created = mkdir(path, 0755) == 0;
		if (!created && errno != EEXIST)
			return neg_errno();
		struct stat st;
		if (!created && lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
			return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
		return open_dir(path, created, force);
	}
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	char safe[48];
	size_t n = 0;
	for (const char *p = label; *p && n < sizeof(safe) - 1; p++)
		safe[n++] = (*p == '/' || *p < ' ' || *p == ' ') ? '_' : *p;
	safe[n] = '\0';
	for (int i = 0; i < 1000; i++) {
		if (i)
			snprintf(ret_path, ret_path_size, "profkit-%s-%s-%d", safe, stamp, i);
		else
			snprintf(ret_path, ret_path_size, "profkit-%s-%s", safe, stamp);
		if (mkdir(ret_path, 0755) == 0)
			return open_dir(ret_path, true, force);
		if (errno != EEXIST)
			return neg_errno();
	}
	return -EEXIST;
}

int outdir_open_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return neg_errno();
	give_to_invoker(fd);
	return fd;
}
