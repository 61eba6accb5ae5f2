/* late_threads DELAY N SECONDS [MAIN_EXIT]: prints "ready PID", sleeps DELAY seconds, then
 * starts N threads named "late-<i>" (pthread_setname_np, seen in COMM records), each busy
 * for SECONDS. A profiler attached during DELAY must follow threads created after it.
 * With MAIN_EXIT, the main thread leaves (pthread_exit) MAIN_EXIT seconds after starting
 * the threads, and the process lives on in them. */
#include <pthread.h>
#include <unistd.h>
#include "common.h"

static double seconds;

static void *worker(void *arg)
{
	char name[16];
	snprintf(name, sizeof(name), "late-%d", (int)(long)arg);
	pthread_setname_np(pthread_self(), name);
	spin_for(seconds);
	return NULL;
}

int main(int argc, char **argv)
{
	double delay = arg_double(argc, argv, 1, 0.5);
	int n = (int)arg_double(argc, argv, 2, 2);
	seconds = arg_double(argc, argv, 3, 1);
	double main_exit = arg_double(argc, argv, 4, -1);
	pthread_t tids[64];
	if (n < 1 || n > 64)
		return 64;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	sleep_s(delay);
	for (int i = 0; i < n; i++)
		if (pthread_create(&tids[i], NULL, worker, (void *)(long)i) != 0)
			return 1;
	if (main_exit >= 0) {
		sleep_s(main_exit);
		pthread_exit(NULL);
	}
	for (int i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
