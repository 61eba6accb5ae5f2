/* The text report: a block per process, per process tree, and for the machine. */
#include <math.h>
#include <stdio.h>
#include "output/report.h"

#define LABEL "  %-18s"

static void add_label(struct strbuf *sb, const char *label) { sb_addf(sb, LABEL, label); }

static void add_pair(struct strbuf *sb, const char *name, enum value_unit unit, double v)
{
	sb_addf(sb, "%s ", name);
	report_add_value(sb, unit, v);
	sb_adds(sb, "   ");
}

static void end_line(struct strbuf *sb)
{
	while (sb->len && sb->buf[sb->len - 1] == ' ')
		sb->len--;
	sb_addc(sb, '\n');
}

static void add_dist(struct strbuf *sb, const char *label, enum value_unit unit,
		     const struct dist *d)
{
	add_label(sb, label);
	add_pair(sb, "mean", unit, d->mean);
	add_pair(sb, "p50", unit, d->p50);
	add_pair(sb, "p95", unit, d->p95);
	add_pair(sb, "max", unit, d->max);
}

static void add_spark(struct strbuf *sb, bool on, const double *v, size_t n)
{
	if (!on || n < 2)
		return;
	sb_adds(sb, "  ");
	report_sparkline(sb, v, n, SPARKLINE_WIDTH);
}

/* "+46.6 MB/s": a slope in bytes/s, signed, in decimal units like the MB/hour beside it. */
static void add_rate(struct strbuf *sb, double bytes_per_s)
{
	static const char *const units[] = { "B/s", "kB/s", "MB/s", "GB/s", "TB/s" };
	if (isnan(bytes_per_s)) {
		sb_addc(sb, '-');
		return;
	}
	double v = fabs(bytes_per_s);
	int u = 0;
	if (v < 0.5) {
		sb_adds(sb, "0 B/s");
		return;
	}
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	sb_addf(sb, u ? "%c%.1f %s" : "%c%.0f %s", bytes_per_s < 0 ? '-' : '+', v, units[u]);
}

static void add_fit(struct strbuf *sb, const struct stats_fit *f)
{
	add_rate(sb, f->slope);
	sb_addf(sb, " (%.0f%% CI ", LEAK_LEVEL * 100);
	add_rate(sb, f->ci_lo);
	sb_adds(sb, " .. ");
	add_rate(sb, f->ci_hi);
	sb_addc(sb, ')');
}

/* The numbers of a verdict on growth that began late: the window's fit and growth, its
 * check (the window's last half), and the earlier peak it went beyond. */
static void add_late(struct strbuf *sb, const struct leak_late *w)
{
	sb_addf(sb, LABEL "began late, %s: ", "", leak_share_name(w->depth));
	add_fit(sb, &w->fit);
	sb_addc(sb, '\n');
	sb_addf(sb, LABEL "%zu samples (worth %.1f independent), growth ", "", w->fit.n,
		w->fit.n_eff);
	sb_addc(sb, w->growth < 0 ? '-' : '+');
	sb_add_bytes(sb, fabs(w->growth));
	sb_addf(sb, " = %+.1f%% of its mean ", w->growth_rel * 100);
	sb_add_bytes(sb, w->mean);
	sb_addc(sb, '\n');
	sb_addf(sb, LABEL "%s: ", "", leak_share_name(w->depth + 1));
	if (w->have_check)
		add_fit(sb, &w->check);
	else
		sb_adds(sb, "too few samples");
	sb_addc(sb, '\n');
	sb_addf(sb, LABEL "ends at ", "");
	sb_add_bytes(sb, w->end);
	sb_adds(sb, ", above its earlier peak of ");
	sb_add_bytes(sb, w->peak_before);
	sb_addc(sb, '\n');
}

