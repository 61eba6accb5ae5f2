/* The version of an interpreter whose file name does not tell it (a renamed or embedded
 * 3.8-3.10): Py_GetVersion()'s text found in a block of its memory. The texts below are
 * the ones this machine's interpreters leave in memory (3.8 and 3.9 break the line before
 * the compiler), plus pre-releases, and near misses that must not count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "python/py_internal.h"

static uint32_t version_in(const char *prefix, const char *text, size_t trailing_nuls)
{
	char buf[1024] = { 0 };
	size_t pl = strlen(prefix), tl = strlen(text);
	memcpy(buf, prefix, pl);
	memcpy(buf + pl, text, tl);
	uint32_t hex = 0;
	if (!py_version_from_text(buf, pl + tl + trailing_nuls, &hex))
		return 0;
	return hex;
}

static void test_real_texts(void **state)
{
	assert_int_equal(version_in("", "3.8.18 (default, May  9 2026, 07:33:04) \n[GCC 12.2.0]", 1),
			 0x030812f0);
	assert_int_equal(version_in("", "3.9.18 (main, May  9 2026, 07:33:49) \n[GCC 12.2.0]", 1),
			 0x030912f0);
	assert_int_equal(version_in("", "3.10.13 (main, May  9 2026, 07:34:36) [GCC 12.2.0]", 1),
			 0x030a0df0);
	assert_int_equal(version_in("", "3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]", 1),
			 0x030b02f0);
	assert_int_equal(version_in("", "3.13.0 (main, May  9 2026, 07:36:57) [Clang 14.0.6 ]", 1),
			 0x030d00f0);
}

static void test_among_other_data(void **state)
{
	/* Other numbers first, the text later: the text is found. */
	const char junk[] = "3.2.0\0" "libpython3.9.so.1.0\0" "3.9.x (no)\0" "\x01\x02" "3.";
	char buf[512] = { 0 };
	memcpy(buf, junk, sizeof(junk));
	const char *text = "3.9.18 (main, Nov  1 2023, 10:00:00) \n[GCC 12.2.0]";
	memcpy(buf + 100, text, strlen(text));
	uint32_t hex = 0;
	assert_true(py_version_from_text(buf, 100 + strlen(text) + 1, &hex));
	assert_int_equal(hex, 0x030912f0);
}

static void test_prereleases(void **state)
{
	assert_int_equal(version_in("", "3.13.0rc2 (main, Oct  1 2024, 00:00:00) [GCC 12.2.0]", 1),
			 0x030d00c2);
	assert_int_equal(version_in("", "3.12.0a7+ (heads/main:abc, Apr 1 2023, 00:00:00) [GCC]", 1),
			 0x030c00a7);
	assert_int_equal(version_in("", "3.11.0b1 (main, x) [GCC]", 1), 0x030b00b1);
}

static void test_near_misses(void **state)
{
	/* No NUL after the compiler: cut off at the end of the block. */
	assert_int_equal(version_in("", "3.9.18 (main, Nov  1 2023) [GCC 12.2.0]", 0), 0);
	/* Not Python 3, no build info, no compiler, a control character inside. */
	assert_int_equal(version_in("", "2.7.18 (default, x) [GCC 12.2.0]", 1), 0);
	assert_int_equal(version_in("", "3.9.18", 1), 0);
	assert_int_equal(version_in("", "3.9.18 (main, x)", 1), 0);
	assert_int_equal(version_in("", "3.9.18 (main,\x01 x) [GCC]", 1), 0);
	assert_int_equal(version_in("", "3.9 (main, x) [GCC]", 1), 0);
	assert_int_equal(version_in("", "3.9.1234 (main, x) [GCC]", 1), 0);
	/* A block that ends inside the text. */
	uint32_t hex = 0;
	assert_false(py_version_from_text("3.9.18 (ma", 10, &hex));
	assert_false(py_version_from_text("3", 1, &hex));
	assert_false(py_version_from_text("", 0, &hex));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_texts),
		cmocka_unit_test(test_among_other_data),
		cmocka_unit_test(test_prereleases),
		cmocka_unit_test(test_near_misses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
