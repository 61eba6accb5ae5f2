/* The perf record decoder on hand-built records: every field of a sample, the callchain
 * contexts, the registers in DWARF order, the side-band records, truncated and oversized
 * records, and records read back from a ring buffer where they wrap around the end. */
#include "unit.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "perf/sampler.h"

#define SAMPLE_TYPE (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | \
		     PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_PERIOD)
#define DWARF_TYPE (SAMPLE_TYPE | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER)
#define REGS_MASK (0xfffULL | (0xffULL << 16))

static const struct perf_rec_layout dwarf_layout = {
	.sample_type = DWARF_TYPE, .regs_user_mask = REGS_MASK, .sample_id_all = true,
	.switch_sample_id = 77,
};

/* ---- a record builder ------------------------------------------------------------------- */

struct rec {
	uint64_t w[8192]; /* 8-aligned, as in the ring */
	size_t len;       /* bytes */
};

static void begin(struct rec *r, uint32_t type, uint16_t misc)
{
	memset(r, 0, sizeof(*r));
	struct perf_event_header h = { .type = type, .misc = misc };
	memcpy(r->w, &h, sizeof(h));
	r->len = sizeof(h);
}

static void put(struct rec *r, const void *p, size_t n)
{
	memcpy((uint8_t *)r->w + r->len, p, n);
	r->len += n;
}

static void put64(struct rec *r, uint64_t v) { put(r, &v, 8); }

static void put32x2(struct rec *r, uint32_t a, uint32_t b)
{
	uint32_t v[2] = { a, b };
	put(r, v, 8);
}

/* A string with its NUL, padded to 8 bytes as the kernel does. */
static void put_str(struct rec *r, const char *s)
{
	size_t n = strlen(s) + 1;
	put(r, s, n);
	while (r->len & 7)
		r->len++;
}

/* sample_id: pid/tid, time, identifier. */
static void put_sample_id(struct rec *r, pid_t pid, pid_t tid, uint64_t time)
{
	put32x2(r, (uint32_t)pid, (uint32_t)tid);
	put64(r, time);
	put64(r, 5);
}

static size_t end(struct rec *r)
{
	uint16_t size = (uint16_t)r->len;
	memcpy((uint8_t *)r->w + 6, &size, sizeof(size));
	return r->len;
}

/* The decoder on an exact-size heap copy, so ASan sees any read past the end. */
static int decode(const void *rec, size_t len, const struct perf_rec_layout *l,
		  struct perf_rec *out, void **copy)
{
	*copy = dup_exact(rec, len ? len : 1);
	return perf_record_decode(*copy, len, l, out);
}

/* A full dwarf sample: kernel and user chains, 20 registers, 64 bytes of stack of which
 * 40 are valid. Register at perf index i holds 0x100 * i + 1. */