static void add_leak(struct strbuf *sb, const struct leak_analysis *a)
{
	add_label(sb, "memory trend");
	sb_addf(sb, "%s: %s\n", leak_trend_name(a->trend), a->reason);
	if (a->trend != TREND_UNKNOWN) {
		sb_addf(sb, LABEL "second half: ", "");
		add_fit(sb, &a->half);
		sb_addf(sb, " = %+.1f MB/hour\n", report_mb_per_hour(a->half.slope));
		sb_addf(sb, LABEL "%zu samples (worth %.1f independent), growth ", "", a->n_half,
			a->half.n_eff);
		sb_addc(sb, a->growth < 0 ? '-' : '+');
		sb_add_bytes(sb, fabs(a->growth));
		sb_addf(sb, " = %+.1f%% of its mean ", a->growth_rel * 100);
		sb_add_bytes(sb, a->half_mean);
		sb_addc(sb, '\n');
		sb_addf(sb, LABEL "last quarter: ", "");
		if (a->have_quarter)
			add_fit(sb, &a->quarter);
		else
			sb_adds(sb, "too few samples");
		sb_addc(sb, '\n');
		if (a->late)
			add_late(sb, &a->late_window);
	}
	sb_addf(sb, LABEL "PROFIT's heuristic: %s", "", leak_verdict_name(a->profit));
	if (!isnan(a->profit_slope)) {
		sb_adds(sb, " (");
		add_rate(sb, a->profit_slope);
		sb_addc(sb, ')');
	}
	sb_addc(sb, '\n');
}

static void add_heading(struct strbuf *sb, const struct entity *e)
{
	sb_addf(sb, "\n%s %d ", e->kind == ENTITY_TREE ? "process tree" : "process", e->pid);
	report_add_text(sb, e->name);
	if (e->kind == ENTITY_TREE)
		sb_addf(sb, " (%zu processes)", e->members);
	else if (e->ppid > 0)
		sb_addf(sb, " (parent %d)", e->ppid);
	if (e->exited)
		sb_adds(sb, ", exited");
	sb_addc(sb, '\n');
}

static void add_counters(struct strbuf *sb, const struct entity *e)
{
	add_label(sb, "I/O");
	add_pair(sb, "read", UNIT_BYTES, e->counter[C_READ]);
	add_pair(sb, "written", UNIT_BYTES, e->counter[C_WRITE]);
	end_line(sb);
	add_label(sb, "page faults");
	add_pair(sb, "minor", UNIT_COUNT, e->counter[C_MINOR_FAULTS]);
	add_pair(sb, "major", UNIT_COUNT, e->counter[C_MAJOR_FAULTS]);
	end_line(sb);
	add_label(sb, "context switches");
	add_pair(sb, "voluntary", UNIT_COUNT, e->counter[C_CTX_VOLUNTARY]);
	add_pair(sb, "involuntary", UNIT_COUNT, e->counter[C_CTX_INVOLUNTARY]);
	end_line(sb);
}

static void add_entity(struct strbuf *sb, const struct entity *e, bool spark)
{
	add_heading(sb, e);
	add_label(sb, "duration");
	report_add_value(sb, UNIT_SECONDS, e->duration_s);
	sb_addf(sb, ", %zu samples\n", e->series.n);
	add_dist(sb, "CPU %", UNIT_PERCENT, &e->cpu);
	add_spark(sb, spark, e->series.cpu, e->series.n);
	end_line(sb);
	add_label(sb, "CPU time");
	report_add_value(sb, UNIT_SECONDS, e->cpu_s);
	if (!isnan(e->counter[C_CPU_USER]) && !isnan(e->counter[C_CPU_SYSTEM]))
		sb_addf(sb, " (user %.2f s, system %.2f s)", e->counter[C_CPU_USER],
			e->counter[C_CPU_SYSTEM]);
	sb_adds(sb, e->cpu_s_estimated ? " (estimated from CPU %)\n" : "\n");
	add_label(sb, "RSS");
	add_pair(sb, "min", UNIT_BYTES, e->rss.min);
	add_pair(sb, "mean", UNIT_BYTES, e->rss.mean);
	add_pair(sb, "max", UNIT_BYTES, e->rss.max);
	add_pair(sb, "end", UNIT_BYTES, e->rss_end);
	add_spark(sb, spark, e->series.rss, e->series.n);
	end_line(sb);
	add_label(sb, "peaks");
	add_pair(sb, "VMS", UNIT_BYTES, e->vms_max);
	add_pair(sb, "swap", UNIT_BYTES, e->swap_max);
	add_pair(sb, "open files", UNIT_COUNT, e->fds_max);
	add_pair(sb, "threads", UNIT_COUNT, e->threads_max);
	end_line(sb);
	add_counters(sb, e);
	add_leak(sb, &e->leak);
}

static void add_cores(struct strbuf *sb, const struct machine *m)
{
	for (int i = 0; i < m->ncores; i++) {
		char label[32];
		snprintf(label, sizeof(label), "cpu%d %%", i);
		add_label(sb, label);
		add_pair(sb, "mean", UNIT_PERCENT, m->core[i].mean);
		add_pair(sb, "max", UNIT_PERCENT, m->core[i].max);
		end_line(sb);
	}
}

