#include "core/monitor.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/clock.h"
#include "core/loop.h"
#include "core/model.h"
#include "core/outdir.h"
#include "core/spawn.h"
#include "output/csv.h"
#include "output/rows.h"
#include "output/summary.h"
#include "proc/system.h"
#include "profkit/counters.h"

struct pipe_tee {
	struct monitor *m;
	int fd;        /* read end from the child; -1 once at EOF */
	int tee_fd;    /* the terminal side; -1 when not passed through */
	int file_fd;   /* stdout.txt / stderr.txt; -1 after a write error */
	bool reader_gone; /* the terminal side was closed (EPIPE) */
};

struct monitor {
	const struct monitor_config *cfg;
	struct monitor_result *res;
	struct loop *loop;
	int dirfd, sigfd;
	struct out_file samples, system;
	struct pipe_tee out, err;
	struct system_reader sys;
	double *per_core;
	long page_size;

	uint64_t start_mono, interval_ns, end_ns; /* end_ns: 0 = no duration */
	uint64_t tick_index, prev_tick_mono, period_sum_ns, periods;
	uint64_t rows_flushed; /* rows of samples.csv known to be on disk */
	size_t nwatched;       /* targets.all[0..nwatched) have their pidfd and counters */
	bool sampling; /* false once the recording stopped (duration, write error) */
	bool done;
	bool kill_pending; /* run after the duration: SIGKILL when the timer fires next */
	bool final_armed;  /* the timer is set for the end of the duration */
	/* Drift: the least-squares slope of wake-up time against slot number, kept online
	 * (Welford), so that one late tick does not read as drift. */
	double fit_n, fit_mean_k, fit_mean_t, fit_m2_k, fit_c_kt;
	sigset_t old_mask;

	pid_t child;   /* run: the launched command; 0 for watch */
	bool child_reaped;
	int signals;

	struct pk_ctx *pk;        /* -e: the counters' context */
	bool warned_counters;     /* events that cannot be counted were reported */
	struct target_counters *launch_counters; /* run: the command's, until it is a target */

	double energy_prev_j, energy_prev_t;
	double sys_cpu_sum;
	uint64_t sys_cpu_n;
};

static void finish(struct monitor *m, enum monitor_end end)
{
	if (!m->done) {
		m->done = true;
		m->res->end = end;
	}
	loop_quit(m->loop);
}

/* ---- collectors into the model ------------------------------------------------------ */

enum sample_outcome { SAMPLE_ALIVE, SAMPLE_EXITED, SAMPLE_GONE };

static uint64_t cpu_ns_of(const struct monitor *m, const struct proc_sample *s)
{
	if (s->have & SAMPLE_HAVE_CPU_NS)
		return s->cpu_ns;
	return (s->stat.utime + s->stat.stime) * NSEC_PER_SEC / (uint64_t)m->res->targets.clk_tck;
}

/* CPU % over the time since the previous sample. A process's first sample has none, and
 * its start time (10 ms resolution) is too coarse to stand in for one: unknown (empty), not
 * a made-up 0. */
static double cpu_percent_of(struct target *t, uint64_t cpu_ns, uint64_t now)
{
	if (!t->have_prev || now <= t->prev_mono || cpu_ns < t->prev_cpu_ns)
		return NAN;
	return 100.0 * (double)(cpu_ns - t->prev_cpu_ns) / (double)(now - t->prev_mono);
}

static void aggregate(struct target *t, const struct proc_sample *s, double cpu_pct,
		      uint64_t cpu_ns, uint64_t now, double ts)
{
	struct target_agg *a = &t->agg;
	bool have_rss = s->have & SAMPLE_HAVE_RSS;
	uint64_t rss = s->rss_bytes;
	if (!a->samples) {
		a->first_ts = ts;
		a->first_mono = now;
		a->cpu_ns_first = cpu_ns;
	}
	a->samples++;
	a->last_ts = ts;
	a->last_mono = now;
	a->cpu_ns_last = cpu_ns;
	a->have_cpu_ns = true;
	if (isfinite(cpu_pct) && cpu_pct > a->cpu_percent_max)
		a->cpu_percent_max = cpu_pct;
	if (have_rss && rss > a->rss_max)
		a->rss_max = rss;
	if (s->stat.vsize > a->vms_max)
		a->vms_max = s->stat.vsize;
	if ((s->have & SAMPLE_HAVE_STATUS) && s->status.vm_swap_kb * 1024 > a->swap_max)
		a->swap_max = s->status.vm_swap_kb * 1024;
	if ((s->have & SAMPLE_HAVE_FDS) && s->num_fds > a->fds_max)
		a->fds_max = s->num_fds;
	if (s->stat.num_threads > a->threads_max)
		a->threads_max = s->stat.num_threads;
	/* A zombie's memory reads 0: that is the exit, not a trend. */
	if (s->stat.state != 'Z' && have_rss && a->mem)
		series_add(a->mem, ts, (double)rss);
	a->last = *s;
}

