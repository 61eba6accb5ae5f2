/* Which file to read the symbols of a mapping from, and where its separate debug file is.
 *
 * The mapped file. A binary can be deleted or replaced on disk while it runs (a package
 * upgrade, a rebuild): its path then names another file, or none. /proc/PID/map_files/
 * opens the very file mapped (root only: CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN); without
 * it the path is opened and must still hold the mapped inode, and the caller compares
 * build-ids with the one in the process's memory. A wrong name is worse than none.
 *
 * Debug files, in the order gdb looks: /usr/lib/debug/.build-id/ab/cdef....debug, then the
 * .gnu_debuglink name next to the binary, in its .debug/ directory, and under
 * /usr/lib/debug/<the binary's directory>/. */
#include "stack/symbolize_int.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "stack/maps.h"
#include "util/macro.h"

#define DELETED_SUFFIX " (deleted)"
#define MAX_PHDRS 128       /* program headers read from a process's memory */
#define MAX_NOTES 4096      /* bytes of a PT_NOTE segment read from memory */

const char *path_undeleted(const char *path, char *buf, size_t size)
{
	size_t len = strlen(path), suffix = sizeof(DELETED_SUFFIX) - 1;
	if (len <= suffix || strcmp(path + len - suffix, DELETED_SUFFIX) != 0 ||
	    len - suffix >= size)
		return path;
	memcpy(buf, path, len - suffix);
	buf[len - suffix] = '\0';
	return buf;
}

int mapped_file_open(pid_t pid, bool alive, const struct map_entry *e, int *ret_fd,
		     bool *ret_exact)
{
	char buf[PATH_MAX];
	if (alive) {
		snprintf(buf, sizeof(buf), "/proc/%d/map_files/%llx-%llx", (int)pid,
			 (unsigned long long)e->start, (unsigned long long)e->end);
		int fd = open(buf, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			*ret_fd = fd;
			*ret_exact = true;
			return 0;
		}
	}
	const char *path = path_undeleted(e->path, buf, sizeof(buf));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	struct stat st;
	/* The device is not compared: overlayfs and btrfs subvolumes show another one in
	 * maps than stat() gives; the inode is enough to tell a replaced file. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (e->inode && st.st_ino != e->inode)) {
		close(fd);
		return -ESTALE;
	}
	*ret_fd = fd;
	*ret_exact = false;
	return 0;
}

uint32_t debuglink_crc32(uint32_t crc, const void *data, size_t len)
{
	uint32_t table[256];
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	const unsigned char *p = data;
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static int file_crc32(int fd, uint32_t *ret)
{
	static const size_t chunk = 1 << 16;
	unsigned char *buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	uint32_t crc = 0;
	off_t off = 0;
	ssize_t n;
	while ((n = pread(fd, buf, chunk, off)) > 0) {
		crc = debuglink_crc32(crc, buf, (size_t)n);
		off += n;
	}
	free(buf);
	if (n < 0)
		return neg_errno();
	*ret = crc;
	return 0;
}

/* Whether the debug file candidate belongs to the main file f. */
static bool debug_file_matches(const struct elf_file *f, const struct elf_file *dbg, int fd,
			       bool by_link)
{
	const uint8_t *id, *dbg_id;
	size_t n = elf_file_build_id(f, &id), dbg_n = elf_file_build_id(dbg, &dbg_id);
	if (n)
		return dbg_n == n && memcmp(id, dbg_id, n) == 0;
	uint32_t want, crc;
	return by_link && elf_file_debuglink(f, &want) && file_crc32(fd, &crc) == 0 &&
	       crc == want;
}

/* Tries one candidate; 0 when its symbols were added. */
static int try_debug_file(struct elf_symtab *t, const struct elf_file *f, const char *path,
			  const struct stat *main_st, bool by_link)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	if (main_st && st.st_dev == main_st->st_dev && st.st_ino == main_st->st_ino)
		return -ENOENT;
	struct elf_file *dbg;
	int r = elf_file_from_fd(fd, &dbg);
	if (r < 0)
		return r;
	r = debug_file_matches(f, dbg, fd, by_link) ? elf_symtab_add_debug(t, dbg) : -ENOENT;
	elf_file_close(dbg);
	return r;
}

