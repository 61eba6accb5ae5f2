/* The "Key: value" parsers: /proc/PID/status, /proc/PID/io, /proc/PID/smaps_rollup and
 * /proc/meminfo, on captured files and hostile ones. */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "proc/procfs.h"

/* Runs one of the parsers on a string copied to an exactly sized buffer. */
#define PARSE_STR(fn, s, ret)                                  \
	({                                                     \
		size_t len_ = strlen(s);                       \
		char *buf_ = dup_exact((s), len_);             \
		int r_ = fn(buf_, len_, (ret));                \
		free(buf_);                                    \
		r_;                                            \
	})

#define PARSE_FIXTURE(fn, name, ret)                           \
	({                                                     \
		size_t len_;                                   \
		char *buf_ = fixture_read((name), &len_);      \
		int r_ = fn(buf_, len_, (ret));                \
		free(buf_);                                    \
		r_;                                            \
	})

/* The fixture cut just after the first occurrence of `after` (which must be there). */
static int parse_status_cut_after(const char *name, const char *after, struct proc_status *st)
{
	size_t len;
	char *full = fixture_read(name, &len);
	const char *at = strstr(full, after);
	assert_non_null(at);
	size_t n = (size_t)(at - full) + strlen(after);
	char *cut = dup_exact(full, n);
	int r = procfs_parse_status(cut, n, st);
	free(cut);
	free(full);
	return r;
}

/* ---- status ---- */

static void test_status_normal(void **state)
{
	struct proc_status st;
	assert_int_equal(PARSE_FIXTURE(procfs_parse_status, "normal.status", &st), 0);
	assert_int_equal(st.have, STATUS_HAVE_SWAP | STATUS_HAVE_CTX | STATUS_HAVE_UID |
					  STATUS_HAVE_THREADS | STATUS_HAVE_TGID | STATUS_HAVE_RSS);
	assert_int_equal(st.tgid, 5310);
	/* Exact, where the same moment's stat says 445 pages (1780 kB): normal.stat. */
	assert_int_equal(st.vm_rss_kb, 1888);
	assert_int_equal(st.vm_swap_kb, 0);
	assert_int_equal(st.ctx_voluntary, 1);
	assert_int_equal(st.ctx_involuntary, 0);
	assert_int_equal(st.uid, 0);
	assert_int_equal(st.threads, 1);
}

static void test_status_kernel_thread_has_no_swap_line(void **state)
{
	struct proc_status st;
	assert_int_equal(PARSE_FIXTURE(procfs_parse_status, "kthread.status", &st), 0);
	assert_int_equal(st.have, STATUS_HAVE_CTX | STATUS_HAVE_UID | STATUS_HAVE_THREADS |
					  STATUS_HAVE_TGID);
	assert_int_equal(st.tgid, 2);
	assert_int_equal(st.ctx_voluntary, 58);
	assert_int_equal(st.threads, 1);
}

static void test_status_zombie(void **state)
{
	struct proc_status st;
	assert_int_equal(PARSE_FIXTURE(procfs_parse_status, "zombie.status", &st), 0);
	assert_false(st.have & STATUS_HAVE_SWAP);
	assert_false(st.have & STATUS_HAVE_RSS); /* no memory left: no Vm lines */
	assert_true(st.have & STATUS_HAVE_CTX);
	assert_int_equal(st.ctx_voluntary, 2);
	assert_int_equal(st.ctx_involuntary, 0);
}

static void test_status_multithreaded(void **state)
{
	struct proc_status st;
	assert_int_equal(PARSE_FIXTURE(procfs_parse_status, "multithread.status", &st), 0);
	assert_int_equal(st.threads, 4);
	assert_int_equal(st.vm_rss_kb, 13576);
	assert_int_equal(st.ctx_voluntary, 36);
	assert_int_equal(st.ctx_involuntary, 6);
}

/* Only the exact key counts: VmRSS, not a longer key that starts with it, nor a shorter
 * one; the value must be a whole number that fits bytes. */
