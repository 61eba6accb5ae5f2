/* A growable byte buffer with a sticky allocation error: callers append freely and check
 * sb->failed once, which keeps the row formatters short. */
#ifndef PK_UTIL_STRBUF_H
#define PK_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/macro.h"

struct strbuf {
	char *buf;
	size_t len, cap;
	bool failed; /* an allocation failed; contents are incomplete */
};

#define STRBUF_INIT { 0 }

void sb_add(struct strbuf *sb, const void *data, size_t n);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc_slow(struct strbuf *sb, char c);
/* One byte; inline because the row formatters add a separator per field. */
static inline void sb_addc(struct strbuf *sb, char c)
{
	if (sb->len + 2 <= sb->cap && !sb->failed) {
		sb->buf[sb->len++] = c;
		sb->buf[sb->len] = '\0';
	} else {
		sb_addc_slow(sb, c);
	}
}
void sb_addf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
void sb_add_u64(struct strbuf *sb, uint64_t v);
void sb_add_i64(struct strbuf *sb, int64_t v);
/* A finite double with a fixed number of decimals (0..9), no exponent. */
void sb_add_fixed(struct strbuf *sb, double v, int decimals);
/* A byte count for people: "512 B", "12.3 MiB". */
void sb_add_bytes(struct strbuf *sb, double bytes);
const char *sb_str(struct strbuf *sb); /* NUL-terminated view; "" when empty */
void sb_reset(struct strbuf *sb);
void sb_free(struct strbuf *sb);

#endif
