/* The CSV reader (src/input/csv_reader.c) on good and hostile input: RFC 4180 quoting, CRLF,
 * truncated files, malformed quotes, numbers, and error positions. Also replays the fuzz
 * target's seeds through its body. */
#include "report_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "input/csv_reader.h"

int fuzz_csv_reader(const uint8_t *data, size_t size);

/* Opens s from an exactly sized copy (no NUL after it), so that ASan sees any overread;
 * the caller frees *ret_copy after closing. */
static int open_str(struct csv_reader *r, const char *s, char **ret_copy)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	memcpy(copy, s, len);
	*ret_copy = copy;
	return csv_reader_open_mem(r, "t.csv", copy, len);
}

static void assert_field(const struct csv_reader *r, size_t col, const char *want)
{
	size_t len;
	const char *f = csv_reader_field(r, col, &len);
	if (len != strlen(want) || memcmp(f, want, len))
		fail_msg("field %zu is '%.*s', expected '%s'", col, (int)len, f, want);
}

static void test_basic(void **state)
{
	(void)state;
	struct csv_reader r;
	char *buf;
	assert_int_equal(open_str(&r, "pid,name,cpu\n1,a,2.5\n2,b,\n", &buf), 0);
	assert_int_equal(r.ncols, 3);
	assert_int_equal(csv_reader_column(&r, "name"), 1);
	assert_int_equal(csv_reader_column(&r, "nope"), -1);
	assert_int_equal(csv_reader_next(&r), 1);
	assert_true(r.rec_complete);
	assert_int_equal(r.rec_line, 2);
	assert_field(&r, 1, "a");
	double v;
	assert_int_equal(csv_reader_double(&r, 2, &v), 0);
	assert_close(v, 2.5, 0);
	assert_int_equal(csv_reader_next(&r), 1);
	assert_int_equal(csv_reader_double(&r, 2, &v), -ENODATA); /* empty: a missing value */
	assert_int_equal(csv_reader_check_width(&r), 0);
	assert_int_equal(csv_reader_next(&r), 0);
	csv_reader_close(&r);
	free(buf);
}

static void test_crlf_and_empty_lines(void **state)
{
	(void)state;
	struct csv_reader r;
	char *buf;
	assert_int_equal(open_str(&r, "a,b\r\n\r\n1,2\r\n\n3,4\r\n", &buf), 0);
	assert_field(&r, 1, "b"); /* the header's last name has no CR */
	assert_int_equal(csv_reader_next(&r), 1);
	assert_int_equal(r.rec_line, 3);
	assert_field(&r, 1, "2");
	assert_int_equal(csv_reader_next(&r), 1);
	assert_int_equal(r.rec_line, 5);
	assert_field(&r, 0, "3");
	assert_field(&r, 1, "4");
	assert_int_equal(csv_reader_next(&r), 0);
	csv_reader_close(&r);
	free(buf);
}

static void test_quoted(void **state)
{
	(void)state;
	struct csv_reader r;
	char *buf;
	const char *in = "n,v\n\"a,b\",1\n\"say \"\"hi\"\"\",2\n\"two\nlines\",3\n\"\",4\n"
			 "\"<script>\",5\n";
	assert_int_equal(open_str(&r, in, &buf), 0);
	assert_int_equal(csv_reader_next(&r), 1);
	assert_field(&r, 0, "a,b");
	assert_int_equal(csv_reader_next(&r), 1);
	assert_field(&r, 0, "say \"hi\"");
	assert_field(&r, 1, "2");
	assert_int_equal(csv_reader_next(&r), 1);
	assert_field(&r, 0, "two\nlines");
	assert_int_equal(r.rec_line, 4);
	assert_int_equal(csv_reader_next(&r), 1);
	assert_int_equal(r.rec_line, 6); /* the line end inside quotes counted */
	assert_field(&r, 0, "");
	assert_int_equal(csv_reader_next(&r), 1);
	assert_field(&r, 0, "<script>");
	assert_int_equal(csv_reader_next(&r), 0);
	csv_reader_close(&r);
	free(buf);
}

