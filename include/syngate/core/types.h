/* The core's vocabulary for the edges: what a decision asks of the queue (a
 * verdict) and of conntrack (a new entry).  The I/O modules include this
 * header and carry these values out; the core never includes theirs.
 */
#ifndef SYNGATE_CORE_TYPES_H
#define SYNGATE_CORE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syngate/core/packet.h"

/* Client-facing interfaces syngate attaches to (rules, XDP) at most. */
#define SG_MAX_IFACES 8

/* The marks syngate and its rules agree on.  Connmarks live on conntrack
 * entries, packet marks on one packet; each is a bit (or bits) the other
 * users of the marks leave alone.
 *
 *   pending   connmark while the backend handshake runs (the rules queue
 *             the backend's answers on such connections)
 *   proxied   connmark once spliced (destroy events are filtered on it)
 *   reflect   packet mark of a SYN-ACK syngate reflects (NF_REPEAT): the
 *             rules notrack and accept it
 *   complete  packet mark the rules put on the ACK completing a
 *             passed-through handshake (adaptive mode counts it)
 */
struct sg_marks {
	uint32_t pending;
	uint32_t proxied;
	uint32_t reflect;
	uint32_t complete;
	uint32_t known;	   /* packet mark: a SYN whose tuple conntrack knows (TC program) */
	uint32_t lane;	   /* connmark, with pending: pending in a lane queue */
};

/* calloc(@n, @size) with one byte of every page written: the memory is
 * resident from the start, so a table preallocated for the worst case costs
 * its size at start-up (where a shortage fails cleanly) and not page by page
 * under attack (where overcommit fails with the OOM killer), and the
 * daemon's RSS stays flat, which is what a soak run looks for.  NULL + errno. */
void *sg_alloc_resident(size_t n, size_t size);

/* Fills @m with the defaults: pending 0x10000000, proxied 0x08000000,
 * reflect 0x20000000, complete 0x04000000, known 0x02000000, lane
 * 0x01000000. */
void sg_marks_defaults(struct sg_marks *m);

/* True when every mark is non-zero, pending, proxied and reflect share no
 * bit, neither do complete or known and reflect, and lane shares none with
 * any. */
bool sg_marks_valid(const struct sg_marks *m);

/* Values are the kernel's NF_* verdicts. */
enum sg_verdict { SG_V_DROP = 0, SG_V_ACCEPT = 1, SG_V_REPEAT = 4 };

/* The kernel's synproxy extension of a conntrack entry (struct
 * nf_conn_synproxy), set over ctnetlink (CTA_SYNPROXY: all three or none).
 * Every entry created over ctnetlink carries the extension; the kernel's
 * synproxy hooks act on it only in a namespace where a SYNPROXY target or nft
 * synproxy expression exists (docs/cookies.md, "Timestamps"):
 *   - each packet of the flow has its timestamp translated: reply TSval -=
 *     tsoff, original TSecr += tsoff (nothing while tsoff is 0);
 *   - a backend RST in state CLOSE re-sets the reply offset to isn - seq + 1,
 *     so isn must be the cookie ISN syngate answered the client with. */
struct sg_ct_synproxy {
	uint32_t isn;	/* syngate's ISN towards the client (the cookie) */
	uint32_t its;	/* the TSval of the cookie SYN-ACK */
	uint32_t tsoff; /* backend's TSval minus its (0 until the backend answers) */
};

/* What a new conntrack entry looks like (created over ctnetlink). */
struct sg_ct_new {
	struct sg_tuple orig;	/* client -> server */
	uint32_t mark;		/* connmark (rules match the pending bit) */
	uint32_t timeout;	/* seconds (mandatory for the kernel) */
	uint8_t orig_wscale;	/* client's window scale (0 if none) */
	uint8_t reply_wscale;	/* backend's window scale (0 if unknown) */
	bool orig_sack_perm;	/* client sent SACK-permitted */
	bool reply_sack_perm;	/* backend sent SACK-permitted (false if unknown) */
	bool has_synproxy;	/* set the synproxy extension to @synproxy */
	struct sg_ct_synproxy synproxy;
};

#endif
