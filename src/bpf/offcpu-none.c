/* Off-CPU without eBPF: the build lacked libbpf, clang, bpftool or the kernel's BTF (the
 * configure summary says which; OFFCPU_NONE_REASON carries it here). Every call fails with
 * -ENOTSUP, so `record` falls back and says why. */
#include "bpf/offcpu.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifndef OFFCPU_NONE_REASON
#define OFFCPU_NONE_REASON "libbpf, clang or bpftool was missing"
#endif

int offcpu_open(const struct offcpu_opts *o, struct offcpu **ret, char *err, size_t errlen)
{
	(void)o;
	(void)ret;
	if (err && errlen)
		snprintf(err, errlen, "built without off-CPU eBPF (%s)", OFFCPU_NONE_REASON);
	return -ENOTSUP;
}

int offcpu_add_pid(struct offcpu *oc, pid_t pid)
{
	(void)oc;
	(void)pid;
	return -ENOTSUP;
}

int offcpu_fd(const struct offcpu *oc)
{
	(void)oc;
	return -ENOTSUP;
}

int offcpu_poll(struct offcpu *oc, offcpu_cb cb, void *arg)
{
	(void)oc;
	(void)cb;
	(void)arg;
	return -ENOTSUP;
}

int offcpu_flush(struct offcpu *oc)
{
	(void)oc;
	return -ENOTSUP;
}

void offcpu_get_stats(struct offcpu *oc, struct offcpu_stats *ret)
{
	(void)oc;
	memset(ret, 0, sizeof(*ret));
}

struct offcpu *offcpu_free(struct offcpu *oc)
{
	(void)oc;
	return NULL;
}