static void test_status_rss(void **state)
{
	struct proc_status st;
	assert_int_equal(PARSE_STR(procfs_parse_status,
				   "VmRSSx:\t1 kB\nVmRS:\t2 kB\nVmRSS :\t3 kB\nVmRSS:\t   4096 kB\n"
				   "Threads:\t1\n",
				   &st),
			 0);
	assert_int_equal(st.have, STATUS_HAVE_RSS | STATUS_HAVE_THREADS);
	assert_int_equal(st.vm_rss_kb, 4096);
	assert_int_equal(PARSE_STR(procfs_parse_status, "VmRSS:\t18014398509481983 kB\n", &st), 0);
	assert_true(st.vm_rss_kb == UINT64_MAX / 1024);
	assert_int_equal(PARSE_STR(procfs_parse_status, "VmRSS:\t18014398509481984 kB\n", &st),
			 -EBADMSG);
	assert_int_equal(PARSE_STR(procfs_parse_status, "VmRSS:\t-5 kB\nVmRSS:\tx\n", &st),
			 -EBADMSG);
	/* Cut in the number: "1888" may be "18880". */
	assert_int_equal(parse_status_cut_after("normal.status", "VmRSS:\t    18", &st), 0);
	assert_false(st.have & STATUS_HAVE_RSS);
}

static void test_status_values(void **state)
{
	struct proc_status st;
	assert_int_equal(PARSE_STR(procfs_parse_status,
				   "Name:\tx\nUid:\t1000\t1000\t1000\t1000\nVmSwap:\t     128 kB\n"
				   "Threads:\t7\nvoluntary_ctxt_switches:\t11\n"
				   "nonvoluntary_ctxt_switches:\t22\n",
				   &st),
			 0);
	assert_int_equal(st.uid, 1000);
	assert_int_equal(st.vm_swap_kb, 128);
	assert_int_equal(st.threads, 7);
	assert_int_equal(st.ctx_voluntary, 11);
	assert_int_equal(st.ctx_involuntary, 22);
}

/* Cut between the two context-switch lines: a count of 0 would be made up. */
static void test_status_cut_between_ctx_lines(void **state)
{
	struct proc_status st;
	assert_int_equal(parse_status_cut_after("multithread.status", "voluntary_ctxt_switches:\t36\n",
						&st),
			 0);
	assert_false(st.have & STATUS_HAVE_CTX);
	assert_true(st.have & STATUS_HAVE_THREADS);
}

static void test_status_cut_in_a_number(void **state)
{
	struct proc_status st;
	assert_int_equal(parse_status_cut_after("multithread.status", "Threads:\t", &st), 0);
	assert_false(st.have & STATUS_HAVE_THREADS);
	/* "nonvoluntary_ctxt_switches:\t6" without its newline may be "6" of "64". */
	size_t len;
	char *full = fixture_read("multithread.status", &len);
	assert_int_equal(full[len - 1], '\n');
	assert_int_equal(procfs_parse_status(full, len - 1, &st), 0);
	assert_false(st.have & STATUS_HAVE_CTX);
	free(full);
}

static void test_status_empty_or_junk(void **state)
{
	struct proc_status st;
	assert_int_equal(PARSE_STR(procfs_parse_status, "", &st), -EBADMSG);
	assert_int_equal(PARSE_STR(procfs_parse_status, "\n\n::\n", &st), -EBADMSG);
	assert_int_equal(PARSE_STR(procfs_parse_status, "Threads: x\nUid: -1\n", &st), -EBADMSG);
}

static void test_status_overflow(void **state)
{
	struct proc_status st;
	assert_int_equal(PARSE_STR(procfs_parse_status,
				   "Uid:\t4294967296\nThreads:\t9223372036854775808\n"
				   "VmSwap:\t18014398509481984 kB\n"
				   "voluntary_ctxt_switches:\t18446744073709551616\n"
				   "nonvoluntary_ctxt_switches:\t1\nThreads2:\t1\n",
				   &st),
			 -EBADMSG);
	assert_int_equal(PARSE_STR(procfs_parse_status,
				   "Uid:\t4294967295\nVmSwap:\t18014398509481983 kB\n"
				   "Threads:\t9223372036854775807\n",
				   &st),
			 0);
	assert_int_equal(st.uid, (uid_t)4294967295u);
	assert_true(st.vm_swap_kb == UINT64_MAX / 1024);
	assert_true(st.threads == INT64_MAX);
}

/* ---- io ---- */

static void test_io_fixtures(void **state)
{
	struct proc_io io;
	assert_int_equal(PARSE_FIXTURE(procfs_parse_io, "multithread.io", &io), 0);
	assert_int_equal(io.rchar, 1685836);
	assert_int_equal(io.wchar, 1695);
	assert_int_equal(io.read_bytes, 282624);
	assert_int_equal(io.write_bytes, 0);
	assert_int_equal(io.cancelled_write_bytes, 0);
	assert_int_equal(PARSE_FIXTURE(procfs_parse_io, "normal.io", &io), 0);
	assert_int_equal(io.rchar, 6976);
	assert_int_equal(PARSE_FIXTURE(procfs_parse_io, "kthread.io", &io), 0);
	assert_int_equal(io.rchar, 0);
}

