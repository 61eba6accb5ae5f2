/* The offset tables of src/python/py_offsets.c against the real interpreters: for every
 * version profkit has a table for, compiles offsets_probe.c with that version's installed
 * headers (pyenv's include/python3.X, internal headers with Py_BUILD_CORE), runs it and
 * compares each number with the table, in both directions (no field missing from either).
 * A version whose headers are not installed is reported SKIPPED (unavailable), never
 * passed; when none is installed the whole test exits 77, meson's "skipped". */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "python/py_offsets.h"

static char work_dir[] = "/tmp/pk-offsets-XXXXXX";

/* $PYENV_ROOT, else ~/.pyenv, else /root/.pyenv. */
static void pyenv_root(char *out, size_t size)
{
	const char *env = getenv("PYENV_ROOT"), *home = getenv("HOME");
	if (env && *env)
		snprintf(out, size, "%s", env);
	else if (home && *home)
		snprintf(out, size, "%s/.pyenv", home);
	else
		snprintf(out, size, "/root/.pyenv");
	struct stat st;
	if (stat(out, &st) < 0)
		snprintf(out, size, "/root/.pyenv");
}

/* The include directory of the newest installed 3.<minor>.*, or false. */
static bool find_include(unsigned minor, char *out, size_t size)
{
	char root[1024], versions[1100];
	pyenv_root(root, sizeof(root));
	snprintf(versions, sizeof(versions), "%s/versions", root);
	DIR *d = opendir(versions);
	if (!d)
		return false;
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "3.%u.", minor);
	bool found = false;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		char path[2048], py_h[2100];
		snprintf(path, sizeof(path), "%s/%s/include/python3.%u", versions, e->d_name, minor);
		snprintf(py_h, sizeof(py_h), "%s/Python.h", path);
		struct stat st;
		if (stat(py_h, &st) == 0) {
			snprintf(out, size, "%s", path);
			found = true;
		}
	}
	closedir(d);
	return found;
}

struct probe_value {
	char key[96];
	unsigned long value;
	bool seen;
};

/* Compiles and runs the probe; returns how many values it printed (-1 on failure). */
static int run_probe(const char *inc, unsigned minor, struct probe_value *vals, int max)
{
	const char *cc = getenv("CC");
	const char *src = getenv("PROBE_SRC");
	if (!src || !*src)
		src = PROBE_SRC_DEFAULT;
	char exe[256], cmd[8192];
	snprintf(exe, sizeof(exe), "%s/probe3.%u", work_dir, minor);
	snprintf(cmd, sizeof(cmd), "%s -w -o %s '%s' -I'%s' -I'%s/internal' 2>&1",
		 cc && *cc ? cc : "cc", exe, src, inc, inc);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[512];
	while (fgets(line, sizeof(line), p))
		fprintf(stderr, "cc: %s", line);
	if (pclose(p) != 0)
		return -1;
	p = popen(exe, "r");
	assert_non_null(p);
	int n = 0;
	while (n < max && fscanf(p, "%95s %lu", vals[n].key, &vals[n].value) == 2)
		vals[n++].seen = false;
	pclose(p);
	unlink(exe);
	return n;
}

static struct probe_value *find(struct probe_value *vals, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(vals[i].key, key))
			return &vals[i];
	return NULL;
}

static int check_keys(const char *what, const void *table, const struct py_offset_key *keys,
		      size_t nkeys, struct probe_value *vals, int n)
{
	int bad = 0;
	for (size_t k = 0; k < nkeys; k++) {
		uint32_t mine;
		memcpy(&mine, (const char *)table + keys[k].at, sizeof(mine));
		struct probe_value *pv = find(vals, n, keys[k].key);
		if (pv)
			pv->seen = true;
		if (mine == PY_OFF_NONE && !pv)
			continue;
		if (!pv) {
			print_error("%s: %s is %u in the table but the headers have no such field\n",
				    what, keys[k].key, mine);
			bad++;
		} else if (mine == PY_OFF_NONE) {
			print_error("%s: %s is missing from the table; the headers say %lu\n", what,
				    keys[k].key, pv->value);
			bad++;
		} else if (mine != pv->value) {
			print_error("%s: %s is %u in the table; the headers say %lu\n", what,
				    keys[k].key, mine, pv->value);
			bad++;
		}
	}
	return bad;
}

static int available;

