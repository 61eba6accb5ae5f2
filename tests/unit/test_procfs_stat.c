/* procfs_parse_stat on captured /proc/PID/stat files and on hostile ones. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proc/procfs.h"

/* Fields 3..24 and a few more, with a known value in every field the parser keeps:
 * ppid 1, minflt 10, majflt 20, utime 30, stime 40, num_threads 3, starttime 500,
 * vsize 600, rss 700. */
#define TAIL "R 1 1 1 0 -1 0 10 0 20 0 30 40 0 0 20 0 3 0 500 600 700 0 0\n"

static int parse_str(const char *s, struct proc_stat *st)
{
	size_t len = strlen(s);
	char *buf = dup_exact(s, len);
	int r = procfs_parse_stat(buf, len, st);
	free(buf);
	return r;
}

static int parse_fixture(const char *name, struct proc_stat *st)
{
	size_t len;
	char *buf = fixture_read(name, &len);
	int r = procfs_parse_stat(buf, len, st);
	free(buf);
	return r;
}

static void assert_tail_values(const struct proc_stat *st)
{
	assert_int_equal(st->state, 'R');
	assert_int_equal(st->ppid, 1);
	assert_int_equal(st->minflt, 10);
	assert_int_equal(st->majflt, 20);
	assert_int_equal(st->utime, 30);
	assert_int_equal(st->stime, 40);
	assert_int_equal(st->num_threads, 3);
	assert_int_equal(st->starttime, 500);
	assert_int_equal(st->vsize, 600);
	assert_int_equal(st->rss, 700);
}

static void test_normal_process(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_fixture("normal.stat", &st), 0);
	assert_int_equal(st.pid, 5310);
	assert_string_equal(st.comm, "sleep");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 5307);
	assert_int_equal(st.minflt, 137);
	assert_int_equal(st.majflt, 0);
	assert_int_equal(st.num_threads, 1);
	assert_int_equal(st.starttime, 66877);
	assert_int_equal(st.vsize, 2990080);
	assert_int_equal(st.rss, 445);
}

static void test_kernel_thread(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_fixture("kthread.stat", &st), 0);
	assert_int_equal(st.pid, 2);
	assert_string_equal(st.comm, "kthreadd");
	assert_int_equal(st.ppid, 0);
	assert_int_equal(st.num_threads, 1);
	assert_int_equal(st.starttime, 24);
	assert_int_equal(st.vsize, 0);
	assert_int_equal(st.rss, 0);
}

static void test_zombie(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_fixture("zombie.stat", &st), 0);
	assert_int_equal(st.pid, 5324);
	assert_int_equal(st.state, 'Z');
	assert_int_equal(st.ppid, 5322);
	assert_int_equal(st.minflt, 96);
	assert_int_equal(st.starttime, 66888);
	assert_int_equal(st.vsize, 0);
	assert_int_equal(st.rss, 0);
}

static void test_multithreaded(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_fixture("multithread.stat", &st), 0);
	assert_int_equal(st.pid, 5333);
	assert_string_equal(st.comm, "python3");
	assert_int_equal(st.minflt, 2908);
	assert_int_equal(st.majflt, 2);
	assert_int_equal(st.utime, 5);
	assert_int_equal(st.stime, 1);
	assert_int_equal(st.num_threads, 4);
	assert_int_equal(st.starttime, 66941);
	assert_int_equal(st.vsize, 243515392);
	assert_int_equal(st.rss, 3368);
}

static void test_comm_with_parens_spaces_newline(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_str("1234 (a) b\n(c) " TAIL, &st), 0);
	assert_int_equal(st.pid, 1234);
	assert_string_equal(st.comm, "a) b\n(c");
	assert_tail_values(&st);
}

static void test_comm_that_looks_like_fields(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_str("77 (x) S 9 9 (y) " TAIL, &st), 0);
	assert_string_equal(st.comm, "x) S 9 9 (y");
	assert_tail_values(&st);
}

static void test_comm_empty_and_only_parens(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_str("5 () " TAIL, &st), 0);
	assert_string_equal(st.comm, "");
	assert_int_equal(parse_str("5 ())(() " TAIL, &st), 0);
	assert_string_equal(st.comm, "))((");
	assert_tail_values(&st);
}

static void test_comm_longer_than_buffer_is_cut(void **state)
{
	char line[512], name[101];
	memset(name, 'n', 100);
	name[100] = '\0';
	snprintf(line, sizeof(line), "8 (%s) %s", name, TAIL);
	struct proc_stat st;
	assert_int_equal(parse_str(line, &st), 0);
	assert_int_equal(strlen(st.comm), PROC_COMM_MAX - 1);
	assert_tail_values(&st);
}

static void test_negative_ignored_fields_accepted(void **state)
{
	/* tty, tpgid, cutime, cstime, priority, nice may legitimately be negative. */
	struct proc_stat st;
	assert_int_equal(
		parse_str("9 (n) R 1 1 1 -5 -1 0 10 0 20 0 30 40 -3 -4 -100 -20 3 0 500 600 700 0\n",
			  &st),
		0);
	assert_tail_values(&st);
}

