/* The "bare C loop": the least a /proc sampler can do per tick.
 *
 *   floor [-e|-t] [-w DIR [-m]] INTERVAL DURATION PID...
 *
 * It keeps the pace of `profkit watch` (absolute deadlines on CLOCK_MONOTONIC, a late tick
 * taken once, one last tick at the end of the duration) and reads, per tick, exactly what
 * profkit reads: for each process /proc/PID/{stat,status,io} kept open and re-read with
 * pread, the entries of /proc/PID/fd counted with getdents64 after an lseek to 0, the
 * process's CPU clock, and /proc/PID/task/TID/status of every thread when the process was
 * multi-threaded at the start; then /proc/stat and /proc/meminfo once per tick. It parses
 * nothing and writes nothing: the bytes are read and dropped. The difference between its
 * CPU time and profkit's is what profkit's parsing, bookkeeping and output cost.
 *
 * Options add, one at a time, what profkit does beyond reading, so that the cost of each
 * part can be told apart from the cost of parsing and formatting:
 *   -w DIR  appends, every tick, a constant 128-byte line per process to DIR/samples.csv
 *           and a 69-byte line to DIR/system.csv, one write each, as profkit flushes rows;
 *   -m      (with -w) copies those lines into shared mappings of the two files instead of
 *           writing them (no system call per tick; what mmap'd output would cost);
 *   -t      waits as profkit's event loop does: epoll_pwait2 timing out at the next
 *           absolute deadline, timer slack 1 ns, instead of clock_nanosleep;
 *   -e      waits as profkit's loop did before: epoll_wait on a timerfd armed with the
 *           next absolute deadline, then read() of the timerfd.
 *
 * At exit it prints one line, "ticks N", which the benchmark uses to normalise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000ULL
#define READ_BUF 16384 /* as profkit (src/proc/proc_reader.c) */
/* Typical row lengths of profkit's samples.csv (an idle process) and system.csv (2 CPUs). */
#define SAMPLE_ROW 128
#define SYSTEM_ROW 69

struct target {
	int dirfd, statfd, statusfd, iofd, fdfd;
	clockid_t cpuclock;
	bool have_cpuclock;
	bool threaded;
};

static char buf[65536];   /* /proc/stat can be long: profkit reads it with 64 KiB */
static char dents[8192];  /* getdents64 buffer, as profkit's */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Reads a file from its start and drops the bytes; a process that exited reads nothing. */
static void reread(int fd, size_t size)
{
	ssize_t r = pread(fd, buf, size - 1, 0);
	(void)r;
}

static int open_at(int dirfd, const char *name, int flags)
{
	return openat(dirfd, name, flags | O_RDONLY | O_CLOEXEC);
}

/* Directory entries, "." and ".." included: counting them is not the point. */
static long count_entries(int dirfd)
{
	long n, total = 0;
	if (lseek(dirfd, 0, SEEK_SET) < 0)
		return -1;
	while ((n = syscall(SYS_getdents64, dirfd, dents, sizeof(dents))) > 0)
		total += n;
	return total;
}

static int target_open(int procfd, pid_t pid, struct target *t)
{
	char name[16];
	snprintf(name, sizeof(name), "%d", (int)pid);
	*t = (struct target){ .dirfd = open_at(procfd, name, O_DIRECTORY | O_PATH) };
	if (t->dirfd < 0)
		return -1;
	t->statfd = open_at(t->dirfd, "stat", 0);
	t->statusfd = open_at(t->dirfd, "status", 0);
	t->iofd = open_at(t->dirfd, "io", 0);
	t->fdfd = open_at(t->dirfd, "fd", O_DIRECTORY);
	if (t->statfd < 0 || t->statusfd < 0)
		return -1;
	t->have_cpuclock = clock_getcpuclockid(pid, &t->cpuclock) == 0;
	/* More than ".", ".." and one thread: profkit then sums the threads' status files. */
	int taskfd = open_at(t->dirfd, "task", O_DIRECTORY);
	if (taskfd >= 0) {
		long n, entries = 0;
		while ((n = syscall(SYS_getdents64, taskfd, dents, sizeof(dents))) > 0)
			for (long off = 0; off < n; entries++)
				off += ((struct dirent64 *)(dents + off))->d_reclen;
		t->threaded = entries > 3;
		close(taskfd);
	}
	return 0;
}

