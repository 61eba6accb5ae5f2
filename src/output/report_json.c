/* The JSON report, for scripts: every number the text shows, unrounded units (bytes,
 * seconds, bytes/s), null for what is unknown. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "output/json.h"
#include "output/report.h"

static void num(struct json *j, const char *key, double v, int decimals)
{
	json_key(j, key);
	json_double(j, v, decimals);
}

static void dist(struct json *j, const char *key, const struct dist *d, int decimals)
{
	json_key(j, key);
	json_begin_object(j);
	json_key(j, "samples");
	json_int(j, (int64_t)d->n);
	num(j, "mean", d->mean, decimals);
	num(j, "p50", d->p50, decimals);
	num(j, "p95", d->p95, decimals);
	num(j, "min", d->min, decimals);
	num(j, "max", d->max, decimals);
	json_end_object(j);
}

static void fit(struct json *j, const char *key, const struct stats_fit *f, bool have)
{
	json_key(j, key);
	if (!have) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	json_key(j, "samples");
	json_int(j, (int64_t)f->n);
	num(j, "slope_bytes_per_s", f->slope, 3);
	num(j, "ci_low_bytes_per_s", f->ci_lo, 3);
	num(j, "ci_high_bytes_per_s", f->ci_hi, 3);
	num(j, "slope_mb_per_hour", report_mb_per_hour(f->slope), 6);
	num(j, "residual_se_bytes", f->resid_se, 3);
	num(j, "residual_autocorrelation", f->r1, 6);
	num(j, "effective_samples", f->n_eff, 3);
	num(j, "degrees_of_freedom", f->df, 3);
	json_end_object(j);
}

/* The window of a verdict on growth that began late; null for the others. */
static void late(struct json *j, const struct leak_analysis *a)
{
	const struct leak_late *w = &a->late_window;
	json_key(j, "began_late");
	json_bool(j, a->late);
	json_key(j, "late_window");
	if (!a->late) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	json_key(j, "share");
	json_string(j, leak_share_name(w->depth));
	num(j, "fraction_of_life", ldexp(1, -w->depth), 6);
	fit(j, "fit", &w->fit, true);
	fit(j, "check", &w->check, w->have_check);
	num(j, "mean_bytes", w->mean, 1);
	num(j, "growth_bytes", w->growth, 1);
	num(j, "growth_fraction", w->growth_rel, 6);
	num(j, "end_bytes", w->end, 1);
	num(j, "peak_before_bytes", w->peak_before, 1);
	json_end_object(j);
}

static void leak(struct json *j, const struct leak_analysis *a)
{
	bool known = a->trend != TREND_UNKNOWN;
	json_key(j, "memory_trend");
	json_begin_object(j);
	json_key(j, "verdict");
	json_string(j, leak_trend_name(a->trend));
	json_key(j, "reason");
	json_string(j, a->reason);
	json_key(j, "samples");
	json_int(j, (int64_t)a->n);
	fit(j, "second_half", &a->half, known);
	fit(j, "last_quarter", &a->quarter, known && a->have_quarter);
	num(j, "second_half_mean_bytes", a->half_mean, 1);
	num(j, "growth_bytes", a->growth, 1);
	num(j, "growth_fraction", a->growth_rel, 6);
	late(j, a);
	json_key(j, "profit");
	json_begin_object(j);
	json_key(j, "verdict");
	json_string(j, leak_verdict_name(a->profit));
	num(j, "slope_bytes_per_s", a->profit_slope, 3);
	json_end_object(j);
	json_end_object(j);
}

static void counters(struct json *j, const struct entity *e)
{
	for (int c = 0; c < C_COUNT; c++)
		num(j, rec_counter_columns[c], e->counter[c], c <= C_CPU_SYSTEM ? 2 : 0);
}

static void entity(struct json *j, const struct entity *e)
{
	json_begin_object(j);
	json_key(j, "kind");
	json_string(j, report_kind_name(e->kind));
	json_key(j, "pid");
	json_int(j, e->pid);
	json_key(j, "ppid");
	json_int(j, e->ppid);
	json_key(j, "name");
	json_string(j, e->name ? e->name : "");
	num(j, "creation_epoch", e->creation_epoch, 3);
	if (e->kind == ENTITY_PROCESS) {
		json_key(j, "depth");
		json_int(j, e->depth);
	}
	json_key(j, "processes");
	json_int(j, (int64_t)e->members);
	json_key(j, "samples");
	json_int(j, (int64_t)e->series.n);
	num(j, "first_seen", e->t_first, 6);
	num(j, "last_seen", e->t_last, 6);
	num(j, "duration_s", e->duration_s, 6);
	json_key(j, "exited");
	json_bool(j, e->exited);
	dist(j, "cpu_percent", &e->cpu, 2);
	num(j, "cpu_s", e->cpu_s, 3);
	json_key(j, "cpu_s_estimated");
	json_bool(j, e->cpu_s_estimated);
	dist(j, "mem_real", &e->rss, 1);
	num(j, "mem_real_end", e->rss_end, 0);
	num(j, "mem_virtual_max", e->vms_max, 0);
	num(j, "mem_swap_max", e->swap_max, 0);
	num(j, "num_open_files_max", e->fds_max, 0);
	num(j, "num_threads_max", e->threads_max, 0);
	counters(j, e);
	leak(j, &e->leak);
	json_end_object(j);
}

