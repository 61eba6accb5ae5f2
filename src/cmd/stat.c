/* profkit stat: counts events of a command, a process or the whole machine with
 * libprofkit's counters; a perf-stat-like table at the end, or with -I a time series (CSV)
 * driven by the event loop: its timer on absolute deadlines, a signalfd, a pidfd. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/spawn.h"
#include "output/csv.h"
#include "profkit/counters.h"
#include "util/parse.h"
#include "util/strbuf.h"

#define DEFAULT_EVENTS "task-clock,context-switches,cpu-migrations,page-faults,cycles," \
		       "instructions,branches,branch-misses"

static const char stat_help[] =
	"usage: profkit stat [-e EVENTS] [-I MS [--reset] [--wide]] [-o FILE] [-d SECONDS]\n"
	"                    (-p PID | -a | -- COMMAND [ARGS...])\n"
	"\n"
	"Counts events (perf_event counters) of a command and its children, of a running\n"
	"process (-p) or of every CPU (-a), and prints a table like 'perf stat', or with -I a\n"
	"time series as CSV.\n"
	"\n"
	"  -e, --events LIST        events, e.g. '{instructions,cycles},page-faults:u'\n"
	"                           (default: " DEFAULT_EVENTS ");\n"
	"                           {a,b} is a group, :u :k :uk choose user/kernel space;\n"
	"                           'profkit list' shows the names\n"
	"  -I, --interval-print MS  a CSV row per event every MS milliseconds:\n"
	"                           timestamp,elapsed_s,event,value,enabled_ns,running_ns\n"
	"      --reset              each row holds the change over its interval (the rows add\n"
	"                           up to the total), not the running total\n"
	"      --wide               one row per interval, one column per event\n"
	"  -o, --output FILE        write the table or the series to FILE (with -I, the total\n"
	"                           is then still shown)\n"
	"      --csv                the table as CSV: event,value,unit,enabled_ns,running_ns,\n"
	"                           percent_running,status\n"
	"  -p, --pid PID            count a running process (all its threads) until it exits\n"
	"  -a, --all-cpus           count every CPU (the whole machine)\n"
	"  -d, --duration SECONDS   stop after SECONDS (a command is then ended as by\n"
	"                           timeout(1))\n"
	"  -h, --help               this help\n"
	"\n"
	"Results go to standard error when a command runs (its output keeps standard output),\n"
	"to standard output otherwise. Values are counts; the clocks are in ns in CSV. The exit\n"
	"status is the command's.\n";

enum {
	OPT_RESET = 0x100,
	OPT_WIDE,
	OPT_CSV,
};

/* Sorted by long name. */
static const struct option stat_opts[] = {
	{ "all-cpus", no_argument, NULL, 'a' },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "duration", required_argument, NULL, 'd' },
	{ "events", required_argument, NULL, 'e' },
	{ "help", no_argument, NULL, 'h' },
	{ "interval-print", required_argument, NULL, 'I' },
	{ "output", required_argument, NULL, 'o' },
	{ "pid", required_argument, NULL, 'p' },
	{ "reset", no_argument, NULL, OPT_RESET },
	{ "wide", no_argument, NULL, OPT_WIDE },
	{ 0 },
};

struct stat_opts {
	struct strbuf events;
	int64_t interval_ms; /* 0: no series */
	double duration_s;   /* < 0: none */
	bool reset, wide, csv, all_cpus;
	pid_t pid;
	const char *output;
	char **argv;
};

struct stat_run {
	const struct stat_opts *o;
	struct pk_ctx *ctx;
	struct pk_counters *c;
	size_t n;
	struct loop *loop;
	int sigfd, pidfd;
	sigset_t old_mask;
	pid_t child;          /* a launched command, 0 if none */
	bool child_reaped;
	int exit_status;
	struct rusage ru;
	bool done, end_by_duration, kill_pending;
	bool end_row_taken; /* the duration's last deadline took the series' last row */
	int signals;
	uint64_t start, interval_ns, end_ns, tick, deadline, last_row;
	double start_unix;
	struct pk_count *cur, *prev;
	struct out_file series;
	int out_fd;           /* -o FILE, or -1 */
	FILE *results;        /* where the table goes */
	int error;            /* a runtime error met in the loop */
};

/* ---- options ---------------------------------------------------------------------------- */

