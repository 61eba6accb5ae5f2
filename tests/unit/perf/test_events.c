/* The event catalogue on a fixture sysfs tree (tests/unit/perf/fixtures/sys): generic,
 * cache, raw, PMU events and formats, tracepoints, suggestions, the lists. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "perf/perf.h"

static struct pk_ctx *fixture_ctx(void)
{
	struct pk_ctx *ctx;
	assert_int_equal(pk_ctx_new(&ctx), 0);
	char root[1024];
	snprintf(root, sizeof(root), "%s/sys", env_dir("PERF_FIXTURES"));
	assert_int_equal(ctx_set_sysfs_root(ctx, root), 0);
	return ctx;
}

/* Resolves one event; returns its info (the set stays alive in *ret_c). */
static const struct pk_counter_info *one(struct pk_ctx *ctx, const char *spec,
					 struct pk_counters **ret_c)
{
	int r = pk_counters_new(ctx, spec, ret_c);
	if (r != 0)
		fail_msg("'%s': %s (%s)", spec, pk_strerror(r), pk_ctx_errmsg(ctx));
	return pk_counters_info(*ret_c, 0);
}

static void expect(struct pk_ctx *ctx, const char *spec, uint32_t type, uint64_t config,
		   enum pk_event_kind kind)
{
	struct pk_counters *c;
	const struct pk_counter_info *i = one(ctx, spec, &c);
	if (i->type != type || i->config != config || i->kind != kind)
		fail_msg("'%s': type %u config %#llx kind %s, expected %u %#llx %s", spec, i->type,
			 (unsigned long long)i->config, pk_event_kind_name(i->kind), type,
			 (unsigned long long)config, pk_event_kind_name(kind));
	assert_int_equal(i->status, PK_STATUS_UNKNOWN);
	pk_counters_free(c);
}

static void expect_error(struct pk_ctx *ctx, const char *spec, int err, const char *words)
{
	struct pk_counters *c = NULL;
	int r = pk_counters_new(ctx, spec, &c);
	if (r != err)
		fail_msg("'%s': got %d (%s), expected %d; message: %s", spec, r, pk_strerror(r), err,
			 pk_ctx_errmsg(ctx));
	assert_null(c);
	if (!strstr(pk_ctx_errmsg(ctx), words))
		fail_msg("'%s': message '%s' lacks '%s'", spec, pk_ctx_errmsg(ctx), words);
}

