/* The event catalogue: perf's generic hardware, cache and software events, the PMUs'
 * sysfs events and formats, raw codes, tracepoints and libpfm4's native names; resolving
 * one event term to a perf_event_attr, and suggesting close names for a typo. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "perf/native.h"
#include "perf/perf.h"
#include "util/strbuf.h"

struct generic {
	const char *name;
	const char *aliases; /* comma-separated */
	const char *sym;     /* the PERF_COUNT_* name */
	uint32_t type;
	uint64_t config;
	bool kernel_side;
	const char *desc;
};

static const struct generic generics[] = {
	{ "cpu-cycles", "cycles", "PERF_COUNT_HW_CPU_CYCLES", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_CPU_CYCLES, false, "CPU cycles" },
	{ "instructions", "", "PERF_COUNT_HW_INSTRUCTIONS", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_INSTRUCTIONS, false, "instructions retired" },
	{ "cache-references", "", "PERF_COUNT_HW_CACHE_REFERENCES", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_CACHE_REFERENCES, false, "accesses to the last-level cache" },
	{ "cache-misses", "", "PERF_COUNT_HW_CACHE_MISSES", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_CACHE_MISSES, false, "last-level cache misses" },
	{ "branch-instructions", "branches", "PERF_COUNT_HW_BRANCH_INSTRUCTIONS",
	  PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, false, "branches retired" },
	{ "branch-misses", "", "PERF_COUNT_HW_BRANCH_MISSES", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_BRANCH_MISSES, false, "mispredicted branches" },
	{ "bus-cycles", "", "PERF_COUNT_HW_BUS_CYCLES", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_BUS_CYCLES, false, "bus cycles" },
	{ "stalled-cycles-frontend", "idle-cycles-frontend",
	  "PERF_COUNT_HW_STALLED_CYCLES_FRONTEND", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, false, "cycles the front end issued nothing" },
	{ "stalled-cycles-backend", "idle-cycles-backend", "PERF_COUNT_HW_STALLED_CYCLES_BACKEND",
	  PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND, false,
	  "cycles the back end retired nothing" },
	{ "ref-cycles", "", "PERF_COUNT_HW_REF_CPU_CYCLES", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_REF_CPU_CYCLES, false, "reference cycles (not scaled by frequency)" },

	{ "cpu-clock", "", "PERF_COUNT_SW_CPU_CLOCK", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK,
	  false, "CPU time, per-CPU clock (ns)" },
	{ "task-clock", "", "PERF_COUNT_SW_TASK_CLOCK", PERF_TYPE_SOFTWARE,
	  PERF_COUNT_SW_TASK_CLOCK, false, "CPU time of the task (ns)" },
	{ "page-faults", "faults", "PERF_COUNT_SW_PAGE_FAULTS", PERF_TYPE_SOFTWARE,
	  PERF_COUNT_SW_PAGE_FAULTS, false, "page faults" },
	{ "context-switches", "cs", "PERF_COUNT_SW_CONTEXT_SWITCHES", PERF_TYPE_SOFTWARE,
	  PERF_COUNT_SW_CONTEXT_SWITCHES, true, "context switches" },
	{ "cpu-migrations", "migrations", "PERF_COUNT_SW_CPU_MIGRATIONS", PERF_TYPE_SOFTWARE,
	  PERF_COUNT_SW_CPU_MIGRATIONS, true, "moves of the task to another CPU" },
	{ "minor-faults", "", "PERF_COUNT_SW_PAGE_FAULTS_MIN", PERF_TYPE_SOFTWARE,
	  PERF_COUNT_SW_PAGE_FAULTS_MIN, false, "page faults served without I/O" },
	{ "major-faults", "", "PERF_COUNT_SW_PAGE_FAULTS_MAJ", PERF_TYPE_SOFTWARE,
	  PERF_COUNT_SW_PAGE_FAULTS_MAJ, false, "page faults that needed I/O" },
	{ "alignment-faults", "", "PERF_COUNT_SW_ALIGNMENT_FAULTS", PERF_TYPE_SOFTWARE,
	  PERF_COUNT_SW_ALIGNMENT_FAULTS, false, "unaligned accesses fixed up by the kernel" },
	{ "emulation-faults", "", "PERF_COUNT_SW_EMULATION_FAULTS", PERF_TYPE_SOFTWARE,
	  PERF_COUNT_SW_EMULATION_FAULTS, false, "instructions emulated by the kernel" },
	{ "dummy", "", "PERF_COUNT_SW_DUMMY", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY, false,
	  "counts nothing (a placeholder)" },
	{ "bpf-output", "", "PERF_COUNT_SW_BPF_OUTPUT", PERF_TYPE_SOFTWARE,
	  PERF_COUNT_SW_BPF_OUTPUT, true, "output of BPF programs" },
	{ "cgroup-switches", "", "PERF_COUNT_SW_CGROUP_SWITCHES", PERF_TYPE_SOFTWARE, 11, true,
	  "context switches to a task in another cgroup" },
};

