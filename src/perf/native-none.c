/* Built without libpfm4: no native event names. */
#include "perf/native.h"

#include <errno.h>

bool native_available(void) { return false; }

int native_resolve(const char *name, struct native_code *ret, char **ret_canon)
{
	(void)name, (void)ret, (void)ret_canon;
	return -ENOENT;
}

int native_each(native_fn fn, void *ud)
{
	(void)fn, (void)ud;
	return 0;
}
