#include "output/folded.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Writer */

static void add_sanitized(struct strbuf *out, const char *s)
{
	const char *run = s;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c != ';' && c >= 0x20 && c != 0x7f)
			continue;
		sb_add(out, run, (size_t)(s - run));
		sb_addc(out, c == ';' ? ':' : '?');
		run = s + 1;
	}
	sb_add(out, run, (size_t)(s - run));
}

void folded_add_frame(struct strbuf *out, const struct stack_frame *f)
{
	add_sanitized(out, f->name);
	if (f->kind == FRAME_KERNEL) {
		sb_adds(out, "_[k]");
	} else if (f->kind == FRAME_PYTHON && f->module) {
		sb_adds(out, " (");
		add_sanitized(out, f->module);
		sb_addc(out, ')');
	}
	if (f->state == STATE_ON_CPU)
		sb_adds(out, "_[c]");
	else if (f->state == STATE_OFF_CPU)
		sb_adds(out, "_[o]");
}

struct line_ref {
	size_t off, len; /* of the stack text in the scratch buffer */
	uint64_t weight;
};

static int cmp_line(const void *a, const void *b, void *base)
{
	const struct line_ref *x = a, *y = b;
	const char *s = base;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(s + x->off, s + y->off, n);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

int folded_write(struct strbuf *out, const struct stack_profile *p, pid_t tid,
		 bool all_threads)
{
	uint64_t *w;
	int r = stack_profile__stack_weights(p, tid, all_threads, &w);
	if (r < 0)
		return r;
	size_t nstacks = stack_profile__nstacks(p), n = 0;
	struct line_ref *lines = malloc((nstacks ? nstacks : 1) * sizeof(*lines));
	struct strbuf text = STRBUF_INIT;
	if (!lines) {
		r = -ENOMEM;
		goto out;
	}
	for (uint32_t id = 0; id < nstacks; id++) {
		if (!w[id])
			continue;
		size_t depth;
		const uint32_t *ids = stack_profile__stack_get(p, id, &depth);
		size_t off = text.len;
		for (size_t k = 0; k < depth; k++) {
			if (k)
				sb_addc(&text, ';');
			folded_add_frame(&text, stack_profile__frame_get(p, ids[k]));
		}
		if (depth == 0) /* flamegraph.pl needs a frame */
			sb_adds(&text, "[unknown]");
		lines[n++] = (struct line_ref){ .off = off, .len = text.len - off, .weight = w[id] };
	}
	if (text.failed) {
		r = -ENOMEM;
		goto out;
	}
	qsort_r(lines, n, sizeof(*lines), cmp_line, text.buf);
	for (size_t i = 0; i < n; i++) {
		sb_add(out, text.buf + lines[i].off, lines[i].len);
		sb_addc(out, ' ');
		sb_add_u64(out, lines[i].weight);
		sb_addc(out, '\n');
	}
	r = out->failed ? -ENOMEM : 0;
out:
	sb_free(&text);
	free(lines);
	free(w);
	return r;
}

/* Reader */

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* "file.py" or "file.py:123" */
static bool is_python_file(const char *s, size_t len)
{
	size_t end = len;
	while (end > 0 && s[end - 1] >= '0' && s[end - 1] <= '9')
		end--;
	if (end < len && end > 0 && s[end - 1] == ':')
		len = end - 1;
	return ends_with(s, len, ".py");
}

/* Interns the frame in f[0..len) (modified in place: NULs are written into it). */
static int intern_frame(struct stack_profile *p, char *f, size_t len, uint32_t *ret_id)
{
	enum frame_state state = STATE_ANY;
	enum frame_kind kind = FRAME_USER;
	const char *module = NULL;
	if (ends_with(f, len, "_[c]") || ends_with(f, len, "_[o]")) {
		state = f[len - 2] == 'c' ? STATE_ON_CPU : STATE_OFF_CPU;
		len -= 4;
	}
	if (ends_with(f, len, "_[k]")) {
		kind = FRAME_KERNEL;
		len -= 4;
	} else if (len > 0 && f[len - 1] == ')') {
		/* "name (file.py)": the last " (" opens the module. */
		for (size_t i = len - 1; i-- > 0;) {
			if (f[i] == ' ' && f[i + 1] == '(' && i > 0) {
				if (is_python_file(f + i + 2, len - 1 - (i + 2))) {
					kind = FRAME_PYTHON;
					module = f + i + 2;
					f[len - 1] = '\0';
					len = i;
				}
				break;
			}
		}
	}
	f[len] = '\0';
	return stack_profile__frame(p, f, module, kind, state, ret_id);
}

/* The count at s[0..len): digits, optionally ".digits" (rounded). */
static const char *parse_count(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return "count is too large";
		v = v * 10 + d;
	}
	if (i == 0)
		return "count is not a number";
	if (i < len && s[i] == '.') {
		size_t frac = ++i;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i > frac && s[frac] >= '5') {
			if (v == UINT64_MAX)
				return "count is too large";
			v++;
		}
	}
	if (i != len)
		return "count is not a number";
	*ret = v;
	return NULL;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

