/* The event-spec parser ("{a,b}:u,pmu/event=1/") and the sysfs format and term parsers it
 * shares with the PMU reader. */
#include "fuzz.h"

#include <string.h>
#include "perf/format.h"
#include "perf/spec.h"

static void check_spec(const char *s)
{
	struct spec *sp = NULL;
	char err[256];
	if (spec_parse(s, &sp, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(sp->n >= 1 && sp->n <= SPEC_MAX_EVENTS);
	FUZZ_CHECK(sp->ngroups >= 1 && sp->ngroups <= sp->n);
	size_t prev = 0;
	for (size_t i = 0; i < sp->n; i++) {
		const struct spec_event *e = &sp->ev[i];
		FUZZ_CHECK(e->name && e->name[0] && e->text && e->text[0]);
		FUZZ_CHECK(strlen(e->name) <= strlen(e->text));
		FUZZ_CHECK(e->group < sp->ngroups && e->group >= prev);
		FUZZ_CHECK(e->mods.p <= 3);
		FUZZ_CHECK(e->pmu_form || e->terms.n == 0);
		for (size_t t = 0; t < e->terms.n; t++)
			FUZZ_CHECK(e->terms.t[t].key[0] != '\0');
		prev = e->group;
	}
	spec_free(sp);
}

static void check_format(const char *s)
{
	struct pmu_format f;
	if (pmu_format_parse(s, &f) != 0)
		return;
	unsigned w = pmu_format_width(&f);
	FUZZ_CHECK(w >= 1 && w <= 64 && f.word >= 0 && f.word < PMU_CONFIG_WORDS);
	uint64_t cfg[PMU_CONFIG_WORDS] = { 0 };
	uint64_t all = w == 64 ? ~0ULL : (1ULL << w) - 1;
	FUZZ_CHECK(pmu_format_apply(&f, all, cfg) == 0);
	/* every value bit lands somewhere: as many bits set as the field is wide, unless the
	 * ranges overlap */
	FUZZ_CHECK((unsigned)__builtin_popcountll(cfg[f.word]) <= w);
	if (w < 64)
		FUZZ_CHECK(pmu_format_apply(&f, all + 1, cfg) < 0);
}

static void check_terms(const char *s)
{
	struct pmu_terms t;
	if (pmu_terms_parse(s, strlen(s), &t) != 0)
		return;
	for (size_t i = 0; i < t.n; i++) {
		FUZZ_CHECK(t.t[i].key[0] != '\0');
		uint64_t v;
		if (t.t[i].val)
			(void)pmu_parse_u64(t.t[i].val, &v);
	}
	pmu_terms_free(&t);
}

int fuzz_event_spec(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);
	check_spec(s);
	check_format(s);
	check_terms(s);
	struct spec_mods m;
	size_t n = spec_split_mods(s, strlen(s), &m);
	FUZZ_CHECK(n <= strlen(s));
	free(s);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_event_spec(data, size);
}
#endif
