/* The symbols of one ELF image, read with libelf.
 *
 * A file is opened with ELF_C_READ_MMAP: libelf maps it and only the pages touched are
 * read — the headers, the notes, the symbol table and the names of the functions kept.
 * Nothing of the file is kept afterwards: the table owns copies of the names, so it
 * survives the file being deleted or the process exiting.
 *
 * The table keeps code symbols only: FUNC and GNU_IFUNC, and NOTYPE ones that have a size
 * and sit in an executable section (hand-written assembly). Several names at one address
 * (aliases: getpid, __getpid) become one, chosen by preference (see better()). A symbol
 * without a size extends to the next symbol or the end of its section. */
#include "stack/symbolize_int.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include "util/strpool.h"

#define MAX_SECTIONS (1u << 20)  /* more is a malformed file, not a program */
#define NESTED_SCAN 8            /* symbols looked at backwards for an enclosing one */
#define SIZELESS_EXTENT 4096     /* a size-less symbol with nothing after it */

struct elf_file {
	Elf *elf;
	size_t shstrndx; /* 0: no section names */
	uint8_t build_id[BUILD_ID_MAX];
	size_t build_id_len;
	char debuglink[256];
	uint32_t debuglink_crc;
};

struct segment {
	uint64_t offset, filesz, vaddr;
};

struct sym {
	uint64_t addr;
	uint32_t size;
	uint32_t name; /* offset in names */
};

/* A symbol as read, before the table is sorted and aliases are merged. */
struct raw_sym {
	uint64_t addr, size;
	uint64_t limit;    /* end of its section, UINT64_MAX when unknown */
	uint32_t name, len;
	uint8_t bind;
};

struct elf_symtab {
	struct sym *syms;
	size_t n;
	struct strpool names;
	struct raw_sym *raw;
	size_t nraw, raw_cap;
	struct segment *segs;
	size_t nsegs;
	uint8_t build_id[BUILD_ID_MAX];
	size_t build_id_len;
	bool complete;
};

/* --- the file ------------------------------------------------------------------------ */

static Elf_Scn *find_section(Elf *elf, size_t shstrndx, Elf64_Word type, const char *name,
			     GElf_Shdr *ret)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, ret) || ret->sh_type != type)
			continue;
		if (!name)
			return scn;
		const char *n = shstrndx ? elf_strptr(elf, shstrndx, ret->sh_name) : NULL;
		if (n && strcmp(n, name) == 0)
			return scn;
	}
	return NULL;
}

/* The NT_GNU_BUILD_ID note in data, if any. */
static bool note_build_id(struct elf_file *f, Elf_Data *data)
{
	GElf_Nhdr nh;
	size_t off = 0, next, name_off, desc_off;
	if (!data || !data->d_buf)
		return false;
	while ((next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *base = data->d_buf;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && nh.n_descsz > 0 &&
		    memcmp(base + name_off, "GNU", 4) == 0) {
			size_t n = nh.n_descsz < BUILD_ID_MAX ? nh.n_descsz : BUILD_ID_MAX;
			memcpy(f->build_id, base + desc_off, n);
			f->build_id_len = n;
			return true;
		}
		off = next;
	}
	return false;
}

/* From the note sections, else from the PT_NOTE segments (a file without sections). */
static void read_build_id(struct elf_file *f)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(f->elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE &&
		    note_build_id(f, elf_getdata(scn, NULL)))
			return;
	size_t nph;
	if (elf_getphdrnum(f->elf, &nph) < 0)
		return;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Type type = ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR;
		if (note_build_id(f, elf_getdata_rawchunk(f->elf, (int64_t)ph.p_offset,
							  ph.p_filesz, type)))
			return;
	}
}

/* .gnu_debuglink: a file name (no directory), NUL, padding to 4, then its CRC-32. */
static void read_debuglink(struct elf_file *f)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(f->elf, f->shstrndx, SHT_PROGBITS, ".gnu_debuglink", &sh);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	if (!d || !d->d_buf)
		return;
	const char *name = d->d_buf;
	size_t len = strnlen(name, d->d_size);
	size_t crc_off = (len + 4) & ~(size_t)3;
	if (len == 0 || len >= sizeof(f->debuglink) || crc_off + 4 > d->d_size ||
	    memchr(name, '/', len))
		return;
	uint32_t crc;
	memcpy(&crc, (const char *)d->d_buf + crc_off, 4);
	GElf_Ehdr eh;
	bool swap = gelf_getehdr(f->elf, &eh) &&
		    eh.e_ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ?
					    ELFDATA2LSB : ELFDATA2MSB);
	f->debuglink_crc = swap ? __builtin_bswap32(crc) : crc;
	memcpy(f->debuglink, name, len + 1);
}

