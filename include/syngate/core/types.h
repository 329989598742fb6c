/* The core's vocabulary for the edges: what a decision asks of the queue (a
 * verdict) and of conntrack (a new entry).  The I/O modules include this
 * header and carry these values out; the core never includes theirs.
 */
#ifndef SYNGATE_CORE_TYPES_H
#define SYNGATE_CORE_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "syngate/core/packet.h"

/* Client-facing interfaces syngate attaches to (rules, XDP) at most. */
#define SG_MAX_IFACES 8

/* Values are the kernel's NF_* verdicts. */
enum sg_verdict { SG_V_DROP = 0, SG_V_ACCEPT = 1, SG_V_REPEAT = 4 };

/* What a new conntrack entry looks like (created over ctnetlink). */
struct sg_ct_new {
	struct sg_tuple orig;	/* client -> server */
	uint32_t mark;		/* connmark (rules match the pending bit) */
	uint32_t timeout;	/* seconds (mandatory for the kernel) */
	uint8_t orig_wscale;	/* client's window scale (0 if none) */
	uint8_t reply_wscale;	/* backend's window scale (0 if unknown) */
	bool orig_sack_perm;	/* client sent SACK-permitted */
	bool reply_sack_perm;	/* backend sent SACK-permitted (false if unknown) */
};

#endif
