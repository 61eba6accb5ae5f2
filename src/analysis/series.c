#include "analysis/series.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

void series_init(struct series *s)
{
	memset(s, 0, sizeof(*s));
	s->width = 1;
}

static void halve(struct series *s)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i + 1 < s->nbuckets; i += 2, j++) {
		struct series_bucket a = s->b[i], b = s->b[i + 1];
		s->b[j] = (struct series_bucket){ a.sum_t + b.sum_t, a.sum_v + b.sum_v, a.n + b.n };
	}
	if (s->nbuckets % 2)
		s->b[j++] = s->b[s->nbuckets - 1];
	s->nbuckets = j;
	s->width *= 2;
}

void series_add(struct series *s, double t, double v)
{
	if (!s->count)
		s->t_first = t;
	s->t_last = t;
	s->count++;
	bool last_has_room = s->nbuckets && s->b[s->nbuckets - 1].n < s->width;
	if (!last_has_room && s->nbuckets == SERIES_BUCKETS) {
		halve(s); /* the merged last bucket may have room again */
		last_has_room = s->b[s->nbuckets - 1].n < s->width;
	}
	if (!last_has_room) {
		s->b[s->nbuckets++] = (struct series_bucket){ t, v, 1 };
		return;
	}
	struct series_bucket *b = &s->b[s->nbuckets - 1];
	b->sum_t += t;
	b->sum_v += v;
	b->n++;
}

int series_slope(const struct series *s, double t_from, double *ret_slope)
{
	double sw = 0, st = 0, sv = 0;
	uint32_t used = 0;
	for (uint32_t i = 0; i < s->nbuckets; i++) {
		const struct series_bucket *b = &s->b[i];
		double t = b->sum_t / b->n;
		if (t < t_from)
			continue;
		sw += b->n;
		st += b->sum_t;
		sv += b->sum_v;
		used++;
	}
	if (used < 3)
		return -ENODATA;
	double mt = st / sw, mv = sv / sw, sxx = 0, sxy = 0;
	for (uint32_t i = 0; i < s->nbuckets; i++) {
		const struct series_bucket *b = &s->b[i];
		double t = b->sum_t / b->n, v = b->sum_v / b->n;
		if (t < t_from)
			continue;
		sxx += b->n * (t - mt) * (t - mt);
		sxy += b->n * (t - mt) * (v - mv);
	}
	if (sxx <= 0)
		return -ENODATA;
	*ret_slope = sxy / sxx;
	return 0;
}

enum leak_verdict leak_profit(const struct series *mem, double *ret_slope)
{
	double slope;
	double mid = (mem->t_first + mem->t_last) / 2;
	if (series_slope(mem, mid, &slope) < 0)
		return LEAK_UNKNOWN;
	if (ret_slope)
		*ret_slope = slope;
	return slope > 0 ? LEAK_POSSIBLE : LEAK_NONE;
}

const char *leak_verdict_name(enum leak_verdict v)
{
	switch (v) {
	case LEAK_POSSIBLE:
		return "possible leak";
	case LEAK_NONE:
		return "no leak";
	default:
		return "too few samples";
	}
}
