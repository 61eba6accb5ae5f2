#include "perf/spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/macro.h"

int spec_parse_mods(const char *s, size_t len, struct spec_mods *ret)
{
	struct spec_mods m = { .any = true };
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		bool *flag = NULL;
		switch (s[i]) {
		case 'u': flag = &m.u; break;
		case 'k': flag = &m.k; break;
		case 'h': flag = &m.h; break;
		case 'H': flag = &m.H; break;
		case 'G': flag = &m.G; break;
		case 'I': flag = &m.I; break;
		case 'D': flag = &m.D; break;
		case 'e': flag = &m.e; break;
		case 'p':
			if (++m.p > 3)
				return -EINVAL;
			continue;
		default:
			return -EINVAL;
		}
		if (*flag) /* "uu" is a typo, not a modifier */
			return -EINVAL;
		*flag = true;
	}
	*ret = m;
	return 0;
}

size_t spec_split_mods(const char *s, size_t len, struct spec_mods *ret_mods)
{
	for (size_t i = len; i > 0; i--) {
		if (s[i - 1] != ':')
			continue;
		/* Only the last ':' part can be modifiers, and a name must stay before it. */
		if (i - 1 > 0 && spec_parse_mods(s + i, len - i, ret_mods) == 0)
			return i - 1;
		break;
	}
	*ret_mods = (struct spec_mods){ 0 };
	return len;
}

/* An event's own modifiers win; a group's fill in the ones it did not give. */
static void merge_mods(struct spec_mods *ev, const struct spec_mods *grp)
{
	if (!grp->any)
		return;
	if (!(ev->u || ev->k || ev->h)) {
		ev->u = grp->u;
		ev->k = grp->k;
		ev->h = grp->h;
	}
	ev->H |= grp->H;
	ev->G |= grp->G;
	ev->I |= grp->I;
	ev->D |= grp->D;
	ev->e |= grp->e;
	if (!ev->p)
		ev->p = grp->p;
	ev->any = true;
}

struct parser {
	const char *s;
	size_t len, pos;
	struct spec *spec;
	char *err;
	size_t errsz;
};

