/* The Markdown report: tables that paste into an issue or a pull request. Names from the
 * profiled program are escaped so that neither Markdown nor HTML interprets them. */
#include <math.h>
#include "output/report.h"

static void cell(struct strbuf *sb, enum value_unit unit, double v)
{
	sb_adds(sb, " ");
	report_add_value(sb, unit, v);
	sb_adds(sb, " |");
}

static void add_name_cell(struct strbuf *sb, const struct entity *e)
{
	sb_addf(sb, "| %d | ", e->pid);
	report_add_markdown(sb, e->name);
	if (e->kind == ENTITY_TREE)
		sb_addf(sb, " (%zu processes)", e->members);
	sb_adds(sb, " |");
}

static void stats_header(struct strbuf *sb)
{
	sb_adds(sb,
		"| PID | name | duration | CPU % mean | CPU % p50 | CPU % p95 | CPU % max "
		"| CPU time | RSS min | RSS mean | RSS max | RSS end | VMS max | open files max "
		"| threads max |\n"
		"|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
}

static void stats_row(struct strbuf *sb, const struct entity *e)
{
	add_name_cell(sb, e);
	cell(sb, UNIT_SECONDS, e->duration_s);
	cell(sb, UNIT_PERCENT, e->cpu.mean);
	cell(sb, UNIT_PERCENT, e->cpu.p50);
	cell(sb, UNIT_PERCENT, e->cpu.p95);
	cell(sb, UNIT_PERCENT, e->cpu.max);
	cell(sb, UNIT_SECONDS, e->cpu_s);
	cell(sb, UNIT_BYTES, e->rss.min);
	cell(sb, UNIT_BYTES, e->rss.mean);
	cell(sb, UNIT_BYTES, e->rss.max);
	cell(sb, UNIT_BYTES, e->rss_end);
	cell(sb, UNIT_BYTES, e->vms_max);
	cell(sb, UNIT_COUNT, e->fds_max);
	cell(sb, UNIT_COUNT, e->threads_max);
	sb_addc(sb, '\n');
}

static void io_header(struct strbuf *sb)
{
	sb_adds(sb, "| PID | name | bytes read | bytes written | minor faults | major faults "
		    "| voluntary switches | involuntary switches | swap max |\n"
		    "|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
}

static void io_row(struct strbuf *sb, const struct entity *e)
{
	add_name_cell(sb, e);
	cell(sb, UNIT_BYTES, e->counter[C_READ]);
	cell(sb, UNIT_BYTES, e->counter[C_WRITE]);
	cell(sb, UNIT_COUNT, e->counter[C_MINOR_FAULTS]);
	cell(sb, UNIT_COUNT, e->counter[C_MAJOR_FAULTS]);
	cell(sb, UNIT_COUNT, e->counter[C_CTX_VOLUNTARY]);
	cell(sb, UNIT_COUNT, e->counter[C_CTX_INVOLUNTARY]);
	cell(sb, UNIT_BYTES, e->swap_max);
	sb_addc(sb, '\n');
}

static void trend_header(struct strbuf *sb)
{
	sb_adds(sb,
		"| PID | name | verdict | slope (MB/hour) | 95% CI (MB/hour) | growth (% of RSS) "
		"| last quarter (MB/hour) | PROFIT | why |\n"
		"|---:|---|---|---:|---|---:|---|---|---|\n");
}

static void trend_row(struct strbuf *sb, const struct entity *e)
{
	const struct leak_analysis *a = &e->leak;
	bool known = a->trend != TREND_UNKNOWN;
	add_name_cell(sb, e);
	sb_addf(sb, " **%s** |", leak_trend_name(a->trend));
	if (known)
		sb_addf(sb, " %+.1f | %+.1f .. %+.1f | %+.1f%% |",
			report_mb_per_hour(a->half.slope), report_mb_per_hour(a->half.ci_lo),
			report_mb_per_hour(a->half.ci_hi), a->growth_rel * 100);
	else
		sb_adds(sb, " - | - | - |");
	if (known && a->have_quarter)
		sb_addf(sb, " %+.1f (%+.1f .. %+.1f) |", report_mb_per_hour(a->quarter.slope),
			report_mb_per_hour(a->quarter.ci_lo), report_mb_per_hour(a->quarter.ci_hi));
	else
		sb_adds(sb, " - |");
	sb_addf(sb, " %s | %s", leak_verdict_name(a->profit), a->reason);
	if (a->late) {
		sb_adds(sb, " (");
		report_add_late(sb, &a->late_window);
		sb_addc(sb, ')');
	}
	sb_adds(sb, " |\n");
}

static void table(struct strbuf *sb, const struct entity *list, size_t n,
		  void (*header)(struct strbuf *),
		  void (*row)(struct strbuf *, const struct entity *))
{
	header(sb);
	for (size_t i = 0; i < n; i++)
		row(sb, &list[i]);
}

static void machine(struct strbuf *sb, const struct machine *m)
{
	sb_addf(sb,
		"\n## Machine (%d CPUs)\n\n| metric | mean | p50 | p95 | max |\n"
		"|---|---:|---:|---:|---:|\n| CPU %% |",
		m->ncores);
	cell(sb, UNIT_PERCENT, m->cpu.mean);
	cell(sb, UNIT_PERCENT, m->cpu.p50);
	cell(sb, UNIT_PERCENT, m->cpu.p95);
	cell(sb, UNIT_PERCENT, m->cpu.max);
	for (int i = 0; i < m->ncores; i++) {
		sb_addf(sb, "\n| cpu%d %% |", i);
		cell(sb, UNIT_PERCENT, m->core[i].mean);
		sb_adds(sb, " - | - |");
		cell(sb, UNIT_PERCENT, m->core[i].max);
	}
	sb_adds(sb, "\n| memory used |");
	cell(sb, UNIT_BYTES, stats_acc_mean(&m->mem_used));
	sb_adds(sb, " - | - |");
	cell(sb, UNIT_BYTES, m->mem_used.n ? m->mem_used.max : NAN);
	sb_adds(sb, "\n\nEnergy: ");
	if (m->have_energy) {
		report_add_value(sb, UNIT_JOULES, m->energy_j);
		sb_adds(sb, ", mean power ");
		report_add_value(sb, UNIT_WATTS, m->power_w);
		sb_adds(sb, ".\n");
	} else {
		sb_adds(sb, "not recorded.\n");
	}
}

static void section(struct strbuf *sb, const char *title, const struct entity *list, size_t n)
{
	sb_addf(sb, "\n## %s\n\n", title);
	table(sb, list, n, stats_header, stats_row);
	sb_addc(sb, '\n');
	table(sb, list, n, io_header, io_row);
	sb_addf(sb, "\n### Memory trend\n\n");
	table(sb, list, n, trend_header, trend_row);
}

void report_markdown(struct strbuf *sb, const struct report *r, const char *source)
{
	sb_adds(sb, "# profkit report: ");
	report_add_markdown(sb, source);
	sb_addf(sb, "\n\n%zu processes, %zu samples in %u ticks over ", r->rec->nprocs,
		r->rec->rows.n, r->rec->nticks);
	report_add_value(sb, UNIT_SECONDS, r->t_last - r->t_first);
	sb_adds(sb, ", from ");
	report_add_time(sb, r->t_first);
	sb_adds(sb, ".\n");
	section(sb, "Processes", r->procs, r->nprocs);
	if (r->ntrees)
		section(sb, "Process trees", r->trees, r->ntrees);
	if (r->machine.have)
		machine(sb, &r->machine);
}

/* ---- comparison -------------------------------------------------------------------------- */

static void cmp_row(struct strbuf *sb, const struct cmp_row *row)
{
	sb_addf(sb, "| %s |", row->label);
	cell(sb, row->unit, row->a);
	cell(sb, row->unit, row->b);
	if (isnan(row->change_pct))
		sb_adds(sb, " - |");
	else
		sb_addf(sb, " %+.1f%% |", row->change_pct);
	sb_addf(sb, " %s |", cmp_verdict_word(row));
	if (row->verdict != CMP_NA && row->tested)
		sb_addf(sb, " Welch p=%.3g |\n", row->welch.p);
	else if (row->verdict != CMP_NA)
		sb_addf(sb, " threshold %.0f%% |\n", CMP_THRESHOLD * 100);
	else
		sb_adds(sb, " - |\n");
}

void comparison_markdown(struct strbuf *sb, const struct comparison *c, const char *a,
			 const char *b)
{
	sb_adds(sb, "# profkit report: A = ");
	report_add_markdown(sb, a);
	sb_adds(sb, ", B = ");
	report_add_markdown(sb, b);
	sb_addc(sb, '\n');
	for (size_t s = 0; s < c->nsections; s++) {
		sb_adds(sb, "\n## ");
		report_add_markdown(sb, c->sections[s].title);
		sb_adds(sb, "\n\n| metric | A | B | change | verdict | test |\n"
			    "|---|---:|---:|---:|---|---|\n");
		for (size_t i = 0; i < c->sections[s].nrows; i++)
			cmp_row(sb, &c->sections[s].rows[i]);
	}
}
