/* The frame walk on memory snapshots recorded from real interpreters (fixtures/snap_*.bin,
 * from fixtures/snap_target.py with py_dump --record): each version's stacks, qualified
 * names where the version has them, thread ids; and the same images damaged in every way a
 * changing process can damage them (a byte changed, a range missing), which must give
 * dropped samples or other names, never a crash or invalid text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "python/py_internal.h"
#include "python/py_mem.h"
#include "python/python.h"

struct fixture {
	const char *file;
	unsigned minor;
	bool qualnames;
};

static const struct fixture fixtures[] = {
	{ "snap_3.8.bin", 8, false },   { "snap_3.9.bin", 9, false },
	{ "snap_3.10.bin", 10, false }, { "snap_3.11.bin", 11, true },
	{ "snap_3.12.bin", 12, true },  { "snap_3.13.bin", 13, true },
	{ "snap_3.11_debian.bin", 11, true },
};

static uint8_t *load(const char *name, size_t *ret_len)
{
	char path[4096];
	const char *dir = getenv("PY_FIXTURES");
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : PY_FIXTURES_DEFAULT, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	uint8_t *buf = malloc(1 << 20);
	size_t n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	*ret_len = n;
	return buf;
}

struct seen {
	int threads, dropped;
	char main_stack[512], spin_top[128], spin_name[64];
	pid_t tids[8];
};

static int collect(void *ud, const struct py_thread *t)
{
	struct seen *s = ud;
	if (s->threads < 8)
		s->tids[s->threads] = t->tid;
	s->threads++;
	if (t->status < 0) {
		s->dropped++;
		return 0;
	}
	if (t->nframes && !strcmp(t->frames[0]->name, "sleeper")) {
		size_t len = 0;
		for (size_t i = 0; i < t->nframes; i++)
			len += (size_t)snprintf(s->main_stack + len, sizeof(s->main_stack) - len, "%s%s",
						i ? ";" : "", t->frames[i]->qualname);
		const char *f = t->frames[0]->filename;
		assert_true(strlen(f) >= 14 && !strcmp(f + strlen(f) - 14, "snap_target.py"));
	} else if (t->nframes) {
		snprintf(s->spin_top, sizeof(s->spin_top), "%s", t->frames[0]->qualname);
		snprintf(s->spin_name, sizeof(s->spin_name), "%s", t->frames[0]->name);
		assert_int_equal(t->frames[0]->firstlineno, 11); /* def spin */
	}
	return 0;
}

static void test_snapshot(void **state)
{
	const struct fixture *fx = *state;
	size_t len;
	uint8_t *img = load(fx->file, &len);
	struct py_snapshot s;
	assert_int_equal(py_snapshot_parse(&s, img, len), 0);
	assert_int_equal((s.version_hex >> 16) & 0xff, fx->minor);
	struct py_proc *p;
	assert_int_equal(py_proc_from_mem(&s.mem, s.version_hex, s.runtime, s.code_type,
					  s.unicode_type, s.pthread_tid_offset, NULL, &p), 0);
	for (int pass = 0; pass < 3; pass++) { /* then through the code cache and prefetch */
		struct seen seen = { 0 };
		uint64_t calls = s.mem.calls;
		assert_int_equal(py_frame_walk(p, collect, &seen), 2);
		/* An unchanged image: the prefetch of what the walk before read is the only read
		 * (the first walk also decodes the names: more reads). */
		if (pass == 2)
			assert_int_equal(s.mem.calls - calls, 1);
		assert_int_equal(seen.dropped, 0);
		assert_string_equal(seen.main_stack, "sleeper;na\xc3\xafve_func;<module>");
		assert_string_equal(seen.spin_name, "spin");
		assert_string_equal(seen.spin_top, fx->qualnames ? "Worker.spin" : "spin");
		/* Kernel thread ids, also where the version keeps only pthread_t (via glibc's
		 * struct pthread): distinct and positive. */
		assert_true(seen.tids[0] > 0 && seen.tids[1] > 0 && seen.tids[0] != seen.tids[1]);
	}
	assert_int_equal(py_proc_ncodes(p), 3 + 5);
	py_proc_free(p);
	py_snapshot_free(&s);
	free(img);
}

