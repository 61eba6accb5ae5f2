/* Off-CPU time of the target threads: the kernel side (design in offcpu.h).
 *
 * Per thread (task-local storage `threads`) the state machine is:
 *   switch-out      out_ns = now                                      (hot: one lookup)
 *   switch-in       delta = now - out_ns; short and nothing pending: counted, done
 *                   (hot: one lookup); long: pending += delta, kernel stack of the longest
 *   return to user  (rseq_update, or sys_exit for threads without rseq) pending → record
 *                   with the user registers and stack of the kernel entry that blocked
 * A pending block still there at the next switch-out of a different kernel entry, at the
 * thread's exit or at the flush is recorded with its kernel stack only. A target thread
 * first seen at a switch-in (or at the flush, not running) was off the CPU since it was
 * followed or created. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "offcpu_record.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the loader before the load; the verifier sees them as constants. */
const volatile __u64 min_block_ns = 1000000;
const volatile __u32 stack_bytes = 8192; /* multiple of 8, <= OFFCPU_REC_MAX_STACK */
const volatile bool kernel_stacks = true;

/* A target thread without rseq had a long block: its completion needs sys_exit, which the
 * loader attaches only then, because that tracepoint slows every syscall of the machine
 * (measured: getppid 160 -> 270 ns). glibc registers rseq in the first milliseconds of a
 * thread (for the main thread, at the end of ld.so's start-up, after the libraries are
 * loaded): a thread younger than the grace period is not counted, so that a launched
 * command's start-up does not turn it on. */
bool need_sys_exit;
#define RSEQ_GRACE_NS 100000000ULL
/* sys_exit has run once: it is attached. */
bool sys_exit_live;

/* Threads with a pending block, machine-wide. Almost always 0: then the return-to-user
 * hooks, which run after every context switch of every thread, stop at this load. */
__s64 npending;

#define TS_RUNNABLE 1u      /* switched out runnable: preempted or yielded */
#define TS_PENDING 2u       /* a long block waits for the return to user mode */
#define TS_PEND_RUNNABLE 4u /* the longest pending block was spent runnable */
#define TS_NO_RSEQ 8u       /* the pending block's thread had no rseq */
#define TS_NO_USER 16u      /* a thread without user mode (io_uring worker): never completed */

#define PF_EXITING 0x00000004 /* include/linux/sched.h */
#define PAGE 4096ULL
#define USER_RPL 3

struct thread_state {
	__u64 out_ns; /* switch-out time while off the CPU, 0 while on it */
	__u32 flags;
	__u32 nkernel;
	__u64 pend_start, pend_ns, pend_max;
	/* User sp and ip of the kernel entry the pending block belongs to: a later entry has
	 * other ones (or the same, when it runs the same code on the same stack). */
	__u64 entry_ip, entry_sp;
	__u64 kstack[OFFCPU_REC_KSTACK];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);   /* tgid */
	__type(value, __u64); /* since when it is followed (CLOCK_MONOTONIC ns) */
} targets SEC(".maps");

/* Task-local storage rather than a hash keyed by tid: a lookup costs a quarter less per
 * context switch (measured: 190 against 250 ns per sched_switch run, bpf_stats), there is
 * no thread limit, and the kernel frees it with the task. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offcpu_counters);
} counters SEC(".maps");

static __always_inline struct offcpu_counters *counters_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline void clear_pending(struct thread_state *st)
{
	if (st->flags & TS_PENDING)
		__sync_fetch_and_add(&npending, -1);
	st->flags &= ~(TS_PENDING | TS_PEND_RUNNABLE | TS_NO_RSEQ | TS_NO_USER);
	st->pend_ns = 0;
}

static __always_inline void fill_common(struct offcpu_rec *r, const struct thread_state *st,
					struct task_struct *t)
{
	r->pid = t->tgid;
	r->tid = t->pid;
	r->start_ns = st->pend_start;
	r->off_ns = st->pend_ns;
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), t->comm);
	r->nkernel = st->nkernel;
	__builtin_memcpy(r->kstack, st->kstack, sizeof(r->kstack));
}

/* The pending block with its kernel stack only: its user state is gone or unreachable. */
static __noinline void emit_kernel_only(struct thread_state *st, struct task_struct *t,
					struct offcpu_counters *c)
{
	struct offcpu_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		c->dropped++;
		clear_pending(st);
		return;
	}
	fill_common(r, st, t);
	r->how = OFFCPU_REC_KERNEL_ONLY;
	r->regs_valid = 0;
	r->stack_size = 0;
	__builtin_memset(r->regs, 0, sizeof(r->regs));
	bpf_ringbuf_submit(r, 0);
	c->events++;
	clear_pending(st);
}

