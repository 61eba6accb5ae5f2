/* Energy: RAPL through a powercap tree built at test time, counter wrap-around, and the
 * "unavailable" reasons. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "proc/energy.h"

#define RANGE_UJ 262143328850ull /* a real package's max_energy_range_uj */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Rewrites a counter in place with a fixed width, so a concurrent reader never sees a
 * truncated (empty) file. */
static void set_counter(const char *path, uint64_t uj)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%020llu\n", (unsigned long long)uj);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, text, (size_t)n, 0), n);
	close(fd);
}

static void zone_path(char *buf, size_t size, const char *root, const char *zone, const char *file)
{
	snprintf(buf, size, "%s/%s/%s", root, zone, file);
}

static void make_zone(const char *root, const char *zone, const char *name, uint64_t uj)
{
	char path[512], text[80];
	snprintf(path, sizeof(path), "%s/%s", root, zone);
	assert_int_equal(mkdir(path, 0755), 0);
	zone_path(path, sizeof(path), root, zone, "name");
	snprintf(text, sizeof(text), "%s\n", name);
	write_text(path, text);
	zone_path(path, sizeof(path), root, zone, "max_energy_range_uj");
	snprintf(text, sizeof(text), "%llu\n", RANGE_UJ);
	write_text(path, text);
	zone_path(path, sizeof(path), root, zone, "energy_uj");
	write_text(path, "");
	set_counter(path, uj);
}

static void set_zone_counter(const char *root, const char *zone, uint64_t uj)
{
	char path[512];
	zone_path(path, sizeof(path), root, zone, "energy_uj");
	set_counter(path, uj);
}

