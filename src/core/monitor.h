/* A run/watch recording: targets -> collectors -> model -> writers, driven by one loop. */
#ifndef PK_CORE_MONITOR_H
#define PK_CORE_MONITOR_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/targets.h"
#include "proc/energy.h"
#include "util/log.h"

struct monitor_progress {
	double elapsed_s;
	uint64_t ticks, rows;
	size_t alive, seen;
};

struct monitor_config {
	char *const *argv;     /* run: the command; NULL for watch */
	pid_t *pids;           /* watch: PIDs */
	size_t npids;
	char **names;          /* watch: process names */
	size_t nnames;
	regex_t *match;        /* watch --match */
	const char *label;     /* for the default output directory name */
	double interval_s;
	double duration_s;     /* < 0: none */
	const char *outdir;    /* NULL: ./profkit-<label>-<stamp> */
	bool force, follow_children, wait, pss;
	const char *events;    /* -e: perf counters as extra columns; NULL for none */
	int tee_stdout, tee_stderr; /* where the child's output is passed through; -1: not */
	const char *powercap_root, *power_pmu_root; /* NULL: the real ones */
	struct pk_log log;
	/* Called after every tick, and with NULL before the child's output is passed to the
	 * terminal (so a status line can be cleared first). */
	void (*progress)(void *userdata, const struct monitor_progress *p);
	void *userdata;
};

/* Why the recording ended. */
enum monitor_end { END_TARGETS_GONE, END_DURATION, END_SIGNAL, END_WRITE_ERROR };

struct monitor_result {
	char outdir[4096];
	enum monitor_end end;
	int write_error;         /* -errno of the first output file that could not be written
				  * (END_WRITE_ERROR, or summary.json alone at the end); 0 */
	char write_error_file[32];
	char incomplete_files[64]; /* others that failed after it, "stdout.txt, summary.json" */
	int exit_status;         /* run: like time(1): status, or 128+signal; -1 unknown */
	int exit_signal;         /* run: the signal that killed it, or 0 */
	double wall_s;
	double start_epoch, end_epoch;
	uint64_t ticks, late_ticks, missed_slots, rows;
	double max_lateness_s;
	double mean_period_s;          /* per slot of the schedule: drift shows here */
	double mean_sample_interval_s; /* between samples taken (missed slots count) */
	size_t ncpus;
	double sys_cpu_mean, sys_cpu_max;
	struct energy energy;    /* closed; source/reason/domains remain */
	double energy_j;         /* NAN when unavailable */
	struct target_set targets; /* every process seen, with aggregates (owned) */
	char **counter_names;    /* -e: the counter columns (owned) */
	size_t ncounters;
};

/* Prepares the output directory and the targets, then records until the end condition.
 * Returns 0 (the result tells how it ended) or -errno for a failure before recording
 * started; ret_error names what failed ("cannot execute 'x'", ...). */
int monitor_record(const struct monitor_config *cfg, struct monitor_result *ret,
		   char *ret_error, size_t errsz);
void monitor_result_free(struct monitor_result *r);

#endif
