#include "report/compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report/report.h"

enum value_source {
	V_DURATION,
	V_CPU_S,
	V_CPU_MEAN,
	V_CPU_P95,
	V_RSS_MEAN,
	V_RSS_MAX,
	V_COUNTER,
	V_MEM_USED_MEAN,
	V_ENERGY,
	V_POWER,
};

struct row_def {
	const char *key, *label;
	enum value_unit unit;
	bool time_like;
	enum value_source src;
	int counter;       /* for V_COUNTER */
	double resolution; /* differences this small are below what was measured */
};

/* cpu_user_s and cpu_system_s are written with 2 decimals: 0.02 s between two sums. */
static const struct row_def process_rows[] = {
	{ "duration_s", "duration", UNIT_SECONDS, true, V_DURATION, 0, 0 },
	{ "cpu_s", "CPU time", UNIT_SECONDS, true, V_CPU_S, 0, 0.02 },
	{ "cpu_percent_mean", "CPU % mean", UNIT_PERCENT, false, V_CPU_MEAN, 0, 0.01 },
	{ "cpu_percent_p95", "CPU % p95", UNIT_PERCENT, false, V_CPU_P95, 0, 0.01 },
	{ "rss_mean", "RSS mean", UNIT_BYTES, false, V_RSS_MEAN, 0, 4096 },
	{ "rss_max", "RSS max", UNIT_BYTES, false, V_RSS_MAX, 0, 4096 },
	{ "read_bytes", "bytes read", UNIT_BYTES, false, V_COUNTER, C_READ, 4096 },
	{ "write_bytes", "bytes written", UNIT_BYTES, false, V_COUNTER, C_WRITE, 4096 },
	{ "minor_faults", "minor faults", UNIT_COUNT, false, V_COUNTER, C_MINOR_FAULTS, 1 },
	{ "major_faults", "major faults", UNIT_COUNT, false, V_COUNTER, C_MAJOR_FAULTS, 1 },
	{ "ctx_voluntary", "voluntary switches", UNIT_COUNT, false, V_COUNTER, C_CTX_VOLUNTARY, 1 },
	{ "ctx_involuntary", "involuntary switches", UNIT_COUNT, false, V_COUNTER,
	  C_CTX_INVOLUNTARY, 1 },
};

static const struct row_def machine_rows[] = {
	{ "duration_s", "duration", UNIT_SECONDS, true, V_DURATION, 0, 0 },
	{ "cpu_percent_mean", "CPU % mean", UNIT_PERCENT, false, V_CPU_MEAN, 0, 0.01 },
	{ "cpu_percent_p95", "CPU % p95", UNIT_PERCENT, false, V_CPU_P95, 0, 0.01 },
	{ "mem_used_mean", "memory used mean", UNIT_BYTES, false, V_MEM_USED_MEAN, 0, 4096 },
	{ "energy_j", "energy", UNIT_JOULES, false, V_ENERGY, 0, 0 },
	{ "power_w", "mean power", UNIT_WATTS, false, V_POWER, 0, 0 },
};

/* One side of a comparison: the statistics and the series they came from. */
struct side {
	const struct recording *rec;
	struct entity e;         /* a process group */
	const struct machine *m; /* or the machine */
	const double *cpu, *rss; /* the per-tick series */
	size_t n;
};

/* The time between ticks: a duration is only known to that precision. */
static double tick_period(const struct recording *rec)
{
	if (rec->nticks < 2)
		return 0;
	return (rec->tick_t[rec->nticks - 1] - rec->tick_t[0]) / (rec->nticks - 1);
}

static double value_of(const struct side *s, const struct row_def *d)
{
	const struct entity *e = &s->e;
	if (s->m) {
		switch (d->src) {
		case V_DURATION:
			return s->m->ns > 1 ? s->m->t[s->m->ns - 1] - s->m->t[0] : NAN;
		case V_CPU_MEAN:
			return s->m->cpu.mean;
		case V_CPU_P95:
			return s->m->cpu.p95;
		case V_MEM_USED_MEAN:
			return stats_acc_mean(&s->m->mem_used);
		case V_ENERGY:
			return s->m->energy_j;
		case V_POWER:
			return s->m->power_w;
		default:
			return NAN;
		}
	}
	switch (d->src) {
	case V_DURATION:
		return e->duration_s;
	case V_CPU_S:
		return e->cpu_s;
	case V_CPU_MEAN:
		return e->cpu.mean;
	case V_CPU_P95:
		return e->cpu.p95;
	case V_RSS_MEAN:
		return e->rss.mean;
	case V_RSS_MAX:
		return e->rss.max;
	case V_COUNTER:
		return e->counter[d->counter];
	default:
		return NAN;
	}
}