/* What profkit does for a multi-threaded process: list task/, read each TID/status. */
static void read_threads(const struct target *t)
{
	int taskfd = open_at(t->dirfd, "task", O_DIRECTORY);
	if (taskfd < 0)
		return;
	DIR *d = fdopendir(taskfd);
	if (!d) {
		close(taskfd);
		return;
	}
	struct dirent *e;
	char path[40];
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%.16s/status", e->d_name);
		int fd = open_at(dirfd(d), path, 0);
		if (fd >= 0) {
			reread(fd, READ_BUF);
			close(fd);
		}
	}
	closedir(d);
}

static void read_target(const struct target *t)
{
	reread(t->statfd, READ_BUF);
	reread(t->statusfd, READ_BUF);
	if (t->threaded)
		read_threads(t);
	if (t->iofd >= 0)
		reread(t->iofd, READ_BUF);
	if (t->fdfd >= 0)
		count_entries(t->fdfd);
	struct timespec ts;
	if (t->have_cpuclock)
		clock_gettime(t->cpuclock, &ts);
}

static double parse_seconds(const char *s, const char *what)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "floor: invalid %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

/* -w DIR: the two output files and what is written to them every tick. */
struct output {
	int samplesfd, systemfd;
	char *rows, system_row[SYSTEM_ROW];
	size_t rows_len;
};

static int output_open(const char *dir, size_t nprocs, struct output *o)
{
	char path[4096];
	int flags = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC; /* -m maps them */
	snprintf(path, sizeof(path), "%s/samples.csv", dir);
	o->samplesfd = open(path, flags, 0644);
	snprintf(path, sizeof(path), "%s/system.csv", dir);
	o->systemfd = open(path, flags, 0644);
	o->rows_len = nprocs * SAMPLE_ROW;
	o->rows = malloc(o->rows_len);
	if (o->samplesfd < 0 || o->systemfd < 0 || !o->rows)
		return -1;
	memset(o->rows, '0', o->rows_len);
	for (size_t i = 1; i <= nprocs; i++)
		o->rows[i * SAMPLE_ROW - 1] = '\n';
	memset(o->system_row, '0', SYSTEM_ROW - 1);
	o->system_row[SYSTEM_ROW - 1] = '\n';
	return 0;
}

/* -m: the rows are copied into shared mappings of the files instead (grown 1 MiB at a
 * time with fallocate, so a full disk is an error there and never a SIGBUS). */
struct mapped {
	int fd;
	char *map;
	size_t size, used;
};

static int mapped_append(struct mapped *f, const char *data, size_t len)
{
	if (f->used + len > f->size) {
		size_t size = f->size + (1u << 20);
		if (f->map)
			munmap(f->map, f->size);
		if (fallocate(f->fd, 0, 0, (off_t)size) < 0)
			return -1;
		f->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
		if (f->map == MAP_FAILED)
			return -1;
		f->size = size;
	}
	memcpy(f->map + f->used, data, len);
	f->used += len;
	return 0;
}

static struct mapped mapped_samples = { .fd = -1 }, mapped_system = { .fd = -1 };

static void output_write(const struct output *o, bool use_mmap)
{
	if (use_mmap) {
		mapped_samples.fd = o->samplesfd;
		mapped_system.fd = o->systemfd;
		if (mapped_append(&mapped_samples, o->rows, o->rows_len) < 0 ||
		    mapped_append(&mapped_system, o->system_row, SYSTEM_ROW) < 0) {
			perror("floor: mmap output");
			exit(1);
		}
		return;
	}
	ssize_t r = write(o->samplesfd, o->rows, o->rows_len);
	r = write(o->systemfd, o->system_row, SYSTEM_ROW);
	(void)r;
}

/* -e: a timerfd in an epoll set, as profkit's loop. */
struct waiter {
	int epfd, timerfd;
};

static int waiter_open(struct waiter *w)
{
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	if (w->epfd < 0 || w->timerfd < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->timerfd, &ev) < 0)
		return -1;
	return 0;
}

