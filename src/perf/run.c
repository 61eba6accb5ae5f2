/* Running a command with its counters and sampling them every period, on the event loop:
 * a timerfd on absolute CLOCK_MONOTONIC deadlines and the child's pidfd. No signals are
 * touched. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/clock.h"
#include "core/loop.h"
#include "perf/counters-int.h"

struct run {
	struct pk_counters *c;
	struct loop *loop;
	pid_t pid;
	int timerfd;
	uint64_t start, period, tick;
	unsigned flags;
	pk_sample_fn fn;
	void *ud;
	struct pk_count *cur, *prev, *out;
	int result; /* the callback's stop value, or a read error */
	bool exited;
};

static int sample(struct run *r, uint64_t now)
{
	struct pk_counters *c = r->c;
	int e = pk_counters_read(c, r->cur, c->n);
	if (e < 0)
		return e;
	const struct pk_count *give = r->cur;
	if (r->flags & PK_RUN_DELTAS) {
		for (size_t i = 0; i < c->n; i++) {
			struct pk_count *o = &r->out[i];
			o->raw = r->cur[i].raw - r->prev[i].raw;
			o->enabled_ns = r->cur[i].enabled_ns - r->prev[i].enabled_ns;
			o->running_ns = r->cur[i].running_ns - r->prev[i].running_ns;
			o->value = count_scale(o->raw, o->enabled_ns, o->running_ns);
		}
		memcpy(r->prev, r->cur, c->n * sizeof(*r->cur));
		give = r->out;
	}
	return r->fn(r->ud, now - r->start, give, c->n);
}

static void arm(struct run *r, uint64_t now)
{
	uint64_t k = r->tick + 1, next = r->start + k * r->period;
	if (next <= now) { /* late: the next slot still ahead, never a burst */
		k = (now - r->start) / r->period + 1;
		next = r->start + k * r->period;
	}
	r->tick = k;
	struct itimerspec it = { .it_value = { .tv_sec = (time_t)(next / NSEC_PER_SEC),
					       .tv_nsec = (long)(next % NSEC_PER_SEC) } };
	timerfd_settime(r->timerfd, TFD_TIMER_ABSTIME, &it, NULL);
}

static int on_timer(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)events;
	struct run *r = data;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0)
		return 0;
	uint64_t now = clock_mono_ns();
	int s = sample(r, now);
	if (s != 0) {
		r->result = s;
		loop_quit(loop);
		return 0;
	}
	arm(r, now);
	return 0;
}

static int on_child_exit(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)fd, (void)events;
	struct run *r = data;
	r->exited = true;
	loop_quit(loop);
	return 0;
}

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

PK_EXPORT int pk_counters_run(struct pk_counters *c, char *const argv[], uint64_t period_ns,
			      unsigned flags, pk_sample_fn fn, void *userdata, int *ret_status)
{
	if (!c || !argv || !fn)
		return -EINVAL;
	struct run r = { .c = c, .period = period_ns, .flags = flags, .fn = fn, .ud = userdata,
			 .timerfd = -1 };
	int pidfd = -1, e;
	r.cur = calloc(c->n ? c->n : 1, sizeof(*r.cur));
	r.prev = calloc(c->n ? c->n : 1, sizeof(*r.prev));
	r.out = calloc(c->n ? c->n : 1, sizeof(*r.out));
	if (!r.cur || !r.prev || !r.out) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = loop_new(&r.loop)) < 0)
		goto out;
	e = pk_counters_launch(c, argv, (flags & PK_RUN_ALL_EVENTS) ? PK_OPEN_ALL : 0, &r.pid);
	if (e < 0)
		goto out;
	int opened = e;
	r.start = pk_counters_launch_time(c);
	pidfd = (int)syscall(SYS_pidfd_open, r.pid, 0);
	if (pidfd < 0 || loop_add(r.loop, pidfd, EPOLLIN, on_child_exit, &r) < 0) {
		e = ctx_err(c->ctx, pidfd < 0 ? neg_errno() : -ENOMEM, "cannot watch process %d",
			    (int)r.pid);
		kill(r.pid, SIGKILL);
		wait_status(r.pid);
		goto out;
	}
	if (period_ns) {
		r.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (r.timerfd < 0 || loop_add(r.loop, r.timerfd, EPOLLIN, on_timer, &r) < 0) {
			e = ctx_err(c->ctx, -ENOMEM, "cannot create a timer");
			kill(r.pid, SIGKILL);
			wait_status(r.pid);
			goto out;
		}
		arm(&r, r.start);
	}
	e = loop_run(r.loop);
	if (!r.exited) /* stopped by the callback or an error */
		kill(r.pid, SIGKILL);
	int st = wait_status(r.pid);
	if (r.result == 0 && e == 0 && r.exited)
		r.result = sample(&r, clock_mono_ns());
	if (ret_status)
		*ret_status = st;
	e = e < 0 ? e : r.result ? r.result : opened;
out:
	if (r.timerfd >= 0)
		close(r.timerfd);
	if (pidfd >= 0)
		close(pidfd);
	loop_free(r.loop);
	free(r.cur);
	free(r.prev);
	free(r.out);
	return e;
}

struct pk_matrix {
	size_t rows, cols, cap;
	uint64_t *values, *times;
};

static int add_row(void *ud, uint64_t elapsed_ns, const struct pk_count *counts, size_t n)
{
	struct pk_matrix *m = ud;
	if (m->rows == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		uint64_t *v = realloc(m->values, cap * (m->cols ? m->cols : 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->values = v;
		uint64_t *t = realloc(m->times, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		m->times = t;
		m->cap = cap;
	}
	for (size_t i = 0; i < n; i++)
		m->values[m->rows * m->cols + i] = counts[i].value;
	m->times[m->rows++] = elapsed_ns;
	return 0;
}

PK_EXPORT int pk_counters_run_matrix(struct pk_counters *c, char *const argv[],
				     uint64_t period_ns, unsigned flags, struct pk_matrix **ret,
				     int *ret_status)
{
	if (!c || !ret)
		return -EINVAL;
	struct pk_matrix *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cols = c->n;
	int r = pk_counters_run(c, argv, period_ns, flags, add_row, m, ret_status);
	if (r < 0) {
		pk_matrix_free(m);
		return r;
	}
	*ret = m;
	return r;
}

PK_EXPORT size_t pk_matrix_rows(const struct pk_matrix *m) { return m ? m->rows : 0; }
PK_EXPORT size_t pk_matrix_cols(const struct pk_matrix *m) { return m ? m->cols : 0; }
PK_EXPORT const uint64_t *pk_matrix_values(const struct pk_matrix *m)
{
	return m ? m->values : NULL;
}
PK_EXPORT const uint64_t *pk_matrix_times(const struct pk_matrix *m)
{
	return m ? m->times : NULL;
}

PK_EXPORT struct pk_matrix *pk_matrix_free(struct pk_matrix *m)
{
	if (m) {
		free(m->values);
		free(m->times);
		free(m);
	}
	return NULL;
}
