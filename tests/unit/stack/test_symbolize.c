/* The symbolizer, on real processes and real ELF files: this process (its own functions,
 * libc's), and sym_target (SYM_TARGET) copied at test time as is, stripped, with separate
 * debug info (by build-id and by .gnu_debuglink), with MiniDebugInfo, deleted while it
 * runs, replaced on disk while it runs, exec'ing. The parsers (kallsyms, perf maps) on
 * fixtures and hostile lines; demangling; cached-lookup and load timings. */
#include "unit.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "stack/maps.h"
#include "stack/symbolize.h"
#include "stack/symbolize_int.h"

/* --- helpers ------------------------------------------------------------------------- */

static char tmp[64]; /* this run's scratch directory */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static bool have(const char *tool)
{
	return sh("command -v %s >/dev/null 2>&1", tool) == 0;
}

/* tmp/name */
static const char *tpath(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
	return buf[i];
}

static const char *target_src(void)
{
	return env_dir("SYM_TARGET");
}

/* A copy of sym_target at tmp/name. */
static void copy_target(const char *name)
{
	assert_int_equal(sh("cp '%s' '%s'", target_src(), tpath(name)), 0);
}

struct target {
	pid_t pid;
	FILE *in, *out;
	uint64_t exported, local, main_addr;
};

static void target_read(struct target *t)
{
	unsigned long long a, b, c;
	if (fscanf(t->out, "%llx %llx %llx", &a, &b, &c) != 3)
		fail_msg("sym_target printed no addresses");
	t->exported = a;
	t->local = b;
	t->main_addr = c;
}

static void target_start(struct target *t, const char *path)
{
	int in[2], out[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	t->pid = fork();
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->in = fdopen(in[1], "w");
	t->out = fdopen(out[0], "r");
	target_read(t);
}

static void target_stop(struct target *t)
{
	fclose(t->in);
	int st;
	waitpid(t->pid, &st, 0);
	fclose(t->out);
}

static struct symbolizer *new_symbolizer(void)
{
	struct symbolizer_opts o = { .debug_dir = tpath("debug"), .perfmap_dir = tmp,
				     .demangle = true };
	struct symbolizer *s;
	assert_int_equal(symbolizer_new(&o, &s), 0);
	return s;
}

static const struct symbol *user(struct symbolizer *s, pid_t pid, uint64_t addr)
{
	int id = symbolize_user(s, pid, addr, false);
	assert_true(id >= 0);
	const struct symbol *sym = symbolizer_get(s, id);
	assert_non_null(sym);
	return sym;
}

static void assert_named(struct symbolizer *s, pid_t pid, uint64_t addr, const char *name,
			 const char *module)
{
	const struct symbol *sym = user(s, pid, addr);
	if (strcmp(sym->name, name) != 0 || !sym->known)
		fail_msg("0x%llx: got \"%s\" (known %d), want \"%s\"", (unsigned long long)addr,
			 sym->name, sym->known, name);
	assert_string_equal(sym->module, module);
	assert_int_equal(sym->kind, FRAME_USER);
}

/* module+offset, where offset is the file offset of addr in pid. */
static void assert_offset(struct symbolizer *s, pid_t pid, uint64_t addr, const char *module)
{
	const struct symbol *sym = user(s, pid, addr);
	struct proc_maps m;
	assert_int_equal(proc_maps_read(pid, &m), 0);
	const struct map_entry *e = proc_maps_find(&m, addr);
	assert_non_null(e);
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s+0x%llx", module,
		 (unsigned long long)map_file_offset(e, addr));
	proc_maps_free(&m);
	if (strcmp(sym->name, want) != 0 || sym->known)
		fail_msg("0x%llx: got \"%s\" (known %d), want \"%s\"", (unsigned long long)addr,
			 sym->name, sym->known, want);
	assert_string_equal(sym->module, module);
}

static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/pk-sym.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	return mkdir(tpath("debug"), 0755);
}

static int teardown(void **state)
{
	return sh("rm -rf '%s'", tmp);
}

/* --- parsers ------------------------------------------------------------------------- */

static void test_demangle(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "_ZNSt6vectorIiSaIiEE9push_backERKi",
		  "std::vector<int, std::allocator<int> >::push_back(int const&)" },
		{ "_ZN3std2io5stdio6_print17h5f1e3e0c1a2b3c4dE", "std::io::stdio::_print" },
		{ "_RNvNtCs9ltgdHTiPiY_4core3ptr8null_mut", "core::ptr::null_mut" },
		{ "_Z3fooi.cold", "foo(int) [clone .cold]" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = symbol_demangle(cases[i].in);
		assert_non_null(d);
		assert_string_equal(d, cases[i].out);
		free(d);
	}
	assert_null(symbol_demangle("main"));
	assert_null(symbol_demangle("_Znot_really"));
	assert_null(symbol_demangle("_R"));
	assert_null(symbol_demangle(""));
}

