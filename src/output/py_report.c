#include "output/py_report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "output/csv.h"
#include "output/flamegraph.h"
#include "output/json.h"

/* Display width of UTF-8 text: one column per code point (the names are valid UTF-8). */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void pad(struct strbuf *sb, size_t n)
{
	while (n--)
		sb_addc(sb, ' ');
}

static void rule(struct strbuf *sb, const char *l, const char *m, const char *r,
		 const size_t *w, size_t ncols, const bool *joined)
{
	sb_adds(sb, l);
	for (size_t c = 0; c < ncols; c++) {
		for (size_t i = 0; i < w[c] + 2; i++)
			sb_adds(sb, "─");
		if (c + 1 < ncols)
			sb_adds(sb, joined && joined[c] ? "─" : m);
	}
	sb_adds(sb, r);
	sb_addc(sb, '\n');
}

#define NCOLS 5
#define TABLE_THREADS 8 /* thread names listed above the table; the rest are counted */

static int cmp_thread(const void *a, const void *b)
{
	const struct pyprof_thread_info *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* The threads by PID and TID (a process's main thread first). NULL when there are none
 * or no memory. */
static struct pyprof_thread_info *sorted_threads(const struct pyprof *prof, size_t *ret_n)
{
	size_t n = pyprof_nthreads(prof);
	struct pyprof_thread_info *t = n ? calloc(n, sizeof(*t)) : NULL;
	*ret_n = 0;
	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++)
		pyprof_thread_info(prof, i, &t[i]);
	qsort(t, n, sizeof(*t), cmp_thread);
	*ret_n = n;
	return t;
}

/* "threads: python3 (1234), io-worker (1236), and 3 more": the names as the kernel has
 * them (see docs/py.md). */
static void thread_names(struct strbuf *sb, const struct pyprof *prof)
{
	size_t n;
	struct pyprof_thread_info *t = sorted_threads(prof, &n);
	if (!t)
		return;
	sb_adds(sb, n == 1 ? "thread: " : "threads: ");
	for (size_t i = 0; i < n && i < TABLE_THREADS; i++) {
		if (i)
			sb_adds(sb, ", ");
		sb_adds(sb, t[i].label);
	}
	if (n > TABLE_THREADS)
		sb_addf(sb, ", and %zu more", n - TABLE_THREADS);
	sb_addc(sb, '\n');
	free(t);
}

static void format_cells(const struct pyprof_result *r, char cells[NCOLS][96])
{
	snprintf(cells[0], 96, "%s", "");
	if (!r->samples) {
		snprintf(cells[1], 96, "%s", PY_NO_DATA);
		cells[2][0] = cells[3][0] = cells[4][0] = '\0';
		return;
	}
	snprintf(cells[1], 96, "%llu", (unsigned long long)r->samples);
	snprintf(cells[2], 96, "%.3f s ± %.3f", r->wall_s, r->wall_err_s);
	snprintf(cells[3], 96, "%.3f s", r->cpu_s);
	if (isfinite(r->share))
		snprintf(cells[4], 96, "%.1f %%", 100 * r->share);
	else
		snprintf(cells[4], 96, "-");
}

void py_report_table(struct strbuf *sb, const struct pyprof_result *r, size_t n,
		     const struct py_report_meta *meta)
{
	static const char *const head[NCOLS] = { "Function", "Samples", "Wall time", "On-CPU",
						  "Share" };
	static const bool right[NCOLS] = { false, true, true, true, true };
	size_t w[NCOLS];
	for (size_t c = 0; c < NCOLS; c++)
		w[c] = width(head[c]);
	char cells[NCOLS][96];
	for (size_t i = 0; i < n; i++) {
		format_cells(&r[i], cells);
		size_t fw = width(r[i].pattern);
		if (fw > w[0])
			w[0] = fw;
		if (r[i].samples)
			for (size_t c = 1; c < NCOLS; c++)
				if (width(cells[c]) > w[c])
					w[c] = width(cells[c]);
	}
	/* "No Data Available" spans the numeric columns: make sure they are wide enough. */
	size_t span = w[1] + w[2] + w[3] + w[4] + 3 * 3;
	if (span < width(PY_NO_DATA))
		w[2] += width(PY_NO_DATA) - span;
	span = w[1] + w[2] + w[3] + w[4] + 3 * 3;

	if (meta && meta->target) {
		const struct pyprof_totals *t = meta->totals;
		sb_addf(sb, "%s", meta->target);
		if (meta->state)
			sb_addf(sb, " — %s", meta->state);
		sb_addc(sb, '\n');
		if (t) {
			sb_addf(sb, "%.2f s sampled, %llu samples (%llu dropped) of %zu thread%s",
				t->wall_s, (unsigned long long)t->samples,
				(unsigned long long)t->dropped, t->threads, t->threads == 1 ? "" : "s");
			if (t->processes > 1)
				sb_addf(sb, " in %zu processes", t->processes);
			sb_addf(sb, ", interval %g ms, %.0f samples/s\n", meta->interval_s * 1e3,
				meta->rate_hz);
		}
		if (meta->prof)
			thread_names(sb, meta->prof);
	}
	rule(sb, "╭", "┬", "╮", w, NCOLS, NULL);
	sb_adds(sb, "│");
	for (size_t c = 0; c < NCOLS; c++) {
		sb_addc(sb, ' ');
		size_t fill = w[c] - width(head[c]);
		if (right[c])
			pad(sb, fill);
		sb_adds(sb, head[c]);
		if (!right[c])
			pad(sb, fill);
		sb_adds(sb, " │");
	}
	sb_addc(sb, '\n');
	rule(sb, "├", "┼", "┤", w, NCOLS, NULL);
	for (size_t i = 0; i < n; i++) {
		format_cells(&r[i], cells);
		sb_adds(sb, "│ ");
		sb_adds(sb, r[i].pattern);
		pad(sb, w[0] - width(r[i].pattern));
		sb_adds(sb, " │");
		if (!r[i].samples) {
			sb_addc(sb, ' ');
			sb_adds(sb, PY_NO_DATA);
			pad(sb, span - width(PY_NO_DATA));
			sb_adds(sb, " │\n");
			continue;
		}
		for (size_t c = 1; c < NCOLS; c++) {
			sb_addc(sb, ' ');
			pad(sb, w[c] - width(cells[c]));
			sb_adds(sb, cells[c]);
			sb_adds(sb, " │");
		}
		sb_addc(sb, '\n');
	}
	if (!n) {
		sb_adds(sb, "│ ");
		const char *none = "(no functions requested: add some with -f)";
		sb_adds(sb, none);
		size_t total = w[0] + span + 3;
		pad(sb, total > width(none) ? total - width(none) : 0);
		sb_adds(sb, " │\n");
	}
	rule(sb, "╰", "┴", "╯", w, NCOLS, NULL);
}

static void json_threads(struct json *j, const struct pyprof *prof)
{
	size_t n;
	struct pyprof_thread_info *t = sorted_threads(prof, &n);
	json_key(j, "thread_list");
	json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		const struct pyprof_thread_info ti = t[i];
		json_begin_object(j);
		json_key(j, "pid");
		json_int(j, ti.pid);
		json_key(j, "tid");
		if (ti.tid > 0)
			json_int(j, ti.tid);
		else
			json_null(j);
		json_key(j, "name");
		json_string(j, ti.name);
		json_key(j, "label");
		json_string(j, ti.label);
		json_key(j, "samples");
		json_int(j, (int64_t)ti.samples);
		json_key(j, "wall_s");
		json_double(j, ti.wall_s, 6);
		json_key(j, "cpu_s");
		json_double(j, ti.cpu_s, 6);
		json_end_object(j);
	}
	json_end_array(j);
	free(t);
}

