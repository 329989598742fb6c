/* syngate's lane: the addresses of clients that completed a handshake
 * recently, kept in an ipset (hash:ip, one set per family, entries time out)
 * (SG_LANE_SET lists both) that the rules match before the shared shed
 * buckets.  A lane member's SYNs
 * and cookie ACKs skip those buckets (a per-source hashlimit bounds them
 * instead) and go to the lane queue, which a flood of random sources never
 * reaches: such a flood never completes a handshake, so it never enters the
 * set (rules/README.md, "The lane").
 *
 * A worker adds the client address of each handshake it completes over
 * ipset's netlink interface (NFNL_SUBSYS_IPSET, IPSET_CMD_ADD, no NLM_F_EXCL:
 * an existing entry gets its timeout refreshed).  The add is one
 * non-blocking sendmsg without an acknowledgement; errors the kernel sends
 * back are read and counted by sg_lane_drain().  A small cache skips
 * addresses added within the last quarter of the timeout, so a busy client
 * costs one add every few minutes, not one per connection.
 *
 * One handle per thread.  The sets are created by the rule installer
 * (`ipset restore`), not here. */
#ifndef SYNGATE_LANE_H
#define SYNGATE_LANE_H

#include <stdint.h>

/* The rules match SG_LANE_SET, a list:set holding the two hash:ip sets
 * the workers fill, one per family. */
#define SG_LANE_SET "syngate-lane"
#define SG_LANE_SET4 "syngate-lane4"
#define SG_LANE_SET6 "syngate-lane6"

struct sg_lane;

struct sg_lane_stats {
	uint64_t added;   /* add requests sent */
	uint64_t cached;  /* adds skipped: the address was added recently */
	uint64_t errors;  /* adds that could not be sent */
	uint64_t rejected; /* sent adds the kernel refused (e.g. no such set) */
};

/* Opens a netlink socket for ipset requests.  @timeout_s is each added
 * entry's timeout (the cache re-adds an address after a quarter of it).  Returns NULL with
 * errno set. */
struct sg_lane *sg_lane_open(uint32_t timeout_s);
/* Closes and frees.  NULL is allowed. */
void sg_lane_close(struct sg_lane *l);
/* Puts @addr (network order, 4 or 16 bytes by @family, AF_INET/AF_INET6)
 * into the lane set of its family, unless the cache says it was added less
 * than timeout/4 ago (@now_us, monotonic).  Returns 0, or -1 with errno set
 * when the request could not be sent (counted). */
int sg_lane_add(struct sg_lane *l, int family, const uint8_t *addr, uint64_t now_us);
/* Reads (without blocking) the kernel's error answers and counts them. */
void sg_lane_drain(struct sg_lane *l);
const struct sg_lane_stats *sg_lane_stats(const struct sg_lane *l);

#endif
