/* Finding CPython in a live process: which mapped file holds _PyRuntime (libpython, or the
 * executable when libpython is linked in), where it is loaded, and which version it is. */
#include "python/py_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "python/py_elf.h"
#include "util/macro.h"

struct mapping {
	uint64_t start, end, offset;
	char path[PATH_MAX];
};

/* "libpython3.11.so.1.0", "python3.11", "libpython3.7m.so" -> 3, 11. */
static bool version_from_name(const char *path, unsigned *major, unsigned *minor)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strncmp(base, "lib", 3))
		base += 3;
	if (strncmp(base, "python", 6) != 0)
		return false;
	const char *s = base + 6;
	if (!isdigit((unsigned char)s[0]) || s[1] != '.' || !isdigit((unsigned char)s[2]))
		return false;
	char *end;
	unsigned long mi = strtoul(s + 2, &end, 10);
	if (mi > 99)
		return false;
	*major = (unsigned)(s[0] - '0');
	*minor = (unsigned)mi;
	return true;
}

static bool is_libpython(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strncmp(base, "libpython", 9);
}

/* The mappings of the files worth looking at: file offset 0 of each libpython, and of the
 * executable; with `all`, of every mapped file (a libpython under another name, embedded in
 * an application). */
static int read_maps(pid_t pid, const char *exe, bool all, struct mapping *out, size_t max,
		     size_t *ret_n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return neg_errno();
	char line[PATH_MAX + 256];
	size_t n = 0;
	while (fgets(line, sizeof(line), f)) {
		struct mapping m = { 0 };
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %n", &m.start,
			   &m.end, perms, &m.offset, &pos) < 4 || pos <= 0)
			continue;
		char *p = line + pos;
		p[strcspn(p, "\n")] = '\0';
		if (*p != '/' || m.offset != 0)
			continue;
		const char *del = strstr(p, " (deleted)");
		size_t plen = del ? (size_t)(del - p) : strlen(p);
		if (plen >= sizeof(m.path))
			continue;
		memcpy(m.path, p, plen);
		m.path[plen] = '\0';
		if (!all && !is_libpython(m.path) && strcmp(m.path, exe) != 0)
			continue;
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup |= !strcmp(out[i].path, m.path);
		if (!dup && n < max)
			out[n++] = m;
	}
	int err = ferror(f) ? -EIO : 0;
	fclose(f);
	*ret_n = n;
	return err;
}

static int open_mapped(pid_t pid, const struct mapping *m)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, m->start,
		 m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : neg_errno();
}

/* ---- the version from the interpreter's own text ------------------------------------------ */

/* A decimal number of at most max digits, without a leading zero (CPython writes "3.9.0",
 * never "3.09"); 0 when there is none. */
static size_t digits(const char *s, size_t len, size_t max, unsigned *ret)
{
	size_t n = 0;
	unsigned v = 0;
	while (n < len && n < max && isdigit((unsigned char)s[n]))
		v = v * 10 + (unsigned)(s[n++] - '0');
	*ret = v;
	return n > 1 && s[0] == '0' ? 0 : n;
}

/* The low byte of PY_VERSION_HEX for "a1", "b2", "rc1" (release level << 4 | serial), 0xF0
 * for a final release; advances *i past it. */
static unsigned release_level(const char *s, size_t len, size_t *i)
{
	static const struct { const char *tag; unsigned level; } tags[] = {
		{ "rc", 0xC }, { "a", 0xA }, { "b", 0xB },
	};
	for (size_t t = 0; t < ARRAY_SIZE(tags); t++) {
		size_t tl = strlen(tags[t].tag);
		unsigned serial;
		if (len - *i > tl && !memcmp(s + *i, tags[t].tag, tl)) {
			size_t d = digits(s + *i + tl, len - *i - tl, 2, &serial);
			if (d) {
				*i += tl + d;
				return tags[t].level << 4 | (serial & 0xf);
			}
		}
	}
	return 0xF0;
}

