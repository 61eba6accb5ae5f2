/* The symbolizer: turns code addresses into function names, once per unique address.
 *
 * User space. An address is first placed in its process's mapping (/proc/PID/maps, kept
 * per process and updated on new mappings), which gives a module (the mapped ELF file) and
 * a file offset. Each module's symbols are loaded once per build-id (or, without one, per
 * device+inode+size+mtime) and shared by every process mapping it: .symtab, else .dynsym,
 * plus separate debug info (/usr/lib/debug/.build-id/xx/yyyy.debug, .gnu_debuglink) and
 * MiniDebugInfo (.gnu_debugdata, xz). The file mapped is opened through
 * /proc/PID/map_files/START-END when possible, so a deleted or replaced binary still gives
 * the names of the code that runs; when only the path can be opened and its build-id (or
 * inode) differs from what is mapped, no name is given (module+offset only) — never a wrong
 * name. Anonymous executable mappings are looked up in /tmp/perf-PID.map (JIT maps).
 * C++ and Rust names are demangled (libiberty).
 *
 * Kernel. /proc/kallsyms, read once (addresses are zero without root: then kernel frames
 * are "[kernel]"), module names kept ("ext4_file_read_iter [ext4]").
 *
 * Results are symbols: a name and a module, interned, with a small stable id, so that a
 * caller keeps one array "symbol id → profile frame id". Lookups are cached per
 * (module, offset), so a sample whose addresses were all seen before costs hash lookups
 * only. Symbols survive the process: everything needed is read while it runs.
 *
 * Nothing here prints; errors are negative errno codes. */
#ifndef PK_STACK_SYMBOLIZE_H
#define PK_STACK_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/profile.h"

struct symbol {
	const char *name;   /* "main", "std::vector<int>::push_back", "[unknown]" never: an
			     * unknown address is named "libc.so.6+0x2a1f0" (module+offset) */
	const char *module; /* base name of the module ("libc.so.6", "[kernel]", "[jit]"),
			     * NULL when no mapping holds the address */
	enum frame_kind kind; /* FRAME_USER or FRAME_KERNEL */
	bool known;         /* a real symbol name was found */
};

struct symbolizer;

struct symbolizer_opts {
	const char *debug_dir;   /* NULL: "/usr/lib/debug" */
	const char *kallsyms;    /* NULL: "/proc/kallsyms"; tests point it at a fixture */
	const char *perfmap_dir; /* NULL: "/tmp" (perf-PID.map) */
	bool demangle;           /* C++/Rust demangling (default on in profkit) */
};

int symbolizer_new(const struct symbolizer_opts *o, struct symbolizer **ret);
struct symbolizer *symbolizer_free(struct symbolizer *s);

/* Reads the process's mappings now (so symbols stay resolvable after it exits). Called
 * when recording starts for each target process, and again (cheaply) for a PID seen for
 * the first time. -ESRCH when it is gone. */
int symbolizer_add_process(struct symbolizer *s, pid_t pid);
/* A new mapping of pid (PERF_RECORD_MMAP2): path may be NULL/"" for anonymous memory. */
int symbolizer_add_mapping(struct symbolizer *s, pid_t pid, uint64_t start, uint64_t len,
			   uint64_t pgoff, uint64_t inode, const char *path, bool exec);
/* The process replaced its image (exec): forget its mappings; the next lookup rereads them. */
void symbolizer_exec(struct symbolizer *s, pid_t pid);
/* The process fork()ed: child starts with a copy of parent's mappings. */
int symbolizer_fork(struct symbolizer *s, pid_t parent, pid_t child);

/* The symbol of a user address of pid. A return address (every frame but the innermost)
 * should be looked up with is_return = true: the call instruction is at ip - 1. Returns
 * the symbol id (>= 0) or a negative errno (-ENOMEM). Never fails for an unknown address:
 * that gets a module+offset or "[unknown]" symbol. */
int symbolize_user(struct symbolizer *s, pid_t pid, uint64_t ip, bool is_return);
/* The symbol of a kernel address; same contract. */
int symbolize_kernel(struct symbolizer *s, uint64_t ip);

/* The symbol with that id; valid until the symbolizer is freed. */
const struct symbol *symbolizer_get(const struct symbolizer *s, int id);
size_t symbolizer_count(const struct symbolizer *s);

struct symbolizer_stats {
	size_t modules_loaded;   /* distinct ELF symbol tables read */
	size_t lookups;          /* symbolize_* calls */
	size_t cache_hits;       /* answered from the per-address cache */
	size_t unknown;          /* addresses with no symbol */
	size_t build_id_mismatch; /* modules refused because the file on disk is not the one mapped */
};
void symbolizer_get_stats(const struct symbolizer *s, struct symbolizer_stats *ret);

/* Parsers of untrusted text, exposed for tests and fuzzing. Each returns 0 or -EINVAL
 * (line number in *bad_line), -ENOMEM; the result is sorted by address. */
struct ksym_table;
int kallsyms_parse(const char *text, size_t len, struct ksym_table **ret, size_t *bad_line);
/* The name of the kernel symbol holding addr, and its module ("" for the core kernel);
 * NULL when none. */
const char *ksym_lookup(const struct ksym_table *t, uint64_t addr, const char **module);
void ksym_table_free(struct ksym_table *t);

struct perfmap;
int perfmap_parse(const char *text, size_t len, struct perfmap **ret, size_t *bad_line);
const char *perfmap_lookup(const struct perfmap *m, uint64_t addr);
void perfmap_free(struct perfmap *m);

/* An ELF image's symbols, read from memory (elf_memory): what the symbolizer does per
 * module, exposed for the fuzzer. Returns 0, -EINVAL for something that is not ELF or is
 * malformed (nothing is read past the buffer), -ENOMEM. */
struct elf_symtab;
int elf_symtab_from_memory(const void *image, size_t size, struct elf_symtab **ret);
/* The symbol containing the file-relative virtual address (ELF vaddr) addr; NULL when none. */
const char *elf_symtab_lookup(const struct elf_symtab *t, uint64_t vaddr);
/* The build-id note, or 0 bytes. */
size_t elf_symtab_build_id(const struct elf_symtab *t, const uint8_t **ret);
void elf_symtab_free(struct elf_symtab *t);

#endif
