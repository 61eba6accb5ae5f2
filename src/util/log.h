/* Library code never prints: it reports through a callback the command layer installs,
 * the way libbpf-tools installs libbpf_set_print(). */
#ifndef PK_UTIL_LOG_H
#define PK_UTIL_LOG_H

#include <stdarg.h>
#include "util/macro.h"

enum pk_log_level { PK_LOG_DEBUG, PK_LOG_INFO, PK_LOG_WARN, PK_LOG_ERROR };

typedef void (*pk_log_fn)(void *userdata, enum pk_log_level level, const char *msg);

struct pk_log {
	pk_log_fn fn; /* NULL: messages are dropped */
	void *userdata;
};

void pk_logf(const struct pk_log *log, enum pk_log_level level, const char *fmt, ...)
	_printf_(3, 4);

#endif
