/* Off-CPU eBPF (src/bpf) on this machine's kernel, for real (root; a skip otherwise, never
 * a pass): children of this test with known behaviour are followed and their records
 * checked against their own clocks. Built without eBPF (OFFCPU_EBPF 0), only the
 * "unavailable" message is checked. */
#include "unit.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "bpf/offcpu.h"

#define MS 1000000ULL
#define USER_TOP 0x800000000000ULL

/* ---- clocks and workloads (run in the children) -------------------------------------- */

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

__attribute__((noinline)) static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Mostly a plain loop (the clock is read every 100k iterations), so that a preemption
 * lands in this binary's text rather than in the vDSO. */
__attribute__((noinline)) static uint64_t spin_ns(uint64_t ns)
{
	volatile uint64_t x = 0;
	uint64_t end = mono_ns() + ns;
	while (mono_ns() < end)
		for (int i = 0; i < 100000; i++)
			x += (uint64_t)i;
	return x;
}

/* ---- children ------------------------------------------------------------------------ */

/* A forked child that waits for "go" (so that it is followed before it starts), runs a
 * body, and reports through a pipe. */
struct child {
	pid_t pid;
	int go, result;
};

typedef void (*child_body)(int result_fd, void *arg);

static void child_start(struct child *c, child_body body, void *arg)
{
	int go[2], res[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(res), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		char b;
		close(go[1]);
		close(res[0]);
		if (read(go[0], &b, 1) != 1)
			_exit(3);
		body(res[1], arg);
		_exit(0);
	}
	close(go[0]);
	close(res[1]);
	c->go = go[1];
	c->result = res[0];
}

static void child_go(struct child *c)
{
	assert_int_equal(write(c->go, "g", 1), 1);
}

static void child_end(struct child *c, bool kill_it)
{
	int status;
	if (kill_it)
		kill(c->pid, SIGKILL);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	if (!kill_it)
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(c->go);
	close(c->result);
}

static void write_all(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		_exit(4);
}

/* ---- collecting ---------------------------------------------------------------------- */

struct ev {
	pid_t pid, tid;
	uint64_t start, off;
	enum offcpu_how how;
	uint32_t nkernel, valid, stack_size;
	uint64_t kip0, rip, rsp;
	bool stack_has_text; /* a word of the stack copy points into this binary's text */
};

struct evs {
	struct ev v[4096];
	size_t n;
};

/* This binary's executable mapping (a forked child has the same). */
static uint64_t text_lo, text_hi;

static void find_text(void)
{
	char exe[4096], line[4096 + 128];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		int path = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &path) < 3)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (perms[2] == 'x' && path && strcmp(line + path, exe) == 0) {
			text_lo = lo;
			text_hi = hi;
		}
	}
	fclose(f);
	assert_true(text_hi > text_lo);
}

static bool in_text(uint64_t a)
{
	return a >= text_lo && a < text_hi;
}

static void collect(const struct offcpu_event *e, void *arg)
{
	struct evs *evs = arg;
	if (evs->n == sizeof(evs->v) / sizeof(evs->v[0]))
		return;
	struct ev *v = &evs->v[evs->n++];
	*v = (struct ev){
		.pid = e->pid, .tid = e->tid, .start = e->start_ns, .off = e->off_ns,
		.how = e->how, .nkernel = e->nkernel, .valid = e->regs.valid,
		.stack_size = e->stack_size,
		.kip0 = e->nkernel ? e->kernel_ips[0] : 0,
		.rip = e->regs.r[UREG_RIP], .rsp = e->regs.r[UREG_RSP],
	};
	for (uint32_t i = 0; i + 8 <= e->stack_size; i += 8) {
		uint64_t w;
		memcpy(&w, e->stack + i, 8);
		v->stack_has_text |= in_text(w);
	}
}