static size_t dwarf_sample(struct rec *r, uint64_t id)
{
	begin(r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	put64(r, id);                 /* identifier */
	put64(r, 0x401000);           /* ip */
	put32x2(r, 1234, 1240);       /* pid, tid */
	put64(r, 987654321);          /* time */
	put64(r, 10101010);           /* period */
	static const uint64_t chain[] = { PERF_CONTEXT_KERNEL, 0xffffffff81000010ULL,
					  0xffffffff81000020ULL, PERF_CONTEXT_USER, 0x401000,
					  0x401100, 0x401200 };
	put64(r, 7);
	put(r, chain, sizeof(chain));
	put64(r, PERF_SAMPLE_REGS_ABI_64);
	for (unsigned bit = 0; bit < 64; bit++)
		if (REGS_MASK & (1ULL << bit))
			put64(r, 0x100 * bit + 1);
	put64(r, 64);
	for (int i = 0; i < 8; i++)
		put64(r, 0x1111111111111111ULL * (uint64_t)i);
	put64(r, 40);                 /* dyn_size */
	return end(r);
}

/* ---- samples -------------------------------------------------------------------------- */

static void check_dwarf_sample(const struct perf_rec *p)
{
	const struct perf_rec_sample *s = &p->u.sample;
	assert_int_equal(p->type, PREC_SAMPLE);
	assert_int_equal(s->pid, 1234);
	assert_int_equal(s->tid, 1240);
	assert_true(s->time == 987654321);
	assert_true(s->period == 10101010);
	assert_int_equal(s->nkernel, 2);
	assert_true(s->kernel_ips[0] == 0xffffffff81000010ULL);
	assert_true(s->kernel_ips[1] == 0xffffffff81000020ULL);
	assert_int_equal(s->nuser, 3);
	assert_true(s->user_ips[0] == 0x401000 && s->user_ips[2] == 0x401200);
	/* perf order AX BX CX DX SI DI BP SP IP FLAGS CS SS, R8.. at 16: DWARF order. */
	assert_true(s->regs.r[UREG_RAX] == 0x001);
	assert_true(s->regs.r[UREG_RBX] == 0x101);
	assert_true(s->regs.r[UREG_RCX] == 0x201);
	assert_true(s->regs.r[UREG_RDX] == 0x301);
	assert_true(s->regs.r[UREG_RSI] == 0x401);
	assert_true(s->regs.r[UREG_RDI] == 0x501);
	assert_true(s->regs.r[UREG_RBP] == 0x601);
	assert_true(s->regs.r[UREG_RSP] == 0x701);
	assert_true(s->regs.r[UREG_RIP] == 0x801);
	assert_true(s->regs.r[UREG_R8] == 0x1001);
	assert_true(s->regs.r[UREG_R15] == 0x1701);
	assert_int_equal(s->regs.valid, (1u << UREG_COUNT) - 1);
	assert_true(s->stack_size == 40);
	assert_true(s->stack[8] == 0x11 && s->stack[39] == 0x44);
}

static void test_dwarf_sample(void **state)
{
	static struct rec r;
	size_t len = dwarf_sample(&r, 5);
	struct perf_rec p;
	void *copy;
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	check_dwarf_sample(&p);
	/* Every pointer is inside the record. */
	const uint8_t *lo = copy, *hi = lo + len;
	assert_true((const uint8_t *)p.u.sample.stack >= lo &&
		    p.u.sample.stack + p.u.sample.stack_size <= hi);
	assert_true((const uint8_t *)(p.u.sample.user_ips + p.u.sample.nuser) <= hi);
	free(copy);
	/* Bytes past header.size are not part of the record. */
	assert_int_equal(decode(r.w, len + 16, &dwarf_layout, &p, &copy), 0);
	check_dwarf_sample(&p);
	free(copy);
}

static void test_switch_sample_by_id(void **state)
{
	static struct rec r;
	size_t len = dwarf_sample(&r, 77);
	struct perf_rec p;
	void *copy;
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.type, PREC_SWITCH_SAMPLE);
	assert_int_equal(p.u.sample.nuser, 3);
	free(copy);
	struct perf_rec_layout none = dwarf_layout;
	none.switch_sample_id = 0;
	assert_int_equal(decode(r.w, len, &none, &p, &copy), 0);
	assert_int_equal(p.type, PREC_SAMPLE);
	free(copy);
}

/* A sample of a kernel thread (or one without user state): ABI_NONE, no stack. */
static void test_sample_without_user_state(void **state)
{
	static struct rec r;
	begin(&r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL);
	put64(&r, 5);
	put64(&r, 0xffffffff81000000ULL);
	put32x2(&r, 0, 0);
	put64(&r, 1);
	put64(&r, 2);
	put64(&r, 2);
	put64(&r, PERF_CONTEXT_KERNEL);
	put64(&r, 0xffffffff81000000ULL);
	put64(&r, PERF_SAMPLE_REGS_ABI_NONE);
	put64(&r, 0); /* stack size 0: no data, no dyn_size */
	size_t len = end(&r);
	struct perf_rec p;
	void *copy;
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.u.sample.nkernel, 1);
	assert_int_equal(p.u.sample.nuser, 0);
	assert_null(p.u.sample.user_ips);
	assert_int_equal(p.u.sample.regs.valid, 0);
	assert_true(p.u.sample.stack_size == 0);
	free(copy);
}