/* ---- perf counters (-e) --------------------------------------------------------------- */

static void read_counters(struct target_counters *tc)
{
	struct pk_count counts[tc->n ? tc->n : 1];
	if (!tc->set || pk_counters_read(tc->set, counts, tc->n) < 0)
		return;
	for (size_t i = 0; i < tc->n; i++)
		tc->values[i] = counts[i].value;
}

static void free_counters(struct target_counters *tc)
{
	if (!tc)
		return;
	pk_counters_free(tc->set);
	free(tc->values);
	free(tc->have);
	free(tc);
}

static void close_counters(struct target *t)
{
	if (t->counters && t->counters->set)
		t->counters->set = pk_counters_free(t->counters->set);
}

/* Events that cannot be counted here are reported once, for the first target. */
static void warn_uncounted(struct monitor *m, struct pk_counters *set)
{
	if (m->warned_counters)
		return;
	m->warned_counters = true;
	for (size_t i = 0; i < pk_counters_count(set); i++) {
		const struct pk_counter_info *info = pk_counters_info(set, i);
		if (info->status < 0)
			pk_logf(&m->cfg->log, PK_LOG_WARN, "event %s: %s; its column stays empty",
				info->name, info->reason);
	}
}

/* A set of counters on pid, inherited by the processes and threads it starts from now on,
 * as `perf stat -p` does. NULL when nothing could be counted (reported). */
static struct target_counters *open_counters(struct monitor *m, pid_t pid, unsigned flags)
{
	struct pk_counters *set;
	if (!m->pk || pk_counters_new(m->pk, m->cfg->events, &set) < 0)
		return NULL;
	int r = pk_counters_open_pid(set, pid, flags);
	if (r < 0) {
		if (!errno_is_gone(r))
			pk_logf(&m->cfg->log, PK_LOG_WARN, "cannot count events of PID %d: %s",
				(int)pid, pk_ctx_errmsg(m->pk));
		pk_counters_free(set);
		return NULL;
	}
	if (r > 0)
		warn_uncounted(m, set);
	size_t n = pk_counters_count(set);
	struct target_counters *tc = calloc(1, sizeof(*tc));
	if (tc) {
		tc->values = calloc(n ? n : 1, sizeof(*tc->values));
		tc->have = calloc(n ? n : 1, sizeof(*tc->have));
	}
	if (!tc || !tc->values || !tc->have) {
		if (tc) {
			free(tc->values);
			free(tc->have);
		}
		free(tc);
		pk_counters_free(set);
		return NULL;
	}
	tc->set = set;
	tc->n = n;
	for (size_t i = 0; i < n; i++)
		tc->have[i] = pk_counters_info(set, i)->status == 0;
	return tc;
}

/* A target selected by the rule (not a descendant) gets its own counters. */
static void attach_counters(struct monitor *m, struct target *t)
{
	if (!t->counters)
		t->counters = open_counters(m, t->pid, PK_OPEN_ENABLE);
}

/* run: the command's counters are opened between fork and exec and start at the exec. */
static void counters_before_exec(pid_t pid, void *userdata)
{
	struct monitor *m = userdata;
	m->launch_counters = open_counters(m, pid, PK_OPEN_ON_EXEC);
}

/* The counter columns, from the event list (validated by the command layer). */
static int setup_counters(struct monitor *m, char *err, size_t errsz)
{
	struct pk_counters *probe = NULL;
	int r = pk_ctx_new(&m->pk);
	if (r == 0)
		r = pk_counters_new(m->pk, m->cfg->events, &probe);
	if (r < 0) {
		snprintf(err, errsz, "invalid events '%s': %s", m->cfg->events,
			 m->pk ? pk_ctx_errmsg(m->pk) : pk_strerror(r));
		return r;
	}
	size_t n = pk_counters_count(probe);
	m->res->counter_names = calloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; m->res->counter_names && i < n; i++)
		if (!(m->res->counter_names[i] = strdup(pk_counters_info(probe, i)->name)))
			r = -ENOMEM;
	if (!m->res->counter_names)
		r = -ENOMEM;
	m->res->ncounters = n;
	pk_counters_free(probe);
	return r;
}

