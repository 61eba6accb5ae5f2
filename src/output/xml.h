/* Text for XML, SVG and HTML: whatever bytes a profiled program puts in a name, the
 * output is well-formed UTF-8 that holds only characters XML 1.0 allows, with markup
 * characters as entities. */
#ifndef PK_OUTPUT_XML_H
#define PK_OUTPUT_XML_H

#include <stddef.h>
#include "util/strbuf.h"

/* Appends at most max_chars characters of s (SIZE_MAX: all), escaped for character data
 * and for attribute values in either quote: & < > " ' become entities; an invalid UTF-8
 * byte, a control character (C0 including tab, CR and LF, and DEL) and the non-characters
 * U+FFFE/U+FFFF each become U+FFFD. Returns the number of characters of s that were
 * left out (0 when everything fitted). */
size_t xml_add_escaped(struct strbuf *sb, const char *s, size_t max_chars);
/* The number of characters xml_add_escaped counts in s. */
size_t xml_char_count(const char *s);

#endif
