/* The function profile: pattern matching (name, Class.method, module:name, path:name,
 * globs), the time weighting by measured intervals, on-CPU attribution, the error formula,
 * add/remove without loss, threads that come and go, and the writers' formats. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "analysis/pyprof.h"
#include "output/py_report.h"

#define MS 1000000ULL

static const struct pyprof_result *find(const struct pyprof_result *r, size_t n, const char *pat)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i].pattern, pat))
			return &r[i];
	fail_msg("no result for %s", pat);
	return NULL;
}

static void test_matching(void **state)
{
	struct pyprof *p;
	assert_int_equal(pyprof_new(&p), 0);
	const char *pats[] = { "run", "Worker.run", "workers:run", "pkg.workers:run",
			       "pkg/workers.py:run", "*_io", "other:run", "pkg:*", "Worker.*",
			       "<frozen *>:*", "nested.<locals>.inner" };
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		assert_int_equal(pyprof_add_function(p, pats[i]), 0);
	assert_int_equal(pyprof_add_function(p, "run"), -EEXIST);
	assert_int_equal(pyprof_add_function(p, "mod:"), -EINVAL);
	assert_int_equal(pyprof_add_function(p, ":x"), -EINVAL);
	assert_int_equal(pyprof_add_function(p, "a\tb"), -EINVAL);
	assert_true(pyprof_pattern_is_qualified("Worker.run"));
	assert_false(pyprof_pattern_is_qualified("pkg.workers:run"));

	uint32_t run = pyprof_frame(p, "run", "Worker.run", "/app/pkg/workers.py", 10);
	uint32_t disk = pyprof_frame(p, "disk_io", "disk_io", "/app/main.py", 5);
	uint32_t init = pyprof_frame(p, "setup", "setup", "/app/pkg/__init__.py", 1);
	uint32_t frozen = pyprof_frame(p, "_find", "_find", "<frozen importlib._bootstrap>", 1);
	uint32_t inner = pyprof_frame(p, "inner", "nested.<locals>.inner", "/app/x.py", 3);
	assert_int_equal(pyprof_frame(p, "run", "Worker.run", "/app/pkg/workers.py", 10), run);
	int t = pyprof_thread(p, 100, 100, 0x1000, "main (100)");
	uint32_t stacks[][3] = { { run }, { disk }, { init }, { frozen }, { inner } };
	pyprof_tick_begin(p, 0);
	pyprof_tick_end(p);
	for (int i = 0; i < 5; i++) {
		pyprof_tick_begin(p, (uint64_t)(i + 1) * 10 * MS);
		assert_int_equal(pyprof_sample(p, t, stacks[i], 1, PYPROF_NO_CPU), 0);
		pyprof_tick_end(p);
	}
	struct pyprof_result r[32];
	size_t n = pyprof_results(p, r, 32, false);
	assert_int_equal(n, 11);
	/* Which sample each pattern saw: run (1), disk (2), init (3), frozen (4), inner (5). */
	const struct {
		const char *pat;
		unsigned samples;
	} want[] = { { "run", 1 }, { "Worker.run", 1 }, { "workers:run", 1 },
		     { "pkg.workers:run", 1 }, { "pkg/workers.py:run", 1 }, { "*_io", 1 },
		     { "other:run", 0 }, { "pkg:*", 1 }, { "Worker.*", 1 }, { "<frozen *>:*", 0 },
		     { "nested.<locals>.inner", 1 } };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct pyprof_result *x = find(r, n, want[i].pat);
		if (x->samples != want[i].samples)
			fail_msg("%s: %llu samples, want %u", want[i].pat,
				 (unsigned long long)x->samples, want[i].samples);
	}
	/* "pkg:*" is the package's __init__ (sample 3), "*_io" disk_io (sample 2). */
	assert_int_equal(find(r, n, "pkg:*")->wall_s * 1000 + 0.5 > 10, 1);
	/* A frozen module is matched by its module name. */
	assert_int_equal(pyprof_add_function(p, "importlib._bootstrap:_find"), 0);
	pyprof_tick_begin(p, 60 * MS);
	pyprof_sample(p, t, stacks[3], 1, PYPROF_NO_CPU);
	pyprof_tick_end(p);
	n = pyprof_results(p, r, 32, false);
	assert_int_equal(find(r, n, "importlib._bootstrap:_find")->samples, 1);
	pyprof_free(p);
}

