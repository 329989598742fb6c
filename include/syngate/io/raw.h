/* syngate raw sender: packets syngate originates (the ACK to the backend,
 * SYN retransmissions, RSTs) go out through raw IP sockets with the IP header
 * included, so they may carry the client's address as source.
 * Return convention: 0 on success, -1 with errno set.
 */
#ifndef SYNGATE_RAW_H
#define SYNGATE_RAW_H

#include <stddef.h>
#include <stdint.h>

struct sg_raw;

/* Opens the IPv4 and IPv6 raw sockets.  Returns NULL with errno set (EPERM
 * without CAP_NET_RAW).  An address family the kernel lacks is tolerated and
 * reported when used (EAFNOSUPPORT). */
struct sg_raw *sg_raw_open(void);
void sg_raw_close(struct sg_raw *r);
/* Puts @mark (SO_MARK, needs CAP_NET_ADMIN) on every packet @r sends from
 * now on, so that rules can tell them (on-host: the reflect mark of the
 * cookie SYN-ACKs, notracked in raw OUTPUT).  Returns 0 or -1 with errno. */
int sg_raw_set_mark(struct sg_raw *r, uint32_t mark);
/* Sends the complete IP packet @pkt (@len bytes, version from its first
 * nibble) to its own destination address, never blocking.  The source
 * address may be any address, local or not (checked for both families on
 * Linux 6.18 without IP(V6)_TRANSPARENT or FREEBIND).  The caller supplies a
 * correct TCP checksum; for IPv4 the kernel rewrites the header checksum and
 * tot_len and fills a zero id; the IPv6 header is sent as is.  Errors:
 * EINVAL (shorter than an IP header, unknown version, IPv6 link-local
 * destination), EAFNOSUPPORT (family missing), EAGAIN/ENOBUFS (device queue
 * full), EMSGSIZE (larger than the route MTU), ENETUNREACH, EPERM (dropped by
 * an OUTPUT rule). */
int sg_raw_send(struct sg_raw *r, const uint8_t *pkt, size_t len);

#endif
