#include "analysis/pyprof.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/macro.h"

#define MATCH_BYTES (PYPROF_MAX_FUNCS / 8)

enum file_kind { FILE_ANY, FILE_MODULE, FILE_PATH };

struct func {
	char *pattern;
	char *file_pat, *name_pat; /* parts of pattern */
	enum file_kind file_kind;
	bool qualified, visible;
	uint64_t samples, wall_ns, cpu_ns;
	double var_ns2;   /* variance of wall_ns, ns^2 */
	uint64_t added_ns; /* 0: from the start */
	uint32_t order;   /* position in request order */
};

struct frame {
	char *name, *qualname, *filename, *label;
	int line;
	uint64_t hash;
	uint32_t matched; /* funcs [0, matched) have their bit in match computed */
	uint8_t match[MATCH_BYTES];
};

struct thread {
	pid_t pid, tid;
	uint64_t tstate;
	char name[64];   /* the label */
	char bare[64];   /* the name alone */
	uint64_t last_ns, last_cpu; /* at its last good sample */
	uint64_t samples, wall_ns, cpu_ns;
	bool alive, seen, have_cpu;
	uint8_t present[MATCH_BYTES];
};

struct stack {
	uint32_t thread, n;
	uint32_t *ids; /* outermost first */
	uint64_t hash, wall_ns, cpu_ns, samples;
};

struct pyprof {
	struct func *funcs;
	size_t nfuncs;
	uint32_t next_order;

	struct frame *frames;
	size_t nframes, capframes;
	uint32_t *frame_slots; /* index + 1; 0 empty */
	size_t nframe_slots;

	struct thread *threads;
	size_t nthreads, capthreads;

	struct stack *stacks;
	size_t nstacks, capstacks;
	uint32_t *stack_slots;
	size_t nstack_slots;

	uint64_t first_ns, prev_ns, now_ns, ticks, samples, dropped;
	uint32_t scratch[4096];
};

/* ---- patterns ---------------------------------------------------------------------------- */

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Splits "file:name" at the last ':' (none: just a name). */
static int parse_pattern(const char *pattern, struct func *f)
{
	if (!*pattern || has_ctl(pattern))
		return -EINVAL;
	const char *colon = strrchr(pattern, ':');
	const char *name = colon ? colon + 1 : pattern;
	if (!*name || (colon && colon == pattern))
		return -EINVAL;
	f->name_pat = strdup(name);
	f->qualified = strchr(name, '.') != NULL;
	f->file_kind = FILE_ANY;
	if (colon) {
		f->file_pat = strndup(pattern, (size_t)(colon - pattern));
		if (f->file_pat)
			f->file_kind = strchr(f->file_pat, '/') || strstr(f->file_pat, ".py")
					       ? FILE_PATH : FILE_MODULE;
	}
	if (!f->name_pat || (colon && !f->file_pat))
		return -ENOMEM;
	return 0;
}

bool pyprof_pattern_valid(const char *pattern)
{
	struct func f = { 0 };
	int r = parse_pattern(pattern, &f);
	free(f.name_pat);
	free(f.file_pat);
	return r == 0;
}

bool pyprof_pattern_is_qualified(const char *pattern)
{
	const char *colon = strrchr(pattern, ':');
	return strchr(colon ? colon + 1 : pattern, '.') != NULL;
}

/* "pkg/mod.py" matches module "mod", "pkg.mod", "pkg.*"; "pkg/__init__.py" is "pkg";
 * "<frozen importlib._bootstrap>" is "importlib._bootstrap". */