static char *make_root(void)
{
	char tmpl[] = "/tmp/profkit-test-powercap-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	return strdup(tmpl);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void remove_root(char *root)
{
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
}

/* A thread that makes one zone's counter advance, as the hardware would, while
 * energy_open() checks that it does. */
struct ticker {
	char path[512];
	uint64_t start;
	atomic_bool stop;
	pthread_t thread;
};

static void *tick(void *arg)
{
	struct ticker *t = arg;
	for (uint64_t uj = t->start; !atomic_load(&t->stop); uj += 1000) {
		set_counter(t->path, uj);
		nanosleep(&(struct timespec){ .tv_nsec = 200000 }, NULL);
	}
	return NULL;
}

static void open_while_ticking(struct energy *e, const char *root, const char *zone,
			       uint64_t start)
{
	struct ticker t = { .start = start };
	zone_path(t.path, sizeof(t.path), root, zone, "energy_uj");
	atomic_init(&t.stop, false);
	assert_int_equal(pthread_create(&t.thread, NULL, tick, &t), 0);
	energy_open(e, root, "/nonexistent-profkit/power");
	atomic_store(&t.stop, true);
	pthread_join(t.thread, NULL);
}

static struct energy_domain *domain_named(struct energy *e, const char *name)
{
	for (int i = 0; i < e->ndomains; i++)
		if (strcmp(e->dom[i].name, name) == 0)
			return &e->dom[i];
	return NULL;
}

static void test_counter_delta(void **state)
{
	assert_int_equal(energy_counter_delta(100, 150, 0), 50);
	assert_int_equal(energy_counter_delta(100, 100, RANGE_UJ), 0);
	assert_int_equal(energy_counter_delta(900, 100, 1000), 200);
	assert_int_equal(energy_counter_delta(RANGE_UJ - 10, 5, RANGE_UJ), 15);
	assert_int_equal(energy_counter_delta(900, 100, 0), 0); /* no range: no guess */
}

/* Packages and DRAM count; core (inside its package) does not. */
static void test_rapl_domains_and_accumulation(void **state)
{
	char *root = make_root();
	make_zone(root, "intel-rapl:0", "package-0", 5000000);
	make_zone(root, "intel-rapl:0:0", "core", 7000000);
	make_zone(root, "intel-rapl:0:2", "dram", 9000000);
	struct energy e;
	open_while_ticking(&e, root, "intel-rapl:0", 5000000);
	assert_int_equal(e.source, ENERGY_RAPL);
	assert_string_equal(energy_source_name(&e), "Intel RAPL (powercap)");
	assert_int_equal(e.ndomains, 2);
	struct energy_domain *pkg = domain_named(&e, "package-0"), *dram = domain_named(&e, "dram");
	assert_non_null(pkg);
	assert_non_null(dram);
	assert_null(domain_named(&e, "core"));
	assert_int_equal(pkg->range, RANGE_UJ);

	uint64_t pkg_uj = pkg->last + 1000000; /* +1 J */
	set_zone_counter(root, "intel-rapl:0", pkg_uj);
	set_zone_counter(root, "intel-rapl:0:2", 9000000 + 500000); /* +0.5 J */
	set_zone_counter(root, "intel-rapl:0:0", 1); /* ignored */
	double joules = 0;
	assert_int_equal(energy_read(&e, &joules), 0);
	assert_float_equal(joules, 1.5, 1e-9);

	/* The package counter wraps around: it went up to the range and on to 300. */
	set_zone_counter(root, "intel-rapl:0", 300);
	assert_int_equal(energy_read(&e, &joules), 0);
	assert_float_equal(joules, 1.5 + (double)(RANGE_UJ - pkg_uj + 300) * 1e-6, 1e-6);
	assert_int_equal(energy_read(&e, &joules), 0); /* no change, no energy */
	assert_float_equal(joules, 1.5 + (double)(RANGE_UJ - pkg_uj + 300) * 1e-6, 1e-6);
	energy_close(&e);
	remove_root(root);
}

static void test_psys_used_alone(void **state)
{
	char *root = make_root();
	make_zone(root, "intel-rapl:0", "package-0", 1000);
	make_zone(root, "intel-rapl:1", "psys", 2000);
	struct energy e;
	open_while_ticking(&e, root, "intel-rapl:1", 2000);
	assert_int_equal(e.source, ENERGY_RAPL);
	assert_int_equal(e.ndomains, 1);
	assert_string_equal(e.dom[0].name, "psys");
	energy_close(&e);
	remove_root(root);
}

static void test_static_counter_is_unavailable(void **state)
{
	char *root = make_root();
	make_zone(root, "intel-rapl:0", "package-0", 1234);
	struct energy e;
	energy_open(&e, root, "/nonexistent-profkit/power");
	assert_int_equal(e.source, ENERGY_NONE);
	assert_int_equal(e.ndomains, 0);
	assert_non_null(strstr(e.reason, "does not advance"));
	double joules = -1;
	assert_int_equal(energy_read(&e, &joules), -ENODATA);
	assert_true(joules == -1);
	energy_close(&e);
	remove_root(root);
}

static void test_missing_powercap_and_pmu(void **state)
{
	struct energy e;
	energy_open(&e, "/nonexistent-profkit/powercap", "/nonexistent-profkit/power");
	assert_int_equal(e.source, ENERGY_NONE);
	assert_string_equal(energy_source_name(&e), "none");
	assert_non_null(strstr(e.reason, "no /nonexistent-profkit/powercap"));
	assert_non_null(strstr(e.reason, "powercap driver"));
	assert_non_null(strstr(e.reason, "no perf power PMU"));
	energy_close(&e);
}

static void test_empty_powercap_and_unreadable_zone(void **state)
{
	char *root = make_root();
	struct energy e;
	energy_open(&e, root, "/nonexistent-profkit/power");
	assert_non_null(strstr(e.reason, "no RAPL zones under"));
	char path[512];
	snprintf(path, sizeof(path), "%s/intel-rapl:0", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/intel-rapl:0/name", root);
	write_text(path, "package-0\n"); /* but no energy_uj */
	energy_open(&e, root, "/nonexistent-profkit/power");
	assert_int_equal(e.source, ENERGY_NONE);
	assert_non_null(strstr(e.reason, "cannot read"));
	assert_non_null(strstr(e.reason, "energy_uj"));
	remove_root(root);
}

/* A power PMU whose event cannot be opened (a PMU type no kernel has). */
static void test_unusable_perf_pmu(void **state)
{
	char *root = make_root();
	char path[512];
	snprintf(path, sizeof(path), "%s/type", root);
	write_text(path, "2147483000\n");
	snprintf(path, sizeof(path), "%s/events", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/events/energy-pkg", root);
	write_text(path, "event=0x02\n");
	struct energy e;
	energy_open(&e, "/nonexistent-profkit/powercap", root);
	assert_int_equal(e.source, ENERGY_NONE);
	assert_non_null(strstr(e.reason, "perf power PMU has no usable energy event"));
	remove_root(root);
}

/* This machine: whatever it has, energy is either readable or has a reason. */
static void test_this_machine_reports_source_or_reason(void **state)
{
	struct energy e;
	energy_open(&e, NULL, NULL);
	double joules = -1;
	if (e.source == ENERGY_NONE) {
		assert_true(strlen(e.reason) > 0);
		assert_int_equal(energy_read(&e, &joules), -ENODATA);
	} else {
		assert_int_equal(energy_read(&e, &joules), 0);
		assert_true(joules >= 0);
	}
	energy_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_delta),
		cmocka_unit_test(test_rapl_domains_and_accumulation),
		cmocka_unit_test(test_psys_used_alone),
		cmocka_unit_test(test_static_counter_is_unavailable),
		cmocka_unit_test(test_missing_powercap_and_pmu),
		cmocka_unit_test(test_empty_powercap_and_unreadable_zone),
		cmocka_unit_test(test_unusable_perf_pmu),
		cmocka_unit_test(test_this_machine_reports_source_or_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