static void machine(struct json *j, const struct machine *m)
{
	json_key(j, "machine");
	if (!m->have) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	json_key(j, "cpus");
	json_int(j, m->ncores);
	dist(j, "cpu_percent", &m->cpu, 2);
	json_key(j, "per_core");
	json_begin_array(j);
	for (int i = 0; i < m->ncores; i++) {
		json_begin_object(j);
		num(j, "mean", m->core[i].mean, 2);
		num(j, "max", m->core[i].max, 2);
		json_end_object(j);
	}
	json_end_array(j);
	num(j, "mem_used_min", m->mem_used.n ? m->mem_used.min : NAN, 0);
	num(j, "mem_used_mean", stats_acc_mean(&m->mem_used), 0);
	num(j, "mem_used_max", m->mem_used.n ? m->mem_used.max : NAN, 0);
	num(j, "swap_used_max", m->swap_used.n ? m->swap_used.max : NAN, 0);
	num(j, "energy_j", m->energy_j, 6);
	num(j, "mean_power_w", m->power_w, 3);
	json_end_object(j);
}

static void source(struct json *j, const struct recording *rec, const char *path)
{
	json_key(j, "source");
	json_begin_object(j);
	json_key(j, "path");
	json_string(j, path);
	json_key(j, "samples_csv");
	json_string(j, rec->samples_path);
	json_key(j, "system_csv");
	if (rec->system_path)
		json_string(j, rec->system_path);
	else
		json_null(j);
	json_key(j, "rows");
	json_int(j, (int64_t)rec->rows.n);
	json_key(j, "ticks");
	json_int(j, rec->nticks);
	json_key(j, "warnings");
	json_begin_array(j);
	const char *w = sb_str((struct strbuf *)&rec->warnings);
	for (const char *nl; *w && (nl = strchr(w, '\n')); w = nl + 1) {
		char *line = strndup(w, (size_t)(nl - w));
		json_string(j, line ? line : "");
		free(line);
	}
	json_end_array(j);
	json_end_object(j);
}

void report_json(struct strbuf *sb, const struct report *r, const char *path)
{
	struct json j;
	json_init(&j, sb);
	json_begin_object(&j);
	json_key(&j, "profkit_version");
	json_string(&j, PROFKIT_VERSION);
	source(&j, r->rec, path);
	num(&j, "start_epoch", r->t_first, 6);
	num(&j, "end_epoch", r->t_last, 6);
	num(&j, "duration_s", r->t_last - r->t_first, 6);
	json_key(&j, "processes");
	json_begin_array(&j);
	for (size_t i = 0; i < r->nprocs; i++)
		entity(&j, &r->procs[i]);
	json_end_array(&j);
	json_key(&j, "trees");
	json_begin_array(&j);
	for (size_t i = 0; i < r->ntrees; i++)
		entity(&j, &r->trees[i]);
	json_end_array(&j);
	machine(&j, &r->machine);
	json_end_object(&j);
	sb_addc(sb, '\n');
}

/* ---- comparison -------------------------------------------------------------------------- */

static void cmp_row(struct json *j, const struct cmp_row *row)
{
	json_begin_object(j);
	json_key(j, "metric");
	json_string(j, row->key);
	json_key(j, "label");
	json_string(j, row->label);
	json_key(j, "unit");
	json_string(j, report_unit_name(row->unit));
	num(j, "a", row->a, 6);
	num(j, "b", row->b, 6);
	num(j, "change_percent", row->change_pct, 3);
	json_key(j, "verdict");
	json_string(j, cmp_verdict_word(row));
	json_key(j, "test");
	json_string(j, row->tested ? "welch" : "threshold");
	if (row->tested) {
		num(j, "p_value", row->welch.p, 6);
		num(j, "t", row->welch.t, 4);
		num(j, "degrees_of_freedom", row->welch.df, 3);
		num(j, "effective_samples_a", row->n_eff_a, 3);
		num(j, "effective_samples_b", row->n_eff_b, 3);
	} else {
		num(j, "threshold_percent", CMP_THRESHOLD * 100, 1);
	}
	json_end_object(j);
}

void comparison_json(struct strbuf *sb, const struct comparison *c, const char *a, const char *b)
{
	struct json j;
	json_init(&j, sb);
	json_begin_object(&j);
	json_key(&j, "profkit_version");
	json_string(&j, PROFKIT_VERSION);
	json_key(&j, "a");
	json_string(&j, a);
	json_key(&j, "b");
	json_string(&j, b);
	json_key(&j, "sections");
	json_begin_array(&j);
	for (size_t s = 0; s < c->nsections; s++) {
		json_begin_object(&j);
		json_key(&j, "title");
		json_string(&j, c->sections[s].title);
		json_key(&j, "metrics");
		json_begin_array(&j);
		for (size_t i = 0; i < c->sections[s].nrows; i++)
			cmp_row(&j, &c->sections[s].rows[i]);
		json_end_array(&j);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	sb_addc(sb, '\n');
}
