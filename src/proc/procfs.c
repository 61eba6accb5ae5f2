#include "proc/procfs.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* A cursor over an unterminated buffer. */
struct cur {
	const char *p, *end;
};

static void skip_spaces(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* Unsigned decimal; false (cursor unmoved) when there is none or it overflows. */
static bool read_u64(struct cur *c, uint64_t *ret)
{
	skip_spaces(c);
	const char *p = c->p;
	uint64_t v = 0;
	if (p >= c->end || *p < '0' || *p > '9')
		return false;
	for (; p < c->end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	c->p = p;
	*ret = v;
	return true;
}

static bool read_i64(struct cur *c, int64_t *ret)
{
	skip_spaces(c);
	bool neg = c->p < c->end && *c->p == '-';
	if (neg)
		c->p++;
	uint64_t v;
	if (!read_u64(c, &v) || v > (uint64_t)INT64_MAX)
		return false;
	*ret = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool skip_field(struct cur *c)
{
	skip_spaces(c);
	const char *s = c->p;
	while (c->p < c->end && *c->p != ' ' && *c->p != '\n')
		c->p++;
	return c->p > s;
}

int procfs_parse_stat(const char *buf, size_t len, struct proc_stat *ret)
{
	struct cur c = { buf, buf + len };
	struct proc_stat st = { 0 };
	int64_t pid;
	if (!read_i64(&c, &pid) || pid <= 0 || pid > INT32_MAX)
		return -EBADMSG;
	st.pid = (pid_t)pid;
	/* The name may contain anything, ")" included: it ends at the last ")". */
	const char *open = memchr(c.p, '(', (size_t)(c.end - c.p));
	const char *close = NULL;
	for (const char *p = c.end; p > c.p;)
		if (*--p == ')') {
			close = p;
			break;
		}
	if (!open || !close || close < open)
		return -EBADMSG;
	size_t n = (size_t)(close - open - 1);
	if (n >= sizeof(st.comm))
		n = sizeof(st.comm) - 1;
	memcpy(st.comm, open + 1, n);
	st.comm[n] = '\0';
	c.p = close + 1;
	skip_spaces(&c);
	if (c.p >= c.end)
		return -EBADMSG;
	st.state = *c.p++;

	/* Fields 4..24; we keep the ones named below, by field number. */
	const uint32_t kept = 1u << 4 | 1u << 10 | 1u << 12 | 1u << 14 | 1u << 15 | 1u << 20 |
			      1u << 22 | 1u << 23 | 1u << 24;
	uint64_t f[25] = { 0 };
	for (int i = 4; i <= 24; i++) {
		if (read_u64(&c, &f[i]))
			continue;
		/* Fields we ignore may be negative (priority, nice, tty); those we keep may not. */
		int64_t v;
		if ((kept & 1u << i) || !read_i64(&c, &v))
			return -EBADMSG;
		f[i] = (uint64_t)v;
	}
	/* The kernel prints more fields after rss: a number at the very end may be cut short. */
	if (c.p >= c.end || f[4] > INT32_MAX || f[20] > INT64_MAX)
		return -EBADMSG;
	st.ppid = (pid_t)(int64_t)f[4];
	st.minflt = f[10];
	st.majflt = f[12];
	st.utime = f[14];
	st.stime = f[15];
	st.num_threads = (int64_t)f[20];
	st.starttime = f[22];
	st.vsize = f[23];
	st.rss = f[24];
	*ret = st;
	return 0;
}

/* Calls fn(key, keylen, value-cursor) for each "Key:  value" line. */
/* Returns false when it has what it needs: the rest of the file is not looked at. */
typedef bool (*kv_fn)(const char *key, size_t keylen, struct cur *val, void *data);

static void for_each_kv(const char *buf, size_t len, kv_fn fn, void *data)
{
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) /* an unterminated last line may have been cut short */
			break;
		const char *le = nl;
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon) {
			struct cur v = { colon + 1, le };
			if (!fn(p, (size_t)(colon - p), &v, data))
				break;
		}
		p = nl + 1;
	}
}

