/* echo_bytes CODE [REPEAT]: writes a known binary pattern to stdout REPEAT times (default
 * 1), a known text to stderr, and exits with CODE. The pattern (tests rebuild it):
 *   "text line\n", the bytes 0..255, "\r\n", "caf\xc3\xa9 \xff\xfe\xc3\x28 end\0tail"
 * and stderr gets "warning: \x00\xff on stderr\n". */
#include <unistd.h>
#include "common.h"

static void put(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w <= 0)
			exit(70);
		c += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	int code = (int)arg_double(argc, argv, 1, 0);
	int repeat = (int)arg_double(argc, argv, 2, 1);
	static const char head[] = "text line\n";
	static const char tail[] = "\r\ncaf\xc3\xa9 \xff\xfe\xc3\x28 end\0tail";
	static const char err[] = "warning: \x00\xff on stderr\n";
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (int r = 0; r < repeat; r++) {
		put(1, head, sizeof(head) - 1);
		put(1, all, sizeof(all));
		put(1, tail, sizeof(tail) - 1);
	}
	put(2, err, sizeof(err) - 1);
	return code;
}
