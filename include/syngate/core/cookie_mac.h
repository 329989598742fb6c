/* The cookie's bits and MAC input, written once for the daemon and the XDP
 * program (the layout is in cookie.h).
 *
 * sg_cookie_low() (the 8 option bits), sg_cookie_told*() (the window scale
 * the SYN-ACK told the client, which the MAC covers), sg_cookie_mac_input_of()
 * (what the MAC covers), sg_cookie_join() and sg_cookie_check_slot() are the
 * one definition both src/core/cookie.c and src/bpf/syngate_xdp.c use.
 *
 * The MAC itself:
 *
 * src/core/cookie.c computes the MAC with libxxhash: XXH3-64 keyed with a 192-byte
 * secret (seed 0) over a 51-byte input (struct sg_cookie_mac_input).  An eBPF
 * program cannot call libxxhash, so this header spells out the one path XXH3
 * takes for inputs of 33 to 64 bytes, specialised to 51 bytes, with the
 * 64x64->128-bit multiply built from 32-bit halves (eBPF has no such
 * multiply).  tests/unit/test_cookie.c checks that both give the same value
 * for random inputs and secrets; if they ever differ, the XDP fast path's
 * cookies would not verify, so that test is the contract.
 *
 * Self-contained: stdint and tcpopt.h only, no libc, every function static
 * inline.
 * Little-endian hosts only (XXH3 reads its input little-endian).
 */
#ifndef SYNGATE_COOKIE_MAC_H
#define SYNGATE_COOKIE_MAC_H

#include <stdint.h>

#include "syngate/core/tcpopt.h"

#define SG_COOKIE_MAC_INPUT_LEN 51

/* The values a cookie's option indexes name (cookie.h has the layout):
 * common path MTUs (536 is the RFC 879 default; PPPoE/VPN tunnels
 * 1400-1452; Ethernet 1460 / 1440) and window scales (index 0: none; the
 * common stacks are Linux 7 and 10, Windows 8, macOS 6).  Both rounded down,
 * so the backend never sees more than the client offered. */
#define SG_COOKIE_MSS4_VALUES {536, 1200, 1300, 1360, 1400, 1440, 1452, 1460}
#define SG_COOKIE_MSS6_VALUES {1220, 1280, 1340, 1380, 1400, 1420, 1432, 1440}
#define SG_COOKIE_WSCALE_VALUES {0, 0, 2, 6, 7, 8, 9, 10}

/* Index of the largest of the 8 values of @tab that is <= @v (0 when none is). */
static inline unsigned sg_cookie_mss_index(const uint16_t *tab, uint16_t v)
{
	unsigned i = 7;

	while (i > 0 && tab[i] > v)
		i--;
	return i;
}

/* Index of window scale @ws in @tab, rounded down; 0 when there is none. */
static inline unsigned sg_cookie_wscale_index(const uint8_t *tab, int has_wscale, uint8_t ws)
{
	unsigned i = 7;

	if (!has_wscale)
		return 0;
	while (i > 1 && tab[i] > ws)
		i--;
	return i;
}

/* --- the window scale told to the client -----------------------------------
 *
 * syngate's SYN-ACK tells the client a window scale: the backend's, learned
 * from its SYN-ACKs, or default-wscale while it is unknown.  The client reads
 * every window the backend sends with it, so the conntrack entry and the
 * window update made at the cookie ACK must use exactly that value, even if
 * the learned record changed between SYN and ACK (a backend learned, or
 * relearned, meanwhile).  The cookie has no bit left to carry it; instead the
 * MAC covers it (the `told` byte of the input), and the checker tries what
 * may have been told: the record's value now, and, for a cookie issued no
 * later than the slot of the record's last change, the value before it.
 * One or two MACs per ACK, so a forged ACK to such a backend passes with
 * 2 x 2^-24 for two slots after a change, 2^-24 otherwise. */

