/* profkit record: the session. One loop polls the perf ring buffer (on-CPU samples and
 * side-band records), the off-CPU ring buffer (eBPF), the target's pidfd, signals and a
 * 100 ms timer; every stack is unwound, symbolized and aggregated as it arrives, so that
 * the end of the recording only has to write the files. */
#include "cmd/record_session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bpf/offcpu.h"
#include "cmd/cmd.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/outdir.h"
#include "core/spawn.h"
#include "output/csv.h"
#include "output/flamegraph.h"
#include "output/folded.h"
#include "output/pprof.h"
#include "output/record_report.h"
#include "output/speedscope.h"
#include "perf/sampler.h"
#include "proc/proc_reader.h"
#include "stack/collect.h"
#include "util/pidmap.h"

#define STATUS_PERIOD_NS (100 * 1000 * 1000ull)

struct rthread {
	pid_t tid, pid;
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC; end 0: alive */
	uint64_t samples;
	char name[16];
};

/* The perf fallback for off-CPU: the stack taken at a switch-out, waiting for the
 * thread's switch-in. */
struct switch_out {
	uint32_t stack;
	uint64_t time;
};

struct rec {
	const struct record_opts *o;
	struct loop *loop;
	struct stack_profile *prof;
	struct symbolizer *sym;
	struct unwinder *unw;
	struct collector *col;
	struct sampler *smp;
	struct offcpu *oc;
	char offcpu_note[256];
	const char *offcpu_kind; /* NULL: off-CPU not recorded */
	bool kernel;             /* kernel stacks (o->kernel, unless refused) */
	struct pidmap threads;   /* tid -> struct rthread */
	struct pidmap procs;     /* pid -> (void *)1 once the unwinder/symbolizer know it */
	struct pidmap outs;      /* tid -> struct switch_out (fallback) */
	struct pidmap remapped;  /* pid -> (void *)1: new executable mappings to read */
	uint8_t *blocked_stack;  /* BLOCKED_STACK_BYTES: a blocked thread's stack copy */
	pid_t pid;               /* the target */
	char comm[16];
	char command[1024];
	pid_t child;
	int child_status;        /* -1: not reaped */
	int pidfd, timerfd, sigfd;
	uint64_t t0, t_end;
	double start_unix;
	bool stopping, done;
	int signals;
	const char *end_reason;
	uint64_t offcpu_blocks, samples, errors;
	int first_error;
	bool status_shown;
	char prefix[PATH_MAX];
};

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static uint64_t ns_to_us(uint64_t ns)
{
	return (ns + 500) / 1000;
}

/* ---- threads ------------------------------------------------------------------------- */

static struct rthread *thread_get(struct rec *r, pid_t pid, pid_t tid, uint64_t start)
{
	struct rthread *t = pidmap_get(&r->threads, tid);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t || pidmap_put(&r->threads, tid, t) < 0) {
		free(t);
		return NULL;
	}
	t->tid = tid;
	t->pid = pid;
	t->start_ns = start > r->t0 ? start : r->t0;
	return t;
}

static void thread_name(struct rec *r, pid_t pid, pid_t tid, const char *name)
{
	struct rthread *t = thread_get(r, pid, tid, 0);
	if (!t)
		return;
	size_t l = strnlen(name, sizeof(t->name) - 1);
	memcpy(t->name, name, l);
	t->name[l] = '\0';
	collector_thread_name(r->col, tid, t->name);
}

/* The first line of a small /proc file, "" when it cannot be read. */
static void read_text(const char *path, char *buf, size_t size)
{
	if (proc_read_file_at(AT_FDCWD, path, buf, size) < 0)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* The target's threads at attach time: they exist from the start of the recording. */
static void scan_threads(struct rec *r, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0)
			continue;
		char comm[32], p[96];
		snprintf(p, sizeof(p), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
		read_text(p, comm, sizeof(comm));
		thread_get(r, pid, tid, r->t0);
		if (comm[0])
			thread_name(r, pid, tid, comm);
	}
	closedir(d);
}

/* The unwinder and the symbolizer learn a process's mappings while it runs. */
static void know_process(struct rec *r, pid_t pid)
{
	if (pid <= 0 || pidmap_get(&r->procs, pid))
		return;
	pidmap_put(&r->procs, pid, (void *)1);
	symbolizer_add_process(r->sym, pid);
	if (r->unw)
		unwinder_add_process(r->unw, pid);
}