static int parse_stat_option(struct stat_opts *o, int opt, const char *arg)
{
	int64_t v;
	switch (opt) {
	case 'e':
		if (!*arg)
			return usage_error("stat", "empty event list");
		if (o->events.len)
			sb_addc(&o->events, ',');
		sb_adds(&o->events, arg);
		return 0;
	case 'I':
		if (parse_int64(arg, INT64_MIN, INT64_MAX, &v) < 0)
			return usage_error("stat", "invalid interval '%s': expected milliseconds, "
					   "e.g. -I 100", arg);
		if (v <= 0)
			return usage_error("stat", "invalid interval '%s': it must be at least 1 ms",
					   arg);
		if (v > 86400000)
			return usage_error("stat", "invalid interval '%s': at most a day", arg);
		o->interval_ms = v;
		return 0;
	case 'd': {
		int r = parse_seconds(arg, &o->duration_s);
		if (r < 0 || o->duration_s <= 0)
			return usage_error("stat", "invalid duration '%s': expected seconds > 0, "
					   "e.g. 5", arg);
		return 0;
	}
	case 'p':
		if (parse_pid(arg, &o->pid) < 0)
			return usage_error("stat", "invalid PID '%s'", arg);
		return 0;
	case 'a':
		o->all_cpus = true;
		return 0;
	case 'o':
		if (!*arg)
			return usage_error("stat", "empty output file name");
		o->output = arg;
		return 0;
	case OPT_RESET:
		o->reset = true;
		return 0;
	case OPT_WIDE:
		o->wide = true;
		return 0;
	case OPT_CSV:
		o->csv = true;
		return 0;
	default:
		return usage_error("stat", "unknown option");
	}
}

/* 0, 1 after --help, or an exit code (negated). */
static int parse_stat_args(struct stat_opts *o, int argc, char **argv)
{
	o->duration_s = -1;
	optind = 1;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "+:ad:e:hI:o:p:", stat_opts, NULL)) != -1) {
		int r;
		if (opt == 'h') {
			fputs(stat_help, stdout);
			return 1;
		} else if (opt == '?') {
			r = optopt ? usage_error("stat", "unknown option '-%c'", optopt)
				   : usage_error("stat", "unknown option '%s'", argv[optind - 1]);
		} else if (opt == ':') {
			r = usage_error("stat", "option '%s' needs a value", argv[optind - 1]);
		} else {
			r = parse_stat_option(o, opt, optarg);
		}
		if (r)
			return -r;
	}
	if (optind < argc)
		o->argv = argv + optind;
	int targets = (o->pid > 0) + o->all_cpus + (o->argv != NULL);
	if (targets == 0)
		return -usage_error("stat", "nothing to count: give -p PID, -a, or -- COMMAND");
	if (o->pid > 0 && (o->all_cpus || o->argv))
		return -usage_error("stat", "-p counts one process: no -a and no COMMAND with it");
	if ((o->reset || o->wide) && !o->interval_ms)
		return -usage_error("stat", "--%s needs -I MS", o->reset ? "reset" : "wide");
	if (o->csv && o->interval_ms && !o->output)
		return -usage_error("stat", "--csv with -I needs -o FILE for the series (the total "
				    "then goes to the screen as CSV)");
	if (o->events.failed)
		return -error("out of memory");
	return 0;
}

/* ---- output --------------------------------------------------------------------------- */

static void add_event_name(struct strbuf *sb, const char *name) { csv_add_field(sb, name); }

static void series_header(struct stat_run *s)
{
	struct strbuf *sb = &s->series.pending;
	if (!s->o->wide) {
		sb_adds(sb, "timestamp,elapsed_s,event,value,enabled_ns,running_ns\n");
		return;
	}
	sb_adds(sb, "timestamp,elapsed_s");
	for (size_t i = 0; i < s->n; i++) {
		sb_addc(sb, ',');
		add_event_name(sb, pk_counters_info(s->c, i)->name);
	}
	sb_addc(sb, '\n');
}

static bool counted_since_last_row(const struct stat_run *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->cur[i].raw != s->prev[i].raw)
			return true;
	return false;
}

