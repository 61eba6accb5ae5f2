/* Captures the calling thread's registers and the top of its stack the way a perf sample
 * (PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER) does, for the unwinder's tests: the
 * unwind_target program and the in-process unit test. x86-64 only.
 *
 * Registers in DWARF numbering (as stack/regs.h): RSP, RIP, RBP, RBX, R12-R15 — what a
 * CFI unwinder needs (the others are caller-saved and never restored). RIP is the address
 * just after the capturing instruction and RSP its stack pointer, so the CFI at RIP
 * describes that very frame. */
#ifndef TARGETS_UNWIND_CAPTURE_H
#define TARGETS_UNWIND_CAPTURE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* The wire format unwind_target writes: a header, then stack_size bytes of stack. */
#define UNWIND_CAPTURE_MAGIC 0x31444e5557ULL /* "UWND1" */
#define UNWIND_CAPTURE_DEPTH 5              /* capture point, then 4 return addresses */

struct unwind_capture {
	uint64_t magic;
	uint64_t pid, tid;
	uint64_t r[17];      /* DWARF numbering, r[16] = RIP */
	uint32_t valid;
	uint32_t pad;
	/* What a correct unwind returns: [0] the capture point, then the return addresses
	 * into level_b, level_a, main and main's caller, as __builtin_return_address saw
	 * them. */
	uint64_t expect[UNWIND_CAPTURE_DEPTH];
	uint64_t stack_size;
};

/* Not inlined and not cloned: the call chain stays as written. */
#ifdef __clang__
#define UNWIND_NOINLINE __attribute__((noinline))
#else
#define UNWIND_NOINLINE __attribute__((noinline, noclone))
#endif

/* One asm statement, so that nothing moves RSP between reading it and reading RIP. */
#define UNWIND_CAPTURE_REGS(r)                                                  \
	__asm__ volatile("movq %%rbx, 3*8(%0)\n\t"                              \
			 "movq %%rbp, 6*8(%0)\n\t"                              \
			 "movq %%rsp, 7*8(%0)\n\t"                              \
			 "movq %%r12, 12*8(%0)\n\t"                             \
			 "movq %%r13, 13*8(%0)\n\t"                             \
			 "movq %%r14, 14*8(%0)\n\t"                             \
			 "movq %%r15, 15*8(%0)\n\t"                             \
			 "leaq 0(%%rip), %%rax\n\t"                             \
			 "movq %%rax, 16*8(%0)\n\t"                             \
			 : : "r"(r) : "rax", "memory")

#define UNWIND_CAPTURE_VALID                                                    \
	((1u << 3) | (1u << 6) | (1u << 7) | (1u << 12) | (1u << 13) | (1u << 14) | \
	 (1u << 15) | (1u << 16))

/* Copies [sp, sp + len) of our own stack byte by byte, not through memcpy and not
 * instrumented: under ASan the stack holds poisoned redzones that are not ours to judge.
 * noinline: its frame lies below sp, outside what it copies. */
__attribute__((noinline, no_sanitize_address, unused)) static void
unwind_copy_stack(uint8_t *dst, uint64_t sp, size_t len)
{
	const volatile uint8_t *src = (const volatile uint8_t *)(uintptr_t)sp;
	for (size_t i = 0; i < len; i++)
		dst[i] = src[i];
}

/* How much of want bytes from sp up is this thread's stack (the copy must not run off the
 * top of it). */
__attribute__((unused)) static size_t unwind_stack_avail(uint64_t sp, size_t want)
{
	pthread_attr_t a;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return 0;
	int r = pthread_attr_getstack(&a, &addr, &size);
	pthread_attr_destroy(&a);
	uint64_t top = (uint64_t)(uintptr_t)addr + size;
	if (r != 0 || sp >= top)
		return 0;
	return top - sp < want ? (size_t)(top - sp) : want;
}

#endif
