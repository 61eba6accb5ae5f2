/* The memory-trend verdict (src/analysis/leak.c) on series whose truth is known: a linear
 * leak, a step then flat, a garbage collector's sawtooth, noise, slow growth, smooth growth
 * with little noise, and growth that began late (the shape of `make demo`). */
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
			 "quarter %.0f [%.0f, %.0f], growth %.3f; late: %s",
			 what, leak_trend_name(a.trend), a.reason, leak_trend_name(want),
			 a.half.slope, a.half.ci_lo, a.half.ci_hi, a.half.n_eff, a.quarter.slope,
			 a.quarter.ci_lo, a.quarter.ci_hi, a.growth_rel,
			 a.late ? leak_share_name(a.late_window.depth) : "no");
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

/* Smooth growth with little noise (a page, or 1% of the growth) over 40 to 200 samples: its
 * residuals are nearly independent even though the series itself is as autocorrelated as a
 * series can be, so the interval is narrow. Growth of 20% over the second half is a leak;
 * 1% is real but not material (LEAK_MATERIAL_REL is 5%): growing. */
/* n samples growing by rel of 100 MB over their second half, with noise sd. */
static void check_smooth(struct series_buf *s, size_t n, double rel, double sd, uint64_t seed)
{
	double half_s = (double)(n - 1) * DT / 2, rate = rel * 100 * MB / half_s;
	char what[96];
	snprintf(what, sizeof(what), "%zu samples, %.0f%% growth, sd %.0f B", n, rel * 100, sd);
	make(s, n, linear, rate, sd, seed);
	expect(s, rel >= 2 * LEAK_MATERIAL_REL ? TREND_LEAK : TREND_GROWING, what);
	struct leak_analysis a = analyze(s);
	assert_false(a.late);
	/* The series' own lag-1 autocorrelation is close to 1; the interval uses the
	 * residuals', close to 0. */
	assert_true(stats_autocorr1(s->v + (n - a.n_half), a.n_half) > 0.8);
	assert_true(fabs(a.half.r1) < 0.5);
	assert_true(a.half.n_eff > (double)a.n_half / 3);
}

static void test_smooth_linear(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	static const size_t ns[] = { 40, 60, 100, 150, 200 };
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		for (uint64_t seed = 1; seed <= 10; seed++) {
			/* Noise of a page, or of 1% of the whole growth (twice the half's). */
			check_smooth(s, ns[i], 0.20, 4096, 60 + seed);
			check_smooth(s, ns[i], 0.20, 0.01 * 2 * 0.20 * 100 * MB, 70 + seed);
			check_smooth(s, ns[i], 0.01, 4096, 80 + seed);
			check_smooth(s, ns[i], 0.01, 0.01 * 2 * 0.01 * 100 * MB, 90 + seed);
		}
	free(s);
}

/* The recording of `make demo` (examples/workload.py --size 1 --leak) that was judged
 * stable: elapsed seconds and RSS in pages. It computes, writes and waits for 2.6 s at
 * 12 MiB, then keeps 40 MiB in 40 calls over its last quarter; the last sample is its
 * runtime freeing memory on the way out. (The loader leaves out the first sample's RSS, 0
 * because the kernel had not counted it yet, and the zombie's.) */
static const double demo_t[] = {
	0.0552, 0.1032, 0.1512, 0.2112, 0.2552, 0.3032, 0.3552, 0.4032, 0.4500, 0.5072, 0.5500,
	0.6000, 0.6512, 0.7000, 0.7575, 0.8033, 0.8504, 0.9032, 0.9500, 1.0032, 1.0500, 1.1001,
	1.1501, 1.2000, 1.2500, 1.3000, 1.3501, 1.4001, 1.4514, 1.5036, 1.5555, 1.6073, 1.6501,
	1.7076, 1.7552, 1.8001, 1.8504, 1.9000, 1.9504, 2.0000, 2.0501, 2.1000, 2.1500, 2.2000,
	2.2501, 2.3000, 2.3501, 2.4032, 2.4501, 2.5032, 2.5501, 2.6001, 2.6512, 2.7000, 2.7500,
	2.8032, 2.8501, 2.9032, 2.9500, 3.0001, 3.0501, 3.1086, 3.1513, 3.2044, 3.2552, 3.3112,
	3.3513, 3.4005, 3.4501
};
static const double demo_pages[] = {
	2426, 2953, 2953, 2953, 2953, 2953, 2953, 2953, 2953, 2953, 2953, 2953,
	2953, 2953, 2953, 2953, 2953, 2953, 2953, 2953, 2999, 2999, 2999, 2999,
	2999, 2999, 2999, 2999, 2999, 2999, 2999, 2999, 2999, 2999, 2999, 3142,
	3142, 3142, 3142, 3142, 3142, 3142, 3142, 3142, 3142, 3142, 3142, 3142,
	3142, 3142, 3142, 3622, 4166, 4934, 5446, 6214, 6726, 7238, 7750, 8262,
	9030, 9542, 10054, 10822, 11334, 11846, 12390, 12902, 9053
};