/* Reads one target and appends its row to samples.csv's pending tick. */
static enum sample_outcome sample_target(struct monitor *m, struct target *t, uint64_t now,
					 double ts)
{
	struct proc_sample s;
	int r = proc_read(&t->h, &s);
	if (r == -ESRCH || (r == 0 && s.stat.starttime != t->start_ticks))
		return SAMPLE_GONE;
	if (r < 0) /* unreadable this time (a torn read of a dying process): no row */
		return SAMPLE_ALIVE;
	if (strcmp(s.stat.comm, t->comm) != 0) { /* exec'd: a new name */
		snprintf(t->comm, sizeof(t->comm), "%s", s.stat.comm);
		targets_display_name(m->res->targets.procfd, t->pid, t->comm, t->name,
				     sizeof(t->name));
	}
	uint64_t cpu_ns = cpu_ns_of(m, &s);
	double pct = cpu_percent_of(t, cpu_ns, now);
	t->have_prev = true;
	t->prev_cpu_ns = cpu_ns;
	t->prev_mono = now;

	struct proc_row row = {
		.s = &s,
		.name = t->name,
		.cpu_percent = pct,
		.creation_epoch = t->creation_epoch,
		.timestamp = ts,
		.elapsed_s = (double)(now - m->start_mono) / 1e9,
		.page_size = m->page_size,
		.clk_tck = m->res->targets.clk_tck,
		.ncounters = m->res->ncounters,
	};
	if (t->counters) {
		read_counters(t->counters);
		row.counters = t->counters->values;
		row.counter_have = t->counters->have;
	}
	rows_samples_row(&m->samples.pending, &row, m->cfg->pss);
	m->samples.rows++;
	m->res->rows++;
	aggregate(t, &s, pct, cpu_ns, now, ts);
	return s.stat.state == 'Z' || s.stat.state == 'X' ? SAMPLE_EXITED : SAMPLE_ALIVE;
}

static void sample_system(struct monitor *m, uint64_t now, double ts)
{
	struct system_sample s;
	system_read(&m->sys, &s, m->per_core);
	struct system_row row = {
		.s = &s,
		.ncpus = m->sys.ncpus,
		.timestamp = ts,
		.elapsed_s = (double)(now - m->start_mono) / 1e9,
		.energy_j = NAN,
		.power_w = NAN,
	};
	double j;
	if (energy_read(&m->res->energy, &j) == 0) {
		row.energy_j = j;
		if (ts > m->energy_prev_t && m->res->ticks > 1)
			row.power_w = (j - m->energy_prev_j) / (ts - m->energy_prev_t);
		m->energy_prev_j = j;
		m->energy_prev_t = ts;
		m->res->energy_j = j;
	}
	if (s.have_cpu && isfinite(s.cpu_percent)) {
		m->sys_cpu_sum += s.cpu_percent;
		m->sys_cpu_n++;
		if (s.cpu_percent > m->res->sys_cpu_max)
			m->res->sys_cpu_max = s.cpu_percent;
	}
	rows_system_row(&m->system.pending, &row);
	m->system.rows++;
}

/* ---- writers ------------------------------------------------------------------------- */

/* The recording is over but a launched command may still run: keep passing its output
 * through (its pipes end with profkit) until it exits. */
static void stop_sampling(struct monitor *m, enum monitor_end end)
{
	m->sampling = false;
	loop_set_timer(m->loop, 0, NULL, NULL);
	if (!m->done) {
		m->done = true;
		m->res->end = end;
	}
	if (!m->child || m->child_reaped)
		loop_quit(m->loop);
}

/* An output file that fails after the first (the same full disk, most likely) is named
 * in the one final message rather than reported on a line of its own. */
static void note_incomplete(struct monitor *m, const char *file)
{
	char *list = m->res->incomplete_files;
	size_t l = strlen(list), size = sizeof(m->res->incomplete_files);
	snprintf(list + l, size - l, "%s%s", l ? ", " : "", file);
}

static void write_failed(struct monitor *m, const char *file, int err)
{
	if (m->res->write_error) {
		note_incomplete(m, file);
		return;
	}
	m->res->write_error = err;
	snprintf(m->res->write_error_file, sizeof(m->res->write_error_file), "%s", file);
	stop_sampling(m, END_WRITE_ERROR);
}

