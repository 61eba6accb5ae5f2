/* /proc/PID/cmdline joined with spaces; the first byte picks the output size. */
#include "fuzz.h"

#include <string.h>
#include "proc/procfs.h"

int fuzz_procfs_cmdline(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t outsz = data[0] % 80; /* 0 included: nothing may be written */
	char *out = malloc(outsz + 1);
	if (!out)
		abort();
	out[outsz] = 'X'; /* a canary just past the room given */
	procfs_cmdline_join((const char *)data + 1, size - 1, out, outsz);
	if (outsz > 0) {
		size_t n = strnlen(out, outsz);
		FUZZ_CHECK(n < outsz && n <= size - 1);
		FUZZ_CHECK(memchr(out, '\0', n) == NULL);
	}
	FUZZ_CHECK(out[outsz] == 'X');
	free(out);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_procfs_cmdline(data, size);
}
#endif
