#include "core/clock.h"

#include <sys/prctl.h>
#include <time.h>

static uint64_t ns_of(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t clock_mono_ns(void) { return ns_of(CLOCK_MONOTONIC); }

double clock_unix_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_boot_epoch(void)
{
	/* Read boottime between two realtime reads and keep the tightest pair. */
	double best = 0, best_gap = 1e9;
	for (int i = 0; i < 3; i++) {
		uint64_t r0 = ns_of(CLOCK_REALTIME), b = ns_of(CLOCK_BOOTTIME),
			 r1 = ns_of(CLOCK_REALTIME);
		double gap = (double)(r1 - r0);
		if (gap < best_gap) {
			best_gap = gap;
			best = ((double)r0 + gap / 2 - (double)b) / 1e9;
		}
	}
	return best;
}

static int inherited_slack = -1; /* ns; -1: never changed */

void clock_tight_timer_slack(void)
{
	if (inherited_slack < 0)
		inherited_slack = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

void clock_restore_timer_slack(void)
{
	if (inherited_slack > 0)
		prctl(PR_SET_TIMERSLACK, (unsigned long)inherited_slack, 0UL, 0UL, 0UL);
}
