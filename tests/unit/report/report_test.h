/* Shared by the unit tests of `profkit report`. */
#ifndef PK_TESTS_REPORT_TEST_H
#define PK_TESTS_REPORT_TEST_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* |a - b| <= tol, with both values in the failure message (cmocka compares floats only). */
#define assert_close(a, b, tol)                                                                    \
	do {                                                                                       \
		double a_ = (a), b_ = (b), t_ = (tol);                                             \
		if (!(fabs(a_ - b_) <= t_))                                                        \
			fail_msg("%s = %.17g, expected %.17g (+-%g)", #a, a_, b_, t_);             \
	} while (0)

/* Relative closeness, for values far from 1. */
#define assert_rel(a, b, rel) assert_close(a, b, fabs((double)(b)) * (rel))

#endif
