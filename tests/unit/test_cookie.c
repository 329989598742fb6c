/* cmocka tests of the SYN cookies: known answers, option round trips, the
 * validity window, and the forged-ACK acceptance rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include <xxhash.h>

#include "syngate/core/cookie.h"
#include "syngate/core/cookie_mac.h"
#include "tuples.h"

#define PERIOD 30
#define TOLD 7 /* the window scale the tests' SYN-ACKs told */

static uint8_t rnd[2 * SG_COOKIE_SECRET_LEN];

static void keys_at(struct sg_cookie_keys *k, uint64_t now)
{
	fill_random(rnd, sizeof(rnd), 1);
	sg_cookie_init(k, PERIOD, now, rnd);
}

static struct sg_tcpopts linux_syn_opts(void)
{
	struct sg_tcpopts o;

	memset(&o, 0, sizeof(o));
	o.has_mss = true;
	o.mss = 1460;
	o.sack_ok = true;
	o.has_ts = true;
	o.has_wscale = true;
	o.wscale = 7;
	return o;
}

/* Known answers: fixed secrets and inputs give fixed cookies.  A change to the
 * MAC input, layout or hash shows up here. */
static void known_answers(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple t4 = tuple4(), t6 = tuple6();
	struct sg_tcpopts o = linux_syn_opts();
	uint32_t c4, c6;

	(void)state;
	keys_at(&k, 1000);
	c4 = sg_cookie_make(&k, &t4, 0x12345678, &o, TOLD, NULL);
	c6 = sg_cookie_make(&k, &t6, 0x12345678, &o, TOLD, NULL);
	printf("# kat c4=0x%08x c6=0x%08x\n", c4, c6);
	assert_int_equal(c4, 0x44ead79f);
	assert_int_equal(c6, 0xec4b6e9f);
	/* the low byte is the documented layout: wscale idx 4 (7), sack, mss idx 7
	 * (1460; 1440 in v6), parity of slot 33 */
	assert_int_equal(c4 & 0xff, 4u << 5 | 1u << 4 | 7u << 1 | 1u);
	assert_int_equal(c6 & 0xff, 4u << 5 | 1u << 4 | 7u << 1 | 1u);
}

/* The MAC is XXH3-64 with the slot's secret over the documented input bytes,
 * built here independently of cookie.c, and the cookie's top 24 bits are the
 * MAC's top 24 bits. */
static void mac_input_layout(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple t = tuple4();
	struct sg_tcpopts o = linux_syn_opts();
	uint8_t in[16 + 16 + 8 + 4 + 2 + 2 + 1 + 1 + 1];
	uint64_t slot = 1000 / PERIOD;
	uint32_t isn = 0x12345678, c;

	(void)state;
	keys_at(&k, 1000);
	c = sg_cookie_make(&k, &t, isn, &o, TOLD, NULL);
	memset(in, 0, sizeof(in));
	memcpy(in, t.saddr, 16);
	memcpy(in + 16, t.daddr, 16);
	memcpy(in + 32, &slot, 8);
	memcpy(in + 40, &isn, 4);
	memcpy(in + 44, &t.sport, 2);
	memcpy(in + 46, &t.dport, 2);
	in[48] = AF_INET;
	in[49] = (uint8_t)c;
	in[50] = TOLD;
	assert_int_equal(XXH3_64bits_withSecret(in, sizeof(in), k.secret[slot & 1],
						SG_COOKIE_SECRET_LEN) >> 40,
			 c >> 8);
}

/* The XDP program's plain-C XXH3 (cookie_mac.h) equals libxxhash's for the
 * 51-byte MAC input, over random inputs and secrets, including inputs whose
 * words make the 32-bit partial products carry. */
static void portable_mac_matches_xxh3(void **state)
{
	uint8_t in[SG_COOKIE_MAC_INPUT_LEN], secret[SG_COOKIE_SECRET_LEN];
	unsigned i, mismatches = 0;

	(void)state;
	for (i = 0; i < 200000; i++) {
		fill_random(in, sizeof(in), 0x9e3779b97f4a7c15ull * (i + 1));
		fill_random(secret, sizeof(secret), 0xc2b2ae3d27d4eb4full * (i + 7));
		if (i % 3 == 0)
			memset(in, 0xff, sizeof(in)); /* all carries */
		if (i % 5 == 0)
			memset(secret + 8 * (i % 8), 0, 8);
		if (sg_cookie_mac_xxh3(in, secret) !=
		    XXH3_64bits_withSecret(in, sizeof(in), secret, sizeof(secret)))
			mismatches++;
	}
	assert_int_equal(mismatches, 0);
}

