/* report.html: one self-contained file (no network) with the report's tables and interactive
 * charts drawn by uPlot (third_party/uplot, MIT, embedded into the binary by tools/embed.c
 * and written inline with its license).
 *
 * Safety: every text from the profiled program reaches the page in one of two ways only:
 * as HTML character data escaped by xml_add_escaped() (tables, the captured stdout), or as
 * a JSON string inside <script type="application/json">, where json_add_escaped() writes
 * <, > and & as \u003c, \u003e, \u0026, so that no "</script" or "<!--" can appear in it.
 * The page script puts names into the page with textContent only (uPlot does the same).
 *
 * Size and speed: the statistics come from the model, exact. The charts draw at most
 * HTML_MAX_POINTS points per series: a longer series is cut into HTML_MAX_POINTS / 2
 * buckets of consecutive ticks, and each bucket is drawn as its minimum and its maximum, in
 * the order they occurred, so that every peak and every dip stays visible. At most
 * HTML_MAX_DRAWN processes get their own series; "all processes" adds up every process. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "input/csv_reader.h"
#include "output/json.h"
#include "output/report.h"
#include "output/xml.h"

/* tools/embed.c, from third_party/uplot */
extern const unsigned char uplot_js[], uplot_css[], uplot_license[];
extern const size_t uplot_js_len, uplot_css_len, uplot_license_len;

#define HTML_MAX_POINTS 2000 /* per series, drawn */
#define HTML_MAX_DRAWN 12    /* processes with their own series */
#define HTML_HEAT_COLUMNS 600
#define HTML_STDOUT_MAX (1024 * 1024)

enum metric { M_CPU, M_RSS, M_VMS, M_SWAP, M_FDS, M_THREADS, M_READ, M_WRITE, M_COUNT };

static const enum rec_gauge metric_gauge[] = { G_CPU, G_RSS, G_VMS, G_SWAP, G_FDS, G_THREADS };

/* One recording and what its charts need beyond the model. */
struct side {
	const struct report *r;
	const char *prefix; /* "A: " when comparing, else "" */
	double t0;
	double *rate[2]; /* per row of samples.csv: read and write bytes/s; NULL: not recorded */
	/* system.csv, per row (NAN where missing); NULL when not recorded */
	size_t ns;
	int ncores;
	double *core; /* ns x ncores */
	double *power, *energy;
	size_t drawn[HTML_MAX_DRAWN];
	size_t ndrawn;
	double *tick; /* scratch: one value per tick */
};

/* ---- extra series read from the files ----------------------------------------------------- */

static double field(struct csv_reader *c, int col)
{
	double v;
	return col >= 0 && csv_reader_double(c, (size_t)col, &v) == 0 ? v : NAN;
}

/* read_bytes and write_bytes are cumulative: the model keeps their first and last values
 * only. Their rates, per row, from a second pass over samples.csv (the rows are the model's:
 * the loader has checked them, and keeps every complete record in file order). */
static void load_rates(struct side *s)
{
	const struct recording *rec = s->r->rec;
	struct csv_reader c;
	if (csv_reader_open(&c, rec->samples_path) < 0) {
		csv_reader_close(&c);
		return;
	}
	int col[2] = { csv_reader_column(&c, "read_bytes"), csv_reader_column(&c, "write_bytes") };
	size_t n = rec->rows.n;
	double *v[2] = { NULL, NULL };
	for (int i = 0; i < 2; i++)
		if (col[i] >= 0 && n && !(v[i] = malloc(n * sizeof(double))))
			goto out;
	if (!v[0] && !v[1])
		goto out;
	size_t k = 0;
	while (k < n && csv_reader_next(&c) > 0 && c.rec_complete) {
		for (int i = 0; i < 2; i++)
			if (v[i])
				v[i][k] = field(&c, col[i]);
		k++;
	}
	if (k < n)
		goto out;
	/* Rates between consecutive known values of each process, in place per process. */
	for (int i = 0; i < 2; i++) {
		if (!v[i])
			continue;
		if (!(s->rate[i] = malloc(n * sizeof(double))))
			goto out;
		for (size_t p = 0; p < rec->nprocs; p++) {
			const struct rec_process *proc = &rec->procs[p];
			double lt = NAN, lv = NAN;
			for (size_t j = 0; j < proc->n; j++) {
				uint32_t row = proc->rows[j];
				double t = rec->rows.t[row], x = v[i][row], rate = NAN;
				if (!isnan(x) && !isnan(lv) && t > lt && x >= lv)
					rate = (x - lv) / (t - lt);
				s->rate[i][row] = rate;
				if (!isnan(x)) {
					lt = t;
					lv = x;
				}
			}
		}
	}
out:
	free(v[0]);
	free(v[1]);
	csv_reader_close(&c);
}

/* Per-core CPU, power and energy, per row of system.csv. */
static void load_system(struct side *s)
{
	const struct recording *rec = s->r->rec;
	if (!rec->have_system || !rec->system_path || !rec->sys.n)
		return;
	struct csv_reader c;
	if (csv_reader_open(&c, rec->system_path) < 0) {
		csv_reader_close(&c);
		return;
	}
	size_t n = rec->sys.n;
	int nc = rec->sys.ncores;
	int *cc = calloc((size_t)(nc ? nc : 1), sizeof(int));
	s->core = nc ? malloc(n * (size_t)nc * sizeof(double)) : NULL;
	s->power = malloc(n * sizeof(double));
	s->energy = malloc(n * sizeof(double));
	if (!cc || (nc && !s->core) || !s->power || !s->energy)
		goto fail;
	char name[32];
	for (int i = 0; i < nc; i++) {
		snprintf(name, sizeof(name), "cpu%d_percent", i);
		cc[i] = csv_reader_column(&c, name);
	}
	int cp = csv_reader_column(&c, "power_w"), ce = csv_reader_column(&c, "energy_j");
	size_t k = 0;
	for (; k < n && csv_reader_next(&c) > 0 && c.rec_complete; k++) {
		for (int i = 0; i < nc; i++)
			s->core[k * (size_t)nc + (size_t)i] = field(&c, cc[i]);
		s->power[k] = field(&c, cp);
		s->energy[k] = field(&c, ce);
	}
	if (k < n)
		goto fail;
	s->ns = n;
	s->ncores = nc;
	free(cc);
	csv_reader_close(&c);
	return;
fail:
	free(cc);
	free(s->core);
	free(s->power);
	free(s->energy);
	s->core = s->power = s->energy = NULL;
	csv_reader_close(&c);
}

/* ---- which processes get their own series ------------------------------------------------- */

static const struct report *rank_report; /* for the qsort comparators */

static double cpu_time_of(const struct entity *e)
{
	return isnan(e->cpu_s) ? 0 : e->cpu_s;
}

static int by_cpu(const void *a, const void *b)
{
	double x = cpu_time_of(&rank_report->procs[*(const size_t *)a]),
	       y = cpu_time_of(&rank_report->procs[*(const size_t *)b]);
	return (x < y) - (x > y);
}