static void forget_process(struct rec *r, pid_t pid)
{
	pidmap_del(&r->procs, pid);
	symbolizer_exec(r->sym, pid);
	if (r->unw)
		unwinder_forget(r->unw, pid);
}

static void note_error(struct rec *r, int err)
{
	if (err >= 0)
		return;
	if (!r->errors++)
		r->first_error = err;
}

/* ---- perf records -------------------------------------------------------------------- */

static struct raw_stack raw_of_sample(const struct perf_rec_sample *s)
{
	return (struct raw_stack){
		.pid = s->pid, .tid = s->tid,
		.kernel_ips = s->kernel_ips, .nkernel = s->nkernel,
		.user_ips = s->user_ips, .nuser = s->nuser,
		.regs = s->regs.valid ? &s->regs : NULL,
		.stack = s->stack, .stack_size = s->stack_size,
	};
}

static void on_sample(struct rec *r, const struct perf_rec_sample *s)
{
	struct rthread *t = thread_get(r, s->pid, s->tid, s->time);
	if (t)
		t->samples++;
	r->samples++;
	know_process(r, s->pid);
	struct raw_stack rs = raw_of_sample(s);
	uint64_t us = s->period ? ns_to_us(s->period) : 1000000 / r->o->freq_hz;
	note_error(r, collector_add(r->col, &rs, STATE_ON_CPU, us ? us : 1));
}

/* Fallback off-CPU: the stack at a switch-out waits for the switch-in. */
static void on_switch_sample(struct rec *r, const struct perf_rec_sample *s)
{
	know_process(r, s->pid);
	thread_get(r, s->pid, s->tid, s->time);
	struct raw_stack rs = raw_of_sample(s);
	struct switch_out *so = pidmap_get(&r->outs, s->tid);
	if (!so) {
		so = malloc(sizeof(*so));
		if (!so || pidmap_put(&r->outs, s->tid, so) < 0) {
			free(so);
			return note_error(r, -ENOMEM);
		}
	}
	so->time = s->time;
	int e = collector_stack(r->col, &rs, STATE_OFF_CPU, &so->stack);
	if (e < 0) {
		free(pidmap_del(&r->outs, s->tid));
		note_error(r, e);
	}
}

static void on_switch(struct rec *r, pid_t tid, uint64_t time, bool out)
{
	if (out)
		return;
	struct switch_out *so = pidmap_del(&r->outs, tid);
	if (!so)
		return;
	uint64_t off = time > so->time ? time - so->time : 0;
	if (off >= r->o->min_block_us * 1000) {
		note_error(r, stack_profile__add(r->prof, tid, so->stack, ns_to_us(off)));
		r->offcpu_blocks++;
	}
	free(so);
}

static int on_perf_record(const struct perf_rec *pr, void *arg)
{
	struct rec *r = arg;
	switch (pr->type) {
	case PREC_SAMPLE:
		on_sample(r, &pr->u.sample);
		break;
	case PREC_SWITCH_SAMPLE:
		on_switch_sample(r, &pr->u.sample);
		break;
	case PREC_SWITCH:
		on_switch(r, pr->u.sw.tid, pr->u.sw.time, pr->u.sw.out);
		break;
	case PREC_COMM:
		if (pr->u.comm.exec) {
			/* The new image's mappings are read now, while it runs: a process
			 * that blocks at once and exits when it wakes is gone by the time its
			 * off-CPU block arrives. */
			forget_process(r, pr->u.comm.pid);
			know_process(r, pr->u.comm.pid);
		}
		thread_name(r, pr->u.comm.pid, pr->u.comm.tid, pr->u.comm.comm);
		break;
	case PREC_FORK:
		if (pr->u.task.pid != pr->u.task.ppid)
			symbolizer_fork(r->sym, pr->u.task.ppid, pr->u.task.pid);
		thread_get(r, pr->u.task.pid, pr->u.task.tid, pr->u.task.time);
		break;
	case PREC_EXIT: {
		struct rthread *t = pidmap_get(&r->threads, pr->u.task.tid);
		if (t && !t->end_ns)
			t->end_ns = pr->u.task.time;
		break;
	}
	case PREC_MMAP: {
		bool exec = pr->u.mmap.prot & PROT_EXEC;
		symbolizer_add_mapping(r->sym, pr->u.mmap.pid, pr->u.mmap.start, pr->u.mmap.len,
				       pr->u.mmap.pgoff, pr->u.mmap.inode, pr->u.mmap.path, exec);
		if (exec && r->unw)
			pidmap_put(&r->remapped, pr->u.mmap.pid, (void *)1);
		break;
	}
	default:
		break;
	}
	return 0;
}