/* sg_cookie_mac() hashes exactly struct sg_cookie_mac_input, so the XDP
 * program, which fills that struct from the packet, gets the same MAC. */
static void mac_equals_portable(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple ts[2] = {tuple4(), tuple6()};
	struct sg_cookie_mac_input in;
	int f;

	(void)state;
	keys_at(&k, 4242);
	for (f = 0; f < 2; f++) {
		memset(&in, 0, sizeof(in));
		memcpy(in.saddr, ts[f].saddr, 16);
		memcpy(in.daddr, ts[f].daddr, 16);
		in.slot = k.slot;
		in.client_isn = 0xdeadbeef;
		in.sport = ts[f].sport;
		in.dport = ts[f].dport;
		in.family = ts[f].family;
		in.low_bits = 0x5b;
		in.told = 9;
		assert_true(sg_cookie_mac(k.secret[1], &ts[f], 0xdeadbeef, k.slot, 0x5b, 9) ==
			    sg_cookie_mac_xxh3((const uint8_t *)&in, k.secret[1]));
	}
}

/* Every MSS, wscale and SACK combination survives the round trip, rounded
 * down to the tables. */
static void roundtrip_all_options(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple ts[2] = {tuple4(), tuple6()};
	int f, sack;
	unsigned mss, ws;

	(void)state;
	keys_at(&k, 5000);
	for (f = 0; f < 2; f++)
		for (mss = 500; mss <= 9000; mss += 37)
			for (ws = 0; ws <= 15; ws++)
				for (sack = 0; sack < 2; sack++) {
					struct sg_tcpopts o;
					struct sg_cookie_opts enc, dec;
					const uint16_t *tab = f ? sg_cookie_mss6 : sg_cookie_mss4;
					uint32_t c;

					memset(&o, 0, sizeof(o));
					o.has_mss = true;
					o.mss = (uint16_t)mss;
					o.has_wscale = ws != 15;
					o.wscale = (uint8_t)(ws > 14 ? 14 : ws);
					o.sack_ok = sack;
					c = sg_cookie_make(&k, &ts[f], mss * 7919u, &o, TOLD, &enc);
					assert_int_equal(sg_cookie_check(&k, &ts[f], mss * 7919u,
									 c, TOLD, &dec),
							 SG_R_OK);
					assert_int_equal(dec.mss, enc.mss);
					assert_int_equal(dec.sack_ok, sack);
					assert_int_equal(dec.has_wscale, o.has_wscale);
					/* never more than the client offered */
					assert_true(dec.mss <= mss || dec.mss == tab[0]);
					if (o.has_wscale)
						assert_true(dec.wscale <= o.wscale);
					/* exact where the table has the value */
					if (mss >= tab[7])
						assert_int_equal(dec.mss, tab[7]);
					if (o.has_wscale && (ws == 0 || ws == 2 || ws == 6 ||
							     ws == 7 || ws == 8 || ws == 9 ||
							     ws == 10))
						assert_int_equal(dec.wscale, ws);
				}
}

/* A SYN without options decodes to the family minimum and no wscale/SACK. */
static void no_options(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple t = tuple6();
	struct sg_tcpopts o;
	struct sg_cookie_opts dec;
	uint32_t c;

	(void)state;
	keys_at(&k, 77);
	memset(&o, 0, sizeof(o));
	c = sg_cookie_make(&k, &t, 1, &o, TOLD, NULL);
	assert_int_equal(sg_cookie_check(&k, &t, 1, c, TOLD, &dec), SG_R_OK);
	assert_int_equal(dec.mss, 1220);
	assert_false(dec.has_wscale);
	assert_false(dec.sack_ok);
}

/* Any change of tuple, client ISN or cookie bit makes the check fail. */
static void binds_tuple_and_isn(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple t = tuple4(), u;
	struct sg_tcpopts o = linux_syn_opts();
	struct sg_cookie_opts dec;
	uint32_t c;
	int bit;

	(void)state;
	keys_at(&k, 100);
	c = sg_cookie_make(&k, &t, 42, &o, TOLD, NULL);
	assert_int_equal(sg_cookie_check(&k, &t, 43, c, TOLD, &dec), SG_R_COOKIE_MAC);
	u = t;
	u.sport++;
	assert_int_equal(sg_cookie_check(&k, &u, 42, c, TOLD, &dec), SG_R_COOKIE_MAC);
	u = t;
	u.dport++;
	assert_int_equal(sg_cookie_check(&k, &u, 42, c, TOLD, &dec), SG_R_COOKIE_MAC);
	u = t;
	u.saddr[3] ^= 1;
	assert_int_equal(sg_cookie_check(&k, &u, 42, c, TOLD, &dec), SG_R_COOKIE_MAC);
	u = t;
	u.daddr[0] ^= 0x80;
	assert_int_equal(sg_cookie_check(&k, &u, 42, c, TOLD, &dec), SG_R_COOKIE_MAC);
	for (bit = 1; bit < 32; bit++) /* bit 0 flips the slot: also a failure */
		assert_int_not_equal(sg_cookie_check(&k, &t, 42, c ^ (1u << bit), TOLD, &dec),
				     SG_R_OK);
	assert_int_not_equal(sg_cookie_check(&k, &t, 42, c ^ 1u, TOLD, &dec), SG_R_OK);
}