static int by_rss(const void *a, const void *b)
{
	double x = rank_report->procs[*(const size_t *)a].rss.max,
	       y = rank_report->procs[*(const size_t *)b].rss.max;
	x = isnan(x) ? -1 : x;
	y = isnan(y) ? -1 : y;
	return (x < y) - (x > y);
}

static bool is_drawn(const struct side *s, size_t p)
{
	for (size_t i = 0; i < s->ndrawn; i++)
		if (s->drawn[i] == p)
			return true;
	return false;
}

static void draw_add(struct side *s, size_t p)
{
	if (s->ndrawn < HTML_MAX_DRAWN && !is_drawn(s, p))
		s->drawn[s->ndrawn++] = p;
}

/* Leaks first, then the largest users of CPU time and of memory, in turns. */
static void choose_drawn(struct side *s)
{
	const struct report *r = s->r;
	size_t n = r->nprocs;
	size_t *cpu = malloc((n ? n : 1) * sizeof(size_t)), *rss = malloc((n ? n : 1) * sizeof(size_t));
	if (!cpu || !rss) {
		free(cpu);
		free(rss);
		for (size_t p = 0; p < n; p++)
			draw_add(s, p);
		return;
	}
	for (size_t p = 0; p < n; p++)
		cpu[p] = rss[p] = p;
	rank_report = r;
	qsort(cpu, n, sizeof(size_t), by_cpu);
	qsort(rss, n, sizeof(size_t), by_rss);
	for (size_t i = 0; i < n && s->ndrawn < HTML_MAX_DRAWN / 3; i++)
		if (r->procs[rss[i]].leak.trend == TREND_LEAK)
			draw_add(s, rss[i]);
	for (size_t i = 0; i < n && s->ndrawn < HTML_MAX_DRAWN; i++) {
		draw_add(s, cpu[i]);
		draw_add(s, rss[i]);
	}
	/* In the order of the tables (depth first), so that colours follow the tree. */
	for (size_t i = 1; i < s->ndrawn; i++)
		for (size_t j = i; j > 0 && s->drawn[j] < s->drawn[j - 1]; j--) {
			size_t t = s->drawn[j];
			s->drawn[j] = s->drawn[j - 1];
			s->drawn[j - 1] = t;
		}
	free(cpu);
	free(rss);
}

/* ---- numbers and downsampling ------------------------------------------------------------- */

static void add_num(struct strbuf *sb, double v, int decimals)
{
	if (!isfinite(v))
		sb_adds(sb, "null");
	else
		sb_add_fixed(sb, v, decimals);
}

/* Buckets of n values: [lo, hi) of bucket b. n <= HTML_MAX_POINTS: one value each. */
static size_t nbuckets(size_t n)
{
	return n <= HTML_MAX_POINTS ? n : HTML_MAX_POINTS / 2;
}

static void bucket(size_t n, size_t b, size_t *lo, size_t *hi)
{
	size_t nb = nbuckets(n);
	*lo = (size_t)((uint64_t)b * n / nb);
	*hi = (size_t)((uint64_t)(b + 1) * n / nb);
}

/* The x values (seconds since t0) that add_values() pairs with: each bucket's first and
 * last time. */
static void add_x(struct strbuf *sb, const double *t, size_t n, double t0)
{
	sb_addc(sb, '[');
	size_t nb = nbuckets(n);
	for (size_t b = 0; b < nb; b++) {
		size_t lo, hi;
		bucket(n, b, &lo, &hi);
		if (b)
			sb_addc(sb, ',');
		add_num(sb, t[lo] - t0, 3);
		if (nb < n) {
			sb_addc(sb, ',');
			add_num(sb, t[hi - 1] - t0, 3);
		}
	}
	sb_addc(sb, ']');
}

/* v[0..n) (NAN: no value) with stride, as drawn: each bucket's minimum and maximum in the
 * order they occurred. */
static void add_values(struct strbuf *sb, const double *v, size_t stride, size_t n, int decimals)
{
	sb_addc(sb, '[');
	size_t nb = nbuckets(n);
	for (size_t b = 0; b < nb; b++) {
		size_t lo, hi;
		bucket(n, b, &lo, &hi);
		if (b)
			sb_addc(sb, ',');
		if (nb == n) {
			add_num(sb, v[lo * stride], decimals);
			continue;
		}
		double mn = NAN, mx = NAN;
		size_t imn = 0, imx = 0;
		for (size_t i = lo; i < hi; i++) {
			double x = v[i * stride];
			if (isnan(x))
				continue;
			if (isnan(mn) || x < mn) {
				mn = x;
				imn = i;
			}
			if (isnan(mx) || x > mx) {
				mx = x;
				imx = i;
			}
		}
		bool min_first = imn <= imx;
		add_num(sb, min_first ? mn : mx, decimals);
		sb_addc(sb, ',');
		add_num(sb, min_first ? mx : mn, decimals);
	}
	sb_addc(sb, ']');
}

/* The value of metric m in row k of samples.csv. */
static double row_value(const struct side *s, enum metric m, size_t k)
{
	if (m == M_READ || m == M_WRITE) {
		const double *r = s->rate[m == M_WRITE];
		return r ? r[k] : NAN;
	}
	return s->r->rec->rows.g[metric_gauge[m]][k];
}

/* s->tick[] = per tick, the sum of metric m over the rows given (all rows when rows is
 * NULL); NAN in a tick without a value. */
static void tick_sums(struct side *s, enum metric m, const uint32_t *rows, size_t n)
{
	const struct recording *rec = s->r->rec;
	for (uint32_t i = 0; i < rec->nticks; i++)
		s->tick[i] = NAN;
	for (size_t j = 0; j < n; j++) {
		size_t k = rows ? rows[j] : j;
		double v = row_value(s, m, k);
		if (isnan(v))
			continue;
		double *t = &s->tick[rec->rows.tick[k]];
		*t = isnan(*t) ? v : *t + v;
	}
}

static bool metric_known(const struct side *s, enum metric m)
{
	if (m == M_READ || m == M_WRITE)
		return s->rate[m == M_WRITE] != NULL;
	return s->r->rec->have_gauge[metric_gauge[m]];
}

static int metric_decimals(enum metric m)
{
	return m == M_CPU ? 2 : 0;
}

/* ---- the data for the charts -------------------------------------------------------------- */

static void key(struct strbuf *sb, const char *k)
{
	json_add_escaped(sb, k);
	sb_addc(sb, ':');
}

static void str(struct strbuf *sb, const char *k, const char *v)
{
	key(sb, k);
	json_add_escaped(sb, v);
}

static void series_open(struct strbuf *sb, bool *first, const char *unit)
{
	if (!*first)
		sb_addc(sb, ',');
	*first = false;
	sb_addc(sb, '{');
	str(sb, "unit", unit);
	sb_addc(sb, ',');
}

