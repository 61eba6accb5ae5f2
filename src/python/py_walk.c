/* The frame walk: runtime -> interpreters -> thread states -> frames -> code objects ->
 * strings. Everything read is checked before it is used: pointers are followed only a
 * bounded number of times, object types are compared with the interpreter's own type
 * objects, string lengths and kinds are bounded, and text must decode. A thread whose
 * stack was changing while we read it is reported as dropped, never as a wrong name. */
#include "python/py_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util/macro.h"

/* ---- layout setup ---------------------------------------------------------------------- */

static size_t max_end(const uint32_t *offs, size_t n)
{
	size_t end = 0;
	for (size_t i = 0; i < n; i++)
		if (offs[i] != PY_OFF_NONE && offs[i] + 8u > end)
			end = offs[i] + 8u;
	return end;
}

int py_proc_init(struct py_proc *p, uint32_t version_hex, unsigned major, unsigned minor)
{
	struct py_info *info = &p->info;
	int r;
	bool newer = false;
	/* 3.13+ (or an unknown version): the interpreter's own debug offsets, if it has them. */
	if (major == 0 || major > 3 || (major == 3 && minor >= 13)) {
		uint8_t buf[PY_DEBUG_READ_SIZE];
		uint32_t dv = 0;
		r = py_mem_read(p->mem, info->runtime, buf, sizeof(buf));
		if (r == -ESRCH || errno_is_privilege(r))
			return r;
		if (r == 0) {
			r = py_offsets_from_debug(buf, sizeof(buf), &p->v, &dv, &newer);
			if (r == 0) {
				info->debug_offsets = true;
				info->version_hex = dv;
				info->major = p->v.major;
				info->minor = p->v.minor;
				info->newer = newer;
			} else if (r == -ENOTSUP || (r == -EINVAL && major == 0)) {
				info->major = (dv >> 24) & 0xff;
				info->minor = (dv >> 16) & 0xff;
				return -ENOTSUP;
			} else if (r != -EPROTO) {
				pk_logf(&p->log, PK_LOG_WARN,
					"the interpreter's debug offsets are not plausible; using profkit's table for %u.%u",
					major, minor);
			}
		}
	}
	if (!info->debug_offsets) {
		if (major == 0)
			return -EPROTO;
		const struct py_offsets *t;
		r = py_offsets_for(major, minor, &t, &newer);
		if (r < 0)
			return r;
		p->v = *t;
		info->newer = newer;
	}
	if (info->newer)
		pk_logf(&p->log, PK_LOG_WARN,
			"CPython %u.%u is newer than the versions profkit knows (3.8-3.13); reading it with the %u.%u layout",
			info->major, info->minor, p->v.major, p->v.minor);
	(void)version_hex;

	const struct py_offsets *v = &p->v;
	uint32_t ts[] = { v->tstate_next, v->tstate_interp, v->tstate_frame, v->tstate_thread_id,
			  v->tstate_native_thread_id };
	uint32_t fr[] = { v->frame_previous, v->frame_code, v->frame_owner };
	uint32_t co[] = { v->object_type, v->code_name, v->code_qualname, v->code_filename,
			  v->code_firstlineno };
	p->tstate_read = max_end(ts, ARRAY_SIZE(ts));
	p->frame_read = max_end(fr, ARRAY_SIZE(fr));
	p->code_read = max_end(co, ARRAY_SIZE(co));
	uint32_t names[] = { v->code_name, v->code_qualname, v->code_filename, v->code_firstlineno };
	p->code_lo = p->code_read;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i] != PY_OFF_NONE && names[i] < p->code_lo)
			p->code_lo = names[i];
	p->code_hi = max_end(names, ARRAY_SIZE(names));
	if (p->tstate_read > PY_OBJECT_READ_MAX || p->frame_read > PY_OBJECT_READ_MAX ||
	    p->code_read > PY_OBJECT_READ_MAX || v->unicode_compact_size > PY_OBJECT_READ_MAX)
		return -EPROTO;
	p->code_buf = calloc(PY_MAX_DEPTH, p->code_read);
	p->iov = calloc(PY_MAX_DEPTH, sizeof(*p->iov));
	/* PROFKIT_PY_NO_PREFETCH=1: one read per step, for bench/py_bench.py's comparison. */
	const char *nopf = getenv("PROFKIT_PY_NO_PREFETCH");
	if (!nopf || strcmp(nopf, "1"))
		p->pf = calloc(1, sizeof(*p->pf));
	if (!p->code_buf || !p->iov || (!p->pf && (!nopf || strcmp(nopf, "1"))))
		return -ENOMEM;
	return 0;
}

/* ---- the prefetch ---------------------------------------------------------------------- */

