/* Unwinding a user stack copy: from the registers and the bytes of the user stack that a
 * perf sample (PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER) or the off-CPU eBPF program
 * captured, recover the chain of return addresses — the way `perf --call-graph dwarf`
 * does, with elfutils' libdwfl: the CFI of .eh_frame / .debug_frame of each module, and
 * the frame-pointer chain where there is no CFI.
 *
 * One Dwfl per process, kept across samples (modules reported from /proc/PID/maps when the
 * process is added, and again after a new executable mapping); memory reads are served
 * from the stack copy only — nothing reads the live process, so unwinding also works
 * after the process exited, on what was captured.
 *
 * Not thread-safe; one unwinder per recording. */
#ifndef PK_STACK_UNWIND_H
#define PK_STACK_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/regs.h"

struct unwinder;

int unwinder_new(struct unwinder **ret);
struct unwinder *unwinder_free(struct unwinder *u);

/* Learn the process's modules from /proc/PID/maps now (call at attach and for a new PID).
 * -ESRCH when it is gone; -ENOTSUP when built without libdw. */
int unwinder_add_process(struct unwinder *u, pid_t pid);
/* A new executable mapping: its modules are re-reported before the next unwind of pid. */
void unwinder_mapping_changed(struct unwinder *u, pid_t pid);
/* The process exec'd or exited: drop its state (exited: keep nothing). */
void unwinder_forget(struct unwinder *u, pid_t pid);

/* Unwinds: ips[0] = regs->r[UREG_RIP] (the innermost frame), then return addresses,
 * outermost last, at most max. *n receives the count (>= 1 when RIP is valid). Stops
 * cleanly where the stack copy ends or the CFI runs out. stack holds stack_size bytes
 * copied from address regs->r[UREG_RSP] upwards. Returns 0, or -EINVAL (no RIP/RSP),
 * -ENOTSUP (no libdw). A partial stack is not an error. */
int unwind_user(struct unwinder *u, pid_t pid, pid_t tid, const struct user_regs *regs,
		const uint8_t *stack, size_t stack_size, uint64_t *ips, size_t max, size_t *n);

struct unwind_stats {
	uint64_t stacks;        /* unwind_user calls */
	uint64_t frames;        /* frames returned */
	uint64_t reached_end;   /* stacks whose last frame had no caller (reached the root) */
	uint64_t stack_ends;    /* stacks cut because the copy ended */
};
void unwinder_get_stats(const struct unwinder *u, struct unwind_stats *ret);

#endif
