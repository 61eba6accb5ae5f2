/* A set of counters: built from an event list, opened on a process, a command or CPUs,
 * read one group per read(), scaled for multiplexing. The one place that retries a failed
 * open differently is counter__fallback(). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/clock.h"
#include "perf/counters-int.h"

#define READ_FORMAT (PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | \
		     PERF_FORMAT_TOTAL_TIME_RUNNING)

static void counter_sync_info(struct counter *c)
{
	c->info.name = c->name;
	c->info.event = c->event;
	c->info.unit = c->unit;
	c->info.reason = c->reason;
	c->info.note = c->note;
	c->info.type = c->attr.type;
	c->info.config = c->attr.config;
	c->info.user = !c->attr.exclude_user;
	c->info.kernel = !c->attr.exclude_kernel;
}

PK_EXPORT struct pk_counters *pk_counters_free(struct pk_counters *c)
{
	if (!c)
		return NULL;
	if (c->fds)
		for (size_t i = 0; i < c->ninst * c->n; i++)
			if (c->fds[i] >= 0)
				close(c->fds[i]);
	for (size_t i = 0; i < c->n; i++) {
		free(c->ctr[i].name);
		free(c->ctr[i].event);
	}
	for (size_t g = 0; g < c->ngroups; g++)
		free(c->grp[g].order);
	free(c->ctr);
	free(c->grp);
	free(c->fds);
	free(c->buf);
	free(c);
	return NULL;
}

PK_EXPORT int pk_counters_new(struct pk_ctx *ctx, const char *text, struct pk_counters **ret)
{
	if (!ctx || !text || !ret)
		return -EINVAL;
	ctx->err[0] = '\0';
	char err[256];
	struct spec *s = NULL;
	int r = spec_parse(text, &s, err, sizeof(err));
	if (r == -ENOMEM)
		return ctx_err(ctx, r, "out of memory");
	if (r < 0)
		return ctx_err(ctx, -PK_E_SYNTAX, "malformed event list '%s': %s", text, err);
	struct pk_counters *c = calloc(1, sizeof(*c));
	if (!c) {
		spec_free(s);
		return -ENOMEM;
	}
	c->ctx = ctx;
	c->ctr = calloc(s->n, sizeof(*c->ctr));
	c->grp = calloc(s->ngroups, sizeof(*c->grp));
	if (!c->ctr || !c->grp) {
		r = -ENOMEM;
		goto fail;
	}
	c->ngroups = s->ngroups;
	for (size_t i = 0; i < s->n; i++) {
		const struct spec_event *ev = &s->ev[i];
		struct counter *k = &c->ctr[c->n];
		struct resolved res;
		r = event_resolve(ctx, ev, &res);
		if (r < 0) {
			resolved_free(&res);
			goto fail;
		}
		c->n++;
		k->attr = res.attr;
		k->event = res.event;
		k->kernel_side = res.kernel_side;
		k->mods = ev->mods;
		k->cpu_hint = res.cpu_hint;
		attr_apply_mods(&k->attr, &ev->mods, res.kernel_side);
		snprintf(k->unit, sizeof(k->unit), "%s", res.unit);
		/* pmu/...,name=foo/ names the counter. */
		const char *display = ev->text;
		for (size_t t = 0; ev->pmu_form && t < ev->terms.n; t++)
			if (!strcmp(ev->terms.t[t].key, "name") && ev->terms.t[t].val)
				display = ev->terms.t[t].val;
		k->name = strdup(display);
		if (!k->name) {
			r = -ENOMEM;
			goto fail;
		}
		k->info.kind = res.kind;
		k->info.group = ev->group;
		k->info.scale = res.scale;
		k->info.status = PK_STATUS_UNKNOWN;
		struct group *g = &c->grp[ev->group];
		if (!g->n)
			g->first = i;
		g->n++;
		counter_sync_info(k);
	}
	for (size_t g = 0; g < c->ngroups; g++) {
		c->grp[g].order = calloc(c->grp[g].n ? c->grp[g].n : 1, sizeof(size_t));
		if (!c->grp[g].order) {
			r = -ENOMEM;
			goto fail;
		}
	}
	spec_free(s);
	*ret = c;
	return 0;
fail:
	spec_free(s);
	pk_counters_free(c);
	if (r == -EINVAL || r == -ERANGE) /* bad PMU terms: the message says which */
		r = -PK_E_SYNTAX;
	return r == -ENOMEM ? ctx_err(ctx, r, "out of memory") : r;
}

