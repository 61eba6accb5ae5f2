/* profkit py: the sampling session (targets, the tick, thread CPU clocks, results) that
 * the batch mode and the prompt both drive. Part of the command layer: it owns messages
 * and the terminal; the profile itself lives in analysis/pyprof. */
#ifndef PK_CMD_PY_SESSION_H
#define PK_CMD_PY_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/loop.h"

#define PY_MIN_INTERVAL_S 0.00005
#define PY_DEFAULT_INTERVAL_S 0.001

struct py_session;

enum py_state { PY_IDLE, PY_SAMPLING, PY_STOPPED, PY_TARGET_EXITED };

struct py_session_opts {
	double interval_s;
	double duration_s;    /* < 0: none */
	bool by_time;         /* results sorted by wall time, not request order */
	const char *output;   /* PREFIX for the files at the end; NULL: none */
	bool status_line;     /* a one-line progress on stderr */
	bool subprocesses;    /* follow child Python processes */
	/* Called when sampling ends by itself (duration, target exit); NULL: quit the loop. */
	void (*on_end)(void *userdata);
	void *userdata;
};

int py_session_new(struct loop *loop, const struct py_session_opts *opts, struct py_session **ret);
struct py_session *py_session_free(struct py_session *s);

/* Attaches to pid and starts sampling; prints its own error and returns an exit code
 * (EXIT_RUNTIME) on failure, 0 on success. wait_s > 0: keep trying for that long (a process
 * just launched, not yet running Python). */
int py_session_start(struct py_session *s, pid_t pid, double wait_s);
/* Stops sampling (results stay). */
void py_session_stop(struct py_session *s);
int py_session_set_interval(struct py_session *s, double interval_s);
/* Function patterns: print their own message on error; return 0 or EXIT_USAGE. */
int py_session_add(struct py_session *s, const char *pattern);
int py_session_remove(struct py_session *s, const char *pattern);
/* The table on stdout (intermediate or final). */
void py_session_print_results(struct py_session *s);
void py_session_print_status(struct py_session *s);
/* PREFIX.json, .csv, .folded; prints its own error; returns 0 or EXIT_RUNTIME. */
int py_session_save(struct py_session *s, const char *prefix);
enum py_state py_session_state(const struct py_session *s);
pid_t py_session_pid(const struct py_session *s);
/* Writes the files named by opts->output, if any, and prints the final table. */
int py_session_finish(struct py_session *s);
void py_session_set_by_time(struct py_session *s, bool by_time);
/* The launched command's exit status (128+signal), or -1 if none / still running. */
int py_session_child_status(const struct py_session *s);
/* A launched command still running is ended like timeout(1) does (SIGTERM, SIGKILL 2 s
 * later); returns its exit status (128+signal), or -1 without one. */
int py_session_end_child(struct py_session *s);
/* Launches argv (stdio inherited) and attaches to it (or to its Python child). */
int py_session_launch(struct py_session *s, char **argv);
/* Who hears of a sampling that ended by itself (NULL: the loop quits). */
void py_session_set_on_end(struct py_session *s, void (*fn)(void *userdata), void *userdata);
/* The requested interval and duration. */
double py_session_interval(const struct py_session *s);
/* Clears the status line if one is shown (before printing). */
void py_session_clear_status(struct py_session *s);

#endif