static bool key_is(const char *key, size_t keylen, const char *want)
{
	return strlen(want) == keylen && memcmp(key, want, keylen) == 0;
}

struct status_acc {
	struct proc_status s;
	bool voluntary, involuntary;
};

static bool status_kv(const char *key, size_t keylen, struct cur *v, void *data)
{
	struct status_acc *a = data;
	struct proc_status *s = &a->s;
	uint64_t x;
	if (key_is(key, keylen, "VmSwap") && read_u64(v, &x) && x <= UINT64_MAX / 1024) {
		s->vm_swap_kb = x;
		s->have |= STATUS_HAVE_SWAP;
	} else if (key_is(key, keylen, "voluntary_ctxt_switches") && read_u64(v, &x)) {
		s->ctx_voluntary = x;
		a->voluntary = true;
	} else if (key_is(key, keylen, "nonvoluntary_ctxt_switches") && read_u64(v, &x)) {
		s->ctx_involuntary = x;
		a->involuntary = true;
	} else if (key_is(key, keylen, "Uid") && read_u64(v, &x) && x <= UINT32_MAX) {
		s->uid = (uid_t)x;
		s->have |= STATUS_HAVE_UID;
	} else if (key_is(key, keylen, "Tgid") && read_u64(v, &x) && x > 0 && x <= INT32_MAX) {
		s->tgid = (pid_t)x;
		s->have |= STATUS_HAVE_TGID;
	} else if (key_is(key, keylen, "Threads") && read_u64(v, &x) && x <= INT64_MAX) {
		s->threads = (int64_t)x;
		s->have |= STATUS_HAVE_THREADS;
	}
	return true;
}

int procfs_parse_status(const char *buf, size_t len, struct proc_status *ret)
{
	struct status_acc a = { 0 };
	for_each_kv(buf, len, status_kv, &a);
	if (a.voluntary && a.involuntary) /* both, or a cut-off file would give a made-up 0 */
		a.s.have |= STATUS_HAVE_CTX;
	if (!a.s.have)
		return -EBADMSG;
	*ret = a.s;
	return 0;
}

struct io_acc {
	struct proc_io io;
	unsigned seen;
};

static bool io_kv(const char *key, size_t keylen, struct cur *v, void *data)
{
	struct io_acc *a = data;
	static const char *const keys[] = { "rchar", "wchar", "read_bytes", "write_bytes",
					    "cancelled_write_bytes" };
	uint64_t *dst[] = { &a->io.rchar, &a->io.wchar, &a->io.read_bytes, &a->io.write_bytes,
			    &a->io.cancelled_write_bytes };
	for (unsigned i = 0; i < 5; i++)
		if (key_is(key, keylen, keys[i]) && read_u64(v, dst[i]))
			a->seen |= 1u << i;
	return a->seen != 0x1f;
}

int procfs_parse_io(const char *buf, size_t len, struct proc_io *ret)
{
	struct io_acc a = { 0 };
	for_each_kv(buf, len, io_kv, &a);
	/* rchar..write_bytes are required; cancelled_write_bytes may be cut off. */
	if ((a.seen & 0xf) != 0xf)
		return -EBADMSG;
	*ret = a.io;
	return 0;
}

struct pss_acc {
	uint64_t pss, priv_clean, priv_dirty;
	unsigned seen;
};

static bool pss_kv(const char *key, size_t keylen, struct cur *v, void *data)
{
	struct pss_acc *a = data;
	uint64_t x;
	if (!read_u64(v, &x) || x > UINT64_MAX / 2048) /* kB, and two of them are added */
		return true;
	if (key_is(key, keylen, "Pss")) {
		a->pss = x;
		a->seen |= 1;
	} else if (key_is(key, keylen, "Private_Clean")) {
		a->priv_clean = x;
		a->seen |= 2;
	} else if (key_is(key, keylen, "Private_Dirty")) {
		a->priv_dirty = x;
		a->seen |= 4;
	}
	return a->seen != 7;
}