static void test_negative_kept_fields_rejected(void **state)
{
	struct proc_stat st;
	/* ppid -1 */
	assert_int_equal(parse_str("9 (n) R -1 1 1 0 -1 0 10 0 20 0 30 40 0 0 20 0 3 0 500 600 700 0\n",
				   &st),
			 -EBADMSG);
	/* utime -30 would otherwise wrap to 18446744073709551586 ticks */
	assert_int_equal(parse_str("9 (n) R 1 1 1 0 -1 0 10 0 20 0 -30 40 0 0 20 0 3 0 500 600 700 0\n",
				   &st),
			 -EBADMSG);
	/* num_threads -3 */
	assert_int_equal(parse_str("9 (n) R 1 1 1 0 -1 0 10 0 20 0 30 40 0 0 20 0 -3 0 500 600 700 0\n",
				   &st),
			 -EBADMSG);
}

static void test_huge_values_exact(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_str("2147483647 (h) R 2147483647 1 1 0 -1 0 18446744073709551615 0 "
				   "20 0 30 40 0 0 20 0 9223372036854775807 0 500 "
				   "18446744073709551615 700 0\n",
				   &st),
			 0);
	assert_int_equal(st.pid, INT32_MAX);
	assert_int_equal(st.ppid, INT32_MAX);
	assert_true(st.minflt == UINT64_MAX);
	assert_true(st.num_threads == INT64_MAX);
	assert_true(st.vsize == UINT64_MAX);
}

static void test_overflowing_numbers_rejected(void **state)
{
	struct proc_stat st;
	/* utime one past UINT64_MAX */
	assert_int_equal(parse_str("9 (n) R 1 1 1 0 -1 0 10 0 20 0 18446744073709551616 40 0 0 20 0 "
				   "3 0 500 600 700 0\n",
				   &st),
			 -EBADMSG);
	/* ppid that does not fit a pid_t */
	assert_int_equal(parse_str("9 (n) R 2147483648 1 1 0 -1 0 10 0 20 0 30 40 0 0 20 0 3 0 500 "
				   "600 700 0\n",
				   &st),
			 -EBADMSG);
	/* num_threads past INT64_MAX */
	assert_int_equal(parse_str("9 (n) R 1 1 1 0 -1 0 10 0 20 0 30 40 0 0 20 0 "
				   "9223372036854775808 0 500 600 700 0\n",
				   &st),
			 -EBADMSG);
	/* an ignored field past UINT64_MAX */
	assert_int_equal(parse_str("9 (n) R 1 1 1 0 -1 99999999999999999999999 10 0 20 0 30 40 0 0 "
				   "20 0 3 0 500 600 700 0\n",
				   &st),
			 -EBADMSG);
}

static void test_bad_pid_rejected(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_str("0 (n) " TAIL, &st), -EBADMSG);
	assert_int_equal(parse_str("-1 (n) " TAIL, &st), -EBADMSG);
	assert_int_equal(parse_str("2147483648 (n) " TAIL, &st), -EBADMSG);
	assert_int_equal(parse_str("x (n) " TAIL, &st), -EBADMSG);
}

static void test_missing_or_malformed_fields(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_str("", &st), -EBADMSG);
	assert_int_equal(parse_str("1234", &st), -EBADMSG);
	assert_int_equal(parse_str("1234 (abc", &st), -EBADMSG);
	assert_int_equal(parse_str("1234 abc) " TAIL, &st), -EBADMSG);
	assert_int_equal(parse_str("1234 (abc) ", &st), -EBADMSG);
	assert_int_equal(parse_str("1234 (abc) R 1 2 3\n", &st), -EBADMSG);
	assert_int_equal(parse_str("1234 (abc) R 1 1 1 0 -1 0 x 0 20 0 30 40 0 0 20 0 3 0 500 600 "
				   "700 0\n",
				   &st),
			 -EBADMSG);
}

/* Every prefix of a real file that ends before rss is complete must be rejected (a
 * truncated number would be a made-up value); every longer prefix parses the same. */
static void test_every_truncation_of_real_file(void **state)
{
	size_t len;
	char *full = fixture_read("multithread.stat", &len);
	const char *rss_end = strstr(full, " 243515392 3368 ");
	assert_non_null(rss_end);
	size_t complete = (size_t)(rss_end - full) + strlen(" 243515392 3368 ");
	for (size_t n = 0; n <= len; n++) {
		char *cut = dup_exact(full, n);
		struct proc_stat st;
		int r = procfs_parse_stat(cut, n, &st);
		free(cut);
		if (n < complete) {
			assert_int_equal(r, -EBADMSG);
		} else {
			assert_int_equal(r, 0);
			assert_int_equal(st.rss, 3368);
			assert_int_equal(st.num_threads, 4);
		}
	}
	free(full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal_process),
		cmocka_unit_test(test_kernel_thread),
		cmocka_unit_test(test_zombie),
		cmocka_unit_test(test_multithreaded),
		cmocka_unit_test(test_comm_with_parens_spaces_newline),
		cmocka_unit_test(test_comm_that_looks_like_fields),
		cmocka_unit_test(test_comm_empty_and_only_parens),
		cmocka_unit_test(test_comm_longer_than_buffer_is_cut),
		cmocka_unit_test(test_negative_ignored_fields_accepted),
		cmocka_unit_test(test_negative_kept_fields_rejected),
		cmocka_unit_test(test_huge_values_exact),
		cmocka_unit_test(test_overflowing_numbers_rejected),
		cmocka_unit_test(test_bad_pid_rejected),
		cmocka_unit_test(test_missing_or_malformed_fields),
		cmocka_unit_test(test_every_truncation_of_real_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
