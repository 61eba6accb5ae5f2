/* libprofkit: Linux performance counters (perf_event_open) — the event catalogue, groups,
 * counting, and periodic sampling of a command.
 *
 * Build against it with `pkg-config --cflags --libs profkit`.
 *
 * Conventions
 *   - Every object is an opaque handle with a _new() and a _free(); _free(NULL) is a no-op
 *     and returns NULL, so `c = pk_counters_free(c);` clears the pointer.
 *   - Functions that can fail return 0 (or a count) on success and a negative error code
 *     on failure: -errno (-EACCES, -ESRCH, ...) or one of the -PK_E_* codes below.
 *     pk_strerror() names any code; pk_ctx_errmsg() gives the full sentence about the
 *     last failure on a context ("unknown event 'page-fault' (did you mean
 *     'page-faults'?)"). Out-parameters (ret_*) are written only on success.
 *   - Nothing here prints, exits, installs signal handlers or keeps global state. One
 *     context is for one thread at a time; separate contexts are independent.
 *
 * Typical use
 *
 *     struct pk_ctx *ctx;
 *     struct pk_counters *c;
 *     pk_ctx_new(&ctx);
 *     if (pk_counters_new(ctx, "{task-clock,page-faults},context-switches", &c) < 0)
 *             fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
 *     pk_counters_open_pid(c, pid, PK_OPEN_ENABLE);
 *     struct pk_count v[3];
 *     pk_counters_read(c, v, 3);            // one read() per group
 *     ...
 *     pk_counters_free(c);
 *     pk_ctx_free(ctx);
 *
 * Event names (see docs/counters.md): perf's generic names ("cycles", "page-faults",
 * "L1-dcache-load-misses") and their PERF_COUNT_* spellings, PMU events from sysfs
 * ("msr/tsc/", "cpu/event=0x3c,umask=0x0/"), raw codes ("r01c2"), tracepoints
 * ("sched:sched_switch") and, when libprofkit was built with libpfm4, libpfm4's names.
 * Groups are written {a,b}: they are scheduled on the PMU together. Modifiers after ':'
 * choose what is counted: u (user), k (kernel), h (hypervisor), H/G (host/guest),
 * I (not idle), D (pinned), e (exclusive), p (precise). Without u/k/h an event counts user
 * space, except events that only happen in the kernel (context switches, CPU migrations,
 * tracepoints), which count where they happen.
 */
#ifndef PROFKIT_COUNTERS_H
#define PROFKIT_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PK_EXPORT __attribute__((visibility("default")))

#define PK_COUNTERS_API_VERSION 1

/* ---- errors ------------------------------------------------------------------------ */

/* Error codes of libprofkit's own, returned negated (-PK_E_SYNTAX); above any errno. */
enum pk_error {
	PK_E_SYNTAX = 4096,  /* the event specification is malformed */
	PK_E_UNKNOWN_EVENT,  /* no event has that name */
	PK_E_NOT_SUPPORTED,  /* the event exists, but this machine cannot count it */
	PK_E_NO_COUNTERS,    /* none of the events could be opened */
	PK_E_STATE,          /* the call does not fit the object's state (e.g. opened twice) */
};

/* A short description of err (a negative or positive errno or PK_E_ code). Never NULL;
 * the string is static. */
PK_EXPORT const char *pk_strerror(int err);

/* ---- context ----------------------------------------------------------------------- */

struct pk_ctx;

/* A context: where the catalogue is read from (sysfs, tracefs, libpfm4), cached, and where
 * the message about the last failure is kept. -ENOMEM. */
PK_EXPORT int pk_ctx_new(struct pk_ctx **ret);
PK_EXPORT struct pk_ctx *pk_ctx_free(struct pk_ctx *ctx);
/* The full message about the last failure of a call on ctx (or an object made from it);
 * "" when there was none. Valid until the next call on ctx. */
PK_EXPORT const char *pk_ctx_errmsg(const struct pk_ctx *ctx);
/* /proc/sys/kernel/perf_event_paranoid, or INT32_MIN when it cannot be read. */
PK_EXPORT int pk_perf_event_paranoid(void);

/* ---- the event catalogue ------------------------------------------------------------ */

enum pk_event_kind {
	PK_EVENT_HARDWARE,   /* generic hardware events: cycles, instructions, ... */
	PK_EVENT_CACHE,      /* generic cache events: L1-dcache-load-misses, ... */
	PK_EVENT_SOFTWARE,   /* kernel software events: task-clock, page-faults, ... */
	PK_EVENT_TRACEPOINT, /* subsystem:name from tracefs */
	PK_EVENT_PMU,        /* a PMU's sysfs event, or pmu/terms/ */
	PK_EVENT_RAW,        /* rNNNN: a raw code for the CPU's PMU */
	PK_EVENT_NATIVE,     /* a CPU event named by libpfm4 */
};
/* "hardware", "cache", "software", "tracepoint", "pmu", "raw", "native". */
PK_EXPORT const char *pk_event_kind_name(enum pk_event_kind kind);

/* Status of an event or counter that has not been tried yet (positive, so not an error). */
#define PK_STATUS_UNKNOWN 1

