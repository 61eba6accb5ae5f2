/* Kernel struct drift, in one place (CO-RE: libbpf resolves each field against the
 * running kernel's BTF; a branch whose field is missing is dead code the verifier drops).
 * One entry per rename, with the kernel commit that made it. */
#ifndef PK_BPF_CORE_FIXES_H
#define PK_BPF_CORE_FIXES_H

#include <bpf/bpf_core_read.h>

/* task_struct::state became __state (and unsigned int) in 5.14, commit 2f064a59a11f
 * ("sched: Change task_struct::state"). */
struct task_struct___pre514 {
	volatile long state;
} __attribute__((preserve_access_index));

/* t is a BTF pointer (tp_btf, iterators): a direct load, no helper call. */
static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return (unsigned int)((struct task_struct___pre514 *)t)->state;
}

/* Whether the thread registered restartable sequences (glibc >= 2.35 does for every
 * thread): the kernel then runs rseq_update on its way back to user mode after every
 * context switch, where the off-CPU block is completed. task_struct::rseq is a pointer
 * since 4.18, commit d7822b1e24f2 ("rseq: Introduce restartable sequences system call");
 * a kernel that lays it out differently counts as "no rseq", which is only slower. */
static __always_inline bool task_has_rseq(struct task_struct *t)
{
	if (!bpf_core_field_exists(t->rseq) || bpf_core_field_size(t->rseq) != sizeof(void *))
		return false;
	return BPF_CORE_READ(t, rseq) != NULL;
}

#endif