/* Copies the top of the user stack; near the end of the stack mapping (the main thread's
 * stack top) the full size faults, so it retries up to the last readable page. */
static __always_inline __u32 copy_user_stack(__u8 *dst, __u64 sp)
{
	__u32 len = stack_bytes;
	if (len == 0)
		return 0;
	if (bpf_probe_read_user(dst, len, (const void *)sp) == 0)
		return len;
	/* 64 bits: a 32-bit copy would be bounds-checked on a zero-extended twin register */
	__u64 n = ((sp + len) & ~(PAGE - 1)) - sp; /* up to the last page boundary */
	for (int i = 0; i < OFFCPU_REC_MAX_STACK / PAGE + 1; i++) {
		barrier_var(n); /* the bound below must hold on the register the call takes */
		if (n == 0 || n > stack_bytes)
			return 0;
		if (bpf_probe_read_user(dst, n, (const void *)sp) == 0)
			return (__u32)n;
		n -= PAGE; /* wraps below zero into a value the bound rejects */
	}
	return 0;
}

static __always_inline void fill_regs(struct offcpu_rec *r, const struct pt_regs *regs)
{
	r->regs[0] = regs->ax;
	r->regs[1] = regs->dx;
	r->regs[2] = regs->cx;
	r->regs[3] = regs->bx;
	r->regs[4] = regs->si;
	r->regs[5] = regs->di;
	r->regs[6] = regs->bp;
	r->regs[7] = regs->sp;
	r->regs[8] = regs->r8;
	r->regs[9] = regs->r9;
	r->regs[10] = regs->r10;
	r->regs[11] = regs->r11;
	r->regs[12] = regs->r12;
	r->regs[13] = regs->r13;
	r->regs[14] = regs->r14;
	r->regs[15] = regs->r15;
	r->regs[16] = regs->ip;
	r->regs_valid = (1u << OFFCPU_REC_NREGS) - 1;
}

/* In the thread's own context, on its way back to user mode: the user registers are those
 * of the kernel entry that blocked and the user stack is as it was when it blocked. */
static __noinline void emit_user(struct thread_state *st, struct task_struct *t,
				 const struct pt_regs *regs, struct offcpu_counters *c)
{
	struct offcpu_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r) + stack_bytes, 0);
	if (!r) {
		c->dropped++;
		clear_pending(st);
		return;
	}
	fill_common(r, st, t);
	if (st->flags & TS_PEND_RUNNABLE)
		r->how = OFFCPU_REC_PREEMPTED;
	else if ((long)regs->orig_ax >= 0) /* -1 for interrupts and exceptions */
		r->how = OFFCPU_REC_SYSCALL;
	else
		r->how = OFFCPU_REC_FAULT;
	fill_regs(r, regs);
	r->stack_size = copy_user_stack((__u8 *)(r + 1), regs->sp);
	bpf_ringbuf_submit(r, 0);
	c->events++;
	clear_pending(st);
}

#define SYSCALL_INSN_LEN 2

/* A syscall to be restarted after a signal has its ip moved back onto the syscall
 * instruction before the return to user mode. */
