/* /proc/loadavg: the last PID handed out */
#include "fuzz.h"

#include <string.h>
#include "proc/procfs.h"

int fuzz_procfs_loadavg(const uint8_t *data, size_t size)
{
	pid_t pid = -1;
	if (procfs_parse_last_pid((const char *)data, size, &pid) != 0)
		return 0;
	FUZZ_CHECK(pid >= 0);
	FUZZ_CHECK(memchr(data, '\n', size) != NULL); /* the number ended the line */
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_procfs_loadavg(data, size);
}
#endif