void py_report_json(struct strbuf *sb, const struct pyprof_result *r, size_t n,
		    const struct py_report_meta *meta)
{
	struct json j;
	json_init(&j, sb);
	json_begin_object(&j);
	if (meta) {
		json_key(&j, "target");
		json_string(&j, meta->target ? meta->target : "");
		json_key(&j, "interval_s");
		json_double(&j, meta->interval_s, 6);
		json_key(&j, "rate_hz");
		json_double(&j, meta->rate_hz, 1);
		if (meta->totals) {
			json_key(&j, "wall_s");
			json_double(&j, meta->totals->wall_s, 6);
			json_key(&j, "samples");
			json_int(&j, (int64_t)meta->totals->samples);
			json_key(&j, "dropped");
			json_int(&j, (int64_t)meta->totals->dropped);
			json_key(&j, "threads");
			json_int(&j, (int64_t)meta->totals->threads);
			json_key(&j, "processes");
			json_int(&j, (int64_t)meta->totals->processes);
		}
		if (meta->prof)
			json_threads(&j, meta->prof);
		if (meta->have_sampler) {
			json_key(&j, "sampler");
			json_begin_object(&j);
			json_key(&j, "ticks");
			json_int(&j, (int64_t)meta->ticks);
			json_key(&j, "late_skipped");
			json_int(&j, (int64_t)meta->late_skipped);
			json_key(&j, "late_mean_us");
			json_double(&j, meta->late_mean_us, 1);
			json_key(&j, "reads_per_tick");
			json_double(&j, meta->reads_per_tick, 2);
			json_key(&j, "ranges_per_tick");
			json_double(&j, meta->ranges_per_tick, 2);
			json_key(&j, "bytes_per_tick");
			json_double(&j, meta->bytes_per_tick, 0);
			json_end_object(&j);
		}
	}
	json_key(&j, "functions");
	json_begin_array(&j);
	for (size_t i = 0; i < n; i++) {
		bool data = r[i].samples > 0;
		json_begin_object(&j);
		json_key(&j, "function");
		json_string(&j, r[i].pattern);
		json_key(&j, "samples");
		if (data)
			json_int(&j, (int64_t)r[i].samples);
		else
			json_null(&j);
		json_key(&j, "wall_s");
		json_double(&j, data ? r[i].wall_s : NAN, 6);
		json_key(&j, "wall_err_s");
		json_double(&j, data ? r[i].wall_err_s : NAN, 6);
		json_key(&j, "cpu_s");
		json_double(&j, data ? r[i].cpu_s : NAN, 6);
		json_key(&j, "share");
		json_double(&j, data ? r[i].share : NAN, 6);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	sb_addc(sb, '\n');
}

static void csv_num(struct strbuf *sb, bool data, double v)
{
	sb_addc(sb, ',');
	if (data && isfinite(v))
		sb_add_fixed(sb, v, 6);
}

void py_report_csv(struct strbuf *sb, const struct pyprof_result *r, size_t n)
{
	sb_adds(sb, "function,samples,wall_s,wall_err_s,cpu_s,share\n");
	for (size_t i = 0; i < n; i++) {
		bool data = r[i].samples > 0;
		csv_add_field(sb, r[i].pattern);
		sb_addc(sb, ',');
		if (data)
			sb_add_u64(sb, r[i].samples);
		csv_num(sb, data, r[i].wall_s);
		csv_num(sb, data, r[i].wall_err_s);
		csv_num(sb, data, r[i].cpu_s);
		csv_num(sb, data, r[i].share);
		sb_addc(sb, '\n');
	}
}

static int folded_line(void *userdata, const char *thread, const char *const *frames, size_t n,
		       uint64_t wall_ns, uint64_t cpu_ns, uint64_t samples)
{
	(void)cpu_ns, (void)samples;
	struct strbuf *sb = userdata;
	uint64_t us = (wall_ns + 500) / 1000;
	if (!us)
		return 0; /* the first tick's samples stand for no time */
	sb_adds(sb, thread);
	for (size_t i = 0; i < n; i++) {
		sb_addc(sb, ';');
		sb_adds(sb, frames[i]);
	}
	sb_addc(sb, ' ');
	sb_add_u64(sb, us);
	sb_addc(sb, '\n');
	return 0;
}

int py_report_folded(struct strbuf *sb, struct pyprof *p)
{
	return pyprof_stacks(p, folded_line, sb);
}

struct to_profile {
	struct pyprof *py;
	struct stack_profile *sp;
	uint32_t *frame_map; /* pyprof frame id -> stack_profile frame id + 1; 0 not yet */
	size_t nmap;
	uint32_t *ids;
};

static int profile_frame(struct to_profile *c, uint32_t id, uint32_t *ret)
{
	if (id < c->nmap && c->frame_map[id]) {
		*ret = c->frame_map[id] - 1;
		return 0;
	}
	struct pyprof_frame_info fi;
	if (!pyprof_frame_info(c->py, id, &fi))
		return -EINVAL;
	const char *base = strrchr(fi.filename, '/');
	base = base ? base + 1 : fi.filename;
	char module[STACK_MAX_NAME];
	snprintf(module, sizeof(module), "%s:%d", base, fi.line);
	int r = stack_profile__frame(c->sp, fi.qualname, module, FRAME_PYTHON, STATE_ANY, ret);
	if (r < 0)
		return r;
	if (id < c->nmap)
		c->frame_map[id] = *ret + 1;
	return 0;
}

static int profile_stack(void *userdata, pid_t tid, const char *thread, const uint32_t *ids,
			 size_t n, uint64_t wall_ns, uint64_t cpu_ns, uint64_t samples)
{
	(void)cpu_ns, (void)samples;
	struct to_profile *c = userdata;
	uint64_t us = (wall_ns + 500) / 1000;
	if (!us)
		return 0; /* as in the folded file: the first tick stands for no time */
	if (n + 1 > STACK_MAX_DEPTH)
		n = STACK_MAX_DEPTH - 1; /* cannot happen: walks stop at 1024 frames */
	int r = stack_profile__frame(c->sp, thread, NULL, FRAME_MARKER, STATE_ANY, &c->ids[0]);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = profile_frame(c, ids[i], &c->ids[i + 1]);
	uint32_t stack;
	if (r >= 0)
		r = stack_profile__stack(c->sp, c->ids, n + 1, &stack);
	if (r >= 0 && tid > 0 && !stack_profile__thread_name(c->sp, tid))
		r = stack_profile__set_thread_name(c->sp, tid, thread);
	if (r >= 0)
		r = stack_profile__add(c->sp, tid > 0 ? tid : 0, stack, us);
	return r;
}

int py_report_profile(struct pyprof *p, struct stack_profile **ret)
{
	struct pyprof_totals tot;
	pyprof_totals(p, &tot);
	struct to_profile c = { .py = p, .nmap = tot.frames };
	c.frame_map = calloc(c.nmap ? c.nmap : 1, sizeof(*c.frame_map));
	c.ids = malloc(STACK_MAX_DEPTH * sizeof(*c.ids));
	int r = c.frame_map && c.ids ? stack_profile__new(NULL, &c.sp) : -ENOMEM;
	if (r >= 0)
		r = pyprof_stack_ids(p, profile_stack, &c);
	free(c.frame_map);
	free(c.ids);
	if (r < 0) {
		stack_profile__free(c.sp);
		return r;
	}
	*ret = c.sp;
	return 0;
}

int py_report_svg(struct strbuf *sb, struct pyprof *p, const struct py_report_meta *meta)
{
	struct stack_profile *sp;
	int r = py_report_profile(p, &sp);
	if (r < 0)
		return r;
	struct strbuf title = STRBUF_INIT, sub = STRBUF_INIT;
	sb_adds(&title, "profkit py: ");
	sb_adds(&title, meta && meta->target ? meta->target : "Python");
	const struct pyprof_totals *t = meta ? meta->totals : NULL;
	if (t) {
		sb_adds(&sub, "wall time ");
		flamegraph_add_duration(&sub, (uint64_t)(t->wall_s * 1e6 + 0.5));
		sb_adds(&sub, ", ");
		sb_add_u64(&sub, t->samples);
		sb_adds(&sub, t->samples == 1 ? " sample" : " samples");
		if (t->dropped) {
			sb_adds(&sub, " (");
			sb_add_u64(&sub, t->dropped);
			sb_adds(&sub, " dropped)");
		}
		sb_adds(&sub, " of ");
		sb_add_u64(&sub, t->threads);
		sb_adds(&sub, t->threads == 1 ? " thread" : " threads");
	} else {
		sb_adds(&sub, "wall time ");
		flamegraph_add_duration(&sub, stack_profile__total(sp));
	}
	if (meta && meta->interval_s > 0) {
		sb_adds(&sub, ", interval ");
		flamegraph_add_duration(&sub, (uint64_t)(meta->interval_s * 1e6 + 0.5));
	}
	if (title.failed || sub.failed)
		r = -ENOMEM;
	else
		r = flamegraph_write(sb, sp, 0, true,
				     &(struct flamegraph_opts){ .title = sb_str(&title),
								.subtitle = sb_str(&sub) });
	sb_free(&title);
	sb_free(&sub);
	stack_profile__free(sp);
	return r;
}