/* One interval's rows: running totals, or with --reset the change since the last row. */
static void series_rows(struct stat_run *s, uint64_t now)
{
	struct strbuf *sb = &s->series.pending;
	double ts = s->start_unix + (double)(now - s->start) / 1e9;
	double el = (double)(now - s->start) / 1e9;
	if (s->o->wide) {
		sb_add_fixed(sb, ts, 6);
		sb_addc(sb, ',');
		sb_add_fixed(sb, el, 6);
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct pk_counter_info *info = pk_counters_info(s->c, i);
		struct pk_count v = s->cur[i];
		if (s->o->reset) {
			v.raw -= s->prev[i].raw;
			v.enabled_ns -= s->prev[i].enabled_ns;
			v.running_ns -= s->prev[i].running_ns;
			v.value = v.running_ns == 0 ? 0
				  : v.running_ns >= v.enabled_ns
				  ? v.raw
				  : (uint64_t)((double)v.raw * (double)v.enabled_ns /
					       (double)v.running_ns);
		}
		bool have = info->status == 0;
		if (s->o->wide) {
			sb_addc(sb, ',');
			if (have)
				sb_add_u64(sb, v.value);
			continue;
		}
		sb_add_fixed(sb, ts, 6);
		sb_addc(sb, ',');
		sb_add_fixed(sb, el, 6);
		sb_addc(sb, ',');
		add_event_name(sb, info->name);
		sb_addc(sb, ',');
		if (have) {
			sb_add_u64(sb, v.value);
			sb_addc(sb, ',');
			sb_add_u64(sb, v.enabled_ns);
			sb_addc(sb, ',');
			sb_add_u64(sb, v.running_ns);
		} else {
			sb_adds(sb, ",,");
		}
		sb_addc(sb, '\n');
		s->series.rows++;
	}
	if (s->o->wide) {
		sb_addc(sb, '\n');
		s->series.rows++;
	}
	memcpy(s->prev, s->cur, s->n * sizeof(*s->cur));
	s->last_row = now;
}

static int take_row(struct stat_run *s, uint64_t now)
{
	int r = pk_counters_read(s->c, s->cur, s->n);
	if (r < 0) {
		s->error = error("%s", pk_ctx_errmsg(s->ctx));
		return r;
	}
	series_rows(s, now);
	r = out_file_flush(&s->series);
	if (r < 0) {
		s->error = error("cannot write %s: %s", s->o->output ? s->o->output : "the series",
				 strerror(-r));
		return r;
	}
	return 0;
}

/* A counter's pair for a derived ratio: the first counted event with that name. */
static int find_counted(struct stat_run *s, const char *event)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct pk_counter_info *info = pk_counters_info(s->c, i);
		if (info->status == 0 && s->cur[i].running_ns > 0 && !strcmp(info->event, event))
			return (int)i;
	}
	return -1;
}

static bool is_clock(const char *event)
{
	return !strcmp(event, "task-clock") || !strcmp(event, "cpu-clock");
}

