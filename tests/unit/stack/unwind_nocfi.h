/* Test support of test_unwind: see unwind_nocfi.c and unwind_dso.c. */
#ifndef TESTS_UNWIND_NOCFI_H
#define TESTS_UNWIND_NOCFI_H

int unw_nocfi_inner(int (*cb)(int), int x);
int unw_nocfi_outer(int (*cb)(int), int x);
/* In unwind_dso.so, loaded with dlopen after the unwinder learnt the process's modules. */
int unwind_dso_call(int (*cb)(int), int x);

#endif
