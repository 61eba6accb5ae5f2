/* The CPython remote reader: finds the interpreter's runtime in a process, picks the
 * layout of its version, and walks the Python stack of every thread from outside, through
 * process_vm_readv (or a memory snapshot). This is the only header of src/python/ that the
 * rest of profkit includes. Nothing here prints: messages go to the pk_log callback. */
#ifndef PK_PYTHON_PYTHON_H
#define PK_PYTHON_PYTHON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/log.h"

struct py_mem;
struct py_proc;

#define PY_MAX_DEPTH 1024       /* frames per thread; deeper stacks lose their outermost */
#define PY_MAX_THREADS 4096     /* thread states per interpreter */
#define PY_MAX_INTERPRETERS 64
#define PY_MAX_NAME 512         /* characters of a function name */
#define PY_MAX_PATH 4096        /* bytes of a file name */

/* What attaching found; filled as far as it got, also on failure (so that an unsupported
 * version can be named). */
struct py_info {
	pid_t pid;
	unsigned major, minor; /* 0.0 when unknown */
	uint32_t version_hex;  /* PY_VERSION_HEX when the process tells it (Py_Version in 3.11+,
				* the debug offsets, or Py_GetVersion()'s text), else 0 */
	const char *version_by; /* how the version was told: "the file name", "Py_Version",
				 * "_Py_DebugOffsets", "the version text in memory" */
	bool newer;            /* newer than every layout profkit knows: the latest is used */
	bool debug_offsets;    /* the layout came from the interpreter's _Py_DebugOffsets */
	bool shared;           /* libpython is a shared library (else linked in the executable);
				* found under any name, libpython*.so first */
	uint64_t runtime;      /* address of _PyRuntime */
	const char *found_by;  /* ".dynsym", ".symtab" or "the .PyRuntime section" */
	char elf_path[PATH_MAX];
};

/* One code object, decoded once and kept for the life of the py_proc: the pointer is a
 * stable identity of the function. Strings are valid UTF-8, never NULL. */
struct py_code {
	const char *name;     /* co_name */
	const char *qualname; /* co_qualname (3.11+); the same as name before */
	const char *filename; /* co_filename */
	int firstlineno;
	uint32_t id;          /* 0, 1, 2... in the order first seen: an index for callers */
};

/* One thread's stack at one sample. */
struct py_thread {
	uint64_t tstate;   /* address of its PyThreadState */
	uint64_t thread_id; /* threading.get_ident() */
	pid_t tid;          /* its kernel thread id; 0 when unknown */
	int status;         /* 0; -EAGAIN when its stack changed under our feet (dropped) */
	bool truncated;     /* deeper than PY_MAX_DEPTH */
	bool only;          /* the only thread state of the only interpreter */
	size_t nframes;
	const struct py_code *const *frames; /* innermost first; valid during the callback */
};

/* Return < 0 to stop the walk with that error. */
typedef int (*py_thread_fn)(void *userdata, const struct py_thread *t);

/* Finds CPython in process pid. Errors: -ESRCH (no such process), -EPERM (not permitted:
 * needs CAP_SYS_PTRACE or root), -ENOEXEC (not a Python process), -ENOTSUP (a CPython
 * version profkit does not read: info->major/minor name it), -EPROTO (Python, but the
 * version cannot be told), -ENOMEM. */
int py_proc_attach(pid_t pid, const struct pk_log *log, struct py_info *info,
		   struct py_proc **ret);

/* The same on a memory snapshot (tests, the fuzzer): mem must outlive the py_proc. The
 * version is taken from version_hex (or the debug offsets for 3.13+). */
int py_proc_from_mem(struct py_mem *mem, uint32_t version_hex, uint64_t runtime,
		     uint64_t code_type, uint64_t unicode_type, uint32_t pthread_tid_offset,
		     const struct pk_log *log, struct py_proc **ret);

struct py_proc *py_proc_free(struct py_proc *p);

/* Walks every thread of every interpreter, calling fn once per thread state. Returns the
 * number of threads, or: -ESRCH (the process is gone), -EAGAIN (the thread list changed
 * under our feet: drop the sample), -EPERM, or fn's error. */
int py_frame_walk(struct py_proc *p, py_thread_fn fn, void *userdata);

/* Remote reads so far. */
struct py_io {
	uint64_t calls;  /* system calls */
	uint64_t iovecs; /* remote ranges they asked for: the kernel's cost grows with these */
	uint64_t bytes;
};
void py_proc_io(const struct py_proc *p, struct py_io *ret);
size_t py_proc_ncodes(const struct py_proc *p);
/* The info the process was attached with. */
const struct py_info *py_proc_info(const struct py_proc *p);
/* The header values of a snapshot of this process (for recording one). */
void py_proc_snapshot_header(const struct py_proc *p, uint32_t *ret_version_hex,
			     uint64_t *ret_runtime, uint64_t *ret_code_type,
			     uint64_t *ret_unicode_type, uint32_t *ret_tid_offset);
/* Replaces the memory reader (to record a walk through a py_mem_recorder); NULL restores
 * the process's own. */
void py_proc_set_mem(struct py_proc *p, struct py_mem *mem);

/* A running child of pid (or its child's child) that is a Python process, 0 if none: for
 * "PID is a shell; its Python child is ...". */
pid_t py_find_python_child(pid_t pid);

#endif
