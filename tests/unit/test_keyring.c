/* cmocka tests of the cookie keyring (src/daemon/keyring.c) and the key file
 * (src/io/keyfile.c): every slot's secret is derived from the master key and
 * the slot (a known-answer vector computed apart, with Python's hashlib
 * BLAKE2b), so two keyrings of one key file (a restarted daemon, another
 * router) accept each other's cookies; a new master key signs from the next
 * slot while the old one's cookies live one more period; a key file others
 * may read is refused; every worker gets the same keys for a slot, and the
 * XDP program gets a slot's keys only once every worker holds them.  The XDP
 * side is a recorder standing in for src/io/xdp.c. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "syngate/daemon/keyring.h"
#include "tuples.h"

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
#define T0 ((uint64_t)1796000000 / PERIOD * PERIOD) /* a slot's first second (2026) */

static const struct sg_tcpopts opts = {
    .has_mss = true, .mss = 1460, .sack_ok = true, .has_wscale = true, .wscale = 7};

static void master_of(uint8_t m[SG_KEYFILE_LEN], uint64_t seed)
{
	fill_random(m, SG_KEYFILE_LEN, seed);
}

static struct sg_keyring *ring(uint64_t seed, int nworkers, uint64_t now, struct sg_xdp *x)
{
	uint8_t m[SG_KEYFILE_LEN];
	struct sg_keyring *r;

	master_of(m, seed);
	r = sg_keyring_new(m, PERIOD, now, nworkers, x);
	assert_non_null(r);
	return r;
}

static struct sg_cookie_keys keys_at(struct sg_keyring *r, uint64_t now)
{
	struct sg_cookie_keys k;

	sg_keyring_sync(r, 0, now, &k);
	return k;
}

/* The window scale the SYN-ACKs of these tests tell (cookie_mac.h). */
#define TOLD 7

/* A cookie of @k for the test tuple and client ISN @isn. */
static uint32_t cookie(struct sg_cookie_keys k, uint32_t isn)
{
	struct sg_tuple t = tuple4();

	return sg_cookie_make(&k, &t, isn, &opts, TOLD, NULL);
}

static bool accepts(struct sg_cookie_keys k, uint32_t isn, uint32_t c)
{
	struct sg_tuple t = tuple4();
	struct sg_cookie_opts o;

	return sg_cookie_check(&k, &t, isn, c, TOLD, &o) == SG_R_OK;
}

static void worker_counts(void **state)
{
	uint8_t m[SG_KEYFILE_LEN] = {0};

	(void)state;
	assert_null(sg_keyring_new(m, PERIOD, T0, 0, NULL));
	assert_null(sg_keyring_new(m, PERIOD, T0, SG_KEYRING_MAX_WORKERS + 1, NULL));
	assert_null(sg_keyring_new(m, 0, T0, 1, NULL));
}

/* The KDF against values computed apart: hashlib.blake2b(b'', digest_size=64,
 * key=bytes(range(32)), salt=slot (8 bytes LE) + 8 zeros, person=b'sgcook-I'
 * + 8 zeros), I = 0, 1, 2 for the three 64-byte parts. */
static void derivation_known_answer(void **state)
{
	static const uint8_t s0_head[16] = {0xd8, 0x8f, 0xe7, 0x38, 0x94, 0x99, 0x00, 0x5a,
	                                    0x03, 0x8f, 0x27, 0xfb, 0x95, 0xd0, 0x1d, 0x3d};
	static const uint8_t s0_mid[8] = {0x1d, 0xb0, 0x36, 0x3b, 0x6c, 0xe8, 0x48, 0x84};
	static const uint8_t s0_tail[8] = {0x96, 0xb3, 0xcc, 0x5f, 0xfe, 0x9b, 0x31, 0x3e};
	static const uint8_t s1_head[16] = {0x24, 0xbc, 0xfd, 0x33, 0x8d, 0x23, 0x2a, 0x6a,
	                                    0xe5, 0x4f, 0xba, 0x6d, 0x84, 0x71, 0xef, 0x3b};
	static const uint8_t s1_tail[8] = {0xd5, 0x74, 0x56, 0x75, 0x7e, 0xfe, 0x0f, 0xb0};
	uint8_t m[SG_KEYFILE_LEN], s[SG_COOKIE_SECRET_LEN];

	(void)state;
	for (int i = 0; i < SG_KEYFILE_LEN; i++)
		m[i] = (uint8_t)i;
	sg_keyring_derive(m, 0, s);
	assert_memory_equal(s, s0_head, 16);
	assert_memory_equal(s + 64, s0_mid, 8);
	assert_memory_equal(s + SG_COOKIE_SECRET_LEN - 8, s0_tail, 8);
	sg_keyring_derive(m, 12345678, s);
	assert_memory_equal(s, s1_head, 16);
	assert_memory_equal(s + SG_COOKIE_SECRET_LEN - 8, s1_tail, 8);
}

