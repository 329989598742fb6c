/* cmocka tests of the half-open table: insert/find/remove, the bound, and
 * backward-shift deletion keeping every survivor reachable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "syngate/core/table.h"

static struct sg_tuple key(uint32_t i)
{
	struct sg_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = i & 1 ? AF_INET6 : AF_INET;
	memcpy(t.saddr, &i, 4);
	t.daddr[0] = 203;
	t.sport = (uint16_t)(i >> 3);
	t.dport = 80;
	return t;
}

static void insert_find_remove(void **state)
{
	struct sg_table *t = sg_table_new(1000, 7);
	struct sg_halfopen *e;
	uint32_t i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 1000; i++) {
		struct sg_tuple k = key(i);

		e = sg_table_insert(t, &k);
		assert_non_null(e);
		e->client_isn = i;
	}
	assert_int_equal(sg_table_count(t), 1000);
	{
		struct sg_tuple k = key(5000);

		assert_null(sg_table_insert(t, &k)); /* bound reached */
	}
	/* remove every third entry; all others stay reachable with their data */
	for (i = 0; i < 1000; i += 3) {
		struct sg_tuple k = key(i);

		e = sg_table_find(t, &k);
		assert_non_null(e);
		sg_table_remove(t, e);
	}
	for (i = 0; i < 1000; i++) {
		struct sg_tuple k = key(i);

		e = sg_table_find(t, &k);
		if (i % 3 == 0) {
			assert_null(e);
		} else {
			assert_non_null(e);
			assert_int_equal(e->client_isn, i);
		}
	}
	assert_int_equal(sg_table_count(t), 666);
	sg_table_free(t);
}

static void reinsert_same_key(void **state)
{
	struct sg_table *t = sg_table_new(4, 1);
	struct sg_tuple k = key(1);

	(void)state;
	assert_non_null(sg_table_insert(t, &k));
	assert_non_null(sg_table_insert(t, &k));
	assert_int_equal(sg_table_count(t), 1);
	sg_table_free(t);
}

static bool drop_odd(void *ctx, struct sg_halfopen *e)
{
	struct sg_table *t = ctx;

	if (e->client_isn & 1) {
		sg_table_remove(t, e);
		return true;
	}
	return false;
}

/* A full sweep with removals in the callback removes exactly the odd ones. */
static void scan_with_removal(void **state)
{
	struct sg_table *t = sg_table_new(500, 3);
	uint32_t i;

	(void)state;
	for (i = 0; i < 500; i++) {
		struct sg_tuple k = key(i * 2654435761u);

		sg_table_insert(t, &k)->client_isn = i;
	}
	for (i = 0; i < 4; i++)
		sg_table_scan(t, 1024, drop_odd, t);
	assert_int_equal(sg_table_count(t), 250);
	for (i = 0; i < 500; i++) {
		struct sg_tuple k = key(i * 2654435761u);

		if (i & 1)
			assert_null(sg_table_find(t, &k));
		else
			assert_non_null(sg_table_find(t, &k));
	}
	sg_table_free(t);
}

static bool count_visit(void *ctx, struct sg_halfopen *e)
{
	(void)e;
	(*(unsigned *)ctx)++;
	return false;
}

/* A sparse table's sweep skips unused bitmap words, yet visits every entry
 * exactly once per full pass, whatever the budget per call (runs of unused
 * slots are cut at the budget), and keeps doing so after removals have
 * shifted entries. */
static void sparse_scan_visits_each_once(void **state)
{
	struct sg_table *t = sg_table_new(5000, 11); /* 16384 slots */
	const uint32_t budgets[] = {16384, 1, 7, 63, 64, 65, 1000};
	unsigned visits;
	uint32_t i, b, done;

	(void)state;
	for (i = 0; i < 40; i++) {
		struct sg_tuple k = key(i * 2654435761u);

		sg_table_insert(t, &k)->client_isn = i;
	}
	for (b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
		visits = 0;
		for (done = 0; done < 16384; done += budgets[b])
			sg_table_scan(t, budgets[b] < 16384 - done ? budgets[b] : 16384 - done,
				      count_visit, &visits);
		assert_int_equal(visits, 40);
	}
	for (i = 0; i < 4; i++)
		sg_table_scan(t, 16384, drop_odd, t);
	assert_int_equal(sg_table_count(t), 20);
	visits = 0;
	sg_table_scan(t, 16384, count_visit, &visits);
	assert_int_equal(visits, 20);
	sg_table_free(t);
}

static void bad_size(void **state)
{
	(void)state;
	assert_null(sg_table_new(0, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(insert_find_remove),
		cmocka_unit_test(reinsert_same_key),
		cmocka_unit_test(scan_with_removal),
		cmocka_unit_test(sparse_scan_visits_each_once),
		cmocka_unit_test(bad_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
