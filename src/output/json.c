#include "output/json.h"

#include <math.h>
#include "util/utf8.h"

void json_init(struct json *j, struct strbuf *sb)
{
	*j = (struct json){ .sb = sb };
	j->first[0] = true;
}

static void indent(struct json *j)
{
	sb_addc(j->sb, '\n');
	for (int i = 0; i < j->depth; i++)
		sb_adds(j->sb, "  ");
}

/* Separator and indentation before a value or a key. */
static void before_item(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (!j->first[j->depth])
		sb_addc(j->sb, ',');
	j->first[j->depth] = false;
	indent(j);
}

static void open_(struct json *j, char c)
{
	before_item(j);
	sb_addc(j->sb, c);
	if (j->depth < JSON_MAX_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct json *j, char c)
{
	bool empty = j->first[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (!empty)
		indent(j);
	sb_addc(j->sb, c);
}

void json_begin_object(struct json *j) { open_(j, '{'); }
void json_end_object(struct json *j) { close_(j, '}'); }
void json_begin_array(struct json *j) { open_(j, '['); }
void json_end_array(struct json *j) { close_(j, ']'); }

void json_key(struct json *j, const char *key)
{
	before_item(j);
	json_add_escaped(j->sb, key);
	sb_adds(j->sb, ": ");
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	before_item(j);
	json_add_escaped(j->sb, s);
}

void json_int(struct json *j, int64_t v)
{
	before_item(j);
	sb_add_i64(j->sb, v);
}

void json_double(struct json *j, double v, int decimals)
{
	before_item(j);
	if (!isfinite(v))
		sb_adds(j->sb, "null");
	else
		sb_add_fixed(j->sb, v, decimals);
}

void json_bool(struct json *j, bool v)
{
	before_item(j);
	sb_adds(j->sb, v ? "true" : "false");
}

void json_null(struct json *j)
{
	before_item(j);
	sb_adds(j->sb, "null");
}

void json_add_escaped(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	sb_addc(sb, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			sb_addc(sb, '\\');
			sb_addc(sb, (char)c);
		} else if (c == '\n') {
			sb_adds(sb, "\\n");
		} else if (c == '\t') {
			sb_adds(sb, "\\t");
		} else if (c == '\r') {
			sb_adds(sb, "\\r");
		} else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
			/* <, >, & escaped too, so the JSON can be embedded in HTML safely. */
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			sb_add(sb, u, 6);
		} else if (c >= 0x80) {
			int n = utf8_seq_len(p);
			/* U+2028 and U+2029 end a line in older JavaScript engines: escaped so the
			 * JSON can sit inside a <script> element. */
			if (n == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
				sb_adds(sb, p[2] == 0xa8 ? "\\u2028" : "\\u2029");
				p += 3;
				continue;
			}
			if (n) {
				sb_add(sb, p, (size_t)n);
				p += n;
				continue;
			}
			sb_adds(sb, "\\ufffd");
		} else {
			sb_addc(sb, (char)c);
		}
		p++;
	}
	sb_addc(sb, '"');
}
