/* The symbolizer: processes and their mappings, modules (the mapped files) and their symbol
 * tables, and two caches that make a known address cost hash lookups only.
 *
 *   pid ──▶ proc: mappings (sorted), each with its dso
 *   dso: one mapped file (device, inode, path) and its display name ──▶ module
 *   module: one symbol table per build-id (or device+inode+size+mtime), read once
 *   (dso, file offset) ──▶ symbol id           the per-address cache
 *   (name, module, kind) ──▶ symbol id         interned symbols
 *
 * Every file-backed executable mapping is resolved when its process is added (or the
 * mapping is), while the process runs, so that map_files still opens the mapped file and
 * the names stay available after it exits. Strings (names, modules, paths) are interned
 * into blocks that never move: struct symbol pointers and names stay valid until the
 * symbolizer is freed. */
#include "stack/symbolize_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "stack/maps.h"
#include "util/macro.h"
#include "util/strbuf.h"

#define ARENA_BLOCK (64u << 10)
#define SYMBOL_BLOCK 1024u
#define KEY_KERNEL (UINT32_MAX - 1) /* dso key of kernel addresses in the address cache */
#define KEY_EMPTY UINT32_MAX
#define KEY_JIT_FIRST 0x80000000u   /* JIT map generations; dso indices stay below */
#define MAPS_REREAD_NS (100 * NSEC_PER_MSEC) /* an unmapped address rereads maps at most this often */
#define PERFMAP_RECHECK_NS (1000 * NSEC_PER_MSEC)
#define PERFMAP_MAX_SIZE (1ull << 30)
#define KALLSYMS_MAX_SIZE (256ull << 20)

/* --- hashing ------------------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint32_t hash_bytes(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return (uint32_t)mix64(h);
}

/* An open-addressing index of ids by hash; the caller compares candidates' keys. */
struct hindex {
	uint32_t *slot; /* id + 1; 0 is empty */
	uint32_t *hash;
	size_t cap, n;
};

static int hindex_grow(struct hindex *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	uint32_t *slot = calloc(cap, sizeof(*slot)), *hash = malloc(cap * sizeof(*hash));
	if (!slot || !hash) {
		free(slot);
		free(hash);
		return -ENOMEM;
	}
	for (size_t i = 0; i < h->cap; i++) {
		if (!h->slot[i])
			continue;
		size_t j = h->hash[i] & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = h->slot[i];
		hash[j] = h->hash[i];
	}
	free(h->slot);
	free(h->hash);
	h->slot = slot;
	h->hash = hash;
	h->cap = cap;
	return 0;
}

static int hindex_add(struct hindex *h, uint32_t hash, uint32_t id)
{
	if (2 * (h->n + 1) > h->cap && hindex_grow(h) < 0)
		return -ENOMEM;
	size_t j = hash & (h->cap - 1);
	while (h->slot[j])
		j = (j + 1) & (h->cap - 1);
	h->slot[j] = id + 1;
	h->hash[j] = hash;
	h->n++;
	return 0;
}

/* Iterates the ids whose hash is hash: start with *pos = SIZE_MAX. -1 at the end. */
static int64_t hindex_next(const struct hindex *h, uint32_t hash, size_t *pos)
{
	if (!h->cap)
		return -1;
	size_t j = *pos == SIZE_MAX ? hash & (h->cap - 1) : (*pos + 1) & (h->cap - 1);
	for (; h->slot[j]; j = (j + 1) & (h->cap - 1))
		if (h->hash[j] == hash) {
			*pos = j;
			return h->slot[j] - 1;
		}
	return -1;
}

static void hindex_free(struct hindex *h)
{
	free(h->slot);
	free(h->hash);
	*h = (struct hindex){ 0 };
}

/* --- structures ---------------------------------------------------------------------- */

struct arena {
	char *block;
	size_t used, cap;
	char **blocks; /* every block, to free */
	size_t nblocks;
};

struct module {
	uint8_t key[1 + BUILD_ID_MAX]; /* 'B' + build-id, 'I' + dev/ino/size/mtime, 'V' */
	size_t key_len;
	struct elf_symtab *tab; /* NULL: unreadable, module+offset only */
};

enum dso_kind { DSO_FILE, DSO_NAME, DSO_VDSO };

struct dso {
	enum dso_kind kind;
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	const char *path;   /* interned; the key with kind, device and inode */
	const char *name;   /* interned display name: "libc.so.6" */
	struct module *mod; /* NULL: module+offset only */
};

struct proc {
	pid_t pid;
	bool stale;  /* exec'd: its mappings are reread at the next lookup */
	bool gone;   /* /proc/PID could not be read */
	uint64_t read_ns;
	struct map_entry *v; /* sorted; paths interned */
	int32_t *dso;        /* per mapping: dso index, MAP_UNRESOLVED or MAP_JIT */
	size_t n, cap;
	/* JIT: /tmp/perf-PID.map, reread when it changed */
	struct perfmap *jit;
	uint32_t jit_key;    /* address-cache key of this generation of the map; 0: none yet */
	uint64_t jit_checked_ns;
	int64_t jit_size, jit_mtime_ns;
};