/* Mean, variance and effective size of the non-NAN values of v; -ENODATA below 3. The
 * effective size comes from the autocorrelation around the series' own trend: serial
 * dependence is what makes ticks worth less than independent samples, while a trend (RSS
 * climbing all along) is already in the variance, and would otherwise pass for a
 * correlation of 1 and leave nothing to test. */
static int sample_of(const double *v, size_t n, double *mean, double *var, double *n_eff)
{
	double *w = malloc((n ? n : 1) * sizeof(*w)), *x = malloc((n ? n : 1) * sizeof(*x));
	size_t m = 0;
	for (size_t i = 0; w && x && i < n; i++)
		if (!isnan(v[i])) {
			x[m] = (double)m;
			w[m++] = v[i];
		}
	struct stats_fit fit;
	int r = !w || !x ? -ENOMEM : m < 3 ? -ENODATA : 0;
	if (!r) {
		*mean = stats_mean(w, m);
		*var = stats_variance(w, m);
		bool fitted = stats_linear_fit(x, w, m, 0.95, true, &fit) == 0;
		*n_eff = fitted ? fit.n_eff : (double)m;
	}
	free(w);
	free(x);
	return r;
}

/* Welch's test on the per-tick values behind a mean; false when there are too few. */
static bool welch_of(const struct side *a, const struct side *b, const struct row_def *d,
		     struct cmp_row *row)
{
	if (d->src != V_CPU_MEAN && d->src != V_RSS_MEAN)
		return false;
	const double *va = d->src == V_CPU_MEAN ? a->cpu : a->rss;
	const double *vb = d->src == V_CPU_MEAN ? b->cpu : b->rss;
	double ma, sa, mb, sb;
	if (!va || !vb || sample_of(va, a->n, &ma, &sa, &row->n_eff_a) < 0 ||
	    sample_of(vb, b->n, &mb, &sb, &row->n_eff_b) < 0)
		return false;
	return stats_welch(ma, sa, row->n_eff_a, mb, sb, row->n_eff_b, &row->welch) == 0;
}

static void judge(struct cmp_row *row, double resolution)
{
	double diff = row->b - row->a, mag = fabs(row->a);
	row->change_pct = mag > 0 ? diff / mag * 100 : diff == 0 ? 0 : NAN;
	if (isnan(row->a) || isnan(row->b)) {
		row->verdict = CMP_NA;
		return;
	}
	bool real;
	if (row->tested)
		real = row->welch.p < CMP_LEVEL && fabs(diff) > CMP_MIN_CHANGE * mag &&
		       fabs(diff) > resolution;
	else
		real = fabs(diff) > fmax(CMP_THRESHOLD * mag, resolution);
	row->verdict = !real ? CMP_SAME : diff < 0 ? CMP_LOWER : CMP_HIGHER;
}

static void fill_section(struct cmp_section *sec, const struct side *a, const struct side *b,
			 const struct row_def *defs, size_t ndefs)
{
	double period = fmax(tick_period(a->rec), tick_period(b->rec));
	for (size_t i = 0; i < ndefs && sec->nrows < CMP_MAX_ROWS; i++) {
		const struct row_def *d = &defs[i];
		struct cmp_row *row = &sec->rows[sec->nrows++];
		*row = (struct cmp_row){ .key = d->key,
					 .label = d->label,
					 .unit = d->unit,
					 .time_like = d->time_like,
					 .n_eff_a = NAN,
					 .n_eff_b = NAN };
		row->a = value_of(a, d);
		row->b = value_of(b, d);
		row->tested = welch_of(a, b, d, row);
		judge(row, d->src == V_DURATION ? period : d->resolution);
	}
}

/* ---- sections ---------------------------------------------------------------------------- */

static int group_side(const struct recording *rec, const size_t *members, size_t n, struct side *s)
{
	*s = (struct side){ .rec = rec };
	int r = entity_of_group(rec, members, n, &s->e);
	if (r < 0)
		return r;
	s->cpu = s->e.series.cpu;
	s->rss = s->e.series.rss;
	s->n = s->e.series.n;
	return 0;
}

/* Processes of rec called name (NULL: all of them). */
static size_t members_named(const struct recording *rec, const char *name, size_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < rec->nprocs; i++)
		if (!name || (rec->procs[i].name && !strcmp(rec->procs[i].name, name)))
			out[n++] = i;
	return n;
}

static struct cmp_section *new_section(struct comparison *c, const char *fmt, const char *arg)
{
	struct cmp_section *sec = &c->sections[c->nsections];
	*sec = (struct cmp_section){ 0 };
	if (asprintf(&sec->title, fmt, arg ? arg : "") < 0)
		return NULL;
	c->nsections++;
	return sec;
}