static int decode_chain(const uint64_t *chain, uint64_t nr, struct perf_rec *p)
{
	static struct rec r;
	const struct perf_rec_layout l = { .sample_type = PERF_SAMPLE_CALLCHAIN };
	begin(&r, PERF_RECORD_SAMPLE, 0);
	put64(&r, nr);
	if (nr)
		put(&r, chain, nr * 8);
	size_t len = end(&r);
	void *copy;
	int e = decode(r.w, len, &l, p, &copy);
	static uint64_t kept[64];
	/* Copy what the decoder found before the record goes away. */
	if (e == 0) {
		if (p->u.sample.nuser) {
			memcpy(kept, p->u.sample.user_ips, p->u.sample.nuser * 8);
			p->u.sample.user_ips = kept;
		}
		p->u.sample.kernel_ips = NULL;
	}
	free(copy);
	return e;
}

static void test_callchain_contexts(void **state)
{
	struct perf_rec p;
	/* Frames before any marker and in other contexts (guest, hypervisor) are dropped. */
	const uint64_t odd[] = { 0x1, PERF_CONTEXT_GUEST_USER, 0x2, 0x3, PERF_CONTEXT_USER, 0x4,
				 PERF_CONTEXT_HV, 0x5 };
	assert_int_equal(decode_chain(odd, 8, &p), 0);
	assert_int_equal(p.u.sample.nkernel, 0);
	assert_int_equal(p.u.sample.nuser, 1);
	assert_true(p.u.sample.user_ips[0] == 0x4);
	/* Only markers. */
	const uint64_t markers[] = { PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER };
	assert_int_equal(decode_chain(markers, 2, &p), 0);
	assert_int_equal(p.u.sample.nkernel + p.u.sample.nuser, 0);
	/* A second user context: the first run is kept. */
	const uint64_t twice[] = { PERF_CONTEXT_USER, 0x10, 0x11, PERF_CONTEXT_USER, 0x12 };
	assert_int_equal(decode_chain(twice, 5, &p), 0);
	assert_int_equal(p.u.sample.nuser, 2);
	assert_int_equal(decode_chain(NULL, 0, &p), 0);
	assert_int_equal(p.u.sample.nuser, 0);
}

/* Cutting the record anywhere fails cleanly: with header.size kept (past the bytes
 * given) and with header.size cut to match (fields missing). */
static void test_truncated_sample(void **state)
{
	static struct rec r, cut;
	size_t len = dwarf_sample(&r, 5);
	for (size_t n = 0; n < len; n++) {
		struct perf_rec p;
		void *copy;
		assert_int_equal(decode(r.w, n, &dwarf_layout, &p, &copy), -EINVAL);
		free(copy);
		cut = r;
		cut.len = n;
		if (n >= sizeof(struct perf_event_header))
			end(&cut);
		assert_int_equal(decode(cut.w, n, &dwarf_layout, &p, &copy), -EINVAL);
		free(copy);
	}
}

static void test_sizes_bounded(void **state)
{
	static struct rec r;
	struct perf_rec p;
	void *copy;
	const struct perf_rec_layout l = dwarf_layout;
	size_t len = dwarf_sample(&r, 5);
	uint64_t *nr = &r.w[6]; /* header, id, ip, tid, time, period, nr */
	assert_true(*nr == 7);
	*nr = UINT64_MAX / 8 + 2; /* nr * 8 wraps around */
	assert_int_equal(decode(r.w, len, &l, &p, &copy), -EINVAL);
	free(copy);
	*nr = (len - 7 * 8) / 8 + 1; /* one more than the bytes left */
	assert_int_equal(decode(r.w, len, &l, &p, &copy), -EINVAL);
	free(copy);

	/* dyn_size above the copied size. */
	len = dwarf_sample(&r, 5);
	r.w[len / 8 - 1] = 65;
	assert_int_equal(decode(r.w, len, &l, &p, &copy), -EINVAL);
	free(copy);
	/* The stack size past the record. */
	len = dwarf_sample(&r, 5);
	r.w[len / 8 - 10] = UINT64_MAX - 3;
	assert_int_equal(decode(r.w, len, &l, &p, &copy), -EINVAL);
	free(copy);
	/* More registers asked for than the record holds. */
	len = dwarf_sample(&r, 5);
	struct perf_rec_layout many = l;
	many.regs_user_mask = UINT64_MAX;
	assert_int_equal(decode(r.w, len, &many, &p, &copy), -EINVAL);
	free(copy);
	/* Layouts the decoder cannot follow, headers that cannot be right. */
	struct perf_rec_layout read = l;
	read.sample_type |= PERF_SAMPLE_READ;
	assert_int_equal(decode(r.w, len, &read, &p, &copy), -EINVAL);
	free(copy);
	r.w[0] = 0;
	assert_int_equal(decode(r.w, len, &l, &p, &copy), -EINVAL); /* size 0 */
	free(copy);
	assert_int_equal(perf_record_decode((const uint8_t *)r.w + 1, 64, &l, &p), -EINVAL);
	assert_int_equal(perf_record_decode(NULL, 64, &l, &p), -EINVAL);
}