static bool match_module(const char *pat, const char *filename)
{
	char mod[4096];
	size_t len = strlen(filename);
	if (!strncmp(filename, "<frozen ", 8) && len > 9 && filename[len - 1] == '>') {
		snprintf(mod, sizeof(mod), "%.*s", (int)(len - 9), filename + 8);
		return fnmatch(pat, mod, 0) == 0;
	}
	if (len < 4 || len >= sizeof(mod) || strcmp(filename + len - 3, ".py") != 0)
		return false;
	memcpy(mod, filename, len - 3);
	mod[len - 3] = '\0';
	size_t ml = len - 3;
	if (ml >= 9 && !strcmp(mod + ml - 9, "/__init__"))
		mod[ml - 9] = '\0';
	for (char *c = mod; *c; c++)
		if (*c == '/')
			*c = '.';
	/* Every dotted suffix that starts at a component: "a.b.c", "b.c", "c". */
	for (const char *s = mod; s; s = strchr(s, '.')) {
		if (*s == '.')
			s++;
		if (*s && fnmatch(pat, s, 0) == 0)
			return true;
	}
	return false;
}

static bool match_path(const char *pat, const char *filename)
{
	if (fnmatch(pat, filename, 0) == 0)
		return true;
	for (const char *s = strchr(filename, '/'); s; s = strchr(s + 1, '/'))
		if (fnmatch(pat, s + 1, 0) == 0)
			return true;
	return false;
}

static bool func_matches(const struct func *f, const struct frame *fr)
{
	if (fnmatch(f->name_pat, f->qualified ? fr->qualname : fr->name, 0) != 0)
		return false;
	switch (f->file_kind) {
	case FILE_MODULE:
		return match_module(f->file_pat, fr->filename);
	case FILE_PATH:
		return match_path(f->file_pat, fr->filename);
	default:
		return true;
	}
}

static void frame_update_matches(struct pyprof *p, struct frame *fr)
{
	for (; fr->matched < p->nfuncs; fr->matched++) {
		uint32_t k = fr->matched;
		if (func_matches(&p->funcs[k], fr))
			fr->match[k / 8] |= (uint8_t)(1u << (k % 8));
	}
}

int pyprof_add_function(struct pyprof *p, const char *pattern)
{
	for (size_t i = 0; i < p->nfuncs; i++) {
		struct func *f = &p->funcs[i];
		if (strcmp(f->pattern, pattern) != 0)
			continue;
		if (f->visible)
			return -EEXIST;
		f->visible = true;
		f->order = p->next_order++;
		return 0;
	}
	if (p->nfuncs >= PYPROF_MAX_FUNCS)
		return -E2BIG;
	struct func f = { .visible = true };
	int r = parse_pattern(pattern, &f);
	f.pattern = strdup(pattern);
	if (r == 0 && !f.pattern)
		r = -ENOMEM;
	if (r < 0) {
		free(f.pattern), free(f.file_pat), free(f.name_pat);
		return r;
	}
	if (!p->funcs) {
		p->funcs = calloc(PYPROF_MAX_FUNCS, sizeof(*p->funcs));
		if (!p->funcs) {
			free(f.pattern), free(f.file_pat), free(f.name_pat);
			return -ENOMEM;
		}
	}
	f.added_ns = p->ticks ? p->now_ns : 0;
	f.order = p->next_order++;
	p->funcs[p->nfuncs++] = f;
	return 0;
}

int pyprof_remove_function(struct pyprof *p, const char *pattern)
{
	for (size_t i = 0; i < p->nfuncs; i++)
		if (p->funcs[i].visible && !strcmp(p->funcs[i].pattern, pattern)) {
			p->funcs[i].visible = false;
			return 0;
		}
	return -ENOENT;
}

