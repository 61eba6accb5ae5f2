/* The text outputs of `profkit record`: PREFIX_analysis.txt (where the wall-clock time
 * went, the top blocking reasons, the threads) and, for a multi-threaded target,
 * PREFIX/thread_analysis.txt (one line per thread with its role). */
#ifndef PK_OUTPUT_RECORD_REPORT_H
#define PK_OUTPUT_RECORD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "analysis/timeacct.h"
#include "stack/profile.h"
#include "util/strbuf.h"

struct record_meta {
	pid_t pid;
	const char *name;         /* the target's comm */
	const char *command;      /* launched command line, NULL when attached */
	double start_unix;        /* recording start, Unix seconds */
	double wall_s;            /* recording length */
	const char *event;        /* "cpu-clock" */
	unsigned freq_hz;
	bool dwarf;               /* user stacks by DWARF unwinding */
	bool kernel;              /* kernel stacks */
	const char *offcpu;       /* "eBPF sched_switch", "perf sched_switch (fallback)"; NULL: off */
	const char *offcpu_note;  /* why not eBPF, or NULL */
	uint64_t min_block_us;
	uint64_t samples, lost_samples;
	uint64_t offcpu_blocks, offcpu_dropped;
	uint64_t stacks, stacks_reaching_root; /* user stacks that reach main / a thread start */
	const char *end_reason;   /* "duration", "target exited", "interrupted" */
};

/* PREFIX_analysis.txt for the threads t[0..n) (every thread of the recording). -ENOMEM. */
int record_analysis_write(struct strbuf *out, const struct record_meta *m,
			  const struct stack_profile *p, const struct thread_time *t, size_t n);
/* PREFIX/thread_analysis.txt. -ENOMEM. */
int record_threads_write(struct strbuf *out, const struct record_meta *m,
			 const struct stack_profile *p, const struct thread_time *t, size_t n);

#endif
