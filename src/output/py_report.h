/* What `profkit py` prints and writes: the result table (box drawing), PREFIX.json,
 * PREFIX.csv (one record per requested function), PREFIX.folded (every whole stack,
 * weights in microseconds of wall time) and PREFIX.svg (the same stacks as an interactive
 * flamegraph, through the shared writer). Writers of the profile; they know no /proc. */
#ifndef PK_OUTPUT_PY_REPORT_H
#define PK_OUTPUT_PY_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include "analysis/pyprof.h"
#include "stack/profile.h"
#include "util/strbuf.h"

#define PY_NO_DATA "No Data Available"

/* What the run was, for the table's title and the JSON. */
struct py_report_meta {
	const char *target;   /* e.g. "PID 1234 (python3.11), CPython 3.11.7" */
	double interval_s;    /* requested */
	double rate_hz;       /* achieved samples per second (ticks) */
	const struct pyprof_totals *totals;
	const char *state;    /* "running", "stopped", "target exited" ... */
	/* The profile, for its list of threads (the table's "threads:" line, the JSON's
	 * "thread_list"); NULL: none. */
	const struct pyprof *prof;
	/* The sampler's own figures (JSON "sampler"), all per tick; have_sampler false: none. */
	bool have_sampler;
	uint64_t ticks, late_skipped; /* ticks taken; deadlines passed while late */
	double late_mean_us;          /* mean lateness of a tick after its deadline */
	double reads_per_tick;        /* process_vm_readv calls */
	double ranges_per_tick;       /* remote ranges (iovecs) they read */
	double bytes_per_tick;        /* bytes they read */
};

void py_report_table(struct strbuf *sb, const struct pyprof_result *r, size_t n,
		     const struct py_report_meta *meta);
void py_report_json(struct strbuf *sb, const struct pyprof_result *r, size_t n,
		    const struct py_report_meta *meta);
void py_report_csv(struct strbuf *sb, const struct pyprof_result *r, size_t n);
/* Lines "thread;outer;...;inner WEIGHT_US", for flamegraph.pl and profkit's own writer. */
int py_report_folded(struct strbuf *sb, struct pyprof *p);
/* The kept stacks as a stack profile: per thread (its TID), a marker frame "comm (TID)" at
 * the root, then the Python frames (kind python, name the qualified name, module
 * "file.py:line"), weights in µs of wall time as in the folded file. -ENOMEM. */
int py_report_profile(struct pyprof *p, struct stack_profile **ret);
/* The interactive flamegraph of every thread: title "profkit py: TARGET", subtitle the
 * wall time sampled, the samples and the threads. -ENOMEM. */
int py_report_svg(struct strbuf *sb, struct pyprof *p, const struct py_report_meta *meta);

#endif