static void test_quoted_crlf_and_bom(void **state)
{
	(void)state;
	struct csv_reader r;
	char *buf;
	assert_int_equal(open_str(&r, "\xef\xbb\xbfx,y\r\n\"1\",\"2\"\r\n\"3\"\"\",4", &buf), 0);
	assert_field(&r, 0, "x"); /* the BOM is not part of the first name */
	assert_int_equal(csv_reader_next(&r), 1);
	assert_true(r.rec_complete);
	assert_field(&r, 1, "2");
	assert_int_equal(csv_reader_next(&r), 1);
	assert_false(r.rec_complete); /* no line end: what a killed recording leaves */
	assert_field(&r, 0, "3\"");
	assert_int_equal(csv_reader_next(&r), 0);
	csv_reader_close(&r);
	free(buf);
}

static void test_truncated_last_line(void **state)
{
	(void)state;
	struct csv_reader r;
	char *buf;
	assert_int_equal(open_str(&r, "a,b,c\n1,2,3\n4,5", &buf), 0);
	assert_int_equal(csv_reader_next(&r), 1);
	assert_true(r.rec_complete);
	assert_int_equal(csv_reader_next(&r), 1);
	assert_false(r.rec_complete);
	assert_int_equal(r.nfields, 2);
	assert_int_equal(csv_reader_next(&r), 0);
	csv_reader_close(&r);
	free(buf);
	/* Cut right after a separator: the last field is empty, the record still incomplete. */
	assert_int_equal(open_str(&r, "a,b\n1,", &buf), 0);
	assert_int_equal(csv_reader_next(&r), 1);
	assert_false(r.rec_complete);
	assert_int_equal(r.nfields, 2);
	csv_reader_close(&r);
	free(buf);
	/* Cut inside a quoted name on its own line: incomplete, not an error. */
	assert_int_equal(open_str(&r, "a,b\n1,\"abc", &buf), 0);
	assert_int_equal(csv_reader_next(&r), 1);
	assert_false(r.rec_complete);
	assert_field(&r, 1, "abc");
	csv_reader_close(&r);
	free(buf);
}

static void expect_error(const char *in, const char *message)
{
	struct csv_reader r;
	char *buf;
	int e = open_str(&r, in, &buf);
	while (e >= 0 && (e = csv_reader_next(&r)) > 0 && (e = csv_reader_check_width(&r)) == 0)
		;
	if (e >= 0)
		fail_msg("no error for %s", in);
	if (strcmp(r.error, message))
		fail_msg("error '%s', expected '%s'", r.error, message);
	csv_reader_close(&r);
	free(buf);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("a,b\n1,\"open\n2,3\n",
		     "t.csv:2:3: quoted field is not closed before the end of the file");
	expect_error("a,b\n1,ab\"c\n", "t.csv:2:5: stray '\"' inside an unquoted field");
	expect_error("a,b\n1,\"ab\"c\n", "t.csv:2:7: unexpected character after a closing quote");
	expect_error("a,b,c\n1,2,3\n1,2\n", "t.csv:3: 2 fields, but the header has 3 columns");
	expect_error("a,b\n1,2,3\n", "t.csv:2: 3 fields, but the header has 2 columns");
	expect_error("a,a\n", "t.csv:1:3: column 'a' appears twice in the header");
	expect_error("", "t.csv: empty file");
	expect_error("\n\r\n\n", "t.csv: empty file");
	/* The line of an error after a multi-line quoted field. */
	expect_error("a,b\n\"x\ny\",1\n\"z\",2\"\n",
		     "t.csv:4:6: stray '\"' inside an unquoted field");
}

