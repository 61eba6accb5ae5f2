/* The stack profile: interning, weights, limits, threads, merge. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stack/profile.h"
#include "util/macro.h"

static struct stack_profile *new_profile(const struct stack_limits *lim)
{
	struct stack_profile *p = NULL;
	assert_int_equal(stack_profile__new(lim, &p), 0);
	assert_non_null(p);
	return p;
}

static uint32_t frame(struct stack_profile *p, const char *name, const char *module,
		      enum frame_kind kind, enum frame_state state)
{
	uint32_t id = UINT32_MAX;
	assert_int_equal(stack_profile__frame(p, name, module, kind, state, &id), 0);
	return id;
}

static uint32_t stack(struct stack_profile *p, const uint32_t *ids, size_t n)
{
	uint32_t id = UINT32_MAX;
	assert_int_equal(stack_profile__stack(p, ids, n, &id), 0);
	return id;
}

static void test_frames_interned(void **state)
{
	struct stack_profile *p = new_profile(NULL);
	uint32_t a = frame(p, "main", NULL, FRAME_USER, STATE_ON_CPU);
	assert_int_equal(frame(p, "main", NULL, FRAME_USER, STATE_ON_CPU), a);
	/* Any difference in name, module, kind or state is another frame. */
	uint32_t ids[] = {
		a,
		frame(p, "main", NULL, FRAME_USER, STATE_OFF_CPU),
		frame(p, "main", NULL, FRAME_KERNEL, STATE_ON_CPU),
		frame(p, "main", "a.out", FRAME_USER, STATE_ON_CPU),
		frame(p, "main", "b.out", FRAME_USER, STATE_ON_CPU),
		frame(p, "mai", NULL, FRAME_USER, STATE_ON_CPU),
		frame(p, "main", "", FRAME_USER, STATE_ON_CPU),
	};
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		for (size_t j = i + 1; j < ARRAY_SIZE(ids); j++)
			assert_int_not_equal(ids[i], ids[j]);
	assert_int_equal(stack_profile__nframes(p), ARRAY_SIZE(ids));
	const struct stack_frame *f = stack_profile__frame_get(p, ids[3]);
	assert_string_equal(f->name, "main");
	assert_string_equal(f->module, "a.out");
	assert_int_equal(f->kind, FRAME_USER);
	assert_int_equal(f->state, STATE_ON_CPU);
	assert_null(stack_profile__frame_get(p, 1000));
	stack_profile__free(p);
}

static void test_frame_names_normalised(void **state)
{
	struct stack_profile *p = new_profile(NULL);
	uint32_t a = frame(p, NULL, NULL, FRAME_USER, STATE_ANY);
	assert_int_equal(frame(p, "", NULL, FRAME_USER, STATE_ANY), a);
	assert_int_equal(frame(p, "[unknown]", NULL, FRAME_USER, STATE_ANY), a);
	assert_string_equal(stack_profile__frame_get(p, a)->name, "[unknown]");

	/* 3000 two-byte characters: cut to at most STACK_MAX_NAME bytes, whole characters. */
	char *long_name = malloc(6001);
	for (int i = 0; i < 3000; i++)
		memcpy(long_name + 2 * i, "\xc3\xa9", 2);
	long_name[6000] = '\0';
	/* One byte more at the front makes the cut fall inside a character. */
	char *odd = malloc(6002);
	odd[0] = 'x';
	memcpy(odd + 1, long_name, 6001);
	const struct stack_frame *f = stack_profile__frame_get(p, frame(p, long_name, NULL,
								      FRAME_USER, STATE_ANY));
	assert_int_equal(strlen(f->name), STACK_MAX_NAME);
	f = stack_profile__frame_get(p, frame(p, odd, NULL, FRAME_USER, STATE_ANY));
	assert_int_equal(strlen(f->name), STACK_MAX_NAME - 1);
	assert_int_equal((unsigned char)f->name[STACK_MAX_NAME - 2], 0xa9);
	free(long_name);
	free(odd);

	uint32_t id;
	assert_int_equal(stack_profile__frame(p, "x", NULL, (enum frame_kind)9, STATE_ANY, &id),
			 -EINVAL);
	assert_int_equal(stack_profile__frame(p, "x", NULL, FRAME_USER, (enum frame_state)3, &id),
			 -EINVAL);
	stack_profile__free(p);
}

