#include "input/csv_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "util/macro.h"

/* A hostile line of a million commas must not cost a gigabyte of field slots. */
#define CSV_MAX_FIELDS 65536
#define CSV_MAX_NUMBER 128

/* ---- errors -------------------------------------------------------------------------- */

static int set_error(struct csv_reader *r, int code, uint64_t line, uint64_t col, const char *fmt,
		     ...) _printf_(5, 6);

static int set_error(struct csv_reader *r, int code, uint64_t line, uint64_t col, const char *fmt,
		     ...)
{
	int n;
	if (col)
		n = snprintf(r->error, sizeof(r->error), "%s:%llu:%llu: ", r->name,
			     (unsigned long long)line, (unsigned long long)col);
	else if (line)
		n = snprintf(r->error, sizeof(r->error), "%s:%llu: ", r->name,
			     (unsigned long long)line);
	else
		n = snprintf(r->error, sizeof(r->error), "%s: ", r->name);
	if (n < 0 || (size_t)n >= sizeof(r->error))
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error + n, sizeof(r->error) - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

/* Line and column (1-based) of byte off, counted from the current record's start: errors
 * are rare, so positions are not tracked while parsing. */
static void position_of(const struct csv_reader *r, size_t off, uint64_t *ret_line,
			uint64_t *ret_col)
{
	uint64_t line = r->rec_line;
	size_t line_start = r->rec_start;
	for (size_t i = r->rec_start; i < off && i < r->len; i++)
		if (r->data[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	*ret_line = line;
	*ret_col = off - line_start + 1;
}

static int error_at(struct csv_reader *r, size_t off, const char *what)
{
	uint64_t line, col;
	position_of(r, off, &line, &col);
	return set_error(r, -EINVAL, line, col, "%s", what);
}

/* A field's text for a message: at most 40 bytes, unprintable bytes as '?'. */
static void quote_value(char *out, size_t outsz, const char *s, size_t len)
{
	size_t n = len < 40 ? len : 40, o = 0;
	for (size_t i = 0; i < n && o + 4 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];
		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n < len && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

int csv_reader_field_error(struct csv_reader *r, size_t col, const char *what)
{
	size_t src = col < r->nfields ? r->fields[col].src : r->pos;
	uint64_t line, column;
	position_of(r, src, &line, &column);
	const char *name = col < r->ncols ? r->names[col] : "(extra field)";
	return set_error(r, -EINVAL, line, column, "%s: %s", name, what);
}

/* ---- opening ------------------------------------------------------------------------- */

static int read_all(int fd, char **ret, size_t *ret_len)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			char *p = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = neg_errno();
			free(buf);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int map_file(struct csv_reader *r, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode)) {
		char *buf;
		size_t len;
		int e = read_all(fd, &buf, &len);
		if (e < 0)
			return e;
		r->data = buf;
		r->len = len;
		r->owned = true;
		return 0;
	}
	if (st.st_size == 0)
		return 0;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return neg_errno();
	madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	r->data = p;
	r->len = (size_t)st.st_size;
	r->mapped = r->owned = true;
	return 0;
}

static int read_header(struct csv_reader *r);

static void reader_init(struct csv_reader *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->line = 1;
}

int csv_reader_open(struct csv_reader *r, const char *path)
{
	reader_init(r, path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = neg_errno();
		return set_error(r, e, 0, 0, "cannot open: %s", strerror(-e));
	}
	int e = map_file(r, fd);
	close(fd);
	if (e < 0)
		return set_error(r, e, 0, 0, "cannot read: %s", strerror(-e));
	return read_header(r);
}

int csv_reader_open_mem(struct csv_reader *r, const char *name, const void *data, size_t len)
{
	reader_init(r, name);
	r->data = data;
	r->len = len;
	return read_header(r);
}

void csv_reader_close(struct csv_reader *r)
{
	if (r->owned && r->mapped)
		munmap((void *)r->data, r->len);
	else if (r->owned)
		free((void *)r->data);
	for (size_t i = 0; i < r->ncols; i++)
		free(r->names[i]);
	free(r->names);
	free(r->fields);
	sb_free(&r->scratch);
	r->data = NULL;
	r->names = NULL;
	r->fields = NULL;
	r->ncols = r->nfields = 0;
}

/* ---- records ------------------------------------------------------------------------- */

/* Bytes that end an unquoted field or need a closer look. */
static const bool field_stop[256] = { [','] = true, ['\n'] = true, ['\r'] = true, ['"'] = true };

static int push_field(struct csv_reader *r, size_t src, size_t off, size_t len, bool unescaped)
{
	if (r->nfields == r->fields_cap) {
		if (r->fields_cap >= CSV_MAX_FIELDS)
			return error_at(r, src, "more than 65536 fields in one record");
		size_t cap = r->fields_cap ? r->fields_cap * 2 : 64;
		struct csv_field *f = realloc(r->fields, cap * sizeof(*f));
		if (!f)
			return set_error(r, -ENOMEM, r->rec_line, 0, "out of memory");
		r->fields = f;
		r->fields_cap = cap;
	}
	if (len > UINT32_MAX)
		return error_at(r, src, "field longer than 4 GiB");
	r->fields[r->nfields++] = (struct csv_field){ src, off, (uint32_t)len, unescaped };
	return 0;
}

/* An unquoted field from r->pos; stops at a separator, a line end or the end. */
static int scan_unquoted(struct csv_reader *r)
{
	const unsigned char *d = (const unsigned char *)r->data;
	size_t start = r->pos, p = start;
	for (;;) {
		while (p < r->len && !field_stop[d[p]])
			p++;
		if (p < r->len && d[p] == '"')
			return error_at(r, p, "stray '\"' inside an unquoted field");
		/* A CR not followed by LF is data; the number parser will reject it if it matters. */
		if (p < r->len && d[p] == '\r' && !(p + 1 < r->len && d[p + 1] == '\n')) {
			p++;
			continue;
		}
		break;
	}
	r->pos = p;
	return push_field(r, start, start, p - start, false);
}

/* Copies data[from, to) into the scratch buffer (for a field with doubled quotes). */
static int scratch_add(struct csv_reader *r, size_t from, size_t to)
{
	sb_add(&r->scratch, r->data + from, to - from);
	return r->scratch.failed ? set_error(r, -ENOMEM, r->rec_line, 0, "out of memory") : 0;
}

/* A quoted field from r->pos (at the opening quote). Returns 1 when the file ends inside
 * the quotes. */
static int scan_quoted(struct csv_reader *r)
{
	size_t src = r->pos, seg = src + 1, p = seg;
	size_t soff = r->scratch.len;
	bool unescaped = false;
	r->rec_quoted = true;
	for (;;) {
		const char *q = memchr(r->data + p, '"', r->len - p);
		if (!q) { /* no closing quote: the file ends inside this field */
			if (unescaped && scratch_add(r, seg, r->len) < 0)
				return -ENOMEM;
			r->pos = r->len;
			size_t n = unescaped ? r->scratch.len - soff : r->len - seg;
			int e = push_field(r, src, unescaped ? soff : seg, n, unescaped);
			return e < 0 ? e : 1;
		}
		p = (size_t)(q - r->data);
		if (p + 1 < r->len && r->data[p + 1] == '"') { /* "" is one quote */
			if (scratch_add(r, seg, p + 1) < 0)
				return -ENOMEM;
			unescaped = true;
			p += 2;
			seg = p;
			continue;
		}
		break;
	}
	if (unescaped && scratch_add(r, seg, p) < 0)
		return -ENOMEM;
	size_t n = unescaped ? r->scratch.len - soff : p - seg;
	r->pos = p + 1;
	char c = r->pos < r->len ? r->data[r->pos] : ',';
	if (c != ',' && c != '\n' &&
	    !(c == '\r' && r->pos + 1 < r->len && r->data[r->pos + 1] == '\n'))
		return error_at(r, r->pos, "unexpected character after a closing quote");
	return push_field(r, src, unescaped ? soff : seg, n, unescaped);
}

/* Skips empty lines (LF or CRLF); counts them. */
static void skip_empty_lines(struct csv_reader *r)
{
	while (r->pos < r->len) {
		if (r->data[r->pos] == '\n')
			r->pos++;
		else if (r->data[r->pos] == '\r' && r->pos + 1 < r->len &&
			 r->data[r->pos + 1] == '\n')
			r->pos += 2;
		else
			break;
		r->line++;
	}
}

static uint64_t count_newlines(const char *p, size_t n)
{
	uint64_t c = 0;
	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
		c++;
	return c;
}

/* After a field: a separator (1: another field follows), a line end or the end (0). */
static int end_of_field(struct csv_reader *r)
{
	if (r->pos >= r->len)
		return 0;
	char c = r->data[r->pos];
	if (c == ',') {
		r->pos++;
		return 1;
	}
	r->pos += c == '\r' ? 2 : 1; /* LF or CRLF: the scanners stop only at those */
	r->rec_complete = true;
	return 0;
}

/* A record whose quote never closes and that spans lines is a syntax error, not a killed
 * write: dropping it would silently drop the rest of the file. */
static int check_unclosed_quote(struct csv_reader *r)
{
	const struct csv_field *f = &r->fields[r->nfields - 1];
	if (!memchr(r->data + f->src, '\n', r->len - f->src))
		return 0;
	return error_at(r, f->src, "quoted field is not closed before the end of the file");
}

/* Finding the separators is most of the work of reading a large file, and fields are
 * short: so the stop bytes of 64 bytes at a time become one bit mask (SSE2, which every
 * x86-64 has; a byte loop elsewhere), and each field end is a count of trailing zeros. */
struct stop_cursor {
	const unsigned char *d;
	size_t len;
	size_t base;   /* the mask covers d[base, base + 64) */
	uint64_t mask; /* stop bytes there not returned yet */
};

static uint64_t stop_mask_bytewise(const unsigned char *d, size_t base, size_t len)
{
	uint64_t m = 0;
	for (size_t i = base; i < len && i < base + 64; i++)
		if (field_stop[d[i]])
			m |= 1ULL << (i - base);
	return m;
}

#ifdef __SSE2__
static uint64_t stop_mask(const unsigned char *d, size_t base, size_t len)
{
	if (base + 64 > len)
		return stop_mask_bytewise(d, base, len);
	const __m128i comma = _mm_set1_epi8(','), lf = _mm_set1_epi8('\n');
	const __m128i cr = _mm_set1_epi8('\r'), quote = _mm_set1_epi8('"');
	uint64_t m = 0;
	for (int k = 0; k < 4; k++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(d + base + 16 * k));
		__m128i hit =
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, lf)),
				     _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, quote)));
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(hit) << (16 * k);
	}
	return m;
}
#else
static uint64_t stop_mask(const unsigned char *d, size_t base, size_t len)
{
	return stop_mask_bytewise(d, base, len);
}
#endif

