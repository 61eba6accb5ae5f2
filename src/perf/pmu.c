/* The PMUs under <sysfs>/bus/event_source/devices: type, format fields, named events
 * (with .unit and .scale), cpumask; and where tracefs keeps the tracepoints. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "perf/perf.h"
#include "util/dirs.h"
#include "util/strbuf.h"

/* Reads a small sysfs file into buf (NUL-terminated, trailing newline dropped). */
static int read_small(int dirfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	ssize_t n = read(fd, buf, size - 1);
	int r = n < 0 ? neg_errno() : 0;
	close(fd);
	if (r < 0)
		return r;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static int cmp_field(const void *a, const void *b)
{
	return strcmp(((const struct pmu_field *)a)->name, ((const struct pmu_field *)b)->name);
}

static int cmp_alias(const void *a, const void *b)
{
	return strcmp(((const struct pmu_alias *)a)->name, ((const struct pmu_alias *)b)->name);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a > b && !strcmp(s + a - b, suffix);
}

static int load_formats(struct pmu *p, int pmufd)
{
	DIR *d;
	if (opendir_at(pmufd, "format", &d) < 0)
		return 0;
	int fd = dirfd(d);
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d))) {
		char buf[256];
		struct pmu_format f;
		if (e->d_name[0] == '.' || read_small(fd, e->d_name, buf, sizeof(buf)) < 0 ||
		    pmu_format_parse(buf, &f) < 0)
			continue; /* a field we cannot use is left out, not fatal */
		struct pmu_field *n = realloc(p->fields, (p->nfields + 1) * sizeof(*n));
		char *name = strdup(e->d_name);
		if (!n || !name) {
			free(name);
			if (n)
				p->fields = n;
			r = -ENOMEM;
			break;
		}
		p->fields = n;
		p->fields[p->nfields++] = (struct pmu_field){ name, f };
	}
	closedir(d);
	if (p->nfields)
		qsort(p->fields, p->nfields, sizeof(*p->fields), cmp_field);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < p->nfields; i++) {
		const struct pmu_format *f = &p->fields[i].f;
		static const char *const words[] = { "config", "config1", "config2" };
		sb_addf(&sb, "%s%s=%s:", i ? "," : "", p->fields[i].name, words[f->word]);
		for (unsigned k = 0; k < f->nranges; k++) {
			if (f->r[k].lo == f->r[k].hi)
				sb_addf(&sb, "%s%u", k ? "+" : "", f->r[k].lo);
			else
				sb_addf(&sb, "%s%u-%u", k ? "+" : "", f->r[k].lo, f->r[k].hi);
		}
	}
	p->formats_str = strdup(sb_str(&sb));
	sb_free(&sb);
	return p->formats_str ? r : -ENOMEM;
}

static int load_aliases(struct pmu *p, int pmufd)
{
	DIR *d;
	if (opendir_at(pmufd, "events", &d) < 0)
		return 0;
	int fd = dirfd(d);
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d))) {
		const char *nm = e->d_name;
		char buf[512];
		if (nm[0] == '.' || has_suffix(nm, ".unit") || has_suffix(nm, ".scale") ||
		    has_suffix(nm, ".per-pkg") || has_suffix(nm, ".snapshot"))
			continue;
		if (read_small(fd, nm, buf, sizeof(buf)) < 0)
			continue;
		struct pmu_alias a = { .scale = 1.0 };
		char path[300], extra[64];
		snprintf(path, sizeof(path), "%s.scale", nm);
		if (read_small(fd, path, extra, sizeof(extra)) == 0) {
			char *end;
			double s = strtod(extra, &end);
			if (end != extra && s > 0)
				a.scale = s;
		}
		snprintf(path, sizeof(path), "%s.unit", nm);
		if (read_small(fd, path, extra, sizeof(extra)) == 0 && extra[0])
			a.unit = strdup(extra);
		a.name = strdup(nm);
		a.terms = strdup(buf);
		struct pmu_alias *n = realloc(p->aliases, (p->naliases + 1) * sizeof(*n));
		if (!n || !a.name || !a.terms) {
			free(a.name);
			free(a.terms);
			free(a.unit);
			if (n)
				p->aliases = n;
			r = -ENOMEM;
			break;
		}
		p->aliases = n;
		p->aliases[p->naliases++] = a;
	}
	closedir(d);
	if (p->naliases)
		qsort(p->aliases, p->naliases, sizeof(*p->aliases), cmp_alias);
	return r;
}

