/* The decoder of perf ring-buffer records (perf_event_open(2), "MMAP layout"). The bytes
 * are untrusted: every field is read through a cursor that checks it against the record's
 * end, counts are bounded by the bytes left, and strings must end inside the record. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include "perf/sampler.h"

struct cursor {
	const uint8_t *p, *end;
};

static bool take(struct cursor *c, void *out, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return false;
	memcpy(out, c->p, n);
	c->p += n;
	return true;
}

static bool take_u64(struct cursor *c, uint64_t *v) { return take(c, v, sizeof(*v)); }

static bool skip(struct cursor *c, uint64_t n)
{
	if ((uint64_t)(c->end - c->p) < n)
		return false;
	c->p += n;
	return true;
}

/* Two u32 as the kernel writes pid and tid. */
static bool take_pid_tid(struct cursor *c, pid_t *pid, pid_t *tid)
{
	uint32_t v[2];
	if (!take(c, v, sizeof(v)))
		return false;
	*pid = (pid_t)v[0];
	*tid = (pid_t)v[1];
	return true;
}

/* ---- sample_id (sample_id_all): the trailer of every record but samples -------------- */

struct sample_id {
	pid_t pid, tid;
	uint64_t time;
};

static size_t sample_id_size(const struct perf_rec_layout *l)
{
	if (!l->sample_id_all)
		return 0;
	static const uint64_t fields = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ID |
				       PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU |
				       PERF_SAMPLE_IDENTIFIER;
	return 8 * (size_t)__builtin_popcountll(l->sample_type & fields);
}

/* Splits the record's body from its trailer and reads the trailer. */
static bool split_sample_id(struct cursor *body, const struct perf_rec_layout *l,
			    struct sample_id *id)
{
	*id = (struct sample_id){ .pid = -1, .tid = -1 };
	size_t n = sample_id_size(l);
	if ((size_t)(body->end - body->p) < n)
		return false;
	struct cursor t = { body->end - n, body->end };
	body->end -= n;
	if (l->sample_id_all && (l->sample_type & PERF_SAMPLE_TID))
		take_pid_tid(&t, &id->pid, &id->tid);
	if (l->sample_id_all && (l->sample_type & PERF_SAMPLE_TIME))
		take_u64(&t, &id->time);
	return true;
}

/* A NUL-terminated string that starts at the cursor and ends before its end. */
static const char *take_string(struct cursor *c)
{
	const char *s = (const char *)c->p;
	if (c->p >= c->end || !memchr(c->p, '\0', (size_t)(c->end - c->p)))
		return NULL;
	return s;
}

/* ---- PERF_RECORD_SAMPLE ---------------------------------------------------------------- */

/* PERF_REG_X86_* (perf's order: AX BX CX DX SI DI BP SP IP FLAGS CS SS DS ES FS GS
 * R8..R15) to DWARF numbers; -1: not an unwinding register. */
static const int8_t perf_to_dwarf[24] = {
	UREG_RAX, UREG_RBX, UREG_RCX, UREG_RDX, UREG_RSI, UREG_RDI, UREG_RBP, UREG_RSP,
	UREG_RIP, -1, -1, -1, -1, -1, -1, -1,
	UREG_R8, UREG_R9, UREG_R10, UREG_R11, UREG_R12, UREG_R13, UREG_R14, UREG_R15,
};

static bool take_regs(struct cursor *c, uint64_t mask, struct user_regs *regs)
{
	uint64_t abi;
	if (!take_u64(c, &abi))
		return false;
	if (abi == PERF_SAMPLE_REGS_ABI_NONE) /* a kernel thread: no user registers */
		return true;
	for (unsigned bit = 0; bit < 64; bit++) {
		if (!(mask & (1ULL << bit)))
			continue;
		uint64_t v;
		if (!take_u64(c, &v))
			return false;
		/* The unwinder is x86-64 only: a 32-bit task's registers are not given. */
		if (abi == PERF_SAMPLE_REGS_ABI_64 && bit < sizeof(perf_to_dwarf) &&
		    perf_to_dwarf[bit] >= 0) {
			regs->r[perf_to_dwarf[bit]] = v;
			regs->valid |= 1u << perf_to_dwarf[bit];
		}
	}
	return true;
}

static bool take_stack(struct cursor *c, struct perf_rec_sample *s)
{
	uint64_t size, dyn;
	if (!take_u64(c, &size))
		return false;
	if (size == 0) /* no user registers: nothing was copied, and no dyn_size follows */
		return true;
	const uint8_t *data = c->p;
	if (!skip(c, size) || !take_u64(c, &dyn) || dyn > size)
		return false;
	s->stack = data;
	s->stack_size = dyn;
	return true;
}

/* Callchain markers (PERF_CONTEXT_*) split the chain into contexts; the first run of
 * kernel and of user frames is kept, other contexts (hypervisor, guest) are dropped. */