PK_EXPORT size_t pk_counters_count(const struct pk_counters *c) { return c ? c->n : 0; }
PK_EXPORT size_t pk_counters_ngroups(const struct pk_counters *c) { return c ? c->ngroups : 0; }

PK_EXPORT const struct pk_counter_info *pk_counters_info(const struct pk_counters *c, size_t i)
{
	return c && i < c->n ? &c->ctr[i].info : NULL;
}

/* ---- opening -------------------------------------------------------------------------- */

/* The single fallback, as perf's evsel__fallback: after a failed open, changes attr in the
 * one way that may let the event open, writes what it changed into the counter's note, and
 * returns true to try again; false when there is nothing left to try. Each rule changes
 * what it tests, so the retries end. */
static bool counter__fallback(struct counter *k, int err, struct perf_event_attr *attr)
{
	bool explicit_priv = k->mods.u || k->mods.k || k->mods.h;
	if (errno_is_privilege(err) && !explicit_priv && !attr->exclude_kernel) {
		attr->exclude_kernel = 1;
		attr->exclude_hv = 1;
		int par = pk_perf_event_paranoid();
		snprintf(k->note, sizeof(k->note), "counting user space only: perf_event_paranoid "
			 "is %d (the kernel part needs <= 1 or CAP_PERFMON)%s", par,
			 k->kernel_side ? "; this event happens in the kernel, so it reads 0" : "");
		return true;
	}
	if (err == -EINVAL && !explicit_priv && k->info.kind == PK_EVENT_PMU &&
	    (attr->exclude_user || attr->exclude_kernel || attr->exclude_hv)) {
		/* PMUs such as msr, power or uncore ones cannot filter by privilege level. */
		attr->exclude_user = attr->exclude_kernel = attr->exclude_hv = 0;
		snprintf(k->note, sizeof(k->note), "this PMU cannot tell user from kernel: "
			 "counting both");
		return true;
	}
	if ((err == -EOPNOTSUPP || err == -EINVAL) && attr->precise_ip) {
		attr->precise_ip--;
		snprintf(k->note, sizeof(k->note), "precise level lowered to %u",
			 (unsigned)attr->precise_ip);
		return true;
	}
	return false;
}

/* An error that is the event's own (this machine cannot count it): the counter is left out
 * and the others are opened. Anything else (privilege, a vanished process, no file
 * descriptors) fails the whole open. */
static bool error_is_events_own(int err)
{
	return errno_is_not_supported(err) || err == -EINVAL || err == -ENOSPC || err == -EBUSY ||
	       err == -E2BIG || err == -EOVERFLOW;
}

struct instance {
	pid_t pid;
	int cpu;
};

static int open_instance(struct pk_counters *c, size_t inst, struct instance where,
			 unsigned flags, bool launch)
{
	int *fds = c->fds + inst * c->n;
	for (size_t gi = 0; gi < c->ngroups; gi++) {
		struct group *g = &c->grp[gi];
		int leader_fd = -1;
		size_t nopen = 0;
		for (size_t i = g->first; i < g->first + g->n; i++) {
			struct counter *k = &c->ctr[i];
			if (inst > 0 && k->info.status < 0)
				continue; /* already known not to open */
			struct perf_event_attr attr = k->attr;
			attr.read_format = READ_FORMAT;
			attr.inherit = !(flags & PK_OPEN_NO_INHERIT) && where.pid != -1;
			bool leads = leader_fd < 0;
			/* Leaders start disabled and are enabled once the whole group is there: a
			 * member attached to a group already counting would not count until the
			 * task is next scheduled. */
			attr.disabled = leads;
			attr.enable_on_exec = leads && launch;
			int fd;
			for (;;) {
				fd = perf_open(&attr, where.pid, where.cpu, leader_fd, 0);
				if (fd >= 0 || !counter__fallback(k, fd, &attr))
					break;
			}
			if (fd < 0) {
				char why[256];
				open_reason(c->ctx, fd, k->info.kind, &attr, where.pid == -1, why,
					    sizeof(why));
				if (!error_is_events_own(fd) || inst > 0) {
					if (fd == -ESRCH)
						return ctx_err(c->ctx, fd, "cannot count process %d: no "
							       "such process", (int)where.pid);
					return ctx_err(c->ctx, fd, "cannot open '%s': %s", k->name, why);
				}
				k->info.status = open_status(fd);
				snprintf(k->reason, sizeof(k->reason), "%s", why);
				continue;
			}
			fds[i] = fd;
			if (leads) {
				leader_fd = fd;
				g->leader = i;
			}
			if (inst == 0) {
				g->order[nopen] = i;
				k->attr.exclude_user = attr.exclude_user;
				k->attr.exclude_kernel = attr.exclude_kernel;
				k->attr.exclude_hv = attr.exclude_hv;
				k->attr.precise_ip = attr.precise_ip;
				k->info.status = 0;
			}
			nopen++;
		}
		if (inst == 0)
			g->nopen = nopen;
		if (leader_fd >= 0 && (flags & PK_OPEN_ENABLE) &&
		    ioctl(leader_fd, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) < 0)
			return ctx_err(c->ctx, neg_errno(), "cannot enable '%s': %s",
				       c->ctr[g->leader].name, strerror(errno));
		for (size_t i = g->first; i < g->first + g->n; i++) {
			c->ctr[i].info.leader = nopen && g->leader == i;
			counter_sync_info(&c->ctr[i]);
		}
	}
	return 0;
}

