/* Reading another process's memory, behind a small vtable so that the frame walk can run
 * on a live process (process_vm_readv) or on a recorded memory snapshot (unit tests, the
 * fuzzer). Remote memory is untrusted: every read may fail, and what it returns may be
 * anything. */
#ifndef PK_PYTHON_PY_MEM_H
#define PK_PYTHON_PY_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One remote range to read into a local buffer. */
struct py_iov {
	uint64_t addr;
	void *buf;
	size_t len;
};

struct py_mem;
struct py_mem_ops {
	/* Reads the ranges in order. Returns how many leading ranges were read in full (n when
	 * all were; a range that is not mapped ends the count), or a negative errno for the
	 * process as a whole: -ESRCH (gone), -EPERM/-EACCES (not permitted). */
	int (*readv)(struct py_mem *m, const struct py_iov *iov, size_t n);
};

struct py_mem {
	const struct py_mem_ops *ops;
	uint64_t calls;  /* system calls made for a live process: one per PY_MEM_IOV_MAX ranges
			  * (or fewer) of each readv */
	uint64_t bytes;  /* bytes asked for */
	uint64_t iovecs; /* remote ranges asked for (each costs the kernel a lookup) */
};

/* The most ranges one system call reads (IOV_MAX): a longer readv takes several. */
#define PY_MEM_IOV_MAX 1024

/* One range: 0, -EFAULT when it is not readable, or the process-level error. */
int py_mem_read(struct py_mem *m, uint64_t addr, void *buf, size_t len);
int py_mem_readv(struct py_mem *m, const struct py_iov *iov, size_t n);

/* ---- a live process ------------------------------------------------------------------ */

struct py_mem_proc {
	struct py_mem mem;
	pid_t pid;
};

void py_mem_proc_init(struct py_mem_proc *p, pid_t pid);

/* ---- a memory snapshot ----------------------------------------------------------------
 * Regions of remote memory with their addresses, and what the runtime finder learned about
 * the process (so that a walk can be replayed without it). Serialized little-endian:
 *
 *   "PKPYSNP1"  u32 version_hex  u32 pthread_tid_offset  u64 runtime  u64 code_type
 *   u64 unicode_type  u32 nregions  then per region: u64 addr, u32 len, len bytes
 *
 * A read succeeds only when it lies inside one region. */

#define PY_SNAPSHOT_MAGIC "PKPYSNP1"
#define PY_SNAPSHOT_MAX_REGIONS 65536

struct py_snapshot_region {
	uint64_t addr;
	uint32_t len;
	const uint8_t *data;
};

struct py_snapshot {
	struct py_mem mem;
	uint32_t version_hex, pthread_tid_offset;
	uint64_t runtime, code_type, unicode_type;
	struct py_snapshot_region *regions; /* sorted by addr */
	size_t nregions;
	uint8_t *owned; /* the bytes regions point into, when the snapshot owns them */
};

/* Parses a serialized snapshot. The regions point into data, which must outlive the
 * snapshot. -EINVAL for a malformed image, -ENOMEM. */
int py_snapshot_parse(struct py_snapshot *s, const uint8_t *data, size_t size);
void py_snapshot_free(struct py_snapshot *s);

/* ---- recording reads into a snapshot -------------------------------------------------- */

struct py_mem_recorder {
	struct py_mem mem;
	struct py_mem *inner;
	struct py_snapshot_region *regions; /* owned copies */
	size_t nregions, cap;
	bool failed; /* out of memory while recording */
};

void py_mem_recorder_init(struct py_mem_recorder *r, struct py_mem *inner);
/* Serializes what was read (overlapping reads are merged) with the header values of s
 * (its regions are ignored). Returns a malloc'd buffer in ret, its size in ret_size. */
int py_mem_recorder_save(struct py_mem_recorder *r, const struct py_snapshot *header,
			 uint8_t **ret, size_t *ret_size);
void py_mem_recorder_free(struct py_mem_recorder *r);

#endif
