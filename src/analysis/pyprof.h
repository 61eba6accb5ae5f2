/* The Python function profile: which requested functions were on each thread's stack at
 * each sample, weighted by the time measured since that thread's previous sample, with
 * the thread's CPU time over the same interval; the error of each estimate; and every
 * whole stack, for the folded file and the flamegraph. Knows nothing of CPython or /proc:
 * the session feeds it frames (as interned ids), times and CPU clocks. */
#ifndef PK_ANALYSIS_PYPROF_H
#define PK_ANALYSIS_PYPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PYPROF_NO_CPU UINT64_MAX
#define PYPROF_MAX_FUNCS 1024

struct pyprof;

int pyprof_new(struct pyprof **ret);
struct pyprof *pyprof_free(struct pyprof *p);

/* Function patterns (see docs/py.md): NAME, Class.method, module:NAME, path/file.py:NAME,
 * each part an fnmatch(3) glob. Adding a pattern that was removed before shows it again
 * with everything measured meanwhile (removed patterns keep being measured, hidden).
 * -EINVAL for a malformed pattern, -EEXIST when it is already shown, -E2BIG past
 * PYPROF_MAX_FUNCS. */
int pyprof_add_function(struct pyprof *p, const char *pattern);
/* -ENOENT when no shown pattern is spelled so. */
int pyprof_remove_function(struct pyprof *p, const char *pattern);
/* Whether a pattern needs qualified names (Class.method), which CPython < 3.11 lacks. */
bool pyprof_pattern_is_qualified(const char *pattern);
/* Whether a pattern is well-formed (for messages before a session exists). */
bool pyprof_pattern_valid(const char *pattern);

/* Interns a frame; returns its id, or UINT32_MAX when out of memory. */
uint32_t pyprof_frame(struct pyprof *p, const char *name, const char *qualname,
		      const char *filename, int firstlineno);

/* The thread (pid, tid, tstate) as an index; name is its label in the folded stacks
 * ("io-worker (1236)"), and its bare name too until pyprof_thread_rename says otherwise. */
int pyprof_thread(struct pyprof *p, pid_t pid, pid_t tid, uint64_t tstate, const char *name);

/* A thread's label and bare name ("io-worker"); also when it named itself after it
 * started. -EINVAL for a bad index. */
int pyprof_thread_rename(struct pyprof *p, int thread, const char *label, const char *name);

/* What one thread holds, for the list of threads in the outputs. */
struct pyprof_thread_info {
	pid_t pid, tid;
	const char *label, *name; /* valid until the thread is renamed or the profile freed */
	uint64_t samples;
	double wall_s, cpu_s; /* sampled time of the thread (its samples' weights) */
	bool alive;
};
size_t pyprof_nthreads(const struct pyprof *p);
/* Thread i (0 <= i < pyprof_nthreads), in the order first seen. False past the end. */
bool pyprof_thread_info(const struct pyprof *p, size_t i, struct pyprof_thread_info *ret);

/* One tick: begin, then per thread a sample or a drop, then end. now_ns is
 * CLOCK_MONOTONIC; cpu_ns the thread's own CPU clock (PYPROF_NO_CPU when unknown). */
void pyprof_tick_begin(struct pyprof *p, uint64_t now_ns);
int pyprof_sample(struct pyprof *p, int thread, const uint32_t *frames, size_t n,
		  uint64_t cpu_ns);
void pyprof_drop(struct pyprof *p, int thread);
/* The whole sample of a process was dropped (its thread list changed while read). */
void pyprof_drop_pid(struct pyprof *p, pid_t pid);
void pyprof_tick_end(struct pyprof *p);

struct pyprof_result {
	const char *pattern;
	uint64_t samples;
	double wall_s, wall_err_s, cpu_s;
	double share; /* wall_s over the wall time sampled since the pattern was added */
};

struct pyprof_totals {
	uint64_t ticks, samples, dropped; /* thread samples taken and dropped */
	double wall_s;                    /* first to last tick */
	size_t threads, frames, stacks;
	size_t processes;                 /* distinct PIDs among the threads */
};

/* The shown functions in request order (or by wall time, longest first); returns how
 * many (at most max). The pattern strings live as long as the profile. */
size_t pyprof_results(struct pyprof *p, struct pyprof_result *out, size_t max, bool by_time);
void pyprof_totals(const struct pyprof *p, struct pyprof_totals *ret);

/* Every distinct (thread, stack) with its weight: fn gets the thread's name and the frames
 * outermost first as "qualname (file:line)" labels. Return < 0 from fn to stop. */
typedef int (*pyprof_stack_fn)(void *userdata, const char *thread, const char *const *frames,
			       size_t n, uint64_t wall_ns, uint64_t cpu_ns, uint64_t samples);
int pyprof_stacks(struct pyprof *p, pyprof_stack_fn fn, void *userdata);

/* A frame's parts, for writers that keep name and place apart (the flamegraph). The
 * strings live as long as the profile. False for an unknown id. */
struct pyprof_frame_info {
	const char *name, *qualname, *filename;
	int line;
};
bool pyprof_frame_info(const struct pyprof *p, uint32_t id, struct pyprof_frame_info *ret);

/* As pyprof_stacks, with the thread's TID and the frames as ids (pyprof_frame_info). */
typedef int (*pyprof_stack_ids_fn)(void *userdata, pid_t tid, const char *thread,
				   const uint32_t *ids, size_t n, uint64_t wall_ns,
				   uint64_t cpu_ns, uint64_t samples);
int pyprof_stack_ids(struct pyprof *p, pyprof_stack_ids_fn fn, void *userdata);

#endif