/* A function present in samples 2..5 of a thread sampled at irregular times: its wall
 * time is the sum of the measured intervals, its CPU the thread clock's deltas, and its
 * error sqrt(sum of dt^2/2) over the two intervals where it began and ended. */
static void test_weights_and_error(void **state)
{
	struct pyprof *p;
	assert_int_equal(pyprof_new(&p), 0);
	assert_int_equal(pyprof_add_function(p, "f"), 0);
	assert_int_equal(pyprof_add_function(p, "never"), 0);
	uint32_t f = pyprof_frame(p, "f", "f", "a.py", 1), g = pyprof_frame(p, "g", "g", "a.py", 9);
	int t = pyprof_thread(p, 1, 1, 0x10, "t (1)");
	const uint64_t at[] = { 0, 10, 25, 30, 50, 51, 60 };        /* ms */
	const uint64_t cpu[] = { 100, 105, 115, 118, 118, 118, 119 }; /* ms of thread CPU */
	const bool has_f[] = { false, false, true, true, true, true, false };
	for (int i = 0; i < 7; i++) {
		pyprof_tick_begin(p, at[i] * MS);
		uint32_t stack[2] = { f, g };
		pyprof_sample(p, t, has_f[i] ? stack : stack + 1, has_f[i] ? 2 : 1, cpu[i] * MS);
		pyprof_tick_end(p);
	}
	struct pyprof_result r[4];
	size_t n = pyprof_results(p, r, 4, false);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].samples, 4);
	assert_true(fabs(r[0].wall_s - 0.041) < 1e-9);  /* 15 + 5 + 20 + 1 ms */
	assert_true(fabs(r[0].cpu_s - 0.013) < 1e-9);   /* 10 + 3 + 0 + 0 ms */
	double err = sqrt((15.0 * 15 + 9.0 * 9) / 2) / 1000; /* began in (10,25], ended in (51,60] */
	assert_true(fabs(r[0].wall_err_s - err) < 1e-9);
	assert_true(fabs(r[0].share - 0.041 / 0.060) < 1e-9);
	assert_int_equal(r[1].samples, 0);
	/* By time: f first. Removing hides it, keeps measuring; adding it back shows all. */
	n = pyprof_results(p, r, 4, true);
	assert_string_equal(r[0].pattern, "f");
	assert_int_equal(pyprof_remove_function(p, "f"), 0);
	assert_int_equal(pyprof_remove_function(p, "f"), -ENOENT);
	assert_int_equal(pyprof_results(p, r, 4, false), 1);
	pyprof_tick_begin(p, 70 * MS);
	uint32_t stack[2] = { f, g };
	pyprof_sample(p, t, stack, 2, 120 * MS);
	pyprof_tick_end(p);
	assert_int_equal(pyprof_add_function(p, "f"), 0);
	n = pyprof_results(p, r, 4, false);
	assert_string_equal(r[1].pattern, "f"); /* back, at the end of the request order */
	assert_int_equal(r[1].samples, 5);
	/* A thread that disappears: the end of what it ran is uncertain too. */
	struct pyprof_totals tot;
	pyprof_totals(p, &tot);
	assert_int_equal(tot.samples, 8);
	double var_before = r[1].wall_err_s * r[1].wall_err_s;
	pyprof_tick_begin(p, 80 * MS);
	pyprof_tick_end(p); /* t not seen: gone */
	n = pyprof_results(p, r, 4, false);
	assert_true(r[1].wall_err_s * r[1].wall_err_s > var_before + 1e-12);
	pyprof_free(p);
}

static int count_lines(void *ud, const char *thread, const char *const *frames, size_t n,
		       uint64_t wall, uint64_t cpu, uint64_t samples)
{
	(void)thread, (void)frames, (void)n, (void)wall, (void)cpu, (void)samples;
	(*(int *)ud)++;
	return 0;
}