/* The generic cache events: L1-dcache-load-misses is L1D | READ << 8 | MISS << 16. */
static const struct {
	const char *name, *sym;
	unsigned ops; /* bit per op that exists: 1 read, 2 write, 4 prefetch */
} caches[] = {
	{ "L1-dcache", "L1D", 7 }, { "L1-icache", "L1I", 5 }, { "LLC", "LL", 7 },
	{ "dTLB", "DTLB", 7 },     { "iTLB", "ITLB", 1 },     { "branch", "BPU", 1 },
	{ "node", "NODE", 7 },
};
static const struct {
	const char *access, *miss, *sym;
} cache_ops[] = {
	{ "loads", "load-misses", "READ" },
	{ "stores", "store-misses", "WRITE" },
	{ "prefetches", "prefetch-misses", "PREFETCH" },
};

PK_EXPORT const char *pk_event_kind_name(enum pk_event_kind kind)
{
	static const char *const names[] = { "hardware", "cache", "software", "tracepoint",
					     "pmu", "raw", "native" };
	return (unsigned)kind < ARRAY_SIZE(names) ? names[kind] : "?";
}

static bool name_in_list(const char *name, const char *list)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == n && !strncasecmp(p, name, n))
			return true;
		p += l + (c ? 1 : 0);
	}
	return false;
}

static const struct generic *find_generic(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(generics); i++) {
		const struct generic *g = &generics[i];
		if (!strcasecmp(g->name, name) || !strcasecmp(g->sym, name) ||
		    name_in_list(name, g->aliases))
			return g;
	}
	return NULL;
}

/* "L1-dcache-load-misses" or "PERF_COUNT_HW_CACHE_L1D:READ:MISS"; the config or -1. */
static int64_t find_cache(const char *name, char *canon, size_t size)
{
	for (size_t c = 0; c < ARRAY_SIZE(caches); c++) {
		for (size_t o = 0; o < ARRAY_SIZE(cache_ops); o++) {
			if (!(caches[c].ops & (1u << o)))
				continue;
			for (int miss = 0; miss < 2; miss++) {
				char n1[64], n2[80];
				snprintf(n1, sizeof(n1), "%s-%s", caches[c].name,
					 miss ? cache_ops[o].miss : cache_ops[o].access);
				snprintf(n2, sizeof(n2), "PERF_COUNT_HW_CACHE_%s:%s:%s", caches[c].sym,
					 cache_ops[o].sym, miss ? "MISS" : "ACCESS");
				if (!strcasecmp(name, n1) || !strcasecmp(name, n2)) {
					snprintf(canon, size, "%s", n1);
					return (int64_t)(c | (o << 8) | ((unsigned)miss << 16));
				}
			}
		}
	}
	return -1;
}

size_t generic_names(const char ***ret)
{
	static const char *names[ARRAY_SIZE(generics)];
	for (size_t i = 0; i < ARRAY_SIZE(generics); i++)
		names[i] = generics[i].name;
	*ret = names;
	return ARRAY_SIZE(generics);
}

/* ---- the modifiers ---------------------------------------------------------------- */

void attr_apply_mods(struct perf_event_attr *attr, const struct spec_mods *m, bool kernel_side)
{
	if (m->u || m->k || m->h) {
		attr->exclude_user = !m->u;
		attr->exclude_kernel = !m->k;
		attr->exclude_hv = !m->h;
	} else {
		attr->exclude_user = 0;
		attr->exclude_kernel = !kernel_side;
		attr->exclude_hv = 1;
	}
	attr->exclude_host = m->G;
	attr->exclude_guest = m->H;
	attr->exclude_idle = m->I;
	attr->pinned = m->D;
	attr->exclusive = m->e;
	attr->precise_ip = m->p;
}