#define PF_NO_SPAN UINT32_MAX
/* Walks without merging after a merged span failed to read, doubled at each failure since
 * merged spans last arrived. In a live process every page of a span held a range that the
 * previous walk read, so a span fails only when the mapping changed in between (a freed
 * arena), and that range read alone would mostly fail too: merging resumes soon. A recorded
 * image (unit tests, the fuzzer) holds only the bytes a walk read, not the gaps between
 * them: there merged spans fail every time, and the pause grows until that costs one walk
 * a few extra calls in PF_PAUSE_MAX. */
#define PF_PAUSE_MIN 16u
#define PF_PAUSE_MAX 4096u

/* Remembers a range this walk read, for the next walk's prefetch. An empty or wrapping
 * range has no page to merge on, and nothing to gain. */
static void pf_note(struct py_prefetch *pf, uint64_t addr, size_t len)
{
	if (!len || addr > UINT64_MAX - len || pf->next_n == PY_PREFETCH_RANGES ||
	    len > PY_PREFETCH_BYTES - pf->next_bytes)
		return;
	pf->next_addr[pf->next_n] = addr;
	pf->next_len[pf->next_n++] = (uint32_t)len;
	pf->next_bytes += len;
}

/* Copies (addr, len) from the prefetch when it arrived inside a range there (a code object
 * read whole the walk before, and now only in part: resolve_frames). Walks read in the
 * same order as the walk before, so the search starts where the last hit was. */
static bool pf_serve(struct py_prefetch *pf, uint64_t addr, void *buf, size_t len)
{
	for (size_t k = 0; k < pf->n; k++) {
		size_t i = pf->cursor + k < pf->n ? pf->cursor + k : pf->cursor + k - pf->n;
		if (addr >= pf->addr[i] && len <= pf->len[i] && addr - pf->addr[i] <= pf->len[i] - len &&
		    pf->span[i] < pf->ok) {
			memcpy(buf, pf->buf + pf->off[i] + (addr - pf->addr[i]), len);
			pf->cursor = i + 1 < pf->n ? i + 1 : 0;
			pf->served++;
			pf->other_used |= i >= pf->n_last;
			return true;
		}
	}
	pf->missed++;
	return false;
}

/* By address, then length, then index: the same range twice sorts next to itself, the
 * copy the last walk read first. */
static bool pf_range_before(const struct py_prefetch_range *x, const struct py_prefetch_range *y)
{
	if (x->addr != y->addr)
		return x->addr < y->addr;
	return x->len != y->len ? x->len < y->len : x->idx < y->idx;
}

static int pf_range_cmp(const void *a, const void *b)
{
	const struct py_prefetch_range *x = a, *y = b;
	return pf_range_before(x, y) ? -1 : pf_range_before(y, x);
}

/* pf->sorted: the ranges by address; insertion sort for a shallow stack's dozen. */
static void pf_sort(struct py_prefetch *pf)
{
	struct py_prefetch_range *s = pf->sorted;
	for (size_t i = 0; i < pf->n; i++)
		s[i] = (struct py_prefetch_range){ pf->addr[i], pf->len[i], (uint32_t)i };
	if (pf->n > 32) {
		qsort(s, pf->n, sizeof(*s), pf_range_cmp);
		return;
	}
	for (size_t i = 1; i < pf->n; i++) {
		struct py_prefetch_range x = s[i];
		size_t j = i;
		for (; j > 0 && pf_range_before(&x, &s[j - 1]); j--)
			s[j] = s[j - 1];
		s[j] = x;
	}
}

/* Can r (sorted after the last span, which ends at end > 0) join it? It must start on the
 * span's last page or the next (so that merging never reaches into a hole the last walk
 * did not read around), and what it adds must fit in the buffer. */
static bool pf_joins(uint64_t end, const struct py_prefetch_range *r, size_t used)
{
	uint64_t r_end = r->addr + r->len;
	return r->addr / PY_PREFETCH_PAGE <= (end - 1) / PY_PREFETCH_PAGE + 1 &&
	       (r_end <= end || r_end - end <= PY_PREFETCH_BUF - used);
}

/* Groups the sorted ranges into spans (pf->iov, laid out in pf->buf) and places each
 * range's bytes in its span. A range that fits nowhere ends the plan: those left are read
 * by the walk. */