static int elf_file_wrap(Elf *elf, struct elf_file **ret)
{
	GElf_Ehdr eh;
	if (!elf)
		return -EINVAL;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		elf_end(elf);
		return -EINVAL;
	}
	struct elf_file *f = calloc(1, sizeof(*f));
	if (!f) {
		elf_end(elf);
		return -ENOMEM;
	}
	f->elf = elf;
	size_t shnum;
	if (elf_getshdrstrndx(elf, &f->shstrndx) < 0 || elf_getshdrnum(elf, &shnum) < 0 ||
	    f->shstrndx >= shnum)
		f->shstrndx = 0;
	read_build_id(f);
	read_debuglink(f);
	*ret = f;
	return 0;
}

int elf_file_from_fd(int fd, struct elf_file **ret)
{
	elf_version(EV_CURRENT);
	return elf_file_wrap(elf_begin(fd, ELF_C_READ_MMAP, NULL), ret);
}

int elf_file_from_memory(void *image, size_t size, struct elf_file **ret)
{
	elf_version(EV_CURRENT);
	return elf_file_wrap(elf_memory(image, size), ret);
}

void elf_file_close(struct elf_file *f)
{
	if (!f)
		return;
	elf_end(f->elf);
	free(f);
}

size_t elf_file_build_id(const struct elf_file *f, const uint8_t **ret)
{
	*ret = f->build_id;
	return f->build_id_len;
}

const char *elf_file_debuglink(const struct elf_file *f, uint32_t *ret_crc)
{
	if (!f->debuglink[0])
		return NULL;
	*ret_crc = f->debuglink_crc;
	return f->debuglink;
}

/* --- reading symbols ----------------------------------------------------------------- */

static int add_raw(struct elf_symtab *t, const struct raw_sym *r)
{
	if (t->nraw == t->raw_cap) {
		size_t cap = t->raw_cap ? t->raw_cap * 2 : 256;
		struct raw_sym *p = realloc(t->raw, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		t->raw = p;
		t->raw_cap = cap;
	}
	t->raw[t->nraw++] = *r;
	return 0;
}

struct section_info {
	uint64_t addr, size;
	bool exec;
};

/* The address range and flags of every section, for the symbols' limits. NULL when the
 * file has none (or too many to be real). */
static struct section_info *read_sections(Elf *elf, size_t *ret_n)
{
	size_t n;
	*ret_n = 0;
	if (elf_getshdrnum(elf, &n) < 0 || n == 0 || n > MAX_SECTIONS)
		return NULL;
	struct section_info *v = calloc(n, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		GElf_Shdr sh;
		Elf_Scn *scn = elf_getscn(elf, i);
		if (!scn || !gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
			continue;
		v[i] = (struct section_info){ .addr = sh.sh_addr, .size = sh.sh_size,
					      .exec = (sh.sh_flags & SHF_EXECINSTR) != 0 };
	}
	*ret_n = n;
	return v;
}

/* Whether a symbol is code we keep; its section's end in *limit. */
static bool is_code(const GElf_Sym *s, const struct section_info *secs, size_t nsecs,
		    uint64_t *limit)
{
	int type = GELF_ST_TYPE(s->st_info);
	if (s->st_shndx == SHN_UNDEF || s->st_shndx >= SHN_LORESERVE || s->st_value == 0)
		return false;
	const struct section_info *sec = s->st_shndx < nsecs ? &secs[s->st_shndx] : NULL;
	*limit = UINT64_MAX;
	if (sec && sec->size && s->st_value >= sec->addr && s->st_value - sec->addr < sec->size)
		*limit = sec->addr + sec->size;
	if (type == STT_FUNC || type == STT_GNU_IFUNC)
		return true;
	return type == STT_NOTYPE && s->st_size > 0 && sec && sec->exec;
}

/* The symbols of one SHT_SYMTAB or SHT_DYNSYM section. */
static int add_symbols(struct elf_symtab *t, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf)
		return 0;
	size_t nsecs;
	struct section_info *secs = read_sections(elf, &nsecs);
	int r = 0;
	GElf_Sym s;
	for (int i = 1; r >= 0 && gelf_getsym(d, i, &s); i++) {
		uint64_t limit;
		if (!is_code(&s, secs, nsecs, &limit))
			continue;
		const char *name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !name[0])
			continue;
		/* "memcpy@@GLIBC_2.14": the version is not part of the function's name. */
		size_t len = strcspn(name, "@");
		if (len == 0)
			continue;
		struct raw_sym raw = { .addr = s.st_value, .size = s.st_size, .limit = limit,
				       .len = (uint32_t)(len < UINT32_MAX ? len : UINT32_MAX),
				       .bind = GELF_ST_BIND(s.st_info) };
		r = strpool_add(&t->names, name, len, &raw.name);
		if (r >= 0)
			r = add_raw(t, &raw);
	}
	free(secs);
	return r;
}