static void on_timer(struct loop *loop, uint64_t now, void *data);

/* run: the duration is over, so the command is terminated like timeout(1) does: SIGTERM,
 * then SIGKILL if it is still there 2 s later. */
static void end_duration(struct monitor *m)
{
	stop_sampling(m, END_DURATION);
	if (!m->child || m->child_reaped)
		return;
	kill(m->child, SIGTERM);
	m->kill_pending = true;
	loop_set_timer(m->loop, clock_mono_ns() + 2 * NSEC_PER_SEC, on_timer, m);
}

static void flush_rows(struct monitor *m)
{
	int r = out_file_flush(&m->samples);
	if (r < 0) {
		m->res->rows = m->rows_flushed; /* the tick's rows were cut back */
		write_failed(m, "samples.csv", r);
		return;
	}
	m->rows_flushed = m->res->rows;
	r = out_file_flush(&m->system);
	if (r < 0)
		write_failed(m, "system.csv", r);
}

/* ---- targets leaving ----------------------------------------------------------------- */

static void check_end(struct monitor *m);

static void reap(struct monitor *m, pid_t pid)
{
	siginfo_t si = { 0 };
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG) < 0 || si.si_pid != pid)
		return;
	if (pid != m->child)
		return;
	m->child_reaped = true;
	if (si.si_code == CLD_EXITED) {
		m->res->exit_status = si.si_status;
	} else {
		m->res->exit_signal = si.si_status;
		m->res->exit_status = 128 + si.si_status;
	}
}

static void retire(struct monitor *m, struct target *t)
{
	if (!t->alive)
		return;
	if (t->pidfd >= 0)
		loop_del(m->loop, t->pidfd);
	pid_t pid = t->pid;
	close_counters(t);
	targets_mark_gone(&m->res->targets, t);
	reap(m, pid); /* ECHILD unless ours */
}

/* The target has exited (pidfd or SIGCHLD): its final sample, outside the schedule. */
static void target_exited(struct monitor *m, struct target *t)
{
	if (!t->alive)
		return;
	if (m->sampling) {
		uint64_t now = clock_mono_ns();
		sample_target(m, t, now, clock_unix_s());
		flush_rows(m);
	}
	retire(m, t);
	check_end(m);
}

static void check_end(struct monitor *m)
{
	if (m->child && !m->child_reaped)
		return;
	/* Once sampling stopped, only the launched command is waited for. */
	if (m->sampling && (m->res->targets.nalive > 0 || m->cfg->wait))
		return;
	finish(m, END_TARGETS_GONE);
}

static int on_pidfd(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)loop, (void)fd, (void)events;
	struct target *t = data;
	target_exited(t->owner, t);
	return 0;
}

/* ---- the tick ------------------------------------------------------------------------ */

static void watch_new_targets(struct monitor *m);

static void tick(struct monitor *m, uint64_t now)
{
	double ts = clock_unix_s();
	m->res->ticks++;
	if (m->prev_tick_mono) {
		m->period_sum_ns += now - m->prev_tick_mono;
		m->periods++;
	}
	m->prev_tick_mono = now;

	if (targets_discover(&m->res->targets, now) > 0)
		watch_new_targets(m);

	/* Only the live targets: the exited ones (thousands under make -j) cost nothing. */
	struct target_set *ts_ = &m->res->targets;
	for (size_t i = 0; i < ts_->nalive;) {
		struct target *t = ts_->alive[i];
		if (sample_target(m, t, now, ts) != SAMPLE_ALIVE)
			retire(m, t);
		if (i < ts_->nalive && ts_->alive[i] == t) /* else the next one moved to i */
			i++;
	}
	sample_system(m, now, ts);
	flush_rows(m);
	if (m->cfg->progress)
		m->cfg->progress(m->cfg->userdata, &(struct monitor_progress){
			.elapsed_s = (double)(now - m->start_mono) / 1e9,
			.ticks = m->res->ticks, .rows = m->res->rows,
			.alive = ts_->nalive, .seen = ts_->nall });
}

/* Targets are only ever appended to ts->all: those past m->nwatched are new. */
static void watch_new_targets(struct monitor *m)
{
	struct target_set *ts = &m->res->targets;
	for (; m->nwatched < ts->nall; m->nwatched++) {
		struct target *t = ts->all[m->nwatched];
		if (t->owner || !t->alive)
			continue;
		t->owner = m;
		if (m->cfg->events && !t->descendant)
			attach_counters(m, t);
		if (t->pidfd >= 0 && loop_add(m->loop, t->pidfd, EPOLLIN, on_pidfd, t) < 0) {
			close(t->pidfd);
			t->pidfd = -1;
		}
	}
}

