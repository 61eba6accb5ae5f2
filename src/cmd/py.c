/* profkit py: which Python functions take the time, read from outside a running CPython. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "analysis/pyprof.h"
#include "cmd/cmd.h"
#include "cmd/py_prompt.h"
#include "cmd/py_session.h"
#include "util/parse.h"

static const char py_help[] =
	"usage: profkit py [-p PID] [-f FUNC...] [-c FILE] [-i SECONDS] [-d SECONDS] [--batch]\n"
	"                  [-o PREFIX] [--sort time] [--subprocesses] [-- COMMAND [ARGS...]]\n"
	"\n"
	"Sample the Python stacks of a running CPython (3.8 to 3.13) from outside, and measure\n"
	"the wall time and on-CPU time of the requested functions (inclusive of what they call).\n"
	"With a terminal and without --batch, a prompt lets you start, stop, add and remove\n"
	"functions and see results at any time ('help' lists the commands).\n"
	"\n"
	"  -p, --pid PID           the Python process to sample\n"
	"  -f, --function FUNC...  functions to measure: NAME, Class.method, module:NAME,\n"
	"                          path/file.py:NAME; globs allowed (*_io)\n"
	"  -c, --config FILE       more functions, one per line (# comments)\n"
	"  -i, --interval, --pace SECONDS  time between samples (default 0.001; min 0.00005)\n"
	"  -d, --duration SECONDS  sample this long, then print the table (default: until the\n"
	"                          target exits or Ctrl-C)\n"
	"      --batch             no prompt: sample, then print the table and write the files\n"
	"  -o, --output PREFIX     write PREFIX.json, .csv, .folded and .svg at the end\n"
	"      --sort time         order the table by wall time (default: as requested)\n"
	"      --subprocesses      also sample the target's child Python processes\n"
	"                          (multiprocessing, subprocess), as they come and go\n"
	"  -q, --quiet             no status line\n"
	"  -h, --help              this help\n"
	"\n"
	"  profkit py -- COMMAND [ARGS...]   launch COMMAND (directly, no shell) and sample it\n"
	"\n"
	"Reading another process's memory needs CAP_SYS_PTRACE (or root). See docs/py.md.\n";

enum { OPT_BATCH = 0x100, OPT_SORT, OPT_SUBPROCESSES };

/* Sorted by long name. */
static const struct option py_opts[] = {
	{ "batch", no_argument, NULL, OPT_BATCH },
	{ "config", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "function", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "interval", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "pace", required_argument, NULL, 'i' },
	{ "pid", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "subprocesses", no_argument, NULL, OPT_SUBPROCESSES },
	{ 0 },
};

struct py_cmd {
	pid_t pid;
	char **funcs;
	size_t nfuncs;
	char *file_funcs; /* the -c file's contents, which funcs point into */
	struct py_session_opts so;
	bool batch, quiet;
	char **command;
};

static int add_func(struct py_cmd *c, char *f)
{
	if (!pyprof_pattern_valid(f))
		return usage_error("py", "invalid function '%s': expected NAME, Class.method, "
				   "module:NAME or path/file.py:NAME (globs allowed)", f);
	char **n = realloc(c->funcs, (c->nfuncs + 1) * sizeof(*n));
	if (!n)
		return error("out of memory");
	c->funcs = n;
	c->funcs[c->nfuncs++] = f;
	return 0;
}

/* One function per line; '#' starts a comment; blank lines are skipped. */
static int read_func_file(struct py_cmd *c, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return usage_error("py", "cannot read function file %s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t cap = 0, len = 0;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *b = realloc(buf, cap);
			if (!b) {
				free(buf);
				fclose(f);
				return error("out of memory");
			}
			buf = b;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return usage_error("py", "cannot read function file %s", path);
	}
	if (!buf)
		return 0;
	buf[len] = '\0';
	free(c->file_funcs);
	c->file_funcs = buf;
	int lineno = 0;
	for (char *line = buf, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		line += strspn(line, " \t\r");
		size_t l = strlen(line);
		while (l && strchr(" \t\r", line[l - 1]))
			line[--l] = '\0';
		if (!*line)
			continue;
		if (!pyprof_pattern_valid(line))
			return usage_error("py", "%s:%d: invalid function '%s'", path, lineno, line);
		int r = add_func(c, line);
		if (r)
			return r;
	}
	return 0;
}