/* The fingerprint: the same for the same key, another for another key, and
 * not the key's own bytes. */
static void key_id_fingerprint(void **state)
{
	uint8_t m[SG_KEYFILE_LEN];
	char a[17], b[17], c[17], hex[17];

	(void)state;
	master_of(m, 1);
	sg_keyring_key_id(m, a);
	sg_keyring_key_id(m, b);
	assert_int_equal(strlen(a), 16);
	assert_string_equal(a, b);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", m[i]);
	assert_string_not_equal(a, hex);
	master_of(m, 2);
	sg_keyring_key_id(m, c);
	assert_string_not_equal(a, c);
}

/* The keys are a function of the master key and the time alone: the slot's
 * secret and the previous slot's, both derived, whoever asks and when. */
static void derivation_deterministic(void **state)
{
	uint8_t m[SG_KEYFILE_LEN], s[SG_COOKIE_SECRET_LEN];
	struct sg_keyring *a = ring(1, 1, T0, NULL), *b = ring(1, 1, T0 + 7, NULL);
	struct sg_keyring *c = ring(2, 1, T0, NULL);
	struct sg_cookie_keys ka = keys_at(a, T0 + 3), kb = keys_at(b, T0 + 29);
	struct sg_cookie_keys kc = keys_at(c, T0 + 3);
	uint64_t slot = T0 / PERIOD;

	(void)state;
	assert_int_equal(ka.slot, slot);
	assert_int_equal(ka.period, PERIOD);
	assert_memory_equal(&ka, &kb, sizeof(ka));
	master_of(m, 1);
	sg_keyring_derive(m, slot, s);
	assert_memory_equal(ka.secret[slot & 1], s, sizeof(s));
	sg_keyring_derive(m, slot - 1, s);
	assert_memory_equal(ka.secret[(slot - 1) & 1], s, sizeof(s));
	/* another master key, other secrets */
	assert_memory_not_equal(ka.secret[0], kc.secret[0], SG_COOKIE_SECRET_LEN);
	assert_memory_not_equal(ka.secret[1], kc.secret[1], SG_COOKIE_SECRET_LEN);
	sg_keyring_free(a);
	sg_keyring_free(b);
	sg_keyring_free(c);
}

/* Within a slot nothing changes; the first worker in the next slot moves
 * it on, the other worker gets the very same keys. */