static uint64_t late_threshold_ns(const struct monitor *m)
{
	uint64_t tenth = m->interval_ns / 10;
	return tenth > NSEC_PER_MSEC ? tenth : NSEC_PER_MSEC;
}

/* Deadlines are start + k*interval, absolute: the schedule cannot drift. A tick that comes
 * late is taken late, once; slots that passed meanwhile are counted as missed, never taken
 * in a burst. With a duration, the last deadline is the end itself (pace 5, duration 7: 0,
 * 5, 7). */
static void schedule_from(struct monitor *m)
{
	uint64_t next = m->start_mono + (m->tick_index + 1) * m->interval_ns;
	if (m->end_ns && next >= m->end_ns) {
		m->final_armed = true;
		next = m->end_ns;
	}
	loop_set_timer(m->loop, next, on_timer, m);
}

static void fit_slot(struct monitor *m, double k, double t)
{
	m->fit_n += 1;
	double dk = k - m->fit_mean_k;
	m->fit_mean_k += dk / m->fit_n;
	m->fit_mean_t += (t - m->fit_mean_t) / m->fit_n;
	m->fit_m2_k += dk * (k - m->fit_mean_k);
	m->fit_c_kt += dk * (t - m->fit_mean_t);
}

/* Which slot this wake-up is for, and whether it is the last one. */
static bool account_wakeup(struct monitor *m, uint64_t now)
{
	uint64_t deadline;
	bool last;
	if (m->final_armed) {
		deadline = m->end_ns;
		last = true;
	} else {
		uint64_t slot = (now - m->start_mono) / m->interval_ns;
		uint64_t expirations = slot > m->tick_index ? slot - m->tick_index : 1;
		m->res->missed_slots += expirations - 1;
		m->tick_index += expirations;
		deadline = m->start_mono + m->tick_index * m->interval_ns;
		last = m->end_ns && now >= m->end_ns; /* so late that the end has passed */
		fit_slot(m, (double)m->tick_index, (double)(now - m->start_mono) / 1e9);
	}
	uint64_t late = now > deadline ? now - deadline : 0;
	if (late > late_threshold_ns(m))
		m->res->late_ticks++;
	if ((double)late / 1e9 > m->res->max_lateness_s)
		m->res->max_lateness_s = (double)late / 1e9;
	return last;
}

static void on_timer(struct loop *loop, uint64_t now, void *data)
{
	(void)loop;
	struct monitor *m = data;
	if (m->kill_pending && m->child && !m->child_reaped) {
		kill(m->child, SIGKILL);
		m->kill_pending = false;
	}
	if (!m->sampling)
		return;
	bool last = account_wakeup(m, now);
	tick(m, now);
	if (!m->sampling)
		return;
	if (last)
		end_duration(m);
	else
		schedule_from(m);
	check_end(m);
}

/* ---- the child's output ---------------------------------------------------------------- */

static void tee_chunk(struct pipe_tee *p, const char *buf, size_t n)
{
	struct monitor *m = p->m;
	if (p->tee_fd >= 0) {
		if (m->cfg->progress)
			m->cfg->progress(m->cfg->userdata, NULL);
		if (write_all(p->tee_fd, buf, n) < 0) {
			p->tee_fd = -1;
			p->reader_gone = true;
		}
	}
	if (p->file_fd >= 0) {
		int r = write_all(p->file_fd, buf, n);
		if (r < 0) {
			/* The rest of the command's output is not saved, and the recording stops
			 * (the disk is full, most likely); the output still passes through. */
			close(p->file_fd);
			p->file_fd = -1;
			write_failed(m, p == &m->out ? "stdout.txt" : "stderr.txt", r);
		}
	}
}

/* Reads what is there, up to max bytes; returns false at EOF or error. A command that
 * writes faster than this reads (yes) would otherwise keep the loop here and starve the
 * ticks: the rest waits for the next turn of the loop. */
static bool drain(struct pipe_tee *p, size_t max)
{
	char buf[65536];
	for (size_t done = 0; done < max;) {
		ssize_t n = read(p->fd, buf, sizeof(buf));
		if (n > 0) {
			tee_chunk(p, buf, (size_t)n);
			done += (size_t)n;
			/* Whoever read profkit's output went away (`profkit run -- yes | head`):
			 * closing our end gives the command its SIGPIPE, as in a plain pipeline. */
			if (p->reader_gone)
				return false;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN;
	}
	return true;
}

static int on_pipe(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)events;
	struct pipe_tee *p = data;
	if (!drain(p, 1 << 20)) {
		loop_del(loop, fd);
		close(fd);
		p->fd = -1;
	}
	return 0;
}

