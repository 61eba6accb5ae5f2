/* pidmap: an open-addressing hash map with tombstones. */
#include "unit.h"

#include <errno.h>
#include "util/pidmap.h"

#define VAL(pid) ((void *)(uintptr_t)((pid) * 2 + 1))

static size_t count_by_iteration(const struct pidmap *m, uint64_t *ret_pid_sum)
{
	size_t n = 0;
	uint64_t sum = 0;
	pid_t pid;
	void *val;
	for (size_t i = 0; pidmap_next(m, &i, &pid, &val);) {
		assert_ptr_equal(val, VAL(pid));
		sum += (uint64_t)pid;
		n++;
	}
	*ret_pid_sum = sum;
	return n;
}

static void test_empty(void **state)
{
	struct pidmap m = { 0 };
	size_t i = 0;
	assert_null(pidmap_get(&m, 1));
	assert_null(pidmap_del(&m, 1));
	assert_int_equal(pidmap_next(&m, &i, NULL, NULL), 0);
	pidmap_free(&m);
}

static void test_put_get_replace(void **state)
{
	struct pidmap m = { 0 };
	int a, b;
	assert_int_equal(pidmap_put(&m, 10, &a), 0);
	assert_ptr_equal(pidmap_get(&m, 10), &a);
	assert_int_equal(pidmap_put(&m, 10, &b), 0);
	assert_ptr_equal(pidmap_get(&m, 10), &b);
	assert_int_equal(m.live, 1);
	assert_null(pidmap_get(&m, 11));
	assert_int_equal(pidmap_put(&m, 0, &a), -EINVAL);
	assert_int_equal(pidmap_put(&m, -1, &a), -EINVAL);
	assert_null(pidmap_get(&m, -1)); /* -1 marks a deleted slot: never a key */
	pidmap_free(&m);
}

static void test_many_insert_delete_reinsert(void **state)
{
	struct pidmap m = { 0 };
	const pid_t n = 10000;
	for (pid_t p = 1; p <= n; p++)
		assert_int_equal(pidmap_put(&m, p, VAL(p)), 0);
	assert_int_equal(m.live, n);
	assert_true(m.cap >= (size_t)n && (m.cap & (m.cap - 1)) == 0); /* grew, power of two */
	uint64_t sum;
	assert_int_equal(count_by_iteration(&m, &sum), n);
	assert_int_equal(sum, (uint64_t)n * (n + 1) / 2);

	for (pid_t p = 1; p <= n; p += 2)
		assert_ptr_equal(pidmap_del(&m, p), VAL(p));
	assert_null(pidmap_del(&m, 1)); /* already gone */
	assert_int_equal(m.live, n / 2);
	for (pid_t p = 1; p <= n; p++)
		assert_ptr_equal(pidmap_get(&m, p), p % 2 ? NULL : VAL(p));
	assert_int_equal(count_by_iteration(&m, &sum), n / 2);

	for (pid_t p = 1; p <= n; p += 2)
		assert_int_equal(pidmap_put(&m, p, VAL(p)), 0);
	assert_int_equal(m.live, n);
	for (pid_t p = 1; p <= n; p++)
		assert_ptr_equal(pidmap_get(&m, p), VAL(p));
	pidmap_free(&m);
	assert_int_equal(m.cap, 0);
}

/* Insert-then-delete of ever new PIDs (process churn) fills the table with tombstones:
 * they must be cleaned up without growing the table, and lookups must still end. */
static void test_tombstone_churn_does_not_grow(void **state)
{
	struct pidmap m = { 0 };
	assert_int_equal(pidmap_put(&m, 1, VAL(1)), 0);
	size_t cap = m.cap;
	for (pid_t p = 2; p < 200000; p++) {
		assert_int_equal(pidmap_put(&m, p, VAL(p)), 0);
		assert_ptr_equal(pidmap_del(&m, p), VAL(p));
	}
	assert_int_equal(m.cap, cap);
	assert_int_equal(m.live, 1);
	assert_ptr_equal(pidmap_get(&m, 1), VAL(1));
	assert_null(pidmap_get(&m, 199999));
	uint64_t sum;
	assert_int_equal(count_by_iteration(&m, &sum), 1);
	pidmap_free(&m);
}

/* Keys that collide modulo the table size probe past tombstones. */
static void test_colliding_keys_across_tombstones(void **state)
{
	struct pidmap m = { 0 };
	pid_t keys[40];
	for (int i = 0; i < 40; i++) {
		keys[i] = 1 + i * 64 * 1024; /* same low bits, so long probe chains */
		assert_int_equal(pidmap_put(&m, keys[i], VAL(keys[i])), 0);
	}
	for (int i = 0; i < 40; i += 3)
		pidmap_del(&m, keys[i]);
	for (int i = 0; i < 40; i++)
		assert_ptr_equal(pidmap_get(&m, keys[i]), i % 3 ? VAL(keys[i]) : NULL);
	for (int i = 0; i < 40; i += 3)
		assert_int_equal(pidmap_put(&m, keys[i], VAL(keys[i])), 0);
	for (int i = 0; i < 40; i++)
		assert_ptr_equal(pidmap_get(&m, keys[i]), VAL(keys[i]));
	assert_int_equal(m.live, 40);
	pidmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_put_get_replace),
		cmocka_unit_test(test_many_insert_delete_reinsert),
		cmocka_unit_test(test_tombstone_churn_does_not_grow),
		cmocka_unit_test(test_colliding_keys_across_tombstones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
