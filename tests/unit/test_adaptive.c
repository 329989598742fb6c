/* cmocka tests of adaptive engagement: the watermarks, hysteresis, the
 * sliding window, and legitimate traffic that never engages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "syngate/core/adaptive.h"

static void engages_at_high(void **state)
{
	struct sg_adaptive a;
	int i;

	(void)state;
	sg_adaptive_init(&a, 100, 50, 800, 0);
	for (i = 0; i < 99; i++)
		assert_false(sg_adaptive_begin(&a, 10));
	assert_true(sg_adaptive_begin(&a, 10)); /* the 100th unfinished SYN */
	assert_int_equal(a.engagements, 1);
	assert_int_equal(sg_adaptive_estimate(&a), 100);
}

/* Completed handshakes do not count: 10 000 SYNs that all complete never engage. */
static void legit_never_engages(void **state)
{
	struct sg_adaptive a;
	uint64_t t;
	int i;

	(void)state;
	sg_adaptive_init(&a, 100, 50, 800, 0);
	for (t = 0, i = 0; i < 10000; i++, t++) {
		assert_false(sg_adaptive_begin(&a, t));
		sg_adaptive_done(&a, t + 1);
		assert_false(sg_adaptive_tick(&a, t + 1));
	}
	assert_int_equal(a.engagements, 0);
	assert_true(sg_adaptive_estimate(&a) <= 1);
}

/* Between the watermarks nothing changes; below low releases; the flood's
 * SYNs leave the estimate when they leave the window. */
static void hysteresis_and_window(void **state)
{
	struct sg_adaptive a;
	int i;

	(void)state;
	sg_adaptive_init(&a, 100, 50, 800, 0); /* 8 buckets of 100 ms */
	for (i = 0; i < 150; i++)
		sg_adaptive_begin(&a, 0);
	assert_true(a.engaged);
	for (i = 0; i < 60; i++)
		sg_adaptive_done(&a, 50); /* estimate 90: between low and high */
	assert_true(sg_adaptive_tick(&a, 60));
	assert_true(sg_adaptive_tick(&a, 799)); /* still in the window */
	assert_false(sg_adaptive_tick(&a, 800)); /* the first bucket left the window */
	assert_int_equal(a.releases, 1);
	assert_int_equal(sg_adaptive_estimate(&a), 0);
}

/* A continuing flood keeps cookies engaged across many windows. */
static void sustained_flood_stays_engaged(void **state)
{
	struct sg_adaptive a;
	uint64_t t;
	int i;

	(void)state;
	sg_adaptive_init(&a, 1000, 500, 2000, 0);
	for (t = 0; t < 20000; t += 10) {
		for (i = 0; i < 100; i++) /* 10k SYN/s */
			sg_adaptive_begin(&a, t);
		if (t > 200)
			assert_true(sg_adaptive_tick(&a, t));
	}
	assert_int_equal(a.engagements, 1);
	assert_int_equal(a.releases, 0);
	/* flood stops: released within one window */
	assert_false(sg_adaptive_tick(&a, t + 2000));
}

/* A long silence empties the window in bounded work. */
static void long_gap(void **state)
{
	struct sg_adaptive a;
	int i;

	(void)state;
	sg_adaptive_init(&a, 10, 5, 80, 0);
	for (i = 0; i < 20; i++)
		sg_adaptive_begin(&a, 5);
	assert_false(sg_adaptive_tick(&a, 1000000000ull));
	assert_int_equal(sg_adaptive_estimate(&a), 0);
	assert_false(sg_adaptive_begin(&a, 1000000001ull));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(engages_at_high),
		cmocka_unit_test(legit_never_engages),
		cmocka_unit_test(hysteresis_and_window),
		cmocka_unit_test(sustained_flood_stays_engaged),
		cmocka_unit_test(long_gap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