static void test_kallsyms_parse(void **state)
{
	size_t len;
	char *text = fixture_read("symbolize/kallsyms", &len);
	char *exact = dup_exact(text, len);
	struct ksym_table *t;
	size_t bad = 0;
	assert_int_equal(kallsyms_parse(exact, len, &t, &bad), 0);
	const char *mod = NULL;
	/* Three names at one address: the one without underscores. */
	assert_string_equal(ksym_lookup(t, 0xffffffff81000000ULL, &mod), "srso_alias_untrain_ret");
	assert_string_equal(mod, "");
	assert_string_equal(ksym_lookup(t, 0xffffffff821f94a0ULL + 0x10, &mod), "schedule");
	assert_string_equal(ksym_lookup(t, 0xffffffff821f9549ULL, NULL), "schedule");
	assert_string_equal(ksym_lookup(t, 0xffffffff821f9550ULL, NULL), "io_schedule");
	assert_string_equal(ksym_lookup(t, 0xffffffffc0a01010ULL, &mod), "ext4_file_read_iter");
	assert_string_equal(mod, "ext4");
	assert_string_equal(ksym_lookup(t, 0xffffffffc0a00010ULL, &mod), "ext4_mb_new_blocks");
	assert_string_equal(ksym_lookup(t, 0xffffffffc0b10204ULL, &mod), "jbd2_journal_stop");
	assert_string_equal(mod, "jbd2");
	assert_string_equal(ksym_lookup(t, 0xffffffffc0c00004ULL, &mod),
			    "bpf_prog_6deef7357e7b4530_sd_fw_ingress");
	assert_string_equal(mod, "bpf");
	/* Before the first symbol, past the last one's reach, and the zero address. */
	assert_null(ksym_lookup(t, 0xffffffff80000000ULL, &mod));
	assert_null(ksym_lookup(t, 0xffffffffc0c00000ULL + (2u << 20), &mod));
	assert_null(ksym_lookup(t, 0, &mod));
	assert_int_equal(ksym_count(t), 15);
	ksym_table_free(t);
	free(exact);
	free(text);

	text = fixture_read("symbolize/kallsyms_zero", &len);
	assert_int_equal(kallsyms_parse(text, len, &t, NULL), 0);
	assert_int_equal(ksym_count(t), 0);
	assert_null(ksym_lookup(t, 0xffffffff821f94a0ULL, NULL));
	ksym_table_free(t);
	free(text);

	static const struct {
		const char *text;
		size_t line;
	} bad_cases[] = {
		{ "ffffffff81000000 T ok\nnonsense\n", 2 },
		{ "ffffffff81000000 T\n", 1 },
		{ "ffffffff81000000 T \n", 1 },
		{ "ffffffff81000000 TT name\n", 1 },
		{ "1ffffffff81000000 T name\n", 1 },
		{ "ffffffff81000000  T name\n", 1 },
		{ "ffffffff81000000 T name\t[]\n", 1 },
		{ "ffffffff81000000 T name\t[ext4\n", 1 },
		{ "ffffffff81000000 T name [ext4]\n", 1 },
		{ "ffffffff81000000 T name\t[ex]t4]\n", 1 },
		{ "\n\nzzzz T name\n", 3 },
	};
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		len = strlen(bad_cases[i].text);
		exact = dup_exact(bad_cases[i].text, len);
		bad = 0;
		int r = kallsyms_parse(exact, len, &t, &bad);
		if (r != -EINVAL || bad != bad_cases[i].line)
			fail_msg("case %zu: r=%d line=%zu", i, r, bad);
		free(exact);
	}
	/* No final newline; an empty text. */
	assert_int_equal(kallsyms_parse("ffffffff81000000 T _text", 24, &t, NULL), 0);
	assert_string_equal(ksym_lookup(t, 0xffffffff81000001ULL, NULL), "_text");
	ksym_table_free(t);
	assert_int_equal(kallsyms_parse("", 0, &t, NULL), 0);
	assert_null(ksym_lookup(t, 1, NULL));
	ksym_table_free(t);
}

static void test_kernel_symbols(void **state)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/symbolize/kallsyms", env_dir("FIXTURES"));
	struct symbolizer_opts o = { .kallsyms = path };
	struct symbolizer *s;
	assert_int_equal(symbolizer_new(&o, &s), 0);
	const struct symbol *sym = symbolizer_get(s, symbolize_kernel(s, 0xffffffff821f94a4ULL));
	assert_string_equal(sym->name, "schedule");
	assert_string_equal(sym->module, "[kernel]");
	assert_int_equal(sym->kind, FRAME_KERNEL);
	assert_true(sym->known);
	sym = symbolizer_get(s, symbolize_kernel(s, 0xffffffffc0a01404ULL));
	assert_string_equal(sym->name, "ext4_file_write_iter [ext4]");
	assert_string_equal(sym->module, "[ext4]");
	sym = symbolizer_get(s, symbolize_kernel(s, 0xfffffffff0000000ULL));
	assert_string_equal(sym->name, "[kernel]");
	assert_false(sym->known);
	int a = symbolize_kernel(s, 0xffffffff821f94a4ULL);
	assert_int_equal(a, symbolize_kernel(s, 0xffffffff821f94b0ULL));
	s = symbolizer_free(s);

	/* Without root every address is zero: every kernel frame is "[kernel]". */
	snprintf(path, sizeof(path), "%s/symbolize/kallsyms_zero", env_dir("FIXTURES"));
	assert_int_equal(symbolizer_new(&o, &s), 0);
	sym = symbolizer_get(s, symbolize_kernel(s, 0xffffffff821f94a4ULL));
	assert_string_equal(sym->name, "[kernel]");
	assert_string_equal(sym->module, "[kernel]");
	assert_int_equal(sym->kind, FRAME_KERNEL);
	s = symbolizer_free(s);

	/* This machine's kernel, when /proc/kallsyms shows addresses (root). */
	size_t len;
	char *text = file_read("/proc/kallsyms", &len);
	struct ksym_table *t;
	assert_non_null(text);
	assert_int_equal(kallsyms_parse(text, len, &t, NULL), 0);
	char *line = strstr(text, " T schedule\n");
	if (ksym_count(t) > 0 && line) {
		while (line > text && line[-1] != '\n')
			line--;
		uint64_t addr = strtoull(line, NULL, 16);
		assert_int_equal(symbolizer_new(NULL, &s), 0);
		sym = symbolizer_get(s, symbolize_kernel(s, addr + 4));
		assert_string_equal(sym->name, "schedule");
		s = symbolizer_free(s);
	}
	ksym_table_free(t);
	free(text);
}