/* The unwinder learns new executable mappings (ld.so loading the libraries, dlopen) from
 * /proc now, once per drain, while the process surely runs: a process that blocks at once
 * and exits when it wakes would otherwise be unwound without its libraries. */
static void read_new_mappings(struct rec *r)
{
	pid_t pid;
	void *v;
	for (size_t i = 0; pidmap_next(&r->remapped, &i, &pid, &v);) {
		if (pidmap_get(&r->procs, pid))
			unwinder_add_process(r->unw, pid); /* re-reads a known process now */
		else
			unwinder_mapping_changed(r->unw, pid);
		pidmap_del(&r->remapped, pid);
	}
}

static void drain_perf(struct rec *r)
{
	if (r->smp)
		sampler_drain(r->smp, on_perf_record, r);
	if (r->unw && r->remapped.live)
		read_new_mappings(r);
}

/* ---- off-CPU events ------------------------------------------------------------------ */

#define BLOCKED_STACK_BYTES 16384

/* A block that ended without its user stack (a thread still blocked at the end of the
 * recording, blocked all along): while the thread still waits in its system call, the
 * kernel tells where (/proc/PID/task/TID/syscall ends with the user SP and PC), and the
 * stack above SP is the same as when it blocked: copy it, and unwind it like any other. */
static bool read_blocked_user_state(pid_t pid, pid_t tid, struct user_regs *regs,
				    uint8_t *stack, size_t *size)
{
	char path[64], text[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	read_text(path, text, sizeof(text));
	unsigned long long v[9];
	int nr;
	if (sscanf(text, "%d %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) != 9 || nr < 0)
		return false;
	struct iovec local = { stack, BLOCKED_STACK_BYTES }, remote = { (void *)(uintptr_t)v[6],
									  BLOCKED_STACK_BYTES };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n <= 0) { /* the copy may cross the top of the stack: take what is mapped */
		remote.iov_len = local.iov_len = 4096 - (v[6] & 4095);
		n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	}
	if (n <= 0)
		return false;
	memset(regs, 0, sizeof(*regs));
	regs->r[UREG_RSP] = v[6];
	regs->r[UREG_RIP] = v[7];
	regs->valid = UREGS_MIN_VALID;
	*size = (size_t)n;
	return true;
}

static void on_offcpu(const struct offcpu_event *e, void *arg)
{
	struct rec *r = arg;
	/* The launched command between fork and exec is still profkit (its comm says so),
	 * waiting for the sampler to be attached: not the command's time. */
	if (r->child && e->pid == r->child &&
	    !strncmp(e->comm, program_invocation_short_name, sizeof(e->comm) - 1))
		return;
	struct rthread *t = thread_get(r, e->pid, e->tid, e->start_ns);
	if (t && !t->name[0] && e->comm[0]) {
		char comm[17];
		snprintf(comm, sizeof(comm), "%.16s", e->comm);
		thread_name(r, e->pid, e->tid, comm);
	}
	know_process(r, e->pid);
	struct raw_stack rs = {
		.pid = e->pid, .tid = e->tid,
		.kernel_ips = e->kernel_ips, .nkernel = e->nkernel,
		.regs = e->regs.valid ? &e->regs : NULL,
		.stack = e->stack, .stack_size = e->stack_size,
	};
	struct user_regs regs;
	if (!rs.regs && r->blocked_stack &&
	    read_blocked_user_state(e->pid, e->tid, &regs, r->blocked_stack, &rs.stack_size)) {
		rs.regs = &regs;
		rs.stack = r->blocked_stack;
	}
	r->offcpu_blocks++;
	uint64_t us = ns_to_us(e->off_ns);
	note_error(r, collector_add(r->col, &rs, STATE_OFF_CPU, us ? us : 1));
}

static void drain_offcpu(struct rec *r)
{
	if (r->oc)
		offcpu_poll(r->oc, on_offcpu, r);
}

/* ---- the end ------------------------------------------------------------------------- */

static void clear_status(struct rec *r)
{
	if (r->status_shown) {
		fputs("\r\033[K", stderr);
		r->status_shown = false;
	}
}

static void finish(struct rec *r, const char *reason)
{
	if (r->done)
		return;
	r->done = true;
	r->t_end = clock_mono_ns();
	if (!r->end_reason)
		r->end_reason = reason;
	if (r->smp)
		sampler_disable(r->smp);
	drain_perf(r);
	if (r->oc) {
		offcpu_flush(r->oc);
		drain_offcpu(r);
	}
	loop_quit(r->loop);
}

static void reap_child(struct rec *r)
{
	if (!r->child || r->child_status >= 0)
		return;
	siginfo_t si = { 0 };
	if (waitid(P_PID, (id_t)r->child, &si, WEXITED | WNOHANG) == 0 && si.si_pid == r->child)
		r->child_status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

/* A launched command still running when the recording ends (duration, second Ctrl-C) is
 * ended like timeout(1) ends it: SIGTERM, then SIGKILL 2 s later. */
static void end_child(struct rec *r)
{
	if (!r->child)
		return;
	for (int i = 0; i < 250 && r->child_status < 0; i++) {
		if (i == 0 || i == 200)
			kill(r->child, i ? SIGKILL : SIGTERM);
		reap_child(r);
		if (r->child_status >= 0)
			break;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static int on_pidfd(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)loop, (void)fd, (void)events;
	struct rec *r = data;
	reap_child(r);
	finish(r, "the target's exit");
	return 0;
}

static void draw_status(struct rec *r, uint64_t now)
{
	if (!r->o->status_line)
		return;
	fprintf(stderr, "\r\033[Krecording pid %d: %.1f s, %llu samples, %llu off-CPU blocks, %zu threads",
		(int)r->pid, (double)(now - r->t0) / 1e9, (unsigned long long)r->samples,
		(unsigned long long)r->offcpu_blocks, r->threads.live);
	r->status_shown = true;
}

static int on_timer(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)loop, (void)events;
	struct rec *r = data;
	uint64_t exp;
	if (read(fd, &exp, sizeof(exp)) < 0)
		return 0;
	drain_perf(r);
	drain_offcpu(r);
	uint64_t now = clock_mono_ns();
	draw_status(r, now);
	if (r->o->duration_s >= 0 && now - r->t0 >= (uint64_t)(r->o->duration_s * 1e9))
		finish(r, "the duration");
	return 0;
}

static int on_perf_fd(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)loop, (void)fd, (void)events;
	drain_perf(data);
	return 0;
}

static int on_offcpu_fd(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)loop, (void)fd, (void)events;
	drain_offcpu(data);
	return 0;
}

/* Attached: the first Ctrl-C/SIGTERM ends the recording. Launched: the first goes to the
 * command (unless the terminal already sent it to the whole group) and the recording
 * follows it to its exit; the second ends the recording (the command is then ended like
 * timeout(1) does). */
static int on_signal(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)loop, (void)events;
	struct rec *r = data;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap_child(r);
			if (r->child && r->child_status >= 0)
				finish(r, "the target's exit");
			continue;
		}
		r->signals++;
		if (!r->child || r->signals > 1) {
			finish(r, "a signal");
			continue;
		}
		r->end_reason = "a signal";
		if (si.ssi_code != SI_KERNEL)
			kill(r->child, (int)si.ssi_signo);
	}
	return 0;
}

