#!/usr/bin/env bash
# tests/net/test_fleet.sh — two syngate routers that share one key file, behind an ECMP
# route, in front of one server.  One function per case (tests/net/README.md:
# `test_fleet.sh --list`, `test_fleet.sh CASE...`):
#   cross_router    (1) a SYN answered by router A whose ACK is steered to router B
#                   completes: the client's non-SYN packets are held (nft) until the
#                   client has A's cookie SYN-ACK, then the route is switched to B alone
#                   and the held request, retransmitted, reaches B, which checks A's
#                   cookie with the same derived secret and proxies the connection
#   ecmp_moved      (2) CONNS (1000) real connections over the ECMP route (L4 hash), 50 at a
#                   time from distinct source ports (no port reuse: a reused port's SYN
#                   passes through conntrack, and such a flow, moved, is the case below),
#                   while the route is replaced every 0.5 s (weights 1:1, 1:3, 3:1, and the
#                   nexthops' order swapped, which moves nearly every flow), half of the
#                   changes with the clients' non-SYN packets held 0.2 s around them: every
#                   one completes, both routers proxied some, and some handshakes took
#                   their SYN-ACK from one router and were proxied by the other.
#                   Not covered, and not fixable by shared keys: a flow that moves after it
#                   was spliced (its conntrack entry is on the first router only; see
#                   docs/fleet.md, conntrackd)
#
# Topology (documentation ranges; a namespace each; the host is never touched):
#
#                 .1 fac ---- router A ---- fas .1
#   client  fca .2 /28         (syngate)         /28 .2 fsa   server
#   198.51.100.100/32 (lo)                                    203.0.113.100/32 (lo)
#           fcb .18            router B              .18 fsb
#                 .17 fbc ---- (syngate) ---- fbs .17
#
#   client: 203.0.113.0/24 src 198.51.100.100, nexthop via A, nexthop via B;
#           fib_multipath_hash_policy=1 (L4: addresses, ports, protocol)
#   routers: forwarding, rp_filter 0; syngate on the client-facing interface, one key file
#   server: replies must leave through the router that holds the connection's conntrack
#           entry (the one that sent the backend SYN).  The server marks each packet with
#           the interface it came in on (mangle PREROUTING: fsa -> 1, fsb -> 2), a TCP
#           socket keeps the mark of the SYN that opened it (net.ipv4.tcp_fwmark_accept=1:
#           request socket and accepted socket alike), and policy routing sends mark 1 via
#           A and mark 2 via B.  So the return path follows the connection, not a hash:
#           it stays right however the client's ECMP group changes.
#
# Needs root, ip, iptables, nft, curl, python3, ss, timeout.
# Env: SYNGATE (binary; default build/syngate in the repo), SG_CONNS (1000),
#      SG_FLEET_SPLIT_KEYS=1 (negative control: B gets a key file of its own; then the
#      crossing handshakes hang and both cases fail).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$HERE/lib.sh"

TOOL=$HERE/proxy_tool.py
CONNS=${SG_CONNS:-1000}
PORT=80
CLI=198.51.100.100 SRV=203.0.113.100
A_C=198.51.100.1 C_A=198.51.100.2 B_C=198.51.100.17 C_B=198.51.100.18
A_S=203.0.113.1 S_A=203.0.113.2 B_S=203.0.113.17 S_B=203.0.113.18
SG_CASES=(cross_router ecmp_moved)
NS_B='' KEY='' PID_A='' PID_B=''
declare -A LOG_OF

# ------------------------------------------------------------------ topology
fleet_down_b() {
    [ -n "$NS_B" ] && [ -e "/run/netns/$NS_B" ] || return 0
    _sg_kill_ns "$NS_B"
    ip netns del "$NS_B" 2>/dev/null || sg_log "could not delete netns $NS_B"
}

# veth NS1 IF1 ADDR1 NS2 IF2 ADDR2 : a /28 link between two namespaces
veth() {
    ip -n "$1" link add "$2" type veth peer name "$5" netns "$4"
    ip -n "$1" addr add "$3/28" dev "$2"
    ip -n "$4" addr add "$6/28" dev "$5"
    ip -n "$1" link set "$2" up
    ip -n "$4" link set "$5" up
}

