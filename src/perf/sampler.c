/* On-CPU stack sampling with perf_event_open: the events, the ring buffers and the drain.
 *
 * The kernel refuses to mmap an inherited per-task event (cpu == -1) and to redirect
 * (PERF_EVENT_IOC_SET_OUTPUT) a per-task event into another task's buffer. So, as
 * `perf record` does, each thread gets one event per online CPU (pid = tid, cpu = c,
 * inherit), and every event on CPU c writes into CPU c's ring buffer: the first event
 * opened on c is mmap'd, the others are redirected to it. Threads created later inherit
 * their creator's events and write into the same buffers. sampler_fd() is an epoll set of
 * one event per ring; the drain merges the rings by time.
 *
 * Attach mode opens the events enabled, so that a thread created by an already sampled
 * thread while the others are being opened leaves a FORK record: the re-scan of
 * /proc/PID/task then opens events only for new threads that did not inherit any. The
 * events are disabled again before sampler_open() returns; sampler_enable() starts them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "perf/perf.h"
#include "perf/sampler.h"

/* x86-64 user registers that perf exposes (DS, ES, FS, GS are refused on 64-bit):
 * AX BX CX DX SI DI BP SP IP FLAGS CS SS (bits 0-11) and R8-R15 (bits 16-23). */
#define REGS_USER_MASK (0xfffULL | (0xffULL << 16))
#define SAMPLE_TYPE (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | \
		     PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_PERIOD)
#define RESCAN_ROUNDS 4

enum ev_kind { EV_SAMPLING, EV_SWITCH };

struct event {
	int fd;
	unsigned ring; /* index of its CPU */
	bool hup;      /* its task and inherited children are gone: poll says POLLHUP */
};

struct ring {
	int cpu;
	struct perf_event_mmap_page *meta;
	const uint8_t *data;
	uint64_t size; /* data bytes, a power of two */
	size_t map_len;
	int owner_fd;  /* the event the buffer was mmap'd on */
	size_t poll_ev; /* events[] index whose fd is in the epoll set; SIZE_MAX: none */
	uint8_t *scratch; /* PERF_RECORD_MAX bytes, for a record that wraps around the end */
	uint64_t tail;
	/* during a drain: the snapshot of data_head and the record at tail */
	uint64_t head;
	const uint8_t *rec;
	size_t rec_len;
	uint64_t rec_time;
};

struct sampler {
	struct perf_rec_layout layout;
	struct event *ev;
	size_t nev, capev;
	struct ring *rings;
	size_t nrings;
	uint64_t *switch_ids; /* sorted: the ids of the sched_switch events */
	size_t nswitch_ids;
	int epfd;
	struct sampler_stats stats;
	/* while opening */
	struct perf_event_attr sample_attr, switch_attr;
	size_t ring_pages, min_pages;
	pid_t pid;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	ssize_t n = read(fd, buf, size - 1);
	int e = n < 0 ? neg_errno() : 0;
	close(fd);
	if (e < 0)
		return e;
	buf[n] = '\0';
	return (int)n;
}

static long read_long(const char *path, long dflt)
{
	char buf[64];
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return dflt;
	char *end;
	long v = strtol(buf, &end, 10);
	return end == buf ? dflt : v;
}

struct tids {
	pid_t *v;
	size_t n, cap;
};

static int tids_add(struct tids *t, pid_t tid)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		pid_t *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = tid;
	return 0;
}

static bool tids_has(const struct tids *t, pid_t tid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i] == tid)
			return true;
	return false;
}

/* The threads of pid, main thread first. -ESRCH when the process is gone. */
static int list_threads(pid_t pid, struct tids *ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : neg_errno();
	int r = tids_add(ret, pid);
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid > 0 && tid != pid)
			r = tids_add(ret, tid);
	}
	closedir(d);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* ---- why it failed, in one line ----------------------------------------------------- */

static const char *caps = "CAP_PERFMON (CAP_SYS_ADMIN before Linux 5.8)";