/* The "# ..." column, perf-style: derived ratios when both events are there. */
static void derived(struct stat_run *s, size_t i, double elapsed_s, char *buf, size_t size)
{
	const struct pk_counter_info *info = pk_counters_info(s->c, i);
	double v = (double)s->cur[i].value;
	const char *ev = info->event;
	buf[0] = '\0';
	int k;
	if (is_clock(ev)) {
		if (elapsed_s > 0)
			snprintf(buf, size, "%8.3f CPUs utilized", v / 1e9 / elapsed_s);
		return;
	}
	static const struct {
		const char *num, *den, *what;
	} pct[] = {
		{ "branch-misses", "branch-instructions", "of all branches" },
		{ "cache-misses", "cache-references", "of all cache refs" },
		{ "stalled-cycles-frontend", "cpu-cycles", "frontend cycles idle" },
		{ "stalled-cycles-backend", "cpu-cycles", "backend cycles idle" },
	};
	for (size_t p = 0; p < ARRAY_SIZE(pct); p++)
		if (!strcmp(ev, pct[p].num) && (k = find_counted(s, pct[p].den)) >= 0 &&
		    s->cur[k].value) {
			snprintf(buf, size, "%7.2f%% %s", 100.0 * v / (double)s->cur[k].value,
				 pct[p].what);
			return;
		}
	if (!strcmp(ev, "instructions") && (k = find_counted(s, "cpu-cycles")) >= 0 &&
	    s->cur[k].value) {
		snprintf(buf, size, "%8.2f insn per cycle", v / (double)s->cur[k].value);
		return;
	}
	/* Cache events: X-load-misses against X-loads, and so on. */
	const char *m = strstr(ev, "-misses");
	if (info->kind == PK_EVENT_CACHE && m && !m[7]) {
		char den[96];
		const char *dash = m;
		while (dash > ev && dash[-1] != '-')
			dash--;
		const char *op = dash; /* "load", "store", "prefetch" */
		size_t oplen = (size_t)(m - op);
		snprintf(den, sizeof(den), "%.*s%.*s%s", (int)(op - ev), ev, (int)oplen, op,
			 oplen == 8 ? "es" : "s");
		if ((k = find_counted(s, den)) >= 0 && s->cur[k].value) {
			snprintf(buf, size, "%7.2f%% of all %.*s %.*ss", 100.0 * v /
				 (double)s->cur[k].value, (int)(op - ev - 1), ev, (int)oplen, op);
			return;
		}
	}
	int clk = find_counted(s, "task-clock");
	if (clk < 0)
		clk = find_counted(s, "cpu-clock");
	if (clk >= 0 && s->cur[clk].value) {
		double secs = (double)s->cur[clk].value / 1e9;
		if (!strcmp(ev, "cpu-cycles")) {
			snprintf(buf, size, "%8.3f GHz", v / secs / 1e9);
			return;
		}
		double rate = v / secs;
		const char *unit = "/sec";
		if (rate >= 1e9)
			rate /= 1e9, unit = "G/sec";
		else if (rate >= 1e6)
			rate /= 1e6, unit = "M/sec";
		else if (rate >= 1e3)
			rate /= 1e3, unit = "K/sec";
		snprintf(buf, size, "%8.3f %s", rate, unit);
	}
}

static void table_csv(struct stat_run *s, struct strbuf *sb)
{
	sb_adds(sb, "event,value,unit,enabled_ns,running_ns,percent_running,status\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct pk_counter_info *info = pk_counters_info(s->c, i);
		const struct pk_count *v = &s->cur[i];
		add_event_name(sb, info->name);
		sb_addc(sb, ',');
		bool counted = info->status == 0 && (v->running_ns > 0 || v->enabled_ns == 0);
		if (counted) {
			if (info->unit[0] && info->scale != 1.0)
				sb_add_fixed(sb, (double)v->value * info->scale, 6);
			else
				sb_add_u64(sb, v->value);
		}
		sb_addc(sb, ',');
		csv_add_field(sb, info->unit);
		sb_addc(sb, ',');
		if (info->status == 0) {
			sb_add_u64(sb, v->enabled_ns);
			sb_addc(sb, ',');
			sb_add_u64(sb, v->running_ns);
			sb_addc(sb, ',');
			if (v->enabled_ns)
				sb_add_fixed(sb, 100.0 * (double)v->running_ns / (double)v->enabled_ns, 2);
		} else {
			sb_adds(sb, ",,");
		}
		sb_addc(sb, ',');
		sb_adds(sb, info->status == 0 ? (counted ? "counted" : "not counted")
			    : info->status == -PK_E_NOT_SUPPORTED ? "not supported" : "failed");
		sb_addc(sb, '\n');
	}
}