static void pf_plan(struct py_prefetch *pf, bool merge)
{
	size_t used = 0;
	uint64_t end = 0;
	struct py_iov *s = NULL;
	pf->nspans = 0;
	pf->merged = false;
	for (size_t i = 0; i < pf->n; i++)
		pf->span[i] = PF_NO_SPAN;
	for (size_t k = 0; k < pf->n; k++) {
		const struct py_prefetch_range *r = &pf->sorted[k];
		const struct py_prefetch_range *last = k ? &pf->sorted[k - 1] : NULL;
		if (last && last->addr == r->addr && last->len == r->len)
			continue; /* read once, served from the first copy */
		if (s && merge && pf_joins(end, r, used)) {
			pf->merged = true;
			uint64_t grow = r->addr + r->len > end ? r->addr + r->len - end : 0;
			s->len += grow;
			used += grow;
			end += grow;
		} else if (r->len <= PY_PREFETCH_BUF - used) {
			s = &pf->iov[pf->nspans++];
			*s = (struct py_iov){ r->addr, pf->buf + used, r->len };
			used += r->len;
			end = r->addr + r->len;
		} else {
			break;
		}
		pf->span[r->idx] = (uint32_t)(pf->nspans - 1);
		pf->off[r->idx] = (uint32_t)((uint8_t *)s->buf - pf->buf + (r->addr - s->addr));
	}
}

/* Does the span hold two different ranges (a range taken twice is one)? */
static bool pf_span_merged(const struct py_prefetch *pf, size_t span)
{
	size_t first = SIZE_MAX;
	for (size_t i = 0; i < pf->n; i++) {
		if (pf->span[i] != span)
			continue;
		if (first == SIZE_MAX)
			first = i;
		else if (pf->addr[i] != pf->addr[first] || pf->len[i] != pf->len[first])
			return true;
	}
	return false;
}

/* After the read: a merged span that did not arrive pauses merging (PF_PAUSE_MIN);
 * merged spans that all arrived end the backoff (0: PF_PAUSE_MIN next time). */
static void pf_pace_merging(struct py_prefetch *pf)
{
	if (pf->ok < pf->nspans && pf_span_merged(pf, pf->ok)) {
		uint32_t pause = pf->merge_backoff ? pf->merge_backoff : PF_PAUSE_MIN;
		pf->merge_pause = pause;
		pf->merge_backoff = pause < PF_PAUSE_MAX / 2 ? 2 * pause : PF_PAUSE_MAX;
	} else if (pf->ok == pf->nspans && pf->merged) {
		pf->merge_backoff = 0;
	}
}

/* Walks in a row that may use none of the other shape's ranges before they are dropped. */
#define PF_OTHER_IDLE_MAX 64u

/* The ranges to prefetch: those the previous walk read, then those of the latest walk
 * that read something else. A stack whose leaf call comes and goes (work() -> step() ->
 * work() ...) has two shapes; with the last walk's ranges alone, each walk that found the
 * leaf back needed a second readv for its frame and code object. Once the other shape has
 * not been seen for PF_OTHER_IDLE_MAX walks, its ranges are no longer read. */
static void pf_take_ranges(struct py_prefetch *pf)
{
	bool same = pf->last_n == pf->next_n &&
		    !memcmp(pf->last_addr, pf->next_addr, pf->next_n * sizeof(*pf->addr)) &&
		    !memcmp(pf->last_len, pf->next_len, pf->next_n * sizeof(*pf->len));
	if (!same) {
		pf->other_n = pf->last_n;
		memcpy(pf->other_addr, pf->last_addr, pf->other_n * sizeof(*pf->addr));
		memcpy(pf->other_len, pf->last_len, pf->other_n * sizeof(*pf->len));
		pf->last_n = pf->next_n;
		memcpy(pf->last_addr, pf->next_addr, pf->last_n * sizeof(*pf->addr));
		memcpy(pf->last_len, pf->next_len, pf->last_n * sizeof(*pf->len));
		pf->other_idle = 0;
	} else if (pf->other_n && !pf->other_used && ++pf->other_idle >= PF_OTHER_IDLE_MAX) {
		pf->other_n = 0;
	}
	pf->other_used = false;
	pf->n = pf->n_last = pf->last_n;
	memcpy(pf->addr, pf->last_addr, pf->n * sizeof(*pf->addr));
	memcpy(pf->len, pf->last_len, pf->n * sizeof(*pf->len));
	for (size_t i = 0; i < pf->other_n && pf->n < PY_PREFETCH_RANGES; i++) {
		pf->addr[pf->n] = pf->other_addr[i];
		pf->len[pf->n++] = pf->other_len[i];
	}
}

/* At the start of a walk: one readv of every range the previous two walks read, merged
 * into spans. */