/* {"label": "<prefix><what><name> (<pid>)" */
static void entity_label(struct strbuf *sb, const struct side *s, const char *what,
			 const struct entity *e)
{
	struct strbuf l = STRBUF_INIT;
	sb_adds(&l, s->prefix);
	sb_adds(&l, what);
	sb_adds(&l, e->name ? e->name : "?");
	sb_addf(&l, " (%d)", (int)e->pid);
	str(sb, "label", sb_str(&l));
	sb_free(&l);
}

static const char *metric_unit(enum metric m)
{
	switch (m) {
	case M_CPU:
		return "pct";
	case M_RSS:
	case M_VMS:
	case M_SWAP:
		return "bytes";
	case M_READ:
	case M_WRITE:
		return "bps";
	default:
		return "count";
	}
}

/* The series of metric m: "all processes" (when there is more than one, or when comparing)
 * and each drawn process. */
static void metric_series(struct strbuf *sb, struct side *s, enum metric m, const char *what,
			  bool *first, bool total)
{
	const struct recording *rec = s->r->rec;
	if (!metric_known(s, m))
		return;
	if (total) {
		tick_sums(s, m, NULL, rec->rows.n);
		series_open(sb, first, metric_unit(m));
		struct strbuf l = STRBUF_INIT;
		sb_adds(&l, s->prefix);
		sb_adds(&l, what);
		sb_adds(&l, "all processes");
		str(sb, "label", sb_str(&l));
		sb_free(&l);
		/* With more processes than series, the total dwarfs them: off until clicked. */
		sb_adds(sb, s->r->nprocs > HTML_MAX_DRAWN ? ",\"total\":true,\"hidden\":true,"
							  : ",\"total\":true,");
		key(sb, "values");
		add_values(sb, s->tick, 1, rec->nticks, metric_decimals(m));
		sb_addc(sb, '}');
	}
	for (size_t i = 0; i < s->ndrawn; i++) {
		const struct entity *e = &s->r->procs[s->drawn[i]];
		const struct rec_process *p = &rec->procs[s->drawn[i]];
		tick_sums(s, m, p->rows, p->n);
		series_open(sb, first, metric_unit(m));
		entity_label(sb, s, what, e);
		sb_addc(sb, ',');
		key(sb, "values");
		add_values(sb, s->tick, 1, rec->nticks, metric_decimals(m));
		sb_addc(sb, '}');
	}
}

/* One table (a recording's x values and its series) of a chart over samples.csv. */
static void samples_table(struct strbuf *sb, struct side *s, const enum metric *ms,
			  const char *const *whats, size_t nm, bool total)
{
	const struct recording *rec = s->r->rec;
	sb_addc(sb, '{');
	key(sb, "x");
	add_x(sb, rec->tick_t, rec->nticks, s->t0);
	sb_addc(sb, ',');
	key(sb, "series");
	sb_addc(sb, '[');
	bool first = true;
	for (size_t i = 0; i < nm; i++)
		metric_series(sb, s, ms[i], whats[i], &first, total);
	sb_adds(sb, "]}");
}

/* The least-squares line of the verdict drawn over the memory chart, for each drawn process
 * with one: over the second half, or over the last quarter for growth that began late.
 * series: the index of the process's series in the chart. */
static void leak_lines(struct strbuf *sb, const struct side *s, size_t series_base, bool *first)
{
	for (size_t i = 0; i < s->ndrawn; i++) {
		const struct entity *e = &s->r->procs[s->drawn[i]];
		const struct leak_analysis *a = &e->leak;
		if (a->trend == TREND_UNKNOWN)
			continue;
		const struct stats_fit *f = a->late ? &a->late_window.fit : &a->half;
		double share = ldexp(1, -(a->late ? a->late_window.depth : 1));
		double x0 = a->t_first + (a->t_last - a->t_first) * (1 - share);
		double x1 = a->t_last;
		double y0 = f->intercept + f->slope * x0;
		double y1 = f->intercept + f->slope * x1;
		if (!*first)
			sb_addc(sb, ',');
		*first = false;
		sb_addc(sb, '{');
		str(sb, "verdict", leak_trend_name(a->trend));
		struct strbuf l = STRBUF_INIT;
		sb_adds(&l, leak_trend_name(a->trend));
		sb_addf(&l, ": %+.1f MB/h", report_mb_per_hour(f->slope));
		if (a->late)
			sb_adds(&l, " (began late)");
		sb_adds(sb, ",");
		str(sb, "text", sb_str(&l));
		sb_free(&l);
		sb_adds(sb, ",");
		struct strbuf o = STRBUF_INIT;
		sb_addf(&o, "the %s", leak_share_name(a->late ? a->late_window.depth : 1));
		str(sb, "over", sb_str(&o));
		sb_free(&o);
		sb_adds(sb, ",\"series\":");
		sb_add_u64(sb, series_base + i);
		sb_adds(sb, ",\"x0\":");
		add_num(sb, x0 - s->t0, 3);
		sb_adds(sb, ",\"x1\":");
		add_num(sb, x1 - s->t0, 3);
		sb_adds(sb, ",\"y0\":");
		add_num(sb, y0, 0);
		sb_adds(sb, ",\"y1\":");
		add_num(sb, y1, 0);
		sb_addc(sb, '}');
	}
}

static void chart_open(struct strbuf *sb, bool *first, const char *id, const char *title,
		       const char *kind, const char *note)
{
	if (!*first)
		sb_addc(sb, ',');
	*first = false;
	sb_adds(sb, "\n{");
	str(sb, "id", id);
	sb_addc(sb, ',');
	str(sb, "title", title);
	sb_addc(sb, ',');
	str(sb, "kind", kind);
	sb_addc(sb, ',');
	str(sb, "note", note ? note : "");
	sb_addc(sb, ',');
}

static void samples_chart(struct strbuf *sb, bool *first, struct side *sides, size_t nsides,
			  const char *id, const char *title, const enum metric *ms,
			  const char *const *whats, size_t nm, bool leaks)
{
	bool any = false;
	for (size_t i = 0; i < nsides; i++)
		for (size_t j = 0; j < nm; j++)
			any |= metric_known(&sides[i], ms[j]) && sides[i].r->rec->nticks > 0;
	if (!any)
		return;
	chart_open(sb, first, id, title, "lines", NULL);
	key(sb, "tables");
	sb_addc(sb, '[');
	for (size_t i = 0; i < nsides; i++) {
		if (i)
			sb_addc(sb, ',');
		bool total = nsides > 1 || sides[i].r->nprocs > 1;
		samples_table(sb, &sides[i], ms, whats, nm, total);
	}
	sb_adds(sb, "],\"lines\":[");
	if (leaks && nsides == 1) {
		bool f = true;
		size_t base = 1 + (sides[0].r->nprocs > 1); /* after x and "all processes" */
		leak_lines(sb, &sides[0], base, &f);
	}
	sb_adds(sb, "]}");
}