static void table_text(struct stat_run *s, struct strbuf *sb, double elapsed_s)
{
	const struct stat_opts *o = s->o;
	if (o->argv) {
		sb_adds(sb, "\n Performance counter stats for '");
		for (char **a = o->argv; *a; a++)
			sb_addf(sb, "%s%s", a == o->argv ? "" : " ", *a);
		sb_adds(sb, "':\n\n");
	} else if (o->pid) {
		sb_addf(sb, "\n Performance counter stats for process %d:\n\n", (int)o->pid);
	} else {
		sb_adds(sb, "\n Performance counter stats for all CPUs:\n\n");
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct pk_counter_info *info = pk_counters_info(s->c, i);
		const struct pk_count *v = &s->cur[i];
		char val[48], ratio[96] = "";
		if (info->status == -PK_E_NOT_SUPPORTED)
			snprintf(val, sizeof(val), "%s", "<not supported>");
		else if (info->status != 0 || (v->running_ns == 0 && v->enabled_ns > 0))
			snprintf(val, sizeof(val), "%s", "<not counted>");
		else if (info->unit[0] && info->scale != 1.0)
			snprintf(val, sizeof(val), "%.2f", (double)v->value * info->scale);
		else
			snprintf(val, sizeof(val), "%llu", (unsigned long long)v->value);
		if (info->status == 0 && v->running_ns > 0)
			derived(s, i, elapsed_s, ratio, sizeof(ratio));
		else if (info->status == 0 && v->enabled_ns == 0) /* the task never ran */
			snprintf(val, sizeof(val), "%s", info->unit[0] && info->scale != 1.0 ? "0.00"
										    : "0");
		sb_addf(sb, "%18s %-5s %-32s", val, info->status == 0 ? info->unit : "",
			info->name);
		if (ratio[0])
			sb_addf(sb, " # %s", ratio);
		if (info->status == 0 && v->running_ns > 0 && v->running_ns < v->enabled_ns)
			sb_addf(sb, "  (%.2f%%)", 100.0 * (double)v->running_ns / (double)v->enabled_ns);
		/* trailing blanks of the padding are dropped */
		while (sb->len && sb->buf[sb->len - 1] == ' ')
			sb->len--;
		sb_addc(sb, '\n');
	}
	sb_addf(sb, "\n%17.9f seconds time elapsed\n", elapsed_s);
	if (s->child && s->child_reaped) {
		double u = (double)s->ru.ru_utime.tv_sec + (double)s->ru.ru_utime.tv_usec / 1e6;
		double k = (double)s->ru.ru_stime.tv_sec + (double)s->ru.ru_stime.tv_usec / 1e6;
		sb_addf(sb, "\n%17.9f seconds user\n%17.9f seconds sys\n", u, k);
	}
	sb_addc(sb, '\n');
}

static int print_table(struct stat_run *s, double elapsed_s, bool to_file)
{
	struct strbuf sb = STRBUF_INIT;
	if (s->o->csv)
		table_csv(s, &sb);
	else
		table_text(s, &sb, elapsed_s);
	if (sb.failed) {
		sb_free(&sb);
		return error("out of memory");
	}
	int r = 0;
	if (to_file) {
		r = write_all(s->out_fd, sb.buf, sb.len);
		if (r < 0)
			r = error("cannot write %s: %s", s->o->output, strerror(-r));
	} else {
		fputs(sb_str(&sb), s->results);
		if (fflush(s->results) != 0)
			r = error("cannot write the results: %s", strerror(errno));
	}
	sb_free(&sb);
	return r;
}

/* ---- the loop ------------------------------------------------------------------------ */

static void finish(struct stat_run *s)
{
	s->done = true;
	loop_quit(s->loop);
}

static void on_timer(struct loop *loop, uint64_t now, void *data);

static void schedule_next(struct stat_run *s, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	if (s->interval_ns) {
		uint64_t k = s->tick + 1;
		next = s->start + k * s->interval_ns;
		if (next <= now) { /* late: the next slot ahead, never a burst */
			k = (now - s->start) / s->interval_ns + 1;
			next = s->start + k * s->interval_ns;
		}
		s->tick = k;
	}
	if (s->end_ns && next > s->end_ns)
		next = s->end_ns;
	if (next == UINT64_MAX)
		return;
	s->deadline = next;
	loop_set_timer(s->loop, next, on_timer, s);
}

/* The duration is over: a command gets SIGTERM, then SIGKILL 2 s later; else done. */
static void end_duration(struct stat_run *s)
{
	s->end_by_duration = true;
	if (!s->child || s->child_reaped) {
		finish(s);
		return;
	}
	kill(s->child, SIGTERM);
	s->kill_pending = true;
	loop_set_timer(s->loop, clock_mono_ns() + 2 * NSEC_PER_SEC, on_timer, s);
}

static void on_timer(struct loop *loop, uint64_t now, void *data)
{
	(void)loop;
	struct stat_run *s = data;
	if (s->kill_pending) {
		if (s->child && !s->child_reaped)
			kill(s->child, SIGKILL);
		s->kill_pending = false;
		return;
	}
	if (s->end_by_duration)
		return;
	bool last = s->end_ns && s->deadline >= s->end_ns;
	if (s->interval_ns && take_row(s, now) < 0) {
		finish(s);
		return;
	}
	if (last) {
		s->end_row_taken = s->interval_ns != 0;
		end_duration(s);
	} else {
		schedule_next(s, now);
	}
}

