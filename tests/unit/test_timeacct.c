/* Time accounting of a wall-clock profile: totals per thread, the blocking reasons from
 * kernel and user frames, and roles from thread names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/timeacct.h"

struct fr {
	const char *name;
	enum frame_kind kind;
};

static uint32_t add_stack(struct stack_profile *p, pid_t tid, enum frame_state st,
			  const struct fr *frames, size_t n, uint64_t weight)
{
	uint32_t ids[16], stack;
	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(stack_profile__frame(p, frames[i].name, NULL, frames[i].kind,
						      frames[i].kind == FRAME_MARKER ? STATE_ANY : st,
						      &ids[i]), 0);
	assert_int_equal(stack_profile__stack(p, ids, n, &stack), 0);
	assert_int_equal(stack_profile__add(p, tid, stack, weight), 0);
	return stack;
}

static const struct fr pipe_wait[] = {
	{ "reader", FRAME_MARKER }, { "main", FRAME_USER }, { "read", FRAME_USER },
	{ "entry_SYSCALL_64", FRAME_KERNEL }, { "do_syscall_64", FRAME_KERNEL },
	{ "__x64_sys_read", FRAME_KERNEL }, { "ksys_read", FRAME_KERNEL },
	{ "pipe_read", FRAME_KERNEL }, { "schedule", FRAME_KERNEL }, { "__schedule", FRAME_KERNEL },
};
static const struct fr nap[] = {
	{ "reader", FRAME_MARKER }, { "main", FRAME_USER }, { "sleep_phase", FRAME_USER },
	{ "clock_nanosleep", FRAME_USER }, { "__x64_sys_clock_nanosleep", FRAME_KERNEL },
	{ "hrtimer_nanosleep", FRAME_KERNEL }, { "do_nanosleep", FRAME_KERNEL },
	{ "schedule", FRAME_KERNEL },
};
static const struct fr busy[] = {
	{ "reader", FRAME_MARKER }, { "main", FRAME_USER }, { "compute", FRAME_USER },
};
static const struct fr preempted[] = {
	{ "reader", FRAME_MARKER }, { "main", FRAME_USER }, { "compute", FRAME_USER },
	{ "asm_sysvec_apic_timer_interrupt", FRAME_KERNEL },
	{ "irqentry_exit_to_user_mode", FRAME_KERNEL }, { "schedule", FRAME_KERNEL },
};
static const struct fr preempted_elsewhere[] = {
	{ "reader", FRAME_MARKER }, { "main", FRAME_USER }, { "parse", FRAME_USER },
	{ "asm_sysvec_reschedule_ipi", FRAME_KERNEL },
	{ "irqentry_exit_to_user_mode", FRAME_KERNEL },
};
static const struct fr user_only[] = {
	{ "other", FRAME_MARKER }, { "main", FRAME_USER }, { "poll_loop", FRAME_USER },
};

static struct stack_profile *sample_profile(void)
{
	struct stack_profile *p;
	assert_int_equal(stack_profile__new(NULL, &p), 0);
	add_stack(p, 10, STATE_OFF_CPU, pipe_wait, 10, 700);
	add_stack(p, 10, STATE_OFF_CPU, nap, 8, 300);
	add_stack(p, 10, STATE_ON_CPU, busy, 3, 500);
	add_stack(p, 11, STATE_OFF_CPU, pipe_wait, 10, 50);
	add_stack(p, 11, STATE_OFF_CPU, user_only, 3, 20);
	add_stack(p, 12, STATE_OFF_CPU, preempted, 6, 40);
	add_stack(p, 12, STATE_OFF_CPU, preempted_elsewhere, 5, 2);
	return p;
}

static void test_thread_totals(void **state)
{
	(void)state;
	struct stack_profile *p = sample_profile();
	struct thread_time t = { .tid = 10, .life_us = 2000 };
	timeacct_fill(p, &t);
	assert_int_equal(t.on_us, 500);
	assert_int_equal(t.off_us, 1000);
	assert_true(timeacct_coverage(t.on_us, t.off_us, t.life_us) == 75.0);
	assert_true(timeacct_coverage(1, 1, 0) == 0);
	stack_profile__free(p);
}

static void test_reasons_skip_the_scheduler(void **state)
{
	(void)state;
	struct stack_profile *p = sample_profile();
	struct block_reason *r;
	size_t n;
	char text[256];
	assert_int_equal(timeacct_reasons(p, 10, false, &r, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].us, 700);
	timeacct_reason_text(p, &r[0], text, sizeof(text));
	assert_string_equal(text, "pipe_read in read() from read");
	assert_int_equal(r[1].us, 300);
	timeacct_reason_text(p, &r[1], text, sizeof(text));
	assert_string_equal(text, "do_nanosleep in clock_nanosleep() from clock_nanosleep");
	free(r);

	/* Every thread: the same reason of two threads adds up; no kernel stack still names
	 * the user function. */
	assert_int_equal(timeacct_reasons(p, 0, true, &r, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(r[0].us, 750);
	/* Preemptions are one reason, wherever the thread was running. */
	assert_int_equal(r[2].us, 42);
	timeacct_reason_text(p, &r[2], text, sizeof(text));
	assert_string_equal(text, "preempted (runnable, waiting for a CPU)");
	timeacct_reason_text(p, &r[3], text, sizeof(text));
	assert_string_equal(text, "poll_loop");
	free(r);
	stack_profile__free(p);
}

static void test_reasons_of_nothing(void **state)
{
	(void)state;
	struct stack_profile *p;
	struct block_reason *r;
	size_t n;
	assert_int_equal(stack_profile__new(NULL, &p), 0);
	assert_int_equal(timeacct_reasons(p, 0, true, &r, &n), 0);
	assert_int_equal(n, 0);
	free(r);
	struct block_reason none = { UINT32_MAX, UINT32_MAX, UINT32_MAX, false, 5 };
	char text[32];
	timeacct_reason_text(p, &none, text, sizeof(text));
	assert_string_equal(text, "[no stack]");
	stack_profile__free(p);
}

static void test_roles(void **state)
{
	(void)state;
	assert_string_equal(timeacct_role("python3", true), "main");
	assert_string_equal(timeacct_role("worker-cpu", false), "worker pool");
	assert_string_equal(timeacct_role("ThreadPoolExec", false), "worker pool");
	assert_string_equal(timeacct_role("io-sleeper", false), "I/O");
	assert_string_equal(timeacct_role("GC Thread#0", false), "garbage collector");
	assert_string_equal(timeacct_role("C2 CompilerThre", false), "JIT compiler");
	assert_string_equal(timeacct_role("http-nio-8080", false), "network / event loop");
	assert_string_equal(timeacct_role("log4j-writer", false), "logging");
	assert_string_equal(timeacct_role("disk-flusher", false), "I/O");
	assert_string_equal(timeacct_role("xyzzy", false), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_totals),
		cmocka_unit_test(test_reasons_skip_the_scheduler),
		cmocka_unit_test(test_reasons_of_nothing),
		cmocka_unit_test(test_roles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
