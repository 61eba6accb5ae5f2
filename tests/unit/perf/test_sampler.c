/* The stack sampler on this machine's kernel: rates, threads, inheritance, side-band
 * records, launch mode, the off-CPU switch fallback, the error sentences, and what the
 * sampler costs profkit. The targets are tests/targets programs ($TARGETS). Skipped (never
 * passed) where perf_event_open cannot sample. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/spawn.h"
#include "perf/perf.h"
#include "perf/sampler.h"
#include "stack/maps.h"

/* ---- what a recording saw ---------------------------------------------------------------- */

#define MAX_TIDS 64
#define MAX_NAMES 64
#define MAX_SWITCHES 4096

struct tid_count {
	pid_t tid;
	size_t n;
};

struct seen {
	pid_t pid;
	size_t samples, foreign, switch_samples, switch_with_stack;
	struct tid_count tids[MAX_TIDS];
	size_t ntids;
	size_t with_user, with_kernel, with_regs, regs_ok, with_stack, stack_too_big;
	uint64_t period_sum, first_sample_ns;
	struct proc_maps *maps; /* to check RIP and RSP of dwarf samples */
	struct { pid_t tid; char name[17]; bool exec; } comm[MAX_NAMES];
	size_t ncomm;
	struct { char path[256]; uint32_t prot; pid_t pid; } mmap[MAX_NAMES];
	size_t nmmap;
	pid_t forked[MAX_TIDS];
	size_t nforked;
	struct { pid_t tid; uint64_t time; bool out, preempt; } sw[MAX_SWITCHES];
	size_t nsw;
	size_t lost;
	/* CPU time of each thread when sampling started and stopped: the samples expected */
	struct cpu_snap { pid_t tid; uint64_t ns; } before[MAX_TIDS], after[MAX_TIDS];
	size_t nbefore, nafter;
	/* Within one drain, records come in time order across the per-CPU rings. */
	uint64_t drain_last;
	size_t timed, inversions;
};

static void count_tid(struct seen *w, pid_t tid)
{
	for (size_t i = 0; i < w->ntids; i++)
		if (w->tids[i].tid == tid) {
			w->tids[i].n++;
			return;
		}
	if (w->ntids < MAX_TIDS)
		w->tids[w->ntids++] = (struct tid_count){ tid, 1 };
}

static size_t samples_of(const struct seen *w, pid_t tid)
{
	for (size_t i = 0; i < w->ntids; i++)
		if (w->tids[i].tid == tid)
			return w->tids[i].n;
	return 0;
}

