/* Off-CPU eBPF loader: the skeleton of offcpu.bpf.c is configured (.rodata), loaded and
 * attached; its ring buffer is turned into offcpu_event callbacks. libbpf's own messages
 * are caught while it works, so that nothing is printed and the first one can explain a
 * failure in err. */
#include "bpf/offcpu.h"

#include <errno.h>
#include <time.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpf/offcpu_record.h"
#include "util/macro.h"
#include "offcpu.skel.h"

_Static_assert(OFFCPU_REC_KSTACK == OFFCPU_MAX_KSTACK, "kernel stack depth");
_Static_assert(OFFCPU_REC_NREGS == UREG_COUNT, "user registers");
_Static_assert(OFFCPU_REC_SYSCALL == OFFCPU_SYSCALL && OFFCPU_REC_PREEMPTED == OFFCPU_PREEMPTED &&
	       OFFCPU_REC_KERNEL_ONLY == OFFCPU_KERNEL_ONLY && OFFCPU_REC_FAULT == OFFCPU_FAULT,
	       "enum offcpu_how");

#define BTF_PATH "/sys/kernel/btf/vmlinux"
#define DEFAULT_STACK_BYTES 8192

struct offcpu {
	struct offcpu_bpf *skel;
	struct ring_buffer *rb;
	offcpu_cb cb;
	void *cb_arg;
	bool sys_exit_tried, flushed;
};

/* ---- libbpf's messages --------------------------------------------------------------- */

/* The first warning since libbpf_quiet(): libbpf reports through one process-wide
 * callback, installed only while this file calls it. */
static char libbpf_first[256];

static int catch_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || libbpf_first[0])
		return 0;
	vsnprintf(libbpf_first, sizeof(libbpf_first), fmt, ap);
	libbpf_first[strcspn(libbpf_first, "\n")] = '\0';
	return 0;
}

