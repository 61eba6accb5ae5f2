/* proc_maps_parse: a parsed map is sorted and disjoint, every address of a mapping finds
 * it and the gaps find nothing; a rejected one leaves nothing behind. */
#include "fuzz.h"

#include <errno.h>
#include "stack/maps.h"

int fuzz_proc_maps(const uint8_t *data, size_t size)
{
	struct proc_maps m;
	size_t bad = 0;
	int r = proc_maps_parse((const char *)data, size, &m, &bad);
	if (r < 0) {
		FUZZ_CHECK(m.n == 0);
		FUZZ_CHECK(r != -EINVAL || bad > 0);
	}
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < m.n; i++) {
		const struct map_entry *e = &m.v[i];
		FUZZ_CHECK(e->start <= e->end);
		FUZZ_CHECK(i == 0 || m.v[i - 1].end <= e->start);
		FUZZ_CHECK(e->path && map_module_name(e)[0]);
		if (e->start < e->end) {
			FUZZ_CHECK(proc_maps_find(&m, e->start) == e);
			FUZZ_CHECK(proc_maps_find(&m, e->end - 1) == e);
		}
		if (i == 0 || m.v[i - 1].end < e->start)
			FUZZ_CHECK(e->start == 0 || proc_maps_find(&m, e->start - 1) == NULL);
		maps_add_unknown(&sb, &m, e->start);
	}
	maps_add_unknown(&sb, &m, UINT64_MAX);
	FUZZ_CHECK(!sb.failed);
	sb_free(&sb);
	proc_maps_free(&m);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_proc_maps(data, size);
}
#endif