/* ---- frames ------------------------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const uint8_t *d = data;
	for (size_t i = 0; i < n; i++) {
		h ^= d[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t frame_hash(const char *name, const char *qualname, const char *filename, int line)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	h = fnv(h, name, strlen(name) + 1);
	h = fnv(h, qualname, strlen(qualname) + 1);
	h = fnv(h, filename, strlen(filename) + 1);
	return fnv(h, &line, sizeof(line));
}

static int grow_slots(uint32_t **slots, size_t *nslots, size_t used, uint64_t (*hash_of)(void *, uint32_t),
		      void *ctx)
{
	if ((used + 1) * 2 <= *nslots)
		return 0;
	size_t n = *nslots ? *nslots * 2 : 1024;
	uint32_t *s = calloc(n, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < *nslots; i++) {
		uint32_t v = (*slots)[i];
		if (!v)
			continue;
		size_t k = hash_of(ctx, v - 1) & (n - 1);
		while (s[k])
			k = (k + 1) & (n - 1);
		s[k] = v;
	}
	free(*slots);
	*slots = s;
	*nslots = n;
	return 0;
}

static uint64_t frame_hash_of(void *ctx, uint32_t i) { return ((struct pyprof *)ctx)->frames[i].hash; }
static uint64_t stack_hash_of(void *ctx, uint32_t i) { return ((struct pyprof *)ctx)->stacks[i].hash; }

/* Flamegraph tools split on ';' and on the last space: keep those out of labels' names. */
static char *make_label(const char *qualname, const char *filename, int line)
{
	const char *base = strrchr(filename, '/');
	base = base ? base + 1 : filename;
	size_t n = strlen(qualname) + strlen(base) + 32;
	char *l = malloc(n);
	if (!l)
		return NULL;
	snprintf(l, n, "%s (%s:%d)", qualname, base, line);
	for (char *c = l; *c; c++)
		if (*c == ';' || *c == '\n' || *c == '\r')
			*c = '_';
	return l;
}

uint32_t pyprof_frame(struct pyprof *p, const char *name, const char *qualname,
		      const char *filename, int firstlineno)
{
	uint64_t h = frame_hash(name, qualname, filename, firstlineno);
	if (grow_slots(&p->frame_slots, &p->nframe_slots, p->nframes, frame_hash_of, p) < 0)
		return UINT32_MAX;
	size_t k = h & (p->nframe_slots - 1);
	for (; p->frame_slots[k]; k = (k + 1) & (p->nframe_slots - 1)) {
		struct frame *f = &p->frames[p->frame_slots[k] - 1];
		if (f->hash == h && f->line == firstlineno && !strcmp(f->name, name) &&
		    !strcmp(f->qualname, qualname) && !strcmp(f->filename, filename))
			return p->frame_slots[k] - 1;
	}
	if (p->nframes == p->capframes) {
		size_t cap = p->capframes ? p->capframes * 2 : 256;
		void *n = realloc(p->frames, cap * sizeof(*p->frames));
		if (!n)
			return UINT32_MAX;
		p->frames = n;
		p->capframes = cap;
	}
	struct frame f = { .name = strdup(name), .qualname = strdup(qualname),
			   .filename = strdup(filename), .line = firstlineno, .hash = h,
			   .label = make_label(qualname, filename, firstlineno) };
	if (!f.name || !f.qualname || !f.filename || !f.label) {
		free(f.name), free(f.qualname), free(f.filename), free(f.label);
		return UINT32_MAX;
	}
	p->frames[p->nframes] = f;
	p->frame_slots[k] = (uint32_t)++p->nframes;
	return (uint32_t)(p->nframes - 1);
}

/* ---- threads and samples ------------------------------------------------------------------ */

/* Labels are the first element of a folded line: no ';' and no control characters. */
static void set_name(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s", name && *name ? name : "thread");
	for (char *c = out; *c; c++)
		if (*c == ';' || (unsigned char)*c < 0x20)
			*c = '_';
}