static void explain_privilege(const struct sampler_opts *o, enum ev_kind kind, char *err,
			      size_t len)
{
	int par = pk_perf_event_paranoid();
	char p[48];
	if (par == INT_MIN)
		snprintf(p, sizeof(p), "perf_event_paranoid cannot be read");
	else
		snprintf(p, sizeof(p), "perf_event_paranoid is %d", par);
	if (kind == EV_SWITCH)
		snprintf(err, len, "not permitted: the off-CPU fallback samples the kernel's "
			 "sched_switch tracepoint, which needs perf_event_paranoid <= 1 or %s "
			 "(%s); on-CPU sampling works without it", caps, p);
	else if (o->kernel)
		snprintf(err, len, "not permitted: kernel callchains need perf_event_paranoid "
			 "<= 1 or %s (%s); without kernel, user stacks only (exclude_kernel) "
			 "still work", caps, p);
	else if (par > 2)
		snprintf(err, len, "not permitted: %s, which closes perf events to unprivileged "
			 "users; sampling user stacks needs <= 2 or %s", p, caps);
	else
		snprintf(err, len, "not permitted: sampling process %d needs ptrace access to it "
			 "(same user, or CAP_SYS_PTRACE) or %s (%s)", (int)o->pid, caps, p);
}

static void explain_open(struct pk_ctx *ctx, const struct sampler_opts *o, enum ev_kind kind,
			 const struct perf_event_attr *attr, size_t nevents, int err, char *buf,
			 size_t len)
{
	long max_rate;
	if (err == -ESRCH) {
		snprintf(buf, len, "process %d: no such process", (int)o->pid);
	} else if (errno_is_privilege(err)) {
		explain_privilege(o, kind, buf, len);
	} else if (err == -EMFILE || err == -ENFILE) {
		snprintf(buf, len, "too many open files after %zu events (one per thread and CPU); "
			 "raise 'ulimit -n'", nevents);
	} else if (err == -EINVAL && kind == EV_SAMPLING &&
		   (max_rate = read_long("/proc/sys/kernel/perf_event_max_sample_rate", -1)) >= 0 &&
		   attr->sample_freq > (uint64_t)max_rate) {
		snprintf(buf, len, "sampling at %llu Hz is above perf_event_max_sample_rate (%ld)",
			 (unsigned long long)attr->sample_freq, max_rate);
	} else if (errno_is_not_supported(err) && kind == EV_SAMPLING) {
		snprintf(buf, len, "this kernel cannot sample cpu-clock (%s)",
			 strerrorname_np(-err) ? strerrorname_np(-err) : "?");
	} else {
		char why[256];
		open_reason(ctx, err, kind == EV_SWITCH ? PK_EVENT_TRACEPOINT : PK_EVENT_SOFTWARE,
			    attr, false, why, sizeof(why));
		snprintf(buf, len, "%s: %s", kind == EV_SWITCH ? "sched:sched_switch" : "cpu-clock",
			 why);
	}
}

/* ---- opening --------------------------------------------------------------------------- */

static void attr_common(struct perf_event_attr *a, const struct sampler_opts *o)
{
	a->size = sizeof(*a);
	a->sample_type = SAMPLE_TYPE;
	if (o->dwarf) {
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = REGS_USER_MASK;
		a->sample_stack_user = o->stack_bytes;
	}
	a->exclude_callchain_kernel = !o->kernel;
	a->exclude_hv = 1;
	a->exclude_guest = 1;
	a->inherit = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC; /* comparable with bpf_ktime_get_ns() and the ticks */
	a->sample_id_all = 1;
	a->disabled = 1;
	a->enable_on_exec = o->launch;
	/* Wake the loop about four times a second per busy thread, not at every sample;
	 * the kernel also wakes it when the buffer is half full. */
	a->wakeup_events = o->freq_hz / 4 ? o->freq_hz / 4 : 1;
}

static void attrs_init(struct sampler *s, const struct sampler_opts *o, uint64_t switch_tp)
{
	struct perf_event_attr *a = &s->sample_attr;
	memset(a, 0, sizeof(*a));
	attr_common(a, o);
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_CPU_CLOCK;
	a->freq = 1;
	a->sample_freq = o->freq_hz;
	a->exclude_kernel = !o->kernel;
	/* Side band, on the sampling event only so that each record comes once. */
	a->comm = a->comm_exec = a->task = 1;
	a->mmap = a->mmap2 = 1;
	a->context_switch = o->offcpu_switch;

	a = &s->switch_attr;
	memset(a, 0, sizeof(*a));
	attr_common(a, o);
	a->type = PERF_TYPE_TRACEPOINT;
	a->config = switch_tp;
	a->sample_period = 1;
	/* A tracepoint fires in the kernel: exclude_kernel would drop every hit. */
	a->exclude_kernel = 0;
}