/* Polls the records until the child's result (len bytes) arrives. */
static void wait_result(struct offcpu *oc, struct evs *evs, struct child *c, void *buf, size_t len)
{
	struct pollfd p[2] = { { .fd = offcpu_fd(oc), .events = POLLIN },
			       { .fd = c->result, .events = POLLIN } };
	uint64_t end = mono_ns() + 30000 * MS;
	size_t got = 0;
	while (got < len) {
		assert_true(mono_ns() < end);
		assert_true(poll(p, 2, 10) >= 0);
		assert_true(offcpu_poll(oc, collect, evs) >= 0);
		if (p[1].revents) {
			ssize_t n = read(c->result, (char *)buf + got, len - got);
			assert_true(n > 0);
			got += (size_t)n;
		}
	}
}

static void drain(struct offcpu *oc, struct evs *evs)
{
	int n;
	while ((n = offcpu_poll(oc, collect, evs)) > 0)
		;
	assert_true(n >= 0);
}

/* ---- setup --------------------------------------------------------------------------- */

static struct evs evs_buf;

static int setup(void **state)
{
	if (!OFFCPU_EBPF || geteuid() != 0)
		return 0;
	find_text();
	return 0;
}

static struct offcpu *open_or_skip(const struct offcpu_opts *o)
{
	if (!OFFCPU_EBPF || geteuid() != 0)
		skip();
	char err[256];
	struct offcpu *oc = NULL;
	int e = offcpu_open(o, &oc, err, sizeof(err));
	if (e < 0)
		fail_msg("offcpu_open: %s (%s)", err, strerror(-e));
	assert_string_equal(err, "");
	memset(&evs_buf, 0, sizeof(evs_buf));
	return oc;
}

/* ---- 1: blocked in nanosleep, against the child's own clocks --------------------------- */

struct truth {
	uint64_t t0, t1, cpu;
};

static void busy_sleep(int out, void *arg)
{
	struct truth t;
	t.t0 = mono_ns();
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	while (mono_ns() - t.t0 < 2000 * MS) {
		spin_ns(50 * MS);
		sleep_ns(50 * MS);
	}
	t.t1 = mono_ns();
	t.cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	write_all(out, &t, sizeof(t));
}

static void test_syscall_blocks(void **state)
{
	const struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	struct offcpu *oc = open_or_skip(&o);
	struct evs *evs = &evs_buf;
	struct child c;
	child_start(&c, busy_sleep, NULL);
	assert_int_equal(offcpu_add_pid(oc, c.pid), 0);
	child_go(&c);
	struct truth t;
	wait_result(oc, evs, &c, &t, sizeof(t));
	child_end(&c, false);
	drain(oc, evs);
	struct offcpu_stats st;
	offcpu_get_stats(oc, &st);

	uint64_t off = 0, truth = (t.t1 - t.t0) - t.cpu;
	size_t nsys = 0;
	for (size_t i = 0; i < evs->n; i++) {
		const struct ev *e = &evs->v[i];
		assert_int_equal(e->pid, c.pid);
		if (e->start < t.t0 || e->start >= t.t1)
			continue;
		off += e->off;
		if (e->how != OFFCPU_SYSCALL)
			continue;
		nsys++;
		assert_true((e->valid & UREGS_MIN_VALID) == UREGS_MIN_VALID);
		assert_true(e->rip > 0 && e->rip < USER_TOP);
		assert_true(e->rsp > 0 && e->rsp < USER_TOP);
		assert_true(e->stack_size > 0);
		assert_true(e->stack_has_text); /* the return address into busy_sleep */
		assert_true(e->nkernel > 0);
		assert_true(e->kip0 >= USER_TOP);
		assert_true(e->off >= 45 * MS);
	}
	/* One record per sleep (20), and the recorded time is the truth: the blocks below
	 * min_block_ns (short_ns) are the preemptions by the rest of the machine. */
	assert_true(nsys >= 15 && nsys <= 21);
	double total = (double)(off + st.short_ns);
	print_message("off-CPU %.1f ms (+%.2f ms short) vs wall-CPU %.1f ms, %zu syscall records\n",
		      (double)off / 1e6, (double)st.short_ns / 1e6, (double)truth / 1e6, nsys);
	assert_true(total > 0.95 * (double)truth && total < 1.05 * (double)truth);
	assert_true(st.events >= nsys);
	assert_int_equal(st.dropped, 0);
	offcpu_free(oc);
}

