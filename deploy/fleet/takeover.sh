#!/bin/sh
# deploy/fleet/takeover.sh primary|backup [CONF]
#
# Moves this router's conntrackd (FTFW, external cache on) between the roles of
# a two-router syngate fleet (docs/fleet.md); the order is upstream's
# primary-backup.sh.  Run it from whatever decides who carries the traffic
# (keepalived's notify, a cluster manager, an operator), on the router that
# changes role, BEFORE traffic is moved to it:
#
#   primary  commit the peer's entries (the external cache) into the kernel,
#            then flush both caches, resync the internal one from the kernel
#            and send it to the peer in bulk.  Until the commit, this router's
#            conntrack has no entry for the peer's connections: their client
#            segments are INVALID (nf_conntrack_tcp_loose=0, set by syngate)
#            and syngate drops them as failed cookie ACKs, which the client
#            retransmits; with rst-invalid = yes it resets them instead.  Commit
#            first, then move the routes (docs/fleet.md, "Taking over").
#   backup   shorten the kernel's timers for the entries this router no longer
#            carries and ask the peer for a resync.
#
# CONF defaults to /etc/conntrackd/conntrackd.conf.  Exit status: 0, or 1 if a
# conntrackd request failed (each failure is reported on stderr).
set -u
conf=${2:-/etc/conntrackd/conntrackd.conf}
bin=${CONNTRACKD:-conntrackd}
rc=0

ctd() {
	"$bin" -C "$conf" "$@" || { echo "takeover.sh: conntrackd $* failed" >&2; rc=1; }
}

case ${1:-} in
primary)
	ctd -c # external cache -> kernel: the peer's connections continue here
	ctd -f # flush internal and external caches
	ctd -R # internal cache <- kernel table
	ctd -B # bulk update to the peer
	;;
backup)
	ctd -t # shorten kernel timers: entries the new primary now carries
	ctd -n # request a resync from the primary
	;;
*)
	echo "usage: takeover.sh primary|backup [CONF]" >&2
	exit 2
	;;
esac
exit "$rc"