static void test_demo_recording_is_leak(void **state)
{
	(void)state;
	size_t n = sizeof(demo_t) / sizeof(demo_t[0]);
	assert_int_equal(n, sizeof(demo_pages) / sizeof(demo_pages[0]));
	struct series_buf *s = malloc(sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		s->t[i] = T0 + demo_t[i];
		s->v[i] = demo_pages[i] * 4096;
	}
	s->n = leak_trim_exit(s->v, n);
	assert_int_equal(s->n, n - 1);
	expect(s, TREND_LEAK, "the demo's recording");
	struct leak_analysis a = analyze(s);
	/* The second half is flat, then steep: a line fits it so badly that its interval
	 * includes 0. The last quarter, all growth, is what shows the leak. */
	assert_true(a.half.ci_lo <= 0);
	assert_true(a.late);
	const struct leak_late *w = &a.late_window;
	assert_int_equal(w->depth, 2);
	assert_true(w->fit.ci_lo > 30 * MB && w->check.ci_lo > 30 * MB);
	assert_true(w->check_medians[1] > w->check_medians[0]);
	assert_true(w->start_medians[1] > w->start_medians[0]);
	assert_true(w->end > 45 * MB && w->peak_before < 13 * MB);
	free(s);
}

/* The demo's shape under any load: flat, then 1 MiB kept every 22 ms (sampled every 50 ms,
 * with jitter) from an onset anywhere up to 90% of the process's life, to its end. On a
 * loaded machine the computing part before it takes longer: the onset moves later. */
static void make_demo(struct series_buf *s, double life, double onset, uint64_t seed)
{
	rng_state = seed;
	s->n = 0;
	for (size_t i = 0; i * DT <= life + 1e-9; i++) {
		double t = i * DT + DT * 0.2 * (uniform01() - 0.5);
		double v = 12 * MB + 64 * 1024 * gauss();
		if (t > onset * life)
			v += floor((t - onset * life) / 0.022) * 1048576;
		s->t[s->n] = T0 + t;
		s->v[s->n++] = floor(v / 4096) * 4096;
	}
}

static void test_demo_shape_is_leak(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	static const double lives[] = { 3.5, 6.0, 10.0 };
	int depth_seen[LEAK_LATE_DEPTH + 1] = { 0 };
	for (size_t l = 0; l < sizeof(lives) / sizeof(lives[0]); l++)
		for (int k = 0; k <= 12; k++) {
			double onset = 0.30 + 0.05 * k;
			char what[64];
			snprintf(what, sizeof(what), "%.1f s, growth from %.0f%% of it", lives[l],
				 onset * 100);
			for (uint64_t seed = 1; seed <= 10; seed++) {
				make_demo(s, lives[l], onset, 70 + seed);
				expect(s, TREND_LEAK, what);
				struct leak_analysis a = analyze(s);
				depth_seen[a.late ? a.late_window.depth : 1]++;
			}
		}
	/* All three windows took part: the second half, the last quarter, the last eighth. */
	for (int d = 1; d <= LEAK_LATE_DEPTH; d++)
		assert_true(depth_seen[d] > 0);
	/* A life of 2.5 s (50 samples) is enough down to the last quarter. */
	for (int k = 0; k <= 10; k++) {
		make_demo(s, 2.5, 0.30 + 0.05 * k, 90);
		expect(s, TREND_LEAK, "2.5 s");
	}
	free(s);
}

/* workload.py without --leak: flat, a step of 0.56 MiB when it starts a thread, and 0.18 MiB
 * more in the last sample, on its way out. Neither the step (anywhere) nor the last sample
 * is a leak. */