/* Printable text up to `close` within max bytes: the index just past it, 0 if none. */
static size_t until(const char *s, size_t len, size_t i, char close, size_t max)
{
	for (size_t end = i + max < len ? i + max : len; i < end; i++) {
		if (s[i] == close)
			return i + 1;
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	}
	return 0;
}

/* Does Py_GetVersion()'s text start at s: "3.9.18 (main, Nov  1 2023, 10:00:00) \n[GCC
 * 12.2.0]" and its NUL? */
static bool version_text_at(const char *s, size_t len, uint32_t *ret_hex)
{
	unsigned major, minor, micro;
	size_t i = digits(s, len, 1, &major);
	if (i != 1 || major != 3 || i >= len || s[i++] != '.')
		return false;
	size_t d = digits(s + i, len - i, 2, &minor);
	if (!d || (i += d) >= len || s[i++] != '.')
		return false;
	if (!(d = digits(s + i, len - i, 3, &micro)) || micro > 255)
		return false;
	i += d;
	unsigned level = release_level(s, len, &i);
	if (i < len && s[i] == '+')
		i++;
	if (len - i < 2 || s[i] != ' ' || s[i + 1] != '(')
		return false;
	if (!(i = until(s, len, i + 2, ')', 160)))
		return false;
	while (i < len && (s[i] == ' ' || s[i] == '\n'))
		i++;
	if (i >= len || s[i] != '[' || !(i = until(s, len, i + 1, ']', 160)))
		return false;
	if (i >= len || s[i] != '\0')
		return false;
	*ret_hex = 3u << 24 | minor << 16 | micro << 8 | level;
	return true;
}

bool py_version_from_text(const void *buf, size_t len, uint32_t *ret_hex)
{
	const char *s = buf;
	for (const char *p = s; (p = memchr(p, '3', len - (size_t)(p - s))); p++)
		if (version_text_at(p, len - (size_t)(p - s), ret_hex))
			return true;
	return false;
}

#define VERSION_SCAN_MAX (8u << 20) /* bytes of data scanned at most (a libpython's .data
				      * and .bss are under 1 MiB, a static python's under 4) */
#define VERSION_SCAN_CHUNK (256u << 10)
#define VERSION_TEXT_MAX 400         /* a match may straddle two chunks by this much */

/* The writable mappings of path, and the anonymous one right after its last (the .bss
 * beyond the file's pages), where Py_GetVersion() keeps its static buffer. */
static size_t data_regions(pid_t pid, const char *path, uint64_t (*out)[2], size_t max)
{
	char mp[64], line[PATH_MAX + 256];
	snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(mp, "re");
	if (!f)
		return 0;
	size_t n = 0;
	bool after_file = false;
	while (n < max && fgets(line, sizeof(line), f)) {
		uint64_t start, end;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %n", &start, &end, perms,
			   &pos) < 3 || pos <= 0)
			continue;
		char *p = line + pos;
		p[strcspn(p, "\n")] = '\0';
		char *del = strstr(p, " (deleted)");
		if (del)
			*del = '\0';
		bool ours = !strcmp(p, path), anon = !*p;
		if (perms[1] == 'w' && (ours || (anon && after_file))) {
			out[n][0] = start;
			out[n++][1] = end;
		}
		after_file = ours;
	}
	fclose(f);
	return n;
}

/* The version from the text of Py_GetVersion() in the process's memory, for a file whose
 * name does not tell it and that has no Py_Version (3.8-3.10 renamed or embedded). */