/* ---- setup --------------------------------------------------------------------------- */

static int open_offcpu(struct rec *r)
{
	if (!r->o->offcpu)
		return 0;
	struct offcpu_opts oo = {
		.min_block_ns = r->o->min_block_us * 1000,
		.stack_bytes = r->o->dwarf ? 8192 : 0,
		.kernel_stacks = r->o->kernel,
		.follow_children = true,
	};
	char err[256] = "";
	const char *force = getenv("PROFKIT_OFFCPU");
	int e = -ENOTSUP;
	if (force && !strcmp(force, "perf"))
		snprintf(err, sizeof(err), "not used, PROFKIT_OFFCPU=perf");
	else
		e = offcpu_open(&oo, &r->oc, err, sizeof(err));
	if (e == 0) {
		r->offcpu_kind = "eBPF sched_switch";
		return 0;
	}
	snprintf(r->offcpu_note, sizeof(r->offcpu_note),
		 "eBPF unavailable: %s; using perf sched_switch sampling instead, which costs a "
		 "stack sample per context switch", err[0] ? err : strerror(-e));
	r->offcpu_kind = "perf sched_switch (fallback)";
	if (!r->o->quiet)
		warning("off-CPU: %s", r->offcpu_note);
	return 0;
}

static int open_sampler(struct rec *r, pid_t pid, bool launch)
{
	struct sampler_opts so = {
		.pid = pid,
		.launch = launch,
		.freq_hz = r->o->freq_hz,
		.kernel = r->kernel,
		.dwarf = r->o->dwarf,
		.stack_bytes = r->o->stack_bytes,
		.offcpu_switch = r->o->offcpu && !r->oc,
	};
	char err[512] = "";
	int e = sampler_open(&so, &r->smp, err, sizeof(err));
	/* Without privilege, do what is still allowed, and say what is missing: first the
	 * off-CPU fallback goes, then kernel stacks. */
	if ((e == -EACCES || e == -EPERM) && so.offcpu_switch) {
		warning("off-CPU: not recorded: %s", err);
		r->offcpu_kind = NULL;
		snprintf(r->offcpu_note, sizeof(r->offcpu_note), "%s", err);
		so.offcpu_switch = false;
		e = sampler_open(&so, &r->smp, err, sizeof(err));
	}
	if ((e == -EACCES || e == -EPERM) && so.kernel) {
		warning("kernel stacks: not recorded: %s", err);
		so.kernel = false;
		r->kernel = false;
		e = sampler_open(&so, &r->smp, err, sizeof(err));
	}
	if (e < 0)
		return error("cannot sample pid %d: %s", (int)pid, err[0] ? err : strerror(-e));
	/* The recording starts when the off-CPU tracer follows the target (the sampler is
	 * enabled a moment later, in start()). */
	r->t0 = clock_mono_ns();
	if (r->oc && (e = offcpu_add_pid(r->oc, pid)) < 0)
		return error("cannot follow pid %d off the CPU: %s", (int)pid, strerror(-e));
	return 0;
}

