/* /proc/PID/maps: the memory mappings of a process, to tell which file (module) an
 * address is in and at which file offset — the first step of symbolizing it, and all a
 * frame gets when no symbol is known ("[unknown]" in libfoo.so+0x1234).
 *
 * The parser takes untrusted text (a process can map a file with any name): every line is
 * checked, a malformed one is an error with its line number, and paths are kept verbatim
 * (spaces, " (deleted)" included) up to PATH_MAX bytes. */
#ifndef PK_STACK_MAPS_H
#define PK_STACK_MAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/strbuf.h"

#define MAPS_MAX_ENTRIES (1u << 20)

struct map_entry {
	uint64_t start, end; /* [start, end) */
	uint64_t offset;     /* file offset of start */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	char perms[5];       /* "r-xp" */
	const char *path;    /* "" for an anonymous mapping; "[heap]", "[vdso]"... */
};

struct proc_maps {
	struct map_entry *v; /* sorted by start, not overlapping */
	size_t n;
	struct strbuf paths; /* the path strings (v[i].path points into it after parsing) */
};

/* Parses len bytes of maps text into ret (empty on entry; free it with proc_maps_free also
 * on failure). -EINVAL for a malformed line (its 1-based number in *ret_bad_line when
 * non-NULL), -E2BIG past MAPS_MAX_ENTRIES, -ENOMEM. */
int proc_maps_parse(const char *text, size_t len, struct proc_maps *ret, size_t *ret_bad_line);
/* Reads and parses /proc/PID/maps: -ESRCH/-ENOENT when the process is gone, -EACCES, and
 * the parser's errors. */
int proc_maps_read(pid_t pid, struct proc_maps *ret);
void proc_maps_free(struct proc_maps *m);

/* The mapping holding addr, or NULL. O(log n). */
const struct map_entry *proc_maps_find(const struct proc_maps *m, uint64_t addr);
/* The file offset of addr in its mapping e. */
static inline uint64_t map_file_offset(const struct map_entry *e, uint64_t addr)
{
	return addr - e->start + e->offset;
}
/* The module of a mapping for display: the base name of its path, or "[anon]" for an
 * anonymous one. Points into e->path. */
const char *map_module_name(const struct map_entry *e);
/* Appends the name of an address nothing better is known of: "libc.so.6+0x2a1f0" (the
 * file offset), or "[unknown]+0x7ffd1234" when no mapping holds it. */
void maps_add_unknown(struct strbuf *sb, const struct proc_maps *m, uint64_t addr);

#endif