static int pf_begin(struct py_proc *p)
{
	struct py_prefetch *pf = p->pf;
	if (!pf)
		return 0;
	pf_take_ranges(pf);
	pf->ok = pf->cursor = 0;
	pf->next_n = pf->next_bytes = 0;
	bool merge = pf->merge_pause == 0;
	if (!merge)
		pf->merge_pause--;
	pf_sort(pf);
	pf_plan(pf, merge);
	int r = pf->nspans ? py_mem_readv(p->mem, pf->iov, pf->nspans) : 0;
	if (r < 0) {
		pf->n = 0;
		return r == -ESRCH || errno_is_privilege(r) ? r : 0;
	}
	pf->ok = (size_t)r;
	pf_pace_merging(pf);
	if (!pf->ok)
		pf->n = 0; /* nothing to serve: the walk's reads need not search */
	return 0;
}

/* The walk's reads: served from the prefetch when they can be, the rest in one readv.
 * Returns how many leading ranges were read in full, or the process-level error, as
 * py_mem_readv. Only those are noted for the next prefetch: a range that failed would make
 * its span fail (and every span after it); nor those marked once (may be NULL): read this
 * time only. */
static int walk_readv_once(struct py_proc *p, const struct py_iov *iov, size_t n,
			   const bool *once)
{
	struct py_prefetch *pf = p->pf;
	if (!pf || n > PY_MAX_DEPTH)
		return py_mem_readv(p->mem, iov, n);
	size_t nmiss = 0;
	for (size_t i = 0; i < n; i++) {
		if (!pf_serve(pf, iov[i].addr, iov[i].buf, iov[i].len)) {
			pf->miss[nmiss] = iov[i];
			pf->miss_idx[nmiss++] = i;
		}
	}
	int r = nmiss ? py_mem_readv(p->mem, pf->miss, nmiss) : 0;
	if (r < 0)
		return r;
	size_t got = (size_t)r < nmiss ? pf->miss_idx[r] : n;
	for (size_t i = 0; i < got; i++)
		if (!once || !once[i])
			pf_note(pf, iov[i].addr, iov[i].len);
	return (int)got;
}

static int walk_readv(struct py_proc *p, const struct py_iov *iov, size_t n)
{
	return walk_readv_once(p, iov, n, NULL);
}

static int walk_read(struct py_proc *p, uint64_t addr, void *buf, size_t len)
{
	struct py_iov iov = { addr, buf, len };
	int r = walk_readv(p, &iov, 1);
	if (r < 0)
		return r;
	return r == 1 ? 0 : -EFAULT;
}

/* ---- strings --------------------------------------------------------------------------- */

static void put_utf8(char *out, size_t *len, uint32_t c)
{
	if (c < 0x80) {
		out[(*len)++] = (char)c;
	} else if (c < 0x800) {
		out[(*len)++] = (char)(0xc0 | c >> 6);
		out[(*len)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		out[(*len)++] = (char)(0xe0 | c >> 12);
		out[(*len)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*len)++] = (char)(0x80 | (c & 0x3f));
	} else {
		out[(*len)++] = (char)(0xf0 | c >> 18);
		out[(*len)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		out[(*len)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*len)++] = (char)(0x80 | (c & 0x3f));
	}
}

/* Is type_addr the type named `want`? Answers are remembered: one known-good and one
 * known-bad address per kind. */
static bool is_type(struct py_proc *p, uint64_t type_addr, uint64_t *good, uint64_t *bad,
		    const char *want)
{
	if (!type_addr)
		return false;
	if (*good)
		return type_addr == *good;
	if (type_addr == *bad)
		return false;
	uint64_t name_p;
	char name[16] = { 0 };
	if (py_mem_read(p->mem, type_addr + p->v.type_name, &name_p, 8) == 0 && name_p &&
	    py_mem_read(p->mem, name_p, name, sizeof(name) - 1) == 0 && !strcmp(name, want)) {
		*good = type_addr;
		return true;
	}
	*bad = type_addr;
	return false;
}

/* Decodes the str object at addr into a malloc'd UTF-8 string of at most max_chars
 * characters (longer ones are cut, with "..." appended). NULL when addr is not a compact
 * str object with plausible contents. */
