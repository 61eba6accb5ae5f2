/* The flamegraph SVG: a golden file for a fixed input (so that a rendering change is a
 * deliberate one: PK_UPDATE_GOLDEN=1 rewrites it), escaping of hostile names, colours,
 * merging of narrow frames, and well-formed XML (checked by python3's XML parser). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "output/flamegraph.h"
#include "output/folded.h"
#include "output/xml.h"

static struct stack_profile *from_folded(const char *text)
{
	struct stack_profile *p = NULL;
	assert_int_equal(stack_profile__new(NULL, &p), 0);
	struct folded_result res;
	assert_int_equal(folded_read(p, text, strlen(text), 0, FOLDED_STRICT, &res), 0);
	return p;
}

static char *render(const struct stack_profile *p, const struct flamegraph_opts *o)
{
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(flamegraph_write(&sb, p, 0, true, o), 0);
	char *s = strdup(sb_str(&sb));
	sb_free(&sb);
	return s;
}

/* Parses the SVG with python3's XML parser: it must be well-formed. */
static void assert_well_formed(const char *svg)
{
	char path[] = "/tmp/pk-flame-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(svg);
	assert_int_equal(write(fd, svg, len), (ssize_t)len);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' %s",
		 path);
	int st = system(cmd);
	unlink(path);
	if (st != 0)
		fail_msg("the SVG is not well-formed XML (python3 exit status %d)", st);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const char golden_input[] =
	"main_[c];parse_[c];lex_[c] 300000\n"
	"main_[c];parse_[c] 200000\n"
	"main_[c];compute_[c];sqrt_[c] 1000000\n"
	"main_[o];read_[o];vfs_read_[k]_[o] 2497747\n"
	"main_[o];nanosleep_[o] 1500\n"
	"<module> (app.py);handler (app.py) 750\n"
	"main_[c];tiny_[c] 3\n";

static void test_golden(void **state)
{
	struct stack_profile *p = from_folded(golden_input);
	struct flamegraph_opts o = { .title = "profkit test \"golden\"" };
	char *svg = render(p, &o);
	char path[4096];
	snprintf(path, sizeof(path), "%s/basic.svg", env_dir("GOLDEN"));
	const char *update = getenv("PK_UPDATE_GOLDEN");
	if (update && *update == '1') {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(svg, f);
		assert_int_equal(fclose(f), 0);
	}
	size_t len;
	char *golden = file_read(path, &len);
	if (!golden)
		fail_msg("cannot read %s (PK_UPDATE_GOLDEN=1 writes it)", path);
	if (strcmp(golden, svg) != 0) {
		size_t i = 0;
		while (golden[i] && golden[i] == svg[i])
			i++;
		fail_msg("%s differs at byte %zu: got \"%.60s\", want \"%.60s\"; if the change is "
			 "deliberate, rerun with PK_UPDATE_GOLDEN=1 and check the image", path, i,
			 svg + i, golden + i);
	}
	assert_well_formed(svg);
	free(golden);
	free(svg);
	stack_profile__free(p);
}

/* Facts of the golden rendering checked directly, so that the golden file cannot drift
 * into nonsense unnoticed. */
