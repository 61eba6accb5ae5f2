/* pk_event_list and pk_pmu_list: the catalogue as lists the caller can walk, with each
 * event probed (opened once, disabled, on the caller) when asked. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "perf/perf.h"

struct item {
	struct pk_event_info info;
	char *name, *aliases, *pmu, *desc, *encoding, *reason;
	struct perf_event_attr attr;
	bool kernel_side;
	int cpu_hint;
};

struct pk_event_list {
	struct item *items;
	size_t n;
};

struct collect {
	struct pk_event_list *l;
	const char *pattern;
	int kind; /* -1 any */
	bool glob;
	int err;
};

static const struct {
	const char *word;
	enum pk_event_kind kind;
} kind_words[] = {
	{ "hw", PK_EVENT_HARDWARE },     { "hardware", PK_EVENT_HARDWARE },
	{ "cache", PK_EVENT_CACHE },     { "sw", PK_EVENT_SOFTWARE },
	{ "software", PK_EVENT_SOFTWARE }, { "tracepoint", PK_EVENT_TRACEPOINT },
	{ "tracepoints", PK_EVENT_TRACEPOINT }, { "pmu", PK_EVENT_PMU },
	{ "raw", PK_EVENT_RAW },         { "native", PK_EVENT_NATIVE },
};

static bool matches(const struct collect *c, const struct event_entry *e)
{
	if (c->kind >= 0)
		return (int)e->kind == c->kind;
	if (!c->pattern || !*c->pattern)
		return true;
	const char *fields[] = { e->name, e->aliases, e->pmu };
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (c->glob ? fnmatch(c->pattern, fields[i], FNM_CASEFOLD) == 0
			    : strcasestr(fields[i], c->pattern) != NULL)
			return true;
	}
	return false;
}

static int collect_one(void *ud, struct event_entry *e)
{
	struct collect *c = ud;
	if (!matches(c, e))
		return 0;
	struct pk_event_list *l = c->l;
	struct item *n = realloc(l->items, (l->n + 1) * sizeof(*n));
	if (!n)
		return c->err = -ENOMEM;
	l->items = n;
	struct item *it = &l->items[l->n];
	memset(it, 0, sizeof(*it));
	it->name = strdup(e->name);
	it->aliases = strdup(e->aliases);
	it->pmu = strdup(e->pmu);
	it->desc = strdup(e->desc);
	it->encoding = strdup(e->encoding);
	it->reason = strdup("");
	if (!it->name || !it->aliases || !it->pmu || !it->desc || !it->encoding || !it->reason) {
		free(it->name);
		free(it->aliases);
		free(it->pmu);
		free(it->desc);
		free(it->encoding);
		free(it->reason);
		return c->err = -ENOMEM;
	}
	it->attr = e->attr;
	it->kernel_side = e->kernel_side;
	it->cpu_hint = e->cpu_hint;
	it->info = (struct pk_event_info){
		.kind = e->kind, .type = e->type, .config = e->config, .status = PK_STATUS_UNKNOWN,
	};
	l->n++;
	return 0;
}

static void sync_info(struct item *it)
{
	it->info.name = it->name;
	it->info.aliases = it->aliases;
	it->info.pmu = it->pmu;
	it->info.desc = it->desc;
	it->info.encoding = it->encoding;
	it->info.reason = it->reason;
}

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->info.kind != y->info.kind)
		return (int)x->info.kind - (int)y->info.kind;
	return strcmp(x->name, y->name);
}

/* Opens the event once on the caller (or its CPU for CPU-wide PMUs), disabled, with the
 * default modifiers, and the same fallback rules' first step for privilege. */
static void probe(struct pk_ctx *ctx, struct item *it)
{
	struct perf_event_attr attr = it->attr;
	struct spec_mods none = { 0 };
	attr_apply_mods(&attr, &none, it->kernel_side);
	attr.disabled = 1;
	pid_t pid = it->cpu_hint >= 0 ? -1 : 0;
	int cpu = it->cpu_hint;
	if (it->info.kind == PK_EVENT_RAW) /* any raw code tells whether raw events exist */
		attr.config = 0;
	int fd = perf_open(&attr, pid, cpu, -1, 0);
	if (fd < 0 && (errno_is_privilege(fd) || fd == -EINVAL) &&
	    (!attr.exclude_kernel || attr.exclude_user || attr.exclude_hv)) {
		/* as the counters would: user space only, or no filter for PMUs that have none */
		if (errno_is_privilege(fd)) {
			attr.exclude_kernel = 1;
		} else {
			attr.exclude_user = attr.exclude_kernel = attr.exclude_hv = 0;
		}
		fd = perf_open(&attr, pid, cpu, -1, 0);
	}
	if (fd >= 0) {
		close(fd);
		it->info.status = 0;
		return;
	}
	char why[256];
	open_reason(ctx, fd, it->info.kind, &attr, pid == -1, why, sizeof(why));
	char *r = strdup(why);
	if (r) {
		free(it->reason);
		it->reason = r;
	}
	it->info.status = open_status(fd);
}