static void reap_child(struct stat_run *s)
{
	if (!s->child || s->child_reaped)
		return;
	int st;
	pid_t r = wait4(s->child, &st, WNOHANG, &s->ru);
	if (r != s->child)
		return;
	s->child_reaped = true;
	s->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	finish(s);
}

static int on_signal(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)loop, (void)events;
	struct stat_run *s = data;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap_child(s);
			continue;
		}
		/* Ctrl-C: the terminal sent it to the command too; one sent to profkit alone is
		 * passed on. A second one kills the command, a third stops waiting. */
		s->signals++;
		if (!s->child || s->child_reaped) {
			finish(s);
		} else if (s->signals == 1 && si.ssi_code != SI_KERNEL) {
			kill(s->child, (int)si.ssi_signo);
		} else if (s->signals == 2) {
			kill(s->child, SIGKILL);
		} else if (s->signals >= 3) {
			finish(s);
		}
	}
	return 0;
}

static int on_pidfd(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)loop, (void)fd, (void)events;
	finish(data);
	return 0;
}

static int setup_signals(struct stat_run *s)
{
	sigset_t mask;
	sigemptyset(&mask);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&mask, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &mask, &s->old_mask) < 0)
		return neg_errno();
	signal(SIGPIPE, SIG_IGN);
	s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0)
		return neg_errno();
	return loop_add(s->loop, s->sigfd, EPOLLIN, on_signal, s);
}

/* -a with a command: the command runs uncounted (the CPUs are counted) until it exits. */
static int spawn_plain(struct stat_run *s)
{
	struct spawned sp;
	int r = spawn_command(s->o->argv, false, NULL, NULL, &sp);
	if (r == 0)
		s->child = sp.pid;
	return r;
}

static void report_counters(struct stat_run *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct pk_counter_info *info = pk_counters_info(s->c, i);
		if (info->status < 0)
			warning("'%s' is not counted: %s", info->name, info->reason);
		else if (info->note[0])
			warning("'%s': %s", info->name, info->note);
	}
}

static int open_target(struct stat_run *s)
{
	const struct stat_opts *o = s->o;
	int r;
	/* The clock starts before the command is let go, as perf stat's does: its exec is
	 * part of its time. */
	s->start = clock_mono_ns();
	s->start_unix = clock_unix_s();
	if (o->pid > 0) {
		r = pk_counters_open_pid(s->c, o->pid, PK_OPEN_ENABLE);
		if (r >= 0) {
			s->pidfd = (int)syscall(SYS_pidfd_open, o->pid, 0);
			if (s->pidfd >= 0)
				loop_add(s->loop, s->pidfd, EPOLLIN, on_pidfd, s);
			else if (errno == ESRCH)
				s->done = true; /* it exited already: the counts so far stand */
		}
	} else if (o->all_cpus) {
		r = pk_counters_open_cpu(s->c, -1, PK_OPEN_ENABLE);
		if (r >= 0 && o->argv) {
			int e = spawn_plain(s);
			if (e < 0)
				return error("cannot execute '%s': %s", o->argv[0],
					     e == -ENOENT ? "command not found" : strerror(-e));
		}
	} else {
		r = pk_counters_launch(s->c, o->argv, 0, &s->child);
		if (r >= 0) {
			uint64_t go = pk_counters_launch_time(s->c);
			s->start_unix += (double)(go - s->start) / 1e9;
			s->start = go;
		}
	}
	if (r < 0)
		return error("%s", pk_ctx_errmsg(s->ctx));
	report_counters(s);
	return 0;
}

