/* syngate packet codec: parse and build IPv4/IPv6 + TCP segments.
 *
 * Pure functions, no I/O.  Parsing never reads past the buffer it is given:
 * every header and option is length-checked before it is read, and the TCP
 * option walk always advances.  Builders write a complete packet (IP header,
 * TCP header, options, checksums) into a caller buffer.
 *
 * Addresses are kept in network byte order (16 bytes; IPv4 uses the first 4).
 * Ports, sequence numbers and windows are kept in host byte order.
 */
#ifndef SYNGATE_PACKET_H
#define SYNGATE_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syngate/core/reason.h"
#include "syngate/core/tcpopt.h" /* struct sg_tuple, struct sg_tcpopts */

#define SG_TCP_FIN 0x01
#define SG_TCP_SYN 0x02
#define SG_TCP_RST 0x04
#define SG_TCP_PSH 0x08
#define SG_TCP_ACK 0x10
#define SG_TCP_URG 0x20
#define SG_TCP_ECE 0x40
#define SG_TCP_CWR 0x80

/* Largest packet a builder writes: IPv6 header + TCP header + 40 bytes of options. */
#define SG_PKT_MAX_BUILT (40 + 60)
/* IPv6 extension headers walked before giving up (an attacker controls the chain). */
#define SG_IPV6_MAX_EXTHDRS 8

/* A parsed segment.  Points into the buffer given to sg_pkt_parse(). */
struct sg_pkt {
	const uint8_t *buf;
	size_t len;	      /* bytes of IP packet (from the IP header's length) */
	size_t l4off;	      /* offset of the TCP header */
	size_t doff;	      /* TCP header length in bytes, options included */
	size_t payload_len;   /* TCP payload bytes */
	struct sg_tuple tuple;
	uint8_t ttl;	      /* TTL or hop limit */
	uint8_t flags;	      /* SG_TCP_* */
	uint16_t window;
	uint32_t seq;
	uint32_t ack;
	struct sg_tcpopts opts;
};

/* Parses an IPv4 or IPv6 packet carrying TCP.  Returns SG_R_OK and fills @p,
 * or the reason the packet is malformed (@p is then undefined).  Fragments,
 * non-TCP packets and TCP options with length < 2 or running past the header
 * are rejected.  Unknown TCP options are skipped.  Checksums are not verified:
 * for a forwarded packet the kernel has not verified the TCP checksum either
 * (a notracked SYN never reaches a check), so a SYN with a bad one is answered
 * like any other (its client, if any, is the one whose bits flipped), and an
 * ACK with a bad one fails its cookie check or reaches the backend, which
 * drops it. */
enum sg_reason sg_pkt_parse(struct sg_pkt *p, const uint8_t *buf, size_t len);

/* Parses the TCP option block @opt of @len bytes into @o with the walk of
 * tcpopt.h (the XDP program's too).  Returns SG_R_OK or SG_R_BAD_OPTION
 * (also for more than SG_TCPOPT_MAX bytes). */
enum sg_reason sg_tcpopts_parse(struct sg_tcpopts *o, const uint8_t *opt, size_t len);

/* What a builder writes.  Which options go into the segment is chosen by the
 * opts has_ flags; timestamps are written when has_ts is set. */
struct sg_seg {
	struct sg_tuple tuple; /* saddr/sport is the sender */
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	uint8_t ttl; /* 0 means 64 */
	uint16_t window;
	struct sg_tcpopts opts;
};

/* Writes the IP + TCP packet described by @s into @out (capacity @cap), with
 * IP and TCP checksums.  Returns its length, or 0 if @cap is too small. */
size_t sg_pkt_build(uint8_t *out, size_t cap, const struct sg_seg *s);

/* Writes the TCP options of @o into @out (at most 40 bytes, padded to a multiple
 * of 4 with NOPs) and returns their length. */
size_t sg_tcpopts_build(uint8_t *out, const struct sg_tcpopts *o);

/* Returns @t with source and destination swapped. */
struct sg_tuple sg_tuple_reverse(const struct sg_tuple *t);

/* Returns the address length of @family (4 or 16). */
size_t sg_addr_len(uint8_t family);

/* --- checksums (RFC 1071 / RFC 1624) -------------------------------------- */

/* Adds @len bytes at @data to the 32-bit one's complement accumulator @sum. */
uint32_t sg_csum_add(uint32_t sum, const void *data, size_t len);
/* Folds @sum to 16 bits and complements it: the value to store in a header
 * (network byte order when @sum was built from network-order data). */
uint16_t sg_csum_fold(uint32_t sum);
/* The TCP checksum of the segment @tcp (@len bytes, checksum field included as
 * it is) under the pseudo header of @family/@saddr/@daddr.  A segment whose
 * checksum is correct returns 0. */
uint16_t sg_csum_tcp(uint8_t family, const uint8_t *saddr, const uint8_t *daddr,
		     const uint8_t *tcp, size_t len);
/* The IPv4 header checksum of @hdr (@len bytes).  Correct headers give 0. */
uint16_t sg_csum_ipv4(const uint8_t *hdr, size_t len);
/* Incremental update (RFC 1624 eqn. 3): the new checksum field after a 16-bit
 * word changes from @old to @new.  All three in network byte order. */
uint16_t sg_csum_replace2(uint16_t check, uint16_t old, uint16_t new_);
/* The same for a 32-bit word. */
uint16_t sg_csum_replace4(uint16_t check, uint32_t old, uint32_t new_);

#endif
