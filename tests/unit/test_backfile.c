/* cmocka tests of the backends file (backfile.h, statefile.h): a round
 * trip, whole files refused (truncated, trailing bytes, corrupt, other
 * version, oversized), bad and stale records skipped, the told history
 * kept for the same cookie period only, and the file on disk (atomic
 * write, mode 0600, size bound). */
#include <errno.h>
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
#include <xxhash.h>

#include "syngate/core/backfile.h"
#include "syngate/core/cookie_mac.h"
#include "syngate/io/statefile.h"

#define NOW 1800000000ull /* wall-clock seconds */
#define PERIOD 30

static uint8_t buf[SG_BACKFILE_MAX_LEN + 64];
static struct sg_backfile_rec in[SG_BACKFILE_MAX + 1], out[SG_BACKFILE_MAX + 1];

/* Backend @i: 192.0.2.i:80 (IPv4) or [2001:db8::i]:443 (IPv6), learned a minute ago. */
static struct sg_backfile_rec rec(unsigned i, bool v6)
{
	struct sg_backfile_rec r;

	memset(&r, 0, sizeof(r));
	r.family = v6 ? SG_AF_INET6 : SG_AF_INET;
	if (v6) {
		r.addr[0] = 0x20, r.addr[1] = 0x01, r.addr[2] = 0x0d, r.addr[3] = 0xb8;
		r.addr[14] = (uint8_t)(i >> 8), r.addr[15] = (uint8_t)i;
	} else {
		r.addr[0] = 192, r.addr[1] = 0, r.addr[2] = 2, r.addr[3] = (uint8_t)i;
	}
	r.port = v6 ? 443 : 80;
	r.o.mss = v6 ? 1440 : 1460;
	r.o.has_wscale = true;
	r.o.wscale = (uint8_t)(i % 15);
	r.o.sack_ok = i & 1;
	r.learned_s = NOW - 60;
	return r;
}

/* Puts the checksum of a file of @n records in buf (the format's rule). */
static void reseal(size_t n)
{
	uint64_t c = XXH3_64bits_withSeed(buf + SG_BACKFILE_HDR_LEN, n * SG_BACKFILE_REC_LEN,
					  XXH3_64bits(buf, 24));

	for (int i = 0; i < 8; i++)
		buf[24 + i] = (uint8_t)(c >> 8 * i);
}

static int decode(size_t len, uint64_t now, uint32_t period, struct sg_backfile_skipped *sk,
		  const char **why)
{
	return sg_backfile_decode(buf, len, now, period, out, SG_BACKFILE_MAX, sk, why);
}

static void round_trip(void **state)
{
	struct sg_backfile_skipped sk;
	const char *why = NULL;
	size_t len;

	(void)state;
	in[0] = rec(1, false);
	in[1] = rec(2, true);
	in[1].o.told_changed = true; /* told 7 (default) until slot NOW/30 */
	in[1].o.told_before = 7;
	in[1].o.told_since = NOW / PERIOD;
	in[2] = rec(3, false);
	in[2].o.has_wscale = false; /* a backend without window scaling */
	in[2].o.wscale = 0;
	in[2].o.told_changed = true;
	in[2].o.told_before = 7;
	in[2].o.told_since = NOW / PERIOD - 1;
	in[3] = rec(4, true);
	in[3].o.told_changed = true;
	in[3].o.told_before = SG_COOKIE_TOLD_NONE;
	in[3].o.told_since = NOW / PERIOD;
	len = sg_backfile_encode(in, 4, PERIOD, NOW, buf, sizeof(buf));
	assert_int_equal(len, SG_BACKFILE_HDR_LEN + 4 * SG_BACKFILE_REC_LEN);
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), 4);
	assert_null(why);
	assert_int_equal(sk.bad + sk.stale, 0);
	assert_false(sk.period_changed);
	assert_memory_equal(out, in, 4 * sizeof(in[0]));
	/* none at all */
	len = sg_backfile_encode(in, 0, PERIOD, NOW, buf, sizeof(buf));
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), 0);
}