static void test_writers(void **state)
{
	struct pyprof *p;
	assert_int_equal(pyprof_new(&p), 0);
	pyprof_add_function(p, "héllo");
	pyprof_add_function(p, "none,\"quoted\"");
	uint32_t a = pyprof_frame(p, "<module>", "<module>", "/x/app.py", 1);
	uint32_t b = pyprof_frame(p, "héllo", "K.héllo", "/x/we;ird.py", 3);
	int t = pyprof_thread(p, 5, 5, 1, "py;thon (5)");
	uint32_t st[2] = { b, a };
	pyprof_tick_begin(p, 0);
	pyprof_sample(p, t, st, 2, PYPROF_NO_CPU);
	pyprof_tick_end(p);
	pyprof_tick_begin(p, 2 * MS);
	pyprof_sample(p, t, st, 2, PYPROF_NO_CPU);
	pyprof_tick_end(p);
	int lines = 0;
	pyprof_stacks(p, count_lines, &lines);
	assert_int_equal(lines, 1);
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(py_report_folded(&sb, p), 0);
	assert_string_equal(sb_str(&sb), "py_thon (5);<module> (app.py:1);K.héllo (we_ird.py:3) 2000\n");
	sb_reset(&sb);
	struct pyprof_result r[4];
	size_t n = pyprof_results(p, r, 4, false);
	py_report_csv(&sb, r, n);
	assert_string_equal(sb_str(&sb), "function,samples,wall_s,wall_err_s,cpu_s,share\n"
					 "héllo,2,0.002000,0.000000,0.000000,1.000000\n"
					 "\"none,\"\"quoted\"\"\",,,,,\n");
	sb_reset(&sb);
	py_report_table(&sb, r, n, NULL);
	const char *s = sb_str(&sb);
	assert_non_null(strstr(s, "No Data Available"));
	/* Present at both ends of the only interval: no edge was seen inside the window. */
	assert_non_null(strstr(s, "0.002 s ± 0.000"));
	/* Every line of the table has the same display width. */
	size_t width = 0;
	for (const char *line = s; *line;) {
		const char *end = strchr(line, '\n');
		size_t w = 0;
		for (const char *c = line; c < end; c++)
			w += ((unsigned char)*c & 0xc0) != 0x80;
		if (!width)
			width = w;
		assert_int_equal(w, width);
		line = end + 1;
	}
	sb_reset(&sb);
	py_report_json(&sb, r, n, NULL);
	assert_non_null(strstr(sb_str(&sb), "\"samples\": null"));
	sb_free(&sb);
	pyprof_free(p);
}

/* PREFIX.svg: the kept stacks as a stack profile (thread marker, then Python frames named
 * "qualname (file:line)" as in the folded file, µs weights), drawn with escaped names. */
static void test_flamegraph(void **state)
{
	struct pyprof *p;
	assert_int_equal(pyprof_new(&p), 0);
	uint32_t a = pyprof_frame(p, "<module>", "<module>", "/x/a&b.py", 1);
	uint32_t b = pyprof_frame(p, "inner", "f.<locals>.inner", "/x/a&b.py", 7);
	int t = pyprof_thread(p, 5, 6, 1, "worker (6)");
	uint32_t st[2] = { b, a }; /* innermost first, as the walk gives them */
	for (int i = 0; i < 3; i++) {
		pyprof_tick_begin(p, (uint64_t)i * 2 * MS);
		pyprof_sample(p, t, i == 1 ? st + 1 : st, i == 1 ? 1 : 2, PYPROF_NO_CPU);
		pyprof_tick_end(p);
	}
	struct stack_profile *sp;
	assert_int_equal(py_report_profile(p, &sp), 0);
	assert_int_equal(stack_profile__total(sp), 4000);
	assert_string_equal(stack_profile__thread_name(sp, 6), "worker (6)");
	size_t nframes = stack_profile__nframes(sp);
	assert_int_equal(nframes, 3);
	int python = 0, marker = 0;
	for (uint32_t i = 0; i < nframes; i++) {
		const struct stack_frame *f = stack_profile__frame_get(sp, i);
		if (f->kind == FRAME_PYTHON) {
			python++;
			assert_string_equal(f->module, !strcmp(f->name, "<module>") ? "a&b.py:1" : "a&b.py:7");
		} else {
			marker += f->kind == FRAME_MARKER && !strcmp(f->name, "worker (6)");
		}
	}
	assert_int_equal(python, 2);
	assert_int_equal(marker, 1);
	stack_profile__free(sp);

	struct pyprof_totals tot;
	pyprof_totals(p, &tot);
	struct py_report_meta meta = { .target = "PID 5 (py<3>)", .interval_s = 0.002,
				       .totals = &tot };
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(py_report_svg(&sb, p, &meta), 0);
	const char *s = sb_str(&sb);
	assert_non_null(strstr(s, "profkit py: PID 5 (py&lt;3&gt;)"));
	assert_non_null(strstr(s, "wall time 4.00 ms, 3 samples of 1 thread, interval 2.00 ms"));
	assert_non_null(strstr(s, "f.&lt;locals&gt;.inner (a&amp;b.py:7)"));
	assert_non_null(strstr(s, "&lt;module&gt; (a&amp;b.py:1)"));
	assert_null(strstr(s, "<locals>"));
	assert_null(strstr(s, "a&b"));
	sb_free(&sb);
	pyprof_free(p);
}