/* The CPU time of every thread of pid (schedstat: ns on the CPU). */
static size_t snap_threads(pid_t pid, struct cpu_snap *v)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) && n < MAX_TIDS) {
		pid_t tid = atoi(e->d_name);
		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
		FILE *f = fopen(path, "r");
		unsigned long long ns;
		if (f && fscanf(f, "%llu", &ns) == 1)
			v[n++] = (struct cpu_snap){ tid, ns };
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* CPU seconds of tid while sampled. */
static double cpu_of(const struct seen *w, pid_t tid)
{
	uint64_t a = 0, b = 0;
	for (size_t i = 0; i < w->nafter; i++)
		if (w->after[i].tid == tid)
			a = w->after[i].ns;
	for (size_t i = 0; i < w->nbefore; i++)
		if (w->before[i].tid == tid)
			b = w->before[i].ns;
	return a > b ? (double)(a - b) / 1e9 : 0;
}

static bool kernel_address(uint64_t ip) { return ip >= 0xffff800000000000ULL; }

static bool in_mapping(const struct proc_maps *m, uint64_t addr, char perm)
{
	const struct map_entry *e = proc_maps_find(m, addr);
	return e && strchr(e->perms, perm);
}

static void on_sample(struct seen *w, const struct perf_rec_sample *s)
{
	w->samples++;
	if (s->pid != w->pid) {
		w->foreign++;
		return;
	}
	if (!w->first_sample_ns)
		w->first_sample_ns = s->time;
	count_tid(w, s->tid);
	w->period_sum += s->period;
	if (s->nuser) {
		w->with_user++;
		assert_false(kernel_address(s->user_ips[0]));
	}
	if (s->nkernel) {
		w->with_kernel++;
		for (uint32_t i = 0; i < s->nkernel; i++)
			assert_true(kernel_address(s->kernel_ips[i]));
	}
	if (s->regs.valid) {
		w->with_regs++;
		bool ok = (s->regs.valid & UREGS_MIN_VALID) == UREGS_MIN_VALID;
		if (ok && w->maps)
			ok = in_mapping(w->maps, s->regs.r[UREG_RIP], 'x') &&
			     in_mapping(w->maps, s->regs.r[UREG_RSP], 'w');
		w->regs_ok += ok;
	}
	if (s->stack_size) {
		w->with_stack++;
		volatile uint8_t sum = 0; /* touch every byte: ASan checks the bounds */
		for (uint64_t i = 0; i < s->stack_size; i++)
			sum += s->stack[i];
		(void)sum;
	}
	w->stack_too_big += s->stack_size > 16384;
}

static void note_time(struct seen *w, uint64_t t)
{
	w->timed++;
	if (t < w->drain_last)
		w->inversions++;
	else
		w->drain_last = t;
}

static int on_record(const struct perf_rec *r, void *arg)
{
	struct seen *w = arg;
	if (r->type == PREC_SAMPLE || r->type == PREC_SWITCH_SAMPLE)
		note_time(w, r->u.sample.time);
	else if (r->type == PREC_SWITCH)
		note_time(w, r->u.sw.time);
	switch (r->type) {
	case PREC_SAMPLE:
		on_sample(w, &r->u.sample);
		break;
	case PREC_SWITCH_SAMPLE:
		w->switch_samples++;
		w->switch_with_stack += r->u.sample.nuser > 0 || r->u.sample.stack_size > 0;
		break;
	case PREC_COMM:
		if (w->ncomm < MAX_NAMES) {
			w->comm[w->ncomm].tid = r->u.comm.tid;
			w->comm[w->ncomm].exec = r->u.comm.exec;
			snprintf(w->comm[w->ncomm++].name, 17, "%s", r->u.comm.comm);
		}
		break;
	case PREC_MMAP:
		if (w->nmmap < MAX_NAMES) {
			snprintf(w->mmap[w->nmmap].path, 256, "%s", r->u.mmap.path);
			w->mmap[w->nmmap].pid = r->u.mmap.pid;
			w->mmap[w->nmmap++].prot = r->u.mmap.prot;
		}
		break;
	case PREC_FORK:
		if (w->nforked < MAX_TIDS)
			w->forked[w->nforked++] = r->u.task.tid;
		break;
	case PREC_SWITCH:
		if (w->nsw < MAX_SWITCHES && r->u.sw.pid == w->pid) {
			w->sw[w->nsw].tid = r->u.sw.tid;
			w->sw[w->nsw].time = r->u.sw.time;
			w->sw[w->nsw].out = r->u.sw.out;
			w->sw[w->nsw++].preempt = r->u.sw.preempt;
		}
		break;
	case PREC_LOST:
		w->lost += r->u.lost.lost;
		break;
	default:
		break;
	}
	return 0;
}

static bool has_comm(const struct seen *w, const char *name)
{
	for (size_t i = 0; i < w->ncomm; i++)
		if (!strcmp(w->comm[i].name, name))
			return true;
	return false;
}

static bool has_mmap(const struct seen *w, const char *needle, bool exec)
{
	for (size_t i = 0; i < w->nmmap; i++)
		if (strstr(w->mmap[i].path, needle) && (!exec || (w->mmap[i].prot & PROT_EXEC)))
			return true;
	return false;
}

/* ---- targets and the loop ------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *target(const char *name)
{
	static char path[4][1024];
	static int k;
	char *p = path[k++ & 3];
	snprintf(p, 1024, "%s/%s", env_dir("TARGETS"), name);
	return p;
}

/* Starts argv with stdout on a pipe; waits for its "ready PID" line when ready is set. */
static pid_t start(char *const argv[], bool ready)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	if (ready) {
		char buf[64] = "";
		ssize_t n = read(p[0], buf, sizeof(buf) - 1);
		assert_true(n > 0 && !strncmp(buf, "ready ", 6));
	} else {
		usleep(50 * 1000);
	}
	close(p[0]);
	return pid;
}

