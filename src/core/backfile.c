/* syngate backends file: see include/syngate/core/backfile.h. */
#include <string.h>

#include <xxhash.h>

#include "syngate/core/backfile.h"
#include "syngate/core/cookie_mac.h"

#define MAGIC "SGBK"
#define F_WSCALE 1u
#define F_SACK 2u
#define F_TOLD 4u
#define WSCALE_MAX 14

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* The checksum of a file of @n records (header bytes 0..23, records). */
static uint64_t checksum(const uint8_t *buf, size_t n)
{
	return XXH3_64bits_withSeed(buf + SG_BACKFILE_HDR_LEN, n * SG_BACKFILE_REC_LEN,
				    XXH3_64bits(buf, 24));
}

static void put_rec(uint8_t *p, const struct sg_backfile_rec *r)
{
	memset(p, 0, SG_BACKFILE_REC_LEN);
	p[0] = r->family;
	p[1] = (uint8_t)((r->o.has_wscale ? F_WSCALE : 0) | (r->o.sack_ok ? F_SACK : 0) |
			 (r->o.told_changed ? F_TOLD : 0));
	p[2] = r->o.wscale;
	p[3] = r->o.told_before;
	put16(p + 4, r->o.mss);
	put16(p + 6, r->port);
	memcpy(p + 8, r->addr, 16);
	put64(p + 24, r->o.told_since);
	put64(p + 32, r->learned_s);
}

size_t sg_backfile_encode(const struct sg_backfile_rec *r, size_t n, uint32_t period,
			  uint64_t now_s, uint8_t *out, size_t cap)
{
	size_t len = SG_BACKFILE_HDR_LEN + n * SG_BACKFILE_REC_LEN, i;

	if (n > SG_BACKFILE_MAX || cap < len)
		return 0;
	memcpy(out, MAGIC, 4);
	put16(out + 4, SG_BACKFILE_VERSION);
	put16(out + 6, SG_BACKFILE_REC_LEN);
	put32(out + 8, (uint32_t)n);
	put32(out + 12, period);
	put64(out + 16, now_s);
	for (i = 0; i < n; i++)
		put_rec(out + SG_BACKFILE_HDR_LEN + i * SG_BACKFILE_REC_LEN, &r[i]);
	put64(out + 24, checksum(out, n));
	return len;
}

/* Whether @w is a window scale a SYN-ACK may carry. */
static bool wscale_ok(uint8_t w)
{
	return w <= WSCALE_MAX;
}

static bool zeros(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Whether record @p is well formed (the family's address, the options). */
static bool rec_ok(const uint8_t *p)
{
	uint16_t mss = get16(p + 4);
	uint16_t floor;

	if (p[0] == SG_AF_INET)
		floor = 536;
	else if (p[0] == SG_AF_INET6)
		floor = 1220;
	else
		return false;
	if ((p[0] == SG_AF_INET && !zeros(p + 12, 12)) || !zeros(p + 40, 8))
		return false;
	if (p[1] & ~(F_WSCALE | F_SACK | F_TOLD) || get16(p + 6) == 0)
		return false;
	if (mss < floor || mss > SG_BACKFILE_MSS_MAX)
		return false;
	if (p[1] & F_WSCALE ? !wscale_ok(p[2]) : p[2] != 0)
		return false;
	if (p[1] & F_TOLD)
		return wscale_ok(p[3]) || p[3] == SG_COOKIE_TOLD_NONE;
	return p[3] == 0;
}

static void get_rec(const uint8_t *p, struct sg_backfile_rec *r, bool same_period)
{
	memset(r, 0, sizeof(*r));
	r->family = p[0];
	r->o.has_wscale = p[1] & F_WSCALE;
	r->o.sack_ok = p[1] & F_SACK;
	r->o.wscale = p[2];
	r->o.mss = get16(p + 4);
	r->port = get16(p + 6);
	memcpy(r->addr, p + 8, 16);
	r->learned_s = get64(p + 32);
	if (!(p[1] & F_TOLD) || !same_period)
		return;
	r->o.told_changed = true;
	r->o.told_before = p[3];
	r->o.told_since = get64(p + 24);
}

/* Why header @buf of a @len-byte file is refused, or NULL. */
static const char *bad_header(const uint8_t *buf, size_t len)
{
	uint32_t n;

	if (len < SG_BACKFILE_HDR_LEN)
		return "truncated (no header)";
	if (memcmp(buf, MAGIC, 4))
		return "not a syngate backends file";
	if (get16(buf + 4) != SG_BACKFILE_VERSION)
		return "of an unknown version";
	if (get16(buf + 6) != SG_BACKFILE_REC_LEN)
		return "of an unknown record size";
	n = get32(buf + 8);
	if (n > SG_BACKFILE_MAX)
		return "oversized (too many records)";
	if (len != SG_BACKFILE_HDR_LEN + (size_t)n * SG_BACKFILE_REC_LEN)
		return "truncated or with trailing bytes";
	if (get64(buf + 24) != checksum(buf, n))
		return "corrupt (checksum)";
	return NULL;
}

int sg_backfile_decode(const uint8_t *buf, size_t len, uint64_t now_s, uint32_t period,
		       struct sg_backfile_rec *out, size_t max, struct sg_backfile_skipped *skipped,
		       const char **why)
{
	const uint8_t *p;
	uint32_t n, i;
	size_t k = 0;
	bool same;

	memset(skipped, 0, sizeof(*skipped));
	if ((*why = bad_header(buf, len)))
		return -1;
	n = get32(buf + 8);
	same = get32(buf + 12) == period;
	skipped->period_changed = !same;
	for (i = 0; i < n; i++) {
		p = buf + SG_BACKFILE_HDR_LEN + (size_t)i * SG_BACKFILE_REC_LEN;
		if (!rec_ok(p) || get64(p + 32) > now_s + SG_BACKFILE_SKEW_S ||
		    (p[1] & F_TOLD && same && period && get64(p + 24) > now_s / period + 1)) {
			skipped->bad++;
		} else if (get64(p + 32) + SG_BACKFILE_MAX_AGE_S < now_s) {
			skipped->stale++;
		} else if (k < max) {
			get_rec(p, &out[k++], same);
		}
	}
	return (int)k;
}
