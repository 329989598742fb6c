/* syngate firewall rules: install and remove syngate's own iptables/ip6tables
 * chains, and the sysctls the packet path needs.
 *
 * Everything syngate adds lives in chains named SYNGATE-* plus one jump rule
 * per built-in chain, so `remove` takes away exactly what `install` added and
 * `install` run twice leaves one copy.  Return convention: 0 on success, -1
 * after printing a clear message to stderr.
 */
#ifndef SYNGATE_RULES_H
#define SYNGATE_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SG_RULES_MAX_PORTS 15 /* iptables multiport limit */
#define SG_RULES_MAX_IFACES 8

struct sg_rules_config {
	uint16_t ports[SG_RULES_MAX_PORTS]; /* protected TCP ports */
	int nports;
	char ifaces[SG_RULES_MAX_IFACES][16]; /* client-facing interfaces; none = all */
	int nifaces;
	uint16_t queue;	    /* first NFQUEUE number */
	uint16_t nqueues;   /* queues to balance over (>= 1) */
	uint32_t mark;	    /* connmark bit for connections pending backend handshake */
	bool fail_open;	    /* --queue-bypass: accept when no daemon listens */
	bool ipv4, ipv6;
	bool dry_run;	    /* print the rule set instead of applying it */
};

/* Fills @c with defaults (port 80, queue 0, one queue, fail-closed, both families). */
void sg_rules_defaults(struct sg_rules_config *c);
/* Installs (replacing any previous syngate rules) and sets sysctls, printing
 * each sysctl it changed to @report. */
int sg_rules_install(const struct sg_rules_config *c, FILE *report);
/* Removes every syngate chain and jump; succeeds when there is nothing to remove. */
int sg_rules_remove(const struct sg_rules_config *c, FILE *report);

#endif
