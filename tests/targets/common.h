/* Helpers shared by the test targets: argument parsing and a monotonic clock. */
#ifndef TARGETS_COMMON_H
#define TARGETS_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Busy until `seconds` have passed; returns a value so the loop is not optimised out. */
static inline unsigned long spin_for(double seconds)
{
	volatile unsigned long x = 0;
	double end = now_s() + seconds;
	while (now_s() < end)
		for (int i = 0; i < 10000; i++)
			x += (unsigned long)i;
	return x;
}

/* Prints "cpu SECONDS wall SECONDS": the CPU time this process used (all threads) and the
 * wall time since `start`, the truth a sampler's cpu_percent is checked against. */
static inline void report_usage(double start)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	printf("cpu %.4f wall %.4f\n", (double)ts.tv_sec + (double)ts.tv_nsec / 1e9,
	       now_s() - start);
	fflush(stdout);
}

static inline double arg_double(int argc, char **argv, int i, double dflt)
{
	if (i >= argc)
		return dflt;
	char *end;
	double v = strtod(argv[i], &end);
	if (*end || end == argv[i]) {
		fprintf(stderr, "%s: bad number '%s'\n", argv[0], argv[i]);
		exit(64);
	}
	return v;
}

#endif