#define MAP_UNRESOLVED (-1) /* its dso is looked up at the first address in it */
#define MAP_JIT (-2)        /* anonymous executable memory: the JIT map's */

struct addr_slot {
	uint64_t off;
	uint32_t key; /* dso index, KEY_KERNEL, a JIT generation, or KEY_EMPTY */
	int32_t sym;
};

struct symbolizer {
	char *debug_dir, *kallsyms_path, *perfmap_dir;
	bool demangle;

	struct arena arena;
	const char **strs; /* interned strings, by id */
	size_t nstrs, strs_cap;
	struct hindex str_index;

	struct symbol **sym_blocks;
	size_t nsyms, sym_blocks_cap;
	struct hindex sym_index;

	struct addr_slot *cache;
	size_t cache_cap, cache_n;

	struct dso *dsos;
	size_t ndsos, dsos_cap;
	struct hindex dso_index;

	struct module **mods;
	size_t nmods, mods_cap;
	struct hindex mod_index;
	struct module *vdso;
	bool vdso_tried;

	struct proc **procs;
	size_t nprocs, procs_cap;
	struct hindex proc_index;
	struct proc *last_proc;

	struct ksym_table *ksyms;
	bool ksyms_tried;
	uint32_t next_jit_key;

	const char *mod_kernel, *mod_jit;
	int sym_unknown, sym_kernel; /* "[unknown]", "[kernel]" */
	struct strbuf scratch;
	struct symbolizer_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *p = realloc(*v, n * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}

/* --- interned strings ---------------------------------------------------------------- */

static char *arena_alloc(struct arena *a, size_t n)
{
	if (a->cap - a->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		char **blocks = realloc(a->blocks, (a->nblocks + 1) * sizeof(*blocks));
		if (!blocks)
			return NULL;
		a->blocks = blocks;
		char *b = malloc(cap);
		if (!b)
			return NULL;
		a->blocks[a->nblocks++] = b;
		a->block = b;
		a->used = 0;
		a->cap = cap;
	}
	char *p = a->block + a->used;
	a->used += n;
	return p;
}

/* The one copy of s[0..len), NUL-terminated, stable until the symbolizer is freed. */
static const char *intern_n(struct symbolizer *s, const char *str, size_t len)
{
	uint32_t h = hash_bytes(str, len);
	size_t pos = SIZE_MAX;
	int64_t id;
	while ((id = hindex_next(&s->str_index, h, &pos)) >= 0) {
		const char *c = s->strs[id];
		if (memcmp(c, str, len) == 0 && c[len] == '\0')
			return c;
	}
	if (grow((void **)&s->strs, &s->strs_cap, s->nstrs + 1, sizeof(*s->strs)) < 0)
		return NULL;
	char *copy = arena_alloc(&s->arena, len + 1);
	if (!copy || hindex_add(&s->str_index, h, (uint32_t)s->nstrs) < 0)
		return NULL;
	memcpy(copy, str, len);
	copy[len] = '\0';
	s->strs[s->nstrs++] = copy;
	return copy;
}

static const char *intern(struct symbolizer *s, const char *str)
{
	return intern_n(s, str, strlen(str));
}

/* --- symbols ------------------------------------------------------------------------- */

static struct symbol *symbol_at(const struct symbolizer *s, size_t id)
{
	return &s->sym_blocks[id / SYMBOL_BLOCK][id % SYMBOL_BLOCK];
}

static uint32_t symbol_hash(const char *name, const char *module, enum frame_kind kind,
			    bool known)
{
	uint64_t h = mix64((uint64_t)(uintptr_t)name) ^ (uint64_t)(uintptr_t)module;
	return (uint32_t)mix64(h * 31 + (uint64_t)kind * 2 + known);
}

/* The id of (name, module, kind, known); name and module interned already. */
static int symbol_id(struct symbolizer *s, const char *name, const char *module,
		     enum frame_kind kind, bool known)
{
	uint32_t h = symbol_hash(name, module, kind, known);
	size_t pos = SIZE_MAX;
	int64_t id;
	while ((id = hindex_next(&s->sym_index, h, &pos)) >= 0) {
		const struct symbol *c = symbol_at(s, (size_t)id);
		if (c->name == name && c->module == module && c->kind == kind && c->known == known)
			return (int)id;
	}
	if (s->nsyms >= INT_MAX)
		return -ENOMEM;
	if (s->nsyms % SYMBOL_BLOCK == 0) {
		size_t b = s->nsyms / SYMBOL_BLOCK;
		if (grow((void **)&s->sym_blocks, &s->sym_blocks_cap, b + 1,
			 sizeof(*s->sym_blocks)) < 0)
			return -ENOMEM;
		s->sym_blocks[b] = malloc(SYMBOL_BLOCK * sizeof(struct symbol));
		if (!s->sym_blocks[b])
			return -ENOMEM;
	}
	if (hindex_add(&s->sym_index, h, (uint32_t)s->nsyms) < 0)
		return -ENOMEM;
	*symbol_at(s, s->nsyms) = (struct symbol){ name, module, kind, known };
	return (int)s->nsyms++;
}

static int symbol_intern(struct symbolizer *s, const char *name, const char *module,
			 enum frame_kind kind, bool known)
{
	const char *n = intern_n(s, name, strnlen(name, STACK_MAX_NAME));
	if (!n)
		return -ENOMEM;
	return symbol_id(s, n, module, kind, known);
}

/* A real name: demangled when asked. */
static int symbol_named(struct symbolizer *s, const char *raw, const char *module,
			enum frame_kind kind)
{
	char *demangled = s->demangle ? symbol_demangle(raw) : NULL;
	int id = symbol_intern(s, demangled ? demangled : raw, module, kind, true);
	free(demangled);
	return id;
}

/* "libc.so.6+0x2a1f0": what is known of an address without a symbol. */
static int symbol_offset(struct symbolizer *s, const char *module, uint64_t off)
{
	s->stats.unknown++;
	sb_reset(&s->scratch);
	sb_addf(&s->scratch, "%s+0x%llx", module, (unsigned long long)off);
	if (s->scratch.failed)
		return -ENOMEM;
	return symbol_intern(s, sb_str(&s->scratch), module, FRAME_USER, false);
}

/* --- the per-address cache ----------------------------------------------------------- */

static inline size_t cache_slot(const struct symbolizer *s, uint32_t key, uint64_t off)
{
	return mix64(off ^ (uint64_t)key << 40 ^ key) & (s->cache_cap - 1);
}

static inline int cache_get(const struct symbolizer *s, uint32_t key, uint64_t off)
{
	if (!s->cache_cap)
		return -1;
	for (size_t j = cache_slot(s, key, off);; j = (j + 1) & (s->cache_cap - 1)) {
		const struct addr_slot *e = &s->cache[j];
		if (e->key == key && e->off == off)
			return e->sym;
		if (e->key == KEY_EMPTY)
			return -1;
	}
}

static int cache_put(struct symbolizer *s, uint32_t key, uint64_t off, int sym)
{
	if (2 * (s->cache_n + 1) > s->cache_cap) {
		size_t cap = s->cache_cap ? s->cache_cap * 2 : 4096;
		struct addr_slot *v = malloc(cap * sizeof(*v)), *old = s->cache;
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < cap; i++)
			v[i].key = KEY_EMPTY;
		size_t old_cap = s->cache_cap;
		s->cache = v;
		s->cache_cap = cap;
		for (size_t i = 0; i < old_cap; i++) {
			if (old[i].key == KEY_EMPTY)
				continue;
			size_t j = cache_slot(s, old[i].key, old[i].off);
			while (v[j].key != KEY_EMPTY)
				j = (j + 1) & (cap - 1);
			v[j] = old[i];
		}
		free(old);
	}
	size_t j = cache_slot(s, key, off);
	while (s->cache[j].key != KEY_EMPTY)
		j = (j + 1) & (s->cache_cap - 1);
	s->cache[j] = (struct addr_slot){ off, key, sym };
	s->cache_n++;
	return 0;
}

