#include "output/xml.h"

#include <stdint.h>
#include <string.h>
#include "util/utf8.h"

/* Bytes of the next character at p and whether it is kept as is (else U+FFFD). */
static int next_char(const unsigned char *p, int *ret_ok)
{
	int n = utf8_seq_len(p);
	if (n == 0) {
		*ret_ok = 0;
		return 1;
	}
	if (n == 1)
		*ret_ok = p[0] >= 0x20 && p[0] != 0x7f;
	else /* U+FFFE, U+FFFF: EF BF BE, EF BF BF */
		*ret_ok = !(n == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe);
	return n;
}

size_t xml_char_count(const char *s)
{
	size_t count = 0;
	int ok;
	for (const unsigned char *p = (const unsigned char *)s; *p; count++)
		p += next_char(p, &ok);
	return count;
}

size_t xml_add_escaped(struct strbuf *sb, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t count = 0;
	for (; *p && count < max_chars; count++) {
		int ok, n = next_char(p, &ok);
		if (!ok)
			sb_adds(sb, "\xef\xbf\xbd"); /* U+FFFD */
		else if (*p == '&')
			sb_adds(sb, "&amp;");
		else if (*p == '<')
			sb_adds(sb, "&lt;");
		else if (*p == '>')
			sb_adds(sb, "&gt;");
		else if (*p == '"')
			sb_adds(sb, "&quot;");
		else if (*p == '\'')
			sb_adds(sb, "&#39;");
		else
			sb_add(sb, p, (size_t)n);
		p += n;
	}
	return *p ? xml_char_count((const char *)p) : 0;
}
