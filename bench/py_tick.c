/* The bare timer loop of bench/py_bench.py: what any sampler that sleeps between samples
 * pays, and nothing else.
 *
 *   py_tick INTERVAL DURATION
 *
 * It waits as `profkit py` does (epoll_pwait2 on an epoll set, timing out at the next
 * absolute CLOCK_MONOTONIC deadline, with the timer slack at 1 ns), for DURATION seconds, and does nothing at each wake-up: no process_vm_readv, no /proc. At exit it
 * prints one line, "ticks N cpu_us U": the wake-ups and its own CPU time (user + system).
 * profkit's CPU per sample minus this loop's CPU per tick, measured in the same run, is
 * what reading and recording one Python stack costs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000ULL

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: py_tick INTERVAL DURATION\n");
		return 2;
	}
	double interval = atof(argv[1]), duration = atof(argv[2]);
	if (!(interval > 0) || !(duration > 0)) {
		fprintf(stderr, "py_tick: INTERVAL and DURATION must be positive seconds\n");
		return 2;
	}
	uint64_t period = (uint64_t)(interval * 1e9), start = mono_ns();
	uint64_t end = start + (uint64_t)(duration * 1e9);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("py_tick");
		return 1;
	}
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	uint64_t ticks = 0, k = 1;
	for (;;) {
		uint64_t now = mono_ns(), deadline = start + k * period;
		if (now < deadline) {
			uint64_t left = deadline - now;
			struct timespec ts = { (time_t)(left / NSEC_PER_SEC), (long)(left % NSEC_PER_SEC) };
			struct epoll_event out;
			epoll_pwait2(ep, &out, 1, &ts, NULL);
			now = mono_ns();
			if (now < deadline)
				continue;
		}
		ticks++;
		k = (now - start) / period + 1; /* a late wake-up is taken once */
		if (now >= end)
			break;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	uint64_t cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
			  (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
	printf("ticks %llu cpu_us %llu\n", (unsigned long long)ticks, (unsigned long long)cpu_us);
	return 0;
}
