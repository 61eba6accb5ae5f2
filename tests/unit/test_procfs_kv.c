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
					  STATUS_HAVE_THREADS | STATUS_HAVE_TGID);
	assert_int_equal(st.tgid, 5310);
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
	assert_true(st.have & STATUS_HAVE_CTX);
	assert_int_equal(st.ctx_voluntary, 2);
	assert_int_equal(st.ctx_involuntary, 0);
}

static void test_status_multithreaded(void **state)
{
	struct proc_status st;
	assert_int_equal(PARSE_FIXTURE(procfs_parse_status, "multithread.status", &st), 0);
	assert_int_equal(st.threads, 4);
	assert_int_equal(st.ctx_voluntary, 36);
	assert_int_equal(st.ctx_involuntary, 6);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_normal),
		cmocka_unit_test(test_status_kernel_thread_has_no_swap_line),
		cmocka_unit_test(test_status_zombie),
		cmocka_unit_test(test_status_multithreaded),
		cmocka_unit_test(test_status_values),
		cmocka_unit_test(test_status_cut_between_ctx_lines),
		cmocka_unit_test(test_status_cut_in_a_number),
		cmocka_unit_test(test_status_empty_or_junk),
		cmocka_unit_test(test_status_overflow),
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
