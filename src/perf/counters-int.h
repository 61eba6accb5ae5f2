/* The counter set's insides, shared by counters.c and run.c. */
#ifndef PK_PERF_COUNTERS_INT_H
#define PK_PERF_COUNTERS_INT_H

#include "perf/perf.h"

struct counter {
	struct pk_counter_info info; /* what pk_counters_info() returns; points below */
	char *name, *event;
	char unit[32];
	char reason[256];
	char note[256];
	struct perf_event_attr attr; /* as it will be (or was) opened */
	struct spec_mods mods;
	bool kernel_side;
	int cpu_hint;
};

struct group {
	size_t first, n; /* its counters */
	size_t leader;   /* the counter that leads it once open */
	size_t nopen;    /* members open, in read order: */
	size_t *order;   /* counter index of each value of a group read */
};

struct pk_counters {
	struct pk_ctx *ctx;
	struct counter *ctr;
	size_t n;
	struct group *grp;
	size_t ngroups;
	int *fds;     /* ninst rows of n: one fd per counter per thread or CPU; -1 if not open */
	size_t ninst;
	uint64_t *buf; /* a group read */
	bool opened;
	uint64_t launch_ns; /* CLOCK_MONOTONIC when a launched command was let go */
};

/* raw * enabled / running, without overflow; 0 when it never ran. */
uint64_t count_scale(uint64_t raw, uint64_t enabled, uint64_t running);

#endif