static int parse(struct py_cmd *c, int argc, char **argv, int *ret_exit)
{
	bool in_funcs = false;
	int opt, r;
	double v;
	optind = 1;
	opterr = 0;
	/* '-' first: arguments that are not options come back in order as 1, so that
	 * "-f a b c" can take several functions. */
	while ((opt = getopt_long(argc, argv, "-:p:f:c:i:d:o:qh", py_opts, NULL)) != -1) {
		if (opt != 1)
			in_funcs = opt == 'f';
		switch (opt) {
		case 1:
			if (!in_funcs)
				return usage_error("py", "unexpected argument '%s'", optarg);
			if ((r = add_func(c, optarg)))
				return r;
			break;
		case 'p':
			if (parse_pid(optarg, &c->pid) < 0)
				return usage_error("py", "invalid PID '%s'", optarg);
			break;
		case 'f':
			if ((r = add_func(c, optarg)))
				return r;
			break;
		case 'c':
			if ((r = read_func_file(c, optarg)))
				return r;
			break;
		case 'i':
			if (parse_seconds(optarg, &v) < 0 || v < PY_MIN_INTERVAL_S)
				return usage_error("py", "invalid interval '%s': expected seconds, at least %g",
						   optarg, PY_MIN_INTERVAL_S);
			c->so.interval_s = v;
			break;
		case 'd':
			if (parse_seconds(optarg, &v) < 0)
				return usage_error("py", "invalid duration '%s': expected seconds, e.g. 10", optarg);
			c->so.duration_s = v;
			break;
		case 'o':
			if (!*optarg)
				return usage_error("py", "empty output prefix");
			c->so.output = optarg;
			break;
		case OPT_BATCH:
			c->batch = true;
			break;
		case OPT_SORT:
			if (!strcmp(optarg, "time"))
				c->so.by_time = true;
			else if (!strcmp(optarg, "request"))
				c->so.by_time = false;
			else
				return usage_error("py", "invalid --sort '%s': expected time or request", optarg);
			break;
		case OPT_SUBPROCESSES:
			c->so.subprocesses = true;
			break;
		case 'q':
			c->quiet = true;
			break;
		case 'h':
			fputs(py_help, stdout);
			*ret_exit = 0;
			return -1;
		case ':':
			return usage_error("py", "option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("py", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		c->command = argv + optind;
	if (c->command && c->pid)
		return usage_error("py", "give either -p PID or a command after --, not both");
	return 0;
}

static int on_signal(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)events;
	struct py_session *s = data;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (py_session_state(s) == PY_SAMPLING)
			py_session_stop(s);
		else
			loop_quit(loop);
	}
	return 0;
}

int cmd_py(int argc, char **argv)
{
	struct py_cmd c = { .so = { .interval_s = PY_DEFAULT_INTERVAL_S, .duration_s = -1 } };
	int code = 0;
	struct loop *loop = NULL;
	struct py_session *s = NULL;
	int sigfd = -1;
	sigset_t mask, old;
	int pr = parse(&c, argc, argv, &code);
	if (pr != 0) {
		if (pr > 0)
			code = pr;
		goto out_noloop;
	}
	bool prompt = !c.batch && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (!prompt && !c.pid && !c.command) {
		code = usage_error("py", "give -p PID or a command after -- (or use the prompt on a terminal)");
		goto out_noloop;
	}
	c.so.status_line = !c.quiet && !prompt && isatty(STDERR_FILENO) && !getenv("PROFKIT_NO_STATUS");

	sigemptyset(&mask);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGPIPE, SIG_IGN);
	int r = loop_new(&loop);
	if (r == 0)
		r = py_session_new(loop, &c.so, &s);
	if (r < 0) {
		code = error("cannot set up the session: %s", strerror(-r));
		goto out;
	}
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0 || loop_add(loop, sigfd, EPOLLIN, on_signal, s) < 0) {
		code = error("cannot set up signal handling: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < c.nfuncs; i++)
		if ((code = py_session_add(s, c.funcs[i])))
			goto out;
	if (prompt) {
		code = py_prompt_run(loop, s, c.pid, c.command);
		if (c.command)
			py_session_end_child(s);
		goto out;
	}
	if (c.command)
		code = py_session_launch(s, c.command);
	else if (c.pid)
		code = py_session_start(s, c.pid, 0);
	if (code)
		goto out;
	r = loop_run(loop);
	if (r < 0)
		code = error("%s", strerror(-r));
	if (py_session_state(s) == PY_SAMPLING)
		py_session_stop(s);
	int fin = py_session_finish(s);
	if (!code)
		code = fin;
	if (c.command) {
		/* Like run: the command's own exit status, once profkit's work is done. */
		int st = py_session_end_child(s);
		if (!code && st > 0)
			code = st;
	}
out:
	py_session_free(s);
	if (sigfd >= 0)
		close(sigfd);
	loop_free(loop);
	sigprocmask(SIG_SETMASK, &old, NULL);
out_noloop:
	free(c.funcs);
	free(c.file_funcs);
	return code;
}