static int cmp_pmu(const void *a, const void *b)
{
	return strcmp(((const struct pmu *)a)->name, ((const struct pmu *)b)->name);
}

int pmus_load(struct pk_ctx *ctx)
{
	if (ctx->pmus_loaded)
		return ctx->pmus_error;
	ctx->pmus_loaded = true;
	char path[PK_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/bus/event_source/devices", ctx->sysfs);
	DIR *d;
	int r = opendir_at(AT_FDCWD, path, &d);
	if (r < 0)
		return ctx->pmus_error = ctx_err(ctx, r, "cannot read %s: %s", path, strerror(-r));
	int dfd = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int pfd = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			continue;
		char buf[4096];
		char *end;
		unsigned long type;
		if (read_small(pfd, "type", buf, sizeof(buf)) < 0 ||
		    (type = strtoul(buf, &end, 10), end == buf || *end || type > UINT32_MAX)) {
			close(pfd);
			continue;
		}
		struct pmu *n = realloc(ctx->pmus, (ctx->npmus + 1) * sizeof(*n));
		if (!n) {
			close(pfd);
			r = -ENOMEM;
			break;
		}
		ctx->pmus = n;
		struct pmu *p = &ctx->pmus[ctx->npmus++];
		*p = (struct pmu){ .type = (uint32_t)type };
		p->name = strdup(e->d_name);
		if (read_small(pfd, "cpumask", buf, sizeof(buf)) < 0 &&
		    read_small(pfd, "cpus", buf, sizeof(buf)) < 0)
			buf[0] = '\0';
		p->cpumask = strdup(buf);
		int r1 = load_formats(p, pfd), r2 = load_aliases(p, pfd);
		close(pfd);
		if (!p->name || !p->cpumask || r1 < 0 || r2 < 0) {
			r = -ENOMEM;
			break;
		}
	}
	closedir(d);
	if (ctx->npmus)
		qsort(ctx->pmus, ctx->npmus, sizeof(*ctx->pmus), cmp_pmu);
	return ctx->pmus_error = r;
}

const struct pmu *pmu_find(struct pk_ctx *ctx, const char *name)
{
	if (pmus_load(ctx) < 0)
		return NULL;
	for (size_t i = 0; i < ctx->npmus; i++)
		if (!strcmp(ctx->pmus[i].name, name))
			return &ctx->pmus[i];
	return NULL;
}

bool pmus_have_cpu(struct pk_ctx *ctx)
{
	if (pmus_load(ctx) < 0)
		return false;
	for (size_t i = 0; i < ctx->npmus; i++) {
		const char *n = ctx->pmus[i].name;
		if (ctx->pmus[i].type == PERF_TYPE_RAW || !strcmp(n, "cpu") ||
		    !strncmp(n, "cpu_", 4) || !strncmp(n, "armv", 4) || !strncmp(n, "arm_", 4))
			return true;
	}
	return false;
}

static bool has_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *e;
	bool any = false;
	while (!any && (e = readdir(d)))
		any = e->d_name[0] != '.';
	closedir(d);
	return any;
}

int tracefs_events_dir(struct pk_ctx *ctx, const char **ret)
{
	if (ctx->tracefs[0]) {
		*ret = ctx->tracefs;
		return 0;
	}
	static const char *const where[] = { "kernel/tracing/events", "kernel/debug/tracing/events" };
	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		char path[PK_PATH_MAX + 64];
		snprintf(path, sizeof(path), "%s/%s", ctx->sysfs, where[i]);
		if (strlen(path) < sizeof(ctx->tracefs) && has_entries(path)) {
			snprintf(ctx->tracefs, sizeof(ctx->tracefs), "%s", path);
			*ret = ctx->tracefs;
			return 0;
		}
	}
	return ctx_err(ctx, -ENOENT, "tracefs is not mounted (as root: mount -t tracefs nodev "
		       "%s/kernel/tracing)", ctx->sysfs);
}