static void test_stacks_interned(void **state)
{
	struct stack_profile *p = new_profile(NULL);
	uint32_t a = frame(p, "a", NULL, FRAME_USER, STATE_ON_CPU);
	uint32_t b = frame(p, "b", NULL, FRAME_USER, STATE_ON_CPU);
	uint32_t o = frame(p, "b", NULL, FRAME_USER, STATE_OFF_CPU);
	uint32_t ab[] = { a, b }, ba[] = { b, a }, abo[] = { a, o }, aba[] = { a, b, a };
	uint32_t s1 = stack(p, ab, 2);
	assert_int_equal(stack(p, ab, 2), s1);
	assert_int_not_equal(stack(p, ba, 2), s1);
	assert_int_not_equal(stack(p, ab, 1), s1);
	assert_int_not_equal(stack(p, aba, 3), s1);
	uint32_t empty = stack(p, NULL, 0);
	assert_int_equal(stack(p, ab, 0), empty);
	assert_int_equal(stack_profile__nstacks(p), 5);

	size_t n;
	const uint32_t *ids = stack_profile__stack_get(p, s1, &n);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], a);
	assert_int_equal(ids[1], b);
	assert_non_null(stack_profile__stack_get(p, empty, &n));
	assert_int_equal(n, 0);
	assert_null(stack_profile__stack_get(p, 99, &n));

	assert_int_equal(stack_profile__stack_state(p, s1), STATE_ON_CPU);
	assert_int_equal(stack_profile__stack_state(p, stack(p, abo, 2)), STATE_ANY);
	assert_int_equal(stack_profile__stack_state(p, stack(p, &o, 1)), STATE_OFF_CPU);
	assert_int_equal(stack_profile__stack_state(p, empty), STATE_ANY);
	/* A root without a state (a thread name) does not decide. */
	uint32_t root = frame(p, "worker-1", NULL, FRAME_MARKER, STATE_ANY);
	uint32_t rab[] = { root, a, b }, rao[] = { root, a, o };
	assert_int_equal(stack_profile__stack_state(p, stack(p, rab, 3)), STATE_ON_CPU);
	assert_int_equal(stack_profile__stack_state(p, stack(p, rao, 3)), STATE_ANY);
	assert_int_equal(stack_profile__stack_state(p, stack(p, &root, 1)), STATE_ANY);

	uint32_t bad[] = { a, 77 }, id;
	assert_int_equal(stack_profile__stack(p, bad, 2, &id), -EINVAL);
	uint32_t *deep = calloc(STACK_MAX_DEPTH + 1, sizeof(*deep));
	assert_int_equal(stack_profile__stack(p, deep, STACK_MAX_DEPTH + 1, &id), -E2BIG);
	assert_int_equal(stack_profile__stack(p, deep, STACK_MAX_DEPTH, &id), 0);
	free(deep);
	stack_profile__free(p);
}