/* ---- signals ------------------------------------------------------------------------- */

static void reap_children(struct monitor *m)
{
	for (;;) {
		siginfo_t si = { 0 };
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
			return;
		struct target *t = targets_find(&m->res->targets, si.si_pid);
		if (t) {
			target_exited(m, t);
		} else {
			reap(m, si.si_pid);
			check_end(m);
		}
	}
}

/* run: the first Ctrl-C/SIGTERM goes to the command (unless the terminal already sent it
 * to the whole process group), the second kills it, the third stops the recording.
 * watch: the first ends the recording with one last sample. */
static void on_stop_signal(struct monitor *m, const struct signalfd_siginfo *si)
{
	m->signals++;
	if (!m->child || m->child_reaped) {
		if (m->sampling) {
			uint64_t now = clock_mono_ns();
			tick(m, now);
		}
		finish(m, END_SIGNAL);
		return;
	}
	if (!m->done) {
		m->done = true;
		m->res->end = END_SIGNAL;
	}
	if (m->signals == 1 && si->ssi_code != SI_KERNEL)
		kill(m->child, (int)si->ssi_signo);
	else if (m->signals == 2)
		kill(m->child, SIGKILL);
	else if (m->signals >= 3)
		loop_quit(m->loop);
}

static int on_signal(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)loop, (void)events;
	struct monitor *m = data;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap_children(m);
		else
			on_stop_signal(m, &si);
	}
	return 0;
}

/* ---- setup --------------------------------------------------------------------------- */

static int setup_signals(struct monitor *m)
{
	sigset_t mask;
	sigemptyset(&mask);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&mask, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &mask, &m->old_mask) < 0)
		return neg_errno();
	signal(SIGPIPE, SIG_IGN);
	m->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (m->sigfd < 0)
		return neg_errno();
	return loop_add(m->loop, m->sigfd, EPOLLIN, on_signal, m);
}

static int open_output(struct monitor *m, char *err, size_t errsz)
{
	const struct monitor_config *c = m->cfg;
	int fd = outdir_create(c->outdir, c->label, c->force, m->res->outdir,
			       sizeof(m->res->outdir));
	if (fd < 0) {
		const char *why = fd == -ENOTEMPTY ? "it exists and is not empty (use --force to "
						     "write into it)"
				  : fd == -ELOOP   ? "it is a symbolic link"
						   : strerror(-fd);
		snprintf(err, errsz, "cannot use output directory '%s': %s", m->res->outdir, why);
		return fd;
	}
	m->dirfd = fd;
	static const char *const names[] = { "samples.csv", "system.csv", "stdout.txt",
					     "stderr.txt" };
	int fds[4];
	size_t nfiles = c->argv ? 4 : 2;
	for (size_t i = 0; i < nfiles; i++) {
		fds[i] = outdir_open_file(m->dirfd, names[i]);
		if (fds[i] < 0) {
			snprintf(err, errsz, "cannot create %s/%s: %s", m->res->outdir, names[i],
				 strerror(-fds[i]));
			for (size_t j = 0; j < i; j++)
				close(fds[j]);
			return fds[i];
		}
	}
	out_file_init(&m->samples, fds[0]);
	out_file_init(&m->system, fds[1]);
	m->out.file_fd = nfiles == 4 ? fds[2] : -1;
	m->err.file_fd = nfiles == 4 ? fds[3] : -1;
	rows_samples_header(&m->samples.pending, c->pss,
			    (const char *const *)m->res->counter_names, m->res->ncounters);
	rows_system_header(&m->system.pending, m->sys.ncpus);
	int r = out_file_flush(&m->samples);
	if (r == 0)
		r = out_file_flush(&m->system);
	if (r < 0)
		snprintf(err, errsz, "cannot write to %s: %s", m->res->outdir, strerror(-r));
	return r;
}

