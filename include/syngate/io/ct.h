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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syngate/core/types.h"

struct sg_ct;

/* Opens a ctnetlink socket in the current network namespace.  Returns NULL
 * with errno set on failure (EPERM without CAP_NET_ADMIN). */
struct sg_ct *sg_ct_open(void);
void sg_ct_close(struct sg_ct *ct);
/* The socket's netlink port id (for tests). */
uint32_t sg_ct_portid(const struct sg_ct *ct);

/* Creates the entry in state SYN_SENT, IPS_CONFIRMED, liberal window tracking
 * in both directions, with a zero sequence adjustment in both directions.
 * The window-scale flag of a direction is set when its wscale is > 0; the
 * kernel applies the scales only when both directions have it.  Note that in
 * SYN_SENT conntrack holds an ACK of the original direction INVALID (such a
 * packet loses its entry and is not adjusted); the backend's SYN-ACK moves the
 * entry to SYN_RECV, after which the ACK establishes it. */
int sg_ct_create(struct sg_ct *ct, const struct sg_ct_new *n);

/* Sets the reply direction's sequence offset to @reply_off (cookie ISN minus
 * backend ISN: reply seq += off, original ack -= off), the mark to @mark and,
 * unless @sp is NULL, the synproxy extension to *@sp (timestamp offset). */
int sg_ct_establish(struct sg_ct *ct, const struct sg_tuple *orig, int32_t reply_off,
		    uint32_t mark, const struct sg_ct_synproxy *sp);

/* The request of sg_ct_establish(), with sequence number @seq and without
 * NLM_F_ACK (no answer unless it fails), built in @buf (at least
 * SG_CT_MSG_MAX bytes, aligned for struct nlmsghdr) for a socket of the
 * caller's (sg_nfq_request(): the update then runs just before the next
 * verdict).  Returns its length, or 0 with errno EINVAL for a family other
 * than AF_INET/AF_INET6. */
#define SG_CT_MSG_MAX 512
size_t sg_ct_establish_msg(void *buf, uint32_t seq, const struct sg_tuple *orig,
			   int32_t reply_off, uint32_t mark, const struct sg_ct_synproxy *sp);

/* Sets only the synproxy extension of the entry whose original tuple is
 * @orig to *@sp. */
int sg_ct_set_synproxy(struct sg_ct *ct, const struct sg_tuple *orig,
		       const struct sg_ct_synproxy *sp);

/* Deletes the entry whose original tuple is @orig. */
int sg_ct_delete(struct sg_ct *ct, const struct sg_tuple *orig);

/* Whether conntrack has an entry for the TCP tuple @t in either direction:
 * 1 yes, 0 no, -1 with errno set on error (a GET request, synchronous). */
int sg_ct_lookup(struct sg_ct *ct, const struct sg_tuple *t);
/* The same for the @n tuples @t at once (one sendmsg for all requests, the
 * answers read together): @res[i] is 1, 0, or -1 when tuple i's answer was
 * an error or did not come.  @n at most SG_CT_LOOKUP_MAX.  Returns 0, or -1
 * with errno set when the requests could not be sent (every @res is -1). */
#define SG_CT_LOOKUP_MAX 64
int sg_ct_lookup_many(struct sg_ct *ct, const struct sg_tuple *t, int n, int8_t *res);

/* --- destroy events ------------------------------------------------------- */

/* A listener for conntrack DESTROY events (entry deleted, timed out or
 * closed) in the current network namespace, filtered in userspace by mark.
 *
 * With net.netfilter.nf_conntrack_events=2 (the default) the kernel gives an
 * entry its event cache only if some listener exists when the entry is
 * created: open the listener before creating entries, or their destroy
 * events are never sent (checked on 6.18; with the sysctl at 1 they are).
 * Only TCP entries are reported. */
struct sg_ct_events;

struct sg_ct_events_stats {
	uint64_t events;   /* destroy events of TCP entries parsed */
	uint64_t matched;  /* of those, passed to the callback (mark matched) */
	uint64_t enobufs;  /* socket overruns: events were lost (count of overruns) */
	uint64_t bad;	   /* messages skipped: malformed, truncated or not TCP */
};

/* Called once per matching event.  @orig is valid until the callback returns. */
typedef void (*sg_ct_destroy_cb)(void *ctx, const struct sg_tuple *orig, uint32_t mark);

/* Receive buffer the listener asks for (forced when privileged). */
#define SG_CT_EVENTS_RCVBUF (8u << 20)
/* Datagrams one sg_ct_events_read() handles at most (bounded work per call). */
#define SG_CT_EVENTS_BATCH 256

/* Subscribes to DESTROY events of entries whose (mark & @mask) equals
 * (@mark & @mask); @mask 0 reports all.  The socket is non-blocking.  Returns
 * NULL with errno set on failure (EPERM without CAP_NET_ADMIN). */
struct sg_ct_events *sg_ct_events_open(uint32_t mark, uint32_t mask);
void sg_ct_events_close(struct sg_ct_events *ev);
/* The descriptor to poll for readability. */
int sg_ct_events_fd(const struct sg_ct_events *ev);

/* Reads what is pending without blocking (at most SG_CT_EVENTS_BATCH
 * datagrams; poll again if more remain) and calls @cb for each matching
 * event.  Returns the number of datagrams handled (0 if nothing was pending;
 * SG_CT_EVENTS_BATCH: more may remain), or
 * -1 with errno set on a socket error.  ENOBUFS (events lost to an overrun) is
 * counted in the stats and is not an error. */
int sg_ct_events_read(struct sg_ct_events *ev, sg_ct_destroy_cb cb, void *ctx);

const struct sg_ct_events_stats *sg_ct_events_stats(const struct sg_ct_events *ev);

#endif