/* --- modules: one symbol table per build-id ------------------------------------------ */

static struct module *module_find(struct symbolizer *s, const uint8_t *key, size_t len,
				  uint32_t *ret_hash)
{
	uint32_t h = *ret_hash = hash_bytes(key, len);
	size_t pos = SIZE_MAX;
	int64_t id;
	while ((id = hindex_next(&s->mod_index, h, &pos)) >= 0) {
		struct module *m = s->mods[id];
		if (m->key_len == len && memcmp(m->key, key, len) == 0)
			return m;
	}
	return NULL;
}

/* A new module under key; its table is set by the caller (NULL until then). */
static struct module *module_add(struct symbolizer *s, const uint8_t *key, size_t len,
				 uint32_t hash)
{
	if (grow((void **)&s->mods, &s->mods_cap, s->nmods + 1, sizeof(*s->mods)) < 0)
		return NULL;
	struct module *m = calloc(1, sizeof(*m));
	if (!m || hindex_add(&s->mod_index, hash, (uint32_t)s->nmods) < 0) {
		free(m);
		return NULL;
	}
	memcpy(m->key, key, len);
	m->key_len = len;
	s->mods[s->nmods++] = m;
	return m;
}

/* The identity of a file: its build-id, else what stat() says of it. */
static size_t module_key(const struct elf_file *f, const struct stat *st, uint8_t *key)
{
	const uint8_t *id;
	size_t n = elf_file_build_id(f, &id);
	if (n) {
		key[0] = 'B';
		memcpy(key + 1, id, n);
		return n + 1;
	}
	uint64_t v[4] = { (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
			  (uint64_t)st->st_mtim.tv_sec * NSEC_PER_SEC +
				  (uint64_t)st->st_mtim.tv_nsec };
	key[0] = 'I';
	memcpy(key + 1, v, sizeof(v));
	return 1 + sizeof(v);
}

/* Reads the symbols of an opened main file (and of its debug file). NULL when there are
 * none to read; -ENOMEM is the only error. */
static int module_read(struct symbolizer *s, struct elf_file *f, const char *path,
		       const struct stat *st, struct elf_symtab **ret)
{
	struct elf_symtab *t;
	*ret = NULL;
	int r = elf_symtab_from_file(f, &t);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	if (!elf_symtab_complete(t))
		r = debuginfo_add(t, f, path, s->debug_dir, st);
	if (r != -ENOMEM)
		r = elf_symtab_finish(t);
	if (r < 0) {
		elf_symtab_free(t);
		return r;
	}
	s->stats.modules_loaded++;
	*ret = t;
	return 0;
}

/* The start of the mapping of e's file at offset 0 in p (its ELF header), or 0. */
static uint64_t elf_base(const struct proc *p, const struct map_entry *e)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct map_entry *c = &p->v[i];
		if (c->path == e->path && c->inode == e->inode && c->offset == 0)
			return c->start;
	}
	return 0;
}

