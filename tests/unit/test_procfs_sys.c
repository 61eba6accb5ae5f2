/* Whole-machine /proc parsers: /proc/stat CPU lines, /proc/loadavg, and the cmdline join. */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "proc/procfs.h"

#define MAX_CPUS 8

struct cpus {
	struct cpu_times all, per[MAX_CPUS];
	int n;
};

static int parse_cpus_n(const char *buf, size_t len, struct cpus *c, int max_cpus)
{
	c->n = -1;
	return procfs_parse_cpus(buf, len, &c->all, c->per, max_cpus, &c->n);
}

static int parse_cpus_str(const char *s, struct cpus *c)
{
	size_t len = strlen(s);
	char *buf = dup_exact(s, len);
	int r = parse_cpus_n(buf, len, c, MAX_CPUS);
	free(buf);
	return r;
}

static int parse_last_pid_str(const char *s, pid_t *pid)
{
	size_t len = strlen(s);
	char *buf = dup_exact(s, len);
	int r = procfs_parse_last_pid(buf, len, pid);
	free(buf);
	return r;
}

static void assert_times(const struct cpu_times *t, uint64_t busy, uint64_t total)
{
	assert_int_equal(t->busy, busy);
	assert_int_equal(t->total, total);
}

/* ---- /proc/stat ---- */

static void test_cpus_fixture(void **state)
{
	size_t len;
	char *buf = fixture_read("proc_stat", &len);
	struct cpus c;
	assert_int_equal(parse_cpus_n(buf, len, &c, MAX_CPUS), 0);
	free(buf);
	assert_int_equal(c.n, 2);
	/* busy = total - idle - iowait; guest columns are not added twice */
	assert_times(&c.all, 5472, 133499);
	assert_times(&c.per[0], 2108, 66712);
	assert_times(&c.per[1], 3363, 66784);
	assert_times(&c.per[2], 0, 0);
}

static void test_cpus_offline_cpu_leaves_hole(void **state)
{
	struct cpus c;
	assert_int_equal(parse_cpus_str("cpu  10 0 10 100 0 0 0 0 0 0\n"
					"cpu0 5 0 5 50 0 0 0 0 0 0\n"
					"cpu2 5 0 5 50 0 0 0 0 0 0\n"
					"intr 1 2 3\n",
					&c),
			 0);
	assert_int_equal(c.n, 3);
	assert_times(&c.per[0], 10, 60);
	assert_times(&c.per[1], 0, 0);
	assert_times(&c.per[2], 10, 60);
}

static void test_cpus_more_than_max_are_ignored(void **state)
{
	const char *s = "cpu  1 1 1 1 1 1 1 1\ncpu0 1 1 1 1 1 1 1 1\ncpu5 1 1 1 1 1 1 1 1\n";
	struct cpus c;
	assert_int_equal(parse_cpus_n(s, strlen(s), &c, 2), 0);
	assert_int_equal(c.n, 1);
	assert_times(&c.per[0], 6, 8);
}

/* The kernel prints the cpu lines first: the parser stops at the next line (the intr line
 * alone can be kilobytes), so "cpu" lines after it are not looked at. */
static void test_cpus_stop_after_the_cpu_lines(void **state)
{
	struct cpus c;
	assert_int_equal(parse_cpus_str("cpu  2 2 2 2 2 2 2 2\ncpu0 1 1 1 1 1 1 1 1\n"
					"intr 1 2 3\ncpu1 1 1 1 1 1 1 1 1\nctxt 5\n",
					&c),
			 0);
	assert_int_equal(c.n, 1);
	assert_times(&c.per[0], 6, 8);
	assert_times(&c.per[1], 0, 0);
	/* Before the cpu lines, other lines are skipped. */
	assert_int_equal(parse_cpus_str("x 1\ncpu  2 2 2 2 2 2 2 2\n", &c), 0);
	assert_times(&c.all, 12, 16);
}

static void test_cpus_without_total_line(void **state)
{
	struct cpus c;
	assert_int_equal(parse_cpus_str("", &c), -EBADMSG);
	assert_int_equal(parse_cpus_str("cpu0 1 1 1 1 1 1 1 1\n", &c), -EBADMSG);
	assert_int_equal(parse_cpus_str("cpu  1 1 1 1 1 1 1\n", &c), -EBADMSG); /* 7 columns */
	assert_int_equal(parse_cpus_str("cpu  1 1 1 x 1 1 1 1\n", &c), -EBADMSG);
}