/* A live process's memory as the kernel serves it: a snapshot's bytes, in pages that are
 * mapped whole wherever the snapshot holds a byte (zeros around its regions), so that the
 * prefetch's merged spans read across the gaps as they do in a process. */
struct paged_mem {
	struct py_mem mem;
	const struct py_snapshot *s;
};

static bool page_mapped(const struct py_snapshot *s, uint64_t page)
{
	for (size_t i = 0; i < s->nregions; i++) {
		const struct py_snapshot_region *r = &s->regions[i];
		if (r->len && r->addr / 4096 <= page && (r->addr + r->len - 1) / 4096 >= page)
			return true;
	}
	return false;
}

static bool paged_read_one(const struct py_snapshot *s, const struct py_iov *v)
{
	if (!v->len)
		return true;
	if (v->addr + v->len < v->addr)
		return false;
	for (uint64_t pg = v->addr / 4096; pg <= (v->addr + v->len - 1) / 4096; pg++)
		if (!page_mapped(s, pg))
			return false;
	memset(v->buf, 0, v->len);
	for (size_t i = 0; i < s->nregions; i++) {
		const struct py_snapshot_region *r = &s->regions[i];
		uint64_t lo = r->addr > v->addr ? r->addr : v->addr;
		uint64_t hi = r->addr + r->len < v->addr + v->len ? r->addr + r->len : v->addr + v->len;
		if (lo < hi)
			memcpy((uint8_t *)v->buf + (lo - v->addr), r->data + (lo - r->addr), hi - lo);
	}
	return true;
}

static int paged_readv(struct py_mem *m, const struct py_iov *iov, size_t n)
{
	const struct paged_mem *pm = (const struct paged_mem *)m;
	size_t i = 0;
	while (i < n && paged_read_one(pm->s, &iov[i]))
		i++;
	return (int)i;
}

static const struct py_mem_ops paged_ops = { paged_readv };

/* One walk: its stacks checked, its cost on m (calls, remote iovecs) in ret. */
static void walk_once(const struct fixture *fx, struct py_proc *p, struct py_mem *m,
		      uint64_t ret[2])
{
	struct seen seen = { 0 };
	uint64_t calls = m->calls, iovecs = m->iovecs;
	assert_int_equal(py_frame_walk(p, collect, &seen), 2);
	assert_int_equal(seen.dropped, 0);
	assert_string_equal(seen.main_stack, "sleeper;na\xc3\xafve_func;<module>");
	assert_string_equal(seen.spin_top, fx->qualnames ? "Worker.spin" : "spin");
	ret[0] = m->calls - calls;
	ret[1] = m->iovecs - iovecs;
}

static struct py_proc *proc_on(const struct py_snapshot *s, struct py_mem *m)
{
	struct py_proc *p;
	assert_int_equal(py_proc_from_mem(m, s->version_hex, s->runtime, s->code_type,
					  s->unicode_type, s->pthread_tid_offset, NULL, &p), 0);
	return p;
}

/* The prefetch merges ranges on the same or the next page into one remote iovec: in
 * memory mapped whole (a live process), a steady stack costs one call of fewer iovecs than
 * it reads ranges. When the gaps stop being readable (here: the bare image), the walk reads
 * what did not arrive itself, merging pauses, and resumes later. */
