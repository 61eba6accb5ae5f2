/* Energy counters: Intel RAPL through powercap sysfs, else perf's "power" PMU. A source
 * is only used when its counter is seen to advance; otherwise energy is unavailable and
 * the reason says why. No made-up joules. */
#ifndef PK_PROC_ENERGY_H
#define PK_PROC_ENERGY_H

#include <stdbool.h>
#include <stdint.h>

#define ENERGY_MAX_DOMAINS 16

struct energy_domain {
	char name[64];
	int fd;           /* energy_uj file, or perf event fd */
	uint64_t range;   /* wrap-around range in the counter's unit (RAPL); 0: no wrap */
	uint64_t last;    /* last raw reading */
	double scale;     /* raw units -> joules */
	double joules;    /* accumulated since open */
};

struct energy {
	enum { ENERGY_NONE, ENERGY_RAPL, ENERGY_PERF } source;
	int ndomains;
	struct energy_domain dom[ENERGY_MAX_DOMAINS];
	char reason[512]; /* why energy is unavailable (source == ENERGY_NONE) */
};

/* Probes the sources under the given roots (tests pass fixture trees). Never fails: an
 * unavailable source leaves e->source == ENERGY_NONE with e->reason filled in. */
void energy_open(struct energy *e, const char *powercap_root, const char *pmu_root);
/* Cumulative joules since energy_open; -ENODATA when unavailable. */
int energy_read(struct energy *e, double *ret_joules);
/* Closes the counters; source, reason and domains stay for the summary. */
void energy_close(struct energy *e);
const char *energy_source_name(const struct energy *e);

/* Exposed for tests: the delta of a counter that wraps at range (0: no wrap). */
uint64_t energy_counter_delta(uint64_t prev, uint64_t cur, uint64_t range);

#endif