static void test_cpus_truncated(void **state)
{
	struct cpus c;
	/* The total line cut short: no newline, so the last number may be partial. */
	assert_int_equal(parse_cpus_str("cpu  1 1 1 1 1 1 1 1", &c), -EBADMSG);
	/* A per-CPU line cut short is left out. */
	assert_int_equal(parse_cpus_str("cpu  1 1 1 1 1 1 1 1\ncpu0 1 1 1 1 1 1 1 1\ncpu1 2 2 2 2 2 2 2 2",
					&c),
			 0);
	assert_int_equal(c.n, 1);
}

static void test_cpus_sum_overflow_rejected(void **state)
{
	struct cpus c;
	assert_int_equal(parse_cpus_str("cpu  18446744073709551615 1 0 0 0 0 0 0\n", &c), -EBADMSG);
	assert_int_equal(parse_cpus_str("cpu  18446744073709551614 1 0 0 0 0 0 0\n", &c), 0);
	assert_true(c.all.total == UINT64_MAX);
	assert_true(c.all.busy == UINT64_MAX);
}

/* ---- /proc/loadavg ---- */

static void test_last_pid_fixture(void **state)
{
	size_t len;
	char *buf = fixture_read("loadavg", &len);
	pid_t pid = 0;
	assert_int_equal(procfs_parse_last_pid(buf, len, &pid), 0);
	free(buf);
	assert_int_equal(pid, 5480);
}

static void test_last_pid_values(void **state)
{
	pid_t pid = 0;
	assert_int_equal(parse_last_pid_str("0.00 0.01 0.05 1/1 2147483647\n", &pid), 0);
	assert_int_equal(pid, INT32_MAX);
	assert_int_equal(parse_last_pid_str("0.00 0.01 0.05 1/1 0\n", &pid), 0);
	assert_int_equal(pid, 0);
}

static void test_last_pid_bad(void **state)
{
	pid_t pid = 42;
	assert_int_equal(parse_last_pid_str("", &pid), -EBADMSG);
	assert_int_equal(parse_last_pid_str("0.26 0.13\n", &pid), -EBADMSG);
	assert_int_equal(parse_last_pid_str("0.26 0.13 0.06 2/97 54", &pid), -EBADMSG); /* cut */
	assert_int_equal(parse_last_pid_str("0.26 0.13 0.06 2/97 2147483648\n", &pid), -EBADMSG);
	assert_int_equal(parse_last_pid_str("0.26 0.13 0.06 2/97 -5\n", &pid), -EBADMSG);
	assert_int_equal(parse_last_pid_str("0.26 0.13 0.06 2/97 12x\n", &pid), -EBADMSG);
	assert_int_equal(pid, 42);
}

/* ---- cmdline ---- */

static void test_cmdline_join_fixture(void **state)
{
	size_t len;
	char *buf = fixture_read("normal.cmdline", &len);
	char out[64];
	procfs_cmdline_join(buf, len, out, sizeof(out));
	free(buf);
	assert_string_equal(out, "sleep 60");
}

static void test_cmdline_join_edges(void **state)
{
	char out[8];
	procfs_cmdline_join("", 0, out, sizeof(out));
	assert_string_equal(out, "");
	procfs_cmdline_join("a\0\0b\0\0", 6, out, sizeof(out)); /* trailing NULs dropped */
	assert_string_equal(out, "a  b");
	procfs_cmdline_join("abcdefghijkl", 12, out, sizeof(out)); /* cut to fit */
	assert_string_equal(out, "abcdefg");
	out[0] = 'x';
	procfs_cmdline_join("abc", 3, out, 0); /* no room: untouched */
	assert_int_equal(out[0], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpus_fixture),
		cmocka_unit_test(test_cpus_offline_cpu_leaves_hole),
		cmocka_unit_test(test_cpus_more_than_max_are_ignored),
		cmocka_unit_test(test_cpus_stop_after_the_cpu_lines),
		cmocka_unit_test(test_cpus_without_total_line),
		cmocka_unit_test(test_cpus_truncated),
		cmocka_unit_test(test_cpus_sum_overflow_rejected),
		cmocka_unit_test(test_last_pid_fixture),
		cmocka_unit_test(test_last_pid_values),
		cmocka_unit_test(test_last_pid_bad),
		cmocka_unit_test(test_cmdline_join_fixture),
		cmocka_unit_test(test_cmdline_join_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
