/* The counters on this machine's kernel: software events and tracepoints count for real;
 * hardware events are reported as not supported while the others count. Runs in the build
 * directory of tests/unit/perf, next to perf_workload. */
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "perf/counters-int.h"

static struct pk_ctx *ctx;

/* Whether perf_event_open works here at all (perf's is_supported()): a skip is reported
 * as a skip, never a pass. */
static int setup(void **state)
{
	if (pk_ctx_new(&ctx) < 0)
		return -1;
	struct pk_counters *c;
	if (pk_counters_new(ctx, "task-clock", &c) < 0)
		return -1;
	int r = pk_counters_open_pid(c, 0, 0);
	pk_counters_free(c);
	if (r != 0) {
		fprintf(stderr, "perf_event_open is not usable here: %s\n", pk_ctx_errmsg(ctx));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	pk_ctx_free(ctx);
	return 0;
}

static struct pk_counters *counters(const char *spec)
{
	struct pk_counters *c;
	int r = pk_counters_new(ctx, spec, &c);
	if (r < 0)
		fail_msg("'%s': %s", spec, pk_ctx_errmsg(ctx));
	return c;
}

static void touch_pages(long n)
{
	long psz = sysconf(_SC_PAGESIZE);
	volatile char *p = mmap(NULL, (size_t)(n * psz), PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	for (long i = 0; i < n; i++)
		p[i * psz] = 1;
	munmap((void *)p, (size_t)(n * psz));
}

static void test_self_page_faults(void **state)
{
	struct pk_counters *c = counters("page-faults,minor-faults");
	assert_int_equal(pk_counters_open_pid(c, 0, PK_OPEN_ENABLE), 0);
	struct pk_count v[2];
	assert_int_equal(pk_counters_read(c, v, 2), 0);
	uint64_t before = v[0].value;
	touch_pages(2000);
	assert_int_equal(pk_counters_read(c, v, 2), 0);
	assert_true(v[0].value - before >= 2000);
	assert_true(v[0].value - before < 3 * 2000 + 200); /* ASan shadow pages fault too */
	assert_true(v[1].value >= 2000);
	assert_int_equal(v[0].value, v[0].raw); /* software events are never multiplexed */
	assert_true(v[0].enabled_ns > 0 && v[0].running_ns == v[0].enabled_ns);
	assert_int_equal(pk_counters_info(c, 0)->status, 0);
	pk_counters_free(c);
}

static void test_group(void **state)
{
	struct pk_counters *c = counters("{task-clock,page-faults,context-switches,cpu-migrations}");
	assert_int_equal(pk_counters_open_pid(c, 0, PK_OPEN_ENABLE), 0);
	assert_true(pk_counters_info(c, 0)->leader);
	assert_false(pk_counters_info(c, 1)->leader);
	touch_pages(100);
	struct pk_count v[4];
	assert_int_equal(pk_counters_read(c, v, 4), 0);
	assert_true(v[0].value > 0 && v[1].value >= 100);
	/* one group: the members share the leader's times */
	assert_int_equal(v[0].enabled_ns, v[1].enabled_ns);
	assert_int_equal(v[2].running_ns, v[3].running_ns);
	assert_int_equal(pk_counters_read(c, v, 3), -EINVAL); /* too small */
	pk_counters_free(c);
}

static void test_hardware_not_supported(void **state)
{
	struct pk_counters *c = counters("{cycles,page-faults},instructions,context-switches");
	int r = pk_counters_open_pid(c, 0, PK_OPEN_ENABLE);
	if (r == 0) {
		/* a machine with hardware counters: then they count */
		pk_counters_free(c);
		skip();
	}
	assert_int_equal(r, 2);
	const struct pk_counter_info *cyc = pk_counters_info(c, 0);
	assert_int_equal(cyc->status, -PK_E_NOT_SUPPORTED);
	assert_non_null(strstr(cyc->reason, "not supported on this machine"));
	assert_false(cyc->leader);
	/* page-faults leads the group in its place and counts */
	const struct pk_counter_info *pf = pk_counters_info(c, 1);
	assert_int_equal(pf->status, 0);
	assert_true(pf->leader);
	assert_int_equal(pk_counters_info(c, 2)->status, -PK_E_NOT_SUPPORTED);
	assert_int_equal(pk_counters_info(c, 3)->status, 0);
	touch_pages(500);
	struct pk_count v[4];
	assert_int_equal(pk_counters_read(c, v, 4), 0);
	assert_int_equal(v[0].value, 0);
	assert_int_equal(v[0].enabled_ns, 0);
	assert_true(v[1].value >= 500);
	pk_counters_free(c);

	c = counters("cycles,instructions");
	assert_int_equal(pk_counters_open_pid(c, 0, 0), -PK_E_NO_COUNTERS);
	assert_non_null(strstr(pk_ctx_errmsg(ctx), "not supported on this machine"));
	pk_counters_free(c);
}

static void test_enable_disable_reset(void **state)
{
	struct pk_counters *c = counters("page-faults");
	assert_int_equal(pk_counters_open_pid(c, 0, 0), 0); /* disabled */
	struct pk_count v;
	touch_pages(300);
	assert_int_equal(pk_counters_read(c, &v, 1), 0);
	assert_int_equal(v.value, 0);
	assert_int_equal(pk_counters_enable(c), 0);
	touch_pages(300);
	assert_int_equal(pk_counters_disable(c), 0);
	assert_int_equal(pk_counters_read(c, &v, 1), 0);
	uint64_t counted = v.value;
	assert_true(counted >= 300);
	touch_pages(300);
	assert_int_equal(pk_counters_read(c, &v, 1), 0);
	assert_int_equal(v.value, counted);
	assert_int_equal(pk_counters_reset(c), 0);
	assert_int_equal(pk_counters_read(c, &v, 1), 0);
	assert_int_equal(v.value, 0);
	pk_counters_free(c);
}

static void test_launch_child_pages(void **state)
{
	/* the command forks a child that touches 3000 pages: inherited counters see them */
	struct pk_counters *c = counters("page-faults,task-clock");
	char *argv[] = { "./perf_workload", "0", "0", "0", "3000", NULL };
	pid_t pid;
	assert_int_equal(pk_counters_launch(c, argv, 0, &pid), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct pk_count v[2];
	assert_int_equal(pk_counters_read(c, v, 2), 0);
	assert_true(v[0].value >= 3000);
	assert_true(v[0].value < 3 * 3000 + 2000); /* ASan shadow pages fault too */
	assert_true(v[1].value > 0);
	assert_true(pk_counters_launch_time(c) > 0);
	pk_counters_free(c);

	/* without inheritance the child's faults are not counted */
	c = counters("page-faults");
	assert_int_equal(pk_counters_launch(c, argv, PK_OPEN_NO_INHERIT, &pid), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(pk_counters_read(c, v, 1), 0);
	assert_true(v[0].value < 1000);
	pk_counters_free(c);
}

static void test_launch_fails(void **state)
{
	struct pk_counters *c = counters("page-faults");
	char *argv[] = { "/nonexistent/profkit-test", NULL };
	pid_t pid = 0;
	assert_int_equal(pk_counters_launch(c, argv, 0, &pid), -ENOENT);
	assert_int_equal(pid, 0);
	assert_non_null(strstr(pk_ctx_errmsg(ctx), "command not found"));
	/* the child was reaped */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	pk_counters_free(c);
}

static void test_no_such_pid(void **state)
{
	pid_t pid = 4194000;
	while (kill(pid, 0) == 0)
		pid--;
	struct pk_counters *c = counters("page-faults");
	assert_int_equal(pk_counters_open_pid(c, pid, 0), -ESRCH);
	assert_non_null(strstr(pk_ctx_errmsg(ctx), "no such process"));
	struct pk_count v;
	assert_int_equal(pk_counters_read(c, &v, 1), -PK_E_STATE);
	assert_int_equal(pk_counters_enable(c), -PK_E_STATE);
	pk_counters_free(c);

	c = counters("page-faults");
	assert_int_equal(pk_counters_open_pid(c, 0, 0), 0);
	assert_int_equal(pk_counters_open_pid(c, 0, 0), -PK_E_STATE);
	pk_counters_free(c);
}

struct deltas {
	uint64_t sum[2];
	size_t rows;
	uint64_t last_elapsed;
	bool monotonic;
};

static int add_deltas(void *ud, uint64_t elapsed, const struct pk_count *v, size_t n)
{
	struct deltas *d = ud;
	assert_int_equal(n, 2);
	d->sum[0] += v[0].value;
	d->sum[1] += v[1].value;
	if (d->rows && elapsed < d->last_elapsed)
		d->monotonic = false;
	d->last_elapsed = elapsed;
	d->rows++;
	return 0;
}

static void test_run_deltas_sum_to_total(void **state)
{
	struct pk_counters *c = counters("page-faults,context-switches");
	char *argv[] = { "./perf_workload", "20000", "200", "30", "2000", NULL };
	struct deltas d = { .monotonic = true };
	int status = -1;
	assert_int_equal(pk_counters_run(c, argv, 5 * 1000000ULL, PK_RUN_DELTAS, add_deltas, &d,
					 &status), 0);
	assert_int_equal(status, 0);
	assert_true(d.rows >= 3);
	assert_true(d.monotonic);
	struct pk_count total[2];
	assert_int_equal(pk_counters_read(c, total, 2), 0);
	assert_int_equal(d.sum[0], total[0].value);
	assert_int_equal(d.sum[1], total[1].value);
	assert_true(total[0].value >= 22000);
	assert_true(total[1].value >= 200);
	pk_counters_free(c);
}

static void test_run_matrix(void **state)
{
	struct pk_counters *c = counters("{page-faults,task-clock},cycles");
	char *argv[] = { "./perf_workload", "5000", "100", "0", "0", NULL };
	struct pk_matrix *m;
	int status;
	int r = pk_counters_run_matrix(c, argv, 2 * 1000000ULL, 0, &m, &status);
	assert_true(r >= 0);
	assert_int_equal(status, 0);
	assert_int_equal(pk_matrix_cols(m), 3);
	size_t rows = pk_matrix_rows(m);
	assert_true(rows >= 2);
	const uint64_t *v = pk_matrix_values(m), *t = pk_matrix_times(m);
	for (size_t i = 1; i < rows; i++) {
		assert_true(v[i * 3] >= v[(i - 1) * 3]); /* running totals */
		assert_true(t[i] >= t[i - 1]);
	}
	assert_true(v[(rows - 1) * 3] >= 5000);
	pk_matrix_free(m);
	pk_counters_free(c);
}

static void test_exit_status(void **state)
{
	struct pk_counters *c = counters("page-faults");
	char *argv[] = { "sh", "-c", "exit 7", NULL };
	struct pk_matrix *m;
	int status;
	assert_true(pk_counters_run_matrix(c, argv, 0, 0, &m, &status) >= 0);
	assert_int_equal(status, 7);
	assert_int_equal(pk_matrix_rows(m), 1); /* no period: the final sample only */
	pk_matrix_free(m);
	pk_counters_free(c);
}

static void test_tracepoint(void **state)
{
	struct stat st;
	if (stat("/sys/kernel/tracing/events/sched", &st) != 0 && geteuid() == 0)
		mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
	struct pk_counters *c;
	int r = pk_counters_new(ctx, "sched:sched_switch,context-switches", &c);
	if (r < 0)
		fail_msg("%s", pk_ctx_errmsg(ctx));
	char *argv[] = { "./perf_workload", "0", "50", "0", "0", NULL };
	pid_t pid;
	assert_int_equal(pk_counters_launch(c, argv, 0, &pid), 0);
	waitpid(pid, NULL, 0);
	struct pk_count v[2];
	assert_int_equal(pk_counters_read(c, v, 2), 0);
	assert_true(v[0].value >= 50);
	/* every switch away from the task is both events */
	assert_true(v[0].value + 5 >= v[1].value && v[1].value + 5 >= v[0].value);
	pk_counters_free(c);
}

static void test_cpu_wide(void **state)
{
	if (geteuid() != 0)
		skip();
	struct pk_counters *c = counters("cpu-clock");
	assert_int_equal(pk_counters_open_cpu(c, -1, PK_OPEN_ENABLE), 0);
	struct timespec ts = { 0, 50 * 1000000L };
	nanosleep(&ts, NULL);
	struct pk_count v;
	assert_int_equal(pk_counters_read(c, &v, 1), 0);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	assert_true(v.value >= (uint64_t)(45e6 * (double)ncpu));
	pk_counters_free(c);
}

static void test_scale(void **state)
{
	assert_int_equal(count_scale(100, 200, 100), 200);
	assert_int_equal(count_scale(100, 200, 200), 100);
	assert_int_equal(count_scale(100, 200, 0), 0);
	assert_int_equal(count_scale(UINT64_MAX / 2, 4, 2), UINT64_MAX - 1);
	assert_int_equal(count_scale(UINT64_MAX, 4, 1), UINT64_MAX); /* saturates */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_page_faults),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_hardware_not_supported),
		cmocka_unit_test(test_enable_disable_reset),
		cmocka_unit_test(test_launch_child_pages),
		cmocka_unit_test(test_launch_fails),
		cmocka_unit_test(test_no_such_pid),
		cmocka_unit_test(test_run_deltas_sum_to_total),
		cmocka_unit_test(test_run_matrix),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_tracepoint),
		cmocka_unit_test(test_cpu_wide),
		cmocka_unit_test(test_scale),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
