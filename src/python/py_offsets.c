/* The offset tables. Each number is the byte offset of a field in CPython's structures on
 * x86-64 Linux (or a bit position, or a constant), for one minor version; they are facts
 * about the interpreters, checked by tests/unit/python/test_py_offsets.c, which compiles
 * offsetof() against every installed version's headers. To add a version: copy the latest
 * table, run the test against the new headers, and fix what it reports. */
#include "python/py_offsets.h"

#include <errno.h>
#include <string.h>
#include "util/macro.h"

#define N PY_OFF_NONE

/* PyObject, PyTypeObject and the unicode state bits have not moved in 3.8-3.13. */
#define COMMON_3_8_TO_3_13                                                           \
	.object_type = 8, .type_name = 24, .unicode_length = 16, .unicode_state = 32, \
	.unicode_kind_shift = 2, .unicode_compact_bit = 5, .unicode_ascii_bit = 6

/* 3.8, 3.9 and 3.10 share every offset profkit reads. */
#define LAYOUT_3_8_TO_3_10                                                             \
	.frames = PY_FRAMES_OBJECTS, .runtime_interpreters_head = 32, .interp_next = 0, \
	.runtime_interpreters_main = 40,                                               \
	.interp_threads_head = 8, .tstate_next = 8, .tstate_interp = 16,               \
	.tstate_frame = 24, .tstate_thread_id = 176, .tstate_native_thread_id = N,     \
	.cframe_current_frame = N, .frame_previous = 24, .frame_code = 32,             \
	.frame_owner = N, .owner_cstack = N, .code_name = 112, .code_qualname = N,     \
	.code_filename = 104, .code_firstlineno = 40, .unicode_ascii_size = 48,        \
	.unicode_compact_size = 72, COMMON_3_8_TO_3_13

static const struct py_offsets tables[] = {
	{ .major = 3, .minor = 8, LAYOUT_3_8_TO_3_10 },
	{ .major = 3, .minor = 9, LAYOUT_3_8_TO_3_10 },
	{ .major = 3, .minor = 10, LAYOUT_3_8_TO_3_10 },
	{
		.major = 3, .minor = 11, .frames = PY_FRAMES_CFRAME,
		.runtime_interpreters_head = 40, .runtime_interpreters_main = 48,
		.interp_next = 0, .interp_threads_head = 16,
		.tstate_next = 8, .tstate_interp = 16, .tstate_frame = 56,
		.tstate_thread_id = 152, .tstate_native_thread_id = 160,
		.cframe_current_frame = 8, .frame_previous = 48, .frame_code = 32,
		.frame_owner = 69, .owner_cstack = N, .code_name = 120, .code_qualname = 128,
		.code_filename = 112, .code_firstlineno = 72, .unicode_ascii_size = 48,
		.unicode_compact_size = 72, COMMON_3_8_TO_3_13,
	},
	{
		.major = 3, .minor = 12, .frames = PY_FRAMES_CFRAME,
		.runtime_interpreters_head = 40, .runtime_interpreters_main = 48,
		.interp_next = 0, .interp_threads_head = 72,
		.tstate_next = 8, .tstate_interp = 16, .tstate_frame = 56,
		.tstate_thread_id = 136, .tstate_native_thread_id = 144,
		.cframe_current_frame = 0, .frame_previous = 8, .frame_code = 0,
		.frame_owner = 70, .owner_cstack = 3, .code_name = 120, .code_qualname = 128,
		.code_filename = 112, .code_firstlineno = 68, .unicode_ascii_size = 40,
		.unicode_compact_size = 56, COMMON_3_8_TO_3_13,
	},
	{
		.major = 3, .minor = 13, .frames = PY_FRAMES_INTERPRETER,
		.runtime_interpreters_head = 632, .runtime_interpreters_main = 640,
		.interp_next = 7264,
		.interp_threads_head = 7344, .tstate_next = 8, .tstate_interp = 16,
		.tstate_frame = 72, .tstate_thread_id = 152, .tstate_native_thread_id = 160,
		.cframe_current_frame = N, .frame_previous = 8, .frame_code = 0,
		.frame_owner = 70, .owner_cstack = 3, .code_name = 120, .code_qualname = 128,
		.code_filename = 112, .code_firstlineno = 68, .unicode_ascii_size = 40,
		.unicode_compact_size = 56, COMMON_3_8_TO_3_13,
	},
};

static const struct py_debug_layout debug_layouts[] = {
	{
		.major = 3, .minor = 13, .size = 584, .version = 8,
		.runtime_interpreters_head = 40, .interp_next = 64, .interp_threads_head = 72,
		.tstate_next = 168, .tstate_interp = 176, .tstate_current_frame = 184,
		.tstate_thread_id = 192, .tstate_native_thread_id = 200, .frame_previous = 232,
		.frame_executable = 240, .frame_owner = 264, .code_filename = 280,
		.code_name = 288, .code_qualname = 296, .code_firstlineno = 312,
		.pyobject_ob_type = 360, .type_tp_name = 376, .unicode_state = 544,
		.unicode_length = 552, .unicode_asciiobject_size = 560,
	},
};