int pyprof_thread(struct pyprof *p, pid_t pid, pid_t tid, uint64_t tstate, const char *name)
{
	for (size_t i = p->nthreads; i-- > 0;) {
		struct thread *t = &p->threads[i];
		if (t->alive && t->pid == pid && t->tid == tid && t->tstate == tstate)
			return (int)i;
	}
	if (p->nthreads == p->capthreads) {
		size_t cap = p->capthreads ? p->capthreads * 2 : 16;
		void *n = realloc(p->threads, cap * sizeof(*p->threads));
		if (!n)
			return -ENOMEM;
		p->threads = n;
		p->capthreads = cap;
	}
	struct thread *t = &p->threads[p->nthreads];
	*t = (struct thread){ .pid = pid, .tid = tid, .tstate = tstate, .alive = true };
	set_name(t->name, sizeof(t->name), name);
	set_name(t->bare, sizeof(t->bare), name);
	return (int)p->nthreads++;
}

int pyprof_thread_rename(struct pyprof *p, int thread, const char *label, const char *name)
{
	if (thread < 0 || (size_t)thread >= p->nthreads)
		return -EINVAL;
	set_name(p->threads[thread].name, sizeof(p->threads[thread].name), label);
	set_name(p->threads[thread].bare, sizeof(p->threads[thread].bare), name);
	return 0;
}

size_t pyprof_nthreads(const struct pyprof *p) { return p->nthreads; }

bool pyprof_thread_info(const struct pyprof *p, size_t i, struct pyprof_thread_info *ret)
{
	if (i >= p->nthreads)
		return false;
	const struct thread *t = &p->threads[i];
	*ret = (struct pyprof_thread_info){ .pid = t->pid, .tid = t->tid, .label = t->name,
					    .name = t->bare,
					    .samples = t->samples,
					    .wall_s = (double)t->wall_ns / 1e9,
					    .cpu_s = (double)t->cpu_ns / 1e9, .alive = t->alive };
	return true;
}

void pyprof_tick_begin(struct pyprof *p, uint64_t now_ns)
{
	if (!p->ticks)
		p->first_ns = now_ns;
	p->prev_ns = p->ticks ? p->now_ns : now_ns;
	p->now_ns = now_ns;
	p->ticks++;
	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i].seen = false;
}

static int add_stack(struct pyprof *p, uint32_t thread, const uint32_t *ids, size_t n,
		     uint64_t wall, uint64_t cpu)
{
	uint64_t h = fnv(0xcbf29ce484222325ULL, &thread, sizeof(thread));
	h = fnv(h, ids, n * sizeof(*ids));
	if (grow_slots(&p->stack_slots, &p->nstack_slots, p->nstacks, stack_hash_of, p) < 0)
		return -ENOMEM;
	size_t k = h & (p->nstack_slots - 1);
	for (; p->stack_slots[k]; k = (k + 1) & (p->nstack_slots - 1)) {
		struct stack *s = &p->stacks[p->stack_slots[k] - 1];
		if (s->hash == h && s->thread == thread && s->n == n &&
		    !memcmp(s->ids, ids, n * sizeof(*ids))) {
			s->wall_ns += wall;
			s->cpu_ns += cpu;
			s->samples++;
			return 0;
		}
	}
	if (p->nstacks == p->capstacks) {
		size_t cap = p->capstacks ? p->capstacks * 2 : 256;
		void *m = realloc(p->stacks, cap * sizeof(*p->stacks));
		if (!m)
			return -ENOMEM;
		p->stacks = m;
		p->capstacks = cap;
	}
	uint32_t *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, ids, n * sizeof(*ids));
	p->stacks[p->nstacks] = (struct stack){ .thread = thread, .n = (uint32_t)n, .ids = copy,
						.hash = h, .wall_ns = wall, .cpu_ns = cpu,
						.samples = 1 };
	p->stack_slots[k] = (uint32_t)++p->nstacks;
	return 0;
}

