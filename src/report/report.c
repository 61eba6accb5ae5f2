#include "report/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A process whose start is at most this long before the first tick counts as started
 * during the recording: its counters count from zero (creation_epoch has tick resolution). */
#define BORN_SLACK_S 1.0

void dist_of(const double *v, size_t n, double *scratch, struct dist *ret)
{
	struct dist d = { 0, NAN, NAN, NAN, NAN, NAN };
	double sum = 0, lo = INFINITY, hi = -INFINITY;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i])) {
			scratch[m++] = v[i];
			sum += v[i];
			lo = v[i] < lo ? v[i] : lo;
			hi = v[i] > hi ? v[i] : hi;
		}
	d.n = m;
	if (m) {
		d.mean = sum / (double)m;
		d.min = lo;
		d.max = hi;
		static const double ps[] = { 0.50, 0.95 };
		double q[2];
		stats_quantiles_inplace(scratch, m, ps, 2, q);
		d.p50 = q[0];
		d.p95 = q[1];
	}
	*ret = d;
}

/* v[rows[0]], v[rows[1]], ... in a new array. */
static double *gather(const double *v, const uint32_t *rows, size_t n)
{
	double *p = malloc((n ? n : 1) * sizeof(*p));
	for (size_t k = 0; p && k < n; k++)
		p[k] = v[rows[k]];
	return p;
}

void entity_clear(struct entity *e)
{
	free(e->series.t);
	free(e->series.cpu);
	free(e->series.rss);
	memset(e, 0, sizeof(*e));
}

static double last_of(const double *v, size_t n)
{
	for (size_t i = n; i-- > 0;)
		if (!isnan(v[i]))
			return v[i];
	return NAN;
}

/* The memory trend over the samples that have a value, leaving out the exit. */
static void leak_of(struct entity *e, double *wt, double *wv)
{
	size_t m = 0;
	for (size_t i = 0; i < e->series.n; i++)
		if (!isnan(e->series.rss[i])) {
			wt[m] = e->series.t[i];
			wv[m++] = e->series.rss[i];
		}
	if (e->exited)
		m = leak_trim_exit(wv, m);
	leak_analyze(wt, wv, m, &e->leak);
}

/* Statistics that come from the series alone; scratch holds 2 * ns doubles. */
static void series_stats(struct entity *e, double *scratch)
{
	dist_of(e->series.cpu, e->series.n, scratch, &e->cpu);
	dist_of(e->series.rss, e->series.n, scratch, &e->rss);
	e->rss_end = last_of(e->series.rss, e->series.n);
	e->t_first = e->series.n ? e->series.t[0] : NAN;
	e->t_last = e->series.n ? e->series.t[e->series.n - 1] : NAN;
	e->duration_s = e->series.n ? e->t_last - e->t_first : NAN;
	leak_of(e, scratch, scratch + e->series.n);
}

/* ---- processes --------------------------------------------------------------------------- */

static double counter_total(const struct recording *rec, const struct rec_process *p, int c)
{
	const struct rec_counter_span *s = &p->c[c];
	if (!s->have)
		return NAN;
	bool born_during = rec->nticks && !isnan(p->creation_epoch) &&
			   p->creation_epoch >= rec->tick_t[0] - BORN_SLACK_S;
	return born_during ? s->last : s->last - s->first;
}

/* CPU seconds from CPU % over the time between samples, for files without the
 * cpu_user_s/cpu_system_s columns (PROFIT's). */
static double cpu_s_from_percent(const struct recording *rec, const struct rec_process *p)
{
	const double *t = rec->rows.t, *cpu = rec->rows.g[G_CPU];
	double s = 0;
	for (size_t k = 1; k < p->n; k++) {
		uint32_t i = p->rows[k], prev = p->rows[k - 1];
		if (!isnan(cpu[i]))
			s += cpu[i] / 100 * (t[i] - t[prev]);
	}
	return s;
}

static double process_cpu_s(const struct recording *rec, const struct rec_process *p,
			    bool *ret_estimated)
{
	double u = counter_total(rec, p, C_CPU_USER), s = counter_total(rec, p, C_CPU_SYSTEM);
	*ret_estimated = isnan(u) || isnan(s);
	return *ret_estimated ? cpu_s_from_percent(rec, p) : u + s;
}