/* The told value of a SYN-ACK without window scale option. */
#define SG_COOKIE_TOLD_NONE 0xff

/* The told value of a SYN-ACK with options @synack. */
static inline uint8_t sg_cookie_told(const struct sg_tcpopts *synack)
{
	return synack->has_wscale ? synack->wscale : SG_COOKIE_TOLD_NONE;
}

/* What a SYN-ACK tells a client that offers window scaling, for a backend
 * with learned options @b (NULL: unknown; sg_synack_opts()'s rule). */
static inline uint8_t sg_cookie_told_for(const struct sg_backend_opts *b, uint8_t dflt)
{
	if (b && !b->has_wscale)
		return SG_COOKIE_TOLD_NONE;
	return sg_synack_wscale(b, dflt);
}

/* Records in @b (options just learned) that a SYN-ACK told @before until
 * slot @slot, when that is not what @b tells now. */
static inline void sg_cookie_told_changed(struct sg_backend_opts *b, uint8_t before,
					  uint8_t dflt, uint64_t slot)
{
	if (sg_cookie_told_for(b, dflt) == before)
		return;
	b->told_before = before;
	b->told_changed = 1;
	b->told_since = slot;
}

/* Whether @cookie says its SYN offered window scaling (its wscale index,
 * bits 5-7 as sg_cookie_low() puts them, is not 0: none). */
static inline int sg_cookie_has_wscale(uint32_t cookie)
{
	return (cookie >> 5 & 7) != 0;
}

/* The values @cookie, issued in @slot, may have told for backend @b (NULL:
 * unknown): written to @out, their count (1 or 2) returned. */
static inline unsigned sg_cookie_told_candidates(uint32_t cookie, uint64_t slot,
						 const struct sg_backend_opts *b, uint8_t dflt,
						 uint8_t out[2])
{
	out[0] = sg_cookie_told_for(b, dflt);
	if (!sg_cookie_has_wscale(cookie)) {
		out[0] = SG_COOKIE_TOLD_NONE;
		return 1;
	}
	if (!b || !b->told_changed || slot > b->told_since || b->told_before == out[0])
		return 1;
	out[1] = b->told_before;
	return 2;
}

#define SG_COOKIE_MAC_PRIME64_1 0x9E3779B185EBCA87ULL
#define SG_COOKIE_MAC_AVALANCHE 0x165667919E3779F9ULL

/* The MAC input, packed so that no padding byte is hashed.  Addresses are
 * 16 bytes (IPv4 in the first 4, zeros after); the other fields are in host
 * order (ports as sg_tuple holds them, not as the packet carries them). */
struct __attribute__((packed)) sg_cookie_mac_input {
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint64_t slot;
	uint32_t client_isn;
	uint16_t sport;
	uint16_t dport;
	uint8_t family;
	uint8_t low_bits;
	uint8_t told; /* the window scale the SYN-ACK told (sg_cookie_told()) */
};

/* The low 8 bits of the cookie of a SYN of @family with options @o, issued in
 * @slot: parity, MSS index, SACK, window-scale index (a SYN without MSS
 * option means 536 / 1220: index 0). */
static inline uint32_t sg_cookie_low(uint64_t slot, uint8_t family, const struct sg_tcpopts *o)
{
	static const uint16_t mss4[8] = SG_COOKIE_MSS4_VALUES;
	static const uint16_t mss6[8] = SG_COOKIE_MSS6_VALUES;
	static const uint8_t wscale[8] = SG_COOKIE_WSCALE_VALUES;
	uint32_t mss = 0;

	if (o->has_mss)
		mss = sg_cookie_mss_index(family == SG_AF_INET6 ? mss6 : mss4, o->mss);
	return (uint32_t)(slot & 1) | mss << 1 | (uint32_t)o->sack_ok << 4 |
	       sg_cookie_wscale_index(wscale, o->has_wscale, o->wscale) << 5;
}

