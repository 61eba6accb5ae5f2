/* Two recordings side by side: the same statistics, the change in %, and a verdict per
 * metric. A metric with a value per tick (CPU %, RSS) gets Welch's t-test on those values,
 * with sample sizes reduced for autocorrelation; a metric that is one number per recording
 * (a duration, a total) cannot be tested and is judged against a fixed noise threshold.
 * docs/report.md explains both. */
#ifndef PK_REPORT_COMPARE_H
#define PK_REPORT_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include "analysis/stats.h"
#include "report/recording.h"

#define CMP_LEVEL 0.05      /* significance level of the test */
#define CMP_MIN_CHANGE 0.01 /* a significant change must also be this large (relative) */
#define CMP_THRESHOLD 0.05  /* relative change below which a single value is noise */
#define CMP_MAX_ROWS 16
#define CMP_MAX_NAMES 50 /* sections for process names both sides have */

enum value_unit { UNIT_SECONDS, UNIT_PERCENT, UNIT_BYTES, UNIT_COUNT, UNIT_JOULES, UNIT_WATTS };

enum cmp_verdict { CMP_NA, CMP_SAME, CMP_LOWER, CMP_HIGHER };

struct cmp_row {
	const char *key;   /* machine-readable: "cpu_percent_mean" */
	const char *label; /* for people: "CPU % mean" */
	enum value_unit unit;
	bool time_like;    /* the verdict says faster/slower instead of lower/higher */
	double a, b;       /* NAN when a side lacks the value */
	double change_pct; /* (b - a) / |a| * 100; NAN when a is 0 or unknown */
	bool tested;       /* Welch's test decided; otherwise the threshold did */
	struct stats_welch welch;
	double n_eff_a, n_eff_b;
	enum cmp_verdict verdict;
};

struct cmp_section {
	char *title; /* "all processes", "process python3", "machine" */
	size_t nrows;
	struct cmp_row rows[CMP_MAX_ROWS];
};

struct comparison {
	const struct recording *a, *b;
	size_t nsections;
	struct cmp_section *sections;
};

int comparison_build(const struct recording *a, const struct recording *b, struct comparison **ret);
struct comparison *comparison_free(struct comparison *c);
/* "faster", "slower", "lower", "higher", "within noise", "n/a" */
const char *cmp_verdict_word(const struct cmp_row *r);

#endif
