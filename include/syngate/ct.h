/* syngate ctnetlink client: conntrack entries with sequence adjustment.
 *
 * Entries for proxied connections are created by syngate over ctnetlink
 * before any packet of the flow can create one, so that they carry the
 * sequence-adjust extension (an entry created by a packet can never gain it).
 * All calls are synchronous: they send one request and wait for the kernel's
 * acknowledgement.  Return convention: 0 on success, -1 with errno set
 * (EEXIST: entry exists; ENOENT: no such entry; others from the kernel).
 */
#ifndef SYNGATE_CT_H
#define SYNGATE_CT_H

#include <stdint.h>

#include "syngate/packet.h"

struct sg_ct;

/* What a new entry looks like. */
struct sg_ct_new {
	struct sg_tuple orig;	/* client -> server */
	uint32_t mark;		/* connmark (rules match the pending bit) */
	uint32_t timeout;	/* seconds (mandatory for the kernel) */
	uint8_t orig_wscale;	/* client's window scale (0 if none) */
	uint8_t reply_wscale;	/* backend's window scale (0 if unknown) */
};

/* Opens a ctnetlink socket in the current network namespace.  Returns NULL
 * with errno set on failure (EPERM without CAP_NET_ADMIN). */
struct sg_ct *sg_ct_open(void);
void sg_ct_close(struct sg_ct *ct);

/* Creates the entry in state SYN_SENT, IPS_CONFIRMED, liberal window tracking
 * in both directions, with a zero sequence adjustment in both directions. */
int sg_ct_create(struct sg_ct *ct, const struct sg_ct_new *n);

/* Sets the reply direction's sequence offset to @reply_off (cookie ISN minus
 * backend ISN: reply seq += off, original ack -= off) and the mark to @mark. */
int sg_ct_establish(struct sg_ct *ct, const struct sg_tuple *orig, int32_t reply_off,
		    uint32_t mark);

/* Deletes the entry whose original tuple is @orig. */
int sg_ct_delete(struct sg_ct *ct, const struct sg_tuple *orig);

#endif