static int version_from_memory(struct py_mem *mem, pid_t pid, const char *path, uint32_t *ret_hex)
{
	uint64_t regions[16][2];
	size_t nr = data_regions(pid, path, regions, ARRAY_SIZE(regions));
	char *buf = malloc(VERSION_SCAN_CHUNK + VERSION_TEXT_MAX);
	if (!buf)
		return -ENOMEM;
	uint64_t budget = VERSION_SCAN_MAX;
	int r = -ENOENT;
	for (size_t i = 0; i < nr && r == -ENOENT; i++) {
		for (uint64_t a = regions[i][0]; a < regions[i][1] && budget; a += VERSION_SCAN_CHUNK) {
			uint64_t len = regions[i][1] - a;
			if (len > VERSION_SCAN_CHUNK + VERSION_TEXT_MAX)
				len = VERSION_SCAN_CHUNK + VERSION_TEXT_MAX;
			if (len > budget)
				len = budget;
			budget -= len < VERSION_SCAN_CHUNK ? len : VERSION_SCAN_CHUNK;
			int e = py_mem_read(mem, a, buf, (size_t)len);
			if (e == -ESRCH || errno_is_privilege(e)) {
				r = e;
				break;
			}
			if (e == 0 && py_version_from_text(buf, (size_t)len, ret_hex)) {
				r = 0;
				break;
			}
		}
	}
	free(buf);
	return r;
}

/* Finds the tid field of glibc's struct pthread: in the main thread's (the thread whose
 * tid is the PID), the first 4-byte word equal to the PID, at an offset that gives every
 * other thread state a tid of a thread of this process. */
void py_calibrate_tid(struct py_proc *p)
{
	const struct py_offsets *v = &p->v;
	pid_t pid = p->info.pid;
	uint64_t interp;
	if (py_mem_read(p->mem, p->info.runtime + v->runtime_interpreters_head, &interp, 8) < 0 ||
	    !interp)
		return;
	uint64_t ts, ids[64];
	size_t n = 0;
	if (py_mem_read(p->mem, interp + v->interp_threads_head, &ts, 8) < 0)
		return;
	while (ts && n < ARRAY_SIZE(ids)) {
		uint64_t next, id;
		if (py_mem_read(p->mem, ts + v->tstate_thread_id, &id, 8) < 0 ||
		    py_mem_read(p->mem, ts + v->tstate_next, &next, 8) < 0)
			return;
		ids[n++] = id;
		ts = next;
	}
	int32_t words[512]; /* struct pthread's first 2 KiB */
	for (size_t i = 0; i < n; i++) {
		if (!ids[i] || py_mem_read(p->mem, ids[i], words, sizeof(words)) < 0)
			continue;
		for (size_t w = 1; w < ARRAY_SIZE(words); w++) {
			if (words[w] != pid)
				continue;
			uint32_t off = (uint32_t)(w * 4);
			bool ok = true;
			for (size_t j = 0; j < n && ok; j++) {
				int32_t tid;
				char path[64];
				if (j == i)
					continue;
				ok = py_mem_read(p->mem, ids[j] + off, &tid, 4) == 0 && tid > 0;
				snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
				ok = ok && access(path, F_OK) == 0;
			}
			if (ok) {
				p->tid_offset = off;
				p->tid_calibrated = true;
				return;
			}
		}
	}
}

#define MAX_MAPPED_FILES 256

/* Tries the files of maps[0, n) for _PyRuntime, libpython first (a python executable
 * linked to it has no runtime of its own). Sets *hit, *elf and *bias on success; notes the
 * version a file name tells in *major, *minor. */
static void try_files(pid_t pid, struct mapping *maps, size_t n, struct py_elf_info *elf,
		      const struct mapping **hit, unsigned *major, unsigned *minor)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!is_libpython(maps[i].path) && is_libpython(maps[j].path)) {
				struct mapping t = maps[i];
				maps[i] = maps[j];
				maps[j] = t;
			}
	for (size_t i = 0; i < n && !*hit; i++) {
		unsigned ma, mi;
		if (!*major && version_from_name(maps[i].path, &ma, &mi)) {
			*major = ma;
			*minor = mi;
		}
		int fd = open_mapped(pid, &maps[i]);
		if (fd < 0)
			continue;
		struct py_elf_info e;
		int r = py_elf_read(fd, &e);
		close(fd);
		if (r < 0 || (!e.sym[PY_SYM_RUNTIME] && !e.pyruntime_section))
			continue;
		*hit = &maps[i];
		*elf = e;
		if (version_from_name(maps[i].path, &ma, &mi)) {
			*major = ma;
			*minor = mi;
		} else if (!is_libpython(maps[i].path)) {
			*major = *minor = 0; /* a renamed copy: the other names say nothing of it */
		}
	}
}

