/* The target set's list of live targets, which a tick walks instead of every target ever
 * seen: order kept, indices right, exited targets out of it but still in `all`. */
#include "unit.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/targets.h"

#define N 5

static pid_t start_sleeper(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		for (;;)
			pause();
	return pid;
}

static void assert_alive(const struct target_set *ts, const pid_t *want, size_t n)
{
	assert_int_equal(ts->nalive, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ts->alive[i]->pid, want[i]);
		assert_int_equal(ts->alive[i]->alive_index, i);
		assert_true(ts->alive[i]->alive);
	}
}

static void test_alive_list(void **state)
{
	struct pk_log log = { 0 };
	struct target_set ts;
	assert_int_equal(targets_init(&ts, RULE_PIDS, &log), 0);
	pid_t pids[N];
	struct target *t[N];
	for (int i = 0; i < N; i++) {
		pids[i] = start_sleeper();
		assert_int_equal(targets_add(&ts, pids[i], false, &t[i]), 0);
	}
	assert_alive(&ts, pids, N);
	struct target *again;
	assert_int_equal(targets_add(&ts, pids[2], false, &again), 0); /* already followed */
	assert_ptr_equal(again, t[2]);
	assert_alive(&ts, pids, N);

	targets_mark_gone(&ts, t[2]); /* the middle one: those after it move down */
	assert_alive(&ts, (pid_t[]){ pids[0], pids[1], pids[3], pids[4] }, N - 1);
	targets_mark_gone(&ts, t[2]); /* twice is once */
	targets_mark_gone(&ts, t[4]); /* the last */
	targets_mark_gone(&ts, t[0]); /* the first */
	assert_alive(&ts, (pid_t[]){ pids[1], pids[3] }, 2);
	assert_int_equal(ts.nall, N); /* the summary still has them all */
	assert_false(t[0]->alive);
	assert_null(targets_find(&ts, pids[0]));
	assert_ptr_equal(targets_find(&ts, pids[3]), t[3]);
	targets_mark_gone(&ts, t[1]);
	targets_mark_gone(&ts, t[3]);
	assert_int_equal(ts.nalive, 0);
	targets_free(&ts);
	for (int i = 0; i < N; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alive_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