static void test_io_values_and_optional_cancelled(void **state)
{
	struct proc_io io;
	assert_int_equal(PARSE_STR(procfs_parse_io,
				   "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\n"
				   "write_bytes: 18446744073709551615\n",
				   &io),
			 0);
	assert_int_equal(io.rchar, 1);
	assert_int_equal(io.wchar, 2);
	assert_int_equal(io.read_bytes, 5);
	assert_true(io.write_bytes == UINT64_MAX);
	assert_int_equal(io.cancelled_write_bytes, 0);
}

static void test_io_missing_cut_or_overflowing(void **state)
{
	struct proc_io io;
	assert_int_equal(PARSE_STR(procfs_parse_io, "", &io), -EBADMSG);
	/* no rchar */
	assert_int_equal(PARSE_STR(procfs_parse_io, "wchar: 2\nread_bytes: 5\nwrite_bytes: 6\n", &io),
			 -EBADMSG);
	/* write_bytes cut in its number */
	assert_int_equal(PARSE_STR(procfs_parse_io,
				   "rchar: 1\nwchar: 2\nread_bytes: 5\nwrite_bytes: 4", &io),
			 -EBADMSG);
	assert_int_equal(PARSE_STR(procfs_parse_io,
				   "rchar: 18446744073709551616\nwchar: 2\nread_bytes: 5\n"
				   "write_bytes: 6\n",
				   &io),
			 -EBADMSG);
	assert_int_equal(PARSE_STR(procfs_parse_io,
				   "rchar: -1\nwchar: 2\nread_bytes: 5\nwrite_bytes: 6\n", &io),
			 -EBADMSG);
}

/* ---- smaps_rollup ---- */

static void test_smaps_rollup_fixtures(void **state)
{
	struct proc_pss pss;
	assert_int_equal(PARSE_FIXTURE(procfs_parse_smaps_rollup, "normal.smaps_rollup", &pss), 0);
	assert_int_equal(pss.pss, 434 * 1024);
	assert_int_equal(pss.uss, (40 + 108) * 1024);
	assert_int_equal(PARSE_FIXTURE(procfs_parse_smaps_rollup, "multithread.smaps_rollup", &pss),
			 0);
	assert_int_equal(pss.pss, 12055 * 1024);
	assert_int_equal(pss.uss, (4988 + 6920) * 1024);
}

static void test_smaps_rollup_empty_for_kthread_and_zombie(void **state)
{
	struct proc_pss pss;
	assert_int_equal(PARSE_FIXTURE(procfs_parse_smaps_rollup, "kthread.smaps_rollup", &pss),
			 -EBADMSG);
	assert_int_equal(PARSE_FIXTURE(procfs_parse_smaps_rollup, "zombie.smaps_rollup", &pss),
			 -EBADMSG);
}

static void test_smaps_rollup_missing_or_huge(void **state)
{
	struct proc_pss pss;
	assert_int_equal(PARSE_STR(procfs_parse_smaps_rollup,
				   "Pss: 1 kB\nPrivate_Clean: 2 kB\n", &pss),
			 -EBADMSG);
	/* Would wrap around when converted to bytes and added. */
	assert_int_equal(PARSE_STR(procfs_parse_smaps_rollup,
				   "Pss: 1 kB\nPrivate_Clean: 9007199254740992 kB\n"
				   "Private_Dirty: 9007199254740992 kB\n",
				   &pss),
			 -EBADMSG);
	assert_int_equal(PARSE_STR(procfs_parse_smaps_rollup,
				   "Pss: 1 kB\nPrivate_Clean: 9007199254740991 kB\n"
				   "Private_Dirty: 9007199254740991 kB\n",
				   &pss),
			 0);
	assert_true(pss.uss == 9007199254740991ull * 2048);
}

/* ---- meminfo ---- */

static void test_meminfo_fixture(void **state)
{
	struct meminfo m;
	assert_int_equal(PARSE_FIXTURE(procfs_parse_meminfo, "meminfo", &m), 0);
	assert_int_equal(m.total, 24684092ull * 1024);
	assert_int_equal(m.available, 24324552ull * 1024);
	assert_int_equal(m.swap_total, 0);
	assert_int_equal(m.swap_free, 0);
}

