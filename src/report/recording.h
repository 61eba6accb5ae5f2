/* A recording loaded for `profkit report`: the processes of samples.csv keyed by identity
 * (pid + creation_epoch) with their series, the ticks, and the machine series of
 * system.csv when there is one. summary.json is not needed. */
#ifndef PK_REPORT_RECORDING_H
#define PK_REPORT_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "analysis/stats.h"
#include "util/strbuf.h"

/* Values that can go up and down: kept per sample. */
enum rec_gauge { G_CPU, G_RSS, G_VMS, G_SWAP, G_FDS, G_THREADS, G_COUNT };
/* Cumulative counters: only their first and last known values matter. */
enum rec_counter {
	C_CPU_USER,
	C_CPU_SYSTEM,
	C_READ,
	C_WRITE,
	C_CTX_VOLUNTARY,
	C_CTX_INVOLUNTARY,
	C_MINOR_FAULTS,
	C_MAJOR_FAULTS,
	C_COUNT
};

extern const char *const rec_gauge_columns[G_COUNT];
extern const char *const rec_counter_columns[C_COUNT];

struct rec_counter_span {
	bool have;
	double first, last;
};

struct rec_process {
	int32_t pid, ppid;     /* ppid 0 when unknown */
	double creation_epoch; /* NAN when unknown */
	char *name;            /* the last one seen (exec changes it) */
	size_t n;              /* samples */
	const uint32_t *rows;  /* their indexes into recording.rows, in time order */
	uint32_t first_tick, last_tick;
	double gauge_max[G_COUNT]; /* the largest value of each gauge; NAN when never known */
	struct rec_counter_span c[C_COUNT];
	long parent;         /* index in recording.procs; -1: not in the recording */
	long older_same_pid; /* the previous process with this pid; -1: none */
	bool exited;         /* seen as a zombie, or gone before the recording ended */
};

struct rec_system {
	size_t n, cap;
	double *t, *cpu; /* cpu NAN when missing */
	int ncores;
	struct stats_acc *core; /* per core CPU % */
	struct stats_acc mem_used, mem_available, swap_used, power;
	bool have_energy;
	double energy_first, energy_last, energy_t_first, energy_t_last;
};

/* Every sample of samples.csv, in file order. */
struct rec_rows {
	size_t n, cap;
	double *t;          /* Unix time */
	double *g[G_COUNT]; /* NAN: missing, a memory value of a process that had exited, or an
			     * RSS of 0 that the kernel had not counted yet (docs/report.md) */
	uint32_t *tick;
	uint32_t *proc;    /* index in recording.procs */
	char *state;       /* '\0' when unknown */
	uint32_t *by_proc; /* row indexes grouped by process (rec_process.rows points here) */
};

struct recording {
	char *samples_path, *system_path; /* system_path NULL when there is none */
	struct rec_rows rows;
	struct rec_process *procs; /* in order of first appearance */
	size_t nprocs, procs_cap;
	double *tick_t; /* Unix time of each tick */
	uint32_t nticks, ticks_cap;
	bool have_gauge[G_COUNT], have_counter[C_COUNT], have_ppid, have_state;
	bool have_system;
	struct rec_system sys;
	struct strbuf warnings; /* one line each, no "profkit:" prefix */
};

/* Loads PATH: a recording directory, or a samples.csv (with the system.csv beside it when
 * the file is called samples.csv). On failure returns -errno and puts one line naming the
 * file, and where it applies the line and column, into err. */
int recording_load(const char *path, struct recording **ret, char *err, size_t errlen);
struct recording *recording_free(struct recording *r);

/* A sample taken after the process had exited (zombie or dead): its memory is gone. */
static inline bool rec_state_is_dead(char state) { return state == 'Z' || state == 'X'; }

#endif
