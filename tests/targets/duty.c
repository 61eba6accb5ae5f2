/* duty BUSY_MS SLEEP_MS SECONDS: alternates BUSY_MS of computing (in compute_phase) with
 * SLEEP_MS of sleeping (in sleep_phase, nanosleep) for SECONDS, then prints
 * "cpu X wall Y". */
#include "common.h"

#define NOINLINE __attribute__((noinline))

static volatile unsigned long sink;

NOINLINE static void compute_phase(double seconds)
{
	sink = spin_for(seconds);
}

NOINLINE static void sleep_phase(double seconds)
{
	sleep_s(seconds);
	sink++;
}

int main(int argc, char **argv)
{
	double busy = arg_double(argc, argv, 1, 50) / 1000;
	double idle = arg_double(argc, argv, 2, 50) / 1000;
	double seconds = arg_double(argc, argv, 3, 2);
	double start = now_s();
	while (now_s() - start < seconds) {
		compute_phase(busy);
		sleep_phase(idle);
	}
	report_usage(start);
	return 0;
}