static void test_perfmap_parse(void **state)
{
	size_t len;
	char *text = fixture_read("symbolize/perf.map", &len);
	char *exact = dup_exact(text, len);
	struct perfmap *m;
	size_t bad = 0;
	assert_int_equal(perfmap_parse(exact, len, &m, &bad), 0);
	assert_string_equal(perfmap_lookup(m, 0x7f3a2c001000ULL), "Interpreter");
	assert_string_equal(perfmap_lookup(m, 0x7f3a2c00103fULL), "Interpreter");
	assert_string_equal(perfmap_lookup(m, 0x7f3a2c001040ULL), "LazyCompile:*fib /app/fib.js:3");
	assert_string_equal(perfmap_lookup(m, 0x7f3a2c001210ULL), "Builtin:ArgumentsAdaptorTrampoline");
	/* Regenerated at the same address: the later line. */
	assert_string_equal(perfmap_lookup(m, 0x7f3a2c001310ULL), "py::loop_regenerated:/app/main.py");
	assert_null(perfmap_lookup(m, 0x7f3a2c001390ULL));
	assert_null(perfmap_lookup(m, 0x7f3a2c002000ULL));
	assert_string_equal(perfmap_lookup(m, 0x7f3a2c003110ULL), "Stub:inner_newer");
	assert_string_equal(perfmap_lookup(m, 0x7f3a2c003200ULL), "Stub:CEntry");
	assert_null(perfmap_lookup(m, 0x7f3a2c004000ULL));
	assert_null(perfmap_lookup(m, 0));
	perfmap_free(m);
	free(exact);
	free(text);

	static const struct {
		const char *text;
		size_t line;
	} cases[] = {
		{ "1000 10 ok\nnonsense\n", 2 },
		{ "1000 10\n", 1 },
		{ "1000 10 \n", 1 },
		{ "1000\n", 1 },
		{ "x1000 10 name\n", 1 },
		{ "10000000000000000 10 name\n", 1 },
		{ "1000 10x name\n", 1 },
		{ "\n1000 10 a\n1000 g b\n", 3 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].text);
		exact = dup_exact(cases[i].text, len);
		bad = 0;
		int r = perfmap_parse(exact, len, &m, &bad);
		if (r != -EINVAL || bad != cases[i].line)
			fail_msg("case %zu: r=%d line=%zu", i, r, bad);
		/* The lenient reader keeps the good lines. */
		assert_int_equal(perfmap_parse_lenient(exact, len, &m), 0);
		perfmap_free(m);
		free(exact);
	}
	assert_int_equal(perfmap_parse_lenient("1000 10 a\nbad\n2000 10 b c\r\n", 27, &m), 0);
	assert_int_equal(perfmap_count(m), 2);
	assert_string_equal(perfmap_lookup(m, 0x2004), "b c");
	perfmap_free(m);
	/* A range that would wrap is cut at the top of the address space. */
	assert_int_equal(perfmap_parse("ffffffffffffff00 ffff top", 25, &m, NULL), 0);
	assert_string_equal(perfmap_lookup(m, UINT64_MAX - 1), "top");
	assert_null(perfmap_lookup(m, 0xfffffffffffffe00ULL));
	perfmap_free(m);
}

static void test_crc32(void **state)
{
	assert_int_equal(debuglink_crc32(0, "123456789", 9), 0xcbf43926u);
	uint32_t c = debuglink_crc32(0, "1234", 4);
	assert_int_equal(debuglink_crc32(c, "56789", 5), 0xcbf43926u);
	assert_int_equal(debuglink_crc32(0, "", 0), 0);
}

/* --- this process -------------------------------------------------------------------- */

__attribute__((noinline)) int symbolize_test_marker(int x);
__attribute__((noinline)) int symbolize_test_marker(int x)
{
	return x * 7 + 3;
}

static __attribute__((noinline)) int symbolize_test_static(int x)
{
	return x * 11 + 5;
}

static uint64_t libc_getpid(void)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(libc);
	void *fn = dlsym(libc, "getpid");
	assert_non_null(fn);
	dlclose(libc);
	return (uint64_t)(uintptr_t)fn;
}

