/* The memory-trend verdict (src/analysis/leak.c) on series whose truth is known: a linear
 * leak, a step then flat, a garbage collector's sawtooth, noise, slow growth. */
#include "report_test.h"

#include <stdio.h>
#include <stdlib.h>
#include "analysis/leak.h"

#define MB 1e6
#define DT 0.05 /* profkit's default interval */
#define T0 1.8e9

/* A reproducible normal deviate (Box-Muller on a 64-bit LCG), so the tests never flake. */
static uint64_t rng_state;

static double uniform01(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void) { return sqrt(-2 * log(uniform01())) * cos(2 * M_PI * uniform01()); }

struct series_buf {
	size_t n;
	double t[4000], v[4000];
};

typedef double (*shape_fn)(double t, double param);

/* n samples every DT of shape(t) plus normal noise of sd bytes, rounded to pages as RSS is. */
static void make(struct series_buf *s, size_t n, shape_fn shape, double param, double sd,
		 uint64_t seed)
{
	rng_state = seed;
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		s->t[i] = T0 + i * DT;
		double v = shape(i * DT, param) + sd * gauss();
		s->v[i] = floor(v / 4096) * 4096;
	}
}

static struct leak_analysis analyze(const struct series_buf *s)
{
	struct leak_analysis a;
	leak_analyze(s->t, s->v, s->n, &a);
	return a;
}

static void expect(const struct series_buf *s, enum leak_trend want, const char *what)
{
	struct leak_analysis a = analyze(s);
	if (getenv("LEAK_VERBOSE"))
		printf("%-40s %-8s %-60s slope %.3g [%.3g, %.3g] r1 %.2f n_eff %.1f q %.3g [%.3g, "
		       "%.3g] growth %.3f\n",
		       what, leak_trend_name(a.trend), a.reason, a.half.slope, a.half.ci_lo,
		       a.half.ci_hi, a.half.r1, a.half.n_eff, a.quarter.slope, a.quarter.ci_lo,
		       a.quarter.ci_hi, a.growth_rel);
	if (a.trend != want)
		fail_msg("%s: %s (%s), expected %s; slope %.0f B/s CI [%.0f, %.0f] n_eff %.1f, "
			 "quarter %.0f [%.0f, %.0f], growth %.3f",
			 what, leak_trend_name(a.trend), a.reason, leak_trend_name(want),
			 a.half.slope, a.half.ci_lo, a.half.ci_hi, a.half.n_eff, a.quarter.slope,
			 a.quarter.ci_lo, a.quarter.ci_hi, a.growth_rel);
}

static double linear(double t, double rate) { return 100 * MB + rate * t; }
static double flat(double t, double level)
{
	(void)t;
	return level;
}

static double step_at(double t, double when) { return t < when ? 100 * MB : 150 * MB; }

/* A collector's sawtooth: allocate 100 MB over each period, then free it all. */
static double sawtooth(double t, double period)
{
	return 100 * MB + 100 * MB * fmod(t, period) / period;
}

/* The same sawtooth on a floor that rises 5 MB/s: the live set leaks. */
static double leaky_sawtooth(double t, double period) { return sawtooth(t, period) + 5 * MB * t; }

static void test_linear_growth_is_leak(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	make(s, 200, linear, 5 * MB, 0.2 * MB, 1);
	expect(s, TREND_LEAK, "5 MB/s with noise");
	struct leak_analysis a = analyze(s);
	assert_close(a.half.slope, 5 * MB, 0.1 * MB);
	assert_true(a.half.ci_lo < 5 * MB && a.half.ci_hi > 5 * MB);
	assert_close(a.growth, 5 * MB * 4.95, 0.3 * MB); /* over the second half, 4.95 s */
	assert_int_equal(a.profit, LEAK_POSSIBLE);
	make(s, 200, linear, 5 * MB, 0, 2);
	expect(s, TREND_LEAK, "5 MB/s without noise");
	/* Exactly one page per sample: the two slopes differ only by rounding. */
	for (size_t i = 0; i < 4000; i++) {
		s->t[i] = T0 + i * DT;
		s->v[i] = 50 * MB + 4096.0 * i;
	}
	s->n = 4000;
	expect(s, TREND_LEAK, "one page per sample, exactly");
	/* Growth that slows down but goes on is still growth. */
	for (size_t i = 0; i < 400; i++)
		s->v[i] = 100 * MB + 20 * MB * sqrt(i * DT);
	s->n = 400;
	expect(s, TREND_LEAK, "decelerating growth");
	free(s);
}

