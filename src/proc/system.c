#include "proc/system.h"

#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "util/macro.h"

static ssize_t reread(int fd, char *buf, size_t bufsz)
{
	ssize_t n = pread(fd, buf, bufsz - 1, 0);
	if (n < 0)
		return neg_errno();
	buf[n] = '\0';
	return n;
}

static int read_cpus(struct system_reader *s, struct cpu_times *all, struct cpu_times *per,
		     int *ret_n)
{
	/* /proc/stat grows with the number of CPUs and interrupts. */
	char buf[65536];
	ssize_t n = reread(s->statfd, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* Once open, the columns are fixed: the CPUs past them need neither parsing nor
	 * clearing (clearing all SYSTEM_MAX_CPUS was a third of the tick's user time). */
	int max = s->ncpus > 0 ? s->ncpus : SYSTEM_MAX_CPUS;
	return procfs_parse_cpus(buf, (size_t)n, all, per, max, ret_n);
}

int system_open(struct system_reader *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->statfd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
	ret->meminfofd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (ret->statfd < 0 || ret->meminfofd < 0) {
		int r = neg_errno();
		system_close(ret);
		return r;
	}
	int r = read_cpus(ret, &ret->prev_all, ret->prev, &ret->ncpus);
	if (r < 0) {
		system_close(ret);
		return r;
	}
	ret->have_prev = true;
	return 0;
}

void system_close(struct system_reader *s)
{
	if (s->statfd >= 0)
		close(s->statfd);
	if (s->meminfofd >= 0)
		close(s->meminfofd);
	s->statfd = s->meminfofd = -1;
}

static double busy_percent(struct cpu_times a, struct cpu_times b)
{
	if (b.total <= a.total || b.busy < a.busy)
		return NAN;
	return 100.0 * (double)(b.busy - a.busy) / (double)(b.total - a.total);
}

int system_read(struct system_reader *s, struct system_sample *ret, double *per_core)
{
	struct system_sample out = { .cpu_percent = NAN, .cpu_percent_per_core = per_core };
	int n;
	if (read_cpus(s, &s->cur_all, s->cur, &n) == 0) {
		out.have_cpu = true;
		out.cpu_percent = busy_percent(s->prev_all, s->cur_all);
		for (int i = 0; i < s->ncpus; i++)
			per_core[i] = busy_percent(s->prev[i], s->cur[i]);
		/* Keep the old baseline while no jiffy has passed, so that short intervals
		 * still accumulate into a real percentage at the next tick. */
		if (s->cur_all.total > s->prev_all.total)
			s->prev_all = s->cur_all;
		for (int i = 0; i < s->ncpus; i++)
			if (s->cur[i].total > s->prev[i].total)
				s->prev[i] = s->cur[i];
	} else {
		for (int i = 0; i < s->ncpus; i++)
			per_core[i] = NAN;
	}
	char buf[8192];
	ssize_t len = reread(s->meminfofd, buf, sizeof(buf));
	if (len > 0 &&
	    procfs_parse_meminfo_hinted(buf, (size_t)len, &s->meminfo_hint, &out.mem) == 0)
		out.have_mem = true;
	*ret = out;
	return 0;
}
