/* The bare timer loop of bench/py_bench.py: what any sampler that sleeps between samples
 * pays, and nothing else.
 *
 *   py_tick INTERVAL DURATION
 *
 * It waits as `profkit py` does (one timerfd, periodic on absolute CLOCK_MONOTONIC
 * deadlines, in an epoll set; epoll_wait, then read() of the timerfd), for DURATION
 * seconds, and does nothing at each wake-up: no process_vm_readv, no /proc. At exit it
 * prints one line, "ticks N cpu_us U": the wake-ups and its own CPU time (user + system).
 * profkit's CPU per sample minus this loop's CPU per tick, measured in the same run, is
 * what reading and recording one Python stack costs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
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
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	if (tfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0) {
		perror("py_tick");
		return 1;
	}
	uint64_t first = start + period;
	struct itimerspec it = {
		.it_value = { (time_t)(first / NSEC_PER_SEC), (long)(first % NSEC_PER_SEC) },
		.it_interval = { (time_t)(period / NSEC_PER_SEC), (long)(period % NSEC_PER_SEC) },
	};
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL) < 0) {
		perror("py_tick: timerfd_settime");
		return 1;
	}
	uint64_t ticks = 0;
	for (;;) {
		struct epoll_event out;
		if (epoll_wait(ep, &out, 1, -1) <= 0)
			continue;
		uint64_t exp;
		if (read(tfd, &exp, sizeof(exp)) != sizeof(exp))
			continue;
		ticks++;
		if (mono_ns() >= end)
			break;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	uint64_t cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
			  (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
	printf("ticks %llu cpu_us %llu\n", (unsigned long long)ticks, (unsigned long long)cpu_us);
	return 0;
}
