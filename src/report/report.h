/* The statistics of a recording, computed once and read by every output format: per
 * process, per process tree (a process and its descendants, summed tick by tick), and for
 * the machine. Definitions are in docs/report.md. */
#ifndef PK_REPORT_REPORT_H
#define PK_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "analysis/leak.h"
#include "report/recording.h"

/* A distribution of per-sample values; every field NAN when n == 0. */
struct dist {
	size_t n;
	double mean, p50, p95, min, max;
};

enum entity_kind { ENTITY_PROCESS, ENTITY_TREE, ENTITY_GROUP };

/* A process, a process tree, or any group of processes. */
struct entity {
	enum entity_kind kind;
	const char *name; /* borrowed from the recording; NULL for a group without one */
	int32_t pid, ppid;
	double creation_epoch;
	int depth;      /* in the process tree, 0 for a root (processes only) */
	size_t members; /* processes in it */
	double t_first, t_last, duration_s;
	bool exited;     /* every member exited during the recording */
	struct dist cpu; /* CPU %, per sample (per tick for a group) */
	struct dist rss; /* resident bytes of live samples */
	double rss_end;  /* the last live sample's */
	double vms_max, swap_max, fds_max, threads_max;
	double cpu_s;            /* CPU time during the recording */
	bool cpu_s_estimated;    /* from CPU % x time: no cpu_user_s/cpu_system_s columns */
	double counter[C_COUNT]; /* increase during the recording; NAN when unknown */
	struct leak_analysis leak;
	/* The series behind it, owned: per sample for a process, per tick for a group. NAN where
	 * missing; rss is NAN in samples taken after exit. */
	struct entity_series {
		size_t n;
		double *t, *cpu, *rss;
	} series;
};

struct core_use {
	double mean, max;
};

struct machine {
	bool have; /* there was a system.csv */
	int ncores;
	struct dist cpu; /* whole machine, 0..100 */
	struct core_use *core;
	struct stats_acc mem_used, swap_used;
	bool have_energy;
	double energy_j, power_w; /* over the span of the energy readings */
	size_t ns;
	const double *t, *cpu_series; /* borrowed from the recording */
};

struct report {
	const struct recording *rec;
	double t_first, t_last;
	size_t nprocs;
	struct entity *procs; /* depth first: each process followed by its descendants */
	size_t ntrees;
	struct entity *trees; /* every process that has descendants, with them */
	struct machine machine;
};

int report_build(const struct recording *rec, struct report **ret);
struct report *report_free(struct report *r);

/* The statistics of a set of processes (indexes into rec->procs) summed tick by tick. */
int entity_of_group(const struct recording *rec, const size_t *members, size_t n,
		    struct entity *ret);
void entity_clear(struct entity *e);

/* The distribution of the non-NAN values of v[0..n); scratch holds n doubles. */
void dist_of(const double *v, size_t n, double *scratch, struct dist *ret);

#endif
