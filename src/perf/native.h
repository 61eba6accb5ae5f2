/* libpfm4 glue: the CPU's native event names. native-pfm.c when profkit is built with
 * libpfm4, native-none.c otherwise; the rest of src/perf calls only these. libpfm4 has its
 * own struct perf_event_attr, so this interface passes plain fields. */
#ifndef PK_PERF_NATIVE_H
#define PK_PERF_NATIVE_H

#include <stdbool.h>
#include <stdint.h>

struct native_code {
	uint32_t type;
	uint64_t config, config1, config2;
};

typedef int (*native_fn)(void *ud, const char *name, const char *pmu, const char *desc,
			 const struct native_code *code);

/* Whether libpfm4 is compiled in. */
bool native_available(void);
/* Resolves a libpfm4 event name ("INST_RETIRED:ANY_P", "perf::PERF_COUNT_SW_CPU_CLOCK");
 * *ret_canon (malloc'd) gets libpfm4's full name. -ENOENT when libpfm4 does not know it
 * (or is not compiled in), -ENOMEM. */
int native_resolve(const char *name, struct native_code *ret, char **ret_canon);
/* Calls fn for every event of the CPU PMUs libpfm4 detected (not its generic "perf"
 * tables, which repeat the generic events); stops at fn's non-zero return. */
int native_each(native_fn fn, void *ud);

#endif