struct launch_ctx {
	struct rec *r;
	int code;
};

static void before_exec(pid_t pid, void *userdata)
{
	struct launch_ctx *lc = userdata;
	lc->code = open_sampler(lc->r, pid, true);
}

static int launch(struct rec *r)
{
	struct launch_ctx lc = { r, 0 };
	struct spawned sp;
	int e = spawn_command(r->o->argv, false, before_exec, &lc, &sp);
	if (e == -ENOENT)
		return error("cannot run '%s': command not found", r->o->argv[0]);
	if (e < 0)
		return error("cannot run '%s': %s", r->o->argv[0], strerror(-e));
	r->child = r->pid = sp.pid;
	thread_get(r, sp.pid, sp.pid, r->t0);
	if (lc.code) {
		end_child(r);
		return lc.code;
	}
	size_t n = 0;
	for (char **a = r->o->argv; *a && n + 1 < sizeof(r->command); a++)
		n += (size_t)snprintf(r->command + n, sizeof(r->command) - n, "%s%s", n ? " " : "", *a);
	snprintf(r->comm, sizeof(r->comm), "%s", strrchr(r->o->argv[0], '/') ?
		 strrchr(r->o->argv[0], '/') + 1 : r->o->argv[0]);
	return 0;
}

static int attach(struct rec *r)
{
	pid_t pid = r->o->pid;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return error("no process with PID %d", (int)pid);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	read_text(path, r->comm, sizeof(r->comm));
	r->pid = pid;
	scan_threads(r, pid);
	know_process(r, pid);
	return open_sampler(r, pid, false);
}

static int setup_loop(struct rec *r, sigset_t *old)
{
	sigset_t mask;
	sigemptyset(&mask);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, old);
	signal(SIGPIPE, SIG_IGN);
	r->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->sigfd < 0 || r->timerfd < 0)
		return neg_errno();
	int e = loop_add(r->loop, r->sigfd, EPOLLIN, on_signal, r);
	if (e == 0)
		e = loop_add(r->loop, r->timerfd, EPOLLIN, on_timer, r);
	return e;
}

static int start(struct rec *r)
{
	int e = loop_add(r->loop, sampler_fd(r->smp), EPOLLIN, on_perf_fd, r);
	if (e == 0 && r->oc)
		e = loop_add(r->loop, offcpu_fd(r->oc), EPOLLIN, on_offcpu_fd, r);
	if (e < 0)
		return error("cannot poll the ring buffers: %s", strerror(-e));
	r->pidfd = pidfd_open_(r->pid);
	if (r->pidfd < 0)
		return error("no process with PID %d", (int)r->pid);
	if ((e = loop_add(r->loop, r->pidfd, EPOLLIN, on_pidfd, r)) < 0)
		return error("cannot watch pid %d: %s", (int)r->pid, strerror(-e));
	struct itimerspec it = {
		.it_interval = { 0, STATUS_PERIOD_NS }, .it_value = { 0, STATUS_PERIOD_NS },
	};
	timerfd_settime(r->timerfd, 0, &it, NULL);
	if (!r->child)
		sampler_enable(r->smp);
	/* Threads found before the start exist from the start. */
	pid_t tid;
	void *v;
	for (size_t i = 0; pidmap_next(&r->threads, &i, &tid, &v);) {
		struct rthread *t = v;
		if (t->start_ns < r->t0)
			t->start_ns = r->t0;
	}
	return 0;
}