static int alloc_instances(struct pk_counters *c, size_t ninst)
{
	c->fds = malloc(ninst * c->n * sizeof(int));
	size_t maxg = 1;
	for (size_t g = 0; g < c->ngroups; g++)
		if (c->grp[g].n > maxg)
			maxg = c->grp[g].n;
	c->buf = malloc((3 + maxg) * sizeof(uint64_t));
	if (!c->fds || !c->buf)
		return -ENOMEM;
	for (size_t i = 0; i < ninst * c->n; i++)
		c->fds[i] = -1;
	c->ninst = ninst;
	return 0;
}

/* After opening: how many counters are not open, or -PK_E_NO_COUNTERS (or, with
 * PK_OPEN_ALL, -PK_E_NOT_SUPPORTED when any is not). */
static int open_result(struct pk_counters *c, unsigned flags)
{
	size_t failed = 0;
	const struct counter *first = NULL;
	for (size_t i = 0; i < c->n; i++)
		if (c->ctr[i].info.status != 0) {
			failed++;
			if (!first)
				first = &c->ctr[i];
		}
	c->opened = true;
	if (failed == c->n)
		return ctx_err(c->ctx, -PK_E_NO_COUNTERS, "none of the events can be counted: "
			       "'%s': %s", first->name, first->reason);
	if (failed && (flags & PK_OPEN_ALL)) {
		c->opened = false;
		return ctx_err(c->ctx, first->info.status == -PK_E_NOT_SUPPORTED
			       ? -PK_E_NOT_SUPPORTED : first->info.status,
			       "'%s' cannot be counted: %s", first->name, first->reason);
	}
	return (int)failed;
}

