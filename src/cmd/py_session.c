/* The sampling session of profkit py: the event loop's timer on absolute CLOCK_MONOTONIC
 * deadlines; at each tick every thread of the target is walked (src/python),
 * its CPU clock read (/proc/PID/task/TID/schedstat) and the sample added to the profile
 * (analysis/pyprof) weighted by the time measured since that thread's previous sample. */
#include "cmd/py_session.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "analysis/pyprof.h"
#include "cmd/cmd.h"
#include "cmd/py_children.h"
#include "core/clock.h"
#include "core/outdir.h"
#include "core/spawn.h"
#include "output/csv.h"
#include "output/py_report.h"
#include "proc/procfs.h"
#include "python/python.h"
#include "util/pidmap.h"
#include "util/strbuf.h"


struct tinfo {
	int fd;          /* schedstat (or stat); -1 when unreadable */
	bool stat_fallback;
	uint64_t seen_tick;
	int index;       /* in the profile */
	uint64_t tstate;
	pid_t tid;       /* 0: unknown */
	int comm_fd;     /* /proc/PID/task/TID/comm; -1 when unreadable */
	char comm[64];   /* the name it had when last looked at */
	/* The only thread of its process: its clock at the last look (schedstat) and the
	 * process's CPU clock then (see thread_cpu_ns). */
	bool anchored;
	uint64_t anchor_thread_ns, anchor_process_ns;
};

struct py_target {
	pid_t pid;
	struct py_proc *proc;
	struct py_info info;
	int pidfd;
	bool alive;
	bool child;      /* followed by --subprocesses (not the process attached to) */
	char comm[64];
	uint32_t *code_frame; /* py_code id -> profile frame id + 1 */
	size_t ncode_frame;
	struct pidmap threads; /* tid -> struct tinfo */
	uint64_t walks, walk_fail;
	/* One thread only (the kernel's count, /proc/PID/task's link count, looked at every
	 * SOLO_RECHECK_NS): its CPU time is read from the process's CPU clock. */
	bool task_tried, solo, solo_fresh;
	int task_fd;
	clockid_t clock;
	uint64_t solo_at_ns;
};

struct py_session {
	struct py_session_opts o;
	struct loop *loop;
	struct pyprof *prof;
	struct py_target target;  /* the process attached to */
	bool have_target;
	struct py_target *cur;    /* the one being walked */
	/* --subprocesses: the child processes followed now, and how they are found. */
	struct py_target **kids;
	size_t nkids, capkids, kids_seen;
	struct py_children *children;
	pid_t *followed;          /* scratch for a scan: the PIDs followed */
	struct py_io gone_io; /* remote reads of children no longer followed */
	enum py_state state;
	uint64_t interval_ns, start_ns, end_ns, k, ticks, missed;
	uint64_t late_sum_ns, late_max_ns, first_tick_ns, last_tick_ns;
	bool final_armed;
	long clk_tck;
	pid_t child;          /* launched command */
	int child_pidfd;
	int child_status;     /* -1 while running */
	bool status_shown;
	double last_status;
	bool warned_qualnames;
	uint32_t frame_ids[PY_MAX_DEPTH];
};

/* ---- target threads ------------------------------------------------------------------- */