/* ---- output -------------------------------------------------------------------------- */

static int write_buf(const char *path, struct strbuf *sb)
{
	if (sb->failed)
		return error("out of memory writing %s", path);
	int fd = outdir_open_file(AT_FDCWD, path);
	if (fd < 0)
		return error("cannot create %s: %s", path, strerror(-fd));
	int e = write_all(fd, sb->buf, sb->len);
	if (close(fd) < 0 && e == 0)
		e = neg_errno();
	if (e < 0)
		return error("cannot write %s: %s", path, strerror(-e));
	return 0;
}

/* Writes PREFIX + suffix from the strbuf, which it resets. */
static int write_out(struct rec *r, const char *suffix, struct strbuf *sb)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s%s", r->prefix, suffix);
	int code = write_buf(path, sb);
	sb_reset(sb);
	return code;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct thread_time *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Every thread seen, with its lifetime inside the recording and its times. */
static struct thread_time *thread_times(struct rec *r, size_t *ret_n)
{
	struct thread_time *v = calloc(r->threads.live + 1, sizeof(*v));
	size_t n = 0;
	pid_t tid;
	void *val;
	if (!v)
		return NULL;
	for (size_t it = 0; pidmap_next(&r->threads, &it, &tid, &val);) {
		struct rthread *t = val;
		uint64_t end = t->end_ns && t->end_ns < r->t_end ? t->end_ns : r->t_end;
		struct thread_time *tt = &v[n++];
		tt->tid = t->tid;
		tt->pid = t->pid;
		tt->name = t->name[0] ? t->name : "?";
		tt->samples = t->samples;
		tt->life_us = end > t->start_ns ? ns_to_us(end - t->start_ns) : 0;
		timeacct_fill(r->prof, tt);
	}
	qsort(v, n, sizeof(*v), cmp_tid);
	*ret_n = n;
	return v;
}

static void fill_meta(struct rec *r, struct record_meta *m)
{
	struct sampler_stats ss = { 0 };
	struct collector_stats cs;
	if (r->smp)
		sampler_get_stats(r->smp, &ss);
	collector_get_stats(r->col, &cs);
	*m = (struct record_meta){
		.pid = r->pid, .name = r->comm, .command = r->child ? r->command : NULL,
		.start_unix = r->start_unix, .wall_s = (double)(r->t_end - r->t0) / 1e9,
		.event = r->smp ? sampler_event_name(r->smp) : "cpu-clock",
		.freq_hz = r->o->freq_hz, .dwarf = r->unw != NULL, .kernel = r->kernel,
		.offcpu = r->offcpu_kind, .offcpu_note = r->offcpu_note[0] ? r->offcpu_note : NULL,
		.min_block_us = r->o->min_block_us,
		.samples = r->samples, .lost_samples = ss.lost,
		.offcpu_blocks = r->offcpu_blocks,
		.stacks = cs.dwarf + cs.frame_pointer, .stacks_reaching_root = cs.reached_root,
		.end_reason = r->end_reason,
	};
	if (r->oc) {
		struct offcpu_stats os;
		offcpu_get_stats(r->oc, &os);
		m->offcpu_dropped = os.dropped;
	}
}

static void title_of(struct rec *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s (pid %d): on-CPU and off-CPU time", r->comm[0] ? r->comm : "?",
		 (int)r->pid);
}

/* A thread name as a file name: '/', spaces and control characters become '_'. */
static void file_safe(const char *name, char *buf, size_t size)
{
	size_t i = 0;
	for (; name[i] && i + 1 < size; i++) {
		unsigned char c = (unsigned char)name[i];
		buf[i] = c <= ' ' || c == '/' || c == 0x7f || c == '\\' ? '_' : (char)c;
	}
	buf[i] = '\0';
}