static void test_meminfo_with_and_without_swap_lines(void **state)
{
	struct meminfo m;
	assert_int_equal(PARSE_STR(procfs_parse_meminfo,
				   "MemTotal:  100 kB\nMemFree:  50 kB\nMemAvailable:  80 kB\n", &m),
			 0);
	assert_int_equal(m.total, 102400);
	assert_int_equal(m.available, 81920);
	assert_int_equal(m.swap_total, 0);
	assert_int_equal(m.swap_free, 0);
	assert_int_equal(PARSE_STR(procfs_parse_meminfo,
				   "MemTotal: 100 kB\nMemAvailable: 80 kB\nSwapTotal: 2048 kB\n"
				   "SwapFree: 1024 kB\n",
				   &m),
			 0);
	assert_int_equal(m.swap_total, 2048 * 1024);
	assert_int_equal(m.swap_free, 1024 * 1024);
}

static void test_meminfo_missing_or_overflowing(void **state)
{
	struct meminfo m;
	assert_int_equal(PARSE_STR(procfs_parse_meminfo, "", &m), -EBADMSG);
	assert_int_equal(PARSE_STR(procfs_parse_meminfo, "MemTotal: 100 kB\nMemFree: 50 kB\n", &m),
			 -EBADMSG);
	assert_int_equal(PARSE_STR(procfs_parse_meminfo,
				   "MemTotal: 18014398509481984 kB\nMemAvailable: 80 kB\n", &m),
			 -EBADMSG);
	assert_int_equal(PARSE_STR(procfs_parse_meminfo, "MemTotal: 100 kB\nMemAvailable: 8", &m),
			 -EBADMSG);
}

/* ---- hints ---- */

static void assert_status_equal(const struct proc_status *a, const struct proc_status *b)
{
	assert_int_equal(a->have, b->have);
	assert_int_equal(a->vm_rss_kb, b->vm_rss_kb);
	assert_int_equal(a->vm_swap_kb, b->vm_swap_kb);
	assert_int_equal(a->ctx_voluntary, b->ctx_voluntary);
	assert_int_equal(a->ctx_involuntary, b->ctx_involuntary);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->threads, b->threads);
	assert_int_equal(a->tgid, b->tgid);
}

/* A hint only says where to look first: with any hint at all (stale, past the end, in the
 * middle of a line, learned from another file) a file parses as it does without one. */
static void test_status_hint_never_changes_the_result(void **state)
{
	static const char *const names[] = { "normal.status", "kthread.status", "zombie.status",
					     "multithread.status" };
	struct procfs_hint learned = { 0 };
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t len;
		char *full = fixture_read(names[f], &len);
		char *buf = dup_exact(full, len);
		struct proc_status want, got;
		int wr = procfs_parse_status(buf, len, &want);
		assert_int_equal(wr, 0);
		/* What another process's file taught, then what this one's did. */
		for (int round = 0; round < 2; round++) {
			assert_int_equal(procfs_parse_status_hinted(buf, len, &learned, &got), 0);
			assert_status_equal(&got, &want);
		}
		for (uint32_t off = 0; off <= len + 2; off++) {
			struct procfs_hint h;
			for (unsigned k = 0; k < 8; k++)
				h.off[k] = (off + 131 * k) % (uint32_t)(len + 3);
			assert_int_equal(procfs_parse_status_hinted(buf, len, &h, &got), 0);
			assert_status_equal(&got, &want);
		}
		free(buf);
		free(full);
	}
}

/* The next reading moved every key (a longer State line, wider numbers): the learned hint
 * is wrong everywhere, and the values are still right; then it is learned again. */