static int add_group_section(struct comparison *c, const char *name, size_t *ma, size_t *mb)
{
	size_t na = members_named(c->a, name, ma), nb = members_named(c->b, name, mb);
	struct side a, b;
	int r = group_side(c->a, ma, na, &a);
	if (r < 0)
		return r;
	r = group_side(c->b, mb, nb, &b);
	if (r < 0) {
		entity_clear(&a.e);
		return r;
	}
	struct cmp_section *sec = new_section(c, name ? "process %s" : "all processes%s", name);
	if (sec)
		fill_section(sec, &a, &b, process_rows, ARRAY_SIZE(process_rows));
	entity_clear(&a.e);
	entity_clear(&b.e);
	return sec ? 0 : -ENOMEM;
}

static int add_machine_section(struct comparison *c, const struct report *ra,
			       const struct report *rb)
{
	if (!ra->machine.have || !rb->machine.have)
		return 0;
	struct side a = {
		.rec = c->a, .m = &ra->machine, .cpu = ra->machine.cpu_series, .n = ra->machine.ns
	};
	struct side b = {
		.rec = c->b, .m = &rb->machine, .cpu = rb->machine.cpu_series, .n = rb->machine.ns
	};
	struct cmp_section *sec = new_section(c, "machine%s", NULL);
	if (!sec)
		return -ENOMEM;
	fill_section(sec, &a, &b, machine_rows, ARRAY_SIZE(machine_rows));
	return 0;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The distinct process names of rec, sorted. */
static size_t sorted_names(const struct recording *rec, const char **out)
{
	size_t n = 0, u = 0;
	for (size_t i = 0; i < rec->nprocs; i++)
		if (rec->procs[i].name)
			out[n++] = rec->procs[i].name;
	qsort(out, n, sizeof(*out), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (!u || strcmp(out[u - 1], out[i]))
			out[u++] = out[i];
	return u;
}

/* Names both recordings have, sorted, at most CMP_MAX_NAMES; -ENOMEM. One section per name
 * would only repeat "all processes" when each side runs a single program under one name. */
static long shared_names(const struct recording *a, const struct recording *b, const char ***ret)
{
	const char **na = malloc((a->nprocs + 1) * sizeof(*na));
	const char **nb = malloc((b->nprocs + 1) * sizeof(*nb));
	if (!na || !nb) {
		free(na);
		free(nb);
		return -ENOMEM;
	}
	size_t ua = sorted_names(a, na), ub = sorted_names(b, nb), n = 0;
	for (size_t i = 0, j = 0; i < ua && j < ub && n < CMP_MAX_NAMES;) {
		int c = strcmp(na[i], nb[j]);
		if (!c)
			na[n++] = na[i];
		i += c <= 0;
		j += c >= 0;
	}
	free(nb);
	if (ua == 1 && ub == 1)
		n = 0;
	*ret = na;
	return (long)n;
}

static int add_sections(struct comparison *c, const struct report *ra, const struct report *rb)
{
	size_t *ma = malloc((c->a->nprocs + 1) * sizeof(*ma));
	size_t *mb = malloc((c->b->nprocs + 1) * sizeof(*mb));
	const char **names = NULL;
	long nn = ma && mb ? shared_names(c->a, c->b, &names) : -ENOMEM;
	int r = nn < 0 ? (int)nn : 0;
	if (!r)
		c->sections = calloc((size_t)nn + 2, sizeof(*c->sections));
	if (!r && !c->sections)
		r = -ENOMEM;
	if (!r)
		r = add_group_section(c, NULL, ma, mb);
	for (long i = 0; !r && i < nn; i++)
		r = add_group_section(c, names[i], ma, mb);
	if (!r)
		r = add_machine_section(c, ra, rb);
	free(names);
	free(ma);
	free(mb);
	return r;
}

int comparison_build(const struct recording *a, const struct recording *b, struct comparison **ret)
{
	struct comparison *c = calloc(1, sizeof(*c));
	struct report *ra = NULL, *rb = NULL;
	if (!c)
		return -ENOMEM;
	c->a = a;
	c->b = b;
	int r = report_build(a, &ra);
	if (!r)
		r = report_build(b, &rb);
	if (!r)
		r = add_sections(c, ra, rb);
	report_free(ra);
	report_free(rb);
	if (r < 0) {
		comparison_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct comparison *comparison_free(struct comparison *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->nsections; i++)
		free(c->sections[i].title);
	free(c->sections);
	free(c);
	return NULL;
}

const char *cmp_verdict_word(const struct cmp_row *r)
{
	switch (r->verdict) {
	case CMP_SAME:
		return "within noise";
	case CMP_LOWER:
		return r->time_like ? "faster" : "lower";
	case CMP_HIGHER:
		return r->time_like ? "slower" : "higher";
	default:
		return "n/a";
	}
}
