/* Time accounting of a wall-clock profile: where each thread's time went (on the CPU, off
 * it, unaccounted), the top reasons for blocking, and a thread's role guessed from its
 * name. Pure functions of a stack profile and the thread lifetimes the recorder measured. */
#ifndef PK_ANALYSIS_TIMEACCT_H
#define PK_ANALYSIS_TIMEACCT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/profile.h"

struct thread_time {
	pid_t tid, pid;
	const char *name;   /* never NULL */
	uint64_t samples;   /* on-CPU samples */
	uint64_t on_us;     /* on-CPU time (weights of its on-CPU stacks) */
	uint64_t off_us;    /* off-CPU time (blocks at least the minimum long) */
	uint64_t life_us;   /* how long the thread existed during the recording */
};

/* Fills on_us and off_us of t from the profile (t->tid's samples). */
void timeacct_fill(const struct stack_profile *p, struct thread_time *t);

/* (on + off) / life in percent; 0 when life is 0. Can pass 100 by sampling error. */
double timeacct_coverage(uint64_t on_us, uint64_t off_us, uint64_t life_us);

/* A reason for blocking: the kernel function that waited (the first kernel frame below
 * the scheduler), the syscall it was in, and the innermost user function. */
struct block_reason {
	uint32_t wait_frame;    /* profile frame id; UINT32_MAX: none */
	uint32_t syscall_frame; /* "__x64_sys_read" and the like; UINT32_MAX: none */
	uint32_t user_frame;    /* innermost user (or Python) frame; UINT32_MAX: none */
	bool preempted;         /* runnable, waiting for a CPU (an interrupt's return
				 * scheduled another task): one reason, whatever it ran */
	uint64_t us;
};

/* The off-CPU time of tid (all_threads: of every thread) grouped by reason, the longest
 * first, into a malloc'd array (caller frees). -ENOMEM. */
int timeacct_reasons(const struct stack_profile *p, pid_t tid, bool all_threads,
		     struct block_reason **ret, size_t *ret_n);
/* "pipe_read in read() from main", "preempted (runnable, waiting for a CPU)": appends the reason's words to out (up to size bytes,
 * NUL-terminated). */
void timeacct_reason_text(const struct stack_profile *p, const struct block_reason *r,
			  char *out, size_t size);

/* The role of a thread, from its name (and whether it is the main thread): "main",
 * "worker pool", "garbage collector", "I/O", "network / event loop", "timer",
 * "logging", "JIT compiler", "signal handler", "profiler / tracer", or "" when the name
 * says nothing. */
const char *timeacct_role(const char *name, bool is_main);

#endif
