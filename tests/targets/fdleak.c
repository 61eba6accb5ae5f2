/* fdleak COUNT INTERVAL: opens one descriptor every INTERVAL seconds, COUNT times, never
 * closing any, then holds them for one more INTERVAL. The kinds rotate: a file, a socket,
 * the read end of a pipe (its write end is closed at once). */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	int count = (int)arg_double(argc, argv, 1, 10);
	double interval = arg_double(argc, argv, 2, 0.1);
	for (int i = 0; i < count; i++) {
		int fd = -1, p[2];
		switch (i % 3) {
		case 0:
			fd = open("/dev/null", O_RDONLY);
			break;
		case 1:
			fd = socket(AF_UNIX, SOCK_STREAM, 0);
			break;
		case 2:
			if (pipe(p) == 0) {
				close(p[1]);
				fd = p[0];
			}
			break;
		}
		if (fd < 0) {
			perror("fdleak");
			return 1;
		}
		sleep_s(interval);
	}
	sleep_s(interval);
	return 0;
}
