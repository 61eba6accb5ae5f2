/* A time series in bounded memory: a fixed number of buckets that merge pairwise when full,
 * so a 10-minute recording at 1 ms costs the same memory as a 1-second one, and the trend
 * over any half of the recording is still computed from every sample (as bucket means). */
#ifndef PK_ANALYSIS_SERIES_H
#define PK_ANALYSIS_SERIES_H

#include <stdint.h>

#define SERIES_BUCKETS 256

struct series {
	struct series_bucket {
		double sum_t, sum_v;
		uint32_t n;
	} b[SERIES_BUCKETS];
	uint32_t nbuckets; /* in use */
	uint32_t width;    /* samples per full bucket (a power of two) */
	uint64_t count;    /* samples added */
	double t_first, t_last;
};

void series_init(struct series *s);
void series_add(struct series *s, double t, double v);
/* Least-squares slope (units of v per unit of t) over samples with t >= t_from, from bucket
 * means weighted by their sample counts. -ENODATA with fewer than 3 buckets there. */
int series_slope(const struct series *s, double t_from, double *ret_slope);

enum leak_verdict { LEAK_UNKNOWN, LEAK_NONE, LEAK_POSSIBLE };
/* PROFIT's heuristic: a leak is possible when the trend line of the memory series over the
 * second half of the recording is strictly increasing (its least-squares slope > 0).
 * ret_slope gets that slope (bytes/s) when known. */
enum leak_verdict leak_profit(const struct series *mem, double *ret_slope);
const char *leak_verdict_name(enum leak_verdict v);

#endif