static void test_step_then_flat_is_not_leak(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	/* The step in the first half, early in the second half, and late in it. */
	double whens[] = { 3.0, 5.5, 6.5, 7.0 };
	for (size_t i = 0; i < sizeof(whens) / sizeof(whens[0]); i++) {
		char what[64];
		snprintf(what, sizeof(what), "step at %.1f s of 10", whens[i]);
		make(s, 200, step_at, whens[i], 0.1 * MB, 10 + i);
		expect(s, TREND_STABLE, what);
		make(s, 200, step_at, whens[i], 0, 20 + i);
		expect(s, TREND_STABLE, what);
	}
	/* Noise as large as a fifth of the step hides the autocorrelation; the flat last
	 * quarter still shows that the growth stopped. */
	for (uint64_t seed = 40; seed < 60; seed++) {
		make(s, 200, step_at, 6.5, 10 * MB, seed);
		expect(s, TREND_STABLE, "step at 6.5 s under heavy noise");
	}
	/* A step inside the last quarter looks like growth that has just begun: never a leak. */
	make(s, 200, step_at, 8.5, 0.1 * MB, 30);
	assert_int_not_equal(analyze(s).trend, TREND_LEAK);
	/* PROFIT's rule fires on a step inside the second half; ours does not. */
	make(s, 200, step_at, 6.5, 0.1 * MB, 3);
	assert_int_equal(analyze(s).profit, LEAK_POSSIBLE);
	free(s);
}

static void test_gc_sawtooth_is_stable(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	double periods[] = { 1.0, 1.3, 0.45, 2.2, 3.1 };
	for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
		char what[64];
		snprintf(what, sizeof(what), "sawtooth with period %.2f s", periods[i]);
		make(s, 200, sawtooth, periods[i], 0.5 * MB, 30 + i);
		expect(s, TREND_STABLE, what);
	}
	free(s);
}

static void test_leaking_sawtooth_is_leak(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	make(s, 1200, leaky_sawtooth, 1.0, 0.5 * MB, 4); /* one minute */
	expect(s, TREND_LEAK, "sawtooth on a floor rising 5 MB/s");
	free(s);
}

static void test_noise_is_stable(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	int not_stable = 0;
	for (uint64_t seed = 100; seed < 150; seed++) {
		make(s, 200, flat, 100 * MB, 1 * MB, seed);
		struct leak_analysis a = analyze(s);
		assert_int_not_equal(a.trend, TREND_LEAK);
		not_stable += a.trend != TREND_STABLE;
	}
	/* A 95% interval misses 0 upwards 2.5% of the time; the other checks cut that further. */
	assert_true(not_stable <= 3);
	free(s);
}

static void test_slow_growth_is_growing(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	/* 100 kB/s on 100 MB: 0.5% over the second half, real but not material. */
	make(s, 200, linear, 0.1 * MB, 0.02 * MB, 5);
	expect(s, TREND_GROWING, "slow steady growth");
	assert_true(analyze(s).growth_rel < LEAK_MATERIAL_REL);
	free(s);
}

static void test_falling_and_flat(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	make(s, 200, linear, -2 * MB, 0.1 * MB, 6);
	expect(s, TREND_STABLE, "falling");
	assert_string_equal(analyze(s).reason, "falls over the second half");
	make(s, 200, flat, 50 * MB, 0, 7);
	expect(s, TREND_STABLE, "constant");
	assert_int_equal(analyze(s).profit, LEAK_NONE);
	free(s);
}

static void test_too_few_samples(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	make(s, 8, linear, 5 * MB, 0, 8);
	expect(s, TREND_UNKNOWN, "8 samples");
	make(s, 0, linear, 5 * MB, 0, 8);
	expect(s, TREND_UNKNOWN, "no samples");
	/* Enough for the second half but not for the last quarter: growing at most. */
	make(s, 12, linear, 5 * MB, 0, 9);
	struct leak_analysis a = analyze(s);
	assert_false(a.have_quarter);
	assert_int_equal(a.trend, TREND_GROWING);
	free(s);
}

static void test_exit_trim(void **state)
{
	(void)state;
	double rss[] = { 1, 2, 3, 4, 2, 1 };
	assert_int_equal(leak_trim_exit(rss, 6), 4);
	double rise[] = { 1, 2, 3, 4 };
	assert_int_equal(leak_trim_exit(rise, 4), 4);
	double falls[] = { 9, 8, 7, 6, 5 };
	assert_int_equal(leak_trim_exit(falls, 5), 3); /* at most LEAK_EXIT_TRIM */
	assert_int_equal(leak_trim_exit(rss, 1), 1);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(leak_trend_name(TREND_LEAK), "leak");
	assert_string_equal(leak_trend_name(TREND_GROWING), "growing");
	assert_string_equal(leak_trend_name(TREND_STABLE), "stable");
	assert_string_equal(leak_trend_name(TREND_UNKNOWN), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linear_growth_is_leak),
		cmocka_unit_test(test_step_then_flat_is_not_leak),
		cmocka_unit_test(test_gc_sawtooth_is_stable),
		cmocka_unit_test(test_leaking_sawtooth_is_leak),
		cmocka_unit_test(test_noise_is_stable),
		cmocka_unit_test(test_slow_growth_is_growing),
		cmocka_unit_test(test_falling_and_flat),
		cmocka_unit_test(test_too_few_samples),
		cmocka_unit_test(test_exit_trim),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
