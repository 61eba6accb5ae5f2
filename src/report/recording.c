#include "report/recording.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "input/csv_reader.h"
#include "util/pidmap.h"

/* A hostile file of one row per made-up process must fail clearly, not exhaust memory. */
#define MAX_PROCESSES 1000000
/* A chain of processes that reused one pid is walked this far at most. */
#define MAX_PID_CHAIN 64
/* Rows of one tick share a timestamp when profkit wrote them; other writers stamp each row,
 * so rows this close belong to the same tick unless a process repeats. */
#define TICK_SLACK_S 1e-3
#define MAX_CORES 4096

const char *const rec_gauge_columns[G_COUNT] = {
	"cpu_percent", "mem_real", "mem_virtual", "mem_swap", "num_open_files", "num_threads",
};
const char *const rec_counter_columns[C_COUNT] = {
	"cpu_user_s",    "cpu_system_s",    "read_bytes",   "write_bytes",
	"ctx_voluntary", "ctx_involuntary", "minor_faults", "major_faults",
};
/* PROFIT's seven columns: a file without them is not a recording. The rest of profkit's
 * columns are optional, so that PROFIT's own files can be read too. */
static const char *const required_columns[] = {
	"pid", "name", "cpu_percent", "mem_real", "num_open_files", "creation_epoch", "timestamp",
};

struct samples_cols {
	int pid, name, creation_epoch, timestamp, ppid, state;
	int g[G_COUNT], c[C_COUNT];
};

struct system_cols {
	int timestamp, cpu, mem_used, mem_available, swap_used, energy, power;
	int *core; /* cpuN_percent */
};

/* Where a process's counter was last seen: re-read once at the end, so that the rows in
 * between cost a length check instead of eight number conversions each. */
struct counter_pos {
	size_t off; /* record start; SIZE_MAX: never seen */
	uint64_t line;
};

#define EPOCH_TEXT_MAX 24

/* What the loader keeps per process besides the model. */
struct proc_extra {
	struct counter_pos last_counter[C_COUNT];
	char epoch_text[EPOCH_TEXT_MAX]; /* creation_epoch as written, to match rows by text */
	size_t epoch_len;                /* SIZE_MAX: too long to keep */
	size_t name_len;                 /* of rec_process.name */
};

/* A field's last text and value: the rows of a tick share their timestamp. */
struct number_cache {
	char text[32];
	size_t len; /* SIZE_MAX: nothing cached */
	double value;
};

struct loader {
	struct recording *rec;
	struct csv_reader csv;
	struct samples_cols col;
	struct system_cols sys;
	struct proc_extra *extra; /* per process */
	struct number_cache ts_cache;
	struct pidmap by_pid; /* pid -> 1 + index of the newest process with it */
	double last_ts;
};

static int fail(struct loader *l, int code, const char *fmt, ...) _printf_(3, 4);

static int fail(struct loader *l, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->csv.error, sizeof(l->csv.error), fmt, ap);
	va_end(ap);
	return code;
}

static void warn(struct recording *rec, const char *fmt, ...) _printf_(2, 3);

