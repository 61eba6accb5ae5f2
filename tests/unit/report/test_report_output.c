/* The output formats of `profkit report` (src/output/report_*.c) and the comparison
 * (src/report/compare.c): escaping of hostile names, CSV that reads back, sparklines, and
 * comparison verdicts on recordings that differ by a known amount. */
#include "report_test.h"

#include "input/csv_reader.h"
#include "output/report.h"
#include "recording_fixture.h"
#include "report/compare.h"
#include "report/report.h"

struct built {
	char *dir;
	struct recording *rec;
	struct report *report;
};

static struct built build(const char *samples, const char *system)
{
	struct built b = { 0 };
	b.rec = fixture_load(samples, system, &b.dir);
	assert_int_equal(report_build(b.rec, &b.report), 0);
	return b;
}

static void unbuild(struct built *b)
{
	report_free(b->report);
	recording_free(b->rec);
	fixture_rmdir(b->dir);
}

static void test_sparkline(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	double ramp[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	report_sparkline(&sb, ramp, 8, 8);
	assert_string_equal(sb_str(&sb), "▁▂▃▄▅▆▇█");
	sb_reset(&sb);
	double flat[] = { 5, 5, 5 };
	report_sparkline(&sb, flat, 3, 32); /* never wider than the series */
	assert_string_equal(sb_str(&sb), "▁▁▁");
	sb_reset(&sb);
	double gap[] = { 0, NAN, 1 };
	report_sparkline(&sb, gap, 3, 3);
	assert_string_equal(sb_str(&sb), "▁ █");
	sb_reset(&sb);
	double none[] = { NAN, NAN };
	report_sparkline(&sb, none, 2, 2);
	assert_string_equal(sb_str(&sb), "");
	/* 16 values into 4 characters: means of 4 each. */
	double wide[16];
	for (int i = 0; i < 16; i++)
		wide[i] = i < 8 ? 0 : 10;
	report_sparkline(&sb, wide, 16, 4);
	assert_string_equal(sb_str(&sb), "▁▁██");
	sb_free(&sb);
}

static void test_values(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	report_add_value(&sb, UNIT_SECONDS, 2.414);
	sb_addc(&sb, '|');
	report_add_value(&sb, UNIT_PERCENT, 16.57);
	sb_addc(&sb, '|');
	report_add_value(&sb, UNIT_BYTES, 206585856);
	sb_addc(&sb, '|');
	report_add_value(&sb, UNIT_COUNT, 49728);
	sb_addc(&sb, '|');
	report_add_value(&sb, UNIT_JOULES, NAN);
	assert_string_equal(sb_str(&sb), "2.41 s|16.6|197.0 MiB|49728|-");
	assert_close(report_mb_per_hour(1000), 3.6, 1e-12);
	sb_free(&sb);
}

static void test_escaping(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	report_add_text(&sb, "a\x1b[31mred\x7f\xff ok \xc3\xa9");
	assert_string_equal(sb_str(&sb), "a\\x1b[31mred\\x7f\\xff ok \xc3\xa9");
	sb_reset(&sb);
	report_add_markdown(&sb, "<script>|x*_`\\");
	assert_string_equal(sb_str(&sb), "&lt;script&gt;\\|x\\*\\_\\`\\\\");
	sb_free(&sb);
}

static void test_text(void **state)
{
	(void)state;
	struct built b = build(fixture_samples, fixture_system);
	struct strbuf sb = STRBUF_INIT;
	report_text(&sb, b.report, "rec/", false);
	const char *s = sb_str(&sb);
	assert_non_null(strstr(s, "process 100 make"));
	assert_non_null(strstr(s, "process 101 cc, \"the\" <b>compiler</b> (parent 100), exited"));
	assert_non_null(strstr(s, "process tree 100 make (2 processes)"));
	assert_non_null(
		strstr(s, "CPU %             mean 35.0   p50 35.0   p95 57.5   max 60.0\n"));
	assert_non_null(strstr(s, "machine (2 CPUs)"));
	assert_non_null(strstr(s, "energy            5.0 J, mean power 10.00 W"));
	assert_non_null(strstr(s, "PROFIT's heuristic"));
	assert_null(strstr(s, "▁")); /* sparklines only when asked */
	sb_reset(&sb);
	report_text(&sb, b.report, "rec/", true);
	assert_non_null(strstr(sb_str(&sb), "▁"));
	sb_free(&sb);
	unbuild(&b);
}

static void test_json(void **state)
{
	(void)state;
	struct built b = build(fixture_samples, fixture_system);
	struct strbuf sb = STRBUF_INIT;
	report_json(&sb, b.report, "rec/");
	const char *s = sb_str(&sb);
	assert_null(strchr(s, '<'));
	assert_non_null(
		strstr(s, "\"name\": \"cc, \\\"the\\\" \\u003cb\\u003ecompiler\\u003c/b\\u003e\""));
	assert_non_null(strstr(s, "\"memory_trend\": {"));
	assert_non_null(strstr(s, "\"verdict\": \"unknown\""));
	assert_non_null(strstr(s, "\"mem_swap_max\": null"));
	assert_non_null(strstr(s, "\"energy_j\": 5.000000"));
	sb_free(&sb);
	unbuild(&b);
}

static void test_markdown(void **state)
{
	(void)state;
	struct built b = build(fixture_samples, fixture_system);
	struct strbuf sb = STRBUF_INIT;
	report_markdown(&sb, b.report, "rec/");
	const char *s = sb_str(&sb);
	assert_null(strchr(s, '<'));
	assert_non_null(strstr(s, "| 101 | cc, \"the\" &lt;b&gt;compiler&lt;/b&gt; |"));
	assert_non_null(strstr(s, "## Process trees"));
	assert_non_null(strstr(s, "### Memory trend"));
	sb_free(&sb);
	unbuild(&b);
}

/* Every format leaves out the same memory that is not a measurement (the first sample's
 * uncounted 0, the zombie's 0): RSS min is the same 9.5 MiB everywhere. */
static void test_uncounted_memory_in_every_format(void **state)
{
	(void)state;
	struct built b = build(fixture_uncounted_samples, NULL);
	struct strbuf sb = STRBUF_INIT;
	report_text(&sb, b.report, "rec/", false);
	assert_non_null(strstr(sb_str(&sb), "RSS               min 9.5 MiB   mean 10.5 MiB"));
	sb_reset(&sb);
	report_json(&sb, b.report, "rec/");
	assert_non_null(strstr(sb_str(&sb), "\"mem_real\": {\n        \"samples\": 2,\n"));
	assert_non_null(strstr(sb_str(&sb), "\"min\": 9936896.0,\n        \"max\": 12095488.0"));
	sb_reset(&sb);
	report_markdown(&sb, b.report, "rec/");
	assert_non_null(strstr(sb_str(&sb), "| 9.5 MiB | 10.5 MiB | 11.5 MiB | 11.5 MiB |"));
	sb_reset(&sb);
	report_csv(&sb, b.report);
	assert_non_null(strstr(sb_str(&sb), ",0.060,9936896,11016192,11016192,"));
	sb_reset(&sb);
	report_html(&sb, b.report, "rec/");
	assert_non_null(strstr(sb_str(&sb), "<td class=\"n\">10.5 MiB</td>"));
	sb_free(&sb);
	unbuild(&b);
}

/* The CSV output reads back with profkit's own reader: every row as wide as the header. */
static void test_csv_reads_back(void **state)
{
	(void)state;
	struct built b = build(fixture_samples, fixture_system);
	struct strbuf sb = STRBUF_INIT;
	report_csv(&sb, b.report);
	struct csv_reader r;
	assert_int_equal(csv_reader_open_mem(&r, "out.csv", sb.buf, sb.len), 0);
	int name = csv_reader_column(&r, "name"), kind = csv_reader_column(&r, "kind");
	assert_true(name >= 0 && kind >= 0);
	int rows = 0, machine = 0;
	while (csv_reader_next(&r) > 0) {
		assert_true(r.rec_complete);
		assert_int_equal(csv_reader_check_width(&r), 0);
		size_t len;
		const char *k = csv_reader_field(&r, (size_t)kind, &len);
		machine += len == 7 && !memcmp(k, "machine", 7);
		const char *n = csv_reader_field(&r, (size_t)name, &len);
		if (len > 2 && !memcmp(n, "cc", 2))
			assert_int_equal(len, strlen("cc, \"the\" <b>compiler</b>"));
		rows++;
	}
	assert_int_equal(rows, 2 + 1 + 3); /* processes, the tree, the machine and 2 cores */
	assert_int_equal(machine, 3);
	csv_reader_close(&r);
	sb_free(&sb);
	unbuild(&b);
}

/* A single process over n ticks of 0.05 s: CPU alternating around cpu, RSS around rss. */
static char *steady_samples(int n, double cpu, double rss)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, SAMPLES_HEADER);
	for (int i = 0; i < n; i++)
		sb_addf(&sb,
			"9,app,%.2f,%.0f,3,99.000,%.6f,0,1,S,1,%.2f,0.00,1000,0,%d,0,0,0,0,0,0,0\n",
			cpu + (i % 2 ? 3 : -3), rss + (i % 3) * 4096.0, 100.0 + i * 0.05,
			i * 0.05 * cpu / 100, i * 100);
	return sb.buf;
}

