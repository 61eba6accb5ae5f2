/* The unwinder without libdw: nothing can be unwound; callers fall back to frame-pointer
 * callchains (see unwind.h). */
#include "stack/unwind.h"

#include <errno.h>
#include <stdlib.h>

struct unwinder {
	struct unwind_stats stats;
};

int unwinder_new(struct unwinder **ret)
{
	(void)ret;
	return -ENOTSUP;
}

struct unwinder *unwinder_free(struct unwinder *u)
{
	free(u);
	return NULL;
}

int unwinder_add_process(struct unwinder *u, pid_t pid)
{
	(void)u, (void)pid;
	return -ENOTSUP;
}

void unwinder_mapping_changed(struct unwinder *u, pid_t pid)
{
	(void)u, (void)pid;
}

void unwinder_forget(struct unwinder *u, pid_t pid)
{
	(void)u, (void)pid;
}

int unwind_user(struct unwinder *u, pid_t pid, pid_t tid, const struct user_regs *regs,
		const uint8_t *stack, size_t stack_size, uint64_t *ips, size_t max, size_t *n)
{
	(void)u, (void)pid, (void)tid, (void)regs, (void)stack, (void)stack_size, (void)ips;
	(void)max;
	*n = 0;
	return -ENOTSUP;
}

void unwinder_get_stats(const struct unwinder *u, struct unwind_stats *ret)
{
	*ret = u ? u->stats : (struct unwind_stats){ 0 };
}