/* The id of sched:sched_switch from tracefs. */
static int switch_tracepoint(struct pk_ctx *ctx, uint64_t *ret, char *err, size_t len)
{
	static const char *const needs = "the off-CPU fallback needs the id of "
		"sched:sched_switch from it (and perf_event_paranoid <= 1 or CAP_PERFMON to "
		"sample it); on-CPU sampling works without it";
	const char *dir;
	int r = tracefs_events_dir(ctx, &dir);
	if (r < 0) {
		/* Mounted but closed to this user: say so, not "not mounted". */
		if (access("/sys/kernel/tracing", X_OK) < 0 && errno_is_privilege(errno)) {
			snprintf(err, len, "not permitted: tracefs (/sys/kernel/tracing) is open "
				 "to root only; %s", needs);
			return -EACCES;
		}
		snprintf(err, len, "the off-CPU fallback needs tracefs: %s", pk_ctx_errmsg(ctx));
		return r;
	}
	char path[PK_PATH_MAX + 64], buf[32];
	snprintf(path, sizeof(path), "%s/sched/sched_switch/id", dir);
	r = read_text(path, buf, sizeof(buf));
	if (r <= 0) {
		r = r < 0 ? r : -ENOENT;
		if (errno_is_privilege(r))
			snprintf(err, len, "not permitted: %s is readable by root only; %s", path,
				 needs);
		else
			snprintf(err, len, "the off-CPU fallback needs the sched:sched_switch "
				 "tracepoint: cannot read %s (%s)", path, strerror(-r));
		return r;
	}
	*ret = strtoull(buf, NULL, 10);
	return 0;
}

static int ring_map(struct sampler *s, struct ring *rg, int fd)
{
	long page = sysconf(_SC_PAGESIZE);
	if (!(rg->scratch = malloc(PERF_RECORD_MAX)))
		return -ENOMEM;
	for (;;) {
		size_t len = (s->ring_pages + 1) * (size_t)page;
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			rg->meta = m;
			rg->data = (const uint8_t *)m + page;
			rg->size = s->ring_pages * (uint64_t)page;
			rg->map_len = len;
			rg->owner_fd = fd;
			rg->tail = rg->meta->data_tail;
			return 0;
		}
		int e = neg_errno();
		/* Past perf_event_mlock_kb (and RLIMIT_MEMLOCK) the buffer cannot be locked:
		 * a smaller one still works. All rings keep the same size. */
		if (e != -EPERM || s->ring_pages / 2 < s->min_pages)
			return e;
		s->ring_pages /= 2;
	}
}

