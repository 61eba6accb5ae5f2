/* Parsers for /proc text. Each takes the bytes of one file (not NUL-terminated, possibly
 * truncated or hostile) and fills a struct; none of them touch the file system, so they are
 * unit-tested on fixtures and fuzzed. They return 0, or -EBADMSG when required fields are
 * missing or malformed. */
#ifndef PK_PROC_PROCFS_H
#define PK_PROC_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_COMM_MAX 64 /* kernel threads may show up to 63 bytes */

/* /proc/PID/stat. Times are in clock ticks, vsize in bytes, rss in pages. rss is the
 * kernel's cheap reading of per-CPU batched counters: on recent kernels (6.18 here) it
 * reads tens of pages low, 0 just after exec; status's VmRSS is the exact sum. */
struct proc_stat {
	pid_t pid;
	char comm[PROC_COMM_MAX]; /* as the kernel prints it: may hold spaces, ')' or '\n' */
	char state;
	pid_t ppid;
	uint64_t minflt, majflt;
	uint64_t utime, stime;
	int64_t num_threads;
	uint64_t starttime;
	uint64_t vsize;
	uint64_t rss;
};
int procfs_parse_stat(const char *buf, size_t len, struct proc_stat *ret);

/* Where the keys of a "Key:  value" file (status, io, meminfo) were in its previous
 * reading; zeroed to start. A *_hinted parser looks there first and updates it: the kernel
 * prints the keys in a fixed order, mostly at fixed widths, so re-reading the same file
 * each tick finds them without walking its other lines. For a file the kernel wrote, the
 * result does not depend on the hint (with a key twice, either line may be read). */
struct procfs_hint {
	uint32_t off[8];
};

/* /proc/PID/status: only the fields the sampler needs. */
enum {
	STATUS_HAVE_SWAP = 1 << 0,
	STATUS_HAVE_CTX = 1 << 1,
	STATUS_HAVE_UID = 1 << 2,
	STATUS_HAVE_THREADS = 1 << 3,
	STATUS_HAVE_TGID = 1 << 4,
	STATUS_HAVE_RSS = 1 << 5,
};
/* A process without memory (kernel thread, zombie) has no Vm* lines. */
struct proc_status {
	unsigned have;
	uint64_t vm_rss_kb, vm_swap_kb;
	uint64_t ctx_voluntary, ctx_involuntary;
	uid_t uid;
	int64_t threads;
	pid_t tgid; /* the process a thread belongs to (itself for a process) */
};
int procfs_parse_status(const char *buf, size_t len, struct proc_status *ret);
int procfs_parse_status_hinted(const char *buf, size_t len, struct procfs_hint *hint,
			       struct proc_status *ret);

/* /proc/PID/io */
struct proc_io {
	uint64_t rchar, wchar, read_bytes, write_bytes, cancelled_write_bytes;
};
int procfs_parse_io(const char *buf, size_t len, struct proc_io *ret);
int procfs_parse_io_hinted(const char *buf, size_t len, struct procfs_hint *hint,
			   struct proc_io *ret);

/* /proc/PID/smaps_rollup: proportional and unique set sizes, bytes. */
struct proc_pss {
	uint64_t pss, uss;
};
int procfs_parse_smaps_rollup(const char *buf, size_t len, struct proc_pss *ret);

/* /proc/stat: jiffies busy and total, whole machine and per CPU (indexed by the N of cpuN,
 * so an offline CPU leaves a hole with total == 0). */
struct cpu_times {
	uint64_t busy, total;
};
int procfs_parse_cpus(const char *buf, size_t len, struct cpu_times *all,
		      struct cpu_times *per_cpu, int max_cpus, int *ret_ncpus);

/* /proc/meminfo, bytes. */
struct meminfo {
	uint64_t total, available, swap_total, swap_free;
};
int procfs_parse_meminfo(const char *buf, size_t len, struct meminfo *ret);
int procfs_parse_meminfo_hinted(const char *buf, size_t len, struct procfs_hint *hint,
				struct meminfo *ret);

/* /proc/loadavg: the last PID handed out, which tells whether any process was created. */
int procfs_parse_last_pid(const char *buf, size_t len, pid_t *ret);

/* The command line from /proc/PID/cmdline (NUL-separated) joined with spaces into out. */
void procfs_cmdline_join(const char *buf, size_t len, char *out, size_t outsz);

#endif