static int write_thread_files(struct rec *r, const struct record_meta *m,
			      const struct thread_time *t, size_t n)
{
	if (mkdir(r->prefix, 0777) < 0 && errno != EEXIST)
		return error("cannot create directory %s: %s", r->prefix, strerror(errno));
	struct strbuf sb = STRBUF_INIT;
	int code = 0;
	for (size_t i = 0; i < n && !code; i++) {
		if (!t[i].on_us && !t[i].off_us)
			continue;
		char safe[64], suffix[128], title[128];
		file_safe(t[i].name, safe, sizeof(safe));
		snprintf(suffix, sizeof(suffix), "/thread_%d_%s.folded", (int)t[i].tid, safe);
		if (folded_write(&sb, r->prof, t[i].tid, false) < 0)
			code = error("out of memory");
		if (!code)
			code = write_out(r, suffix, &sb);
		snprintf(suffix, sizeof(suffix), "/thread_%d_%s.svg", (int)t[i].tid, safe);
		snprintf(title, sizeof(title), "thread %d (%s) of pid %d", (int)t[i].tid, t[i].name,
			 (int)r->pid);
		struct flamegraph_opts fo = { .title = title };
		if (!code && flamegraph_write(&sb, r->prof, t[i].tid, false, &fo) < 0)
			code = error("out of memory drawing the flamegraph");
		if (!code)
			code = write_out(r, suffix, &sb);
	}
	if (!code && record_threads_write(&sb, m, r->prof, t, n) < 0)
		code = error("out of memory");
	if (!code)
		code = write_out(r, "/thread_analysis.txt", &sb);
	sb_free(&sb);
	return code;
}

static int write_exports(struct rec *r)
{
	struct strbuf sb = STRBUF_INIT;
	int code = 0;
	if (r->o->formats & RECORD_SPEEDSCOPE) {
		if (speedscope_write(&sb, r->prof, r->comm) < 0)
			code = error("out of memory");
		if (!code)
			code = write_out(r, ".speedscope.json", &sb);
	}
	if (!code && (r->o->formats & RECORD_PPROF)) {
		struct pprof_opts po = {
			.time_nanos = (int64_t)(r->start_unix * 1e9),
			.duration_nanos = (int64_t)(r->t_end - r->t0),
		};
		int e = pprof_write(&sb, r->prof, &po);
		if (e == -ENOTSUP)
			code = error("pprof: %s", pprof_unavailable());
		else if (e < 0)
			code = error("cannot encode the pprof profile: %s", strerror(-e));
		if (!code)
			code = write_out(r, ".pb.gz", &sb);
	}
	sb_free(&sb);
	return code;
}

static size_t threads_with_time(const struct thread_time *t, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += t[i].on_us || t[i].off_us;
	return k;
}

static void print_summary(struct rec *r, const struct record_meta *m, const struct thread_time *t,
			  size_t n, bool thread_dir)
{
	if (r->o->quiet)
		return;
	uint64_t on = 0, off = 0, life = 0;
	for (size_t i = 0; i < n; i++) {
		on += t[i].on_us;
		off += t[i].off_us;
		life += t[i].life_us;
	}
	fprintf(stderr, "profkit record: pid %d (%s), %.2f s, %llu samples, %llu off-CPU blocks\n",
		(int)r->pid, r->comm, m->wall_s, (unsigned long long)m->samples,
		(unsigned long long)m->offcpu_blocks);
	fprintf(stderr, "  on-CPU %.3f s, off-CPU %.3f s, coverage %.1f%% of %zu thread(s)' time\n",
		(double)on / 1e6, (double)off / 1e6, timeacct_coverage(on, off, life), n);
	fprintf(stderr, "  wrote %s.svg, %s.folded, %s_analysis.txt%s%s%s\n", r->prefix, r->prefix,
		r->prefix, thread_dir ? ", " : "", thread_dir ? r->prefix : "",
		thread_dir ? "/ (one flamegraph per thread)" : "");
	if (r->errors)
		fprintf(stderr, "  %llu stacks could not be recorded: %s\n",
			(unsigned long long)r->errors, strerror(-r->first_error));
}

