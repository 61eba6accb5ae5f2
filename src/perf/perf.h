/* Internals of libprofkit's counters: the context, the PMUs read from sysfs, resolving an
 * event term to a perf_event_attr, and the words that explain a failure. */
#ifndef PK_PERF_PERF_H
#define PK_PERF_PERF_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "perf/format.h"
#include "perf/spec.h"
#include "profkit/counters.h"
#include "util/macro.h"

#define PK_PATH_MAX 512

struct pmu_field {
	char *name;
	struct pmu_format f;
};

struct pmu_alias {
	char *name;
	char *terms; /* the events/<name> file: "event=0x00" */
	char *unit;  /* events/<name>.unit, or NULL */
	double scale; /* events/<name>.scale, or 1 */
};

struct pmu {
	char *name;
	uint32_t type;
	struct pmu_field *fields;
	size_t nfields;
	struct pmu_alias *aliases;
	size_t naliases;
	char *cpumask;     /* "" when it counts per task */
	char *formats_str; /* "event=config:0-7,..." */
};

struct pk_ctx {
	char sysfs[PK_PATH_MAX];   /* "/sys" (tests point it at a fixture tree) */
	char tracefs[PK_PATH_MAX]; /* the events/ directory found, "" until looked up */
	char err[1024];
	struct pmu *pmus;
	size_t npmus;
	bool pmus_loaded;
	int pmus_error;
	bool native_ready; /* libpfm4 initialised for this context */
};

/* The message of the last failure; returns err (negative) for `return ctx_err(...)`. */
int ctx_err(struct pk_ctx *ctx, int err, const char *fmt, ...) _printf_(3, 4);
/* Internal: use another sysfs root (a test fixture tree). */
int ctx_set_sysfs_root(struct pk_ctx *ctx, const char *root);

/* The PMUs of <sysfs>/bus/event_source/devices, read once per context. */
int pmus_load(struct pk_ctx *ctx);
const struct pmu *pmu_find(struct pk_ctx *ctx, const char *name);
/* Whether a CPU PMU (hardware counters) is exposed: "cpu", "cpu_core", "armv8_...". */
bool pmus_have_cpu(struct pk_ctx *ctx);

/* <tracefs>/events, found under <sysfs>/kernel/tracing or <sysfs>/kernel/debug/tracing;
 * -ENOENT (with a message) when tracefs is not mounted. */
int tracefs_events_dir(struct pk_ctx *ctx, const char **ret);

/* An event term resolved to what perf_event_open needs. */
struct resolved {
	struct perf_event_attr attr;
	enum pk_event_kind kind;
	char *event;    /* canonical name: "page-faults", "msr/tsc/", "sched:sched_switch" */
	char unit[32];
	double scale;
	bool kernel_side; /* happens only in the kernel: counts kernel by default */
	int cpu_hint;     /* a CPU-wide-only PMU's first CPU, or -1 */
};

/* The online CPUs, from /sys/devices/system/cpu/online ("0-3,6"), into a malloc'd array
 * (the CPUs a task may run on). -ENOENT for an empty list, -ENOMEM. */
int perf_online_cpus(int **ret, size_t *ret_n);

/* Resolves one parsed event; -PK_E_UNKNOWN_EVENT (message with suggestions), -EINVAL for
 * bad PMU terms, -ENOENT when tracefs is missing, -ENOMEM. ret->event is malloc'd. */
int event_resolve(struct pk_ctx *ctx, const struct spec_event *ev, struct resolved *ret);
void resolved_free(struct resolved *r);

/* Sets the privilege and other modifier bits of attr: explicit modifiers, else the
 * default (user space; kernel too for kernel_side events). */
void attr_apply_mods(struct perf_event_attr *attr, const struct spec_mods *m, bool kernel_side);

/* perf_event_open(2). -errno. */
int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
	      unsigned long flags);

/* Why opening failed, in words, into buf: "not supported on this machine: ...",
 * "not permitted: perf_event_paranoid is 2; ...". cpu_wide: opened on a CPU. */
void open_reason(struct pk_ctx *ctx, int err, enum pk_event_kind kind, const struct perf_event_attr *attr,
		 bool cpu_wide, char *buf, size_t size);
/* The status code for a failed open: -PK_E_NOT_SUPPORTED for "not supported" errnos. */
int open_status(int err);

static inline bool errno_is_not_supported(int e)
{
	e = e < 0 ? -e : e;
	return e == EOPNOTSUPP || e == ENOTTY || e == ENOSYS || e == ENOENT || e == ENODEV ||
	       e == ENXIO;
}

/* The catalogue entries (events.c), for listing. */
struct event_entry {
	char *name, *aliases, *pmu, *desc, *encoding;
	enum pk_event_kind kind;
	uint32_t type;
	uint64_t config;
	struct perf_event_attr attr;
	bool kernel_side;
	int cpu_hint;
};
/* Calls fn for every event known here. */
int catalogue_each(struct pk_ctx *ctx, int (*fn)(void *ud, struct event_entry *e), void *ud);

/* Generic names for the suggestions and lookups. */
size_t generic_names(const char ***ret);

/* Edit distance, capped at cap+1. */
unsigned edit_distance(const char *a, const char *b, unsigned cap);

#endif