int pyprof_sample(struct pyprof *p, int thread, const uint32_t *frames, size_t n,
		  uint64_t cpu_ns)
{
	struct thread *t = &p->threads[thread];
	/* The time this sample stands for: since the thread's previous good sample; for a
	 * thread first seen now, since the previous tick (it may have started just after),
	 * and nothing at the session's first tick. */
	uint64_t since = t->last_ns ? t->last_ns : p->prev_ns;
	uint64_t dt = p->now_ns > since ? p->now_ns - since : 0;
	uint64_t dcpu = 0;
	if (cpu_ns != PYPROF_NO_CPU) {
		if (t->have_cpu)
			dcpu = cpu_ns > t->last_cpu ? cpu_ns - t->last_cpu : 0;
		else
			dcpu = cpu_ns < dt ? cpu_ns : dt;
		t->last_cpu = cpu_ns;
		t->have_cpu = true;
	}
	t->last_ns = p->now_ns;
	t->seen = true;
	t->samples++;
	t->wall_ns += dt;
	t->cpu_ns += dcpu;
	p->samples++;

	uint8_t present[MATCH_BYTES] = { 0 };
	if (n > ARRAY_SIZE(p->scratch))
		n = ARRAY_SIZE(p->scratch);
	for (size_t i = 0; i < n; i++) {
		struct frame *fr = &p->frames[frames[i]];
		frame_update_matches(p, fr);
		for (size_t b = 0; b < (p->nfuncs + 7) / 8; b++)
			present[b] |= fr->match[b];
		p->scratch[n - 1 - i] = frames[i]; /* outermost first */
	}
	double dt2 = (double)dt * (double)dt;
	for (size_t k = 0; k < p->nfuncs; k++) {
		struct func *f = &p->funcs[k];
		bool now = present[k / 8] >> (k % 8) & 1, before = t->present[k / 8] >> (k % 8) & 1;
		if (now) {
			f->samples++;
			f->wall_ns += dt;
			f->cpu_ns += dcpu;
		}
		/* The function began or ended somewhere in this interval. */
		if (now != before)
			f->var_ns2 += dt2 / 2;
	}
	memcpy(t->present, present, sizeof(present));
	return add_stack(p, (uint32_t)thread, p->scratch, n, dt, dcpu);
}

void pyprof_drop(struct pyprof *p, int thread)
{
	/* The next good sample of the thread covers this interval too. */
	p->threads[thread].seen = true;
	p->dropped++;
}

void pyprof_drop_pid(struct pyprof *p, pid_t pid)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].alive && p->threads[i].pid == pid)
			p->threads[i].seen = true;
	p->dropped++;
}

void pyprof_tick_end(struct pyprof *p)
{
	for (size_t i = 0; i < p->nthreads; i++) {
		struct thread *t = &p->threads[i];
		if (!t->alive || t->seen)
			continue;
		/* Gone since its last sample: what it was running ended some time in between. */
		t->alive = false;
		double dt = (double)(p->now_ns - (t->last_ns ? t->last_ns : p->prev_ns));
		for (size_t k = 0; k < p->nfuncs; k++)
			if (t->present[k / 8] >> (k % 8) & 1)
				p->funcs[k].var_ns2 += dt * dt / 2;
		memset(t->present, 0, sizeof(t->present));
	}
}

/* ---- results ------------------------------------------------------------------------------ */

static int cmp_order(const void *a, const void *b)
{
	const struct pyprof_result *x = a, *y = b;
	return x->share < y->share ? -1 : x->share > y->share; /* share holds the order here */
}

static int cmp_time(const void *a, const void *b)
{
	const struct pyprof_result *x = a, *y = b;
	return x->wall_s > y->wall_s ? -1 : x->wall_s < y->wall_s;
}

