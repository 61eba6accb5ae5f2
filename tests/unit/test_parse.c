/* The strict command-line number parsers. */
#include "unit.h"

#include <errno.h>
#include "util/parse.h"

static void assert_seconds(const char *s, double want)
{
	double v = -1;
	assert_int_equal(parse_seconds(s, &v), 0);
	assert_float_equal(v, want, 1e-15);
}

static void assert_seconds_rejected(const char *s, int err)
{
	double v = 123;
	assert_int_equal(parse_seconds(s, &v), err);
	assert_true(v == 123); /* untouched */
}

static void test_seconds_accepted(void **state)
{
	assert_seconds("0.05", 0.05);
	assert_seconds("1e-3", 0.001);
	assert_seconds("2", 2);
	assert_seconds("0", 0);
	assert_seconds("1.5E2", 150);
	assert_seconds(".5", 0.5);
	assert_seconds("+3", 3);
}

static void test_seconds_rejected(void **state)
{
	const char *junk[] = { "12abc", "", " 1", "1 ", "nan", "NaN", "inf", "infinity", "0x10",
			       ".", "e5", "1e", "--1", "1e400", "1,5", "5s" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_seconds_rejected(junk[i], -EINVAL);
	assert_seconds_rejected(NULL, -EINVAL);
	assert_seconds_rejected("-1", -ERANGE);
	assert_seconds_rejected("-0.05", -ERANGE);
}

static void assert_int64(const char *s, int64_t min, int64_t max, int r, int64_t want)
{
	int64_t v = 777;
	assert_int_equal(parse_int64(s, min, max, &v), r);
	assert_true(v == (r == 0 ? want : 777));
}

static void test_int64(void **state)
{
	assert_int64("42", 0, 100, 0, 42);
	assert_int64("-5", -10, 10, 0, -5);
	assert_int64("+7", 0, 10, 0, 7);
	assert_int64("007", 0, 10, 0, 7);
	assert_int64("-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN);
	assert_int64("9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX);
	assert_int64("9223372036854775808", INT64_MIN, INT64_MAX, -ERANGE, 0);
	assert_int64("-9223372036854775809", INT64_MIN, INT64_MAX, -ERANGE, 0);
	assert_int64("11", 0, 10, -ERANGE, 0);
	assert_int64("-1", 0, 10, -ERANGE, 0);
	const char *junk[] = { "12abc", "", " 1", "1 ", "0x10", "-", "+", "1e3", "1.0", "nan" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_int64(junk[i], INT64_MIN, INT64_MAX, -EINVAL, 0);
	assert_int64(NULL, 0, 1, -EINVAL, 0);
}

static void assert_pid(const char *s, int r, pid_t want)
{
	pid_t v = 777;
	assert_int_equal(parse_pid(s, &v), r);
	assert_int_equal(v, r == 0 ? want : 777);
}

static void test_pid(void **state)
{
	assert_pid("1", 0, 1);
	assert_pid("2147483647", 0, INT32_MAX);
	assert_pid("2147483648", -ERANGE, 0);
	assert_pid("0", -ERANGE, 0);
	const char *junk[] = { "-1", "+1", "12abc", "", " 1", "0x10", "1.0", "nan", "inf" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_pid(junk[i], -EINVAL, 0);
	assert_pid(NULL, -EINVAL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seconds_accepted),
		cmocka_unit_test(test_seconds_rejected),
		cmocka_unit_test(test_int64),
		cmocka_unit_test(test_pid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
