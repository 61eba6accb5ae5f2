/* naps COUNT MS [LIBRARY]: prints "ready PID", then sleeps MS milliseconds COUNT times
 * (blocked off the CPU in nanosleep). With LIBRARY, dlopen()s it after the first nap, so a
 * profiler attached before sees a new executable mapping. */
#include <dlfcn.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	int count = (int)arg_double(argc, argv, 1, 10);
	double ms = arg_double(argc, argv, 2, 50);
	const char *lib = argc > 3 ? argv[3] : NULL;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (int i = 0; i < count; i++) {
		sleep_s(ms / 1000);
		if (i == 0 && lib && !dlopen(lib, RTLD_NOW)) {
			fprintf(stderr, "naps: %s\n", dlerror());
			return 1;
		}
	}
	return 0;
}
