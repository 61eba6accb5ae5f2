/* series: bounded decimating series, least-squares slope, PROFIT's leak verdict. */
#include "unit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "analysis/series.h"

/* A series is 6 KiB: keep it off the test's stack frame. */
static struct series *new_series(void)
{
	struct series *s = malloc(sizeof(*s));
	assert_non_null(s);
	series_init(s);
	return s;
}

static void add_linear(struct series *s, int n, double dt, double v0, double slope)
{
	for (int i = 0; i < n; i++)
		series_add(s, i * dt, v0 + slope * i * dt);
}

/* Memory in bytes: grows by 4096 per sample until `until`, then stays. */
static void add_growth_then_flat(struct series *s, int n, int until)
{
	for (int i = 0; i < n; i++)
		series_add(s, i * 0.5, 1e6 + 4096.0 * (i < until ? i : until));
}

static void test_linear_slope(void **state)
{
	struct series *s = new_series();
	add_linear(s, 100, 1.0, 1000, 250);
	double slope = 0;
	assert_int_equal(series_slope(s, 0, &slope), 0);
	assert_float_equal(slope, 250, 1e-9);
	assert_int_equal(leak_profit(s, &slope), LEAK_POSSIBLE);
	assert_float_equal(slope, 250, 1e-9);
	free(s);
}

static void test_flat_is_no_leak(void **state)
{
	struct series *s = new_series();
	add_linear(s, 100, 0.1, 4096000, 0);
	double slope = 1;
	assert_int_equal(leak_profit(s, &slope), LEAK_NONE);
	assert_true(slope == 0);
	free(s);
}

static void test_shrinking_is_no_leak(void **state)
{
	struct series *s = new_series();
	add_linear(s, 50, 1.0, 1e9, -1000);
	double slope = 0;
	assert_int_equal(leak_profit(s, &slope), LEAK_NONE);
	assert_float_equal(slope, -1000, 1e-6);
	free(s);
}

/* PROFIT looks at the second half only: early growth (start-up) is no leak. */
static void test_growth_then_flat_judged_on_second_half(void **state)
{
	struct series *s = new_series();
	add_growth_then_flat(s, 200, 80);
	double whole = 0, second = 1;
	assert_int_equal(series_slope(s, 0, &whole), 0);
	assert_true(whole > 0);
	assert_int_equal(leak_profit(s, &second), LEAK_NONE);
	assert_true(second == 0);
	free(s);
}

static void test_decimation_keeps_slope(void **state)
{
	struct series *s = new_series();
	const int n = SERIES_BUCKETS * 8 + 77;
	add_linear(s, n, 0.01, 5, 3);
	assert_int_equal(s->count, n);
	assert_true(s->nbuckets <= SERIES_BUCKETS);
	assert_true(s->width >= 8);
	double slope = 0;
	assert_int_equal(series_slope(s, 0, &slope), 0);
	assert_float_equal(slope, 3, 1e-9);
	assert_int_equal(leak_profit(s, &slope), LEAK_POSSIBLE);
	assert_float_equal(slope, 3, 1e-9);
	assert_float_equal(s->t_first, 0, 0);
	assert_float_equal(s->t_last, (n - 1) * 0.01, 1e-9);
	free(s);
}

static void test_decimated_growth_then_flat(void **state)
{
	struct series *s = new_series();
	const int n = SERIES_BUCKETS * 8 + 77;
	add_growth_then_flat(s, n, n * 2 / 5);
	double slope = 1;
	assert_int_equal(leak_profit(s, &slope), LEAK_NONE);
	assert_true(slope == 0);
	free(s);
}

static void test_every_sample_counted_across_halvings(void **state)
{
	struct series *s = new_series();
	for (int i = 0; i < 100000; i++)
		series_add(s, i, 1);
	uint64_t n = 0;
	for (uint32_t i = 0; i < s->nbuckets; i++)
		n += s->b[i].n;
	assert_int_equal(n, 100000);
	assert_true(s->nbuckets <= SERIES_BUCKETS);
	free(s);
}

static void test_too_few_buckets_is_unknown(void **state)
{
	struct series *s = new_series();
	double slope = 42;
	assert_int_equal(leak_profit(s, &slope), LEAK_UNKNOWN); /* empty */
	add_linear(s, 2, 1.0, 0, 1);
	assert_int_equal(series_slope(s, 0, &slope), -ENODATA);
	assert_int_equal(leak_profit(s, &slope), LEAK_UNKNOWN);
	series_add(s, 2, 2);
	series_add(s, 3, 3); /* 4 samples: only 2 in the second half */
	assert_int_equal(leak_profit(s, &slope), LEAK_UNKNOWN);
	assert_true(slope == 42); /* untouched */
	series_add(s, 4, 4);
	series_add(s, 5, 5); /* 6 samples: 3 in the second half */
	assert_int_equal(leak_profit(s, &slope), LEAK_POSSIBLE);
	assert_float_equal(slope, 1, 1e-12);
	free(s);
}

static void test_same_time_has_no_slope(void **state)
{
	struct series *s = new_series();
	for (int i = 0; i < 10; i++)
		series_add(s, 7, i);
	double slope;
	assert_int_equal(series_slope(s, 0, &slope), -ENODATA);
	free(s);
}

static void test_verdict_names(void **state)
{
	assert_string_equal(leak_verdict_name(LEAK_POSSIBLE), "possible leak");
	assert_string_equal(leak_verdict_name(LEAK_NONE), "no leak");
	assert_string_equal(leak_verdict_name(LEAK_UNKNOWN), "too few samples");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linear_slope),
		cmocka_unit_test(test_flat_is_no_leak),
		cmocka_unit_test(test_shrinking_is_no_leak),
		cmocka_unit_test(test_growth_then_flat_judged_on_second_half),
		cmocka_unit_test(test_decimation_keeps_slope),
		cmocka_unit_test(test_decimated_growth_then_flat),
		cmocka_unit_test(test_every_sample_counted_across_halvings),
		cmocka_unit_test(test_too_few_buckets_is_unknown),
		cmocka_unit_test(test_same_time_has_no_slope),
		cmocka_unit_test(test_verdict_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
