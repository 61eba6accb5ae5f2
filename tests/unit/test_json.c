/* JSON string escaping and the pretty-printing emitter. */
#include "unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "output/json.h"

static const char *escaped(struct strbuf *sb, const char *s)
{
	sb_reset(sb);
	json_add_escaped(sb, s);
	return sb_str(sb);
}

static void test_plain_and_empty(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(escaped(&sb, "plain text"), "\"plain text\"");
	assert_string_equal(escaped(&sb, ""), "\"\"");
	sb_free(&sb);
}

static void test_quotes_and_backslash(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(escaped(&sb, "a\"b\\c"), "\"a\\\"b\\\\c\"");
	assert_string_equal(escaped(&sb, "/"), "\"/\"");
	sb_free(&sb);
}

static void test_control_characters(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(escaped(&sb, "\n\t\r"), "\"\\n\\t\\r\"");
	assert_string_equal(escaped(&sb, "\x01\x1f\x7f\b\f"),
			    "\"\\u0001\\u001f\\u007f\\u0008\\u000c\"");
	sb_free(&sb);
}

static void test_html_significant_characters(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(escaped(&sb, "</script><b>&amp;"),
			    "\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026amp;\"");
	sb_free(&sb);
}

static void test_valid_utf8_kept(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	/* é, €, 😀, U+D7FF (last before the surrogates), U+10FFFF (the last code point) */
	const char *s = "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf";
	sb_adds(&sb, "\"");
	sb_adds(&sb, s);
	sb_adds(&sb, "\"");
	char *want = strdup(sb_str(&sb));
	assert_string_equal(escaped(&sb, s), want);
	free(want);
	sb_free(&sb);
}

static void test_invalid_utf8_replaced(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(escaped(&sb, "\xff"), "\"\\ufffd\"");
	assert_string_equal(escaped(&sb, "a\xc3"), "\"a\\ufffd\"");          /* cut short */
	assert_string_equal(escaped(&sb, "\xc3(x"), "\"\\ufffd(x\"");       /* bad continuation */
	assert_string_equal(escaped(&sb, "\x80z"), "\"\\ufffdz\"");          /* lone continuation */
	assert_string_equal(escaped(&sb, "\xc0\xaf"), "\"\\ufffd\\ufffd\""); /* overlong '/' */
	assert_string_equal(escaped(&sb, "\xe0\x80\xaf"), "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(escaped(&sb, "\xf0\x80\x80\xaf"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* a UTF-16 surrogate, and code points past U+10FFFF */
	assert_string_equal(escaped(&sb, "\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(escaped(&sb, "\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(escaped(&sb, "\xf5\x80\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(escaped(&sb, "\xe2\x82"), "\"\\ufffd\\ufffd\"");
	sb_free(&sb);
}

static void test_document(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct json j;
	json_init(&j, &sb);
	json_begin_object(&j);
	json_key(&j, "a");
	json_int(&j, -1);
	json_key(&j, "b");
	json_begin_array(&j);
	json_bool(&j, true);
	json_null(&j);
	json_string(&j, "x\"");
	json_end_array(&j);
	json_key(&j, "c");
	json_begin_object(&j);
	json_end_object(&j);
	json_key(&j, "d");
	json_double(&j, 1.5, 2);
	json_key(&j, "e");
	json_double(&j, NAN, 2);
	json_key(&j, "f");
	json_double(&j, INFINITY, 2);
	json_end_object(&j);
	assert_string_equal(sb_str(&sb), "{\n"
					 "  \"a\": -1,\n"
					 "  \"b\": [\n"
					 "    true,\n"
					 "    null,\n"
					 "    \"x\\\"\"\n"
					 "  ],\n"
					 "  \"c\": {},\n"
					 "  \"d\": 1.50,\n"
					 "  \"e\": null,\n"
					 "  \"f\": null\n"
					 "}");
	sb_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_empty),
		cmocka_unit_test(test_quotes_and_backslash),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_html_significant_characters),
		cmocka_unit_test(test_valid_utf8_kept),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
