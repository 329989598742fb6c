/* syngate SYN cookies.
 *
 * A cookie is the SYN-ACK's initial sequence number.  It carries the options
 * of the client's SYN and a MAC that proves syngate issued it recently for
 * this tuple and client ISN, so nothing is stored per SYN.
 *
 *    31                                     8  7     5  4   3     1  0
 *   +----------------------------------------+--------+---+-------+---+
 *   |            MAC (24 bits)               | wscale |sack|  mss  | p |
 *   +----------------------------------------+--------+---+-------+---+
 *
 *   p       parity of the time slot the cookie was issued in; selects the
 *           secret (current or previous) to verify it with
 *   mss     index into the family's MSS table (rounded down)
 *   sack    the client sent SACK-permitted
 *   wscale  index into the window-scale table {none, 0, 2, 6, 7, 8, 9, 10}
 *           (rounded down)
 *   MAC     top 24 bits of XXH3-64 keyed with the slot's secret (its first 64 bytes)
 *           over
 *           (family, saddr, daddr, sport, dport, client ISN, slot number,
 *           the 8 low bits above, the window scale the SYN-ACK told the
 *           client: not in the cookie, recovered by trying what may have
 *           been told, see cookie_mac.h)
 *
 * Validity: time is cut in slots of `period` seconds; secret[slot & 1] is
 * renewed at the start of each slot.  A cookie verifies during the slot it was
 * issued in and the next one, i.e. for at least `period` and less than
 * 2*`period` seconds (30-60 s with the default 30 s period).  Older cookies fail:
 * their parity selects a secret that has since been replaced and their slot
 * number no longer matches.
 *
 * Forgery: every bit of a forged ack number other than the 24 MAC bits decodes
 * to something valid, so a random ACK is accepted with probability 2^-24 per
 * try (tests/unit/test_cookie.c measures it over 10^7 tries).  See
 * docs/cookies.md for the threat model.
 */
#ifndef SYNGATE_COOKIE_H
#define SYNGATE_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "syngate/core/packet.h"
#include "syngate/core/reason.h"

#define SG_COOKIE_SECRET_LEN 192
#define SG_COOKIE_MSS_SLOTS 8
#define SG_COOKIE_WSCALE_SLOTS 8

/* Key state.  Plain data: copy it to snapshot it. */
struct sg_cookie_keys {
	uint8_t secret[2][SG_COOKIE_SECRET_LEN];
	uint64_t slot;	 /* current slot number: now / period */
	uint32_t period; /* seconds */
};

/* Options recovered from a cookie. */
struct sg_cookie_opts {
	uint16_t mss;	    /* from the family's table, always set */
	bool has_wscale;
	uint8_t wscale;
	bool sack_ok;
};

/* The MSS tables (rounded-down targets), ascending. */
extern const uint16_t sg_cookie_mss4[SG_COOKIE_MSS_SLOTS];
extern const uint16_t sg_cookie_mss6[SG_COOKIE_MSS_SLOTS];
/* Window scales a cookie can carry; index 0 stands for "no window scale". */
extern const uint8_t sg_cookie_wscale[SG_COOKIE_WSCALE_SLOTS];

/* Sets up @k for time @now (seconds; the daemon counts wall-clock time) with
 * @period seconds per slot (>= 1), taking both secrets from @random
 * (2 * SG_COOKIE_SECRET_LEN bytes). */
void sg_cookie_init(struct sg_cookie_keys *k, uint32_t period, uint64_t now,
		    const uint8_t *random);

/* Moves @k to the slot of @now.  When the slot advances, the secrets of the
 * slots that begin are taken from @random (2 * SG_COOKIE_SECRET_LEN bytes; only
 * read when needed).  Returns the number of secrets replaced (0, 1 or 2). */
int sg_cookie_rotate(struct sg_cookie_keys *k, uint64_t now, const uint8_t *random);

/* The 64-bit MAC of the cookie input, as cookie_mac.h computes it for the
 * daemon and the XDP program alike: a new MAC goes there, and both change. */
uint64_t sg_cookie_mac(const uint8_t *secret, const struct sg_tuple *t, uint32_t client_isn,
		       uint64_t slot, uint8_t low_bits, uint8_t told);

/* The cookie (SYN-ACK ISN) for a client SYN of tuple @t (client -> server),
 * ISN @client_isn and options @o, answered by a SYN-ACK that tells window
 * scale @told (sg_cookie_told()).  If @enc is not NULL it receives the options
 * as the cookie encodes them (what the backend SYN will carry). */
uint32_t sg_cookie_make(const struct sg_cookie_keys *k, const struct sg_tuple *t,
			uint32_t client_isn, const struct sg_tcpopts *o, uint8_t told,
			struct sg_cookie_opts *enc);

/* Checks the cookie of a client ACK: @t is its tuple (client -> server),
 * @client_isn its seq - 1, @cookie its ack - 1, @told the window scale its
 * SYN-ACK is supposed to have told (one of sg_cookie_told_candidates()).
 * Returns SG_R_OK and fills @out, or SG_R_COOKIE_MAC / SG_R_COOKIE_STALE. */
enum sg_reason sg_cookie_check(const struct sg_cookie_keys *k, const struct sg_tuple *t,
			       uint32_t client_isn, uint32_t cookie, uint8_t told,
			       struct sg_cookie_opts *out);

#endif
