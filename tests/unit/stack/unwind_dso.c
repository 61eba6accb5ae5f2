/* A library test_unwind loads with dlopen after the unwinder read the process's maps: a
 * stack through it unwinds only once unwinder_mapping_changed re-reported the modules.
 * Built -O2 -fomit-frame-pointer -g0: only its .eh_frame can unwind it. */
#include "unwind_nocfi.h"

static volatile int sink;

__attribute__((visibility("default"), noinline)) int unwind_dso_call(int (*cb)(int), int x)
{
	return cb(x + 1) * 3 + sink;
}
