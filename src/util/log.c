#include "util/log.h"

#include <stdio.h>

void pk_logf(const struct pk_log *log, enum pk_log_level level, const char *fmt, ...)
{
	if (!log || !log->fn)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log->fn(log->userdata, level, msg);
}
