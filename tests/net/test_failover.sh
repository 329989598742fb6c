#!/usr/bin/env bash
# tests/net/test_failover.sh — a spliced (cookie) connection survives the death of its
# router: conntrackd (deploy/fleet/conntrackd-{a,b}.conf) replicates router A's conntrack
# entries, with syngate's sequence adjustment, to router B, which takes over
# (deploy/fleet/takeover.sh primary) when A dies in the middle of a transfer.
# One function per case (tests/net/README.md: `test_failover.sh --list`, `... CASE...`):
#   failover   a BYTES (default 64 MiB) transfer each way, through A as a cookie connection
#              (A's counters: cookies_valid, proxied); A dies mid-transfer (daemons
#              SIGKILLed, every packet to it dropped, sync link down); B commits
#              conntrackd's cache, the client's and the server's routes move to B; B's
#              entry holds A's sequence adjustment, synproxy extension and mark
#              (tests/net/ct_show.py on both) and is liberal; the transfer completes
#              through B, sha256 equal both ways; B created no connection of its own and,
#              after the commit, neither its rules nor its XDP program looked at the
#              connection's packets
#   failover_v6  the same over IPv6
#   failover_down  the same with A's client and server links set down instead (on veth
#              it can be slower: segments queued toward the downed peer stay referenced
#              until its qdisc is reset, and TCP does not retransmit a segment still in a
#              host queue, TcpExtTCPSpuriousRtxHostQueues, so its RTO backs off)
#   failover_ts  the same with `--timestamps yes` on both routers: the synproxy extension
#              (isn, its, tsoff) is set on A and travels to B
#   failover_direct  conntrackd with `DisableExternalCache On`: B's kernel has the entry,
#              offset included, while A is alive; the takeover is the route change alone
#   late_commit  the routes move first, B commits once it dropped the client's
#              retransmitted segments (failed cookies), creates no entry of its own, and the
#              transfer still completes after the commit
#   no_sync    the same failover with no conntrackd: the transfer stalls (what the first
#              case checks is the replication, not luck)
#   no_seqadj  the same failover where B gets the entry by hand (`conntrack -I`: same
#              tuple, state, mark, liberal window tracking) but without the sequence
#              adjustment: the transfer stalls (what conntrackd must carry is the offset)
#
# Topology (documentation ranges; client and server each have one address of their own,
# reached over either router; routing is static and moved by hand, as an upstream router
# and the servers would be told to):
#
#                  cli0 198.51.100.1/30 [A] srv0 203.0.113.1/30
#   client ns  toa0 198.51.100.2/30       |sync0 192.0.2.1/30       toa0 203.0.113.2/30  server ns
#   198.51.100.100/32 (lo)                |  (conntrackd, UDP 3780)                       203.0.113.10/32 (lo)
#              tob0 198.51.100.6/30       |sync0 192.0.2.2/30       tob0 203.0.113.6/30
#                  cli0 198.51.100.5/30 [B] srv0 203.0.113.5/30
#
# and IPv6 beside it: client 2001:db8:1::100/128, server 2001:db8:2::10/128, the links
# 2001:db8:1:a::/64 (client-A), 2001:db8:1:b::/64 (client-B), 2001:db8:2:a::/64 (A-server),
# 2001:db8:2:b::/64 (B-server), each router ::1 on its links.
#
# Both routers run syngate with its default options and the same --ports (XDP on cli0, the
# interface of their default route). The client's and server's egress is shaped to RATE
# (tbf) so that the transfer lasts long enough to be cut in the middle.
# Needs root, ip, tc, iptables, conntrack, conntrackd, python3, ss, timeout.
# Env: SYNGATE (the binary), SG_FAILOVER_BYTES (67108864), SG_FAILOVER_RATE (100mbit),
# SG_FAILOVER_PCT (A dies once it has received this share of the client's bytes, 40).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$HERE/lib.sh"
FLEET=$SG_ROOT_DIR/deploy/fleet
BYTES=${SG_FAILOVER_BYTES:-67108864}
RATE=${SG_FAILOVER_RATE:-100mbit}
FAIL_PCT=${SG_FAILOVER_PCT:-40}
PORT=8080
CLI4=198.51.100.100 SRV4=203.0.113.10 CLI6=2001:db8:1::100 SRV6=2001:db8:2::10
CLI=$CLI4 SRV=$SRV4 # the family a case uses (failover_v6: the IPv6 pair)
SG_CASES=(failover failover_v6 failover_down failover_ts failover_direct late_commit no_sync no_seqadj)
SYNGATE_FLAGS=()

