/* How profkit py --subprocesses finds child processes (src/cmd/py_children.c), on a /proc
 * made of plain files: when a scan is due, the wait before a new child is offered, a child
 * that is not Python yet (offered again, then only watched), grandchildren below a child
 * that is not Python (a shell), a PID used again by another process, and children that
 * leave. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "cmd/py_children.h"

#define MS 1000000ULL

static char root[256];

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	mkdir(path, 0755);
}

/* A process with one thread, its children and start time. */
static void proc(int pid, const char *children, unsigned long long start)
{
	char rel[128], stat[256];
	snprintf(rel, sizeof(rel), "%d/task/%d", pid, pid);
	mkdirs(rel);
	snprintf(rel, sizeof(rel), "%d/task/%d/children", pid, pid);
	put(rel, children);
	snprintf(rel, sizeof(rel), "%d/stat", pid);
	snprintf(stat, sizeof(stat),
		 "%d (py thon) S 1 1 1 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 %llu 1 1\n", pid, start);
	put(rel, stat);
}

static void gone(int pid)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%d'", root, pid);
	assert_int_equal(system(cmd), 0);
}

/* The verdict each PID gets when offered, and what was offered. */
struct session {
	enum py_child_verdict verdict[100];
	int offered[64];
	int n;
};

static enum py_child_verdict offer(void *userdata, pid_t pid)
{
	struct session *s = userdata;
	assert_true(pid > 0 && pid < 100);
	s->offered[s->n++] = pid;
	return s->verdict[pid];
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/pk-children-XXXXXX");
	assert_non_null(mkdtemp(root));
	put("loadavg", "0.10 0.20 0.30 1/100 10\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void test_due(void **state)
{
	struct py_children *c;
	assert_int_equal(py_children_new(root, &c), 0);
	uint64_t t = 1000 * MS;
	assert_true(py_children_due(c, t)); /* the first call */
	pid_t followed[] = { 10 };
	proc(10, "", 5);
	struct session s = { 0 };
	py_children_scan(c, followed, 1, t, offer, &s);
	/* Nothing created since: no scan, within the period or after it. */
	assert_false(py_children_due(c, t + 1 * MS));
	assert_false(py_children_due(c, t + 10 * MS));
	assert_false(py_children_due(c, t + 20 * MS));
	assert_false(py_children_due(c, t + 500 * MS));
	/* A process was created somewhere: the last PID moved. */
	put("loadavg", "0.10 0.20 0.30 1/101 11\n");
	assert_true(py_children_due(c, t + 520 * MS));
	py_children_scan(c, followed, 1, t + 520 * MS, offer, &s);
	/* Once a second regardless. */
	assert_false(py_children_due(c, t + 1000 * MS));
	assert_true(py_children_due(c, t + 1530 * MS));
	py_children_scan(c, followed, 1, t + 1530 * MS, offer, &s);
	/* Poked (a followed process exec'd): at once. */
	py_children_poke(c);
	assert_true(py_children_due(c, t + 1531 * MS));
	assert_int_equal(s.n, 0);
	py_children_free(c);
}

static void test_offers(void **state)
{
	struct py_children *c;
	assert_int_equal(py_children_new(root, &c), 0);
	struct session s = { 0 };
	s.verdict[21] = PY_CHILD_FOLLOWED;
	s.verdict[22] = PY_CHILD_NOT_YET; /* a shell... */
	s.verdict[23] = PY_CHILD_FOLLOWED; /* ...that starts Python */
	s.verdict[24] = PY_CHILD_NEVER;
	proc(20, "21 22 24 ", 100);
	proc(21, "", 101);
	proc(22, "", 102);
	proc(24, "", 104);
	pid_t followed[3] = { 20 };
	uint64_t t = 5000 * MS;
	py_children_scan(c, followed, 1, t, offer, &s);
	assert_int_equal(s.n, 0); /* found, not offered in the same scan */
	assert_int_equal(py_children_tracked(c), 3);
	py_children_scan(c, followed, 1, t + 2 * MS, offer, &s);
	assert_int_equal(s.n, 0); /* not settled yet */
	py_children_scan(c, followed, 1, t + 6 * MS, offer, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.offered[0], 21);
	assert_int_equal(s.offered[1], 22);
	assert_int_equal(s.offered[2], 24);
	followed[1] = 21; /* the session follows 21 now */
	assert_int_equal(py_children_tracked(c), 2);
	/* 22 is offered again (not Python yet); 24 is only watched; 22 starts Python 23. */
	proc(22, "23", 102);
	proc(23, "", 103);
	s.n = 0;
	py_children_scan(c, followed, 2, t + 20 * MS, offer, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.offered[0], 22);
	s.n = 0; /* 22 waits longer after each "not yet" (next at +40 ms) */
	py_children_scan(c, followed, 2, t + 30 * MS, offer, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.offered[0], 23);
	followed[2] = 23;
	/* After its patience 22 is only watched: offered no more. */
	s.n = 0;
	py_children_scan(c, followed, 3, t + 2100 * MS, offer, &s);
	assert_int_equal(s.n, 1);
	s.n = 0;
	py_children_scan(c, followed, 3, t + 2200 * MS, offer, &s);
	assert_int_equal(s.n, 0);
	/* 24 ends and its PID comes back as another process: new, offered again. */
	gone(24);
	py_children_scan(c, followed, 3, t + 2300 * MS, offer, &s);
	assert_int_equal(py_children_tracked(c), 1); /* 22 only */
	proc(24, "", 999);
	s.verdict[24] = PY_CHILD_FOLLOWED;
	py_children_scan(c, followed, 3, t + 2400 * MS, offer, &s);
	py_children_scan(c, followed, 3, t + 2410 * MS, offer, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.offered[0], 24);
	/* A followed process (21) is never offered, even listed as a child again. */
	proc(20, "21 22 24", 100);
	s.n = 0;
	pid_t all[] = { 20, 21, 23, 24 };
	py_children_scan(c, all, 4, t + 2500 * MS, offer, &s);
	py_children_scan(c, all, 4, t + 2600 * MS, offer, &s);
	assert_int_equal(s.n, 0);
	py_children_free(c);
}

/* A child that never becomes Python is tried less and less often, not at every scan. */
static void test_backoff(void **state)
{
	struct py_children *c;
	assert_int_equal(py_children_new(root, &c), 0);
	struct session s = { 0 };
	s.verdict[31] = PY_CHILD_NOT_YET;
	proc(30, "31", 100);
	proc(31, "", 101);
	pid_t followed[] = { 30 };
	uint64_t t = 9000 * MS;
	for (uint64_t ms = 0; ms < 700; ms += 10) {
		if (py_children_due(c, t + ms * MS))
			py_children_scan(c, followed, 1, t + ms * MS, offer, &s);
	}
	/* Offered at +10, 20, 40, 80, 160, 320 and 640 ms. */
	assert_int_equal(s.n, 7);
	/* Scans stop being due once nothing waits (and nothing else moves). */
	assert_false(py_children_due(c, t + 700 * MS));
	py_children_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