static int reap(pid_t pid)
{
	int st = 0;
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return st;
}

static struct sampler *open_or_fail(struct sampler_opts *o)
{
	struct sampler *s = NULL;
	char err[512] = "";
	int r = sampler_open(o, &s, err, sizeof(err));
	if (r < 0)
		fail_msg("sampler_open: %d: %s", r, err);
	return s;
}

static double child_cpu_s; /* the CPU time of the child drain_for() reaped */

/* Drains while polling, until seconds pass or (child > 0) the child exits. */
static double drain_for(struct sampler *s, double seconds, pid_t child, struct seen *w)
{
	struct pollfd pfd = { .fd = sampler_fd(s), .events = POLLIN };
	double t0 = now_s();
	while (now_s() - t0 < seconds) {
		poll(&pfd, 1, 50);
		w->drain_last = 0;
		assert_true(sampler_drain(s, on_record, w) >= 0);
		struct rusage ru;
		if (child > 0 && wait4(child, NULL, WNOHANG, &ru) == child) {
			child_cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
			break;
		}
	}
	return now_s() - t0;
}

/* Attaches, samples for seconds, returns the time sampled. */
static double record_attached(struct sampler_opts *o, double seconds, struct seen *w)
{
	struct sampler *s = open_or_fail(o);
	w->nbefore = snap_threads(w->pid, w->before);
	assert_int_equal(sampler_enable(s), 0);
	double t = drain_for(s, seconds, 0, w);
	assert_int_equal(sampler_disable(s), 0);
	w->nafter = snap_threads(w->pid, w->after);
	assert_true(sampler_drain(s, on_record, w) >= 0);
	struct sampler_stats st;
	sampler_get_stats(s, &st);
	assert_true(st.samples == w->samples + w->switch_samples);
	assert_true(st.lost == w->lost && st.malformed == 0);
	assert_string_equal(sampler_event_name(s), "cpu-clock");
	sampler_free(s);
	return t;
}

static bool near(double got, double want, double tolerance)
{
	return got >= want * (1 - tolerance) && got <= want * (1 + tolerance);
}

/* cpu-clock at 99 Hz: 99 samples per second of the thread's CPU time, within 30% (and
 * two samples, for the short runs of a loaded machine). */
static void check_rate(size_t n, double cpu)
{
	double want = 99 * cpu, slack = want * 0.3 > 2 ? want * 0.3 : 2;
	if (cpu < 0.02 || (double)n < want - slack || (double)n > want + slack)
		fail_msg("%zu samples for %.3f s of CPU: %.1f expected", n, cpu, want);
}

static int setup(void **state)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	struct sampler_opts o = { .pid = pid };
	struct sampler *s = NULL;
	char err[512];
	int r = sampler_open(&o, &s, err, sizeof(err));
	sampler_free(s);
	reap(pid);
	if (r < 0) {
		fprintf(stderr, "perf sampling is not usable here: %s\n", err);
		return -1;
	}
	return 0;
}

/* ---- the tests ----------------------------------------------------------------------------- */