/* ---- resolving -------------------------------------------------------------------- */

void resolved_free(struct resolved *r)
{
	free(r->event);
	r->event = NULL;
}

static void attr_init(struct perf_event_attr *attr, uint32_t type, uint64_t config)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->type = type;
	attr->config = config;
}

/* Applies terms to attr through the PMU's format fields. */
static int apply_terms(struct pk_ctx *ctx, const struct pmu *p, const struct pmu_terms *t,
		       struct perf_event_attr *attr, const char *what)
{
	uint64_t cfg[PMU_CONFIG_WORDS] = { attr->config, attr->config1, attr->config2 };
	for (size_t i = 0; i < t->n; i++) {
		const char *key = t->t[i].key, *val = t->t[i].val;
		uint64_t v = 1;
		if (!strcmp(key, "name"))
			continue;
		if (val && !strcmp(val, "?"))
			return ctx_err(ctx, -EINVAL, "%s: term '%s' needs a value (%s/%s=N/)", what, key,
				       p->name, key);
		if (val && pmu_parse_u64(val, &v) < 0)
			return ctx_err(ctx, -EINVAL, "%s: '%s=%s': the value must be a number "
				       "(decimal or 0x hex)", what, key, val);
		if (!strcmp(key, "config") || !strcmp(key, "config1") || !strcmp(key, "config2")) {
			cfg[key[6] ? key[6] - '0' : 0] = v;
			continue;
		}
		if (!strcmp(key, "period")) {
			attr->sample_period = v;
			continue;
		}
		const struct pmu_field *f = NULL;
		for (size_t k = 0; k < p->nfields; k++)
			if (!strcmp(p->fields[k].name, key))
				f = &p->fields[k];
		if (!f)
			return ctx_err(ctx, -EINVAL, "%s: PMU '%s' has no term '%s' (its terms: %s)",
				       what, p->name, key, p->formats_str && *p->formats_str
				       ? p->formats_str : "none; use config=");
		if (pmu_format_apply(&f->f, v, cfg) < 0)
			return ctx_err(ctx, -ERANGE, "%s: '%s=%s' does not fit in the field's %u bits",
				       what, key, val ? val : "1", pmu_format_width(&f->f));
	}
	attr->config = cfg[0];
	attr->config1 = cfg[1];
	attr->config2 = cfg[2];
	return 0;
}

static int first_cpu(const char *mask)
{
	if (!mask || !isdigit((unsigned char)mask[0]))
		return -1;
	return atoi(mask);
}

static const struct pmu_alias *find_alias(const struct pmu *p, const char *name)
{
	for (size_t i = 0; i < p->naliases; i++)
		if (!strcasecmp(p->aliases[i].name, name))
			return &p->aliases[i];
	return NULL;
}

/* A sysfs alias of p, as pmu/name/. */
static int resolve_alias(struct pk_ctx *ctx, const struct pmu *p, const struct pmu_alias *a,
			 const struct pmu_terms *extra, struct resolved *ret)
{
	struct pmu_terms t;
	char what[256];
	snprintf(what, sizeof(what), "%s/%s/", p->name, a->name);
	if (pmu_terms_parse(a->terms, strlen(a->terms), &t) < 0)
		return ctx_err(ctx, -EINVAL, "%s: cannot parse its sysfs definition '%s'", what,
			       a->terms);
	attr_init(&ret->attr, p->type, 0);
	int r = apply_terms(ctx, p, &t, &ret->attr, what);
	pmu_terms_free(&t);
	if (r == 0 && extra)
		r = apply_terms(ctx, p, extra, &ret->attr, what);
	if (r < 0)
		return r;
	ret->kind = PK_EVENT_PMU;
	ret->scale = a->scale;
	snprintf(ret->unit, sizeof(ret->unit), "%s", a->unit ? a->unit : "");
	ret->cpu_hint = first_cpu(p->cpumask);
	ret->event = strdup(what);
	return ret->event ? 0 : -ENOMEM;
}