static int open_thread_clock(pid_t pid, pid_t tid, bool *ret_fallback)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*ret_fallback = false;
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	*ret_fallback = true;
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* The thread's own CPU time: schedstat's first field (ns), else utime+stime from stat. */
static uint64_t read_thread_cpu_ns(struct py_session *s, struct tinfo *ti)
{
	char buf[1024];
	if (ti->fd < 0)
		return PYPROF_NO_CPU;
	ssize_t n = pread(ti->fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return PYPROF_NO_CPU;
	buf[n] = '\0';
	char *end;
	if (!ti->stat_fallback) {
		uint64_t v = strtoull(buf, &end, 10);
		return end == buf ? PYPROF_NO_CPU : v;
	}
	struct proc_stat st;
	if (procfs_parse_stat(buf, (size_t)n, &st) < 0)
		return PYPROF_NO_CPU;
	return (st.utime + st.stime) * (NSEC_PER_SEC / (uint64_t)s->clk_tck);
}

static uint64_t process_cpu_ns(const struct py_target *t)
{
	struct timespec ts;
	if (clock_gettime(t->clock, &ts) < 0)
		return PYPROF_NO_CPU;
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

#define SOLO_RECHECK_NS 10000000u

/* Is the target a single thread? The process's CPU clock is one clock_gettime (0.27 µs
 * here) where a thread's schedstat is a pread the kernel formats (0.81 µs), and a thread
 * cannot read another process's thread clocks. A Python thread shows in the walk at once
 * (CPython makes its thread state before the thread starts: py_thread.only); native
 * threads (a BLAS pool) only in the kernel's count, looked at every SOLO_RECHECK_NS: a
 * native thread started between two looks adds its CPU time to the main thread's until
 * the next. */
static void check_solo(struct py_target *t, uint64_t now)
{
	if (t->solo_at_ns && now - t->solo_at_ns < SOLO_RECHECK_NS)
		return;
	t->solo_at_ns = now;
	if (!t->task_tried) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task", (int)t->pid);
		t->task_tried = true;
		t->task_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (t->task_fd >= 0 && clock_getcpuclockid(t->pid, &t->clock) != 0) {
			close(t->task_fd);
			t->task_fd = -1;
		}
	}
	struct stat st;
	/* The link count of /proc/PID/task is 2 plus the number of threads. */
	t->solo = t->task_fd >= 0 && fstat(t->task_fd, &st) == 0 && st.st_nlink == 3;
	t->solo_fresh = true;
}

/* The thread's own CPU time. The only thread of its process reads it from the process's
 * clock, from where schedstat put it at the last look (the two advance together while
 * it is alone, so no error adds up); other threads read schedstat each time. */
static uint64_t thread_cpu_ns(struct py_session *s, struct py_target *t, struct tinfo *ti,
			      bool only)
{
	bool alone = t->solo && only && ti->tid == t->pid && !ti->stat_fallback;
	if (alone && ti->anchored && !t->solo_fresh) {
		uint64_t p = process_cpu_ns(t);
		if (p != PYPROF_NO_CPU && p >= ti->anchor_process_ns)
			return ti->anchor_thread_ns + (p - ti->anchor_process_ns);
	}
	uint64_t v = read_thread_cpu_ns(s, ti);
	ti->anchored = false;
	if (alone && v != PYPROF_NO_CPU) {
		ti->anchor_process_ns = process_cpu_ns(t);
		ti->anchor_thread_ns = v;
		ti->anchored = ti->anchor_process_ns != PYPROF_NO_CPU;
	}
	return v;
}

/* Threads of a target whose name file stays open (beyond, it is opened at each look):
 * a thread already holds its schedstat open, and py does not raise RLIMIT_NOFILE, which a
 * launched command would inherit. */
#define COMM_FDS_MAX 64

static int open_thread_comm(pid_t pid, pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* The kernel's name of a thread (what prctl(PR_SET_NAME) or pthread_setname_np set; the
 * process's name otherwise), from its kept name file or opened now. "" when it cannot be
 * read. */
static void read_thread_comm(pid_t pid, const struct tinfo *ti, char *out, size_t size)
{
	int fd = ti->comm_fd >= 0 ? ti->comm_fd : open_thread_comm(pid, ti->tid);
	ssize_t n = fd >= 0 ? pread(fd, out, size - 1, 0) : -1;
	if (fd >= 0 && fd != ti->comm_fd)
		close(fd);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/* "io-worker (1236)"; a thread of a followed child process also names its process:
 * "python3 (1240/1242)", like perf's PID/TID. */
static void thread_label(const struct py_target *t, pid_t tid, const char *comm, char *out,
			 size_t size)
{
	if (t->child)
		snprintf(out, size, "%s (%d/%d)", *comm ? comm : "thread", (int)t->pid, (int)tid);
	else
		snprintf(out, size, "%s (%d)", *comm ? comm : "thread", (int)tid);
}

static void tinfo_free(struct tinfo *ti)
{
	if (ti && ti->fd >= 0)
		close(ti->fd);
	if (ti && ti->comm_fd >= 0)
		close(ti->comm_fd);
	free(ti);
}

static struct tinfo *thread_info(struct py_session *s, struct py_target *t, const struct py_thread *th)
{
	pid_t key = th->tid > 0 ? th->tid : (pid_t)-2 - (pid_t)(th->tstate & 0xfffffff);
	struct tinfo *ti = pidmap_get(&t->threads, key);
	if (ti && ti->tstate == th->tstate)
		return ti;
	if (ti) /* the same tid with another thread state: a new thread */
		tinfo_free(pidmap_del(&t->threads, key));
	ti = calloc(1, sizeof(*ti));
	if (!ti)
		return NULL;
	char label[96];
	ti->tstate = th->tstate;
	ti->fd = ti->comm_fd = -1;
	if (th->tid > 0) {
		ti->tid = th->tid;
		ti->fd = open_thread_clock(t->pid, th->tid, &ti->stat_fallback);
		if (t->threads.live < COMM_FDS_MAX)
			ti->comm_fd = open_thread_comm(t->pid, th->tid);
		read_thread_comm(t->pid, ti, ti->comm, sizeof(ti->comm));
		thread_label(t, th->tid, ti->comm, label, sizeof(label));
	} else if (t->child) {
		snprintf(label, sizeof(label), "thread 0x%" PRIx64 " (%d)", th->thread_id, (int)t->pid);
	} else {
		snprintf(label, sizeof(label), "thread 0x%" PRIx64, th->thread_id);
	}
	ti->index = pyprof_thread(s->prof, t->pid, th->tid, th->tstate, label);
	if (ti->index < 0 || pidmap_put(&t->threads, key, ti) < 0) {
		tinfo_free(ti);
		return NULL;
	}
	if (*ti->comm)
		pyprof_thread_rename(s->prof, ti->index, label, ti->comm);
	return ti;
}

/* Threads not seen for a while are gone: close their clocks. The others' names are looked
 * at again: a thread may name itself after it started. */
static void sweep_threads(struct py_session *s, struct py_target *t)
{
	pid_t pid;
	void *val;
	for (size_t it = 0; pidmap_next(&t->threads, &it, &pid, &val);) {
		struct tinfo *ti = val;
		if (ti->seen_tick + 2 < s->ticks) {
			tinfo_free(pidmap_del(&t->threads, pid));
			continue;
		}
		char comm[64], label[96];
		if (ti->tid <= 0)
			continue;
		read_thread_comm(t->pid, ti, comm, sizeof(comm));
		if (!*comm || !strcmp(comm, ti->comm))
			continue;
		memcpy(ti->comm, comm, sizeof(comm));
		thread_label(t, ti->tid, comm, label, sizeof(label));
		pyprof_thread_rename(s->prof, ti->index, label, comm);
	}
}

static uint32_t frame_of(struct py_session *s, struct py_target *t, const struct py_code *c)
{
	if (c->id >= t->ncode_frame) {
		size_t n = t->ncode_frame ? t->ncode_frame : 256;
		while (n <= c->id)
			n *= 2;
		uint32_t *m = realloc(t->code_frame, n * sizeof(*m));
		if (!m)
			return UINT32_MAX;
		memset(m + t->ncode_frame, 0, (n - t->ncode_frame) * sizeof(*m));
		t->code_frame = m;
		t->ncode_frame = n;
	}
	if (!t->code_frame[c->id]) {
		uint32_t id = pyprof_frame(s->prof, c->name, c->qualname, c->filename, c->firstlineno);
		if (id == UINT32_MAX)
			return id;
		t->code_frame[c->id] = id + 1;
	}
	return t->code_frame[c->id] - 1;
}

static int on_thread(void *userdata, const struct py_thread *th)
{
	struct py_session *s = userdata;
	struct py_target *t = s->cur;
	struct tinfo *ti = thread_info(s, t, th);
	if (!ti)
		return -ENOMEM;
	ti->seen_tick = s->ticks;
	if (th->status < 0) {
		pyprof_drop(s->prof, ti->index);
		return 0;
	}
	for (size_t i = 0; i < th->nframes; i++) {
		s->frame_ids[i] = frame_of(s, t, th->frames[i]);
		if (s->frame_ids[i] == UINT32_MAX)
			return -ENOMEM;
	}
	return pyprof_sample(s->prof, ti->index, s->frame_ids, th->nframes,
			     thread_cpu_ns(s, t, ti, th->only));
}

/* ---- the tick ------------------------------------------------------------------------- */

static void end_sampling(struct py_session *s, enum py_state state);

static void show_status(struct py_session *s, double elapsed)
{
	if (!s->o.status_line)
		return;
	if (s->status_shown && elapsed - s->last_status < 0.2)
		return;
	struct pyprof_totals tot;
	pyprof_totals(s->prof, &tot);
	s->last_status = elapsed;
	fprintf(stderr, "\r\033[Kprofkit: %.1f s, %llu samples (%llu dropped), %zu thread%s",
		elapsed, (unsigned long long)tot.samples, (unsigned long long)tot.dropped,
		tot.threads, tot.threads == 1 ? "" : "s");
	if (s->children)
		fprintf(stderr, ", %zu child process%s", s->nkids, s->nkids == 1 ? "" : "es");
	s->status_shown = true;
}

void py_session_clear_status(struct py_session *s)
{
	if (s->status_shown)
		fputs("\r\033[K", stderr);
	s->status_shown = false;
}

/* Walks one target; false when it has ended (gone, or no longer readable). */
static bool walk_target(struct py_session *s, struct py_target *t, uint64_t now)
{
	s->cur = t;
	t->walks++;
	check_solo(t, now);
	int r = py_frame_walk(t->proc, on_thread, s);
	t->solo_fresh = false;
	if (r == -EAGAIN) {
		t->walk_fail++;
		pyprof_drop_pid(s->prof, t->pid);
	} else if (r < 0 && r != -ENOMEM) {
		/* Gone (ESRCH) or no longer readable: the end of this target. */
		t->walk_fail++;
		return false;
	}
	return true;
}

static void target_clear(struct py_target *t, struct loop *loop, int keep_fd);
static void follow_children(struct py_session *s, uint64_t now);

static void add_io(struct py_io *sum, const struct py_proc *p)
{
	struct py_io io;
	py_proc_io(p, &io);
	sum->calls += io.calls;
	sum->iovecs += io.iovecs;
	sum->bytes += io.bytes;
}

/* A child that ended. One that still runs was not readable any more: it exec'd (a
 * multiprocessing "spawn" child, a subprocess): the next scan offers it again. */
static void drop_child(struct py_session *s, size_t i)
{
	struct py_target *t = s->kids[i];
	add_io(&s->gone_io, t->proc);
	if (s->children && kill(t->pid, 0) == 0)
		py_children_poke(s->children);
	target_clear(t, s->loop, -1);
	free(t);
	s->kids[i] = s->kids[--s->nkids];
}

static void sample(struct py_session *s, uint64_t now)
{
	struct py_target *t = &s->target;
	if (!s->ticks)
		s->first_tick_ns = now;
	s->last_tick_ns = now;
	s->ticks++;
	if (s->children && t->alive && py_children_due(s->children, now))
		follow_children(s, now);
	pyprof_tick_begin(s->prof, now);
	if (t->alive && !walk_target(s, t, now))
		t->alive = false;
	for (size_t i = 0; i < s->nkids;) {
		if (walk_target(s, s->kids[i], now))
			i++;
		else
			drop_child(s, i);
	}
	pyprof_tick_end(s->prof);
	if ((s->ticks & 255) == 0) {
		sweep_threads(s, t);
		for (size_t i = 0; i < s->nkids; i++)
			sweep_threads(s, s->kids[i]);
	}
	show_status(s, (double)(now - s->first_tick_ns) / 1e9);
	if (!t->alive)
		end_sampling(s, PY_TARGET_EXITED);
}

static void on_timer(struct loop *loop, uint64_t now, void *data);

static void arm(struct py_session *s, uint64_t at_ns)
{
	loop_set_timer(s->loop, at_ns, on_timer, s);
}

/* Deadlines are start + k * interval (absolute time: no drift). A tick that comes late is
 * taken late, once: the deadlines it missed are counted, not taken in a burst. With a
 * duration, the last sample is at its end exactly. */
static void on_timer(struct loop *loop, uint64_t now, void *data)
{
	(void)loop;
	struct py_session *s = data;
	if (s->state != PY_SAMPLING)
		return;
	if (s->final_armed) {
		sample(s, now);
		end_sampling(s, PY_STOPPED);
		return;
	}
	uint64_t k = (now - s->start_ns) / s->interval_ns;
	if (k > s->k + 1)
		s->missed += k - s->k - 1;
	s->k = k;
	uint64_t late = now - (s->start_ns + k * s->interval_ns);
	s->late_sum_ns += late;
	if (late > s->late_max_ns)
		s->late_max_ns = late;
	sample(s, now);
	if (s->state != PY_SAMPLING)
		return;
	if (s->end_ns && now >= s->end_ns) {
		end_sampling(s, PY_STOPPED);
		return;
	}
	uint64_t next = s->start_ns + (k + 1) * s->interval_ns;
	if (s->end_ns && next > s->end_ns) {
		s->final_armed = true;
		next = s->end_ns;
	}
	arm(s, next);
}

static void disarm(struct py_session *s)
{
	loop_set_timer(s->loop, 0, NULL, NULL);
}

static void end_sampling(struct py_session *s, enum py_state state)
{
	if (s->state != PY_SAMPLING)
		return;
	disarm(s);
	s->state = state;
	py_session_clear_status(s);
	if (s->o.on_end)
		s->o.on_end(s->o.userdata);
	else
		loop_quit(s->loop);
}

static int on_pidfd(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)events;
	struct py_session *s = data;
	loop_del(loop, fd);
	if (fd == s->child_pidfd) {
		siginfo_t si = { 0 };
		if (waitid(P_PID, (id_t)s->child, &si, WEXITED | WNOHANG) == 0 && si.si_pid == s->child)
			s->child_status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
		close(fd);
		s->child_pidfd = -1;
		if (s->target.pidfd != fd && s->target.alive)
			return 0; /* the launcher ended; its Python child may go on */
		s->target.pidfd = -1;
	} else if (fd == s->target.pidfd) {
		close(fd);
		s->target.pidfd = -1;
	}
	/* The target is gone: one last sample (which finds it gone) ends the session. */
	if (s->state == PY_SAMPLING && s->target.alive) {
		s->target.alive = false;
		end_sampling(s, PY_TARGET_EXITED);
	}
	return 0;
}

/* ---- attaching ------------------------------------------------------------------------ */

/* Frees what a target holds; keep_fd: a pidfd that is not the target's to close. */
static void target_clear(struct py_target *t, struct loop *loop, int keep_fd)
{
	pid_t pid;
	void *val;
	for (size_t it = 0; pidmap_next(&t->threads, &it, &pid, &val);)
		tinfo_free(val);
	pidmap_free(&t->threads);
	if (t->pidfd >= 0 && t->pidfd != keep_fd) {
		loop_del(loop, t->pidfd);
		close(t->pidfd);
	}
	if (t->task_tried && t->task_fd >= 0)
		close(t->task_fd);
	py_proc_free(t->proc);
	free(t->code_frame);
	memset(t, 0, sizeof(*t));
	t->pidfd = -1;
}

static void release_children(struct py_session *s)
{
	while (s->nkids)
		drop_child(s, s->nkids - 1);
}

static void target_release(struct py_session *s)
{
	if (!s->have_target)
		return;
	release_children(s);
	target_clear(&s->target, s->loop, s->child_pidfd);
	s->have_target = false;
}

static void read_comm(pid_t pid, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	out[0] = '\0';
	if (f) {
		if (fgets(out, (int)size, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
	}
}

static void log_fn(void *userdata, enum pk_log_level level, const char *msg)
{
	struct py_session *s = userdata;
	if (level == PK_LOG_DEBUG)
		return;
	py_session_clear_status(s);
	if (level >= PK_LOG_ERROR)
		error("%s", msg);
	else if (level == PK_LOG_WARN)
		warning("%s", msg);
}

/* One clear line for each way attaching fails. */
static int attach_error(pid_t pid, int r, const struct py_info *info)
{
	char comm[64];
	read_comm(pid, comm, sizeof(comm));
	switch (r) {
	case -ESRCH:
		return error("no process with PID %d", (int)pid);
	case -EPERM:
	case -EACCES:
		return error("not permitted to read the memory of PID %d (%s): needs CAP_SYS_PTRACE "
			     "(or run as root), and a ptrace scope that allows it",
			     (int)pid, comm);
	case -ENOTSUP:
		return error("PID %d (%s) runs Python %u.%u, which profkit does not read "
			     "(CPython 3.8 to 3.13 and newer)",
			     (int)pid, comm, info->major, info->minor);
	case -EPROTO:
		return error("PID %d (%s) has a Python runtime in %s, but its version cannot be told",
			     (int)pid, comm, info->elf_path);
	case -ENOEXEC: {
		pid_t child = py_find_python_child(pid);
		if (child > 0) {
			char cc[64];
			read_comm(child, cc, sizeof(cc));
			return error("PID %d (%s) is not a Python process; its child %d (%s) is: "
				     "profkit py -p %d", (int)pid, comm, (int)child, cc, (int)child);
		}
		return error("PID %d (%s) is not a Python process (no libpython or _PyRuntime in it)",
			     (int)pid, comm);
	}
	default:
		return error("cannot attach to PID %d: %s", (int)pid, strerror(-r));
	}
}

/* Class.method patterns cannot match before 3.11, which has no co_qualname: say so once. */
static void warn_qualified(struct py_session *s)
{
	const struct py_info *i = &s->target.info;
	if (!s->have_target || s->warned_qualnames || i->major > 3 || (i->major == 3 && i->minor >= 11))
		return;
	struct pyprof_result r[PYPROF_MAX_FUNCS];
	size_t n = pyprof_results(s->prof, r, PYPROF_MAX_FUNCS, false);
	for (size_t k = 0; k < n; k++)
		if (pyprof_pattern_is_qualified(r[k].pattern)) {
			py_session_clear_status(s);
			warning("'%s': qualified names (Class.method) need CPython 3.11 or newer; "
				"PID %d runs %u.%u, where only plain names match",
				r[k].pattern, (int)s->target.pid, i->major, i->minor);
			s->warned_qualnames = true;
			return;
		}
}

/* ---- --subprocesses -------------------------------------------------------------------- */

/* An offered child: attached when it is a Python process profkit reads. */
static enum py_child_verdict offer_child(void *userdata, pid_t pid)
{
	struct py_session *s = userdata;
	struct pk_log log = { log_fn, s };
	struct py_info info;
	struct py_proc *proc = NULL;
	int r = py_proc_attach(pid, &log, &info, &proc);
	if (r == -ENOEXEC || r == -EPROTO)
		return PY_CHILD_NOT_YET; /* not Python, or not yet (between fork and exec) */
	if (r == -ENOTSUP) {
		py_session_clear_status(s);
		warning("child PID %d runs Python %u.%u, which profkit does not read: not followed",
			(int)pid, info.major, info.minor);
		return PY_CHILD_NEVER;
	}
	if (r == -EPERM) {
		py_session_clear_status(s);
		warning("child PID %d: not permitted to read its memory: not followed", (int)pid);
		return PY_CHILD_NEVER;
	}
	if (r < 0)
		return r == -ESRCH ? PY_CHILD_NOT_YET : PY_CHILD_NEVER;
	if (s->nkids == s->capkids) {
		size_t cap = s->capkids ? s->capkids * 2 : 8;
		struct py_target **k = realloc(s->kids, cap * sizeof(*k));
		if (!k) {
			py_proc_free(proc);
			return PY_CHILD_NOT_YET;
		}
		s->kids = k;
		s->capkids = cap;
	}
	struct py_target *t = calloc(1, sizeof(*t));
	if (!t) {
		py_proc_free(proc);
		return PY_CHILD_NOT_YET;
	}
	*t = (struct py_target){ .pid = pid, .proc = proc, .info = info, .pidfd = -1,
				 .alive = true, .child = true };
	read_comm(pid, t->comm, sizeof(t->comm));
	s->kids[s->nkids++] = t;
	s->kids_seen++;
	return PY_CHILD_FOLLOWED;
}

static void follow_children(struct py_session *s, uint64_t now)
{
	pid_t *f = realloc(s->followed, (s->nkids + 1) * sizeof(*f));
	if (!f)
		return;
	s->followed = f;
	f[0] = s->target.pid;
	for (size_t i = 0; i < s->nkids; i++)
		f[i + 1] = s->kids[i]->pid;
	py_children_scan(s->children, f, s->nkids + 1, now, offer_child, s);
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int py_session_start(struct py_session *s, pid_t pid, double wait_s)
{
	struct pk_log log = { log_fn, s };
	struct py_info info;
	struct py_proc *proc = NULL;
	int r;
	uint64_t deadline = clock_mono_ns() + (uint64_t)(wait_s * 1e9);
	pid_t attach_pid = pid;
	for (;;) {
		r = py_proc_attach(attach_pid, &log, &info, &proc);
		if (r == -ENOEXEC && wait_s > 0) {
			pid_t child = py_find_python_child(pid);
			if (child > 0) {
				attach_pid = child;
				r = py_proc_attach(attach_pid, &log, &info, &proc);
			}
		}
		if (r == 0 || wait_s <= 0 || clock_mono_ns() > deadline ||
		    (r != -ENOEXEC && r != -EPROTO))
			break;
		if (s->child && s->child_status < 0) { /* the launched command died already? */
			siginfo_t si = { 0 };
			if (waitid(P_PID, (id_t)s->child, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == s->child)
				break;
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (r < 0)
		return attach_error(attach_pid, r, &info);
	target_release(s);
	s->kids_seen = 0;
	if (s->children) { /* children of the new target only */
		py_children_free(s->children);
		s->children = NULL;
		if (py_children_new("/proc", &s->children) < 0) {
			py_proc_free(proc);
			return error("out of memory");
		}
	}
	struct py_target *t = &s->target;
	t->pid = attach_pid;
	t->proc = proc;
	t->info = info;
	t->alive = true;
	t->pidfd = attach_pid == s->child && s->child_pidfd >= 0 ? s->child_pidfd : pidfd_open_(attach_pid);
	read_comm(attach_pid, t->comm, sizeof(t->comm));
	s->have_target = true;
	if (t->pidfd >= 0 && t->pidfd != s->child_pidfd &&
	    loop_add(s->loop, t->pidfd, EPOLLIN, on_pidfd, s) < 0) {
		close(t->pidfd);
		t->pidfd = -1;
	}
	warn_qualified(s);
	s->state = PY_SAMPLING;
	s->final_armed = false;
	s->k = 0;
	s->start_ns = clock_mono_ns();
	s->end_ns = s->o.duration_s >= 0 ? s->start_ns + (uint64_t)(s->o.duration_s * 1e9) : 0;
	sample(s, s->start_ns);
	if (s->state != PY_SAMPLING)
		return 0;
	if (s->end_ns && s->end_ns <= s->start_ns) {
		end_sampling(s, PY_STOPPED);
		return 0;
	}
	uint64_t first = s->start_ns + s->interval_ns;
	if (s->end_ns && first >= s->end_ns) {
		s->final_armed = true;
		first = s->end_ns;
	}
	arm(s, first);
	return 0;
}

void py_session_stop(struct py_session *s)
{
	end_sampling(s, PY_STOPPED);
}

int py_session_set_interval(struct py_session *s, double interval_s)
{
	s->o.interval_s = interval_s;
	s->interval_ns = (uint64_t)(interval_s * 1e9 + 0.5);
	if (s->state != PY_SAMPLING || s->final_armed)
		return 0;
	/* A new grid from now on; the samples so far keep their measured weights. */
	uint64_t now = clock_mono_ns();
	s->start_ns = now;
	s->k = 0;
	if (s->end_ns && now + s->interval_ns >= s->end_ns) {
		s->final_armed = true;
		arm(s, s->end_ns);
		return 0;
	}
	arm(s, now + s->interval_ns);
	return 0;
}

int py_session_add(struct py_session *s, const char *pattern)
{
	int r = pyprof_add_function(s->prof, pattern);
	if (r == -EINVAL)
		return usage_error("py", "invalid function '%s': expected NAME, Class.method, "
				   "module:NAME or path/file.py:NAME (globs allowed)", pattern);
	if (r == -EEXIST)
		return usage_error("py", "function '%s' is already profiled", pattern);
	if (r == -E2BIG)
		return usage_error("py", "too many functions (at most %d)", PYPROF_MAX_FUNCS);
	if (r < 0)
		return error("out of memory");
	warn_qualified(s);
	return 0;
}

int py_session_remove(struct py_session *s, const char *pattern)
{
	if (pyprof_remove_function(s->prof, pattern) < 0)
		return usage_error("py", "function '%s' is not profiled", pattern);
	return 0;
}

static void describe(struct py_session *s, char *out, size_t size)
{
	const struct py_target *t = &s->target;
	if (!s->have_target) {
		snprintf(out, size, "no target");
		return;
	}
	const struct py_info *i = &t->info;
	char ver[32];
	if (i->version_hex)
		snprintf(ver, sizeof(ver), "%u.%u.%u", i->major, i->minor, (i->version_hex >> 8) & 0xff);
	else
		snprintf(ver, sizeof(ver), "%u.%u", i->major, i->minor);
	int n = snprintf(out, size, "PID %d (%s), CPython %s", (int)t->pid, t->comm, ver);
	if (s->kids_seen && n > 0 && (size_t)n < size)
		snprintf(out + n, size - (size_t)n, ", and %zu child process%s", s->kids_seen,
			 s->kids_seen == 1 ? "" : "es");
}

/* Remote reads of every process sampled, ended ones included. */
static void io_totals(const struct py_session *s, struct py_io *ret)
{
	*ret = s->gone_io;
	if (s->target.proc)
		add_io(ret, s->target.proc);
	for (size_t i = 0; i < s->nkids; i++)
		add_io(ret, s->kids[i]->proc);
}

static const char *state_name(enum py_state st)
{
	switch (st) {
	case PY_IDLE:
		return "idle";
	case PY_SAMPLING:
		return "sampling";
	case PY_STOPPED:
		return "stopped";
	default:
		return "target exited";
	}
}

static double rate_hz(const struct py_session *s)
{
	if (s->ticks < 2 || s->last_tick_ns <= s->first_tick_ns)
		return 0;
	return (double)(s->ticks - 1) / ((double)(s->last_tick_ns - s->first_tick_ns) / 1e9);
}

static void fill_meta(struct py_session *s, struct py_report_meta *m, struct pyprof_totals *tot,
		      char *target, size_t size)
{
	describe(s, target, size);
	pyprof_totals(s->prof, tot);
	*m = (struct py_report_meta){ .target = target, .interval_s = s->o.interval_s,
				      .rate_hz = rate_hz(s), .totals = tot,
				      .state = state_name(s->state), .prof = s->prof };
	struct py_io io;
	io_totals(s, &io);
	m->have_sampler = true;
	m->ticks = s->ticks;
	m->late_skipped = s->missed;
	m->late_mean_us = s->ticks > 1 ? (double)s->late_sum_ns / 1e3 / (double)(s->ticks - 1) : 0;
	double ticks = tot->ticks ? (double)tot->ticks : 1;
	m->reads_per_tick = (double)io.calls / ticks;
	m->ranges_per_tick = (double)io.iovecs / ticks;
	m->bytes_per_tick = (double)io.bytes / ticks;
}

void py_session_print_results(struct py_session *s)
{
	struct pyprof_result *r = calloc(PYPROF_MAX_FUNCS, sizeof(*r));
	if (!r) {
		error("out of memory");
		return;
	}
	size_t n = pyprof_results(s->prof, r, PYPROF_MAX_FUNCS, s->o.by_time);
	struct py_report_meta meta;
	struct pyprof_totals tot;
	char target[256];
	fill_meta(s, &meta, &tot, target, sizeof(target));
	struct strbuf sb = STRBUF_INIT;
	py_report_table(&sb, r, n, &meta);
	py_session_clear_status(s);
	fputs(sb_str(&sb), stdout);
	fflush(stdout);
	sb_free(&sb);
	free(r);
}

void py_session_print_status(struct py_session *s)
{
	char target[256];
	struct pyprof_totals tot;
	describe(s, target, sizeof(target));
	pyprof_totals(s->prof, &tot);
	struct py_io io;
	io_totals(s, &io);
	double ticks = tot.ticks ? (double)tot.ticks : 1;
	py_session_clear_status(s);
	printf("target:   %s\n", target);
	printf("state:    %s\n", state_name(s->state));
	printf("interval: %g s (requested), %.0f samples/s achieved, %llu late ticks skipped, "
	       "mean lateness %.1f us\n",
	       s->o.interval_s, rate_hz(s), (unsigned long long)s->missed,
	       s->ticks > 1 ? (double)s->late_sum_ns / 1e3 / (double)(s->ticks - 1) : 0.0);
	printf("samples:  %llu taken, %llu dropped, over %.2f s, %zu thread%s\n",
	       (unsigned long long)tot.samples, (unsigned long long)tot.dropped, tot.wall_s,
	       tot.threads, tot.threads == 1 ? "" : "s");
	printf("memory:   %.1f reads of %.1f ranges and %.0f bytes per sample; %zu functions, "
	       "%zu stacks\n", (double)io.calls / ticks, (double)io.iovecs / ticks,
	       (double)io.bytes / ticks, tot.frames, tot.stacks);
	if (s->have_target && s->target.info.version_by)
		printf("version:  from %s; runtime in %s (%s)\n", s->target.info.version_by,
		       s->target.info.elf_path, s->target.info.found_by);
	if (s->children) {
		printf("children: %zu followed now", s->nkids);
		for (size_t i = 0; i < s->nkids && i < 16; i++)
			printf("%s%d", i ? " " : " (PID ", (int)s->kids[i]->pid);
		printf("%s, %zu in all; %zu other descendant%s watched\n",
		       s->nkids > 16 ? " ...)" : s->nkids ? ")" : "", s->kids_seen,
		       py_children_tracked(s->children),
		       py_children_tracked(s->children) == 1 ? "" : "s");
	}
	fflush(stdout);
}

static int write_file(const char *prefix, const char *ext, struct strbuf *sb)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s%s", prefix, ext) >= (int)sizeof(path))
		return error("output name too long: %s%s", prefix, ext);
	if (sb->failed)
		return error("out of memory writing %s", path);
	int fd = outdir_open_file(AT_FDCWD, path);
	if (fd < 0)
		return error("cannot create %s: %s", path, strerror(-fd));
	int r = write_all(fd, sb->buf, sb->len);
	if (close(fd) < 0 && r == 0)
		r = neg_errno();
	if (r < 0)
		return error("cannot write %s: %s", path, strerror(-r));
	return 0;
}

int py_session_save(struct py_session *s, const char *prefix)
{
	struct pyprof_result *r = calloc(PYPROF_MAX_FUNCS, sizeof(*r));
	if (!r)
		return error("out of memory");
	size_t n = pyprof_results(s->prof, r, PYPROF_MAX_FUNCS, s->o.by_time);
	struct py_report_meta meta;
	struct pyprof_totals tot;
	char target[256];
	fill_meta(s, &meta, &tot, target, sizeof(target));
	struct strbuf json = STRBUF_INIT, csv = STRBUF_INIT, folded = STRBUF_INIT,
		      svg = STRBUF_INIT;
	py_report_json(&json, r, n, &meta);
	py_report_csv(&csv, r, n);
	int code = py_report_folded(&folded, s->prof) < 0 ? error("out of memory") : 0;
	if (!code && py_report_svg(&svg, s->prof, &meta) < 0)
		code = error("out of memory drawing the flamegraph");
	py_session_clear_status(s);
	if (!code)
		code = write_file(prefix, ".json", &json);
	if (!code)
		code = write_file(prefix, ".csv", &csv);
	if (!code)
		code = write_file(prefix, ".folded", &folded);
	if (!code)
		code = write_file(prefix, ".svg", &svg);
	sb_free(&json);
	sb_free(&svg);
	sb_free(&csv);
	sb_free(&folded);
	free(r);
	return code;
}

int py_session_finish(struct py_session *s)
{
	py_session_clear_status(s);
	py_session_print_results(s);
	if (s->o.output)
		return py_session_save(s, s->o.output);
	return 0;
}

enum py_state py_session_state(const struct py_session *s) { return s->state; }

void py_session_set_on_end(struct py_session *s, void (*fn)(void *userdata), void *userdata)
{
	s->o.on_end = fn;
	s->o.userdata = userdata;
}

double py_session_interval(const struct py_session *s) { return s->o.interval_s; }

pid_t py_session_pid(const struct py_session *s) { return s->have_target ? s->target.pid : 0; }

void py_session_set_by_time(struct py_session *s, bool by_time) { s->o.by_time = by_time; }

int py_session_child_status(const struct py_session *s) { return s->child ? s->child_status : -1; }

int py_session_end_child(struct py_session *s)
{
	if (!s->child || s->child_status >= 0)
		return s->child ? s->child_status : -1;
	siginfo_t si = { 0 };
	for (int i = 0; i < 250; i++) {
		if (i == 0 || i == 200)
			kill(s->child, i ? SIGKILL : SIGTERM);
		if (waitid(P_PID, (id_t)s->child, &si, WEXITED | WNOHANG) == 0 && si.si_pid == s->child) {
			s->child_status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
			return s->child_status;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* The command runs directly (no shell), with profkit's terminal as its own, and without
 * profkit's blocked signals. */
int py_session_launch(struct py_session *s, char **argv)
{
	struct spawned sp;
	int r = spawn_command(argv, false, NULL, NULL, &sp);
	if (r == -ENOENT)
		return error("cannot run '%s': command not found", argv[0]);
	if (r < 0)
		return error("cannot run '%s': %s", argv[0], strerror(-r));
	pid_t pid = sp.pid;
	s->child = pid;
	s->child_status = -1;
	s->child_pidfd = pidfd_open_(pid);
	if (s->child_pidfd >= 0 && loop_add(s->loop, s->child_pidfd, EPOLLIN, on_pidfd, s) < 0) {
		close(s->child_pidfd);
		s->child_pidfd = -1;
	}
	return py_session_start(s, pid, 10.0);
}

int py_session_new(struct loop *loop, const struct py_session_opts *opts, struct py_session **ret)
{
	struct py_session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *opts;
	s->loop = loop;
	s->interval_ns = (uint64_t)(opts->interval_s * 1e9 + 0.5);
	s->child_pidfd = -1;
	s->child_status = -1;
	s->target.pidfd = -1;
	s->clk_tck = sysconf(_SC_CLK_TCK);
	if (s->clk_tck <= 0)
		s->clk_tck = 100;
	int r = pyprof_new(&s->prof);
	if (r < 0) {
		free(s);
		return r;
	}
	if (opts->subprocesses && (r = py_children_new("/proc", &s->children)) < 0) {
		py_session_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct py_session *py_session_free(struct py_session *s)
{
	if (!s)
		return NULL;
	target_release(s);
	py_children_free(s->children);
	free(s->kids);
	free(s->followed);
	if (s->child_pidfd >= 0) {
		loop_del(s->loop, s->child_pidfd);
		close(s->child_pidfd);
	}
	disarm(s);
	pyprof_free(s->prof);
	free(s);
	return NULL;
}
