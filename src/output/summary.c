#include "output/summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/series.h"
#include "config.h"
#include "output/json.h"

static const char *end_name(enum monitor_end e)
{
	switch (e) {
	case END_DURATION:
		return "duration";
	case END_SIGNAL:
		return "signal";
	case END_WRITE_ERROR:
		return "write_error";
	default:
		return "targets_gone";
	}
}

/* Time-weighted mean CPU % over the recording: CPU time used between the first and last
 * sample over the time between them. */
static double cpu_mean(const struct target *t)
{
	const struct target_agg *a = &t->agg;
	if (a->samples < 2 || a->last_mono <= a->first_mono || a->cpu_ns_last < a->cpu_ns_first)
		return NAN;
	return 100.0 * (double)(a->cpu_ns_last - a->cpu_ns_first) /
	       (double)(a->last_mono - a->first_mono);
}

static void json_u64_if(struct json *j, const char *key, bool have, uint64_t v)
{
	json_key(j, key);
	if (have)
		json_int(j, (int64_t)v);
	else
		json_null(j);
}

static void json_counters(struct json *j, const struct target *t,
			  const struct monitor_result *res)
{
	if (!t->counters)
		return;
	json_key(j, "counters");
	json_begin_object(j);
	for (size_t i = 0; i < t->counters->n && i < res->ncounters; i++)
		json_u64_if(j, res->counter_names[i], t->counters->have[i], t->counters->values[i]);
	json_end_object(j);
}

static void json_process(struct json *j, const struct target *t, const struct monitor_result *res)
{
	long clk_tck = res->targets.clk_tck;
	const struct target_agg *a = &t->agg;
	const struct proc_sample *s = &a->last;
	json_begin_object(j);
	json_key(j, "pid");
	json_int(j, t->pid);
	json_key(j, "name");
	json_string(j, t->name);
	json_key(j, "creation_epoch");
	json_double(j, t->creation_epoch, 3);
	json_key(j, "samples");
	json_int(j, (int64_t)a->samples);
	json_key(j, "first_seen");
	json_double(j, a->samples ? a->first_ts : NAN, 6);
	json_key(j, "last_seen");
	json_double(j, a->samples ? a->last_ts : NAN, 6);
	json_key(j, "exited");
	json_bool(j, !t->alive);
	json_key(j, "cpu_percent_mean");
	json_double(j, cpu_mean(t), 2);
	json_key(j, "cpu_percent_max");
	json_double(j, a->samples ? a->cpu_percent_max : NAN, 2);
	json_key(j, "cpu_s");
	json_double(j, a->samples ? (double)a->cpu_ns_last / 1e9 : NAN, 6);
	json_key(j, "cpu_user_s");
	json_double(j, a->samples ? (double)s->stat.utime / (double)clk_tck : NAN, 2);
	json_key(j, "cpu_system_s");
	json_double(j, a->samples ? (double)s->stat.stime / (double)clk_tck : NAN, 2);
	json_u64_if(j, "mem_real_peak", a->samples, a->rss_max);
	json_u64_if(j, "mem_virtual_peak", a->samples, a->vms_max);
	json_u64_if(j, "mem_swap_peak", a->samples, a->swap_max);
	json_u64_if(j, "num_open_files_max", a->samples && a->fds_max > 0, (uint64_t)a->fds_max);
	json_u64_if(j, "num_threads_max", a->samples, (uint64_t)a->threads_max);
	bool io = s->have & SAMPLE_HAVE_IO;
	json_u64_if(j, "read_bytes", io, s->io.read_bytes);
	json_u64_if(j, "write_bytes", io, s->io.write_bytes);
	json_u64_if(j, "minor_faults", a->samples, s->stat.minflt);
	json_u64_if(j, "major_faults", a->samples, s->stat.majflt);
	json_u64_if(j, "ctx_voluntary", s->have & SAMPLE_HAVE_CTX, s->ctx_voluntary);
	json_u64_if(j, "ctx_involuntary", s->have & SAMPLE_HAVE_CTX, s->ctx_involuntary);
	json_counters(j, t, res);
	double slope;
	enum leak_verdict v = target_leak(t, &slope);
	json_key(j, "leak");
	json_begin_object(j);
	json_key(j, "verdict");
	json_string(j, leak_verdict_name(v));
	json_key(j, "second_half_slope_bytes_per_s");
	json_double(j, v == LEAK_UNKNOWN ? NAN : slope, 1);
	json_end_object(j);
	json_end_object(j);
}

