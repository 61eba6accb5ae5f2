/* py_version_from_text: finds Py_GetVersion()'s text ("3.9.18 (main, ...) [GCC ...]" and its
 * NUL) in bytes read from a target's memory. Whatever it accepts names a CPython 3 version
 * whose "3.MINOR.MICRO" is there in the input, followed by a NUL further on. */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>
#include "python/py_internal.h"

static bool contains(const uint8_t *data, size_t size, const char *text)
{
	size_t n = strlen(text);
	for (size_t i = 0; i + n <= size; i++)
		if (!memcmp(data + i, text, n))
			return true;
	return false;
}

int fuzz_py_version(const uint8_t *data, size_t size)
{
	uint32_t hex = 0;
	if (!py_version_from_text(data, size, &hex))
		return 0;
	unsigned minor = hex >> 16 & 0xff, micro = hex >> 8 & 0xff, level = hex & 0xff;
	FUZZ_CHECK(hex >> 24 == 3);
	FUZZ_CHECK(minor <= 99);
	FUZZ_CHECK(level == 0xF0 || (level >> 4 >= 0xA && level >> 4 <= 0xC));
	char text[16];
	snprintf(text, sizeof(text), "3.%u.%u", minor, micro);
	FUZZ_CHECK(contains(data, size, text));
	FUZZ_CHECK(memchr(data, '\0', size) != NULL);
	uint32_t again = 0;
	FUZZ_CHECK(py_version_from_text(data, size, &again) && again == hex);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_py_version(data, size);
}
#endif