static int write_outputs(struct rec *r)
{
	struct record_meta m;
	fill_meta(r, &m);
	size_t n;
	struct thread_time *t = thread_times(r, &n);
	if (!t)
		return error("out of memory");
	struct strbuf sb = STRBUF_INIT;
	char title[128];
	title_of(r, title, sizeof(title));
	struct flamegraph_opts fo = { .title = title };
	int code = folded_write(&sb, r->prof, 0, true) < 0 ? error("out of memory") : 0;
	if (!code)
		code = write_out(r, ".folded", &sb);
	if (!code && flamegraph_write(&sb, r->prof, 0, true, &fo) < 0)
		code = error("out of memory drawing the flamegraph");
	if (!code)
		code = write_out(r, ".svg", &sb);
	if (!code && record_analysis_write(&sb, &m, r->prof, t, n) < 0)
		code = error("out of memory");
	if (!code)
		code = write_out(r, "_analysis.txt", &sb);
	bool per_thread = r->o->threads == RECORD_THREADS_ON ||
			  (r->o->threads == RECORD_THREADS_AUTO && threads_with_time(t, n) > 1);
	if (!code && per_thread)
		code = write_thread_files(r, &m, t, n);
	if (!code)
		code = write_exports(r);
	clear_status(r);
	if (!code)
		print_summary(r, &m, t, n, per_thread);
	sb_free(&sb);
	free(t);
	return code;
}

static void default_prefix(struct rec *r)
{
	if (r->o->prefix) {
		snprintf(r->prefix, sizeof(r->prefix), "%s", r->o->prefix);
		return;
	}
	char when[32] = "";
	time_t now = time(NULL);
	struct tm tm;
	if (localtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
	snprintf(r->prefix, sizeof(r->prefix), "profile_pid%d_%s", (int)r->pid, when);
}

/* ---- the session --------------------------------------------------------------------- */

static int new_model(struct rec *r)
{
	struct symbolizer_opts so = { .demangle = true };
	int e = stack_profile__new(NULL, &r->prof);
	if (e == 0)
		e = symbolizer_new(&so, &r->sym);
	if (e == 0 && r->o->dwarf) {
		e = unwinder_new(&r->unw);
		if (e == -ENOTSUP) {
			r->unw = NULL;
			e = 0;
		}
	}
	struct collector_opts co = { .kernel = r->o->kernel, .thread_root = true };
	if (e == 0 && r->unw && !(r->blocked_stack = malloc(BLOCKED_STACK_BYTES)))
		e = -ENOMEM;
	if (e == 0)
		e = collector_new(r->prof, r->sym, r->unw, &co, &r->col);
	return e;
}

static void free_all(struct rec *r)
{
	pid_t tid;
	void *v;
	for (size_t it = 0; pidmap_next(&r->threads, &it, &tid, &v);)
		free(v);
	for (size_t it = 0; pidmap_next(&r->outs, &it, &tid, &v);)
		free(v);
	pidmap_free(&r->threads);
	pidmap_free(&r->outs);
	pidmap_free(&r->procs);
	pidmap_free(&r->remapped);
	free(r->blocked_stack);
	sampler_free(r->smp);
	offcpu_free(r->oc);
	collector_free(r->col);
	unwinder_free(r->unw);
	symbolizer_free(r->sym);
	stack_profile__free(r->prof);
	if (r->pidfd >= 0)
		close(r->pidfd);
	if (r->timerfd >= 0)
		close(r->timerfd);
	if (r->sigfd >= 0)
		close(r->sigfd);
	loop_free(r->loop);
}

int record_session_run(const struct record_opts *o)
{
	struct rec r = { .o = o, .child_status = -1, .pidfd = -1, .timerfd = -1, .sigfd = -1,
			 .kernel = o->kernel };
	sigset_t old;
	sigprocmask(SIG_BLOCK, NULL, &old);
	int code = 0;
	int e = loop_new(&r.loop);
	if (e == 0)
		e = new_model(&r);
	if (e == 0)
		e = setup_loop(&r, &old);
	if (e < 0) {
		code = error("cannot set up the recording: %s", strerror(-e));
		goto out;
	}
	r.t0 = clock_mono_ns();
	open_offcpu(&r);
	code = o->argv ? launch(&r) : attach(&r);
	if (!code)
		code = start(&r);
	if (code)
		goto out;
	r.start_unix = clock_unix_s() - (double)(clock_mono_ns() - r.t0) / 1e9;
	default_prefix(&r);
	e = loop_run(r.loop);
	if (!r.done)
		finish(&r, "an error");
	if (e < 0)
		code = error("%s", strerror(-e));
	int wc = write_outputs(&r);
	if (!code)
		code = wc;
	if (r.child) {
		end_child(&r);
		if (!code && r.child_status > 0)
			code = r.child_status;
	}
out:
	if (r.child && r.child_status < 0)
		end_child(&r);
	clear_status(&r);
	free_all(&r);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return code;
}