/* The file that holds _PyRuntime: libpython or the executable; failing those, any mapped
 * file (libpython under another name). */
static int find_runtime(pid_t pid, const char *exe, struct mapping *maps, struct py_elf_info *elf,
			const struct mapping **hit, unsigned *major, unsigned *minor)
{
	size_t n = 0;
	int r = read_maps(pid, exe, false, maps, MAX_MAPPED_FILES, &n);
	if (r < 0)
		return r;
	try_files(pid, maps, n, elf, hit, major, minor);
	if (*hit)
		return 0;
	size_t tried = n;
	r = read_maps(pid, exe, true, maps + tried, MAX_MAPPED_FILES - tried, &n);
	if (r < 0)
		return r;
	/* Only the files not tried already. */
	size_t k = tried;
	for (size_t i = tried; i < tried + n; i++) {
		bool seen = false;
		for (size_t j = 0; j < tried && !seen; j++)
			seen = !strcmp(maps[i].path, maps[j].path);
		if (!seen)
			maps[k++] = maps[i];
	}
	unsigned ma = 0, mi = 0;
	try_files(pid, maps + tried, k - tried, elf, hit, &ma, &mi);
	if (*hit) {
		*major = ma;
		*minor = mi;
	}
	return 0;
}

static const char *found_by(bool dynsym, bool symtab)
{
	return dynsym ? ".dynsym" : symtab ? ".symtab" : "the .PyRuntime section";
}