/* Whether the file opened by path is not what p maps: its build-id differs from the one
 * in p's memory. Unreadable memory (the process exited) leaves the inode check alone. */
static bool build_id_differs(const struct proc *p, const struct map_entry *e,
			     const struct elf_file *f)
{
	uint8_t mem[BUILD_ID_MAX];
	size_t mem_len;
	uint64_t base = elf_base(p, e);
	if (p->gone || !base || build_id_from_memory(p->pid, base, mem, &mem_len) < 0)
		return false;
	const uint8_t *id;
	size_t n = elf_file_build_id(f, &id);
	return n != mem_len || memcmp(id, mem, n) != 0;
}

/* The module of the file mapped by e: opened, checked, and read unless a module with the
 * same build-id was. NULL (no symbols) when it cannot be read or is not the mapped file. */
static int module_of_mapping(struct symbolizer *s, const struct proc *p,
			     const struct map_entry *e, struct module **ret)
{
	int fd;
	bool exact;
	*ret = NULL;
	int r = mapped_file_open(p->pid, !p->gone, e, &fd, &exact);
	if (r == -ESTALE)
		s->stats.build_id_mismatch++;
	if (r < 0)
		return 0;
	struct elf_file *f = NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || elf_file_from_fd(fd, &f) < 0)
		goto out;
	if (!exact && build_id_differs(p, e, f)) {
		s->stats.build_id_mismatch++;
		goto out;
	}
	uint8_t key[1 + BUILD_ID_MAX];
	size_t key_len = module_key(f, &st, key);
	uint32_t h;
	struct module *m = module_find(s, key, key_len, &h);
	if (!m) {
		struct elf_symtab *t;
		r = module_read(s, f, e->path, &st, &t);
		m = r >= 0 ? module_add(s, key, key_len, h) : NULL;
		if (!m) {
			elf_symtab_free(t);
			r = -ENOMEM;
			goto out;
		}
		m->tab = t;
	}
	*ret = m;
out:
	elf_file_close(f);
	close(fd);
	return r < 0 ? r : 0;
}

/* The vDSO the kernel maps into every process: ours is the same image, read from our
 * own memory. */
static struct module *vdso_module(struct symbolizer *s)
{
	if (s->vdso_tried)
		return s->vdso;
	s->vdso_tried = true;
	uint64_t base = getauxval(AT_SYSINFO_EHDR);
	struct proc_maps m;
	if (!base || proc_maps_read(getpid(), &m) < 0) {
		proc_maps_free(&m);
		return NULL;
	}
	const struct map_entry *e = proc_maps_find(&m, base);
	struct elf_symtab *t = NULL;
	if (e && e->start == base &&
	    elf_symtab_from_memory((const void *)(uintptr_t)base, e->end - e->start, &t) >= 0) {
		uint32_t h;
		static const uint8_t key[] = { 'V' };
		struct module *mod = module_find(s, key, 1, &h);
		if (!mod)
			mod = module_add(s, key, 1, h);
		if (mod) {
			mod->tab = t;
			s->vdso = mod;
			s->stats.modules_loaded++;
		} else {
			elf_symtab_free(t);
		}
	}
	proc_maps_free(&m);
	return s->vdso;
}

/* --- dsos: mapped files -------------------------------------------------------------- */

static uint32_t dso_hash(enum dso_kind kind, const struct map_entry *e, const char *path)
{
	uint64_t h = mix64((uint64_t)(uintptr_t)path ^ (uint64_t)kind << 60);
	h = mix64(h ^ e->inode);
	return (uint32_t)mix64(h ^ ((uint64_t)e->dev_major << 32 | e->dev_minor));
}

/* The display name of a mapping: base name without " (deleted)". */
static const char *display_name(struct symbolizer *s, const struct map_entry *e)
{
	const char *name = map_module_name(e);
	char buf[PATH_MAX];
	return intern(s, e->path[0] == '/' ? path_undeleted(name, buf, sizeof(buf)) : name);
}