static int resolve_pmu_form(struct pk_ctx *ctx, const struct spec_event *ev,
			    struct resolved *ret)
{
	const struct pmu *p = pmu_find(ctx, ev->name);
	if (!p)
		return ctx_err(ctx, -PK_E_UNKNOWN_EVENT, "unknown PMU '%s' in '%s' (see 'profkit "
			       "list --pmus')", ev->name, ev->text);
	/* pmu/alias/ or pmu/alias,term=v/: the first bare term may name a sysfs event. */
	if (ev->terms.n && !ev->terms.t[0].val) {
		const struct pmu_alias *a = find_alias(p, ev->terms.t[0].key);
		if (a) {
			struct pmu_terms rest = { ev->terms.t + 1, ev->terms.n - 1 };
			return resolve_alias(ctx, p, a, &rest, ret);
		}
		if (ev->terms.n == 1 && !p->nfields)
			return ctx_err(ctx, -PK_E_UNKNOWN_EVENT, "PMU '%s' has no event '%s' (see "
				       "'profkit list %s')", p->name, ev->terms.t[0].key, p->name);
	}
	attr_init(&ret->attr, p->type, 0);
	int r = apply_terms(ctx, p, &ev->terms, &ret->attr, ev->text);
	if (r < 0)
		return r;
	ret->kind = PK_EVENT_PMU;
	ret->scale = 1;
	ret->cpu_hint = first_cpu(p->cpumask);
	/* The canonical name is the text up to the closing slash. */
	const char *close = strchr(strchr(ev->text, '/') + 1, '/');
	ret->event = strndup(ev->text, (size_t)(close - ev->text) + 1);
	return ret->event ? 0 : -ENOMEM;
}

static bool is_raw(const char *name, uint64_t *ret)
{
	if (name[0] != 'r' || !name[1] || strlen(name) > 17)
		return false;
	const char *h = name + 1;
	if (h[0] == '0' && h[1] == 'x')
		h += 2;
	if (!*h || strspn(h, "0123456789abcdefABCDEF") != strlen(h))
		return false;
	*ret = strtoull(h, NULL, 16);
	return true;
}

static int read_id(const char *path, uint64_t *ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	char buf[32];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	char *end;
	unsigned long long v = strtoull(buf, &end, 10);
	if (end == buf)
		return -EIO;
	*ret = v;
	return 0;
}

static bool valid_tp_part(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

/* sys:name from tracefs; -ENOENT when there is no such tracepoint, -ENODEV when tracefs
 * is not there. */
static int resolve_tracepoint(struct pk_ctx *ctx, const char *name, struct resolved *ret)
{
	const char *colon = strchr(name, ':');
	if (!colon || strchr(colon + 1, ':') || !valid_tp_part(name, (size_t)(colon - name)) ||
	    !valid_tp_part(colon + 1, strlen(colon + 1)))
		return -ENOENT;
	const char *dir;
	if (tracefs_events_dir(ctx, &dir) < 0)
		return -ENODEV;
	char path[PK_PATH_MAX + 300];
	int r;
	snprintf(path, sizeof(path), "%s/%.*s/%s/id", dir, (int)(colon - name), name, colon + 1);
	uint64_t id;
	r = read_id(path, &id);
	if (r == -EACCES || r == -EPERM)
		return ctx_err(ctx, r, "cannot read tracepoint '%s': permission denied on %s "
			       "(tracefs is readable by root only)", name, path);
	if (r < 0)
		return -ENOENT;
	attr_init(&ret->attr, PERF_TYPE_TRACEPOINT, id);
	ret->kind = PK_EVENT_TRACEPOINT;
	ret->kernel_side = true;
	ret->scale = 1;
	ret->event = strdup(name);
	return ret->event ? 0 : -ENOMEM;
}

/* ---- suggestions -------------------------------------------------------------------- */

unsigned edit_distance(const char *a, const char *b, unsigned cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 128 || lb > 128)
		return cap + 1;
	unsigned row[129];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned prev = row[0], best = (unsigned)i;
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cur = row[j];
			unsigned sub = prev + (tolower((unsigned char)a[i - 1]) !=
					       tolower((unsigned char)b[j - 1]));
			unsigned v = sub;
			if (row[j] + 1 < v)
				v = row[j] + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			prev = cur;
			if (v < best)
				best = v;
		}
		if (best > cap)
			return cap + 1;
	}
	return row[lb];
}

struct suggest {
	const char *typo;
	unsigned cap;
	struct {
		char name[96];
		unsigned d;
	} best[3];
};