static void add_machine(struct strbuf *sb, const struct machine *m, bool spark)
{
	sb_addf(sb, "\nmachine (%d CPU%s)\n", m->ncores, m->ncores == 1 ? "" : "s");
	add_dist(sb, "CPU %", UNIT_PERCENT, &m->cpu);
	add_spark(sb, spark, m->cpu_series, m->ns);
	end_line(sb);
	add_cores(sb, m);
	add_label(sb, "memory used");
	add_pair(sb, "min", UNIT_BYTES, m->mem_used.n ? m->mem_used.min : NAN);
	add_pair(sb, "mean", UNIT_BYTES, stats_acc_mean(&m->mem_used));
	add_pair(sb, "max", UNIT_BYTES, m->mem_used.n ? m->mem_used.max : NAN);
	end_line(sb);
	add_label(sb, "swap used");
	add_pair(sb, "max", UNIT_BYTES, m->swap_used.n ? m->swap_used.max : NAN);
	end_line(sb);
	add_label(sb, "energy");
	if (m->have_energy) {
		report_add_value(sb, UNIT_JOULES, m->energy_j);
		sb_adds(sb, ", mean power ");
		report_add_value(sb, UNIT_WATTS, m->power_w);
		sb_addc(sb, '\n');
	} else {
		sb_adds(sb, "not recorded\n");
	}
}

void report_text(struct strbuf *sb, const struct report *r, const char *source, bool spark)
{
	const struct recording *rec = r->rec;
	sb_adds(sb, "profkit report: ");
	report_add_text(sb, source);
	sb_addf(sb, "\n  %zu process%s, %zu samples in %u ticks over ", rec->nprocs,
		rec->nprocs == 1 ? "" : "es", rec->rows.n, rec->nticks);
	report_add_value(sb, UNIT_SECONDS, r->t_last - r->t_first);
	sb_adds(sb, ", from ");
	report_add_time(sb, r->t_first);
	sb_addc(sb, '\n');
	for (size_t i = 0; i < r->nprocs; i++)
		add_entity(sb, &r->procs[i], spark);
	for (size_t i = 0; i < r->ntrees; i++)
		add_entity(sb, &r->trees[i], spark);
	if (r->machine.have)
		add_machine(sb, &r->machine, spark);
	else
		sb_adds(sb, "\nmachine: no system.csv\n");
}

/* ---- comparison -------------------------------------------------------------------------- */

static void add_cell(struct strbuf *sb, enum value_unit unit, double v, int width)
{
	struct strbuf cell = STRBUF_INIT;
	report_add_value(&cell, unit, v);
	sb_addf(sb, "%*s", width, sb_str(&cell));
	sb_free(&cell);
}

static void add_cmp_row(struct strbuf *sb, const struct cmp_row *row)
{
	sb_addf(sb, "  %-22s", row->label);
	add_cell(sb, row->unit, row->a, 14);
	add_cell(sb, row->unit, row->b, 14);
	if (isnan(row->change_pct))
		sb_addf(sb, "  %9s", "-");
	else
		sb_addf(sb, "  %+8.1f%%", row->change_pct);
	sb_addf(sb, "   %s", cmp_verdict_word(row));
	if (row->verdict != CMP_NA && row->tested)
		sb_addf(sb, " (Welch p=%.3g)", row->welch.p);
	else if (row->verdict != CMP_NA)
		sb_addf(sb, " (threshold %.0f%%)", CMP_THRESHOLD * 100);
	sb_addc(sb, '\n');
}

void comparison_text(struct strbuf *sb, const struct comparison *c, const char *a, const char *b)
{
	sb_adds(sb, "profkit report: A = ");
	report_add_text(sb, a);
	sb_adds(sb, "\n                B = ");
	report_add_text(sb, b);
	sb_addc(sb, '\n');
	for (size_t s = 0; s < c->nsections; s++) {
		const struct cmp_section *sec = &c->sections[s];
		sb_adds(sb, "\n");
		report_add_text(sb, sec->title);
		sb_addf(sb, "\n  %-22s%14s%14s  %9s   %s\n", "metric", "A", "B", "change",
			"verdict");
		for (size_t i = 0; i < sec->nrows; i++)
			add_cmp_row(sb, &sec->rows[i]);
	}
}
