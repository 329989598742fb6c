/* syngate iptables driver: install and remove syngate's own iptables/ip6tables
 * chains (the scripts of rules.h), report their state, and set the sysctls
 * the packet path needs (sysctl.h).
 *
 * Rules are applied with `iptables-restore --noflush` /
 * `ip6tables-restore --noflush` (script on stdin, never through a shell; see
 * spawn.h), one transaction per table.  Errors are explained: a missing tool,
 * capability, kernel extension or table is named with how to get it.
 *
 * Return convention: 0 on success, -1 after printing a clear message to
 * stderr (what is missing and how to get it).  Exceptions are noted.
 */
#ifndef SYNGATE_IPTABLES_H
#define SYNGATE_IPTABLES_H

#include <stdio.h>

#include "syngate/ops/rules.h"

/* Installs (replacing any previous syngate rules) and sets sysctls, printing
 * each sysctl it changed to @report as "sysctl NAME: OLD -> NEW".  Before
 * touching anything it checks the iptables binaries, CAP_NET_ADMIN and (with
 * `iptables-restore --test`) that the kernel has every extension used.  If
 * one family fails after the other was applied, both are removed again.
 * With c->dry_run the scripts and the sysctl changes are printed to @report
 * and nothing is applied.  @report may be NULL (nothing printed). */
int sg_iptables_install(const struct sg_rules_config *c, FILE *report);

/* Removes every syngate chain and jump (any table, every copy) of the
 * families enabled in @c; succeeds when there is nothing to remove.  Then
 * puts back the sysctls install changed in this network namespace
 * (sg_sysctl_restore(), reported as "sysctl NAME: NEW -> OLD (restored)").
 * With c->dry_run the removal scripts and the restores are printed to
 * @report. */
int sg_iptables_remove(const struct sg_rules_config *c, FILE *report);

/* Prints to @out, per family and table, whether SYNGATE-RAW/SYNGATE-MANGLE
 * exist, how many jumps lead to them, and their rules with packet/byte
 * counters (`iptables -t TABLE -L CHAIN -v -n -x`), and after SYNGATE-RAW a
 * line "  FAMILY shed: N SYNs dropped above shed-rate (before the queue)"
 * (or "shed: off").  Returns 0 when every
 * chain of every enabled family is installed with exactly one jump, 1 when
 * some are missing (not an error), -1 on error. */
int sg_iptables_status(const struct sg_rules_config *c, FILE *out);

/* Packets syngate's DROP rules dropped before the queue, all families
 * (their counters restart from 0 when the rules are put in again). */
struct sg_iptables_drops {
	uint64_t syn_shed; /* SYNs above shed-rate (raw SYNGATE-RAW) */
	uint64_t invalid;  /* INVALID segments no rule queued (mangle SYNGATE-MANGLE) */
};

/* Whether every chain of every enabled family is in place with exactly one
 * jump into it (what sg_iptables_status() returns 0 for), without listing
 * anything: 1 yes, 0 no, -1 when the rules cannot be read (a message on
 * stderr).  Fills @drops from the rules' counters.  For the daemon's watch,
 * once a second: one `iptables-save -c` run per family. */
int sg_iptables_present(const struct sg_rules_config *c, struct sg_iptables_drops *drops);

#endif