static void test_weights_add_up(void **state)
{
	struct stack_profile *p = new_profile(NULL);
	uint32_t on = frame(p, "f", NULL, FRAME_USER, STATE_ON_CPU);
	uint32_t off = frame(p, "f", NULL, FRAME_USER, STATE_OFF_CPU);
	uint32_t any = frame(p, "g", NULL, FRAME_PYTHON, STATE_ANY);
	uint32_t s_on = stack(p, &on, 1), s_off = stack(p, &off, 1), s_any = stack(p, &any, 1);
	assert_int_equal(stack_profile__add(p, 10, s_on, 100), 0);
	assert_int_equal(stack_profile__add(p, 10, s_on, 50), 0);
	assert_int_equal(stack_profile__add(p, 11, s_on, 7), 0);
	assert_int_equal(stack_profile__add(p, 11, s_off, 1000), 0);
	assert_int_equal(stack_profile__add(p, 0, s_any, 3), 0);
	assert_int_equal(stack_profile__add(p, 10, 99, 1), -EINVAL);
	assert_int_equal(stack_profile__add(p, -1, s_on, 1), -EINVAL);

	size_t n;
	const struct stack_sample *s = stack_profile__samples(p, &n);
	assert_int_equal(n, 4);
	assert_int_equal(s[0].tid, 10);
	assert_int_equal(s[0].stack, s_on);
	assert_int_equal(s[0].weight, 150);
	assert_int_equal(s[1].tid, 11);
	assert_int_equal(s[1].weight, 7);
	assert_int_equal(stack_profile__total(p), 1160);

	uint64_t t[3];
	stack_profile__totals(p, 11, false, t);
	assert_int_equal(t[STATE_ON_CPU], 7);
	assert_int_equal(t[STATE_OFF_CPU], 1000);
	assert_int_equal(t[STATE_ANY], 0);
	stack_profile__totals(p, 0, true, t);
	assert_int_equal(t[STATE_ON_CPU], 157);
	assert_int_equal(t[STATE_OFF_CPU], 1000);
	assert_int_equal(t[STATE_ANY], 3);

	uint64_t *w;
	assert_int_equal(stack_profile__stack_weights(p, 0, true, &w), 0);
	assert_int_equal(w[s_on], 157);
	assert_int_equal(w[s_off], 1000);
	assert_int_equal(w[s_any], 3);
	free(w);
	assert_int_equal(stack_profile__stack_weights(p, 10, false, &w), 0);
	assert_int_equal(w[s_on], 150);
	assert_int_equal(w[s_off], 0);
	free(w);

	pid_t *tids;
	assert_int_equal(stack_profile__threads(p, &tids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(tids[0], 0);
	assert_int_equal(tids[1], 10);
	assert_int_equal(tids[2], 11);
	free(tids);
	stack_profile__free(p);
}

static void test_total_never_overflows(void **state)
{
	struct stack_profile *p = new_profile(NULL);
	uint32_t f = frame(p, "f", NULL, FRAME_USER, STATE_ANY);
	uint32_t s = stack(p, &f, 1);
	assert_int_equal(stack_profile__add(p, 1, s, UINT64_MAX - 5), 0);
	assert_int_equal(stack_profile__add(p, 2, s, 6), -EOVERFLOW);
	assert_int_equal(stack_profile__add(p, 1, s, 6), -EOVERFLOW);
	size_t n;
	stack_profile__samples(p, &n);
	assert_int_equal(n, 1); /* nothing added */
	assert_int_equal(stack_profile__add(p, 2, s, 5), 0);
	assert_true(stack_profile__total(p) == UINT64_MAX);
	stack_profile__free(p);
}

static void test_limits(void **state)
{
	struct stack_limits lim = { .max_frames = 2, .max_stacks = 2, .max_samples = 2,
				    .max_threads = 1 };
	struct stack_profile *p = new_profile(&lim);
	uint32_t a = frame(p, "a", NULL, FRAME_USER, STATE_ANY);
	uint32_t b = frame(p, "b", NULL, FRAME_USER, STATE_ANY);
	uint32_t id;
	assert_int_equal(stack_profile__frame(p, "c", NULL, FRAME_USER, STATE_ANY, &id), -ENOSPC);
	assert_int_equal(frame(p, "a", NULL, FRAME_USER, STATE_ANY), a); /* known: still fine */
	uint32_t sa = stack(p, &a, 1), sb = stack(p, &b, 1);
	uint32_t ab[] = { a, b };
	assert_int_equal(stack_profile__stack(p, ab, 2, &id), -ENOSPC);
	assert_int_equal(stack_profile__add(p, 1, sa, 1), 0);
	assert_int_equal(stack_profile__add(p, 1, sb, 1), 0);
	assert_int_equal(stack_profile__add(p, 2, sa, 1), -ENOSPC);
	assert_int_equal(stack_profile__add(p, 1, sa, 1), 0);
	assert_int_equal(stack_profile__set_thread_name(p, 1, "one"), 0);
	assert_int_equal(stack_profile__set_thread_name(p, 1, "uno"), 0);
	assert_int_equal(stack_profile__set_thread_name(p, 2, "two"), -ENOSPC);
	assert_int_equal(stack_profile__set_thread_name(p, 0, "zero"), -EINVAL);
	assert_string_equal(stack_profile__thread_name(p, 1), "uno");
	assert_null(stack_profile__thread_name(p, 2));
	stack_profile__free(p);
}

/* Many distinct frames and stacks: every one found again by its content. */
static void test_many(void **state)
{
	struct stack_profile *p = new_profile(NULL);
	enum { N = 20000 };
	uint32_t *ids = malloc(N * sizeof(*ids));
	char name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "fn_%d", i);
		ids[i] = frame(p, name, i % 3 ? "lib.so" : NULL, FRAME_USER, STATE_ON_CPU);
		assert_int_equal(ids[i], i);
	}
	uint32_t *sids = malloc(N * sizeof(*sids));
	for (int i = 0; i < N; i++) {
		uint32_t st[3] = { ids[i % 7], ids[i], ids[(i * 31) % N] };
		sids[i] = stack(p, st, 3);
		assert_int_equal(stack_profile__add(p, 1 + i % 5, sids[i], (uint64_t)i), 0);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "fn_%d", i);
		assert_int_equal(frame(p, name, i % 3 ? "lib.so" : NULL, FRAME_USER, STATE_ON_CPU),
				 ids[i]);
		uint32_t st[3] = { ids[i % 7], ids[i], ids[(i * 31) % N] };
		assert_int_equal(stack(p, st, 3), sids[i]);
	}
	assert_int_equal(stack_profile__nframes(p), N);
	assert_int_equal(stack_profile__total(p), (uint64_t)N * (N - 1) / 2);
	free(ids);
	free(sids);
	stack_profile__free(p);
}

