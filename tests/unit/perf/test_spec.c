/* The event-spec parser and the sysfs format/term parsers. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "perf/format.h"
#include "perf/spec.h"

static struct spec *parse_ok(const char *text)
{
	struct spec *s = NULL;
	char err[256];
	int r = spec_parse(text, &s, err, sizeof(err));
	if (r != 0)
		fail_msg("'%s' did not parse: %s", text, err);
	return s;
}

static void parse_fails(const char *text, const char *words)
{
	struct spec *s = NULL;
	char err[256];
	int r = spec_parse(text, &s, err, sizeof(err));
	if (r == 0)
		fail_msg("'%s' parsed, expected an error mentioning '%s'", text, words);
	assert_null(s);
	if (!strstr(err, words))
		fail_msg("'%s': error '%s' does not mention '%s'", text, err, words);
	assert_non_null(strstr(err, "column"));
}

static void test_groups_and_order(void **state)
{
	struct spec *s = parse_ok("{instructions,cycles},page-faults,context-switches");
	assert_int_equal(s->n, 4);
	assert_int_equal(s->ngroups, 3);
	assert_string_equal(s->ev[0].name, "instructions");
	assert_string_equal(s->ev[1].name, "cycles");
	assert_int_equal(s->ev[0].group, 0);
	assert_int_equal(s->ev[1].group, 0);
	assert_int_equal(s->ev[2].group, 1);
	assert_int_equal(s->ev[3].group, 2);
	assert_false(s->ev[0].mods.any);
	spec_free(s);
}

static void test_modifiers(void **state)
{
	struct spec *s = parse_ok("cycles:u,page-faults:uk,cs:k,task-clock:ppp,x:HGIDe");
	assert_true(s->ev[0].mods.u && !s->ev[0].mods.k);
	assert_string_equal(s->ev[0].name, "cycles");
	assert_string_equal(s->ev[0].text, "cycles:u");
	assert_true(s->ev[1].mods.u && s->ev[1].mods.k && !s->ev[1].mods.h);
	assert_true(s->ev[2].mods.k && !s->ev[2].mods.u);
	assert_int_equal(s->ev[3].mods.p, 3);
	assert_true(s->ev[4].mods.H && s->ev[4].mods.G && s->ev[4].mods.I && s->ev[4].mods.D &&
		    s->ev[4].mods.e);
	spec_free(s);
	/* group modifiers fill in what members did not say */
	s = parse_ok("{a,b:k}:u");
	assert_true(s->ev[0].mods.u && !s->ev[0].mods.k);
	assert_true(s->ev[1].mods.k && !s->ev[1].mods.u);
	spec_free(s);
}

static void test_colon_names(void **state)
{
	/* tracepoints and libpfm names keep their colons; only a trailing modifier string is
	 * split off */
	struct spec *s = parse_ok("sched:sched_switch,sched:sched_switch:k,"
				  "PERF_COUNT_HW_CACHE_L1D:READ:MISS,perf::PERF_COUNT_SW_CPU_CLOCK:u");
	assert_string_equal(s->ev[0].name, "sched:sched_switch");
	assert_false(s->ev[0].mods.any);
	assert_string_equal(s->ev[1].name, "sched:sched_switch");
	assert_true(s->ev[1].mods.k);
	assert_string_equal(s->ev[2].name, "PERF_COUNT_HW_CACHE_L1D:READ:MISS");
	assert_string_equal(s->ev[3].name, "perf::PERF_COUNT_SW_CPU_CLOCK");
	assert_true(s->ev[3].mods.u);
	spec_free(s);
}

static void test_pmu_form(void **state)
{
	struct spec *s = parse_ok("cpu/event=0x3c,umask=0x00,edge,name=my-cycles/uk,msr/tsc/,"
				  "{cpu/event=1/:u,page-faults}");
	assert_int_equal(s->n, 4);
	assert_true(s->ev[0].pmu_form);
	assert_string_equal(s->ev[0].name, "cpu");
	assert_int_equal(s->ev[0].terms.n, 4);
	assert_string_equal(s->ev[0].terms.t[0].key, "event");
	assert_string_equal(s->ev[0].terms.t[0].val, "0x3c");
	assert_null(s->ev[0].terms.t[2].val);
	assert_string_equal(s->ev[0].terms.t[3].val, "my-cycles");
	assert_true(s->ev[0].mods.u && s->ev[0].mods.k);
	assert_string_equal(s->ev[1].name, "msr");
	assert_string_equal(s->ev[1].terms.t[0].key, "tsc");
	assert_true(s->ev[2].mods.u);
	assert_int_equal(s->ev[2].group, s->ev[3].group);
	spec_free(s);
}

static void test_malformed(void **state)
{
	parse_fails("", "no event");
	parse_fails("a,,b", "missing");
	parse_fails("a,", "missing after ','");
	parse_fails("{a,b", "unbalanced '{'");
	parse_fails("a}", "unbalanced '}'");
	parse_fails("{}", "empty group");
	parse_fails("{a,{b}}", "nested");
	parse_fails("{a,}", "missing before '}'");
	parse_fails("cpu/event=1", "unterminated");
	parse_fails("/event=1/", "PMU name is missing");
	parse_fails("cpu/event=1/x/", "unexpected '/'");
	parse_fails("cpu/=1/", "malformed PMU terms");
	parse_fails("cpu/event=1/:q", "invalid modifiers");
	parse_fails("{a,b}:z", "invalid group modifiers");
	parse_fails("a b", "expected ','");
	parse_fails("page-faults:", "malformed event name");
	parse_fails(":u", "malformed event name");
	parse_fails("a;rm", "unexpected character");
}