static void test_self(void **state)
{
	struct symbolizer *s = new_symbolizer();
	pid_t pid = getpid();
	assert_int_equal(symbolizer_add_process(s, pid), 0);
	uint64_t marker = (uint64_t)(uintptr_t)&symbolize_test_marker;
	uint64_t stat = (uint64_t)(uintptr_t)&symbolize_test_static;
	assert_named(s, pid, marker, "symbolize_test_marker", "test_symbolize");
	assert_named(s, pid, stat + 1, "symbolize_test_static", "test_symbolize");
	/* A return address right after a call at the end of a function is looked up at
	 * ip - 1: here, the first byte of the function is "returned to" from before it. */
	int in = symbolize_user(s, pid, marker + 1, true);
	assert_string_equal(symbolizer_get(s, in)->name, "symbolize_test_marker");
	assert_int_equal(symbolize_test_marker(1) + symbolize_test_static(1), 26);

	const struct symbol *sym = user(s, pid, libc_getpid());
	assert_non_null(strstr(sym->name, "getpid"));
	assert_true(sym->known);
	assert_string_equal(sym->module, "libc.so.6");

	/* No mapping: "[unknown]", without a module. */
	sym = user(s, pid, 0x10);
	assert_string_equal(sym->name, "[unknown]");
	assert_null(sym->module);
	assert_false(sym->known);

	/* A non-executable mapping: module+offset. */
	static const char data[] = "data";
	sym = user(s, pid, (uint64_t)(uintptr_t)data);
	assert_false(sym->known);
	assert_non_null(strstr(sym->name, "test_symbolize+0x"));

	/* Ids are stable, pointers too, and the second lookup is a cache hit. */
	int id = symbolize_user(s, pid, marker, false);
	const struct symbol *first = symbolizer_get(s, id);
	struct symbolizer_stats st0, st1;
	symbolizer_get_stats(s, &st0);
	assert_int_equal(symbolize_user(s, pid, marker, false), id);
	symbolizer_get_stats(s, &st1);
	assert_int_equal(st1.lookups, st0.lookups + 1);
	assert_int_equal(st1.cache_hits, st0.cache_hits + 1);
	for (uint64_t a = 0x1000; a < 0x1000 + 3000; a++)
		symbolize_user(s, pid, a, false); /* "[unknown]", no new symbols */
	for (int i = 0; i < 3000; i++)
		symbolize_kernel(s, (uint64_t)i); /* grows nothing either */
	assert_ptr_equal(symbolizer_get(s, id), first);
	assert_null(symbolizer_get(s, -1));
	assert_null(symbolizer_get(s, (int)symbolizer_count(s)));
	assert_int_equal(st1.build_id_mismatch, 0);
	assert_true(st1.modules_loaded >= 2); /* us and libc at least */

	/* The vDSO, from our own copy of it. */
	uint64_t vdso = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "__vdso_clock_gettime");
	struct proc_maps m;
	assert_int_equal(proc_maps_read(pid, &m), 0);
	for (size_t i = 0; i < m.n && !vdso; i++)
		if (strcmp(m.v[i].path, "[vdso]") == 0) {
			struct elf_symtab *t;
			const void *image = (const void *)(uintptr_t)m.v[i].start;
			assert_int_equal(elf_symtab_from_memory(image, m.v[i].end - m.v[i].start,
								&t), 0);
			assert_true(elf_symtab_count(t) > 0);
			elf_symtab_free(t);
			/* clock_gettime's code in the vdso: any address that has a name. */
			for (uint64_t a = m.v[i].start; a < m.v[i].end && !vdso; a += 16) {
				sym = user(s, pid, a);
				if (sym->known)
					vdso = a;
			}
		}
	proc_maps_free(&m);
	assert_true(vdso != 0);
	sym = user(s, pid, vdso);
	assert_string_equal(sym->module, "[vdso]");
	s = symbolizer_free(s);
	assert_null(symbolizer_free(NULL));
}

static int find_exe(struct dl_phdr_info *info, size_t size, void *data)
{
	*(uint64_t *)data = info->dlpi_addr; /* the first one is the executable */
	return 1;
}

static void test_elf_from_memory(void **state)
{
	size_t len;
	char *image = file_read("/proc/self/exe", &len);
	assert_non_null(image);
	struct elf_symtab *t;
	assert_int_equal(elf_symtab_from_memory(image, len, &t), 0);
	uint64_t bias = 0;
	dl_iterate_phdr(find_exe, &bias);
	uint64_t vaddr = (uint64_t)(uintptr_t)&symbolize_test_marker - bias;
	assert_string_equal(elf_symtab_lookup(t, vaddr), "symbolize_test_marker");
	assert_string_equal(elf_symtab_lookup(t, vaddr + 2), "symbolize_test_marker");
	assert_null(elf_symtab_lookup(t, 0));
	const uint8_t *id;
	size_t n = elf_symtab_build_id(t, &id);
	assert_true(n >= 16 && n <= BUILD_ID_MAX);

	/* The same build-id from our own memory. */
	struct proc_maps m;
	assert_int_equal(proc_maps_read(getpid(), &m), 0);
	const struct map_entry *e = proc_maps_find(&m, (uint64_t)(uintptr_t)&symbolize_test_marker);
	assert_non_null(e);
	uint64_t base = 0;
	for (size_t i = 0; i < m.n && !base; i++)
		if (strcmp(m.v[i].path, e->path) == 0 && m.v[i].offset == 0)
			base = m.v[i].start;
	proc_maps_free(&m);
	uint8_t mem[BUILD_ID_MAX];
	size_t mem_len = 0;
	assert_int_equal(build_id_from_memory(getpid(), base, mem, &mem_len), 0);
	assert_int_equal(mem_len, n);
	assert_memory_equal(mem, id, n);
	elf_symtab_free(t);

	/* Not ELF, truncated ELF. */
	assert_int_equal(elf_symtab_from_memory("hello", 5, &t), -EINVAL);
	assert_int_equal(elf_symtab_from_memory(image, 40, &t), -EINVAL);
	assert_int_equal(elf_symtab_from_memory(image, 0, &t), -EINVAL);
	free(image);
}

