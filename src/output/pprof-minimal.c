/* pprof export in a build without zlib: it cannot gzip, so it is unavailable. */
#include "output/pprof.h"

#include <errno.h>

int pprof_write(struct strbuf *out, const struct stack_profile *p, const struct pprof_opts *o)
{
	(void)out, (void)p, (void)o;
	return -ENOTSUP;
}

const char *pprof_unavailable(void)
{
	return "pprof export: profkit was built without zlib";
}
