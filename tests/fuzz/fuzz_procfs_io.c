/* /proc/PID/io */
#include "fuzz.h"

#include <string.h>
#include "proc/procfs.h"

int fuzz_procfs_io(const uint8_t *data, size_t size)
{
	struct proc_io io;
	if (procfs_parse_io((const char *)data, size, &io) != 0)
		return 0;
	/* Required keys were there, on complete lines. */
	FUZZ_CHECK(memmem(data, size, "rchar", 5) != NULL);
	FUZZ_CHECK(memmem(data, size, "write_bytes", 11) != NULL);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_procfs_io(data, size);
}
#endif
