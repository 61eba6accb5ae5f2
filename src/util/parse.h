/* Strict parsers for numbers given on the command line: the whole string must be the
 * number ("12abc" is an error), with no silent wrap-around. */
#ifndef PK_UTIL_PARSE_H
#define PK_UTIL_PARSE_H

#include <stdint.h>
#include <sys/types.h>

/* A non-negative duration in seconds ("0.05", "2", "1e-3"), finite. -EINVAL otherwise. */
int parse_seconds(const char *s, double *ret);
/* A decimal integer in [min, max]. -EINVAL for junk, -ERANGE outside the range. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* The hex digits at *p, before end (one to 16, no prefix), advancing *p past them: the
 * addresses of /proc/PID/maps, /proc/kallsyms and perf-PID.map. -EINVAL for none or too
 * many. */
int parse_hex_span(const char **p, const char *end, uint64_t *ret);
/* A process ID: 1 .. INT32_MAX, digits only. */
int parse_pid(const char *s, pid_t *ret);

#endif
