/* Compiled by test_py_offsets against one installed CPython's headers (-I include/python3.X,
 * -DPy_BUILD_CORE for the internal ones): prints "key value" for every field profkit's
 * offset table in src/python/py_offsets.c has for that version, so the test can compare
 * the plain numbers written there with what the compiler computes. Not part of profkit. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdio.h>
#if PY_VERSION_HEX >= 0x03090000
#include <internal/pycore_runtime.h>
#include <internal/pycore_interp.h>
#else
#include <internal/pycore_pystate.h>
#endif
#if PY_VERSION_HEX >= 0x030b0000
#include <internal/pycore_frame.h>
#endif

#define P(key, value) printf("%s %lu\n", key, (unsigned long)(value))

/* The bit positions of PyASCIIObject.state's kind, compact and ascii fields. */
static void state_bits(void)
{
	PyASCIIObject o;
	unsigned int word;
	memset(&o, 0, sizeof(o));
	o.state.compact = 1;
	memcpy(&word, &o.state, sizeof(word));
	P("unicode.compact_bit", __builtin_ctz(word));
	memset(&o, 0, sizeof(o));
	o.state.ascii = 1;
	memcpy(&word, &o.state, sizeof(word));
	P("unicode.ascii_bit", __builtin_ctz(word));
	memset(&o, 0, sizeof(o));
	o.state.kind = 7;
	memcpy(&word, &o.state, sizeof(word));
	P("unicode.kind_shift", __builtin_ctz(word));
}

int main(void)
{
	P("version", PY_VERSION_HEX >> 16);
	P("runtime.interpreters_head", offsetof(_PyRuntimeState, interpreters.head));
	P("runtime.interpreters_main", offsetof(_PyRuntimeState, interpreters.main));
	P("interp.next", offsetof(PyInterpreterState, next));
#if PY_VERSION_HEX >= 0x030b0000
	P("interp.threads_head", offsetof(PyInterpreterState, threads.head));
#else
	P("interp.threads_head", offsetof(PyInterpreterState, tstate_head));
#endif
	P("tstate.next", offsetof(PyThreadState, next));
	P("tstate.interp", offsetof(PyThreadState, interp));
#if PY_VERSION_HEX >= 0x030d0000
	P("tstate.frame", offsetof(PyThreadState, current_frame));
#elif PY_VERSION_HEX >= 0x030b0000
	P("tstate.frame", offsetof(PyThreadState, cframe));
	P("cframe.current_frame", offsetof(_PyCFrame, current_frame));
#else
	P("tstate.frame", offsetof(PyThreadState, frame));
#endif
	P("tstate.thread_id", offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030b0000
	P("tstate.native_thread_id", offsetof(PyThreadState, native_thread_id));
	P("frame.previous", offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX >= 0x030d0000
	P("frame.code", offsetof(_PyInterpreterFrame, f_executable));
#else
	P("frame.code", offsetof(_PyInterpreterFrame, f_code));
#endif
	P("frame.owner", offsetof(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX >= 0x030c0000
	P("frame.owner_cstack", FRAME_OWNED_BY_CSTACK);
#endif
	P("code.qualname", offsetof(PyCodeObject, co_qualname));
#else
	P("frame.previous", offsetof(PyFrameObject, f_back));
	P("frame.code", offsetof(PyFrameObject, f_code));
#endif
	P("code.name", offsetof(PyCodeObject, co_name));
	P("code.filename", offsetof(PyCodeObject, co_filename));
	P("code.firstlineno", offsetof(PyCodeObject, co_firstlineno));
	P("object.type", offsetof(PyObject, ob_type));
	P("type.name", offsetof(PyTypeObject, tp_name));
	P("unicode.length", offsetof(PyASCIIObject, length));
	P("unicode.state", offsetof(PyASCIIObject, state));
	P("unicode.ascii_size", sizeof(PyASCIIObject));
	P("unicode.compact_size", sizeof(PyCompactUnicodeObject));
	state_bits();
#if PY_VERSION_HEX >= 0x030d0000
	P("debug.version", offsetof(_Py_DebugOffsets, version));
	P("debug.runtime_state.interpreters_head", offsetof(_Py_DebugOffsets, runtime_state.interpreters_head));
	P("debug.interpreter_state.next", offsetof(_Py_DebugOffsets, interpreter_state.next));
	P("debug.interpreter_state.threads_head", offsetof(_Py_DebugOffsets, interpreter_state.threads_head));
	P("debug.thread_state.next", offsetof(_Py_DebugOffsets, thread_state.next));
	P("debug.thread_state.interp", offsetof(_Py_DebugOffsets, thread_state.interp));
	P("debug.thread_state.current_frame", offsetof(_Py_DebugOffsets, thread_state.current_frame));
	P("debug.thread_state.thread_id", offsetof(_Py_DebugOffsets, thread_state.thread_id));
	P("debug.thread_state.native_thread_id", offsetof(_Py_DebugOffsets, thread_state.native_thread_id));
	P("debug.interpreter_frame.previous", offsetof(_Py_DebugOffsets, interpreter_frame.previous));
	P("debug.interpreter_frame.executable", offsetof(_Py_DebugOffsets, interpreter_frame.executable));
	P("debug.interpreter_frame.owner", offsetof(_Py_DebugOffsets, interpreter_frame.owner));
	P("debug.code_object.filename", offsetof(_Py_DebugOffsets, code_object.filename));
	P("debug.code_object.name", offsetof(_Py_DebugOffsets, code_object.name));
	P("debug.code_object.qualname", offsetof(_Py_DebugOffsets, code_object.qualname));
	P("debug.code_object.firstlineno", offsetof(_Py_DebugOffsets, code_object.firstlineno));
	P("debug.pyobject.ob_type", offsetof(_Py_DebugOffsets, pyobject.ob_type));
	P("debug.type_object.tp_name", offsetof(_Py_DebugOffsets, type_object.tp_name));
	P("debug.unicode_object.state", offsetof(_Py_DebugOffsets, unicode_object.state));
	P("debug.unicode_object.length", offsetof(_Py_DebugOffsets, unicode_object.length));
	P("debug.unicode_object.asciiobject_size", offsetof(_Py_DebugOffsets, unicode_object.asciiobject_size));
	P("debug.size", sizeof(_Py_DebugOffsets));
#endif
	return 0;
}
