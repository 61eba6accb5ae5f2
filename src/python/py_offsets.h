/* CPython layouts: one offset table per minor version, written as plain numbers (checked
 * against each installed interpreter's headers by tests/unit/python/test_py_offsets.c),
 * and on 3.13+ the interpreter's own _Py_DebugOffsets. Only src/python/ includes this. */
#ifndef PK_PYTHON_PY_OFFSETS_H
#define PK_PYTHON_PY_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PY_OFF_NONE UINT32_MAX /* the field does not exist in this version */

/* Where the current frame hangs off a thread state. */
enum py_frame_kind {
	PY_FRAMES_OBJECTS,     /* <= 3.10: tstate->frame, PyFrameObject chain via f_back */
	PY_FRAMES_CFRAME,      /* 3.11, 3.12: tstate->cframe->current_frame, _PyInterpreterFrame */
	PY_FRAMES_INTERPRETER, /* >= 3.13: tstate->current_frame, _PyInterpreterFrame */
};

struct py_offsets {
	uint8_t major, minor;
	enum py_frame_kind frames;
	uint32_t runtime_interpreters_head; /* _PyRuntimeState.interpreters.head */
	uint32_t runtime_interpreters_main; /* .main: the main interpreter */
	uint32_t interp_next, interp_threads_head;
	uint32_t tstate_next, tstate_interp, tstate_frame, tstate_thread_id, tstate_native_thread_id;
	uint32_t cframe_current_frame; /* 3.11, 3.12 */
	uint32_t frame_previous, frame_code, frame_owner;
	uint32_t owner_cstack; /* value of owner for a C-stack shim frame (3.12+) */
	uint32_t code_name, code_qualname, code_filename, code_firstlineno;
	uint32_t object_type, type_name;
	uint32_t unicode_length, unicode_state, unicode_ascii_size, unicode_compact_size;
	uint32_t unicode_kind_shift, unicode_compact_bit, unicode_ascii_bit;
};

/* Reads one pointer-sized (or smaller, by size) field at table offset `field` of a local
 * copy of a remote object: PY_FIELD(v, buf, tstate_next). 0 when the field is missing or
 * lies outside the copy (buf_len), so a short read can never be misread. */
uint64_t py_field(const struct py_offsets *v, const void *buf, size_t buf_len, uint32_t off,
		  size_t size);
#define PY_FIELD(v, buf, len, field) py_field((v), (buf), (len), (v)->field, 8)
#define PY_FIELD32(v, buf, len, field) py_field((v), (buf), (len), (v)->field, 4)

static inline bool py_v_min(const struct py_offsets *v, unsigned major, unsigned minor)
{
	return v->major > major || (v->major == major && v->minor >= minor);
}

/* The table for major.minor. An unknown newer minor gets the latest table and
 * *ret_newer = true (the caller warns); an older one -ENOTSUP. */
int py_offsets_for(unsigned major, unsigned minor, const struct py_offsets **ret,
		   bool *ret_newer);
/* All tables, oldest first (for the tests). */
const struct py_offsets *py_offsets_all(size_t *ret_n);

/* ---- _Py_DebugOffsets (3.13+) ---------------------------------------------------------- */

#define PY_DEBUG_COOKIE "xdebugpy"
/* Bytes of _PyRuntime to read to get the debug offsets (more than any layout needs). */
#define PY_DEBUG_READ_SIZE 1024

/* Where each field we use sits inside _Py_DebugOffsets, for one minor version. */
struct py_debug_layout {
	uint8_t major, minor;
	uint32_t size; /* sizeof(_Py_DebugOffsets) */
	uint32_t version, runtime_interpreters_head, interp_next, interp_threads_head,
		tstate_next, tstate_interp, tstate_current_frame, tstate_thread_id,
		tstate_native_thread_id, frame_previous, frame_executable, frame_owner,
		code_filename, code_name, code_qualname, code_firstlineno, pyobject_ob_type,
		type_tp_name, unicode_state, unicode_length, unicode_asciiobject_size;
};

const struct py_debug_layout *py_debug_layouts(size_t *ret_n);

/* Fills *ret from the debug offsets at the start of _PyRuntime (buf, len bytes): checks
 * the cookie, reads the version (PY_VERSION_HEX) into *ret_version and uses the layout of
 * that minor (the latest for a newer one: *ret_newer). Every offset is checked to be
 * plausible. -EPROTO without the cookie (not 3.13+), -EINVAL for implausible values,
 * -ENOTSUP for a version older than the debug offsets. */
int py_offsets_from_debug(const void *buf, size_t len, struct py_offsets *ret,
			  uint32_t *ret_version, bool *ret_newer);

/* The names of the fields for the header test: key as printed by the probe, and where the
 * value sits in struct py_offsets / struct py_debug_layout. */
struct py_offset_key {
	const char *key;
	size_t at;
};
const struct py_offset_key *py_offset_keys(size_t *ret_n);
const struct py_offset_key *py_debug_keys(size_t *ret_n);

#endif
