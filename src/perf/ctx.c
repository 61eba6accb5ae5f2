/* The context, error codes and the words that explain why an event cannot be opened. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "perf/perf.h"

PK_EXPORT int pk_ctx_new(struct pk_ctx **ret)
{
	if (!ret)
		return -EINVAL;
	struct pk_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	snprintf(ctx->sysfs, sizeof(ctx->sysfs), "/sys");
	*ret = ctx;
	return 0;
}

static void pmus_free(struct pk_ctx *ctx)
{
	for (size_t i = 0; i < ctx->npmus; i++) {
		struct pmu *p = &ctx->pmus[i];
		for (size_t k = 0; k < p->nfields; k++)
			free(p->fields[k].name);
		for (size_t k = 0; k < p->naliases; k++) {
			free(p->aliases[k].name);
			free(p->aliases[k].terms);
			free(p->aliases[k].unit);
		}
		free(p->fields);
		free(p->aliases);
		free(p->name);
		free(p->cpumask);
		free(p->formats_str);
	}
	free(ctx->pmus);
	ctx->pmus = NULL;
	ctx->npmus = 0;
	ctx->pmus_loaded = false;
}

PK_EXPORT struct pk_ctx *pk_ctx_free(struct pk_ctx *ctx)
{
	if (!ctx)
		return NULL;
	pmus_free(ctx);
	free(ctx);
	return NULL;
}

int ctx_set_sysfs_root(struct pk_ctx *ctx, const char *root)
{
	if (strlen(root) >= sizeof(ctx->sysfs))
		return -ENAMETOOLONG;
	pmus_free(ctx);
	snprintf(ctx->sysfs, sizeof(ctx->sysfs), "%s", root);
	ctx->tracefs[0] = '\0';
	return 0;
}

PK_EXPORT const char *pk_ctx_errmsg(const struct pk_ctx *ctx)
{
	return ctx ? ctx->err : "";
}

int ctx_err(struct pk_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	return err;
}

PK_EXPORT const char *pk_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0: return "success";
	case PK_E_SYNTAX: return "malformed event specification";
	case PK_E_UNKNOWN_EVENT: return "unknown event";
	case PK_E_NOT_SUPPORTED: return "event not supported on this machine";
	case PK_E_NO_COUNTERS: return "none of the events could be opened";
	case PK_E_STATE: return "call not valid in this state";
	}
	const char *s = strerrordesc_np(err);
	return s ? s : "unknown error";
}

PK_EXPORT int pk_perf_event_paranoid(void)
{
	int fd = open("/proc/sys/kernel/perf_event_paranoid", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return INT_MIN;
	char buf[32];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return INT_MIN;
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	if (end == buf || v < INT_MIN / 2 || v > INT_MAX / 2)
		return INT_MIN;
	return (int)v;
}

int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
	      unsigned long flags)
{
	long fd = syscall(SYS_perf_event_open, attr, pid, cpu, group_fd,
			  flags | PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? neg_errno() : (int)fd;
}

int open_status(int err)
{
	return errno_is_not_supported(err) ? -PK_E_NOT_SUPPORTED : (err < 0 ? err : -err);
}

void open_reason(struct pk_ctx *ctx, int err, enum pk_event_kind kind,
		 const struct perf_event_attr *attr, bool cpu_wide, char *buf, size_t size)
{
	int e = err < 0 ? -err : err;
	if (errno_is_not_supported(e)) {
		if (kind == PK_EVENT_HARDWARE || kind == PK_EVENT_CACHE || kind == PK_EVENT_RAW ||
		    kind == PK_EVENT_NATIVE) {
			if (!pmus_have_cpu(ctx))
				snprintf(buf, size, "not supported on this machine: the kernel exposes "
					 "no hardware counters (no CPU PMU; usual in a virtual machine)");
			else
				snprintf(buf, size, "not supported on this machine: the CPU's PMU "
					 "does not count it");
		} else {
			snprintf(buf, size, "not supported on this machine: the kernel cannot "
				 "count it (%s)", strerrorname_np(e) ? strerrorname_np(e) : "?");
		}
		return;
	}
	if (errno_is_privilege(e)) {
		int par = pk_perf_event_paranoid();
		char pbuf[48];
		if (par == INT_MIN)
			snprintf(pbuf, sizeof(pbuf), "perf_event_paranoid cannot be read");
		else
			snprintf(pbuf, sizeof(pbuf), "perf_event_paranoid is %d", par);
		const char *need;
		if (cpu_wide)
			need = "counting a whole CPU needs perf_event_paranoid <= 0";
		else if (kind == PK_EVENT_TRACEPOINT)
			need = "tracepoints need perf_event_paranoid <= -1 and a readable tracefs";
		else if (attr && !attr->exclude_kernel)
			need = "counting the kernel needs perf_event_paranoid <= 1 (or ':u' to "
			       "count user space only)";
		else
			need = "another user's process needs ptrace access";
		snprintf(buf, size, "not permitted: %s; %s, or CAP_PERFMON (CAP_SYS_ADMIN before "
			 "Linux 5.8)", pbuf, need);
		return;
	}
	switch (e) {
	case ESRCH:
		snprintf(buf, size, "no such process");
		return;
	case EBUSY:
	case ENOSPC:
		snprintf(buf, size, "too many events for the hardware: no free counter on the "
			 "PMU (%s)", strerrorname_np(e));
		return;
	case EMFILE:
	case ENFILE:
		snprintf(buf, size, "too many open files (raise 'ulimit -n')");
		return;
	case EINVAL:
		snprintf(buf, size, "the kernel rejected its settings (EINVAL): a modifier or "
			 "term this PMU does not accept");
		return;
	default:
		snprintf(buf, size, "%s", strerror(e));
	}
}
