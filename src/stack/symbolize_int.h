/* The symbolizer's internal pieces, shared by its files and its tests (not part of the
 * contract in symbolize.h):
 *
 *   elf_symtab.c   one ELF file (libelf): segments, build-id, .gnu_debuglink, and a sorted
 *                  table of its function symbols (elf_symtab-none.c: built without libelf)
 *   minidebug.c    the xz-compressed .gnu_debugdata image (liblzma; minidebug-none.c)
 *   demangle.c     C++ and Rust names (libiberty; demangle-none.c)
 *   kallsyms.c     /proc/kallsyms
 *   perfmap.c      /tmp/perf-PID.map
 *   debuginfo.c    finding the file that is mapped, and its separate debug file
 *   symbolize.c    processes, modules, caches, interned symbols
 *
 * Errors are negative errno codes, as everywhere. */
#ifndef PK_STACK_SYMBOLIZE_INT_H
#define PK_STACK_SYMBOLIZE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "stack/symbolize.h"

#define BUILD_ID_MAX 64 /* bytes kept of a build-id note (GNU ld writes 20) */

/* --- elf_symtab.c -------------------------------------------------------------------- */

/* One ELF image open for reading: a file mapped with ELF_C_READ_MMAP (pages are read only
 * when touched) or a buffer in memory. */
struct elf_file;

/* -EINVAL when fd is not an ELF file, -ENOTSUP when built without libelf. The fd stays the
 * caller's; the mapping outlives it until elf_file_close. */
int elf_file_from_fd(int fd, struct elf_file **ret);
/* image must stay valid and writable until elf_file_close (libelf may convert in place). */
int elf_file_from_memory(void *image, size_t size, struct elf_file **ret);
void elf_file_close(struct elf_file *f);
/* The NT_GNU_BUILD_ID note's bytes (at most BUILD_ID_MAX), or 0. */
size_t elf_file_build_id(const struct elf_file *f, const uint8_t **ret);
/* The .gnu_debuglink file name and its CRC-32, or NULL. */
const char *elf_file_debuglink(const struct elf_file *f, uint32_t *ret_crc);

/* The main file's table: its PT_LOAD segments and build-id, and its symbols: .symtab; else
 * .dynsym plus the MiniDebugInfo .symtab. Call elf_symtab_finish before looking up. */
int elf_symtab_from_file(struct elf_file *f, struct elf_symtab **ret);
/* Whether the table has a full .symtab (or MiniDebugInfo's): no debug file is needed. */
bool elf_symtab_complete(const struct elf_symtab *t);
/* Adds the .symtab of a separate debug file (the caller checked it belongs). -ENOENT when
 * it has none. */
int elf_symtab_add_debug(struct elf_symtab *t, struct elf_file *debug);
/* Sorts, chooses one name per address and gives size-less symbols an extent. -ENOMEM. */
int elf_symtab_finish(struct elf_symtab *t);
/* The ELF virtual address of a file offset, through the PT_LOAD segment that maps it:
 * vaddr = off - p_offset + p_vaddr. false when no segment holds it. */
bool elf_symtab_vaddr(const struct elf_symtab *t, uint64_t file_off, uint64_t *ret);
size_t elf_symtab_count(const struct elf_symtab *t);

/* --- minidebug.c --------------------------------------------------------------------- */

#define MINIDEBUG_MAX_SIZE (256u << 20) /* bytes of a decompressed .gnu_debugdata */

/* Decompresses an xz stream into a malloc'd buffer. -EINVAL for a corrupt stream, -EFBIG
 * past MINIDEBUG_MAX_SIZE, -ENOMEM, -ENOTSUP without liblzma. */
int minidebug_decompress(const void *in, size_t len, void **ret, size_t *ret_len);

/* --- demangle.c ---------------------------------------------------------------------- */

/* The demangled form of a C++ (_Z...) or Rust (legacy _ZN...17h<hash>E, v0 _R...) name,
 * malloc'd, or NULL when it is not mangled (or built without libiberty). Rust legacy
 * names lose their hash. */
char *symbol_demangle(const char *name);

/* --- perfmap.c ----------------------------------------------------------------------- */

/* perfmap_parse that skips malformed lines instead of failing: a JIT writes its map
 * while we read it, and one bad line must not cost every other name. */
int perfmap_parse_lenient(const char *text, size_t len, struct perfmap **ret);
size_t perfmap_count(const struct perfmap *m);

/* --- kallsyms.c ---------------------------------------------------------------------- */

size_t ksym_count(const struct ksym_table *t);

/* --- debuginfo.c --------------------------------------------------------------------- */

struct map_entry;
struct stat;

/* Opens the file that mapping e of pid maps, read-only, into *ret_fd: through
 * /proc/PID/map_files/START-END when the process is alive and we may (root), which is the
 * very file even when deleted or replaced (*ret_exact = true); else through its path
 * (" (deleted)" dropped), whose inode must be the mapping's. -ESTALE when the path now
 * holds another file, -ENOENT (or another open error) when nothing can be opened. */
int mapped_file_open(pid_t pid, bool alive, const struct map_entry *e, int *ret_fd,
		     bool *ret_exact);
/* Adds the symbols of the separate debug file of f, if one is found: by build-id under
 * debug_dir/.build-id/, or by .gnu_debuglink next to path, in its .debug/ directory and
 * under debug_dir/<its directory>/. A debug file belongs when its build-id is the main
 * file's (or, without build-ids, when its CRC-32 is the one .gnu_debuglink names).
 * st is the main file's (it is never its own debug file). -ENOENT when none is found. */
int debuginfo_add(struct elf_symtab *t, const struct elf_file *f, const char *path,
		  const char *debug_dir, const struct stat *st);
/* CRC-32 (IEEE, as .gnu_debuglink uses), continued from crc (0 to start). */
uint32_t debuglink_crc32(uint32_t crc, const void *data, size_t len);
/* The build-id of the ELF image whose first byte (file offset 0) is mapped at base in pid,
 * read from its memory: ELF header, program headers, PT_NOTE. -ENOENT when it has none,
 * -ENOTSUP for a 32-bit image, errors of process_vm_readv. */
int build_id_from_memory(pid_t pid, uint64_t base, uint8_t *buf, size_t *ret_len);
/* A path without the " (deleted)" the kernel appends to an unlinked file's, into buf. */
const char *path_undeleted(const char *path, char *buf, size_t size);

#endif
