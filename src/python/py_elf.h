/* The few symbols the CPython reader needs from libpython or a python executable, read
 * from the ELF file itself (.dynsym, else .symtab; the .PyRuntime section as a fallback).
 * The file comes from the profiled process: it is parsed with every size and offset
 * checked against the file. */
#ifndef PK_PYTHON_PY_ELF_H
#define PK_PYTHON_PY_ELF_H

#include <stdbool.h>
#include <stdint.h>

enum py_elf_sym {
	PY_SYM_RUNTIME,      /* _PyRuntime */
	PY_SYM_VERSION,      /* Py_Version (3.11+): PY_VERSION_HEX */
	PY_SYM_CODE_TYPE,    /* PyCode_Type */
	PY_SYM_UNICODE_TYPE, /* PyUnicode_Type */
	PY_SYM_COUNT,
};

struct py_elf_info {
	uint64_t sym[PY_SYM_COUNT];  /* link-time addresses; 0 when absent */
	uint64_t pyruntime_section;  /* address of the .PyRuntime section; 0 when absent */
	uint64_t first_load_vaddr;   /* page-aligned p_vaddr - p_offset of the first PT_LOAD */
	bool has_dynsym, has_symtab;
};

/* Reads the ELF file open at fd. -ENOEXEC when it is not a 64-bit little-endian ELF file
 * (or is malformed), other -errno from reading. */
int py_elf_read(int fd, struct py_elf_info *ret);

#endif
