#include "core/targets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "core/clock.h"
#include "util/dirs.h"
#include "util/macro.h"

#define NAME_RECHECK_NS (1000 * NSEC_PER_MSEC)
/* By name, the processes that did not match keep /proc/PID/comm open, up to this many and
 * a quarter of the descriptor limit (the targets need theirs): the re-check of every name
 * is then one pread per process instead of an open, a read of `stat` and a close (~1 µs
 * against ~15 µs). */
#define IGNORED_FDS_MAX 4096
/* By name, a process younger than this that does not match is looked at again at every
 * tick: between fork and exec it still has its parent's name. */
#define YOUNG_NS (500 * NSEC_PER_MSEC)

int targets_init(struct target_set *ts, enum target_rule rule, const struct pk_log *log)
{
	memset(ts, 0, sizeof(*ts));
	ts->rule = rule;
	ts->self = getpid();
	ts->log = *log;
	ts->clk_tck = sysconf(_SC_CLK_TCK);
	ts->boot_epoch = clock_boot_epoch();
	struct rlimit rl;
	ts->ignored_fds_max = IGNORED_FDS_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur / 4 < IGNORED_FDS_MAX)
		ts->ignored_fds_max = (size_t)(rl.rlim_cur / 4);
	ts->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ts->loadavgfd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	if (ts->procfd < 0 || ts->loadavgfd < 0) {
		int r = neg_errno();
		targets_free(ts);
		return r;
	}
	return 0;
}

enum leak_verdict target_leak(const struct target *t, double *ret_slope)
{
	if (!t->agg.mem) {
		*ret_slope = t->agg.leak_slope;
		return t->agg.leak;
	}
	*ret_slope = NAN;
	return leak_profit(t->agg.mem, ret_slope);
}

/* A process seen and not followed: when (scan generation) and, by name, what it was
 * called and its comm file, to tell at the next re-check whether it exec'd. */
struct ignored_proc {
	uint64_t gen;
	int comm_fd; /* -1: none kept */
	char comm[64]; /* as /proc/PID/stat and comm show it (a kernel thread's may pass 15) */
};

static void ignored_free(struct target_set *ts, struct ignored_proc *ig)
{
	if (!ig)
		return;
	if (ig->comm_fd >= 0) {
		close(ig->comm_fd);
		ts->ignored_fds--;
	}
	free(ig);
}

static void ignored_clear(struct target_set *ts)
{
	pid_t pid;
	void *v;
	for (size_t it = 0; pidmap_next(&ts->ignored, &it, &pid, &v);)
		ignored_free(ts, v);
	pidmap_free(&ts->ignored);
}

static void ignored_drop(struct target_set *ts, pid_t pid)
{
	ignored_free(ts, pidmap_del(&ts->ignored, pid));
}

/* Remembers pid as not a target; comm (NULL: not by name) is its name now. */
static void ignored_put(struct target_set *ts, pid_t pid, const char *comm)
{
	struct ignored_proc *ig = pidmap_get(&ts->ignored, pid);
	if (ig) {
		ig->gen = ts->gen;
		return;
	}
	ig = malloc(sizeof(*ig));
	if (!ig)
		return; /* considered again at the next scan */
	*ig = (struct ignored_proc){ .gen = ts->gen, .comm_fd = -1 };
	if (comm && ts->ignored_fds < ts->ignored_fds_max) {
		char path[32];
		snprintf(path, sizeof(path), "%d/comm", (int)pid);
		ig->comm_fd = openat(ts->procfd, path, O_RDONLY | O_CLOEXEC);
		if (ig->comm_fd >= 0)
			ts->ignored_fds++;
		snprintf(ig->comm, sizeof(ig->comm), "%s", comm);
	}
	if (pidmap_put(&ts->ignored, pid, ig) < 0)
		ignored_free(ts, ig);
}

static void target_close(struct target *t)
{
	proc_close(&t->h);
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->pidfd = -1;
}

void targets_free(struct target_set *ts)
{
	for (size_t i = 0; i < ts->nall; i++) {
		struct target *t = ts->all[i];
		target_close(t);
		free(t->agg.mem);
		if (t->counters) {
			free(t->counters->values);
			free(t->counters->have);
			free(t->counters);
		}
		free(t);
	}
	free(ts->all);
	free(ts->alive);
	ts->all = ts->alive = NULL;
	ts->nall = ts->nalive = 0;
	pidmap_free(&ts->live);
	ignored_clear(ts);
	free(ts->young);
	ts->young = NULL;
	ts->nyoung = ts->capyoung = 0;
	if (ts->procfd >= 0)
		close(ts->procfd);
	if (ts->loadavgfd >= 0)
		close(ts->loadavgfd);
	ts->procfd = ts->loadavgfd = -1;
}