/* The dso of mapping i of p, created (and its module read) the first time. */
static int dso_of_mapping(struct symbolizer *s, struct proc *p, size_t i)
{
	const struct map_entry *e = &p->v[i];
	enum dso_kind kind = DSO_NAME;
	if (e->path[0] == '/' && e->perms[2] == 'x')
		kind = DSO_FILE;
	else if (strcmp(e->path, "[vdso]") == 0)
		kind = DSO_VDSO;
	const char *name = display_name(s, e);
	if (!name)
		return -ENOMEM;
	/* A name-only dso is one per name: its key is the name. */
	struct map_entry key = kind == DSO_FILE ? *e : (struct map_entry){ .path = name };
	uint32_t h = dso_hash(kind, &key, key.path);
	size_t pos = SIZE_MAX;
	int64_t id;
	while ((id = hindex_next(&s->dso_index, h, &pos)) >= 0) {
		const struct dso *d = &s->dsos[id];
		if (d->kind == kind && d->path == key.path && d->inode == key.inode &&
		    d->dev_major == key.dev_major && d->dev_minor == key.dev_minor)
			return (int)id;
	}
	if (s->ndsos >= KEY_JIT_FIRST ||
	    grow((void **)&s->dsos, &s->dsos_cap, s->ndsos + 1, sizeof(*s->dsos)) < 0)
		return -ENOMEM;
	struct dso d = { .kind = kind, .dev_major = key.dev_major, .dev_minor = key.dev_minor,
			 .inode = key.inode, .path = key.path, .name = name };
	if (kind == DSO_VDSO)
		d.mod = vdso_module(s);
	if (kind == DSO_FILE) {
		int r = module_of_mapping(s, p, e, &d.mod);
		if (r < 0)
			return r;
	}
	if (hindex_add(&s->dso_index, h, (uint32_t)s->ndsos) < 0)
		return -ENOMEM;
	s->dsos[s->ndsos] = d;
	return (int)s->ndsos++;
}

/* --- processes ----------------------------------------------------------------------- */

static int32_t unresolved(const struct map_entry *e)
{
	bool anon = !e->path[0] || strncmp(e->path, "[anon", 5) == 0;
	return e->perms[2] == 'x' && anon ? MAP_JIT : MAP_UNRESOLVED;
}

/* Resolves the dsos of p's executable file mappings now, while the process runs. */
static int proc_resolve(struct symbolizer *s, struct proc *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->dso[i] != MAP_UNRESOLVED || p->v[i].perms[2] != 'x')
			continue;
		int d = dso_of_mapping(s, p, i);
		if (d < 0)
			return d;
		p->dso[i] = d;
	}
	return 0;
}

static int proc_reserve(struct proc *p, size_t n)
{
	size_t cap = p->cap;
	if (grow((void **)&p->v, &cap, n, sizeof(*p->v)) < 0)
		return -ENOMEM;
	if (cap != p->cap) {
		int32_t *d = realloc(p->dso, cap * sizeof(*d));
		if (!d)
			return -ENOMEM; /* p->cap stays: v is only bigger than needed */
		p->dso = d;
		p->cap = cap;
	}
	return 0;
}

/* Replaces p's mappings with those of /proc/PID/maps. -ESRCH when it is gone, -EACCES
 * when it is not ours (p->gone then: its mappings stay what they were). */
static int proc_read_maps(struct symbolizer *s, struct proc *p)
{
	struct proc_maps m;
	int r = proc_maps_read(p->pid, &m);
	p->read_ns = now_ns();
	if (r < 0) {
		proc_maps_free(&m);
		if (r == -ENOMEM)
			return r;
		p->gone = true;
		return errno_is_gone(r) ? -ESRCH : r;
	}
	p->gone = false;
	p->stale = false;
	r = proc_reserve(p, m.n);
	for (size_t i = 0; r >= 0 && i < m.n; i++) {
		p->v[i] = m.v[i];
		p->v[i].path = intern(s, m.v[i].path);
		p->dso[i] = unresolved(&p->v[i]);
		if (!p->v[i].path)
			r = -ENOMEM;
	}
	p->n = r >= 0 ? m.n : 0;
	proc_maps_free(&m);
	return r < 0 ? r : proc_resolve(s, p);
}

static struct proc *proc_find(struct symbolizer *s, pid_t pid)
{
	if (s->last_proc && s->last_proc->pid == pid)
		return s->last_proc;
	size_t pos = SIZE_MAX;
	int64_t id;
	uint32_t h = (uint32_t)mix64((uint64_t)pid);
	while ((id = hindex_next(&s->proc_index, h, &pos)) >= 0)
		if (s->procs[id]->pid == pid)
			return s->last_proc = s->procs[id];
	return NULL;
}

static struct proc *proc_new(struct symbolizer *s, pid_t pid)
{
	if (grow((void **)&s->procs, &s->procs_cap, s->nprocs + 1, sizeof(*s->procs)) < 0)
		return NULL;
	struct proc *p = calloc(1, sizeof(*p));
	if (!p || hindex_add(&s->proc_index, (uint32_t)mix64((uint64_t)pid),
			     (uint32_t)s->nprocs) < 0) {
		free(p);
		return NULL;
	}
	p->pid = pid;
	s->procs[s->nprocs++] = p;
	return p;
}

static void proc_forget_jit(struct proc *p)
{
	perfmap_free(p->jit);
	p->jit = NULL;
	p->jit_key = 0;
	p->jit_checked_ns = 0;
	p->jit_size = p->jit_mtime_ns = -1;
}

