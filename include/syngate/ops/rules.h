/* syngate firewall rules: the text of syngate's own iptables/ip6tables
 * chains, as iptables-restore scripts.  Pure: no process, file or kernel is
 * touched here; src/ops/iptables.c feeds the scripts to the tools.
 *
 * Everything syngate adds lives in chains named SYNGATE-* plus one jump rule
 * per built-in chain, so the removal script takes away exactly what the
 * install script added, and installing twice leaves one copy: the install
 * script deletes the previous copy (as iptables-save shows it) and adds the
 * new one in the same transaction, one transaction per table.  The text is
 * the same for iptables and ip6tables.
 *
 * Only the xt form `-j NFQUEUE` is used: nft's `queue` statement is not
 * available on every kernel (NFT_QUEUE), while iptables-nft reaches xt_NFQUEUE
 * through nft_compat.  rules/README.md lists the generated rule set.
 *
 * Return convention: 0 on success, -1 on failure (no message printed).
 */
#ifndef SYNGATE_RULES_H
#define SYNGATE_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "syngate/core/types.h"
#include "syngate/ops/strbuf.h"

#define SG_RULES_MAX_PORTS 15 /* iptables multiport limit */
/* Backend SYN-ACKs queued to learn from, per backend (address and port):
 * a few a second; those of syngate's own pending connections always are. */
#define SG_RULES_LEARN_RATE 4u
#define SG_RULES_LEARN_BURST 8u

/* Shedding: SYNs per second let into each queue (xt_hashlimit, one bucket per
 * queue set); the excess is dropped in raw before the NFQUEUE rule, where it
 * costs one iptables match instead of a netlink copy.  0 = no limit.  The
 * kernel measures the rate in whole microseconds per packet, so a rate is
 * rounded down to 1000000/k (150000 -> 142857); the rate of all queues
 * together (shed_rate * nqueues) is at most 1000000 (hashlimit's maximum). */
#define SG_RULES_DEFAULT_SHED_RATE 100000u
#define SG_RULES_SHED_RATE_MIN 1000u
#define SG_RULES_SHED_RATE_MAX 1000000u

/* ACK shedding: INVALID ACKs (cookie ACKs, and every ACK of a random-source
 * ACK flood) per second let into each queue, one shared bucket as for SYNs;
 * 0 = no limit.  Same bounds and rounding as shed_rate. */
#define SG_RULES_DEFAULT_ACK_SHED_RATE 50000u

/* The lane (rules/README.md): clients that completed a handshake recently,
 * in the ipset syngate-lane (a list:set of syngate-lane4 and syngate-lane6,
 * so the rule text stays the same for both families), skip the shared
 * buckets and use queues of their own (queue + nqueues .. queue + 2 *
 * nqueues - 1); each such address may send lane_rate SYNs and lane_rate
 * cookie ACKs a second (per-source hashlimit). */
#define SG_RULES_DEFAULT_LANE_RATE 1000u
#define SG_RULES_LANE_RATE_MAX 100000u

struct sg_rules_config {
	uint16_t ports[SG_RULES_MAX_PORTS]; /* protected TCP ports */
	int nports;
	char ifaces[SG_MAX_IFACES][16]; /* client-facing interfaces; none = all */
	int nifaces;
	uint16_t queue;        /* first NFQUEUE number */
	uint16_t nqueues;      /* queues to balance over (>= 1) */
	struct sg_marks marks; /* what the rules match and set (types.h) */
	bool fail_open;        /* --queue-bypass: accept when no daemon listens */
	uint32_t shed_rate;    /* SYNs/s per queue allowed into the queue; 0 = no limit */
	bool completions;      /* queue the ACK completing a passed-through handshake
	                        * (adaptive mode counts them; nothing else needs them) */
	uint32_t ack_shed_rate; /* INVALID ACKs/s per queue allowed in; 0 = no limit */
	bool lane;             /* the lane: its rules, and nqueues more queues */
	uint32_t lane_rate;    /* per lane member: SYNs/s and cookie ACKs/s */
	bool ipv4, ipv6;
	bool timestamps;       /* add SYNGATE-TS (filter): a SYNPROXY rule no packet
	                        * reaches, so that the kernel registers its synproxy
	                        * hooks (timestamps: docs/design.md) */
	bool dry_run; /* print the scripts (and sysctl changes) instead of applying */
	bool on_host; /* placement on-host: protect this host's own listeners
	               * (local destinations only, loopback left alone; the
	               * listeners' answers are queued in mangle OUTPUT, cookie
	               * SYN-ACKs leave through a raw socket with the reflect
	               * mark and are notracked in raw OUTPUT).  Router: off. */
};

