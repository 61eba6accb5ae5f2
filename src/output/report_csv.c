/* The CSV report: one row per process, per process tree, for the machine and per core, in
 * plain units (bytes, seconds, bytes/s); empty where a value is unknown. */
#include <math.h>
#include <stdio.h>
#include "output/csv.h"
#include "output/report.h"

static const char *const columns[] = {
	"kind",
	"pid",
	"ppid",
	"name",
	"creation_epoch",
	"processes",
	"samples",
	"duration_s",
	"exited",
	"cpu_mean",
	"cpu_p50",
	"cpu_p95",
	"cpu_max",
	"cpu_s",
	"rss_min",
	"rss_mean",
	"rss_p50",
	"rss_p95",
	"rss_max",
	"rss_end",
	"vms_max",
	"swap_max",
	"fds_max",
	"threads_max",
	"read_bytes",
	"write_bytes",
	"minor_faults",
	"major_faults",
	"ctx_voluntary",
	"ctx_involuntary",
	"trend",
	"trend_slope_bytes_per_s",
	"trend_ci_low_bytes_per_s",
	"trend_ci_high_bytes_per_s",
	"trend_mb_per_hour",
	"trend_growth_fraction",
	"profit_verdict",
	"profit_slope_bytes_per_s",
	"trend_began_late",
	"trend_late_fraction_of_life",
	"trend_late_slope_bytes_per_s",
	"trend_late_ci_low_bytes_per_s",
	"trend_late_ci_high_bytes_per_s",
	"trend_late_growth_fraction",
	"trend_late_check_slope_bytes_per_s",
	"trend_late_check_ci_low_bytes_per_s",
	"trend_late_check_ci_high_bytes_per_s",
	"trend_late_peak_before_bytes",
};

/* A separator, then the value or nothing. */
static void num(struct strbuf *sb, double v, int decimals)
{
	sb_addc(sb, ',');
	if (isfinite(v))
		sb_add_fixed(sb, v, decimals);
}

static void text(struct strbuf *sb, const char *s)
{
	sb_addc(sb, ',');
	csv_add_field(sb, s ? s : "");
}

static void header(struct strbuf *sb)
{
	for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
		if (i)
			sb_addc(sb, ',');
		sb_adds(sb, columns[i]);
	}
	sb_addc(sb, '\n');
}

static void dist_cells(struct strbuf *sb, const struct dist *d, int decimals, bool quantiles)
{
	num(sb, d->mean, decimals);
	if (quantiles) {
		num(sb, d->p50, decimals);
		num(sb, d->p95, decimals);
	}
	num(sb, d->max, decimals);
}

static void fit_cells(struct strbuf *sb, const struct stats_fit *f, bool have)
{
	num(sb, have ? f->slope : NAN, 3);
	num(sb, have ? f->ci_lo : NAN, 3);
	num(sb, have ? f->ci_hi : NAN, 3);
}

/* The window of a verdict on growth that began late (docs/report.md); empty for others. */
static void late_cells(struct strbuf *sb, const struct leak_analysis *a)
{
	const struct leak_late *w = &a->late_window;
	text(sb, a->late ? "yes" : "no");
	num(sb, a->late ? ldexp(1, -w->depth) : NAN, 6);
	fit_cells(sb, &w->fit, a->late);
	num(sb, a->late ? w->growth_rel : NAN, 6);
	fit_cells(sb, &w->check, a->late && w->have_check);
	num(sb, a->late ? w->peak_before : NAN, 0);
}

static void trend_cells(struct strbuf *sb, const struct leak_analysis *a)
{
	bool known = a->trend != TREND_UNKNOWN;
	text(sb, leak_trend_name(a->trend));
	num(sb, known ? a->half.slope : NAN, 3);
	num(sb, known ? a->half.ci_lo : NAN, 3);
	num(sb, known ? a->half.ci_hi : NAN, 3);
	num(sb, known ? report_mb_per_hour(a->half.slope) : NAN, 6);
	num(sb, known ? a->growth_rel : NAN, 6);
	text(sb, leak_verdict_name(a->profit));
	num(sb, a->profit_slope, 3);
	late_cells(sb, a);
}

