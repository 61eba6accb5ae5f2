#include "perf/format.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const words[PMU_CONFIG_WORDS] = { "config", "config1", "config2" };

/* A decimal bit number 0..63; advances *p. */
static int parse_bit(const char **p, uint8_t *ret)
{
	const char *s = *p;
	unsigned v = 0;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 63)
			return -EINVAL;
		s++;
	}
	*ret = (uint8_t)v;
	*p = s;
	return 0;
}

int pmu_format_parse(const char *text, struct pmu_format *ret)
{
	struct pmu_format f = { .word = -1 };
	const char *colon = strchr(text, ':');
	if (!colon)
		return -EINVAL;
	size_t wl = (size_t)(colon - text);
	for (int i = 0; i < PMU_CONFIG_WORDS; i++)
		if (strlen(words[i]) == wl && !memcmp(text, words[i], wl))
			f.word = i;
	if (f.word < 0)
		return -EINVAL;
	const char *p = colon + 1;
	unsigned width = 0;
	for (;;) {
		uint8_t lo, hi;
		if (parse_bit(&p, &lo) < 0)
			return -EINVAL;
		hi = lo;
		if (*p == '-') {
			p++;
			if (parse_bit(&p, &hi) < 0 || hi < lo)
				return -EINVAL;
		}
		if (f.nranges == PMU_FORMAT_MAX_RANGES)
			return -EINVAL;
		width += (unsigned)(hi - lo) + 1;
		if (width > 64)
			return -EINVAL;
		f.r[f.nranges].lo = lo;
		f.r[f.nranges].hi = hi;
		f.nranges++;
		if (*p != ',')
			break;
		p++;
	}
	while (*p == '\n' || *p == ' ')
		p++;
	if (*p)
		return -EINVAL;
	*ret = f;
	return 0;
}

unsigned pmu_format_width(const struct pmu_format *f)
{
	unsigned w = 0;
	for (unsigned i = 0; i < f->nranges; i++)
		w += (unsigned)(f->r[i].hi - f->r[i].lo) + 1;
	return w;
}

int pmu_format_apply(const struct pmu_format *f, uint64_t value,
		     uint64_t config[PMU_CONFIG_WORDS])
{
	unsigned width = pmu_format_width(f);
	if (width < 64 && (value >> width))
		return -ERANGE;
	uint64_t *w = &config[f->word];
	for (unsigned i = 0; i < f->nranges; i++) {
		unsigned n = (unsigned)(f->r[i].hi - f->r[i].lo) + 1;
		uint64_t mask = n == 64 ? ~0ULL : ((1ULL << n) - 1);
		*w &= ~(mask << f->r[i].lo);
		*w |= (value & mask) << f->r[i].lo;
		value = n == 64 ? 0 : value >> n;
	}
	return 0;
}

int pmu_parse_u64(const char *s, uint64_t *ret)
{
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	uint64_t v = 0;
	for (; *s; s++) {
		int d;
		if (isdigit((unsigned char)*s))
			d = *s - '0';
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = tolower((unsigned char)*s) - 'a' + 10;
		else
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*ret = v;
	return 0;
}

static int is_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static char *dup_trimmed(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

void pmu_terms_free(struct pmu_terms *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->t[i].key);
		free(t->t[i].val);
	}
	free(t->t);
	t->t = NULL;
	t->n = 0;
}

int pmu_terms_parse(const char *text, size_t len, struct pmu_terms *ret)
{
	struct pmu_terms t = { 0 };
	size_t i = 0;
	int r = 0;
	/* Trailing blanks (a sysfs file's newline) end the list. */
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	while (i < len) {
		size_t start = i;
		while (i < len && text[i] != ',')
			i++;
		const char *item = text + start;
		size_t n = i - start;
		const char *eq = memchr(item, '=', n);
		size_t kl = eq ? (size_t)(eq - item) : n;
		char *key = dup_trimmed(item, kl);
		if (!key) {
			r = -ENOMEM;
			goto fail;
		}
		int ok = key[0] != '\0';
		for (char *k = key; ok && *k; k++)
			ok = is_key_char(*k);
		if (!ok) {
			free(key);
			r = -EINVAL;
			goto fail;
		}
		char *val = NULL;
		if (eq) {
			val = dup_trimmed(eq + 1, n - kl - 1);
			if (!val || !*val || strpbrk(val, "/{}=")) {
				r = val ? -EINVAL : -ENOMEM;
				free(key);
				free(val);
				goto fail;
			}
		}
		struct pmu_term *nt = realloc(t.t, (t.n + 1) * sizeof(*nt));
		if (!nt) {
			free(key);
			free(val);
			r = -ENOMEM;
			goto fail;
		}
		t.t = nt;
		t.t[t.n++] = (struct pmu_term){ key, val };
		if (i < len) {
			i++; /* the comma: a term must follow */
			if (i == len) {
				r = -EINVAL;
				goto fail;
			}
		}
	}
	*ret = t;
	return 0;
fail:
	pmu_terms_free(&t);
	return r;
}