/* The validity window: a cookie is accepted in its own slot and the next one,
 * and rejected from the slot after that on. */
static void validity_window(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple t = tuple4();
	struct sg_tcpopts o = linux_syn_opts();
	struct sg_cookie_opts dec;
	uint64_t t0 = 3000 * PERIOD + PERIOD - 1; /* last second of a slot */
	uint32_t c;

	(void)state;
	keys_at(&k, t0);
	c = sg_cookie_make(&k, &t, 9, &o, TOLD, NULL);
	assert_int_equal(sg_cookie_check(&k, &t, 9, c, TOLD, &dec), SG_R_OK);

	fill_random(rnd, sizeof(rnd), 2);
	assert_int_equal(sg_cookie_rotate(&k, t0 + 1, rnd), 1); /* previous slot now */
	assert_int_equal(sg_cookie_check(&k, &t, 9, c, TOLD, &dec), SG_R_OK);
	assert_int_equal(sg_cookie_rotate(&k, t0 + PERIOD, rnd), 0); /* same slot */
	assert_int_equal(sg_cookie_check(&k, &t, 9, c, TOLD, &dec), SG_R_OK);

	fill_random(rnd, sizeof(rnd), 3);
	assert_int_equal(sg_cookie_rotate(&k, t0 + PERIOD + 1, rnd), 1); /* two slots on */
	assert_int_equal(sg_cookie_check(&k, &t, 9, c, TOLD, &dec), SG_R_COOKIE_MAC);

	/* a cookie made now works now and after one rotation, not two */
	c = sg_cookie_make(&k, &t, 9, &o, TOLD, NULL);
	fill_random(rnd, sizeof(rnd), 4);
	sg_cookie_rotate(&k, t0 + 2 * PERIOD + 1, rnd);
	assert_int_equal(sg_cookie_check(&k, &t, 9, c, TOLD, &dec), SG_R_OK);

	/* a jump of several slots (suspend, clock step) replaces both secrets */
	fill_random(rnd, sizeof(rnd), 5);
	assert_int_equal(sg_cookie_rotate(&k, t0 + 10 * PERIOD, rnd), 2);
	assert_int_not_equal(sg_cookie_check(&k, &t, 9, c, TOLD, &dec), SG_R_OK);
}

/* Even with the secret of the right parity kept, a cookie two slots old fails
 * because the slot number is MAC input. */
static void slot_is_authenticated(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple t = tuple4();
	struct sg_tcpopts o = linux_syn_opts();
	struct sg_cookie_opts dec;
	uint32_t c;

	(void)state;
	keys_at(&k, 10 * PERIOD);
	c = sg_cookie_make(&k, &t, 5, &o, TOLD, NULL);
	k.slot += 2; /* same parity, same secret */
	assert_int_equal(sg_cookie_check(&k, &t, 5, c, TOLD, &dec), SG_R_COOKIE_MAC);
}

static void slot_zero_previous(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple t = tuple4();
	struct sg_cookie_opts dec;

	(void)state;
	keys_at(&k, 0);
	assert_int_equal(sg_cookie_check(&k, &t, 5, 1u, TOLD, &dec), SG_R_COOKIE_STALE);
}

/* 10^7 random ACKs against one tuple: the expected number accepted is
 * 10^7 / 2^24 = 0.6.  Accepting more than 8 has probability < 1e-6 at 2^-24 and
 * would be the expected count (9.5) at 2^-20. */
static void forged_acks(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple t = tuple4();
	struct sg_cookie_opts dec;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned long accepted = 0, i, n = 10000000;

	(void)state;
	keys_at(&k, 123456);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (sg_cookie_check(&k, &t, (uint32_t)(x >> 32), (uint32_t)x, TOLD, &dec) == SG_R_OK)
			accepted++;
	}
	printf("# forged ACKs: %lu accepted of %lu (expected %.2f at 2^-24)\n", accepted, n,
	       n / 16777216.0);
	assert_true(accepted <= 8);
}