/* Charts over system.csv: machine CPU (whole and per core), and power and energy. */
static void system_table(struct strbuf *sb, const struct side *s, bool cores, bool energy)
{
	const struct recording *rec = s->r->rec;
	sb_addc(sb, '{');
	key(sb, "x");
	add_x(sb, rec->sys.t, rec->sys.n, s->t0);
	sb_adds(sb, ",\"series\":[");
	bool first = true;
	struct strbuf l = STRBUF_INIT;
	if (cores) {
		series_open(sb, &first, "pct");
		sb_adds(&l, s->prefix);
		sb_adds(&l, "machine");
		str(sb, "label", sb_str(&l));
		sb_adds(sb, ",\"total\":true,\"values\":");
		add_values(sb, rec->sys.cpu, 1, rec->sys.n, 2);
		sb_addc(sb, '}');
		for (int c = 0; s->core && c < s->ncores; c++) {
			series_open(sb, &first, "pct");
			sb_reset(&l);
			sb_adds(&l, s->prefix);
			sb_addf(&l, "cpu%d", c);
			str(sb, "label", sb_str(&l));
			sb_adds(sb, ",\"values\":");
			add_values(sb, s->core + c, (size_t)s->ncores, rec->sys.n, 1);
			sb_addc(sb, '}');
		}
	}
	if (energy && s->power) {
		series_open(sb, &first, "w");
		sb_reset(&l);
		sb_adds(&l, s->prefix);
		sb_adds(&l, "power");
		str(sb, "label", sb_str(&l));
		sb_adds(sb, ",\"values\":");
		add_values(sb, s->power, 1, rec->sys.n, 3);
		sb_adds(sb, "}");
		series_open(sb, &first, "j");
		sb_reset(&l);
		sb_adds(&l, s->prefix);
		sb_adds(&l, "energy (cumulative)");
		str(sb, "label", sb_str(&l));
		sb_adds(sb, ",\"values\":");
		add_values(sb, s->energy, 1, rec->sys.n, 3);
		sb_adds(sb, "}");
	}
	sb_free(&l);
	sb_adds(sb, "]}");
}

static void system_charts(struct strbuf *sb, bool *first, struct side *sides, size_t nsides)
{
	bool have = false, energy = false;
	for (size_t i = 0; i < nsides; i++) {
		have |= sides[i].r->rec->have_system && sides[i].r->rec->sys.n > 0;
		energy |= sides[i].r->rec->sys.have_energy && sides[i].power;
	}
	if (!have)
		return;
	chart_open(sb, first, "machine_cpu", "Machine CPU % (0-100 for the whole machine) and per core",
		   "lines", "Click a name in the legend to show or hide it.");
	sb_adds(sb, "\"tables\":[");
	for (size_t i = 0; i < nsides; i++) {
		if (i)
			sb_addc(sb, ',');
		system_table(sb, &sides[i], true, false);
	}
	sb_adds(sb, "],\"lines\":[]}");

	/* The heatmap: one row per core, each column the mean of its share of the rows. */
	for (size_t i = 0; i < nsides; i++) {
		const struct side *s = &sides[i];
		if (!s->core || !s->ncores)
			continue;
		char id[32];
		snprintf(id, sizeof(id), "cores%zu", i);
		struct strbuf title = STRBUF_INIT;
		sb_adds(&title, s->prefix);
		sb_adds(&title, "CPU % per core (heatmap)");
		chart_open(sb, first, id, sb_str(&title), "heatmap",
			   "Each row a core, each column a slice of the recording: the mean CPU % "
			   "of the core in it, from white (0) to dark red (100).");
		sb_free(&title);
		size_t n = s->ns, cols = n < HTML_HEAT_COLUMNS ? n : HTML_HEAT_COLUMNS;
		const double *t = s->r->rec->sys.t;
		key(sb, "x0");
		add_num(sb, t[0] - s->t0, 3);
		sb_addc(sb, ',');
		key(sb, "x1");
		add_num(sb, t[n - 1] - s->t0, 3);
		sb_adds(sb, ",\"columns\":[");
		for (size_t b = 0; b < cols; b++) {
			size_t lo = b * n / cols;
			if (b)
				sb_addc(sb, ',');
			add_num(sb, t[lo] - s->t0, 3);
		}
		sb_adds(sb, "],\"rows\":[");
		for (int c = 0; c < s->ncores; c++) {
			sb_adds(sb, c ? ",[" : "[");
			for (size_t b = 0; b < cols; b++) {
				size_t lo = b * n / cols, hi = (b + 1) * n / cols, m = 0;
				double sum = 0;
				for (size_t k = lo; k < hi; k++) {
					double v = s->core[k * (size_t)s->ncores + (size_t)c];
					if (!isnan(v)) {
						sum += v;
						m++;
					}
				}
				if (b)
					sb_addc(sb, ',');
				add_num(sb, m ? sum / (double)m : NAN, 1);
			}
			sb_addc(sb, ']');
		}
		sb_adds(sb, "]}");
	}

	if (!energy)
		return;
	chart_open(sb, first, "energy", "Power (W) and energy (J, cumulative)", "lines", NULL);
	sb_adds(sb, "\"tables\":[");
	for (size_t i = 0; i < nsides; i++) {
		if (i)
			sb_addc(sb, ',');
		system_table(sb, &sides[i], false, true);
	}
	sb_adds(sb, "],\"lines\":[]}");
}

static void charts_json(struct strbuf *sb, struct side *sides, size_t nsides)
{
	bool first = true;
	static const enum metric cpu[] = { M_CPU }, rss[] = { M_RSS }, vms[] = { M_VMS, M_SWAP },
				 fds[] = { M_FDS, M_THREADS }, io[] = { M_READ, M_WRITE };
	static const char *const none[] = { "" }, *const vms_w[] = { "VMS ", "swap " },
				 *const fds_w[] = { "files ", "threads " },
				 *const io_w[] = { "read ", "write " };
	samples_chart(sb, &first, sides, nsides, "cpu", "CPU % per process (100 = one core)", cpu,
		      none, 1, false);
	samples_chart(sb, &first, sides, nsides, "rss", "Resident memory (RSS)", rss, none, 1, true);
	samples_chart(sb, &first, sides, nsides, "vms", "Virtual memory (VMS) and swap", vms, vms_w,
		      2, false);
	samples_chart(sb, &first, sides, nsides, "fds", "Open files and threads", fds, fds_w, 2,
		      false);
	samples_chart(sb, &first, sides, nsides, "io", "I/O rates (bytes/s)", io, io_w, 2, false);
	system_charts(sb, &first, sides, nsides);
}

/* ---- the captured stdout -------------------------------------------------------------------- */

/* len bytes of text for a <pre>: xml_add_escaped() turns line ends and tabs into U+FFFD and
 * stops at a NUL, so the text between them goes through it and they are written here (a
 * NUL as U+FFFD; so is a character cut by a length limit). buf is modified. */
static void add_text_block(struct strbuf *sb, char *buf, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? buf[i] : '\0';
		if (c != '\n' && c != '\t' && c != '\0')
			continue;
		if (i < len)
			buf[i] = '\0';
		xml_add_escaped(sb, buf + start, SIZE_MAX);
		if (i < len)
			sb_adds(sb, c == '\0' ? "\xef\xbf\xbd" : c == '\n' ? "\n" : "\t");
		start = i + 1;
	}
}

