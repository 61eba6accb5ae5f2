/* What the off-CPU eBPF programs (offcpu.bpf.c) and their loader (offcpu.c) share: the
 * ring-buffer record and the per-CPU counters. Compiled by clang -target bpf against
 * vmlinux.h and by the C compiler against <linux/types.h>, so only __u32/__u64 and
 * fixed-size arrays: both sides see one layout. */
#ifndef PK_BPF_OFFCPU_RECORD_H
#define PK_BPF_OFFCPU_RECORD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define OFFCPU_REC_KSTACK 64        /* kernel frames kept (OFFCPU_MAX_KSTACK) */
#define OFFCPU_REC_MAX_STACK 16384  /* largest user stack copy */
#define OFFCPU_REC_NREGS 17         /* DWARF registers 0..16 (enum user_reg) */

/* Values of offcpu_rec.how, the same numbers as enum offcpu_how. */
#define OFFCPU_REC_SYSCALL 0
#define OFFCPU_REC_PREEMPTED 1
#define OFFCPU_REC_KERNEL_ONLY 2
#define OFFCPU_REC_FAULT 3

/* One block (or the sum of the blocks of one kernel entry), followed in the ring buffer by
 * the user stack copy: stack_size valid bytes of the stack_bytes the record reserves (none
 * in a kernel-only record). */
struct offcpu_rec {
	__u32 pid, tid;
	__u64 start_ns;  /* switch-out time of the first block */
	__u64 off_ns;    /* sum of the blocks */
	char comm[16];
	__u32 how;
	__u32 nkernel;
	__u32 regs_valid;
	__u32 stack_size;
	__u64 regs[OFFCPU_REC_NREGS]; /* DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
	__u64 kstack[OFFCPU_REC_KSTACK];
};

/* Per-CPU counters (one slot of a BPF_MAP_TYPE_PERCPU_ARRAY). */
struct offcpu_counters {
	__u64 events;       /* records submitted */
	__u64 dropped;      /* records lost: ring buffer full */
	__u64 switches;     /* switch-outs of target threads */
	__u64 short_blocks; /* blocks shorter than min_block_ns, counted but not recorded */
	__u64 short_ns;     /* their total time */
};

#endif
