#include "analysis/stats.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

void stats_acc_add(struct stats_acc *a, double v)
{
	if (!a->n || v < a->min)
		a->min = v;
	if (!a->n || v > a->max)
		a->max = v;
	a->sum += v;
	a->n++;
}

double stats_acc_mean(const struct stats_acc *a) { return a->n ? a->sum / (double)a->n : NAN; }

double stats_mean(const double *v, size_t n)
{
	if (!n)
		return NAN;
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s / (double)n;
}

/* Two passes, around the mean: the one-pass sum-of-squares formula loses every digit on
 * RSS values of 10^9 bytes that vary by a few pages. */
double stats_variance(const double *v, size_t n)
{
	if (n < 2)
		return NAN;
	double m = stats_mean(v, n), ss = 0;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - m) * (v[i] - m);
	return ss / (double)(n - 1);
}

/* ---- quantiles ----------------------------------------------------------------------- */

static void swap_d(double *a, double *b)
{
	double t = *a;
	*a = *b;
	*b = t;
}

static double median3(double a, double b, double c)
{
	if (a > b)
		swap_d(&a, &b);
	if (b > c)
		b = c;
	return a > b ? a : b;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Moves the k-th smallest value to v[k], smaller ones before it, larger ones after it.
 * Hoare partitioning keeps runs of equal values (idle CPU: thousands of 0.00) balanced;
 * input crafted against median-of-three falls back to sorting after a bounded number of
 * rounds, so the worst case stays O(n log n). */
static void select_kth(double *v, size_t n, size_t k)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
	for (int rounds = 0; hi > lo; rounds++) {
		if (rounds > 64) {
			qsort(v + lo, (size_t)(hi - lo + 1), sizeof(*v), cmp_double);
			return;
		}
		double pivot = median3(v[lo], v[lo + (hi - lo) / 2], v[hi]);
		ptrdiff_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j)
				swap_d(&v[i++], &v[j--]);
		}
		if (kk <= j)
			hi = j;
		else if (kk >= i)
			lo = i;
		else
			return; /* between the two parts: equal to the pivot, in place */
	}
}

/* The quantile at p of v[0..n), given that no value of v[from..n) is below one of
 * v[0..from) (an earlier selection left it so): only that part needs selecting. */
static double quantile_from(double *v, size_t n, size_t from, double p, size_t *ret_k)
{
	p = p < 0 ? 0 : p > 1 ? 1 : p;
	double h = (double)(n - 1) * p;
	size_t k = (size_t)h;
	double frac = h - (double)k;
	if (k < from)
		k = from; /* ps out of order: still correct, no longer cheaper */
	select_kth(v + from, n - from, k - from);
	*ret_k = k;
	double lo = v[k];
	if (frac <= 0 || k + 1 >= n)
		return lo;
	double hi = v[k + 1]; /* the next order statistic: the least value after v[k] */
	for (size_t i = k + 2; i < n; i++)
		if (v[i] < hi)
			hi = v[i];
	return lo + frac * (hi - lo);
}

double stats_quantile_inplace(double *v, size_t n, double p)
{
	size_t k;
	return n ? quantile_from(v, n, 0, p, &k) : NAN;
}

void stats_quantiles_inplace(double *v, size_t n, const double *ps, size_t np, double *ret)
{
	size_t from = 0;
	for (size_t i = 0; i < np; i++) {
		if (!n) {
			ret[i] = NAN;
			continue;
		}
		ret[i] = quantile_from(v, n, from, ps[i], &from);
	}
}

/* ---- autocorrelation and least squares ------------------------------------------------- */

double stats_autocorr1(const double *v, size_t n)
{
	if (n < 3)
		return 0;
	double m = stats_mean(v, n), num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		den += (v[i] - m) * (v[i] - m);
		if (i + 1 < n)
			num += (v[i] - m) * (v[i + 1] - m);
	}
	return den > 0 ? num / den : 0;
}

double stats_effective_n(size_t n, double r1)
{
	double nn = (double)n;
	if (n < 3 || !(r1 > 0))
		return nn;
	double e = r1 >= 1 ? 0 : nn * (1 - r1) / (1 + r1);
	return e < 3 ? 3 : e > nn ? nn : e;
}