static void cursor_init(struct stop_cursor *c, const unsigned char *d, size_t len, size_t p)
{
	*c = (struct stop_cursor){ d, len, p, stop_mask(d, p, len) };
}

/* The next stop byte, or len. */
static size_t cursor_next(struct stop_cursor *c)
{
	while (!c->mask) {
		if (c->base + 64 >= c->len)
			return c->len;
		c->base += 64;
		c->mask = stop_mask(c->d, c->base, c->len);
	}
	size_t p = c->base + (size_t)__builtin_ctzll(c->mask);
	c->mask &= c->mask - 1;
	return p;
}

/* The common case, a record without quotes, in one tight loop: fields end at ',' and the
 * record at LF or CRLF. 0 when done; 1 when the record needs the general parser (a quote,
 * a lone CR, more fields than there is room for), which then starts it over. */
static int scan_plain_record(struct csv_reader *r)
{
	const unsigned char *d = (const unsigned char *)r->data;
	struct csv_field *f = r->fields;
	size_t p = r->pos, start = p, n = 0;
	bool complete = false;
	struct stop_cursor cur;
	cursor_init(&cur, d, r->len, p);
	for (;;) {
		p = cursor_next(&cur);
		if (n == r->fields_cap || p - start > UINT32_MAX)
			return 1;
		f[n++] = (struct csv_field){ start, start, (uint32_t)(p - start), false };
		if (p >= r->len)
			break;
		if (d[p] == ',') {
			start = ++p;
			continue;
		}
		if (d[p] == '\n' || (d[p] == '\r' && p + 1 < r->len && d[p + 1] == '\n')) {
			p += d[p] == '\r' ? 2 : 1;
			complete = true;
			break;
		}
		return 1;
	}
	r->nfields = n;
	r->pos = p;
	r->rec_complete = complete;
	return 0;
}