static void test_content(void **state)
{
	struct stack_profile *p = from_folded(golden_input);
	char *svg = render(p, NULL);
	/* on-CPU 0.3 + 0.2 + 1.0 s + 3 µs, off-CPU 2.497747 s + 1.5 ms, Python 750 µs: 4 s. */
	assert_non_null(strstr(svg, ">on-CPU 1.50 s, off-CPU 2.50 s, other 750 \xc2\xb5s</text>"));
	assert_non_null(strstr(svg, ">Flame Graph</text>"));
	assert_non_null(strstr(svg, "<title>all\n4.00 s (100.00%)</title>"));
	assert_non_null(strstr(svg, "<title>compute_[c]\n1.00 s (25.00%)</title>"));
	assert_non_null(strstr(svg, "<title>parse_[c]\n500.00 ms (12.50%), self 200.00 ms</title>"));
	assert_non_null(strstr(svg, "<title>nanosleep_[o]\n1.50 ms (0.04%)</title>"));
	assert_non_null(strstr(svg, "<title>vfs_read_[k]_[o]\n2.50 s (62.44%)</title>"));
	assert_non_null(strstr(svg, "<title>handler (app.py)\n750 \xc2\xb5s (0.02%)</title>"));
	/* tiny (3 µs, 0.0009 px) is narrower than 0.1 px: not drawn. */
	assert_null(strstr(svg, "tiny"));
	/* Exactly one script, inline, and nothing loaded from elsewhere. */
	assert_int_equal(count(svg, "<script"), 1);
	assert_null(strstr(svg, "href"));
	assert_null(strstr(svg, "src="));
	/* Zoom, reset, search, matched share and details are wired. */
	assert_non_null(strstr(svg, "onload=\"pkInit(evt)\""));
	assert_non_null(strstr(svg, "id=\"pk-reset\""));
	assert_non_null(strstr(svg, "id=\"pk-search\""));
	assert_non_null(strstr(svg, "'Matched: '"));
	assert_non_null(strstr(svg, "id=\"pk-details\""));
	/* Children of main_[c] by name: compute, parse (x of compute < x of parse). */
	const char *c = strstr(svg, "<title>compute_[c]"), *ps = strstr(svg, "<title>parse_[c]");
	assert_true(c && ps && c < ps);
	free(svg);
	stack_profile__free(p);
}

/* The fill of the box whose title starts with name. */
static void fill_of(const char *svg, const char *name, unsigned rgb[3])
{
	char needle[256];
	snprintf(needle, sizeof(needle), "<title>%s\n", name);
	const char *t = strstr(svg, needle);
	if (!t)
		fail_msg("no box '%s'", name);
	const char *f = strstr(t, "fill=\"rgb(");
	assert_non_null(f);
	assert_int_equal(sscanf(f, "fill=\"rgb(%u,%u,%u)", &rgb[0], &rgb[1], &rgb[2]), 3);
}

static void test_colours(void **state)
{
	struct stack_profile *p = from_folded(golden_input);
	char *svg = render(p, NULL);
	unsigned c[3];
	const char *warm[] = { "main_[c]", "parse_[c]", "lex_[c]", "compute_[c]", "sqrt_[c]" };
	for (size_t i = 0; i < 5; i++) {
		fill_of(svg, warm[i], c);
		if (!(c[0] >= 205 && c[1] <= 200 && c[2] <= 60 && c[0] > c[2] + 100))
			fail_msg("%s is rgb(%u,%u,%u), not warm", warm[i], c[0], c[1], c[2]);
	}
	const char *blue[] = { "main_[o]", "read_[o]", "vfs_read_[k]_[o]", "nanosleep_[o]" };
	for (size_t i = 0; i < 4; i++) {
		fill_of(svg, blue[i], c);
		if (!(c[2] >= 200 && c[0] <= 100 && c[2] > c[0] + 100))
			fail_msg("%s is rgb(%u,%u,%u), not blue", blue[i], c[0], c[1], c[2]);
	}
	fill_of(svg, "handler (app.py)", c);
	assert_true(c[1] >= 170 && c[1] > c[0] + 50 && c[1] > c[2] + 50); /* green */

	/* Deterministic: the same name, the same shade, in another profile too. */
	unsigned again[3];
	fill_of(svg, "sqrt_[c]", c);
	struct stack_profile *q = from_folded("other_[c];sqrt_[c] 5\n");
	char *svg2 = render(q, NULL);
	fill_of(svg2, "sqrt_[c]", again);
	assert_memory_equal(c, again, sizeof(c));
	free(svg2);
	stack_profile__free(q);
	free(svg);
	stack_profile__free(p);
}