struct target *targets_find(struct target_set *ts, pid_t pid)
{
	return pidmap_get(&ts->live, pid);
}

static const char *base_name(const char *s)
{
	const char *slash = strrchr(s, '/');
	return slash ? slash + 1 : s;
}

void targets_display_name(int procfd, pid_t pid, const char *comm, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", comm);
	if (strlen(comm) < 15)
		return;
	/* comm was cut to 15 bytes: argv[0]'s base name tells the rest, when it agrees. */
	char path[32], buf[4096];
	snprintf(path, sizeof(path), "%d/cmdline", (int)pid);
	ssize_t n = proc_read_file_at(procfd, path, buf, sizeof(buf));
	if (n <= 0)
		return;
	buf[n] = '\0';
	const char *arg0 = base_name(buf);
	if (strncmp(arg0, comm, strlen(comm)) == 0)
		snprintf(out, outsz, "%s", arg0);
}

static int read_stat_of(struct target_set *ts, pid_t pid, struct proc_stat *ret)
{
	char path[32], buf[1024];
	snprintf(path, sizeof(path), "%d/stat", (int)pid);
	ssize_t n = proc_read_file_at(ts->procfd, path, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	return procfs_parse_stat(buf, (size_t)n, ret);
}

/* Room for one more in an array of targets. */
static int grow_targets(struct target ***v, size_t n, size_t *cap)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	struct target **p = realloc(*v, nc * sizeof(*p));
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = nc;
	return 0;
}

int targets_add(struct target_set *ts, pid_t pid, bool is_child, struct target **ret_target)
{
	struct target *t = targets_find(ts, pid);
	if (t)
		goto out;
	struct proc_stat st;
	int r = read_stat_of(ts, pid, &st);
	if (r < 0)
		return r;
	if (st.state == 'Z' || st.state == 'X')
		return -ESRCH;
	if (grow_targets(&ts->all, ts->nall, &ts->capall) < 0 ||
	    grow_targets(&ts->alive, ts->nalive, &ts->capalive) < 0)
		return -ENOMEM;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->pid = pid;
	t->pidfd = -1;
	t->start_ticks = st.starttime;
	t->creation_epoch = ts->boot_epoch + (double)st.starttime / (double)ts->clk_tck;
	t->is_child = is_child;
	snprintf(t->comm, sizeof(t->comm), "%s", st.comm);
	targets_display_name(ts->procfd, pid, st.comm, t->name, sizeof(t->name));
	r = proc_open(ts->procfd, pid, ts->want_pss, &t->h);
	if (r < 0) {
		free(t);
		return r;
	}
	/* Those columns stay empty; worth a warning unless the process is just exiting. */
	int e = t->h.io_err ? t->h.io_err : t->h.fd_err;
	if (e && e != ESRCH && e != ENOENT) {
		t->warned_perm = true;
		pk_logf(&ts->log, PK_LOG_WARN,
			"cannot read the open files and I/O of PID %d (%s): %s; those columns stay "
			"empty", (int)pid, t->name,
			e == EACCES || e == EPERM ? "permission denied" : strerror(e));
	}
	t->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	t->agg.mem = malloc(sizeof(*t->agg.mem));
	r = t->agg.mem ? pidmap_put(&ts->live, pid, t) : -ENOMEM;
	if (r < 0) {
		target_close(t);
		free(t->agg.mem);
		free(t);
		return r;
	}
	series_init(t->agg.mem);
	ignored_drop(ts, pid);
	t->alive = true;
	ts->all[ts->nall++] = t;
	t->alive_index = ts->nalive;
	ts->alive[ts->nalive++] = t;
out:
	if (ret_target)
		*ret_target = t;
	return 0;
}

void targets_mark_gone(struct target_set *ts, struct target *t)
{
	if (!t->alive)
		return;
	t->alive = false;
	/* Rows keep the order targets were found in; exits are rare next to ticks. */
	for (size_t i = t->alive_index + 1; i < ts->nalive; i++) {
		ts->alive[i - 1] = ts->alive[i];
		ts->alive[i - 1]->alive_index = i - 1;
	}
	ts->nalive--;
	pidmap_del(&ts->live, t->pid);
	target_close(t);
	t->agg.leak = target_leak(t, &t->agg.leak_slope);
	free(t->agg.mem);
	t->agg.mem = NULL;
}

static bool regex_matches_cmdline(struct target_set *ts, pid_t pid)
{
	char path[32], buf[4096], line[4096];
	snprintf(path, sizeof(path), "%d/cmdline", (int)pid);
	ssize_t n = proc_read_file_at(ts->procfd, path, buf, sizeof(buf));
	if (n <= 0)
		return false;
	procfs_cmdline_join(buf, (size_t)n, line, sizeof(line));
	return regexec(ts->match, line, 0, NULL, 0) == 0;
}