int csv_reader_next(struct csv_reader *r)
{
	skip_empty_lines(r);
	if (r->pos >= r->len)
		return 0;
	r->rec_start = r->pos;
	r->rec_line = r->line;
	r->rec_complete = r->rec_quoted = false;
	r->nfields = 0;
	if (scan_plain_record(r) == 0) {
		r->line += r->rec_complete;
		return 1;
	}
	r->nfields = 0;
	r->pos = r->rec_start;
	sb_reset(&r->scratch);
	for (;;) {
		bool at_eof_after_sep = r->nfields > 0 && r->pos >= r->len;
		int e = r->pos < r->len && r->data[r->pos] == '"' ? scan_quoted(r)
								  : scan_unquoted(r);
		if (e < 0)
			return e;
		if (e == 1) {
			e = check_unclosed_quote(r);
			if (e < 0)
				return e;
			break;
		}
		if (at_eof_after_sep || !end_of_field(r))
			break;
	}
	/* Only a quoted field can hold a line end; a plain record holds at most its own. */
	if (r->rec_quoted)
		r->line += count_newlines(r->data + r->rec_start, r->pos - r->rec_start);
	else
		r->line += r->rec_complete;
	return 1;
}

int csv_reader_seek(struct csv_reader *r, size_t off, uint64_t line)
{
	if (off > r->len)
		return set_error(r, -EINVAL, line, 0, "seek past the end of the data");
	r->pos = off;
	r->line = line;
	return 0;
}