static int entity_of_process(const struct recording *rec, size_t i, double *scratch,
			     struct entity *e)
{
	const struct rec_process *p = &rec->procs[i];
	*e = (struct entity){ .kind = ENTITY_PROCESS,
			      .name = p->name,
			      .pid = p->pid,
			      .ppid = p->ppid,
			      .creation_epoch = p->creation_epoch,
			      .members = 1,
			      .exited = p->exited,
			      .series.n = p->n };
	e->series.t = gather(rec->rows.t, p->rows, p->n);
	e->series.cpu = gather(rec->rows.g[G_CPU], p->rows, p->n);
	e->series.rss = gather(rec->rows.g[G_RSS], p->rows, p->n);
	if (!e->series.t || !e->series.cpu || !e->series.rss)
		return -ENOMEM;
	e->vms_max = p->gauge_max[G_VMS];
	e->swap_max = p->gauge_max[G_SWAP];
	e->fds_max = p->gauge_max[G_FDS];
	e->threads_max = p->gauge_max[G_THREADS];
	for (int c = 0; c < C_COUNT; c++)
		e->counter[c] = counter_total(rec, p, c);
	e->cpu_s = process_cpu_s(rec, p, &e->cpu_s_estimated);
	series_stats(e, scratch);
	return 0;
}

/* ---- groups: sums tick by tick ----------------------------------------------------------- */

struct tick_sums {
	uint32_t lo, nt;
	double *sum[G_COUNT];
	uint32_t *have[G_COUNT]; /* members with a value at the tick */
	uint32_t *seen;          /* members with a sample at the tick */
};

static void tick_sums_free(struct tick_sums *s)
{
	for (int g = 0; g < G_COUNT; g++) {
		free(s->sum[g]);
		free(s->have[g]);
	}
	free(s->seen);
}

static int tick_sums_alloc(struct tick_sums *s, uint32_t lo, uint32_t hi)
{
	*s = (struct tick_sums){ .lo = lo, .nt = hi - lo + 1 };
	for (int g = 0; g < G_COUNT; g++) {
		s->sum[g] = calloc(s->nt, sizeof(double));
		s->have[g] = calloc(s->nt, sizeof(uint32_t));
		if (!s->sum[g] || !s->have[g])
			return -ENOMEM;
	}
	s->seen = calloc(s->nt, sizeof(uint32_t));
	return s->seen ? 0 : -ENOMEM;
}

static void tick_sums_add(struct tick_sums *s, const struct recording *rec,
			  const struct rec_process *p)
{
	for (size_t k = 0; k < p->n; k++) {
		uint32_t i = p->rows[k], j = rec->rows.tick[i] - s->lo;
		s->seen[j]++;
		for (int g = 0; g < G_COUNT; g++) {
			double v = rec->rows.g[g][i];
			if (isnan(v))
				continue;
			s->sum[g][j] += v;
			s->have[g][j]++;
		}
	}
}

static double sum_at(const struct tick_sums *s, int g, uint32_t j)
{
	return s->have[g][j] ? s->sum[g][j] : NAN;
}

/* The group's series: one point per tick at which a member was sampled. */
static int group_series(const struct recording *rec, const struct tick_sums *s, struct entity *e)
{
	e->series.t = malloc(s->nt * sizeof(double));
	e->series.cpu = malloc(s->nt * sizeof(double));
	e->series.rss = malloc(s->nt * sizeof(double));
	if (!e->series.t || !e->series.cpu || !e->series.rss)
		return -ENOMEM;
	double vms = NAN, swap = NAN, fds = NAN, threads = NAN;
	size_t n = 0;
	for (uint32_t j = 0; j < s->nt; j++) {
		if (!s->seen[j])
			continue;
		e->series.t[n] = rec->tick_t[s->lo + j];
		e->series.cpu[n] = sum_at(s, G_CPU, j);
		e->series.rss[n++] = sum_at(s, G_RSS, j);
		vms = fmax(vms, sum_at(s, G_VMS, j)); /* fmax ignores a NAN side */
		swap = fmax(swap, sum_at(s, G_SWAP, j));
		fds = fmax(fds, sum_at(s, G_FDS, j));
		threads = fmax(threads, sum_at(s, G_THREADS, j));
	}
	e->series.n = n;
	e->vms_max = vms;
	e->swap_max = swap;
	e->fds_max = fds;
	e->threads_max = threads;
	return 0;
}

/* Counters and CPU time add up over the members. */
static void group_totals(const struct recording *rec, const size_t *members, size_t n,
			 struct entity *e)
{
	e->cpu_s = 0;
	for (int c = 0; c < C_COUNT; c++)
		e->counter[c] = NAN;
	e->exited = true;
	for (size_t m = 0; m < n; m++) {
		const struct rec_process *p = &rec->procs[members[m]];
		for (int c = 0; c < C_COUNT; c++) {
			double v = counter_total(rec, p, c);
			if (!isnan(v))
				e->counter[c] = (isnan(e->counter[c]) ? 0 : e->counter[c]) + v;
		}
		bool estimated;
		e->cpu_s += process_cpu_s(rec, p, &estimated);
		e->cpu_s_estimated |= estimated;
		e->exited &= p->exited;
	}
}

