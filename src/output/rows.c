#include "output/rows.h"

#include <math.h>
#include "output/csv.h"

const char *const samples_columns[] = {
	/* PROFIT's seven columns first, in its order. */
	"pid", "name", "cpu_percent", "mem_real", "num_open_files", "creation_epoch", "timestamp",
	"elapsed_s", "ppid", "state", "num_threads", "cpu_user_s", "cpu_system_s",
	"mem_virtual", "mem_swap", "read_bytes", "write_bytes", "ctx_voluntary",
	"ctx_involuntary", "minor_faults", "major_faults", "read_chars", "write_chars", NULL,
};
const char *const samples_pss_columns[] = { "mem_pss", "mem_uss", NULL };

static void add_list(struct strbuf *sb, const char *const *cols, bool leading_comma)
{
	for (int i = 0; cols[i]; i++) {
		if (i || leading_comma)
			sb_addc(sb, ',');
		sb_adds(sb, cols[i]);
	}
}

void rows_samples_header(struct strbuf *sb, bool pss, const char *const *counter_names,
			 size_t ncounters)
{
	add_list(sb, samples_columns, false);
	if (pss)
		add_list(sb, samples_pss_columns, true);
	for (size_t i = 0; i < ncounters; i++) {
		sb_addc(sb, ',');
		csv_add_field(sb, counter_names[i]);
	}
	sb_addc(sb, '\n');
}

/* Each helper writes the separator, then the value or nothing. */
static void col_u64(struct strbuf *sb, bool have, uint64_t v)
{
	sb_addc(sb, ',');
	if (have)
		sb_add_u64(sb, v);
}

static void col_i64(struct strbuf *sb, bool have, int64_t v)
{
	sb_addc(sb, ',');
	if (have)
		sb_add_i64(sb, v);
}

static void col_fixed(struct strbuf *sb, double v, int decimals)
{
	sb_addc(sb, ',');
	if (isfinite(v))
		sb_add_fixed(sb, v, decimals);
}

void rows_samples_row(struct strbuf *sb, const struct proc_row *row, bool pss)
{
	const struct proc_sample *s = row->s;
	const struct proc_stat *st = &s->stat;
	bool status = s->have & SAMPLE_HAVE_STATUS, io = s->have & SAMPLE_HAVE_IO;
	double tck = (double)row->clk_tck;

	sb_add_i64(sb, st->pid);
	sb_addc(sb, ',');
	csv_add_field(sb, row->name);
	col_fixed(sb, row->cpu_percent, 2);
	col_u64(sb, s->have & SAMPLE_HAVE_RSS, s->rss_bytes);
	col_i64(sb, s->have & SAMPLE_HAVE_FDS, s->num_fds);
	col_fixed(sb, row->creation_epoch, 3);
	col_fixed(sb, row->timestamp, 6);
	col_fixed(sb, row->elapsed_s, 6);
	col_i64(sb, true, st->ppid);
	sb_addc(sb, ',');
	if (st->state > ' ' && st->state < 0x7f && st->state != ',' && st->state != '"')
		sb_addc(sb, st->state);
	col_i64(sb, true, st->num_threads);
	col_fixed(sb, (double)st->utime / tck, 2);
	col_fixed(sb, (double)st->stime / tck, 2);
	col_u64(sb, true, st->vsize);
	col_u64(sb, status && (s->status.have & STATUS_HAVE_SWAP), s->status.vm_swap_kb * 1024);
	col_u64(sb, io, s->io.read_bytes);
	col_u64(sb, io, s->io.write_bytes);
	col_u64(sb, s->have & SAMPLE_HAVE_CTX, s->ctx_voluntary);
	col_u64(sb, s->have & SAMPLE_HAVE_CTX, s->ctx_involuntary);
	col_u64(sb, true, st->minflt);
	col_u64(sb, true, st->majflt);
	col_u64(sb, io, s->io.rchar);
	col_u64(sb, io, s->io.wchar);
	if (pss) {
		col_u64(sb, s->have & SAMPLE_HAVE_PSS, s->pss.pss);
		col_u64(sb, s->have & SAMPLE_HAVE_PSS, s->pss.uss);
	}
	for (size_t i = 0; i < row->ncounters; i++)
		col_u64(sb, row->counters && row->counter_have[i], row->counters ? row->counters[i] : 0);
	sb_addc(sb, '\n');
}

void rows_system_header(struct strbuf *sb, int ncpus)
{
	sb_adds(sb, "timestamp,elapsed_s,cpu_percent");
	for (int i = 0; i < ncpus; i++)
		sb_addf(sb, ",cpu%d_percent", i);
	sb_adds(sb, ",mem_used,mem_available,swap_used,energy_j,power_w\n");
}

void rows_system_row(struct strbuf *sb, const struct system_row *row)
{
	const struct system_sample *s = row->s;
	sb_add_fixed(sb, row->timestamp, 6);
	col_fixed(sb, row->elapsed_s, 6);
	col_fixed(sb, s->have_cpu ? s->cpu_percent : NAN, 2);
	for (int i = 0; i < row->ncpus; i++)
		col_fixed(sb, s->have_cpu ? s->cpu_percent_per_core[i] : NAN, 2);
	const struct meminfo *m = &s->mem;
	col_u64(sb, s->have_mem && m->total >= m->available, m->total - m->available);
	col_u64(sb, s->have_mem, m->available);
	col_u64(sb, s->have_mem && m->swap_total >= m->swap_free, m->swap_total - m->swap_free);
	col_fixed(sb, row->energy_j, 6);
	col_fixed(sb, row->power_w, 3);
	sb_addc(sb, '\n');
}
