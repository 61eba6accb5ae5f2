/* Reads one process's metrics from /proc. Files are opened once per process and re-read
 * with pread() each tick: open+close would double the syscalls of the hot path. */
#ifndef PK_PROC_PROC_READER_H
#define PK_PROC_PROC_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "proc/procfs.h"

struct proc_handle {
	pid_t pid;
	int dirfd;      /* /proc/PID */
	int statfd;     /* stat */
	int statusfd;   /* status */
	int iofd;       /* io; -1 when not permitted */
	int fdfd;       /* fd/ directory; -1 when not permitted */
	int smapsfd;    /* smaps_rollup, only with --pss */
	int io_err;     /* errno of opening io / fd when they could not be opened, or 0 */
	int fd_err;
	clockid_t cpuclock;
	bool have_cpuclock;
	struct procfs_hint status_hint, io_hint; /* where their keys were last tick */
};

enum {
	SAMPLE_HAVE_STATUS = 1 << 0,
	SAMPLE_HAVE_IO = 1 << 1,
	SAMPLE_HAVE_FDS = 1 << 2,
	SAMPLE_HAVE_CPU_NS = 1 << 3,
	SAMPLE_HAVE_PSS = 1 << 4,
	SAMPLE_HAVE_CTX = 1 << 5,
	SAMPLE_HAVE_RSS = 1 << 6,
};

struct proc_sample {
	unsigned have;
	struct proc_stat stat;
	struct proc_status status;
	struct proc_io io;
	struct proc_pss pss;
	/* Resident set in bytes: status's VmRSS (exact; stat's rss can read tens of pages
	 * low), 0 for a process without memory (kernel thread, zombie). */
	uint64_t rss_bytes;
	uint64_t ctx_voluntary, ctx_involuntary; /* summed over live threads */
	int64_t num_fds;
	uint64_t cpu_ns; /* all threads, dead ones included, in nanoseconds */
};

/* Opens /proc/PID relative to procfd (an fd of /proc). -ESRCH/-ENOENT: no such process. */
int proc_open(int procfd, pid_t pid, bool want_pss, struct proc_handle *ret);
void proc_close(struct proc_handle *h);
/* Fills ret. -ESRCH when the process is gone (a zombie still reads fine); fields that
 * cannot be read (permissions) are left out of ret->have rather than failing. */
int proc_read(struct proc_handle *h, struct proc_sample *ret);
/* Reads a whole small file relative to dirfd into buf (NUL-terminated); bytes or -errno. */
ssize_t proc_read_file_at(int dirfd, const char *path, char *buf, size_t bufsz);
/* Counts the entries of an open directory, rewinding it first; -errno on failure. */
int64_t proc_count_dir(int dirfd);

#endif
