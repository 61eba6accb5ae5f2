/* callpath SECONDS: a known call path, main -> outer_frame -> middle_frame -> hot_leaf,
 * where hot_leaf burns the CPU for SECONDS. Built twice: callpath_fp with frame pointers
 * and callpath_nofp without (-O2 -fomit-frame-pointer), so that a profiler's stacks can
 * be checked to reach main either way. Prints "cpu X wall Y" at the end. */
#include "common.h"

#define NOINLINE __attribute__((noinline))

static volatile unsigned long sink;

NOINLINE static unsigned long hot_leaf(double seconds)
{
	unsigned long x = 0;
	double end = now_s() + seconds;
	while (now_s() < end)
		for (unsigned long i = 0; i < 2000000; i++)
			x = x * 2862933555777941757ul + 3037000493ul + i;
	return x;
}

/* Each caller does work after the call, so no call becomes a tail jump. */
NOINLINE static unsigned long middle_frame(double seconds)
{
	unsigned long x = hot_leaf(seconds);
	sink = x;
	return x + 1;
}

NOINLINE static unsigned long outer_frame(double seconds)
{
	unsigned long x = middle_frame(seconds);
	sink = x;
	return x + 2;
}

int main(int argc, char **argv)
{
	double start = now_s();
	sink = outer_frame(arg_double(argc, argv, 1, 1));
	report_usage(start);
	return 0;
}
