#include "proc/procfs.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "util/macro.h"

/* A cursor over an unterminated buffer. */
struct cur {
	const char *p, *end;
};

static void skip_spaces(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* Unsigned decimal; false (cursor unmoved) when there is none or it overflows. This runs
 * for every number of every /proc file of every tick: the first 19 digits cannot overflow
 * and are taken without a check; only longer numbers take the checked loop. */
static bool read_u64(struct cur *c, uint64_t *ret)
{
	skip_spaces(c);
	const char *p = c->p, *start = p;
	const char *fast_end = c->end - p > 19 ? p + 19 : c->end;
	uint64_t v = 0;
	unsigned d;
	for (; p < fast_end && (d = (unsigned)(unsigned char)*p - '0') <= 9; p++)
		v = v * 10 + d;
	if (p == start)
		return false;
	for (; p < c->end && (d = (unsigned)(unsigned char)*p - '0') <= 9; p++) {
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
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
	const char *close = c.p < c.end ? memrchr(c.p, ')', (size_t)(c.end - c.p)) : NULL;
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

/* A key of a "Key:  value" file that a parser wants, with its colon: "VmRSS:". The name
 * is zero-padded so that its first 8 bytes load as one word; mask keeps the bytes of that
 * word that belong to the key. */
struct kv_key {
	char name[32];
	size_t len;
	uint64_t mask;
};
/* (n % 8: the shift is never 64, even where that branch is not taken.) */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define KV_MASK(n) ((n) >= 8 ? ~0ull : (1ull << (8 * ((n) % 8))) - 1)
#else
#define KV_MASK(n) ((n) >= 8 ? ~0ull : ~(~0ull >> (8 * ((n) % 8))))
#endif
#define KV_KEY(s) { s ":", sizeof(s), KV_MASK(sizeof(s)) }
#define KV_MAX_KEYS ARRAY_SIZE(((struct procfs_hint *)0)->off)

static uint64_t load_u64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static bool kv_key_at(const struct kv_key *k, const char *line, size_t linelen)
{
	if (linelen < k->len)
		return false;
	if (linelen < 8)
		return memcmp(line, k->name, k->len) == 0;
	if ((load_u64(line) ^ load_u64(k->name)) & k->mask)
		return false;
	return k->len <= 8 || memcmp(line + 8, k->name + 8, k->len - 8) == 0;
}

/* The first line that starts in [from, stop) (from is a line start) and holds key k, and
 * its end in *ret_nl; NULL when there is none. A line without its '\n' may have been cut
 * short: it is not seen. */
static const char *kv_scan(const char *from, const char *stop, const char *end,
			   const struct kv_key *k, const char **ret_nl)
{
	for (const char *p = from; p < stop;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return NULL;
		if (kv_key_at(k, p, (size_t)(nl - p))) {
			*ret_nl = nl;
			return p;
		}
		p = nl + 1;
	}
	return NULL;
}

/* Finds keys[0..n) (in the order the kernel prints them) in a "Key:  value" file: bit i of
 * the result is set when vals[i] holds key i's value. Each key is looked for first where
 * the hint says it was in the previous reading of the same file, moved by as much as the
 * key before it moved: the kernel prints the keys in a fixed order and most values at a
 * fixed width, so a status file is usually parsed without looking at its ~55 other lines.
 * Otherwise the lines after the key before it are scanned, then those before. The hint
 * is updated. */
static unsigned kv_find(const char *buf, size_t len, const struct kv_key *keys, unsigned n,
			struct procfs_hint *hint, struct cur *vals)
{
	const char *end = buf + len, *from = buf;
	int64_t shift = 0;
	unsigned found = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct kv_key *k = &keys[i];
		const char *line = NULL, *nl = NULL;
		int64_t was = hint->off[i], guess = was + shift;
		bool at_line = guess >= 0 && (uint64_t)guess < len &&
			       (guess == 0 || buf[guess - 1] == '\n');
		if (at_line)
			line = kv_scan(buf + guess, buf + guess + 1, end, k, &nl);
		if (!line)
			line = kv_scan(from, end, end, k, &nl);
		if (!line)
			line = kv_scan(buf, from, end, k, &nl);
		if (!line)
			continue;
		shift = (line - buf) - was;
		hint->off[i] = (uint32_t)(line - buf);
		vals[i] = (struct cur){ line + k->len, nl };
		from = nl + 1;
		found |= 1u << i;
	}
	return found;
}

/* In the kernel's order. */
enum { ST_TGID, ST_UID, ST_VMRSS, ST_VMSWAP, ST_THREADS, ST_VOLUNTARY, ST_NONVOLUNTARY };
static const struct kv_key status_keys[] = {
	[ST_TGID] = KV_KEY("Tgid"),
	[ST_UID] = KV_KEY("Uid"),
	[ST_VMRSS] = KV_KEY("VmRSS"),
	[ST_VMSWAP] = KV_KEY("VmSwap"),
	[ST_THREADS] = KV_KEY("Threads"),
	[ST_VOLUNTARY] = KV_KEY("voluntary_ctxt_switches"),
	[ST_NONVOLUNTARY] = KV_KEY("nonvoluntary_ctxt_switches"),
};
_Static_assert(ARRAY_SIZE(status_keys) <= KV_MAX_KEYS, "status: too many keys for a hint");

/* A value of key k, when its line has one. */
static bool kv_u64(const struct cur *vals, unsigned found, unsigned k, uint64_t *ret)
{
	struct cur v = vals[k];
	return (found >> k & 1) && read_u64(&v, ret);
}

int procfs_parse_status_hinted(const char *buf, size_t len, struct procfs_hint *hint,
			       struct proc_status *ret)
{
	struct proc_status s = { 0 };
	struct cur vals[ARRAY_SIZE(status_keys)];
	unsigned found = kv_find(buf, len, status_keys, ARRAY_SIZE(status_keys), hint, vals);
	uint64_t x, y;
	if (kv_u64(vals, found, ST_TGID, &x) && x > 0 && x <= INT32_MAX) {
		s.tgid = (pid_t)x;
		s.have |= STATUS_HAVE_TGID;
	}
	if (kv_u64(vals, found, ST_UID, &x) && x <= UINT32_MAX) {
		s.uid = (uid_t)x;
		s.have |= STATUS_HAVE_UID;
	}
	if (kv_u64(vals, found, ST_VMRSS, &x) && x <= UINT64_MAX / 1024) {
		s.vm_rss_kb = x;
		s.have |= STATUS_HAVE_RSS;
	}
	if (kv_u64(vals, found, ST_VMSWAP, &x) && x <= UINT64_MAX / 1024) {
		s.vm_swap_kb = x;
		s.have |= STATUS_HAVE_SWAP;
	}
	if (kv_u64(vals, found, ST_THREADS, &x) && x <= INT64_MAX) {
		s.threads = (int64_t)x;
		s.have |= STATUS_HAVE_THREADS;
	}
	/* Both, or a cut-off file would give a made-up 0. */
	if (kv_u64(vals, found, ST_VOLUNTARY, &x) && kv_u64(vals, found, ST_NONVOLUNTARY, &y)) {
		s.ctx_voluntary = x;
		s.ctx_involuntary = y;
		s.have |= STATUS_HAVE_CTX;
	}
	if (!s.have)
		return -EBADMSG;
	*ret = s;
	return 0;
}

int procfs_parse_status(const char *buf, size_t len, struct proc_status *ret)
{
	struct procfs_hint hint = { 0 };
	return procfs_parse_status_hinted(buf, len, &hint, ret);
}

static const struct kv_key io_keys[] = {
	KV_KEY("rchar"), KV_KEY("wchar"), KV_KEY("read_bytes"), KV_KEY("write_bytes"),
	KV_KEY("cancelled_write_bytes"),
};
_Static_assert(ARRAY_SIZE(io_keys) <= KV_MAX_KEYS, "io: too many keys for a hint");

int procfs_parse_io_hinted(const char *buf, size_t len, struct procfs_hint *hint,
			   struct proc_io *ret)
{
	struct proc_io io = { 0 };
	uint64_t *dst[] = { &io.rchar, &io.wchar, &io.read_bytes, &io.write_bytes,
			    &io.cancelled_write_bytes };
	struct cur vals[ARRAY_SIZE(io_keys)];
	unsigned found = kv_find(buf, len, io_keys, ARRAY_SIZE(io_keys), hint, vals);
	unsigned seen = 0;
	for (unsigned k = 0; k < ARRAY_SIZE(io_keys); k++)
		if (kv_u64(vals, found, k, dst[k]))
			seen |= 1u << k;
	/* rchar..write_bytes are required; cancelled_write_bytes may be cut off. */
	if ((seen & 0xf) != 0xf)
		return -EBADMSG;
	*ret = io;
	return 0;
}

int procfs_parse_io(const char *buf, size_t len, struct proc_io *ret)
{
	struct procfs_hint hint = { 0 };
	return procfs_parse_io_hinted(buf, len, &hint, ret);
}

static const struct kv_key pss_keys[] = {
	KV_KEY("Pss"), KV_KEY("Private_Clean"), KV_KEY("Private_Dirty"),
};

int procfs_parse_smaps_rollup(const char *buf, size_t len, struct proc_pss *ret)
{
	struct procfs_hint hint = { 0 };
	struct cur vals[ARRAY_SIZE(pss_keys)];
	unsigned found = kv_find(buf, len, pss_keys, ARRAY_SIZE(pss_keys), &hint, vals);
	uint64_t val[ARRAY_SIZE(pss_keys)];
	for (unsigned k = 0; k < ARRAY_SIZE(pss_keys); k++) /* kB, and two are added */
		if (!kv_u64(vals, found, k, &val[k]) || val[k] > UINT64_MAX / 2048)
			return -EBADMSG;
	ret->pss = val[0] * 1024;
	ret->uss = (val[1] + val[2]) * 1024;
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
	bool have_all = false, in_cpus = false;
	int ncpus = 0;
	for (int i = 0; i < max_cpus; i++)
		per_cpu[i] = (struct cpu_times){ 0 };
	while (p < end) {
		bool is_cpu = end - p > 3 && memcmp(p, "cpu", 3) == 0;
		/* The kernel prints the cpu lines first: the next line ends them, and what
		 * follows (intr alone is kilobytes) is not looked at. */
		if (!is_cpu && in_cpus)
			break;
		in_cpus = is_cpu;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) /* an unterminated last line may have been cut short */
			break;
		const char *le = nl;
		if (is_cpu && le - p > 3) {
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

static const struct kv_key meminfo_keys[] = {
	KV_KEY("MemTotal"), KV_KEY("MemAvailable"), KV_KEY("SwapTotal"), KV_KEY("SwapFree"),
};
_Static_assert(ARRAY_SIZE(meminfo_keys) <= KV_MAX_KEYS, "meminfo: too many keys for a hint");

int procfs_parse_meminfo_hinted(const char *buf, size_t len, struct procfs_hint *hint,
				struct meminfo *ret)
{
	struct meminfo m = { 0 };
	uint64_t *dst[] = { &m.total, &m.available, &m.swap_total, &m.swap_free };
	struct cur vals[ARRAY_SIZE(meminfo_keys)];
	unsigned found = kv_find(buf, len, meminfo_keys, ARRAY_SIZE(meminfo_keys), hint, vals);
	unsigned seen = 0;
	for (unsigned k = 0; k < ARRAY_SIZE(meminfo_keys); k++) {
		uint64_t x;
		if (kv_u64(vals, found, k, &x) && x <= UINT64_MAX / 1024) {
			*dst[k] = x * 1024;
			seen |= 1u << k;
		}
	}
	if ((seen & 3) != 3) /* swap lines are optional */
		return -EBADMSG;
	*ret = m;
	return 0;
}

int procfs_parse_meminfo(const char *buf, size_t len, struct meminfo *ret)
{
	struct procfs_hint hint = { 0 };
	return procfs_parse_meminfo_hinted(buf, len, &hint, ret);
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