/* ---- 2: min_block: a pipe ping-pong is counted, not recorded; a long sleep is ---------- */

struct pp {
	int in, out;
	bool serve;
};

static void *pingpong(void *arg)
{
	struct pp *p = arg;
	char b = 'x';
	for (int i = 0; i < 100000; i++) {
		if (p->serve && write(p->out, &b, 1) != 1)
			_exit(5);
		if (read(p->in, &b, 1) != 1)
			_exit(5);
		if (!p->serve && write(p->out, &b, 1) != 1)
			_exit(5);
	}
	return NULL;
}

static void pingpong_then_sleep(int out, void *arg)
{
	int ab[2], ba[2];
	if (pipe(ab) != 0 || pipe(ba) != 0)
		_exit(6);
	struct pp a = { ba[0], ab[1], true }, b = { ab[0], ba[1], false };
	pthread_t t;
	if (pthread_create(&t, NULL, pingpong, &b) != 0)
		_exit(6);
	pingpong(&a);
	pthread_join(t, NULL);
	uint64_t t0 = mono_ns();
	sleep_ns(200 * MS);
	write_all(out, &t0, sizeof(t0));
}

static void test_min_block(void **state)
{
	const struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	struct offcpu *oc = open_or_skip(&o);
	struct evs *evs = &evs_buf;
	struct child c;
	child_start(&c, pingpong_then_sleep, NULL);
	assert_int_equal(offcpu_add_pid(oc, c.pid), 0);
	child_go(&c);
	uint64_t t0;
	wait_result(oc, evs, &c, &t0, sizeof(t0));
	child_end(&c, false);
	drain(oc, evs);
	struct offcpu_stats st;
	offcpu_get_stats(oc, &st);
	size_t nlong = 0, nother = 0;
	for (size_t i = 0; i < evs->n; i++) {
		const struct ev *e = &evs->v[i];
		assert_int_equal(e->pid, c.pid);
		if (e->start >= t0 && e->off >= 195 * MS && e->how == OFFCPU_SYSCALL)
			nlong++;
		else
			nother++;
		assert_true(e->off >= o.min_block_ns);
	}
	print_message("%llu short blocks, %zu other records\n",
		      (unsigned long long)st.short_blocks, nother);
	assert_int_equal(nlong, 1);
	/* Each round trip blocks both threads; none of those blocks is recorded unless the
	 * rest of the machine kept one thread (and so the other) off the CPU for over 1 ms. */
	assert_true(st.short_blocks >= 100000);
	assert_true(nother <= st.short_blocks / 100);
	assert_true(st.switches_seen >= st.short_blocks);
	offcpu_free(oc);
}

/* ---- 3: still blocked at the end: the flush ------------------------------------------ */

static void *block_in_read(void *arg)
{
	int *out = arg, p[2];
	pid_t tid = gettid();
	char b;
	if (pipe(p) != 0)
		_exit(7);
	write_all(*out, &tid, sizeof(tid));
	if (read(p[0], &b, 1) != 1) /* nobody writes */
		_exit(7);
	return NULL;
}

/* Two threads blocked in read() until killed. */
static void block_forever(int out, void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, block_in_read, &out) != 0)
		_exit(7);
	block_in_read(&out);
}