static void test_version(void **state)
{
	const struct py_offsets *t = *state;
	char inc[2048], what[32];
	snprintf(what, sizeof(what), "CPython %u.%u", t->major, t->minor);
	if (!find_include(t->minor, inc, sizeof(inc))) {
		print_message("%s: unavailable (no headers installed under pyenv)\n", what);
		skip();
	}
	available++;
	struct probe_value vals[128];
	int n = run_probe(inc, t->minor, vals, 128);
	if (n < 0)
		fail_msg("%s: the probe does not compile against %s", what, inc);
	struct probe_value *ver = find(vals, n, "version");
	assert_non_null(ver);
	assert_int_equal(ver->value, (unsigned long)(t->major << 8 | t->minor));
	ver->seen = true;
	size_t nk;
	const struct py_offset_key *keys = py_offset_keys(&nk);
	int bad = check_keys(what, t, keys, nk, vals, n);
	/* 3.13+: where the fields sit inside _Py_DebugOffsets. */
	size_t nd, ndk;
	const struct py_debug_layout *dl = py_debug_layouts(&nd);
	const struct py_offset_key *dkeys = py_debug_keys(&ndk);
	bool has_debug = false;
	for (size_t i = 0; i < nd; i++)
		if (dl[i].major == t->major && dl[i].minor == t->minor) {
			has_debug = true;
			bad += check_keys(what, &dl[i], dkeys, ndk, vals, n);
		}
	for (int i = 0; i < n; i++) {
		if (vals[i].seen)
			continue;
		if (!strncmp(vals[i].key, "debug.", 6) && !has_debug)
			print_error("%s: the headers have _Py_DebugOffsets but profkit has no layout for it\n", what);
		else
			print_error("%s: probe value %s is not checked against any table field\n", what,
				    vals[i].key);
		bad++;
	}
	if (bad)
		fail_msg("%s: %d offsets differ from the headers in %s", what, bad, inc);
	print_message("%s: %d values match %s\n", what, n, inc);
}

/* The debug-offsets reader on a synthetic image: cookie, version, plausibility. */
static void test_debug_offsets_parse(void **state)
{
	(void)state;
	size_t nd;
	const struct py_debug_layout *dl = py_debug_layouts(&nd);
	const struct py_debug_layout *d = &dl[nd - 1];
	uint8_t buf[PY_DEBUG_READ_SIZE] = { 0 };
	memcpy(buf, PY_DEBUG_COOKIE, 8);
	uint64_t version = (uint64_t)d->major << 24 | (uint64_t)d->minor << 16 | 0xf0;
	memcpy(buf + d->version, &version, 8);
	const uint32_t *fields = &d->runtime_interpreters_head;
	size_t nfields = (size_t)(&d->unicode_asciiobject_size - fields) + 1;
	for (size_t i = 0; i < nfields; i++) {
		uint64_t v = 16 + 8 * i;
		memcpy(buf + fields[i], &v, 8);
	}
	struct py_offsets out;
	uint32_t got_version;
	bool newer;
	assert_int_equal(py_offsets_from_debug(buf, sizeof(buf), &out, &got_version, &newer), 0);
	assert_int_equal(got_version, (uint32_t)version);
	assert_false(newer);
	assert_int_equal(out.runtime_interpreters_head, 16);
	assert_int_equal(out.unicode_compact_size, out.unicode_ascii_size + 16);
	/* A newer minor: the latest layout, flagged. */
	uint64_t v2 = version + (1 << 16);
	memcpy(buf + d->version, &v2, 8);
	assert_int_equal(py_offsets_from_debug(buf, sizeof(buf), &out, &got_version, &newer), 0);
	assert_true(newer);
	memcpy(buf + d->version, &version, 8);
	/* An implausible offset is refused, not used. */
	uint64_t huge = 1ULL << 40;
	memcpy(buf + d->tstate_next, &huge, 8);
	assert_int_equal(py_offsets_from_debug(buf, sizeof(buf), &out, &got_version, &newer), -EINVAL);
	/* No cookie: not 3.13+. */
	buf[0] = 'y';
	assert_int_equal(py_offsets_from_debug(buf, sizeof(buf), &out, &got_version, &newer), -EPROTO);
}

static void test_table_choice(void **state)
{
	(void)state;
	const struct py_offsets *t;
	bool newer;
	assert_int_equal(py_offsets_for(3, 7, &t, &newer), -ENOTSUP);
	assert_int_equal(py_offsets_for(2, 7, &t, &newer), -ENOTSUP);
	assert_int_equal(py_offsets_for(3, 8, &t, &newer), 0);
	assert_false(newer);
	assert_true(py_v_min(t, 3, 8) && !py_v_min(t, 3, 11));
	assert_int_equal(py_offsets_for(3, 14, &t, &newer), 0);
	assert_true(newer);
	assert_int_equal(t->minor, 13);
	assert_true(py_v_min(t, 3, 11));
}

int main(void)
{
	size_t n;
	const struct py_offsets *tables = py_offsets_all(&n);
	if (!mkdtemp(work_dir))
		return 1;
	struct CMUnitTest tests[32];
	char names[32][32];
	size_t k = 0;
	for (size_t i = 0; i < n && k < 30; i++, k++) {
		snprintf(names[k], sizeof(names[k]), "headers_3_%u", tables[i].minor);
		tests[k] = (struct CMUnitTest){ .name = names[k], .test_func = test_version,
						.initial_state = (void *)&tables[i] };
	}
	tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_debug_offsets_parse);
	tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_table_choice);
	int r = _cmocka_run_group_tests("py_offsets", tests, k, NULL, NULL);
	rmdir(work_dir);
	if (r == 0 && available == 0)
		return 77; /* no interpreter headers at all: skipped, not passed */
	return r;
}
