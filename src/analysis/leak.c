#include "analysis/leak.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* The mean of v[i] - v[0]: the mean of Unix timestamps without losing their fractions. */
static double mean_after(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i] - v[0];
	return s / (double)n;
}

/* The medians of the earlier and of the later half of v (the middle sample of an odd n in
 * neither) into ret: growth that continues raises the later one, a single sample at the end
 * does not. NAN without scratch (buf, n / 2 doubles). */
static void half_medians(const double *v, size_t n, double *buf, double ret[2])
{
	size_t h = n / 2;
	ret[0] = ret[1] = NAN;
	if (!buf || !h)
		return;
	memcpy(buf, v, h * sizeof(*buf));
	ret[0] = stats_quantile_inplace(buf, h, 0.5);
	memcpy(buf, v + n - h, h * sizeof(*buf));
	ret[1] = stats_quantile_inplace(buf, h, 0.5);
}

static bool medians_rise(const double m[2]) { return m[1] > m[0]; }

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
 *  - a leak is a trend that is still significant in the last quarter on its own (and not
 *    because of one sample: the later half of the quarter has the higher median) and adds
 *    at least LEAK_MATERIAL_REL of the RSS over the second half;
 *  - what is left is growing: real, but small or not confirmed at the end. */
static void decide(struct leak_analysis *a)
{
	double material = fmax(LEAK_MATERIAL_REL * a->half_mean, LEAK_MATERIAL_BYTES);
	bool significant = a->half.ci_lo > 0;
	bool stopped = a->have_quarter && a->quarter.ci_lo <= 0 && a->quarter.ci_hi < a->half.slope;
	bool continuing =
		a->have_quarter && a->quarter.ci_lo > 0 && medians_rise(a->quarter_medians);
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

/* The last 1/2^depth of the samples' span as a window of its own; -EINVAL when it has fewer
 * than LEAK_MIN_HALF samples. */
static int late_window(const double *t, const double *rss, size_t n, int depth, double *buf,
		       struct leak_late *ret)
{
	double span = t[n - 1] - t[0], share = ldexp(1, -depth);
	size_t from = first_at(t, n, t[0] + span * (1 - share));
	size_t mid = first_at(t, n, t[0] + span * (1 - share / 2));
	struct leak_late w = { .depth = depth };
	if (n - from < LEAK_MIN_HALF ||
	    stats_linear_fit(t + from, rss + from, n - from, LEAK_LEVEL, true, &w.fit) < 0)
		return -EINVAL;
	size_t nc = n - mid;
	w.have_check = nc >= LEAK_MIN_QUARTER &&
		       stats_linear_fit(t + mid, rss + mid, nc, LEAK_LEVEL, true, &w.check) == 0;
	half_medians(rss + mid, nc, buf, w.check_medians);
	half_medians(rss + from, mid - from, buf, w.start_medians);
	w.mean = stats_mean(rss + from, n - from);
	w.growth = w.fit.slope * (t[n - 1] - t[from]);
	w.growth_rel = w.mean > 0 ? w.growth / w.mean : NAN;
	/* At the last sample, from the window's centre: the intercept, at Unix time 0, would
	 * cost the digits. */
	double t_mean = t[from] + mean_after(t + from, n - from);
	w.end = w.mean + w.fit.slope * (t[n - 1] - t_mean);
	w.peak_before = -INFINITY;
	for (size_t i = 0; i < from; i++)
		w.peak_before = fmax(w.peak_before, rss[i]);
	*ret = w;
	return 0;
}

/* A late window on its own: TREND_LEAK when its growth is significant, material, beyond the
 * earlier peak, confirmed by its last half (significant, with the higher median in its
 * later half) and already under way in its first half (the higher median in the second of
 * its first two quarters: growth that began inside the window is the next window's);
 * TREND_GROWING when it lacks only the last two; TREND_STABLE when it shows nothing. One
 * step and one sample at the end can pass at most one of the median checks. */
static bool late_confirmed(const struct leak_late *w)
{
	return w->have_check && w->check.ci_lo > 0 && medians_rise(w->check_medians);
}

static enum leak_trend late_trend(const struct leak_late *w)
{
	double material = fmax(LEAK_MATERIAL_REL * w->mean, LEAK_MATERIAL_BYTES);
	if (!(w->fit.ci_lo > 0) || !(w->end > w->peak_before) || !(w->growth >= material))
		return TREND_STABLE;
	return late_confirmed(w) && medians_rise(w->start_medians) ? TREND_LEAK : TREND_GROWING;
}

static const char *late_reason(const struct leak_late *w, enum leak_trend trend)
{
	static const char *const leak[] = {
		[2] = "began late: grows steadily over the last quarter to the end, beyond its "
		      "earlier peak",
		[3] = "began late: grows steadily over the last eighth to the end, beyond its "
		      "earlier peak",
	};
	static const char *const growing[] = {
		[2] = "began late: grows over the last quarter, but the last eighth alone does not "
		      "confirm it",
		[3] = "began late: grows over the last eighth, but the last sixteenth alone does "
		      "not confirm it",
	};
	if (trend == TREND_LEAK)
		return leak[w->depth];
	if (!w->have_check)
		return "began late: grows, but too few samples at the end to confirm it";
	if (late_confirmed(w))
		return "began late: grows to the end, but not yet where its window begins";
	return growing[w->depth];
}

/* Growth that began in the second half (the demo's leak starts at 70% to 90% of its life,
 * depending on the machine's load) leaves that half flat, then rising: a line fits it badly,
 * its residuals are two long runs, and the interval is rightly wide. The same test on the
 * last quarter, then on the last eighth, each checked by its own last half, finds it; to tell
 * it from the rising edge of a slow sawtooth or from a recovery after a fall, the growth must
 * also reach beyond the largest RSS the process had before. It can only raise the verdict of
 * the second half. */
static void decide_late(const double *t, const double *rss, size_t n, double *buf,
			struct leak_analysis *a)
{
	struct leak_late w, growing;
	bool have_growing = false;
	if (a->trend == TREND_LEAK)
		return;
	for (int depth = 2; depth <= LEAK_LATE_DEPTH && late_window(t, rss, n, depth, buf, &w) == 0;
	     depth++) {
		enum leak_trend trend = late_trend(&w);
		if (trend == TREND_LEAK) {
			a->trend = TREND_LEAK;
			a->reason = late_reason(&w, trend);
			a->late = true;
			a->late_window = w;
			return;
		}
		if (trend == TREND_GROWING && !have_growing) {
			growing = w;
			have_growing = true;
		}
	}
	if (have_growing && a->trend == TREND_STABLE) {
		a->trend = TREND_GROWING;
		a->reason = late_reason(&growing, TREND_GROWING);
		a->late = true;
		a->late_window = growing;
	}
}

void leak_analyze(const double *t, const double *rss, size_t n, struct leak_analysis *ret)
{
	struct leak_analysis a = { .trend = TREND_UNKNOWN,
				   .n = n,
				   .half_mean = NAN,
				   .growth = NAN,
				   .growth_rel = NAN,
				   .quarter_medians = { NAN, NAN },
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
	double *buf = malloc((n / 2 + 1) * sizeof(*buf)); /* without it, nothing is confirmed */
	half_medians(rss + q, n - q, buf, a.quarter_medians);
	a.half_mean = stats_mean(rss + h, n - h);
	a.growth = a.half.slope * (a.t_last - t[h]);
	a.growth_rel = a.half_mean > 0 ? a.growth / a.half_mean : NAN;
	decide(&a);
	decide_late(t, rss, n, buf, &a);
	free(buf);
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

const char *leak_share_name(int depth)
{
	static const char *const names[] = { "whole", "second half", "last quarter", "last eighth",
					     "last sixteenth" };
	return depth >= 0 && depth <= 4 ? names[depth] : "last part";
}