static int fail(struct parser *p, size_t at, const char *fmt, ...) _printf_(3, 4);
static int fail(struct parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(p->err, p->errsz, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < p->errsz)
		snprintf(p->err + n, p->errsz - (size_t)n, " at column %zu", at + 1);
	return -EINVAL;
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

static void skip_blanks(struct parser *p)
{
	while (p->pos < p->len && is_blank(p->s[p->pos]))
		p->pos++;
}

static bool bad_char(char c)
{
	return (unsigned char)c < 0x20 || c == 0x7f || c == '"' || c == '\'' || c == ';' ||
	       c == '(' || c == ')' || c == '[' || c == ']';
}

static int add_event(struct parser *p, struct spec_event *ev)
{
	struct spec *s = p->spec;
	if (s->n == SPEC_MAX_EVENTS)
		return fail(p, p->pos, "too many events (at most %d)", SPEC_MAX_EVENTS), -E2BIG;
	struct spec_event *n = realloc(s->ev, (s->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->ev = n;
	s->ev[s->n++] = *ev;
	return 0;
}

static void event_free(struct spec_event *e)
{
	free(e->text);
	free(e->name);
	pmu_terms_free(&e->terms);
}

/* One event at p->pos, ending before ',', '}' or the end. */
static int parse_event(struct parser *p, size_t group)
{
	const char *s = p->s;
	size_t start = p->pos, i = start, slash = 0;
	bool in_terms = false, has_slash = false;
	while (i < p->len) {
		char c = s[i];
		if (bad_char(c))
			return fail(p, i, "unexpected character '%s'",
				    (unsigned char)c < 0x20 || c == 0x7f ? "\\x.." : (char[]){ c, 0 });
		if (c == '/') {
			if (!in_terms && has_slash)
				return fail(p, i, "unexpected '/' after a PMU event's terms");
			if (!in_terms) {
				slash = i;
				has_slash = true;
			}
			in_terms = !in_terms;
			i++;
			continue;
		}
		if (in_terms) {
			if (c == '{' || c == '}')
				return fail(p, i, "unexpected '%c' inside a PMU event's terms", c);
			i++;
			continue;
		}
		if (c == ',' || c == '}' || is_blank(c))
			break;
		if (c == '{')
			return fail(p, i, "groups cannot be nested");
		i++;
	}
	if (in_terms)
		return fail(p, slash, "unterminated PMU event: a '/' must close the terms");
	if (i == start)
		return fail(p, i, "an event name is missing");

	struct spec_event ev = { .group = group };
	int r = -ENOMEM;
	ev.text = strndup(s + start, i - start);
	if (!ev.text)
		goto out;
	if (has_slash) {
		size_t close = slash + 1;
		while (s[close] != '/')
			close++;
		if (slash == start) {
			r = fail(p, start, "a PMU name is missing before '/'");
			goto out;
		}
		ev.pmu_form = true;
		ev.name = strndup(s + start, slash - start);
		if (!ev.name)
			goto out;
		if (strpbrk(ev.name, ":,")) {
			r = fail(p, start, "invalid PMU name '%s'", ev.name);
			goto out;
		}
		if (close > slash + 1) {
			r = pmu_terms_parse(s + slash + 1, close - slash - 1, &ev.terms);
			if (r == -EINVAL)
				r = fail(p, slash + 1, "malformed PMU terms (expected key=value,...)");
			if (r < 0)
				goto out;
		}
		size_t m = close + 1;
		if (m < i && s[m] == ':')
			m++;
		if (m < i && spec_parse_mods(s + m, i - m, &ev.mods) < 0) {
			r = fail(p, m, "invalid modifiers '%.*s' (expected u, k, h, H, G, I, D, e, p)",
				 (int)(i - m), s + m);
			goto out;
		} else if (m == i && s[i - 1] == ':') {
			r = fail(p, i - 1, "modifiers are missing after ':'");
			goto out;
		}
	} else {
		size_t nl = spec_split_mods(s + start, i - start, &ev.mods);
		if (s[start + nl - 1] == ':' || s[start] == ':') {
			r = fail(p, start, "malformed event name '%.*s'", (int)(i - start), s + start);
			goto out;
		}
		ev.name = strndup(s + start, nl);
		if (!ev.name)
			goto out;
	}
	p->pos = i;
	r = add_event(p, &ev);
	if (r == 0)
		return 0;
out:
	event_free(&ev);
	return r;
}

static int parse_items(struct parser *p)
{
	for (;;) {
		skip_blanks(p);
		if (p->pos == p->len)
			return fail(p, p->pos, p->spec->n ? "an event is missing after ','"
							  : "no event given");
		char c = p->s[p->pos];
		size_t group = p->spec->ngroups++;
		if (c == '{') {
			size_t open = p->pos++, first = p->spec->n;
			for (;;) {
				skip_blanks(p);
				if (p->pos < p->len && p->s[p->pos] == '}')
					return fail(p, p->pos, first == p->spec->n ? "empty group '{}'"
										   : "an event is missing before '}'");
				if (p->pos == p->len)
					return fail(p, open, "unbalanced '{': no '}' closes it");
				int r = parse_event(p, group);
				if (r < 0)
					return r;
				skip_blanks(p);
				if (p->pos == p->len)
					return fail(p, open, "unbalanced '{': no '}' closes it");
				if (p->s[p->pos] == '}')
					break;
				if (p->s[p->pos] != ',')
					return fail(p, p->pos, "expected ',' or '}'");
				p->pos++;
			}
			p->pos++; /* '}' */
			if (p->pos < p->len && p->s[p->pos] == ':') {
				size_t m = ++p->pos;
				while (p->pos < p->len && p->s[p->pos] != ',' && !is_blank(p->s[p->pos]))
					p->pos++;
				struct spec_mods gm;
				if (spec_parse_mods(p->s + m, p->pos - m, &gm) < 0)
					return fail(p, m, "invalid group modifiers '%.*s'", (int)(p->pos - m),
						    p->s + m);
				for (size_t k = first; k < p->spec->n; k++)
					merge_mods(&p->spec->ev[k].mods, &gm);
			}
		} else if (c == '}') {
			return fail(p, p->pos, "unbalanced '}'");
		} else if (c == ',') {
			return fail(p, p->pos, "an event is missing before ','");
		} else {
			int r = parse_event(p, group);
			if (r < 0)
				return r;
		}
		skip_blanks(p);
		if (p->pos == p->len)
			return 0;
		c = p->s[p->pos];
		if (c == '}')
			return fail(p, p->pos, "unbalanced '}'");
		if (c != ',')
			return fail(p, p->pos, "expected ',' between events");
		p->pos++;
	}
}

struct spec *spec_free(struct spec *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		event_free(&s->ev[i]);
	free(s->ev);
	free(s);
	return NULL;
}

int spec_parse(const char *text, struct spec **ret, char *err, size_t errsz)
{
	char dummy[1];
	if (!err || !errsz) {
		err = dummy;
		errsz = sizeof(dummy);
	}
	err[0] = '\0';
	size_t len = strnlen(text, SPEC_MAX_LEN + 1);
	if (len > SPEC_MAX_LEN) {
		snprintf(err, errsz, "event list too long (more than %d characters)", SPEC_MAX_LEN);
		return -E2BIG;
	}
	struct parser p = { .s = text, .len = len, .err = err, .errsz = errsz };
	p.spec = calloc(1, sizeof(*p.spec));
	if (!p.spec)
		return -ENOMEM;
	int r = parse_items(&p);
	if (r < 0) {
		if (r == -ENOMEM)
			snprintf(err, errsz, "out of memory");
		spec_free(p.spec);
		return r;
	}
	*ret = p.spec;
	return 0;
}
