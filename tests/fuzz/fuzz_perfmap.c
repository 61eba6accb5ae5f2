/* perfmap_parse and its lenient twin: the lenient one takes whatever the strict one takes
 * (and more); in an accepted map, every line's start address has a name. */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include "stack/symbolize.h"
#include "stack/symbolize_int.h"

static uint64_t hex_field(const char **p, const char *end)
{
	const char *s = *p;
	uint64_t v = 0;
	if (end - s > 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
		s += 2;
	for (; s < end && *s != ' '; s++)
		v = v << 4 | (uint64_t)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
	while (s < end && *s == ' ')
		s++;
	*p = s;
	return v;
}

int fuzz_perfmap(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct perfmap *m, *lenient;
	size_t bad = 0;
	int r = perfmap_parse(text, size, &m, &bad);
	int rl = perfmap_parse_lenient(text, size, &lenient);
	FUZZ_CHECK(rl == 0 || rl == -ENOMEM);
	if (r < 0) {
		FUZZ_CHECK(r == -ENOMEM || (r == -EINVAL && bad > 0));
		if (rl == 0)
			perfmap_free(lenient);
		return 0;
	}
	if (rl == 0) {
		FUZZ_CHECK(perfmap_count(lenient) == perfmap_count(m));
		perfmap_free(lenient);
	}
	for (size_t pos = 0; pos < size;) {
		const char *s = text + pos, *nl = memchr(s, '\n', size - pos);
		const char *end = nl ? nl : text + size;
		pos = (size_t)(end - text) + (nl ? 1 : 0);
		if (end == s)
			continue;
		uint64_t start = hex_field(&s, end), len = hex_field(&s, end);
		if (len > UINT64_MAX - start)
			len = UINT64_MAX - start; /* what the parser keeps of a wrapping range */
		const char *name = perfmap_lookup(m, start);
		FUZZ_CHECK(len == 0 || (name && name[0]));
	}
	perfmap_lookup(m, UINT64_MAX);
	perfmap_free(m);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_perfmap(data, size);
}
#endif
