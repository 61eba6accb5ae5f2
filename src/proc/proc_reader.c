#include "proc/proc_reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "util/dirs.h"
#include "util/macro.h"

/* Room for status (~1.5 KiB, more with long Cpus_allowed lists on big machines) and a
 * stat line; pread of a seq file at offset 0 regenerates it. */
#define READ_BUF 16384

static int open_at(int dirfd, const char *name, int flags)
{
	return openat(dirfd, name, flags | O_RDONLY | O_CLOEXEC);
}

int proc_open(int procfd, pid_t pid, bool want_pss, struct proc_handle *ret)
{
	char name[16];
	snprintf(name, sizeof(name), "%d", (int)pid);
	struct proc_handle h = { .pid = pid, .dirfd = -1, .statfd = -1, .statusfd = -1,
				 .iofd = -1, .fdfd = -1, .smapsfd = -1 };
	h.dirfd = open_at(procfd, name, O_DIRECTORY | O_PATH);
	if (h.dirfd < 0)
		return neg_errno();
	h.statfd = open_at(h.dirfd, "stat", 0);
	h.statusfd = open_at(h.dirfd, "status", 0);
	if (h.statfd < 0 || h.statusfd < 0) {
		int r = neg_errno();
		proc_close(&h);
		return r;
	}
	/* These need ptrace-read access: without it the columns stay empty. */
	h.iofd = open_at(h.dirfd, "io", 0);
	h.io_err = h.iofd < 0 ? errno : 0;
	h.fdfd = open_at(h.dirfd, "fd", O_DIRECTORY);
	h.fd_err = h.fdfd < 0 ? errno : 0;
	if (want_pss)
		h.smapsfd = open_at(h.dirfd, "smaps_rollup", 0);
	h.have_cpuclock = clock_getcpuclockid(pid, &h.cpuclock) == 0;
	*ret = h;
	return 0;
}

void proc_close(struct proc_handle *h)
{
	int *fds[] = { &h->dirfd, &h->statfd, &h->statusfd, &h->iofd, &h->fdfd, &h->smapsfd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static ssize_t pread_all(int fd, char *buf, size_t bufsz)
{
	ssize_t n = pread(fd, buf, bufsz - 1, 0);
	if (n < 0)
		return neg_errno();
	buf[n] = '\0';
	return n;
}

ssize_t proc_read_file_at(int dirfd, const char *path, char *buf, size_t bufsz)
{
	int fd = open_at(dirfd, path, 0);
	if (fd < 0)
		return neg_errno();
	ssize_t n = pread_all(fd, buf, bufsz);
	close(fd);
	return n;
}

int64_t proc_count_dir(int dirfd)
{
	char buf[8192];
	int64_t count = 0;
	if (lseek(dirfd, 0, SEEK_SET) < 0)
		return neg_errno();
	for (;;) {
		long n = syscall(SYS_getdents64, dirfd, buf, sizeof(buf));
		if (n < 0)
			return neg_errno();
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			if (!(d->d_name[0] == '.' &&
			      (d->d_name[1] == '\0' || (d->d_name[1] == '.' && d->d_name[2] == '\0'))))
				count++;
			off += d->d_reclen;
		}
	}
	return count;
}

/* Context switches are per thread in the kernel's status file: a multi-threaded process
 * needs the sum over /proc/PID/task/TID/status. Threads that already exited are lost. */
static int sum_thread_ctx(struct proc_handle *h, struct proc_sample *s)
{
	DIR *d;
	int r = opendir_at(h->dirfd, "task", &d);
	if (r < 0)
		return r;
	uint64_t vol = 0, invol = 0;
	char buf[READ_BUF], path[40];
	struct procfs_hint hint = h->status_hint; /* threads' status files look alike */
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%.16s/status", e->d_name);
		ssize_t n = proc_read_file_at(dirfd(d), path, buf, sizeof(buf));
		struct proc_status st;
		if (n > 0 && procfs_parse_status_hinted(buf, (size_t)n, &hint, &st) == 0 &&
		    (st.have & STATUS_HAVE_CTX)) {
			vol += st.ctx_voluntary;
			invol += st.ctx_involuntary;
		}
	}
	closedir(d);
	s->ctx_voluntary = vol;
	s->ctx_involuntary = invol;
	return 0;
}

/* RSS from status, which is read anyway: stat's is approximate (see procfs.h). Without
 * memory (vsize 0: a kernel thread or a zombie) there are no Vm lines and RSS is 0; a
 * process with memory whose VmRSS could not be read has no RSS rather than a low one. */
static void set_rss(struct proc_sample *s)
{
	if ((s->have & SAMPLE_HAVE_STATUS) && (s->status.have & STATUS_HAVE_RSS)) {
		s->rss_bytes = s->status.vm_rss_kb * 1024;
		s->have |= SAMPLE_HAVE_RSS;
	} else if (s->stat.vsize == 0) {
		s->rss_bytes = 0;
		s->have |= SAMPLE_HAVE_RSS;
	}
}

int proc_read(struct proc_handle *h, struct proc_sample *ret)
{
	char buf[READ_BUF];
	struct proc_sample s = { 0 };

	ssize_t n = pread_all(h->statfd, buf, sizeof(buf));
	if (n == 0 || errno_is_gone((int)n))
		return -ESRCH;
	if (n < 0)
		return (int)n;
	if (procfs_parse_stat(buf, (size_t)n, &s.stat) < 0)
		return -EBADMSG;
	/* Caught while its parent reaps it: the kernel already detached it (state X, or a
	 * zombie whose parent reads as 0), so what it reports (ppid 0, no memory) is not the
	 * process any more. Gone, like a process whose files have vanished. */
	if (s.stat.state == 'X' || (s.stat.state == 'Z' && s.stat.ppid == 0))
		return -ESRCH;

	n = pread_all(h->statusfd, buf, sizeof(buf));
	if (n > 0 &&
	    procfs_parse_status_hinted(buf, (size_t)n, &h->status_hint, &s.status) == 0) {
		s.have |= SAMPLE_HAVE_STATUS;
		if (s.status.have & STATUS_HAVE_CTX) {
			s.ctx_voluntary = s.status.ctx_voluntary;
			s.ctx_involuntary = s.status.ctx_involuntary;
			s.have |= SAMPLE_HAVE_CTX;
		}
	}
	set_rss(&s);
	if (s.stat.num_threads > 1 && sum_thread_ctx(h, &s) == 0)
		s.have |= SAMPLE_HAVE_CTX;

	if (h->iofd >= 0 && (n = pread_all(h->iofd, buf, sizeof(buf))) > 0 &&
	    procfs_parse_io_hinted(buf, (size_t)n, &h->io_hint, &s.io) == 0)
		s.have |= SAMPLE_HAVE_IO;

	if (h->fdfd >= 0 && s.stat.state != 'Z') {
		s.num_fds = proc_count_dir(h->fdfd);
		if (s.num_fds >= 0)
			s.have |= SAMPLE_HAVE_FDS;
	}

	if (h->smapsfd >= 0 && (n = pread_all(h->smapsfd, buf, sizeof(buf))) > 0 &&
	    procfs_parse_smaps_rollup(buf, (size_t)n, &s.pss) == 0)
		s.have |= SAMPLE_HAVE_PSS;

	struct timespec ts;
	if (h->have_cpuclock && clock_gettime(h->cpuclock, &ts) == 0) {
		s.cpu_ns = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
		s.have |= SAMPLE_HAVE_CPU_NS;
	}
	*ret = s;
	return 0;
}
