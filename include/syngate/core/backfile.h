/* syngate backends file: the backend options learned from SYN-ACKs
 * (proxy.h's `learned` hook), kept on disk so that a restarted daemon tells
 * clients, and checks cookies with, the window scale the previous daemon's
 * SYN-ACKs told (cookie_mac.h).  Encoding and validation only; the daemon
 * reads and writes the file (statefile.h) and feeds the records through
 * sg_proxy_teach().
 *
 * The file is untrusted input: a header, then count fixed-size records, all
 * little-endian.
 *
 *   header (32 bytes)
 *    0      4      6       8       12       16         24          32
 *   +------+------+-------+-------+--------+----------+-----------+
 *   | SGBK | ver  |reclen | count | period | saved_s  | checksum  |
 *   +------+------+-------+-------+--------+----------+-----------+
 *   checksum: XXH3-64 of the records, seeded with XXH3-64 of bytes 0..23
 *
 *   record (48 bytes)
 *    0    1     2     3      4    6     8        24          32          40     48
 *   +---+-----+----+------+----+----+--------+-----------+-----------+------+
 *   |fam|flags|wsc |before|mss |port|addr[16]|told_since |learned_s  | zero |
 *   +---+-----+----+------+----+----+--------+-----------+-----------+------+
 *   flags: bit 0 has_wscale, bit 1 sack_ok, bit 2 told_changed
 *
 * period is the cookie period the told_since slots count in (slots are
 * wall-clock, keyring.h, so they mean the same after a restart); learned_s
 * the wall-clock second the options were last learned.
 */
#ifndef SYNGATE_BACKFILE_H
#define SYNGATE_BACKFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syngate/core/tcpopt.h"

#define SG_BACKFILE_VERSION 1
#define SG_BACKFILE_HDR_LEN 32
#define SG_BACKFILE_REC_LEN 48
#define SG_BACKFILE_MAX 1024 /* records; the proxy keeps at most this many backends */
#define SG_BACKFILE_MAX_LEN (SG_BACKFILE_HDR_LEN + SG_BACKFILE_MAX * SG_BACKFILE_REC_LEN)
#define SG_BACKFILE_MAX_AGE_S 86400 /* records learned longer ago are dropped */
#define SG_BACKFILE_SKEW_S 300	    /* a record learned later than now + this is bad */
#define SG_BACKFILE_MSS_MAX 65495   /* IPv4 over a 65535-byte MTU */

/* One learned backend: its address and port (host order, as sg_tuple
 * holds it), its options and the second they were learned. */
struct sg_backfile_rec {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	struct sg_backend_opts o;
	uint64_t learned_s;
};

/* What sg_backfile_decode() left out. */
struct sg_backfile_skipped {
	uint32_t bad;		/* records that failed validation */
	uint32_t stale;		/* records older than SG_BACKFILE_MAX_AGE_S */
	bool period_changed;	/* told_before dropped: other cookie period */
};

/* Encodes @n records @r (n <= SG_BACKFILE_MAX) saved at @now_s with cookie
 * period @period into @out (@cap bytes).  Records are written as given.
 * Returns the length, or 0 when @n or @cap do not fit. */
size_t sg_backfile_encode(const struct sg_backfile_rec *r, size_t n, uint32_t period,
			  uint64_t now_s, uint8_t *out, size_t cap);

/* Decodes the file @buf/@len at @now_s for cookie period @period into @out
 * (@max records).  Refuses a whole file that is short, long, of another
 * version or record size, or whose checksum fails: -1 and @why says which.
 * Otherwise returns the number of good records, bad and stale ones counted
 * in @skipped and left out.  A record is good when its family is AF_INET or
 * AF_INET6 (an IPv4 address's last 12 bytes zero), its port is not 0, its
 * mss between the family's floor (536, 1220) and SG_BACKFILE_MSS_MAX, its
 * window scales (wscale, told_before) at most 14 (told_before may be "none",
 * 0xff), no unknown flag is set, and neither it was learned nor its
 * told_since slot begins in the future.  With
 * another period, told_changed is cleared (the previous period's cookies do
 * not verify anyway). */
int sg_backfile_decode(const uint8_t *buf, size_t len, uint64_t now_s, uint32_t period,
		       struct sg_backfile_rec *out, size_t max, struct sg_backfile_skipped *skipped,
		       const char **why);

#endif
