/* /proc/PID/maps: parsing, lookup, "[unknown]" names, malformed lines, and this process's
 * own maps. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stack/maps.h"

static const char text[] =
	"55d0c8a00000-55d0c8a02000 r--p 00000000 fd:01 1311 /usr/bin/true\n"
	"55d0c8a02000-55d0c8a06000 r-xp 00002000 fd:01 1311 /usr/bin/true\n"
	"55d0c9f3e000-55d0c9f5f000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f1c3f200000-7f1c3f228000 r--p 00000000 fd:01 2718 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1c3f228000-7f1c3f3bd000 r-xp 00028000 fd:01 2718 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1c3f400000-7f1c3f401000 rw-p 00000000 00:00 0 \n"
	"7f1c3f500000-7f1c3f510000 r-xs 00001000 103:0a 42 /tmp/a dir/lib x.so (deleted)\n"
	"7ffd1e6f0000-7ffd1e6f2000 r-xp 00000000 00:00 0                          [vdso]\n";

static void test_parse(void **state)
{
	struct proc_maps m;
	size_t bad = 0;
	assert_int_equal(proc_maps_parse(text, sizeof(text) - 1, &m, &bad), 0);
	assert_int_equal(m.n, 8);
	const struct map_entry *e = &m.v[1];
	assert_true(e->start == 0x55d0c8a02000ULL && e->end == 0x55d0c8a06000ULL);
	assert_string_equal(e->perms, "r-xp");
	assert_int_equal(e->offset, 0x2000);
	assert_int_equal(e->dev_major, 0xfd);
	assert_int_equal(e->dev_minor, 1);
	assert_int_equal(e->inode, 1311);
	assert_string_equal(e->path, "/usr/bin/true");
	assert_string_equal(m.v[2].path, "[heap]");
	assert_string_equal(m.v[5].path, "");
	assert_string_equal(m.v[6].path, "/tmp/a dir/lib x.so (deleted)");
	assert_int_equal(m.v[6].dev_major, 0x103);
	assert_int_equal(m.v[6].dev_minor, 0xa);
	assert_string_equal(map_module_name(&m.v[4]), "libc.so.6");
	assert_string_equal(map_module_name(&m.v[5]), "[anon]");
	assert_string_equal(map_module_name(&m.v[6]), "lib x.so (deleted)");
	assert_string_equal(map_module_name(&m.v[7]), "[vdso]");
	proc_maps_free(&m);
}

static void test_find_and_unknown(void **state)
{
	struct proc_maps m;
	assert_int_equal(proc_maps_parse(text, sizeof(text) - 1, &m, NULL), 0);
	assert_ptr_equal(proc_maps_find(&m, 0x55d0c8a02000ULL), &m.v[1]);
	assert_ptr_equal(proc_maps_find(&m, 0x55d0c8a05fffULL), &m.v[1]);
	assert_ptr_equal(proc_maps_find(&m, 0x55d0c8a06000ULL), NULL); /* gap */
	assert_ptr_equal(proc_maps_find(&m, 0x7f1c3f3bcfffULL), &m.v[4]);
	assert_null(proc_maps_find(&m, 0));
	assert_null(proc_maps_find(&m, UINT64_MAX));

	struct strbuf sb = STRBUF_INIT;
	/* 0x7f1c3f2a01f0 is 0x781f0 into the r-xp mapping at file offset 0x28000. */
	maps_add_unknown(&sb, &m, 0x7f1c3f2a01f0ULL);
	assert_string_equal(sb_str(&sb), "libc.so.6+0xa01f0");
	sb_reset(&sb);
	maps_add_unknown(&sb, &m, 0x1234);
	assert_string_equal(sb_str(&sb), "[unknown]+0x1234");
	sb_reset(&sb);
	maps_add_unknown(&sb, &m, 0x7f1c3f400010ULL);
	assert_string_equal(sb_str(&sb), "[anon]+0x10");
	sb_free(&sb);
	proc_maps_free(&m);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *text;
		size_t line;
	} cases[] = {
		{ "1000-2000 r-xp 0 0:0 0 /x\nnonsense\n", 2 },
		{ "1000 r-xp 0 0:0 0 /x\n", 1 },
		{ "2000-1000 r-xp 0 0:0 0 /x\n", 1 },
		{ "1000-2000 rwxq 0 0:0 0 /x\n", 1 },
		{ "1000-2000 r-x 0 0:0 0 /x\n", 1 },
		{ "1000-2000 r-xp 0 0-0 0 /x\n", 1 },
		{ "1000-2000 r-xp 0 0:0 x /x\n", 1 },
		{ "1000-2000 r-xp 0 0:0 0/x\n", 1 },
		{ "10000000000000000-2 r-xp 0 0:0 0\n", 1 },
		{ "1000-2000 r-xp 0 0:0 99999999999999999999 /x\n", 1 },
		{ "1000-3000 r-xp 0 0:0 0 /x\n2000-4000 r-xp 0 0:0 0 /y\n", 2 },
		{ "1000-2000 r-xp 0 100000000:0 0 /x\n", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proc_maps m;
		size_t bad = 0, len = strlen(cases[i].text);
		char *exact = dup_exact(cases[i].text, len);
		int r = proc_maps_parse(exact, len, &m, &bad);
		if (r != -EINVAL || bad != cases[i].line)
			fail_msg("case %zu: r=%d line=%zu", i, r, bad);
		assert_int_equal(m.n, 0);
		proc_maps_free(&m);
		free(exact);
	}
	/* No final newline, and an empty text. */
	struct proc_maps m;
	assert_int_equal(proc_maps_parse("1000-2000 r-xp 0 0:0 0 /x", 25, &m, NULL), 0);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.v[0].path, "/x");
	proc_maps_free(&m);
	assert_int_equal(proc_maps_parse("", 0, &m, NULL), 0);
	assert_int_equal(m.n, 0);
	proc_maps_free(&m);
}

static int local_function(void) { return 42; }

static void test_self(void **state)
{
	struct proc_maps m;
	assert_int_equal(proc_maps_read(getpid(), &m), 0);
	assert_true(m.n > 5);
	/* Our own code is in our executable, cmocka's in its shared library (not libc:
	 * under ASan, libc functions are intercepted inside the executable). */
	const struct map_entry *e = proc_maps_find(&m, (uint64_t)(uintptr_t)&local_function);
	assert_non_null(e);
	assert_string_equal(map_module_name(e), "test_maps");
	assert_int_equal(e->perms[2], 'x');
	e = proc_maps_find(&m, (uint64_t)(uintptr_t)&_cmocka_run_group_tests);
	assert_non_null(e);
	assert_non_null(strstr(map_module_name(e), "libcmocka.so"));
	assert_int_equal(e->perms[2], 'x');
	proc_maps_free(&m);
	assert_int_equal(local_function(), 42);
	assert_int_equal(proc_maps_read(0x7ffffff0, &m), -ENOENT);
	proc_maps_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_find_and_unknown),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
