/* Built without libelf: no ELF file is read, so user-space frames are named by module and
 * offset ("libc.so.6+0x2a1f0"); kernel symbols and JIT maps still work. */
#include "stack/symbolize_int.h"

#include <errno.h>

int elf_file_from_fd(int fd, struct elf_file **ret)
{
	(void)fd;
	(void)ret;
	return -ENOTSUP;
}

int elf_file_from_memory(void *image, size_t size, struct elf_file **ret)
{
	(void)image;
	(void)size;
	(void)ret;
	return -ENOTSUP;
}

void elf_file_close(struct elf_file *f)
{
	(void)f;
}

size_t elf_file_build_id(const struct elf_file *f, const uint8_t **ret)
{
	(void)f;
	*ret = NULL;
	return 0;
}

const char *elf_file_debuglink(const struct elf_file *f, uint32_t *ret_crc)
{
	(void)f;
	(void)ret_crc;
	return NULL;
}

int elf_symtab_from_file(struct elf_file *f, struct elf_symtab **ret)
{
	(void)f;
	(void)ret;
	return -ENOTSUP;
}

bool elf_symtab_complete(const struct elf_symtab *t)
{
	(void)t;
	return true;
}

int elf_symtab_add_debug(struct elf_symtab *t, struct elf_file *debug)
{
	(void)t;
	(void)debug;
	return -ENOTSUP;
}

int elf_symtab_finish(struct elf_symtab *t)
{
	(void)t;
	return 0;
}

bool elf_symtab_vaddr(const struct elf_symtab *t, uint64_t file_off, uint64_t *ret)
{
	(void)t;
	(void)file_off;
	(void)ret;
	return false;
}

size_t elf_symtab_count(const struct elf_symtab *t)
{
	(void)t;
	return 0;
}

int elf_symtab_from_memory(const void *image, size_t size, struct elf_symtab **ret)
{
	(void)image;
	(void)size;
	(void)ret;
	return -ENOTSUP;
}

const char *elf_symtab_lookup(const struct elf_symtab *t, uint64_t vaddr)
{
	(void)t;
	(void)vaddr;
	return NULL;
}

size_t elf_symtab_build_id(const struct elf_symtab *t, const uint8_t **ret)
{
	(void)t;
	*ret = NULL;
	return 0;
}

void elf_symtab_free(struct elf_symtab *t)
{
	(void)t;
}