static void split_callchain(const uint64_t *ips, uint64_t nr, struct perf_rec_sample *s)
{
	uint64_t ctx = 0;
	const uint64_t *run = NULL;
	uint32_t n = 0;
	for (uint64_t i = 0; i <= nr; i++) {
		uint64_t ip = 0;
		if (i < nr)
			memcpy(&ip, &ips[i], sizeof(ip));
		if (i < nr && ip < PERF_CONTEXT_MAX) {
			if (!run)
				run = &ips[i];
			n++;
			continue;
		}
		if (ctx == PERF_CONTEXT_KERNEL && !s->kernel_ips && n) {
			s->kernel_ips = run;
			s->nkernel = n;
		} else if (ctx == PERF_CONTEXT_USER && !s->user_ips && n) {
			s->user_ips = run;
			s->nuser = n;
		}
		if (i < nr)
			ctx = ip;
		run = NULL;
		n = 0;
	}
}

static int decode_sample(struct cursor *c, const struct perf_rec_layout *l, struct perf_rec *ret)
{
	uint64_t t = l->sample_type, id = 0, v;
	struct perf_rec_sample *s = &ret->u.sample;
	s->pid = s->tid = -1;
	/* A read group and a branch stack need read_format and branch_sample_type, which the
	 * layout does not carry; profkit asks for neither. */
	if (t & (PERF_SAMPLE_READ | PERF_SAMPLE_BRANCH_STACK))
		return -EINVAL;
	if ((t & PERF_SAMPLE_IDENTIFIER) && !take_u64(c, &id))
		return -EINVAL;
	if ((t & PERF_SAMPLE_IP) && !take_u64(c, &v))
		return -EINVAL;
	if ((t & PERF_SAMPLE_TID) && !take_pid_tid(c, &s->pid, &s->tid))
		return -EINVAL;
	if ((t & PERF_SAMPLE_TIME) && !take_u64(c, &s->time))
		return -EINVAL;
	if ((t & PERF_SAMPLE_ADDR) && !take_u64(c, &v))
		return -EINVAL;
	if ((t & PERF_SAMPLE_ID) && !take_u64(c, &id))
		return -EINVAL;
	if ((t & PERF_SAMPLE_STREAM_ID) && !take_u64(c, &v))
		return -EINVAL;
	if ((t & PERF_SAMPLE_CPU) && !take_u64(c, &v))
		return -EINVAL;
	if ((t & PERF_SAMPLE_PERIOD) && !take_u64(c, &s->period))
		return -EINVAL;
	if (t & PERF_SAMPLE_CALLCHAIN) {
		uint64_t nr;
		if (!take_u64(c, &nr) || nr > (uint64_t)(c->end - c->p) / 8)
			return -EINVAL;
		split_callchain((const uint64_t *)c->p, nr, s);
		c->p += nr * 8;
	}
	if (t & PERF_SAMPLE_RAW) {
		uint32_t size;
		if (!take(c, &size, sizeof(size)) || !skip(c, size))
			return -EINVAL;
	}
	if ((t & PERF_SAMPLE_REGS_USER) && !take_regs(c, l->regs_user_mask, &s->regs))
		return -EINVAL;
	if ((t & PERF_SAMPLE_STACK_USER) && !take_stack(c, s))
		return -EINVAL;
	/* Fields after these (weight, data_src, ...) are not asked for: ignored. */
	ret->type = l->switch_sample_id && id == l->switch_sample_id ? PREC_SWITCH_SAMPLE
								     : PREC_SAMPLE;
	return 0;
}

/* ---- side-band records ---------------------------------------------------------------- */

static int decode_comm(struct cursor *c, uint16_t misc, struct perf_rec *ret)
{
	if (!take_pid_tid(c, &ret->u.comm.pid, &ret->u.comm.tid) ||
	    !(ret->u.comm.comm = take_string(c)))
		return -EINVAL;
	ret->u.comm.exec = misc & PERF_RECORD_MISC_COMM_EXEC;
	ret->type = PREC_COMM;
	return 0;
}

static int decode_task(struct cursor *c, enum perf_rec_type type, struct perf_rec *ret)
{
	if (!take_pid_tid(c, &ret->u.task.pid, &ret->u.task.ppid) ||
	    !take_pid_tid(c, &ret->u.task.tid, &ret->u.task.ptid) ||
	    !take_u64(c, &ret->u.task.time))
		return -EINVAL;
	ret->type = type;
	return 0;
}