static char *read_str(struct py_proc *p, uint64_t addr, size_t max_chars)
{
	const struct py_offsets *v = &p->v;
	uint8_t head[PY_OBJECT_READ_MAX];
	size_t hlen = v->unicode_compact_size;
	if (!addr || py_mem_read(p->mem, addr, head, hlen) < 0)
		return NULL;
	if (!is_type(p, py_field(v, head, hlen, v->object_type, 8), &p->unicode_type,
		     &p->bad_unicode_type, "str"))
		return NULL;
	int64_t length = (int64_t)py_field(v, head, hlen, v->unicode_length, 8);
	uint32_t state = (uint32_t)py_field(v, head, hlen, v->unicode_state, 4);
	unsigned kind = (state >> v->unicode_kind_shift) & 7;
	bool compact = (state >> v->unicode_compact_bit) & 1, ascii = (state >> v->unicode_ascii_bit) & 1;
	if (length < 0 || !compact || (kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1))
		return NULL;
	size_t n = (size_t)length, cut = n > max_chars ? max_chars : n;
	uint64_t data = addr + (ascii ? v->unicode_ascii_size : v->unicode_compact_size);
	uint8_t *raw = malloc(cut * kind + 1);
	char *out = malloc(cut * 4 + 4);
	if (!raw || !out || (cut && py_mem_read(p->mem, data, raw, cut * kind) < 0))
		goto bad;
	size_t len = 0;
	for (size_t i = 0; i < cut; i++) {
		uint32_t c;
		if (kind == 1) {
			c = raw[i];
		} else if (kind == 2) {
			uint16_t x;
			memcpy(&x, raw + 2 * i, 2);
			c = x;
		} else {
			memcpy(&c, raw + 4 * i, 4);
		}
		/* The kind is the narrowest that holds every character, and text has no NUL,
		 * surrogate or out-of-range code point: anything else is not a name. */
		if (c == 0 || (ascii && c >= 0x80) || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
			goto bad;
		put_utf8(out, &len, c);
	}
	if (cut < n) {
		memcpy(out + len, "...", 3);
		len += 3;
	}
	out[len] = '\0';
	free(raw);
	return out;
bad:
	free(raw);
	free(out);
	return NULL;
}

/* ---- code objects ---------------------------------------------------------------------- */

static uint64_t hash_addr(uint64_t a)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdULL;
	a ^= a >> 33;
	return a;
}

static int code_table_grow(struct py_proc *p)
{
	size_t n = p->nslots ? p->nslots * 2 : 1024;
	struct py_code_entry **s = calloc(n, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < p->nslots; i++) {
		struct py_code_entry *e = p->slots[i];
		if (!e)
			continue;
		size_t k = hash_addr(e->addr) & (n - 1);
		while (s[k])
			k = (k + 1) & (n - 1);
		s[k] = e;
	}
	free(p->slots);
	p->slots = s;
	p->nslots = n;
	return 0;
}

/* The slot for addr: the entry, or the empty slot where it goes. */
static struct py_code_entry **code_slot(struct py_proc *p, uint64_t addr)
{
	size_t k = hash_addr(addr) & (p->nslots - 1);
	while (p->slots[k] && p->slots[k]->addr != addr)
		k = (k + 1) & (p->nslots - 1);
	return &p->slots[k];
}

#define MAX_CODES (1u << 22)

/* The entry decoded at addr, or NULL. Entries live as long as p (replaced ones too). */
static const struct py_code_entry *code_entry(struct py_proc *p, uint64_t addr)
{
	return p->nslots ? *code_slot(p, addr) : NULL;
}

/* Does buf, holding bytes code_lo..code_hi of the object at e's address, still name what e
 * was decoded from? */
static bool code_unchanged(const struct py_proc *p, const struct py_code_entry *e,
			   const uint8_t *buf)
{
	const struct py_offsets *v = &p->v;
	size_t len = p->code_read;
	return e->name_p == py_field(v, buf, len, v->code_name, 8) &&
	       e->qualname_p == py_field(v, buf, len, v->code_qualname, 8) &&
	       e->filename_p == py_field(v, buf, len, v->code_filename, 8) &&
	       e->firstlineno == (int32_t)py_field(v, buf, len, v->code_firstlineno, 4);
}

/* The code object at addr, whose first code_read bytes are in buf. NULL when it is not a
 * code object with readable names (the thread's sample is dropped). */