static bool name_matches(struct target_set *ts, pid_t pid, const struct proc_stat *st)
{
	if (ts->match && regex_matches_cmdline(ts, pid))
		return true;
	if (!ts->nnames)
		return false;
	char name[TARGET_NAME_MAX];
	bool named = false;
	for (size_t i = 0; i < ts->nnames; i++) {
		/* comm holds at most 15 bytes of the name. */
		if (strncmp(ts->names[i], st->comm, 15) != 0)
			continue;
		if (strlen(ts->names[i]) <= 15 && strcmp(ts->names[i], st->comm) == 0)
			return true;
		if (!named) {
			targets_display_name(ts->procfd, pid, st->comm, name, sizeof(name));
			named = true;
		}
		if (strcmp(ts->names[i], name) == 0)
			return true;
	}
	return false;
}

struct candidate {
	pid_t pid, ppid;
	bool taken;
	bool young; /* may still take a watched name: not to be ignored */
	char comm[64];
};

/* Whether a process's parent is in the followed tree (or is profkit, which adopts the
 * tree's orphans as a subreaper). */
static bool parent_followed(struct target_set *ts, pid_t ppid)
{
	return ppid == ts->self || targets_find(ts, ppid) != NULL;
}

/* New processes are taken until nothing changes: a child listed before its (also new)
 * parent is taken once the parent is. */
static int take_descendants(struct target_set *ts, struct candidate *c, size_t n)
{
	int added = 0;
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < n; i++) {
			if (c[i].taken || !parent_followed(ts, c[i].ppid))
				continue;
			c[i].taken = true;
			struct target *t;
			if (targets_add(ts, c[i].pid, c[i].ppid == ts->self, &t) == 0) {
				t->descendant = true;
				added++;
				again = true;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!c[i].taken && !c[i].young)
			ignored_put(ts, c[i].pid, NULL);
	return added;
}

/* The last PID the kernel handed out (processes and threads alike), or 0. */
static pid_t read_last_pid(struct target_set *ts)
{
	char buf[128];
	ssize_t n = pread(ts->loadavgfd, buf, sizeof(buf) - 1, 0);
	pid_t last;
	if (n <= 0 || procfs_parse_last_pid(buf, (size_t)n, &last) < 0)
		return 0;
	return last;
}

/* Clock ticks since boot, the unit of a process's start time in /proc/PID/stat. */
static uint64_t boot_ticks_now(const struct target_set *ts)
{
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	return (uint64_t)now.tv_sec * (uint64_t)ts->clk_tck +
	       (uint64_t)now.tv_nsec * (uint64_t)ts->clk_tck / NSEC_PER_SEC;
}

/* What one discovery pass found: processes that are not followed (yet). */
struct scan {
	struct candidate *c;
	size_t n, cap;
	int added;               /* taken by name at once */
	bool by_name;
	bool recheck;            /* by name: every name is looked at again */
	uint64_t young_after;    /* by name: started after this (clock ticks) = young */
	pid_t *young;            /* the young ones, for the next pass */
	size_t nyoung, capyoung;
};

static int push_pid(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		pid_t *p = realloc(*v, nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = nc;
	}
	(*v)[(*n)++] = pid;
	return 0;
}

/* Looks at one process that is not followed: a watched name is taken at once; anything
 * else becomes a candidate (for a tree, its parent decides). */
static int consider(struct target_set *ts, struct scan *sc, pid_t pid)
{
	struct proc_stat st;
	if (read_stat_of(ts, pid, &st) < 0 || st.state == 'Z')
		return 0;
	if (sc->by_name && name_matches(ts, pid, &st)) {
		if (targets_add(ts, pid, false, NULL) == 0)
			sc->added++;
		return 0;
	}
	bool young = sc->by_name && st.starttime >= sc->young_after;
	if (young && push_pid(&sc->young, &sc->nyoung, &sc->capyoung, pid) < 0)
		return -ENOMEM;
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		struct candidate *nc = realloc(sc->c, cap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		sc->c = nc;
		sc->cap = cap;
	}
	sc->c[sc->n] = (struct candidate){ .pid = pid, .ppid = st.ppid, .young = young };
	snprintf(sc->c[sc->n++].comm, sizeof(sc->c->comm), "%s", st.comm);
	return 0;
}

/* At a re-check by name: is an ignored process still called what it was? exec always
 * renames (to the new program's file name), and so does a process that renames itself, so
 * an unchanged comm means no new name, except where comm is not the whole story: a watched
 * name longer than comm holds that starts with it (the command line tells the rest), and
 * --match, whose command line can change without exec. Those are looked at in full. */
