/* Replays every input in tests/corpus/<target>/ (inputs that once crashed a fuzzer, and
 * hostile cases) and tests/fuzz/seeds/<target>/ through the fuzz target's own body, as
 * SQLite's fuzzcheck does, so that a crash found once stays tested. */
#include "unit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz.h"

struct target {
	const char *name; /* the directory under tests/corpus/ and tests/fuzz/seeds/ */
	int (*run)(const uint8_t *data, size_t size);
};

static const struct target targets[] = {
	{ "procfs_stat", fuzz_procfs_stat },
	{ "procfs_status", fuzz_procfs_status },
	{ "procfs_io", fuzz_procfs_io },
	{ "procfs_smaps_rollup", fuzz_procfs_smaps_rollup },
	{ "procfs_cpus", fuzz_procfs_cpus },
	{ "procfs_meminfo", fuzz_procfs_meminfo },
	{ "procfs_loadavg", fuzz_procfs_loadavg },
	{ "procfs_cmdline", fuzz_procfs_cmdline },
	{ "parse_numbers", fuzz_parse_numbers },
	{ "csv_field", fuzz_csv_field },
	{ "json_escape", fuzz_json_escape },
	{ "python_walk", fuzz_python_walk },
	{ "event_spec", fuzz_event_spec },
	{ "folded_reader", fuzz_folded_reader },
	{ "proc_maps", fuzz_proc_maps },
	{ "csv_reader", fuzz_csv_reader },
	{ "kallsyms", fuzz_kallsyms },
	{ "perfmap", fuzz_perfmap },
	{ "elf_symtab", fuzz_elf_symtab },
	{ "perf_record", fuzz_perf_record },
	{ "unwind", fuzz_unwind },
	{ "py_version", fuzz_py_version },
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static int is_regular(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Feeds each regular file of dir/name to the target; returns how many. */
static size_t replay_dir(const char *dir, const struct target *t)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, t->name);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s/%s", dir, t->name, e->d_name);
		if (e->d_name[0] == '.' || !is_regular(path))
			continue;
		size_t len;
		char *data = file_read(path, &len);
		if (!data)
			fail_msg("cannot read %s", path);
		/* An exactly sized copy, as the fuzzer passes it. */
		char *exact = dup_exact(data, len);
		t->run((const uint8_t *)exact, len);
		free(exact);
		free(data);
		n++;
	}
	closedir(d);
	return n;
}

static void test_replay(void **state)
{
	const struct target *t = *state;
	size_t corpus = replay_dir(env_dir("CORPUS"), t);
	size_t seeds = replay_dir(env_dir("SEEDS"), t);
	if (corpus == 0 || seeds == 0)
		fail_msg("%s: %zu corpus and %zu seed inputs; both must have some", t->name, corpus,
			 seeds);
}

/* A crash saved for a target this test does not know would never be replayed. */
static void test_no_unknown_corpus_dirs(void **state)
{
	const char *dirs[] = { env_dir("CORPUS"), env_dir("SEEDS") };
	for (size_t i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		assert_non_null(d);
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			size_t k = 0;
			while (k < NTARGETS && strcmp(targets[k].name, e->d_name) != 0)
				k++;
			if (k == NTARGETS)
				fail_msg("%s/%s belongs to no fuzz target", dirs[i], e->d_name);
		}
		closedir(d);
	}
}

int main(void)
{
	struct CMUnitTest tests[NTARGETS + 1];
	for (size_t i = 0; i < NTARGETS; i++)
		tests[i] = (struct CMUnitTest){ .name = targets[i].name, .test_func = test_replay,
						.initial_state = (void *)&targets[i] };
	tests[NTARGETS] = (struct CMUnitTest)cmocka_unit_test(test_no_unknown_corpus_dirs);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