static void test_rate_one_thread(void **state)
{
	char *argv[] = { target("spin"), "3", NULL };
	static struct seen w;
	memset(&w, 0, sizeof(w));
	w.pid = start(argv, false);
	struct sampler_opts o = { .pid = w.pid, .freq_hz = 99 };
	double t = record_attached(&o, 1.0, &w);
	reap(w.pid);
	size_t n = samples_of(&w, w.pid);
	double cpu = cpu_of(&w, w.pid);
	print_message("spin at 99 Hz: %zu samples in %.3f s, %.3f s of CPU: %.1f per CPU second "
		      "(%.1f per second), %zu lost\n", n, t, cpu, n / cpu, n / t, w.lost);
	/* cpu-clock counts the thread's CPU time: 99 per CPU second, whatever else runs. */
	check_rate(n, cpu);
	assert_int_equal(w.foreign, 0);
	assert_int_equal(w.ntids, 1);
	assert_true(w.with_user == w.samples - w.foreign); /* every sample has a user chain */
	assert_int_equal(w.with_kernel, 0);               /* kernel is off */
	assert_int_equal(w.with_regs, 0);
	assert_int_equal(w.with_stack, 0);
	/* cpu-clock's period is the CPU time per sample: 1/99 s. */
	assert_true(near((double)w.period_sum / (double)n, 1e9 / 99, 0.05));
}

static void test_dwarf_regs_and_stack(void **state)
{
	char *argv[] = { target("spin"), "2", NULL };
	static struct seen w;
	memset(&w, 0, sizeof(w));
	w.pid = start(argv, false);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)w.pid);
	size_t len;
	char *text = file_read(path, &len);
	assert_non_null(text);
	struct proc_maps maps;
	assert_int_equal(proc_maps_parse(text, len, &maps, NULL), 0);
	w.maps = &maps;
	struct sampler_opts o = { .pid = w.pid, .freq_hz = 99, .dwarf = true };
	record_attached(&o, 0.6, &w);
	reap(w.pid);
	size_t n = samples_of(&w, w.pid);
	print_message("dwarf: %zu samples, %zu with regs (%zu RIP/RSP in place), %zu stacks\n", n,
		      w.with_regs, w.regs_ok, w.with_stack);
	assert_true(n >= 5);
	assert_int_equal(w.with_regs, n);
	assert_int_equal(w.regs_ok, n);
	assert_int_equal(w.with_stack, n);
	assert_int_equal(w.stack_too_big, 0);
	proc_maps_free(&maps);
	free(text);
}

/* The writer spends its time in write(2): with kernel on, those samples carry a kernel
 * chain; with kernel off, no sample has one. */
static void kernel_run(bool kernel, struct seen *w)
{
	char file[] = "/tmp/pk-sampler-XXXXXX";
	int fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	char *argv[] = { target("writer"), file, "400", "0", NULL };
	memset(w, 0, sizeof(*w));
	w->pid = start(argv, false);
	struct sampler_opts o = { .pid = w->pid, .freq_hz = 199, .kernel = kernel };
	record_attached(&o, 0.5, w);
	reap(w->pid);
	unlink(file);
}

static void test_kernel_callchains(void **state)
{
	static struct seen w;
	kernel_run(true, &w);
	print_message("kernel on: %zu samples, %zu with a kernel chain, %zu with a user chain\n",
		      w.samples, w.with_kernel, w.with_user);
	assert_true(w.with_kernel > 0);
	kernel_run(false, &w);
	/* exclude_kernel: the samples in write(2) are not taken at all. */
	print_message("kernel off: %zu samples, %zu with a kernel chain\n", w.samples,
		      w.with_kernel);
	assert_int_equal(w.with_kernel, 0);
}