int procfs_parse_smaps_rollup(const char *buf, size_t len, struct proc_pss *ret)
{
	struct pss_acc a = { 0 };
	for_each_kv(buf, len, pss_kv, &a);
	if (a.seen != 7)
		return -EBADMSG;
	ret->pss = a.pss * 1024;
	ret->uss = (a.priv_clean + a.priv_dirty) * 1024;
	return 0;
}

/* One "cpu" or "cpuN" line after its label: user nice system idle iowait irq softirq
 * steal [guest guest_nice]. guest time is already inside user and nice. */
static bool parse_cpu_line(struct cur *c, struct cpu_times *ret)
{
	uint64_t v[8];
	for (int i = 0; i < 8; i++)
		if (!read_u64(c, &v[i]))
			return false;
	uint64_t total = 0;
	for (int i = 0; i < 8; i++) {
		if (v[i] > UINT64_MAX - total)
			return false;
		total += v[i];
	}
	ret->total = total;
	ret->busy = total - v[3] - v[4];
	return true;
}

int procfs_parse_cpus(const char *buf, size_t len, struct cpu_times *all,
		      struct cpu_times *per_cpu, int max_cpus, int *ret_ncpus)
{
	const char *p = buf, *end = buf + len;
	bool have_all = false;
	int ncpus = 0;
	for (int i = 0; i < max_cpus; i++)
		per_cpu[i] = (struct cpu_times){ 0 };
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) /* an unterminated last line may have been cut short */
			break;
		const char *le = nl;
		if (le - p > 3 && memcmp(p, "cpu", 3) == 0) {
			struct cur c = { p + 3, le };
			if (c.p < c.end && *c.p == ' ') {
				have_all = parse_cpu_line(&c, all);
			} else {
				uint64_t n;
				struct cpu_times t;
				if (read_u64(&c, &n) && n < (uint64_t)max_cpus &&
				    parse_cpu_line(&c, &t)) {
					per_cpu[n] = t;
					if ((int)n + 1 > ncpus)
						ncpus = (int)n + 1;
				}
			}
		}
		p = nl + 1;
	}
	if (!have_all)
		return -EBADMSG;
	*ret_ncpus = ncpus;
	return 0;
}

struct mem_acc {
	struct meminfo m;
	unsigned seen;
};

static bool mem_kv(const char *key, size_t keylen, struct cur *v, void *data)
{
	struct mem_acc *a = data;
	static const char *const keys[] = { "MemTotal", "MemAvailable", "SwapTotal", "SwapFree" };
	uint64_t *dst[] = { &a->m.total, &a->m.available, &a->m.swap_total, &a->m.swap_free };
	for (unsigned i = 0; i < 4; i++) {
		uint64_t x;
		if (key_is(key, keylen, keys[i]) && read_u64(v, &x) && x <= UINT64_MAX / 1024) {
			*dst[i] = x * 1024;
			a->seen |= 1u << i;
		}
	}
	return a->seen != 0xf;
}

int procfs_parse_meminfo(const char *buf, size_t len, struct meminfo *ret)
{
	struct mem_acc a = { 0 };
	for_each_kv(buf, len, mem_kv, &a);
	if ((a.seen & 3) != 3) /* swap lines are optional */
		return -EBADMSG;
	*ret = a.m;
	return 0;
}

int procfs_parse_last_pid(const char *buf, size_t len, pid_t *ret)
{
	struct cur c = { buf, buf + len };
	for (int i = 0; i < 4; i++)
		if (!skip_field(&c))
			return -EBADMSG;
	uint64_t v;
	/* The kernel ends the line with '\n': without it, the number may be cut short. */
	if (!read_u64(&c, &v) || v > INT32_MAX || c.p >= c.end || *c.p != '\n')
		return -EBADMSG;
	*ret = (pid_t)v;
	return 0;
}

void procfs_cmdline_join(const char *buf, size_t len, char *out, size_t outsz)
{
	if (!outsz)
		return;
	while (len && buf[len - 1] == '\0')
		len--;
	size_t n = len < outsz - 1 ? len : outsz - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = buf[i] ? buf[i] : ' ';
	out[n] = '\0';
}