static void test_merge(void **state)
{
	struct stack_profile *a = new_profile(NULL), *b = new_profile(NULL);
	/* Interned in another order in b, so that ids differ between the two. */
	uint32_t x = frame(a, "x", NULL, FRAME_USER, STATE_ON_CPU);
	uint32_t y = frame(a, "y", "lib", FRAME_KERNEL, STATE_ON_CPU);
	uint32_t xy[] = { x, y };
	assert_int_equal(stack_profile__add(a, 5, stack(a, xy, 2), 10), 0);
	assert_int_equal(stack_profile__set_thread_name(a, 5, "worker"), 0);

	uint32_t z = frame(b, "z", NULL, FRAME_USER, STATE_OFF_CPU);
	uint32_t by = frame(b, "y", "lib", FRAME_KERNEL, STATE_ON_CPU);
	uint32_t bx = frame(b, "x", NULL, FRAME_USER, STATE_ON_CPU);
	uint32_t bxy[] = { bx, by };
	assert_int_equal(stack_profile__add(b, 5, stack(b, bxy, 2), 7), 0);
	assert_int_equal(stack_profile__add(b, 6, stack(b, &z, 1), 3), 0);
	assert_int_equal(stack_profile__set_thread_name(b, 6, "io"), 0);

	assert_int_equal(stack_profile__merge(a, b, false), 0);
	assert_int_equal(stack_profile__nframes(a), 3);
	size_t n;
	const struct stack_sample *s = stack_profile__samples(a, &n);
	assert_int_equal(n, 2);
	assert_int_equal(s[0].tid, 5);
	assert_int_equal(s[0].weight, 17);
	assert_int_equal(s[1].tid, 6);
	assert_int_equal(s[1].weight, 3);
	const uint32_t *ids = stack_profile__stack_get(a, s[1].stack, &n);
	assert_int_equal(n, 1);
	assert_string_equal(stack_profile__frame_get(a, ids[0])->name, "z");
	assert_int_equal(stack_profile__frame_get(a, ids[0])->state, STATE_OFF_CPU);
	assert_string_equal(stack_profile__thread_name(a, 5), "worker");
	assert_string_equal(stack_profile__thread_name(a, 6), "io");

	/* Folded into one aggregate: everything under tid 0. */
	struct stack_profile *all = new_profile(NULL);
	assert_int_equal(stack_profile__merge(all, a, true), 0);
	assert_int_equal(stack_profile__merge(all, b, true), 0);
	s = stack_profile__samples(all, &n);
	assert_int_equal(n, 2);
	assert_int_equal(s[0].tid, 0);
	assert_int_equal(s[0].weight, 24);
	assert_int_equal(s[1].weight, 6);
	assert_int_equal(stack_profile__total(all), 30);
	stack_profile__free(all);
	stack_profile__free(a);
	assert_null(stack_profile__free(b));
	assert_null(stack_profile__free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_interned),
		cmocka_unit_test(test_frame_names_normalised),
		cmocka_unit_test(test_stacks_interned),
		cmocka_unit_test(test_weights_add_up),
		cmocka_unit_test(test_total_never_overflows),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