fleet_up() {
    sg_tmpdir
    SG_NS_C=${SG_PREFIX}fc$$ SG_NS_R=${SG_PREFIX}fa$$ SG_NS_S=${SG_PREFIX}fs$$ NS_B=${SG_PREFIX}fb$$
    export SG_NS_C SG_NS_R SG_NS_S
    sg_on_exit fleet_down_b
    local ns
    for ns in "$SG_NS_C" "$SG_NS_R" "$NS_B" "$SG_NS_S"; do
        [ -e "/run/netns/$ns" ] && sg_die "netns $ns already exists"
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        _sg_sysctl "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    done
    veth "$SG_NS_C" fca "$C_A" "$SG_NS_R" fac "$A_C"
    veth "$SG_NS_C" fcb "$C_B" "$NS_B" fbc "$B_C"
    veth "$SG_NS_R" fas "$A_S" "$SG_NS_S" fsa "$S_A"
    veth "$NS_B" fbs "$B_S" "$SG_NS_S" fsb "$S_B"

    ip -n "$SG_NS_C" addr add "$CLI/32" dev lo
    _sg_sysctl "$SG_NS_C" net.ipv4.ip_forward=0 net.ipv4.fib_multipath_hash_policy=1
    route_both 1 1
    for ns in "$SG_NS_R" "$NS_B"; do
        _sg_sysctl "$ns" net.ipv4.ip_forward=1
    done
    ip -n "$SG_NS_R" route add "$CLI/32" via "$C_A"
    ip -n "$SG_NS_R" route add "$SRV/32" via "$S_A"
    ip -n "$SG_NS_R" route add default via "$C_A"
    ip -n "$NS_B" route add "$CLI/32" via "$C_B"
    ip -n "$NS_B" route add "$SRV/32" via "$S_B"
    ip -n "$NS_B" route add default via "$C_B"

    ip -n "$SG_NS_S" addr add "$SRV/32" dev lo
    _sg_sysctl "$SG_NS_S" net.ipv4.ip_forward=0 net.ipv4.tcp_fwmark_accept=1
    sg_in "$SG_NS_S" iptables -w -t mangle -A PREROUTING -i fsa -j MARK --set-mark 1
    sg_in "$SG_NS_S" iptables -w -t mangle -A PREROUTING -i fsb -j MARK --set-mark 2
    ip -n "$SG_NS_S" rule add fwmark 1 table 101
    ip -n "$SG_NS_S" rule add fwmark 2 table 102
    ip -n "$SG_NS_S" route add default via "$A_S" table 101
    ip -n "$SG_NS_S" route add default via "$B_S" table 102
    ip -n "$SG_NS_S" route add default via "$A_S"
    sg_log "fleet up: $SG_NS_C -> {$SG_NS_R, $NS_B} -> $SG_NS_S (logs: $SG_TMP)"
}

# route_both WA WB [swap] : the client's ECMP route, weights WA (via A) and WB (via B);
# "swap" lists B first (the hash ranges change hands: nearly every flow moves)
route_both() {
    local a=(nexthop via "$A_C" dev fca weight "$1") b=(nexthop via "$B_C" dev fcb weight "$2")
    if [ "${3:-}" = swap ]; then
        ip -n "$SG_NS_C" route replace 203.0.113.0/24 src "$CLI" "${b[@]}" "${a[@]}"
    else
        ip -n "$SG_NS_C" route replace 203.0.113.0/24 src "$CLI" "${a[@]}" "${b[@]}"
    fi
}
# route_one A|B : the client's route through one router only
route_one() {
    if [ "$1" = A ]; then
        ip -n "$SG_NS_C" route replace 203.0.113.0/24 src "$CLI" via "$A_C" dev fca
    else
        ip -n "$SG_NS_C" route replace 203.0.113.0/24 src "$CLI" via "$B_C" dev fcb
    fi
}

# ------------------------------------------------------------------ the daemons
# fleet_start A|B : syngate on router A or B, key file KEY, learning off (every SYN gets a
# cookie), until it answers on its control socket
fleet_start() {
    local name=$1 ns=$SG_NS_R ifc=fac i log
    [ "$name" = B ] && ns=$NS_B ifc=fbc
    log=$SG_TMP/syngate.$name.$(date +%s%N).log
    sg_bg "$ns" "$log" "$SYNGATE" run --ports "$PORT" --interfaces "$ifc" --learn no \
        --control "$SG_TMP/ctl.$name" --metrics-port 0 --key-file "$KEY" --install-rules \
        --backends-file "$SG_TMP/backends.$name"
    [ "$name" = A ] && PID_A=$SG_BG_PID || PID_B=$SG_BG_PID
    LOG_OF[$name]=$log
    for ((i = 0; i < 200; i++)); do
        if grep -q 'event=started' "$log" 2>/dev/null && stats "$name" >/dev/null 2>&1; then
            sg_log "syngate $name up (pid $SG_BG_PID; $(grep -o 'event=xdp_[a-z]* [a-z]*=[a-z:]*' "$log" | head -1))"
            return 0
        fi
        sleep 0.05
    done
    cat "$log" >&2
    sg_die "syngate $name did not start"
}
stats() {
    local ns=$SG_NS_R
    [ "$1" = B ] && ns=$NS_B
    sg_in "$ns" "$SYNGATE" stats --control "$SG_TMP/ctl.$1" --json
}
# snap NAME : both routers' counters, as NAME.A and NAME.B (read with sg_stat / sg_delta)
snap() {
    local r
    for r in A B; do
        stats "$r" >"$SG_TMP/stats.$1.$r.json"
        : >"$SG_TMP/rules.$1.$r.json"
    done
}
# answered D0 D1 R : cookie SYN-ACKs router R sent between the snaps (cookies_sent counts the
# XDP program's too: a stats request takes them in, no tick to wait for)
answered() { sg_delta "$1.$3" "$2.$3" cookies_sent; }

