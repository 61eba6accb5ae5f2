/* Off-CPU time with eBPF: how long each thread of the target stays off the CPU, and where
 * (kernel stack of the wait, user registers + user stack copy for DWARF unwinding).
 *
 * Design (cheaper and more accurate than the peers, which walk the stack at every
 * switch-out before knowing how long the block will be):
 *   - tp_btf/sched_switch, prev is a target thread: store its switch-out time (and whether
 *     it was runnable: preempted or yielding) in task-local storage (a quarter cheaper per
 *     switch than a hash keyed by tid, and freed with the task). No stack walk.
 *   - same hook, next is a target thread: delta = now - stored time, with the one
 *     timestamp taken first thing in the handler, so that nothing the program does is
 *     counted as off-CPU time. Blocks shorter than min_block_ns end here (counted in
 *     short_blocks/short_ns, never leave the kernel). Longer ones: the kernel stack of the
 *     sleeping task (bpf_get_task_stack on next; it cannot change while it slept; the
 *     kernel leaves out the scheduler's own functions, as in /proc/PID/stack) is kept
 *     with the delta as a pending block for that thread.
 *   - the thread's own context completes the pending block on its way back to user mode:
 *     tp_btf/rseq_update, which the kernel runs in exit_to_user_mode after every context
 *     switch of a thread that registered rseq (glibc >= 2.35 does for every thread). The
 *     user registers are those of the kernel entry that blocked (task_pt_regs) and the
 *     user stack is exactly what it was when the thread blocked: they are copied into a
 *     ring-buffer record. This one hook serves blocked syscalls, preemptions and page
 *     faults alike, and costs nothing to the syscalls that did not switch.
 *     (The first design completed at raw_syscalls:sys_exit and copied the user state of a
 *     preempted thread at its switch-out, assuming preemptions are rare. They are not:
 *     in a pipe ping-pong on one CPU, wake-up preemption makes 40% of the switches
 *     involuntary, and a copy there costs a stack copy per switch; sys_exit also puts
 *     every syscall of the machine on the slow path.)
 *   - threads without rseq (Go, static musl, old glibc): their first long block sets a
 *     flag and offcpu_poll attaches tp_btf/sys_exit, which completes blocked syscalls
 *     (but slows every syscall of the machine by ~100 ns, hence only then; the first
 *     100 ms of a thread do not count, as glibc registers rseq only at the end of ld.so's
 *     start-up). A kernel without the rseq_update tracepoint gets sys_exit from the start.
 *   - a pending block is tied to its kernel entry by the entry's user ip and sp (ip - 2
 *     after a syscall restart); one that could not be completed in that entry (a
 *     preemption of a thread without rseq, a thread without user mode such as an
 *     io_uring worker, offcpu_flush) is emitted with the kernel stack only. A thread that
 *     exits with a pending block completes it in sched_process_exit.
 *   - several long blocks in one kernel entry (a syscall that sleeps twice) are one record:
 *     off_ns is their sum, the kernel stack and `how` are those of the longest.
 * Timestamps: bpf_ktime_get_ns (CLOCK_MONOTONIC), the clock of perf samples too.
 *
 * The BPF object is compiled by clang -target bpf against vmlinux.h (bpftool btf dump of
 * /sys/kernel/btf/vmlinux at build time) and embedded as a libbpf skeleton (bpftool gen
 * skeleton): CO-RE, no kernel headers at run time. Without libbpf, clang or bpftool at
 * build time, offcpu-none.c makes offcpu_open fail with -ENOTSUP and says why. */
#ifndef PK_BPF_OFFCPU_H
#define PK_BPF_OFFCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/regs.h"

#define OFFCPU_MAX_KSTACK 64

enum offcpu_how {
	/* the user registers and stack are those of the kernel entry that blocked */
	OFFCPU_SYSCALL = 0, /* blocked (slept) in a syscall */
	OFFCPU_PREEMPTED,   /* runnable, waiting for a CPU */
	OFFCPU_KERNEL_ONLY, /* no user stack could be taken */
	OFFCPU_FAULT,       /* slept in a page fault (or another exception) taken in user mode */
};

/* The pointers point into the ring buffer: valid during the callback only. */
struct offcpu_event {
	pid_t pid, tid;
	uint64_t start_ns;  /* switch-out time (CLOCK_MONOTONIC) */
	uint64_t off_ns;    /* time off the CPU (sum, when one syscall blocked several times) */
	char comm[16];
	enum offcpu_how how;
	uint32_t nkernel; const uint64_t *kernel_ips; /* innermost first */
	struct user_regs regs;          /* valid == 0 when OFFCPU_KERNEL_ONLY */
	const uint8_t *stack; uint32_t stack_size; /* the bytes at regs.r[UREG_RSP] and up */
};

struct offcpu_opts {
	uint64_t min_block_ns; /* default 1 ms */
	uint32_t stack_bytes;  /* user stack copy, multiple of 8, <= 16384 (0: 8192) */
	bool kernel_stacks;    /* default true */
	bool follow_children;  /* processes forked by a target become targets */
};
/* The defaults, which offcpu_open also takes for a NULL opts. A given opts is taken as it
 * is, except stack_bytes 0. */
#define OFFCPU_OPTS_DEFAULT { .min_block_ns = 1000000, .stack_bytes = 8192, .kernel_stacks = true }

struct offcpu;

/* Loads and attaches the programs. -ENOTSUP (built without libbpf, or the kernel lacks
 * BTF/BPF: err says which), -EPERM (needs CAP_BPF + CAP_PERFMON, or root), -EINVAL (bad
 * stack_bytes), -ENOMEM. err gets one line for a human, or "" on success. */
int offcpu_open(const struct offcpu_opts *o, struct offcpu **ret, char *err, size_t errlen);
/* Follow a process (every thread of it, present and future; a thread already asleep counts
 * from its next switch-out). -ESRCH when it does not exist. */
int offcpu_add_pid(struct offcpu *oc, pid_t pid);
/* The ring buffer's fd for epoll (EPOLLIN: records wait). */
int offcpu_fd(const struct offcpu *oc);
/* Calls cb for each event waiting; returns the number consumed or a negative errno. It
 * also attaches the sys_exit completion the first time a thread without rseq needs it. */
typedef void (*offcpu_cb)(const struct offcpu_event *e, void *arg);
int offcpu_poll(struct offcpu *oc, offcpu_cb cb, void *arg);
/* Flushes pending blocks of threads still blocked at the end (their time so far counts,
 * with the kernel stack only) — call once, at the end, then poll. It stops the tracing:
 * no block ends after it. */
int offcpu_flush(struct offcpu *oc);
/* events: records submitted; dropped: lost to a full ring buffer; switches_seen:
 * switch-outs of target threads; short_blocks, short_ns: the blocks below min_block_ns and
 * their total time (counted, never recorded). */
struct offcpu_stats { uint64_t events, dropped, switches_seen, short_blocks, short_ns; };
void offcpu_get_stats(struct offcpu *oc, struct offcpu_stats *ret);
struct offcpu *offcpu_free(struct offcpu *oc);

#endif