/* --- other processes ----------------------------------------------------------------- */

static void test_child_plain(void **state)
{
	copy_target("sym_plain");
	struct target t;
	target_start(&t, tpath("sym_plain"));
	struct symbolizer *s = new_symbolizer();
	assert_int_equal(symbolizer_add_process(s, t.pid), 0);
	assert_named(s, t.pid, t.exported, "sym_target_exported", "sym_plain");
	assert_named(s, t.pid, t.local + 3, "sym_target_local", "sym_plain");
	assert_named(s, t.pid, t.main_addr, "main", "sym_plain");
	struct symbolizer_stats st, st2;
	symbolizer_get_stats(s, &st);
	/* A second process of the same build-id (and the same libc) reads no table. */
	copy_target("sym_plain2");
	struct target t2;
	target_start(&t2, tpath("sym_plain2"));
	assert_int_equal(symbolizer_add_process(s, t2.pid), 0);
	assert_named(s, t2.pid, t2.local, "sym_target_local", "sym_plain2");
	symbolizer_get_stats(s, &st2);
	assert_int_equal(st2.modules_loaded, st.modules_loaded);
	target_stop(&t2);
	target_stop(&t);
	/* Gone, still named: everything was read while it ran. */
	assert_named(s, t.pid, t.local, "sym_target_local", "sym_plain");
	assert_int_equal(st.build_id_mismatch, 0);
	/* A process that is not there: an error to add, "[unknown]" to look up. */
	assert_int_equal(symbolizer_add_process(s, 0x7ffffff0), -ESRCH);
	const struct symbol *sym = user(s, 0x7ffffff0, t.local);
	assert_string_equal(sym->name, "[unknown]");
	symbolizer_free(s);
}

static void test_child_stripped(void **state)
{
	if (!have("strip"))
		skip();
	copy_target("sym_stripped");
	assert_int_equal(sh("strip --strip-all '%s'", tpath("sym_stripped")), 0);
	struct target t;
	target_start(&t, tpath("sym_stripped"));
	struct symbolizer *s = new_symbolizer();
	assert_int_equal(symbolizer_add_process(s, t.pid), 0);
	/* Exported: still in .dynsym. Static: only the module and offset are left. */
	assert_named(s, t.pid, t.exported, "sym_target_exported", "sym_stripped");
	assert_offset(s, t.pid, t.local, "sym_stripped");
	target_stop(&t);
	symbolizer_free(s);
}

static void test_child_deleted(void **state)
{
	copy_target("sym_deleted");
	struct target t;
	target_start(&t, tpath("sym_deleted"));
	assert_int_equal(unlink(tpath("sym_deleted")), 0);
	struct symbolizer *s = new_symbolizer();
	assert_int_equal(symbolizer_add_process(s, t.pid), 0);
	/* Through /proc/PID/map_files (we are root); the module is named without
	 * " (deleted)". */
	assert_named(s, t.pid, t.local, "sym_target_local", "sym_deleted");
	assert_named(s, t.pid, t.exported, "sym_target_exported", "sym_deleted");
	target_stop(&t);
	symbolizer_free(s);
}

/* Drops the capabilities that let us open /proc/PID/map_files/ (as a normal user has). */
static int drop_map_files_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	d[CAP_CHECKPOINT_RESTORE / 32].effective &= ~(1u << (CAP_CHECKPOINT_RESTORE % 32));
	return (int)syscall(SYS_capset, &h, d);
}

/* Symbolizes t's two functions in a child without those capabilities; its answer, one
 * line "exported\tlocal\tknown_exported known_local mismatches", in buf. 1 when the
 * capabilities could not be dropped. */
