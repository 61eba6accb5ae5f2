/* The processes a recording follows. A process is identified by PID and start time, so a
 * recycled PID is a new target. Targets are chosen by rule: the descendants of given roots
 * (run, watch --children), fixed PIDs (watch PID), or a name / command-line regex (watch
 * NAME, --match), re-evaluated as processes appear. */
#ifndef PK_CORE_TARGETS_H
#define PK_CORE_TARGETS_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include "analysis/series.h"
#include "proc/proc_reader.h"
#include "util/log.h"
#include "util/pidmap.h"

#define TARGET_NAME_MAX 128

/* What the summary needs of a target, kept in bounded memory. */
struct target_agg {
	uint64_t samples;
	double first_ts, last_ts;        /* Unix time of first / last sample */
	uint64_t first_mono, last_mono;  /* monotonic ns of the same */
	uint64_t cpu_ns_first, cpu_ns_last;
	bool have_cpu_ns;
	double cpu_percent_max;
	uint64_t rss_max, vms_max, swap_max;
	int64_t fds_max, threads_max;
	struct proc_sample last;         /* the final reading */
	/* mem_real over time, for the leak test. Freed when the process exits, once its
	 * verdict is known, so that thousands of short-lived processes cost little. */
	struct series *mem;
	enum leak_verdict leak;
	double leak_slope;               /* bytes/s; NAN when unknown */
};

struct pk_counters;

/* run/watch -e: the perf counters of a target (inherited by what it starts later). */
struct target_counters {
	struct pk_counters *set; /* NULL once closed; values stay */
	size_t n;
	uint64_t *values;        /* the last reading, scaled for multiplexing */
	bool *have;              /* false: that event could not be counted */
};

struct target {
	pid_t pid;
	uint64_t start_ticks;
	double creation_epoch;
	char name[TARGET_NAME_MAX];
	char comm[PROC_COMM_MAX];
	struct proc_handle h;
	int pidfd;         /* becomes readable when the process exits; -1 if unavailable */
	bool alive;
	size_t alive_index; /* in target_set.alive, while alive */
	bool is_child;     /* ours to reap */
	bool descendant;   /* followed as a descendant of another target */
	bool warned_perm;
	bool have_prev;
	uint64_t prev_cpu_ns, prev_mono;
	struct target_agg agg;
	struct target_counters *counters; /* -e: NULL when not counted on its own */
	void *owner;       /* the session that follows it (for fd callbacks) */
};

enum target_rule { RULE_DESCENDANTS, RULE_PIDS, RULE_NAMES };

struct target_set {
	enum target_rule rule;
	bool follow_children; /* with RULE_PIDS / RULE_NAMES: also take their descendants */
	bool want_pss;
	char **names;
	size_t nnames;
	regex_t *match;       /* --match on the command line; NULL if none */
	pid_t self;           /* profkit: a subreaper, so orphans of the tree come to it */

	int procfd;
	int loadavgfd;
	long clk_tck;
	double boot_epoch;
	struct pk_log log;

	struct pidmap live;    /* pid -> struct target*, alive */
	struct pidmap ignored; /* pid -> struct ignored_proc *: seen and not a target */
	size_t ignored_fds;    /* of those, how many hold their /proc/PID/comm open */
	size_t ignored_fds_max;
	struct target **all;   /* every target ever, for the summary */
	size_t nall, capall;
	/* The live targets, in the order they were found: what a tick reads, so that the
	 * thousands of processes a build has run and lost cost nothing per tick. */
	struct target **alive;
	size_t nalive, capalive;
	pid_t last_pid;
	uint64_t gen;
	uint64_t last_full_scan_ns;
	/* watch NAME: processes that did not match but are young enough to still exec into
	 * (or rename themselves to) a watched name; looked at again at the next tick. */
	pid_t *young;
	size_t nyoung, capyoung;
};

int targets_init(struct target_set *ts, enum target_rule rule, const struct pk_log *log);
void targets_free(struct target_set *ts);
/* Starts following pid. -ESRCH/-ENOENT when it does not exist, -EPERM/-EACCES when /proc
 * refuses; ret_target may be NULL. Already followed: returns 0 and the existing target. */
int targets_add(struct target_set *ts, pid_t pid, bool is_child, struct target **ret_target);
/* Finds new processes that match the rule (cheaply: nothing is listed when no process
 * was created since the last call and no name re-check is due). Returns the number of
 * targets added, or -errno. */
int targets_discover(struct target_set *ts, uint64_t now_ns);
/* The process has exited: stop reading it, and take it out of ts->alive (the targets after
 * it move down one place); its aggregates and leak verdict stay for the summary. */
void targets_mark_gone(struct target_set *ts, struct target *t);
struct target *targets_find(struct target_set *ts, pid_t pid);
/* The leak verdict of PROFIT's heuristic so far (final once the target is gone). */
enum leak_verdict target_leak(const struct target *t, double *ret_slope);
/* The display name: comm, or argv[0]'s base name when comm was cut to 15 bytes. */
void targets_display_name(int procfd, pid_t pid, const char *comm, char *out, size_t outsz);

#endif