static void captured_stdout(struct strbuf *sb, const struct recording *rec)
{
	/* stdout.txt sits beside samples.csv */
	const char *slash = strrchr(rec->samples_path, '/');
	struct strbuf path = STRBUF_INIT;
	if (slash)
		sb_add(&path, rec->samples_path, (size_t)(slash - rec->samples_path) + 1);
	sb_adds(&path, "stdout.txt");
	int fd = path.failed ? -1 : open(sb_str(&path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	sb_free(&path);
	if (fd < 0)
		return;
	char *buf = malloc(HTML_STDOUT_MAX + 1);
	size_t len = 0;
	bool more = false;
	if (buf) {
		ssize_t got;
		while (len < HTML_STDOUT_MAX &&
		       (got = read(fd, buf + len, HTML_STDOUT_MAX - len)) > 0)
			len += (size_t)got;
		char c;
		more = len == HTML_STDOUT_MAX && read(fd, &c, 1) == 1;
		buf[len] = '\0';
	}
	close(fd);
	if (!buf)
		return;
	sb_adds(sb, "<h2>Captured standard output</h2>\n");
	if (!len) {
		sb_adds(sb, "<p class=\"note\">The command printed nothing.</p>\n");
	} else {
		if (more)
			sb_adds(sb, "<p class=\"note\">Only the first 1 MiB is shown; the whole output "
				    "is in stdout.txt.</p>\n");
		sb_adds(sb, "<pre class=\"stdout\">");
		add_text_block(sb, buf, len);
		sb_adds(sb, "</pre>\n");
	}
	free(buf);
}

/* ---- tables ------------------------------------------------------------------------------- */

static void esc(struct strbuf *sb, const char *s)
{
	xml_add_escaped(sb, s ? s : "", SIZE_MAX);
}

static void td_value(struct strbuf *sb, enum value_unit u, double v)
{
	sb_adds(sb, "<td class=\"n\">");
	struct strbuf t = STRBUF_INIT;
	report_add_value(&t, u, v);
	esc(sb, sb_str(&t));
	sb_free(&t);
	sb_adds(sb, "</td>");
}

static void td_count(struct strbuf *sb, double v)
{
	td_value(sb, UNIT_COUNT, v);
}

static void td_bytes(struct strbuf *sb, double v)
{
	td_value(sb, UNIT_BYTES, v);
}

static void td_trend(struct strbuf *sb, const struct leak_analysis *a)
{
	sb_addf(sb, "<td><span class=\"v-%s\">%s</span></td>", leak_trend_name(a->trend),
		leak_trend_name(a->trend));
}

static void entity_rows(struct strbuf *sb, const struct entity *es, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct entity *e = &es[i];
		sb_adds(sb, "<tr><td class=\"name\">");
		for (int d = 0; d < e->depth && d < 16; d++)
			sb_adds(sb, "&#160;&#160;");
		esc(sb, e->name ? e->name : "?");
		sb_addf(sb, "</td><td class=\"n\">%d</td>", (int)e->pid);
		td_count(sb, (double)e->members);
		td_value(sb, UNIT_SECONDS, e->duration_s);
		td_value(sb, UNIT_PERCENT, e->cpu.mean);
		td_value(sb, UNIT_PERCENT, e->cpu.p95);
		td_value(sb, UNIT_PERCENT, e->cpu.max);
		sb_adds(sb, "<td class=\"n\">");
		struct strbuf t = STRBUF_INIT;
		report_add_value(&t, UNIT_SECONDS, e->cpu_s);
		esc(sb, sb_str(&t));
		sb_free(&t);
		if (e->cpu_s_estimated && !isnan(e->cpu_s))
			sb_adds(sb, " (estimated)");
		sb_adds(sb, "</td>");
		td_bytes(sb, e->rss.mean);
		td_bytes(sb, e->rss.max);
		td_bytes(sb, e->rss_end);
		td_bytes(sb, e->vms_max);
		td_bytes(sb, e->swap_max);
		td_count(sb, e->fds_max);
		td_count(sb, e->threads_max);
		td_bytes(sb, e->counter[C_READ]);
		td_bytes(sb, e->counter[C_WRITE]);
		td_trend(sb, &e->leak);
		sb_adds(sb, "</tr>\n");
	}
}

static void entity_table(struct strbuf *sb, const char *title, const struct entity *es, size_t n)
{
	if (!n)
		return;
	sb_addf(sb, "<h2>%s</h2>\n<div class=\"scroll\"><table>\n", title);
	sb_adds(sb, "<tr><th>name</th><th>pid</th><th>processes</th><th>duration</th>"
		    "<th>CPU % mean</th><th>p95</th><th>max</th><th>CPU time</th>"
		    "<th>RSS mean</th><th>max</th><th>end</th><th>VMS max</th><th>swap max</th>"
		    "<th>open files max</th><th>threads max</th><th>read</th><th>written</th>"
		    "<th>memory trend</th></tr>\n");
	entity_rows(sb, es, n);
	sb_adds(sb, "</table></div>\n");
}

static void fit_cells(struct strbuf *sb, const struct stats_fit *f, bool have)
{
	if (!have) {
		sb_adds(sb, "<td class=\"n\">-</td><td class=\"n\">-</td>");
		return;
	}
	sb_addf(sb, "<td class=\"n\">%+.1f MB/h</td><td class=\"n\">[%+.1f, %+.1f]</td>",
		report_mb_per_hour(f->slope), report_mb_per_hour(f->ci_lo),
		report_mb_per_hour(f->ci_hi));
}

/* The numbers of a verdict on growth that began late, after its reason. */
static void late_note(struct strbuf *sb, const struct leak_analysis *a)
{
	if (!a->late)
		return;
	struct strbuf t = STRBUF_INIT;
	report_add_late(&t, &a->late_window);
	sb_adds(sb, " (");
	esc(sb, sb_str(&t));
	sb_addc(sb, ')');
	sb_free(&t);
}

static void leak_table(struct strbuf *sb, const struct report *r)
{
	sb_adds(sb, "<h2>Memory trend: the verdicts and their numbers</h2>\n"
		    "<p class=\"note\">Slope of RSS over the second half of each life (least "
		    "squares) with its 95% interval, corrected for autocorrelated samples; the last "
		    "quarter on its own; the growth over the second half. For growth that began late, "
		    "the last quarter or eighth is the window, checked by its own last half. The rules are "
		    "in docs/report.md. The line of each verdict is drawn on the RSS chart.</p>\n"
		    "<div class=\"scroll\"><table>\n<tr><th>kind</th><th>name</th><th>pid</th>"
		    "<th>verdict</th><th>why</th><th>slope</th><th>95% interval</th>"
		    "<th>samples</th><th>worth (independent)</th><th>growth</th><th>of mean RSS</th>"
		    "<th>last quarter</th><th>95% interval</th><th>PROFIT</th></tr>\n");
	for (int pass = 0; pass < 2; pass++) {
		const struct entity *es = pass ? r->trees : r->procs;
		size_t n = pass ? r->ntrees : r->nprocs;
		for (size_t i = 0; i < n; i++) {
			const struct entity *e = &es[i];
			const struct leak_analysis *a = &e->leak;
			bool known = a->trend != TREND_UNKNOWN;
			sb_addf(sb, "<tr><td>%s</td><td class=\"name\">", report_kind_name(e->kind));
			esc(sb, e->name ? e->name : "?");
			sb_addf(sb, "</td><td class=\"n\">%d</td>", (int)e->pid);
			td_trend(sb, a);
			sb_adds(sb, "<td>");
			esc(sb, a->reason);
			late_note(sb, a);
			sb_adds(sb, "</td>");
			fit_cells(sb, &a->half, known);
			td_count(sb, known ? (double)a->half.n : NAN);
			sb_adds(sb, "<td class=\"n\">");
			if (known)
				sb_addf(sb, "%.1f", a->half.n_eff);
			else
				sb_addc(sb, '-');
			sb_adds(sb, "</td>");
			td_bytes(sb, a->growth);
			sb_adds(sb, "<td class=\"n\">");
			if (isfinite(a->growth_rel))
				sb_addf(sb, "%+.1f%%", a->growth_rel * 100);
			else
				sb_addc(sb, '-');
			sb_adds(sb, "</td>");
			fit_cells(sb, &a->quarter, known && a->have_quarter);
			sb_addf(sb, "<td>%s</td></tr>\n", leak_verdict_name(a->profit));
		}
	}
	sb_adds(sb, "</table></div>\n");
}

static void machine_table(struct strbuf *sb, const struct machine *m)
{
	sb_adds(sb, "<h2>Machine</h2>\n");
	if (!m->have) {
		sb_adds(sb, "<p class=\"note\">No system.csv: not recorded.</p>\n");
		return;
	}
	sb_adds(sb, "<div class=\"scroll\"><table>\n<tr><th></th><th>mean</th><th>p50</th>"
		    "<th>p95</th><th>min</th><th>max</th></tr>\n<tr><td>CPU % (whole machine)</td>");
	td_value(sb, UNIT_PERCENT, m->cpu.mean);
	td_value(sb, UNIT_PERCENT, m->cpu.p50);
	td_value(sb, UNIT_PERCENT, m->cpu.p95);
	td_value(sb, UNIT_PERCENT, m->cpu.min);
	td_value(sb, UNIT_PERCENT, m->cpu.max);
	sb_adds(sb, "</tr>\n");
	for (int i = 0; i < m->ncores; i++) {
		sb_addf(sb, "<tr><td>cpu%d %%</td>", i);
		td_value(sb, UNIT_PERCENT, m->core[i].mean);
		sb_adds(sb, "<td></td><td></td><td></td>");
		td_value(sb, UNIT_PERCENT, m->core[i].max);
		sb_adds(sb, "</tr>\n");
	}
	sb_adds(sb, "<tr><td>memory used</td>");
	td_bytes(sb, stats_acc_mean(&m->mem_used));
	sb_adds(sb, "<td></td><td></td>");
	td_bytes(sb, m->mem_used.n ? m->mem_used.min : NAN);
	td_bytes(sb, m->mem_used.n ? m->mem_used.max : NAN);
	sb_adds(sb, "</tr>\n<tr><td>swap used</td><td></td><td></td><td></td><td></td>");
	td_bytes(sb, m->swap_used.n ? m->swap_used.max : NAN);
	sb_adds(sb, "</tr>\n</table></div>\n<p>Energy: ");
	if (m->have_energy) {
		struct strbuf t = STRBUF_INIT;
		report_add_value(&t, UNIT_JOULES, m->energy_j);
		sb_adds(&t, ", mean power ");
		report_add_value(&t, UNIT_WATTS, m->power_w);
		esc(sb, sb_str(&t));
		sb_free(&t);
	} else {
		sb_adds(sb, "not recorded (no energy source on this machine)");
	}
	sb_adds(sb, ".</p>\n");
}

static void comparison_tables(struct strbuf *sb, const struct comparison *c)
{
	for (size_t s = 0; s < c->nsections; s++) {
		const struct cmp_section *sec = &c->sections[s];
		sb_adds(sb, "<h2>");
		esc(sb, sec->title);
		sb_adds(sb, "</h2>\n<div class=\"scroll\"><table>\n<tr><th>metric</th><th>A</th>"
			    "<th>B</th><th>change</th><th>verdict</th><th>test</th></tr>\n");
		for (size_t i = 0; i < sec->nrows; i++) {
			const struct cmp_row *row = &sec->rows[i];
			sb_adds(sb, "<tr><td>");
			esc(sb, row->label);
			sb_adds(sb, "</td>");
			td_value(sb, row->unit, row->a);
			td_value(sb, row->unit, row->b);
			sb_adds(sb, "<td class=\"n\">");
			if (isfinite(row->change_pct))
				sb_addf(sb, "%+.1f%%", row->change_pct);
			else
				sb_addc(sb, '-');
			sb_adds(sb, "</td><td>");
			esc(sb, cmp_verdict_word(row));
			sb_adds(sb, "</td><td>");
			if (row->tested)
				sb_addf(sb, "Welch, p = %.3g", row->welch.p);
			else
				sb_addf(sb, "threshold %.0f%%", CMP_THRESHOLD * 100);
			sb_adds(sb, "</td></tr>\n");
		}
		sb_adds(sb, "</table></div>\n");
	}
}

/* ---- the page ----------------------------------------------------------------------------- */

/* The page script: builds the charts from the JSON data with uPlot. Console errors and
 * uncaught exceptions are also written into #pk-errors, and each chart's element gets
 * data-drawn="1" once drawn, for the browser test. Names are set with textContent only. */
static const char page_script[] =
	"(function(){\n"
	"'use strict';\n"
	"var errs=document.getElementById('pk-errors');\n"
	"function note(m){errs.textContent+=m+'\\n';document.documentElement.setAttribute('data-errors','1');}\n"
	"window.addEventListener('error',function(e){note('error: '+e.message);});\n"
	"var cerr=console.error;console.error=function(){note('console.error: '+Array.prototype.join.call(arguments,' '));cerr.apply(console,arguments);};\n"
	"var D=JSON.parse(document.getElementById('pk-data').textContent);\n"
	"var COLORS=['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#17becf','#bcbd22','#7f7f7f','#393b79','#637939','#8c6d31','#843c39'];\n"
	"var VCOL={leak:'#d62728',growing:'#ff7f0e',stable:'#2ca02c'};\n"
	"function fmtBytes(v){if(v==null)return '-';var a=Math.abs(v),u=['B','KiB','MiB','GiB','TiB'],i=0;while(a>=1024&&i<4){a/=1024;v/=1024;i++;}return (i||v%1?v.toFixed(1):v.toFixed(0))+' '+u[i];}\n"
	"function fmt(unit,v){if(v==null||!isFinite(v))return '-';\n"
	" switch(unit){case 'pct':return v.toFixed(1)+' %';case 'bytes':return fmtBytes(v);case 'bps':return fmtBytes(v)+'/s';\n"
	" case 'w':return v.toFixed(2)+' W';case 'j':return v.toFixed(1)+' J';default:return String(Math.round(v*100)/100);}}\n"
	"function axisFmt(unit){return function(u,vals){return vals.map(function(v){return fmt(unit,v);});};}\n"
	"function width(){return Math.max(400,Math.min(1300,document.body.clientWidth-40));}\n"
	"function section(c){var s=document.createElement('section');s.className='chart';\n"
	" var h=document.createElement('h3');h.textContent=c.title;s.appendChild(h);\n"
	" if(c.note){var p=document.createElement('p');p.className='note';p.textContent=c.note;s.appendChild(p);}\n"
	" var d=document.createElement('div');d.className='pk-chart';d.id='chart-'+c.id;s.appendChild(d);\n"
	" document.getElementById('pk-charts').appendChild(s);return d;}\n"
	"function lineChart(c,el){\n"
	" var tables=c.tables.map(function(t){return [t.x].concat(t.series.map(function(s){return s.values;}));});\n"
	" var data=tables.length>1?uPlot.join(tables):tables[0];\n"
	" var meta=[];c.tables.forEach(function(t){t.series.forEach(function(s){meta.push(s);});});\n"
	" var units=[];meta.forEach(function(s){if(units.indexOf(s.unit)<0)units.push(s.unit);});\n"
	" var series=[{label:'t (s)',value:function(u,v){return v==null?'-':v.toFixed(2)+' s';}}];\n"
	" var k=0,cmp=tables.length>1;meta.forEach(function(s,i){var col=s.total&&!cmp?'#222':COLORS[(k++)%COLORS.length];\n"
	"  var side=cmp&&i>=c.tables[0].series.length;\n"
	"  var flat=s.values.every(function(v){return v==null||v==0;});\n"
	"  series.push({label:s.label,scale:s.unit,stroke:col,width:s.total?2:1.25,dash:side?[6,3]:undefined,spanGaps:true,\n"
	"   show:!(s.hidden||flat),\n"
	"   points:{show:false},value:(function(unit){return function(u,v){return fmt(unit,v);};})(s.unit)});});\n"
	" var scales={x:{time:false}},axes=[{label:'seconds since the start'}];\n"
	" units.forEach(function(un,i){scales[un]={auto:true,range:function(u,mn,mx){return [Math.min(0,mn),mx>0?mx*1.05:1];}};\n"
	"  axes.push({scale:un,side:i?1:3,size:80,grid:{show:i==0},values:axisFmt(un)});});\n"
	" var lines=c.lines||[];\n"
	" var opts={width:width(),height:320,series:series,scales:scales,axes:axes,\n"
	"  cursor:{drag:{x:true,y:false}},legend:{live:true},\n"
	"  hooks:{draw:[function(u){if(!lines.length)return;var x=u.ctx;x.save();x.lineWidth=2*devicePixelRatio;\n"
	"   x.setLineDash([8*devicePixelRatio,4*devicePixelRatio]);x.font=(11*devicePixelRatio)+'px sans-serif';\n"
	"   lines.forEach(function(l){if(!u.series[l.series]||!u.series[l.series].show)return;\n"
	"    var x0=u.valToPos(l.x0,'x',true),x1=u.valToPos(l.x1,'x',true),y0=u.valToPos(l.y0,'bytes',true),y1=u.valToPos(l.y1,'bytes',true);\n"
	"    x.strokeStyle=x.fillStyle=VCOL[l.verdict]||'#555';x.beginPath();x.moveTo(x0,y0);x.lineTo(x1,y1);x.stroke();\n"
	"    if(l.verdict!='stable')x.fillText(l.text,Math.min(x1,u.bbox.left+u.bbox.width)-x.measureText(l.text).width-4,y1-6*devicePixelRatio);});\n"
	"   x.restore();}]}};\n"
	" var p=new uPlot(opts,data,el);window.addEventListener('resize',function(){p.setSize({width:width(),height:320});});\n"
	" if(lines.length){var ul=document.createElement('ul');ul.className='note';lines.forEach(function(l){var li=document.createElement('li');\n"
	"  li.textContent=series[l.series].label+': '+l.text+' (dashed line: the least-squares fit over '+l.over+')';li.style.color=VCOL[l.verdict]||'#555';ul.appendChild(li);});el.parentNode.appendChild(ul);}\n"
	" return p;}\n"
	"function heat(v){if(v==null)return '#eee';var f=Math.max(0,Math.min(1,v/100));\n"
	" return 'rgb('+Math.round(255-f*(255-165))+','+Math.round(255-f*255)+','+Math.round(255-f*255)+')';}\n"
	"function heatmap(c,el){var w=width(),rh=18,left=60,n=c.rows.length,cols=c.columns.length;\n"
	" var cv=document.createElement('canvas');cv.width=w;cv.height=n*rh+24;el.appendChild(cv);\n"
	" var g=cv.getContext('2d'),cw=(w-left-10)/Math.max(1,cols);g.font='11px sans-serif';g.fillStyle='#000';\n"
	" for(var r=0;r<n;r++){g.fillStyle='#000';g.fillText('cpu'+r,4,r*rh+13);\n"
	"  for(var b=0;b<cols;b++){g.fillStyle=heat(c.rows[r][b]);g.fillRect(left+b*cw,r*rh,Math.ceil(cw),rh-2);}}\n"
	" g.fillStyle='#000';g.fillText(c.x0.toFixed(1)+' s',left,n*rh+14);var e=c.x1.toFixed(1)+' s';g.fillText(e,w-10-g.measureText(e).width,n*rh+14);\n"
	" var tip=document.createElement('div');tip.className='heat-tip';tip.textContent='\\u00a0';el.appendChild(tip);\n"
	" cv.addEventListener('mousemove',function(ev){var rc=cv.getBoundingClientRect(),x=ev.clientX-rc.left,y=ev.clientY-rc.top;\n"
	"  var b=Math.floor((x-left)/cw),r=Math.floor(y/rh);if(b<0||b>=cols||r<0||r>=n){tip.textContent='\\u00a0';return;}\n"
	"  var v=c.rows[r][b];tip.textContent='cpu'+r+' at '+c.columns[b].toFixed(2)+' s: '+(v==null?'-':v.toFixed(1)+' %');});\n"
	"}\n"
	"var drawn=0;\n"
	"D.charts.forEach(function(c){var el=section(c);try{if(c.kind=='heatmap')heatmap(c,el);else lineChart(c,el);\n"
	" if(el.querySelector('canvas')){el.setAttribute('data-drawn','1');drawn++;}}catch(e){note('chart '+c.id+': '+e);}});\n"
	"document.documentElement.setAttribute('data-charts',String(D.charts.length));\n"
	"document.documentElement.setAttribute('data-drawn',String(drawn));\n"
	"})();\n";

static const char page_style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;background:#fff}\n"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}\n"
	"h3{font-size:15px;margin:18px 0 4px}.note{color:#555;font-size:12px;margin:2px 0 6px}\n"
	"table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;white-space:nowrap}\n"
	"th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}.scroll{overflow-x:auto}\n"
	".v-leak{color:#fff;background:#d62728;padding:0 4px;border-radius:3px}.v-growing{color:#000;background:#ffbb78;padding:0 4px;border-radius:3px}\n"
	".v-stable{color:#2ca02c}.v-unknown{color:#888}\n"
	"pre.stdout{background:#f8f8f8;border:1px solid #ddd;padding:8px;max-height:400px;overflow:auto;white-space:pre-wrap}\n"
	".heat-tip{font-size:12px;color:#333;height:18px}#pk-errors{display:none}\n"
	"section.chart{margin-bottom:10px}\n";

static void page_head(struct strbuf *sb, const char *title)
{
	sb_adds(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		    "<meta name=\"generator\" content=\"profkit " PROFKIT_VERSION "\">\n<title>");
	esc(sb, title);
	sb_adds(sb, "</title>\n<style>\n");
	sb_add(sb, uplot_css, uplot_css_len);
	sb_adds(sb, "\n");
	sb_adds(sb, page_style);
	sb_adds(sb, "</style>\n</head>\n<body>\n<pre id=\"pk-errors\"></pre>\n");
}

static void charts_intro(struct strbuf *sb, size_t nsides)
{
	sb_adds(sb, "<h2>Charts</h2>\n<p class=\"note\">Drag across a chart to zoom in, double-click "
		    "to zoom out; the legend shows the values under the cursor, and a click on a "
		    "name shows or hides its series. Series with many samples are drawn from the "
		    "minimum and the maximum of each of at most 1000 slices, so every peak stays "
		    "visible; the tables above use every sample. At most 12 processes get their own "
		    "series: the largest users of CPU time and of memory.");
	if (nsides > 1)
		sb_adds(sb, " Recording B is drawn with dashed lines; time is counted from each "
			    "recording's own start.");
	sb_adds(sb, "</p>\n<div id=\"pk-charts\"></div>\n<noscript><p>The charts need "
		    "JavaScript.</p></noscript>\n");
}

static void page_tail(struct strbuf *sb, struct side *sides, size_t nsides)
{
	sb_adds(sb, "<script type=\"application/json\" id=\"pk-data\">{\"charts\":[");
	charts_json(sb, sides, nsides);
	sb_adds(sb, "]}</script>\n");
	for (size_t i = 0; i < nsides; i++)
		captured_stdout(sb, sides[i].r->rec);
	sb_adds(sb, "<p class=\"note\">Made by profkit " PROFKIT_VERSION
		    ". Charts drawn with uPlot (MIT license, embedded below).</p>\n<script>\n/*\n");
	sb_add(sb, uplot_license, uplot_license_len);
	sb_adds(sb, "*/\n");
	sb_add(sb, uplot_js, uplot_js_len);
	sb_adds(sb, "\n</script>\n<script>\n");
	sb_adds(sb, page_script);
	sb_adds(sb, "</script>\n</body>\n</html>\n");
}

static void side_init(struct side *s, const struct report *r, const char *prefix)
{
	*s = (struct side){ .r = r, .prefix = prefix };
	s->t0 = r->rec->nticks ? r->rec->tick_t[0] : 0;
	if (r->rec->have_system && r->rec->sys.n && (!r->rec->nticks || r->rec->sys.t[0] < s->t0))
		s->t0 = r->rec->sys.t[0];
	s->tick = malloc((r->rec->nticks ? r->rec->nticks : 1) * sizeof(double));
	if (!s->tick)
		return;
	load_rates(s);
	load_system(s);
	choose_drawn(s);
}

static void side_free(struct side *s)
{
	free(s->rate[0]);
	free(s->rate[1]);
	free(s->core);
	free(s->power);
	free(s->energy);
	free(s->tick);
}

static void header(struct strbuf *sb, const struct report *r, const char *path, const char *tag)
{
	sb_adds(sb, "<p>");
	if (tag)
		sb_addf(sb, "<b>%s</b> ", tag);
	sb_adds(sb, "<code>");
	esc(sb, path);
	sb_adds(sb, "</code>: ");
	struct strbuf t = STRBUF_INIT;
	if (r->rec->nticks) {
		report_add_time(&t, r->t_first);
		sb_adds(&t, ", ");
		report_add_value(&t, UNIT_SECONDS, r->t_last - r->t_first);
		sb_adds(&t, ", ");
	}
	sb_addf(&t, "%zu samples in %u ticks, %zu processes", r->rec->rows.n, r->rec->nticks,
		r->nprocs);
	esc(sb, sb_str(&t));
	sb_free(&t);
	sb_adds(sb, ".</p>\n");
	const char *w = sb_str((struct strbuf *)&r->rec->warnings);
	if (*w) {
		char *copy = strdup(w);
		sb_adds(sb, "<pre class=\"note\">");
		if (copy)
			add_text_block(sb, copy, strlen(copy));
		free(copy);
		sb_adds(sb, "</pre>\n");
	}
}

void report_html(struct strbuf *sb, const struct report *r, const char *path)
{
	struct side s;
	side_init(&s, r, "");
	struct strbuf title = STRBUF_INIT;
	sb_adds(&title, "profkit report: ");
	sb_adds(&title, path);
	page_head(sb, sb_str(&title));
	sb_free(&title);
	sb_adds(sb, "<h1>profkit report</h1>\n");
	header(sb, r, path, NULL);
	charts_intro(sb, 1);
	entity_table(sb, "Processes", r->procs, r->nprocs);
	entity_table(sb, "Process trees (a process with its descendants)", r->trees, r->ntrees);
	if (r->nprocs || r->ntrees)
		leak_table(sb, r);
	machine_table(sb, &r->machine);
	if (s.tick)
		page_tail(sb, &s, 1);
	else
		sb->failed = true;
	side_free(&s);
}

void comparison_html(struct strbuf *sb, const struct comparison *c, const struct report *ra,
		     const struct report *rb, const char *a, const char *b)
{
	struct side s[2];
	side_init(&s[0], ra, "A: ");
	side_init(&s[1], rb, "B: ");
	/* Comparing: the totals only, one shared chart per metric. */
	s[0].ndrawn = s[1].ndrawn = 0;
	page_head(sb, "profkit report: comparison");
	sb_adds(sb, "<h1>profkit report: A compared with B</h1>\n");
	header(sb, ra, a, "A");
	header(sb, rb, b, "B");
	sb_adds(sb, "<p class=\"note\">Change = (B - A) / |A|. Values per tick (means) are "
		    "tested with Welch's t-test on autocorrelation-corrected sample sizes; single "
		    "numbers against a 5% threshold (docs/report.md).</p>\n");
	charts_intro(sb, 2);
	comparison_tables(sb, c);
	if (s[0].tick && s[1].tick)
		page_tail(sb, s, 2);
	else
		sb->failed = true;
	side_free(&s[0]);
	side_free(&s[1]);
}
