/* The DWARF unwinder over elfutils' libdwfl (see unwind.h).
 *
 * Per process: one Dwfl, its modules reported from our own parse of /proc/PID/maps (only
 * files with an executable mapping, and the vDSO), every module's ELF opened at once while
 * the process is alive — through /proc/PID/map_files, so that a deleted or replaced binary
 * is still the one that runs — and the Dwfl attached once to thread callbacks that serve
 * the sample being unwound: its registers and its stack copy, nothing else. The sample is
 * reached through u->cur, set before each dwfl_getthread_frames, so the Dwfl and libdw's
 * per-module CFI caches live across samples.
 *
 * Where a frame has no CFI (.eh_frame, else .debug_frame from the module or its separate
 * debug file), libdwfl itself falls back to the frame-pointer chain on x86-64 (ebl_unwind,
 * elfutils >= 0.178). The separate debug file is looked up with
 * dwfl_standard_find_debuginfo, once per module and only when .eh_frame lacks a PC; with
 * DEBUGINFOD_URLS set that may ask a debuginfod server.
 *
 * What needs the process alive: unwinder_add_process (and the re-report after
 * unwinder_mapping_changed, done at the next unwind of that process) — it reads the maps
 * and opens every module's ELF, after which unwinding reads nothing of the process. So a
 * process's samples unwind after it exited, as long as unwinder_forget is called after
 * them; a mapping made and unwound only after the exit is unknown (its frames get the
 * frame-pointer fallback). The vDSO is ours, copied: the kernel gives every 64-bit process
 * the same image. */
#include "stack/unwind.h"

#include <elf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "stack/maps.h"
#include "util/macro.h"
#include "util/pidmap.h"

/* The sample being unwound, as the thread callbacks and the frame callback see it. */
struct sample {
	const struct user_regs *regs;
	const uint8_t *stack;
	uint64_t sp, size;   /* the copy holds [sp, sp + size) */
	pid_t tid;
	/* A read the last unwind step could not have (outside the copy; past its end): that
	 * step's frame is not a root even when libdwfl ends the stack without an error. */
	bool read_failed, read_past_end;
	uint64_t *ips;
	size_t max, n;
	uint64_t last_sp;    /* SP of the previous frame: callers' SPs only grow */
};

/* What find_elf needs to open a module (the module's userdata): its first mapping (the
 * map_files name), the file's identity and path. Owned by the process and kept until its
 * Dwfl ends, since libdwfl opens a module's ELF whenever it first needs it. */
struct module_info {
	struct module_info *next;
	struct unw_proc *proc;
	uint64_t start, end;
	uint64_t inode;
	dev_t dev;
	bool vdso;
	char path[];
};

struct unw_proc {
	pid_t pid;
	struct unwinder *u;
	Dwfl *dwfl;
	bool attached;       /* dwfl_attach_state succeeded */
	bool stale;          /* a new executable mapping: re-report before unwinding */
	bool gone;           /* its maps could not be read: nothing to unwind with */
	struct module_info *infos;
};

struct unwinder {
	struct pidmap procs;
	struct sample cur;
	/* A copy of our own vDSO: the kernel maps the same image into every 64-bit process. */
	uint8_t *vdso;
	size_t vdso_size;
	/* The x86-64 ELF header dwfl_attach_state takes the architecture from: owned here,
	 * not borrowed from a module that a re-report may free. */
	Elf64_Ehdr arch_ehdr;
	Elf *arch_elf;
	struct unwind_stats stats;
};

/* ---- modules -------------------------------------------------------------------------- */

static const char deleted_suffix[] = " (deleted)";

static bool path_is_deleted(const char *path)
{
	size_t len = strlen(path), sl = sizeof(deleted_suffix) - 1;
	return len > sl && strcmp(path + len - sl, deleted_suffix) == 0;
}

/* path without " (deleted)", malloc'd. */
static char *live_path(const char *path)
{
	size_t len = strlen(path);
	return strndup(path, path_is_deleted(path) ? len - (sizeof(deleted_suffix) - 1) : len);
}

/* The file a module maps: its map_files entry (the very file mapped, even deleted), else its
 * path when that still is the same file as far as we can tell (same inode on the same
 * device; a different device — overlayfs — cannot be compared and is trusted). */