size_t pyprof_results(struct pyprof *p, struct pyprof_result *out, size_t max, bool by_time)
{
	size_t n = 0;
	for (size_t k = 0; k < p->nfuncs && n < max; k++) {
		const struct func *f = &p->funcs[k];
		if (!f->visible)
			continue;
		out[n++] = (struct pyprof_result){ .pattern = f->pattern, .share = f->order };
	}
	qsort(out, n, sizeof(*out), cmp_order);
	for (size_t i = 0; i < n; i++) {
		const struct func *f = NULL;
		for (size_t k = 0; k < p->nfuncs; k++)
			if (p->funcs[k].pattern == out[i].pattern)
				f = &p->funcs[k];
		uint64_t start = f->added_ns > p->first_ns ? f->added_ns : p->first_ns;
		double window = p->ticks && p->now_ns > start ? (double)(p->now_ns - start) / 1e9 : 0;
		out[i].samples = f->samples;
		out[i].wall_s = (double)f->wall_ns / 1e9;
		out[i].wall_err_s = sqrt(f->var_ns2) / 1e9;
		out[i].cpu_s = (double)f->cpu_ns / 1e9;
		out[i].share = window > 0 ? out[i].wall_s / window : NAN;
	}
	if (by_time)
		qsort(out, n, sizeof(*out), cmp_time);
	return n;
}

void pyprof_totals(const struct pyprof *p, struct pyprof_totals *ret)
{
	*ret = (struct pyprof_totals){
		.ticks = p->ticks, .samples = p->samples, .dropped = p->dropped,
		.wall_s = p->ticks ? (double)(p->now_ns - p->first_ns) / 1e9 : 0,
		.threads = p->nthreads, .frames = p->nframes, .stacks = p->nstacks,
	};
	/* Quadratic in the threads, which are few (it runs for a table, not per sample). */
	for (size_t i = 0; i < p->nthreads; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = p->threads[j].pid == p->threads[i].pid;
		ret->processes += !seen;
	}
}

int pyprof_stacks(struct pyprof *p, pyprof_stack_fn fn, void *userdata)
{
	const char **labels = malloc(ARRAY_SIZE(p->scratch) * sizeof(*labels));
	if (!labels)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; i < p->nstacks && r >= 0; i++) {
		const struct stack *s = &p->stacks[i];
		for (uint32_t j = 0; j < s->n; j++)
			labels[j] = p->frames[s->ids[j]].label;
		r = fn(userdata, p->threads[s->thread].name, labels, s->n, s->wall_ns, s->cpu_ns,
		       s->samples);
	}
	free(labels);
	return r < 0 ? r : 0;
}

bool pyprof_frame_info(const struct pyprof *p, uint32_t id, struct pyprof_frame_info *ret)
{
	if (id >= p->nframes)
		return false;
	const struct frame *f = &p->frames[id];
	*ret = (struct pyprof_frame_info){ .name = f->name, .qualname = f->qualname,
					   .filename = f->filename, .line = f->line };
	return true;
}

int pyprof_stack_ids(struct pyprof *p, pyprof_stack_ids_fn fn, void *userdata)
{
	int r = 0;
	for (size_t i = 0; i < p->nstacks && r >= 0; i++) {
		const struct stack *s = &p->stacks[i];
		const struct thread *t = &p->threads[s->thread];
		r = fn(userdata, t->tid, t->name, s->ids, s->n, s->wall_ns, s->cpu_ns, s->samples);
	}
	return r < 0 ? r : 0;
}

/* ---- lifetime ----------------------------------------------------------------------------- */

int pyprof_new(struct pyprof **ret)
{
	struct pyprof *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

struct pyprof *pyprof_free(struct pyprof *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->nfuncs; i++)
		free(p->funcs[i].pattern), free(p->funcs[i].file_pat), free(p->funcs[i].name_pat);
	free(p->funcs);
	for (size_t i = 0; i < p->nframes; i++)
		free(p->frames[i].name), free(p->frames[i].qualname), free(p->frames[i].filename),
			free(p->frames[i].label);
	free(p->frames);
	free(p->frame_slots);
	free(p->threads);
	for (size_t i = 0; i < p->nstacks; i++)
		free(p->stacks[i].ids);
	free(p->stacks);
	free(p->stack_slots);
	free(p);
	return NULL;
}
