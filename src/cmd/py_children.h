/* profkit py --subprocesses: finding the new child processes of the processes being
 * followed, and offering each to the session once it is ready to be attached.
 *
 * A scan reads /proc/PID/task/TID/children of every followed process (and of the children
 * that are not Python, which may start one: a shell). Scans are cheap but not free, so one
 * runs only when it can find something: when /proc/loadavg's last-created PID has moved
 * since the previous scan (nothing was created, nothing is new), while a child waits to be
 * attached, and once a second regardless; never more often than PY_CHILDREN_PERIOD_NS.
 *
 * A child is offered only from a scan at least PY_CHILD_SETTLE_NS after the one that found
 * it: a process forked to exec another program (subprocess, multiprocessing's "spawn") has
 * exec'd by then, so its short-lived copy of the parent's memory is not sampled as a second
 * copy of the parent's stacks. A child that is not Python (yet) is offered again, after
 * pauses that double from PY_CHILDREN_PERIOD_NS, until it is PY_CHILD_PATIENCE_NS old;
 * after that it is only watched for children of its own. */
#ifndef PK_CMD_PY_CHILDREN_H
#define PK_CMD_PY_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PY_CHILDREN_PERIOD_NS (10 * 1000 * 1000ULL)
#define PY_CHILDREN_RESCAN_NS (1000 * 1000 * 1000ULL)
#define PY_CHILD_SETTLE_NS (5 * 1000 * 1000ULL)
#define PY_CHILD_PATIENCE_NS (2000 * 1000 * 1000ULL)
#define PY_CHILDREN_MAX 4096 /* children tracked at once (followed ones are the caller's) */

/* What the session made of an offered child. */
enum py_child_verdict {
	PY_CHILD_FOLLOWED, /* attached: the caller follows it from now on */
	PY_CHILD_NOT_YET,  /* not a Python process (yet): offer it again later */
	PY_CHILD_NEVER,    /* not to be followed (unsupported, not permitted): only watched */
};
typedef enum py_child_verdict (*py_child_fn)(void *userdata, pid_t pid);

struct py_children;

/* proc: the /proc to read ("/proc" but for tests). -ENOMEM. */
int py_children_new(const char *proc, struct py_children **ret);
struct py_children *py_children_free(struct py_children *c);

/* Whether a scan should run now (see above). Cheap: at most one read of /proc/loadavg. */
bool py_children_due(struct py_children *c, uint64_t now_ns);
/* Scans the children of followed[0..n) and of the children tracked here; offers those that
 * are ready to fn, in the order found. */
void py_children_scan(struct py_children *c, const pid_t *followed, size_t n, uint64_t now_ns,
		      py_child_fn fn, void *userdata);
/* The next py_children_due() says yes (a followed process stopped being readable but still
 * runs: an exec, to be attached again). */
void py_children_poke(struct py_children *c);
/* Children tracked (waiting or watched), for the status. */
size_t py_children_tracked(const struct py_children *c);

#endif