static int open_module_file(pid_t pid, const struct module_info *mi)
{
	char name[96];
	snprintf(name, sizeof(name), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)mi->start, (unsigned long long)mi->end);
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || path_is_deleted(mi->path))
		return fd;
	struct stat st;
	/* Regular files only: opening a device node may have effects. */
	if (stat(mi->path, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	fd = open(mi->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_dev == mi->dev && st.st_ino != mi->inode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Dwfl_Callbacks.find_elf. Returns the ELF itself (fd -1), opened with mmap and its fd
 * closed at once: a process's modules would otherwise hold one descriptor each. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	(void)mod, (void)modname, (void)base;
	const struct module_info *mi = *userdata;
	if (!mi)
		return -1;
	struct unw_proc *p = mi->proc;
	if (mi->vdso) {
		if (p->u->vdso)
			*elfp = elf_memory((char *)p->u->vdso, p->u->vdso_size);
		return -1;
	}
	int fd = open_module_file(p->pid, mi);
	if (fd < 0)
		return -1;
	/* ELF_C_FDREAD: all of it in memory (mapped, or read if mmap failed) before the fd
	 * goes. */
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && (elf_kind(elf) != ELF_K_ELF || elf_cntl(elf, ELF_C_FDREAD) != 0)) {
		elf_end(elf);
		elf = NULL;
	}
	close(fd);
	if (!elf)
		return -1;
	*elfp = elf;
	*file_name = live_path(mi->path); /* where .gnu_debuglink is looked up */
	return -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

static bool same_file(const struct map_entry *a, const struct map_entry *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && strcmp(a->path, b->path) == 0;
}

static struct module_info *module_info_new(struct unw_proc *p, const struct map_entry *first,
					   bool vdso)
{
	size_t len = strlen(first->path);
	struct module_info *mi = malloc(sizeof(*mi) + len + 1);
	if (!mi)
		return NULL;
	*mi = (struct module_info){
		.proc = p, .start = first->start, .end = first->end, .inode = first->inode,
		.dev = makedev(first->dev_major, first->dev_minor), .vdso = vdso,
	};
	memcpy(mi->path, first->path, len + 1);
	return mi;
}

/* Reports one module: the file of maps v[0..n) (its first mapping at file offset
 * v[0].offset), or the vDSO. low is placed where file offset 0 would be, since libdwfl
 * takes the module start as the load address of the first segment. The module's name
 * holds the file's identity: a module reported again under the same name and range is
 * kept with its ELF, and that must be the same file. */
static int report_module(struct unw_proc *p, const struct map_entry *v, size_t n,
			 uint64_t prev_high, bool vdso)
{
	uint64_t low = v[0].start, high = v[n - 1].end;
	if (v[0].offset <= low && low - v[0].offset >= prev_high)
		low -= v[0].offset;
	_cleanup_free_ char *name = NULL;
	if (asprintf(&name, "%s [%x:%x %llu]", v[0].path, v[0].dev_major, v[0].dev_minor,
		     (unsigned long long)v[0].inode) < 0) {
		name = NULL;
		return -ENOMEM;
	}
	Dwfl_Module *mod = dwfl_report_module(p->dwfl, name, low, high);
	if (!mod)
		return -ENOMEM;
	void **userdata;
	dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	if (*userdata)
		return 0; /* reported before: same file and range, ELF already known */
	struct module_info *mi = module_info_new(p, &v[0], vdso);
	if (!mi)
		return -ENOMEM;
	mi->next = p->infos;
	p->infos = mi;
	*userdata = mi;
	return 0;
}

/* Reports the modules of maps: each file with an executable mapping (its consecutive
 * mappings together), and the vDSO. */
static int report_maps(struct unw_proc *p, const struct proc_maps *m)
{
	uint64_t prev_high = 0;
	for (size_t i = 0, j; i < m->n; i = j) {
		const struct map_entry *e = &m->v[i];
		bool exec = false;
		for (j = i; j < m->n && same_file(&m->v[j], e); j++)
			exec |= m->v[j].perms[2] == 'x';
		bool vdso = strcmp(e->path, "[vdso]") == 0;
		if (!exec || (e->path[0] != '/' && !vdso))
			continue;
		int r = report_module(p, e, j - i, prev_high, vdso);
		if (r < 0)
			return r;
		prev_high = m->v[j - 1].end;
	}
	return 0;
}

static int load_elf_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	(void)userdata, (void)name, (void)start, (void)arg;
	Dwarf_Addr bias;
	dwfl_module_getelf(mod, &bias); /* a failure is cached: that module has no CFI */
	return DWARF_CB_OK;
}

/* Reads the maps now and reports them; opens every new module's ELF at once, while the
 * process (and so /proc/PID/map_files) is there. When the maps cannot be read, the modules
 * reported before stay. */
static int report_process(struct unw_proc *p)
{
	struct proc_maps m = { 0 };
	int r = proc_maps_read(p->pid, &m);
	if (r < 0) {
		proc_maps_free(&m);
		return r;
	}
	dwfl_report_begin(p->dwfl);
	r = report_maps(p, &m);
	if (dwfl_report_end(p->dwfl, NULL, NULL) != 0 && r == 0)
		r = -ENOMEM;
	proc_maps_free(&m);
	if (r == 0)
		dwfl_getmodules(p->dwfl, load_elf_cb, NULL, 0);
	return r;
}

/* ---- thread callbacks: the current sample ----------------------------------------------- */

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	struct unw_proc *p = arg;
	if (*thread_argp)
		return 0;
	*thread_argp = p;
	return p->u->cur.tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	struct unw_proc *p = arg;
	*thread_argp = p;
	return tid == p->u->cur.tid;
}

