/* Option parsing, the status line and the summary shared by `run` and `watch`. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "output/summary.h"
#include "profkit/counters.h"
#include "util/parse.h"

#define MIN_INTERVAL_S 0.001

enum {
	OPT_FORCE = 0x100,
	OPT_PSS,
	OPT_NO_CHILDREN,
	OPT_CHILDREN,
	OPT_MATCH,
	OPT_WAIT,
};

/* Sorted by long name. */
static const struct option run_opts[] = {
	{ "duration", required_argument, NULL, 'd' },
	{ "events", required_argument, NULL, 'e' },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ "interval", required_argument, NULL, 'i' },
	{ "no-children", no_argument, NULL, OPT_NO_CHILDREN },
	{ "output", required_argument, NULL, 'o' },
	{ "pace", required_argument, NULL, 'i' },
	{ "pss", no_argument, NULL, OPT_PSS },
	{ "quiet", no_argument, NULL, 'q' },
	{ 0 },
};

static const struct option watch_opts[] = {
	{ "children", no_argument, NULL, OPT_CHILDREN },
	{ "duration", required_argument, NULL, 'd' },
	{ "events", required_argument, NULL, 'e' },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ "interval", required_argument, NULL, 'i' },
	{ "match", required_argument, NULL, OPT_MATCH },
	{ "output", required_argument, NULL, 'o' },
	{ "pace", required_argument, NULL, 'i' },
	{ "pss", no_argument, NULL, OPT_PSS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ 0 },
};

static void log_to_stderr(void *userdata, enum pk_log_level level, const char *msg)
{
	struct monitor_opts *o = userdata;
	if (level == PK_LOG_DEBUG)
		return;
	if (o->status_shown) {
		fputs("\r\033[K", stderr);
		o->status_shown = false;
	}
	if (level >= PK_LOG_ERROR)
		error("%s", msg);
	else if (level == PK_LOG_WARN)
		warning("%s", msg);
	else if (!o->quiet)
		fprintf(stderr, "profkit: %s\n", msg);
}

/* The one-line status on a terminal, redrawn at most 5 times a second. */
static void show_progress(void *userdata, const struct monitor_progress *p)
{
	struct monitor_opts *o = userdata;
	if (!o->status_line)
		return;
	if (!p) {
		if (o->status_shown)
			fputs("\r\033[K", stderr);
		o->status_shown = false;
		return;
	}
	if (o->status_shown && p->elapsed_s - o->last_status < 0.2)
		return;
	o->last_status = p->elapsed_s;
	fprintf(stderr, "\r\033[Kprofkit: %.1f s, %llu samples, %zu of %zu process%s alive",
		p->elapsed_s, (unsigned long long)p->rows, p->alive, p->seen,
		p->seen == 1 ? "" : "es");
	o->status_shown = true;
}

static int parse_interval(const char *cmd, const char *arg, double *ret)
{
	int r = parse_seconds(arg, ret);
	if (r == -EINVAL)
		return usage_error(cmd, "invalid interval '%s': expected seconds, e.g. 0.05", arg);
	if (r < 0 || *ret < MIN_INTERVAL_S)
		return usage_error(cmd, "invalid interval '%s': must be at least %g s", arg,
				   MIN_INTERVAL_S);
	return 0;
}

static int parse_duration(const char *cmd, const char *arg, double *ret)
{
	int r = parse_seconds(arg, ret);
	if (r == -EINVAL)
		return usage_error(cmd, "invalid duration '%s': expected seconds, e.g. 10", arg);
	if (r < 0)
		return usage_error(cmd, "invalid duration '%s': must not be negative", arg);
	return 0;
}

/* An event list that does not parse or names an unknown event is bad usage, found before
 * anything starts; an event this machine cannot count is only a warning later. */
static int check_events(const char *cmd, const char *spec, const char **ret)
{
	struct pk_ctx *ctx;
	struct pk_counters *set = NULL;
	if (pk_ctx_new(&ctx) < 0)
		return error("out of memory");
	int r = pk_counters_new(ctx, spec, &set);
	if (r < 0)
		r = usage_error(cmd, "invalid -e '%s': %s", spec, pk_ctx_errmsg(ctx));
	pk_counters_free(set);
	pk_ctx_free(ctx);
	*ret = spec;
	return r;
}

static int add_watch_target(struct monitor_opts *o, char *arg)
{
	struct monitor_config *c = &o->cfg;
	pid_t pid;
	if (!*arg)
		return usage_error("watch", "empty process name");
	if (arg[strspn(arg, "0123456789")] == '\0') {
		if (parse_pid(arg, &pid) < 0)
			return usage_error("watch", "invalid PID '%s'", arg);
		pid_t *p = realloc(c->pids, (c->npids + 1) * sizeof(*p));
		if (!p)
			return error("out of memory");
		c->pids = p;
		c->pids[c->npids++] = pid;
		return 0;
	}
	char **n = realloc(c->names, (c->nnames + 1) * sizeof(*n));
	if (!n)
		return error("out of memory");
	c->names = n;
	c->names[c->nnames++] = arg;
	return 0;
}

