/* JIT maps: /tmp/perf-PID.map, written by JIT compilers (V8 --perf-basic-prof, the JVM
 * through perf-map-agent, CPython 3.12 -X perf, LuaJIT...), one "START SIZE name" line per
 * piece of generated code, START and SIZE in hex (an optional 0x accepted), the name the
 * rest of the line. Code can be regenerated at an address already listed: the later line
 * wins. */
#include "stack/symbolize_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util/parse.h"
#include "util/strpool.h"
#include "stack/profile.h"

#define OVERLAP_SCAN 16 /* entries looked at backwards for an overlapping, newer one */

struct jit_sym {
	uint64_t start, size;
	uint32_t name; /* offset in names */
	uint32_t seq;  /* line order: a later line replaces an earlier one */
};

struct perfmap {
	struct jit_sym *v;
	size_t n, cap;
	struct strpool names;
};

/* perf maps write addresses with or without "0x". */
static int parse_hex(const char **p, const char *end, uint64_t *ret)
{
	if (end - *p > 2 && (*p)[0] == '0' && ((*p)[1] == 'x' || (*p)[1] == 'X'))
		*p += 2;
	return parse_hex_span(p, end, ret);
}

static int parse_line(const char *s, const char *end, struct jit_sym *e, const char **name,
		      size_t *name_len)
{
	if (end > s && end[-1] == '\r')
		end--;
	if (parse_hex(&s, end, &e->start) < 0 || s == end || *s != ' ')
		return -EINVAL;
	while (s < end && *s == ' ')
		s++;
	if (parse_hex(&s, end, &e->size) < 0 || s == end || *s != ' ')
		return -EINVAL;
	s++;
	size_t n = (size_t)(end - s);
	if (n == 0 || memchr(s, '\0', n))
		return -EINVAL;
	*name = s;
	*name_len = n < STACK_MAX_NAME ? n : STACK_MAX_NAME;
	if (e->size > UINT64_MAX - e->start)
		e->size = UINT64_MAX - e->start;
	return 0;
}

static int add_entry(struct perfmap *m, struct jit_sym *e, const char *name, size_t len)
{
	if (m->n == UINT32_MAX)
		return -ENOMEM;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct jit_sym *v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	int r = strpool_add(&m->names, name, len, &e->name);
	if (r < 0)
		return r;
	e->seq = (uint32_t)m->n;
	m->v[m->n++] = *e;
	return 0;
}

static int cmp_jit(const void *pa, const void *pb)
{
	const struct jit_sym *a = pa, *b = pb;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sorted by start; of entries with one start, the last line's stays. */
static void finish(struct perfmap *m)
{
	if (m->n == 0)
		return;
	qsort(m->v, m->n, sizeof(*m->v), cmp_jit);
	size_t out = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (out > 0 && m->v[out - 1].start == m->v[i].start)
			out--;
		m->v[out++] = m->v[i];
	}
	m->n = out;
}

static int parse(const char *text, size_t len, bool lenient, struct perfmap **ret,
		 size_t *bad_line)
{
	struct perfmap *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	size_t line = 0;
	int r = 0;
	for (size_t pos = 0; r >= 0 && pos < len;) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		const char *end = nl ? nl : text + len;
		pos = (size_t)(end - text) + (nl ? 1 : 0);
		line++;
		if (end == s)
			continue;
		struct jit_sym e;
		const char *name;
		size_t name_len;
		r = parse_line(s, end, &e, &name, &name_len);
		if (r == -EINVAL && lenient)
			r = 0;
		else if (r >= 0 && e.size > 0)
			r = add_entry(m, &e, name, name_len);
	}
	if (r < 0) {
		if (r == -EINVAL && bad_line)
			*bad_line = line;
		perfmap_free(m);
		return r;
	}
	finish(m);
	*ret = m;
	return 0;
}

int perfmap_parse(const char *text, size_t len, struct perfmap **ret, size_t *bad_line)
{
	return parse(text, len, false, ret, bad_line);
}

int perfmap_parse_lenient(const char *text, size_t len, struct perfmap **ret)
{
	return parse(text, len, true, ret, NULL);
}

const char *perfmap_lookup(const struct perfmap *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct jit_sym *best = NULL;
	for (size_t k = 0; k < OVERLAP_SCAN && lo > 0; k++, lo--) {
		const struct jit_sym *e = &m->v[lo - 1];
		if (addr - e->start < e->size && (!best || e->seq > best->seq))
			best = e;
	}
	return best ? m->names.buf + best->name : NULL;
}

size_t perfmap_count(const struct perfmap *m)
{
	return m->n;
}

void perfmap_free(struct perfmap *m)
{
	if (!m)
		return;
	free(m->v);
	strpool_free(&m->names);
	free(m);
}
