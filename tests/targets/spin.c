/* spin SECONDS: one busy thread for SECONDS, then prints "cpu X wall Y" (see common.h). */
#include "common.h"

int main(int argc, char **argv)
{
	double start = now_s();
	spin_for(arg_double(argc, argv, 1, 1));
	report_usage(start);
	return 0;
}