static int add_watch_targets(struct monitor *m, char *err, size_t errsz)
{
	const struct monitor_config *c = m->cfg;
	struct target_set *ts = &m->res->targets;
	for (size_t i = 0; i < c->npids; i++) {
		int r = targets_add(ts, c->pids[i], false, NULL);
		if (r < 0) {
			snprintf(err, errsz, "cannot follow PID %d: %s", (int)c->pids[i],
				 errno_is_gone(r) ? "no such process" : strerror(-r));
			return r;
		}
	}
	targets_discover(ts, clock_mono_ns());
	if (ts->nalive == 0 && !c->wait) {
		if (c->match)
			snprintf(err, errsz, "no running process matches --match (use --wait to "
				 "wait for one)");
		else
			snprintf(err, errsz, "no running process is named '%s' (use --wait to wait "
				 "for one)", c->nnames ? c->names[0] : "?");
		return -ESRCH;
	}
	return 0;
}

static int launch(struct monitor *m, char *err, size_t errsz)
{
	const struct monitor_config *c = m->cfg;
	struct spawned sp;
	if (c->follow_children)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	int r = spawn_command(c->argv, true, c->events ? counters_before_exec : NULL, m, &sp);
	if (r < 0) {
		snprintf(err, errsz, "cannot execute '%s': %s", c->argv[0],
			 r == -ENOENT ? "command not found" : r == -EACCES ? "permission denied (not "
			 "executable)" : strerror(-r));
		return r;
	}
	m->child = sp.pid;
	m->out = (struct pipe_tee){ m, sp.out_fd, c->tee_stdout, m->out.file_fd };
	m->err = (struct pipe_tee){ m, sp.err_fd, c->tee_stderr, m->err.file_fd };
	loop_add(m->loop, sp.out_fd, EPOLLIN, on_pipe, &m->out);
	loop_add(m->loop, sp.err_fd, EPOLLIN, on_pipe, &m->err);
	/* It may already be gone: then only its exit status is left to collect. */
	struct target *t = NULL;
	targets_add(&m->res->targets, sp.pid, true, &t);
	if (t) {
		t->counters = m->launch_counters;
		m->launch_counters = NULL;
	}
	return 0;
}

static void remove_output(struct monitor *m)
{
	static const char *const names[] = { "samples.csv", "system.csv", "stdout.txt",
					     "stderr.txt", "summary.json" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		unlinkat(m->dirfd, names[i], 0);
	rmdir(m->res->outdir);
}

static int setup(struct monitor *m, char *err, size_t errsz)
{
	const struct monitor_config *c = m->cfg;
	struct monitor_result *res = m->res;
	enum target_rule rule = c->argv ? RULE_DESCENDANTS : c->nnames || c->match ? RULE_NAMES
										 : RULE_PIDS;
	int r = targets_init(&res->targets, rule, &c->log);
	if (r < 0) {
		snprintf(err, errsz, "cannot open /proc: %s", strerror(-r));
		return r;
	}
	res->targets.names = c->names;
	res->targets.nnames = c->nnames;
	res->targets.match = c->match;
	res->targets.want_pss = c->pss;
	/* run follows the command's tree by rule; watch --children adds trees to its rule. */
	if (c->argv && !c->follow_children)
		res->targets.rule = RULE_PIDS;
	if (!c->argv)
		res->targets.follow_children = c->follow_children;

	if ((r = system_open(&m->sys)) < 0) {
		snprintf(err, errsz, "cannot read /proc/stat: %s", strerror(-r));
		return r;
	}
	m->per_core = calloc((size_t)m->sys.ncpus + 1, sizeof(double));
	if (!m->per_core)
		return -ENOMEM;
	res->ncpus = (size_t)m->sys.ncpus;
	if (!c->argv && (r = add_watch_targets(m, err, errsz)) < 0)
		return r;
	if (c->events && (r = setup_counters(m, err, errsz)) < 0)
		return r;
	if ((r = open_output(m, err, errsz)) < 0)
		return r;
	energy_open(&res->energy, c->powercap_root, c->power_pmu_root);
	if ((r = setup_signals(m)) < 0) {
		snprintf(err, errsz, "cannot set up signal handling: %s", strerror(-r));
		return r;
	}
	if (c->argv && (r = launch(m, err, errsz)) < 0) {
		remove_output(m);
		return r;
	}
	return 0;
}

static void write_summary(struct monitor *m)
{
	struct strbuf sb = STRBUF_INIT;
	summary_json(&sb, m->cfg, m->res);
	int fd = outdir_open_file(m->dirfd, "summary.json");
	int r = fd < 0 ? fd : sb.failed ? -ENOMEM : write_all(fd, sb.buf, sb.len);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		/* No half a JSON file; the command layer reports it, with any earlier failure. */
		if (fd >= 0)
			unlinkat(m->dirfd, "summary.json", 0);
		if (m->res->write_error) {
			note_incomplete(m, "summary.json");
		} else {
			m->res->write_error = r;
			snprintf(m->res->write_error_file, sizeof(m->res->write_error_file),
				 "summary.json");
		}
	}
	sb_free(&sb);
}

