/* Exact descriptive statistics, least squares with a confidence interval, Student's t
 * distribution and Welch's test: what `profkit report` needs, with no library but libm.
 * Inputs never hold NAN: callers drop missing values first. */
#ifndef PK_ANALYSIS_STATS_H
#define PK_ANALYSIS_STATS_H

#include <stdbool.h>
#include <stddef.h>

/* One pass: count, sum, min, max. */
struct stats_acc {
	size_t n;
	double sum, min, max;
};

void stats_acc_add(struct stats_acc *a, double v);
double stats_acc_mean(const struct stats_acc *a); /* NAN when empty */

double stats_mean(const double *v, size_t n);     /* NAN when n == 0 */
double stats_variance(const double *v, size_t n); /* sample variance (n - 1); NAN when n < 2 */

/* The p-quantile (0 <= p <= 1) interpolated linearly between order statistics, i.e.
 * x[h] with h = (n - 1) * p (Hyndman & Fan type 7, what numpy and pandas report). Reorders
 * v (quickselect, O(n)); NAN when n == 0. */
double stats_quantile_inplace(double *v, size_t n, double p);
/* Several quantiles of the same values, ps ascending, into ret: each selection starts where
 * the one before left off. Reorders v. */
void stats_quantiles_inplace(double *v, size_t n, const double *ps, size_t np, double *ret);

/* Lag-1 autocorrelation of v around its mean; 0 when it is undefined (constant v, n < 3). */
double stats_autocorr1(const double *v, size_t n);
/* The number of independent samples that n samples with lag-1 autocorrelation r1 are worth
 * for a mean or a trend, n (1 - r1) / (1 + r1) (an AR(1) approximation), kept between 3
 * and n (a negative r1 counts as 0: never more than n). n itself when n < 3. */
double stats_effective_n(size_t n, double r1);

/* A least-squares line y = intercept + slope * x. */
struct stats_fit {
	size_t n;
	double slope, intercept;
	double resid_se;     /* residual standard error, sqrt(SSR / (n - 2)) */
	double r1;           /* lag-1 autocorrelation of the residuals */
	double n_eff;        /* n, or the effective n when adjusted for autocorrelation */
	double df;           /* degrees of freedom of the interval: n_eff - 2, at least 1 */
	double slope_se;     /* standard error of the slope, with n_eff */
	double ci_lo, ci_hi; /* two-sided confidence interval of the slope */
};

/* Fits n points (n >= 3, x not all equal; x in order when adjust is set). With adjust, the
 * interval accounts for autocorrelated residuals: the residual variance is SSR / (n_eff - 2)
 * and the t quantile has n_eff - 2 degrees of freedom. -EINVAL for too few points or
 * constant x. */
int stats_linear_fit(const double *x, const double *y, size_t n, double level, bool adjust,
		     struct stats_fit *ret);

/* Regularized incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1. */
double stats_beta_inc(double a, double b, double x);
/* Student's t distribution with df > 0 degrees of freedom (not necessarily whole). */
double stats_t_cdf(double t, double df);
double stats_t_quantile(double p, double df); /* 0 < p < 1 */

/* Welch's unequal-variances t-test of mean_a == mean_b from each side's mean, variance
 * and (effective) sample size, each n >= 2. */
struct stats_welch {
	double diff; /* mean_b - mean_a */
	double t, df;
	double p; /* two-sided */
};
int stats_welch(double mean_a, double var_a, double n_a, double mean_b, double var_b, double n_b,
		struct stats_welch *ret);

#endif