/* The process, its mappings read the first time (or after an exec). Errors as
 * proc_read_maps; *ret is set unless -ENOMEM. */
static int proc_get(struct symbolizer *s, pid_t pid, struct proc **ret)
{
	struct proc *p = proc_find(s, pid);
	if (!p) {
		p = proc_new(s, pid);
		if (!p)
			return -ENOMEM;
		proc_forget_jit(p);
		p->stale = true;
	}
	*ret = p;
	if (!p->stale)
		return 0;
	int r = proc_read_maps(s, p);
	p->stale = false; /* a gone process is not retried at every lookup */
	return r;
}

static ssize_t proc_mapping(const struct proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < p->v[mid].start)
			hi = mid;
		else if (addr >= p->v[mid].end)
			lo = mid + 1;
		else
			return (ssize_t)mid;
	}
	return -1;
}

/* --- JIT maps ------------------------------------------------------------------------ */

/* A new address-cache key for a new generation of a JIT map: what the cache holds under
 * the previous key is not looked at again. */
static uint32_t jit_new_key(struct symbolizer *s)
{
	if (s->next_jit_key >= KEY_KERNEL)
		s->next_jit_key = KEY_JIT_FIRST; /* after two billion reloads, keys are reused */
	return s->next_jit_key++;
}

/* Rereads /tmp/perf-PID.map when it changed (checked at most once a second). */
static int jit_refresh(struct symbolizer *s, struct proc *p)
{
	uint64_t now = now_ns();
	if (p->jit_key && now - p->jit_checked_ns < PERFMAP_RECHECK_NS)
		return 0;
	p->jit_checked_ns = now;
	if (!p->jit_key)
		p->jit_key = jit_new_key(s);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/perf-%d.map", s->perfmap_dir, (int)p->pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0; /* a vanished map keeps the names read before */
	int64_t mtime = (int64_t)st.st_mtim.tv_sec * (int64_t)NSEC_PER_SEC + st.st_mtim.tv_nsec;
	if (st.st_size == p->jit_size && mtime == p->jit_mtime_ns)
		return 0;
	if ((uint64_t)st.st_size > PERFMAP_MAX_SIZE)
		return 0;
	struct strbuf text = STRBUF_INIT;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && text.len < PERFMAP_MAX_SIZE)
		sb_add(&text, buf, (size_t)n);
	if (text.failed) {
		sb_free(&text);
		return -ENOMEM;
	}
	/* The JIT may be writing its last line: only whole lines are read. */
	const char *nl = text.len ? memrchr(text.buf, '\n', text.len) : NULL;
	struct perfmap *m;
	int r = perfmap_parse_lenient(text.buf, nl ? (size_t)(nl - text.buf) + 1 : 0, &m);
	sb_free(&text);
	if (r < 0)
		return r;
	perfmap_free(p->jit);
	p->jit = m;
	p->jit_size = st.st_size;
	p->jit_mtime_ns = mtime;
	p->jit_key = jit_new_key(s);
	return 0;
}

static int jit_lookup(struct symbolizer *s, struct proc *p, const struct map_entry *e,
		      uint64_t addr)
{
	int r = p->jit_key ? 0 : jit_refresh(s, p);
	if (r < 0)
		return r;
	int sym = cache_get(s, p->jit_key, addr);
	if (sym >= 0) {
		s->stats.cache_hits++;
		return sym;
	}
	const char *name = p->jit ? perfmap_lookup(p->jit, addr) : NULL;
	if (!name) {
		/* New code may have been written to the map since: look again. */
		r = jit_refresh(s, p);
		if (r < 0)
			return r;
		name = p->jit ? perfmap_lookup(p->jit, addr) : NULL;
	}
	if (name)
		sym = symbol_named(s, name, s->mod_jit, FRAME_USER);
	else
		sym = symbol_offset(s, intern(s, map_module_name(e)), map_file_offset(e, addr));
	if (sym >= 0 && cache_put(s, p->jit_key, addr, sym) < 0)
		return -ENOMEM;
	return sym;
}

/* --- public API ---------------------------------------------------------------------- */

static char *strdup_or(const char *s, const char *dflt)
{
	return strdup(s && *s ? s : dflt);
}