static void json_energy(struct json *j, const struct monitor_result *res)
{
	const struct energy *e = &res->energy;
	bool ok = isfinite(res->energy_j);
	json_key(j, "energy");
	json_begin_object(j);
	json_key(j, "available");
	json_bool(j, ok);
	json_key(j, "source");
	json_string(j, energy_source_name(e));
	json_key(j, "joules");
	json_double(j, ok ? res->energy_j : NAN, 6);
	json_key(j, "mean_power_w");
	json_double(j, ok && res->wall_s > 0 ? res->energy_j / res->wall_s : NAN, 3);
	json_key(j, "reason");
	if (ok)
		json_null(j);
	else
		json_string(j, e->reason);
	json_end_object(j);
}

static void json_recording(struct json *j, const struct monitor_config *cfg,
			   const struct monitor_result *res)
{
	json_key(j, "interval_s");
	json_double(j, cfg->interval_s, 6);
	json_key(j, "duration_s");
	json_double(j, cfg->duration_s >= 0 ? cfg->duration_s : NAN, 6);
	json_key(j, "start_epoch");
	json_double(j, res->start_epoch, 6);
	json_key(j, "end_epoch");
	json_double(j, res->end_epoch, 6);
	json_key(j, "wall_s");
	json_double(j, res->wall_s, 6);
	json_key(j, "ended_by");
	json_string(j, end_name(res->end));
	json_key(j, "ticks");
	json_int(j, (int64_t)res->ticks);
	json_key(j, "late_ticks");
	json_int(j, (int64_t)res->late_ticks);
	json_key(j, "missed_slots");
	json_int(j, (int64_t)res->missed_slots);
	json_key(j, "max_lateness_s");
	json_double(j, res->max_lateness_s, 6);
	json_key(j, "mean_period_s");
	json_double(j, res->mean_period_s, 6);
	json_key(j, "mean_sample_interval_s");
	json_double(j, res->mean_sample_interval_s, 6);
	json_key(j, "rows");
	json_int(j, (int64_t)res->rows);
	if (res->end == END_WRITE_ERROR) {
		json_key(j, "write_error");
		json_string(j, res->write_error_file);
	}
}

void summary_json(struct strbuf *sb, const struct monitor_config *cfg,
		  const struct monitor_result *res)
{
	struct json j;
	json_init(&j, sb);
	json_begin_object(&j);
	json_key(&j, "profkit_version");
	json_string(&j, PROFKIT_VERSION);
	json_key(&j, "mode");
	json_string(&j, cfg->argv ? "run" : "watch");
	if (cfg->argv) {
		json_key(&j, "command");
		json_begin_array(&j);
		for (char *const *a = cfg->argv; *a; a++)
			json_string(&j, *a);
		json_end_array(&j);
		json_key(&j, "exit_status");
		if (res->exit_status >= 0)
			json_int(&j, res->exit_status);
		else
			json_null(&j);
		json_key(&j, "exit_signal");
		if (res->exit_signal)
			json_int(&j, res->exit_signal);
		else
			json_null(&j);
	} else {
		json_key(&j, "targets");
		json_begin_array(&j);
		for (size_t i = 0; i < cfg->npids; i++)
			json_int(&j, cfg->pids[i]);
		for (size_t i = 0; i < cfg->nnames; i++)
			json_string(&j, cfg->names[i]);
		json_end_array(&j);
	}
	json_recording(&j, cfg, res);
	json_key(&j, "processes");
	json_begin_array(&j);
	for (size_t i = 0; i < res->targets.nall; i++)
		json_process(&j, res->targets.all[i], res);
	json_end_array(&j);
	json_key(&j, "system");
	json_begin_object(&j);
	json_key(&j, "ncpus");
	json_int(&j, (int64_t)res->ncpus);
	json_key(&j, "cpu_percent_mean");
	json_double(&j, res->sys_cpu_mean, 2);
	json_key(&j, "cpu_percent_max");
	json_double(&j, res->ticks > 1 ? res->sys_cpu_max : NAN, 2);
	json_end_object(&j);
	json_energy(&j, res);
	json_key(&j, "leak_heuristic");
	json_string(&j, "PROFIT: possible leak when the least-squares trend of mem_real over the "
			"second half of the recording is increasing");
	json_end_object(&j);
	sb_addc(sb, '\n');
}

