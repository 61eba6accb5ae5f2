/* Is a process leaking memory? A least-squares trend of its resident memory over the second
 * half of its life, with a confidence interval that does not trust autocorrelated samples,
 * checked for persistence (the last quarter, whose later half must also have the higher
 * median, so that one sample cannot confirm it) and for size (relative to RSS); and, for
 * growth that began late, the same test on the last quarter and on the last eighth, each
 * checked by its own last half, with a check that the growth went beyond any earlier peak.
 * The rules and their reasons are in docs/report.md. PROFIT's heuristic (series.h) is kept
 * beside it. */
#ifndef PK_ANALYSIS_LEAK_H
#define PK_ANALYSIS_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include "analysis/series.h"
#include "analysis/stats.h"

#define LEAK_LEVEL 0.95             /* confidence level of the slope intervals */
#define LEAK_MIN_HALF 6             /* samples needed in the second half */
#define LEAK_MIN_QUARTER 4          /* samples needed in the last quarter */
#define LEAK_MATERIAL_REL 0.05      /* growth over the second half, of its mean RSS */
#define LEAK_MATERIAL_BYTES 65536.0 /* and at least this much (16 pages) */
#define LEAK_EXIT_TRIM 2            /* falling samples dropped at the end of an exited process */
#define LEAK_LATE_DEPTH 3           /* growth that began late: down to the last 1/2^3 of a life */

enum leak_trend { TREND_UNKNOWN, TREND_STABLE, TREND_GROWING, TREND_LEAK };

/* Growth that began late: the last 1/2^depth of the window (a quarter, an eighth) as a
 * window of its own, checked by its own last half, and growing from its start. */
struct leak_late {
	int depth;
	struct stats_fit fit;     /* over the window, adjusted */
	double start_medians[2];  /* median RSS of the quarters that begin the window, bytes */
	bool have_check;
	struct stats_fit check;  /* over its last half, adjusted */
	double check_medians[2]; /* median RSS of the check's earlier and later halves, bytes */
	double mean;             /* mean RSS over the window, bytes */
	double growth;           /* fit.slope times the length of the window, bytes */
	double growth_rel;       /* growth / mean */
	double end;              /* the window's line at the last sample, bytes */
	double peak_before;      /* the largest RSS before the window, bytes */
};

struct leak_analysis {
	enum leak_trend trend;
	const char *reason;     /* why, in a few words (static) */
	size_t n;               /* samples in the window analysed */
	double t_first, t_last; /* the window */
	size_t n_half;
	struct stats_fit half; /* second half, adjusted for autocorrelation */
	bool have_quarter;
	struct stats_fit quarter;     /* last quarter, adjusted */
	double quarter_medians[2];    /* median RSS of its earlier and later halves, bytes */
	double half_mean;             /* mean RSS over the second half, bytes */
	double growth;                /* half.slope times the length of the second half, bytes */
	double growth_rel;            /* growth / half_mean */
	bool late;                    /* the verdict comes from late_window, not the second half */
	struct leak_late late_window; /* valid when late */
	enum leak_verdict profit;     /* PROFIT's heuristic on the same window */
	double profit_slope;          /* its slope, bytes/s (NAN when unknown) */
};

/* t (seconds, increasing) and rss (bytes) of n samples without missing values. */
void leak_analyze(const double *t, const double *rss, size_t n, struct leak_analysis *ret);
/* For a process that exited: how many of its n samples to analyse, leaving out up to
 * LEAK_EXIT_TRIM trailing samples in which RSS fell (the runtime freeing its heap on the
 * way out is not a sign of health). */
size_t leak_trim_exit(const double *rss, size_t n);
const char *leak_trend_name(enum leak_trend t); /* "leak", "growing", "stable", "unknown" */
/* The last 1/2^depth of a life in words: "second half", "last quarter", "last eighth",
 * "last sixteenth" (depth 1 to 4). */
const char *leak_share_name(int depth);

#endif