static void test_nul_and_width_limits(void **state)
{
	(void)state;
	struct csv_reader r;
	char in[] = "a\0b,c\n";
	char *copy = malloc(sizeof(in) - 1);
	memcpy(copy, in, sizeof(in) - 1);
	assert_int_equal(csv_reader_open_mem(&r, "t.csv", copy, sizeof(in) - 1), -EINVAL);
	assert_non_null(strstr(r.error, "t.csv:1:2: NUL byte (not a text file?)"));
	csv_reader_close(&r);
	free(copy);
	/* A NUL further down, in the first 64 KiB, is found at once with its line. */
	char late[] = "a,b\n1,2\n3\0";
	copy = malloc(sizeof(late) - 1);
	memcpy(copy, late, sizeof(late) - 1);
	assert_int_equal(csv_reader_open_mem(&r, "t.csv", copy, sizeof(late) - 1), -EINVAL);
	assert_string_equal(r.error, "t.csv:3:2: NUL byte (not a text file?)");
	csv_reader_close(&r);
	free(copy);
	/* Two MiB without a line end is no CSV header. */
	size_t big = 2 << 20;
	char *line = malloc(big);
	memset(line, 'x', big);
	assert_int_equal(csv_reader_open_mem(&r, "t.csv", line, big), -EINVAL);
	assert_string_equal(r.error, "t.csv:1: no line end in the first MiB (not a CSV file?)");
	csv_reader_close(&r);
	free(line);
	/* 70000 fields on one line: refused, not allocated. */
	size_t n = 70000 * 2;
	char *wide = malloc(n);
	for (size_t i = 0; i < n; i += 2) {
		wide[i] = 'x';
		wide[i + 1] = ',';
	}
	wide[n - 1] = '\n';
	assert_int_equal(csv_reader_open_mem(&r, "t.csv", wide, n), -EINVAL);
	assert_non_null(strstr(r.error, "more than 65536 fields"));
	csv_reader_close(&r);
	free(wide);
}

static void test_number_errors(void **state)
{
	(void)state;
	struct csv_reader r;
	char *buf;
	assert_int_equal(open_str(&r, "pid,cpu_percent\n1,abc\n2,1e999\n3, 5\n", &buf), 0);
	double v;
	assert_int_equal(csv_reader_next(&r), 1);
	assert_int_equal(csv_reader_double(&r, 1, &v), -EINVAL);
	assert_string_equal(r.error, "t.csv:2:3: cpu_percent: 'abc' is not a number");
	assert_int_equal(csv_reader_next(&r), 1);
	assert_int_equal(csv_reader_double(&r, 1, &v), -EINVAL);
	assert_string_equal(r.error, "t.csv:3:3: cpu_percent: '1e999' is out of range");
	assert_int_equal(csv_reader_next(&r), 1);
	assert_int_equal(csv_reader_double(&r, 1, &v), -EINVAL);
	csv_reader_close(&r);
	free(buf);
}

static void parse_ok(const char *s, double want)
{
	double v;
	if (csv_parse_double(s, strlen(s), &v) != 0)
		fail_msg("'%s' rejected", s);
	if (v != want && !(v == 0 && want == 0))
		fail_msg("'%s' gave %.17g, expected %.17g", s, v, want);
}

static void parse_bad(const char *s)
{
	double v;
	if (csv_parse_double(s, strlen(s), &v) == 0)
		fail_msg("'%s' accepted as %.17g", s, v);
}

