/* Folded stacks: the writer's exact text, the reader's handling of every kind of bad line,
 * and the round trip. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output/folded.h"

static struct stack_profile *new_profile(void)
{
	struct stack_profile *p = NULL;
	assert_int_equal(stack_profile__new(NULL, &p), 0);
	return p;
}

static void add(struct stack_profile *p, pid_t tid, uint64_t w, size_t n,
		const char *const *names, const enum frame_kind *kinds, const char *const *modules,
		enum frame_state state)
{
	uint32_t ids[16];
	for (size_t i = 0; i < n; i++)
		assert_int_equal(stack_profile__frame(p, names[i], modules ? modules[i] : NULL,
						      kinds ? kinds[i] : FRAME_USER, state, &ids[i]),
				 0);
	uint32_t s;
	assert_int_equal(stack_profile__stack(p, ids, n, &s), 0);
	assert_int_equal(stack_profile__add(p, tid, s, w), 0);
}

static char *write_folded(const struct stack_profile *p, pid_t tid, bool all)
{
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(folded_write(&sb, p, tid, all), 0);
	char *s = strdup(sb_str(&sb));
	sb_free(&sb);
	return s;
}

static void test_write_exact(void **state)
{
	struct stack_profile *p = new_profile();
	const char *s1[] = { "main", "compute", "sqrt" };
	const char *s2[] = { "main", "read", "sys_read" };
	const enum frame_kind k2[] = { FRAME_USER, FRAME_USER, FRAME_KERNEL };
	const char *s3[] = { "run", "handler" };
	const char *m3[] = { "app.py", "lib/web.py" };
	const enum frame_kind k3[] = { FRAME_PYTHON, FRAME_PYTHON };
	const char *s4[] = { "main", "bad;name\nwith\ttabs\x7f" };
	add(p, 1, 1500, 3, s1, NULL, NULL, STATE_ON_CPU);
	add(p, 2, 500, 3, s1, NULL, NULL, STATE_ON_CPU); /* same stack, other thread */
	add(p, 1, 40000, 3, s2, k2, NULL, STATE_OFF_CPU);
	add(p, 1, 7, 2, s3, k3, m3, STATE_ANY);
	add(p, 1, 3, 2, s4, NULL, NULL, STATE_ANY);
	add(p, 1, 0, 2, s3, NULL, NULL, STATE_ANY); /* zero weight: no line */

	char *all = write_folded(p, 0, true);
	assert_string_equal(all,
			    "main;bad:name?with?tabs? 3\n"
			    "main_[c];compute_[c];sqrt_[c] 2000\n"
			    "main_[o];read_[o];sys_read_[k]_[o] 40000\n"
			    "run (app.py);handler (lib/web.py) 7\n");
	free(all);
	char *t2 = write_folded(p, 2, false);
	assert_string_equal(t2, "main_[c];compute_[c];sqrt_[c] 500\n");
	free(t2);
	char *none = write_folded(p, 99, false);
	assert_string_equal(none, "");
	free(none);
	stack_profile__free(p);
}

/* Reads text leniently; returns the profile. */
static struct stack_profile *read_text(const char *text, size_t len, struct folded_result *res,
				       int expect)
{
	struct stack_profile *p = new_profile();
	char *exact = dup_exact(text, len);
	assert_int_equal(folded_read(p, exact, len, 0, 0, res), expect);
	free(exact);
	return p;
}

static void test_read_basic(void **state)
{
	const char text[] = "a;b;c 10\r\n\n   \t\r\na;b 5\na;b;c 1\na;b;c_[c] 2\nd 7";
	struct folded_result res;
	struct stack_profile *p = read_text(text, sizeof(text) - 1, &res, 0);
	assert_int_equal(res.lines, 7);
	assert_int_equal(res.stacks, 5);
	assert_int_equal(res.skipped, 0);
	assert_int_equal(res.first_bad_line, 0);
	assert_null(res.first_bad_reason);
	assert_int_equal(stack_profile__total(p), 25);
	char *out = write_folded(p, 0, true);
	assert_string_equal(out, "a;b 5\na;b;c 11\na;b;c_[c] 2\nd 7\n");
	free(out);
	/* "c_[c]" is the frame c seen on the CPU, not a frame named "c_[c]". */
	assert_int_equal(stack_profile__nframes(p), 5);
	stack_profile__free(p);
}

