/* strbuf: appends, integer and fixed-point formatting. */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include "util/strbuf.h"

static const char *fixed(struct strbuf *sb, double v, int decimals)
{
	sb_reset(sb);
	sb_add_fixed(sb, v, decimals);
	return sb_str(sb);
}

static void test_empty_and_appends(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(sb_str(&sb), "");
	sb_adds(&sb, "ab");
	sb_addc(&sb, 'c');
	sb_add(&sb, "d\0e", 3);
	sb_addf(&sb, "-%d-%s", 12, "x");
	assert_int_equal(sb.len, 11);
	assert_memory_equal(sb.buf, "abcd\0e-12-x", 11);
	assert_false(sb.failed);
	sb_reset(&sb);
	assert_string_equal(sb_str(&sb), "");
	sb_free(&sb);
	assert_null(sb.buf);
}

static void test_growth_keeps_content(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 10000; i++)
		sb_addc(&sb, (char)('a' + i % 26));
	sb_addf(&sb, "%5000s", "end");
	assert_int_equal(sb.len, 15000);
	assert_int_equal(strlen(sb_str(&sb)), 15000);
	assert_int_equal(sb.buf[9999], 'a' + 9999 % 26);
	assert_string_equal(sb.buf + 14997, "end");
	sb_free(&sb);
}

static void test_integers(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	sb_add_u64(&sb, 0);
	sb_addc(&sb, ' ');
	sb_add_u64(&sb, UINT64_MAX);
	sb_addc(&sb, ' ');
	sb_add_i64(&sb, INT64_MIN);
	sb_addc(&sb, ' ');
	sb_add_i64(&sb, -1);
	sb_addc(&sb, ' ');
	sb_add_i64(&sb, INT64_MAX);
	assert_string_equal(sb_str(&sb),
			    "0 18446744073709551615 -9223372036854775808 -1 9223372036854775807");
	sb_free(&sb);
}

static void test_fixed_rounding(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(fixed(&sb, 3.14159, 2), "3.14");
	assert_string_equal(fixed(&sb, 3.14159, 4), "3.1416");
	assert_string_equal(fixed(&sb, 1.999, 2), "2.00"); /* carries into the integer part */
	assert_string_equal(fixed(&sb, 0.0049, 2), "0.00");
	assert_string_equal(fixed(&sb, 0.0051, 2), "0.01");
	assert_string_equal(fixed(&sb, 0.05, 6), "0.050000");
	assert_string_equal(fixed(&sb, 7.0, 0), "7");
	assert_string_equal(fixed(&sb, 1.000000001, 9), "1.000000001");
	assert_string_equal(fixed(&sb, 0, 3), "0.000");
	sb_free(&sb);
}

static void test_fixed_negative(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(fixed(&sb, -1.5, 1), "-1.5");
	assert_string_equal(fixed(&sb, -0.04, 3), "-0.040");
	assert_string_equal(fixed(&sb, -123.456, 2), "-123.46");
	sb_free(&sb);
}

static void test_fixed_decimals_clamped(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(fixed(&sb, 2.25, -3), "2");
	assert_string_equal(fixed(&sb, 1.5, 12), "1.500000000");
	sb_free(&sb);
}

static void test_fixed_large_values_fall_back(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(fixed(&sb, 8999999999.25, 2), "8999999999.25");
	assert_string_equal(fixed(&sb, 9e9, 2), "9000000000.00");
	assert_string_equal(fixed(&sb, 1e20, 1), "100000000000000000000.0");
	assert_string_equal(fixed(&sb, -9.5e9, 1), "-9500000000.0");
	assert_string_equal(fixed(&sb, 1700000000.123456, 6), "1700000000.123456");
	sb_free(&sb);
}

/* Agrees with printf wherever the value is not within rounding noise of a tie. */
static void test_fixed_matches_printf(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char want[64];
	int compared = 0;
	for (int i = -50000; i <= 50000; i++) {
		double v = i * 0.0137 + i * (double)i * 1e-3;
		double scaled = fabs(v) * 1000;
		if (fabs(scaled - floor(scaled) - 0.5) < 1e-6)
			continue;
		snprintf(want, sizeof(want), "%.3f", v);
		assert_string_equal(fixed(&sb, v, 3), want);
		compared++;
	}
	assert_true(compared > 80000); /* i = 5 mod 10 gives ties */
	sb_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_appends),
		cmocka_unit_test(test_growth_keeps_content),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_fixed_rounding),
		cmocka_unit_test(test_fixed_negative),
		cmocka_unit_test(test_fixed_decimals_clamped),
		cmocka_unit_test(test_fixed_large_values_fall_back),
		cmocka_unit_test(test_fixed_matches_printf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
