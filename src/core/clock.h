/* Clocks: the schedule runs on CLOCK_MONOTONIC; samples are stamped with Unix time. */
#ifndef PK_CORE_CLOCK_H
#define PK_CORE_CLOCK_H

#include <stdint.h>

uint64_t clock_mono_ns(void);
double clock_unix_s(void); /* CLOCK_REALTIME as seconds, ns resolution */
/* Unix time of boot, from CLOCK_REALTIME - CLOCK_BOOTTIME (sub-microsecond), rather than
 * /proc/stat's btime, which is rounded to whole seconds. */
double clock_boot_epoch(void);
/* Timed waits of this thread wake at their deadline: timer slack 1 ns instead of the
 * default 50 µs, which would let a 100 µs tick wake half a period late. The slack it had is
 * kept for clock_restore_timer_slack(), which a launched command's child calls before exec
 * (the slack survives fork and exec): the command runs with the slack it would have had. */
void clock_tight_timer_slack(void);
void clock_restore_timer_slack(void); /* async-signal-safe */

#endif