static int add_section_symbols(struct elf_symtab *t, Elf *elf, size_t shstrndx,
			       Elf64_Word type)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(elf, shstrndx, type, NULL, &sh);
	if (!scn)
		return -ENOENT;
	return add_symbols(t, elf, scn, &sh);
}

/* The .symtab of the xz-compressed ELF image in .gnu_debugdata (Fedora's MiniDebugInfo:
 * the functions missing from .dynsym). Not followed further: a nested one is ignored. */
static int add_minidebug(struct elf_symtab *t, struct elf_file *f)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(f->elf, f->shstrndx, SHT_PROGBITS, ".gnu_debugdata", &sh);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	if (!d || !d->d_buf || d->d_size == 0)
		return -ENOENT;
	void *image;
	size_t size;
	int r = minidebug_decompress(d->d_buf, d->d_size, &image, &size);
	if (r < 0)
		return r;
	struct elf_file *mini;
	r = elf_file_from_memory(image, size, &mini);
	if (r >= 0) {
		r = add_section_symbols(t, mini->elf, mini->shstrndx, SHT_SYMTAB);
		elf_file_close(mini);
	}
	free(image);
	return r;
}

static int read_segments(struct elf_symtab *t, Elf *elf)
{
	size_t nph;
	if (elf_getphdrnum(elf, &nph) < 0 || nph == 0)
		return 0;
	t->segs = calloc(nph, sizeof(*t->segs));
	if (!t->segs)
		return -ENOMEM;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_filesz)
			t->segs[t->nsegs++] = (struct segment){ ph.p_offset, ph.p_filesz,
								ph.p_vaddr };
	}
	return 0;
}

