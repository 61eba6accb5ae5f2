/* Launching the profiled command: directly with execvp semantics (no shell), with its
 * stdout and stderr on pipes that profkit tees to the terminal and to files. */
#ifndef PK_CORE_SPAWN_H
#define PK_CORE_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct spawned {
	pid_t pid;
	int out_fd, err_fd; /* read ends, non-blocking; -1 when not captured */
};

/* Called in the parent while the child waits between fork and exec (to attach counters
 * that start at the exec). Its result is not an error of the launch. */
typedef void (*spawn_hook_fn)(pid_t pid, void *userdata);

/* -ENOENT: not found on PATH; -EACCES: not executable; other -errno. The child runs with
 * an empty signal mask and default dispositions. With capture, its stdout and stderr go to
 * pipes (ret->out_fd, err_fd); without, it shares profkit's. before_exec may be NULL. */
int spawn_command(char *const argv[], bool capture, spawn_hook_fn before_exec,
		  void *userdata, struct spawned *ret);

/* Raises profkit's soft RLIMIT_NOFILE to the hard limit (a followed process keeps several
 * descriptors open). A command launched afterwards gets the soft limit profkit was started
 * with: the limit survives fork and exec, and a program may size tables by it. */
void spawn_raise_fd_limit(void);

#endif