int symbolizer_new(const struct symbolizer_opts *o, struct symbolizer **ret)
{
	struct symbolizer_opts none = { .demangle = true };
	if (!o)
		o = &none;
	struct symbolizer *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->debug_dir = strdup_or(o->debug_dir, "/usr/lib/debug");
	s->kallsyms_path = strdup_or(o->kallsyms, "/proc/kallsyms");
	s->perfmap_dir = strdup_or(o->perfmap_dir, "/tmp");
	s->demangle = o->demangle;
	s->next_jit_key = KEY_JIT_FIRST;
	s->mod_kernel = intern(s, "[kernel]");
	s->mod_jit = intern(s, "[jit]");
	const char *unknown = intern(s, "[unknown]");
	if (!s->debug_dir || !s->kallsyms_path || !s->perfmap_dir || !s->mod_kernel ||
	    !s->mod_jit || !unknown ||
	    (s->sym_unknown = symbol_id(s, unknown, NULL, FRAME_USER, false)) < 0 ||
	    (s->sym_kernel = symbol_id(s, s->mod_kernel, s->mod_kernel, FRAME_KERNEL, false)) < 0) {
		symbolizer_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

struct symbolizer *symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->nprocs; i++) {
		free(s->procs[i]->v);
		free(s->procs[i]->dso);
		perfmap_free(s->procs[i]->jit);
		free(s->procs[i]);
	}
	free(s->procs);
	hindex_free(&s->proc_index);
	for (size_t i = 0; i < s->nmods; i++) {
		elf_symtab_free(s->mods[i]->tab);
		free(s->mods[i]);
	}
	free(s->mods);
	hindex_free(&s->mod_index);
	free(s->dsos);
	hindex_free(&s->dso_index);
	free(s->cache);
	for (size_t b = 0; b * SYMBOL_BLOCK < s->nsyms; b++)
		free(s->sym_blocks[b]);
	free(s->sym_blocks);
	hindex_free(&s->sym_index);
	for (size_t i = 0; i < s->arena.nblocks; i++)
		free(s->arena.blocks[i]);
	free(s->arena.blocks);
	free(s->strs);
	hindex_free(&s->str_index);
	ksym_table_free(s->ksyms);
	sb_free(&s->scratch);
	free(s->debug_dir);
	free(s->kallsyms_path);
	free(s->perfmap_dir);
	free(s);
	return NULL;
}

int symbolizer_add_process(struct symbolizer *s, pid_t pid)
{
	struct proc *p = proc_find(s, pid);
	if (p && !p->stale && !p->gone)
		return 0;
	if (!p)
		return proc_get(s, pid, &p);
	return proc_read_maps(s, p);
}

/* Inserts e into p's sorted mappings, cutting what it overlaps; its index in *ret_i. */
static int proc_insert(struct proc *p, const struct map_entry *e, size_t *ret_i)
{
	if (proc_reserve(p, p->n + 2) < 0)
		return -ENOMEM;
	size_t first = 0;
	while (first < p->n && p->v[first].end <= e->start)
		first++;
	size_t last = first; /* [first, last): the mappings e overlaps */
	while (last < p->n && p->v[last].start < e->end)
		last++;
	struct map_entry left = first < last ? p->v[first] : (struct map_entry){ 0 };
	struct map_entry right = first < last ? p->v[last - 1] : (struct map_entry){ 0 };
	int32_t left_dso = first < last ? p->dso[first] : MAP_UNRESOLVED;
	int32_t right_dso = first < last ? p->dso[last - 1] : MAP_UNRESOLVED;
	bool keep_left = first < last && left.start < e->start;
	bool keep_right = first < last && right.end > e->end;
	size_t count = (size_t)keep_left + 1 + (size_t)keep_right;
	size_t tail = p->n - last;
	memmove(&p->v[first + count], &p->v[last], tail * sizeof(*p->v));
	memmove(&p->dso[first + count], &p->dso[last], tail * sizeof(*p->dso));
	size_t i = first;
	if (keep_left) {
		left.end = e->start;
		p->v[i] = left;
		p->dso[i++] = left_dso;
	}
	*ret_i = i;
	p->v[i] = *e;
	p->dso[i++] = unresolved(e);
	if (keep_right) {
		right.offset += e->end - right.start;
		right.start = e->end;
		p->v[i] = right;
		p->dso[i] = right_dso;
	}
	p->n = first + count + tail;
	return 0;
}

int symbolizer_add_mapping(struct symbolizer *s, pid_t pid, uint64_t start, uint64_t len,
			   uint64_t pgoff, uint64_t inode, const char *path, bool exec)
{
	if (len == 0 || start + len < start)
		return -EINVAL;
	struct proc *p;
	if (proc_get(s, pid, &p) == -ENOMEM)
		return -ENOMEM;
	struct map_entry e = { .start = start, .end = start + len, .offset = pgoff,
			       .inode = inode, .path = intern(s, path ? path : "") };
	if (!e.path)
		return -ENOMEM;
	memcpy(e.perms, exec ? "r-xp" : "r--p", 5);
	/* Already known from /proc/PID/maps (with its device): nothing to do. */
	ssize_t i = proc_mapping(p, start);
	if (i >= 0 && p->v[i].start == start && p->v[i].end == e.end && p->v[i].offset == pgoff &&
	    p->v[i].inode == inode && p->v[i].path == e.path && p->v[i].perms[2] == e.perms[2])
		return 0;
	size_t at;
	if (proc_insert(p, &e, &at) < 0)
		return -ENOMEM;
	if (p->dso[at] == MAP_UNRESOLVED && exec) {
		int d = dso_of_mapping(s, p, at);
		if (d < 0)
			return d;
		p->dso[at] = d;
	}
	return 0;
}

void symbolizer_exec(struct symbolizer *s, pid_t pid)
{
	struct proc *p = proc_find(s, pid);
	if (!p)
		return;
	p->n = 0;
	p->stale = true;
	proc_forget_jit(p);
}