static void test_two_threads(void **state)
{
	char *argv[] = { target("spin_threads"), "2", "2", NULL };
	static struct seen w;
	memset(&w, 0, sizeof(w));
	w.pid = start(argv, false);
	struct sampler_opts o = { .pid = w.pid, .freq_hz = 99 };
	double t = record_attached(&o, 1.0, &w);
	reap(w.pid);
	size_t busy = 0;
	for (size_t i = 0; i < w.ntids; i++) {
		double cpu = cpu_of(&w, w.tids[i].tid);
		print_message("tid %d: %zu samples in %.3f s, %.3f s of CPU: %.1f per CPU second\n",
			      (int)w.tids[i].tid, w.tids[i].n, t, cpu, w.tids[i].n / cpu);
		if (w.tids[i].tid != w.pid) {
			busy++;
			check_rate(w.tids[i].n, cpu);
		}
	}
	assert_int_equal(busy, 2);
	print_message("%zu timed records, %zu out of order within a drain\n", w.timed,
		      w.inversions);
	assert_true(w.inversions * 100 <= w.timed);
}

/* Threads created after the attach inherit the events; their names come in COMM records
 * and their creation in FORK records. */
static void test_late_threads_inherit(void **state)
{
	char *argv[] = { target("late_threads"), "0.3", "2", "3", NULL };
	static struct seen w;
	memset(&w, 0, sizeof(w));
	w.pid = start(argv, true);
	struct sampler_opts o = { .pid = w.pid, .freq_hz = 99 };
	record_attached(&o, 1.3, &w);
	reap(w.pid);
	size_t late = 0;
	for (size_t i = 0; i < w.ntids; i++)
		if (w.tids[i].tid != w.pid) {
			late++;
			double cpu = cpu_of(&w, w.tids[i].tid);
			print_message("late tid %d: %zu samples, %.3f s of CPU\n",
				      (int)w.tids[i].tid, w.tids[i].n, cpu);
			check_rate(w.tids[i].n, cpu);
		}
	print_message("late threads: %zu sampled, %zu FORK, %zu COMM\n", late, w.nforked, w.ncomm);
	assert_int_equal(late, 2);
	assert_true(w.nforked >= 2);
	assert_true(has_comm(&w, "late-0"));
	assert_true(has_comm(&w, "late-1"));
}

/* The ring buffers were mapped on the main thread's events; when the main thread leaves,
 * those events hang up (POLLHUP) while the other threads still write into the buffers:
 * the sampler's fd neither spins on the hang-up nor stops waking up. */
static void test_main_thread_exits(void **state)
{
	char *argv[] = { target("late_threads"), "0", "2", "3", "0.4", NULL };
	static struct seen w;
	memset(&w, 0, sizeof(w));
	w.pid = start(argv, true);
	usleep(100 * 1000); /* the threads exist before the attach: not inherited */
	struct sampler_opts o = { .pid = w.pid, .freq_hz = 99 };
	struct sampler *s = open_or_fail(&o);
	assert_int_equal(sampler_enable(s), 0);
	struct pollfd pfd = { .fd = sampler_fd(s), .events = POLLIN };
	size_t wakeups = 0, after_exit = 0;
	double t0 = now_s();
	while (now_s() - t0 < 1.5) {
		wakeups += poll(&pfd, 1, 100) > 0;
		size_t before = w.samples;
		assert_true(sampler_drain(s, on_record, &w) >= 0);
		if (now_s() - t0 > 0.8)
			after_exit += w.samples - before;
	}
	sampler_free(s);
	reap(w.pid);
	print_message("main thread gone after 0.4 s: %zu wake-ups in 1.5 s, %zu samples, %zu of "
		      "them after 0.8 s\n", wakeups, w.samples, after_exit);
	assert_true(wakeups < 100);
	assert_true(after_exit > 0);
}

static void test_dlopen_mmap(void **state)
{
	/* libz: not linked by the target, nor by the sanitizer runtimes */
	char *argv[] = { target("naps"), "4", "100", "libz.so.1", NULL };
	static struct seen w;
	memset(&w, 0, sizeof(w));
	w.pid = start(argv, true);
	struct sampler_opts o = { .pid = w.pid, .freq_hz = 99 };
	record_attached(&o, 0.3, &w);
	reap(w.pid);
	assert_true(has_mmap(&w, "libz.so", true));
}

