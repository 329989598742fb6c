/* syngate SYN cookies: see include/syngate/core/cookie.h for the bit layout,
 * validity window and forgery bound, docs/cookies.md for the threat model.
 */
#include <string.h>
#include <sys/socket.h>

#include <xxhash.h>

#include "syngate/core/cookie.h"
#include "syngate/core/cookie_mac.h"

#define COOKIE_LOW_MASK 0xffu
#define COOKIE_MSS(c) (((c) >> 1) & 7u)
#define COOKIE_SACK(c) (((c) >> 4) & 1u)
#define COOKIE_WSCALE(c) (((c) >> 5) & 7u)

const uint16_t sg_cookie_mss4[SG_COOKIE_MSS_SLOTS] = SG_COOKIE_MSS4_VALUES;
const uint16_t sg_cookie_mss6[SG_COOKIE_MSS_SLOTS] = SG_COOKIE_MSS6_VALUES;
const uint8_t sg_cookie_wscale[SG_COOKIE_WSCALE_SLOTS] = SG_COOKIE_WSCALE_VALUES;

_Static_assert(sizeof(struct sg_cookie_mac_input) == SG_COOKIE_MAC_INPUT_LEN,
	       "the XDP program hashes exactly this many bytes");

uint64_t sg_cookie_mac(const uint8_t *secret, const struct sg_tuple *t, uint32_t client_isn,
		       uint64_t slot, uint8_t low_bits, uint8_t told)
{
	struct sg_cookie_mac_input in;

	sg_cookie_mac_input_of(&in, t, client_isn, slot, low_bits, told);
	return XXH3_64bits_withSecret(&in, sizeof(in), secret, SG_COOKIE_SECRET_LEN);
}

void sg_cookie_init(struct sg_cookie_keys *k, uint32_t period, uint64_t now,
		    const uint8_t *random)
{
	k->period = period ? period : 1;
	k->slot = now / k->period;
	memcpy(k->secret[0], random, SG_COOKIE_SECRET_LEN);
	memcpy(k->secret[1], random + SG_COOKIE_SECRET_LEN, SG_COOKIE_SECRET_LEN);
}

int sg_cookie_rotate(struct sg_cookie_keys *k, uint64_t now, const uint8_t *random)
{
	uint64_t slot = now / k->period;

	if (slot <= k->slot)
		return 0;
	if (slot - k->slot >= 2) {
		/* Both secrets are stale: every outstanding cookie must fail. */
		memcpy(k->secret[0], random, SG_COOKIE_SECRET_LEN);
		memcpy(k->secret[1], random + SG_COOKIE_SECRET_LEN, SG_COOKIE_SECRET_LEN);
		k->slot = slot;
		return 2;
	}
	memcpy(k->secret[slot & 1], random, SG_COOKIE_SECRET_LEN);
	k->slot = slot;
	return 1;
}

static const uint16_t *mss_table(uint8_t family)
{
	return family == AF_INET6 ? sg_cookie_mss6 : sg_cookie_mss4;
}

static void decode_low(uint8_t family, uint32_t c, struct sg_cookie_opts *out)
{
	out->mss = mss_table(family)[COOKIE_MSS(c)];
	out->sack_ok = COOKIE_SACK(c);
	out->has_wscale = COOKIE_WSCALE(c) != 0;
	out->wscale = sg_cookie_wscale[COOKIE_WSCALE(c)];
}

uint32_t sg_cookie_make(const struct sg_cookie_keys *k, const struct sg_tuple *t,
			uint32_t client_isn, const struct sg_tcpopts *o, uint8_t told,
			struct sg_cookie_opts *enc)
{
	uint32_t low = sg_cookie_low(k->slot, t->family, o);
	uint64_t mac = sg_cookie_mac(k->secret[k->slot & 1], t, client_isn, k->slot,
				     (uint8_t)low, told);

	if (enc)
		decode_low(t->family, low, enc);
	return sg_cookie_join(mac, low);
}

enum sg_reason sg_cookie_check(const struct sg_cookie_keys *k, const struct sg_tuple *t,
			       uint32_t client_isn, uint32_t cookie, uint8_t told,
			       struct sg_cookie_opts *out)
{
	uint8_t low = (uint8_t)(cookie & COOKIE_LOW_MASK);
	uint64_t slot;

	if (sg_cookie_check_slot(cookie, k->slot, &slot) != 0)
		return SG_R_COOKIE_STALE;
	if (!sg_cookie_mac_matches(cookie, sg_cookie_mac(k->secret[slot & 1], t, client_isn, slot, low, told)))
		return SG_R_COOKIE_MAC;
	decode_low(t->family, cookie, out);
	return SG_R_OK;
}
