#include "stack/maps.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "util/macro.h"
#include "util/parse.h"

static int parse_dec(const char **p, const char *end, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (s == *p)
		return -EINVAL;
	*p = s;
	*ret = v;
	return 0;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

/* One line "start-end perms offset major:minor inode [path]"; path_off gets the offset of
 * its path in m->paths. */
static int parse_line(const char *s, const char *end, struct map_entry *e, struct strbuf *paths,
		      size_t *path_off)
{
	uint64_t maj, min;
	if (parse_hex_span(&s, end, &e->start) < 0 || expect(&s, end, '-') < 0 ||
	    parse_hex_span(&s, end, &e->end) < 0 || expect(&s, end, ' ') < 0)
		return -EINVAL;
	if (e->end < e->start || end - s < 5)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		static const char allowed[4][3] = { "r-", "w-", "x-", "ps" };
		if (s[i] != allowed[i][0] && s[i] != allowed[i][1])
			return -EINVAL;
		e->perms[i] = s[i];
	}
	e->perms[4] = '\0';
	s += 4;
	if (expect(&s, end, ' ') < 0 || parse_hex_span(&s, end, &e->offset) < 0 ||
	    expect(&s, end, ' ') < 0 || parse_hex_span(&s, end, &maj) < 0 || expect(&s, end, ':') < 0 ||
	    parse_hex_span(&s, end, &min) < 0 || expect(&s, end, ' ') < 0 ||
	    parse_dec(&s, end, &e->inode) < 0)
		return -EINVAL;
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return -EINVAL;
	e->dev_major = (uint32_t)maj;
	e->dev_minor = (uint32_t)min;
	/* The path, after padding spaces; none for an anonymous mapping. */
	if (s < end && *s != ' ')
		return -EINVAL;
	while (s < end && *s == ' ')
		s++;
	size_t n = (size_t)(end - s);
	if (n > PATH_MAX || memchr(s, '\0', n))
		return -EINVAL;
	*path_off = paths->len;
	sb_add(paths, s, n);
	sb_addc(paths, '\0');
	return paths->failed ? -ENOMEM : 0;
}

int proc_maps_parse(const char *text, size_t len, struct proc_maps *ret, size_t *ret_bad_line)
{
	*ret = (struct proc_maps){ .paths = STRBUF_INIT };
	size_t cap = 0, line = 0;
	size_t *offs = NULL;
	int r = 0;
	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		const char *end = nl ? nl : text + len;
		pos = (size_t)(end - text) + (nl ? 1 : 0);
		line++;
		if (end == s)
			continue; /* the empty text after a final newline */
		if (ret->n == MAPS_MAX_ENTRIES) {
			r = -E2BIG;
			break;
		}
		if (ret->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct map_entry *v = realloc(ret->v, ncap * sizeof(*v));
			size_t *o = v ? realloc(offs, ncap * sizeof(*o)) : NULL;
			if (v)
				ret->v = v;
			if (!v || !o) {
				r = -ENOMEM;
				break;
			}
			offs = o;
			cap = ncap;
		}
		struct map_entry *e = &ret->v[ret->n];
		r = parse_line(s, end, e, &ret->paths, &offs[ret->n]);
		if (r < 0)
			break;
		/* The kernel lists mappings in address order, without overlaps. */
		if (ret->n > 0 && e->start < ret->v[ret->n - 1].end) {
			r = -EINVAL;
			break;
		}
		ret->n++;
	}
	if (r == -EINVAL && ret_bad_line)
		*ret_bad_line = line;
	if (r >= 0)
		for (size_t i = 0; i < ret->n; i++)
			ret->v[i].path = ret->paths.buf + offs[i];
	else
		ret->n = 0;
	free(offs);
	return r;
}

int proc_maps_read(pid_t pid, struct proc_maps *ret)
{
	*ret = (struct proc_maps){ .paths = STRBUF_INIT };
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	struct strbuf text = STRBUF_INIT;
	char buf[16384];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sb_add(&text, buf, (size_t)n);
	int r = n < 0 ? neg_errno() : text.failed ? -ENOMEM : 0;
	if (r >= 0)
		r = proc_maps_parse(sb_str(&text), text.len, ret, NULL);
	sb_free(&text);
	return r;
}

void proc_maps_free(struct proc_maps *m)
{
	free(m->v);
	sb_free(&m->paths);
	*m = (struct proc_maps){ .paths = STRBUF_INIT };
}

const struct map_entry *proc_maps_find(const struct proc_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

const char *map_module_name(const struct map_entry *e)
{
	if (!e->path[0])
		return "[anon]";
	if (e->path[0] != '/')
		return e->path; /* [heap], [stack], [vdso], memfd:... */
	const char *base = strrchr(e->path, '/') + 1;
	return *base ? base : e->path;
}

void maps_add_unknown(struct strbuf *sb, const struct proc_maps *m, uint64_t addr)
{
	const struct map_entry *e = proc_maps_find(m, addr);
	if (e) {
		sb_adds(sb, map_module_name(e));
		sb_addf(sb, "+0x%llx", (unsigned long long)map_file_offset(e, addr));
	} else {
		sb_addf(sb, "[unknown]+0x%llx", (unsigned long long)addr);
	}
}