int stats_linear_fit(const double *x, const double *y, size_t n, double level, bool adjust,
		     struct stats_fit *ret)
{
	if (n < 3)
		return -EINVAL;
	/* Centred on x[0] first: Unix timestamps (~1.8e9) squared would eat the precision. */
	double x0 = x[0], mx = 0, my = 0;
	for (size_t i = 0; i < n; i++) {
		mx += x[i] - x0;
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	double sxx = 0, sxy = 0;
	for (size_t i = 0; i < n; i++) {
		double dx = x[i] - x0 - mx;
		sxx += dx * dx;
		sxy += dx * (y[i] - my);
	}
	if (!(sxx > 0))
		return -EINVAL;
	struct stats_fit f = { .n = n, .slope = sxy / sxx };
	f.intercept = my - f.slope * (mx + x0);
	double ssr = 0, lag = 0, prev = 0;
	for (size_t i = 0; i < n; i++) {
		double e = y[i] - (my + f.slope * (x[i] - x0 - mx));
		ssr += e * e;
		if (i)
			lag += prev * e;
		prev = e;
	}
	f.resid_se = sqrt(ssr / (double)(n - 2));
	f.r1 = ssr > 0 ? lag / ssr : 0;
	f.n_eff = adjust ? stats_effective_n(n, f.r1) : (double)n;
	f.df = f.n_eff - 2 < 1 ? 1 : f.n_eff - 2;
	f.slope_se = sqrt(ssr / f.df / sxx);
	double tq = stats_t_quantile(0.5 + level / 2, f.df);
	f.ci_lo = f.slope - tq * f.slope_se;
	f.ci_hi = f.slope + tq * f.slope_se;
	*ret = f;
	return 0;
}

/* ---- the t distribution -------------------------------------------------------------- */

#define TINY 1e-300

static double not_tiny(double v) { return fabs(v) < TINY ? TINY : v; }

/* The continued fraction of I_x(a, b), evaluated by the modified Lentz method; it
 * converges fast for x < (a + 1) / (a + b + 2). */
static double beta_fraction(double a, double b, double x)
{
	double c = 1, d = 1 / not_tiny(1 - (a + b) * x / (a + 1)), h = d;
	for (int m = 1; m <= 500; m++) {
		double m2 = 2.0 * m;
		double even = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		d = 1 / not_tiny(1 + even * d);
		c = not_tiny(1 + even / c);
		h *= d * c;
		double odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		d = 1 / not_tiny(1 + odd * d);
		c = not_tiny(1 + odd / c);
		double step = d * c;
		h *= step;
		if (fabs(step - 1) < 1e-16)
			break;
	}
	return h;
}

/* I_x(a, b) given both x and y = 1 - x, so that callers near x = 1 keep their digits. */
static double beta_inc2(double a, double b, double x, double y)
{
	if (x <= 0)
		return 0;
	if (y <= 0)
		return 1;
	double front = exp(a * log(x) + b * log(y) + lgamma(a + b) - lgamma(a) - lgamma(b));
	if (x < (a + 1) / (a + b + 2))
		return front * beta_fraction(a, b, x) / a;
	return 1 - front * beta_fraction(b, a, y) / b;
}

double stats_beta_inc(double a, double b, double x) { return beta_inc2(a, b, x, 1 - x); }

/* P(|T| > |t|): the two-sided tail. */
static double t_two_tail(double t, double df)
{
	double t2 = t * t;
	if (df > 1e10)
		return erfc(fabs(t) / sqrt(2.0));
	return beta_inc2(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}

double stats_t_cdf(double t, double df)
{
	if (isnan(t) || !(df > 0))
		return NAN;
	double tail = t_two_tail(t, df) / 2;
	return t > 0 ? 1 - tail : tail;
}

static double t_pdf(double t, double df)
{
	return exp(lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * M_PI) -
		   (df + 1) / 2 * log1p(t * t / df));
}

/* Newton's method on the CDF, kept inside a bracket that bisection shrinks when a Newton
 * step would leave it. */
double stats_t_quantile(double p, double df)
{
	if (!(p > 0 && p < 1) || !(df > 0))
		return NAN;
	if (p < 0.5)
		return -stats_t_quantile(1 - p, df);
	if (p == 0.5)
		return 0;
	double lo = 0, hi = 1;
	while (stats_t_cdf(hi, df) < p && hi < 1e300) {
		lo = hi;
		hi *= 4;
	}
	double t = (lo + hi) / 2;
	for (int i = 0; i < 200; i++) {
		double f = stats_t_cdf(t, df) - p;
		if (f == 0)
			break;
		if (f < 0)
			lo = t;
		else
			hi = t;
		double next = t - f / t_pdf(t, df);
		if (!(next > lo && next < hi))
			next = (lo + hi) / 2;
		if (fabs(next - t) <= 1e-14 * fabs(t))
			return next;
		t = next;
	}
	return t;
}

int stats_welch(double mean_a, double var_a, double n_a, double mean_b, double var_b, double n_b,
		struct stats_welch *ret)
{
	if (!(n_a >= 2 && n_b >= 2) || !(var_a >= 0 && var_b >= 0))
		return -EINVAL;
	double ea = var_a / n_a, eb = var_b / n_b, se2 = ea + eb;
	struct stats_welch w = { .diff = mean_b - mean_a };
	if (se2 <= 0) {
		w.t = w.diff == 0 ? 0 : copysign(INFINITY, w.diff);
		w.df = n_a + n_b - 2;
		w.p = w.diff == 0 ? 1 : 0;
		*ret = w;
		return 0;
	}
	w.t = w.diff / sqrt(se2);
	w.df = se2 * se2 / (ea * ea / (n_a - 1) + eb * eb / (n_b - 1));
	w.p = t_two_tail(w.t, w.df);
	*ret = w;
	return 0;
}