static const struct py_code *resolve_code(struct py_proc *p, uint64_t addr, const uint8_t *buf,
					  int *ret_err)
{
	const struct py_offsets *v = &p->v;
	size_t len = p->code_read;
	uint64_t type = py_field(v, buf, len, v->object_type, 8);
	uint64_t name_p = py_field(v, buf, len, v->code_name, 8);
	uint64_t qual_p = py_field(v, buf, len, v->code_qualname, 8);
	uint64_t file_p = py_field(v, buf, len, v->code_filename, 8);
	int32_t line = (int32_t)py_field(v, buf, len, v->code_firstlineno, 4);
	*ret_err = -EAGAIN;
	if ((p->nused + 1) * 2 > p->nslots && code_table_grow(p) < 0) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	struct py_code_entry **slot = code_slot(p, addr), *e = *slot;
	if (e && e->type == type && e->name_p == name_p && e->qualname_p == qual_p &&
	    e->filename_p == file_p && e->firstlineno == line)
		return &e->code;
	if (!is_type(p, type, &p->code_type, &p->bad_code_type, "code"))
		return NULL;
	if (p->ncodes >= MAX_CODES) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	char *name = read_str(p, name_p, PY_MAX_NAME);
	char *qual = qual_p ? read_str(p, qual_p, PY_MAX_NAME) : NULL;
	char *file = read_str(p, file_p, PY_MAX_PATH);
	struct py_code_entry *n = calloc(1, sizeof(*n));
	if (!name || !file || (qual_p && !qual) || !n || line < 0) {
		free(name), free(qual), free(file), free(n);
		return NULL;
	}
	if (p->ncodes == p->capcodes) {
		size_t cap = p->capcodes ? p->capcodes * 2 : 256;
		void *c = realloc(p->codes, cap * sizeof(*p->codes));
		if (!c) {
			free(name), free(qual), free(file), free(n);
			*ret_err = -ENOMEM;
			return NULL;
		}
		p->codes = c;
		p->capcodes = cap;
	}
	n->addr = addr;
	n->type = type;
	n->name_p = name_p;
	n->qualname_p = qual_p;
	n->filename_p = file_p;
	n->firstlineno = line;
	n->code = (struct py_code){ .name = name, .qualname = qual ? qual : name,
				    .filename = file, .firstlineno = line,
				    .id = (uint32_t)p->ncodes };
	p->codes[p->ncodes++] = n;
	if (!e)
		p->nused++;
	*slot = n; /* a replaced entry stays in p->codes: callers may hold its pointer */
	return &n->code;
}

/* ---- the walk -------------------------------------------------------------------------- */

static bool plausible_ptr(uint64_t a)
{
	/* User space, 8-byte aligned (every object and frame is). */
	return a >= 4096 && a < (1ULL << 47) && (a & 7) == 0;
}

/* Collects the code object addresses of one thread's frames, innermost first. */
static int collect_frames(struct py_proc *p, uint64_t frame, size_t *ret_n, bool *ret_trunc)
{
	const struct py_offsets *v = &p->v;
	uint8_t buf[PY_OBJECT_READ_MAX];
	size_t n = 0;
	*ret_trunc = false;
	for (size_t steps = 0; frame; steps++) {
		/* Shim frames are skipped, not counted: bound the steps too (a cycle). */
		if (steps >= 2 * PY_MAX_DEPTH || !plausible_ptr(frame))
			return -EAGAIN;
		if (p->budget == 0)
			return -EAGAIN;
		p->budget--;
		if (n == PY_MAX_DEPTH) {
			*ret_trunc = true;
			break;
		}
		int r = walk_read(p, frame, buf, p->frame_read);
		if (r < 0)
			return r == -EFAULT ? -EAGAIN : r;
		uint64_t code = py_field(v, buf, p->frame_read, v->frame_code, 8);
		uint64_t prev = py_field(v, buf, p->frame_read, v->frame_previous, 8);
		bool shim = v->frame_owner != PY_OFF_NONE && v->owner_cstack != PY_OFF_NONE &&
			    py_field(v, buf, p->frame_read, v->frame_owner, 1) == v->owner_cstack;
		if (!shim) {
			if (!plausible_ptr(code))
				return -EAGAIN;
			p->frame_code[n++] = code;
		}
		if (prev == frame)
			return -EAGAIN;
		frame = prev;
	}
	*ret_n = n;
	return 0;
}

/* The code objects of the frames. One decoded before is read again to see that it is still
 * the same object, but only from its first line to its names: the first bytes hold its
 * reference count, which the target writes at every call of the function, and a read
 * there costs both processes a cache line moved between CPUs. Its type was checked when
 * it was decoded; the four pointers and the line number must all match again. A new one
 * is read whole, and only once: the next walk's prefetch takes the part it will read. */
static int resolve_frames(struct py_proc *p, size_t n)
{
	const struct py_code_entry *known[PY_MAX_DEPTH];
	bool whole[PY_MAX_DEPTH];
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = p->code_buf + i * p->code_read;
		known[i] = code_entry(p, p->frame_code[i]);
		whole[i] = !known[i];
		size_t off = known[i] ? p->code_lo : 0;
		size_t len = known[i] ? p->code_hi - p->code_lo : p->code_read;
		p->iov[i] = (struct py_iov){ p->frame_code[i] + off, buf + off, len };
	}
	int got = n ? walk_readv_once(p, p->iov, n, whole) : 0;
	if (got < 0)
		return got;
	if ((size_t)got < n)
		return -EAGAIN;
	for (size_t i = 0; i < n; i++) {
		int err;
		uint64_t addr = p->frame_code[i];
		uint8_t *buf = p->code_buf + i * p->code_read;
		if (known[i] && code_unchanged(p, known[i], buf)) {
			p->frames[i] = &known[i]->code;
			continue;
		}
		if (known[i]) {
			/* Another object at a known address: decode it afresh. */
			struct py_iov iov = { addr, buf, p->code_read };
			bool once = true;
			if ((err = walk_readv_once(p, &iov, 1, &once)) < 0)
				return err;
			if (err < 1)
				return -EAGAIN;
		}
		p->frames[i] = resolve_code(p, addr, buf, &err);
		if (!p->frames[i])
			return err;
	}
	return 0;
}