static void consider(struct suggest *s, const char *name)
{
	unsigned d = edit_distance(s->typo, name, s->cap);
	/* A name that contains the typo whole is a good guess too ("fault" -> "page-faults"). */
	if (d > s->cap && strlen(s->typo) >= 4 && strcasestr(name, s->typo))
		d = s->cap;
	if (d > s->cap)
		return;
	for (int i = 0; i < 3; i++)
		if (!strcmp(s->best[i].name, name))
			return;
	for (int i = 0; i < 3; i++) {
		if (s->best[i].name[0] && s->best[i].d <= d)
			continue;
		for (int k = 2; k > i; k--)
			s->best[k] = s->best[k - 1];
		snprintf(s->best[i].name, sizeof(s->best[i].name), "%s", name);
		s->best[i].d = d;
		return;
	}
}

static int consider_entry(void *ud, struct event_entry *e)
{
	struct suggest *s = ud;
	consider(s, e->name);
	for (const char *p = e->aliases; *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char one[96];
		snprintf(one, sizeof(one), "%.*s", (int)(l < 95 ? l : 95), p);
		consider(s, one);
		p += l + (c ? 1 : 0);
	}
	return 0;
}

static int unknown_event(struct pk_ctx *ctx, const char *name)
{
	struct suggest s = { .typo = name };
	size_t l = strlen(name);
	s.cap = l <= 4 ? 1 : l <= 8 ? 2 : 3;
	catalogue_each(ctx, consider_entry, &s);
	for (size_t i = 0; i < ARRAY_SIZE(generics); i++)
		consider(&s, generics[i].sym);
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 3 && s.best[i].name[0]; i++)
		sb_addf(&sb, "%s'%s'", i ? ", " : "", s.best[i].name);
	int r;
	if (sb.len)
		r = ctx_err(ctx, -PK_E_UNKNOWN_EVENT, "unknown event '%s' (did you mean %s?)", name,
			    sb_str(&sb));
	else
		r = ctx_err(ctx, -PK_E_UNKNOWN_EVENT, "unknown event '%s' (see 'profkit list')",
			    name);
	sb_free(&sb);
	return r;
}

int event_resolve(struct pk_ctx *ctx, const struct spec_event *ev, struct resolved *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->cpu_hint = -1;
	ret->scale = 1;
	if (ev->pmu_form)
		return resolve_pmu_form(ctx, ev, ret);

	const char *name = ev->name;
	const struct generic *g = find_generic(name);
	if (g) {
		attr_init(&ret->attr, g->type, g->config);
		ret->kind = g->type == PERF_TYPE_HARDWARE ? PK_EVENT_HARDWARE : PK_EVENT_SOFTWARE;
		ret->kernel_side = g->kernel_side;
		if (g->type == PERF_TYPE_SOFTWARE && (g->config == PERF_COUNT_SW_CPU_CLOCK ||
						      g->config == PERF_COUNT_SW_TASK_CLOCK)) {
			snprintf(ret->unit, sizeof(ret->unit), "msec");
			ret->scale = 1e-6;
		}
		ret->event = strdup(g->name);
		return ret->event ? 0 : -ENOMEM;
	}
	char canon[64];
	int64_t cache = find_cache(name, canon, sizeof(canon));
	if (cache >= 0) {
		attr_init(&ret->attr, PERF_TYPE_HW_CACHE, (uint64_t)cache);
		ret->kind = PK_EVENT_CACHE;
		ret->event = strdup(canon);
		return ret->event ? 0 : -ENOMEM;
	}
	uint64_t raw;
	if (is_raw(name, &raw)) {
		attr_init(&ret->attr, PERF_TYPE_RAW, raw);
		ret->kind = PK_EVENT_RAW;
		ret->event = strdup(name);
		return ret->event ? 0 : -ENOMEM;
	}
	bool tracefs_missing = false;
	if (strchr(name, ':') && !strstr(name, "::")) {
		int r = resolve_tracepoint(ctx, name, ret);
		if (r == 0 || (r < 0 && r != -ENOENT && r != -ENODEV))
			return r;
		tracefs_missing = r == -ENODEV;
	}
	/* A PMU's sysfs event by its bare name, when one PMU has it. */
	if (pmus_load(ctx) == 0) {
		const struct pmu *found = NULL;
		const struct pmu_alias *fa = NULL;
		for (size_t i = 0; i < ctx->npmus; i++) {
			const struct pmu_alias *a = find_alias(&ctx->pmus[i], name);
			if (!a)
				continue;
			if (found)
				return ctx_err(ctx, -PK_E_UNKNOWN_EVENT, "event '%s' is ambiguous: PMUs "
					       "'%s' and '%s' both have it (write %s/%s/)", name,
					       found->name, ctx->pmus[i].name, found->name, name);
			found = &ctx->pmus[i];
			fa = a;
		}
		if (found)
			return resolve_alias(ctx, found, fa, NULL, ret);
	}
	struct native_code code;
	char *canon_native = NULL;
	int r = native_resolve(name, &code, &canon_native);
	if (r == 0) {
		attr_init(&ret->attr, code.type, code.config);
		ret->attr.config1 = code.config1;
		ret->attr.config2 = code.config2;
		ret->kind = code.type == PERF_TYPE_SOFTWARE ? PK_EVENT_SOFTWARE
			  : code.type == PERF_TYPE_HARDWARE ? PK_EVENT_HARDWARE
			  : code.type == PERF_TYPE_HW_CACHE ? PK_EVENT_CACHE
							    : PK_EVENT_NATIVE;
		if (code.type == PERF_TYPE_SOFTWARE &&
		    (code.config == PERF_COUNT_SW_CONTEXT_SWITCHES ||
		     code.config == PERF_COUNT_SW_CPU_MIGRATIONS))
			ret->kernel_side = true;
		if (code.type == PERF_TYPE_SOFTWARE && code.config <= PERF_COUNT_SW_TASK_CLOCK) {
			snprintf(ret->unit, sizeof(ret->unit), "msec");
			ret->scale = 1e-6;
		}
		free(canon_native);
		ret->event = strdup(name);
		return ret->event ? 0 : -ENOMEM;
	}
	if (r == -ENOMEM)
		return r;
	if (tracefs_missing) {
		const char *dir;
		return tracefs_events_dir(ctx, &dir);
	}
	return unknown_event(ctx, name);
}

