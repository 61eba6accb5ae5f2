/* The command layer: owns argv, the terminal, messages and exit codes. */
#ifndef PK_CMD_CMD_H
#define PK_CMD_CMD_H

#include <stdbool.h>
#include "core/monitor.h"
#include "util/macro.h"

/* Exit codes of the profiler itself (run passes the command's own through). */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

int cmd_list(int argc, char **argv);
int cmd_py(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_watch(int argc, char **argv);

/* "profkit: <message>" on stderr; returns EXIT_RUNTIME. */
int error(const char *fmt, ...) _printf_(1, 2);
/* "profkit <cmd>: <message>" and a hint at --help; returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) _printf_(2, 3);
void warning(const char *fmt, ...) _printf_(1, 2);

/* Options that run and watch share. */
struct monitor_opts {
	struct monitor_config cfg;
	bool quiet;
	bool status_line;   /* stderr is a terminal and not --quiet */
	double last_status; /* elapsed_s of the last status line drawn */
	bool status_shown;
	regex_t match_re;
};

/* Parses argv for run (is_run) or watch; prints errors itself. Returns 0, or an exit code
 * (EXIT_USAGE, or 0 via ret_exit after --help). */
int monitor_opts_parse(struct monitor_opts *o, bool is_run, const char *help, int argc, char **argv,
		       int *ret_exit);
/* Records and prints the summary; returns the process exit code. */
int monitor_opts_record(struct monitor_opts *o);
void monitor_opts_free(struct monitor_opts *o);

#endif