uint64_t py_field(const struct py_offsets *v, const void *buf, size_t buf_len, uint32_t off,
		  size_t size)
{
	(void)v;
	if (off == PY_OFF_NONE || off > buf_len || size > buf_len - off)
		return 0;
	const uint8_t *p = (const uint8_t *)buf + off;
	if (size == 8) {
		uint64_t x;
		memcpy(&x, p, 8);
		return x;
	}
	if (size == 4) {
		uint32_t x;
		memcpy(&x, p, 4);
		return x;
	}
	return *p;
}

const struct py_offsets *py_offsets_all(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(tables);
	return tables;
}

const struct py_debug_layout *py_debug_layouts(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(debug_layouts);
	return debug_layouts;
}

int py_offsets_for(unsigned major, unsigned minor, const struct py_offsets **ret,
		   bool *ret_newer)
{
	*ret_newer = false;
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
		if (tables[i].major == major && tables[i].minor == minor) {
			*ret = &tables[i];
			return 0;
		}
	const struct py_offsets *latest = &tables[ARRAY_SIZE(tables) - 1];
	if (major == latest->major && minor > latest->minor) {
		*ret = latest;
		*ret_newer = true;
		return 0;
	}
	return -ENOTSUP;
}

static uint64_t u64_at(const uint8_t *buf, size_t len, uint32_t off)
{
	uint64_t x = UINT64_MAX;
	if (off <= len && len - off >= 8)
		memcpy(&x, buf + off, 8);
	return x;
}

/* An offset inside an object of at most `limit` bytes. */
static bool plausible(uint64_t off, uint64_t limit, uint32_t *ret)
{
	if (off >= limit)
		return false;
	*ret = (uint32_t)off;
	return true;
}

int py_offsets_from_debug(const void *buf_, size_t len, struct py_offsets *ret,
			  uint32_t *ret_version, bool *ret_newer)
{
	const uint8_t *buf = buf_;
	if (len < 16 || memcmp(buf, PY_DEBUG_COOKIE, 8) != 0)
		return -EPROTO;
	uint64_t version = u64_at(buf, len, 8);
	unsigned major = (unsigned)(version >> 24) & 0xff, minor = (unsigned)(version >> 16) & 0xff;
	const struct py_debug_layout *d = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(debug_layouts); i++)
		if (debug_layouts[i].major == major && debug_layouts[i].minor == minor)
			d = &debug_layouts[i];
	*ret_newer = false;
	if (!d) {
		const struct py_debug_layout *latest = &debug_layouts[ARRAY_SIZE(debug_layouts) - 1];
		if (major != latest->major || minor < latest->minor)
			return major == latest->major && minor < latest->minor ? -ENOTSUP : -EINVAL;
		d = latest;
		*ret_newer = true;
	}
	if (d->size > len)
		return -EINVAL;
	/* The static parts (bit positions, the shim owner value) come from our own table. */
	const struct py_offsets *base;
	bool newer;
	if (py_offsets_for(d->major, d->minor, &base, &newer) < 0)
		return -EINVAL;
	struct py_offsets v = *base;
	v.major = (uint8_t)major;
	v.minor = (uint8_t)minor;
	/* Interpreter state is big (tens of KiB); other objects are small. */
	const uint64_t big = 1u << 20, small = 4096;
	bool ok = plausible(u64_at(buf, len, d->runtime_interpreters_head), big,
			    &v.runtime_interpreters_head) &&
		  plausible(u64_at(buf, len, d->interp_next), big, &v.interp_next) &&
		  plausible(u64_at(buf, len, d->interp_threads_head), big, &v.interp_threads_head) &&
		  plausible(u64_at(buf, len, d->tstate_next), small, &v.tstate_next) &&
		  plausible(u64_at(buf, len, d->tstate_interp), small, &v.tstate_interp) &&
		  plausible(u64_at(buf, len, d->tstate_current_frame), small, &v.tstate_frame) &&
		  plausible(u64_at(buf, len, d->tstate_thread_id), small, &v.tstate_thread_id) &&
		  plausible(u64_at(buf, len, d->tstate_native_thread_id), small,
			    &v.tstate_native_thread_id) &&
		  plausible(u64_at(buf, len, d->frame_previous), small, &v.frame_previous) &&
		  plausible(u64_at(buf, len, d->frame_executable), small, &v.frame_code) &&
		  plausible(u64_at(buf, len, d->frame_owner), small, &v.frame_owner) &&
		  plausible(u64_at(buf, len, d->code_filename), small, &v.code_filename) &&
		  plausible(u64_at(buf, len, d->code_name), small, &v.code_name) &&
		  plausible(u64_at(buf, len, d->code_qualname), small, &v.code_qualname) &&
		  plausible(u64_at(buf, len, d->code_firstlineno), small, &v.code_firstlineno) &&
		  plausible(u64_at(buf, len, d->pyobject_ob_type), small, &v.object_type) &&
		  plausible(u64_at(buf, len, d->type_tp_name), small, &v.type_name) &&
		  plausible(u64_at(buf, len, d->unicode_state), small, &v.unicode_state) &&
		  plausible(u64_at(buf, len, d->unicode_length), small, &v.unicode_length) &&
		  plausible(u64_at(buf, len, d->unicode_asciiobject_size), small,
			    &v.unicode_ascii_size);
	if (!ok)
		return -EINVAL;
	/* PyCompactUnicodeObject is PyASCIIObject plus utf8_length and utf8 (3.12+). */
	v.unicode_compact_size = v.unicode_ascii_size + 16;
	v.frames = PY_FRAMES_INTERPRETER;
	/* The debug offsets do not name the main interpreter: ours holds while the head sits
	 * where our table has it (interpreters.main follows interpreters.head). */
	if (*ret_newer || v.runtime_interpreters_head != base->runtime_interpreters_head)
		v.runtime_interpreters_main = PY_OFF_NONE;
	*ret = v;
	*ret_version = (uint32_t)version;
	return 0;
}