static __always_inline bool same_entry(const struct thread_state *st, const struct pt_regs *regs)
{
	return regs->sp == st->entry_sp &&
	       (regs->ip == st->entry_ip || regs->ip + SYSCALL_INSN_LEN == st->entry_ip);
}

/* A block of `delta` ns that began at `start` has ended (or is cut at the flush). */
static __always_inline void end_block(struct thread_state *st, struct task_struct *t,
				      __u64 start, __u64 delta, struct offcpu_counters *c)
{
	if (delta < min_block_ns && !(st->flags & TS_PENDING)) {
		c->short_blocks++;
		c->short_ns += delta;
		return;
	}
	if (!(st->flags & TS_PENDING)) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
		__sync_fetch_and_add(&npending, 1);
		st->flags |= TS_PENDING;
		st->pend_start = start;
		st->pend_ns = 0;
		st->pend_max = 0;
		st->nkernel = 0;
		st->entry_ip = regs->ip;
		st->entry_sp = regs->sp;
		if ((regs->cs & 3) != USER_RPL)
			st->flags |= TS_NO_USER;
		else if (!task_has_rseq(t))
			st->flags |= TS_NO_RSEQ;
	}
	if ((st->flags & TS_NO_RSEQ) && !need_sys_exit && start - t->start_time > RSEQ_GRACE_NS)
		need_sys_exit = true;
	st->pend_ns += delta;
	if (delta > st->pend_max) {
		/* The longest block of the entry gives the record its kernel stack and kind. */
		st->pend_max = delta;
		if (st->flags & TS_RUNNABLE)
			st->flags |= TS_PEND_RUNNABLE;
		else
			st->flags &= ~TS_PEND_RUNNABLE;
		if (kernel_stacks) {
			/* t is not running: its saved kernel stack is where it waited. */
			long n = bpf_get_task_stack(t, st->kstack, sizeof(st->kstack), 0);
			st->nkernel = n > 0 ? (__u32)(n / sizeof(__u64)) : 0;
		}
	}
	if (st->flags & TS_NO_USER)
		emit_kernel_only(st, t, c);
}

/* A pending block still there at a switch-out missed its completion, unless this is a
 * second block of its kernel entry. Without rseq nor sys_exit nothing completes blocks: a
 * loop on one syscall would look like one entry, so each block is then on its own. A
 * thread with rseq that missed one means a kernel whose rseq_update does not follow every
 * switch: sys_exit takes over. */
static __noinline void check_missed(struct thread_state *st, struct task_struct *prev,
				    struct offcpu_counters *c)
{
	if ((st->flags & TS_NO_RSEQ) && !sys_exit_live) {
		emit_kernel_only(st, prev, c);
		return;
	}
	if (same_entry(st, (struct pt_regs *)bpf_task_pt_regs(prev)))
		return;
	if (!(st->flags & (TS_NO_RSEQ | TS_NO_USER)) && !need_sys_exit)
		need_sys_exit = true;
	emit_kernel_only(st, prev, c);
}

static __always_inline void switch_out(__u64 now, bool preempt, struct task_struct *prev)
{
	struct thread_state *st = bpf_task_storage_get(&threads, prev, 0, 0);
	if (!st) {
		__u32 tgid = prev->tgid;
		/* not after on_exit dropped the storage: the last switch-out of a dead thread */
		if ((prev->flags & PF_EXITING) || !bpf_map_lookup_elem(&targets, &tgid))
			return;
		st = bpf_task_storage_get(&threads, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!st)
			return;
	}
	struct offcpu_counters *c = counters_get();
	if (!c)
		return;
	c->switches++;
	if (st->flags & TS_PENDING)
		check_missed(st, prev, c);
	st->out_ns = now;
	if (preempt || task_state(prev) == 0 /* TASK_RUNNING */)
		st->flags |= TS_RUNNABLE;
	else
		st->flags &= ~TS_RUNNABLE;
}