/* As many as the format holds, and not one more. */
static void full_and_oversized(void **state)
{
	struct sg_backfile_skipped sk;
	const char *why = NULL;
	size_t len, i;

	(void)state;
	for (i = 0; i <= SG_BACKFILE_MAX; i++)
		in[i] = rec((unsigned)i, true);
	len = sg_backfile_encode(in, SG_BACKFILE_MAX, PERIOD, NOW, buf, sizeof(buf));
	assert_int_equal(len, SG_BACKFILE_MAX_LEN);
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), SG_BACKFILE_MAX);
	assert_memory_equal(out, in, SG_BACKFILE_MAX * sizeof(in[0]));
	assert_int_equal(sg_backfile_encode(in, SG_BACKFILE_MAX + 1, PERIOD, NOW, buf, sizeof(buf)), 0);
	assert_int_equal(sg_backfile_encode(in, 2, PERIOD, NOW, buf, SG_BACKFILE_HDR_LEN + 95), 0);
	/* a header that claims one more record than the format holds */
	len = sg_backfile_encode(in, 1, PERIOD, NOW, buf, sizeof(buf));
	buf[8] = (SG_BACKFILE_MAX + 1) & 0xff, buf[9] = (SG_BACKFILE_MAX + 1) >> 8;
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), -1);
	assert_string_equal(why, "oversized (too many records)");
	buf[8] = 0xff, buf[9] = 0xff, buf[10] = 0xff, buf[11] = 0xff;
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), -1);
}

static void refused(void **state)
{
	struct sg_backfile_skipped sk;
	const char *why;
	size_t len, i;

	(void)state;
	in[0] = rec(1, false);
	in[1] = rec(2, true);
	len = sg_backfile_encode(in, 2, PERIOD, NOW, buf, sizeof(buf));
	for (i = 0; i < len; i++) /* every truncation */
		assert_int_equal(decode(i, NOW, PERIOD, &sk, &why), -1);
	assert_int_equal(decode(len + 1, NOW, PERIOD, &sk, &why), -1); /* trailing byte */
	assert_string_equal(why, "truncated or with trailing bytes");
	for (i = 0; i < len; i++) { /* every bit flip */
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), -1);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), 2);
	buf[4] = 2; /* version 2 */
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), -1);
	assert_string_equal(why, "of an unknown version");
	buf[4] = 1;
	buf[0] = 'X';
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), -1);
	assert_string_equal(why, "not a syngate backends file");
	memset(buf, 0, sizeof(buf));
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), -1);
}

/* Records the encoder writes as given and the decoder leaves out. */
static void bad_records_skipped(void **state)
{
	struct sg_backfile_skipped sk;
	const char *why;
	size_t len, n = 0;

	(void)state;
	in[n++] = rec(1, false); /* good */
	in[n] = rec(2, false), in[n++].family = 7;
	in[n] = rec(3, false), in[n++].addr[4] = 1; /* IPv4 with bytes past its 4 */
	in[n] = rec(4, false), in[n++].port = 0;
	in[n] = rec(5, false), in[n++].o.mss = 535;
	in[n] = rec(6, true), in[n++].o.mss = 1219;
	in[n] = rec(7, true), in[n++].o.mss = 65535;
	in[n] = rec(8, false), in[n++].o.wscale = 15;
	in[n] = rec(9, false), in[n].o.has_wscale = false, in[n++].o.wscale = 3;
	in[n] = rec(10, false), in[n].o.told_changed = true, in[n++].o.told_before = 15;
	in[n] = rec(11, false), in[n++].o.told_before = 7; /* without told_changed */
	in[n] = rec(12, false), in[n++].learned_s = NOW + SG_BACKFILE_SKEW_S + 1;
	in[n] = rec(13, false), in[n].o.told_changed = true,
	in[n++].o.told_since = NOW / PERIOD + 2; /* a slot to come */
	in[n] = rec(14, false), in[n++].learned_s = NOW - SG_BACKFILE_MAX_AGE_S - 1; /* stale */
	in[n] = rec(15, true), in[n++].learned_s = NOW - SG_BACKFILE_MAX_AGE_S; /* just in */
	len = sg_backfile_encode(in, n, PERIOD, NOW, buf, sizeof(buf));
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), 2);
	assert_int_equal(sk.bad, n - 3);
	assert_int_equal(sk.stale, 1);
	assert_memory_equal(&out[0], &in[0], sizeof(in[0]));
	assert_memory_equal(&out[1], &in[n - 1], sizeof(in[0]));
	/* an unknown flag bit (bit 3) and a reserved byte, made past the encoder */
	len = sg_backfile_encode(in, 1, PERIOD, NOW, buf, sizeof(buf));
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), 1);
	buf[SG_BACKFILE_HDR_LEN + 1] |= 8;
	reseal(1);
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), 0);
	assert_int_equal(sk.bad, 1);
	buf[SG_BACKFILE_HDR_LEN + 1] &= (uint8_t)~8;
	buf[SG_BACKFILE_HDR_LEN + 47] = 1;
	reseal(1);
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), 0);
	buf[SG_BACKFILE_HDR_LEN + 47] = 0;
	reseal(1);
	assert_int_equal(decode(len, NOW, PERIOD, &sk, &why), 1);
}

