/* Shared by the unit tests: cmocka and the fixture loader. */
#ifndef PK_TESTS_UNIT_H
#define PK_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Reads $FIXTURES/name into a NUL-terminated malloc'd buffer; fails the test if missing. */
char *fixture_read(const char *name, size_t *ret_len);
/* Reads any file; NULL when it cannot be read. */
char *file_read(const char *path, size_t *ret_len);
/* The directory named by an environment variable the meson test sets; fails if unset. */
const char *env_dir(const char *var);
/* A malloc'd copy of exactly len bytes, without a terminating NUL, so that ASan catches a
 * parser reading past the end of its input. */
char *dup_exact(const void *data, size_t len);

#endif
