/* libFuzzer targets, one per parser of untrusted input. Each target's body is a plain
 * function, so that the unit test test_corpus replays tests/corpus/ and the seeds through
 * exactly the code the fuzzer ran; LLVMFuzzerTestOneInput only exists in fuzz builds
 * (PK_FUZZER). */
#ifndef PK_TESTS_FUZZ_H
#define PK_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int fuzz_procfs_stat(const uint8_t *data, size_t size);
int fuzz_procfs_status(const uint8_t *data, size_t size);
int fuzz_procfs_io(const uint8_t *data, size_t size);
int fuzz_procfs_smaps_rollup(const uint8_t *data, size_t size);
int fuzz_procfs_cpus(const uint8_t *data, size_t size);
int fuzz_procfs_meminfo(const uint8_t *data, size_t size);
int fuzz_procfs_loadavg(const uint8_t *data, size_t size);
int fuzz_procfs_cmdline(const uint8_t *data, size_t size);
int fuzz_parse_numbers(const uint8_t *data, size_t size);
int fuzz_csv_field(const uint8_t *data, size_t size);
int fuzz_json_escape(const uint8_t *data, size_t size);
int fuzz_python_walk(const uint8_t *data, size_t size);
int fuzz_event_spec(const uint8_t *data, size_t size);
int fuzz_folded_reader(const uint8_t *data, size_t size);
int fuzz_proc_maps(const uint8_t *data, size_t size);
int fuzz_csv_reader(const uint8_t *data, size_t size);
int fuzz_kallsyms(const uint8_t *data, size_t size);
int fuzz_perfmap(const uint8_t *data, size_t size);
int fuzz_elf_symtab(const uint8_t *data, size_t size);
int fuzz_perf_record(const uint8_t *data, size_t size);
int fuzz_unwind(const uint8_t *data, size_t size);
int fuzz_py_version(const uint8_t *data, size_t size);

/* A property every input must keep; a violation is a crash for the fuzzer to report. */
#define FUZZ_CHECK(cond)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* The input as a C string: a malloc'd copy up to the first NUL. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	size_t n = 0;
	while (n < size && data[n])
		n++;
	char *s = malloc(n + 1);
	if (!s)
		abort();
	for (size_t i = 0; i < n; i++)
		s[i] = (char)data[i];
	s[n] = '\0';
	return s;
}

#endif
