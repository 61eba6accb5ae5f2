/* csv_add_field: reading the field back (RFC 4180) gives the input again. */
#include "fuzz.h"

#include <string.h>
#include "output/csv.h"

int fuzz_csv_field(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);
	struct strbuf sb = STRBUF_INIT;
	csv_add_field(&sb, s);
	const char *out = sb_str(&sb);
	size_t len = sb.len;
	if (!s[strcspn(s, ",\"\r\n")]) {
		FUZZ_CHECK(strcmp(out, s) == 0);
	} else {
		FUZZ_CHECK(len >= 2 && out[0] == '"' && out[len - 1] == '"');
		size_t j = 0;
		for (size_t i = 1; i + 1 < len; i++, j++) {
			if (out[i] == '"') { /* quotes inside come doubled */
				FUZZ_CHECK(i + 2 < len && out[i + 1] == '"');
				i++;
			}
			FUZZ_CHECK(out[i] == s[j]);
		}
		FUZZ_CHECK(s[j] == '\0');
	}
	sb_free(&sb);
	free(s);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_csv_field(data, size);
}
#endif
