/* Launching the profiled command: directly with execvp semantics (no shell), with its
 * stdout and stderr on pipes that profkit tees to the terminal and to files. */
#ifndef PK_CORE_SPAWN_H
#define PK_CORE_SPAWN_H

#include <sys/types.h>

struct spawned {
	pid_t pid;
	int out_fd, err_fd; /* read ends, non-blocking; -1 when not captured */
};

/* -ENOENT: not found on PATH; -EACCES: not executable; other -errno. */
int spawn_command(char *const argv[], struct spawned *ret);

#endif
