/* Whole-machine metrics per tick: CPU (total and per core) and memory. */
#ifndef PK_PROC_SYSTEM_H
#define PK_PROC_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>
#include "proc/procfs.h"

#define SYSTEM_MAX_CPUS 1024

struct system_reader {
	int statfd, meminfofd;
	int ncpus; /* columns cpu0..cpu(ncpus-1), fixed at open */
	struct cpu_times prev_all, cur_all;
	struct cpu_times prev[SYSTEM_MAX_CPUS], cur[SYSTEM_MAX_CPUS];
	bool have_prev;
	struct procfs_hint meminfo_hint;
};

struct system_sample {
	bool have_cpu, have_mem;
	double cpu_percent;            /* 0..100 of the whole machine; NAN when no jiffy passed */
	double *cpu_percent_per_core;  /* ncpus entries, NAN for an offline core */
	struct meminfo mem;
};

int system_open(struct system_reader *ret);
void system_close(struct system_reader *s);
/* per_core must have room for s->ncpus doubles. */
int system_read(struct system_reader *s, struct system_sample *ret, double *per_core);

#endif