static void close_all(struct pk_counters *c)
{
	for (size_t i = 0; c->fds && i < c->ninst * c->n; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	free(c->fds);
	c->fds = NULL;
	c->ninst = 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* The threads of pid, main thread first. */
static int list_threads(pid_t pid, pid_t **ret, size_t *ret_n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : neg_errno();
	pid_t *tids = NULL;
	size_t n = 0;
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pid_t *nt = realloc(tids, (n + 1) * sizeof(*nt));
		if (!nt) {
			r = -ENOMEM;
			break;
		}
		tids = nt;
		tids[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	if (r < 0 || n == 0) {
		free(tids);
		return r < 0 ? r : -ESRCH;
	}
	qsort(tids, n, sizeof(*tids), cmp_pid);
	for (size_t i = 0; i < n; i++)
		if (tids[i] == pid) {
			tids[i] = tids[0];
			tids[0] = pid;
		}
	*ret = tids;
	*ret_n = n;
	return 0;
}

PK_EXPORT int pk_counters_open_pid(struct pk_counters *c, pid_t pid, unsigned flags)
{
	if (!c || pid < 0)
		return -EINVAL;
	if (c->opened)
		return ctx_err(c->ctx, -PK_E_STATE, "the counters are already open");
	if (pid == 0)
		pid = getpid();
	pid_t *tids = NULL;
	size_t n = 0;
	int r = list_threads(pid, &tids, &n);
	if (r == -ESRCH)
		return ctx_err(c->ctx, r, "cannot count process %d: no such process", (int)pid);
	if (r < 0)
		return ctx_err(c->ctx, r, "cannot list the threads of process %d: %s", (int)pid,
			       strerror(-r));
	r = alloc_instances(c, n);
	size_t live = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		/* PK_OPEN_ON_EXEC: the leaders are enabled by the kernel at the exec. */
		r = open_instance(c, live, (struct instance){ tids[i], -1 },
				  flags & PK_OPEN_ON_EXEC ? flags & ~PK_OPEN_ENABLE : flags,
				  flags & PK_OPEN_ON_EXEC);
		if (r == -ESRCH && i > 0) { /* that thread has just exited */
			for (size_t k = 0; k < c->n; k++)
				if (c->fds[live * c->n + k] >= 0) {
					close(c->fds[live * c->n + k]);
					c->fds[live * c->n + k] = -1;
				}
			r = 0;
			continue;
		}
		live++;
	}
	free(tids);
	if (r < 0) {
		close_all(c);
		return r;
	}
	c->ninst = live;
	r = open_result(c, flags);
	if (r < 0)
		close_all(c);
	return r;
}

int perf_online_cpus(int **ret, size_t *ret_n)
{
	char buf[1024];
	int fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
	ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (len <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		snprintf(buf, sizeof(buf), "0-%ld", n > 0 ? n - 1 : 0);
		len = (ssize_t)strlen(buf);
	}
	buf[len] = '\0';
	int *cpus = NULL;
	size_t n = 0;
	for (char *p = buf; *p && *p != '\n';) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;
		if (end == p)
			break;
		p = end;
		if (*p == '-') {
			hi = strtol(p + 1, &end, 10);
			p = end;
		}
		for (long c = lo; c <= hi && c < 65536; c++) {
			int *nc = realloc(cpus, (n + 1) * sizeof(*nc));
			if (!nc) {
				free(cpus);
				return -ENOMEM;
			}
			cpus = nc;
			cpus[n++] = (int)c;
		}
		if (*p == ',')
			p++;
	}
	if (!n)
		return -ENOENT;
	*ret = cpus;
	*ret_n = n;
	return 0;
}

PK_EXPORT int pk_counters_open_cpu(struct pk_counters *c, int cpu, unsigned flags)
{
	if (!c || cpu < -1)
		return -EINVAL;
	if (c->opened)
		return ctx_err(c->ctx, -PK_E_STATE, "the counters are already open");
	int *cpus = NULL;
	size_t n = 0;
	int r;
	if (cpu >= 0) {
		cpus = malloc(sizeof(int));
		if (!cpus)
			return -ENOMEM;
		cpus[0] = cpu;
		n = 1;
	} else if ((r = perf_online_cpus(&cpus, &n)) < 0) {
		return ctx_err(c->ctx, r, "cannot tell which CPUs are online");
	}
	r = alloc_instances(c, n);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = open_instance(c, i, (struct instance){ -1, cpus[i] }, flags | PK_OPEN_NO_INHERIT,
				  false);
	free(cpus);
	if (r == 0)
		r = open_result(c, flags);
	if (r < 0)
		close_all(c);
	return r;
}

/* What the launched command must not inherit from profkit: its blocked and ignored signals,
 * and the tight timer slack of its event loop. */
static void reset_child_state(void)
{
	clock_restore_timer_slack();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_DFL);
}

