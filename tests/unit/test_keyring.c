/* cmocka tests of the cookie keyring (src/daemon/keyring.c): every worker
 * gets the same keys for a slot, the first to reach a new slot draws its
 * secret, and the XDP program gets a slot's keys only once every worker
 * holds them.  The XDP side is a recorder standing in for src/io/xdp.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "syngate/daemon/keyring.h"

/* The recorder: what sg_xdp_set_keys() was last given, and how often. */
struct sg_xdp {
	int calls;
	struct sg_cookie_keys keys;
};

int sg_xdp_set_keys(struct sg_xdp *x, const struct sg_cookie_keys *k)
{
	x->calls++;
	x->keys = *k;
	return 0;
}

#define PERIOD 30

static uint64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void worker_counts(void **state)
{
	(void)state;
	assert_null(sg_keyring_new(PERIOD, 0, NULL));
	assert_null(sg_keyring_new(PERIOD, SG_KEYRING_MAX_WORKERS + 1, NULL));
}

/* A keyring of @nworkers, worker 0's keys in @a and @now at the start of
 * their slot (no rotation until now + PERIOD). */
static struct sg_keyring *ring_at_slot(int nworkers, struct sg_cookie_keys *a, uint64_t *now)
{
	struct sg_keyring *r = sg_keyring_new(PERIOD, nworkers, NULL);

	assert_non_null(r);
	*now = mono_s();
	sg_keyring_sync(r, 0, *now, a);
	assert_int_equal(a->slot, *now / PERIOD);
	*now = a->slot * PERIOD;
	return r;
}

/* Within a slot nothing changes; the first worker in the next slot draws one
 * new secret, the other worker gets the very same keys. */
static void same_keys_per_slot(void **state)
{
	struct sg_cookie_keys a, b, c;
	uint64_t now;
	struct sg_keyring *r = ring_at_slot(2, &a, &now);

	(void)state;
	sg_keyring_sync(r, 1, now, &b);
	assert_int_equal(a.period, PERIOD);
	assert_memory_equal(&a, &b, sizeof(a));
	sg_keyring_sync(r, 0, now + PERIOD, &b);
	assert_int_equal(b.slot, a.slot + 1);
	/* the new slot's secret is new, the previous slot's is kept */
	assert_memory_not_equal(b.secret[b.slot & 1], a.secret[b.slot & 1], SG_COOKIE_SECRET_LEN);
	assert_memory_equal(b.secret[a.slot & 1], a.secret[a.slot & 1], SG_COOKIE_SECRET_LEN);
	sg_keyring_sync(r, 1, now + PERIOD, &c);
	assert_memory_equal(&b, &c, sizeof(b));
	sg_keyring_free(r);
}

static int no_random(uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	errno = EIO;
	return -1;
}

/* getrandom() failing at a rotation never keeps a slot's keys past it: the
 * slot advances with secrets derived from the previous ones, so the old
 * slot's cookies still expire on time. */
static void failed_random_still_rotates(void **state)
{
	struct sg_cookie_keys a, b, c;
	uint64_t now;
	struct sg_keyring *r = ring_at_slot(1, &a, &now);

	(void)state;
	sg_keyring_set_source(no_random);
	sg_keyring_sync(r, 0, now + PERIOD, &b);
	assert_int_equal(b.slot, a.slot + 1);
	assert_memory_not_equal(b.secret[b.slot & 1], a.secret[b.slot & 1], SG_COOKIE_SECRET_LEN);
	sg_keyring_sync(r, 0, now + 2 * PERIOD, &c);
	assert_int_equal(c.slot, a.slot + 2);
	/* the first slot's secret is gone from both places */
	assert_memory_not_equal(c.secret[0], a.secret[a.slot & 1], SG_COOKIE_SECRET_LEN);
	assert_memory_not_equal(c.secret[1], a.secret[a.slot & 1], SG_COOKIE_SECRET_LEN);
	sg_keyring_set_source(NULL);
	sg_keyring_free(r);
}

/* The program has the first slot's keys from the start, and a new slot's
 * only after the last worker took them. */
static void xdp_waits_for_every_worker(void **state)
{
	struct sg_xdp x = {0};
	struct sg_keyring *r = sg_keyring_new(PERIOD, 3, &x);
	struct sg_cookie_keys k;
	uint64_t before = mono_s(), first, now;

	(void)state;
	assert_non_null(r);
	assert_int_equal(x.calls, 1);
	first = x.keys.slot;
	assert_in_range(first, before / PERIOD, mono_s() / PERIOD);
	now = first * PERIOD;
	for (int id = 0; id < 3; id++)
		sg_keyring_sync(r, id, now, &k);
	assert_int_equal(x.calls, 1);
	sg_keyring_sync(r, 0, now + PERIOD, &k);
	sg_keyring_sync(r, 2, now + PERIOD, &k);
	assert_int_equal(x.calls, 1);
	assert_int_equal(x.keys.slot, first);
	sg_keyring_sync(r, 1, now + PERIOD, &k);
	assert_int_equal(x.calls, 2);
	assert_int_equal(x.keys.slot, first + 1);
	assert_memory_equal(&x.keys, &k, sizeof(k));
	sg_keyring_sync(r, 1, now + PERIOD, &k);
	assert_int_equal(x.calls, 2);
	sg_keyring_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(worker_counts),
	    cmocka_unit_test(same_keys_per_slot),
	    cmocka_unit_test(failed_random_still_rotates),
	    cmocka_unit_test(xdp_waits_for_every_worker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