static void test_hostile_names_escaped(void **state)
{
	struct stack_profile *p = NULL;
	assert_int_equal(stack_profile__new(NULL, &p), 0);
	const char *names[] = { "<script>alert(1)</script>", "a&b", "say \"hi\" 'there'",
				"bad\xff\xc3(utf8", "ctl\x01\x1b[31m", "]]><x/>" };
	uint32_t ids[6];
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(stack_profile__frame(p, names[i], i == 1 ? "<mod>&" : NULL,
						      FRAME_USER, STATE_ON_CPU, &ids[i]), 0);
	uint32_t s;
	assert_int_equal(stack_profile__stack(p, ids, 6, &s), 0);
	assert_int_equal(stack_profile__add(p, 1, s, 1000), 0);
	struct flamegraph_opts o = { .title = "<b>title</b> & co", .subtitle = "sub\"<i>" };
	char *svg = render(p, &o);
	assert_int_equal(count(svg, "<script"), 1); /* ours */
	assert_null(strstr(svg, "<script>alert"));
	assert_null(strstr(svg, "<x/>"));
	assert_null(strstr(svg, "<b>"));
	assert_null(strstr(svg, "<i>"));
	assert_null(strstr(svg, "\x01"));
	assert_null(strstr(svg, "\x1b"));
	assert_null(strstr(svg, "\xff"));
	assert_non_null(strstr(svg, "&lt;script&gt;alert(1)&lt;/script&gt;_[c]"));
	assert_non_null(strstr(svg, ">a&amp;b_[c]\n"));
	assert_non_null(strstr(svg, "module &lt;mod&gt;&amp;</title>"));
	assert_non_null(strstr(svg, "say &quot;hi&quot; &#39;there&#39;_[c]"));
	assert_non_null(strstr(svg, "bad\xef\xbf\xbd\xef\xbf\xbd(utf8_[c]"));
	assert_non_null(strstr(svg, "ctl??[31m_[c]"));
	assert_non_null(strstr(svg, "]]&gt;&lt;x/&gt;_[c]"));
	assert_non_null(strstr(svg, ">&lt;b&gt;title&lt;/b&gt; &amp; co</text>"));
	assert_non_null(strstr(svg, ">sub&quot;&lt;i&gt;</text>"));
	assert_well_formed(svg);
	free(svg);
	stack_profile__free(p);
}