static void test_raw_and_other_fields(void **state)
{
	static struct rec r;
	const struct perf_rec_layout l = {
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_ADDR | PERF_SAMPLE_ID |
			       PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
			       PERF_SAMPLE_RAW | PERF_SAMPLE_WEIGHT,
		.switch_sample_id = 9,
	};
	begin(&r, PERF_RECORD_SAMPLE, 0);
	put32x2(&r, 3, 4);
	put64(&r, 0xdead); /* addr */
	put64(&r, 9);      /* id */
	put64(&r, 10);     /* stream id */
	put32x2(&r, 1, 0); /* cpu */
	put64(&r, 1);      /* period */
	uint32_t raw = 12;
	put(&r, &raw, 4);
	put(&r, "0123456789ab", 12);
	put64(&r, 42); /* weight: not read */
	size_t len = end(&r);
	struct perf_rec p;
	void *copy;
	assert_int_equal(decode(r.w, len, &l, &p, &copy), 0);
	assert_int_equal(p.type, PREC_SWITCH_SAMPLE); /* by PERF_SAMPLE_ID */
	assert_int_equal(p.u.sample.tid, 4);
	assert_true(p.u.sample.period == 1);
	free(copy);
	raw = 4000;
	memcpy((uint8_t *)r.w + 56, &raw, 4);
	assert_int_equal(decode(r.w, len, &l, &p, &copy), -EINVAL);
	free(copy);
}

/* ---- side band -------------------------------------------------------------------------- */

static void test_comm_and_tasks(void **state)
{
	static struct rec r;
	struct perf_rec p;
	void *copy;
	begin(&r, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC);
	put32x2(&r, 100, 101);
	put_str(&r, "late-0");
	put_sample_id(&r, 100, 101, 555);
	size_t len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.type, PREC_COMM);
	assert_int_equal(p.u.comm.pid, 100);
	assert_int_equal(p.u.comm.tid, 101);
	assert_string_equal(p.u.comm.comm, "late-0");
	assert_true(p.u.comm.exec);
	free(copy);
	/* Without its NUL the name is refused. */
	begin(&r, PERF_RECORD_COMM, 0);
	put32x2(&r, 100, 101);
	put(&r, "12345678", 8);
	put_sample_id(&r, 100, 101, 555);
	len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), -EINVAL);
	free(copy);

	begin(&r, PERF_RECORD_FORK, 0);
	put32x2(&r, 100, 100);
	put32x2(&r, 102, 101);
	put64(&r, 777);
	put_sample_id(&r, 100, 101, 777);
	len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.type, PREC_FORK);
	assert_int_equal(p.u.task.pid, 100);
	assert_int_equal(p.u.task.ppid, 100);
	assert_int_equal(p.u.task.tid, 102);
	assert_int_equal(p.u.task.ptid, 101);
	assert_true(p.u.task.time == 777);
	free(copy);
	memcpy(r.w, &(struct perf_event_header){ PERF_RECORD_EXIT, 0, (uint16_t)len }, 8);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.type, PREC_EXIT);
	free(copy);
	/* Too short for the sample_id. */
	assert_int_equal(decode(r.w, 8, &dwarf_layout, &p, &copy), -EINVAL);
	free(copy);
}