static const struct cmp_row *row_of(const struct comparison *c, const char *key)
{
	for (size_t i = 0; i < c->sections[0].nrows; i++)
		if (!strcmp(c->sections[0].rows[i].key, key))
			return &c->sections[0].rows[i];
	fail_msg("no row %s", key);
	return NULL;
}

static void test_compare(void **state)
{
	(void)state;
	char *a_text = steady_samples(200, 40, 50e6), *b_text = steady_samples(300, 80, 50e6);
	struct built a = build(a_text, NULL), b = build(b_text, NULL), a2 = build(a_text, NULL);
	struct comparison *c;
	assert_int_equal(comparison_build(a.rec, a2.rec, &c), 0);
	assert_string_equal(c->sections[0].title, "all processes");
	for (size_t i = 0; i < c->sections[0].nrows; i++) {
		const struct cmp_row *row = &c->sections[0].rows[i];
		assert_true(row->verdict == CMP_SAME || row->verdict == CMP_NA);
	}
	comparison_free(c);

	assert_int_equal(comparison_build(a.rec, b.rec, &c), 0);
	const struct cmp_row *cpu = row_of(c, "cpu_percent_mean");
	assert_true(cpu->tested);
	assert_true(cpu->welch.p < 1e-6);
	assert_int_equal(cpu->verdict, CMP_HIGHER);
	assert_close(cpu->change_pct, 100, 1e-6);
	assert_string_equal(cmp_verdict_word(cpu), "higher");
	const struct cmp_row *dur = row_of(c, "duration_s");
	assert_false(dur->tested);
	assert_string_equal(cmp_verdict_word(dur), "slower"); /* 9.95 s -> 14.95 s */
	const struct cmp_row *rss = row_of(c, "rss_mean");
	assert_true(rss->tested);
	assert_string_equal(cmp_verdict_word(rss), "within noise");
	const struct cmp_row *read = row_of(c, "read_bytes");
	assert_string_equal(cmp_verdict_word(read), "higher");

	struct strbuf sb = STRBUF_INIT;
	comparison_text(&sb, c, "a/", "b/");
	assert_non_null(strstr(sb_str(&sb), "CPU % mean"));
	assert_non_null(strstr(sb_str(&sb), "higher (Welch p="));
	sb_reset(&sb);
	comparison_json(&sb, c, "a/", "b/");
	assert_non_null(strstr(sb_str(&sb), "\"test\": \"welch\""));
	sb_reset(&sb);
	comparison_csv(&sb, c);
	assert_non_null(strstr(sb_str(&sb), "all processes,cpu_percent_mean,%,"));
	sb_reset(&sb);
	comparison_markdown(&sb, c, "a/", "b/");
	assert_non_null(strstr(sb_str(&sb), "| CPU % mean |"));
	sb_free(&sb);
	comparison_free(c);
	unbuild(&a);
	unbuild(&b);
	unbuild(&a2);
	free(a_text);
	free(b_text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sparkline),      cmocka_unit_test(test_values),
		cmocka_unit_test(test_escaping),       cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),           cmocka_unit_test(test_markdown),
		cmocka_unit_test(test_csv_reads_back), cmocka_unit_test(test_compare),
		cmocka_unit_test(test_uncounted_memory_in_every_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
