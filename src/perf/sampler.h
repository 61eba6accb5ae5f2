/* On-CPU stack sampling with perf_event_open, and the decoder of the perf ring buffer.
 *
 * One cpu-clock sampling event per thread of the target and online CPU, opened with
 * inherit so threads and child processes created later are sampled too. The kernel
 * neither mmaps an inherited per-task (cpu -1) event nor redirects one task's event into
 * another task's buffer, so there is one mmap'd ring buffer per CPU, which that CPU's
 * events share (PERF_EVENT_IOC_SET_OUTPUT), as in `perf record`; the drain merges the
 * rings by time. Each sample carries the tid, time, the kernel + frame-pointer
 * callchain, and — for DWARF unwinding — the user registers and a copy of the top of the
 * user stack. Side-band records (COMM, FORK, EXIT, MMAP2, LOST, THROTTLE, SWITCH) keep
 * thread names, new threads and mappings current.
 *
 * Launch mode: the events are opened on the child between fork and exec with
 * enable_on_exec, so the first instruction of the command is covered.
 *
 * Fallback off-CPU (when eBPF cannot be used): with offcpu_switch, context-switch records
 * (attr.context_switch) give each thread's switch-out and switch-in times, and a
 * sched:sched_switch tracepoint event samples the stack at every switch-out; pairing
 * them gives blocked time per stack, at the cost of a sample per switch.
 *
 * The decoder (perf_record_decode) is a pure function of untrusted bytes: fuzzed. */
#ifndef PK_PERF_SAMPLER_H
#define PK_PERF_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/regs.h"

enum perf_rec_type {
	PREC_SAMPLE = 1, /* a cpu-clock sample (on-CPU) */
	PREC_SWITCH_SAMPLE, /* a sched_switch tracepoint sample: the stack at a switch-out */
	PREC_COMM,
	PREC_FORK,
	PREC_EXIT,
	PREC_MMAP,
	PREC_LOST,
	PREC_THROTTLE,
	PREC_SWITCH,     /* context switch in or out of a thread (offcpu_switch) */
	PREC_OTHER,      /* a record type profkit does not use (skipped) */
};

/* Callchain context markers are removed: kernel_ips and user_ips are separate. */
struct perf_rec_sample {
	pid_t pid, tid;
	uint64_t time;   /* perf clock (CLOCK_MONOTONIC when use_clockid), ns */
	uint64_t period; /* ns of CPU for cpu-clock */
	const uint64_t *kernel_ips; uint32_t nkernel; /* innermost first */
	const uint64_t *user_ips; uint32_t nuser;     /* frame-pointer chain, innermost first */
	struct user_regs regs;    /* valid == 0 when none (the sample hit kernel threads) */
	const uint8_t *stack; uint64_t stack_size;    /* the valid bytes (dyn_size) */
};

struct perf_rec {
	enum perf_rec_type type;
	union {
		struct perf_rec_sample sample; /* PREC_SAMPLE, PREC_SWITCH_SAMPLE */
		struct { pid_t pid, tid; const char *comm; bool exec; } comm;
		struct { pid_t pid, ppid, tid, ptid; uint64_t time; } task; /* FORK, EXIT */
		struct {
			pid_t pid, tid; uint64_t start, len, pgoff, inode;
			uint32_t prot; const char *path; /* NUL-terminated inside the record */
		} mmap;
		struct { uint64_t lost; } lost;
		struct { uint64_t time; bool unthrottle; } throttle;
		struct { pid_t pid, tid; uint64_t time; bool out; bool preempt; } sw;
	} u;
};

/* How the samples were configured: what the decoder needs to know (sample_type, etc.). */
struct perf_rec_layout {
	uint64_t sample_type;
	uint64_t regs_user_mask;
	bool sample_id_all;
	uint64_t switch_sample_id; /* PERF_SAMPLE_IDENTIFIER/ID of the sched_switch event, 0: none */
};

/* Decodes one record (header included; header.size <= len bytes, 8-aligned as in the
 * ring). Pointers in ret point into rec. Returns 0, or -EINVAL for a malformed record
 * (sizes past len, counts too large) and for PERF_SAMPLE_READ / BRANCH_STACK layouts. */
int perf_record_decode(const void *rec, size_t len, const struct perf_rec_layout *l,
		       struct perf_rec *ret);

/* The largest record (perf_event_header.size is a u16): the size of a scratch buffer. */
#define PERF_RECORD_MAX 65536
/* The record at position pos of a ring buffer's data area (size bytes, a power of two),
 * written up to head: returns 1 with a pointer into data, or into scratch (PERF_RECORD_MAX
 * bytes, 8-aligned) when the record wraps around the end; 0 when pos == head; -EINVAL for
 * a header that cannot be right (size < 8, or past head): the rest cannot be read. */
int perf_ring_record(const uint8_t *data, uint64_t size, uint64_t pos, uint64_t head,
		     uint8_t *scratch, const uint8_t **ret, size_t *ret_len);

struct sampler_opts {
	pid_t pid;            /* attach to this process's threads, or ... */
	bool launch;          /* ... pid is a child stopped before exec: enable_on_exec */
	unsigned freq_hz;     /* samples per second per thread (0: 49) */
	bool kernel;          /* kernel callchains (needs perf_event_paranoid <= 1 or root) */
	bool dwarf;           /* user regs + stack copy for DWARF unwinding */
	uint32_t stack_bytes; /* size of the stack copy (0: 16384; multiple of 8, <= 65528) */
	bool offcpu_switch;   /* the perf fallback for off-CPU (see above) */
	size_t ring_pages;    /* data pages of the ring buffer, a power of two (0: 512 = 2 MiB) */
};

struct sampler;

/* Opens the events. On failure a one-line reason in err (which capability or
 * perf_event_paranoid setting is missing; "no such process"). -ESRCH, -EACCES/-EPERM,
 * -ENOENT (cpu-clock unavailable), -ENOMEM. */
int sampler_open(const struct sampler_opts *o, struct sampler **ret, char *err, size_t errlen);
/* The fd to put into epoll: an epoll set over the rings, readable when one has woken
 * (about four times a second per busy thread, or half full). */
int sampler_fd(const struct sampler *s);
int sampler_enable(struct sampler *s);
int sampler_disable(struct sampler *s);
/* Calls cb for each record in the ring buffer, in order, then frees the space. A record
 * that wraps around the end of the buffer is copied to a scratch buffer first. Returns the
 * number of records, or the first negative value cb returned (the record it failed on is
 * consumed; the rest stays for later). Malformed records and PREC_OTHER are skipped. The
 * events of each thread's CPUs have their own sched_switch ids: the sampler, not only
 * layout.switch_sample_id, tells PREC_SWITCH_SAMPLE apart. */
typedef int (*perf_rec_cb)(const struct perf_rec *r, void *arg);
int sampler_drain(struct sampler *s, perf_rec_cb cb, void *arg);
/* The sampling event name actually used: "cpu-clock" (its period is CPU ns, the weight). */
const char *sampler_event_name(const struct sampler *s);
struct sampler_stats { uint64_t samples, lost, throttled, malformed; };
void sampler_get_stats(const struct sampler *s, struct sampler_stats *ret);
struct sampler *sampler_free(struct sampler *s);

#endif
