/* The stack collector: from a raw stack (an on-CPU perf sample, an off-CPU block) to a
 * stack of the profile. The user part comes from DWARF unwinding of the user-stack copy
 * when there is one, else from the frame-pointer chain the kernel walked; each address is
 * symbolized once (the symbolizer caches per address) and each symbol becomes one profile
 * frame per state (on/off CPU), remembered in a table indexed by symbol id, so a stack of
 * known addresses costs the unwinding plus hash lookups.
 *
 * A stack is laid out root first: the thread's name (a marker frame, no state, so that one
 * thread's on- and off-CPU time sit under one root), the user frames from the outermost
 * caller in, then the kernel frames down to where the sample was taken or the thread
 * slept. */
#ifndef PK_STACK_COLLECT_H
#define PK_STACK_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/profile.h"
#include "stack/regs.h"
#include "stack/symbolize.h"
#include "stack/unwind.h"

struct raw_stack {
	pid_t pid, tid;
	const uint64_t *kernel_ips; /* innermost first */
	uint32_t nkernel;
	const uint64_t *user_ips;   /* the frame-pointer chain, innermost first */
	uint32_t nuser;
	const struct user_regs *regs; /* with stack: unwound by DWARF instead of user_ips */
	const uint8_t *stack;
	size_t stack_size;
};

struct collector_opts {
	bool kernel;      /* keep kernel frames */
	bool thread_root; /* root each stack at its thread's name */
};

struct collector_stats {
	uint64_t stacks;        /* collector_stack calls */
	uint64_t dwarf;         /* user parts from DWARF unwinding */
	uint64_t frame_pointer; /* user parts from the frame-pointer chain */
	uint64_t user_frames;   /* user frames, summed */
	uint64_t reached_root;  /* user parts that end in a start routine (main, _start,
				 * start_thread, clone...) */
};

struct collector;

int collector_new(struct stack_profile *p, struct symbolizer *sym, struct unwinder *unw,
		  const struct collector_opts *o, struct collector **ret);
struct collector *collector_free(struct collector *c);

/* Names a thread (its root frame from now on). */
int collector_thread_name(struct collector *c, pid_t tid, const char *name);
/* Builds (interns) the profile stack of rs in state st; -ENOMEM, -ENOSPC. */
int collector_stack(struct collector *c, const struct raw_stack *rs, enum frame_state st,
		    uint32_t *ret_stack);
/* collector_stack, then adds weight_us to (rs->tid, stack). */
int collector_add(struct collector *c, const struct raw_stack *rs, enum frame_state st,
		  uint64_t weight_us);
void collector_get_stats(const struct collector *c, struct collector_stats *ret);

#endif