static void waiter_wait(const struct waiter *w, const struct timespec *deadline)
{
	struct itimerspec it = { .it_value = *deadline };
	struct epoll_event ev;
	uint64_t expirations;
	timerfd_settime(w->timerfd, TFD_TIMER_ABSTIME, &it, NULL);
	while (epoll_wait(w->epfd, &ev, 1, -1) < 0 && errno == EINTR)
		;
	ssize_t r = read(w->timerfd, &expirations, sizeof(expirations));
	(void)r;
}

/* -t: epoll_pwait2 with a timeout to the deadline, no timerfd (one system call). */
static void waiter_wait_timeout(const struct waiter *w, uint64_t deadline)
{
	struct epoll_event ev;
	for (;;) {
		uint64_t now = mono_ns();
		if (now >= deadline)
			return;
		uint64_t left = deadline - now;
		struct timespec ts = { (time_t)(left / NSEC_PER_SEC), (long)(left % NSEC_PER_SEC) };
		if (epoll_pwait2(w->epfd, &ev, 1, &ts, NULL) == 0)
			return;
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: floor [-e|-t] [-w DIR [-m]] INTERVAL DURATION PID...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *outdir = NULL;
	bool use_epoll = false, use_timeout = false, use_mmap = false;
	for (int opt; (opt = getopt(argc, argv, "+etmw:")) != -1;) {
		if (opt == 'e')
			use_epoll = true;
		else if (opt == 't')
			use_timeout = true;
		else if (opt == 'm')
			use_mmap = true;
		else if (opt == 'w')
			outdir = optarg;
		else
			return usage();
	}
	argv += optind - 1;
	argc -= optind - 1;
	if (argc < 4)
		return usage();
	uint64_t interval = (uint64_t)(parse_seconds(argv[1], "interval") * 1e9 + 0.5);
	uint64_t duration = (uint64_t)(parse_seconds(argv[2], "duration") * 1e9 + 0.5);
	if (interval == 0) {
		fprintf(stderr, "floor: the interval must be positive\n");
		return 2;
	}
	size_t n = (size_t)(argc - 3);

	/* Five descriptors per process, as profkit. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int statfd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
	int meminfofd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	struct target *targets = calloc(n, sizeof(*targets));
	if (procfd < 0 || statfd < 0 || meminfofd < 0 || !targets) {
		perror("floor: setup");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (target_open(procfd, (pid_t)atoi(argv[3 + i]), &targets[i]) < 0) {
			fprintf(stderr, "floor: cannot open /proc/%s: %s\n", argv[3 + i],
				strerror(errno));
			return 1;
		}
	}

	struct output out;
	if (outdir && output_open(outdir, n, &out) < 0) {
		fprintf(stderr, "floor: cannot write into %s: %s\n", outdir, strerror(errno));
		return 1;
	}
	struct waiter waiter = { -1, -1 };
	if (use_timeout)
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* as profkit: wake at the deadline */
	if ((use_epoll || use_timeout) && waiter_open(&waiter) < 0) {
		perror("floor: timerfd");
		return 1;
	}

	uint64_t start = mono_ns(), end = start + duration, deadline = start, ticks = 0;
	for (uint64_t k = 0;;) {
		for (size_t i = 0; i < n; i++)
			read_target(&targets[i]);
		reread(statfd, sizeof(buf));
		reread(meminfofd, 8192); /* profkit's buffer for meminfo */
		if (outdir)
			output_write(&out, use_mmap);
		ticks++;
		if (deadline >= end)
			break;
		/* The next slot not yet passed; the end itself is the last deadline. */
		uint64_t now = mono_ns();
		k++;
		if (start + k * interval <= now)
			k = (now - start) / interval + 1;
		deadline = start + k * interval;
		if (deadline > end)
			deadline = end;
		struct timespec ts = { .tv_sec = (time_t)(deadline / NSEC_PER_SEC),
				       .tv_nsec = (long)(deadline % NSEC_PER_SEC) };
		if (use_timeout)
			waiter_wait_timeout(&waiter, deadline);
		else if (use_epoll)
			waiter_wait(&waiter, &ts);
		else
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
	}
	printf("ticks %llu\n", (unsigned long long)ticks);
	return 0;
}
