/* The event loop's timer: it fires once at its deadline (never early), a handler can set
 * the next one, a deadline already passed fires at once, and a loop whose timer is always
 * due still serves its file descriptors. */
#include "unit.h"

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/clock.h"
#include "core/loop.h"
#include "util/macro.h"

struct ticker {
	uint64_t start, period, fired[8];
	int n, want;
};

static void on_tick(struct loop *l, uint64_t now, void *data)
{
	struct ticker *t = data;
	t->fired[t->n++] = now;
	if (t->n == t->want)
		loop_quit(l);
	else
		loop_set_timer(l, t->start + (uint64_t)(t->n + 1) * t->period, on_tick, t);
}

static void test_timer_periodic(void **state)
{
	struct loop *l;
	assert_int_equal(loop_new(&l), 0);
	struct ticker t = { .start = clock_mono_ns(), .period = 5 * NSEC_PER_MSEC, .want = 4 };
	loop_set_timer(l, t.start + t.period, on_tick, &t);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(t.n, 4);
	for (int i = 0; i < 4; i++) {
		uint64_t due = t.start + (uint64_t)(i + 1) * t.period;
		assert_true(t.fired[i] >= due);            /* never early */
		assert_true(t.fired[i] < due + 2 * t.period); /* and not lost */
	}
	loop_free(l);
}

static int quit_on_readable(struct loop *l, int fd, uint32_t events, void *data)
{
	(void)fd, (void)events, (void)data;
	loop_quit(l);
	return 0;
}

static void test_timer_past_and_off(void **state)
{
	struct loop *l;
	assert_int_equal(loop_new(&l), 0);
	struct ticker t = { .start = clock_mono_ns() - NSEC_PER_SEC, .period = 1, .want = 1 };
	loop_set_timer(l, t.start, on_tick, &t); /* passed a second ago: fires at once */
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(t.n, 1);
	/* A timer turned off never fires: the loop ends on the pipe, written 20 ms later. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add(l, p[0], EPOLLIN, quit_on_readable, NULL), 0);
	t.want = 2;
	loop_set_timer(l, clock_mono_ns() + NSEC_PER_MSEC, on_tick, &t);
	loop_set_timer(l, 0, NULL, NULL);
	pid_t writer = fork();
	if (writer == 0) {
		usleep(20000);
		_exit(write(p[1], "x", 1) == 1 ? 0 : 1);
	}
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(t.n, 1);
	int status;
	assert_int_equal(waitpid(writer, &status, 0), writer);
	assert_int_equal(status, 0);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

struct starve {
	int fds_seen, ticks;
};

static void always_due(struct loop *l, uint64_t now, void *data)
{
	struct starve *s = data;
	s->ticks++;
	loop_set_timer(l, now, always_due, s); /* due again at once */
}

static int on_readable(struct loop *l, int fd, uint32_t events, void *data)
{
	struct starve *s = data;
	char c;
	(void)events;
	if (read(fd, &c, 1) == 1)
		s->fds_seen++;
	loop_quit(l);
	return 0;
}

static void test_late_timer_does_not_starve_fds(void **state)
{
	struct loop *l;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_new(&l), 0);
	struct starve s = { 0 };
	assert_int_equal(loop_add(l, p[0], EPOLLIN, on_readable, &s), 0);
	loop_set_timer(l, clock_mono_ns(), always_due, &s);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(s.fds_seen, 1);
	assert_true(s.ticks >= 1);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_periodic),
		cmocka_unit_test(test_timer_past_and_off),
		cmocka_unit_test(test_late_timer_does_not_starve_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
