/* A small JSON emitter into a strbuf, pretty-printed, with string escaping that is safe
 * for any bytes a profiled program may put in its name. */
#ifndef PK_OUTPUT_JSON_H
#define PK_OUTPUT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include "util/strbuf.h"

#define JSON_MAX_DEPTH 32

struct json {
	struct strbuf *sb;
	int depth;
	bool first[JSON_MAX_DEPTH];
	bool after_key;
};

void json_init(struct json *j, struct strbuf *sb);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);
void json_int(struct json *j, int64_t v);
void json_double(struct json *j, double v, int decimals); /* NAN/inf -> null */
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* Escape s as a JSON string literal (with quotes). Invalid UTF-8 bytes become U+FFFD. */
void json_add_escaped(struct strbuf *sb, const char *s);

#endif