/* The told history counts slots of the period it was saved with. */
static void other_period_drops_told(void **state)
{
	struct sg_backfile_skipped sk;
	const char *why;
	size_t len;

	(void)state;
	in[0] = rec(1, false);
	in[0].o.told_changed = true;
	in[0].o.told_before = 7;
	in[0].o.told_since = NOW / PERIOD;
	len = sg_backfile_encode(in, 1, PERIOD, NOW, buf, sizeof(buf));
	assert_int_equal(decode(len, NOW, 60, &sk, &why), 1);
	assert_true(sk.period_changed);
	assert_false(out[0].o.told_changed);
	assert_int_equal(out[0].o.told_since, 0);
	assert_int_equal(out[0].o.wscale, in[0].o.wscale);
}

static void on_disk(void **state)
{
	char dir[] = "/tmp/sg_backfile_XXXXXX", path[64], err[256];
	struct stat st;
	FILE *f;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/backends", dir);
	in[0] = rec(1, false);
	len = sg_backfile_encode(in, 1, PERIOD, NOW, buf, sizeof(buf));
	assert_int_equal(sg_statefile_write(path, buf, len, true, "backends file", err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(sg_statefile_read(path, buf, SG_BACKFILE_MAX_LEN, "backends file", err,
					   sizeof(err)), (ssize_t)len);
	assert_int_equal(sg_statefile_read(path, buf, len - 1, "backends file", err, sizeof(err)), -1);
	assert_int_equal(errno, EFBIG);
	/* replaced in place */
	assert_int_equal(sg_statefile_write(path, buf, 3, true, "backends file", err, sizeof(err)), 0);
	assert_int_equal(sg_statefile_read(path, buf, SG_BACKFILE_MAX_LEN, "backends file", err,
					   sizeof(err)), 3);
	chmod(path, 0622);
	assert_int_equal(sg_statefile_read(path, buf, SG_BACKFILE_MAX_LEN, "backends file", err,
					   sizeof(err)), -1);
	assert_int_equal(errno, EPERM);
	unlink(path);
	assert_int_equal(sg_statefile_read(path, buf, SG_BACKFILE_MAX_LEN, "backends file", err,
					   sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	f = fopen(path, "w"); /* a huge file is refused before it is read */
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 1 << 30), 0);
	fclose(f);
	assert_int_equal(sg_statefile_read(path, buf, SG_BACKFILE_MAX_LEN, "backends file", err,
					   sizeof(err)), -1);
	assert_int_equal(errno, EFBIG);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(full_and_oversized),
		cmocka_unit_test(refused),
		cmocka_unit_test(bad_records_skipped),
		cmocka_unit_test(other_period_drops_told),
		cmocka_unit_test(on_disk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