static int add_event(struct sampler *s, int fd, unsigned ring)
{
	if (s->nev == s->capev) {
		size_t cap = s->capev ? s->capev * 2 : 32;
		struct event *v = realloc(s->ev, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->ev = v;
		s->capev = cap;
	}
	s->ev[s->nev++] = (struct event){ .fd = fd, .ring = ring };
	return 0;
}

static int add_switch_id(struct sampler *s, int fd)
{
	uint64_t id;
	if (ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0)
		return neg_errno();
	uint64_t *v = realloc(s->switch_ids, (s->nswitch_ids + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->switch_ids = v;
	s->switch_ids[s->nswitch_ids++] = id;
	return 0;
}

struct opener {
	const struct sampler_opts *o;
	struct pk_ctx *ctx;
	char *err;
	size_t errlen;
};

static int open_event(struct sampler *s, struct opener *op, pid_t tid, unsigned ring,
		      enum ev_kind kind)
{
	struct perf_event_attr attr = kind == EV_SWITCH ? s->switch_attr : s->sample_attr;
	struct ring *rg = &s->rings[ring];
	int fd = perf_open(&attr, tid, rg->cpu, -1, 0);
	if (fd < 0) {
		explain_open(op->ctx, op->o, kind, &attr, s->nev, fd, op->err, op->errlen);
		return fd;
	}
	int e = add_event(s, fd, ring);
	if (e < 0) {
		close(fd);
		return e;
	}
	if (!rg->meta) {
		e = ring_map(s, rg, fd);
		if (e == -EPERM)
			snprintf(op->err, op->errlen, "not permitted: cannot lock a %zu KiB ring "
				 "buffer in memory: perf_event_mlock_kb is %ld KiB per user; raise "
				 "it or RLIMIT_MEMLOCK, or CAP_IPC_LOCK",
				 s->ring_pages * (size_t)sysconf(_SC_PAGESIZE) / 1024,
				 read_long("/proc/sys/kernel/perf_event_mlock_kb", -1));
		else if (e < 0)
			snprintf(op->err, op->errlen, "cannot map the ring buffer: %s",
				 strerror(-e));
	} else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, rg->owner_fd) < 0) {
		e = neg_errno();
		snprintf(op->err, op->errlen, "the kernel refused to share a ring buffer "
			 "(PERF_EVENT_IOC_SET_OUTPUT): %s", strerror(-e));
	}
	if (e == 0 && kind == EV_SWITCH && (e = add_switch_id(s, fd)) < 0)
		snprintf(op->err, op->errlen, "cannot read the event id: %s", strerror(-e));
	return e;
}

/* The thread's events on every CPU. A thread that has just exited (-ESRCH) is not an
 * error, but for the main thread: the events it got are kept, marked gone. */
static int open_thread(struct sampler *s, struct opener *op, pid_t tid)
{
	size_t first = s->nev;
	int e = 0;
	/* The sched_switch event before the sampling event, whose switch records it pairs
	 * with: a switch-out recorded on a CPU then always has its stack sample. */
	for (unsigned c = 0; e == 0 && c < s->nrings; c++) {
		if (op->o->offcpu_switch)
			e = open_event(s, op, tid, c, EV_SWITCH);
		if (e == 0)
			e = open_event(s, op, tid, c, EV_SAMPLING);
	}
	if (e == -ESRCH && tid != op->o->pid) {
		/* Rings mapped on these events stay valid: the mapping holds the buffer. */
		for (size_t i = first; i < s->nev; i++)
			s->ev[i].hup = true;
		op->err[0] = '\0';
		return 0;
	}
	return e;
}

/* ---- reading the rings ------------------------------------------------------------------ */

/* The record at pos into *ret (see perf_ring_record). */
static int ring_record(struct ring *rg, uint64_t pos, uint64_t head, const uint8_t **ret,
		       size_t *ret_len)
{
	return perf_ring_record(rg->data, rg->size, pos, head, rg->scratch, ret, ret_len);
}

static void ring_release(struct ring *rg)
{
	__atomic_store_n(&rg->meta->data_tail, rg->tail, __ATOMIC_RELEASE);
}

/* The time of a record, for merging the rings: in the sample, or in its sample_id. */
static uint64_t record_time(const uint8_t *rec, size_t len, const struct perf_rec_layout *l)
{
	struct perf_event_header h;
	memcpy(&h, rec, sizeof(h));
	uint64_t t = l->sample_type, v = 0;
	if (!(t & PERF_SAMPLE_TIME))
		return 0;
	size_t off;
	if (h.type == PERF_RECORD_SAMPLE) {
		off = sizeof(h) + 8 * (size_t)__builtin_popcountll(t & (PERF_SAMPLE_IDENTIFIER |
									PERF_SAMPLE_IP |
									PERF_SAMPLE_TID));
	} else {
		/* The sample_id after time: id, stream_id, cpu, identifier. */
		size_t after = 8 * (size_t)__builtin_popcountll(t & (PERF_SAMPLE_ID |
								     PERF_SAMPLE_STREAM_ID |
								     PERF_SAMPLE_CPU |
								     PERF_SAMPLE_IDENTIFIER));
		if (!l->sample_id_all || len < sizeof(h) + after + 8)
			return 0;
		off = len - after - 8;
	}
	if (off + 8 <= len)
		memcpy(&v, rec + off, 8);
	return v;
}

/* Loads the ring's next record into rg->rec; false when it has none. A corrupt header
 * drops the rest of that ring's snapshot. */
static bool ring_next(struct sampler *s, struct ring *rg)
{
	rg->rec = NULL;
	int r = ring_record(rg, rg->tail, rg->head, &rg->rec, &rg->rec_len);
	if (r < 0) {
		s->stats.malformed++;
		rg->tail = rg->head;
		ring_release(rg);
		return false;
	}
	if (r == 0)
		return false;
	rg->rec_time = s->nrings > 1 ? record_time(rg->rec, rg->rec_len, &s->layout) : 0;
	return true;
}

static bool is_switch_id(const struct sampler *s, const uint8_t *rec, size_t len)
{
	uint64_t id;
	if (!s->nswitch_ids || len < 16)
		return false;
	memcpy(&id, rec + 8, sizeof(id)); /* PERF_SAMPLE_IDENTIFIER: first after the header */
	return bsearch(&id, s->switch_ids, s->nswitch_ids, sizeof(id), cmp_u64) != NULL;
}

/* Decodes one record and hands it to cb: 1 when cb saw it, 0 when skipped, or cb's
 * negative value. */
static int deliver(struct sampler *s, const uint8_t *rec, size_t len, perf_rec_cb cb, void *arg)
{
	struct perf_rec pr;
	if (perf_record_decode(rec, len, &s->layout, &pr) < 0) {
		s->stats.malformed++;
		return 0;
	}
	switch (pr.type) {
	case PREC_OTHER:
		return 0;
	case PREC_SAMPLE:
		/* Each thread and CPU has its own sched_switch event: the layout holds one id. */
		if (is_switch_id(s, rec, len))
			pr.type = PREC_SWITCH_SAMPLE;
		s->stats.samples++;
		break;
	case PREC_SWITCH_SAMPLE:
		s->stats.samples++;
		break;
	case PREC_LOST:
		s->stats.lost += pr.u.lost.lost;
		break;
	case PREC_THROTTLE:
		s->stats.throttled += !pr.u.throttle.unthrottle;
		break;
	default:
		break;
	}
	int r = cb(&pr, arg);
	return r < 0 ? r : 1;
}

/* A ring whose polled event reported POLLHUP (its thread and the threads it created are
 * gone) gets another of its events polled, so that epoll neither spins on the hang-up
 * nor misses the buffer's wake-ups while other threads still write into it. */
static void prune_hangups(struct sampler *s)
{
	struct epoll_event evs[16];
	for (int round = 0; round < 8; round++) {
		int n = epoll_wait(s->epfd, evs, ARRAY_SIZE(evs), 0);
		bool any = false;
		for (int i = 0; i < n; i++) {
			if (!(evs[i].events & (EPOLLHUP | EPOLLERR)))
				continue;
			struct ring *rg = &s->rings[evs[i].data.u32];
			if (rg->poll_ev == SIZE_MAX)
				continue;
			struct event *old = &s->ev[rg->poll_ev];
			old->hup = true;
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, old->fd, NULL);
			size_t next = SIZE_MAX;
			for (size_t k = 0; k < s->nev && next == SIZE_MAX; k++)
				if (s->ev[k].ring == old->ring && !s->ev[k].hup)
					next = k;
			rg->poll_ev = next;
			if (next != SIZE_MAX) {
				struct epoll_event ee = { .events = EPOLLIN,
							  .data.u32 = old->ring };
				epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->ev[next].fd, &ee);
			}
			any = true;
		}
		if (!any)
			break;
	}
}