PK_EXPORT int pk_event_list_new(struct pk_ctx *ctx, const char *pattern, unsigned flags,
				struct pk_event_list **ret)
{
	if (!ctx || !ret)
		return -EINVAL;
	ctx->err[0] = '\0';
	struct pk_event_list *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	struct collect c = { .l = l, .pattern = pattern, .kind = -1 };
	for (size_t i = 0; pattern && i < ARRAY_SIZE(kind_words); i++)
		if (!strcasecmp(pattern, kind_words[i].word))
			c.kind = (int)kind_words[i].kind;
	c.glob = pattern && strpbrk(pattern, "*?[");
	int r = catalogue_each(ctx, collect_one, &c);
	if (r == 0)
		r = c.err;
	if (r < 0) {
		pk_event_list_free(l);
		return ctx_err(ctx, r, "cannot list the events: %s", strerror(-r));
	}
	if (l->n)
		qsort(l->items, l->n, sizeof(*l->items), cmp_item);
	/* Opening a tracepoint for the first time patches kernel text (tens of ms each, a
	 * minute and more for all of them): beyond a few, one is opened and the others share
	 * its result, since they share one PMU and one permission rule. */
	size_t ntp = 0;
	for (size_t i = 0; i < l->n; i++)
		ntp += l->items[i].info.kind == PK_EVENT_TRACEPOINT;
	const struct item *tp_probed = NULL;
	for (size_t i = 0; i < l->n; i++) {
		struct item *it = &l->items[i];
		if (!(flags & PK_LIST_PROBE)) {
		} else if (it->info.kind == PK_EVENT_TRACEPOINT && ntp > 16 && tp_probed) {
			char *reason = strdup(tp_probed->reason);
			if (reason) {
				free(it->reason);
				it->reason = reason;
			}
			it->info.status = tp_probed->info.status;
		} else {
			probe(ctx, it);
			if (it->info.kind == PK_EVENT_TRACEPOINT)
				tp_probed = it;
		}
		sync_info(it);
	}
	*ret = l;
	return 0;
}

PK_EXPORT size_t pk_event_list_count(const struct pk_event_list *l) { return l ? l->n : 0; }

PK_EXPORT const struct pk_event_info *pk_event_list_get(const struct pk_event_list *l, size_t i)
{
	return l && i < l->n ? &l->items[i].info : NULL;
}

PK_EXPORT struct pk_event_list *pk_event_list_free(struct pk_event_list *l)
{
	if (!l)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		struct item *it = &l->items[i];
		free(it->name);
		free(it->aliases);
		free(it->pmu);
		free(it->desc);
		free(it->encoding);
		free(it->reason);
	}
	free(l->items);
	free(l);
	return NULL;
}

struct pk_pmu_list {
	struct pk_pmu_info *info;
	size_t n;
};

PK_EXPORT int pk_pmu_list_new(struct pk_ctx *ctx, struct pk_pmu_list **ret)
{
	if (!ctx || !ret)
		return -EINVAL;
	ctx->err[0] = '\0';
	int r = pmus_load(ctx);
	if (r < 0)
		return r;
	struct pk_pmu_list *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->info = calloc(ctx->npmus ? ctx->npmus : 1, sizeof(*l->info));
	if (!l->info) {
		free(l);
		return -ENOMEM;
	}
	/* The strings stay owned by the context, which outlives the list. */
	for (size_t i = 0; i < ctx->npmus; i++) {
		const struct pmu *p = &ctx->pmus[i];
		l->info[i] = (struct pk_pmu_info){ p->name, p->type, p->naliases,
						   p->formats_str ? p->formats_str : "", p->cpumask };
	}
	l->n = ctx->npmus;
	*ret = l;
	return 0;
}

PK_EXPORT size_t pk_pmu_list_count(const struct pk_pmu_list *l) { return l ? l->n : 0; }

PK_EXPORT const struct pk_pmu_info *pk_pmu_list_get(const struct pk_pmu_list *l, size_t i)
{
	return l && i < l->n ? &l->info[i] : NULL;
}

PK_EXPORT struct pk_pmu_list *pk_pmu_list_free(struct pk_pmu_list *l)
{
	if (l) {
		free(l->info);
		free(l);
	}
	return NULL;
}