static void test_xml_escape(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(xml_add_escaped(&sb, "a<b>&\"'", SIZE_MAX), 0);
	assert_string_equal(sb_str(&sb), "a&lt;b&gt;&amp;&quot;&#39;");
	sb_reset(&sb);
	/* Cut by characters, not bytes: é is one. 3 of 6 characters are left out. */
	assert_int_equal(xml_add_escaped(&sb, "\xc3\xa9t\xc3\xa9-x!", 3), 3);
	assert_string_equal(sb_str(&sb), "\xc3\xa9t\xc3\xa9");
	sb_reset(&sb);
	/* Overlong, surrogate, above U+10FFFF, truncated sequence, U+FFFE, tab and newline. */
	xml_add_escaped(&sb, "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82|\xef\xbf\xbe|\t\n",
			SIZE_MAX);
	assert_string_equal(sb_str(&sb), "\xef\xbf\xbd\xef\xbf\xbd|"
					 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
					 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
					 "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|"
					 "\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(xml_char_count("\xc3\xa9\xff!"), 3);
	/* A valid 4-byte character stays. */
	sb_reset(&sb);
	xml_add_escaped(&sb, "\xf0\x9f\x94\xa5", SIZE_MAX);
	assert_string_equal(sb_str(&sb), "\xf0\x9f\x94\xa5");
	sb_free(&sb);
}

static void test_narrow_frames_merged(void **state)
{
	struct stack_profile *p = NULL;
	assert_int_equal(stack_profile__new(NULL, &p), 0);
	struct strbuf text = STRBUF_INIT;
	sb_adds(&text, "main;big 1000000\n");
	for (int i = 0; i < 5000; i++)
		sb_addf(&text, "main;small_%04d;deeper 2\n", i);
	struct folded_result res;
	assert_int_equal(folded_read(p, text.buf, text.len, 0, FOLDED_STRICT, &res), 0);
	sb_free(&text);
	char *svg = render(p, NULL);
	/* 5000 frames of 0.002 px each are one box of 11.6 px; their children are not drawn. */
	assert_non_null(strstr(svg, "<title>[5000 narrow frames]\n10.00 ms (0.99%)</title>"));
	assert_null(strstr(svg, "small_"));
	assert_null(strstr(svg, "deeper"));
	assert_int_equal(count(svg, "<g>") + count(svg, "<g class="), 4); /* all main big run */
	assert_true(strlen(svg) < 16000);

	/* A larger min_width drops the merged box too; a tiny one draws every frame. */
	struct flamegraph_opts o = { .min_width = 20 };
	char *svg2 = render(p, &o);
	assert_null(strstr(svg2, "narrow frames"));
	free(svg2);
	o.min_width = 1e-6;
	svg2 = render(p, &o);
	assert_int_equal(count(svg2, "<title>small_"), 5000);
	assert_int_equal(count(svg2, "<title>deeper"), 5000);
	free(svg2);
	assert_well_formed(svg);
	free(svg);
	stack_profile__free(p);
}

static void test_empty_and_threads(void **state)
{
	struct stack_profile *p = NULL;
	assert_int_equal(stack_profile__new(NULL, &p), 0);
	char *svg = render(p, NULL);
	assert_non_null(strstr(svg, ">No samples</text>"));
	assert_non_null(strstr(svg, ">total 0 \xc2\xb5s</text>"));
	assert_well_formed(svg);
	free(svg);

	uint32_t a, b, sa, sb_;
	assert_int_equal(stack_profile__frame(p, "ta", NULL, FRAME_USER, STATE_ON_CPU, &a), 0);
	assert_int_equal(stack_profile__frame(p, "tb", NULL, FRAME_USER, STATE_ON_CPU, &b), 0);
	assert_int_equal(stack_profile__stack(p, &a, 1, &sa), 0);
	assert_int_equal(stack_profile__stack(p, &b, 1, &sb_), 0);
	assert_int_equal(stack_profile__add(p, 100, sa, 10), 0);
	assert_int_equal(stack_profile__add(p, 200, sb_, 30), 0);
	struct strbuf out = STRBUF_INIT;
	assert_int_equal(flamegraph_write(&out, p, 200, false, NULL), 0);
	assert_null(strstr(sb_str(&out), "ta_[c]"));
	assert_non_null(strstr(sb_str(&out), "<title>tb_[c]\n30 \xc2\xb5s (100.00%)</title>"));
	sb_free(&out);
	stack_profile__free(p);
}

static void test_durations(void **state)
{
	static const struct {
		uint64_t us;
		const char *text;
	} cases[] = {
		{ 0, "0 \xc2\xb5s" },	      { 999, "999 \xc2\xb5s" },  { 1000, "1.00 ms" },
		{ 12346, "12.35 ms" },	      { 999994, "999.99 ms" },  { 1000000, "1.00 s" },
		{ 4200000, "4.20 s" },	      { 3600000000ULL, "3600.00 s" },
	};
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sb_reset(&sb);
		flamegraph_add_duration(&sb, cases[i].us);
		assert_string_equal(sb_str(&sb), cases[i].text);
	}
	sb_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_colours),
		cmocka_unit_test(test_hostile_names_escaped),
		cmocka_unit_test(test_xml_escape),
		cmocka_unit_test(test_narrow_frames_merged),
		cmocka_unit_test(test_empty_and_threads),
		cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