#define KEY(k, f) { k, offsetof(struct py_offsets, f) }
static const struct py_offset_key keys[] = {
	KEY("runtime.interpreters_head", runtime_interpreters_head),
	KEY("runtime.interpreters_main", runtime_interpreters_main),
	KEY("interp.next", interp_next),
	KEY("interp.threads_head", interp_threads_head),
	KEY("tstate.next", tstate_next),
	KEY("tstate.interp", tstate_interp),
	KEY("tstate.frame", tstate_frame),
	KEY("cframe.current_frame", cframe_current_frame),
	KEY("tstate.thread_id", tstate_thread_id),
	KEY("tstate.native_thread_id", tstate_native_thread_id),
	KEY("frame.previous", frame_previous),
	KEY("frame.code", frame_code),
	KEY("frame.owner", frame_owner),
	KEY("frame.owner_cstack", owner_cstack),
	KEY("code.qualname", code_qualname),
	KEY("code.name", code_name),
	KEY("code.filename", code_filename),
	KEY("code.firstlineno", code_firstlineno),
	KEY("object.type", object_type),
	KEY("type.name", type_name),
	KEY("unicode.length", unicode_length),
	KEY("unicode.state", unicode_state),
	KEY("unicode.ascii_size", unicode_ascii_size),
	KEY("unicode.compact_size", unicode_compact_size),
	KEY("unicode.compact_bit", unicode_compact_bit),
	KEY("unicode.ascii_bit", unicode_ascii_bit),
	KEY("unicode.kind_shift", unicode_kind_shift),
};
#undef KEY

#define DKEY(k, f) { "debug." k, offsetof(struct py_debug_layout, f) }
static const struct py_offset_key dkeys[] = {
	DKEY("version", version),
	DKEY("runtime_state.interpreters_head", runtime_interpreters_head),
	DKEY("interpreter_state.next", interp_next),
	DKEY("interpreter_state.threads_head", interp_threads_head),
	DKEY("thread_state.next", tstate_next),
	DKEY("thread_state.interp", tstate_interp),
	DKEY("thread_state.current_frame", tstate_current_frame),
	DKEY("thread_state.thread_id", tstate_thread_id),
	DKEY("thread_state.native_thread_id", tstate_native_thread_id),
	DKEY("interpreter_frame.previous", frame_previous),
	DKEY("interpreter_frame.executable", frame_executable),
	DKEY("interpreter_frame.owner", frame_owner),
	DKEY("code_object.filename", code_filename),
	DKEY("code_object.name", code_name),
	DKEY("code_object.qualname", code_qualname),
	DKEY("code_object.firstlineno", code_firstlineno),
	DKEY("pyobject.ob_type", pyobject_ob_type),
	DKEY("type_object.tp_name", type_tp_name),
	DKEY("unicode_object.state", unicode_state),
	DKEY("unicode_object.length", unicode_length),
	DKEY("unicode_object.asciiobject_size", unicode_asciiobject_size),
	DKEY("size", size),
};
#undef DKEY

const struct py_offset_key *py_offset_keys(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(keys);
	return keys;
}

const struct py_offset_key *py_debug_keys(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(dkeys);
	return dkeys;
}
