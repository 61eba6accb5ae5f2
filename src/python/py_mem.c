#include "python/py_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "util/macro.h"

int py_mem_readv(struct py_mem *m, const struct py_iov *iov, size_t n)
{
	m->calls += n > PY_MEM_IOV_MAX ? (n + PY_MEM_IOV_MAX - 1) / PY_MEM_IOV_MAX : 1;
	m->iovecs += n;
	for (size_t i = 0; i < n; i++)
		m->bytes += iov[i].len;
	return m->ops->readv(m, iov, n);
}

int py_mem_read(struct py_mem *m, uint64_t addr, void *buf, size_t len)
{
	struct py_iov iov = { addr, buf, len };
	int r = py_mem_readv(m, &iov, 1);
	if (r < 0)
		return r;
	return r == 1 ? 0 : -EFAULT;
}

/* ---- a live process ------------------------------------------------------------------ */

static int proc_readv(struct py_mem *m, const struct py_iov *iov, size_t n)
{
	struct py_mem_proc *p = (struct py_mem_proc *)m;
	size_t done = 0;
	while (done < n) {
		struct iovec local[PY_MEM_IOV_MAX], remote[PY_MEM_IOV_MAX];
		size_t k = n - done < PY_MEM_IOV_MAX ? n - done : PY_MEM_IOV_MAX;
		size_t want = 0;
		for (size_t i = 0; i < k; i++) {
			const struct py_iov *v = &iov[done + i];
			local[i] = (struct iovec){ v->buf, v->len };
			remote[i] = (struct iovec){ (void *)(uintptr_t)v->addr, v->len };
			want += v->len;
		}
		ssize_t got = process_vm_readv(p->pid, local, k, remote, k, 0);
		if (got < 0) {
			if (errno == EFAULT || errno == EINVAL)
				return (int)done; /* the first range is not mapped */
			return neg_errno();
		}
		/* Partial transfers stop at a range boundary: count the complete ones. */
		size_t left = (size_t)got, full = 0;
		while (full < k && left >= iov[done + full].len) {
			left -= iov[done + full].len;
			full++;
		}
		done += full;
		if ((size_t)got < want)
			break;
	}
	return (int)done;
}

static const struct py_mem_ops proc_ops = { proc_readv };

void py_mem_proc_init(struct py_mem_proc *p, pid_t pid)
{
	*p = (struct py_mem_proc){ .mem = { .ops = &proc_ops }, .pid = pid };
}

/* ---- a memory snapshot ----------------------------------------------------------------- */

