/* /proc/PID/smaps_rollup */
#include "fuzz.h"

#include "proc/procfs.h"

int fuzz_procfs_smaps_rollup(const uint8_t *data, size_t size)
{
	struct proc_pss pss;
	if (procfs_parse_smaps_rollup((const char *)data, size, &pss) != 0)
		return 0;
	/* kB converted to bytes without wrapping around */
	FUZZ_CHECK(pss.pss % 1024 == 0);
	FUZZ_CHECK(pss.uss % 1024 == 0);
	FUZZ_CHECK(pss.pss / 1024 <= UINT64_MAX / 2048);
	FUZZ_CHECK(pss.uss / 1024 <= UINT64_MAX / 1024);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_procfs_smaps_rollup(data, size);
}
#endif