static int symbolize_unprivileged(const struct target *t, char *buf, size_t size)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		char mf[128];
		snprintf(mf, sizeof(mf), "/proc/%d/map_files", (int)t->pid);
		if (drop_map_files_caps() < 0)
			_exit(1);
		/* The kernel must now refuse map_files, else the test tests nothing. */
		DIR *dir = opendir(mf);
		struct dirent *de;
		char entry[PATH_MAX];
		int refused = 1;
		while (dir && (de = readdir(dir)))
			if (de->d_name[0] != '.') {
				snprintf(entry, sizeof(entry), "%s/%s", mf, de->d_name);
				int fd = open(entry, O_RDONLY);
				if (fd >= 0) {
					refused = 0;
					close(fd);
				}
				break;
			}
		if (dir)
			closedir(dir);
		if (!refused)
			_exit(1);
		struct symbolizer_opts o = { .demangle = true };
		struct symbolizer *s;
		if (symbolizer_new(&o, &s) < 0)
			_exit(2);
		const struct symbol *a = symbolizer_get(s, symbolize_user(s, t->pid, t->exported,
									false));
		const struct symbol *b = symbolizer_get(s, symbolize_user(s, t->pid, t->local,
									false));
		struct symbolizer_stats st;
		symbolizer_get_stats(s, &st);
		dprintf(p[1], "%s\t%s\t%d %d %zu\n", a ? a->name : "?", b ? b->name : "?",
			a && a->known, b && b->known, st.build_id_mismatch);
		symbolizer_free(s);
		_exit(0);
	}
	close(p[1]);
	ssize_t n = read(p[0], buf, size - 1);
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	buf[n > 0 ? n : 0] = '\0';
	return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

static void test_child_replaced(void **state)
{
	copy_target("sym_replaced");
	struct target t;
	target_start(&t, tpath("sym_replaced"));
	/* Another program takes its path (a new inode, as an upgrade or a rebuild does). */
	assert_int_equal(sh("cp /bin/true '%s' && mv '%s' '%s'", tpath("other"), tpath("other"),
			    tpath("sym_replaced")), 0);

	/* Without map_files: never a wrong name, module+offset and a mismatch counted. */
	char buf[4096];
	int r = symbolize_unprivileged(&t, buf, sizeof(buf));
	if (r == 1) {
		print_message("cannot drop CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE here\n");
	} else {
		assert_int_equal(r, 0);
		char want[256];
		snprintf(want, sizeof(want), "sym_replaced+0x");
		if (strncmp(buf, want, strlen(want)) != 0 || !strstr(buf, "\tsym_replaced+0x") ||
		    !strstr(buf, "\t0 0 1\n"))
			fail_msg("unprivileged: %s", buf);
	}

	/* With it (root): the file that runs, with its names. */
	struct symbolizer *s = new_symbolizer();
	assert_int_equal(symbolizer_add_process(s, t.pid), 0);
	assert_named(s, t.pid, t.local, "sym_target_local", "sym_replaced");
	struct symbolizer_stats st;
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.build_id_mismatch, 0);
	symbolizer_free(s);
	target_stop(&t);
}

/* The same for a file that is unchanged: the unprivileged path names it. */
static void test_child_unprivileged(void **state)
{
	copy_target("sym_unpriv");
	struct target t;
	target_start(&t, tpath("sym_unpriv"));
	char buf[4096];
	int r = symbolize_unprivileged(&t, buf, sizeof(buf));
	target_stop(&t);
	if (r == 1)
		skip();
	assert_int_equal(r, 0);
	assert_string_equal(buf, "sym_target_exported\tsym_target_local\t1 1 0\n");
}

/* Separate debug info: a stripped binary whose .symtab is in a debug file. */
static void test_debug_build_id(void **state)
{
	if (!have("objcopy") || !have("strip"))
		skip();
	copy_target("sym_dbgid");
	const char *bin = tpath("sym_dbgid");
	assert_int_equal(sh("objcopy --only-keep-debug '%s' '%s.dbg' && strip --strip-all '%s'",
			    bin, bin, bin), 0);
	/* debug/.build-id/ab/cdef....debug */
	assert_int_equal(sh("id=$(readelf -n '%s' | sed -n 's/.*Build ID: *//p') && "
			    "mkdir -p '%s/debug/.build-id/'${id%%${id#??}} && "
			    "mv '%s.dbg' '%s/debug/.build-id/'${id%%${id#??}}/${id#??}.debug",
			    bin, tmp, bin, tmp), 0);
	struct target t;
	target_start(&t, bin);
	struct symbolizer *s = new_symbolizer();
	assert_int_equal(symbolizer_add_process(s, t.pid), 0);
	assert_named(s, t.pid, t.local, "sym_target_local", "sym_dbgid");
	assert_named(s, t.pid, t.exported, "sym_target_exported", "sym_dbgid");
	target_stop(&t);
	symbolizer_free(s);
	assert_int_equal(sh("rm -rf '%s/debug/.build-id'", tmp), 0);
}

/* .gnu_debuglink, the debug file in each place it is looked for. */
static void test_debuglink(void **state)
{
	if (!have("objcopy") || !have("strip"))
		skip();
	static const char *places[] = { "%s/%s", "%s/.debug/%s", "%s/debug%s/%s" };
	for (size_t i = 0; i < 3; i++) {
		char name[64], dir[128], dbg[256];
		snprintf(name, sizeof(name), "sym_link%zu", i);
		copy_target(name);
		const char *bin = tpath(name);
		snprintf(dir, sizeof(dir), "%s/link%zu", tmp, i);
		assert_int_equal(mkdir(dir, 0755), 0);
		snprintf(dbg, sizeof(dbg), "%s/%s", dir, name);
		assert_int_equal(rename(bin, dbg), 0);
		bin = dbg;
		char where[PATH_MAX];
		if (i == 2)
			snprintf(where, sizeof(where), places[i], tmp, dir, "sym.debug");
		else
			snprintf(where, sizeof(where), places[i], dir, "sym.debug");
		assert_int_equal(sh("mkdir -p \"$(dirname '%s')\" && "
				    "objcopy --only-keep-debug '%s' '%s' && "
				    "strip --strip-all '%s' && "
				    "objcopy --add-gnu-debuglink='%s' '%s'",
				    where, bin, where, bin, where, bin), 0);
		struct target t;
		target_start(&t, bin);
		struct symbolizer *s = new_symbolizer();
		assert_int_equal(symbolizer_add_process(s, t.pid), 0);
		assert_named(s, t.pid, t.local, "sym_target_local", name);
		target_stop(&t);
		symbolizer_free(s);
	}
}

