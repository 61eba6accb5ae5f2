/* A pipe ping-pong between two threads, the worst case of an off-CPU tracer: every round
 * trip is two context switches when both threads share one CPU (run it under taskset -c 0).
 * Waits for a line on stdin (so that tracers can attach to its PID first), then runs N
 * round trips and prints, per thread, its own truth, and the switch rate:
 *   thread TID START_NS END_NS CPU_NS    (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID)
 *   rate SWITCHES_PER_S
 * usage: pingpong N */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct side {
	int in, out;
	bool serve; /* writes first */
	long n;
	pid_t tid;
	uint64_t start, end, cpu;
};

static uint64_t ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *run(void *arg)
{
	struct side *s = arg;
	char c = 'x';
	s->tid = gettid();
	uint64_t cpu0 = ns(CLOCK_THREAD_CPUTIME_ID);
	s->start = ns(CLOCK_MONOTONIC);
	for (long i = 0; i < s->n; i++) {
		if (s->serve && write(s->out, &c, 1) != 1)
			exit(1);
		if (read(s->in, &c, 1) != 1)
			exit(1);
		if (!s->serve && write(s->out, &c, 1) != 1)
			exit(1);
	}
	s->end = ns(CLOCK_MONOTONIC);
	s->cpu = ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	int ab[2], ba[2];
	if (n <= 0 || pipe(ab) != 0 || pipe(ba) != 0)
		return 2;
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin))
		return 2;
	struct side a = { .in = ba[0], .out = ab[1], .serve = true, .n = n };
	struct side b = { .in = ab[0], .out = ba[1], .serve = false, .n = n };
	pthread_t t;
	if (pthread_create(&t, NULL, run, &b) != 0)
		return 1;
	run(&a);
	pthread_join(t, NULL);
	uint64_t start = a.start < b.start ? a.start : b.start;
	uint64_t end = a.end > b.end ? a.end : b.end;
	for (int i = 0; i < 2; i++) {
		const struct side *s = i ? &b : &a;
		printf("thread %d %llu %llu %llu\n", (int)s->tid, (unsigned long long)s->start,
		       (unsigned long long)s->end, (unsigned long long)s->cpu);
	}
	printf("rate %.0f\n", 2.0 * (double)n / ((double)(end - start) / 1e9));
	return fflush(stdout) == 0 ? 0 : 1;
}
