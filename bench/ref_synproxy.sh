#!/usr/bin/env bash
# bench/ref_synproxy.sh — reference setup of the kernel's own SYNPROXY (nft) in a router
# network namespace; the baseline syngate is compared against.
#
#   ref_synproxy.sh up NS PORTS [MSS] [WSCALE] [MSS6]
#   ref_synproxy.sh down NS
#   ref_synproxy.sh status NS          # ruleset + summed /proc/net/stat/synproxy
#
# PORTS:  comma-separated TCP destination ports to protect, e.g. 8080 or 80,443
# MSS:    MSS announced to IPv4 clients (default 1460); MSS6 for IPv6 (default MSS-20)
# WSCALE: window scale announced to clients (default 7). As with any kernel SYNPROXY these
#         must match what the backend would announce: SYNPROXY cannot learn them.
#
# Rules (one `inet` table, sg_ref_synproxy, IPv4 + IPv6):
#   prerouting, priority raw:  pure SYN to PORTS -> notrack  (no conntrack entry per SYN)
#   forward, priority filter:  ct state invalid,untracked to PORTS -> synproxy (answers the
#                              SYN with a cookie SYN-ACK, validates the ACK, opens backend)
#                              ct state invalid -> drop
#   output, priority raw:      pure ACK to PORTS -> notrack (SYNPROXY's own ACK to the
#                              backend; see "Timestamps" below)
#                              SYN-ACK from PORTS -> notrack (SYNPROXY's cookie SYN-ACKs; see
#                              "Reused ports" below). Both match only packets the router
#                              itself sends, i.e. SYNPROXY's; forwarded packets never pass output.
# and net.netfilter.nf_conntrack_tcp_loose=0 so a bare ACK never creates an entry.
#
# Environment: SPX_TIMESTAMP=0 leaves out the `timestamp` option (then the cookie carries
# only the MSS: no window scaling and no SACK towards the backend); SPX_OUT_NOTRACK=0 leaves
# out the output rules (reproduces the 1 s stall and the port-reuse hang below).
#
# Timestamps (kernel 6.18, checked with tcpdump): when SYNPROXY protects a *forwarded*
# backend with the `timestamp` option, the ACK it sends the backend on the backend's
# SYN-ACK carries TSecr = backend TSval + tsoff instead of the backend's TSval: nf_synproxy
# sets tsoff (backend TSval - cookie TSval) before it sends that ACK, and the ACK, which
# conntrack attaches to the connection at LOCAL_OUT in the original direction, then passes
# SYNPROXY's POST_ROUTING hook, whose synproxy_tstamp_adjust() adds tsoff to TSecr a second
# time. The backend ignores the ACK, re-sends its SYN-ACK 1 s later, the client's next ACK
# completes the handshake: ~1.02 s per connection. A local backend (INPUT rules, the
# kernel's documented setup) is not hit: its ACK goes out through loopback, which the hook
# skips. Notracking that ACK at output makes the hook skip it too (no conntrack entry);
# the rest of the connection (seq + TS translation) is unchanged.
#
# Reused ports (same kernel, tcpdump): when a client reuses a source port while the
# router's conntrack entry of the previous connection on that tuple still exists (CLOSE,
# 10 s), SYNPROXY's cookie SYN-ACK for the new SYN (notracked) is looked up at LOCAL_OUT,
# attached to the OLD entry, and its sequence number and TSval are "translated" with the old
# connection's offsets at POST_ROUTING: the client ACKs a cookie SYNPROXY never issued
# (cookie_invalid), and, believing itself connected, waits forever. With 64 connections in
# flight from one client this stalled every slot after ~7,500 connections (1.5k conn/s over
# 5 s, 64 timeouts). Notracking the cookie SYN-ACK at output removes it (82k connections in
# 5 s, 0 failed, cookie_invalid 0).
# `down` removes the table and restores tcp_loose=1 (the kernel default). Both idempotent.
set -euo pipefail

TABLE=sg_ref_synproxy

usage() { sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "ref_synproxy: $*" >&2; exit 1; }

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

check_ns() {
    [ -n "${1:-}" ] || usage
    [ -e "/run/netns/$1" ] || die "no such network namespace: $1"
}

