/* Two frames with a frame pointer and no CFI at all (built -fno-asynchronous-unwind-tables
 * -fno-unwind-tables -fno-omit-frame-pointer -g0): test_unwind checks that the unwinder
 * gets through them by the frame-pointer chain. */
#include "unwind_nocfi.h"

static volatile int sink;

__attribute__((visibility("default"), noinline)) int unw_nocfi_inner(int (*cb)(int), int x)
{
	return cb(x + 1) + sink;
}

__attribute__((visibility("default"), noinline)) int unw_nocfi_outer(int (*cb)(int), int x)
{
	return unw_nocfi_inner(cb, x * 2) + sink;
}
