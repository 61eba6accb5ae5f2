/* The prompt of profkit py. Each line is one command; a malformed one gets a one-line
 * error and the prompt stays. Sampling goes on while the prompt waits: both are
 * descriptors in the same event loop. */
#include "cmd/py_prompt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include "cmd/cmd.h"
#include "analysis/pyprof.h"
#include "cmd/lineread.h"
#include "util/parse.h"

#define MAX_WORDS 512

struct prompt {
	struct loop *loop;
	struct py_session *s;
	struct lineread *lr;
	int code;
};

static const char prompt_help[] =
	"commands:\n"
	"  start -p PID [-f FUNC...] [-t SECONDS]  attach to PID and start sampling\n"
	"  stop                     stop sampling and show the results\n"
	"  add -f FUNC...           measure more functions (sampling goes on)\n"
	"  remove -f FUNC...        stop showing functions (nothing measured is lost)\n"
	"  results [--sort time|request]  the results so far\n"
	"  status                   target, state, interval, samples taken and dropped, rate\n"
	"  interval SECONDS         change the sampling interval now\n"
	"  save PREFIX              write PREFIX.json, .csv, .folded, .svg\n"
	"  help                     this list\n"
	"  exit                     leave (Ctrl-D too)\n"
	"FUNC: NAME, Class.method, module:NAME or path/file.py:NAME; globs allowed (*_io).\n";

/* Splits a line into words at blanks; "..." and '...' group. Returns the count, or -1 for
 * an unterminated quote. */
static int split(char *line, char **words, int max)
{
	int n = 0;
	char *p = line;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n == max)
			return -1;
		char *out = p;
		words[n++] = out;
		while (*p && *p != ' ' && *p != '\t') {
			if (*p == '"' || *p == '\'') {
				char q = *p++;
				while (*p && *p != q)
					*out++ = *p++;
				if (!*p)
					return -1;
				p++;
			} else {
				*out++ = *p++;
			}
		}
		if (*p)
			p++;
		*out = '\0';
	}
	return n;
}