int py_proc_attach(pid_t pid, const struct pk_log *log, struct py_info *info,
		   struct py_proc **ret)
{
	memset(info, 0, sizeof(*info));
	info->pid = pid;
	char path[64], exe[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t el = readlink(path, exe, sizeof(exe) - 1);
	if (el < 0) {
		int e = neg_errno();
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
		if (access(path, F_OK) < 0)
			return -ESRCH;
		return errno_is_privilege(e) ? -EPERM : e == -ENOENT ? -ESRCH : e;
	}
	exe[el] = '\0';
	char *del = strstr(exe, " (deleted)");
	if (del)
		*del = '\0';

	struct mapping *maps = calloc(MAX_MAPPED_FILES, sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	struct py_elf_info elf = { 0 };
	const struct mapping *hit = NULL;
	unsigned name_major = 0, name_minor = 0;
	int r = find_runtime(pid, exe, maps, &elf, &hit, &name_major, &name_minor);
	info->major = name_major;
	info->minor = name_minor;
	if (r < 0 || !hit) {
		free(maps);
		if (r < 0)
			return errno_is_privilege(r) ? -EPERM : r == -ENOENT ? -ESRCH : r;
		/* A Python too old to have _PyRuntime (2.7, 3.6) is still named. */
		if (name_major && (name_major < 3 || (name_major == 3 && name_minor < 8)))
			return -ENOTSUP;
		return -ENOEXEC;
	}
	uint64_t bias = hit->start - elf.first_load_vaddr;
	snprintf(info->elf_path, sizeof(info->elf_path), "%s", hit->path);
	info->shared = strcmp(hit->path, exe) != 0;
	free(maps);
	hit = NULL;
	info->found_by = elf.sym[PY_SYM_RUNTIME] ? found_by(elf.has_dynsym, elf.has_symtab)
						 : found_by(false, false);
	info->runtime = bias + (elf.sym[PY_SYM_RUNTIME] ? elf.sym[PY_SYM_RUNTIME]
							: elf.pyruntime_section);

	struct py_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	py_mem_proc_init(&p->proc_mem, pid);
	p->mem = p->own_mem = &p->proc_mem.mem;
	p->live = true;
	if (log)
		p->log = *log;
	/* Py_Version (3.11+) is the interpreter's own word on its version. */
	if (elf.sym[PY_SYM_VERSION]) {
		uint64_t vh = 0;
		r = py_mem_read(p->mem, bias + elf.sym[PY_SYM_VERSION], &vh, 8);
		if (r == -ESRCH || errno_is_privilege(r)) {
			py_proc_free(p);
			return r == -ESRCH ? r : -EPERM;
		}
		if (r == 0 && (vh >> 24) == 3) {
			info->version_hex = (uint32_t)vh;
			info->major = 3;
			info->minor = (vh >> 16) & 0xff;
		}
	}
	if (!info->version_hex) {
		/* No Py_Version (before 3.11): the text Py_GetVersion() left in memory tells
		 * the version of a file whose name does not, and the micro version of one whose
		 * name does (when they agree). */
		uint32_t vh;
		r = version_from_memory(p->mem, pid, info->elf_path, &vh);
		if (r == -ESRCH || errno_is_privilege(r)) {
			py_proc_free(p);
			return r == -ESRCH ? r : -EPERM;
		}
		if (r == 0 && !info->major) {
			info->major = 3;
			info->minor = (vh >> 16) & 0xff;
			info->version_by = "the version text in memory";
		}
		if (r == 0 && info->major == 3 && info->minor == ((vh >> 16) & 0xff))
			info->version_hex = vh;
	}
	if (info->major && !info->version_by)
		info->version_by = elf.sym[PY_SYM_VERSION] && info->version_hex ? "Py_Version"
										  : "the file name";
	if (elf.sym[PY_SYM_CODE_TYPE])
		p->code_type = bias + elf.sym[PY_SYM_CODE_TYPE];
	if (elf.sym[PY_SYM_UNICODE_TYPE])
		p->unicode_type = bias + elf.sym[PY_SYM_UNICODE_TYPE];
	p->info = *info;
	r = py_proc_init(p, info->version_hex, info->major, info->minor);
	if (p->info.debug_offsets)
		p->info.version_by = "_Py_DebugOffsets";
	*info = p->info;
	if (r < 0) {
		py_proc_free(p);
		return r == -EPERM || r == -EACCES ? -EPERM : r;
	}
	/* A first read tells whether we may read at all. */
	uint64_t probe;
	r = py_mem_read(p->mem, info->runtime, &probe, 8);
	if (r < 0) {
		py_proc_free(p);
		return errno_is_privilege(r) ? -EPERM : r == -EFAULT ? -ENOEXEC : r;
	}
	*ret = p;
	return 0;
}

/* ---- a shell's Python child -------------------------------------------------------------- */

static bool looks_like_python(pid_t pid)
{
	char path[64], exe[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	unsigned ma, mi;
	if (n > 0) {
		exe[n] = '\0';
		if (version_from_name(exe, &ma, &mi))
			return true;
	}
	struct mapping maps[8];
	size_t nm = 0;
	if (read_maps(pid, n > 0 ? exe : "", false, maps, ARRAY_SIZE(maps), &nm) < 0)
		return false;
	for (size_t i = 0; i < nm; i++)
		if (is_libpython(maps[i].path))
			return true;
	return false;
}

static size_t children_of(pid_t pid, pid_t *out, size_t max)
{
	char path[64];
	size_t n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		char cpath[300];
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", (int)pid, e->d_name);
		FILE *f = fopen(cpath, "re");
		if (!f)
			continue;
		int c;
		while (n < max && fscanf(f, "%d", &c) == 1)
			out[n++] = c;
		fclose(f);
	}
	closedir(d);
	return n;
}

pid_t py_find_python_child(pid_t pid)
{
	pid_t kids[64];
	size_t n = children_of(pid, kids, ARRAY_SIZE(kids));
	for (size_t i = 0; i < n; i++)
		if (looks_like_python(kids[i]))
			return kids[i];
	for (size_t i = 0; i < n; i++) { /* one level further: a launcher's launcher */
		pid_t grand[64];
		size_t m = children_of(kids[i], grand, ARRAY_SIZE(grand));
		for (size_t j = 0; j < m; j++)
			if (looks_like_python(grand[j]))
				return grand[j];
	}
	return 0;
}
