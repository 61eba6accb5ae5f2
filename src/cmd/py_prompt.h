/* profkit py's interactive prompt: start, stop, add, remove, results, status, interval,
 * save, help, exit; the terminal is one more descriptor in the sampling's event loop. */
#ifndef PK_CMD_PY_PROMPT_H
#define PK_CMD_PY_PROMPT_H

#include <sys/types.h>
#include "cmd/py_session.h"
#include "core/loop.h"

/* Starts sampling pid (or launches command) if given, then runs the prompt until exit or
 * the end of input; returns the exit code. */
int py_prompt_run(struct loop *loop, struct py_session *s, pid_t pid, char **command);

/* Executes one prompt line. Returns 0, PY_PROMPT_EXIT for "exit", or the code of the one
 * line error it printed (the prompt goes on). */
#define PY_PROMPT_EXIT (-1)
int py_prompt_exec(struct py_session *s, const char *line);

#endif