/* Words of the stack copy only: the unwinder never reads the live process. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	struct sample *s = &((struct unw_proc *)arg)->u->cur;
	uint64_t off = addr - s->sp;
	if (addr < s->sp || off > s->size || s->size - off < sizeof(*result)) {
		s->read_failed = true;
		s->read_past_end |= addr >= s->sp;
		return false;
	}
	memcpy(result, s->stack + off, sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	const struct user_regs *regs = ((struct unw_proc *)arg)->u->cur.regs;
	Dwarf_Word w[UREG_COUNT];
	for (unsigned i = 0; i < UREG_COUNT; i++)
		w[i] = regs->r[i];
	/* Each run of valid registers; the others stay unknown to the CFI. */
	for (unsigned i = 0; i < UREG_COUNT;) {
		if (!(regs->valid & (1u << i))) {
			i++;
			continue;
		}
		unsigned j = i;
		while (j < UREG_COUNT && (regs->valid & (1u << j)))
			j++;
		if (!dwfl_thread_state_registers(thread, (int)i, j - i, &w[i]))
			return false;
		i = j;
	}
	dwfl_thread_state_register_pc(thread, regs->r[UREG_RIP]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* ---- processes -------------------------------------------------------------------------- */

/* Attaches the Dwfl to the thread callbacks, once; a failure (no memory) is retried after
 * the next report. */
static void proc_attach(struct unw_proc *p)
{
	if (!p->attached)
		p->attached = dwfl_attach_state(p->dwfl, p->u->arch_elf, p->pid, &thread_callbacks, p);
}

static void proc_free(struct unw_proc *p)
{
	if (!p)
		return;
	if (p->dwfl)
		dwfl_end(p->dwfl);
	while (p->infos) {
		struct module_info *next = p->infos->next;
		free(p->infos);
		p->infos = next;
	}
	free(p);
}

/* A Dwfl for pid with its modules, attached to the thread callbacks. */
static int proc_new(struct unwinder *u, pid_t pid, struct unw_proc **ret)
{
	struct unw_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = pid;
	p->u = u;
	p->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!p->dwfl) {
		free(p);
		return -ENOMEM;
	}
	int r = report_process(p);
	if (r < 0) {
		proc_free(p);
		return r;
	}
	proc_attach(p);
	*ret = p;
	return 0;
}

/* The process's state, made on first sight; a process that could not be read is kept as
 * "gone" so that its samples do not retry /proc each time. NULL only without memory. */
static struct unw_proc *proc_get(struct unwinder *u, pid_t pid)
{
	struct unw_proc *p = pidmap_get(&u->procs, pid);
	if (p) {
		if (p->stale && !p->gone) {
			p->stale = false;
			report_process(p); /* gone meanwhile: unwind with the modules known */
			proc_attach(p);
		}
		return p;
	}
	if (proc_new(u, pid, &p) < 0) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->pid = pid;
		p->u = u;
		p->gone = true;
	}
	if (pidmap_put(&u->procs, pid, p) < 0) {
		proc_free(p);
		return NULL;
	}
	return p;
}