/* ---- the catalogue -------------------------------------------------------------------- */

static int emit(int (*fn)(void *, struct event_entry *), void *ud, const char *name,
		const char *aliases, const char *pmu, const char *desc, enum pk_event_kind kind,
		const struct perf_event_attr *attr, bool kernel_side, int cpu_hint)
{
	char enc[160];
	int n = snprintf(enc, sizeof(enc), "type=%u,config=%#llx", attr->type,
			 (unsigned long long)attr->config);
	if (attr->config1 && n > 0 && (size_t)n < sizeof(enc))
		n += snprintf(enc + n, sizeof(enc) - (size_t)n, ",config1=%#llx",
			      (unsigned long long)attr->config1);
	if (attr->config2 && n > 0 && (size_t)n < sizeof(enc))
		snprintf(enc + n, sizeof(enc) - (size_t)n, ",config2=%#llx",
			 (unsigned long long)attr->config2);
	struct event_entry e = {
		.name = (char *)name, .aliases = (char *)aliases, .pmu = (char *)pmu,
		.desc = (char *)desc, .encoding = enc, .kind = kind, .type = attr->type,
		.config = attr->config, .attr = *attr, .kernel_side = kernel_side,
		.cpu_hint = cpu_hint,
	};
	return fn(ud, &e);
}

struct native_fwd {
	int (*fn)(void *, struct event_entry *);
	void *ud;
};

static int native_entry(void *ud, const char *name, const char *pmu, const char *desc,
			const struct native_code *code)
{
	struct native_fwd *f = ud;
	struct perf_event_attr attr;
	attr_init(&attr, code->type, code->config);
	attr.config1 = code->config1;
	attr.config2 = code->config2;
	return emit(f->fn, f->ud, name, "", pmu, desc, PK_EVENT_NATIVE, &attr, false, -1);
}