int entity_of_group(const struct recording *rec, const size_t *members, size_t n,
		    struct entity *ret)
{
	struct entity e = {
		.kind = ENTITY_GROUP, .pid = -1, .ppid = -1, .creation_epoch = NAN, .members = n
	};
	uint32_t lo = UINT32_MAX, hi = 0;
	for (size_t m = 0; m < n; m++) {
		const struct rec_process *p = &rec->procs[members[m]];
		if (!p->n)
			continue;
		lo = p->first_tick < lo ? p->first_tick : lo;
		hi = p->last_tick > hi ? p->last_tick : hi;
	}
	struct tick_sums s = { 0 };
	int r = lo <= hi ? tick_sums_alloc(&s, lo, hi) : 0;
	for (size_t m = 0; !r && lo <= hi && m < n; m++)
		tick_sums_add(&s, rec, &rec->procs[members[m]]);
	if (!r && lo <= hi)
		r = group_series(rec, &s, &e);
	tick_sums_free(&s);
	double *scratch = r ? NULL : malloc((2 * e.series.n + 1) * sizeof(double));
	if (r || !scratch) {
		entity_clear(&e);
		return -ENOMEM;
	}
	group_totals(rec, members, n, &e);
	series_stats(&e, scratch);
	free(scratch);
	*ret = e;
	return 0;
}

/* ---- the process forest ------------------------------------------------------------------ */

struct forest {
	size_t *order; /* depth-first */
	int *depth;    /* by position in order */
	size_t *size;  /* subtree size, by position in order */
};

static void forest_free(struct forest *f)
{
	free(f->order);
	free(f->depth);
	free(f->size);
}