static void test_parse_double(void **state)
{
	(void)state;
	parse_ok("0", 0);
	parse_ok("-0.0", 0);
	parse_ok("12.50", 12.5);
	parse_ok("+7", 7);
	parse_ok(".5", 0.5);
	parse_ok("5.", 5);
	parse_ok("000123", 123);
	parse_ok("1795371783.509935", 1795371783.509935);
	parse_ok("0.000001", 1e-6);
	parse_ok("1e3", 1000);
	parse_ok("2.5E-3", 0.0025);
	parse_ok("123456789012345678901234567890", 1.2345678901234568e29);
	parse_ok("9007199254740993", 9007199254740992.0); /* 2^53 + 1 rounds to even */
	parse_ok("0.1", 0.1);
	parse_ok("1e-320", 1e-320);
	parse_bad("");
	parse_bad("-");
	parse_bad(".");
	parse_bad("1e");
	parse_bad("1e+");
	parse_bad("0x10");
	parse_bad("inf");
	parse_bad("nan");
	parse_bad(" 1");
	parse_bad("1 ");
	parse_bad("1,5");
	parse_bad("--1");
	parse_bad("1.2.3");
	double v;
	assert_int_equal(csv_parse_double("1e400", 5, &v), -ERANGE);
}

/* The fast path must round exactly like strtod, on random numbers of every shape. */
static void test_parse_double_vs_strtod(void **state)
{
	(void)state;
	srand(11);
	char s[64];
	for (int i = 0; i < 200000; i++) {
		int shape = i % 4;
		unsigned long long a =
			((unsigned long long)rand() << 31) ^ (unsigned long long)rand();
		if (shape == 0)
			snprintf(s, sizeof(s), "%llu.%06d", a % 10000000000ULL, rand() % 1000000);
		else if (shape == 1)
			snprintf(s, sizeof(s), "%.*f", rand() % 10,
				 (rand() - RAND_MAX / 2) / 1000.0);
		else if (shape == 2)
			snprintf(s, sizeof(s), "%llue%d", a % 100000000000000000ULL,
				 rand() % 60 - 30);
		else
			snprintf(s, sizeof(s), "%.17g", (double)a * 1e-7);
		double want = strtod(s, NULL), got;
		if (csv_parse_double(s, strlen(s), &got) != 0 || got != want)
			fail_msg("'%s': %.17g, strtod %.17g", s, got, want);
	}
}

static void test_open_files(void **state)
{
	(void)state;
	struct csv_reader r;
	assert_int_equal(csv_reader_open(&r, "/nonexistent/x.csv"), -ENOENT);
	assert_string_equal(r.error, "/nonexistent/x.csv: cannot open: No such file or directory");
	csv_reader_close(&r);
	assert_int_equal(csv_reader_open(&r, "/tmp"), -EISDIR);
	csv_reader_close(&r);
	char path[] = "/tmp/profkit-csv-test.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(csv_reader_open(&r, path), -ENODATA); /* empty */
	csv_reader_close(&r);
	assert_int_equal(write(fd, "a,b\n1,2\n", 8), 8);
	close(fd);
	assert_int_equal(csv_reader_open(&r, path), 0); /* mapped */
	assert_true(r.mapped);
	assert_int_equal(csv_reader_next(&r), 1);
	assert_field(&r, 1, "2");
	csv_reader_close(&r);
	unlink(path);
}

/* Every seed of the fuzz target through its body: the same checks the fuzzer makes. */
static void test_fuzz_seeds(void **state)
{
	(void)state;
	const char *dir = getenv("CSV_READER_SEEDS");
	if (!dir)
		fail_msg("CSV_READER_SEEDS is not set: run with meson test");
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		if (e->d_name[0] == '.' || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		int fd = open(path, O_RDONLY);
		char *buf = malloc((size_t)st.st_size + 1);
		assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
		close(fd);
		fuzz_csv_reader((const uint8_t *)buf, (size_t)st.st_size);
		free(buf);
		n++;
	}
	closedir(d);
	assert_true(n >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_crlf_and_empty_lines),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_quoted_crlf_and_bom),
		cmocka_unit_test(test_truncated_last_line),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul_and_width_limits),
		cmocka_unit_test(test_number_errors),
		cmocka_unit_test(test_parse_double),
		cmocka_unit_test(test_parse_double_vs_strtod),
		cmocka_unit_test(test_open_files),
		cmocka_unit_test(test_fuzz_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