static int by_cpu_desc(const void *a, const void *b)
{
	const struct target *x = *(struct target *const *)a, *y = *(struct target *const *)b;
	double cx = (double)x->agg.cpu_ns_last - (double)x->agg.cpu_ns_first;
	double cy = (double)y->agg.cpu_ns_last - (double)y->agg.cpu_ns_first;
	return cx < cy ? 1 : cx > cy ? -1 : 0;
}

static void text_header(struct strbuf *sb, const struct monitor_config *cfg,
			const struct monitor_result *res)
{
	if (cfg->argv) {
		sb_addf(sb, "profkit: '%s' ", cfg->argv[0]);
		if (res->exit_signal)
			sb_addf(sb, "was killed by signal %d", res->exit_signal);
		else if (res->exit_status >= 0)
			sb_addf(sb, "exited with status %d", res->exit_status);
		else
			sb_adds(sb, "is still running");
		sb_addf(sb, " after %.2f s\n", res->wall_s);
	} else {
		sb_addf(sb, "profkit: watched for %.2f s (ended by %s)\n", res->wall_s,
			end_name(res->end));
	}
	sb_addf(sb, "  %llu ticks at %g s (mean period %.4f s), %llu late (worst %.1f ms), "
		    "%llu slots missed; %zu process%s followed\n",
		(unsigned long long)res->ticks, cfg->interval_s,
		isfinite(res->mean_period_s) ? res->mean_period_s : 0.0,
		(unsigned long long)res->late_ticks, res->max_lateness_s * 1e3,
		(unsigned long long)res->missed_slots, res->targets.nall,
		res->targets.nall == 1 ? "" : "es");
}

static void text_process(struct strbuf *sb, const struct target *t)
{
	const struct target_agg *a = &t->agg;
	double mean = cpu_mean(t), slope;
	enum leak_verdict v = target_leak(t, &slope);
	sb_addf(sb, "  %-7d %-16.16s ", (int)t->pid, t->name);
	if (isfinite(mean))
		sb_addf(sb, "%7.1f%%", mean);
	else
		sb_adds(sb, "       -");
	sb_addf(sb, " %7.1f%%  ", a->cpu_percent_max);
	size_t before = sb->len;
	sb_add_bytes(sb, (double)a->rss_max);
	while (sb->len - before < 11)
		sb_addc(sb, ' ');
	if (a->fds_max > 0)
		sb_addf(sb, "%7lld  ", (long long)a->fds_max);
	else
		sb_adds(sb, "      -  ");
	sb_adds(sb, leak_verdict_name(v));
	if (v == LEAK_POSSIBLE) {
		sb_adds(sb, " (+");
		sb_add_bytes(sb, slope);
		sb_adds(sb, "/s)");
	}
	sb_addc(sb, '\n');
}

void summary_text(struct strbuf *sb, const struct monitor_config *cfg,
		  const struct monitor_result *res, size_t max_procs)
{
	text_header(sb, cfg, res);
	size_t n = res->targets.nall;
	struct target **order = malloc((n ? n : 1) * sizeof(*order));
	if (!order) {
		sb->failed = true;
		return;
	}
	memcpy(order, res->targets.all, n * sizeof(*order));
	qsort(order, n, sizeof(*order), by_cpu_desc);
	if (n)
		sb_adds(sb, "  PID     NAME             CPU avg  CPU max  peak RSS   max fds  memory trend\n");
	for (size_t i = 0; i < n && i < max_procs; i++)
		text_process(sb, order[i]);
	if (n > max_procs)
		sb_addf(sb, "  ... and %zu more (see summary.json)\n", n - max_procs);
	free(order);
	if (isfinite(res->energy_j))
		sb_addf(sb, "  energy: %.3f J (%s), mean power %.2f W\n", res->energy_j,
			energy_source_name(&res->energy),
			res->wall_s > 0 ? res->energy_j / res->wall_s : 0.0);
	else
		sb_addf(sb, "  energy: unavailable on this machine (%s)\n", res->energy.reason);
	if (res->end == END_WRITE_ERROR)
		sb_addf(sb, "  recording stopped early: cannot write %s; %llu rows kept\n",
			res->write_error_file, (unsigned long long)res->rows);
	sb_addf(sb, "  output: %s/\n", res->outdir);
}