/* MiniDebugInfo the way Fedora's find-debuginfo makes it: the functions .dynsym lacks,
 * in an xz-compressed ELF in .gnu_debugdata of the stripped binary. */
static void test_minidebuginfo(void **state)
{
	if (!have("objcopy") || !have("xz") || !have("nm") || !have("strip"))
		skip();
	copy_target("sym_mini");
	const char *bin = tpath("sym_mini");
	int r = sh("cd '%s' && "
		   "nm -D sym_mini --format=posix --defined-only | awk '{print $1}' | sort > dynsyms && "
		   "nm sym_mini --format=posix --defined-only | awk '$2 ~ /[Tt]/ {print $1}' | sort > funcsyms && "
		   "comm -13 dynsyms funcsyms > keep && "
		   "objcopy --only-keep-debug sym_mini mini.full && "
		   "objcopy -S --remove-section .gdb_index --remove-section .comment "
		   "--keep-symbols=keep mini.full mini && "
		   "xz -f mini && strip --strip-all sym_mini && "
		   "objcopy --add-section .gnu_debugdata=mini.xz sym_mini",
		   tmp);
	assert_int_equal(r, 0);
	assert_int_equal(sh("readelf -S '%s' | grep -q gnu_debugdata", bin), 0);
	struct target t;
	target_start(&t, bin);
	struct symbolizer *s = new_symbolizer();
	assert_int_equal(symbolizer_add_process(s, t.pid), 0);
	assert_named(s, t.pid, t.local, "sym_target_local", "sym_mini");
	assert_named(s, t.pid, t.exported, "sym_target_exported", "sym_mini");
	target_stop(&t);
	symbolizer_free(s);

	/* The same image through the fuzzers' entry point. */
	size_t len;
	char *image = file_read(bin, &len);
	struct elf_symtab *tab;
	assert_int_equal(elf_symtab_from_memory(image, len, &tab), 0);
	assert_true(elf_symtab_count(tab) >= 3);
	free(image);
	elf_symtab_free(tab);
}

static void test_exec(void **state)
{
	copy_target("sym_before");
	copy_target("sym_after");
	struct target t;
	target_start(&t, tpath("sym_before"));
	struct symbolizer *s = new_symbolizer();
	assert_int_equal(symbolizer_add_process(s, t.pid), 0);
	assert_named(s, t.pid, t.local, "sym_target_local", "sym_before");
	fprintf(t.in, "exec %s\n", tpath("sym_after"));
	fflush(t.in);
	target_read(&t);
	symbolizer_exec(s, t.pid);
	assert_named(s, t.pid, t.local, "sym_target_local", "sym_after");
	assert_named(s, t.pid, t.exported, "sym_target_exported", "sym_after");
	target_stop(&t);
	symbolizer_free(s);
}

static void test_fork(void **state)
{
	struct symbolizer *s = new_symbolizer();
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(symbolizer_add_process(s, getpid()), 0);
	assert_int_equal(symbolizer_fork(s, getpid(), child), 0);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* The child's mappings are the parent's copy: no /proc read needed. */
	assert_named(s, child, (uint64_t)(uintptr_t)&symbolize_test_marker,
		     "symbolize_test_marker", "test_symbolize");
	symbolizer_free(s);
}

/* A process gone before it is symbolized, known from its mapping events only. */
static void test_mappings_only(void **state)
{
	copy_target("sym_events");
	struct target t;
	target_start(&t, tpath("sym_events"));
	struct proc_maps m;
	assert_int_equal(proc_maps_read(t.pid, &m), 0);
	target_stop(&t);
	struct symbolizer *s = new_symbolizer();
	for (size_t i = 0; i < m.n; i++)
		assert_int_equal(symbolizer_add_mapping(s, t.pid, m.v[i].start,
							m.v[i].end - m.v[i].start, m.v[i].offset,
							m.v[i].inode, m.v[i].path,
							m.v[i].perms[2] == 'x'),
				 0);
	proc_maps_free(&m);
	assert_named(s, t.pid, t.local, "sym_target_local", "sym_events");
	/* A new mapping over part of an old one cuts it. */
	assert_int_equal(symbolizer_add_mapping(s, t.pid, t.local & ~4095ULL, 4096, 0, 0, "", true),
			 0);
	const struct symbol *sym = user(s, t.pid, t.local);
	assert_false(sym->known);
	assert_string_equal(sym->module, "[anon]");
	assert_int_equal(symbolizer_add_mapping(s, t.pid, 1, 0, 0, 0, "", true), -EINVAL);
	symbolizer_free(s);
}

