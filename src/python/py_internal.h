/* Shared between the files of src/python/: the py_proc object. */
#ifndef PK_PYTHON_PY_INTERNAL_H
#define PK_PYTHON_PY_INTERNAL_H

#include "python/py_mem.h"
#include "python/py_offsets.h"
#include "python/python.h"

/* The most bytes read from the start of a thread state, frame or code object: a layout
 * whose fields lie further out is refused. */
#define PY_OBJECT_READ_MAX 1024
/* Frames visited in one walk, over all threads: a bound on the work a hostile memory image
 * (cycles between thread lists and frame chains) can cause. */
#define PY_WALK_BUDGET (1u << 18)

/* The prefetch: the ranges the previous walk read, read again in one readv at the start of
 * the next walk, and served from there to the walk's reads of the same (address, length).
 * A steady stack costs one system call per sample; what changed is read as before.
 * The kernel's cost grows with the remote iovecs (about 0.4 us each) far more than with the
 * bytes (a page costs less than an iovec): ranges sorted by address are merged into spans,
 * one iovec each, as long as the next range starts no further than the page after the
 * span's last (every page of a span then held a range the last walk read). */
#define PY_PREFETCH_RANGES (2 * PY_MAX_DEPTH + 64) /* a full stack: frames, code objects */
#define PY_PREFETCH_BYTES (512u * 1024)            /* of the ranges themselves */
#define PY_PREFETCH_BUF (2 * PY_PREFETCH_BYTES)    /* with the gaps merged spans cover */
#define PY_PREFETCH_PAGE 4096u /* merging granule: a larger real page is only safer */

struct py_prefetch_range {
	uint64_t addr;
	uint32_t len, idx; /* idx: its place in walk order */
};

struct py_prefetch {
	/* This walk's ranges in the previous walk's order: where each one's bytes are in buf,
	 * and its span (PF_NO_SPAN: not read). Only ranges of the first ok spans arrived. */
	uint64_t addr[PY_PREFETCH_RANGES];
	uint32_t len[PY_PREFETCH_RANGES], off[PY_PREFETCH_RANGES], span[PY_PREFETCH_RANGES];
	size_t n, ok, cursor;
	/* The spans, in address order: one remote iovec each, all in one readv. */
	struct py_iov iov[PY_PREFETCH_RANGES];
	size_t nspans;
	bool merged; /* a span holds two ranges */
	struct py_prefetch_range sorted[PY_PREFETCH_RANGES]; /* scratch */
	/* After a merged span failed to read: walks left without merging, and the next pause. */
	uint32_t merge_pause, merge_backoff;
	uint8_t buf[PY_PREFETCH_BUF];
	/* What this walk read, for the next one. */
	uint64_t next_addr[PY_PREFETCH_RANGES];
	uint32_t next_len[PY_PREFETCH_RANGES];
	size_t next_n, next_bytes;
	/* What the previous walk read (last_*), and the latest walk that read something else
	 * (other_*): both are prefetched (see pf_take_ranges). other_idle counts the walks
	 * that used none of other's own ranges; n_last: where they start in addr. */
	uint64_t last_addr[PY_PREFETCH_RANGES], other_addr[PY_PREFETCH_RANGES];
	uint32_t last_len[PY_PREFETCH_RANGES], other_len[PY_PREFETCH_RANGES];
	size_t last_n, other_n, n_last;
	uint32_t other_idle;
	bool other_used;
	/* Scratch: one readv's ranges that were not served. */
	struct py_iov miss[PY_MAX_DEPTH];
	size_t miss_idx[PY_MAX_DEPTH];
	uint64_t served, missed; /* ranges, since the start */
};

struct py_code_entry {
	struct py_code code;
	uint64_t addr;
	/* What the code object held when it was decoded: a later read that differs means
	 * another object now lives at addr. */
	uint64_t type, name_p, qualname_p, filename_p;
	int32_t firstlineno;
};

struct py_proc {
	struct py_info info;
	struct py_offsets v;
	struct pk_log log;
	struct py_mem_proc proc_mem; /* the live process's reader */
	struct py_mem *mem;          /* the one in use */
	struct py_mem *own_mem;      /* the one to restore */
	bool live;
	uint64_t code_type, unicode_type; /* 0 until known */
	uint64_t bad_code_type, bad_unicode_type; /* last type seen that was not it */
	uint32_t tid_offset;  /* of the kernel tid in glibc's struct pthread (<= 3.10); 0: unknown */
	bool tid_calibrated;
	unsigned calibrations;
	size_t tstate_read, frame_read, code_read; /* bytes to read of each */
	/* Of a code object already known: the bytes from its first line to its names. */
	size_t code_lo, code_hi;
	uint32_t budget; /* frames left to visit in this walk */
	bool walk_dropped; /* a thread of this walk was dropped */
	/* interpreters.head while it is the main interpreter (0: read it each walk), and when
	 * it was read (CLOCK_MONOTONIC_COARSE, ns). Live processes only. */
	uint64_t head_cache, head_read_ns;
	bool head_multi; /* a subinterpreter was seen: no caching */

	/* Code objects: address -> entry (open addressing), and every entry ever made. */
	struct py_code_entry **slots;
	size_t nslots, nused;
	struct py_code_entry **codes;
	size_t ncodes, capcodes;

	/* Scratch space for one thread's walk. */
	uint64_t frame_code[PY_MAX_DEPTH];
	const struct py_code *frames[PY_MAX_DEPTH];
	uint8_t *code_buf; /* PY_MAX_DEPTH times code_read */
	struct py_iov *iov;                /* PY_MAX_DEPTH */
	struct py_prefetch *pf;            /* NULL: every read goes to mem */
};

/* Sets up p->v from the version or the debug offsets, and the scratch buffers. */
int py_proc_init(struct py_proc *p, uint32_t version_hex, unsigned major, unsigned minor);
/* Finds Py_GetVersion()'s text ("3.9.18 (main, Nov  1 2023, 10:00:00) [GCC 12.2.0]", NUL
 * ended) in buf: its PY_VERSION_HEX in *ret_hex. */
bool py_version_from_text(const void *buf, size_t len, uint32_t *ret_hex);
/* Finds the tid offset in glibc's struct pthread from the main thread (live processes). */
void py_calibrate_tid(struct py_proc *p);

#endif
