/* syngate privileges: what `syngate run` keeps once everything that needs
 * more is open (relayd's habit: open privileged sockets first, then drop).
 *
 * At run time the daemon needs two capabilities: CAP_NET_ADMIN (NFQUEUE
 * verdicts and ctnetlink messages are checked on every send, the ipset
 * netlink socket, the rules watcher's iptables and ipset, net sysctls) and
 * CAP_NET_RAW (iptables-legacy opens a raw socket).  Both are kept in the
 * permitted, effective, inheritable and ambient sets: ambient, so that the
 * iptables-restore, iptables-save and ipset the rules watcher spawns have
 * them too (an execve() keeps ambient capabilities and nothing else for a
 * non-root user).  Every other capability goes, the bounding set too where
 * the process may change it (CAP_SETPCAP).
 *
 * Capabilities belong to threads: sg_priv_drop() must run before the first
 * thread is created, so that every thread inherits the reduced set.
 *
 * Return convention: 0, or -1 after logging why.
 */
#ifndef SYNGATE_DAEMON_PRIV_H
#define SYNGATE_DAEMON_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

/* Whom to become: the user and its primary group (or stay). */
struct sg_priv_user {
	bool change; /* false: keep the process's user, drop capabilities only */
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Looks @name up (a user name, or a number taken as a uid whose group is
 * its passwd entry's, else the same number).  "" means stay, and so does
 * the user the process runs as already: u->change is false.  Run before the
 * drop (NSS may read files the user cannot). */
int sg_priv_lookup(const char *name, struct sg_priv_user *u);

/* Switches to @u (supplementary groups cleared) when u->change, and keeps
 * only CAP_NET_ADMIN and CAP_NET_RAW.  Refuses when the process already
 * has more than one thread. */
int sg_priv_drop(const struct sg_priv_user *u);

#endif
