/* syngate sysctls: read and write /proc/sys, and bring the sysctls syngate's
 * packet path needs to acceptable values.
 *
 * @path arguments are relative to /proc/sys with '/' separators
 * ("net/ipv4/conf/eth0.100/rp_filter"), so interface names may hold dots.
 */
#ifndef SYNGATE_SYSCTL_H
#define SYNGATE_SYSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "syngate/ops/rules.h"

/* Copies the value without its trailing newline into @buf.  Returns 0, or -1
 * with errno (ENOENT: no such sysctl here; ENOSPC: @buf too small).  Prints
 * nothing. */
int sg_sysctl_get(const char *path, char *buf, size_t len);

/* Writes @value.  Returns 0, or -1 with errno.  Prints nothing. */
int sg_sysctl_set(const char *path, const char *value);

/* Brings the sysctls the rules of @c rely on to acceptable values: IPv4
 * forwarding, IPv6 forwarding (neither on-host: c->on_host),
 * nf_conntrack_tcp_loose 0, and (not on-host either) loose reverse path
 * filtering where it would be strict on a client interface (the configured
 * ones, else every one but lo): such an interface's own rp_filter goes to
 * 2; net.ipv4.conf.all.rp_filter is never changed (the kernel uses the
 * larger of `all' and the interface's value).  Prints
 * each change to @report (NULL: nothing) as "sysctl NAME: OLD -> NEW"; with
 * c->dry_run only prints.  Returns 0, or -1 after a message on stderr.
 * Each change is recorded, with the value it replaced, in a file per
 * network namespace in $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=)
 * or, without it, SG_SYSCTL_STATE_DIR, for sg_sysctl_restore(). */
int sg_sysctl_apply(const struct sg_rules_config *c, FILE *report);

#define SG_SYSCTL_STATE_DIR "/run/syngate"

/* Puts back the values the changes sg_sysctl_apply() recorded in this
 * network namespace replaced, each only if the sysctl still holds what was
 * set (someone else's later change stays), and forgets them.  Reports
 * "sysctl NAME: NEW -> OLD (restored)" (or "left at") to @report (NULL:
 * nothing); with @dry_run only reports.  Returns 0 (also when nothing was
 * recorded), or -1 after a message on stderr. */
int sg_sysctl_restore(bool dry_run, FILE *report);

#endif
