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
 * executable. */
static int read_maps(pid_t pid, const char *exe, struct mapping *out, size_t max, size_t *ret_n)
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
		if (!is_libpython(m.path) && strcmp(m.path, exe) != 0)
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

	struct mapping maps[8];
	size_t nmaps = 0;
	int r = read_maps(pid, exe, maps, ARRAY_SIZE(maps), &nmaps);
	if (r < 0)
		return errno_is_privilege(r) ? -EPERM : r == -ENOENT ? -ESRCH : r;
	/* libpython first: a python executable linked to it has no runtime of its own. */
	for (size_t i = 0; i < nmaps; i++)
		for (size_t j = i + 1; j < nmaps; j++)
			if (!is_libpython(maps[i].path) && is_libpython(maps[j].path)) {
				struct mapping t = maps[i];
				maps[i] = maps[j];
				maps[j] = t;
			}

	unsigned name_major = 0, name_minor = 0;
	const struct mapping *hit = NULL;
	struct py_elf_info elf = { 0 };
	uint64_t bias = 0;
	for (size_t i = 0; i < nmaps && !hit; i++) {
		unsigned ma, mi;
		if (!name_major && version_from_name(maps[i].path, &ma, &mi)) {
			name_major = ma;
			name_minor = mi;
		}
		int fd = open_mapped(pid, &maps[i]);
		if (fd < 0)
			continue;
		r = py_elf_read(fd, &elf);
		close(fd);
		if (r < 0 || (!elf.sym[PY_SYM_RUNTIME] && !elf.pyruntime_section))
			continue;
		hit = &maps[i];
		bias = maps[i].start - elf.first_load_vaddr;
		if (version_from_name(maps[i].path, &ma, &mi)) {
			name_major = ma;
			name_minor = mi;
		}
	}
	info->major = name_major;
	info->minor = name_minor;
	if (!hit) {
		/* A Python too old to have _PyRuntime (2.7, 3.6) is still named. */
		if (name_major && (name_major < 3 || (name_major == 3 && name_minor < 8)))
			return -ENOTSUP;
		return -ENOEXEC;
	}
	snprintf(info->elf_path, sizeof(info->elf_path), "%s", hit->path);
	info->shared = is_libpython(hit->path);
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
	if (elf.sym[PY_SYM_CODE_TYPE])
		p->code_type = bias + elf.sym[PY_SYM_CODE_TYPE];
	if (elf.sym[PY_SYM_UNICODE_TYPE])
		p->unicode_type = bias + elf.sym[PY_SYM_UNICODE_TYPE];
	p->info = *info;
	r = py_proc_init(p, info->version_hex, info->major, info->minor);
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
	if (read_maps(pid, n > 0 ? exe : "", maps, ARRAY_SIZE(maps), &nm) < 0)
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
