/* /proc/stat CPU lines */
#include "fuzz.h"

#include "proc/procfs.h"

#define MAX_CPUS 64

int fuzz_procfs_cpus(const uint8_t *data, size_t size)
{
	struct cpu_times all, per[MAX_CPUS];
	int n = -1;
	if (procfs_parse_cpus((const char *)data, size, &all, per, MAX_CPUS, &n) != 0)
		return 0;
	FUZZ_CHECK(n >= 0 && n <= MAX_CPUS);
	FUZZ_CHECK(all.busy <= all.total); /* no wrap-around in the sums */
	for (int i = 0; i < MAX_CPUS; i++) {
		FUZZ_CHECK(per[i].busy <= per[i].total);
		FUZZ_CHECK(i < n || per[i].total == 0); /* nothing past the last CPU */
	}
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_procfs_cpus(data, size);
}
#endif
