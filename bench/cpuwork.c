/* cpuwork THREADS ITERATIONS: THREADS threads each run ITERATIONS rounds of a fixed
 * computation through a short call chain (built without frame pointers, like most of
 * Debian), then prints "wall SECONDS cpu SECONDS" (its own CPU time, all threads) "end T" (CLOCK_MONOTONIC when the work ended). The fixed amount of work makes a profiler's
 * slowdown measurable: wall time under the profiler / wall time alone. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

static volatile unsigned long sink;
static long iterations;

NOINLINE static unsigned long mix(unsigned long x)
{
	for (int i = 0; i < 1000; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	return x;
}

NOINLINE static unsigned long round_of_work(unsigned long x)
{
	x = mix(x);
	sink = x;
	return x + 1;
}

static void *worker(void *arg)
{
	unsigned long x = (unsigned long)(size_t)arg;
	for (long i = 0; i < iterations; i++)
		x = round_of_work(x);
	sink = x;
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	iterations = argc > 2 ? atol(argv[2]) : 100000;
	if (n < 1 || n > 64 || iterations < 1) {
		fprintf(stderr, "usage: cpuwork THREADS ITERATIONS\n");
		return 64;
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	pthread_t t[64];
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, (void *)(size_t)(i + 1));
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	struct timespec c;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
	printf("wall %.6f cpu %.6f end %.6f\n",
	       (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
	       (double)c.tv_sec + (double)c.tv_nsec / 1e9,
	       (double)b.tv_sec + (double)b.tv_nsec / 1e9);
	return 0;
}