static int open_output(struct stat_run *s)
{
	s->out_fd = -1;
	s->results = s->o->argv ? stderr : stdout;
	int fd = s->o->argv ? STDERR_FILENO : STDOUT_FILENO;
	if (s->o->output) {
		fd = open(s->o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return error("cannot create %s: %s", s->o->output,
				     errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		s->out_fd = fd;
	}
	out_file_init(&s->series, fd);
	if (s->o->interval_ms) {
		fflush(s->results);
		series_header(s);
		int r = out_file_flush(&s->series);
		if (r < 0)
			return error("cannot write %s: %s", s->o->output ? s->o->output : "the series",
				     strerror(-r));
	}
	return 0;
}

static int stat_session(struct stat_run *s)
{
	const struct stat_opts *o = s->o;
	int r = pk_ctx_new(&s->ctx);
	if (r < 0)
		return error("out of memory");
	const char *spec = o->events.len ? sb_str((struct strbuf *)&o->events) : DEFAULT_EVENTS;
	r = pk_counters_new(s->ctx, spec, &s->c);
	if (r == -PK_E_SYNTAX || r == -PK_E_UNKNOWN_EVENT) {
		/* bad input, with its own hint: no pointer to --help */
		fflush(stdout);
		fprintf(stderr, "profkit stat: %s\n", pk_ctx_errmsg(s->ctx));
		return EXIT_USAGE;
	}
	if (r < 0)
		return error("%s", pk_ctx_errmsg(s->ctx));
	s->n = pk_counters_count(s->c);
	s->cur = calloc(s->n, sizeof(*s->cur));
	s->prev = calloc(s->n, sizeof(*s->prev));
	if (!s->cur || !s->prev)
		return error("out of memory");
	if ((r = loop_new(&s->loop)) < 0)
		return error("cannot create the event loop: %s", strerror(-r));
	if ((r = setup_signals(s)) < 0)
		return error("cannot set up signals: %s", strerror(-r));
	if ((r = open_output(s)))
		return r;
	if ((r = open_target(s)))
		return r;
	s->interval_ns = (uint64_t)o->interval_ms * NSEC_PER_MSEC;
	if (o->duration_s > 0)
		s->end_ns = s->start + (uint64_t)llround(o->duration_s * 1e9);
	schedule_next(s, s->start);
	reap_child(s); /* it may be gone already */
	if (!s->done && (r = loop_run(s->loop)) < 0)
		return error("event loop: %s", strerror(-r));
	if (s->error)
		return s->error;

	uint64_t now = clock_mono_ns();
	if (o->interval_ms && s->end_row_taken) {
		/* The duration's last row is the total: what is counted after the end (the
		 * machine, or a command being stopped) is not part of the recording. */
		memcpy(s->cur, s->prev, s->n * sizeof(*s->cur));
		now = s->last_row;
	} else if ((r = pk_counters_read(s->c, s->cur, s->n)) < 0) {
		return error("%s", pk_ctx_errmsg(s->ctx));
	}
	double elapsed = (double)(now - s->start) / 1e9;
	if (o->interval_ms) {
		/* A last, shorter interval, unless the last row was just taken and nothing was
		 * counted since (an exiting process still faults): the rows add up to the
		 * total. */
		if (!s->end_row_taken &&
		    (!s->last_row || counted_since_last_row(s) || now - s->last_row > 200000)) {
			series_rows(s, now);
			if ((r = out_file_flush(&s->series)) < 0)
				return error("cannot write %s: %s", o->output ? o->output : "the series",
					     strerror(-r));
		}
		if (o->output)
			r = print_table(s, elapsed, false);
	} else {
		r = print_table(s, elapsed, o->output != NULL);
	}
	if (r)
		return r;
	return s->child ? s->exit_status : 0;
}

int cmd_stat(int argc, char **argv)
{
	struct stat_opts o = { .events = STRBUF_INIT };
	int r = parse_stat_args(&o, argc, argv);
	if (r != 0) {
		sb_free(&o.events);
		return r > 0 ? 0 : -r;
	}
	struct stat_run s = { .o = &o, .sigfd = -1, .pidfd = -1, .out_fd = -1 };
	r = stat_session(&s);
	if (s.child && !s.child_reaped) { /* an error left it running */
		kill(s.child, SIGKILL);
		waitpid(s.child, NULL, 0);
	}
	if (s.out_fd >= 0 && close(s.out_fd) < 0 && r == 0)
		r = error("cannot write %s: %s", o.output, strerror(errno));
	s.series.pending.len = 0;
	sb_free(&s.series.pending);
	pk_counters_free(s.c);
	pk_ctx_free(s.ctx);
	loop_free(s.loop);
	if (s.sigfd >= 0) {
		close(s.sigfd);
		sigprocmask(SIG_SETMASK, &s.old_mask, NULL);
	}
	if (s.pidfd >= 0)
		close(s.pidfd);
	free(s.cur);
	free(s.prev);
	sb_free(&o.events);
	return r;
}