/* Fills the MAC input of tuple @t (client -> server), client ISN @isn, @slot,
 * the cookie's @low bits and the window scale @told. */
static inline void sg_cookie_mac_input_of(struct sg_cookie_mac_input *in, const struct sg_tuple *t,
					  uint32_t isn, uint64_t slot, uint32_t low, uint8_t told)
{
	__builtin_memset(in, 0, sizeof(*in));
	__builtin_memcpy(in->saddr, t->saddr, sizeof(in->saddr));
	__builtin_memcpy(in->daddr, t->daddr, sizeof(in->daddr));
	in->slot = slot;
	in->client_isn = isn;
	in->sport = t->sport;
	in->dport = t->dport;
	in->family = t->family;
	in->low_bits = (uint8_t)low;
	in->told = told;
}

/* The cookie: the top 24 bits of the 64-bit @mac above the 8 @low bits. */
static inline uint32_t sg_cookie_join(uint64_t mac, uint32_t low)
{
	return (uint32_t)(mac >> 40) << 8 | (low & 0xff);
}

/* True if @cookie's MAC bits are those of @mac. */
static inline int sg_cookie_mac_matches(uint32_t cookie, uint64_t mac)
{
	return (uint32_t)(mac >> 40) == cookie >> 8;
}

/* The slot a cookie was issued in, judged by its parity bit against the
 * current slot @now: @now, or the one before.  Returns 0 and sets @slot, or
 * -1 when it names a slot before 0 (stale). */
static inline int sg_cookie_check_slot(uint32_t cookie, uint64_t now, uint64_t *slot)
{
	*slot = now;
	if ((cookie & 1) == (now & 1))
		return 0;
	if (now == 0)
		return -1;
	*slot = now - 1;
	return 0;
}

static inline uint64_t sg_cookie_mac_rd64(const uint8_t *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

/* The 128-bit product of @a and @b, its two halves XORed (XXH3_mul128_fold64). */
static inline uint64_t sg_cookie_mac_fold(uint64_t a, uint64_t b)
{
	uint64_t lo_lo = (a & 0xffffffffULL) * (b & 0xffffffffULL);
	uint64_t hi_lo = (a >> 32) * (b & 0xffffffffULL);
	uint64_t lo_hi = (a & 0xffffffffULL) * (b >> 32);
	uint64_t hi_hi = (a >> 32) * (b >> 32);
	uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffULL) + lo_hi;
	uint64_t upper = (hi_lo >> 32) + (cross >> 32) + hi_hi;
	uint64_t lower = (cross << 32) | (lo_lo & 0xffffffffULL);

	return lower ^ upper;
}

static inline uint64_t sg_cookie_mac_mix16(const uint8_t *in, const uint8_t *sec)
{
	return sg_cookie_mac_fold(sg_cookie_mac_rd64(in) ^ sg_cookie_mac_rd64(sec),
				  sg_cookie_mac_rd64(in + 8) ^ sg_cookie_mac_rd64(sec + 8));
}

/* XXH3_64bits_withSecret(@in, SG_COOKIE_MAC_INPUT_LEN, @secret, >= 64 bytes):
 * only the first 64 bytes of the secret are read for an input of 33 to 64
 * bytes. */
static inline uint64_t sg_cookie_mac_xxh3(const uint8_t *in, const uint8_t *secret)
{
	const unsigned len = SG_COOKIE_MAC_INPUT_LEN;
	uint64_t acc = len * SG_COOKIE_MAC_PRIME64_1;

	acc += sg_cookie_mac_mix16(in + 16, secret + 32);
	acc += sg_cookie_mac_mix16(in + len - 32, secret + 48);
	acc += sg_cookie_mac_mix16(in, secret);
	acc += sg_cookie_mac_mix16(in + len - 16, secret + 16);
	acc ^= acc >> 37;
	acc *= SG_COOKIE_MAC_AVALANCHE;
	return acc ^ (acc >> 32);
}

#endif