static void same_keys_per_slot(void **state)
{
	struct sg_cookie_keys a, b, c;
	struct sg_keyring *r = ring(3, 2, T0, NULL);

	(void)state;
	sg_keyring_sync(r, 0, T0, &a);
	sg_keyring_sync(r, 1, T0 + 1, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	sg_keyring_sync(r, 0, T0 + PERIOD, &b);
	assert_int_equal(b.slot, a.slot + 1);
	/* the new slot's secret is new, the previous slot's is kept */
	assert_memory_not_equal(b.secret[b.slot & 1], a.secret[b.slot & 1], SG_COOKIE_SECRET_LEN);
	assert_memory_equal(b.secret[a.slot & 1], a.secret[a.slot & 1], SG_COOKIE_SECRET_LEN);
	sg_keyring_sync(r, 1, T0 + PERIOD, &c);
	assert_memory_equal(&b, &c, sizeof(b));
	/* a clock stepping back keeps the latest slot */
	sg_keyring_sync(r, 1, T0 - 100, &c);
	assert_memory_equal(&b, &c, sizeof(b));
	sg_keyring_free(r);
}

/* A restarted daemon (or another router) with the same key accepts the
 * cookies of the first, in the slot they were issued in and the next, and
 * the first accepts the second's: both sign alike. */
static void two_keyrings_accept_each_other(void **state)
{
	struct sg_keyring *a = ring(4, 1, T0, NULL);
	struct sg_keyring *b = ring(4, 1, T0 + PERIOD + 5, NULL);
	struct sg_keyring *other = ring(5, 1, T0, NULL);
	struct sg_cookie_keys ka = keys_at(a, T0 + 25);
	struct sg_cookie_keys kb = keys_at(b, T0 + PERIOD + 5);
	uint32_t c = cookie(ka, 1000);

	(void)state;
	assert_true(accepts(kb, 1000, c));
	assert_false(accepts(kb, 1001, c));
	assert_true(accepts(keys_at(a, T0 + PERIOD + 5), 2000, cookie(kb, 2000)));
	assert_false(accepts(keys_at(other, T0 + 25), 1000, c));
	/* and not past their time */
	assert_false(accepts(keys_at(b, T0 + 2 * PERIOD), 1000, c));
	sg_keyring_free(a);
	sg_keyring_free(b);
	sg_keyring_free(other);
}

/* A new master key in slot n: slot n goes on with the old key's secret (its
 * cookies unchanged), slot n+1 is signed with the new key and still accepts
 * slot n's cookies, slot n+2 knows only the new key.  A router that got the
 * new key in the same slot agrees, and one started afresh with it accepts
 * the new cookies. */
static void rotation_overlap(void **state)
{
	uint8_t m2[SG_KEYFILE_LEN];
	struct sg_keyring *r = ring(6, 1, T0, NULL), *peer = ring(6, 1, T0, NULL);
	struct sg_keyring *fresh = ring(7, 1, T0 + PERIOD, NULL);
	struct sg_cookie_keys k = keys_at(r, T0);
	uint32_t old = cookie(k, 1), c2;

	(void)state;
	master_of(m2, 7);
	assert_int_equal(sg_keyring_set_master(r, m2, T0 + 10), 1);
	assert_int_equal(sg_keyring_set_master(r, m2, T0 + 11), 0); /* the same again */
	assert_int_equal(sg_keyring_set_master(peer, m2, T0 + 20), 1);
	k = keys_at(r, T0 + 12);
	assert_int_equal(cookie(k, 1), old);
	k = keys_at(r, T0 + PERIOD);
	assert_true(accepts(k, 1, old));
	c2 = cookie(k, 2);
	assert_true(accepts(keys_at(peer, T0 + PERIOD + 1), 2, c2));
	assert_true(accepts(keys_at(fresh, T0 + PERIOD + 1), 2, c2));
	assert_memory_equal(k.secret[k.slot & 1], keys_at(fresh, T0 + PERIOD).secret[k.slot & 1],
	                    SG_COOKIE_SECRET_LEN);
	k = keys_at(r, T0 + 2 * PERIOD);
	assert_false(accepts(k, 1, old));
	assert_true(accepts(k, 2, c2));
	sg_keyring_free(r);
	sg_keyring_free(peer);
	sg_keyring_free(fresh);
}

/* Two new keys within one slot: the last one wins, and the slot in
 * progress still keeps the key it started with. */
static void rotation_pending_replaced(void **state)
{
	uint8_t m2[SG_KEYFILE_LEN], m3[SG_KEYFILE_LEN];
	struct sg_keyring *r = ring(8, 1, T0, NULL), *three = ring(10, 1, T0 + PERIOD, NULL);
	struct sg_cookie_keys k = keys_at(r, T0);
	uint32_t old = cookie(k, 1);

	(void)state;
	master_of(m2, 9);
	master_of(m3, 10);
	sg_keyring_set_master(r, m2, T0 + 1);
	sg_keyring_set_master(r, m3, T0 + 2);
	assert_int_equal(cookie(keys_at(r, T0 + 3), 1), old);
	k = keys_at(r, T0 + PERIOD);
	assert_true(accepts(k, 1, old));
	assert_true(accepts(keys_at(three, T0 + PERIOD), 2, cookie(k, 2)));
	sg_keyring_free(r);
	sg_keyring_free(three);
}

static int no_random(uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	errno = EIO;
	return -1;
}

/* A rotation needs no randomness: with getrandom() failing the slot still
 * advances on time, and the first slot's secret is gone from both places
 * two slots on, so its cookies still expire on time. */
static void failed_random_still_rotates(void **state)
{
	struct sg_keyring *r = ring(11, 1, T0, NULL);
	struct sg_cookie_keys a = keys_at(r, T0), b, c;
	uint32_t old = cookie(a, 5);

	(void)state;
	sg_keyring_set_source(no_random);
	b = keys_at(r, T0 + PERIOD);
	assert_int_equal(b.slot, a.slot + 1);
	assert_memory_not_equal(b.secret[b.slot & 1], a.secret[b.slot & 1], SG_COOKIE_SECRET_LEN);
	c = keys_at(r, T0 + 2 * PERIOD);
	assert_int_equal(c.slot, a.slot + 2);
	assert_memory_not_equal(c.secret[0], a.secret[a.slot & 1], SG_COOKIE_SECRET_LEN);
	assert_memory_not_equal(c.secret[1], a.secret[a.slot & 1], SG_COOKIE_SECRET_LEN);
	assert_false(accepts(c, 5, old));
	sg_keyring_set_source(NULL);
	sg_keyring_free(r);
}

/* The program has the first slot's keys from the start, and a new slot's
 * only after the last worker took them. */
static void xdp_waits_for_every_worker(void **state)
{
	struct sg_xdp x = {0};
	struct sg_keyring *r = ring(12, 3, T0, &x);
	struct sg_cookie_keys k;

	(void)state;
	assert_int_equal(x.calls, 1);
	assert_int_equal(x.keys.slot, T0 / PERIOD);
	for (int id = 0; id < 3; id++)
		sg_keyring_sync(r, id, T0, &k);
	assert_int_equal(x.calls, 1);
	sg_keyring_sync(r, 0, T0 + PERIOD, &k);
	sg_keyring_sync(r, 2, T0 + PERIOD, &k);
	assert_int_equal(x.calls, 1);
	assert_int_equal(x.keys.slot, T0 / PERIOD);
	sg_keyring_sync(r, 1, T0 + PERIOD, &k);
	assert_int_equal(x.calls, 2);
	assert_int_equal(x.keys.slot, T0 / PERIOD + 1);
	assert_memory_equal(&x.keys, &k, sizeof(k));
	sg_keyring_sync(r, 1, T0 + PERIOD, &k);
	assert_int_equal(x.calls, 2);
	sg_keyring_free(r);
}

/* --- the key file -------------------------------------------------------- */

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sg-keyring.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put_file(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A missing key file is made (its directory too) with mode 0600 and 32
 * random bytes; a second start reads the same key; two keyrings built from
 * it accept each other's cookies. */
static void key_file_created_and_kept(void **state)
{
	uint8_t m1[SG_KEYFILE_LEN], m2[SG_KEYFILE_LEN];
	char path[128];
	struct stat st;
	struct sg_keyring *a, *b;

	(void)state;
	snprintf(path, sizeof(path), "%s/lib/key", dir);
	assert_int_equal(sg_keyring_master(path, m1), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, SG_KEYFILE_LEN);
	assert_int_equal(sg_keyring_master(path, m2), 0);
	assert_memory_equal(m1, m2, SG_KEYFILE_LEN);
	a = sg_keyring_new(m1, PERIOD, T0, 1, NULL);
	b = sg_keyring_new(m2, PERIOD, T0 + 40, 1, NULL);
	assert_true(accepts(keys_at(b, T0 + 40), 9, cookie(keys_at(a, T0 + 20), 9)));
	sg_keyring_free(a);
	sg_keyring_free(b);
	/* an operator's new key, written atomically over the old one */
	fill_random(m2, SG_KEYFILE_LEN, 77);
	assert_int_equal(sg_keyfile_write(path, m2, false, (char[256]){0}, 256), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(sg_keyfile_write(path, m2, true, (char[256]){0}, 256), 0);
	assert_int_equal(sg_keyring_master(path, m1), 0);
	assert_memory_equal(m1, m2, SG_KEYFILE_LEN);
	/* root replacing the key of the daemon's user keeps that user the owner,
	 * and a new file in that user's directory is that user's */
	if (geteuid() == 0) {
		char dpath[128];

		assert_int_equal(chown(path, 12345, 12346), 0);
		assert_int_equal(sg_keyfile_write(path, m2, true, (char[256]){0}, 256), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_uid, 12345);
		assert_int_equal(st.st_gid, 12346);
		snprintf(dpath, sizeof(dpath), "%s/lib", dir);
		assert_int_equal(chown(dpath, 12347, 12348), 0);
		snprintf(dpath, sizeof(dpath), "%s/lib/key2", dir);
		assert_int_equal(sg_keyfile_write(dpath, m2, false, (char[256]){0}, 256), 0);
		assert_int_equal(stat(dpath, &st), 0);
		assert_int_equal(st.st_uid, 12347);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
}

/* A key file group or others may read is refused and left alone, and so is
 * one of the wrong size, or a directory; no key comes out of them. */
static void bad_key_files_refused(void **state)
{
	uint8_t key[SG_KEYFILE_LEN] = {1}, got[SG_KEYFILE_LEN], big[SG_KEYFILE_LEN + 1] = {0};
	char path[128], err[256];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/open", dir);
	put_file(path, key, sizeof(key), 0644);
	assert_int_equal(sg_keyfile_read(path, got, err, sizeof(err)), -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(err, "group or others"));
	assert_int_equal(sg_keyring_master(path, got), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644); /* not "fixed", not replaced */
	put_file(path, key, sizeof(key), 0620);
	assert_int_equal(sg_keyfile_read(path, got, err, sizeof(err)), -1);
	put_file(path, key, sizeof(key), 0400);
	assert_int_equal(sg_keyfile_read(path, got, err, sizeof(err)), 0);
	assert_memory_equal(got, key, sizeof(key));

	snprintf(path, sizeof(path), "%s/short", dir);
	put_file(path, key, sizeof(key) - 1, 0600);
	assert_int_equal(sg_keyfile_read(path, got, err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "32 bytes"));
	assert_int_equal(sg_keyring_master(path, got), -1);
	snprintf(path, sizeof(path), "%s/long", dir);
	put_file(path, big, sizeof(big), 0600);
	assert_int_equal(sg_keyfile_read(path, got, err, sizeof(err)), -1);
	assert_int_equal(sg_keyring_master(dir, got), -1);
}

/* No randomness, no key file: the daemon refuses to start rather than run
 * with a key it could not make. */
static void no_random_no_key_file(void **state)
{
	uint8_t got[SG_KEYFILE_LEN];
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/never", dir);
	sg_keyring_set_source(no_random);
	assert_int_equal(sg_keyring_master(path, got), -1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(sg_keyring_master("", got), -1);
	sg_keyring_set_source(NULL);
	assert_int_equal(sg_keyring_master("", got), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(worker_counts),
	    cmocka_unit_test(derivation_known_answer),
	    cmocka_unit_test(derivation_deterministic),
	    cmocka_unit_test(key_id_fingerprint),
	    cmocka_unit_test(same_keys_per_slot),
	    cmocka_unit_test(two_keyrings_accept_each_other),
	    cmocka_unit_test(rotation_overlap),
	    cmocka_unit_test(rotation_pending_replaced),
	    cmocka_unit_test(failed_random_still_rotates),
	    cmocka_unit_test(xdp_waits_for_every_worker),
	    cmocka_unit_test(key_file_created_and_kept),
	    cmocka_unit_test(bad_key_files_refused),
	    cmocka_unit_test(no_random_no_key_file),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