static void test_read_frame_kinds(void **state)
{
	const char text[] = "main_[o];schedule_[k]_[o] 9\n"
			    "<module> (app.py);f (x.py:12);g (notpython) 4\n";
	struct folded_result res;
	struct stack_profile *p = read_text(text, sizeof(text) - 1, &res, 0);
	assert_int_equal(res.stacks, 2);
	size_t n, ns;
	const struct stack_sample *s = stack_profile__samples(p, &ns);
	assert_int_equal(ns, 2);
	const uint32_t *ids = stack_profile__stack_get(p, s[0].stack, &n);
	assert_int_equal(n, 2);
	const struct stack_frame *f = stack_profile__frame_get(p, ids[1]);
	assert_string_equal(f->name, "schedule");
	assert_int_equal(f->kind, FRAME_KERNEL);
	assert_int_equal(f->state, STATE_OFF_CPU);
	assert_int_equal(stack_profile__stack_state(p, s[0].stack), STATE_OFF_CPU);
	ids = stack_profile__stack_get(p, s[1].stack, &n);
	assert_int_equal(n, 3);
	f = stack_profile__frame_get(p, ids[0]);
	assert_string_equal(f->name, "<module>");
	assert_string_equal(f->module, "app.py");
	assert_int_equal(f->kind, FRAME_PYTHON);
	f = stack_profile__frame_get(p, ids[1]);
	assert_string_equal(f->name, "f");
	assert_string_equal(f->module, "x.py:12");
	f = stack_profile__frame_get(p, ids[2]);
	assert_string_equal(f->name, "g (notpython)");
	assert_null(f->module);
	assert_int_equal(f->kind, FRAME_USER);
	stack_profile__free(p);
}

struct bad_case {
	const char *line;
	const char *reason;
};

