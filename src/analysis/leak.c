#include "analysis/leak.h"

#include <math.h>

/* Index of the first sample at or after time from (t is increasing). */
static size_t first_at(const double *t, size_t n, double from)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t[mid] < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static enum leak_verdict profit_verdict(const double *t, const double *rss, size_t n,
					double *ret_slope)
{
	struct series s;
	series_init(&s);
	for (size_t i = 0; i < n; i++)
		series_add(&s, t[i], rss[i]);
	*ret_slope = NAN;
	return leak_profit(&s, ret_slope);
}

/* The decision, given the fits (see docs/report.md, "Memory trend"):
 *  - no trend unless the second half's slope interval lies above 0;
 *  - a trend that the last quarter contradicts (no growth there, and an interval that lies
 *    below the second half's slope) was a step or a plateau that ended, not a leak;
 *  - a leak is a trend that is still significant in the last quarter on its own and adds at
 *    least LEAK_MATERIAL_REL of the RSS over the second half;
 *  - what is left is growing: real, but small or not confirmed at the end. */
static void decide(struct leak_analysis *a)
{
	double material = fmax(LEAK_MATERIAL_REL * a->half_mean, LEAK_MATERIAL_BYTES);
	bool significant = a->half.ci_lo > 0;
	bool stopped = a->have_quarter && a->quarter.ci_lo <= 0 && a->quarter.ci_hi < a->half.slope;
	bool continuing = a->have_quarter && a->quarter.ci_lo > 0;
	if (!significant) {
		a->trend = TREND_STABLE;
		a->reason = a->half.ci_hi < 0 ? "falls over the second half"
					      : "no trend: the slope's interval includes 0";
	} else if (stopped) {
		a->trend = TREND_STABLE;
		a->reason = "grew, then levelled off: the last quarter's slope is well below it";
	} else if (a->growth < material) {
		a->trend = TREND_GROWING;
		a->reason = "a real trend, but small next to the resident memory";
	} else if (!continuing) {
		a->trend = TREND_GROWING;
		a->reason = a->have_quarter
				    ? "grows, but the last quarter alone does not confirm it"
				    : "grows, but too few samples to check the last quarter";
	} else {
		a->trend = TREND_LEAK;
		a->reason = "grows steadily to the end, by a material share of its memory";
	}
}

void leak_analyze(const double *t, const double *rss, size_t n, struct leak_analysis *ret)
{
	struct leak_analysis a = { .trend = TREND_UNKNOWN,
				   .n = n,
				   .half_mean = NAN,
				   .growth = NAN,
				   .growth_rel = NAN,
				   .profit_slope = NAN };
	a.reason = "too few samples";
	if (!n) {
		*ret = a;
		return;
	}
	a.t_first = t[0];
	a.t_last = t[n - 1];
	a.profit = profit_verdict(t, rss, n, &a.profit_slope);
	double span = a.t_last - a.t_first;
	size_t h = first_at(t, n, a.t_first + span / 2);
	size_t q = first_at(t, n, a.t_first + span * 3 / 4);
	a.n_half = n - h;
	if (a.n_half < LEAK_MIN_HALF ||
	    stats_linear_fit(t + h, rss + h, n - h, LEAK_LEVEL, true, &a.half) < 0) {
		*ret = a;
		return;
	}
	a.have_quarter = n - q >= LEAK_MIN_QUARTER &&
			 stats_linear_fit(t + q, rss + q, n - q, LEAK_LEVEL, true, &a.quarter) == 0;
	a.half_mean = stats_mean(rss + h, n - h);
	a.growth = a.half.slope * (a.t_last - t[h]);
	a.growth_rel = a.half_mean > 0 ? a.growth / a.half_mean : NAN;
	decide(&a);
	*ret = a;
}

size_t leak_trim_exit(const double *rss, size_t n)
{
	for (int i = 0; i < LEAK_EXIT_TRIM && n >= 2 && rss[n - 1] < rss[n - 2]; i++)
		n--;
	return n;
}

const char *leak_trend_name(enum leak_trend t)
{
	switch (t) {
	case TREND_LEAK:
		return "leak";
	case TREND_GROWING:
		return "growing";
	case TREND_STABLE:
		return "stable";
	default:
		return "unknown";
	}
}