int symbolizer_fork(struct symbolizer *s, pid_t parent, pid_t child)
{
	struct proc *pp, *cp;
	if (proc_get(s, parent, &pp) == -ENOMEM)
		return -ENOMEM;
	cp = proc_find(s, child);
	if (!cp && !(cp = proc_new(s, child)))
		return -ENOMEM;
	if (cp == pp)
		return 0;
	if (proc_reserve(cp, pp->n) < 0)
		return -ENOMEM;
	memcpy(cp->v, pp->v, pp->n * sizeof(*cp->v));
	memcpy(cp->dso, pp->dso, pp->n * sizeof(*cp->dso));
	cp->n = pp->n;
	cp->stale = false;
	cp->gone = false;
	cp->read_ns = now_ns();
	proc_forget_jit(cp);
	return 0;
}

int symbolize_user(struct symbolizer *s, pid_t pid, uint64_t ip, bool is_return)
{
	s->stats.lookups++;
	uint64_t addr = is_return && ip > 0 ? ip - 1 : ip;
	struct proc *p;
	if (proc_get(s, pid, &p) == -ENOMEM)
		return -ENOMEM;
	ssize_t i = proc_mapping(p, addr);
	if (i < 0 && !p->gone && now_ns() - p->read_ns >= MAPS_REREAD_NS) {
		/* Mapped since we last looked, without us being told. */
		if (proc_read_maps(s, p) == -ENOMEM)
			return -ENOMEM;
		i = proc_mapping(p, addr);
	}
	if (i < 0) {
		s->stats.unknown++;
		return s->sym_unknown;
	}
	const struct map_entry *e = &p->v[i];
	if (p->dso[i] == MAP_JIT)
		return jit_lookup(s, p, e, addr);
	if (p->dso[i] == MAP_UNRESOLVED) {
		int d = dso_of_mapping(s, p, (size_t)i);
		if (d < 0)
			return d;
		p->dso[i] = d;
	}
	uint32_t key = (uint32_t)p->dso[i];
	uint64_t off = map_file_offset(e, addr);
	int sym = cache_get(s, key, off);
	if (sym >= 0) {
		s->stats.cache_hits++;
		return sym;
	}
	const struct dso *d = &s->dsos[key];
	const struct elf_symtab *t = d->mod ? d->mod->tab : NULL;
	uint64_t vaddr;
	const char *name = NULL;
	if (t && elf_symtab_vaddr(t, off, &vaddr))
		name = elf_symtab_lookup(t, vaddr);
	sym = name ? symbol_named(s, name, d->name, FRAME_USER) : symbol_offset(s, d->name, off);
	if (sym >= 0 && cache_put(s, key, off, sym) < 0)
		return -ENOMEM;
	return sym;
}

static void kallsyms_load(struct symbolizer *s)
{
	s->ksyms_tried = true;
	_cleanup_close_ int fd = open(s->kallsyms_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct strbuf text = STRBUF_INIT;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && text.len < KALLSYMS_MAX_SIZE)
		sb_add(&text, buf, (size_t)n);
	struct ksym_table *t;
	if (n == 0 && !text.failed && kallsyms_parse(text.buf, text.len, &t, NULL) >= 0) {
		if (ksym_count(t))
			s->ksyms = t;
		else
			ksym_table_free(t); /* all addresses zero: not root */
	}
	sb_free(&text);
}

int symbolize_kernel(struct symbolizer *s, uint64_t ip)
{
	s->stats.lookups++;
	if (!s->ksyms_tried)
		kallsyms_load(s);
	int sym = cache_get(s, KEY_KERNEL, ip);
	if (sym >= 0) {
		s->stats.cache_hits++;
		return sym;
	}
	const char *module = NULL;
	const char *name = s->ksyms ? ksym_lookup(s->ksyms, ip, &module) : NULL;
	if (!name) {
		s->stats.unknown++;
		sym = s->sym_kernel;
	} else if (module && module[0]) {
		/* "ext4_file_read_iter [ext4]", in module "[ext4]" */
		sb_reset(&s->scratch);
		sb_addf(&s->scratch, "[%s]", module);
		const char *mod = s->scratch.failed ? NULL : intern(s, sb_str(&s->scratch));
		sb_reset(&s->scratch);
		sb_addf(&s->scratch, "%s [%s]", name, module);
		sym = !mod || s->scratch.failed ? -ENOMEM :
			symbol_intern(s, sb_str(&s->scratch), mod, FRAME_KERNEL, true);
	} else {
		sym = symbol_intern(s, name, s->mod_kernel, FRAME_KERNEL, true);
	}
	if (sym >= 0 && cache_put(s, KEY_KERNEL, ip, sym) < 0)
		return -ENOMEM;
	return sym;
}

const struct symbol *symbolizer_get(const struct symbolizer *s, int id)
{
	if (id < 0 || (size_t)id >= s->nsyms)
		return NULL;
	return symbol_at(s, (size_t)id);
}

size_t symbolizer_count(const struct symbolizer *s)
{
	return s->nsyms;
}

void symbolizer_get_stats(const struct symbolizer *s, struct symbolizer_stats *ret)
{
	*ret = s->stats;
}