static libbpf_print_fn_t libbpf_quiet(void)
{
	libbpf_first[0] = '\0';
	return libbpf_set_print(catch_print);
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- opening ------------------------------------------------------------------------- */

/* CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON (5.8+), in the effective set. */
static bool may_trace(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		return true; /* let the kernel decide */
	uint64_t eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	uint64_t bpf = 1ULL << CAP_BPF, perfmon = 1ULL << CAP_PERFMON;
	return (eff & (1ULL << CAP_SYS_ADMIN)) || ((eff & bpf) && (eff & perfmon));
}

static int configure(struct offcpu_bpf *skel, const struct offcpu_opts *o, uint32_t stack)
{
	skel->rodata->min_block_ns = o->min_block_ns;
	skel->rodata->stack_bytes = stack;
	skel->rodata->kernel_stacks = o->kernel_stacks;
	bpf_program__set_autoattach(skel->progs.flush_task, false); /* at the flush */
	/* Completion at the return to user mode (rseq_update) when the kernel has rseq;
	 * else at sys_exit for every thread. With it, sys_exit only when a thread without
	 * rseq needs it (offcpu_poll). */
	bool rseq = libbpf_find_vmlinux_btf_id("rseq_update", BPF_TRACE_RAW_TP) > 0;
	bpf_program__set_autoattach(skel->progs.on_sys_exit, !rseq);
	int e = bpf_program__set_autoload(skel->progs.on_rseq_update, rseq);
	if (!e)
		e = bpf_program__set_autoload(skel->progs.on_fork, o->follow_children);
	return e;
}

static int on_record(void *ctx, void *data, size_t size);

static int load_and_attach(struct offcpu *oc, const struct offcpu_opts *o, uint32_t stack,
			   char *err, size_t errlen)
{
	oc->skel = offcpu_bpf__open();
	if (!oc->skel) {
		int e = neg_errno();
		seterr(err, errlen, "cannot open the off-CPU eBPF object: %s", strerror(-e));
		return e;
	}
	int e = configure(oc->skel, o, stack);
	if (e < 0) {
		seterr(err, errlen, "cannot configure the off-CPU eBPF programs: %s", strerror(-e));
		return e;
	}
	e = offcpu_bpf__load(oc->skel);
	if (e == -EPERM) {
		seterr(err, errlen, "the kernel refused to load eBPF: it needs CAP_BPF and "
		       "CAP_PERFMON, or root (and no lockdown)");
		return -EPERM;
	}
	if (e < 0) {
		seterr(err, errlen, "the kernel refused the off-CPU eBPF programs (%s)%s%s",
		       strerror(-e), libbpf_first[0] ? ": " : "", libbpf_first);
		return e == -ENOMEM ? e : -ENOTSUP;
	}
	e = offcpu_bpf__attach(oc->skel);
	if (e < 0) {
		seterr(err, errlen, "cannot attach to the scheduler tracepoints (%s)%s%s",
		       strerror(-e), libbpf_first[0] ? ": " : "", libbpf_first);
		return e == -EPERM || e == -ENOMEM ? e : -ENOTSUP;
	}
	oc->rb = ring_buffer__new(bpf_map__fd(oc->skel->maps.events), on_record, oc, NULL);
	if (!oc->rb) {
		e = neg_errno();
		seterr(err, errlen, "cannot map the off-CPU ring buffer: %s", strerror(-e));
		return e;
	}
	return 0;
}

int offcpu_open(const struct offcpu_opts *o, struct offcpu **ret, char *err, size_t errlen)
{
	static const struct offcpu_opts defaults = OFFCPU_OPTS_DEFAULT;
	if (!o)
		o = &defaults;
	seterr(err, errlen, "%s", "");
	uint32_t stack = o->stack_bytes ? o->stack_bytes : DEFAULT_STACK_BYTES;
	if (stack % 8 || stack > OFFCPU_REC_MAX_STACK) {
		seterr(err, errlen, "user stack size %u is not a multiple of 8 up to %u",
		       stack, OFFCPU_REC_MAX_STACK);
		return -EINVAL;
	}
	if (access(BTF_PATH, R_OK) != 0) {
		seterr(err, errlen, "the kernel has no BTF (%s is missing; it needs "
		       "CONFIG_DEBUG_INFO_BTF)", BTF_PATH);
		return -ENOTSUP;
	}
	if (!may_trace()) {
		seterr(err, errlen, "off-CPU eBPF needs CAP_BPF and CAP_PERFMON, or root");
		return -EPERM;
	}
	struct offcpu *oc = calloc(1, sizeof(*oc));
	if (!oc)
		return -ENOMEM;
	libbpf_print_fn_t prev = libbpf_quiet();
	int e = load_and_attach(oc, o, stack, err, errlen);
	libbpf_set_print(prev);
	if (e < 0) {
		offcpu_free(oc);
		return e;
	}
	*ret = oc;
	return 0;
}

int offcpu_add_pid(struct offcpu *oc, pid_t pid)
{
	if (pid <= 0)
		return -EINVAL;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return -ESRCH;
	__u32 key = (__u32)pid;
	/* bpf_ktime_get_ns is CLOCK_MONOTONIC: threads blocked from now on count. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	__u64 since = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	if (bpf_map_update_elem(bpf_map__fd(oc->skel->maps.targets), &key, &since, BPF_ANY) != 0)
		return -errno;
	return 0;
}

int offcpu_fd(const struct offcpu *oc)
{
	return bpf_map__fd(oc->skel->maps.events);
}

/* ---- reading ------------------------------------------------------------------------- */

static int on_record(void *ctx, void *data, size_t size)
{
	struct offcpu *oc = ctx;
	const struct offcpu_rec *r = data;
	if (size < sizeof(*r) || !oc->cb)
		return 0;
	struct offcpu_event ev = {
		.pid = (pid_t)r->pid,
		.tid = (pid_t)r->tid,
		.start_ns = r->start_ns,
		.off_ns = r->off_ns,
		.how = (enum offcpu_how)r->how,
		.nkernel = r->nkernel < OFFCPU_MAX_KSTACK ? r->nkernel : OFFCPU_MAX_KSTACK,
		.kernel_ips = (const uint64_t *)r->kstack,
		.stack = (const uint8_t *)(r + 1),
	};
	memcpy(ev.comm, r->comm, sizeof(ev.comm));
	ev.comm[sizeof(ev.comm) - 1] = '\0';
	memcpy(ev.regs.r, r->regs, sizeof(ev.regs.r));
	ev.regs.valid = r->regs_valid;
	size_t room = size - sizeof(*r);
	ev.stack_size = r->stack_size < room ? r->stack_size : (uint32_t)room;
	oc->cb(&ev, oc->cb_arg);
	return 0;
}

/* A thread without rseq had a long block: from now on its blocked syscalls complete at
 * sys_exit. A failure is not retried; those blocks keep their kernel stack only. */
static void attach_sys_exit(struct offcpu *oc)
{
	oc->sys_exit_tried = true;
	libbpf_print_fn_t prev = libbpf_quiet();
	oc->skel->links.on_sys_exit = bpf_program__attach(oc->skel->progs.on_sys_exit);
	libbpf_set_print(prev);
}

int offcpu_poll(struct offcpu *oc, offcpu_cb cb, void *arg)
{
	if (!oc->sys_exit_tried && !oc->flushed && !oc->skel->links.on_sys_exit &&
	    *(volatile bool *)&oc->skel->bss->need_sys_exit)
		attach_sys_exit(oc);
	oc->cb = cb;
	oc->cb_arg = arg;
	int n = ring_buffer__consume(oc->rb);
	oc->cb = NULL;
	return n;
}

int offcpu_flush(struct offcpu *oc)
{
	if (oc->flushed)
		return 0;
	oc->flushed = true;
	/* Frozen first: the iterator then sees state no handler changes under it. */
	offcpu_bpf__detach(oc->skel);
	libbpf_print_fn_t prev = libbpf_quiet();
	struct bpf_link *link = bpf_program__attach_iter(oc->skel->progs.flush_task, NULL);
	libbpf_set_print(prev);
	if (!link)
		return neg_errno();
	int e = 0;
	int fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		e = -errno;
	} else {
		char buf[64];
		ssize_t n;
		/* The program writes nothing: reading runs it over every task. */
		while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
			;
		if (n < 0)
			e = -errno;
		close(fd);
	}
	bpf_link__destroy(link);
	return e;
}

void offcpu_get_stats(struct offcpu *oc, struct offcpu_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return;
	struct offcpu_counters *v = calloc((size_t)ncpu, sizeof(*v));
	__u32 zero = 0;
	if (v && bpf_map_lookup_elem(bpf_map__fd(oc->skel->maps.counters), &zero, v) == 0) {
		for (int i = 0; i < ncpu; i++) {
			ret->events += v[i].events;
			ret->dropped += v[i].dropped;
			ret->switches_seen += v[i].switches;
			ret->short_blocks += v[i].short_blocks;
			ret->short_ns += v[i].short_ns;
		}
	}
	free(v);
}

struct offcpu *offcpu_free(struct offcpu *oc)
{
	if (!oc)
		return NULL;
	ring_buffer__free(oc->rb);
	offcpu_bpf__destroy(oc->skel);
	free(oc);
	return NULL;
}