sg_setup() {
    sg_require_root
    sg_need ip iptables nft curl "$SG_PYTHON" ss timeout || exit
    [ -x "$SYNGATE" ] || sg_die "no syngate binary at $SYNGATE (build first)"
    sg_cleanup_on_exit
    fleet_up
    KEY=$SG_TMP/fleet.key
    "$SYNGATE" keys new "$KEY" >/dev/null
    sg_bg "$SG_NS_S" "$SG_TMP/http.log" "$SG_PYTHON" -u "$TOOL" http-serve --port "$PORT"
    sg_wait_port "$SG_NS_S" "$PORT" 10 || sg_die "no HTTP server"
    fleet_start A
    if [ "${SG_FLEET_SPLIT_KEYS:-0}" = 1 ]; then
        KEY=$SG_TMP/fleet.b.key
        "$SYNGATE" keys new "$KEY" >/dev/null
    fi
    fleet_start B
    # the key's fingerprint, as each daemon logged it
    local a b
    a=$(grep -o 'event=key_loaded .* id=[0-9a-f]*' "${LOG_OF[A]}" | grep -o 'id=[0-9a-f]*')
    b=$(grep -o 'event=key_loaded .* id=[0-9a-f]*' "${LOG_OF[B]}" | grep -o 'id=[0-9a-f]*')
    sg_log "key fingerprints: A $a, B $b"
    [ -n "$a" ] && [ "$a" = "$b" ] || sg_log "warning: the routers do not share a key"
}

# ------------------------------------------------------------------ cases
# hold on|off : hold (drop) every client packet that is not a SYN, so that handshakes wait
# between their cookie SYN-ACK and their ACK (the client retransmits its request later)
hold() {
    if [ "$1" = on ]; then
        printf '%s\n' "table ip fleet_hold {" "  chain out {" \
            "    type filter hook output priority 0; policy accept;" \
            "    tcp dport $PORT tcp flags & (syn | ack) == ack drop" "  }" "}" |
            sg_in "$SG_NS_C" nft -f -
    else
        sg_in "$SG_NS_C" nft delete table ip fleet_hold
    fi
}

cross_router() {
    route_one A
    hold on
    snap x0
    sg_in "$SG_NS_C" curl -sS -g --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 20 \
        "http://$SRV:$PORT/" >"$SG_TMP/cross.out" 2>"$SG_TMP/cross.err" &
    local curl_pid=$! i est=0
    for ((i = 0; i < 100; i++)); do
        if sg_in "$SG_NS_C" ss -Htn state established "dst $SRV" | grep -q .; then est=1; break; fi
        sleep 0.05
    done
    sg_assert_eq "cross_router: the client has A's cookie SYN-ACK (established)" "$est" 1
    snap x1
    route_one B
    hold off
    local rc=0
    wait "$curl_pid" || rc=$?
    snap x2
    sg_log "cross_router: curl rc $rc, status $(cat "$SG_TMP/cross.out"); A answered" \
        "$(answered x0 x1 A), B cookies_valid +$(sg_delta x1.B x2.B cookies_valid)," \
        "B xdp_ack_valid +$(sg_delta x1.B x2.B xdp_ack_valid)"
    sg_assert_eq "cross_router: curl got 200 through B" "$(cat "$SG_TMP/cross.out")" 200
    sg_assert_eq "cross_router: A answered the SYN with a cookie" "$(answered x0 x1 A)" 1
    sg_assert_eq "cross_router: B sent no SYN-ACK" "$(answered x0 x2 B)" 0
    sg_assert_eq "cross_router: B verified A's cookie" "$(sg_delta x1.B x2.B cookies_valid)" 1
    sg_assert_eq "cross_router: B proxied it" "$(sg_delta x1.B x2.B proxied)" 1
    sg_assert_eq "cross_router: A proxied nothing" "$(sg_delta x0.A x2.A proxied)" 0
    route_both 1 1
}