static int parse_option(struct monitor_opts *o, const char *cmd, int opt, char *arg)
{
	struct monitor_config *c = &o->cfg;
	switch (opt) {
	case 'i':
		return parse_interval(cmd, arg, &c->interval_s);
	case 'd':
		return parse_duration(cmd, arg, &c->duration_s);
	case 'o':
		if (!*arg)
			return usage_error(cmd, "empty output directory");
		c->outdir = arg;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case 'e':
		return check_events(cmd, arg, &c->events);
	case OPT_FORCE:
		c->force = true;
		return 0;
	case OPT_PSS:
		c->pss = true;
		return 0;
	case OPT_NO_CHILDREN:
		c->follow_children = false;
		return 0;
	case OPT_CHILDREN:
		c->follow_children = true;
		return 0;
	case OPT_WAIT:
		c->wait = true;
		return 0;
	case OPT_MATCH: {
		if (c->match)
			regfree(c->match);
		int r = regcomp(&o->match_re, arg, REG_EXTENDED | REG_NOSUB);
		if (r) {
			char msg[128];
			regerror(r, &o->match_re, msg, sizeof(msg));
			c->match = NULL;
			return usage_error(cmd, "invalid --match regular expression '%s': %s", arg, msg);
		}
		c->match = &o->match_re;
		return 0;
	}
	default:
		return usage_error(cmd, "unknown option");
	}
}

int monitor_opts_parse(struct monitor_opts *o, bool is_run, const char *help, int argc,
		       char **argv, int *ret_exit)
{
	const char *cmd = is_run ? "run" : "watch";
	memset(o, 0, sizeof(*o));
	struct monitor_config *c = &o->cfg;
	c->interval_s = 0.05;
	c->duration_s = -1;
	c->follow_children = is_run;
	c->tee_stdout = STDOUT_FILENO;
	c->tee_stderr = STDERR_FILENO;
	c->log = (struct pk_log){ log_to_stderr, o };
	c->progress = show_progress;
	c->userdata = o;
	c->powercap_root = getenv("PROFKIT_POWERCAP_ROOT");
	c->power_pmu_root = getenv("PROFKIT_POWER_PMU_ROOT");
	*ret_exit = 0;

	optind = 1;
	opterr = 0;
	const char *shortopts = is_run ? "+:d:e:hi:o:q" : ":d:e:hi:o:q";
	int opt;
	while ((opt = getopt_long(argc, argv, shortopts, is_run ? run_opts : watch_opts,
				  NULL)) != -1) {
		int r;
		if (opt == 'h') {
			fputs(help, stdout);
			return 1;
		} else if (opt == '?') {
			r = optopt ? usage_error(cmd, "unknown option '-%c'", optopt)
				   : usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		} else if (opt == ':') {
			r = usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		} else {
			r = parse_option(o, cmd, opt, optarg);
		}
		if (r) {
			*ret_exit = r;
			return -1;
		}
	}
	if (is_run) {
		if (optind >= argc) {
			*ret_exit = usage_error(cmd, "no command given: profkit run [OPTIONS] -- "
						"COMMAND [ARGS...]");
			return -1;
		}
		c->argv = argv + optind;
		const char *slash = strrchr(c->argv[0], '/');
		c->label = slash ? slash + 1 : c->argv[0];
	} else {
		for (int i = optind; i < argc; i++)
			if ((*ret_exit = add_watch_target(o, argv[i])))
				return -1;
		if (!c->npids && !c->nnames && !c->match) {
			*ret_exit = usage_error(cmd, "no target given: a PID, a process name, or "
						"--match REGEX");
			return -1;
		}
		c->label = c->nnames ? c->names[0] : c->match ? "match" : "pid";
		if (!c->nnames && !c->match && c->npids) {
			static char label[24];
			snprintf(label, sizeof(label), "pid%d", (int)c->pids[0]);
			c->label = label;
		}
		c->tee_stdout = c->tee_stderr = -1;
		if (c->wait && c->duration_s < 0)
			warning("--wait without --duration records until Ctrl-C");
	}
	o->status_line = !o->quiet && isatty(STDERR_FILENO);
	return 0;
}

int monitor_opts_record(struct monitor_opts *o)
{
	struct monitor_result res;
	char err[512];
	int r = monitor_record(&o->cfg, &res, err, sizeof(err));
	show_progress(o, NULL);
	if (r < 0 && !res.ticks) {
		monitor_result_free(&res);
		return error("%s", err[0] ? err : strerror(-r));
	}
	if (!o->quiet) {
		struct strbuf sb = STRBUF_INIT;
		summary_text(&sb, &o->cfg, &res, 10);
		fputs(sb_str(&sb), stderr);
		sb_free(&sb);
	}
	int code;
	const char *also = res.incomplete_files[0] ? "; not complete either: " : "";
	if (r < 0)
		code = error("%s", err);
	else if (res.end == END_WRITE_ERROR)
		code = error("recording stopped: cannot write %s/%s: %s; the %llu row%s written "
			     "before %s kept%s%s", res.outdir, res.write_error_file,
			     strerror(-res.write_error), (unsigned long long)res.rows,
			     res.rows == 1 ? "" : "s", res.rows == 1 ? "is" : "are", also,
			     res.incomplete_files);
	else if (res.write_error) /* after the recording: its output, or summary.json */
		code = error("cannot write %s/%s: %s%s%s; samples.csv and system.csv are complete",
			     res.outdir, res.write_error_file, strerror(-res.write_error),
			     res.incomplete_files[0] ? "; nor " : "", res.incomplete_files);
	else if (o->cfg.argv)
		code = res.exit_status >= 0 ? res.exit_status : EXIT_RUNTIME;
	else
		code = 0;
	monitor_result_free(&res);
	return code;
}

void monitor_opts_free(struct monitor_opts *o)
{
	if (o->cfg.match)
		regfree(o->cfg.match);
	free(o->cfg.pids);
	free(o->cfg.names);
}