int csv_reader_check_width(struct csv_reader *r)
{
	if (r->nfields == r->ncols)
		return 0;
	return set_error(r, -EINVAL, r->rec_line, 0, "%zu fields, but the header has %zu columns",
			 r->nfields, r->ncols);
}

/* ---- the header ---------------------------------------------------------------------- */

static int add_name(struct csv_reader *r, size_t i)
{
	size_t len;
	const char *s = csv_reader_field(r, i, &len);
	if (memchr(s, '\0', len))
		return error_at(r, r->fields[i].src, "NUL byte in the header (not a text file?)");
	for (size_t j = 0; j < r->ncols; j++)
		if (strlen(r->names[j]) == len && !memcmp(r->names[j], s, len)) {
			char shown[64], what[128];
			quote_value(shown, sizeof(shown), s, len);
			snprintf(what, sizeof(what), "column '%s' appears twice in the header",
				 shown);
			return error_at(r, r->fields[i].src, what);
		}
	r->names[r->ncols] = strndup(s, len);
	if (!r->names[r->ncols])
		return set_error(r, -ENOMEM, 1, 0, "out of memory");
	r->ncols++;
	return 0;
}

/* A binary file, or one without line ends, is refused from its first bytes instead of after
 * scanning gigabytes for the end of a "header". */
#define SNIFF_BYTES 65536
#define MAX_HEADER_BYTES (1 << 20)

static int sniff(struct csv_reader *r)
{
	r->rec_start = 0;
	r->rec_line = 1;
	if (!r->len)
		return 0;
	const char *nul = memchr(r->data, '\0', r->len < SNIFF_BYTES ? r->len : SNIFF_BYTES);
	if (nul)
		return error_at(r, (size_t)(nul - r->data), "NUL byte (not a text file?)");
	if (r->len > MAX_HEADER_BYTES && !memchr(r->data, '\n', MAX_HEADER_BYTES))
		return set_error(r, -EINVAL, 1, 0,
				 "no line end in the first MiB (not a CSV file?)");
	return 0;
}

static int read_header(struct csv_reader *r)
{
	int e = sniff(r);
	if (e < 0)
		return e;
	/* A UTF-8 byte order mark, as spreadsheets write. */
	if (r->len >= 3 && !memcmp(r->data, "\xef\xbb\xbf", 3))
		r->pos = 3;
	e = csv_reader_next(r);
	if (e == 0)
		return set_error(r, -ENODATA, 0, 0, "empty file");
	if (e < 0)
		return e;
	r->names = calloc(r->nfields, sizeof(*r->names));
	if (!r->names)
		return set_error(r, -ENOMEM, 1, 0, "out of memory");
	for (size_t i = 0; i < r->nfields; i++) {
		e = add_name(r, i);
		if (e < 0)
			return e;
	}
	return 0;
}