# crossings SYNACKS : connections whose cookie SYN-ACK came from one router (SYNACKS:
# tcpdump lines "IFACE In IP SRV.80 > CLI.PORT: Flags [S.]", the first per port) and whose
# conntrack entry (the router that verified the cookie and proxied) is on the other
crossings() {
    sg_in "$SG_NS_R" conntrack -L -p tcp -d "$SRV" 2>/dev/null | grep -o 'sport=[0-9]*' |
        awk 'NR % 2 == 1' | sed 's/^/A /' >"$SG_TMP/ct.txt"
    sg_in "$NS_B" conntrack -L -p tcp -d "$SRV" 2>/dev/null | grep -o 'sport=[0-9]*' |
        awk 'NR % 2 == 1' | sed 's/^/B /' >>"$SG_TMP/ct.txt"
    awk 'FNR == NR { sub("sport=", "", $2); ct[$2] = $1; next }
         $0 ~ /Flags \[S\.\]/ {
             for (i = 1; i < NF; i++) if ($i == ">") { split($(i + 1), a, "."); p = a[5] }
             sub(":", "", p)
             if (p in seen) next
             seen[p] = 1
             r = ($2 == "fca") ? "A" : "B"
             if ((p in ct) && ct[p] != r) n++
         }
         END { print n + 0 }' "$SG_TMP/ct.txt" "$1"
}

ecmp_moved() {
    sg_need conntrack tcpdump || return
    local out=$SG_TMP/ecmp.out rc=0 pid dump moves=0 w cross i
    route_both 1 1
    sg_bg "$SG_NS_C" "$SG_TMP/synack.txt" tcpdump -i any -nn -l \
        "tcp src port $PORT and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)"
    dump=$SG_BG_PID
    # capturing before the first connection (tcpdump says so on stderr, in the same file)
    for ((i = 0; i < 100; i++)); do grep -q 'listening on' "$SG_TMP/synack.txt" && break; sleep 0.1; done
    snap m0
    sg_in "$SG_NS_C" timeout -s INT 300 "$SG_PYTHON" -u "$TOOL" conns --host "$SRV" \
        --port "$PORT" --count "$CONNS" --concurrency 50 --rate 200 --timeout 20 \
        --sport-base 20000 >"$out" 2>&1 &
    pid=$!
    # move the hash while the connections run, every 0.5 s another group; half of the
    # moves catch the handshakes in flight (held 0.2 s between SYN-ACK and ACK)
    while kill -0 "$pid" 2>/dev/null; do
        [ $((moves % 2)) = 1 ] && hold on
        sleep 0.2
        case $((moves % 4)) in
            0) w=(1 3) ;; 1) w=(3 1 swap) ;; 2) w=(1 1 swap) ;; 3) w=(1 1) ;;
        esac
        route_both "${w[@]}"
        [ $((moves % 2)) = 1 ] && hold off
        moves=$((moves + 1))
        sleep 0.3
    done
    wait "$pid" || rc=$?
    snap m1
    sleep 0.5
    kill -INT "$dump" 2>/dev/null || true
    wait "$dump" 2>/dev/null || true
    route_both 1 1
    cross=$(crossings "$SG_TMP/synack.txt")
    local ok failed
    ok=$(grep -o 'ok=[0-9]*' "$out" | cut -d= -f2)
    failed=$(grep -o 'failed=[0-9]*' "$out" | cut -d= -f2)
    sg_log "ecmp_moved: $(head -1 "$out") after $moves route changes; $cross handshakes" \
        "crossed routers; A: answered $(answered m0 m1 A) verified" \
        "+$(sg_delta m0.A m1.A cookies_valid) proxied +$(sg_delta m0.A m1.A proxied); B: answered" \
        "$(answered m0 m1 B) verified +$(sg_delta m0.B m1.B cookies_valid) proxied" \
        "+$(sg_delta m0.B m1.B proxied)"
    grep '^error' "$out" >&2 || true
    sg_assert_ge "ecmp_moved: the route moved during the run" "$moves" 4
    sg_assert_eq "ecmp_moved: every connection completed" "${ok:-0}/${failed:-?}" "$CONNS/0"
    sg_assert_ge "ecmp_moved: A proxied some" "$(sg_delta m0.A m1.A proxied)" 1
    sg_assert_ge "ecmp_moved: B proxied some" "$(sg_delta m0.B m1.B proxied)" 1
    # each connection is proxied once, by the router its ACK reached; one whose ACK and
    # request were split by a route move between them is proxied by both (the request
    # carries the same cookie): seen once in CI (1001 of 1000)
    local both=$(($(sg_delta m0.A m1.A proxied) + $(sg_delta m0.B m1.B proxied)))
    sg_assert_ge "ecmp_moved: proxied on A + B >= connections" "$both" "$CONNS"
    sg_assert_le "ecmp_moved: proxied on A + B <= connections + 5% (split by a move)" \
        "$both" "$((CONNS + CONNS / 20))"
    sg_assert_ge "ecmp_moved: some handshakes crossed routers (SYN-ACK from one, proxied by the other)" \
        "$cross" 1
}

sg_run_cases "$@"
