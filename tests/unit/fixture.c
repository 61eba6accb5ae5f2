#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *file_read(const char *path, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (len == cap)
			buf = realloc(buf, (cap *= 2) + 1);
		ssize_t n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

const char *env_dir(const char *var)
{
	const char *dir = getenv(var);
	if (!dir || !*dir)
		fail_msg("%s is not set: run the tests with meson test", var);
	return dir;
}

char *fixture_read(const char *name, size_t *ret_len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", env_dir("FIXTURES"), name);
	char *buf = file_read(path, ret_len);
	if (!buf)
		fail_msg("cannot read fixture %s", path);
	return buf;
}

char *dup_exact(const void *data, size_t len)
{
	char *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, data, len);
	return p;
}