static void test_read_bad_lines(void **state)
{
	static const struct bad_case cases[] = {
		{ "nocount", "no count" },
		{ "a;b", "no count" },
		{ "a;b x12", "count is not a number" },
		{ "a;b 12x", "count is not a number" },
		{ "a;b -3", "count is not a number" },
		{ "a;b 1e5", "count is not a number" },
		{ "a;b 18446744073709551616", "count is too large" },
		{ "a;b 99999999999999999999999", "count is too large" },
		{ "a;;b 1", "empty frame" },
		{ ";a 1", "empty frame" },
		{ "a; 1", "empty frame" },
		{ "   12", "empty stack" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		int n = snprintf(text, sizeof(text), "good 1\n%s\ngood;too 2\n", cases[i].line);
		struct folded_result res;
		struct stack_profile *p = read_text(text, (size_t)n, &res, 0);
		if (res.skipped != 1 || res.first_bad_line != 2 || !res.first_bad_reason ||
		    !strstr(res.first_bad_reason, cases[i].reason))
			fail_msg("'%s': skipped %zu, line %zu, reason %s", cases[i].line, res.skipped,
				 res.first_bad_line, res.first_bad_reason ? res.first_bad_reason : "-");
		assert_int_equal(res.stacks, 2);
		assert_int_equal(stack_profile__total(p), 3);
		stack_profile__free(p);

		/* Strict: the same line is an error, with its line number. */
		p = new_profile();
		assert_int_equal(folded_read(p, text, (size_t)n, 0, FOLDED_STRICT, &res), -EINVAL);
		assert_int_equal(res.first_bad_line, 2);
		assert_int_equal(res.stacks, 1);
		stack_profile__free(p);
	}
}

static void test_read_counts(void **state)
{
	const char text[] = "a 18446744073709551615\nb 1\n";
	struct folded_result res;
	struct stack_profile *p = read_text(text, sizeof(text) - 1, &res, 0);
	/* b would take the total past 2^64 - 1. */
	assert_int_equal(res.skipped, 1);
	assert_int_equal(res.first_bad_line, 2);
	assert_non_null(strstr(res.first_bad_reason, "2^64"));
	stack_profile__free(p);

	const char small[] = "c 007\nd 2.5\ne 2.49\nf 3.\n";
	p = read_text(small, sizeof(small) - 1, &res, 0);
	assert_int_equal(res.skipped, 0);
	char *out = write_folded(p, 0, true);
	assert_string_equal(out, "c 7\nd 3\ne 2\nf 3\n");
	free(out);
	stack_profile__free(p);
}

static void test_read_limits(void **state)
{
	/* A line longer than FOLDED_MAX_LINE, between two good ones. */
	size_t big = FOLDED_MAX_LINE + 10;
	char *text = malloc(big + 32);
	size_t n = 0;
	n += (size_t)sprintf(text, "ok 1\n");
	memset(text + n, 'x', big);
	n += big;
	n += (size_t)sprintf(text + n, " 5\nok 2\n");
	struct folded_result res;
	struct stack_profile *p = read_text(text, n, &res, 0);
	assert_int_equal(res.skipped, 1);
	assert_int_equal(res.first_bad_line, 2);
	assert_non_null(strstr(res.first_bad_reason, "longer"));
	assert_int_equal(stack_profile__total(p), 3);
	stack_profile__free(p);

	/* Too many frames, and a NUL byte. */
	n = 0;
	for (int i = 0; i <= STACK_MAX_DEPTH; i++)
		n += (size_t)sprintf(text + n, "%sf", i ? ";" : "");
	static const char nul_line[] = " 1\nnul\0here 4\n";
	memcpy(text + n, nul_line, sizeof(nul_line) - 1);
	n += sizeof(nul_line) - 1;
	p = read_text(text, n, &res, 0);
	assert_int_equal(res.skipped, 2);
	assert_int_equal(res.first_bad_line, 1);
	assert_non_null(strstr(res.first_bad_reason, "2048"));
	stack_profile__free(p);
	free(text);

	/* A full profile is a fatal error, with the line that did not fit. */
	struct stack_limits lim = { .max_frames = 2 };
	assert_int_equal(stack_profile__new(&lim, &p), 0);
	const char three[] = "a;b 1\nb;a 1\nc 1\n";
	assert_int_equal(folded_read(p, three, sizeof(three) - 1, 0, 0, &res), -ENOSPC);
	assert_int_equal(res.first_bad_line, 3);
	assert_int_equal(res.stacks, 2);
	stack_profile__free(p);
}

/* write → read → write gives the same text and the same frames. */
static void test_round_trip(void **state)
{
	struct stack_profile *p = new_profile();
	const char *s1[] = { "main", "std::vector<int>::push_back", "operator new(unsigned long)" };
	const char *s2[] = { "main", "pthread_cond_wait", "futex_wait" };
	const enum frame_kind k2[] = { FRAME_USER, FRAME_USER, FRAME_KERNEL };
	const char *s3[] = { "<module>", "work" };
	const char *m3[] = { "/srv/app main.py", "w.py:3" };
	const enum frame_kind k3[] = { FRAME_PYTHON, FRAME_PYTHON };
	const char *s4[] = { "caf\xc3\xa9", "\xff\xfe raw bytes", "[unknown]" };
	add(p, 0, 123456, 3, s1, NULL, NULL, STATE_ON_CPU);
	add(p, 0, 9876543210ULL, 3, s2, k2, NULL, STATE_OFF_CPU);
	add(p, 0, 42, 2, s3, k3, m3, STATE_ANY);
	add(p, 0, 1, 3, s4, NULL, NULL, STATE_ON_CPU);
	add(p, 0, 5, 0, NULL, NULL, NULL, STATE_ANY); /* empty stack: written as [unknown] */

	char *first = write_folded(p, 0, true);
	struct folded_result res;
	struct stack_profile *q = new_profile();
	assert_int_equal(folded_read(q, first, strlen(first), 0, FOLDED_STRICT, &res), 0);
	assert_int_equal(res.stacks, 5);
	char *second = write_folded(q, 0, true);
	assert_string_equal(first, second);
	assert_int_equal(stack_profile__total(q), stack_profile__total(p));

	/* Every frame of p is in q, with the same name, kind, state (modules of Python frames
	 * only). */
	for (uint32_t i = 0; i < stack_profile__nframes(p); i++) {
		const struct stack_frame *f = stack_profile__frame_get(p, i);
		uint32_t id, before = (uint32_t)stack_profile__nframes(q);
		assert_int_equal(stack_profile__frame(q, f->name, f->module,
						      (enum frame_kind)f->kind,
						      (enum frame_state)f->state, &id), 0);
		if (id >= before)
			fail_msg("frame '%s' was not read back", f->name);
	}
	uint64_t t[3];
	stack_profile__totals(q, 0, true, t);
	assert_int_equal(t[STATE_ON_CPU], 123457);
	assert_int_equal(t[STATE_OFF_CPU], 9876543210ULL);
	assert_int_equal(t[STATE_ANY], 47);
	free(first);
	free(second);
	stack_profile__free(p);
	stack_profile__free(q);
}

/* Every line is what flamegraph.pl reads: "stack count", the count digits after the last
 * space, no empty frame, no control character. */
static void test_lines_are_flamegraph_pl_input(void **state)
{
	struct stack_profile *p = new_profile();
	const char *s[] = { "a b", "x;y\r\nz", "\x01\x02", "end " };
	add(p, 0, 77, 4, s, NULL, NULL, STATE_OFF_CPU);
	char *out = write_folded(p, 0, true);
	assert_string_equal(out, "a b_[o];x:y??z_[o];??_[o];end _[o] 77\n");
	for (const char *c = out; *c; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n');
	assert_null(strstr(out, ";;"));
	free(out);
	stack_profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_exact),
		cmocka_unit_test(test_read_basic),
		cmocka_unit_test(test_read_frame_kinds),
		cmocka_unit_test(test_read_bad_lines),
		cmocka_unit_test(test_read_counts),
		cmocka_unit_test(test_read_limits),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_lines_are_flamegraph_pl_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