static void test_merged(void **state)
{
	const struct fixture *fx = *state;
	size_t len;
	uint8_t *img = load(fx->file, &len);
	struct py_snapshot s;
	assert_int_equal(py_snapshot_parse(&s, img, len), 0);
	uint64_t cost[2];
	/* The ranges a steady walk reads: without the prefetch, one iovec each. */
	setenv("PROFKIT_PY_NO_PREFETCH", "1", 1);
	struct py_proc *p = proc_on(&s, &s.mem);
	unsetenv("PROFKIT_PY_NO_PREFETCH");
	walk_once(fx, p, &s.mem, cost);
	walk_once(fx, p, &s.mem, cost);
	uint64_t ranges = cost[1];
	assert_true(cost[0] > 1);
	py_proc_free(p);

	struct paged_mem pm = { { &paged_ops, 0, 0, 0 }, &s };
	p = proc_on(&s, &pm.mem);
	/* The first walk reads each code object whole, the second (not prefetched yet: one
	 * more call for each of the two threads) only its names and line, as every walk
	 * after. */
	walk_once(fx, p, &pm.mem, cost);
	walk_once(fx, p, &pm.mem, cost);
	assert_int_equal(cost[0], 3);
	for (int pass = 1; pass < 3; pass++) {
		walk_once(fx, p, &pm.mem, cost);
		assert_int_equal(cost[0], 1);
		assert_true(cost[1] < ranges);
	}
	py_proc_set_mem(p, &s.mem);
	walk_once(fx, p, &s.mem, cost); /* merged spans fail: the walk reads their ranges */
	walk_once(fx, p, &s.mem, cost); /* merging paused: one iovec per range */
	assert_int_equal(cost[0], 1);
	assert_int_equal(cost[1], ranges);
	py_proc_set_mem(p, &pm.mem); /* mapped again: merging resumes after the pause */
	int walks = 0;
	do {
		walk_once(fx, p, &pm.mem, cost);
		assert_int_equal(cost[0], 1);
	} while (cost[1] == ranges && ++walks < 64);
	assert_true(cost[1] < ranges);
	struct py_io io;
	py_proc_io(p, &io);
	assert_int_equal(io.iovecs, pm.mem.iovecs);
	py_proc_free(p);
	py_snapshot_free(&s);
	free(img);
}

/* The decoded code object named name (its address in *ret_addr). */
static const struct py_code_entry *code_named(const struct py_proc *p, const char *name)
{
	for (size_t i = 0; i < p->ncodes; i++)
		if (!strcmp(p->codes[i]->code.name, name))
			return p->codes[i];
	fail_msg("no code object named %s", name);
	return NULL;
}

/* Writes 8 bytes at addr into the image (a field of a recorded object). */
static void poke(struct py_snapshot *s, uint64_t addr, uint64_t val)
{
	for (size_t i = 0; i < s->nregions; i++) {
		const struct py_snapshot_region *r = &s->regions[i];
		if (addr >= r->addr && addr + 8 <= r->addr + r->len) {
			memcpy((uint8_t *)r->data + (addr - r->addr), &val, 8);
			return;
		}
	}
	fail_msg("0x%llx is not in the image", (unsigned long long)addr);
}

/* Every thread's stack, "name;name;..." per thread, threads "|"-separated. */
static int collect_names(void *ud, const struct py_thread *t)
{
	char *out = ud;
	size_t len = strlen(out);
	assert_int_equal(t->status, 0);
	for (size_t i = 0; i < t->nframes; i++)
		len += (size_t)snprintf(out + len, 512 - len, "%s%s", i ? ";" : "", t->frames[i]->name);
	snprintf(out + len, 512 - len, "|");
	return 0;
}

/* A known code object's address taken by another code object: later walks read only the
 * names and first line of known code objects (not their hot reference count), and must
 * still see the change and give the new names. Here sleeper's code object is made to name
 * naive_func, as a freed and reused address would. */