static void test_mmap(void **state)
{
	static struct rec r;
	struct perf_rec p;
	void *copy;
	begin(&r, PERF_RECORD_MMAP2, 0);
	put32x2(&r, 100, 100);
	put64(&r, 0x7f0000001000ULL);
	put64(&r, 0x2000);
	put64(&r, 0x1000);
	put32x2(&r, 8, 1);  /* maj, min */
	put64(&r, 4242);    /* ino */
	put64(&r, 1);       /* ino generation */
	put32x2(&r, PROT_READ | PROT_EXEC, MAP_PRIVATE);
	put_str(&r, "/usr/lib/x86_64-linux-gnu/libm.so.6");
	put_sample_id(&r, 100, 100, 1);
	size_t len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.type, PREC_MMAP);
	assert_true(p.u.mmap.start == 0x7f0000001000ULL && p.u.mmap.len == 0x2000 &&
		    p.u.mmap.pgoff == 0x1000 && p.u.mmap.inode == 4242);
	assert_int_equal(p.u.mmap.prot, PROT_READ | PROT_EXEC);
	assert_string_equal(p.u.mmap.path, "/usr/lib/x86_64-linux-gnu/libm.so.6");
	free(copy);
	/* The build-id form has no inode. */
	uint16_t misc = PERF_RECORD_MISC_MMAP_BUILD_ID;
	memcpy((uint8_t *)r.w + 4, &misc, 2);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_true(p.u.mmap.inode == 0);
	free(copy);
	/* The old MMAP record: executable unless MISC_MMAP_DATA. */
	begin(&r, PERF_RECORD_MMAP, PERF_RECORD_MISC_MMAP_DATA);
	put32x2(&r, 100, 100);
	put64(&r, 0x1000);
	put64(&r, 0x1000);
	put64(&r, 0);
	put_str(&r, "//anon");
	put_sample_id(&r, 100, 100, 1);
	len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.u.mmap.prot, PROT_READ);
	assert_string_equal(p.u.mmap.path, "//anon");
	free(copy);
	/* The path must end inside the body, not in the sample_id. */
	begin(&r, PERF_RECORD_MMAP, 0);
	put32x2(&r, 100, 100);
	put64(&r, 0x1000);
	put64(&r, 0x1000);
	put64(&r, 0);
	put(&r, "/nonul!!", 8);
	put_sample_id(&r, 100, 0, 0); /* tid 0 puts NUL bytes in the trailer */
	len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), -EINVAL);
	free(copy);
}

static void test_lost_throttle_switch_other(void **state)
{
	static struct rec r;
	struct perf_rec p;
	void *copy;
	begin(&r, PERF_RECORD_LOST, 0);
	put64(&r, 5);
	put64(&r, 31);
	put_sample_id(&r, -1, -1, 3);
	size_t len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.type, PREC_LOST);
	assert_true(p.u.lost.lost == 31);
	free(copy);

	begin(&r, PERF_RECORD_UNTHROTTLE, 0);
	put64(&r, 444);
	put64(&r, 5);
	put64(&r, 5);
	put_sample_id(&r, 1, 1, 444);
	len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.type, PREC_THROTTLE);
	assert_true(p.u.throttle.unthrottle && p.u.throttle.time == 444);
	free(copy);

	begin(&r, PERF_RECORD_SWITCH,
	      PERF_RECORD_MISC_SWITCH_OUT | PERF_RECORD_MISC_SWITCH_OUT_PREEMPT);
	put_sample_id(&r, 100, 103, 5000);
	len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.type, PREC_SWITCH);
	assert_int_equal(p.u.sw.pid, 100);
	assert_int_equal(p.u.sw.tid, 103);
	assert_true(p.u.sw.time == 5000 && p.u.sw.out && p.u.sw.preempt);
	free(copy);
	begin(&r, PERF_RECORD_SWITCH_CPU_WIDE, 0);
	put32x2(&r, 7, 8);
	put_sample_id(&r, 100, 103, 6000);
	len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_true(p.u.sw.tid == 103 && p.u.sw.time == 6000 && !p.u.sw.out && !p.u.sw.preempt);
	free(copy);
	/* Without sample_id_all the switch has no task. */
	struct perf_rec_layout bare = dwarf_layout;
	bare.sample_id_all = false;
	assert_int_equal(decode(r.w, len, &bare, &p, &copy), 0);
	assert_int_equal(p.u.sw.tid, -1);
	free(copy);

	begin(&r, PERF_RECORD_KSYMBOL, 0);
	put64(&r, 0);
	put_sample_id(&r, 0, 0, 0);
	len = end(&r);
	assert_int_equal(decode(r.w, len, &dwarf_layout, &p, &copy), 0);
	assert_int_equal(p.type, PREC_OTHER);
	free(copy);
}