int elf_symtab_from_file(struct elf_file *f, struct elf_symtab **ret)
{
	struct elf_symtab *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t->build_id, f->build_id, f->build_id_len);
	t->build_id_len = f->build_id_len;
	int r = read_segments(t, f->elf);
	if (r >= 0) {
		r = add_section_symbols(t, f->elf, f->shstrndx, SHT_SYMTAB);
		t->complete = r >= 0;
	}
	if (r == -ENOENT) {
		r = add_section_symbols(t, f->elf, f->shstrndx, SHT_DYNSYM);
		if (r >= 0 || r == -ENOENT)
			r = add_minidebug(t, f);
		t->complete = r >= 0;
		/* Missing or unreadable MiniDebugInfo still leaves .dynsym. */
		if (r != -ENOMEM)
			r = 0;
	}
	if (r < 0) {
		elf_symtab_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

bool elf_symtab_complete(const struct elf_symtab *t)
{
	return t->complete;
}

int elf_symtab_add_debug(struct elf_symtab *t, struct elf_file *debug)
{
	int r = add_section_symbols(t, debug->elf, debug->shstrndx, SHT_SYMTAB);
	if (r >= 0)
		t->complete = true;
	return r;
}

/* --- the sorted table ---------------------------------------------------------------- */

static size_t leading_underscores(const char *s)
{
	size_t n = 0;
	while (s[n] == '_')
		n++;
	return n;
}

static int bind_rank(uint8_t bind)
{
	return bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
}

/* Which of two names of one address to show: one with a size (a real function, not a
 * label), then the public spelling (getpid over __getpid), then global over weak over
 * local, then the shorter, then by bytes so that the choice is stable. */
static int better(const struct raw_sym *a, const struct raw_sym *b, const char *names)
{
	if ((a->size > 0) != (b->size > 0))
		return a->size > 0 ? -1 : 1;
	size_t ua = leading_underscores(names + a->name), ub = leading_underscores(names + b->name);
	if (ua != ub)
		return ua < ub ? -1 : 1;
	if (bind_rank(a->bind) != bind_rank(b->bind))
		return bind_rank(a->bind) < bind_rank(b->bind) ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return strcmp(names + a->name, names + b->name);
}

static int cmp_raw(const void *pa, const void *pb, void *names)
{
	const struct raw_sym *a = pa, *b = pb;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return better(a, b, names);
}

int elf_symtab_finish(struct elf_symtab *t)
{
	free(t->syms);
	t->syms = NULL;
	t->n = 0;
	if (t->nraw == 0)
		return 0;
	qsort_r(t->raw, t->nraw, sizeof(*t->raw), cmp_raw, t->names.buf);
	t->syms = malloc(t->nraw * sizeof(*t->syms));
	if (!t->syms)
		return -ENOMEM;
	uint64_t covered = 0; /* end of the furthest-reaching symbol so far */
	for (size_t i = 0, next; i < t->nraw; i = next) {
		const struct raw_sym *best = &t->raw[i];
		for (next = i + 1; next < t->nraw && t->raw[next].addr == best->addr; next++)
			;
		uint64_t size = best->size;
		if (size == 0) {
			/* A label inside a function is not a function. */
			if (best->addr < covered)
				continue;
			uint64_t end = next < t->nraw ? t->raw[next].addr : UINT64_MAX;
			if (best->limit < end)
				end = best->limit;
			size = end == UINT64_MAX ? SIZELESS_EXTENT : end - best->addr;
		}
		if (size > UINT32_MAX)
			size = UINT32_MAX;
		t->syms[t->n++] = (struct sym){ best->addr, (uint32_t)size, best->name };
		uint64_t end = best->addr + size < best->addr ? UINT64_MAX : best->addr + size;
		if (end > covered)
			covered = end;
	}
	free(t->raw);
	t->raw = NULL;
	t->nraw = t->raw_cap = 0;
	return 0;
}

bool elf_symtab_vaddr(const struct elf_symtab *t, uint64_t file_off, uint64_t *ret)
{
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct segment *s = &t->segs[i];
		if (file_off >= s->offset && file_off - s->offset < s->filesz) {
			*ret = file_off - s->offset + s->vaddr;
			return true;
		}
	}
	return false;
}

size_t elf_symtab_count(const struct elf_symtab *t)
{
	return t->n;
}

const char *elf_symtab_lookup(const struct elf_symtab *t, uint64_t vaddr)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo is the first symbol past vaddr; the one before holds it, or encloses it when
	 * it is nested in a bigger one. */
	for (size_t k = 0; k < NESTED_SCAN && lo > 0; k++, lo--) {
		const struct sym *s = &t->syms[lo - 1];
		if (vaddr - s->addr < s->size)
			return t->names.buf + s->name;
	}
	return NULL;
}

size_t elf_symtab_build_id(const struct elf_symtab *t, const uint8_t **ret)
{
	*ret = t->build_id;
	return t->build_id_len;
}

void elf_symtab_free(struct elf_symtab *t)
{
	if (!t)
		return;
	free(t->syms);
	strpool_free(&t->names);
	free(t->raw);
	free(t->segs);
	free(t);
}

int elf_symtab_from_memory(const void *image, size_t size, struct elf_symtab **ret)
{
	/* libelf may convert a read-only image in place: it gets a private copy. */
	void *copy = malloc(size ? size : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, image, size);
	struct elf_file *f;
	int r = elf_file_from_memory(copy, size, &f);
	struct elf_symtab *t = NULL;
	if (r >= 0) {
		r = elf_symtab_from_file(f, &t);
		elf_file_close(f);
	}
	if (r >= 0) {
		r = elf_symtab_finish(t);
		if (r < 0)
			elf_symtab_free(t);
	}
	free(copy);
	if (r >= 0)
		*ret = t;
	return r == -ENOENT ? -EINVAL : r;
}
