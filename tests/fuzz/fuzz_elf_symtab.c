/* elf_symtab_from_memory: libelf on a hostile image, the symbol table built from it, and
 * MiniDebugInfo decompressed from it. Nothing is read past the buffer; lookups anywhere
 * return a name or NULL. */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include "stack/symbolize.h"
#include "stack/symbolize_int.h"

int fuzz_elf_symtab(const uint8_t *data, size_t size)
{
	struct elf_symtab *t;
	int r = elf_symtab_from_memory(data, size, &t);
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL || r == -ENOMEM || r == -ENOTSUP);
		return 0;
	}
	const uint8_t *id;
	FUZZ_CHECK(elf_symtab_build_id(t, &id) <= BUILD_ID_MAX);
	/* Addresses taken from the image itself hit its symbols now and then. */
	for (size_t i = 0; i + 8 <= size && i < 4096; i += 8) {
		uint64_t a;
		memcpy(&a, data + i, sizeof(a));
		for (uint64_t d = 0; d < 3; d++) {
			const char *name = elf_symtab_lookup(t, a + d);
			FUZZ_CHECK(!name || strlen(name) > 0);
		}
		uint64_t vaddr;
		if (elf_symtab_vaddr(t, a & 0xffffff, &vaddr))
			elf_symtab_lookup(t, vaddr);
	}
	elf_symtab_lookup(t, 0);
	elf_symtab_lookup(t, UINT64_MAX);
	elf_symtab_free(t);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_elf_symtab(data, size);
}
#endif
