/* syngate firewall rules: install and remove syngate's own iptables/ip6tables
 * chains, and the sysctls the packet path needs.
 *
 * Everything syngate adds lives in chains named SYNGATE-* plus one jump rule
 * per built-in chain, so `remove` takes away exactly what `install` added and
 * `install` run twice leaves one copy.  Rules are applied with
 * `iptables-restore --noflush` / `ip6tables-restore --noflush` (script on
 * stdin, never through a shell), one transaction per table: install deletes
 * the previous copy and adds the new one in the same transaction.
 *
 * Only the xt form `-j NFQUEUE` is used: nft's `queue` statement is not
 * available on every kernel (NFT_QUEUE), while iptables-nft reaches xt_NFQUEUE
 * through nft_compat.  rules/README.md lists the generated rule set.
 *
 * Return convention: 0 on success, -1 after printing a clear message to
 * stderr (what is missing and how to get it).  Exceptions are noted.
 */
#ifndef SYNGATE_RULES_H
#define SYNGATE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "syngate/core/types.h"

#define SG_RULES_MAX_PORTS 15 /* iptables multiport limit */

#define SG_RULES_DEFAULT_MARK 0x10000000u         /* connmark: pending backend handshake */
#define SG_RULES_DEFAULT_PROXIED_MARK 0x08000000u /* connmark: spliced connection */
#define SG_RULES_DEFAULT_COMPLETE_MARK 0x04000000u /* packet mark: completing ACK */
#define SG_RULES_DEFAULT_REFLECT_MARK 0x20000000u /* packet mark: reflected SYN-ACK */

/* Shedding: SYNs per second let into each queue (xt_hashlimit, one bucket per
 * queue set); the excess is dropped in raw before the NFQUEUE rule, where it
 * costs one iptables match instead of a netlink copy.  0 = no limit.  The
 * kernel measures the rate in whole microseconds per packet, so a rate is
 * rounded down to 1000000/k (150000 -> 142857); the rate of all queues
 * together (shed_rate * nqueues) is at most 1000000 (hashlimit's maximum). */
#define SG_RULES_DEFAULT_SHED_RATE 100000u
#define SG_RULES_SHED_RATE_MIN 1000u
#define SG_RULES_SHED_RATE_MAX 1000000u

struct sg_rules_config {
	uint16_t ports[SG_RULES_MAX_PORTS]; /* protected TCP ports */
	int nports;
	char ifaces[SG_MAX_IFACES][16]; /* client-facing interfaces; none = all */
	int nifaces;
	uint16_t queue;        /* first NFQUEUE number */
	uint16_t nqueues;      /* queues to balance over (>= 1) */
	uint32_t mark;         /* connmark bit for connections pending backend handshake */
	uint32_t proxied_mark; /* connmark bit of spliced connections */
	uint32_t complete_mark; /* packet mark of a pass-through handshake's completing ACK */
	uint32_t reflect_mark; /* packet mark bit syngate sets on a reflected SYN-ACK
	                        * (verdict NF_REPEAT): raw notracks and accepts it */
	bool fail_open;        /* --queue-bypass: accept when no daemon listens */
	uint32_t shed_rate;    /* SYNs/s per queue allowed into the queue; 0 = no limit */
	bool ipv4, ipv6;
	bool dry_run; /* print the scripts (and sysctl changes) instead of applying */
};

/* True when this process holds capability @bit (12 CAP_NET_ADMIN, 13
 * CAP_NET_RAW) in its effective set, as root normally does. */
bool sg_has_capability(int bit);

/* Fills @c with defaults (port 80, queue 0, one queue, fail-closed, both
 * families, mark 0x10000000, reflect_mark 0x20000000, all interfaces,
 * shed_rate 100000). */
void sg_rules_defaults(struct sg_rules_config *c);

/* Checks @c: 1..15 non-zero ports, 0..8 interface names that are safe in an
 * iptables script (1..15 bytes, no blank, quote, '#', '/' or control byte),
 * nqueues >= 1 and the last queue <= 65535, non-zero marks that do not
 * overlap, at least one family, shed_rate 0 or 1000..1000000 with
 * shed_rate * nqueues <= 1000000.  Returns 0, or -1 with a message. */
int sg_rules_validate(const struct sg_rules_config *c);

/* The rate the shed rule really lets through, in SYNs per second for all
 * queues together (what iptables-save shows): 0 when shed_rate is 0. */
uint32_t sg_rules_shed_effective(const struct sg_rules_config *c);

/* Writes to @out the rule set install adds (the same text for iptables and
 * ip6tables), without the removal lines that precede it.  Pure: touches no
 * kernel state.  Returns 0, or -1 when @c is invalid. */
int sg_rules_format(const struct sg_rules_config *c, FILE *out);

/* Installs (replacing any previous syngate rules) and sets sysctls, printing
 * each sysctl it changed to @report as "sysctl NAME: OLD -> NEW".  Before
 * touching anything it checks the iptables binaries, CAP_NET_ADMIN and (with
 * `iptables-restore --test`) that the kernel has every extension used.  If
 * one family fails after the other was applied, both are removed again.
 * With c->dry_run the scripts and the sysctl changes are printed to @report
 * and nothing is applied.  @report may be NULL (nothing printed). */
int sg_rules_install(const struct sg_rules_config *c, FILE *report);

/* Removes every syngate chain and jump (any table, every copy) of the
 * families enabled in @c; succeeds when there is nothing to remove.  Sysctls
 * are left as they are (their old values are not known).  With c->dry_run
 * the removal scripts are printed to @report. */
int sg_rules_remove(const struct sg_rules_config *c, FILE *report);

/* Prints to @out, per family and table, whether SYNGATE-RAW/SYNGATE-MANGLE
 * exist, how many jumps lead to them, and their rules with packet/byte
 * counters (`iptables -t TABLE -L CHAIN -v -n -x`), and after SYNGATE-RAW a
 * line "  FAMILY shed: N SYNs dropped above shed-rate (before the queue)"
 * (or "shed: off").  Returns 0 when every
 * chain of every enabled family is installed with exactly one jump, 1 when
 * some are missing (not an error), -1 on error. */
int sg_rules_status(const struct sg_rules_config *c, FILE *out);

/* sysctl helpers.  @path is relative to /proc/sys with '/' separators
 * ("net/ipv4/conf/eth0.100/rp_filter"), so interface names may hold dots.
 * get: copies the value without its trailing newline into @buf; returns 0,
 * or -1 with errno (ENOENT: no such sysctl here; ENOSPC: @buf too small).
 * set: writes @value; returns 0, or -1 with errno.  Neither prints. */
int sg_rules_sysctl_get(const char *path, char *buf, size_t len);
int sg_rules_sysctl_set(const char *path, const char *value);

#endif