static void teardown(struct monitor *m)
{
	for (struct pipe_tee *p = &m->out; p; p = p == &m->out ? &m->err : NULL) {
		if (p->fd >= 0) {
			drain(p, 4 << 20); /* what is left (the pipe holds 1 MiB) */
			close(p->fd);
		}
		if (p->file_fd >= 0)
			close(p->file_fd);
	}
	for (size_t i = 0; i < m->res->targets.nall; i++)
		close_counters(m->res->targets.all[i]);
	free_counters(m->launch_counters); /* the command never became a target */
	m->launch_counters = NULL;
	m->pk = pk_ctx_free(m->pk);
	out_file_close(&m->samples);
	out_file_close(&m->system);
	system_close(&m->sys);
	energy_close(&m->res->energy);
	free(m->per_core);
	if (m->sigfd >= 0) {
		close(m->sigfd);
		sigprocmask(SIG_SETMASK, &m->old_mask, NULL);
	}
	if (m->dirfd >= 0)
		close(m->dirfd);
	m->loop = loop_free(m->loop);
}

int monitor_record(const struct monitor_config *cfg, struct monitor_result *ret,
		   char *ret_error, size_t errsz)
{
	memset(ret, 0, sizeof(*ret));
	ret->exit_status = -1;
	ret->energy_j = NAN;
	ret->targets.procfd = ret->targets.loadavgfd = -1;
	struct monitor m = { .cfg = cfg, .res = ret, .dirfd = -1, .sigfd = -1,
			     .out = { .fd = -1, .tee_fd = -1, .file_fd = -1 },
			     .err = { .fd = -1, .tee_fd = -1, .file_fd = -1 },
			     .samples = { .fd = -1 }, .system = { .fd = -1 },
			     .page_size = sysconf(_SC_PAGESIZE), .sampling = true };
	m.interval_ns = (uint64_t)llround(cfg->interval_s * 1e9);
	ret_error[0] = '\0';
	spawn_raise_fd_limit(); /* each followed process keeps about six descriptors open */
	int r = loop_new(&m.loop);
	if (r < 0) {
		snprintf(ret_error, errsz, "cannot create the event loop: %s", strerror(-r));
		return r;
	}
	r = setup(&m, ret_error, errsz);
	if (r < 0) {
		teardown(&m);
		return r;
	}
	ret->start_epoch = clock_unix_s();
	m.start_mono = clock_mono_ns();
	if (cfg->duration_s >= 0)
		m.end_ns = m.start_mono + (uint64_t)llround(cfg->duration_s * 1e9);
	watch_new_targets(&m);
	tick(&m, m.start_mono);
	if (m.sampling) {
		if (m.end_ns && m.end_ns <= m.start_mono)
			end_duration(&m);
		else
			schedule_from(&m);
	}
	check_end(&m);
	r = loop_run(m.loop);
	if (r < 0)
		snprintf(ret_error, errsz, "event loop failed: %s", strerror(-r));
	uint64_t end = clock_mono_ns();
	ret->end_epoch = clock_unix_s();
	ret->wall_s = (double)(end - m.start_mono) / 1e9;
	/* Drift is measured per slot of the schedule (the slope of wake-up times); the mean
	 * time between the samples actually taken also counts the slots that were missed. */
	ret->mean_period_s = m.fit_n >= 2 && m.fit_m2_k > 0 ? m.fit_c_kt / m.fit_m2_k : NAN;
	ret->mean_sample_interval_s = m.periods ? (double)m.period_sum_ns / (double)m.periods / 1e9
						: NAN;
	ret->sys_cpu_mean = m.sys_cpu_n ? m.sys_cpu_sum / (double)m.sys_cpu_n : NAN;
	if (!m.done)
		ret->end = END_TARGETS_GONE;
	write_summary(&m);
	teardown(&m);
	return r < 0 ? r : 0;
}

void monitor_result_free(struct monitor_result *r)
{
	targets_free(&r->targets);
	for (size_t i = 0; r->counter_names && i < r->ncounters; i++)
		free(r->counter_names[i]);
	free(r->counter_names);
	r->counter_names = NULL;
}
