#include "python/py_elf.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/macro.h"

#define MAX_SECTIONS 4096
#define MAX_SYMBOLS (4u << 20)
#define SYM_CHUNK 512

static const char *const sym_names[PY_SYM_COUNT] = {
	[PY_SYM_RUNTIME] = "_PyRuntime",
	[PY_SYM_VERSION] = "Py_Version",
	[PY_SYM_CODE_TYPE] = "PyCode_Type",
	[PY_SYM_UNICODE_TYPE] = "PyUnicode_Type",
};

struct elf_file {
	int fd;
	uint64_t size;
};

/* Reads exactly len bytes at off, which must lie inside the file. */
static int read_at(const struct elf_file *f, uint64_t off, void *buf, size_t len)
{
	if (off > f->size || len > f->size - off)
		return -ENOEXEC;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		if (n == 0)
			return -ENOEXEC;
		done += (size_t)n;
	}
	return 0;
}

/* Scans one symbol table for the names we want. */
static int scan_symbols(const struct elf_file *f, const Elf64_Shdr *symtab, const Elf64_Shdr *strtab,
			struct py_elf_info *info)
{
	if (symtab->sh_entsize != sizeof(Elf64_Sym) || strtab->sh_type != SHT_STRTAB)
		return -ENOEXEC;
	uint64_t n = symtab->sh_size / sizeof(Elf64_Sym);
	if (n > MAX_SYMBOLS)
		n = MAX_SYMBOLS;
	if (strtab->sh_offset > f->size || strtab->sh_size > f->size - strtab->sh_offset)
		return -ENOEXEC;
	/* Names are compared in place: read the string table once. */
	char *str = malloc(strtab->sh_size + 1);
	if (!str)
		return -ENOMEM;
	int r = read_at(f, strtab->sh_offset, str, strtab->sh_size);
	if (r < 0) {
		free(str);
		return r;
	}
	str[strtab->sh_size] = '\0';
	Elf64_Sym chunk[SYM_CHUNK];
	for (uint64_t i = 0; i < n; i += SYM_CHUNK) {
		uint64_t k = n - i < SYM_CHUNK ? n - i : SYM_CHUNK;
		r = read_at(f, symtab->sh_offset + i * sizeof(Elf64_Sym), chunk, k * sizeof(Elf64_Sym));
		if (r < 0)
			break;
		for (uint64_t j = 0; j < k; j++) {
			const Elf64_Sym *s = &chunk[j];
			if (s->st_name >= strtab->sh_size || s->st_shndx == SHN_UNDEF || !s->st_value)
				continue;
			const char *name = str + s->st_name;
			for (int w = 0; w < PY_SYM_COUNT; w++)
				if (!info->sym[w] && !strcmp(name, sym_names[w]))
					info->sym[w] = s->st_value;
		}
	}
	free(str);
	return r;
}

int py_elf_read(int fd, struct py_elf_info *ret)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	struct elf_file f = { fd, (uint64_t)st.st_size };
	Elf64_Ehdr eh;
	int r = read_at(&f, 0, &eh, sizeof(eh));
	if (r < 0)
		return r;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	struct py_elf_info info = { 0 };

	/* The first PT_LOAD: link-time address of file offset 0, for the load bias. */
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		return -ENOEXEC;
	bool have_load = false;
	for (unsigned i = 0; i < eh.e_phnum && !have_load; i++) {
		Elf64_Phdr ph;
		r = read_at(&f, eh.e_phoff + (uint64_t)i * sizeof(ph), &ph, sizeof(ph));
		if (r < 0)
			return r;
		if (ph.p_type != PT_LOAD)
			continue;
		info.first_load_vaddr = (ph.p_vaddr - ph.p_offset) & ~(uint64_t)0xfff;
		have_load = true;
	}
	if (!have_load)
		return -ENOEXEC;

	if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum > MAX_SECTIONS ||
	    eh.e_shstrndx >= eh.e_shnum)
		return -ENOEXEC;
	size_t nsh = eh.e_shnum;
	Elf64_Shdr *sh = calloc(nsh ? nsh : 1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	r = read_at(&f, eh.e_shoff, sh, nsh * sizeof(*sh));
	if (r < 0)
		goto out;
	/* Section names, for .PyRuntime. */
	const Elf64_Shdr *shstr = &sh[eh.e_shstrndx];
	if (shstr->sh_size > 0 && shstr->sh_size < (1u << 20)) {
		char *names = calloc(1, shstr->sh_size + 1);
		if (!names) {
			r = -ENOMEM;
			goto out;
		}
		if (read_at(&f, shstr->sh_offset, names, shstr->sh_size) == 0)
			for (size_t i = 0; i < nsh; i++)
				if (sh[i].sh_name < shstr->sh_size &&
				    !strcmp(names + sh[i].sh_name, ".PyRuntime"))
					info.pyruntime_section = sh[i].sh_addr;
		free(names);
	}
	/* .dynsym first (what a stripped binary keeps), then .symtab. */
	for (int pass = 0; pass < 2; pass++) {
		uint32_t type = pass == 0 ? SHT_DYNSYM : SHT_SYMTAB;
		for (size_t i = 0; i < nsh; i++) {
			if (sh[i].sh_type != type || sh[i].sh_link >= nsh)
				continue;
			if (pass == 0)
				info.has_dynsym = true;
			else
				info.has_symtab = true;
			r = scan_symbols(&f, &sh[i], &sh[sh[i].sh_link], &info);
			if (r == -ENOMEM)
				goto out;
		}
	}
	r = 0;
	*ret = info;
out:
	free(sh);
	return r;
}