struct reader {
	struct stack_profile *p;
	pid_t tid;
	char *scratch;   /* FOLDED_MAX_LINE + 1 bytes */
	uint32_t *ids;   /* STACK_MAX_DEPTH */
	int err;         /* a fatal error (-ENOMEM, -ENOSPC) */
};

/* Reads one line without its line end. Returns NULL when added, else why it is
 * malformed; sets rd->err for a fatal error. */
static const char *read_line(struct reader *rd, const char *line, size_t len)
{
	if (memchr(line, '\0', len))
		return "line holds a NUL byte";
	while (len > 0 && is_blank(line[len - 1]))
		len--;
	size_t sep = len;
	while (sep > 0 && !is_blank(line[sep - 1]))
		sep--;
	if (sep == 0)
		return "no count (a line is 'frame;frame;... COUNT')";
	uint64_t weight;
	const char *why = parse_count(line + sep, len - sep, &weight);
	if (why)
		return why;
	size_t slen = sep;
	while (slen > 0 && is_blank(line[slen - 1]))
		slen--;
	if (slen == 0)
		return "empty stack";
	if (slen > FOLDED_MAX_LINE)
		return "stack is longer than 1 MiB";

	memcpy(rd->scratch, line, slen);
	rd->scratch[slen] = '\0';
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= slen; i++) {
		if (i < slen && rd->scratch[i] != ';')
			continue;
		if (i == start)
			return "empty frame (';;', or ';' at an end)";
		if (n == STACK_MAX_DEPTH)
			return "more than 2048 frames";
		int r = intern_frame(rd->p, rd->scratch + start, i - start, &rd->ids[n++]);
		if (r < 0) {
			rd->err = r;
			return "cannot store the frame";
		}
		start = i + 1;
	}
	uint32_t sid;
	int r = stack_profile__stack(rd->p, rd->ids, n, &sid);
	if (r >= 0)
		r = stack_profile__add(rd->p, rd->tid, sid, weight);
	if (r == -EOVERFLOW)
		return "the counts add up past 2^64";
	if (r < 0) {
		rd->err = r;
		return "cannot store the stack";
	}
	return NULL;
}

int folded_read(struct stack_profile *p, const char *data, size_t len, pid_t tid,
		unsigned flags, struct folded_result *ret)
{
	*ret = (struct folded_result){ 0 };
	struct reader rd = { .p = p, .tid = tid };
	rd.scratch = malloc(FOLDED_MAX_LINE + 1);
	rd.ids = malloc(STACK_MAX_DEPTH * sizeof(*rd.ids));
	int r = 0;
	if (!rd.scratch || !rd.ids) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t pos = 0; pos < len;) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		ret->lines++;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		size_t k = 0;
		while (k < n && is_blank(line[k]))
			k++;
		if (k == n)
			continue; /* blank */
		const char *why = read_line(&rd, line, n);
		if (!why) {
			ret->stacks++;
			continue;
		}
		if (!ret->first_bad_line || rd.err) {
			ret->first_bad_line = ret->lines;
			ret->first_bad_reason = why;
		}
		if (rd.err) {
			r = rd.err;
			break;
		}
		ret->skipped++;
		if (flags & FOLDED_STRICT) {
			r = -EINVAL;
			break;
		}
	}
out:
	free(rd.scratch);
	free(rd.ids);
	return r;
}
