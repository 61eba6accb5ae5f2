/* perf_record_decode and perf_ring_record on untrusted bytes. The input is a 32-byte
 * layout (sample_type, regs_user_mask, switch_sample_id as u64; flags as u32, bit 0 for
 * sample_id_all; a ring position as u32) and then ring data, read twice: as records laid
 * end to end, and as a ring buffer (the largest power of two of it) from that position,
 * where records wrap around the end. A decoded record points only inside itself. */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include "perf/sampler.h"

#define PREFIX 32

static bool inside(const void *p, size_t n, const uint8_t *rec, size_t len)
{
	const uint8_t *b = p;
	return b >= rec && b <= rec + len && n <= (size_t)(rec + len - b);
}

static void check(const struct perf_rec *r, const uint8_t *rec, size_t len)
{
	volatile uint64_t sum = 0;
	switch (r->type) {
	case PREC_SAMPLE:
	case PREC_SWITCH_SAMPLE: {
		const struct perf_rec_sample *s = &r->u.sample;
		FUZZ_CHECK(s->nkernel + (uint64_t)s->nuser <= len / 8);
		FUZZ_CHECK(!s->nkernel || inside(s->kernel_ips, s->nkernel * 8ul, rec, len));
		FUZZ_CHECK(!s->nuser || inside(s->user_ips, s->nuser * 8ul, rec, len));
		for (uint32_t i = 0; i < s->nkernel; i++)
			sum += s->kernel_ips[i];
		for (uint32_t i = 0; i < s->nuser; i++)
			sum += s->user_ips[i];
		FUZZ_CHECK(!s->stack_size || inside(s->stack, s->stack_size, rec, len));
		for (uint64_t i = 0; i < s->stack_size; i++)
			sum += s->stack[i];
		FUZZ_CHECK(!(s->regs.valid >> UREG_COUNT));
		break;
	}
	case PREC_COMM:
		FUZZ_CHECK(inside(r->u.comm.comm, strlen(r->u.comm.comm) + 1, rec, len));
		break;
	case PREC_MMAP:
		FUZZ_CHECK(inside(r->u.mmap.path, strlen(r->u.mmap.path) + 1, rec, len));
		break;
	default:
		break;
	}
	(void)sum;
}

static void decode_checked(const uint8_t *rec, size_t len, const struct perf_rec_layout *l)
{
	struct perf_rec r;
	if (perf_record_decode(rec, len, l, &r) == 0)
		check(&r, rec, len);
}

int fuzz_perf_record(const uint8_t *data, size_t size)
{
	if (size < PREFIX)
		return 0;
	struct perf_rec_layout l;
	uint32_t flags, ring_pos;
	memcpy(&l.sample_type, data, 8);
	memcpy(&l.regs_user_mask, data + 8, 8);
	memcpy(&l.switch_sample_id, data + 16, 8);
	memcpy(&flags, data + 24, 4);
	memcpy(&ring_pos, data + 28, 4);
	l.sample_id_all = flags & 1;
	size_t n = size - PREFIX;
	/* An exactly sized, 8-aligned copy: ASan sees a read past the end. */
	uint8_t *buf = malloc(n ? n : 1);
	uint8_t *scratch = malloc(PERF_RECORD_MAX);
	if (!buf || !scratch)
		abort();
	memcpy(buf, data + PREFIX, n);

	for (size_t pos = 0; pos + 8 <= n;) {
		decode_checked(buf + pos, n - pos, &l);
		uint16_t rsize;
		memcpy(&rsize, buf + pos + 6, sizeof(rsize));
		if (rsize < 8)
			break;
		pos += ((size_t)rsize + 7) & ~(size_t)7;
	}

	uint64_t ring = 8;
	while (ring * 2 <= n)
		ring *= 2;
	if (n >= 8) {
		uint64_t pos = ring_pos, head = pos + ring;
		const uint8_t *rec;
		size_t len;
		int r;
		while ((r = perf_ring_record(buf, ring, pos, head, scratch, &rec, &len)) > 0) {
			FUZZ_CHECK(len >= 8 && len <= head - pos);
			FUZZ_CHECK(rec == scratch || inside(rec, len, buf, ring));
			FUZZ_CHECK(((uintptr_t)rec & 7) == 0);
			decode_checked(rec, len, &l);
			pos += len;
		}
		FUZZ_CHECK(r == 0 || r == -EINVAL);
	}
	free(scratch);
	free(buf);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_perf_record(data, size);
}
#endif
