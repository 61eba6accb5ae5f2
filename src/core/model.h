/* The model between collectors and writers: one row of metrics per process per tick, and
 * one row for the whole machine. Collectors fill it, writers read it; neither knows the
 * other. A value that could not be read is NAN (doubles) or absent from `have`. */
#ifndef PK_CORE_MODEL_H
#define PK_CORE_MODEL_H

#include <stdbool.h>
#include "proc/proc_reader.h"
#include "proc/system.h"

struct proc_row {
	const struct proc_sample *s;
	const char *name;
	double cpu_percent;    /* 100 per fully used core; NAN when unknown */
	double creation_epoch; /* Unix time the process started */
	double timestamp;      /* Unix time of the sample */
	double elapsed_s;      /* since the recording started (monotonic) */
	long page_size, clk_tck;
	/* Counter columns (run/watch -e): ncounters values, counter_have[i] false for an
	 * empty field; counters NULL when this process has no counters of its own. */
	size_t ncounters;
	const uint64_t *counters;
	const bool *counter_have;
};

struct system_row {
	const struct system_sample *s;
	int ncpus;
	double timestamp, elapsed_s;
	double energy_j; /* cumulative since the start; NAN when unavailable */
	double power_w;  /* over the last interval; NAN when unavailable */
};

#endif