cmd_up() {
    local ns=${1:-} ports=${2:-} mss=${3:-1460} wscale=${4:-7} mss6=${5:-}
    check_ns "$ns"
    [ -n "$ports" ] || usage
    [[ $ports =~ ^[0-9]+(,[0-9]+)*$ ]] || die "PORTS must be like 80 or 80,443 (got '$ports')"
    [[ $mss =~ ^[0-9]+$ && $wscale =~ ^[0-9]+$ ]] || die "MSS and WSCALE must be integers"
    [ -n "$mss6" ] || mss6=$((mss - 20))
    [ "$wscale" -le 14 ] || die "WSCALE must be 0..14"
    local set="{ ${ports//,/, } }"
    local ts=' timestamp' out_raw=''
    [ "${SPX_TIMESTAMP:-1}" = 0 ] && ts=''
    [ "${SPX_OUT_NOTRACK:-1}" = 0 ] || out_raw="
    chain out_raw {
        type filter hook output priority raw; policy accept;
        tcp dport $set tcp flags & (fin | syn | rst | ack) == ack counter notrack
        tcp sport $set tcp flags & (fin | syn | rst | ack) == syn | ack counter notrack
    }"

    in_ns "$ns" nft list table inet "$TABLE" >/dev/null 2>&1 &&
        in_ns "$ns" nft delete table inet "$TABLE"
    in_ns "$ns" nft -f - <<EOF
table inet $TABLE {
    chain pre_raw {
        type filter hook prerouting priority raw; policy accept;
        tcp dport $set tcp flags & (fin | syn | rst | ack) == syn counter notrack
    }
    chain fwd_filter {
        type filter hook forward priority filter; policy accept;
        meta nfproto ipv4 tcp dport $set ct state invalid,untracked counter synproxy mss $mss wscale $wscale$ts sack-perm
        meta nfproto ipv6 tcp dport $set ct state invalid,untracked counter synproxy mss $mss6 wscale $wscale$ts sack-perm
        ct state invalid counter drop
    }$out_raw
}
EOF
    # the sysctl exists once conntrack is initialised in the namespace (the ct rules do that)
    in_ns "$ns" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 ||
        die "cannot set nf_conntrack_tcp_loose=0 in $ns"
    # SYNPROXY's cookie check needs these on (kernel defaults; make sure)
    in_ns "$ns" sysctl -qw net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=1 net.ipv4.tcp_window_scaling=1 >/dev/null
}

cmd_down() {
    local ns=${1:-}
    [ -n "$ns" ] || usage
    [ -e "/run/netns/$ns" ] || return 0          # namespace gone: nothing to undo
    if in_ns "$ns" nft list table inet "$TABLE" >/dev/null 2>&1; then
        in_ns "$ns" nft delete table inet "$TABLE"
    fi
    if [ -e "/proc/sys/net/netfilter/nf_conntrack_tcp_loose" ] ||
        in_ns "$ns" test -e /proc/sys/net/netfilter/nf_conntrack_tcp_loose; then
        in_ns "$ns" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1 2>/dev/null || true
    fi
}

cmd_status() {
    local ns=${1:-}
    check_ns "$ns"
    in_ns "$ns" nft list table inet "$TABLE" 2>/dev/null || echo "(table inet $TABLE not present)"
    echo "nf_conntrack_tcp_loose=$(in_ns "$ns" cat /proc/sys/net/netfilter/nf_conntrack_tcp_loose 2>/dev/null || echo '?')"
    # sum the per-CPU hex columns of /proc/net/stat/synproxy
    in_ns "$ns" cat /proc/net/stat/synproxy | {
        read -r -a names
        declare -a sum
        for i in "${!names[@]}"; do sum[i]=0; done
        while read -r -a f; do
            for i in "${!f[@]}"; do sum[i]=$((sum[i] + 16#${f[i]})); done
        done
        for i in "${!names[@]}"; do echo "${names[i]}=${sum[i]}"; done
    }
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
down) shift; cmd_down "$@" ;;
status) shift; cmd_status "$@" ;;
*) usage ;;
esac
