/* src/analysis/stats.c against values known independently: hand computations, textbook
 * examples, closed forms of the t distribution, and published t tables. */
#include "report_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/stats.h"

static void test_mean_variance(void **state)
{
	(void)state;
	double v[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	assert_close(stats_mean(v, 8), 5.0, 0);
	assert_close(stats_variance(v, 8), 32.0 / 7, 1e-15);
	assert_true(isnan(stats_mean(v, 0)));
	assert_true(isnan(stats_variance(v, 1)));
	/* Large offsets keep their digits: RSS values of a few GB that vary by pages. */
	double big[] = { 4e9 + 4096, 4e9, 4e9 + 8192 };
	assert_close(stats_variance(big, 3), 4096.0 * 4096, 1e-3);
}

static void test_acc(void **state)
{
	(void)state;
	struct stats_acc a = { 0 };
	assert_true(isnan(stats_acc_mean(&a)));
	stats_acc_add(&a, 3);
	stats_acc_add(&a, -1);
	stats_acc_add(&a, 10);
	assert_int_equal(a.n, 3);
	assert_close(a.min, -1, 0);
	assert_close(a.max, 10, 0);
	assert_close(stats_acc_mean(&a), 4, 0);
}

static void test_quantile_known(void **state)
{
	(void)state;
	double v[] = { 10, 1, 9, 2, 8, 3, 7, 4, 6, 5 }; /* 1..10 shuffled */
	/* Type 7: h = (n - 1) p; 1..10 gives p50 = 5.5, p95 = 9.55, p0 = 1, p100 = 10. */
	assert_close(stats_quantile_inplace(v, 10, 0.5), 5.5, 1e-12);
	assert_close(stats_quantile_inplace(v, 10, 0.95), 9.55, 1e-12);
	assert_close(stats_quantile_inplace(v, 10, 0), 1, 0);
	assert_close(stats_quantile_inplace(v, 10, 1), 10, 0);
	assert_close(stats_quantile_inplace(v, 10, 0.25), 3.25, 1e-12);
	double one[] = { 42 };
	assert_close(stats_quantile_inplace(one, 1, 0.95), 42, 0);
	assert_true(isnan(stats_quantile_inplace(one, 0, 0.5)));
	double dup[] = { 0, 0, 0, 0, 0, 0, 0, 0, 100, 0 };
	assert_close(stats_quantile_inplace(dup, 10, 0.5), 0, 0);
	assert_close(stats_quantile_inplace(dup, 10, 0.95), 55, 1e-12); /* 0 + 0.55 * 100 */
}

static void test_quantiles_together(void **state)
{
	(void)state;
	double v[] = { 10, 1, 9, 2, 8, 3, 7, 4, 6, 5 };
	double ps[] = { 0.25, 0.5, 0.95, 1 }, q[4];
	stats_quantiles_inplace(v, 10, ps, 4, q);
	assert_close(q[0], 3.25, 1e-12);
	assert_close(q[1], 5.5, 1e-12);
	assert_close(q[2], 9.55, 1e-12);
	assert_close(q[3], 10, 0);
	stats_quantiles_inplace(v, 0, ps, 1, q);
	assert_true(isnan(q[0]));
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Quickselect agrees with sorting, on random values, many ties, and sorted inputs. */
static void test_quantile_vs_sort(void **state)
{
	(void)state;
	enum { N = 20001 };
	double *v = malloc(N * sizeof(*v)), *s = malloc(N * sizeof(*s));
	srand(7);
	for (int kind = 0; kind < 4; kind++) {
		for (int i = 0; i < N; i++)
			v[i] = kind == 0   ? rand() / (double)RAND_MAX
			       : kind == 1 ? rand() % 5
			       : kind == 2 ? i
					   : N - i;
		memcpy(s, v, N * sizeof(*v));
		qsort(s, N, sizeof(*s), cmp_d);
		double ps[] = { 0, 0.01, 0.5, 0.95, 0.999, 1 };
		for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
			double h = (N - 1) * ps[k];
			size_t lo = (size_t)h;
			double want = lo + 1 < N ? s[lo] + (h - lo) * (s[lo + 1] - s[lo]) : s[lo];
			assert_close(stats_quantile_inplace(v, N, ps[k]), want, 1e-12);
		}
	}
	free(v);
	free(s);
}

static void test_autocorr_effective_n(void **state)
{
	(void)state;
	double alt[] = { 1, -1, 1, -1, 1, -1, 1, -1 };
	assert_true(stats_autocorr1(alt, 8) < -0.8);
	double flat[] = { 3, 3, 3, 3 };
	assert_close(stats_autocorr1(flat, 4), 0, 0);
	/* r1 = 0.5: n (1 - r1) / (1 + r1) = n / 3. */
	assert_close(stats_effective_n(30, 0.5), 10, 1e-12);
	assert_close(stats_effective_n(30, -0.5), 30, 0); /* never more than n */
	assert_close(stats_effective_n(30, 0.999), 3, 0); /* never below 3 */
	assert_close(stats_effective_n(2, 0.5), 2, 0);
}

/* Slope, intercept, residual SE and interval computed by hand (docs/report.md formulas). */
static void test_linear_fit_known(void **state)
{
	(void)state;
	double x[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	double y[] = { 2.1, 3.9, 6.2, 7.8, 10.1, 12.2, 13.8, 16.1 };
	struct stats_fit f;
	assert_int_equal(stats_linear_fit(x, y, 8, 0.95, false, &f), 0);
	assert_close(f.slope, 1.9976190476190478, 1e-12);
	assert_close(f.intercept, 0.03571428571428292, 1e-10);
	assert_close(f.resid_se, 0.1801674705942152, 1e-12);
	assert_close(f.slope_se, 0.027800444266884092, 1e-12);
	assert_close(f.df, 6, 0);
	/* t(0.975, 6) = 2.4469118511449692 */
	assert_close(f.ci_lo, 1.929593811075314, 1e-9);
	assert_close(f.ci_hi, 2.0656442841627816, 1e-9);
	assert_close(f.r1, -0.6723716381418118, 1e-12);
	/* Negative autocorrelation never narrows the adjusted interval. */
	struct stats_fit g;
	assert_int_equal(stats_linear_fit(x, y, 8, 0.95, true, &g), 0);
	assert_close(g.n_eff, 8, 0);
	assert_close(g.ci_lo, f.ci_lo, 1e-12);
}

static void test_linear_fit_exact_and_bad(void **state)
{
	(void)state;
	/* Unix timestamps: centring keeps the slope exact. */
	double x[] = { 1.8e9, 1.8e9 + 0.05, 1.8e9 + 0.1, 1.8e9 + 0.15 };
	double y[] = { 1000, 1500, 2000, 2500 }; /* 10000 per second */
	struct stats_fit f;
	assert_int_equal(stats_linear_fit(x, y, 4, 0.95, true, &f), 0);
	/* Timestamps near 1.8e9 are only exact to 2.4e-7 s: the slope to 1e-5. */
	assert_close(f.slope, 10000, 0.1);
	assert_close(f.ci_lo, 10000, 0.1);
	assert_close(f.ci_hi, 10000, 0.1);
	double same[] = { 5, 5, 5 };
	assert_int_equal(stats_linear_fit(same, y, 3, 0.95, false, &f), -EINVAL);
	assert_int_equal(stats_linear_fit(x, y, 2, 0.95, false, &f), -EINVAL);
}

/* Positively autocorrelated residuals widen the interval by about sqrt(n / n_eff). */
static void test_linear_fit_autocorrelated(void **state)
{
	(void)state;
	enum { N = 40 };
	double x[N], y[N];
	for (int i = 0; i < N; i++) {
		x[i] = i;
		y[i] = 0.1 * i + ((i / 5) % 2 ? 1 : -1); /* slow square wave around a line */
	}
	struct stats_fit plain, adj;
	assert_int_equal(stats_linear_fit(x, y, N, 0.95, false, &plain), 0);
	assert_int_equal(stats_linear_fit(x, y, N, 0.95, true, &adj), 0);
	assert_true(adj.r1 > 0.5);
	assert_true(adj.n_eff < N / 2.0);
	assert_true(adj.ci_hi - adj.ci_lo > 2 * (plain.ci_hi - plain.ci_lo));
	assert_close(adj.slope, plain.slope, 0);
}

static void test_t_quantiles(void **state)
{
	(void)state;
	/* Published two-sided 95% and other critical values. */
	assert_close(stats_t_quantile(0.975, 1), 12.706204736174707, 1e-9);
	assert_close(stats_t_quantile(0.975, 6), 2.4469118511449692, 1e-9);
	assert_close(stats_t_quantile(0.975, 10), 2.2281388519649385, 1e-9);
	assert_close(stats_t_quantile(0.975, 30), 2.0422724563012373, 1e-9);
	assert_close(stats_t_quantile(0.95, 1), 6.313751514675041, 1e-9);
	assert_close(stats_t_quantile(0.995, 5), 4.032142983557536, 1e-9);
	assert_close(stats_t_quantile(0.975, 1e12), 1.959963984540054, 1e-8);
	/* df = 2 has a closed form: t = (2p - 1) sqrt(2 / (4 p (1 - p))). */
	assert_close(stats_t_quantile(0.975, 2), 4.302652729749461, 1e-9);
	assert_close(stats_t_quantile(0.025, 10), -2.2281388519649385, 1e-9);
	assert_close(stats_t_quantile(0.5, 3), 0, 0);
	assert_true(isnan(stats_t_quantile(0, 3)));
	assert_true(isnan(stats_t_quantile(0.5, 0)));
	/* Fractional degrees of freedom lie between their neighbours. */
	double q = stats_t_quantile(0.975, 2.5);
	assert_true(q < 4.302652729749461 && q > 3.182446305284263);
}

static void test_t_cdf(void **state)
{
	(void)state;
	/* df = 1 is Cauchy: 1/2 + atan(t)/pi; df = 2: 1/2 + t / (2 sqrt(2 + t^2)). */
	assert_close(stats_t_cdf(1, 1), 0.75, 1e-14);
	assert_close(stats_t_cdf(3, 1), 0.8975836176504333, 1e-13);
	assert_close(stats_t_cdf(1, 2), 0.7886751345948129, 1e-13);
	assert_close(stats_t_cdf(-1, 2), 1 - 0.7886751345948129, 1e-13);
	assert_close(stats_t_cdf(0, 7), 0.5, 0);
	assert_close(stats_t_cdf(2.2281388519649385, 10), 0.975, 1e-12);
	assert_true(isnan(stats_t_cdf(NAN, 3)));
}

static void test_beta_inc(void **state)
{
	(void)state;
	assert_close(stats_beta_inc(1, 1, 0.3), 0.3, 1e-14);     /* uniform */
	assert_close(stats_beta_inc(3, 1, 0.5), 0.125, 1e-14);   /* x^a */
	assert_close(stats_beta_inc(1, 2, 0.5), 0.75, 1e-14);    /* 1 - (1-x)^b */
	assert_close(stats_beta_inc(4.5, 4.5, 0.5), 0.5, 1e-13); /* symmetry */
	assert_close(stats_beta_inc(2, 3, 0), 0, 0);
	assert_close(stats_beta_inc(2, 3, 1), 1, 0);
	/* I_x(a, b) = 1 - I_{1-x}(b, a) */
	assert_close(stats_beta_inc(2.5, 7, 0.2) + stats_beta_inc(7, 2.5, 0.8), 1, 1e-13);
}

/* Welch's example A1/A2 (Welch 1947 style data, as in textbooks): t = 2.4554, df = 24.99,
 * p = 0.021. */
static void test_welch(void **state)
{
	(void)state;
	double a[] = { 27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1,
		       21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4 };
	double b[] = { 27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0,
		       24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4 };
	struct stats_welch w;
	assert_int_equal(stats_welch(stats_mean(a, 15), stats_variance(a, 15), 15,
				     stats_mean(b, 15), stats_variance(b, 15), 15, &w),
			 0);
	assert_close(w.t, 2.45535639828601, 1e-9);
	assert_close(w.df, 24.98852929023142, 1e-9);
	assert_close(w.p, 0.021, 0.0006);
	assert_close(w.p, 2 * (1 - stats_t_cdf(w.t, w.df)), 1e-12);
	/* No spread: equal means are the same, different ones differ for sure. */
	assert_int_equal(stats_welch(5, 0, 10, 5, 0, 10, &w), 0);
	assert_close(w.p, 1, 0);
	assert_int_equal(stats_welch(5, 0, 10, 6, 0, 10, &w), 0);
	assert_close(w.p, 0, 0);
	assert_int_equal(stats_welch(5, 1, 1, 6, 1, 10, &w), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mean_variance),
		cmocka_unit_test(test_acc),
		cmocka_unit_test(test_quantile_known),
		cmocka_unit_test(test_quantile_vs_sort),
		cmocka_unit_test(test_quantiles_together),
		cmocka_unit_test(test_autocorr_effective_n),
		cmocka_unit_test(test_linear_fit_known),
		cmocka_unit_test(test_linear_fit_exact_and_bad),
		cmocka_unit_test(test_linear_fit_autocorrelated),
		cmocka_unit_test(test_t_quantiles),
		cmocka_unit_test(test_t_cdf),
		cmocka_unit_test(test_beta_inc),
		cmocka_unit_test(test_welch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
