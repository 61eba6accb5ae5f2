/* spin_threads N SECONDS: N threads, each busy for SECONDS (the main thread waits), then
 * prints "cpu X wall Y" (see common.h). */
#include <pthread.h>
#include "common.h"

static double seconds;

static void *worker(void *arg)
{
	(void)arg;
	spin_for(seconds);
	return NULL;
}

int main(int argc, char **argv)
{
	double start = now_s();
	int n = (int)arg_double(argc, argv, 1, 2);
	seconds = arg_double(argc, argv, 2, 1);
	pthread_t tids[64];
	if (n < 1 || n > 64)
		return 64;
	for (int i = 0; i < n; i++)
		if (pthread_create(&tids[i], NULL, worker, NULL) != 0)
			return 1;
	for (int i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	report_usage(start);
	return 0;
}
