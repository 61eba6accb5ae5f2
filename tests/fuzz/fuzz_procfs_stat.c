/* /proc/PID/stat: the command name may hold anything, the numbers may be anything. */
#include "fuzz.h"

#include <string.h>
#include "proc/procfs.h"

int fuzz_procfs_stat(const uint8_t *data, size_t size)
{
	struct proc_stat st;
	if (procfs_parse_stat((const char *)data, size, &st) != 0)
		return 0;
	FUZZ_CHECK(st.pid > 0);
	FUZZ_CHECK(st.ppid >= 0);
	FUZZ_CHECK(st.num_threads >= 0);
	size_t n = strnlen(st.comm, sizeof(st.comm));
	FUZZ_CHECK(n < sizeof(st.comm));
	/* The name is copied from the input, between its parentheses. */
	FUZZ_CHECK(n == 0 || memmem(data, size, st.comm, n) != NULL);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_procfs_stat(data, size);
}
#endif
