/* The text outputs of profkit record (see record_report.h). */
#include "output/record_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "output/flamegraph.h"

#define TOP_REASONS 10
#define TOP_REASONS_PER_THREAD 3

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

static void add_time_line(struct strbuf *out, const char *label, uint64_t us, uint64_t whole,
			  const char *note)
{
	sb_addf(out, "  %-14s", label);
	struct strbuf d = STRBUF_INIT;
	flamegraph_add_duration(&d, us);
	sb_addf(out, "%12s", sb_str(&d));
	sb_free(&d);
	if (whole)
		sb_addf(out, "  %5.1f%%", pct(us, whole));
	else
		sb_adds(out, "        ");
	if (note)
		sb_addf(out, "  %s", note);
	sb_addc(out, '\n');
}

static void add_header(struct strbuf *out, const struct record_meta *m, size_t nthreads)
{
	char when[64] = "";
	time_t t = (time_t)m->start_unix;
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	sb_adds(out, "profkit record: where the wall-clock time went\n\n");
	sb_addf(out, "target      pid %d (%s)\n", (int)m->pid, m->name ? m->name : "?");
	if (m->command)
		sb_addf(out, "command     %s\n", m->command);
	sb_addf(out, "recorded    %.2f s from %s, ended by %s\n", m->wall_s, when,
		m->end_reason ? m->end_reason : "?");
	sb_addf(out, "on-CPU      %s sampling at %u Hz, %s user stacks%s; %llu samples",
		m->event ? m->event : "cpu-clock", m->freq_hz,
		m->dwarf ? "DWARF-unwound" : "frame-pointer", m->kernel ? " + kernel stacks" : "",
		(unsigned long long)m->samples);
	if (m->lost_samples)
		sb_addf(out, ", %llu lost", (unsigned long long)m->lost_samples);
	sb_addc(out, '\n');
	if (m->offcpu) {
		sb_addf(out, "off-CPU     %s, blocks of %llu us or more (shorter ones are not counted); %llu blocks",
			m->offcpu, (unsigned long long)m->min_block_us,
			(unsigned long long)m->offcpu_blocks);
		if (m->offcpu_dropped)
			sb_addf(out, ", %llu dropped", (unsigned long long)m->offcpu_dropped);
		sb_addc(out, '\n');
	} else {
		sb_adds(out, "off-CPU     not recorded\n");
	}
	if (m->offcpu_note)
		sb_addf(out, "            (%s)\n", m->offcpu_note);
	if (m->stacks)
		sb_addf(out, "stacks      %.1f%% of user stacks reach main or a thread start\n",
			pct(m->stacks_reaching_root, m->stacks));
	sb_addf(out, "threads     %zu\n\n", nthreads);
}

static void add_totals(struct strbuf *out, const struct record_meta *m,
		       const struct thread_time *t, size_t n)
{
	uint64_t on = 0, off = 0, life = 0, samples = 0;
	for (size_t i = 0; i < n; i++) {
		on += t[i].on_us;
		off += t[i].off_us;
		life += t[i].life_us;
		samples += t[i].samples;
	}
	char note[128];
	sb_adds(out, "time                    total  share\n");
	snprintf(note, sizeof(note), "(%llu samples / %u Hz = %.2f s)",
		 (unsigned long long)samples, m->freq_hz,
		 m->freq_hz ? (double)samples / m->freq_hz : 0.0);
	add_time_line(out, "on-CPU", on, on + off, note);
	add_time_line(out, "off-CPU", off, on + off, m->offcpu ? NULL : "(not recorded)");
	add_time_line(out, "total", on + off, 0, NULL);
	add_time_line(out, "thread time", life, 0, "(each thread's time alive during the recording, summed)");
	sb_addf(out, "  %-14s%11.1f%%  (total / thread time; the rest is blocks shorter than the\n"
		     "                               minimum and sampling error)\n\n",
		"coverage", timeacct_coverage(on, off, life));
}

static int add_reasons(struct strbuf *out, const struct stack_profile *p, pid_t tid,
		       bool all_threads, size_t limit)
{
	struct block_reason *r;
	size_t n;
	int e = timeacct_reasons(p, tid, all_threads, &r, &n);
	if (e < 0)
		return e;
	uint64_t off = 0;
	for (size_t i = 0; i < n; i++)
		off += r[i].us;
	sb_adds(out, "top blocking reasons (off-CPU)\n");
	if (!n)
		sb_adds(out, "  none recorded\n");
	for (size_t i = 0; i < n && i < limit; i++) {
		char text[512];
		timeacct_reason_text(p, &r[i], text, sizeof(text));
		struct strbuf d = STRBUF_INIT;
		flamegraph_add_duration(&d, r[i].us);
		sb_addf(out, "  %12s  %5.1f%%  %s\n", sb_str(&d), pct(r[i].us, off), text);
		sb_free(&d);
	}
	if (n > limit)
		sb_addf(out, "  ... and %zu more\n", n - limit);
	sb_addc(out, '\n');
	free(r);
	return 0;
}

static void add_thread_table(struct strbuf *out, const struct record_meta *m,
			     const struct thread_time *t, size_t n)
{
	sb_addf(out, "%-8s %-16s %-22s %10s %10s %9s\n", "tid", "name", "role", "on-CPU s",
		"off-CPU s", "coverage");
	for (size_t i = 0; i < n; i++) {
		const char *role = timeacct_role(t[i].name, t[i].tid == m->pid);
		sb_addf(out, "%-8d %-16s %-22s %10.3f %10.3f %8.1f%%\n", (int)t[i].tid, t[i].name,
			*role ? role : "-", (double)t[i].on_us / 1e6, (double)t[i].off_us / 1e6,
			timeacct_coverage(t[i].on_us, t[i].off_us, t[i].life_us));
	}
}

int record_analysis_write(struct strbuf *out, const struct record_meta *m,
			  const struct stack_profile *p, const struct thread_time *t, size_t n)
{
	add_header(out, m, n);
	add_totals(out, m, t, n);
	int r = add_reasons(out, p, 0, true, TOP_REASONS);
	if (r < 0)
		return r;
	sb_adds(out, "threads\n");
	add_thread_table(out, m, t, n);
	return out->failed ? -ENOMEM : 0;
}

int record_threads_write(struct strbuf *out, const struct record_meta *m,
			 const struct stack_profile *p, const struct thread_time *t, size_t n)
{
	sb_addf(out, "profkit record: threads of pid %d (%s), %.2f s\n\n", (int)m->pid,
		m->name ? m->name : "?", m->wall_s);
	add_thread_table(out, m, t, n);
	sb_addc(out, '\n');
	for (size_t i = 0; i < n; i++) {
		sb_addf(out, "thread %d (%s)\n", (int)t[i].tid, t[i].name);
		int r = add_reasons(out, p, t[i].tid, false, TOP_REASONS_PER_THREAD);
		if (r < 0)
			return r;
	}
	return out->failed ? -ENOMEM : 0;
}