static void test_generic(void **state)
{
	struct pk_ctx *ctx = fixture_ctx();
	expect(ctx, "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, PK_EVENT_HARDWARE);
	expect(ctx, "cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, PK_EVENT_HARDWARE);
	/* the generic name wins over the fixture cpu PMU's own "instructions" */
	expect(ctx, "instructions", PERF_TYPE_HARDWARE, 1, PK_EVENT_HARDWARE);
	expect(ctx, "PERF_COUNT_HW_BRANCH_MISSES", PERF_TYPE_HARDWARE, 5, PK_EVENT_HARDWARE);
	expect(ctx, "branches", PERF_TYPE_HARDWARE, 4, PK_EVENT_HARDWARE);
	expect(ctx, "cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, PK_EVENT_SOFTWARE);
	expect(ctx, "PERF_COUNT_SW_PAGE_FAULTS_MIN", PERF_TYPE_SOFTWARE, 5, PK_EVENT_SOFTWARE);
	expect(ctx, "Task-Clock", PERF_TYPE_SOFTWARE, 1, PK_EVENT_SOFTWARE);
	expect(ctx, "L1-dcache-load-misses", PERF_TYPE_HW_CACHE, 0x10000, PK_EVENT_CACHE);
	expect(ctx, "LLC-prefetches", PERF_TYPE_HW_CACHE, 0x202, PK_EVENT_CACHE);
	expect(ctx, "PERF_COUNT_HW_CACHE_LL:WRITE:MISS", PERF_TYPE_HW_CACHE, 0x10102,
	       PK_EVENT_CACHE);
	expect(ctx, "node-stores", PERF_TYPE_HW_CACHE, 0x106, PK_EVENT_CACHE);
	expect(ctx, "r1a8", PERF_TYPE_RAW, 0x1a8, PK_EVENT_RAW);
	expect(ctx, "r0xC4", PERF_TYPE_RAW, 0xc4, PK_EVENT_RAW);
	/* no such cache op: L1-icache has no stores */
	expect_error(ctx, "L1-icache-stores", -PK_E_UNKNOWN_EVENT, "unknown event");
	pk_ctx_free(ctx);
}

static void test_clock_units(void **state)
{
	struct pk_ctx *ctx = fixture_ctx();
	struct pk_counters *c;
	const struct pk_counter_info *i = one(ctx, "task-clock", &c);
	assert_string_equal(i->unit, "msec");
	assert_true(i->scale > 0.99e-6 && i->scale < 1.01e-6);
	pk_counters_free(c);
	pk_ctx_free(ctx);
}

static void test_modifier_defaults(void **state)
{
	struct pk_ctx *ctx = fixture_ctx();
	struct pk_counters *c;
	assert_int_equal(pk_counters_new(ctx, "page-faults,cs,cycles:k,task-clock:uk,"
				  "sched:sched_switch,{instructions,branches}:k", &c), 0);
	const struct pk_counter_info *i = pk_counters_info(c, 0);
	assert_true(i->user && !i->kernel); /* user space by default */
	i = pk_counters_info(c, 1);
	assert_true(i->user && i->kernel); /* happens in the kernel: counted there */
	i = pk_counters_info(c, 2);
	assert_true(!i->user && i->kernel);
	i = pk_counters_info(c, 3);
	assert_true(i->user && i->kernel);
	i = pk_counters_info(c, 4);
	assert_true(i->kernel);
	assert_int_equal(pk_counters_info(c, 5)->group, pk_counters_info(c, 6)->group);
	assert_true(!pk_counters_info(c, 6)->user && pk_counters_info(c, 6)->kernel);
	assert_int_equal(pk_counters_ngroups(c), 6);
	assert_null(pk_counters_info(c, 7));
	pk_counters_free(c);
	pk_ctx_free(ctx);
}

static void test_pmu_events(void **state)
{
	struct pk_ctx *ctx = fixture_ctx();
	expect(ctx, "cpu/mem-loads/", 4, 0x1cd, PK_EVENT_PMU);
	expect(ctx, "cpu/cycles-edge/", 4, 0x3c | (1u << 18), PK_EVENT_PMU);
	expect(ctx, "cpu/event=0x3c,umask=0x1,edge,cmask=2/", 4,
	       0x3c | 0x100 | (1u << 18) | (2u << 24), PK_EVENT_PMU);
	expect(ctx, "cpu/mem-loads,umask=0x2/", 4, 0x2cd, PK_EVENT_PMU);
	expect(ctx, "cpu/config=0x1234/", 4, 0x1234, PK_EVENT_PMU);
	expect(ctx, "cas_count_read", 12, 0x0304, PK_EVENT_PMU);

	struct pk_counters *c;
	const struct pk_counter_info *i = one(ctx, "uncore_imc/cas_count_read/", &c);
	assert_string_equal(i->unit, "MiB");
	assert_true(i->scale > 6.1e-5 && i->scale < 6.11e-5);
	assert_string_equal(i->event, "uncore_imc/cas_count_read/");
	pk_counters_free(c);

	/* config1 through a split field */
	assert_int_equal(pk_counters_new(ctx, "cpu/event=1,split=0xabcd1234,name=mine/", &c), 0);
	i = pk_counters_info(c, 0);
	assert_string_equal(i->name, "mine");
	pk_counters_free(c);

	expect_error(ctx, "mem-loads", -PK_E_UNKNOWN_EVENT, "ambiguous");
	expect_error(ctx, "cpu/event=0x100/", -PK_E_SYNTAX, "does not fit");
	expect_error(ctx, "cpu/nope=1/", -PK_E_SYNTAX, "has no term 'nope'");
	expect_error(ctx, "cpu/event=zz/", -PK_E_SYNTAX, "must be a number");
	expect_error(ctx, "gpu/event=1/", -PK_E_UNKNOWN_EVENT, "unknown PMU 'gpu'");
	expect_error(ctx, "{cycles,page-faults", -PK_E_SYNTAX, "unbalanced");
	pk_ctx_free(ctx);
}

static void test_tracepoints(void **state)
{
	struct pk_ctx *ctx = fixture_ctx();
	expect(ctx, "sched:sched_switch", PERF_TYPE_TRACEPOINT, 316, PK_EVENT_TRACEPOINT);
	expect(ctx, "sched:sched_wakeup:k", PERF_TYPE_TRACEPOINT, 317, PK_EVENT_TRACEPOINT);
	expect_error(ctx, "sched:sched_swtich", -PK_E_UNKNOWN_EVENT, "'sched:sched_switch'");
	pk_ctx_free(ctx);

	/* a tree without tracefs: the message says to mount it */
	char dir[] = "/tmp/pk-sysfs-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/bus", dir);
	mkdir(path, 0755);
	assert_int_equal(pk_ctx_new(&ctx), 0);
	assert_int_equal(ctx_set_sysfs_root(ctx, dir), 0);
	expect_error(ctx, "sched:sched_switch", -ENOENT, "tracefs is not mounted");
	pk_ctx_free(ctx);
	rmdir(path);
	rmdir(dir);
}

static void test_suggestions(void **state)
{
	struct pk_ctx *ctx = fixture_ctx();
	expect_error(ctx, "page-fautls", -PK_E_UNKNOWN_EVENT, "did you mean 'page-faults'");
	expect_error(ctx, "instructons", -PK_E_UNKNOWN_EVENT, "'instructions'");
	expect_error(ctx, "PERF_COUNT_HW_INSTRUCTION", -PK_E_UNKNOWN_EVENT,
		     "'PERF_COUNT_HW_INSTRUCTIONS'");
	expect_error(ctx, "zzzzzzzzzzzzzz", -PK_E_UNKNOWN_EVENT, "see 'profkit list'");
	pk_ctx_free(ctx);
	assert_int_equal(edit_distance("kitten", "sitting", 10), 3);
	assert_int_equal(edit_distance("", "abc", 10), 3);
	assert_int_equal(edit_distance("abc", "ABC", 10), 0);
	assert_true(edit_distance("aaaaaaaaaa", "bbbbbbbbbb", 2) > 2);
}

static size_t count_kind(const struct pk_event_list *l, enum pk_event_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < pk_event_list_count(l); i++)
		n += pk_event_list_get(l, i)->kind == k;
	return n;
}

static void test_lists(void **state)
{
	struct pk_ctx *ctx = fixture_ctx();
	struct pk_event_list *l;
	assert_int_equal(pk_event_list_new(ctx, NULL, 0, &l), 0);
	assert_int_equal(count_kind(l, PK_EVENT_CACHE), 32);
	assert_int_equal(count_kind(l, PK_EVENT_HARDWARE), 10);
	assert_int_equal(count_kind(l, PK_EVENT_SOFTWARE), 12);
	assert_int_equal(count_kind(l, PK_EVENT_TRACEPOINT), 2);
	assert_int_equal(count_kind(l, PK_EVENT_PMU), 5);
	assert_int_equal(count_kind(l, PK_EVENT_RAW), 1);
	/* sorted by kind, then name */
	for (size_t i = 1; i < pk_event_list_count(l); i++) {
		const struct pk_event_info *a = pk_event_list_get(l, i - 1), *b = pk_event_list_get(l, i);
		assert_true(a->kind < b->kind || (a->kind == b->kind && strcmp(a->name, b->name) < 0));
		assert_int_equal(b->status, PK_STATUS_UNKNOWN); /* not probed */
	}
	assert_null(pk_event_list_get(l, pk_event_list_count(l)));
	pk_event_list_free(l);

	assert_int_equal(pk_event_list_new(ctx, "cache", 0, &l), 0);
	assert_int_equal(pk_event_list_count(l), 32);
	pk_event_list_free(l);
	assert_int_equal(pk_event_list_new(ctx, "sched:*", 0, &l), 0);
	assert_int_equal(pk_event_list_count(l), 2);
	assert_string_equal(pk_event_list_get(l, 0)->name, "sched:sched_switch");
	assert_string_equal(pk_event_list_get(l, 0)->encoding, "type=2,config=0x13c");
	pk_event_list_free(l);
	assert_int_equal(pk_event_list_new(ctx, "imc", 0, &l), 0);
	assert_int_equal(pk_event_list_count(l), 2);
	pk_event_list_free(l);
	assert_int_equal(pk_event_list_new(ctx, "PAGE_FAULTS", 0, &l), 0);
	assert_int_equal(pk_event_list_count(l), 3); /* page-faults, minor-, major- */
	pk_event_list_free(l);

	struct pk_pmu_list *p;
	assert_int_equal(pk_pmu_list_new(ctx, &p), 0);
	assert_int_equal(pk_pmu_list_count(p), 3);
	const struct pk_pmu_info *cpu = pk_pmu_list_get(p, 0);
	assert_string_equal(cpu->name, "cpu");
	assert_int_equal(cpu->type, 4);
	assert_int_equal(cpu->nevents, 3);
	assert_string_equal(cpu->formats, "cmask=config:24-31,edge=config:18,event=config:0-7,"
			    "split=config1:0-15+32-47,umask=config:8-15");
	assert_string_equal(cpu->cpumask, "");
	assert_string_equal(pk_pmu_list_get(p, 2)->name, "uncore_imc");
	assert_string_equal(pk_pmu_list_get(p, 2)->cpumask, "0");
	assert_null(pk_pmu_list_get(p, 3));
	pk_pmu_list_free(p);
	pk_ctx_free(ctx);
}

static void test_errors_named(void **state)
{
	assert_string_equal(pk_strerror(-PK_E_SYNTAX), "malformed event specification");
	assert_string_equal(pk_strerror(-PK_E_NOT_SUPPORTED), "event not supported on this machine");
	assert_non_null(strstr(pk_strerror(-EACCES), "ermission"));
	assert_non_null(pk_strerror(123456));
	assert_null(pk_ctx_free(NULL));
	assert_null(pk_counters_free(NULL));
	assert_null(pk_event_list_free(NULL));
	assert_string_equal(pk_event_kind_name(PK_EVENT_TRACEPOINT), "tracepoint");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generic),      cmocka_unit_test(test_clock_units),
		cmocka_unit_test(test_modifier_defaults), cmocka_unit_test(test_pmu_events),
		cmocka_unit_test(test_tracepoints),  cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_lists),        cmocka_unit_test(test_errors_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
