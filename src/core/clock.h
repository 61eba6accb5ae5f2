/* Clocks: the schedule runs on CLOCK_MONOTONIC; samples are stamped with Unix time. */
#ifndef PK_CORE_CLOCK_H
#define PK_CORE_CLOCK_H

#include <stdint.h>

uint64_t clock_mono_ns(void);
double clock_unix_s(void); /* CLOCK_REALTIME as seconds, ns resolution */
/* Unix time of boot, from CLOCK_REALTIME - CLOCK_BOOTTIME (sub-microsecond), rather than
 * /proc/stat's btime, which is rounded to whole seconds. */
double clock_boot_epoch(void);

#endif