/* Fills @c with defaults (port 80, queue 0, one queue, fail-closed, both
 * families, the default marks, all interfaces, shed_rate 100000,
 * ack_shed_rate 50000, the lane on at 1000/s per source). */
void sg_rules_defaults(struct sg_rules_config *c);

/* Checks @c: 1..15 non-zero ports, 0..8 interface names that are safe in an
 * iptables script (1..15 bytes, no blank, quote, '#', '/' or control byte),
 * nqueues >= 1 and the last queue <= 65535, valid marks (sg_marks_valid()),
 * at least one family, shed_rate 0 or 1000..1000000 with
 * shed_rate * nqueues <= 1000000, the same for ack_shed_rate, and with the
 * lane nqueues <= 32, the last lane queue <= 65535 and lane_rate
 * 1..100000.  Returns NULL when valid, else what is wrong (a static
 * string). */
const char *sg_rules_invalid(const struct sg_rules_config *c);

/* The rate the shed rule really lets through, in SYNs per second for all
 * queues together (what iptables-save shows): 0 when shed_rate is 0. */
uint32_t sg_rules_shed_effective(const struct sg_rules_config *c);
/* The same for ack_shed_rate. */
uint32_t sg_rules_ack_shed_effective(const struct sg_rules_config *c);

/* The jumps into SYNGATE-* chains the install script adds to each of the raw
 * and mangle tables: 1 (PREROUTING), 2 on-host (PREROUTING and OUTPUT). */
int sg_rules_jumps(const struct sg_rules_config *c);

/* What iptables-save shows of syngate in one table. */
#define SG_RULES_MAX_TABLES 8 /* iptables has 5 (raw mangle nat filter security) */

struct sg_rules_table {
	char name[32];
	struct sg_strbuf del;    /* "-D CHAIN spec\n" for each jump into a SYNGATE-* chain */
	struct sg_strbuf chains; /* "SYNGATE-X\n" for each SYNGATE-* chain */
	int njumps;
	/* from `iptables-save -c` (0 without counters): packets dropped before
	 * the queue by the DROP rules of SYNGATE-RAW (SYNs above shed-rate) and
	 * SYNGATE-MANGLE (INVALID segments no rule queued: cookie ACKs above
	 * ack-shed-rate among them) */
	uint64_t syn_shed, invalid_dropped;
};

struct sg_rules_saved {
	struct sg_rules_table t[SG_RULES_MAX_TABLES];
	int n;
};

/* Parses iptables-save output @text (with or without -c counters) into @s
 * (overwritten).  Returns 0, or
 * -1 on more than SG_RULES_MAX_TABLES tables or out of memory; either way
 * sg_rules_saved_free() releases @s. */
int sg_rules_saved_parse(const char *text, struct sg_rules_saved *s);
void sg_rules_saved_free(struct sg_rules_saved *s);
/* The table called @name, or NULL. */
const struct sg_rules_table *sg_rules_saved_table(const struct sg_rules_saved *s,
                                                  const char *name);
/* True when table @t holds chain @chain. */
bool sg_rules_table_has_chain(const struct sg_rules_table *t, const char *chain);

/* Appends to @out the install script of one family: the removal of what
 * @saved shows of syngate (NULL: state unknown, nothing removed), then the
 * new rules, raw and mangle (and filter's SYNGATE-TS with c->timestamps) each
 * in one transaction so that no packet sees a half-replaced table.  Returns 0, or -1 when @c is invalid or @out was cut. */
int sg_rules_install_script(const struct sg_rules_config *c, const struct sg_rules_saved *saved,
                            struct sg_strbuf *out);

/* Appends to @out a removal transaction for every table of @saved holding
 * syngate state (nothing when none does).  Returns 0, or -1 when @out was cut. */
int sg_rules_remove_script(const struct sg_rules_saved *saved, struct sg_strbuf *out);

#endif