/* A target thread seen for the first time, by its switch-in or by the flush, has been off
 * the CPU since it was followed (or created, if later): a server thread blocked in
 * epoll_wait when the recording starts blocks for the whole recording, and that is time
 * to account, not to lose. NULL when next is not a target. */
static __always_inline struct thread_state *first_seen(struct task_struct *t)
{
	__u32 tgid = t->tgid;
	__u64 *since = bpf_map_lookup_elem(&targets, &tgid);
	if (!since || (t->flags & PF_EXITING))
		return NULL;
	struct thread_state *st = bpf_task_storage_get(&threads, t, 0,
						       BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (st)
		st->out_ns = *since > t->start_time ? *since : t->start_time;
	return st;
}

static __always_inline void switch_in(__u64 now, struct task_struct *next)
{
	struct thread_state *st = bpf_task_storage_get(&threads, next, 0, 0);
	if (!st)
		st = first_seen(next);
	if (!st || !st->out_ns || st->out_ns > now)
		return;
	__u64 start = st->out_ns;
	st->out_ns = 0;
	struct offcpu_counters *c = counters_get();
	if (c)
		end_block(st, next, start, now - start, c);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	/* First: the same instant ends prev's run and next's block, and nothing this program
	 * does afterwards is counted as off-CPU time. */
	__u64 now = bpf_ktime_get_ns();
	switch_out(now, preempt, prev);
	switch_in(now, next);
	return 0;
}

/* The thread t (current) is on its way back to user mode. */
static __always_inline void complete(struct task_struct *t)
{
	if (!npending)
		return;
	struct thread_state *st = bpf_task_storage_get(&threads, t, 0, 0);
	if (!st || !(st->flags & TS_PENDING))
		return;
	struct offcpu_counters *c = counters_get();
	if (!c)
		return;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	if ((regs->cs & 3) != USER_RPL || !same_entry(st, regs))
		emit_kernel_only(st, t, c);
	else
		emit_user(st, t, regs, c);
}

/* After every context switch of a thread that registered rseq, the kernel updates its
 * rseq area in exit_to_user_mode: the first point in the thread's own context after a
 * block, for syscalls, preemptions and faults alike, and a hook that costs nothing to
 * the syscalls that did not switch. */
SEC("tp_btf/rseq_update")
int BPF_PROG(on_rseq_update, struct task_struct *t)
{
	complete(t);
	return 0;
}

/* The completion of threads without rseq; attached by the loader once one shows up. */
SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	if (!sys_exit_live)
		sys_exit_live = true;
	complete(bpf_get_current_task_btf());
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *t)
{
	complete(t); /* the exiting thread is current; its user memory is still mapped */
	bpf_task_storage_delete(&threads, t);
	if (BPF_CORE_READ(t, signal, live.counter) == 0) {
		__u32 tgid = t->tgid;
		bpf_map_delete_elem(&targets, &tgid); /* the pid may be reused by a stranger */
	}
	return 0;
}

/* Loaded only with follow_children. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = parent->tgid;
	if (child->tgid == parent->tgid || !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	__u32 pid = child->tgid;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&targets, &pid, &now, BPF_ANY);
	return 0;
}

/* offcpu_flush: run once over every task after the programs above are detached. A thread
 * still off the CPU is cut now; pending blocks get their kernel stack only. */
SEC("iter/task")
int flush_task(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	if (!t)
		return 0;
	struct thread_state *st = bpf_task_storage_get(&threads, t, 0, 0);
	/* A target thread that never switched: blocked all along, unless it ran all along. */
	if (!st && task_state(t) != 0 /* TASK_RUNNING */)
		st = first_seen(t);
	if (!st)
		return 0;
	struct offcpu_counters *c = counters_get();
	if (!c)
		return 0;
	if (st->out_ns) {
		__u64 start = st->out_ns;
		st->out_ns = 0;
		end_block(st, t, start, bpf_ktime_get_ns() - start, c);
	}
	if (st->flags & TS_PENDING)
		emit_kernel_only(st, t, c);
	return 0;
}