/* The current frame of a thread state held in ts (tstate_read bytes). */
static int current_frame(struct py_proc *p, const uint8_t *ts, uint64_t *ret)
{
	const struct py_offsets *v = &p->v;
	uint64_t f = py_field(v, ts, p->tstate_read, v->tstate_frame, 8);
	if (v->frames == PY_FRAMES_CFRAME && f) {
		if (!plausible_ptr(f))
			return -EAGAIN;
		uint64_t cf = f;
		int r = walk_read(p, cf + v->cframe_current_frame, &f, 8);
		if (r < 0)
			return r == -EFAULT ? -EAGAIN : r;
	}
	*ret = f;
	return 0;
}

static pid_t thread_tid(struct py_proc *p, const uint8_t *ts, uint64_t thread_id)
{
	const struct py_offsets *v = &p->v;
	if (v->tstate_native_thread_id != PY_OFF_NONE)
		return (pid_t)py_field(v, ts, p->tstate_read, v->tstate_native_thread_id, 4);
	if (!p->tid_offset || !plausible_ptr(thread_id))
		return 0;
	int32_t tid = 0;
	if (walk_read(p, thread_id + p->tid_offset, &tid, 4) < 0 || tid <= 0)
		return 0;
	return tid;
}

/* How long the first interpreter's address is taken as known while it is the main one. */
#define PY_HEAD_RECHECK_NS 10000000u

static uint64_t coarse_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The first interpreter (interpreters.head). The main interpreter lives as long as the
 * runtime, so while the head is the main one its address is kept for PY_HEAD_RECHECK_NS:
 * one remote range less per walk, and a subinterpreter started meanwhile is found that
 * much later. A walk that drops a thread, or fails, reads it again next time. Once a
 * subinterpreter has been seen, the head is read at every walk, through the prefetch. */
static int first_interp(struct py_proc *p, uint64_t *ret)
{
	const struct py_offsets *v = &p->v;
	uint64_t now = p->live ? coarse_now_ns() : 0;
	if (p->head_cache && now - p->head_read_ns < PY_HEAD_RECHECK_NS) {
		*ret = p->head_cache;
		return 0;
	}
	uint64_t at = p->info.runtime + v->runtime_interpreters_head;
	bool pair = p->live && !p->head_multi &&
		    v->runtime_interpreters_main == v->runtime_interpreters_head + 8;
	if (!pair) {
		int r = walk_read(p, at, ret, 8);
		return r == -EFAULT ? -EAGAIN : r;
	}
	/* head and main side by side (every known layout): one range, read past the prefetch,
	 * as the next walks will not read it. */
	uint64_t hm[2] = { 0, 0 };
	int r = py_mem_read(p->mem, at, hm, 16);
	if (r < 0)
		return r == -EFAULT ? -EAGAIN : r;
	p->head_cache = hm[0] == hm[1] ? hm[0] : 0;
	p->head_multi = hm[0] && !p->head_cache;
	p->head_read_ns = now;
	*ret = hm[0];
	return 0;
}

static int walk_interpreters(struct py_proc *p, py_thread_fn fn, void *userdata);

int py_frame_walk(struct py_proc *p, py_thread_fn fn, void *userdata)
{
	p->budget = PY_WALK_BUDGET;
	p->walk_dropped = false;
	int r = pf_begin(p);
	if (r == 0)
		r = walk_interpreters(p, fn, userdata);
	if (r < 0 || p->walk_dropped)
		p->head_cache = 0;
	return r;
}