/* Children lists in compressed form: kids[first[i] .. first[i + 1]) are i's children. */
static int children_of(const struct recording *rec, size_t **ret_first, size_t **ret_kids)
{
	size_t n = rec->nprocs;
	size_t *first = calloc(n + 2, sizeof(*first)), *kids = malloc((n + 1) * sizeof(*kids));
	if (!first || !kids) {
		free(first);
		free(kids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (rec->procs[i].parent >= 0)
			first[rec->procs[i].parent + 2]++;
	for (size_t i = 2; i < n + 2; i++)
		first[i] += first[i - 1];
	for (size_t i = 0; i < n; i++)
		if (rec->procs[i].parent >= 0)
			kids[first[rec->procs[i].parent + 1]++] = i;
	*ret_first = first;
	*ret_kids = kids;
	return 0;
}

struct walk_state {
	size_t *stack;
	size_t *next_kid; /* by process: the next child to visit */
	size_t *where;    /* by process: its position in the order */
};

/* Iterative depth-first walk (a chain of a million forks must not overflow the stack);
 * a subtree's size is known when the walk leaves it. */
static void walk(const struct recording *rec, const size_t *first, const size_t *kids,
		 struct walk_state *w, struct forest *f)
{
	size_t pos = 0;
	for (size_t root = 0; root < rec->nprocs; root++) {
		if (rec->procs[root].parent >= 0)
			continue;
		size_t sp = 0, cur = root;
		for (;;) {
			if (sp == 0 || cur != w->stack[sp - 1]) { /* entering cur */
				f->order[pos] = cur;
				f->depth[pos] = (int)sp;
				w->where[cur] = pos++;
				w->next_kid[cur] = first[cur];
				w->stack[sp++] = cur;
			}
			if (w->next_kid[cur] < first[cur + 1]) {
				cur = kids[w->next_kid[cur]++];
				continue;
			}
			f->size[w->where[cur]] = pos - w->where[cur];
			if (--sp == 0)
				break;
			cur = w->stack[sp - 1];
		}
	}
}

static int forest_build(const struct recording *rec, struct forest *f)
{
	size_t n = rec->nprocs ? rec->nprocs : 1;
	size_t *first = NULL, *kids = NULL;
	struct walk_state w = { malloc(n * sizeof(size_t)), malloc(n * sizeof(size_t)),
				malloc(n * sizeof(size_t)) };
	f->order = malloc(n * sizeof(*f->order));
	f->depth = malloc(n * sizeof(*f->depth));
	f->size = malloc(n * sizeof(*f->size));
	int r = f->order && f->depth && f->size && w.stack && w.next_kid && w.where ? 0 : -ENOMEM;
	if (!r)
		r = children_of(rec, &first, &kids);
	if (!r)
		walk(rec, first, kids, &w, f);
	free(first);
	free(kids);
	free(w.stack);
	free(w.next_kid);
	free(w.where);
	return r;
}

/* ---- the report -------------------------------------------------------------------------- */

static void machine_of(const struct recording *rec, struct report *r)
{
	const struct rec_system *s = &rec->sys;
	struct machine *m = &r->machine;
	m->have = rec->have_system;
	if (!m->have)
		return;
	double *scratch = malloc((s->n ? s->n : 1) * sizeof(double));
	if (scratch)
		dist_of(s->cpu, s->n, scratch, &m->cpu);
	free(scratch);
	m->ncores = s->ncores;
	m->core = calloc((size_t)(s->ncores ? s->ncores : 1), sizeof(*m->core));
	for (int i = 0; m->core && i < s->ncores; i++)
		m->core[i] = (struct core_use){ stats_acc_mean(&s->core[i]),
						s->core[i].n ? s->core[i].max : NAN };
	m->mem_used = s->mem_used;
	m->swap_used = s->swap_used;
	m->have_energy = s->have_energy;
	double span = s->energy_t_last - s->energy_t_first;
	m->energy_j = s->have_energy ? s->energy_last - s->energy_first : NAN;
	m->power_w = s->have_energy && span > 0 ? m->energy_j / span : NAN;
	m->ns = s->n;
	m->t = s->t;
	m->cpu_series = s->cpu;
}

static size_t count_trees(const struct recording *rec, const struct forest *f)
{
	size_t n = 0;
	for (size_t i = 0; i < rec->nprocs; i++)
		n += f->size[i] > 1;
	return n;
}

static int build_trees(const struct recording *rec, const struct forest *f, struct report *r)
{
	r->trees = calloc(count_trees(rec, f) + 1, sizeof(*r->trees));
	if (!r->trees)
		return -ENOMEM;
	for (size_t i = 0; i < rec->nprocs; i++) {
		if (f->size[i] < 2)
			continue;
		struct entity *e = &r->trees[r->ntrees];
		if (entity_of_group(rec, f->order + i, f->size[i], e) < 0)
			return -ENOMEM;
		r->ntrees++;
		const struct rec_process *root = &rec->procs[f->order[i]];
		e->kind = ENTITY_TREE;
		e->name = root->name;
		e->pid = root->pid;
		e->ppid = root->ppid;
		e->creation_epoch = root->creation_epoch;
	}
	return 0;
}

static int build_processes(const struct recording *rec, const struct forest *f, struct report *r)
{
	size_t most = 0;
	for (size_t i = 0; i < rec->nprocs; i++)
		most = rec->procs[i].n > most ? rec->procs[i].n : most;
	double *scratch = malloc((2 * most + 1) * sizeof(double));
	r->procs = calloc(rec->nprocs + 1, sizeof(*r->procs));
	int e = scratch && r->procs ? 0 : -ENOMEM;
	for (size_t i = 0; !e && i < rec->nprocs; i++) {
		e = entity_of_process(rec, f->order[i], scratch, &r->procs[i]);
		r->procs[i].depth = f->depth[i];
		r->nprocs = i + 1;
	}
	free(scratch);
	return e;
}

int report_build(const struct recording *rec, struct report **ret)
{
	struct report *r = calloc(1, sizeof(*r));
	struct forest f = { 0 };
	if (!r)
		return -ENOMEM;
	r->rec = rec;
	r->t_first = rec->nticks ? rec->tick_t[0] : rec->sys.n ? rec->sys.t[0] : NAN;
	r->t_last = rec->nticks  ? rec->tick_t[rec->nticks - 1]
		    : rec->sys.n ? rec->sys.t[rec->sys.n - 1]
				 : NAN;
	int e = forest_build(rec, &f);
	if (!e)
		e = build_processes(rec, &f, r);
	if (!e)
		e = build_trees(rec, &f, r);
	forest_free(&f);
	if (e < 0) {
		report_free(r);
		return e;
	}
	machine_of(rec, r);
	*ret = r;
	return 0;
}

struct report *report_free(struct report *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->nprocs; i++)
		entity_clear(&r->procs[i]);
	for (size_t i = 0; i < r->ntrees; i++)
		entity_clear(&r->trees[i]);
	free(r->procs);
	free(r->trees);
	free(r->machine.core);
	free(r);
	return NULL;
}