int csv_reader_column(const struct csv_reader *r, const char *name)
{
	for (size_t i = 0; i < r->ncols; i++)
		if (!strcmp(r->names[i], name))
			return (int)i;
	return -1;
}

/* ---- numbers ------------------------------------------------------------------------- */

static const double exact_pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
				      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* The slow path for what the fast one cannot round exactly: strtod on a bounded copy.
 * The syntax was checked already, and profkit never changes LC_NUMERIC, so strtod's
 * decimal point is '.'. */
static int parse_slow(const char *s, size_t len, double *ret)
{
	char buf[CSV_MAX_NUMBER];
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	double v = strtod(buf, NULL);
	if (!isfinite(v))
		return -ERANGE;
	*ret = v;
	return 0;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

struct decimal {
	uint64_t mant; /* the first 19 digits, leading zeros included */
	int kept;      /* digits in mant */
	int dropped;   /* digits after those */
	int scale;     /* the value is mant * 10^scale (before the exponent) */
};

/* The hot loop of every number: no branch but the digit test while the mantissa has room.
 * Leading zeros count against the 19 digits; a number with more goes the slow way. Inlined
 * by force: it runs for every digit of every number. */
__attribute__((always_inline)) static inline size_t take_digits(const char *s, size_t i, size_t len,
								struct decimal *d, bool fraction)
{
	size_t start = i;
	unsigned c;
	while (i < len && d->kept < 19 && (c = (unsigned)(unsigned char)s[i] - '0') <= 9) {
		d->mant = d->mant * 10 + c;
		d->kept++;
		i++;
	}
	size_t taken = i - start;
	while (i < len && (unsigned)(unsigned char)s[i] - '0' <= 9)
		i++;
	size_t extra = i - start - taken;
	d->dropped += (int)(extra > 1000 ? 1000 : extra);
	if (fraction)
		d->scale -= (int)taken;
	else
		d->scale += (int)(extra > 1000 ? 1000 : extra);
	return i;
}

/* Clinger's fast path: a mantissa below 2^53 times an exact power of ten up to 1e22 is one
 * correctly rounded IEEE operation. Every number profkit writes takes it. */
int csv_parse_double(const char *s, size_t len, double *ret)
{
	size_t i = 0;
	bool neg = false;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	struct decimal d = { 0 };
	size_t int_start = i;
	i = take_digits(s, i, len, &d, false);
	size_t ndig = i - int_start;
	if (i < len && s[i] == '.') {
		size_t frac_start = i + 1;
		i = take_digits(s, frac_start, len, &d, true);
		ndig += i - frac_start;
	}
	if (!ndig)
		return -EINVAL;
	uint64_t mant = d.mant;
	int scale = d.scale;
	int exp = 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		bool eneg = false;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			eneg = s[i++] == '-';
		if (i >= len || !is_digit(s[i]))
			return -EINVAL;
		for (; i < len && is_digit(s[i]); i++)
			if (exp < 100000)
				exp = exp * 10 + (s[i] - '0');
		exp = eneg ? -exp : exp;
	}
	if (i != len)
		return -EINVAL;
	int e10 = scale + exp;
	if (d.dropped)
		return parse_slow(s, len, ret);
	if (mant == 0) {
		*ret = neg ? -0.0 : 0.0;
		return 0;
	}
	if (mant > (1ULL << 53) || e10 < -22 || e10 > 22)
		return parse_slow(s, len, ret);
	double v = (double)mant;
	v = e10 < 0 ? v / exact_pow10[-e10] : v * exact_pow10[e10];
	*ret = neg ? -v : v;
	return 0;
}

int csv_reader_number_error(struct csv_reader *r, size_t col, int code)
{
	size_t len;
	const char *s = csv_reader_field(r, col, &len);
	char shown[64], what[128];
	quote_value(shown, sizeof(shown), s, len);
	snprintf(what, sizeof(what),
		 code == -ERANGE ? "'%s' is out of range" : "'%s' is not a number", shown);
	return csv_reader_field_error(r, col, what);
}
