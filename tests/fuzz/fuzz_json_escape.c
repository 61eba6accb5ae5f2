/* json_add_escaped: whatever the bytes, the output is one valid JSON string literal in
 * well-formed UTF-8, safe to embed in HTML. */
#include "fuzz.h"

#include <string.h>
#include "output/json.h"

/* Length of the well-formed UTF-8 sequence at s (decoded, then range-checked), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	static const uint32_t min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
				 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (n == 0 || n > left)
		return 0;
	uint32_t cp = n == 1 ? s[0] : s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int in_set(unsigned char c, const char *set)
{
	return c && strchr(set, c);
}

static void check_json_string(const unsigned char *p, size_t len)
{
	FUZZ_CHECK(len >= 2 && p[0] == '"' && p[len - 1] == '"');
	for (size_t i = 1; i < len - 1;) {
		FUZZ_CHECK(p[i] >= 0x20 && p[i] != '"' && p[i] != '<' && p[i] != '>' && p[i] != '&');
		if (p[i] == '\\') {
			FUZZ_CHECK(i + 1 < len - 1 && in_set(p[i + 1], "\"\\/bfnrtu"));
			size_t n = p[i + 1] == 'u' ? 6 : 2;
			for (size_t k = 2; k < n; k++)
				FUZZ_CHECK(i + k < len - 1 && in_set(p[i + k], "0123456789abcdef"));
			i += n;
		} else {
			size_t n = utf8_seq(p + i, len - 1 - i);
			FUZZ_CHECK(n > 0);
			i += n;
		}
	}
}

int fuzz_json_escape(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);
	struct strbuf sb = STRBUF_INIT;
	json_add_escaped(&sb, s);
	FUZZ_CHECK(!sb.failed);
	check_json_string((const unsigned char *)sb.buf, sb.len);
	sb_free(&sb);
	free(s);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_json_escape(data, size);
}
#endif
