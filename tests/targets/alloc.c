/* alloc MB SECONDS: allocates MB megabytes (MiB), touches every page, holds them for
 * SECONDS, then exits. Prints "ready" once the memory is resident. */
#include "common.h"

/* Global and volatile: the compiler may not drop an allocation nobody reads. */
static volatile char *block;

int main(int argc, char **argv)
{
	double mb = arg_double(argc, argv, 1, 100);
	double hold = arg_double(argc, argv, 2, 1);
	size_t len = (size_t)(mb * 1024 * 1024);
	block = malloc(len);
	if (!block) {
		perror("malloc");
		return 1;
	}
	for (size_t i = 0; i < len; i += 1024) /* every page gets a frame */
		block[i] = 0x5a;
	printf("ready\n");
	fflush(stdout);
	sleep_s(hold);
	free((void *)block);
	return 0;
}
