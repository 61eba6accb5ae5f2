/* /proc/PID/status */
#include "fuzz.h"

#include "proc/procfs.h"

int fuzz_procfs_status(const uint8_t *data, size_t size)
{
	struct proc_status st;
	if (procfs_parse_status((const char *)data, size, &st) != 0)
		return 0;
	FUZZ_CHECK(st.have != 0);
	FUZZ_CHECK(st.threads >= 0);
	FUZZ_CHECK(st.vm_swap_kb <= UINT64_MAX / 1024); /* converting to bytes cannot wrap */
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_procfs_status(data, size);
}
#endif