static void test_limits(void **state)
{
	char *big = malloc(SPEC_MAX_LEN + 2);
	memset(big, 'a', SPEC_MAX_LEN + 1);
	big[SPEC_MAX_LEN + 1] = '\0';
	struct spec *s = NULL;
	char err[128];
	assert_int_equal(spec_parse(big, &s, err, sizeof(err)), -E2BIG);
	/* 1025 events */
	size_t n = 0;
	for (int i = 0; i <= SPEC_MAX_EVENTS; i++)
		n += (size_t)sprintf(big + n, "%sa", i ? "," : "");
	assert_int_equal(spec_parse(big, &s, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "too many"));
	free(big);
}

static void test_mods_parser(void **state)
{
	struct spec_mods m;
	assert_int_equal(spec_parse_mods("uk", 2, &m), 0);
	assert_int_equal(spec_parse_mods("uu", 2, &m), -EINVAL);
	assert_int_equal(spec_parse_mods("pppp", 4, &m), -EINVAL);
	assert_int_equal(spec_parse_mods("", 0, &m), -EINVAL);
	assert_int_equal(spec_split_mods("cycles:u", 8, &m), 6);
	assert_true(m.u);
	assert_int_equal(spec_split_mods("sched:sched_switch", 18, &m), 18);
	assert_false(m.any);
}

static void test_format(void **state)
{
	struct pmu_format f;
	assert_int_equal(pmu_format_parse("config:0-7\n", &f), 0);
	assert_int_equal(f.word, 0);
	assert_int_equal(pmu_format_width(&f), 8);
	uint64_t cfg[3] = { 0 };
	assert_int_equal(pmu_format_apply(&f, 0x3c, cfg), 0);
	assert_int_equal(cfg[0], 0x3c);
	assert_int_equal(pmu_format_apply(&f, 0x100, cfg), -ERANGE);

	/* split fields scatter the value, low bits first */
	assert_int_equal(pmu_format_parse("config1:0-3,32-35", &f), 0);
	assert_int_equal(f.word, 1);
	assert_int_equal(pmu_format_width(&f), 8);
	memset(cfg, 0, sizeof(cfg));
	assert_int_equal(pmu_format_apply(&f, 0xa5, cfg), 0);
	assert_int_equal(cfg[1], 0x5 | (0xaULL << 32));
	assert_int_equal(cfg[0], 0);

	assert_int_equal(pmu_format_parse("config2:63", &f), 0);
	memset(cfg, 0, sizeof(cfg));
	assert_int_equal(pmu_format_apply(&f, 1, cfg), 0);
	assert_int_equal(cfg[2], 1ULL << 63);

	assert_int_equal(pmu_format_parse("config:0-63", &f), 0);
	assert_int_equal(pmu_format_apply(&f, ~0ULL, cfg), 0);
	assert_int_equal(cfg[0], ~0ULL);

	const char *bad[] = { "config", "config:", "config:8-7", "config:64", "cfg:0-7",
			      "config:0-7,", "config:0-7x", "config:0-40,0-40", "config3:0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pmu_format_parse(bad[i], &f) == 0)
			fail_msg("'%s' parsed as a format", bad[i]);
}

static void test_terms(void **state)
{
	struct pmu_terms t;
	const char *s = "event=0x3c, umask=0x1 ,edge\n";
	assert_int_equal(pmu_terms_parse(s, strlen(s), &t), 0);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.t[1].key, "umask");
	assert_string_equal(t.t[1].val, "0x1");
	assert_string_equal(t.t[2].key, "edge");
	assert_null(t.t[2].val);
	pmu_terms_free(&t);
	assert_int_equal(pmu_terms_parse("a=", 2, &t), -EINVAL);
	assert_int_equal(pmu_terms_parse("a,", 2, &t), -EINVAL);
	assert_int_equal(pmu_terms_parse("a b=1", 5, &t), -EINVAL);
	assert_int_equal(pmu_terms_parse("a=1=2", 5, &t), -EINVAL);

	uint64_t v;
	assert_int_equal(pmu_parse_u64("0x3C", &v), 0);
	assert_int_equal(v, 0x3c);
	assert_int_equal(pmu_parse_u64("18446744073709551615", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(pmu_parse_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(pmu_parse_u64("0x", &v), -EINVAL);
	assert_int_equal(pmu_parse_u64("12a", &v), -EINVAL);
	assert_int_equal(pmu_parse_u64("-1", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups_and_order), cmocka_unit_test(test_modifiers),
		cmocka_unit_test(test_colon_names),     cmocka_unit_test(test_pmu_form),
		cmocka_unit_test(test_malformed),       cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mods_parser),     cmocka_unit_test(test_format),
		cmocka_unit_test(test_terms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