static int decode_mmap(struct cursor *c, bool v2, uint16_t misc, struct perf_rec *ret)
{
	__typeof__(ret->u.mmap) *m = &ret->u.mmap;
	if (!take_pid_tid(c, &m->pid, &m->tid) || !take_u64(c, &m->start) ||
	    !take_u64(c, &m->len) || !take_u64(c, &m->pgoff))
		return -EINVAL;
	if (v2) {
		/* maj, min, ino, ino_generation; or, with MMAP_BUILD_ID, the build id. */
		uint64_t devs, ino, gen;
		uint32_t flags;
		if (!take_u64(c, &devs) || !take_u64(c, &ino) || !take_u64(c, &gen) ||
		    !take(c, &m->prot, sizeof(m->prot)) || !take(c, &flags, sizeof(flags)))
			return -EINVAL;
		m->inode = misc & PERF_RECORD_MISC_MMAP_BUILD_ID ? 0 : ino;
	} else {
		m->prot = misc & PERF_RECORD_MISC_MMAP_DATA ? PROT_READ : PROT_READ | PROT_EXEC;
	}
	if (!(m->path = take_string(c)))
		return -EINVAL;
	ret->type = PREC_MMAP;
	return 0;
}

int perf_record_decode(const void *rec, size_t len, const struct perf_rec_layout *l,
		       struct perf_rec *ret)
{
	struct perf_event_header h;
	memset(ret, 0, sizeof(*ret));
	/* The ips are handed out as uint64_t pointers into the record. */
	if (!rec || !l || ((uintptr_t)rec & 7) || len < sizeof(h))
		return -EINVAL;
	memcpy(&h, rec, sizeof(h));
	if (h.size < sizeof(h) || h.size > len)
		return -EINVAL;
	struct cursor c = { (const uint8_t *)rec + sizeof(h), (const uint8_t *)rec + h.size };
	if (h.type == PERF_RECORD_SAMPLE)
		return decode_sample(&c, l, ret);

	struct sample_id id;
	if (!split_sample_id(&c, l, &id))
		return -EINVAL;
	switch (h.type) {
	case PERF_RECORD_COMM:
		return decode_comm(&c, h.misc, ret);
	case PERF_RECORD_FORK:
		return decode_task(&c, PREC_FORK, ret);
	case PERF_RECORD_EXIT:
		return decode_task(&c, PREC_EXIT, ret);
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2:
		return decode_mmap(&c, h.type == PERF_RECORD_MMAP2, h.misc, ret);
	case PERF_RECORD_LOST: {
		uint64_t event_id;
		if (!take_u64(&c, &event_id) || !take_u64(&c, &ret->u.lost.lost))
			return -EINVAL;
		ret->type = PREC_LOST;
		return 0;
	}
	case PERF_RECORD_THROTTLE:
	case PERF_RECORD_UNTHROTTLE:
		if (!take_u64(&c, &ret->u.throttle.time))
			return -EINVAL;
		ret->u.throttle.unthrottle = h.type == PERF_RECORD_UNTHROTTLE;
		ret->type = PREC_THROTTLE;
		return 0;
	case PERF_RECORD_SWITCH:
	case PERF_RECORD_SWITCH_CPU_WIDE:
		/* The switching task is in the sample_id; CPU-wide records add the other
		 * task's pid/tid, not needed here. */
		ret->u.sw.pid = id.pid;
		ret->u.sw.tid = id.tid;
		ret->u.sw.time = id.time;
		ret->u.sw.out = h.misc & PERF_RECORD_MISC_SWITCH_OUT;
		ret->u.sw.preempt = h.misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT;
		ret->type = PREC_SWITCH;
		return 0;
	default:
		ret->type = PREC_OTHER;
		return 0;
	}
}

/* ---- the ring buffer -------------------------------------------------------------------- */

static void ring_copy(const uint8_t *data, uint64_t size, uint64_t pos, void *dst, size_t n)
{
	uint64_t off = pos & (size - 1);
	size_t first = size - off < n ? (size_t)(size - off) : n;
	memcpy(dst, data + off, first);
	memcpy((uint8_t *)dst + first, data, n - first);
}

int perf_ring_record(const uint8_t *data, uint64_t size, uint64_t pos, uint64_t head,
		     uint8_t *scratch, const uint8_t **ret, size_t *ret_len)
{
	struct perf_event_header h;
	if (head == pos)
		return 0;
	if (!size || (size & (size - 1)) || head - pos < sizeof(h) || head - pos > size)
		return -EINVAL;
	ring_copy(data, size, pos, &h, sizeof(h));
	if (h.size < sizeof(h) || h.size > head - pos)
		return -EINVAL;
	uint64_t off = pos & (size - 1);
	/* The kernel keeps records 8-aligned; a record that is not, or that wraps, is read
	 * from a copy so the decoder's pointers are aligned and contiguous. */
	if (off + h.size <= size && !(((uintptr_t)data + off) & 7)) {
		*ret = data + off;
	} else {
		ring_copy(data, size, pos, scratch, h.size);
		*ret = scratch;
	}
	*ret_len = h.size;
	return 1;
}
