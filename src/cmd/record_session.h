/* profkit record: the recording session (sampler, off-CPU tracer, collector, the loop)
 * and the files it writes at the end. Part of the command layer: it prints messages. */
#ifndef PK_CMD_RECORD_SESSION_H
#define PK_CMD_RECORD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum record_format {
	RECORD_SPEEDSCOPE = 1 << 0,
	RECORD_PPROF = 1 << 1,
};

enum record_threads { RECORD_THREADS_AUTO, RECORD_THREADS_ON, RECORD_THREADS_OFF };

struct record_opts {
	pid_t pid;             /* attach, or ... */
	char **argv;           /* ... launch this command */
	double duration_s;     /* < 0: until the target exits or Ctrl-C */
	unsigned freq_hz;
	uint64_t min_block_us;
	const char *prefix;    /* NULL: profile_pid<PID>_<timestamp> */
	bool offcpu, kernel, dwarf, quiet, status_line;
	enum record_threads threads;
	unsigned formats;      /* enum record_format */
	uint32_t stack_bytes;  /* user stack copy per sample */
};

/* Records, writes the files, prints the summary; returns the exit code (a launched
 * command's own status when profkit itself did not fail). */
int record_session_run(const struct record_opts *o);

#endif