static void test_code_replaced(void **state)
{
	const struct fixture *fx = *state;
	size_t len;
	uint8_t *img = load(fx->file, &len);
	struct py_snapshot s;
	assert_int_equal(py_snapshot_parse(&s, img, len), 0);
	struct py_proc *p = proc_on(&s, &s.mem);
	uint64_t cost[2];
	walk_once(fx, p, &s.mem, cost);
	walk_once(fx, p, &s.mem, cost);
	const struct py_code_entry *sleeper = code_named(p, "sleeper");
	const struct py_code_entry *naive = code_named(p, "na\xc3\xafve_func");
	const struct py_offsets *v = &p->v;
	poke(&s, sleeper->addr + v->code_name, naive->name_p);
	poke(&s, sleeper->addr + v->code_filename, naive->filename_p);
	if (v->code_qualname != PY_OFF_NONE)
		poke(&s, sleeper->addr + v->code_qualname, naive->qualname_p);
	for (int walk = 0; walk < 2; walk++) {
		char stacks[512] = "";
		assert_int_equal(py_frame_walk(p, collect_names, stacks), 2);
		assert_non_null(strstr(stacks, "na\xc3\xafve_func;na\xc3\xafve_func;<module>|"));
		assert_null(strstr(stacks, "sleeper"));
	}
	size_t n = 0;
	for (size_t i = 0; i < p->ncodes; i++)
		n += !strcmp(p->codes[i]->code.name, "na\xc3\xafve_func");
	assert_int_equal(n, 2); /* decoded again at sleeper's address */
	py_proc_free(p);
	py_snapshot_free(&s);
	free(img);
}

static bool valid_utf8(const char *str)
{
	const unsigned char *q = (const unsigned char *)str;
	while (*q) {
		int n = *q < 0x80 ? 1 : (*q >> 5) == 6 ? 2 : (*q >> 4) == 14 ? 3 : (*q >> 3) == 30 ? 4 : 0;
		if (!n)
			return false;
		for (int i = 1; i < n; i++)
			if ((q[i] & 0xc0) != 0x80)
				return false;
		q += n;
	}
	return true;
}

static int check_names(void *ud, const struct py_thread *t)
{
	(void)ud;
	assert_true(t->nframes <= PY_MAX_DEPTH);
	for (size_t i = 0; i < t->nframes; i++) {
		assert_true(valid_utf8(t->frames[i]->name));
		assert_true(valid_utf8(t->frames[i]->qualname));
		assert_true(valid_utf8(t->frames[i]->filename));
	}
	return 0;
}

/* Every byte of the image's memory, changed to a few values in turn, and every region
 * missing in turn. */
static void test_damaged(void **state)
{
	const struct fixture *fx = *state;
	size_t len;
	uint8_t *img = load(fx->file, &len);
	struct py_snapshot s;
	assert_int_equal(py_snapshot_parse(&s, img, len), 0);
	const size_t header = 44;
	int walks = 0, failed = 0;
	static const uint8_t values[] = { 0x00, 0xff, 0x01, 0x80 };
	for (size_t at = header; at < len; at++) {
		for (size_t k = 0; k < sizeof(values); k++) {
			uint8_t old = img[at];
			img[at] ^= values[k] ? values[k] : old;
			struct py_snapshot d;
			if (py_snapshot_parse(&d, img, len) == 0) {
				struct py_proc *p;
				if (py_proc_from_mem(&d.mem, d.version_hex, d.runtime, d.code_type,
						     d.unicode_type, d.pthread_tid_offset, NULL, &p) == 0) {
					int r = py_frame_walk(p, check_names, NULL);
					failed += r < 0;
					walks++;
					/* Again, through the prefetch of the damaged image. */
					py_frame_walk(p, check_names, NULL);
					py_proc_free(p);
				}
				py_snapshot_free(&d);
			}
			img[at] = old;
		}
	}
	assert_true(walks > 1000);
	assert_true(failed > 0); /* some damage must be noticed */
	/* Each region missing: the walk fails or drops, and never invents frames. */
	for (size_t skip = 0; skip < s.nregions; skip++) {
		struct py_snapshot d = s;
		struct py_snapshot_region regions[256];
		size_t n = 0;
		for (size_t i = 0; i < s.nregions && n < 256; i++)
			if (i != skip)
				regions[n++] = s.regions[i];
		d.regions = regions;
		d.nregions = n;
		struct py_proc *p;
		if (py_proc_from_mem(&d.mem, d.version_hex, d.runtime, d.code_type, d.unicode_type,
				     d.pthread_tid_offset, NULL, &p) == 0) {
			py_frame_walk(p, check_names, NULL);
			py_proc_free(p);
		}
	}
	py_snapshot_free(&s);
	free(img);
}