static void warn(struct recording *rec, const char *fmt, ...)
{
	char line[CSV_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sb_adds(&rec->warnings, line);
	sb_addc(&rec->warnings, '\n');
}

/* ---- typed fields ---------------------------------------------------------------------- */

/* An optional column (col < 0: absent) or an empty field gives NAN. */
static int opt_number(struct csv_reader *c, int col, double *ret)
{
	*ret = NAN;
	if (col < 0)
		return 0;
	int e = csv_reader_double(c, (size_t)col, ret);
	if (e == -ENODATA) {
		*ret = NAN;
		return 0;
	}
	return e;
}

static int need_number(struct csv_reader *c, int col, double *ret)
{
	int e = csv_reader_double(c, (size_t)col, ret);
	return e == -ENODATA ? csv_reader_field_error(c, (size_t)col, "missing value") : e;
}

/* ---- growing arrays -------------------------------------------------------------------- */

static int grow(void **p, size_t elem, size_t cap)
{
	if (cap > SIZE_MAX / elem)
		return -ENOMEM;
	void *q = realloc(*p, cap * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	return 0;
}

static int rows_reserve(struct rec_rows *r, size_t want)
{
	if (want <= r->cap)
		return 0;
	size_t cap = r->cap ? r->cap * 2 : 1024;
	if (cap < want)
		cap = want;
	int e = grow((void **)&r->t, sizeof(double), cap);
	for (int i = 0; i < G_COUNT && !e; i++)
		e = grow((void **)&r->g[i], sizeof(double), cap);
	if (!e)
		e = grow((void **)&r->tick, sizeof(uint32_t), cap);
	if (!e)
		e = grow((void **)&r->proc, sizeof(uint32_t), cap);
	if (!e)
		e = grow((void **)&r->state, 1, cap);
	if (!e)
		r->cap = cap;
	return e;
}

static void rows_free(struct rec_rows *r)
{
	free(r->t);
	for (int i = 0; i < G_COUNT; i++)
		free(r->g[i]);
	free(r->tick);
	free(r->proc);
	free(r->state);
	free(r->by_proc);
	memset(r, 0, sizeof(*r));
}

/* ---- processes and ticks --------------------------------------------------------------- */

/* creation_epoch is written with 3 decimals; NAN matches NAN. */
static bool same_epoch(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return fabs(a - b) < 5e-4;
}

static long find_process(struct loader *l, int32_t pid, double epoch)
{
	void *head = pidmap_get(&l->by_pid, pid);
	long i = head ? (long)(uintptr_t)head - 1 : -1;
	for (int steps = 0; i >= 0 && steps < MAX_PID_CHAIN; steps++) {
		if (same_epoch(l->rec->procs[i].creation_epoch, epoch))
			return i;
		i = l->rec->procs[i].older_same_pid;
	}
	return -1;
}

static int add_process(struct loader *l, int32_t pid, double epoch, long *ret)
{
	struct recording *rec = l->rec;
	if (rec->nprocs >= MAX_PROCESSES)
		return csv_reader_field_error(&l->csv, (size_t)l->col.pid,
					      "more than 1000000 processes: too many to report on");
	if (rec->nprocs == rec->procs_cap) {
		size_t cap = rec->procs_cap ? rec->procs_cap * 2 : 16;
		if (grow((void **)&rec->procs, sizeof(*rec->procs), cap) < 0 ||
		    grow((void **)&l->extra, sizeof(*l->extra), cap) < 0)
			return fail(l, -ENOMEM, "out of memory");
		rec->procs_cap = cap;
	}
	struct proc_extra *x = &l->extra[rec->nprocs];
	for (int c = 0; c < C_COUNT; c++)
		x->last_counter[c] = (struct counter_pos){ SIZE_MAX, 0 };
	size_t len;
	const char *text = csv_reader_field(&l->csv, (size_t)l->col.creation_epoch, &len);
	x->epoch_len = len < EPOCH_TEXT_MAX ? len : SIZE_MAX;
	if (len < EPOCH_TEXT_MAX)
		memcpy(x->epoch_text, text, len);
	long i = (long)rec->nprocs;
	void *head = pidmap_get(&l->by_pid, pid);
	if (pidmap_put(&l->by_pid, pid, (void *)(uintptr_t)(i + 1)) < 0)
		return fail(l, -ENOMEM, "out of memory");
	struct rec_process *p = &rec->procs[rec->nprocs++];
	*p = (struct rec_process){ .pid = pid, .creation_epoch = epoch, .parent = -1 };
	for (int g = 0; g < G_COUNT; g++)
		p->gauge_max[g] = NAN;
	p->older_same_pid = head ? (long)(uintptr_t)head - 1 : -1;
	*ret = i;
	return 0;
}

static int set_name(struct loader *l, long pi)
{
	struct rec_process *p = &l->rec->procs[pi];
	size_t len, *known = &l->extra[pi].name_len;
	const char *s = csv_reader_field(&l->csv, (size_t)l->col.name, &len);
	if (p->name && *known == len && !memcmp(p->name, s, len))
		return 0;
	char *name = strndup(s, len);
	if (!name)
		return fail(l, -ENOMEM, "out of memory");
	free(p->name);
	p->name = name;
	*known = len;
	return 0;
}

static int add_tick(struct recording *rec, double ts)
{
	if (rec->nticks == UINT32_MAX)
		return -ENOMEM;
	if (rec->nticks == rec->ticks_cap) {
		uint32_t cap = rec->ticks_cap
				       ? (rec->ticks_cap > UINT32_MAX / 2 ? UINT32_MAX
									  : rec->ticks_cap * 2)
				       : 1024;
		if (grow((void **)&rec->tick_t, sizeof(double), cap) < 0)
			return -ENOMEM;
		rec->ticks_cap = cap;
	}
	rec->tick_t[rec->nticks++] = ts;
	return 0;
}

/* The tick a row belongs to: a new one when the time moves on, or when the process already
 * has a row in the current tick. */
static int tick_of(struct recording *rec, double ts, const struct rec_process *p, uint32_t *ret)
{
	bool repeat = p->n > 0 && p->last_tick == rec->nticks - 1;
	if (!rec->nticks || repeat || ts - rec->tick_t[rec->nticks - 1] > TICK_SLACK_S) {
		if (add_tick(rec, ts) < 0)
			return -ENOMEM;
	}
	*ret = rec->nticks - 1;
	return 0;
}

/* The first value of each counter is read when first seen; for the last one only the row
 * is remembered (see counter_pos). */
static int note_counters(struct loader *l, long pi)
{
	struct rec_process *p = &l->rec->procs[pi];
	struct counter_pos *pos = l->extra[pi].last_counter;
	for (int i = 0; i < C_COUNT; i++) {
		size_t len;
		if (l->col.c[i] < 0)
			continue;
		csv_reader_field(&l->csv, (size_t)l->col.c[i], &len);
		if (!len)
			continue; /* unreadable when recorded */
		if (!p->c[i].have) {
			int e = csv_reader_double(&l->csv, (size_t)l->col.c[i], &p->c[i].first);
			if (e < 0)
				return e;
			p->c[i].have = true;
		}
		pos[i] = (struct counter_pos){ l->csv.rec_start, l->csv.rec_line };
	}
	return 0;
}

/* Reads the last value of every counter from the row remembered for it. */
static int read_last_counters(struct loader *l)
{
	for (size_t pi = 0; pi < l->rec->nprocs; pi++) {
		struct rec_process *p = &l->rec->procs[pi];
		for (int i = 0; i < C_COUNT; i++) {
			const struct counter_pos *pos = &l->extra[pi].last_counter[i];
			if (pos->off == SIZE_MAX)
				continue;
			int e = csv_reader_seek(&l->csv, pos->off, pos->line);
			if (e >= 0)
				e = csv_reader_next(&l->csv);
			if (e >= 0)
				e = csv_reader_double(&l->csv, (size_t)l->col.c[i], &p->c[i].last);
			if (e < 0)
				return e;
		}
	}
	return 0;
}

/* A zombie's memory is already released: its 0 bytes describe the exit, not the process,
 * and would drag every minimum and mean down. Its CPU time still counts. */
static void forget_memory(struct rec_rows *r, size_t k, struct rec_process *p)
{
	for (int g = 0; g < G_COUNT; g++)
		if (g != G_CPU)
			r->g[g][k] = NAN;
	p->exited = true;
}

/* A live process with address space but 0 resident bytes and nothing in swap does not
 * exist: it is Linux's RSS counter, kept per CPU in batches since 6.2 and read without
 * them in /proc/PID/stat, not yet showing the pages of a process that has just exec'd.
 * A kernel thread (no address space) and a process swapped out keep their 0. */
static bool rss_not_counted_yet(const struct rec_rows *r, size_t k)
{
	return r->g[G_RSS][k] == 0 && r->g[G_VMS][k] > 0 && !(r->g[G_SWAP][k] > 0);
}

static int add_row(struct loader *l, long pi, double ts)
{
	struct recording *rec = l->rec;
	struct rec_process *p = &rec->procs[pi];
	struct rec_rows *r = &rec->rows;
	uint32_t tick;
	if (r->n >= UINT32_MAX)
		return fail(l, -EFBIG, "%s: more than 4294967295 rows: too many to report on",
			    l->csv.name);
	if (rows_reserve(r, r->n + 1) < 0 || tick_of(rec, ts, p, &tick) < 0)
		return fail(l, -ENOMEM, "out of memory");
	size_t k = r->n;
	r->t[k] = ts;
	for (int i = 0; i < G_COUNT; i++) {
		int e = opt_number(&l->csv, l->col.g[i], &r->g[i][k]);
		if (e < 0)
			return e;
	}
	size_t len;
	const char *st =
		l->col.state >= 0 ? csv_reader_field(&l->csv, (size_t)l->col.state, &len) : "";
	r->state[k] = l->col.state >= 0 && len == 1 ? st[0] : '\0';
	r->tick[k] = tick;
	r->proc[k] = (uint32_t)pi;
	r->n++;
	if (!p->n)
		p->first_tick = tick;
	p->last_tick = tick;
	p->n++;
	if (rec_state_is_dead(r->state[k]))
		forget_memory(r, k, p);
	else if (rss_not_counted_yet(r, k))
		r->g[G_RSS][k] = NAN;
	for (int g = 0; g < G_COUNT; g++) {
		double v = r->g[g][k];
		if (!isnan(v) && !(v <= p->gauge_max[g])) /* also true while the max is NAN */
			p->gauge_max[g] = v;
	}
	return 0;
}

/* The parent is the one the process had when first seen (an orphan is re-parented to
 * init later, which would hide where it came from). */
static int first_row(struct loader *l, struct rec_process *p)
{
	double ppid;
	int e = opt_number(&l->csv, l->col.ppid, &ppid);
	if (e < 0)
		return e;
	if (ppid == floor(ppid) && ppid >= 0 && ppid <= INT32_MAX)
		p->ppid = (int32_t)ppid;
	return 0;
}

static int cached_number(struct loader *l, int col, struct number_cache *cache, double *ret)
{
	size_t len;
	const char *s = csv_reader_field(&l->csv, (size_t)col, &len);
	if (len == cache->len && !memcmp(s, cache->text, len)) {
		*ret = cache->value;
		return 0;
	}
	int e = need_number(&l->csv, col, ret);
	if (e < 0)
		return e;
	cache->len = len < sizeof(cache->text) ? len : SIZE_MAX;
	if (len < sizeof(cache->text))
		memcpy(cache->text, s, len);
	cache->value = *ret;
	return 0;
}

/* The process a row belongs to: the newest with its pid when the creation_epoch text is
 * the same (no conversion needed), else the one whose epoch has the same value, else a new
 * one. */
static int identify(struct loader *l, int32_t pid, long *ret)
{
	size_t len;
	const char *text = csv_reader_field(&l->csv, (size_t)l->col.creation_epoch, &len);
	void *head = pidmap_get(&l->by_pid, pid);
	long newest = head ? (long)(uintptr_t)head - 1 : -1;
	if (newest >= 0 && l->extra[newest].epoch_len == len &&
	    !memcmp(l->extra[newest].epoch_text, text, len)) {
		*ret = newest;
		return 0;
	}
	double epoch;
	int e = opt_number(&l->csv, l->col.creation_epoch, &epoch);
	if (e < 0)
		return e;
	*ret = find_process(l, pid, epoch);
	return *ret >= 0 ? 0 : add_process(l, pid, epoch, ret);
}

static int samples_row(struct loader *l)
{
	struct csv_reader *c = &l->csv;
	double pid, ts;
	long pi;
	int e;
	if ((e = need_number(c, l->col.pid, &pid)) < 0 ||
	    (e = cached_number(l, l->col.timestamp, &l->ts_cache, &ts)) < 0)
		return e;
	if (pid != floor(pid) || pid < 1 || pid > INT32_MAX)
		return csv_reader_field_error(c, (size_t)l->col.pid, "not a process ID");
	if (ts < l->last_ts)
		return csv_reader_field_error(
			c, (size_t)l->col.timestamp,
			"earlier than the row before (rows must be in time order)");
	l->last_ts = ts;
	if ((e = identify(l, (int32_t)pid, &pi)) < 0)
		return e;
	struct rec_process *p = &l->rec->procs[pi];
	if (!p->n && (e = first_row(l, p)) < 0)
		return e;
	if ((e = set_name(l, pi)) < 0 || (e = add_row(l, pi, ts)) < 0)
		return e;
	return note_counters(l, pi);
}

/* ---- reading a file -------------------------------------------------------------------- */

/* Calls row() for every complete record. A last record that the file ends inside of is what
 * a recording killed mid-write leaves: dropped with a warning, the rest is kept. */
static int read_rows(struct loader *l, int (*row)(struct loader *l))
{
	int e;
	while ((e = csv_reader_next(&l->csv)) > 0) {
		if (!l->csv.rec_complete) {
			warn(l->rec,
			     "%s:%llu: the last line is incomplete (an interrupted recording?): "
			     "dropped",
			     l->csv.name, (unsigned long long)l->csv.rec_line);
			return 0;
		}
		if ((e = csv_reader_check_width(&l->csv)) < 0 || (e = row(l)) < 0)
			return e;
	}
	return e;
}

static int samples_columns(struct loader *l)
{
	struct csv_reader *c = &l->csv;
	for (size_t i = 0; i < ARRAY_SIZE(required_columns); i++)
		if (csv_reader_column(c, required_columns[i]) < 0) {
			if (csv_reader_column(c, "timestamp") >= 0 &&
			    csv_reader_column(c, "cpu_percent") >= 0 &&
			    csv_reader_column(c, "pid") < 0)
				return fail(l, -EINVAL,
					    "%s: this is a system.csv; give the recording "
					    "directory or its samples.csv",
					    c->name);
			return fail(l, -EINVAL,
				    "%s:1: no column '%s': not a profkit samples.csv (its header "
				    "starts "
				    "pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,"
				    "timestamp)",
				    c->name, required_columns[i]);
		}
	struct samples_cols *col = &l->col;
	col->pid = csv_reader_column(c, "pid");
	col->name = csv_reader_column(c, "name");
	col->creation_epoch = csv_reader_column(c, "creation_epoch");
	col->timestamp = csv_reader_column(c, "timestamp");
	col->ppid = csv_reader_column(c, "ppid");
	col->state = csv_reader_column(c, "state");
	for (int i = 0; i < G_COUNT; i++) {
		col->g[i] = csv_reader_column(c, rec_gauge_columns[i]);
		l->rec->have_gauge[i] = col->g[i] >= 0;
	}
	for (int i = 0; i < C_COUNT; i++) {
		col->c[i] = csv_reader_column(c, rec_counter_columns[i]);
		l->rec->have_counter[i] = col->c[i] >= 0;
	}
	l->rec->have_ppid = col->ppid >= 0;
	l->rec->have_state = col->state >= 0;
	return 0;
}

/* ---- after loading: group rows by process, find parents -------------------------------- */

/* A stable counting sort of the row indexes by process: each process's samples become one
 * run, still in time order, without moving the rows themselves. */
static int group_rows(struct recording *rec)
{
	struct rec_rows *r = &rec->rows;
	uint32_t *order = malloc((r->n ? r->n : 1) * sizeof(*order));
	size_t *next = calloc(rec->nprocs ? rec->nprocs : 1, sizeof(*next));
	if (!order || !next) {
		free(order);
		free(next);
		return -ENOMEM;
	}
	for (size_t i = 0, off = 0; i < rec->nprocs; off += rec->procs[i++].n)
		next[i] = off;
	for (size_t k = 0; k < r->n; k++)
		order[next[r->proc[k]]++] = (uint32_t)k;
	free(next);
	r->by_proc = order;
	size_t off = 0;
	for (size_t i = 0; i < rec->nprocs; i++) {
		struct rec_process *p = &rec->procs[i];
		p->rows = order + off;
		off += p->n;
		if (rec->nticks && p->last_tick < rec->nticks - 1)
			p->exited = true; /* gone before the end */
	}
	return 0;
}

/* The parent: the process with pid == ppid that had started by the time the child did (the
 * latest such, as pids are reused). */
static long parent_of(struct loader *l, long child)
{
	const struct rec_process *c = &l->rec->procs[child];
	if (c->ppid <= 0)
		return -1;
	void *head = pidmap_get(&l->by_pid, c->ppid);
	long best = -1;
	long i = head ? (long)(uintptr_t)head - 1 : -1;
	for (int steps = 0; i >= 0 && steps < MAX_PID_CHAIN;
	     steps++, i = l->rec->procs[i].older_same_pid) {
		const struct rec_process *p = &l->rec->procs[i];
		if (i == child)
			continue;
		if (!isnan(p->creation_epoch) && !isnan(c->creation_epoch) &&
		    p->creation_epoch > c->creation_epoch + 0.01)
			continue;
		if (best < 0 || p->creation_epoch > l->rec->procs[best].creation_epoch)
			best = i;
	}
	return best;
}

/* Walks up from every process; a walk that meets itself is a cycle (only a made-up file
 * has one), cut where it was found. */
static int break_cycles(struct recording *rec)
{
	char *mark = calloc(rec->nprocs ? rec->nprocs : 1, 1); /* 0 new, 1 on the walk, 2 done */
	if (!mark)
		return -ENOMEM;
	for (size_t i = 0; i < rec->nprocs; i++) {
		long j = (long)i;
		while (j >= 0 && !mark[j]) {
			mark[j] = 1;
			long up = rec->procs[j].parent;
			if (up >= 0 && mark[up] == 1) {
				rec->procs[j].parent = -1;
				break;
			}
			j = up;
		}
		for (j = (long)i; j >= 0 && mark[j] == 1; j = rec->procs[j].parent)
			mark[j] = 2;
	}
	free(mark);
	return 0;
}

static int find_parents(struct loader *l)
{
	for (size_t i = 0; i < l->rec->nprocs; i++)
		l->rec->procs[i].parent = parent_of(l, (long)i);
	return break_cycles(l->rec);
}

static int load_samples(struct loader *l, const char *path)
{
	int e = csv_reader_open(&l->csv, path);
	if (e < 0)
		return e;
	if ((e = samples_columns(l)) < 0)
		return e;
	/* Most of a large file is rows: size the arrays once, from the file size. */
	if (rows_reserve(&l->rec->rows, l->csv.len / 64 + 16) < 0)
		return fail(l, -ENOMEM, "out of memory");
	l->last_ts = -INFINITY;
	l->ts_cache.len = SIZE_MAX;
	if ((e = read_rows(l, samples_row)) < 0 || (e = read_last_counters(l)) < 0)
		return e;
	if (!l->rec->rows.n)
		warn(l->rec, "%s: no samples (only a header)", path);
	if (group_rows(l->rec) < 0 || find_parents(l) < 0)
		return fail(l, -ENOMEM, "out of memory");
	return 0;
}

/* ---- system.csv ------------------------------------------------------------------------ */

static void acc_opt(struct loader *l, int col, struct stats_acc *a)
{
	double v;
	if (col >= 0 && csv_reader_double(&l->csv, (size_t)col, &v) == 0)
		stats_acc_add(a, v);
}

static int system_energy(struct loader *l, double ts)
{
	struct rec_system *s = &l->rec->sys;
	double j;
	int e = opt_number(&l->csv, l->sys.energy, &j);
	if (e < 0 || isnan(j))
		return e;
	if (!s->have_energy) {
		s->energy_first = j;
		s->energy_t_first = ts;
	}
	s->energy_last = j;
	s->energy_t_last = ts;
	s->have_energy = true;
	return 0;
}

static int system_row(struct loader *l)
{
	struct rec_system *s = &l->rec->sys;
	struct csv_reader *c = &l->csv;
	double ts, cpu;
	int e;
	if ((e = need_number(c, l->sys.timestamp, &ts)) < 0 ||
	    (e = opt_number(c, l->sys.cpu, &cpu)) < 0)
		return e;
	if (ts < l->last_ts)
		return csv_reader_field_error(
			c, (size_t)l->sys.timestamp,
			"earlier than the row before (rows must be in time order)");
	l->last_ts = ts;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		if (grow((void **)&s->t, sizeof(double), cap) < 0 ||
		    grow((void **)&s->cpu, sizeof(double), cap) < 0)
			return fail(l, -ENOMEM, "out of memory");
		s->cap = cap;
	}
	s->t[s->n] = ts;
	s->cpu[s->n++] = cpu;
	for (int i = 0; i < s->ncores; i++) {
		double v;
		if ((e = opt_number(c, l->sys.core[i], &v)) < 0)
			return e;
		if (!isnan(v))
			stats_acc_add(&s->core[i], v);
	}
	acc_opt(l, l->sys.mem_used, &s->mem_used);
	acc_opt(l, l->sys.mem_available, &s->mem_available);
	acc_opt(l, l->sys.swap_used, &s->swap_used);
	acc_opt(l, l->sys.power, &s->power);
	return system_energy(l, ts);
}

static int system_columns(struct loader *l)
{
	struct csv_reader *c = &l->csv;
	struct system_cols *col = &l->sys;
	col->timestamp = csv_reader_column(c, "timestamp");
	col->cpu = csv_reader_column(c, "cpu_percent");
	if (col->timestamp < 0 || col->cpu < 0 || csv_reader_column(c, "pid") >= 0)
		return fail(l, -EINVAL,
			    "%s:1: not a profkit system.csv (its header starts "
			    "timestamp,elapsed_s,cpu_percent)",
			    c->name);
	col->mem_used = csv_reader_column(c, "mem_used");
	col->mem_available = csv_reader_column(c, "mem_available");
	col->swap_used = csv_reader_column(c, "swap_used");
	col->energy = csv_reader_column(c, "energy_j");
	col->power = csv_reader_column(c, "power_w");
	struct rec_system *s = &l->rec->sys;
	char name[32];
	for (int i = 0; i < MAX_CORES; i++) {
		snprintf(name, sizeof(name), "cpu%d_percent", i);
		if (csv_reader_column(c, name) < 0)
			break;
		s->ncores = i + 1;
	}
	col->core = calloc((size_t)(s->ncores ? s->ncores : 1), sizeof(*col->core));
	s->core = calloc((size_t)(s->ncores ? s->ncores : 1), sizeof(*s->core));
	if (!col->core || !s->core)
		return fail(l, -ENOMEM, "out of memory");
	for (int i = 0; i < s->ncores; i++) {
		snprintf(name, sizeof(name), "cpu%d_percent", i);
		col->core[i] = csv_reader_column(c, name);
	}
	return 0;
}

static int load_system(struct loader *l, const char *path)
{
	csv_reader_close(&l->csv);
	int e = csv_reader_open(&l->csv, path);
	if (e < 0)
		return e;
	if ((e = system_columns(l)) < 0)
		return e;
	l->last_ts = -INFINITY;
	if ((e = read_rows(l, system_row)) < 0)
		return e;
	l->rec->have_system = true;
	return 0;
}

/* ---- the recording --------------------------------------------------------------------- */

static char *path_join(const char *dir, const char *file)
{
	char *p;
	size_t n = strlen(dir);
	bool slash = n && dir[n - 1] == '/';
	return asprintf(&p, "%s%s%s", dir, slash ? "" : "/", file) < 0 ? NULL : p;
}

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* Which files PATH names: a directory's samples.csv and system.csv, or a samples file with
 * the system.csv beside it when the file is called samples.csv. */
static int locate(struct recording *rec, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return neg_errno();
	}
	if (S_ISDIR(st.st_mode)) {
		rec->samples_path = path_join(path, "samples.csv");
		rec->system_path = path_join(path, "system.csv");
		if (!rec->samples_path || !rec->system_path)
			goto nomem;
		if (!is_file(rec->samples_path)) {
			snprintf(err, errlen,
				 "%s: no samples.csv in this directory (not a profkit recording?)",
				 path);
			return -ENOENT;
		}
	} else {
		rec->samples_path = strdup(path);
		const char *slash = strrchr(path, '/');
		const char *base = slash ? slash + 1 : path;
		if (!rec->samples_path)
			goto nomem;
		if (!strcmp(base, "samples.csv")) {
			char *dir = strndup(path, (size_t)(base - path));
			rec->system_path = dir ? path_join(*dir ? dir : ".", "system.csv") : NULL;
			free(dir);
			if (!rec->system_path)
				goto nomem;
		}
	}
	if (rec->system_path && !is_file(rec->system_path)) {
		free(rec->system_path);
		rec->system_path = NULL;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

int recording_load(const char *path, struct recording **ret, char *err, size_t errlen)
{
	struct recording *rec = calloc(1, sizeof(*rec));
	if (!rec) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int e = locate(rec, path, err, errlen);
	if (e < 0) {
		recording_free(rec);
		return e;
	}
	struct loader l = { .rec = rec };
	e = load_samples(&l, rec->samples_path);
	if (e >= 0 && rec->system_path)
		e = load_system(&l, rec->system_path);
	if (e < 0)
		snprintf(err, errlen, "%s", l.csv.error);
	csv_reader_close(&l.csv);
	pidmap_free(&l.by_pid);
	free(l.sys.core);
	free(l.extra);
	if (e < 0) {
		recording_free(rec);
		return e;
	}
	*ret = rec;
	return 0;
}

struct recording *recording_free(struct recording *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->nprocs; i++)
		free(r->procs[i].name);
	free(r->procs);
	rows_free(&r->rows);
	free(r->tick_t);
	free(r->sys.t);
	free(r->sys.cpu);
	free(r->sys.core);
	sb_free(&r->warnings);
	free(r->samples_path);
	free(r->system_path);
	free(r);
	return NULL;
}