struct launch {
	struct sampler_opts o;
	struct sampler *s;
	int r;
	char err[512];
};

static void before_exec(pid_t pid, void *arg)
{
	struct launch *l = arg;
	l->o.pid = pid;
	l->o.launch = true;
	l->r = sampler_open(&l->o, &l->s, l->err, sizeof(l->err));
}

/* Launches argv with the sampler opened before the exec; drains until it exits. */
static void record_launched(char *const argv[], struct launch *l, struct seen *w)
{
	struct spawned sp;
	assert_int_equal(spawn_command(argv, true, before_exec, l, &sp), 0);
	if (l->r < 0)
		fail_msg("sampler_open: %s", l->err);
	w->pid = sp.pid;
	drain_for(l->s, 10, sp.pid, w);
	assert_true(sampler_drain(l->s, on_record, w) >= 0);
	close(sp.out_fd);
	close(sp.err_fd);
	l->s = sampler_free(l->s);
}

static void test_launch_from_exec(void **state)
{
	char *argv[] = { target("spin"), "0.5", NULL };
	static struct seen w;
	memset(&w, 0, sizeof(w));
	struct launch l = { .o.freq_hz = 99 };
	record_launched(argv, &l, &w);
	size_t n = samples_of(&w, w.pid);
	print_message("launch: %zu samples for %.3f s of CPU, %zu mmaps, %zu comms\n", n,
		      child_cpu_s, w.nmmap, w.ncomm);
	/* The command's own mappings arrive: its binary and the dynamic loader. */
	assert_true(has_mmap(&w, "/spin", true));
	assert_true(has_mmap(&w, "ld-linux", true));
	bool exec_comm = false;
	for (size_t i = 0; i < w.ncomm; i++)
		exec_comm |= w.comm[i].exec && !strcmp(w.comm[i].name, "spin");
	assert_true(exec_comm);
	check_rate(n, child_cpu_s);
	assert_int_equal(w.foreign, 0);
}

/* naps sleeps 50 ms at a time: each sleep is a switch-out and, 50 ms later, a switch-in;
 * the sched_switch samples carry the stack of each switch-out. */
static void check_naps(struct seen *w, bool dwarf)
{
	size_t pairs = 0, outs = 0, preempted = 0;
	for (size_t i = 0; i < w->nsw; i++) {
		outs += w->sw[i].out;
		preempted += w->sw[i].out && w->sw[i].preempt;
		if (!w->sw[i].out || w->sw[i].preempt)
			continue;
		for (size_t k = i + 1; k < w->nsw; k++)
			if (w->sw[k].tid == w->sw[i].tid) {
				double ms = (double)(w->sw[k].time - w->sw[i].time) / 1e6;
				if (!w->sw[k].out && ms >= 49 && ms < 150)
					pairs++;
				break;
			}
	}
	print_message("offcpu%s: %zu switch records (%zu out, %zu preempted), %zu ~50 ms pairs, "
		      "%zu switch samples (%zu with a stack)\n", dwarf ? " dwarf" : "", w->nsw,
		      outs, preempted, pairs, w->switch_samples, w->switch_with_stack);
	assert_true(pairs >= 8);
	assert_true(w->switch_samples >= outs - preempted);
	assert_true(w->switch_with_stack >= 8);
}

static void test_offcpu_switch_launch(void **state)
{
	char *argv[] = { target("naps"), "10", "50", NULL };
	static struct seen w;
	memset(&w, 0, sizeof(w));
	struct launch l = { .o.freq_hz = 99, .o.offcpu_switch = true };
	record_launched(argv, &l, &w);
	check_naps(&w, false);
}