/* Threads of several processes (--subprocesses): each keeps its own samples and times,
 * a thread that names itself later is shown under its new name everywhere, and the
 * outputs list them by PID and TID with the number of processes. */
static void test_thread_list(void **state)
{
	struct pyprof *p;
	assert_int_equal(pyprof_new(&p), 0);
	assert_int_equal(pyprof_add_function(p, "work"), 0);
	uint32_t work = pyprof_frame(p, "work", "work", "/x/pool.py", 4);
	int child = pyprof_thread(p, 300, 300, 0x30, "python3 (300/300)");
	int main_t = pyprof_thread(p, 200, 200, 0x20, "python3 (200)");
	int io = pyprof_thread(p, 200, 201, 0x21, "python3 (201)");
	for (int i = 0; i < 3; i++) {
		pyprof_tick_begin(p, (uint64_t)i * 10 * MS);
		pyprof_sample(p, child, &work, 1, (uint64_t)i * 10 * MS);
		pyprof_sample(p, main_t, &work, 0, PYPROF_NO_CPU);
		pyprof_sample(p, io, &work, 1, 0);
		pyprof_tick_end(p);
	}
	assert_int_equal(pyprof_thread_rename(p, io, "io-worker (201)", "io-worker"), 0);
	assert_int_equal(pyprof_thread_rename(p, main_t, "python3 (200)", "python3"), 0);
	assert_int_equal(pyprof_thread_rename(p, 7, "x", "x"), -EINVAL);
	assert_int_equal(pyprof_nthreads(p), 3);
	struct pyprof_thread_info ti;
	assert_true(pyprof_thread_info(p, (size_t)io, &ti));
	assert_string_equal(ti.name, "io-worker");
	assert_string_equal(ti.label, "io-worker (201)");
	assert_int_equal(ti.samples, 3);
	assert_true(fabs(ti.wall_s - 0.020) < 1e-9);
	assert_true(pyprof_thread_info(p, (size_t)child, &ti));
	assert_true(fabs(ti.cpu_s - 0.020) < 1e-9);
	assert_false(pyprof_thread_info(p, 3, &ti));
	/* The function's time adds up over the processes. */
	struct pyprof_result r[2];
	assert_int_equal(pyprof_results(p, r, 2, false), 1);
	assert_true(fabs(r[0].wall_s - 0.040) < 1e-9);
	struct pyprof_totals tot;
	pyprof_totals(p, &tot);
	assert_int_equal(tot.processes, 2);
	assert_int_equal(tot.threads, 3);

	struct strbuf sb = STRBUF_INIT;
	int folded_io = 0;
	assert_int_equal(py_report_folded(&sb, p), 0);
	folded_io = strstr(sb_str(&sb), "io-worker (201);work (pool.py:4) 20000\n") != NULL;
	assert_true(folded_io);
	sb_reset(&sb);
	struct py_report_meta meta = { .target = "PID 200 (python3), CPython 3.12.1",
				       .interval_s = 0.01, .totals = &tot, .prof = p };
	py_report_table(&sb, r, 1, &meta);
	assert_non_null(strstr(sb_str(&sb), "of 3 threads in 2 processes"));
	assert_non_null(strstr(sb_str(&sb),
			       "threads: python3 (200), io-worker (201), python3 (300/300)\n"));
	sb_reset(&sb);
	py_report_json(&sb, r, 1, &meta);
	const char *j = sb_str(&sb);
	assert_non_null(strstr(j, "\"processes\": 2"));
	const char *a = strstr(j, "\"name\": \"python3\""), *b = strstr(j, "\"name\": \"io-worker\"");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b); /* by PID and TID */
	assert_non_null(strstr(j, "\"label\": \"python3 (300/300)\""));
	sb_free(&sb);
	pyprof_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_weights_and_error),
		cmocka_unit_test(test_writers),
		cmocka_unit_test(test_thread_list),
		cmocka_unit_test(test_flamegraph),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