NS_A='' NS_B='' FLEET_N=0 CTD_PID_A=''
CTL_A='' CTL_B='' PID_A=''

# ------------------------------------------------------------------ topology
# link NS_X IF_X NS_Y IF_Y ADDR_X ADDR_Y [ADDR6_X ADDR6_Y] : a veth pair, the addresses
# (with their prefix) at each end
link() {
    ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
    ip -n "$1" addr add "$5" dev "$2"
    ip -n "$3" addr add "$6" dev "$4"
    if [ $# -gt 6 ]; then
        ip -n "$1" addr add "$7" dev "$2" nodad
        ip -n "$3" addr add "$8" dev "$4" nodad
    fi
    ip -n "$1" link set "$2" up
    ip -n "$3" link set "$4" up
}

# fleet_up : the four namespaces, their links, addresses and routes (traffic through A)
fleet_up() {
    local ns
    sg_tmpdir
    FLEET_N=$((FLEET_N + 1))
    SG_NS_C=${SG_PREFIX}foc$$ SG_NS_S=${SG_PREFIX}fos$$
    NS_A=${SG_PREFIX}foa$$ NS_B=${SG_PREFIX}fob$$ SG_NS_R=$NS_A
    export SG_NS_C SG_NS_S SG_NS_R
    for ns in "$SG_NS_C" "$NS_A" "$NS_B" "$SG_NS_S"; do
        [ -e "/run/netns/$ns" ] && sg_die "netns $ns already exists"
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        _sg_sysctl "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
            net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
            net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
    done
    _sg_sysctl "$NS_A" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    _sg_sysctl "$NS_B" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    link "$SG_NS_C" toa0 "$NS_A" cli0 198.51.100.2/30 198.51.100.1/30 2001:db8:1:a::2/64 2001:db8:1:a::1/64
    link "$SG_NS_C" tob0 "$NS_B" cli0 198.51.100.6/30 198.51.100.5/30 2001:db8:1:b::2/64 2001:db8:1:b::1/64
    link "$SG_NS_S" toa0 "$NS_A" srv0 203.0.113.2/30 203.0.113.1/30 2001:db8:2:a::2/64 2001:db8:2:a::1/64
    link "$SG_NS_S" tob0 "$NS_B" srv0 203.0.113.6/30 203.0.113.5/30 2001:db8:2:b::2/64 2001:db8:2:b::1/64
    link "$NS_A" sync0 "$NS_B" sync0 192.0.2.1/30 192.0.2.2/30
    ip -n "$SG_NS_C" addr add "$CLI4/32" dev lo
    ip -n "$SG_NS_C" addr add "$CLI6/128" dev lo nodad
    ip -n "$SG_NS_S" addr add "$SRV4/32" dev lo
    ip -n "$SG_NS_S" addr add "$SRV6/128" dev lo nodad
    # the routers: the server's address over srv0, everything else toward the client
    ip -n "$NS_A" route add "$SRV4/32" via 203.0.113.2 dev srv0
    ip -n "$NS_A" route add default via 198.51.100.2 dev cli0
    ip -n "$NS_A" route add "$SRV6/128" via 2001:db8:2:a::2 dev srv0
    ip -n "$NS_A" route add default via 2001:db8:1:a::2 dev cli0
    ip -n "$NS_B" route add "$SRV4/32" via 203.0.113.6 dev srv0
    ip -n "$NS_B" route add default via 198.51.100.6 dev cli0
    ip -n "$NS_B" route add "$SRV6/128" via 2001:db8:2:b::2 dev srv0
    ip -n "$NS_B" route add default via 2001:db8:1:b::2 dev cli0
    # client and server: through A
    ip -n "$SG_NS_C" route add "$SRV4/32" via 198.51.100.1 dev toa0 src "$CLI4"
    ip -n "$SG_NS_C" route add "$SRV6/128" via 2001:db8:1:a::1 dev toa0 src "$CLI6"
    ip -n "$SG_NS_S" route add default via 203.0.113.1 dev toa0 src "$SRV4"
    ip -n "$SG_NS_S" route add default via 2001:db8:2:a::1 dev toa0 src "$SRV6"
    for ns in "$SG_NS_C" "$SG_NS_S"; do
        sg_in "$ns" tc qdisc add dev toa0 root tbf rate "$RATE" burst 256kb latency 100ms
        sg_in "$ns" tc qdisc add dev tob0 root tbf rate "$RATE" burst 256kb latency 100ms
    done
    sg_on_exit fleet_down
    sg_log "fleet up: $SG_NS_C <-> $NS_A | $NS_B <-> $SG_NS_S (logs: $SG_TMP)"
}

# fleet_down : kill what runs in the namespaces (all ours) and delete them. Idempotent.
fleet_down() {
    local ns
    for ns in "$SG_NS_C" "$NS_A" "$NS_B" "$SG_NS_S"; do
        if [ -z "$ns" ] || [ ! -e "/run/netns/$ns" ]; then continue; fi
        _sg_kill_ns "$ns"
        ip netns del "$ns" 2>/dev/null || sg_log "could not delete netns $ns"
    done
    sg_topo_down
    SG_NS_C='' SG_NS_S='' SG_NS_R='' NS_A='' NS_B='' PID_A='' CTD_PID_A=''
}

# ------------------------------------------------------------------ daemons
# syngate_up NAME NS : syngate with its default options (and SYNGATE_FLAGS) and --ports
# PORT in NS; sets CTL_<NAME> and PID_<NAME>
syngate_up() {
    local name=$1 ns=$2 ctl=$SG_TMP/syngate.$1.$FLEET_N.sock log=$SG_TMP/syngate.$1.$FLEET_N.log
    : >"$log"
    SG_NS_R=$ns CTL=$ctl sg_syngate_start "$log" --ports "$PORT" --control "$ctl" \
        "${SYNGATE_FLAGS[@]+"${SYNGATE_FLAGS[@]}"}"
    printf -v "CTL_$name" '%s' "$ctl"
    printf -v "PID_$name" '%s' "$SGD_PID"
    SGD_PID=''
}

# conntrackd_up NAME NS : conntrackd in NS with deploy/fleet/conntrackd-<name>.conf, its
# paths (log, lock, control socket) moved into the test's directory, and with
# `DisableExternalCache On` when CTD_DIRECT is 1; waits until it answers
conntrackd_up() {
    local name=$1 ns=$2 p=$SG_TMP/conntrackd.$1.$FLEET_N i cache=Off
    [ "${CTD_DIRECT:-0}" = 1 ] && cache=On
    sed -e "s|/var/log/conntrackd.log|$p.log|" -e "s|/var/lock/conntrackd.lock|$p.lock|" \
        -e "s|/var/run/conntrackd.ctl|$p.ctl|" -e "s|DisableExternalCache Off|DisableExternalCache $cache|" \
        "$FLEET/conntrackd-$name.conf" >"$p.conf"
    sg_bg "$ns" "$p.out" conntrackd -C "$p.conf"
    [ "$name" = a ] && CTD_PID_A=$SG_BG_PID
    for ((i = 0; i < 100; i++)); do
        sg_in "$ns" conntrackd -C "$p.conf" -s >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    cat "$p.out" "$p.log" >&2 || true
    sg_die "conntrackd $name did not start"
}

# snap ROUTER NAME : sg_snap NAME (syngate's stats and rule counters) on ROUTER (A or B)
snap() {
    local ns=$NS_B ctl=$CTL_B
    if [ "$1" = A ]; then ns=$NS_A ctl=$CTL_A; fi
    SG_NS_R=$ns CTL=$ctl sg_snap "$2"
}
# rx_bytes NS IF : bytes IF has received
rx_bytes() { sg_in "$1" cat "/sys/class/net/$2/statistics/rx_bytes"; }

# ct_show NS ENTRY : tests/net/ct_show.py on the original tuple of ENTRY (a conntrack -L
# line) in NS: state, mark, sequence adjustment, synproxy extension
ct_show() {
    local sport
    sport=$(grep -o 'sport=[0-9]*' <<<"$2" | head -1 | cut -d= -f2)
    sg_in "$1" "$SG_PYTHON" "$HERE/ct_show.py" "$CLI" "${sport:-0}" "$SRV" "$PORT" || true
}
# delta0 A B KEY : sg_delta, 0 when the snapshots lack KEY (xdp_* without XDP)
delta0() {
    if [ -z "$(sg_stat "$2" "$3")" ]; then echo 0; else sg_delta "$1" "$2" "$3"; fi
}
# liberal ORIG,REPLY : both conntrack TCP flag bytes have IP_CT_TCP_FLAG_BE_LIBERAL (0x08)
liberal() { [ $((${1%,*} & 8)) = 8 ] && [ $((${1#*,} & 8)) = 8 ]; }
# kv LINE KEY : the value of KEY=value in LINE
kv() { _sg_kv "$1" "$2"; }

# entry NS : the conntrack entry of the bulk connection in NS (conntrack -L line), if any
entry() {
    local fam=ipv4
    [[ $SRV == *:* ]] && fam=ipv6
    sg_in "$1" conntrack -L -f "$fam" -p tcp --orig-dst "$SRV" --dport "$PORT" 2>/dev/null | grep ESTABLISHED || true
}

# ------------------------------------------------------------------ the scenario
# start_fleet SYNC : both routers' syngate, conntrackd on both when SYNC is 1; a warm-up
# connection (syngate passes the first SYN to a backend it does not know, to learn its
# options), so that the bulk connection is a cookie connection
start_fleet() {
    fleet_up
    syngate_up A "$NS_A"
    syngate_up B "$NS_B"
    if [ "$1" = 1 ]; then
        conntrackd_up a "$NS_A"
        conntrackd_up b "$NS_B"
    fi
    sg_bulk_check "$SRV" "$PORT" 4096 >/dev/null 2>&1 || true
}

# start_bulk : start the BYTES transfer through A in the background; sets BULK_PID,
# BULK_OUT, BULK_T0
start_bulk() {
    snap A a0
    sg_bulk_server "$PORT" "$BYTES"
    BULK_OUT=$SG_TMP/bulk.result
    BULK_T0=$(sg_now)
    (sg_bulk_client "$SRV" "$PORT" "$BYTES" >"$BULK_OUT" 2>&1; echo "rc=$?" >>"$BULK_OUT") &
    BULK_PID=$!
    SG_PIDS+=("$BULK_PID")
}

# kill_a [down] : router A dies: its daemons SIGKILLed, its sync link down, and every packet
# that reaches it dropped (first rule of raw PREROUTING; this kernel has no tc matchall or
# gact), as a router that lost power would.  With "down" its client and server links go
# down instead.
kill_a() {
    local p
    for p in $(ip netns pids "$NS_A"); do kill -KILL "$p" 2>/dev/null || true; done
    for p in "$PID_A" "$CTD_PID_A"; do [ -n "$p" ] && { wait "$p" 2>/dev/null || true; }; done
    ip -n "$NS_A" link set sync0 down
    if [ "${1:-}" = down ]; then
        ip -n "$NS_A" link set cli0 down
        ip -n "$NS_A" link set srv0 down
    else
        sg_in "$NS_A" iptables -w -t raw -I PREROUTING 1 -j DROP
        sg_in "$NS_A" ip6tables -w -t raw -I PREROUTING 1 -j DROP
    fi
}

# midway : wait (at most 60 s) until A's client link has received FAIL_PCT % of BYTES: the
# moment A dies, whatever the speed of the machine
midway() {
    local want=$((BYTES * FAIL_PCT / 100)) i
    for ((i = 0; i < 1200; i++)); do
        [ "$(rx_bytes "$NS_A" cli0)" -ge "$want" ] && return 0
        sleep 0.05
    done
    sg_log "A's client link received less than $want bytes in 60 s"
}

# resumed T0 : wait (at most 10 s) until data flows through B both ways (B's client and
# server links each received 64 KiB more); logs the time since T0
resumed() {
    local c0 s0 i
    c0=$(rx_bytes "$NS_B" cli0) s0=$(rx_bytes "$NS_B" srv0)
    for ((i = 0; i < 200; i++)); do
        if [ $(($(rx_bytes "$NS_B" cli0) - c0)) -gt 65536 ] &&
            [ $(($(rx_bytes "$NS_B" srv0) - s0)) -gt 65536 ]; then
            sg_log "data flows through B both ways $(sg_elapsed "$1")s after A died"
            return 0
        fi
        sleep 0.05
    done
    sg_log "no data through B both ways 10 s after A died"
}

# takeover_b TAG : B becomes primary (deploy/fleet/takeover.sh primary: conntrackd commits
# its external cache into the kernel)
takeover_b() {
    local t
    t=$(sg_now)
    sg_assert "$1: B commits conntrackd's external cache (takeover.sh primary)" \
        sg_in "$NS_B" sh "$FLEET/takeover.sh" primary "$SG_TMP/conntrackd.b.$FLEET_N.conf"
    sg_log "B's entry after the commit ($(sg_elapsed "$t")s): $(entry "$NS_B")"
}

# move_routes : the client's routes to the server and the server's default routes, via B
move_routes() {
    ip -n "$SG_NS_C" route replace "$SRV4/32" via 198.51.100.5 dev tob0 src "$CLI4"
    ip -n "$SG_NS_C" route replace "$SRV6/128" via 2001:db8:1:b::1 dev tob0 src "$CLI6"
    ip -n "$SG_NS_S" route replace default via 203.0.113.5 dev tob0 src "$SRV4"
    ip -n "$SG_NS_S" route replace default via 2001:db8:2:b::1 dev tob0 src "$SRV6"
}

# bulk_wait TIMEOUT : wait for the transfer; true when it completed with sha256 equal
bulk_wait() {
    sg_wait_pid "$BULK_PID" "$1" || true
    BULK_SECS=$(sg_elapsed "$BULK_T0")
    cat "$BULK_OUT" >&2
    grep -q '^rc=0$' "$BULK_OUT"
}

# cookie_through_a : the bulk connection was a cookie connection spliced by A (waits up to
# 10 s for A to count it: the machine is shared, the client may be slow to start)
cookie_through_a() {
    local i
    for ((i = 0; i < 100; i++)); do
        snap A a1
        [ "$(sg_delta a0 a1 proxied)" -ge 1 ] && break
        sleep 0.1
    done
    sg_log "A: xdp_answered +$(delta0 a0 a1 xdp_answered), cookies_sent +$(sg_delta a0 a1 cookies_sent), cookies_valid +$(sg_delta a0 a1 cookies_valid)," \
        "proxied +$(sg_delta a0 a1 proxied), syn_passed +$(sg_delta a0 a1 syn_passed)"
    sg_assert_eq "A answered the bulk connection's SYN with a cookie and verified its ACK" \
        "$(sg_delta a0 a1 cookies_valid)" 1
    sg_assert_eq "A spliced it to the server (proxied)" "$(sg_delta a0 a1 proxied)" 1
    sg_assert_eq "A passed no SYN through" "$(sg_delta a0 a1 syn_passed)" 0
}

# ------------------------------------------------------------------ cases
# failover_run TAG [down] : the failover case with SYNGATE_FLAGS on both routers (kill_a
# with "down": A's links go down)
failover_run() {
    local tag=$1 rx_a rx_b e sp_a sp_b t0
    start_fleet 1
    SG_BULK_TIMEOUT=120 start_bulk
    cookie_through_a
    midway
    sg_assert "$tag: the transfer is still running when A dies" kill -0 "$BULK_PID"
    e=$(entry "$NS_A")
    sg_log "A's entry: $e"
    sp_a=$(ct_show "$NS_A" "$e")
    sg_log "A's entry as the kernel holds it: $sp_a"
    rx_a=$(rx_bytes "$NS_A" cli0)
    kill_a "${2:-}"
    t0=$(sg_now)
    takeover_b "$tag"
    e=$(entry "$NS_B")
    sg_assert "$tag: B's conntrack has the connection, ESTABLISHED" test -n "$e"
    sp_b=$(ct_show "$NS_B" "$e")
    sg_log "B's entry as the kernel holds it: $sp_b"
    sg_assert "$tag: A's sequence adjustment is not zero (cookie ISN != server ISN)" \
        test -n "$(kv "$sp_a" seqadj_reply)" -a "$(kv "$sp_a" seqadj_reply)" != 0,0,0
    if [ "${WANT_SYNPROXY:-0}" = 1 ]; then
        sg_assert "$tag: A's synproxy extension is set (timestamps)" \
            test -n "$(kv "$sp_a" synproxy)" -a "$(kv "$sp_a" synproxy)" != 0,0,0
    fi
    for k in seqadj_orig seqadj_reply synproxy mark; do
        sg_assert_eq "$tag: B's $k is A's" "$(kv "$sp_b" "$k")" "$(kv "$sp_a" "$k")"
    done
    sg_assert "$tag: B's entry tracks windows liberally both ways (conntrackd's commit)" \
        liberal "$(kv "$sp_b" tcp_flags)"
    snap B b0
    move_routes
    resumed "$t0"
    sg_assert "$tag: the transfer completes through B, $BYTES bytes each way, sha256 equal" bulk_wait 120
    rx_b=$(rx_bytes "$NS_B" cli0)
    sg_log "$tag: ${BULK_SECS}s; A's client link received $rx_a bytes before A died, B's $rx_b" \
        "(the client sent $(sg_in "$SG_NS_C" cat /sys/class/net/toa0/statistics/tx_bytes) toward A in all)"
    sg_assert_ge "$tag: A carried part of the transfer (client bytes at A)" "$rx_a" $((BYTES / 16))
    sg_assert_ge "$tag: B carried part of the transfer (client bytes at B)" "$rx_b" $((BYTES / 16))
    SG_SNAP_WAIT=0.3 snap B b1
    sg_assert_eq "$tag: B spliced no connection itself (the entry came from A)" "$(sg_stat b1 proxied)" 0
    sg_assert_eq "$tag: after the commit, B's rules queued none of the connection's packets" \
        "$(delta0 b0 b1 packets)" 0
    sg_assert_eq "$tag: after the commit, B's XDP program judged none of its ACKs (conntrack knew them)" \
        "$(delta0 b0 b1 xdp_ack)" 0
    fleet_down
}

failover() {
    sg_need tc conntrack conntrackd || return
    failover_run failover
}

# the same over IPv6
failover_v6() {
    sg_need tc conntrack conntrackd || return
    local CLI=$CLI6 SRV=$SRV6
    failover_run failover_v6
}

# the same with A's links down
failover_down() {
    sg_need tc conntrack conntrackd || return
    failover_run failover_down down
}

# conntrackd with `DisableExternalCache On`: each entry goes into the peer's kernel table as
# it is replicated, so B holds the connection, offset included, before A dies, and the
# takeover is the route change alone (no commit, nothing dropped meanwhile)
failover_direct() {
    sg_need tc conntrack conntrackd || return
    local CTD_DIRECT=1 e sp_a sp_b t0
    start_fleet 1
    SG_BULK_TIMEOUT=120 start_bulk
    cookie_through_a
    midway
    e=$(entry "$NS_A")
    sp_a=$(ct_show "$NS_A" "$e") sp_b=$(ct_show "$NS_B" "$e")
    sg_log "A's entry: $sp_a"
    sg_log "B's entry, A alive: $sp_b"
    sg_assert "failover_direct: B's kernel holds the connection while A carries it" test -n "$(entry "$NS_B")"
    sg_assert_eq "failover_direct: with A's offset" "$(kv "$sp_b" seqadj_reply)" "$(kv "$sp_a" seqadj_reply)"
    sg_assert_eq "failover_direct: and A's mark" "$(kv "$sp_b" mark)" "$(kv "$sp_a" mark)"
    kill_a
    t0=$(sg_now)
    move_routes
    resumed "$t0"
    sg_assert "failover_direct: the transfer completes through B, sha256 equal" bulk_wait 120
    sg_log "failover_direct: ${BULK_SECS}s"
    fleet_down
}

# the same with TCP timestamps: the synproxy extension (its, tsoff) must travel too
failover_ts() {
    sg_need tc conntrack conntrackd || return
    local SYNGATE_FLAGS=(--timestamps yes) WANT_SYNPROXY=1
    failover_run failover_ts
}

# the routes move first and B commits a second later, as when the routing (VRRP, a
# dynamic protocol) is faster than the takeover script: until the commit, B's XDP program
# (or its queue path) drops the client's segments as failed cookie ACKs, and B's conntrack
# creates no entry of its own for them (nf_conntrack_tcp_loose=0) that would keep the
# commit from adding the offset; TCP retransmits, and the transfer completes
late_commit() {
    sg_need tc conntrack conntrackd || return
    local drops i
    start_fleet 1
    SG_BULK_TIMEOUT=120 start_bulk
    cookie_through_a
    midway
    kill_a
    snap B b0
    move_routes
    # the client's next retransmission comes on its backoff from A's death (0.2, 0.6, 1.4,
    # 3.0 s ...): polled for up to 10 s (B keeps dropping until takeover_b commits)
    for ((i = 0; i < 100; i++)); do
        sleep 0.1
        snap B b1
        drops=$(($(sg_delta b0 b1 xdp_drop_cookie_mac) + $(sg_delta b0 b1 xdp_drop_cookie_stale) +
            $(sg_delta b0 b1 cookies_invalid)))
        [ "$drops" -ge 1 ] && break
    done
    sg_log "late_commit: B dropped $drops client segments before the commit" \
        "(xdp_interfaces $(sg_stat b1 xdp_interfaces))"
    sg_assert_ge "late_commit: B dropped the client's segments as failed cookies before the commit" "$drops" 1
    sg_assert_eq "late_commit: B's conntrack has no entry of its own for them" "$(entry "$NS_B")" ""
    takeover_b late_commit
    sg_assert "late_commit: B's entry carries A's offset" test -n "$(kv "$(ct_show "$NS_B" "$(entry "$NS_B")")" seqadj_reply)"
    sg_assert "late_commit: the transfer completes through B, sha256 equal" bulk_wait 120
    sg_log "late_commit: ${BULK_SECS}s"
    fleet_down
}

no_sync() {
    sg_need tc || return
    start_fleet 0
    SG_BULK_TIMEOUT=20 start_bulk
    cookie_through_a
    midway
    kill_a
    move_routes
    if bulk_wait 40; then
        sg_fail "no_sync: the transfer completed without replication"
    else
        sg_pass "no_sync: without conntrackd the transfer stalls and fails (${BULK_SECS}s)"
    fi
    fleet_down
}

no_seqadj() {
    sg_need tc conntrack || return
    local e sport mark
    start_fleet 0
    SG_BULK_TIMEOUT=20 start_bulk
    cookie_through_a
    midway
    e=$(entry "$NS_A")
    sg_log "A's entry: $e"
    sport=$(grep -o 'sport=[0-9]*' <<<"$e" | head -1 | cut -d= -f2)
    mark=$(grep -o 'mark=[0-9]*' <<<"$e" | head -1 | cut -d= -f2)
    kill_a
    # everything the entry has but the offset; liberal window tracking like conntrackd's
    _sg_sysctl "$NS_B" net.netfilter.nf_conntrack_tcp_be_liberal=1
    sg_assert "no_seqadj: B gets the entry by hand (conntrack -I)" sg_in "$NS_B" conntrack -I -p tcp \
        -s "$CLI" -d "$SRV" --sport "$sport" --dport "$PORT" --state ESTABLISHED \
        -u SEEN_REPLY,ASSURED -m "${mark:-0}" -t 300
    sg_log "B's entry: $(entry "$NS_B")"
    move_routes
    if bulk_wait 40; then
        sg_fail "no_seqadj: the transfer completed without the sequence adjustment"
    else
        sg_pass "no_seqadj: without the offset the transfer stalls and fails (${BULK_SECS}s)"
    fi
    fleet_down
}

sg_setup() {
    sg_need ip tc iptables "$SG_PYTHON" ss timeout awk || exit
    [ -x "$SYNGATE" ] || sg_die "syngate binary not found: $SYNGATE (build it, or set SYNGATE)"
}

sg_run_cases "$@"
