/* CSV field quoting and the out_file that never leaves a torn row behind. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "output/csv.h"

static const char *field(struct strbuf *sb, const char *s)
{
	sb_reset(sb);
	csv_add_field(sb, s);
	return sb_str(sb);
}

static void test_plain_fields_unquoted(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(field(&sb, "abc"), "abc");
	assert_string_equal(field(&sb, ""), "");
	assert_string_equal(field(&sb, "with space;semi'quote\ttab"), "with space;semi'quote\ttab");
	sb_free(&sb);
}

static void test_special_fields_quoted(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(field(&sb, "a,b"), "\"a,b\"");
	assert_string_equal(field(&sb, "say \"hi\""), "\"say \"\"hi\"\"\"");
	assert_string_equal(field(&sb, "\""), "\"\"\"\"");
	assert_string_equal(field(&sb, "cr\rhere"), "\"cr\rhere\"");
	assert_string_equal(field(&sb, "line\nbreak"), "\"line\nbreak\"");
	assert_string_equal(field(&sb, ",\",\n"), "\",\"\",\n\"");
	sb_free(&sb);
}

/* A temp file, unlinked at once; its fd is returned. */
static int temp_file(void)
{
	char path[] = "/tmp/profkit-test-csv-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static char *contents(int fd, size_t *len)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf = calloc(1, (size_t)size + 1);
	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	*len = (size_t)size;
	return buf;
}

static void test_flush_writes_complete_rows(void **state)
{
	struct out_file f;
	out_file_init(&f, temp_file());
	assert_int_equal(out_file_flush(&f), 0); /* nothing pending */
	sb_adds(&f.pending, "a,b\n1,2\n");
	assert_int_equal(out_file_flush(&f), 0);
	assert_int_equal(f.pending.len, 0);
	sb_adds(&f.pending, "3,4\n");
	assert_int_equal(out_file_flush(&f), 0);
	assert_int_equal(f.size, 12);
	size_t len;
	char *text = contents(f.fd, &len);
	assert_string_equal(text, "a,b\n1,2\n3,4\n");
	free(text);
	out_file_close(&f);
	assert_int_equal(f.fd, -1);
}

static void test_flush_disk_full_drops_pending(void **state)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct out_file f;
	out_file_init(&f, fd);
	sb_adds(&f.pending, "1,2\n");
	assert_int_equal(out_file_flush(&f), -ENOSPC);
	assert_int_equal(f.pending.len, 0);
	assert_int_equal(f.size, 0);
	out_file_close(&f);
}

/* The file-size limit makes write() stop half-way through a flush, as a full disk does:
 * the file must be cut back to the rows flushed before, and later flushes continue there. */
static void test_flush_failing_half_way_truncates_back(void **state)
{
	struct out_file f;
	out_file_init(&f, temp_file());
	sb_adds(&f.pending, "header\n");
	assert_int_equal(out_file_flush(&f), 0);

	struct rlimit old;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
	struct rlimit small = { .rlim_cur = 20, .rlim_max = old.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	sb_adds(&f.pending, "row-that-does-not-fit-in-the-limit\n");
	int r = out_file_flush(&f);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);

	assert_int_equal(r, -EFBIG);
	assert_int_equal(f.pending.len, 0);
	size_t len;
	char *text = contents(f.fd, &len);
	assert_string_equal(text, "header\n");
	free(text);

	sb_adds(&f.pending, "next\n");
	assert_int_equal(out_file_flush(&f), 0);
	text = contents(f.fd, &len);
	assert_string_equal(text, "header\nnext\n");
	free(text);
	out_file_close(&f);
}

static void test_flush_after_allocation_failure(void **state)
{
	struct out_file f;
	out_file_init(&f, temp_file());
	sb_adds(&f.pending, "partial");
	f.pending.failed = true;
	assert_int_equal(out_file_flush(&f), -ENOMEM);
	assert_int_equal(f.pending.len, 0);
	assert_false(f.pending.failed);
	size_t len;
	free(contents(f.fd, &len));
	assert_int_equal(len, 0);
	out_file_close(&f);
}

static void test_write_all(void **state)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write_all(p[1], "hello", 5), 0);
	char buf[8] = { 0 };
	assert_int_equal(read(p[0], buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	close(p[0]);
	close(p[1]);
	assert_int_equal(write_all(p[1], "x", 1), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_fields_unquoted),
		cmocka_unit_test(test_special_fields_quoted),
		cmocka_unit_test(test_flush_writes_complete_rows),
		cmocka_unit_test(test_flush_disk_full_drops_pending),
		cmocka_unit_test(test_flush_failing_half_way_truncates_back),
		cmocka_unit_test(test_flush_after_allocation_failure),
		cmocka_unit_test(test_write_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
