#include <stdarg.h>
#include <stdio.h>
#include "cmd/cmd.h"

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("profkit: ", fmt, ap);
	va_end(ap);
	return EXIT_RUNTIME;
}

void warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("profkit: warning: ", fmt, ap);
	va_end(ap);
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fflush(stdout);
	fprintf(stderr, "profkit %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see 'profkit %s --help')\n", cmd);
	va_end(ap);
	return EXIT_USAGE;
}