int sampler_drain(struct sampler *s, perf_rec_cb cb, void *arg)
{
	if (!s || !cb)
		return -EINVAL;
	prune_hangups(s);
	for (size_t i = 0; i < s->nrings; i++) {
		struct ring *rg = &s->rings[i];
		if (!rg->meta)
			continue;
		rg->head = __atomic_load_n(&rg->meta->data_head, __ATOMIC_ACQUIRE);
		ring_next(s, rg);
	}
	int count = 0;
	for (;;) {
		/* The oldest record of all the rings (few: one per CPU). */
		struct ring *best = NULL;
		for (size_t i = 0; i < s->nrings; i++) {
			struct ring *rg = &s->rings[i];
			if (rg->rec && (!best || rg->rec_time < best->rec_time))
				best = rg;
		}
		if (!best)
			break;
		int r = deliver(s, best->rec, best->rec_len, cb, arg);
		best->tail += best->rec_len;
		ring_release(best);
		if (r < 0)
			return r;
		count += r;
		ring_next(s, best);
	}
	return count;
}

/* The tids with a FORK record in the rings (not consumed): threads that inherited the
 * events of the thread that created them. */
static int forked_tids(struct sampler *s, struct tids *ret)
{
	for (size_t i = 0; i < s->nrings; i++) {
		struct ring *rg = &s->rings[i];
		if (!rg->meta)
			continue;
		uint64_t head = __atomic_load_n(&rg->meta->data_head, __ATOMIC_ACQUIRE);
		const uint8_t *rec;
		size_t len;
		for (uint64_t pos = rg->tail; ring_record(rg, pos, head, &rec, &len) > 0;
		     pos += len) {
			struct perf_rec pr;
			if (perf_record_decode(rec, len, &s->layout, &pr) == 0 &&
			    pr.type == PREC_FORK && tids_add(ret, pr.u.task.tid) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- the public calls ------------------------------------------------------------------- */

static int check_opts(struct sampler_opts *o, char *err, size_t len)
{
	if (!o->freq_hz)
		o->freq_hz = 49;
	if (!o->stack_bytes)
		o->stack_bytes = 16384;
	if (!o->ring_pages)
		o->ring_pages = 512;
	if (o->pid <= 0) {
		snprintf(err, len, "no process to sample");
		return -EINVAL;
	}
	if (o->dwarf && (o->stack_bytes % 8 || o->stack_bytes > 65528)) {
		snprintf(err, len, "the stack copy must be a multiple of 8 bytes, at most 65528");
		return -EINVAL;
	}
	if (o->ring_pages & (o->ring_pages - 1)) {
		snprintf(err, len, "the ring buffer must be a power of two pages");
		return -EINVAL;
	}
	return 0;
}

/* Attach: every thread, then the threads that appeared meanwhile without inheriting. */
static int open_attached(struct sampler *s, struct opener *op)
{
	struct tids done = { 0 }, now = { 0 }, forked = { 0 };
	int e = list_threads(s->pid, &done);
	for (size_t i = 0; e == 0 && i < done.n; i++)
		e = open_thread(s, op, done.v[i]);
	for (int round = 0; e == 0 && round < RESCAN_ROUNDS; round++) {
		now.n = forked.n = 0;
		if ((e = list_threads(s->pid, &now)) < 0 || (e = forked_tids(s, &forked)) < 0)
			break;
		bool found = false;
		for (size_t i = 0; e == 0 && i < now.n; i++) {
			pid_t tid = now.v[i];
			if (tids_has(&done, tid))
				continue;
			found = true;
			if ((e = tids_add(&done, tid)) == 0 && !tids_has(&forked, tid))
				e = open_thread(s, op, tid);
		}
		if (!found)
			break;
	}
	free(done.v);
	free(now.v);
	free(forked.v);
	if (e == -ESRCH)
		snprintf(op->err, op->errlen, "process %d: no such process", (int)s->pid);
	return e;
}

static int poll_setup(struct sampler *s)
{
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return neg_errno();
	for (unsigned i = 0; i < s->nrings; i++) {
		struct ring *rg = &s->rings[i];
		rg->poll_ev = SIZE_MAX;
		for (size_t k = 0; k < s->nev; k++)
			if (s->ev[k].fd == rg->owner_fd)
				rg->poll_ev = k;
		if (rg->poll_ev == SIZE_MAX)
			continue;
		struct epoll_event ee = { .events = EPOLLIN, .data.u32 = i };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, rg->owner_fd, &ee) < 0)
			return neg_errno();
	}
	return 0;
}

/* In the order the events were opened, or the reverse: enabled sched_switch first and
 * disabled last (see open_thread). */
static int ioctl_all(struct sampler *s, unsigned long req, bool reverse)
{
	int first = 0;
	for (size_t k = 0; k < s->nev; k++) {
		const struct event *ev = &s->ev[reverse ? s->nev - 1 - k : k];
		if (!ev->hup && ioctl(ev->fd, req, 0) < 0 && !first && errno != ESRCH)
			first = neg_errno();
	}
	return first;
}

int sampler_open(const struct sampler_opts *opts, struct sampler **ret, char *err,
		 size_t errlen)
{
	char dummy[8];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (!opts || !ret)
		return -EINVAL;
	struct sampler_opts o = *opts;
	int e = check_opts(&o, err, errlen);
	if (e < 0)
		return e;
	struct sampler *s = calloc(1, sizeof(*s));
	struct pk_ctx *ctx = NULL;
	int *cpus = NULL;
	size_t ncpus = 0;
	if (!s || pk_ctx_new(&ctx) < 0 || perf_online_cpus(&cpus, &ncpus) < 0 ||
	    !(s->rings = calloc(ncpus, sizeof(*s->rings)))) {
		e = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->epfd = -1;
	s->pid = o.pid;
	s->nrings = ncpus;
	for (size_t i = 0; i < ncpus; i++)
		s->rings[i] = (struct ring){ .cpu = cpus[i], .owner_fd = -1, .poll_ev = SIZE_MAX };
	s->ring_pages = o.ring_pages;
	/* A smaller buffer must still hold a few samples with their stack copies. */
	s->min_pages = o.dwarf ? 64 : 8;
	if (s->min_pages > s->ring_pages)
		s->min_pages = s->ring_pages;

	uint64_t switch_tp = 0;
	if (o.offcpu_switch && (e = switch_tracepoint(ctx, &switch_tp, err, errlen)) < 0)
		goto fail;
	attrs_init(s, &o, switch_tp);
	s->layout = (struct perf_rec_layout){
		.sample_type = s->sample_attr.sample_type,
		.regs_user_mask = s->sample_attr.sample_regs_user,
		.sample_id_all = true,
	};
	struct opener op = { .o = &o, .ctx = ctx, .err = err, .errlen = errlen };
	if (o.launch) {
		e = open_thread(s, &op, o.pid);
	} else {
		/* Enabled while the threads are opened: see the top of this file. */
		s->sample_attr.disabled = s->switch_attr.disabled = 0;
		e = open_attached(s, &op);
		if (e == 0)
			e = ioctl_all(s, PERF_EVENT_IOC_DISABLE, true);
	}
	if (e < 0)
		goto fail;
	if (s->nswitch_ids) {
		s->layout.switch_sample_id = s->switch_ids[0];
		qsort(s->switch_ids, s->nswitch_ids, sizeof(uint64_t), cmp_u64);
	}
	if ((e = poll_setup(s)) < 0) {
		snprintf(err, errlen, "cannot poll the ring buffers: %s", strerror(-e));
		goto fail;
	}
	free(cpus);
	pk_ctx_free(ctx);
	*ret = s;
	return 0;
fail:
	if (!err[0])
		snprintf(err, errlen, "%s", strerror(-e));
	free(cpus);
	pk_ctx_free(ctx);
	sampler_free(s);
	return e;
}

int sampler_fd(const struct sampler *s)
{
	return s ? s->epfd : -EINVAL;
}

int sampler_enable(struct sampler *s)
{
	return s ? ioctl_all(s, PERF_EVENT_IOC_ENABLE, false) : -EINVAL;
}

int sampler_disable(struct sampler *s)
{
	return s ? ioctl_all(s, PERF_EVENT_IOC_DISABLE, true) : -EINVAL;
}

const char *sampler_event_name(const struct sampler *s)
{
	(void)s;
	return "cpu-clock";
}

void sampler_get_stats(const struct sampler *s, struct sampler_stats *ret)
{
	*ret = s ? s->stats : (struct sampler_stats){ 0 };
}

struct sampler *sampler_free(struct sampler *s)
{
	if (!s)
		return NULL;
	if (s->epfd >= 0)
		close(s->epfd);
	for (size_t i = 0; s->rings && i < s->nrings; i++) {
		if (s->rings[i].meta)
			munmap(s->rings[i].meta, s->rings[i].map_len);
		free(s->rings[i].scratch);
	}
	for (size_t i = 0; i < s->nev; i++)
		close(s->ev[i].fd);
	free(s->rings);
	free(s->ev);
	free(s->switch_ids);
	free(s);
	return NULL;
}