static void test_flush(void **state)
{
	const struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	struct offcpu *oc = open_or_skip(&o);
	struct evs *evs = &evs_buf;
	struct child c;
	child_start(&c, block_forever, NULL);
	assert_int_equal(offcpu_add_pid(oc, c.pid), 0);
	child_go(&c);
	pid_t tids[2];
	wait_result(oc, evs, &c, tids, sizeof(tids));
	uint64_t t = mono_ns();
	sleep_ns(300 * MS);
	drain(oc, evs);
	/* On a loaded machine a thread can be preempted (or sleep on a lock) on its way into
	 * read(): that wait ends, so it is reported now, with the thread's stack. The block
	 * in read() never ends, and only the flush may report it. */
	for (size_t i = 0; i < evs->n; i++)
		assert_true(evs->v[i].how != OFFCPU_KERNEL_ONLY && evs->v[i].off < 300 * MS);
	evs->n = 0;
	assert_int_equal(offcpu_flush(oc), 0);
	drain(oc, evs);
	assert_int_equal(offcpu_flush(oc), 0); /* once */
	child_end(&c, true);
	assert_int_equal(evs->n, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct ev *e = &evs->v[i];
		assert_int_equal(e->pid, c.pid);
		assert_true(e->tid == tids[0] || e->tid == tids[1]);
		assert_true(e->tid != evs->v[1 - i].tid);
		assert_int_equal(e->how, OFFCPU_KERNEL_ONLY);
		assert_int_equal(e->valid, 0);
		assert_int_equal(e->stack_size, 0);
		/* blocked in read() right after writing its tid, when nothing else delays it */
		assert_true(e->start < t + 100 * MS);
		assert_true(e->off >= 200 * MS && e->off < 10000 * MS);
		assert_true(e->nkernel > 0 && e->kip0 >= USER_TOP);
	}
	offcpu_free(oc);
}

/* ---- 3b: killed while blocked: completed at its exit ---------------------------------- */

static void test_killed(void **state)
{
	const struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	struct offcpu *oc = open_or_skip(&o);
	struct evs *evs = &evs_buf;
	struct child c;
	child_start(&c, block_forever, NULL);
	assert_int_equal(offcpu_add_pid(oc, c.pid), 0);
	child_go(&c);
	pid_t tids[2];
	wait_result(oc, evs, &c, tids, sizeof(tids));
	sleep_ns(200 * MS);
	child_end(&c, true);
	drain(oc, evs);
	/* Woken by SIGKILL, each thread leaves from the kernel: sched_process_exit, in its
	 * own context, still has the user registers and stack of the read. */
	size_t full = 0;
	for (size_t i = 0; i < evs->n; i++) {
		const struct ev *e = &evs->v[i];
		if (e->off >= 150 * MS && e->how == OFFCPU_SYSCALL && e->stack_size > 0)
			full++;
	}
	assert_int_equal(full, 2);
	offcpu_free(oc);
}

/* ---- 4: only the targets -------------------------------------------------------------- */

static void sleep_loop(int out, void *arg)
{
	for (int i = 0; i < 10; i++)
		sleep_ns(20 * MS);
	write_all(out, "d", 1);
}

static void test_only_targets(void **state)
{
	struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	o.kernel_stacks = false;
	struct offcpu *oc = open_or_skip(&o);
	struct evs *evs = &evs_buf;
	struct child a, b;
	child_start(&a, sleep_loop, NULL);
	child_start(&b, sleep_loop, NULL);
	assert_int_equal(offcpu_add_pid(oc, a.pid), 0);
	child_go(&b);
	child_go(&a);
	char r;
	wait_result(oc, evs, &b, &r, 1);
	wait_result(oc, evs, &a, &r, 1);
	child_end(&a, false);
	child_end(&b, false);
	drain(oc, evs);
	size_t na = 0;
	for (size_t i = 0; i < evs->n; i++) {
		assert_int_equal(evs->v[i].pid, a.pid);
		assert_int_equal(evs->v[i].nkernel, 0);
		na += evs->v[i].how == OFFCPU_SYSCALL;
	}
	assert_true(na >= 9);
	assert_int_equal(offcpu_add_pid(oc, 0), -EINVAL);
	offcpu_free(oc);
}

/* ---- 5: follow_children --------------------------------------------------------------- */

