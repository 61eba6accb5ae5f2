#include "util/strbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool sb_grow(struct strbuf *sb, size_t extra)
{
	if (sb->failed)
		return false;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + extra + 1) {
		if (cap > SIZE_MAX / 2) {
			sb->failed = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(sb->buf, cap);
	if (!p) {
		sb->failed = true;
		return false;
	}
	sb->buf = p;
	sb->cap = cap;
	return true;
}

/* Room for extra bytes and the NUL; the check is inline, the growing is not. */
static inline bool sb_reserve(struct strbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->cap && !sb->failed)
		return true;
	return sb_grow(sb, extra);
}

void sb_add(struct strbuf *sb, const void *data, size_t n)
{
	if (!sb_reserve(sb, n))
		return;
	memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void sb_adds(struct strbuf *sb, const char *s) { sb_add(sb, s, strlen(s)); }

void sb_addc_slow(struct strbuf *sb, char c) { sb_add(sb, &c, 1); }

void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sb_reserve(sb, (size_t)n)) {
		sb->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

/* Number formatting runs for every column of every row of every tick: two digits per
 * division, written in place, with no temporary and no memcpy. */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
				  "25262728293031323334353637383940414243444546474849"
				  "50515253545556575859606162636465666768697071727374"
				  "75767778798081828384858687888990919293949596979899";

static unsigned count_digits(uint64_t v)
{
	unsigned n = 1;
	for (; v >= 100; v /= 100)
		n += 2;
	return n + (v >= 10);
}

/* Writes exactly n digits of v (zero-padded on the left) ending at end. */
static void put_digits(char *end, uint64_t v, unsigned n)
{
	for (; n >= 2; n -= 2, v /= 100) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * (v % 100), 2);
	}
	if (n)
		*--end = (char)('0' + v % 10);
}

void sb_add_u64(struct strbuf *sb, uint64_t v)
{
	if (!sb_reserve(sb, 20))
		return;
	unsigned n = count_digits(v);
	put_digits(sb->buf + sb->len + n, v, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void sb_add_i64(struct strbuf *sb, int64_t v)
{
	if (v < 0) {
		sb_addc(sb, '-');
		sb_add_u64(sb, (uint64_t)0 - (uint64_t)v);
	} else {
		sb_add_u64(sb, (uint64_t)v);
	}
}

/* Hand-rolled because this runs for several columns of every row of every tick, where
 * snprintf("%.6f") costs several times more. Falls back to it for huge values. */
void sb_add_fixed(struct strbuf *sb, double v, int decimals)
{
	static const uint64_t pow10[] = { 1, 10, 100, 1000, 10000, 100000, 1000000,
					  10000000, 100000000, 1000000000 };
	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	if (!isfinite(v) || fabs(v) >= 9e9) {
		sb_addf(sb, "%.*f", decimals, v);
		return;
	}
	/* sign, 10 integer digits, the point, 9 decimals */
	if (!sb_reserve(sb, 21))
		return;
	char *p = sb->buf + sb->len;
	if (v < 0) {
		*p++ = '-';
		v = -v;
	}
	uint64_t scaled = (uint64_t)llround(v * (double)pow10[decimals]);
	uint64_t ip = scaled / pow10[decimals], fp = scaled % pow10[decimals];
	unsigned n = count_digits(ip);
	put_digits(p + n, ip, n);
	p += n;
	if (decimals) {
		*p++ = '.';
		put_digits(p + decimals, fp, (unsigned)decimals);
		p += decimals;
	}
	sb->len = (size_t)(p - sb->buf);
	*p = '\0';
}

void sb_add_bytes(struct strbuf *sb, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		sb_addf(sb, "%.0f B", bytes);
	else
		sb_addf(sb, "%.1f %s", bytes, units[u]);
}

const char *sb_str(struct strbuf *sb) { return sb->buf ? sb->buf : ""; }

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->failed = false;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	*sb = (struct strbuf)STRBUF_INIT;
}