int unwinder_add_process(struct unwinder *u, pid_t pid)
{
	if (pid <= 0)
		return -EINVAL;
	struct unw_proc *p = pidmap_get(&u->procs, pid);
	if (p && !p->gone) {
		p->stale = false;
		int r = report_process(p);
		proc_attach(p);
		return errno_is_gone(r) ? -ESRCH : r;
	}
	struct unw_proc *n;
	int r = proc_new(u, pid, &n);
	if (r < 0)
		return errno_is_gone(r) ? -ESRCH : r;
	r = pidmap_put(&u->procs, pid, n);
	if (r < 0) {
		proc_free(n);
		return r;
	}
	proc_free(p); /* the entry that remembered the pid as gone, now replaced */
	return 0;
}

void unwinder_mapping_changed(struct unwinder *u, pid_t pid)
{
	struct unw_proc *p = pidmap_get(&u->procs, pid);
	if (p)
		p->stale = true;
}

void unwinder_forget(struct unwinder *u, pid_t pid)
{
	proc_free(pidmap_del(&u->procs, pid));
}

/* ---- unwinding -------------------------------------------------------------------------- */

static int frame_cb(Dwfl_Frame *frame, void *arg)
{
	struct sample *s = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp;
	if (!dwfl_frame_pc(frame, &pc, NULL) || pc == 0)
		return DWARF_CB_ABORT;
	if (s->n > 0) {
		/* A caller's frame is above its callee's: anything else is garbage or a loop. */
		if (dwfl_frame_reg(frame, UREG_RSP, &sp) != 0 || sp <= s->last_sp)
			return DWARF_CB_ABORT;
		s->last_sp = sp;
	}
	s->ips[s->n++] = pc;
	s->read_failed = s->read_past_end = false; /* this step read all it needed */
	return s->n < s->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

int unwind_user(struct unwinder *u, pid_t pid, pid_t tid, const struct user_regs *regs,
		const uint8_t *stack, size_t stack_size, uint64_t *ips, size_t max, size_t *n)
{
	*n = 0;
	if ((regs->valid & UREGS_MIN_VALID) != UREGS_MIN_VALID || max == 0)
		return -EINVAL;
	u->stats.stacks++;
	struct unw_proc *p = pid > 0 ? proc_get(u, pid) : NULL;
	struct sample *s = &u->cur;
	*s = (struct sample){
		.regs = regs, .stack = stack, .sp = regs->r[UREG_RSP], .size = stack ? stack_size : 0,
		.tid = tid > 0 ? tid : pid, .ips = ips, .max = max, .last_sp = regs->r[UREG_RSP],
	};
	int rc = -1;
	if (p && p->attached && s->tid > 0)
		rc = dwfl_getthread_frames(p->dwfl, s->tid, frame_cb, s);
	if (s->n == 0)
		ips[s->n++] = regs->r[UREG_RIP];
	/* libdwfl (0.188) ends a stack without an error also where the return address could
	 * not be read: only a last step that read everything it wanted reached the root. */
	if (s->read_past_end)
		u->stats.stack_ends++;
	else if (rc == 0 && !s->read_failed)
		u->stats.reached_end++;
	u->stats.frames += s->n;
	*n = s->n;
	*s = (struct sample){ 0 };
	return 0;
}

void unwinder_get_stats(const struct unwinder *u, struct unwind_stats *ret)
{
	*ret = u->stats;
}

/* ---- the unwinder ----------------------------------------------------------------------- */

/* Our own vDSO image, copied: its size is the end of its section headers, the last thing
 * in the image. */
static void copy_vdso(struct unwinder *u)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return;
	size_t size = (size_t)eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	if (size < sizeof(*eh) || size > (1u << 20))
		return;
	u->vdso = malloc(size);
	if (!u->vdso)
		return;
	memcpy(u->vdso, eh, size);
	u->vdso_size = size;
}

int unwinder_new(struct unwinder **ret)
{
	elf_version(EV_CURRENT);
	struct unwinder *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->arch_ehdr = (Elf64_Ehdr){
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_DYN, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_ehsize = sizeof(Elf64_Ehdr),
	};
	u->arch_elf = elf_memory((char *)&u->arch_ehdr, sizeof(u->arch_ehdr));
	if (!u->arch_elf) {
		free(u);
		return -ENOMEM;
	}
	copy_vdso(u);
	*ret = u;
	return 0;
}

struct unwinder *unwinder_free(struct unwinder *u)
{
	if (!u)
		return NULL;
	pid_t pid;
	void *val;
	for (size_t i = 0; pidmap_next(&u->procs, &i, &pid, &val);)
		proc_free(val);
	pidmap_free(&u->procs);
	elf_end(u->arch_elf);
	free(u->vdso);
	free(u);
	return NULL;
}