static int tracepoints_each(struct pk_ctx *ctx, int (*fn)(void *, struct event_entry *),
			    void *ud)
{
	const char *dir;
	char saved[sizeof(ctx->err)];
	snprintf(saved, sizeof(saved), "%s", ctx->err);
	if (tracefs_events_dir(ctx, &dir) < 0) {
		snprintf(ctx->err, sizeof(ctx->err), "%s", saved);
		return 0; /* no tracefs: no tracepoints to list */
	}
	struct dirent **subs = NULL;
	int ns = scandir(dir, &subs, NULL, alphasort);
	int r = 0;
	for (int i = 0; i < ns; i++) {
		const char *sys = subs[i]->d_name;
		char path[PK_PATH_MAX + 600];
		struct dirent **evs = NULL;
		int ne = -1;
		if (sys[0] != '.' && strcmp(sys, "ftrace") != 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, sys);
			ne = scandir(path, &evs, NULL, alphasort);
		}
		for (int k = 0; k < ne; k++) {
			const char *ev = evs[k]->d_name;
			uint64_t id;
			snprintf(path, sizeof(path), "%s/%s/%s/id", dir, sys, ev);
			if (!r && ev[0] != '.' && read_id(path, &id) == 0) {
				char name[600];
				snprintf(name, sizeof(name), "%s:%s", sys, ev);
				struct perf_event_attr attr;
				attr_init(&attr, PERF_TYPE_TRACEPOINT, id);
				r = emit(fn, ud, name, "", "tracepoint", "", PK_EVENT_TRACEPOINT, &attr,
					 true, -1);
			}
			free(evs[k]);
		}
		free(evs);
		free(subs[i]);
	}
	free(subs);
	return r;
}

int catalogue_each(struct pk_ctx *ctx, int (*fn)(void *ud, struct event_entry *e), void *ud)
{
	int r;
	struct perf_event_attr attr;
	for (size_t i = 0; i < ARRAY_SIZE(generics); i++) {
		const struct generic *g = &generics[i];
		char aliases[160];
		snprintf(aliases, sizeof(aliases), "%s%s%s", g->aliases, g->aliases[0] ? "," : "",
			 g->sym);
		attr_init(&attr, g->type, g->config);
		r = emit(fn, ud, g->name, aliases, g->type == PERF_TYPE_HARDWARE ? "cpu" : "software",
			 g->desc, g->type == PERF_TYPE_HARDWARE ? PK_EVENT_HARDWARE : PK_EVENT_SOFTWARE,
			 &attr, g->kernel_side, -1);
		if (r)
			return r;
	}
	for (size_t c = 0; c < ARRAY_SIZE(caches); c++)
		for (size_t o = 0; o < ARRAY_SIZE(cache_ops); o++) {
			if (!(caches[c].ops & (1u << o)))
				continue;
			for (int miss = 0; miss < 2; miss++) {
				char name[64], alias[80], desc[96];
				snprintf(name, sizeof(name), "%s-%s", caches[c].name,
					 miss ? cache_ops[o].miss : cache_ops[o].access);
				snprintf(alias, sizeof(alias), "PERF_COUNT_HW_CACHE_%s:%s:%s",
					 caches[c].sym, cache_ops[o].sym, miss ? "MISS" : "ACCESS");
				snprintf(desc, sizeof(desc), "%s %s of the %s", miss ? "misses" : "accesses",
					 o == 0 ? "reading" : o == 1 ? "writing" : "prefetching",
					 caches[c].name);
				attr_init(&attr, PERF_TYPE_HW_CACHE, c | (o << 8) | ((unsigned)miss << 16));
				if ((r = emit(fn, ud, name, alias, "cpu", desc, PK_EVENT_CACHE, &attr, false,
					      -1)))
					return r;
			}
		}
	attr_init(&attr, PERF_TYPE_RAW, 0);
	if ((r = emit(fn, ud, "rNNNN", "", "cpu", "a raw event code of the CPU's PMU (hex)",
		      PK_EVENT_RAW, &attr, false, -1)))
		return r;
	if (pmus_load(ctx) == 0) {
		for (size_t i = 0; i < ctx->npmus; i++) {
			const struct pmu *p = &ctx->pmus[i];
			for (size_t k = 0; k < p->naliases; k++) {
				struct resolved res;
				char name[300];
				memset(&res, 0, sizeof(res));
				snprintf(name, sizeof(name), "%s/%s/", p->name, p->aliases[k].name);
				if (resolve_alias(ctx, p, &p->aliases[k], NULL, &res) < 0) {
					resolved_free(&res);
					continue;
				}
				r = emit(fn, ud, name, p->aliases[k].name, p->name, p->aliases[k].terms,
					 PK_EVENT_PMU, &res.attr, false, res.cpu_hint);
				resolved_free(&res);
				if (r)
					return r;
			}
		}
	}
	if ((r = tracepoints_each(ctx, fn, ud)))
		return r;
	struct native_fwd f = { fn, ud };
	return native_each(native_entry, &f);
}
