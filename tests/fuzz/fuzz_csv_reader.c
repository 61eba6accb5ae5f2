/* The CSV reader of `profkit report`, and everything behind it: the input is read as CSV
 * directly, then loaded as a recording (the bytes after the first NUL, if any, become its
 * system.csv) and reported in every format. Properties: no crash, every field lies inside
 * the input or the reader's scratch buffer, line numbers never go back, a failure always
 * names the file, and no output lets a name through unescaped. */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "input/csv_reader.h"
#include "output/report.h"
#include "report/compare.h"
#include "report/report.h"

int fuzz_csv_reader(const uint8_t *data, size_t size);

static void check_fields(const struct csv_reader *r, const char *data, size_t size)
{
	for (size_t i = 0; i < r->nfields; i++) {
		size_t len;
		const char *f = csv_reader_field(r, i, &len);
		bool in_data = f >= data && f + len <= data + size;
		bool in_scratch = r->scratch.buf && f >= r->scratch.buf &&
				  f + len <= r->scratch.buf + r->scratch.len;
		FUZZ_CHECK(in_data || in_scratch || len == 0);
		volatile char sink = 0;
		for (size_t k = 0; k < len; k++) /* ASan checks every byte */
			sink ^= f[k];
		(void)sink;
	}
}

static void read_directly(const uint8_t *data, size_t size)
{
	struct csv_reader r;
	const char *d = (const char *)data;
	if (csv_reader_open_mem(&r, "fuzz.csv", data, size) < 0) {
		FUZZ_CHECK(!strncmp(r.error, "fuzz.csv", 8));
		csv_reader_close(&r);
		return;
	}
	uint64_t line = 0;
	int e;
	while ((e = csv_reader_next(&r)) > 0) {
		FUZZ_CHECK(r.rec_line > line);
		line = r.rec_line;
		check_fields(&r, d, size);
		for (size_t i = 0; i < r.nfields; i++) {
			double v;
			int pe = csv_reader_double(&r, i, &v);
			FUZZ_CHECK(pe == 0 || pe == -ENODATA || pe == -EINVAL);
			FUZZ_CHECK(pe != 0 || isfinite(v));
		}
		csv_reader_check_width(&r);
	}
	FUZZ_CHECK(e == 0 || !strncmp(r.error, "fuzz.csv:", 9));
	csv_reader_close(&r);
}

static char scratch[64];

static void remove_scratch(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/samples.csv", scratch);
	unlink(path);
	snprintf(path, sizeof(path), "%s/system.csv", scratch);
	unlink(path);
	rmdir(scratch);
}

/* A scratch directory for the recording, made once per process, removed at exit. */
static const char *scratch_dir(void)
{
	if (!scratch[0]) {
		snprintf(scratch, sizeof(scratch), "/tmp/profkit-fuzz-csv.XXXXXX");
		if (!mkdtemp(scratch))
			abort();
		atexit(remove_scratch);
	}
	return scratch;
}

static void write_file(const char *dir, const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	while (size) {
		ssize_t n = write(fd, data, size);
		if (n <= 0)
			abort();
		data += n;
		size -= (size_t)n;
	}
	close(fd);
}

/* Bytes that a terminal or a browser would act on must not survive into the output. */
static void check_escaped(const struct strbuf *sb, const char *forbidden)
{
	for (size_t i = 0; i < sb->len; i++) {
		unsigned char c = (unsigned char)sb->buf[i];
		FUZZ_CHECK(c == '\n' || c >= 0x20);
		FUZZ_CHECK(!strchr(forbidden, c) || c == 0);
	}
}

static void render_all(const struct recording *rec)
{
	struct report *r;
	struct comparison *c;
	if (report_build(rec, &r) < 0)
		return;
	struct strbuf sb = STRBUF_INIT;
	report_text(&sb, r, "fuzz", true);
	check_escaped(&sb, "\x1b");
	sb_reset(&sb);
	report_json(&sb, r, "fuzz");
	check_escaped(&sb, "<>");
	sb_reset(&sb);
	report_markdown(&sb, r, "fuzz");
	check_escaped(&sb, "<>");
	sb_reset(&sb);
	report_csv(&sb, r);
	report_free(r);
	if (comparison_build(rec, rec, &c) == 0) {
		sb_reset(&sb);
		comparison_text(&sb, c, "a", "b");
		comparison_json(&sb, c, "a", "b");
		comparison_markdown(&sb, c, "a", "b");
		comparison_csv(&sb, c);
		comparison_free(c);
	}
	sb_free(&sb);
}

static void load_and_report(const uint8_t *data, size_t size)
{
	const char *dir = scratch_dir();
	const uint8_t *nul = memchr(data, 0, size);
	size_t head = nul ? (size_t)(nul - data) : size;
	char path[128];
	write_file(dir, "samples.csv", data, head);
	snprintf(path, sizeof(path), "%s/system.csv", dir);
	if (nul)
		write_file(dir, "system.csv", nul + 1, size - head - 1);
	else
		unlink(path);
	struct recording *rec;
	char err[1024];
	if (recording_load(dir, &rec, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] == '/' || !strcmp(err, "out of memory"));
		return;
	}
	render_all(rec);
	recording_free(rec);
}

int fuzz_csv_reader(const uint8_t *data, size_t size)
{
	read_directly(data, size);
	load_and_report(data, size);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_csv_reader(data, size); }
#endif