struct pk_event_info {
	const char *name;     /* the name to write in an event list */
	const char *aliases;  /* other names for it, comma-separated; "" if none */
	enum pk_event_kind kind;
	const char *pmu;      /* the PMU that counts it ("software", "tracepoint", "msr", ...) */
	const char *desc;     /* one line; "" if none */
	const char *encoding; /* "type=1,config=0x2" (perf_event_attr fields) */
	uint32_t type;        /* perf_event_attr.type and .config */
	uint64_t config;
	int status;           /* 0: it can be opened here; < 0: why not (error code);
				 PK_STATUS_UNKNOWN: not probed */
	const char *reason;   /* when status < 0: why, in words ("not supported on this
				 machine: ..."); "" otherwise */
};
/* New fields may be appended to the structs of this header; never allocate them. */

/* pk_event_list_new() flags. */
#define PK_LIST_PROBE 0x1u /* open each event once (on the caller, disabled) to learn
			      whether it can be counted here; fills status and reason.
			      Tracepoints, when more than 16 match, are probed through the
			      first one (each first open costs the kernel tens of ms) */

struct pk_event_list;

/* Every event known on this machine whose name, alias, kind name or PMU matches pattern
 * (NULL or "" for all): a glob when pattern has * ? or [, else a case-insensitive
 * substring; a kind name ("cache", "sw", "tracepoint") selects that kind. Sorted by kind,
 * then name. */
PK_EXPORT int pk_event_list_new(struct pk_ctx *ctx, const char *pattern, unsigned flags,
				struct pk_event_list **ret);
PK_EXPORT size_t pk_event_list_count(const struct pk_event_list *l);
/* NULL when i is out of range. Valid until the list is freed. */
PK_EXPORT const struct pk_event_info *pk_event_list_get(const struct pk_event_list *l,
							size_t i);
PK_EXPORT struct pk_event_list *pk_event_list_free(struct pk_event_list *l);

struct pk_pmu_info {
	const char *name;    /* directory name under /sys/bus/event_source/devices */
	uint32_t type;       /* perf_event_attr.type */
	size_t nevents;      /* events named in its events/ directory */
	const char *formats; /* its format fields: "event=config:0-7,umask=config:8-15" */
	const char *cpumask; /* CPUs it counts on when it is CPU-wide only; "" otherwise */
};
struct pk_pmu_list;
PK_EXPORT int pk_pmu_list_new(struct pk_ctx *ctx, struct pk_pmu_list **ret);
PK_EXPORT size_t pk_pmu_list_count(const struct pk_pmu_list *l);
PK_EXPORT const struct pk_pmu_info *pk_pmu_list_get(const struct pk_pmu_list *l, size_t i);
PK_EXPORT struct pk_pmu_list *pk_pmu_list_free(struct pk_pmu_list *l);

/* ---- a set of counters ------------------------------------------------------------- */

struct pk_counters;

/* Parses and resolves an event list ("{instructions,cycles},page-faults:u") into a set
 * of counters, not yet open. -PK_E_SYNTAX, -PK_E_UNKNOWN_EVENT (pk_ctx_errmsg() names the
 * event and suggests close names), -ENOMEM. The set keeps a reference to ctx: free the
 * set first. */
PK_EXPORT int pk_counters_new(struct pk_ctx *ctx, const char *spec, struct pk_counters **ret);
/* Closes the counters; a launched command that was never let run is killed. */
PK_EXPORT struct pk_counters *pk_counters_free(struct pk_counters *c);

PK_EXPORT size_t pk_counters_count(const struct pk_counters *c);
PK_EXPORT size_t pk_counters_ngroups(const struct pk_counters *c);

struct pk_counter_info {
	const char *name;     /* as written, modifiers included: "page-faults:u" */
	const char *event;    /* the event it resolved to: "page-faults" */
	enum pk_event_kind kind;
	size_t group;         /* index of its group; events outside {} are groups of one */
	bool leader;          /* it leads its group (after the ones that failed to open) */
	bool user, kernel;    /* whether it counts user space and kernel (after fallback) */
	const char *unit;     /* unit of value * scale: "msec" for the clocks, a sysfs
				 .unit, or "" for plain counts */
	double scale;         /* 1e-6 for the clocks (ns to msec), a sysfs .scale, else 1 */
	int status;           /* 0: counting; PK_STATUS_UNKNOWN: not opened yet; < 0: it
				 could not be opened (the others still count) */
	const char *reason;   /* when status < 0: why, in words; "" otherwise */
	const char *note;     /* what the fallback changed to open it, or "" */
	uint32_t type;        /* perf_event_attr.type and .config as opened */
	uint64_t config;
};
/* NULL when i is out of range. Valid until the set is freed. */
PK_EXPORT const struct pk_counter_info *pk_counters_info(const struct pk_counters *c,
							 size_t i);

/* pk_counters_open_*() and pk_counters_launch() flags. */
#define PK_OPEN_ENABLE     0x1u /* count from now on (default: disabled until
				   pk_counters_enable(); a launched command counts from exec) */
