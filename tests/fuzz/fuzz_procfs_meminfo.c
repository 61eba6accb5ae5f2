/* /proc/meminfo */
#include "fuzz.h"

#include "proc/procfs.h"

int fuzz_procfs_meminfo(const uint8_t *data, size_t size)
{
	struct meminfo m;
	if (procfs_parse_meminfo((const char *)data, size, &m) != 0)
		return 0;
	/* kB converted to bytes without wrapping around */
	FUZZ_CHECK(m.total % 1024 == 0 && m.available % 1024 == 0);
	FUZZ_CHECK(m.swap_total % 1024 == 0 && m.swap_free % 1024 == 0);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_procfs_meminfo(data, size);
}
#endif