PK_EXPORT int pk_counters_launch(struct pk_counters *c, char *const argv[], unsigned flags,
				 pid_t *ret_pid)
{
	if (!c || !argv || !argv[0] || !ret_pid)
		return -EINVAL;
	if (c->opened)
		return ctx_err(c->ctx, -PK_E_STATE, "the counters are already open");
	int go[2], status[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return ctx_err(c->ctx, neg_errno(), "pipe: %s", strerror(errno));
	if (pipe2(status, O_CLOEXEC) < 0) {
		int r = neg_errno();
		close(go[0]);
		close(go[1]);
		return ctx_err(c->ctx, r, "pipe: %s", strerror(-r));
	}
	pid_t pid = fork();
	if (pid < 0) {
		int r = neg_errno();
		close(go[0]);
		close(go[1]);
		close(status[0]);
		close(status[1]);
		return ctx_err(c->ctx, r, "fork: %s", strerror(-r));
	}
	if (pid == 0) {
		/* The child: wait for the counters, then exec (or report why not). */
		char x;
		close(go[1]);
		close(status[0]);
		reset_child_state();
		if (read(go[0], &x, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		int e = errno;
		if (write(status[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(status[1]);
	int r = alloc_instances(c, 1);
	if (r == 0)
		r = open_instance(c, 0, (struct instance){ pid, -1 }, flags & ~PK_OPEN_ENABLE, true);
	if (r == 0)
		r = open_result(c, flags);
	if (r < 0) {
		close(go[1]); /* the child exits without exec */
		close(status[0]);
		waitpid(pid, NULL, 0);
		close_all(c);
		c->opened = false;
		return r;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->launch_ns = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	ssize_t w = write(go[1], "g", 1);
	close(go[1]);
	int e = 0;
	ssize_t got;
	do
		got = read(status[0], &e, sizeof(e));
	while (got < 0 && errno == EINTR);
	close(status[0]);
	if (w != 1 || got > 0) {
		waitpid(pid, NULL, 0);
		close_all(c);
		c->opened = false;
		e = got > 0 ? e : EIO;
		return ctx_err(c->ctx, -e, "cannot execute '%s': %s", argv[0],
			       e == ENOENT ? "command not found"
			       : e == EACCES ? "permission denied (not executable)" : strerror(e));
	}
	*ret_pid = pid;
	return r;
}

PK_EXPORT uint64_t pk_counters_launch_time(const struct pk_counters *c)
{
	return c ? c->launch_ns : 0;
}

/* ---- control and reading --------------------------------------------------------------- */

static int ioctl_groups(struct pk_counters *c, unsigned long req)
{
	if (!c)
		return -EINVAL;
	if (!c->opened)
		return ctx_err(c->ctx, -PK_E_STATE, "the counters are not open");
	for (size_t inst = 0; inst < c->ninst; inst++)
		for (size_t g = 0; g < c->ngroups; g++) {
			if (!c->grp[g].nopen)
				continue;
			int fd = c->fds[inst * c->n + c->grp[g].leader];
			if (fd >= 0 && ioctl(fd, req, PERF_IOC_FLAG_GROUP) < 0)
				return ctx_err(c->ctx, neg_errno(), "ioctl on '%s': %s",
					       c->ctr[c->grp[g].leader].name, strerror(errno));
		}
	return 0;
}

PK_EXPORT int pk_counters_enable(struct pk_counters *c)
{
	return ioctl_groups(c, PERF_EVENT_IOC_ENABLE);
}

PK_EXPORT int pk_counters_disable(struct pk_counters *c)
{
	return ioctl_groups(c, PERF_EVENT_IOC_DISABLE);
}

PK_EXPORT int pk_counters_reset(struct pk_counters *c)
{
	return ioctl_groups(c, PERF_EVENT_IOC_RESET);
}

uint64_t count_scale(uint64_t raw, uint64_t enabled, uint64_t running)
{
	if (running == 0)
		return 0;
	if (running >= enabled)
		return raw;
	unsigned __int128 v = (unsigned __int128)raw * enabled / running;
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

PK_EXPORT int pk_counters_read(struct pk_counters *c, struct pk_count *ret, size_t n)
{
	if (!c || !ret || n < c->n)
		return -EINVAL;
	if (!c->opened)
		return ctx_err(c->ctx, -PK_E_STATE, "the counters are not open");
	memset(ret, 0, c->n * sizeof(*ret));
	uint64_t *buf = c->buf;
	for (size_t inst = 0; inst < c->ninst; inst++) {
		const int *fds = c->fds + inst * c->n;
		for (size_t gi = 0; gi < c->ngroups; gi++) {
			const struct group *g = &c->grp[gi];
			if (!g->nopen)
				continue;
			size_t want = (3 + g->nopen) * sizeof(uint64_t);
			ssize_t got = read(fds[g->leader], buf, want);
			if (got < 0)
				return ctx_err(c->ctx, neg_errno(), "cannot read '%s': %s",
					       c->ctr[g->leader].name, strerror(errno));
			if ((size_t)got != want || buf[0] != g->nopen)
				return ctx_err(c->ctx, -EIO, "short read of group '%s'",
					       c->ctr[g->leader].name);
			uint64_t en = buf[1], run = buf[2];
			for (size_t j = 0; j < g->nopen; j++) {
				struct pk_count *v = &ret[g->order[j]];
				v->raw += buf[3 + j];
				v->value += count_scale(buf[3 + j], en, run);
				v->enabled_ns += en;
				v->running_ns += run;
			}
		}
	}
	return 0;
}