int debuginfo_add(struct elf_symtab *t, const struct elf_file *f, const char *path,
		  const char *debug_dir, const struct stat *st)
{
	char cand[PATH_MAX], hex[2 * BUILD_ID_MAX + 1];
	const uint8_t *id;
	size_t n = elf_file_build_id(f, &id);
	if (n >= 2) {
		for (size_t i = 1; i < n; i++)
			snprintf(hex + 2 * (i - 1), 3, "%02x", id[i]);
		snprintf(cand, sizeof(cand), "%s/.build-id/%02x/%s.debug", debug_dir, id[0], hex);
		int r = try_debug_file(t, f, cand, st, false);
		if (r != -ENOENT)
			return r;
	}
	uint32_t crc;
	const char *link = elf_file_debuglink(f, &crc);
	char buf[PATH_MAX];
	path = path ? path_undeleted(path, buf, sizeof(buf)) : NULL;
	const char *slash = path ? strrchr(path, '/') : NULL;
	if (!link || !slash)
		return -ENOENT;
	int dir_len = (int)(slash - path);
	const char *fmts[] = { "%.*s/%s", "%.*s/.debug/%s" };
	for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
		snprintf(cand, sizeof(cand), fmts[i], dir_len, path, link);
		int r = try_debug_file(t, f, cand, st, true);
		if (r != -ENOENT)
			return r;
	}
	snprintf(cand, sizeof(cand), "%s%.*s/%s", debug_dir, dir_len, path, link);
	return try_debug_file(t, f, cand, st, true);
}

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return neg_errno();
	return (size_t)n == len ? 0 : -EIO;
}

/* The build-id note among notes (4- or 8-byte aligned). */
static int find_build_id_note(const unsigned char *p, size_t len, size_t align, uint8_t *buf,
			      size_t *ret_len)
{
	size_t off = 0;
	while (len - off >= 12) {
		uint32_t w[3];
		memcpy(w, p + off, sizeof(w));
		size_t name = off + 12;
		size_t desc = name + ((w[0] + align - 1) & ~(align - 1));
		if (w[0] > len || w[1] > len || desc > len || w[1] > len - desc)
			break;
		if (w[2] == NT_GNU_BUILD_ID && w[0] == 4 && w[1] > 0 &&
		    memcmp(p + name, "GNU", 4) == 0) {
			*ret_len = w[1] < BUILD_ID_MAX ? w[1] : BUILD_ID_MAX;
			memcpy(buf, p + desc, *ret_len);
			return 0;
		}
		off = desc + ((w[1] + align - 1) & ~(align - 1));
		if (off > len)
			break;
	}
	return -ENOENT;
}

int build_id_from_memory(pid_t pid, uint64_t base, uint8_t *buf, size_t *ret_len)
{
	Elf64_Ehdr eh;
	int r = read_mem(pid, base, &eh, sizeof(eh));
	if (r < 0)
		return r;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return -ENOENT;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return -ENOTSUP;
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS)
		return -ENOENT;
	Elf64_Phdr ph[MAX_PHDRS];
	r = read_mem(pid, base + eh.e_phoff, ph, eh.e_phnum * sizeof(ph[0]));
	if (r < 0)
		return r;
	/* The load bias: where the segment at file offset 0 landed. */
	uint64_t bias = 0;
	bool found = false;
	for (size_t i = 0; i < eh.e_phnum && !found; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
			bias = base - (ph[i].p_vaddr & ~(uint64_t)4095);
			found = true;
		}
	if (!found)
		return -ENOENT;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz == 0)
			continue;
		unsigned char notes[MAX_NOTES];
		size_t len = ph[i].p_filesz < sizeof(notes) ? ph[i].p_filesz : sizeof(notes);
		if (read_mem(pid, bias + ph[i].p_vaddr, notes, len) < 0)
			continue;
		if (find_build_id_note(notes, len, ph[i].p_align == 8 ? 8 : 4, buf, ret_len) == 0)
			return 0;
	}
	return -ENOENT;
}