static void test_offcpu_switch_attach_dwarf(void **state)
{
	char *argv[] = { target("naps"), "14", "50", NULL };
	static struct seen w;
	memset(&w, 0, sizeof(w));
	w.pid = start(argv, true);
	struct sampler_opts o = { .pid = w.pid, .freq_hz = 99, .offcpu_switch = true,
				  .dwarf = true };
	struct sampler *s = open_or_fail(&o);
	assert_int_equal(sampler_enable(s), 0);
	drain_for(s, 5, w.pid, &w);
	assert_true(sampler_drain(s, on_record, &w) >= 0);
	sampler_free(s);
	check_naps(&w, true);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_bad_options(void **state)
{
	struct sampler *s = NULL;
	char err[256];
	struct sampler_opts o = { .pid = getpid(), .dwarf = true, .stack_bytes = 100 };
	assert_int_equal(sampler_open(&o, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "multiple of 8"));
	o = (struct sampler_opts){ .pid = getpid(), .ring_pages = 3 };
	assert_int_equal(sampler_open(&o, &s, err, sizeof(err)), -EINVAL);
	assert_null(s);
}

static void test_no_such_process(void **state)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	struct sampler *s = NULL;
	char err[256];
	struct sampler_opts o = { .pid = pid };
	assert_int_equal(sampler_open(&o, &s, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "no such process"));
	assert_null(s);
}

/* As nobody, in a child: the error and its sentence, sent back through a pipe. */
static int unprivileged_open(struct sampler_opts o, bool self, char *err, size_t len)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		if (self)
			o.pid = getpid();
		struct sampler *s = NULL;
		char buf[512] = "";
		int r = sampler_open(&o, &s, buf, sizeof(buf));
		sampler_free(s);
		if (write(p[1], &r, sizeof(r)) < 0 || write(p[1], buf, strlen(buf) + 1) < 0)
			_exit(98);
		_exit(0);
	}
	close(p[1]);
	int r = 0;
	assert_int_equal(read(p[0], &r, sizeof(r)), sizeof(r));
	ssize_t n = read(p[0], err, len - 1);
	err[n > 0 ? n : 0] = '\0';
	close(p[0]);
	waitpid(pid, NULL, 0);
	return r;
}

static void test_privilege_sentences(void **state)
{
	if (geteuid() != 0 || pk_perf_event_paranoid() < 2)
		skip();
	char err[512];
	/* Another user's (root's) process: ptrace access. */
	struct sampler_opts o = { .pid = getppid() };
	int r = unprivileged_open(o, false, err, sizeof(err));
	print_message("other user's process: %d: %s\n", r, err);
	assert_true(r == -EACCES || r == -EPERM);
	assert_non_null(strstr(err, "ptrace"));
	assert_non_null(strstr(err, "CAP_PERFMON"));
	/* Its own process, user space only: works under perf_event_paranoid 2. */
	o = (struct sampler_opts){ .ring_pages = 16 };
	r = unprivileged_open(o, true, err, sizeof(err));
	print_message("own process, user only: %d %s\n", r, err);
	assert_int_equal(r, 0);
	/* Kernel callchains: perf_event_paranoid <= 1, and what still works. */
	o.kernel = true;
	r = unprivileged_open(o, true, err, sizeof(err));
	print_message("kernel: %d: %s\n", r, err);
	assert_true(r == -EACCES || r == -EPERM);
	assert_non_null(strstr(err, "perf_event_paranoid <= 1"));
	assert_non_null(strstr(err, "exclude_kernel"));
	/* The off-CPU fallback: the tracepoint. */
	o.kernel = false;
	o.offcpu_switch = true;
	r = unprivileged_open(o, true, err, sizeof(err));
	print_message("offcpu_switch: %d: %s\n", r, err);
	assert_true(r < 0);
	assert_non_null(strstr(err, "CAP_PERFMON"));
}

/* ---- cost ------------------------------------------------------------------------------- */

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the cost is measured with: the sampler's work only (a consumer that unwinds reads
 * part of each stack copy on top). */
static int count_record(const struct perf_rec *r, void *arg)
{
	struct seen *w = arg;
	w->samples += r->type == PREC_SAMPLE;
	if (r->type == PREC_LOST)
		w->lost += r->u.lost.lost;
	return 0;
}