/* The same with the client ISN fixed, as an attacker replaying one SYN would. */
static void forged_acks_fixed_isn(void **state)
{
	struct sg_cookie_keys k;
	struct sg_tuple t = tuple6();
	struct sg_cookie_opts dec;
	unsigned long accepted = 0;
	uint32_t c;

	(void)state;
	keys_at(&k, 99999);
	for (c = 0; c < 10000000u; c++)
		if (sg_cookie_check(&k, &t, 777, c * 2654435761u, TOLD, &dec) == SG_R_OK)
			accepted++;
	printf("# forged ACKs, fixed ISN: %lu accepted of 10000000\n", accepted);
	assert_true(accepted <= 8);
}

/* The window scale the SYN-ACK told is MAC input: a cookie checked with
 * another one fails, and each told value, "none" included, verifies. */
static void told_is_authenticated(void **state)
{
	static const uint8_t told[] = {0, 2, 7, 9, 14, SG_COOKIE_TOLD_NONE};
	struct sg_cookie_keys k;
	struct sg_tuple t = tuple4();
	struct sg_tcpopts o = linux_syn_opts();
	struct sg_cookie_opts dec;
	unsigned i, j;
	uint32_t c;

	(void)state;
	keys_at(&k, 5000);
	for (i = 0; i < sizeof(told); i++) {
		c = sg_cookie_make(&k, &t, 77, &o, told[i], NULL);
		for (j = 0; j < sizeof(told); j++)
			assert_int_equal(sg_cookie_check(&k, &t, 77, c, told[j], &dec),
					 i == j ? SG_R_OK : SG_R_COOKIE_MAC);
	}
}

/* What a cookie may have told: the record's value now; the value before its
 * last change only for a cookie issued no later than the slot of the change;
 * "none" for a SYN that offered no window scaling; the default for an
 * unknown backend. */
static void told_candidates(void **state)
{
	struct sg_backend_opts b = {.has_wscale = true, .wscale = 9, .mss = 1460};
	struct sg_tcpopts o = linux_syn_opts();
	struct sg_cookie_keys k;
	struct sg_tuple t = tuple4();
	uint8_t out[2];
	uint32_t c;

	(void)state;
	keys_at(&k, 100 * PERIOD);
	c = sg_cookie_make(&k, &t, 1, &o, TOLD, NULL);
	assert_int_equal(sg_cookie_told_candidates(c, 100, NULL, 7, out), 1);
	assert_int_equal(out[0], 7);
	assert_int_equal(sg_cookie_told_candidates(c, 100, &b, 7, out), 1);
	assert_int_equal(out[0], 9);
	sg_cookie_told_changed(&b, 7, 7, 100); /* learned in slot 100: told 7 before */
	assert_int_equal(sg_cookie_told_candidates(c, 100, &b, 7, out), 2);
	assert_int_equal(out[0], 9);
	assert_int_equal(out[1], 7);
	assert_int_equal(sg_cookie_told_candidates(c, 99, &b, 7, out), 2);
	assert_int_equal(sg_cookie_told_candidates(c, 101, &b, 7, out), 1);
	b.has_wscale = false; /* a backend that does not scale: no option told */
	assert_int_equal(sg_cookie_told_candidates(c, 101, &b, 7, out), 1);
	assert_int_equal(out[0], SG_COOKIE_TOLD_NONE);
	o.has_wscale = false;
	c = sg_cookie_make(&k, &t, 1, &o, SG_COOKIE_TOLD_NONE, NULL);
	assert_int_equal(sg_cookie_told_candidates(c, 100, NULL, 7, out), 1);
	assert_int_equal(out[0], SG_COOKIE_TOLD_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_answers),
		cmocka_unit_test(mac_input_layout),
		cmocka_unit_test(portable_mac_matches_xxh3),
		cmocka_unit_test(mac_equals_portable),
		cmocka_unit_test(roundtrip_all_options),
		cmocka_unit_test(no_options),
		cmocka_unit_test(binds_tuple_and_isn),
		cmocka_unit_test(validity_window),
		cmocka_unit_test(slot_is_authenticated),
		cmocka_unit_test(slot_zero_previous),
		cmocka_unit_test(told_is_authenticated),
		cmocka_unit_test(told_candidates),
		cmocka_unit_test(forged_acks),
		cmocka_unit_test(forged_acks_fixed_isn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
