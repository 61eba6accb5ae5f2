/* /proc/kallsyms: "ffffffff81000000 T _text" per line, "\t[ext4]" after the name of a
 * module's symbol. Kernel symbols have no sizes: one extends to the next (at most
 * KSYM_MAX_EXTENT, so that the gap before the modules' area is nobody's). Addresses are
 * zero for a reader without CAP_SYSLOG (kptr_restrict): such lines are kept out, and a
 * table of them is empty. */
#include "stack/symbolize_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util/parse.h"
#include "util/strpool.h"
#include "stack/profile.h"

#define KSYM_MAX_EXTENT (1u << 20)

struct ksym {
	uint64_t addr;
	uint32_t name, module; /* offsets in names; module 0 is "" (the core kernel) */
	uint8_t rank;          /* smaller is preferred among names of one address */
};

struct ksym_table {
	struct ksym *v;
	size_t n, cap;
	struct strpool names;
};

/* Text symbols before data ones, global before local, fewer leading underscores. */
static uint8_t rank_of(char type, const char *name)
{
	unsigned r = 0;
	if (type != 'T' && type != 't' && type != 'W' && type != 'w')
		r += 64;
	if (type >= 'a' && type <= 'z')
		r += 32;
	for (const char *p = name; *p == '_' && r % 32 < 31; p++)
		r++;
	return (uint8_t)r;
}

struct parsed {
	uint64_t addr;
	char type;
	const char *name, *module;
	size_t name_len, module_len;
};

/* "ADDR TYPE NAME[\t[MODULE]]" */
static int parse_line(const char *s, const char *end, struct parsed *p)
{
	uint64_t addr;
	if (parse_hex_span(&s, end, &addr) < 0 || end - s < 4 || s[0] != ' ' || s[1] <= ' ' ||
	    s[1] > '~' || s[2] != ' ')
		return -EINVAL;
	p->addr = addr;
	p->type = s[1];
	s += 3;
	p->name = s;
	while (s < end && *s != '\t' && *s != ' ' && *s != '\0')
		s++;
	p->name_len = (size_t)(s - p->name);
	if (p->name_len == 0 || p->name_len > STACK_MAX_NAME)
		return -EINVAL;
	p->module = NULL;
	p->module_len = 0;
	if (s == end)
		return 0;
	if (end - s < 4 || s[0] != '\t' || s[1] != '[' || end[-1] != ']')
		return -EINVAL;
	p->module = s + 2;
	p->module_len = (size_t)(end - 1 - p->module);
	if (p->module_len == 0 || p->module_len > STACK_MAX_NAME ||
	    memchr(p->module, ']', p->module_len) || memchr(p->module, '\0', p->module_len))
		return -EINVAL;
	return 0;
}

static int add_entry(struct ksym_table *t, const struct parsed *p, uint32_t *last_module)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct ksym *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	struct ksym *k = &t->v[t->n];
	int r = strpool_add(&t->names, p->name, p->name_len, &k->name);
	if (r < 0)
		return r;
	k->rank = rank_of(p->type, t->names.buf + k->name);
	k->addr = p->addr;
	k->module = 0;
	if (p->module) {
		/* A module's symbols come together: its name is stored once per run. */
		if (!*last_module || strlen(t->names.buf + *last_module) != p->module_len ||
		    memcmp(t->names.buf + *last_module, p->module, p->module_len) != 0) {
			r = strpool_add(&t->names, p->module, p->module_len, last_module);
			if (r < 0)
				return r;
		}
		k->module = *last_module;
	}
	t->n++;
	return 0;
}

static int cmp_ksym(const void *pa, const void *pb, void *names)
{
	const struct ksym *a = pa, *b = pb;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return strcmp((const char *)names + a->name, (const char *)names + b->name);
}

/* Sorts and keeps the preferred name of each address. */
static void finish(struct ksym_table *t)
{
	if (t->n == 0)
		return;
	qsort_r(t->v, t->n, sizeof(*t->v), cmp_ksym, t->names.buf);
	size_t out = 1;
	for (size_t i = 1; i < t->n; i++)
		if (t->v[i].addr != t->v[out - 1].addr)
			t->v[out++] = t->v[i];
	t->n = out;
}

int kallsyms_parse(const char *text, size_t len, struct ksym_table **ret, size_t *bad_line)
{
	struct ksym_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	uint32_t empty, last_module = 0;
	int r = strpool_add(&t->names, "", 0, &empty); /* offset 0: the core kernel's module "" */
	size_t line = 0;
	for (size_t pos = 0; r >= 0 && pos < len;) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		const char *end = nl ? nl : text + len;
		pos = (size_t)(end - text) + (nl ? 1 : 0);
		line++;
		if (end == s)
			continue;
		struct parsed p;
		r = parse_line(s, end, &p);
		if (r >= 0 && p.addr != 0)
			r = add_entry(t, &p, &last_module);
	}
	if (r < 0) {
		if (r == -EINVAL && bad_line)
			*bad_line = line;
		ksym_table_free(t);
		return r;
	}
	finish(t);
	*ret = t;
	return 0;
}

const char *ksym_lookup(const struct ksym_table *t, uint64_t addr, const char **module)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct ksym *k = &t->v[lo - 1];
	uint64_t extent = lo < t->n ? t->v[lo].addr - k->addr : KSYM_MAX_EXTENT;
	if (extent > KSYM_MAX_EXTENT)
		extent = KSYM_MAX_EXTENT;
	if (addr - k->addr >= extent)
		return NULL;
	if (module)
		*module = t->names.buf + k->module;
	return t->names.buf + k->name;
}

size_t ksym_count(const struct ksym_table *t)
{
	return t->n;
}

void ksym_table_free(struct ksym_table *t)
{
	if (!t)
		return;
	free(t->v);
	strpool_free(&t->names);
	free(t);
}