static bool same_name(struct target_set *ts, const struct ignored_proc *ig)
{
	if (ig->comm_fd < 0 || ts->match)
		return false;
	char comm[80];
	ssize_t n = pread(ig->comm_fd, comm, sizeof(comm) - 1, 0);
	if (n <= 0)
		return false; /* gone: this PID, if listed, is another process now */
	if (comm[n - 1] == '\n') /* the kernel's own, after the name (which may hold more) */
		n--;
	comm[n] = '\0';
	if (strcmp(comm, ig->comm) != 0)
		return false;
	for (size_t i = 0; i < ts->nnames; i++)
		if (strlen(ts->names[i]) > 15 && strncmp(ts->names[i], comm, 15) == 0)
			return false;
	return true;
}

/* Lists /proc and considers every process that is neither followed nor known to be
 * ignored; marks the ignored ones still present with the current generation. */
static int scan_all(struct target_set *ts, struct scan *sc)
{
	DIR *d;
	int r = opendir_at(ts->procfd, ".", &d);
	if (r < 0)
		return r;
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
		if (pid == ts->self || targets_find(ts, pid))
			continue;
		struct ignored_proc *ig = pidmap_get(&ts->ignored, pid);
		if (ig && (!sc->recheck || same_name(ts, ig))) {
			ig->gen = ts->gen;
			continue;
		}
		if (ig)
			ignored_drop(ts, pid);
		r = consider(ts, sc, pid);
	}
	closedir(d);
	return r;
}

/* A PID is also a thread ID: /proc/TID opens for a thread, though it is not listed. */
static bool is_process(struct target_set *ts, pid_t pid)
{
	char path[32], buf[2048];
	snprintf(path, sizeof(path), "%d/status", (int)pid);
	ssize_t n = proc_read_file_at(ts->procfd, path, buf, sizeof(buf));
	struct proc_status st;
	return n > 0 && procfs_parse_status(buf, (size_t)n, &st) == 0 &&
	       (st.have & STATUS_HAVE_TGID) && st.tgid == pid;
}

/* Only the PIDs handed out since the last pass, and the young ones of that pass: much
 * cheaper than listing /proc on a busy machine, where something starts at most ticks. */
static int scan_new(struct target_set *ts, struct scan *sc, pid_t from, pid_t to)
{
	int r = 0;
	for (pid_t pid = from + 1; r == 0 && pid <= to; pid++)
		if (pid != ts->self && !targets_find(ts, pid) && is_process(ts, pid))
			r = consider(ts, sc, pid);
	for (size_t i = 0; r == 0 && i < ts->nyoung; i++) {
		pid_t pid = ts->young[i];
		if ((pid <= from || pid > to) && !targets_find(ts, pid))
			r = consider(ts, sc, pid);
	}
	return r;
}

static void prune_ignored(struct target_set *ts)
{
	pid_t pid;
	void *v;
	for (size_t it = 0; pidmap_next(&ts->ignored, &it, &pid, &v);)
		if (((struct ignored_proc *)v)->gen != ts->gen)
			ignored_drop(ts, pid);
}

/* Up to this many new PIDs since the last pass are probed one by one; more (or a PID
 * counter that wrapped) and /proc is listed. */
#define PROBE_MAX 256

int targets_discover(struct target_set *ts, uint64_t now_ns)
{
	bool by_name = ts->rule == RULE_NAMES;
	bool tree = ts->rule == RULE_DESCENDANTS || ts->follow_children;
	if (!by_name && !tree)
		return 0;
	pid_t prev = ts->last_pid, last = read_last_pid(ts);
	/* A process may exec into a watched name without forking: re-read every name now
	 * and then. */
	bool recheck = by_name && now_ns - ts->last_full_scan_ns >= NAME_RECHECK_NS;
	if (last && last == prev && !recheck && !ts->nyoung)
		return 0;
	ts->last_pid = last;
	if (recheck)
		ts->last_full_scan_ns = now_ns;
	ts->gen++;
	struct scan sc = { .by_name = by_name, .recheck = recheck };
	if (by_name) {
		uint64_t now = boot_ticks_now(ts);
		uint64_t window = YOUNG_NS * (uint64_t)ts->clk_tck / NSEC_PER_SEC;
		sc.young_after = now > window ? now - window : 0;
	}
	bool full = recheck || !prev || !last || last < prev || last - prev > PROBE_MAX;
	int r = full ? scan_all(ts, &sc) : scan_new(ts, &sc, prev, last);
	if (r == 0) {
		r = sc.added;
		if (tree)
			r += take_descendants(ts, sc.c, sc.n);
		else
			for (size_t i = 0; i < sc.n; i++)
				if (!sc.c[i].young)
					ignored_put(ts, sc.c[i].pid, sc.c[i].comm);
		if (full)
			prune_ignored(ts);
	}
	free(ts->young);
	ts->young = sc.young;
	ts->nyoung = sc.nyoung;
	ts->capyoung = sc.capyoung;
	free(sc.c);
	return r;
}
