/* The cookie MAC written out in plain C, for the XDP program.
 *
 * src/core/cookie.c computes the MAC with libxxhash: XXH3-64 keyed with a 192-byte
 * secret (seed 0) over a 50-byte input (struct sg_cookie_mac_input).  An eBPF
 * program cannot call libxxhash, so this header spells out the one path XXH3
 * takes for inputs of 17 to 128 bytes, specialised to 50 bytes, with the
 * 64x64->128-bit multiply built from 32-bit halves (eBPF has no such
 * multiply).  tests/unit/test_cookie.c checks that both give the same value
 * for random inputs and secrets; if they ever differ, the XDP fast path's
 * cookies would not verify, so that test is the contract.
 *
 * Self-contained: stdint only, no libc, every function static inline.
 * Little-endian hosts only (XXH3 reads its input little-endian).
 */
#ifndef SYNGATE_COOKIE_MAC_H
#define SYNGATE_COOKIE_MAC_H

#include <stdint.h>

#define SG_COOKIE_MAC_INPUT_LEN 50

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
};

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

/* XXH3_64bits_withSecret(@in, 50, @secret, >= 64 bytes): only the first 64
 * bytes of the secret are read for an input of this length. */
static inline uint64_t sg_cookie_mac50(const uint8_t *in, const uint8_t *secret)
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
