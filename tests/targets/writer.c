/* writer PATH MB [LINGER]: writes MB megabytes (MiB) to PATH, fsyncs, then sleeps LINGER
 * seconds (default 0.5) so that a sampler sees the final write_bytes. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: writer PATH MB [LINGER]\n");
		return 64;
	}
	double mb = arg_double(argc, argv, 2, 1);
	double linger = arg_double(argc, argv, 3, 0.5);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	static char buf[1 << 20];
	memset(buf, 'w', sizeof(buf));
	size_t left = (size_t)(mb * 1024 * 1024);
	while (left) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);
		ssize_t w = write(fd, buf, n);
		if (w <= 0) {
			perror("write");
			return 1;
		}
		left -= (size_t)w;
	}
	if (fsync(fd) < 0) {
		perror("fsync");
		return 1;
	}
	close(fd);
	sleep_s(linger);
	return 0;
}
