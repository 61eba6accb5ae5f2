/* User-space registers of a sampled or blocked thread, as the DWARF unwinder wants them:
 * x86-64 registers in DWARF numbering (System V psABI, table "DWARF Register Number
 * Mapping"). The perf sampler converts from perf's PERF_REG_X86_* order and the off-CPU
 * eBPF program from struct pt_regs; both fill this one shape. */
#ifndef PK_STACK_REGS_H
#define PK_STACK_REGS_H

#include <stdint.h>

enum user_reg {
	UREG_RAX = 0, UREG_RDX, UREG_RCX, UREG_RBX, UREG_RSI, UREG_RDI, UREG_RBP, UREG_RSP,
	UREG_R8, UREG_R9, UREG_R10, UREG_R11, UREG_R12, UREG_R13, UREG_R14, UREG_R15,
	UREG_RIP, /* 16: the return-address column */
	UREG_COUNT,
};

struct user_regs {
	uint64_t r[UREG_COUNT];
	uint32_t valid; /* bit i set: r[i] holds a value */
};

#define UREGS_MIN_VALID ((1u << UREG_RIP) | (1u << UREG_RSP))

#endif