static void fork_sleeper(int out, void *arg)
{
	pid_t p = fork();
	if (p == 0) {
		for (int i = 0; i < 3; i++)
			sleep_ns(30 * MS);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	write_all(out, &p, sizeof(p));
}

static void test_follow_children(void **state)
{
	struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	o.follow_children = true;
	o.stack_bytes = 16384;
	struct offcpu *oc = open_or_skip(&o);
	struct evs *evs = &evs_buf;
	struct child c;
	child_start(&c, fork_sleeper, NULL);
	assert_int_equal(offcpu_add_pid(oc, c.pid), 0);
	child_go(&c);
	pid_t grandchild;
	wait_result(oc, evs, &c, &grandchild, sizeof(grandchild));
	child_end(&c, false);
	drain(oc, evs);
	size_t ng = 0;
	for (size_t i = 0; i < evs->n; i++) {
		assert_true(evs->v[i].stack_size <= 16384);
		ng += evs->v[i].pid == grandchild && evs->v[i].how == OFFCPU_SYSCALL &&
		      evs->v[i].stack_size > 8192 - 4096 && evs->v[i].stack_has_text;
	}
	assert_true(ng >= 3);
	offcpu_free(oc);
}

/* ---- 6: a thread without rseq completes at sys_exit ------------------------------------ */

static void sleep_without_rseq(int out, void *arg)
{
	if (__rseq_size > 0) {
		void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
		if (syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0)
			_exit(8);
	}
	uint64_t t0 = mono_ns();
	for (int i = 0; i < 30; i++)
		sleep_ns(30 * MS);
	write_all(out, &t0, sizeof(t0));
}

static void test_without_rseq(void **state)
{
	const struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	struct offcpu *oc = open_or_skip(&o);
	struct evs *evs = &evs_buf;
	struct child c;
	assert_true(__rseq_size > 0); /* glibc registered rseq: the child unregisters it */
	child_start(&c, sleep_without_rseq, NULL);
	assert_int_equal(offcpu_add_pid(oc, c.pid), 0);
	child_go(&c);
	uint64_t t0;
	wait_result(oc, evs, &c, &t0, sizeof(t0));
	child_end(&c, false);
	drain(oc, evs);
	size_t full = 0;
	uint64_t off = 0;
	for (size_t i = 0; i < evs->n; i++) {
		const struct ev *e = &evs->v[i];
		if (e->start < t0)
			continue;
		off += e->off;
		full += e->how == OFFCPU_SYSCALL && e->stack_size > 0 && e->stack_has_text;
	}
	/* The blocks of the thread's first 100 ms (the grace period of glibc's start-up) and
	 * one or two more, until offcpu_poll attached sys_exit, have their kernel stack only. */
	print_message("%zu of 30 sleeps with their user stack\n", full);
	assert_true(full >= 20);
	assert_true(off >= 30 * 29 * MS);
	offcpu_free(oc);
}

/* ---- 6b: a blocked read restarted after a signal handler ------------------------------ */

static void on_alarm(int sig)
{
}

static void read_through_signal(int out, void *arg)
{
	int fd = *(int *)arg;
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval it = { .it_value = { 0, 100000 } };
	char b;
	if (sigaction(SIGALRM, &sa, NULL) != 0 || setitimer(ITIMER_REAL, &it, NULL) != 0)
		_exit(10);
	uint64_t t0 = mono_ns();
	if (read(fd, &b, 1) != 1) /* interrupted at 100 ms, restarted, data at 300 ms */
		_exit(10);
	write_all(out, &t0, sizeof(t0));
}

static void test_signal_restart(void **state)
{
	const struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	struct offcpu *oc = open_or_skip(&o);
	struct evs *evs = &evs_buf;
	int data[2];
	assert_int_equal(pipe(data), 0);
	struct child c;
	child_start(&c, read_through_signal, &data[0]);
	close(data[0]);
	assert_int_equal(offcpu_add_pid(oc, c.pid), 0);
	child_go(&c);
	uint64_t end = mono_ns() + 300 * MS;
	while (mono_ns() < end) {
		usleep(10000);
		assert_true(offcpu_poll(oc, collect, evs) >= 0);
	}
	assert_int_equal(write(data[1], "x", 1), 1);
	uint64_t t0;
	wait_result(oc, evs, &c, &t0, sizeof(t0));
	child_end(&c, false);
	close(data[1]);
	drain(oc, evs);
	size_t full = 0;
	uint64_t off = 0;
	for (size_t i = 0; i < evs->n; i++) {
		const struct ev *e = &evs->v[i];
		if (e->start < t0)
			continue;
		off += e->off;
		full += e->how == OFFCPU_SYSCALL && e->stack_has_text;
	}
	/* Both halves of the read, the first one completed on the way to the handler. */
	if (full < 2)
		for (size_t i = 0; i < evs->n; i++)
			print_message("how %d start %+.3f ms off %.3f ms stack %u text %d\n",
				      evs->v[i].how, ((double)evs->v[i].start - (double)t0) / 1e6,
				      (double)evs->v[i].off / 1e6, evs->v[i].stack_size,
				      evs->v[i].stack_has_text);
	assert_true(full >= 2);
	assert_true(off >= 250 * MS && off < 400 * MS);
	offcpu_free(oc);
}

/* ---- 7: preempted: two spinners on one CPU ------------------------------------------- */

static void spin_on_cpu0(int out, void *arg)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		_exit(9);
	spin_ns(1000 * MS);
	write_all(out, "d", 1);
}