/* Samples two busy threads; returns profkit's CPU seconds, the CPU seconds inside
 * sampler_drain, the records drained and the wake-ups. */
static void cost_run(unsigned hz, bool dwarf, double seconds, double *cpu, double *drain_cpu,
		     size_t *records, size_t *wakeups, struct seen *w)
{
	char secs[16];
	snprintf(secs, sizeof(secs), "%.1f", seconds + 1);
	char *argv[] = { target("spin_threads"), "2", secs, NULL };
	memset(w, 0, sizeof(*w));
	w->pid = start(argv, false);
	struct sampler_opts o = { .pid = w->pid, .freq_hz = hz, .dwarf = dwarf };
	struct sampler *s = open_or_fail(&o);
	struct pollfd pfd = { .fd = sampler_fd(s), .events = POLLIN };
	*drain_cpu = 0;
	*records = *wakeups = 0;
	double c0 = cpu_s(), t0 = now_s();
	assert_int_equal(sampler_enable(s), 0);
	while (now_s() - t0 < seconds) {
		/* As the record loop: sleep until the buffer wakes us (or a 1 s tick). */
		if (poll(&pfd, 1, 1000) > 0)
			++*wakeups;
		double d0 = thread_cpu_s();
		int r = sampler_drain(s, count_record, w);
		*drain_cpu += thread_cpu_s() - d0;
		assert_true(r >= 0);
		*records += (size_t)r;
	}
	sampler_disable(s);
	*records += (size_t)sampler_drain(s, count_record, w);
	*cpu = cpu_s() - c0;
	sampler_free(s);
	reap(w->pid);
}

static void test_cost(void **state)
{
	static struct seen w;
	double cpu, dcpu;
	size_t recs, wakes;
	cost_run(99, true, 3, &cpu, &dcpu, &recs, &wakes, &w);
	print_message("cost, dwarf 16 KiB at 99 Hz x 2 threads: %zu samples, %zu records, %zu "
		      "wake-ups in 3 s; profkit CPU %.1f ms = %.2f ms per 1000 samples (drain "
		      "%.2f ms per 1000); %zu lost\n", w.samples, recs, wakes, cpu * 1e3,
		      cpu * 1e6 / (double)w.samples, dcpu * 1e6 / (double)w.samples, w.lost);
	assert_true(w.samples > 20);
	assert_true(wakes < 40); /* a few wake-ups a second, not one per sample */
	assert_int_equal(w.lost, 0);
	cost_run(2000, false, 2, &cpu, &dcpu, &recs, &wakes, &w);
	print_message("drain, frame pointers at 2000 Hz x 2 threads: %zu records in %.2f ms of "
		      "drain CPU = %.0f records/s; profkit CPU %.1f ms, %zu wake-ups\n", recs,
		      dcpu * 1e3, (double)recs / dcpu, cpu * 1e3, wakes);
	cost_run(1000, true, 2, &cpu, &dcpu, &recs, &wakes, &w);
	print_message("drain, dwarf 16 KiB at 1000 Hz x 2 threads: %zu records in %.2f ms of "
		      "drain CPU = %.0f records/s; %zu lost\n", recs, dcpu * 1e3,
		      (double)recs / dcpu, w.lost);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_no_such_process),
		cmocka_unit_test(test_rate_one_thread),
		cmocka_unit_test(test_dwarf_regs_and_stack),
		cmocka_unit_test(test_kernel_callchains),
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_late_threads_inherit),
		cmocka_unit_test(test_main_thread_exits),
		cmocka_unit_test(test_dlopen_mmap),
		cmocka_unit_test(test_launch_from_exec),
		cmocka_unit_test(test_offcpu_switch_launch),
		cmocka_unit_test(test_offcpu_switch_attach_dwarf),
		cmocka_unit_test(test_privilege_sentences),
		cmocka_unit_test(test_cost),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