/* ---- the ring --------------------------------------------------------------------------- */

/* A 256-byte ring holding the dwarf-less sample from offset 200: it wraps after 56 bytes.
 * The record read back is the one written, from the scratch copy. */
static void test_ring_wrap(void **state)
{
	static struct rec r;
	const struct perf_rec_layout l = { .sample_type = SAMPLE_TYPE, .sample_id_all = true };
	begin(&r, PERF_RECORD_SAMPLE, 0);
	put64(&r, 5);
	put64(&r, 0x401000);
	put32x2(&r, 10, 11);
	put64(&r, 12345);
	put64(&r, 1000);
	put64(&r, 3);
	put64(&r, PERF_CONTEXT_USER);
	put64(&r, 0x401000);
	put64(&r, 0x402000);
	size_t len = end(&r);
	assert_true(len > 56 && len < 256 - 56);

	uint64_t ring64[32];
	uint8_t *ring = (uint8_t *)ring64;
	uint64_t *scratch = malloc(PERF_RECORD_MAX);
	memset(ring, 0xee, 256);
	uint64_t pos = 256 * 3 + 200, head = pos + len;
	for (size_t i = 0; i < len; i++)
		ring[(pos + i) % 256] = ((const uint8_t *)r.w)[i];
	const uint8_t *rec;
	size_t got;
	assert_int_equal(perf_ring_record(ring, 256, pos, head, (uint8_t *)scratch, &rec, &got), 1);
	assert_ptr_equal(rec, scratch);
	assert_int_equal(got, len);
	assert_memory_equal(rec, r.w, len);
	struct perf_rec p;
	assert_int_equal(perf_record_decode(rec, got, &l, &p), 0);
	assert_int_equal(p.u.sample.tid, 11);
	assert_int_equal(p.u.sample.nuser, 2);
	assert_true(p.u.sample.user_ips[1] == 0x402000);
	/* The end of the data. */
	assert_int_equal(perf_ring_record(ring, 256, head, head, (uint8_t *)scratch, &rec, &got),
			 0);

	/* A record that does not wrap is read in place. */
	pos = 8;
	memcpy(ring + 8, r.w, len);
	assert_int_equal(perf_ring_record(ring, 256, pos, pos + len, (uint8_t *)scratch, &rec,
					  &got), 1);
	assert_ptr_equal(rec, ring + 8);

	/* Headers that cannot be right: size 0, past head, fewer than 8 bytes left, head
	 * more than a ring ahead. */
	memset(ring + 8, 0, 8);
	assert_int_equal(perf_ring_record(ring, 256, 8, 8 + len, (uint8_t *)scratch, &rec, &got),
			 -EINVAL);
	memcpy(ring + 8, r.w, 8);
	assert_int_equal(perf_ring_record(ring, 256, 8, 8 + len - 8, (uint8_t *)scratch, &rec,
					  &got), -EINVAL);
	assert_int_equal(perf_ring_record(ring, 256, 8, 12, (uint8_t *)scratch, &rec, &got),
			 -EINVAL);
	assert_int_equal(perf_ring_record(ring, 256, 8, 8 + 512, (uint8_t *)scratch, &rec, &got),
			 -EINVAL);
	assert_int_equal(perf_ring_record(ring, 100, 8, 8 + len, (uint8_t *)scratch, &rec, &got),
			 -EINVAL);
	free(scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dwarf_sample),
		cmocka_unit_test(test_switch_sample_by_id),
		cmocka_unit_test(test_sample_without_user_state),
		cmocka_unit_test(test_callchain_contexts),
		cmocka_unit_test(test_truncated_sample),
		cmocka_unit_test(test_sizes_bounded),
		cmocka_unit_test(test_raw_and_other_fields),
		cmocka_unit_test(test_comm_and_tasks),
		cmocka_unit_test(test_mmap),
		cmocka_unit_test(test_lost_throttle_switch_other),
		cmocka_unit_test(test_ring_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