static void test_status_hint_follows_a_moved_file(void **state)
{
	const char *a = "Name:\tx\nState:\tS (sleeping)\nTgid:\t7\nUid:\t0\t0\t0\t0\n"
			"VmRSS:\t     100 kB\nVmSwap:\t       0 kB\nThreads:\t1\n"
			"voluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t6\n";
	const char *b = "Name:\tlonger name\nState:\tD (disk sleep)\nTgid:\t7\n"
			"Uid:\t1000\t1000\t1000\t1000\nVmRSS:\t  123456 kB\n"
			"VmSwap:\t       8 kB\nThreads:\t12\nvoluntary_ctxt_switches:\t50000\n"
			"nonvoluntary_ctxt_switches:\t60000\n";
	struct procfs_hint h = { 0 };
	struct proc_status st;
	assert_int_equal(procfs_parse_status_hinted(a, strlen(a), &h, &st), 0);
	assert_int_equal(st.vm_rss_kb, 100);
	assert_int_equal(h.off[2], strstr(a, "VmRSS") - a);
	assert_int_equal(procfs_parse_status_hinted(b, strlen(b), &h, &st), 0);
	assert_int_equal(st.uid, 1000);
	assert_int_equal(st.vm_rss_kb, 123456);
	assert_int_equal(st.vm_swap_kb, 8);
	assert_int_equal(st.threads, 12);
	assert_int_equal(st.ctx_voluntary, 50000);
	assert_int_equal(st.ctx_involuntary, 60000);
	assert_int_equal(h.off[2], strstr(b, "VmRSS") - b);
	/* Keys in another order than the kernel's are still found. */
	const char *c = "nonvoluntary_ctxt_switches:\t2\nThreads:\t3\nVmRSS:\t4 kB\n"
			"voluntary_ctxt_switches:\t1\nTgid:\t9\n";
	assert_int_equal(procfs_parse_status_hinted(c, strlen(c), &h, &st), 0);
	assert_int_equal(st.have, STATUS_HAVE_CTX | STATUS_HAVE_THREADS | STATUS_HAVE_RSS |
					  STATUS_HAVE_TGID);
	assert_int_equal(st.ctx_voluntary, 1);
	assert_int_equal(st.ctx_involuntary, 2);
	assert_int_equal(st.tgid, 9);
}

static void test_io_and_meminfo_hints_never_change_the_result(void **state)
{
	size_t len;
	char *io_full = fixture_read("multithread.io", &len);
	char *io_file = dup_exact(io_full, len);
	free(io_full);
	struct proc_io io_want, io;
	assert_int_equal(procfs_parse_io(io_file, len, &io_want), 0);
	for (uint32_t off = 0; off <= len + 2; off++) {
		struct procfs_hint h;
		for (unsigned k = 0; k < 8; k++)
			h.off[k] = (off + 17 * k) % (uint32_t)(len + 3);
		assert_int_equal(procfs_parse_io_hinted(io_file, len, &h, &io), 0);
		assert_memory_equal(&io, &io_want, sizeof(io));
	}
	free(io_file);
	char *mem_full = fixture_read("meminfo", &len);
	char *mem_file = dup_exact(mem_full, len);
	free(mem_full);
	struct meminfo m_want, m;
	assert_int_equal(procfs_parse_meminfo(mem_file, len, &m_want), 0);
	for (uint32_t off = 0; off <= len + 2; off++) {
		struct procfs_hint h;
		for (unsigned k = 0; k < 8; k++)
			h.off[k] = (off + 97 * k) % (uint32_t)(len + 3);
		assert_int_equal(procfs_parse_meminfo_hinted(mem_file, len, &h, &m), 0);
		assert_memory_equal(&m, &m_want, sizeof(m));
	}
	free(mem_file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_normal),
		cmocka_unit_test(test_status_kernel_thread_has_no_swap_line),
		cmocka_unit_test(test_status_zombie),
		cmocka_unit_test(test_status_multithreaded),
		cmocka_unit_test(test_status_rss),
		cmocka_unit_test(test_status_values),
		cmocka_unit_test(test_status_cut_between_ctx_lines),
		cmocka_unit_test(test_status_cut_in_a_number),
		cmocka_unit_test(test_status_empty_or_junk),
		cmocka_unit_test(test_status_overflow),
		cmocka_unit_test(test_status_hint_never_changes_the_result),
		cmocka_unit_test(test_status_hint_follows_a_moved_file),
		cmocka_unit_test(test_io_and_meminfo_hints_never_change_the_result),
		cmocka_unit_test(test_io_fixtures),
		cmocka_unit_test(test_io_values_and_optional_cancelled),
		cmocka_unit_test(test_io_missing_cut_or_overflowing),
		cmocka_unit_test(test_smaps_rollup_fixtures),
		cmocka_unit_test(test_smaps_rollup_empty_for_kthread_and_zombie),
		cmocka_unit_test(test_smaps_rollup_missing_or_huge),
		cmocka_unit_test(test_meminfo_fixture),
		cmocka_unit_test(test_meminfo_with_and_without_swap_lines),
		cmocka_unit_test(test_meminfo_missing_or_overflowing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
