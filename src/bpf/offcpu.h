/* Off-CPU time with eBPF: how long each thread of the target stays off the CPU, and where
 * (kernel stack of the wait, user registers + user stack copy for DWARF unwinding).
 *
 * Design (cheaper and more accurate than the peers, which walk the stack at every
 * switch-out before knowing how long the block will be):
 *   - tp_btf/sched_switch, prev is a target thread: store its switch-out time (and whether
 *     it was preempted) in a per-thread map. Nothing else: no stack walk.
 *   - same hook, next is a target thread: delta = now - stored time, taken first thing.
 *     Blocks shorter than min_block_ns end here (never leave the kernel). Longer ones:
 *     the kernel stack of the sleeping task (bpf_get_task_stack on next; it cannot change
 *     while it slept) is kept with the delta as a pending block for that thread.
 *   - the thread's own context completes the pending block: at raw_syscalls:sys_exit (the
 *     blocking syscall returns; user registers are the syscall's pt_regs and the user
 *     stack is exactly what it was when the thread blocked) the user registers and the top
 *     of the user stack are copied into a ring-buffer record. A preempted thread (not in a
 *     syscall) has its user state copied at switch-out, when it is preempted from user
 *     mode — preemptions are rare (at most one per scheduler tick).
 *   - Blocks that end neither way (a page fault that slept) are emitted with the kernel
 *     stack only, at the thread's next switch-out.
 * Timestamps: bpf_ktime_get_ns (CLOCK_MONOTONIC), the clock of perf samples too.
 *
 * The BPF object is compiled by clang -target bpf against vmlinux.h (bpftool btf dump of
 * /sys/kernel/btf/vmlinux at build time) and embedded as a libbpf skeleton (bpftool gen
 * skeleton): CO-RE, no kernel headers at run time. */
#ifndef PK_BPF_OFFCPU_H
#define PK_BPF_OFFCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/regs.h"

#define OFFCPU_MAX_KSTACK 64

enum offcpu_how {
	OFFCPU_SYSCALL = 0, /* blocked in a syscall; user stack from sys_exit */
	OFFCPU_PREEMPTED,   /* runnable, waiting for a CPU; user stack from the switch-out */
	OFFCPU_KERNEL_ONLY, /* no user stack could be taken */
};

struct offcpu_event {
	pid_t pid, tid;
	uint64_t start_ns;  /* switch-out time (CLOCK_MONOTONIC) */
	uint64_t off_ns;    /* time off the CPU (sum, when one syscall blocked several times) */
	char comm[16];
	enum offcpu_how how;
	uint32_t nkernel; const uint64_t *kernel_ips; /* innermost first */
	struct user_regs regs;          /* valid == 0 when OFFCPU_KERNEL_ONLY */
	const uint8_t *stack; uint32_t stack_size;
};

struct offcpu_opts {
	uint64_t min_block_ns; /* default 1 ms */
	uint32_t stack_bytes;  /* user stack copy, multiple of 8, <= 16384 (0: 8192) */
	bool kernel_stacks;    /* default true */
	bool follow_children;  /* processes forked by a target become targets */
};

struct offcpu;

/* Loads and attaches the programs. -ENOTSUP (built without libbpf, or the kernel lacks
 * BTF/BPF: err says which), -EPERM (needs CAP_BPF + CAP_PERFMON, or root), -ENOMEM. */
int offcpu_open(const struct offcpu_opts *o, struct offcpu **ret, char *err, size_t errlen);
/* Follow a process (every thread of it, present and future). */
int offcpu_add_pid(struct offcpu *oc, pid_t pid);
/* The ring buffer's fd for epoll. */
int offcpu_fd(const struct offcpu *oc);
/* Calls cb for each event waiting; returns the number consumed or a negative errno. */
typedef void (*offcpu_cb)(const struct offcpu_event *e, void *arg);
int offcpu_poll(struct offcpu *oc, offcpu_cb cb, void *arg);
/* Flushes pending blocks of threads still blocked at the end (their time so far counts,
 * with the kernel stack only) — call once, at the end, then poll. */
int offcpu_flush(struct offcpu *oc);
struct offcpu_stats { uint64_t events, dropped, switches_seen, short_blocks; };
void offcpu_get_stats(struct offcpu *oc, struct offcpu_stats *ret);
struct offcpu *offcpu_free(struct offcpu *oc);

#endif
