/* folded_read: whatever the bytes, every line is either read or counted as skipped, and
 * what was read can be written and read back strictly, with the same total weight; the
 * flamegraph of it is one document with our script only. */
#include "fuzz.h"

#include <string.h>
#include "output/flamegraph.h"
#include "output/folded.h"

int fuzz_folded_reader(const uint8_t *data, size_t size)
{
	struct stack_profile *p = NULL, *q = NULL;
	FUZZ_CHECK(stack_profile__new(NULL, &p) == 0);
	struct folded_result res;
	int r = folded_read(p, (const char *)data, size, 0, 0, &res);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(res.stacks + res.skipped <= res.lines);
	FUZZ_CHECK(!res.skipped == !res.first_bad_line);
	FUZZ_CHECK(res.first_bad_line <= res.lines);

	struct strbuf text = STRBUF_INIT;
	FUZZ_CHECK(folded_write(&text, p, 0, true) == 0);
	FUZZ_CHECK(stack_profile__new(NULL, &q) == 0);
	r = folded_read(q, sb_str(&text), text.len, 0, FOLDED_STRICT, &res);
	FUZZ_CHECK(r == 0 && res.skipped == 0);
	FUZZ_CHECK(stack_profile__total(q) == stack_profile__total(p));
	FUZZ_CHECK(stack_profile__nstacks(q) <= stack_profile__nstacks(p) + 1);

	struct strbuf svg = STRBUF_INIT;
	FUZZ_CHECK(flamegraph_write(&svg, p, 0, true, NULL) == 0);
	const char *s = sb_str(&svg), *script = strstr(s, "<script");
	FUZZ_CHECK(script && !strstr(script + 1, "<script"));
	FUZZ_CHECK(strlen(s) == svg.len); /* no NUL inside */

	sb_free(&svg);
	sb_free(&text);
	stack_profile__free(q);
	stack_profile__free(p);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_folded_reader(data, size);
}
#endif