#define PK_OPEN_NO_INHERIT 0x2u /* do not follow children and new threads */
#define PK_OPEN_ALL        0x4u /* every event must open: otherwise fail with
				   -PK_E_NOT_SUPPORTED (a command is then never started) */
#define PK_OPEN_ON_EXEC    0x8u /* pk_counters_open_pid(): count from the process's next
				   exec (a child stopped between fork and exec), so that not
				   one instruction of the new program is missed */

/* Opens the counters on a process: every thread it has now (pid 0: the caller), and,
 * unless PK_OPEN_NO_INHERIT, the children and threads they create later. An event this
 * machine cannot count is left unopened with its reason (pk_counters_info()) and the
 * others are opened: returns the number of counters that could not be opened (0 when all
 * were), or -PK_E_NO_COUNTERS when none could, -ESRCH when the process does not exist,
 * -EACCES/-EPERM when not permitted (the message says what perf_event_paranoid is and
 * which capability would help). Counters can be opened once. */
PK_EXPORT int pk_counters_open_pid(struct pk_counters *c, pid_t pid, unsigned flags);
/* The same for a whole CPU (cpu >= 0) or every online CPU (cpu == -1), all processes. */
PK_EXPORT int pk_counters_open_cpu(struct pk_counters *c, int cpu, unsigned flags);
/* Starts argv (execvp: no shell) in a child that waits until the counters are open on it,
 * enabled at its exec, and returns once it has exec'd, with its PID in *ret_pid: the
 * caller owns the child and reaps it. Returns like pk_counters_open_pid(); -ENOENT or
 * -EACCES when the command cannot be executed (the child is reaped then). stdin, stdout
 * and stderr are inherited; the child's signal mask is cleared. */
PK_EXPORT int pk_counters_launch(struct pk_counters *c, char *const argv[], unsigned flags,
				 pid_t *ret_pid);

/* When pk_counters_launch() let the command go to exec (CLOCK_MONOTONIC, ns): the start
 * of its elapsed time. 0 before a launch. */
PK_EXPORT uint64_t pk_counters_launch_time(const struct pk_counters *c);

PK_EXPORT int pk_counters_enable(struct pk_counters *c);
PK_EXPORT int pk_counters_disable(struct pk_counters *c);
/* Sets the counts to zero (the enabled and running times keep counting). */
PK_EXPORT int pk_counters_reset(struct pk_counters *c);

struct pk_count {
	uint64_t value;      /* raw scaled for multiplexing: raw * enabled / running */
	uint64_t raw;        /* what the counter counted while it was on the PMU */
	uint64_t enabled_ns; /* time it was enabled; when running < enabled it was */
	uint64_t running_ns; /* multiplexed, and value is an estimate */
};

/* Reads every counter: ret[i] for counter i, n >= pk_counters_count(c). One read()
 * system call per open group (per thread or CPU it is opened on); counters that are not
 * open read as zero. -PK_E_STATE before open. */
PK_EXPORT int pk_counters_read(struct pk_counters *c, struct pk_count *ret, size_t n);

/* ---- running a command and sampling it ---------------------------------------------- */

/* pk_counters_run() flags. */
#define PK_RUN_DELTAS 0x1u /* each sample holds the change since the previous one (the
			      samples then add up to the total), not running totals */
#define PK_RUN_ALL_EVENTS 0x2u /* as PK_OPEN_ALL: fail before the command starts when an
				  event cannot be counted */

/* Called once per period and once more when the command has exited. elapsed_ns counts
 * from the command's exec. Return non-zero to stop early (the command is then killed). */
typedef int (*pk_sample_fn)(void *userdata, uint64_t elapsed_ns, const struct pk_count *counts,
			    size_t n);

/* Launches argv with the counters (as pk_counters_launch()), samples them every period_ns
 * on CLOCK_MONOTONIC absolute deadlines (no drift; a late sample is taken late, never
 * twice) until the command exits, and reaps it: *ret_status (may be NULL) gets its exit
 * status, or 128 + the signal that killed it. Returns as pk_counters_launch(), or the
 * callback's value. */
PK_EXPORT int pk_counters_run(struct pk_counters *c, char *const argv[], uint64_t period_ns,
			      unsigned flags, pk_sample_fn fn, void *userdata, int *ret_status);

/* The samples of a run as a matrix: one row per sample, one column per counter. */
struct pk_matrix;
PK_EXPORT int pk_counters_run_matrix(struct pk_counters *c, char *const argv[],
				     uint64_t period_ns, unsigned flags, struct pk_matrix **ret,
				     int *ret_status);
PK_EXPORT size_t pk_matrix_rows(const struct pk_matrix *m);
PK_EXPORT size_t pk_matrix_cols(const struct pk_matrix *m);
/* rows * cols scaled values, row by row. */
PK_EXPORT const uint64_t *pk_matrix_values(const struct pk_matrix *m);
/* rows elapsed times (ns since exec). */
PK_EXPORT const uint64_t *pk_matrix_times(const struct pk_matrix *m);
PK_EXPORT struct pk_matrix *pk_matrix_free(struct pk_matrix *m);

#ifdef __cplusplus
}
#endif

#endif