static int perr(const char *fmt, const char *arg)
{
	fflush(stdout);
	fputs("profkit py: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* The words after -f (or all the words when there is no -f). */
static int funcs_arg(int argc, char **argv, const char *cmd, int *ret_first, int *ret_n)
{
	int i = 1;
	if (i < argc && (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--function")))
		i++;
	if (i >= argc)
		return perr("%s: give one or more functions: -f FUNC...", cmd);
	*ret_first = i;
	*ret_n = argc - i;
	return 0;
}

static int interval_arg(const char *arg, double *ret)
{
	if (parse_seconds(arg, ret) < 0 || *ret < PY_MIN_INTERVAL_S)
		return perr("invalid interval '%s': expected seconds, at least 0.00005", arg);
	return 0;
}

static int cmd_start(struct py_session *s, int argc, char **argv)
{
	pid_t pid = 0;
	double interval = 0;
	char *funcs[MAX_WORDS];
	int nf = 0;
	bool in_f = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-p") || !strcmp(a, "--pid")) {
			if (++i >= argc || parse_pid(argv[i], &pid) < 0)
				return perr("start: invalid PID '%s'", i < argc ? argv[i] : "");
			in_f = false;
		} else if (!strcmp(a, "-t") || !strcmp(a, "-i") || !strcmp(a, "--interval")) {
			if (++i >= argc)
				return perr("start: %s needs seconds", a);
			if (interval_arg(argv[i], &interval))
				return EXIT_USAGE;
			in_f = false;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--function")) {
			in_f = true;
		} else if (in_f && a[0] != '-') {
			funcs[nf++] = argv[i];
		} else {
			return perr("start: unexpected '%s' (start -p PID [-f FUNC...] [-t SECONDS])", a);
		}
	}
	if (!pid)
		return perr("start: give the process: start -p PID%s", "");
	if (py_session_state(s) == PY_SAMPLING)
		return perr("start: already sampling; 'stop' first%s", "");
	for (int i = 0; i < nf; i++) {
		if (!pyprof_pattern_valid(funcs[i]))
			return perr("invalid function '%s': expected NAME, Class.method, module:NAME or "
				    "path/file.py:NAME", funcs[i]);
	}
	if (interval > 0)
		py_session_set_interval(s, interval);
	for (int i = 0; i < nf; i++)
		py_session_add(s, funcs[i]); /* one that is already there stays */
	int r = py_session_start(s, pid, 0);
	if (!r)
		printf("sampling PID %d every %g s\n", (int)pid, py_session_interval(s));
	return r;
}

int py_prompt_exec(struct py_session *s, const char *line_in)
{
	char *line = strdup(line_in);
	char *argv[MAX_WORDS];
	if (!line)
		return error("out of memory");
	int argc = split(line, argv, MAX_WORDS);
	int r = 0;
	if (argc < 0) {
		r = perr("unterminated quote or too many words%s", "");
		goto out;
	}
	if (argc == 0)
		goto out;
	const char *cmd = argv[0];
	int first, n;
	if (!strcmp(cmd, "exit") || !strcmp(cmd, "quit")) {
		r = PY_PROMPT_EXIT;
	} else if (!strcmp(cmd, "help") || !strcmp(cmd, "?")) {
		fputs(prompt_help, stdout);
	} else if (!strcmp(cmd, "start")) {
		r = cmd_start(s, argc, argv);
	} else if (!strcmp(cmd, "stop")) {
		if (argc > 1)
			r = perr("stop takes no arguments%s", "");
		else if (py_session_state(s) != PY_SAMPLING)
			r = perr("stop: not sampling%s", "");
		else {
			py_session_stop(s);
			py_session_print_results(s);
		}
	} else if (!strcmp(cmd, "add") || !strcmp(cmd, "remove")) {
		bool add = cmd[0] == 'a';
		if (!(r = funcs_arg(argc, argv, cmd, &first, &n)))
			for (int i = first; i < first + n && !r; i++)
				r = add ? py_session_add(s, argv[i]) : py_session_remove(s, argv[i]);
	} else if (!strcmp(cmd, "results")) {
		if (argc == 3 && !strcmp(argv[1], "--sort") &&
		    (!strcmp(argv[2], "time") || !strcmp(argv[2], "request")))
			py_session_set_by_time(s, argv[2][0] == 't');
		else if (argc != 1)
			r = perr("results: expected 'results' or 'results --sort time|request'%s", "");
		if (!r)
			py_session_print_results(s);
	} else if (!strcmp(cmd, "status")) {
		if (argc > 1)
			r = perr("status takes no arguments%s", "");
		else
			py_session_print_status(s);
	} else if (!strcmp(cmd, "interval")) {
		double v;
		if (argc != 2)
			r = perr("interval: expected 'interval SECONDS'%s", "");
		else if (!(r = interval_arg(argv[1], &v))) {
			py_session_set_interval(s, v);
			printf("interval %g s\n", v);
		}
	} else if (!strcmp(cmd, "save")) {
		if (argc != 2)
			r = perr("save: expected 'save PREFIX'%s", "");
		else if (!(r = py_session_save(s, argv[1])))
			printf("wrote %s.json, %s.csv, %s.folded, %s.svg\n", argv[1], argv[1], argv[1],
			       argv[1]);
	} else {
		r = perr("unknown command '%s' (type 'help')", cmd);
	}
out:
	fflush(stdout);
	free(line);
	return r;
}

static void on_line(void *userdata, const char *line)
{
	struct prompt *p = userdata;
	if (!line) { /* Ctrl-D */
		fputc('\n', stdout);
		loop_quit(p->loop);
		return;
	}
	lineread_hide(p->lr);
	if (py_prompt_exec(p->s, line) == PY_PROMPT_EXIT) {
		loop_quit(p->loop);
		return;
	}
	lineread_show(p->lr);
}

static int on_input(struct loop *loop, int fd, uint32_t events, void *data)
{
	(void)loop, (void)fd, (void)events;
	struct prompt *p = data;
	lineread_input(p->lr);
	return 0;
}

/* The target exited (or the duration ended): the final table, the files, and the prompt
 * again. */
static void on_end(void *userdata)
{
	struct prompt *p = userdata;
	lineread_hide(p->lr);
	if (py_session_state(p->s) == PY_TARGET_EXITED)
		printf("PID %d exited: final results\n", (int)py_session_pid(p->s));
	py_session_finish(p->s);
	lineread_show(p->lr);
}

int py_prompt_run(struct loop *loop, struct py_session *s, pid_t pid, char **command)
{
	struct prompt p = { .loop = loop, .s = s };
	py_session_set_on_end(s, NULL, NULL);
	if (command)
		py_session_launch(s, command);
	else if (pid && !py_session_start(s, pid, 0))
		printf("sampling PID %d every %g s; type 'help' for the commands\n", (int)pid,
		       py_session_interval(s));
	fflush(stdout);
	int r = lineread_new("profkit> ", on_line, &p, &p.lr);
	if (r < 0)
		return error("cannot read the terminal: %s", strerror(-r));
	py_session_set_on_end(s, on_end, &p);
	r = loop_add(loop, lineread_fd(p.lr), EPOLLIN, on_input, &p);
	if (r < 0) {
		lineread_free(p.lr);
		return error("cannot read the terminal: %s", strerror(-r));
	}
	r = loop_run(loop);
	loop_del(loop, lineread_fd(p.lr));
	lineread_free(p.lr);
	py_session_set_on_end(s, NULL, NULL);
	if (py_session_state(s) == PY_SAMPLING) {
		py_session_stop(s);
	}
	return r < 0 ? error("%s", strerror(-r)) : 0;
}