static const struct py_snapshot_region *snapshot_find(const struct py_snapshot *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nregions;
	while (lo < hi) { /* the last region starting at or before addr */
		size_t mid = lo + (hi - lo) / 2;
		if (s->regions[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &s->regions[lo - 1] : NULL;
}

static bool snapshot_read_one(const struct py_snapshot *s, const struct py_iov *v)
{
	if (v->len == 0)
		return true;
	if (v->addr + v->len < v->addr)
		return false;
	/* Regions may overlap (a recording merges them, a fuzzed image need not): any region
	 * that holds the whole range will do; the candidates start at or before addr. */
	const struct py_snapshot_region *r = snapshot_find(s, v->addr);
	for (; r && r >= s->regions; r--) {
		uint64_t off = v->addr - r->addr;
		if (off < r->len && v->len <= r->len - off) {
			memcpy(v->buf, r->data + off, v->len);
			return true;
		}
		if (r == s->regions)
			break;
		if (v->addr - r[-1].addr > UINT32_MAX) /* no earlier region can reach */
			break;
	}
	return false;
}

static int snapshot_readv(struct py_mem *m, const struct py_iov *iov, size_t n)
{
	const struct py_snapshot *s = (const struct py_snapshot *)m;
	size_t i = 0;
	while (i < n && snapshot_read_one(s, &iov[i]))
		i++;
	return (int)i;
}

static const struct py_mem_ops snapshot_ops = { snapshot_readv };

struct cursor {
	const uint8_t *p;
	size_t left;
};

static bool take(struct cursor *c, void *out, size_t n)
{
	if (c->left < n)
		return false;
	memcpy(out, c->p, n);
	c->p += n;
	c->left -= n;
	return true;
}

static bool take_u32(struct cursor *c, uint32_t *v)
{
	uint8_t b[4];
	if (!take(c, b, 4))
		return false;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return true;
}

static bool take_u64(struct cursor *c, uint64_t *v)
{
	uint32_t lo, hi;
	if (!take_u32(c, &lo) || !take_u32(c, &hi))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

static int region_cmp(const void *a, const void *b)
{
	const struct py_snapshot_region *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int py_snapshot_parse(struct py_snapshot *s, const uint8_t *data, size_t size)
{
	memset(s, 0, sizeof(*s));
	s->mem.ops = &snapshot_ops;
	struct cursor c = { data, size };
	char magic[8];
	uint32_t n;
	if (!take(&c, magic, 8) || memcmp(magic, PY_SNAPSHOT_MAGIC, 8) != 0)
		return -EINVAL;
	if (!take_u32(&c, &s->version_hex) || !take_u32(&c, &s->pthread_tid_offset) ||
	    !take_u64(&c, &s->runtime) || !take_u64(&c, &s->code_type) ||
	    !take_u64(&c, &s->unicode_type) || !take_u32(&c, &n))
		return -EINVAL;
	/* Each region takes at least 12 bytes of the image: a count beyond that is a lie. */
	if (n > PY_SNAPSHOT_MAX_REGIONS || n > c.left / 12)
		return -EINVAL;
	s->regions = calloc(n ? n : 1, sizeof(*s->regions));
	if (!s->regions)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct py_snapshot_region *r = &s->regions[i];
		if (!take_u64(&c, &r->addr) || !take_u32(&c, &r->len) || r->len > c.left) {
			py_snapshot_free(s);
			return -EINVAL;
		}
		r->data = c.p;
		c.p += r->len;
		c.left -= r->len;
	}
	s->nregions = n;
	qsort(s->regions, n, sizeof(*s->regions), region_cmp);
	return 0;
}

void py_snapshot_free(struct py_snapshot *s)
{
	free(s->regions);
	free(s->owned);
	s->regions = NULL;
	s->owned = NULL;
	s->nregions = 0;
}

/* ---- recording ------------------------------------------------------------------------- */

static int recorder_readv(struct py_mem *m, const struct py_iov *iov, size_t n)
{
	struct py_mem_recorder *r = (struct py_mem_recorder *)m;
	int got = py_mem_readv(r->inner, iov, n);
	for (int i = 0; i < got; i++) {
		if (iov[i].len == 0 || iov[i].len > UINT32_MAX)
			continue;
		if (r->nregions == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 64;
			void *p = realloc(r->regions, cap * sizeof(*r->regions));
			if (!p) {
				r->failed = true;
				break;
			}
			r->regions = p;
			r->cap = cap;
		}
		uint8_t *copy = malloc(iov[i].len);
		if (!copy) {
			r->failed = true;
			break;
		}
		memcpy(copy, iov[i].buf, iov[i].len);
		r->regions[r->nregions++] = (struct py_snapshot_region){ iov[i].addr,
			(uint32_t)iov[i].len, copy };
	}
	return got;
}

static const struct py_mem_ops recorder_ops = { recorder_readv };

void py_mem_recorder_init(struct py_mem_recorder *r, struct py_mem *inner)
{
	*r = (struct py_mem_recorder){ .mem = { .ops = &recorder_ops }, .inner = inner };
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

int py_mem_recorder_save(struct py_mem_recorder *r, const struct py_snapshot *h, uint8_t **ret,
			 size_t *ret_size)
{
	if (r->failed)
		return -ENOMEM;
	qsort(r->regions, r->nregions, sizeof(*r->regions), region_cmp);
	/* Merge overlapping and adjacent reads into spans; each read remembers its span. A
	 * span stops growing at 1 MiB (the next one may then overlap it, which a snapshot
	 * allows). */
	size_t nspans = 0, bytes = 0;
	uint64_t *start = calloc(r->nregions + 1, sizeof(*start));
	uint64_t *end = calloc(r->nregions + 1, sizeof(*end));
	size_t *of = calloc(r->nregions + 1, sizeof(*of));
	uint8_t *out = NULL;
	int ret_code = -ENOMEM;
	if (!start || !end || !of)
		goto out;
	for (size_t i = 0; i < r->nregions; i++) {
		uint64_t a = r->regions[i].addr, e = a + r->regions[i].len;
		if (nspans && a <= end[nspans - 1] && e - start[nspans - 1] <= (1u << 20)) {
			if (e > end[nspans - 1])
				end[nspans - 1] = e;
		} else {
			start[nspans] = a;
			end[nspans] = e;
			nspans++;
		}
		of[i] = nspans - 1;
	}
	for (size_t i = 0; i < nspans; i++)
		bytes += end[i] - start[i];
	size_t size = 44 + nspans * 12 + bytes;
	out = calloc(1, size);
	if (!out)
		goto out;
	memcpy(out, PY_SNAPSHOT_MAGIC, 8);
	put_u32(out + 8, h->version_hex);
	put_u32(out + 12, h->pthread_tid_offset);
	put_u64(out + 16, h->runtime);
	put_u64(out + 24, h->code_type);
	put_u64(out + 32, h->unicode_type);
	put_u32(out + 40, (uint32_t)nspans);
	uint8_t **data = calloc(nspans + 1, sizeof(*data));
	if (!data)
		goto out;
	uint8_t *p = out + 44;
	for (size_t i = 0; i < nspans; i++) {
		put_u64(p, start[i]);
		put_u32(p + 8, (uint32_t)(end[i] - start[i]));
		data[i] = p + 12;
		p = data[i] + (end[i] - start[i]);
	}
	/* Later reads first, so that the first read of a byte wins. */
	for (size_t j = r->nregions; j-- > 0;)
		memcpy(data[of[j]] + (r->regions[j].addr - start[of[j]]), r->regions[j].data,
		       r->regions[j].len);
	free(data);
	*ret = out;
	*ret_size = size;
	out = NULL;
	ret_code = 0;
out:
	free(out);
	free(start);
	free(end);
	free(of);
	return ret_code;
}

void py_mem_recorder_free(struct py_mem_recorder *r)
{
	for (size_t i = 0; i < r->nregions; i++)
		free((void *)r->regions[i].data);
	free(r->regions);
	r->regions = NULL;
	r->nregions = r->cap = 0;
}
