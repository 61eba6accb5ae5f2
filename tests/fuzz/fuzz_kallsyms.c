/* kallsyms_parse: a rejected text names its bad line; in an accepted one, every line with
 * a nonzero address has a name at that address. */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include "stack/symbolize.h"

/* The address at the start of a line that the parser accepted. */
static uint64_t line_address(const char *s, const char *end)
{
	uint64_t v = 0;
	for (; s < end && *s != ' '; s++)
		v = v << 4 | (uint64_t)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
	return v;
}

int fuzz_kallsyms(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct ksym_table *t;
	size_t bad = 0;
	int r = kallsyms_parse(text, size, &t, &bad);
	if (r < 0) {
		FUZZ_CHECK(r == -ENOMEM || (r == -EINVAL && bad > 0));
		return 0;
	}
	for (size_t pos = 0; pos < size;) {
		const char *s = text + pos, *nl = memchr(s, '\n', size - pos);
		const char *end = nl ? nl : text + size;
		pos = (size_t)(end - text) + (nl ? 1 : 0);
		if (end == s)
			continue;
		uint64_t addr = line_address(s, end);
		const char *module = NULL;
		const char *name = ksym_lookup(t, addr, &module);
		FUZZ_CHECK(addr == 0 || (name && name[0] && module));
		FUZZ_CHECK(addr != 0 || !name || strlen(name) > 0);
	}
	FUZZ_CHECK(ksym_lookup(t, 0, NULL) == NULL);
	ksym_lookup(t, UINT64_MAX, NULL);
	ksym_table_free(t);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_kallsyms(data, size);
}
#endif