static void test_snapshot_parse_rejects(void **state)
{
	(void)state;
	struct py_snapshot s;
	uint8_t buf[64] = "PKPYSNP1";
	assert_int_equal(py_snapshot_parse(&s, buf, 8), -EINVAL);
	/* A region count larger than the image can hold. */
	memset(buf + 8, 0, 36);
	buf[40] = 0xff;
	buf[41] = 0xff;
	assert_int_equal(py_snapshot_parse(&s, buf, 44), -EINVAL);
	/* A region whose length runs past the end. */
	buf[40] = 1;
	buf[41] = 0;
	memset(buf + 44, 0, 12);
	buf[52] = 100;
	assert_int_equal(py_snapshot_parse(&s, buf, 56), -EINVAL);
	buf[52] = 0;
	assert_int_equal(py_snapshot_parse(&s, buf, 56), 0);
	py_snapshot_free(&s);
	memcpy(buf, "NOTASNAP", 8);
	assert_int_equal(py_snapshot_parse(&s, buf, 56), -EINVAL);
}

/* Reads across and between regions, through the vtable. */
static void test_snapshot_reads(void **state)
{
	(void)state;
	uint8_t img[44 + 2 * 12 + 16] = "PKPYSNP1";
	memset(img + 8, 0, sizeof(img) - 8);
	img[40] = 2;
	uint8_t *r = img + 44;
	r[1] = 0x10; /* region 0 at 0x1000, 8 bytes */
	r[8] = 8;
	memcpy(r + 12, "ABCDEFGH", 8);
	r += 20;
	r[1] = 0x20; /* region 1 at 0x2000, 8 bytes */
	r[8] = 8;
	memcpy(r + 12, "abcdefgh", 8);
	struct py_snapshot s;
	assert_int_equal(py_snapshot_parse(&s, img, sizeof(img)), 0);
	char out[9] = { 0 };
	assert_int_equal(py_mem_read(&s.mem, 0x1002, out, 4), 0);
	assert_string_equal(out, "CDEF");
	assert_int_equal(py_mem_read(&s.mem, 0x1006, out, 4), -EFAULT);
	assert_int_equal(py_mem_read(&s.mem, 0xfff, out, 2), -EFAULT);
	assert_int_equal(py_mem_read(&s.mem, 0x2000, out, 8), 0);
	struct py_iov iov[3] = { { 0x1000, out, 1 }, { 0x3000, out, 1 }, { 0x2000, out, 1 } };
	assert_int_equal(py_mem_readv(&s.mem, iov, 3), 1);
	assert_int_equal(s.mem.calls, 5);
	py_snapshot_free(&s);
}

int main(void)
{
	struct CMUnitTest tests[4 * 8 + 2];
	char names[4 * 8][48];
	size_t k = 0;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		snprintf(names[4 * i], 48, "walk_%s", fixtures[i].file);
		snprintf(names[4 * i + 1], 48, "damaged_%s", fixtures[i].file);
		snprintf(names[4 * i + 2], 48, "merged_%s", fixtures[i].file);
		snprintf(names[4 * i + 3], 48, "replaced_%s", fixtures[i].file);
		tests[k++] = (struct CMUnitTest){ .name = names[4 * i], .test_func = test_snapshot,
						  .initial_state = (void *)&fixtures[i] };
		tests[k++] = (struct CMUnitTest){ .name = names[4 * i + 1], .test_func = test_damaged,
						  .initial_state = (void *)&fixtures[i] };
		tests[k++] = (struct CMUnitTest){ .name = names[4 * i + 2], .test_func = test_merged,
						  .initial_state = (void *)&fixtures[i] };
		tests[k++] = (struct CMUnitTest){ .name = names[4 * i + 3],
						  .test_func = test_code_replaced,
						  .initial_state = (void *)&fixtures[i] };
	}
	tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_snapshot_parse_rejects);
	tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_snapshot_reads);
	return _cmocka_run_group_tests("py_walk", tests, k, NULL, NULL);
}