static void test_preempted(void **state)
{
	const struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	struct offcpu *oc = open_or_skip(&o);
	struct evs *evs = &evs_buf;
	struct child a, b;
	child_start(&a, spin_on_cpu0, NULL);
	child_start(&b, spin_on_cpu0, NULL);
	assert_int_equal(offcpu_add_pid(oc, a.pid), 0);
	assert_int_equal(offcpu_add_pid(oc, b.pid), 0);
	child_go(&a);
	child_go(&b);
	char r;
	wait_result(oc, evs, &a, &r, 1);
	wait_result(oc, evs, &b, &r, 1);
	child_end(&a, false);
	child_end(&b, false);
	drain(oc, evs);
	size_t npre = 0, ntext = 0;
	for (size_t i = 0; i < evs->n; i++) {
		const struct ev *e = &evs->v[i];
		if (e->how != OFFCPU_PREEMPTED)
			continue;
		npre++;
		assert_true((e->valid & UREGS_MIN_VALID) == UREGS_MIN_VALID);
		assert_true(e->stack_size > 0);
		assert_true(e->nkernel > 0);
		ntext += in_text(e->rip);
	}
	print_message("%zu preempted records, %zu in spin_ns\n", npre, ntext);
	assert_true(npre >= 10);
	assert_true(ntext * 2 >= npre);
	offcpu_free(oc);
}

/* ---- 8: errors ------------------------------------------------------------------------ */

static void test_bad_opts(void **state)
{
	char err[256];
	struct offcpu *oc = NULL;
	struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	o.stack_bytes = 12;
	int e = offcpu_open(&o, &oc, err, sizeof(err));
	if (!OFFCPU_EBPF) {
		assert_int_equal(e, -ENOTSUP);
		assert_non_null(strstr(err, "built without off-CPU eBPF"));
		return;
	}
	assert_int_equal(e, -EINVAL);
	assert_non_null(strstr(err, "multiple of 8"));
	o.stack_bytes = 16384 + 8;
	assert_int_equal(offcpu_open(&o, &oc, err, sizeof(err)), -EINVAL);
	assert_null(oc);
}

static void test_unprivileged(void **state)
{
	if (!OFFCPU_EBPF || geteuid() != 0)
		skip();
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		char err[256] = "";
		struct offcpu *oc = NULL;
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		int e = offcpu_open(NULL, &oc, err, sizeof(err));
		_exit(e == -EPERM && strstr(err, "CAP_BPF") && strstr(err, "root") ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(p, &status, 0), p);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syscall_blocks),
		cmocka_unit_test(test_min_block),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_only_targets),
		cmocka_unit_test(test_follow_children),
		cmocka_unit_test(test_without_rseq),
		cmocka_unit_test(test_signal_restart),
		cmocka_unit_test(test_preempted),
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_unprivileged),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