static void entity_row(struct strbuf *sb, const struct entity *e)
{
	sb_adds(sb, report_kind_name(e->kind));
	num(sb, e->pid, 0);
	num(sb, e->ppid > 0 ? e->ppid : NAN, 0);
	text(sb, e->name);
	num(sb, e->creation_epoch, 3);
	num(sb, (double)e->members, 0);
	num(sb, (double)e->series.n, 0);
	num(sb, e->duration_s, 6);
	text(sb, e->exited ? "yes" : "no");
	num(sb, e->cpu.mean, 2);
	num(sb, e->cpu.p50, 2);
	num(sb, e->cpu.p95, 2);
	num(sb, e->cpu.max, 2);
	num(sb, e->cpu_s, 3);
	num(sb, e->rss.min, 0);
	dist_cells(sb, &e->rss, 0, true);
	num(sb, e->rss_end, 0);
	num(sb, e->vms_max, 0);
	num(sb, e->swap_max, 0);
	num(sb, e->fds_max, 0);
	num(sb, e->threads_max, 0);
	static const int counters[] = { C_READ,         C_WRITE,         C_MINOR_FAULTS,
					C_MAJOR_FAULTS, C_CTX_VOLUNTARY, C_CTX_INVOLUNTARY };
	for (size_t i = 0; i < ARRAY_SIZE(counters); i++)
		num(sb, e->counter[counters[i]], 0);
	trend_cells(sb, &e->leak);
	sb_addc(sb, '\n');
}

/* Machine rows use the CPU columns, and the rss_* columns for memory used; the rest empty. */
static void machine_row(struct strbuf *sb, const char *name, const struct dist *cpu,
			const struct stats_acc *mem, size_t samples, size_t rest)
{
	sb_adds(sb, "machine,,");
	text(sb, name);
	sb_adds(sb, ",,");
	num(sb, (double)samples, 0);
	sb_adds(sb, ",,");
	dist_cells(sb, cpu, 2, true);
	sb_addc(sb, ',');
	num(sb, mem && mem->n ? mem->min : NAN, 0);
	num(sb, mem ? stats_acc_mean(mem) : NAN, 0);
	sb_adds(sb, ",,");
	num(sb, mem && mem->n ? mem->max : NAN, 0);
	for (size_t i = 0; i < rest; i++)
		sb_addc(sb, ',');
	sb_addc(sb, '\n');
}

static void machine_rows(struct strbuf *sb, const struct machine *m)
{
	size_t rest = ARRAY_SIZE(columns) - 19; /* columns after rss_max */
	machine_row(sb, "all", &m->cpu, &m->mem_used, m->ns, rest);
	for (int i = 0; i < m->ncores; i++) {
		char name[32];
		snprintf(name, sizeof(name), "cpu%d", i);
		struct dist d = { 0, m->core[i].mean, NAN, NAN, NAN, m->core[i].max };
		machine_row(sb, name, &d, NULL, m->ns, rest);
	}
}

void report_csv(struct strbuf *sb, const struct report *r)
{
	header(sb);
	for (size_t i = 0; i < r->nprocs; i++)
		entity_row(sb, &r->procs[i]);
	for (size_t i = 0; i < r->ntrees; i++)
		entity_row(sb, &r->trees[i]);
	if (r->machine.have)
		machine_rows(sb, &r->machine);
}

void comparison_csv(struct strbuf *sb, const struct comparison *c)
{
	sb_adds(sb, "section,metric,unit,a,b,change_percent,verdict,test,p_value\n");
	for (size_t s = 0; s < c->nsections; s++)
		for (size_t i = 0; i < c->sections[s].nrows; i++) {
			const struct cmp_row *row = &c->sections[s].rows[i];
			csv_add_field(sb, c->sections[s].title);
			text(sb, row->key);
			text(sb, report_unit_name(row->unit));
			num(sb, row->a, 6);
			num(sb, row->b, 6);
			num(sb, row->change_pct, 3);
			text(sb, cmp_verdict_word(row));
			text(sb, row->tested ? "welch" : "threshold");
			num(sb, row->tested ? row->welch.p : NAN, 6);
			sb_addc(sb, '\n');
		}
}
