/* src/python: the frame walk over a memory image (a serialized py_snapshot, the format
 * py_dump --record writes), since the memory of a profiled process is untrusted and
 * changes under our feet. Whatever the image holds, the walk must end, stay within its
 * bounds and hand out only valid UTF-8 names of bounded length. */
#include "fuzz.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "python/py_mem.h"
#include "python/python.h"

static bool valid_utf8(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	while (*p) {
		int len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
		if (!len)
			return false;
		for (int i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += len;
		if (++n > max)
			return false;
	}
	return true;
}

static int check_thread(void *userdata, const struct py_thread *t)
{
	size_t *frames = userdata;
	FUZZ_CHECK(t->nframes <= PY_MAX_DEPTH);
	FUZZ_CHECK(t->status == 0 || (t->status == -EAGAIN && t->nframes == 0));
	for (size_t i = 0; i < t->nframes; i++) {
		const struct py_code *c = t->frames[i];
		FUZZ_CHECK(c && c->name && c->qualname && c->filename);
		FUZZ_CHECK(valid_utf8(c->name, PY_MAX_NAME + 3));
		FUZZ_CHECK(valid_utf8(c->qualname, PY_MAX_NAME + 3));
		FUZZ_CHECK(valid_utf8(c->filename, PY_MAX_PATH + 3));
		FUZZ_CHECK(c->firstlineno >= 0);
	}
	*frames += t->nframes;
	return 0;
}

/* Whether every address of the image has one value. Where regions overlap they may
 * disagree, and a read returns the bytes of some region that holds all of it: the
 * prefetch's merged spans (one read over several ranges) may come from another region than
 * the walk's own reads of the same ranges. */
static bool disjoint(const struct py_snapshot *s)
{
	for (size_t i = 1; i < s->nregions; i++) /* sorted by address */
		if (s->regions[i].addr - s->regions[i - 1].addr < s->regions[i - 1].len)
			return false;
	return true;
}

int fuzz_python_walk(const uint8_t *data, size_t size)
{
	struct py_snapshot s;
	if (py_snapshot_parse(&s, data, size) < 0)
		return 0;
	struct py_proc *p;
	if (py_proc_from_mem(&s.mem, s.version_hex, s.runtime, s.code_type, s.unicode_type,
			     s.pthread_tid_offset, NULL, &p) == 0) {
		/* Twice: the second walk goes through the code cache the first one filled. */
		size_t f1 = 0, f2 = 0;
		int r1 = py_frame_walk(p, check_thread, &f1);
		int r2 = py_frame_walk(p, check_thread, &f2);
		/* The image does not change between walks: the same stacks, where it is one. */
		FUZZ_CHECK((r1 == r2 && f1 == f2) || !disjoint(&s));
		FUZZ_CHECK(r1 < 0 || r1 <= PY_MAX_INTERPRETERS * PY_MAX_THREADS);
		py_proc_free(p);
	}
	py_snapshot_free(&s);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_python_walk(data, size);
}
#endif