static void test_small_step_and_exit_is_not_leak(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	static const double lives[] = { 3.0, 3.6, 5.0, 8.0 };
	for (size_t l = 0; l < sizeof(lives) / sizeof(lives[0]); l++)
		for (int k = 0; k <= 45; k++) {
			double when = lives[l] * (0.50 + 0.01 * k);
			s->n = 0;
			for (size_t i = 0; i * DT <= lives[l] + 1e-9; i++) {
				double v = 11.58 * 1048576 + (i * DT >= when ? 0.56 * 1048576 : 0);
				s->t[s->n] = T0 + i * DT;
				s->v[s->n++] = floor(v / 4096) * 4096;
			}
			s->v[s->n - 1] += 46 * 4096;
			struct leak_analysis a = analyze(s);
			if (a.trend == TREND_LEAK)
				fail_msg("step at %.2f s of %.1f: %s", when, lives[l], a.reason);
		}
	free(s);
}

static double fall_then_recover(double t, double when)
{
	return t < when ? 150 * MB : 100 * MB + 40 * MB * (t - when) / (10 - when);
}

/* What the late check must not take for a leak: growth over the last quarter that stays
 * below what the process held before (a slow collector's sawtooth cut on a rising edge, a
 * recovery after a fall), and a step just inside the last quarter. */
static void test_late_growth_guards(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	for (uint64_t seed = 1; seed <= 10; seed++) {
		make(s, 200, sawtooth, 7.4, 0.5 * MB, 80 + seed);
		struct leak_analysis a = analyze(s);
		assert_true(a.quarter.ci_lo > 0); /* the last quarter alone does grow */
		expect(s, TREND_STABLE, "sawtooth of 7.4 s, cut on its rising edge");
		assert_false(a.late);
		make(s, 200, fall_then_recover, 7.0, 0.5 * MB, 90 + seed);
		expect(s, TREND_STABLE, "fell at 7 s, recovers part of it");
		make(s, 200, step_at, 7.6, 0.1 * MB, 100 + seed);
		assert_int_not_equal(analyze(s).trend, TREND_LEAK);
	}
	/* Growth over the last quarter with too few samples in the last eighth to confirm it. */
	make_demo(s, 1.15, 0.7, 3);
	assert_int_equal(s->n, 24);
	struct leak_analysis a = analyze(s);
	assert_true(a.late);
	assert_false(a.late_window.have_check);
	expect(s, TREND_GROWING, "late growth, 3 samples in the last eighth");
	assert_string_equal(a.reason, "began late: grows, but too few samples at the end to "
				      "confirm it");
	free(s);
}

/* The verdict needs the later half of its check to hold more memory than the earlier half,
 * or one sample could confirm growth: here a step just after the last quarter begins (its
 * first sample low) and one high sample at the end tilt the quarter's line enough for its
 * interval to lie above 0, while its residuals show no autocorrelation to widen it. */
static void test_one_sample_does_not_confirm(void **state)
{
	(void)state;
	struct series_buf *s = malloc(sizeof(*s));
	s->n = 71;
	for (size_t i = 0; i < s->n; i++) {
		s->t[i] = T0 + i * DT;
		s->v[i] = floor((11.58 * 1048576 + (i * DT >= 2.66 ? 0.56 * 1048576 : 0)) / 4096);
		s->v[i] *= 4096;
	}
	s->v[s->n - 1] += 46 * 4096;
	struct leak_analysis a = analyze(s);
	assert_true(a.half.ci_lo > 0 && a.growth >= LEAK_MATERIAL_REL * a.half_mean);
	assert_true(a.quarter.ci_lo > 0); /* the interval alone would confirm it */
	assert_true(a.quarter_medians[1] <= a.quarter_medians[0]);
	expect(s, TREND_GROWING, "a step as the last quarter begins, one sample at the end");
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
		cmocka_unit_test(test_smooth_linear),
		cmocka_unit_test(test_demo_recording_is_leak),
		cmocka_unit_test(test_demo_shape_is_leak),
		cmocka_unit_test(test_small_step_and_exit_is_not_leak),
		cmocka_unit_test(test_late_growth_guards),
		cmocka_unit_test(test_one_sample_does_not_confirm),
		cmocka_unit_test(test_exit_trim),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