static int walk_interpreters(struct py_proc *p, py_thread_fn fn, void *userdata)
{
	const struct py_offsets *v = &p->v;
	uint64_t interp;
	int r = first_interp(p, &interp);
	if (r < 0)
		return r;
	/* Until the threads exist (a process just launched), a bounded number of tries. */
	if (p->live && !p->tid_calibrated && v->tstate_native_thread_id == PY_OFF_NONE &&
	    p->calibrations++ < 1000)
		py_calibrate_tid(p);
	int nthreads = 0;
	for (int ni = 0; interp && ni < PY_MAX_INTERPRETERS; ni++) {
		if (!plausible_ptr(interp))
			return -EAGAIN;
		uint64_t head, next;
		struct py_iov iov[2] = { { interp + v->interp_threads_head, &head, 8 },
					 { interp + v->interp_next, &next, 8 } };
		r = walk_readv(p, iov, 2);
		if (r < 0)
			return r;
		if (r < 2)
			return -EAGAIN;
		uint64_t tstate = head;
		for (int nt = 0; tstate; nt++) {
			uint8_t ts[PY_OBJECT_READ_MAX];
			if (nt >= PY_MAX_THREADS || !plausible_ptr(tstate))
				return -EAGAIN;
			r = walk_read(p, tstate, ts, p->tstate_read);
			if (r < 0)
				return r == -EFAULT ? -EAGAIN : r;
			/* A thread state that is not (or no longer) this interpreter's: the list
			 * changed while we read it. */
			if (py_field(v, ts, p->tstate_read, v->tstate_interp, 8) != interp)
				return -EAGAIN;
			uint64_t thread_id = py_field(v, ts, p->tstate_read, v->tstate_thread_id, 8);
			uint64_t tnext = py_field(v, ts, p->tstate_read, v->tstate_next, 8);
			struct py_thread t = { .tstate = tstate, .thread_id = thread_id,
					       .tid = thread_tid(p, ts, thread_id),
					       .only = ni == 0 && nt == 0 && !tnext && !next,
					       .frames = p->frames };
			uint64_t frame = 0;
			size_t n = 0;
			r = current_frame(p, ts, &frame);
			if (r == 0)
				r = collect_frames(p, frame, &n, &t.truncated);
			if (r == 0)
				r = resolve_frames(p, n);
			if (r == -ESRCH || r == -ENOMEM || errno_is_privilege(r))
				return r;
			if (r < 0) {
				t.status = -EAGAIN;
				p->walk_dropped = true;
			} else {
				t.nframes = n;
			}
			r = fn(userdata, &t);
			if (r < 0)
				return r;
			nthreads++;
			tstate = tnext;
		}
		interp = next;
	}
	return nthreads;
}

/* ---- the object ------------------------------------------------------------------------ */

struct py_proc *py_proc_free(struct py_proc *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->ncodes; i++) {
		struct py_code_entry *e = p->codes[i];
		if (e->code.qualname != e->code.name)
			free((char *)e->code.qualname);
		free((char *)e->code.name);
		free((char *)e->code.filename);
		free(e);
	}
	free(p->codes);
	free(p->slots);
	free(p->code_buf);
	free(p->iov);
	free(p->pf);
	free(p);
	return NULL;
}

int py_proc_from_mem(struct py_mem *mem, uint32_t version_hex, uint64_t runtime,
		     uint64_t code_type, uint64_t unicode_type, uint32_t pthread_tid_offset,
		     const struct pk_log *log, struct py_proc **ret)
{
	struct py_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->mem = p->own_mem = mem;
	if (log)
		p->log = *log;
	p->info.runtime = runtime;
	p->info.version_hex = version_hex;
	p->info.major = (version_hex >> 24) & 0xff;
	p->info.minor = (version_hex >> 16) & 0xff;
	p->code_type = code_type;
	p->unicode_type = unicode_type;
	p->tid_offset = pthread_tid_offset;
	p->tid_calibrated = true;
	int r = py_proc_init(p, version_hex, p->info.major, p->info.minor);
	if (r < 0) {
		py_proc_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void py_proc_io(const struct py_proc *p, struct py_io *ret)
{
	*ret = (struct py_io){ p->own_mem->calls, p->own_mem->iovecs, p->own_mem->bytes };
}

size_t py_proc_ncodes(const struct py_proc *p) { return p->ncodes; }

const struct py_info *py_proc_info(const struct py_proc *p) { return &p->info; }

void py_proc_snapshot_header(const struct py_proc *p, uint32_t *ret_version_hex,
			     uint64_t *ret_runtime, uint64_t *ret_code_type,
			     uint64_t *ret_unicode_type, uint32_t *ret_tid_offset)
{
	uint32_t vh = p->info.version_hex;
	if (!vh)
		vh = (uint32_t)p->info.major << 24 | (uint32_t)p->info.minor << 16;
	*ret_version_hex = vh;
	*ret_runtime = p->info.runtime;
	*ret_code_type = p->code_type;
	*ret_unicode_type = p->unicode_type;
	*ret_tid_offset = p->tid_offset;
}

void py_proc_set_mem(struct py_proc *p, struct py_mem *mem)
{
	p->mem = mem ? mem : p->own_mem;
	p->head_cache = 0; /* a recording reader must see the walk read the head */
}
