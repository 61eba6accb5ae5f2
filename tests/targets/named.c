/* named NAME SECONDS [spin]: sets its name (comm, at most 15 bytes) to NAME with
 * prctl(PR_SET_NAME), prints "ready PID" on stdout, then sleeps (or spins) for SECONDS.
 * A negative SECONDS waits until killed. */
#include <sys/prctl.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: named NAME SECONDS [spin]\n");
		return 64;
	}
	prctl(PR_SET_NAME, argv[1]);
	double seconds = arg_double(argc, argv, 2, 1);
	int spin = argc > 3 && strcmp(argv[3], "spin") == 0;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (seconds < 0)
		for (;;)
			pause();
	if (spin)
		spin_for(seconds);
	else
		sleep_s(seconds);
	return 0;
}
