/* syngate half-open table: connections whose backend handshake is pending.
 *
 * Preallocated open addressing with linear probing and backward-shift
 * deletion (no tombstones), keyed by the client -> server tuple.  The table
 * never grows: when it holds `max` entries, inserts fail and the caller
 * drops the ACK (the client retransmits it; its cookie stays valid).  Expiry
 * is incremental: sg_table_scan() visits a bounded number of slots per call.
 */
#ifndef SYNGATE_TABLE_H
#define SYNGATE_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "syngate/core/cookie.h"
#include "syngate/core/packet.h"

struct sg_halfopen {
	struct sg_tuple tuple;	/* client -> server */
	uint32_t client_isn;
	uint32_t cookie;	/* our ISN towards the client */
	uint16_t client_win;	/* window field of the client's ACK */
	uint8_t adv_wscale;	/* window scale we advertised to the client */
	uint8_t retries;	/* backend SYNs re-sent */
	bool used;
	bool ts;		/* timestamps agreed with the client */
	uint32_t its;		/* TSval of our SYN-ACK (the client's TSecr) */
	uint32_t client_tsval;	/* the client's TSval in its cookie ACK */
	struct sg_cookie_opts opts; /* options the backend SYN carries */
	uint64_t created_us;	/* monotonic microseconds */
	uint64_t last_syn_us;
};

struct sg_table;

/* Allocates a table for at most @max entries (slots: next power of two >=
 * 2 * max).  Returns NULL with errno set. */
struct sg_table *sg_table_new(uint32_t max, uint64_t seed);
void sg_table_free(struct sg_table *t);

/* Returns the entry of @key, or NULL. */
struct sg_halfopen *sg_table_find(struct sg_table *t, const struct sg_tuple *key);
/* Returns a zeroed, used entry for @key (the existing one if present), or
 * NULL when the table is full. */
struct sg_halfopen *sg_table_insert(struct sg_table *t, const struct sg_tuple *key);
/* Removes @e, which must come from this table. */
void sg_table_remove(struct sg_table *t, struct sg_halfopen *e);

uint32_t sg_table_count(const struct sg_table *t);
uint32_t sg_table_max(const struct sg_table *t);

/* Visits up to @budget slots from an internal cursor and calls @fn on each
 * used entry; @fn may remove the entry it is given (it returns true then). */
void sg_table_scan(struct sg_table *t, uint32_t budget,
		   bool (*fn)(void *ctx, struct sg_halfopen *e), void *ctx);

#endif