static void test_jit(void **state)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *code = mmap(NULL, 4 * page, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
	assert_true(code != MAP_FAILED);
	uint64_t base = (uint64_t)(uintptr_t)code;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/perf-%d.map", tmp, (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%llx 100 jit_function_one\n%llx 80 _ZN3jit3twoEv\n",
		(unsigned long long)base, (unsigned long long)base + 0x100);
	fclose(f);
	struct symbolizer *s = new_symbolizer();
	assert_int_equal(symbolizer_add_process(s, getpid()), 0);
	assert_named(s, getpid(), base + 0x10, "jit_function_one", "[jit]");
	assert_named(s, getpid(), base + 0x110, "jit::two()", "[jit]");
	const struct symbol *sym = user(s, getpid(), base + 0x400);
	assert_false(sym->known);
	assert_string_equal(sym->name, "[anon]+0x400");
	/* The JIT writes more: read again (at most once a second). */
	f = fopen(path, "a");
	fprintf(f, "%llx 100 jit_function_three\n", (unsigned long long)base + 0x800);
	fclose(f);
	struct timespec pause_ts = { 1, 100 * 1000 * 1000 };
	nanosleep(&pause_ts, NULL);
	assert_named(s, getpid(), base + 0x810, "jit_function_three", "[jit]");
	assert_named(s, getpid(), base + 0x10, "jit_function_one", "[jit]");
	symbolizer_free(s);
	unlink(path);
	munmap(code, 4 * page);
}

/* --- timings ------------------------------------------------------------------------- */

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reading one module's table as the symbolizer does: the file, then its debug file. */
static double load_ms(const char *path, size_t *ret_n)
{
	double t0 = seconds();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct stat st;
	fstat(fd, &st);
	struct elf_file *f;
	struct elf_symtab *t;
	assert_int_equal(elf_file_from_fd(fd, &f), 0);
	assert_int_equal(elf_symtab_from_file(f, &t), 0);
	if (!elf_symtab_complete(t))
		debuginfo_add(t, f, path, "/usr/lib/debug", &st);
	assert_int_equal(elf_symtab_finish(t), 0);
	double ms = (seconds() - t0) * 1e3;
	*ret_n = elf_symtab_count(t);
	elf_symtab_free(t);
	elf_file_close(f);
	close(fd);
	return ms;
}

static void test_timings(void **state)
{
	struct symbolizer *s;
	assert_int_equal(symbolizer_new(NULL, &s), 0); /* the real debug directory */
	pid_t pid = getpid();
	double t0 = seconds();
	assert_int_equal(symbolizer_add_process(s, pid), 0);
	double add_ms = (seconds() - t0) * 1e3;
	struct symbolizer_stats st;
	symbolizer_get_stats(s, &st);

	/* 512 distinct addresses in our code and libc's, looked up over and over. */
	uint64_t addrs[512];
	uint64_t a = (uint64_t)(uintptr_t)&symbolize_test_marker, b = libc_getpid();
	for (size_t i = 0; i < 512; i++)
		addrs[i] = (i % 2 ? a : b) + (i / 2) % 8;
	for (size_t i = 0; i < 512; i++)
		assert_true(symbolize_user(s, pid, addrs[i], true) >= 0);
	const size_t n = 2000000;
	t0 = seconds();
	size_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (size_t)symbolize_user(s, pid, addrs[i % 512], true);
	double ns = (seconds() - t0) * 1e9 / (double)n;
	assert_true(sum > 0);
	print_message("cached symbolize_user: %.1f ns/lookup; add_process(self): %.1f ms for "
		      "%zu modules\n", ns, add_ms, st.modules_loaded);
	/* Well under a microsecond in a plain build; generous for the sanitizers. */
	assert_true(ns < 5000);
	symbolizer_free(s);

	struct proc_maps m;
	assert_int_equal(proc_maps_read(pid, &m), 0);
	const struct map_entry *e = proc_maps_find(&m, libc_getpid());
	assert_non_null(e);
	size_t nsyms;
	double ms = load_ms(e->path, &nsyms);
	print_message("first load of %s: %.2f ms, %zu symbols\n", e->path, ms, nsyms);
	assert_true(nsyms > 1000);
	proc_maps_free(&m);
	if (access("/usr/bin/python3.11", R_OK) == 0) {
		ms = load_ms("/usr/bin/python3.11", &nsyms);
		print_message("first load of /usr/bin/python3.11: %.2f ms, %zu symbols\n", ms,
			      nsyms);
		assert_true(nsyms > 1000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demangle),
		cmocka_unit_test(test_kallsyms_parse),
		cmocka_unit_test(test_kernel_symbols),
		cmocka_unit_test(test_perfmap_parse),
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_elf_from_memory),
		cmocka_unit_test(test_child_plain),
		cmocka_unit_test(test_child_stripped),
		cmocka_unit_test(test_child_deleted),
		cmocka_unit_test(test_child_replaced),
		cmocka_unit_test(test_child_unprivileged),
		cmocka_unit_test(test_debug_build_id),
		cmocka_unit_test(test_debuglink),
		cmocka_unit_test(test_minidebuginfo),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_mappings_only),
		cmocka_unit_test(test_jit),
		cmocka_unit_test(test_timings),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
