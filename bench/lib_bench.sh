# shellcheck shell=bash
# bench/lib_bench.sh — helpers for bench/run.sh, on top of tests/net/lib.sh (source that first).
#
# CPU layout of every measurement (2-core machine):
#   core 0: load generators, the client and server ends (their veths' rx via RPS)
#   core 1: the router namespace: its veths' rx (RPS) and the daemon (taskset)
# so the router's cost is read from core 1 alone in /proc/stat.
#
# CPU accounting: this kernel samples CPU time with the tick (no IRQ_TIME_ACCOUNTING) and
# stops the tick on an idle core (NO_HZ_IDLE), so softirq work done in short bursts on an
# otherwise idle core is barely counted (kernel SYNPROXY at 50k SYN/s showed 3% busy). So
# bn_spinner_start keeps core 1 from idling with a nice-19 SCHED_IDLE busy loop: the tick
# keeps running, and its time lands in /proc/stat's "nice" column, which bn_cpu_snap counts
# as idle. (Any other niced job on core 1 would be counted as idle too.)
#
# Counters (iptables, raw PREROUTING, rule 1 of a dedicated chain, counted and dropped there):
#   client ns: SYN-ACKs from the protected port to anyone but the client's own address
#              (answers to spoofed flood sources)                 -> bn_synack_count
#   server ns: every TCP packet from 198.18.0.0/15 (flood packets that got through the
#              router); dropped there so the server answers nothing, except while
#              bn_sink pass is in force (the "plain" systems, where the server itself is
#              what answers, and the legit-under-flood / ACK-flood scenarios)
#                                                                 -> bn_srvsyn_count
#
# Spoofed sources: hping3 --rand-source picks sources from all of IPv4. A stateless nft rule
# in the client ns (output hook, before raw) rewrites the source of every packet the client
# ns sends from an address other than its own into 198.18.0.0/15 (top 15 bits replaced,
# checksums fixed by nft) and drops anything else, so every spoofed packet of the run is
# from the RFC 2544 benchmark range (synflood already uses it; AF_PACKET skips the hook).

BN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BN_BUILD=${BN_BUILD:-$SG_ROOT_DIR/build}
BN_BIN=$BN_BUILD/bench
BN_SYNGATE=$BN_BUILD/syngate
BN_PORTS=${BN_PORTS:-80,5201}      # protected ports: connrate/flood on 80, iperf3 on 5201
BN_FLOOD_NET=198.18.0.0/15         # spoofed flood sources (RFC 2544 benchmark range)
BN_GEN_CPU=0
BN_RTR_CPU=1
BN_CTL=''                          # syngate control socket while it runs
BN_DAEMON_PID=''
BN_DAEMON_LOG=''
BN_RULES_INSTALLED=0
BN_WSCALE=${BN_WSCALE:-7}           # set by run.sh from bn_backend_wscale
# How the daemons (syngate, nfq_null) are scheduled on the router core: a command prefix,
# e.g. "chrt -f 10" (SCHED_FIFO: the NET_RX softirq, deferred to ksoftirqd under overload,
# can no longer take the daemon's CPU) or "" (SCHED_OTHER, the default).
BN_DAEMON_SCHED=${BN_DAEMON_SCHED:-}
# extra options for syngate (e.g. "--queues 2") and the CPUs its threads may use
BN_SYNGATE_ARGS=${BN_SYNGATE_ARGS:-}
# syngate-xdp: the XDP fast path's attach mode on the router's client-facing veth. generic
# runs after RPS (on the router core, like every other system); native runs in the veth's
# NAPI poll on the sending core, which would hide its cost on the generator's core.
BN_XDP_MODE=${BN_XDP_MODE:-generic}
BN_DAEMON_CPUS=${BN_DAEMON_CPUS:-$BN_RTR_CPU}
# syngate's shed-rate (SYNs/s let into the queue; 0 = no limit); empty = syngate's default
BN_SHED_RATE=${BN_SHED_RATE:-}

BN_LEGIT=$BN_BIN/legit
BN_SRV_SYNCOOKIES=1                # the server ns's tcp_syncookies (read by bn_setup)

bn_mac() { ip -n "$1" -o link show "$2" | grep -o 'link/ether [0-9a-f:]*' | awk '{ print $2 }'; }

# bn_rps : router rx on core 1, client and server rx on core 0; route the flood range back
# to the client ns explicitly (the default route would too); install the counters.
bn_setup() {
    local ns_if
    for ns_if in "$SG_NS_R:$SG_IF_RC:2" "$SG_NS_R:$SG_IF_RS:2" "$SG_NS_C:$SG_IF_C:1" "$SG_NS_S:$SG_IF_S:1"; do
        IFS=: read -r ns ifc mask <<<"$ns_if"
        echo "$mask" | ip netns exec "$ns" tee "/sys/class/net/$ifc/queues/rx-0/rps_cpus" >/dev/null
    done
    ip -n "$SG_NS_R" route add "$BN_FLOOD_NET" via "$SG_CLI4" dev "$SG_IF_RC"
    # many short connections from one address: use the whole port range
    sg_in "$SG_NS_C" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
    sg_in "$SG_NS_C" iptables -w -t raw -N BNSYNACK
    sg_in "$SG_NS_C" iptables -w -t raw -A BNSYNACK -j DROP
    sg_in "$SG_NS_C" iptables -w -t raw -I PREROUTING 1 -p tcp --sport 80 ! -d "$SG_CLI4" \
        --tcp-flags SYN,ACK,RST,FIN SYN,ACK -j BNSYNACK
    sg_in "$SG_NS_S" iptables -w -t raw -N BNSYN
    sg_in "$SG_NS_S" iptables -w -t raw -A BNSYN -j DROP
    sg_in "$SG_NS_S" iptables -w -t raw -I PREROUTING 1 -p tcp -s "$BN_FLOOD_NET" -j BNSYN
    # confine every spoofed source of the client ns to BN_FLOOD_NET (see top)
    local net=${BN_FLOOD_NET%/*} bits=${BN_FLOOD_NET#*/} keep
    keep=$(awk -v b="$bits" 'BEGIN { m = 2 ^ (32 - b) - 1
        printf "%d.%d.%d.%d", int(m / 16777216) % 256, int(m / 65536) % 256, int(m / 256) % 256, m % 256 }')
    printf '%s\n' "table ip bn_spoof {" \
        "  chain out {" \
        "    type filter hook output priority -400; policy accept;" \
        "    ip saddr != $SG_CLI4 ip saddr set ip saddr & $keep | $net counter" \
        "    ip saddr != { $SG_CLI4, $BN_FLOOD_NET } counter drop" \
        "  }" "}" | sg_in "$SG_NS_C" nft -f - || sg_die "cannot install the source-confining nft rule"
    BN_SRV_SYNCOOKIES=$(sg_in "$SG_NS_S" sysctl -n net.ipv4.tcp_syncookies)
    # every legitimate client is a new client to the server: no TCP metrics kept, so the
    # kernel's "proven peer" exemption (a peer with a cached RTT still gets a request sock
    # when tcp_syncookies=0 and the SYN queue is 3/4 full) does not favour the one address
    # our clients share over the flood's (see bench/README.md)
    sg_in "$SG_NS_S" sysctl -qw net.ipv4.tcp_no_metrics_save=1
    sg_in "$SG_NS_S" ip tcp_metrics flush all 2>/dev/null || true
    BN_RTR_MAC=$(bn_mac "$SG_NS_R" "$SG_IF_RC")
    [ -n "$BN_RTR_MAC" ] || sg_die "no MAC on $SG_IF_RC"
}

_bn_chain_pkts() { sg_in "$1" iptables -w -t raw -nvxL "$2" | awk 'NR == 3 { print $1 }'; }
bn_synack_count() { _bn_chain_pkts "$SG_NS_C" BNSYNACK; }
bn_srvsyn_count() { _bn_chain_pkts "$SG_NS_S" BNSYN; }
# bn_sink drop|pass : what the server ns does with flood packets (counted either way)
bn_sink() {
    local t=DROP
    [ "$1" = pass ] && t=RETURN
    sg_in "$SG_NS_S" iptables -w -t raw -R BNSYN 1 -j "$t"
}
# bn_spoof_count -> packets whose source the client ns's nft rule rewrote into BN_FLOOD_NET,
# and (second number) packets it dropped (should stay 0)
bn_spoof_count() {
    sg_in "$SG_NS_C" nft list table ip bn_spoof | awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") printf "%s ", $(i + 1) } END { print "" }'
}
# bn_srv_netstat KEY -> a TcpExt counter of the server ns (e.g. TCPSynRetrans: SYN-ACK
# retransmissions of its request sockets)
bn_srv_netstat() {
    sg_in "$SG_NS_S" cat /proc/net/netstat | awk -v k="$1" '
        $1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 }
                          else { for (i = 2; i <= NF; i++) if (n[i] == k) v = $i } }
        END { print v + 0 }'
}
# bn_server_answers SYSTEM : true for the systems where the server itself answers SYNs
bn_server_answers() { case $1 in plain | plain-ct | plain-sc0 | plain-sc1) return 0 ;; esac; return 1; }

BN_LISTENER_PID=''
# bn_listener_start [SECS=600] / bn_listener_stop : the echo server (bench/legit -l 80,
# backlog 4096) in the server ns, on core 0; SCHED_FIFO 10 unless BN_LEGIT_RT=0, so that
# the legit clients' latency is the network's, not a share of core 0 left by the generator
bn_listener_start() {
    local rt=()
    [ "${BN_LEGIT_RT:-1}" = 1 ] && rt=(chrt -f 10)
    local log
    log=$SG_TMP/listener.$(date +%s%N).log
    sg_bg "$SG_NS_S" "$log" taskset -c "$BN_GEN_CPU" "${rt[@]+"${rt[@]}"}" "$BN_LEGIT" -l 80 -t "${1:-600}"
    BN_LISTENER_PID=$SG_BG_PID
    _bn_wait_grep "$log" '^ready' || { cat "$log" >&2; return 1; }
}
bn_listener_stop() {
    [ -n "$BN_LISTENER_PID" ] || return 0
    kill -INT "$BN_LISTENER_PID" 2>/dev/null || true
    if ! sg_wait_pid "$BN_LISTENER_PID" 5; then
        kill -KILL "$BN_LISTENER_PID" 2>/dev/null || true
        sg_wait_pid "$BN_LISTENER_PID" 2 || true
    fi
    BN_LISTENER_PID=''
}

# bn_cpu_snap CPU -> "busy total" jiffies of that core from /proc/stat (busy excludes idle,
# iowait and nice: see bn_spinner_start)
bn_cpu_snap() {
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $3 - $5 - $6, t }' /proc/stat
}

BN_SPINNER_PID=''
# bn_spinner_start : nice-19 SCHED_IDLE busy loop pinned to the router core (see top)
bn_spinner_start() {
    taskset -c "$BN_RTR_CPU" nice -n 19 chrt -i 0 sh -c 'while :; do :; done' &
    BN_SPINNER_PID=$!
    SG_PIDS+=("$BN_SPINNER_PID")
}
bn_spinner_stop() {
    [ -n "$BN_SPINNER_PID" ] || return 0
    kill -TERM "$BN_SPINNER_PID" 2>/dev/null || true
    wait "$BN_SPINNER_PID" 2>/dev/null || true
    BN_SPINNER_PID=''
}

# bn_backend_wscale -> the window scale the server ns announces (from TCP_INFO of a client
# socket), so SYNPROXY and syngate can be told the same, as their docs require
bn_backend_wscale() {
    local srv ws
    sg_bg "$SG_NS_S" "$SG_TMP/wscale-server.log" "$BN_BIN/connrate" -l 81 -t 5
    srv=$SG_BG_PID
    _bn_wait_grep "$SG_TMP/wscale-server.log" '^ready' || return 1
    ws=$(sg_in "$SG_NS_C" "$SG_PYTHON" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 81), timeout=3)
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
print(info[6] & 0x0f)' "$SG_SRV4")
    kill -INT "$srv" 2>/dev/null || true
    sg_wait_pid "$srv" 5 || true
    echo "$ws"
}
# bn_rxdrop NS IF -> rx dropped of a veth (its peer's xmit found the backlog full)
bn_rxdrop() { ip -n "$1" -s -j link show "$2" | jq '.[0].stats64.rx.dropped'; }
# bn_qdrop -> queue_dropped + user_dropped, all queues of the router ns
bn_qdrop() {
    sg_in "$SG_NS_R" cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null |
        awk '{ s += $6 + $7 } END { print s + 0 }'
}

# ---------------------------------------------------------------- systems under test
# bn_sys_up NAME / bn_sys_down NAME, NAME in: plain plain-ct plain-sc0 plain-sc1 synproxy
# synproxy-nots synproxy-stall syngate syngate-noxdp syngate-adaptive syngate-xdp
# syngate-xdp-adaptive null-accept null-reflect. plain-ct is
# plain forwarding with conntrack on (one "ct state invalid drop" rule), the data-path cost
# both proxies need. plain-sc0 / plain-sc1: plain forwarding, no protection on the router,
# the server with net.ipv4.tcp_syncookies=0 / 1 (the "no protection" references; 1 is the
# kernel default, which every other system leaves the server at). syngate: syngate's default
# options (only what any SYN proxy in front of this backend needs: --learn no and the
# backend's --default-wscale; xdp = auto, on every interface of the router). syngate-noxdp:
# the same with --xdp off (the NFQUEUE path alone). syngate-adaptive: --mode adaptive. syngate-xdp: the
# XDP fast path, --xdp $BN_XDP_MODE on the router's client-facing veth.
bn_sys_up() {
    local name=$1
    sg_in "$SG_NS_R" conntrack -F >/dev/null 2>&1 || true
    case $name in
    plain) ;;
    plain-sc0 | plain-sc1) sg_in "$SG_NS_S" sysctl -qw net.ipv4.tcp_syncookies="${name#plain-sc}" ;;
    plain-ct)
        echo 'table inet bn_ct { chain bnfwd { type filter hook forward priority filter; policy accept; ct state invalid counter drop; }; }' |
            sg_in "$SG_NS_R" nft -f -
        ;;
    synproxy) "$BN_DIR/ref_synproxy.sh" up "$SG_NS_R" "$BN_PORTS" 1460 "$BN_WSCALE" ;;
    # without the timestamp option (cookie carries the MSS only: no wscale/SACK to the backend)
    synproxy-nots) SPX_TIMESTAMP=0 "$BN_DIR/ref_synproxy.sh" up "$SG_NS_R" "$BN_PORTS" 1460 "$BN_WSCALE" ;;
    # the rule set as before the fix (timestamp, no output notrack): 1 s stall per connection
    synproxy-stall) SPX_OUT_NOTRACK=0 "$BN_DIR/ref_synproxy.sh" up "$SG_NS_R" "$BN_PORTS" 1460 "$BN_WSCALE" ;;
    syngate | syngate-noxdp | syngate-adaptive | syngate-xdp | syngate-xdp-adaptive)
        local mode=()
        case $name in *adaptive) mode=(--mode adaptive) ;; esac
        case $name in
        syngate-xdp*) mode+=(--xdp "$BN_XDP_MODE" --interfaces "$SG_IF_RC") ;;
        syngate-noxdp) mode+=(--xdp off) ;;
        esac
        BN_CTL=$SG_TMP/syngate.sock
        BN_DAEMON_LOG=$SG_TMP/syngate.log
        # shellcheck disable=SC2086 # BN_DAEMON_SCHED is a command prefix
        # shellcheck disable=SC2086 # BN_SYNGATE_ARGS is a list of options
        sg_bg "$SG_NS_R" "$BN_DAEMON_LOG" taskset -c "$BN_DAEMON_CPUS" $BN_DAEMON_SCHED "$BN_SYNGATE" run --key-file "$SG_TMP/key" \
            --ports "$BN_PORTS" --install-rules --learn no --default-wscale "$BN_WSCALE" $BN_SYNGATE_ARGS \
            ${BN_SHED_RATE:+--shed-rate "$BN_SHED_RATE"} "${mode[@]+"${mode[@]}"}" --control "$BN_CTL" --log-level warn
        BN_DAEMON_PID=$SG_BG_PID
        _bn_wait_file "$BN_CTL" || { cat "$BN_DAEMON_LOG" >&2; return 1; }
        ;;
    null-accept | null-reflect)
        sg_in "$SG_NS_R" "$BN_SYNGATE" rules install --ports "$BN_PORTS" \
            ${BN_SHED_RATE:+--shed-rate "$BN_SHED_RATE"} >/dev/null
        BN_RULES_INSTALLED=1
        BN_DAEMON_LOG=$SG_TMP/$name.log
        # shellcheck disable=SC2086
        sg_bg "$SG_NS_R" "$BN_DAEMON_LOG" taskset -c "$BN_RTR_CPU" $BN_DAEMON_SCHED "$BN_BIN/nfq_null" "${name#null-}"
        BN_DAEMON_PID=$SG_BG_PID
        _bn_wait_grep "$BN_DAEMON_LOG" '^ready' || { cat "$BN_DAEMON_LOG" >&2; return 1; }
        ;;
    *) sg_die "unknown system $name" ;;
    esac
}

bn_sys_down() {
    local name=$1
    case $name in
    plain-ct) sg_in "$SG_NS_R" nft delete table inet bn_ct 2>/dev/null || true ;;
    plain-sc0 | plain-sc1) sg_in "$SG_NS_S" sysctl -qw net.ipv4.tcp_syncookies="$BN_SRV_SYNCOOKIES" ;;
    synproxy | synproxy-nots | synproxy-stall) "$BN_DIR/ref_synproxy.sh" down "$SG_NS_R" ;;
    syngate | syngate-noxdp | syngate-adaptive | syngate-xdp | syngate-xdp-adaptive | null-accept | null-reflect) bn_daemon_stop ;;
    esac
    # syngate's rules install sets nf_conntrack_tcp_loose=0 and remove keeps it: back to the
    # kernel default, so every system starts from the same router
    sg_in "$SG_NS_R" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1 2>/dev/null || true
    bn_listener_stop
    bn_nginx_stop
    bn_sink drop
    if [ "$BN_RULES_INSTALLED" = 1 ]; then
        sg_in "$SG_NS_R" "$BN_SYNGATE" rules remove --ports "$BN_PORTS" >/dev/null || true
        BN_RULES_INSTALLED=0
    fi
    return 0
}

# bn_daemon_stop : SIGINT our daemon (syngate removes its rules), KILL after 5 s
bn_daemon_stop() {
    [ -n "$BN_DAEMON_PID" ] || return 0
    kill -INT "$BN_DAEMON_PID" 2>/dev/null || true
    if ! sg_wait_pid "$BN_DAEMON_PID" 5; then
        kill -KILL "$BN_DAEMON_PID" 2>/dev/null || true
        sg_wait_pid "$BN_DAEMON_PID" 2 || true
    fi
    BN_DAEMON_PID=''
    BN_CTL=''
}

_bn_wait_file() { local i; for ((i = 0; i < 100; i++)); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }
_bn_wait_grep() { local i; for ((i = 0; i < 100; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# bn_syngate_stat KEY -> a counter from syngate's JSON stats (empty when not running)
bn_syngate_stat() {
    [ -n "$BN_CTL" ] || { echo ''; return 0; }
    sg_in "$SG_NS_R" "$BN_SYNGATE" stats --control "$BN_CTL" --json 2>/dev/null |
        jq -r --arg k "$1" '[.. | objects | to_entries[] | select(.key == $k) | .value] | first // empty'
}

# ---------------------------------------------------------------- measurements
# bn_flood SYSTEM GEN RATE SECS : one flood; prints a tab-separated result row:
#   system gen target offered_pps answered_per_s answered_pct core1_busy_pct us_per_answer qdrop rxdrop
# GEN is synflood or hping3; RATE a number or "max" (hping3: always max). The answer counted
# is the SYN-ACK at the client, except for null-accept (SYN forwarded to the server). For
# the plain systems (bn_server_answers) the server answers: a fresh listener (legit -l 80,
# backlog 4096) per point, flood packets let in, and the server's SYN-ACK retransmissions
# (TcpExt TCPSynRetrans) subtracted, so "answered" counts first answers only.
bn_flood() {
    local sys=$1 gen=$2 rate=$3 secs=$4 out c0 c1 q0 q1 d0 d1 a0 a1 sent gsecs r rt0=0 rt1=0 srv=0
    out=$SG_TMP/flood.$sys.$gen.$rate.out
    r=$rate; [ "$r" = max ] && r=0
    _bn_answers() { if [ "$sys" = null-accept ]; then bn_srvsyn_count; else bn_synack_count; fi; }
    if bn_server_answers "$sys"; then
        srv=1
        bn_sink pass
        bn_listener_start $((secs + 30)) || return 1
        rt0=$(bn_srv_netstat TCPSynRetrans)
    fi
    a0=$(_bn_answers); q0=$(bn_qdrop); d0=$(bn_rxdrop "$SG_NS_R" "$SG_IF_RC")
    c0=$(bn_cpu_snap "$BN_RTR_CPU")
    if [ "$gen" = synflood ]; then
        sg_in "$SG_NS_C" timeout -s INT $((secs + 5)) taskset -c "$BN_GEN_CPU" "$BN_BIN/synflood" -q \
            -i "$SG_IF_C" -d "$SG_SRV4" -p 80 -t "$secs" -r "$r" -s "$BN_FLOOD_NET" -M "$BN_RTR_MAC" \
            >"$out" 2>&1 || true
        sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$out"); gsecs=$(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' "$out")
    else
        # random sources (confined to BN_FLOOD_NET by the client ns's nft rule, bn_setup)
        sg_in "$SG_NS_C" taskset -c "$BN_GEN_CPU" timeout -s INT "$secs" hping3 -q -S --flood \
            --rand-source -p 80 "$SG_SRV4" >"$out" 2>&1 || true
        sent=$(awk '/packets (transmitted|tramitted)/ { print $1; exit }' "$out"); gsecs=$secs
    fi
    sleep 0.3 # drain
    c1=$(bn_cpu_snap "$BN_RTR_CPU")
    a1=$(_bn_answers); q1=$(bn_qdrop); d1=$(bn_rxdrop "$SG_NS_R" "$SG_IF_RC")
    if [ "$srv" = 1 ]; then
        rt1=$(bn_srv_netstat TCPSynRetrans)
        bn_listener_stop
        bn_sink drop
    fi
    awk -v sys="$sys" -v gen="$gen" -v rate="$rate" -v sent="${sent:-0}" -v gs="${gsecs:-1}" \
        -v a=$((a1 - a0 - (rt1 - rt0))) -v c0="$c0" -v c1="$c1" -v qd=$((q1 - q0)) -v rd=$((d1 - d0)) 'BEGIN {
            split(c0, x, " "); split(c1, y, " ")
            busy = y[1] - x[1]; tot = y[2] - x[2]
            off = sent / gs; ans = a / gs
            printf "%s\t%s\t%s\t%.0f\t%.0f\t%.1f\t%.0f\t%s\t%d\t%d\n", sys, gen, rate, off, ans,
                sent ? 100 * a / sent : 0, tot ? 100 * busy / tot : 0,
                a ? sprintf("%.2f", busy * 10000 / a) : "-", qd, rd
        }'
}

# bn_connrate SYSTEM SECS [nginx] : new connections per second, client -> server:80, PAR
# (BN_CONN_PAR, 64) in flight. The server is connrate's own (writes a byte and closes), or
# with "nginx" the running bn_nginx_start (the client sends GET /, connrate -g). Prints:
# system rate failed avg_ms max_ms core1_busy_pct failure-kinds
bn_connrate() {
    local sys=$1 secs=$2 web=${3:-} out srv='' c0 c1 get=()
    out=$SG_TMP/connrate.$sys${web:+.$web}.out
    if [ -n "$web" ]; then
        get=(-g)
    else
        sg_bg "$SG_NS_S" "$SG_TMP/connrate-server.$sys.log" taskset -c "$BN_GEN_CPU" \
            "$BN_BIN/connrate" -l 80 -t $((secs + 10))
        srv=$SG_BG_PID
        _bn_wait_grep "$SG_TMP/connrate-server.$sys.log" '^ready' || return 1
    fi
    c0=$(bn_cpu_snap "$BN_RTR_CPU")
    sg_in "$SG_NS_C" timeout $((secs + 10)) taskset -c "$BN_GEN_CPU" "$BN_BIN/connrate" \
        -c "$SG_SRV4" -p 80 -t "$secs" -n "${BN_CONN_PAR:-64}" "${get[@]+"${get[@]}"}" >"$out" 2>&1 || true
    c1=$(bn_cpu_snap "$BN_RTR_CPU")
    if [ -n "$srv" ]; then
        kill -INT "$srv" 2>/dev/null || true
        sg_wait_pid "$srv" 5 || true
    fi
    awk -v sys="$sys" -v c0="$c0" -v c1="$c1" '
        /^completed=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
        END { split(c0, x, " "); split(c1, y, " "); tot = y[2] - x[2]
              printf "%s\t%s\t%s\t%s\t%s\t%.0f\t%s/%s/%s/%s/%s\n", sys, v["rate"] + 0, v["failed"] + 0,
                  v["avg_ms"] + 0, v["max_ms"] + 0, tot ? 100 * (y[1] - x[1]) / tot : 0,
                  v["refused"] + 0, v["reset"] + 0, v["timeout"] + 0, v["other"] + 0, v["open"] + 0 }' "$out"
}

# bn_bulk SYSTEM SECS [REVERSE] : iperf3, one TCP stream client -> server:5201 (REVERSE=1:
# server -> client). Prints: system direction gbit_s retransmits core1_busy_pct
bn_bulk() {
    local sys=$1 secs=$2 rev=${3:-0} out srv c0 c1 dir=c2s args=()
    [ "$rev" = 1 ] && { dir=s2c; args=(-R); }
    out=$SG_TMP/iperf3.$sys.$dir.json
    sg_bg "$SG_NS_S" "$SG_TMP/iperf3-server.$sys.$dir.log" taskset -c "$BN_GEN_CPU" iperf3 -s -1 -p 5201
    srv=$SG_BG_PID
    sg_wait_port "$SG_NS_S" 5201 5 || return 1
    c0=$(bn_cpu_snap "$BN_RTR_CPU")
    sg_in "$SG_NS_C" timeout $((secs + 15)) taskset -c "$BN_GEN_CPU" iperf3 -c "$SG_SRV4" -p 5201 \
        -t "$secs" -J "${args[@]}" >"$out" 2>&1 || true
    c1=$(bn_cpu_snap "$BN_RTR_CPU")
    sg_wait_pid "$srv" 5 || { kill -TERM "$srv" 2>/dev/null; sg_wait_pid "$srv" 2 || true; }
    local bps retr
    bps=$(jq -r '.end.sum_received.bits_per_second // 0' "$out" 2>/dev/null || echo 0)
    retr=$(jq -r '.end.sum_sent.retransmits // 0' "$out" 2>/dev/null || echo 0)
    awk -v sys="$sys" -v dir="$dir" -v bps="${bps:-0}" -v retr="${retr:-0}" -v c0="$c0" -v c1="$c1" 'BEGIN {
        split(c0, x, " "); split(c1, y, " "); tot = y[2] - x[2]
        printf "%s\t%s\t%.2f\t%s\t%.0f\n", sys, dir, bps / 1e9, retr, tot ? 100 * (y[1] - x[1]) / tot : 0 }'
}

# ---------------------------------------------------------------- legitimate clients, ACK flood
BN_FLOOD_PIDS=() BN_FLOOD_LOGS=()
# _bn_gen_start COND SECS LOG : start a background flood from the client ns, bounded by
# timeout -s INT, all spoofed sources in BN_FLOOD_NET, to server:80. COND:
#   none
#   hping            hping3 -S --flood --rand-source (SYNs, hping3's maximum)
#   hping-ack        hping3 -A --flood --rand-source (ACKs)
#   hping-sa         both at once (two hping3 processes: SYNs and ACKs)
#   synflood:RATE    synflood, SYNs at RATE/s
#   synflood-ack:RATE  synflood -A, ACKs with random seq/ack/TS at RATE/s
# Sets BN_FLOOD_PIDS and BN_FLOOD_LOGS (LOG, or LOG.syn and LOG.ack for hping-sa).
_bn_gen_start() {
    local cond=$1 secs=$2 log=$3
    BN_FLOOD_PIDS=() BN_FLOOD_LOGS=()
    case $cond in
    none) ;;
    hping) _bn_hping_start -S "$secs" "$log" ;;
    hping-ack) _bn_hping_start -A "$secs" "$log" ;;
    hping-sa) _bn_hping_start -S "$secs" "$log.syn"; _bn_hping_start -A "$secs" "$log.ack" ;;
    synflood:* | synflood-ack:*)
        local ack=()
        [[ $cond == synflood-ack:* ]] && ack=(-A)
        sg_bg "$SG_NS_C" "$log" timeout -s INT $((secs + 5)) taskset -c "$BN_GEN_CPU" \
            "$BN_BIN/synflood" -q -i "$SG_IF_C" -d "$SG_SRV4" -p 80 -t "$secs" -r "${cond#*:}" \
            -s "$BN_FLOOD_NET" -M "$BN_RTR_MAC" "${ack[@]+"${ack[@]}"}"
        BN_FLOOD_PIDS+=("$SG_BG_PID") BN_FLOOD_LOGS+=("$log")
        ;;
    *) sg_die "unknown flood condition $cond" ;;
    esac
}
# _bn_hping_start FLAG SECS LOG : one hping3 FLAG --flood --rand-source on core BN_GEN_CPU
_bn_hping_start() {
    sg_bg "$SG_NS_C" "$3" taskset -c "$BN_GEN_CPU" timeout -s INT "$2" \
        hping3 -q "$1" --flood --rand-source -p 80 "$SG_SRV4"
    BN_FLOOD_PIDS+=("$SG_BG_PID") BN_FLOOD_LOGS+=("$3")
}
# _bn_gen_stop T0 : SIGINT the floods still running (ours, by PID), wait; sets BN_FLOOD_PPS
# to the packets they sent per second since T0 (sg_now), all generators together. Not in a
# $(...): the floods must be waited for by the shell that started them.
BN_FLOOD_PPS=0
_bn_gen_stop() {
    local t0=$1 sent=0 secs pid log n rc
    BN_FLOOD_PPS=0
    [ ${#BN_FLOOD_PIDS[@]} -gt 0 ] || return 0
    for pid in "${BN_FLOOD_PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${BN_FLOOD_PIDS[@]}"; do
        # sg_wait_pid returns the flood's own status (hping3 exits 1 on SIGINT), 124 on timeout
        rc=0
        sg_wait_pid "$pid" 10 || rc=$?
        if [ "$rc" = 124 ]; then
            kill -KILL "$pid" 2>/dev/null || true
            sg_wait_pid "$pid" 2 || true
        fi
    done
    secs=$(sg_elapsed "$t0")
    for log in "${BN_FLOOD_LOGS[@]}"; do
        n=$(awk '/packets (transmitted|tramitted)/ { print $1; exit } /sent=/ { for (i = 1; i <= NF; i++) if ($i ~ /^sent=/) { sub("sent=", "", $i); print $i; exit } }' "$log")
        sent=$((sent + ${n:-0}))
    done
    BN_FLOOD_PIDS=() BN_FLOOD_LOGS=()
    BN_FLOOD_PPS=$(awk -v s="$sent" -v t="$secs" 'BEGIN { printf "%.0f", (t > 0 ? s / t : 0) }')
}

# bn_legit SYSTEM COND SECS : legitimate clients (bench/legit: one connection every
# BN_LEGIT_INTERVAL_MS, connect + 1 byte + echo + close, TIMEOUT BN_LEGIT_TIMEOUT_MS) for
# SECS while COND (see _bn_gen_start) floods; the flood starts 1 s before the
# clients and is stopped when the last client is done. Server: echo listener (flood packets
# let in). Prints: system cond flood_pps attempts success_pct conn_p50 conn_p90 conn_p99
# echo_p99 core1_busy_pct failures(timeout/refused/reset/noecho/other/open)
bn_legit() {
    local sys=$1 cond=$2 secs=$3 tmo=${BN_LEGIT_TIMEOUT_MS:-3000} iv=${BN_LEGIT_INTERVAL_MS:-10}
    local out flog c0 c1 t0 fpps rt=() fmax
    out=$SG_TMP/legit.$sys.${cond//:/_}.out
    flog=$SG_TMP/legit-flood.$sys.${cond//:/_}.log
    [ "${BN_LEGIT_RT:-1}" = 1 ] && rt=(chrt -f 10)
    bn_sink pass
    bn_listener_start $((secs + tmo / 1000 + 30)) || return 1
    # the flood's own bound: warm-up + clients + their timeout + slack (normally stopped earlier)
    fmax=$((secs + tmo / 1000 + 5))
    t0=$(sg_now)
    _bn_gen_start "$cond" "$fmax" "$flog"
    [ "$cond" = none ] || sleep 1
    c0=$(bn_cpu_snap "$BN_RTR_CPU")
    sg_in "$SG_NS_C" timeout $((secs + tmo / 1000 + 10)) taskset -c "$BN_GEN_CPU" "${rt[@]+"${rt[@]}"}" \
        "$BN_LEGIT" -c "$SG_SRV4" -p 80 -t "$secs" -i "$iv" -w "$tmo" -o "$out.raw" >"$out" 2>&1 || true
    c1=$(bn_cpu_snap "$BN_RTR_CPU")
    _bn_gen_stop "$t0"
    fpps=$BN_FLOOD_PPS
    bn_listener_stop
    bn_sink drop
    awk -v sys="$sys" -v cond="$cond" -v fpps="$fpps" -v c0="$c0" -v c1="$c1" '
        /^attempts=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
        END { split(c0, x, " "); split(c1, y, " "); tot = y[2] - x[2]
              printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s/%s/%s/%s/%s/%s\n", sys, cond, fpps,
                  v["attempts"] + 0, v["success_pct"], v["conn_p50_ms"], v["conn_p90_ms"], v["conn_p99_ms"],
                  v["echo_p99_ms"], tot ? 100 * (y[1] - x[1]) / tot : 0,
                  v["timeout"] + 0, v["refused"] + 0, v["reset"] + 0, v["noecho"] + 0, v["other"] + 0, v["open"] + 0 }' "$out"
}

# bn_ackflood SYSTEM SECS : hping3 -A --flood --rand-source to server:80 (listener up, flood
# packets let in at the server). Prints: system offered_pps reached_server_per_s reached_pct
# core1_busy_pct bad_cookies_per_s qdrop. bad cookies: syngate's cookies_invalid, SYNPROXY's
# cookie_invalid (/proc/net/stat/synproxy); "-" for the others.
bn_ackflood() {
    local sys=$1 secs=$2 out s0 s1 c0 c1 q0 q1 b0='' b1='' sent
    out=$SG_TMP/ackflood.$sys.out
    _bn_bad() {
        case $sys in
        syngate*) bn_syngate_stat cookies_invalid ;;
        synproxy*) sg_synproxy_stat "$SG_NS_R" cookie_invalid ;;
        *) echo '' ;;
        esac
    }
    bn_sink pass
    bn_listener_start $((secs + 30)) || return 1
    s0=$(bn_srvsyn_count); q0=$(bn_qdrop); b0=$(_bn_bad); c0=$(bn_cpu_snap "$BN_RTR_CPU")
    sg_in "$SG_NS_C" taskset -c "$BN_GEN_CPU" timeout -s INT "$secs" hping3 -q -A --flood \
        --rand-source -p 80 "$SG_SRV4" >"$out" 2>&1 || true
    sleep 0.3
    c1=$(bn_cpu_snap "$BN_RTR_CPU"); s1=$(bn_srvsyn_count); q1=$(bn_qdrop); b1=$(_bn_bad)
    bn_listener_stop
    bn_sink drop
    sent=$(awk '/packets (transmitted|tramitted)/ { print $1; exit }' "$out")
    awk -v sys="$sys" -v sent="${sent:-0}" -v gs="$secs" -v s=$((s1 - s0)) -v c0="$c0" -v c1="$c1" \
        -v b0="$b0" -v b1="$b1" -v qd=$((q1 - q0)) 'BEGIN {
            split(c0, x, " "); split(c1, y, " "); tot = y[2] - x[2]
            printf "%s\t%.0f\t%.0f\t%.1f\t%.0f\t%s\t%d\n", sys, sent / gs, s / gs, sent ? 100 * s / sent : 0,
                tot ? 100 * (y[1] - x[1]) / tot : 0, b0 != "" && b1 != "" ? sprintf("%.0f", (b1 - b0) / gs) : "-", qd }'
}

# ---------------------------------------------------------------- real server (nginx-light)
BN_NGINX_PID=''
# bn_nginx_start : nginx (Debian's nginx-light) in the server ns on server:80, core
# BN_GEN_CPU, run as root with its own config, pid, logs and temp paths in a fresh directory
# under SG_TMP: one worker, backlog 4096, no access log, a 40-byte static page. Flood packets
# are let into the server (bn_sink pass), as for the legit clients.
bn_nginx_start() {
    local d
    d=$SG_TMP/nginx.$(date +%s%N)
    mkdir -p "$d/www" "$d/tmp"
    printf '<html><body>syngate bench</body></html>\n' >"$d/www/index.html"
    cat >"$d/nginx.conf" <<CONF
user root;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; multi_accept on; }
http {
    access_log off;
    default_type text/html;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen $SG_SRV4:80 backlog=4096;
        root $d/www;
    }
}
CONF
    bn_sink pass
    sg_bg "$SG_NS_S" "$d/stderr.log" taskset -c "$BN_GEN_CPU" nginx -p "$d" -c "$d/nginx.conf" \
        -e "$d/error.log" -g 'daemon off;'
    BN_NGINX_PID=$SG_BG_PID
    sg_wait_port "$SG_NS_S" 80 5 || { cat "$d/stderr.log" "$d/error.log" >&2 2>/dev/null; bn_nginx_stop; return 1; }
}
# bn_nginx_stop : SIGTERM our nginx master (it stops its worker), KILL after 5 s
bn_nginx_stop() {
    [ -n "$BN_NGINX_PID" ] || return 0
    kill -TERM "$BN_NGINX_PID" 2>/dev/null || true
    if ! sg_wait_pid "$BN_NGINX_PID" 5; then
        kill -KILL "$BN_NGINX_PID" 2>/dev/null || true
        sg_wait_pid "$BN_NGINX_PID" 2 || true
    fi
    BN_NGINX_PID=''
    bn_sink drop
}

# bn_daemon_ticks -> user+system CPU ticks of our daemon, all threads (empty without one)
bn_daemon_ticks() {
    if [ -n "$BN_DAEMON_PID" ] && [ -r "/proc/$BN_DAEMON_PID/stat" ]; then
        sed 's/.*) //' "/proc/$BN_DAEMON_PID/stat" | awk '{ print $12 + $13 }'
    else
        echo ''
    fi
}

# bn_wrk SYSTEM COND SECS : wrk -t2 -c64 -d SECS -H 'Connection: close' against the running
# nginx (bn_nginx_start), every request a new connection, while COND (see _bn_gen_start)
# floods; the flood starts 1 s before wrk. Router CPU per connection = core BN_RTR_CPU's busy
# time over the wrk run / connections (under a flood it includes the flood's cost); daemon
# µs/conn = the daemon's own CPU time (syngate's, all threads) / connections. Prints:
#   system cond flood_pps requests conn_per_s errors core1_busy_pct router_us_per_conn
#   daemon_us_per_conn error-kinds(connect/read/write/timeout/non2xx)
bn_wrk() {
    local sys=$1 cond=$2 secs=$3 out flog t0 c0 c1 d0 d1 fpps
    out=$SG_TMP/wrk.$sys.${cond//:/_}.out
    flog=$SG_TMP/wrk-flood.$sys.${cond//:/_}.log
    t0=$(sg_now)
    _bn_gen_start "$cond" $((secs + 20)) "$flog"
    [ "$cond" = none ] || sleep 1
    c0=$(bn_cpu_snap "$BN_RTR_CPU"); d0=$(bn_daemon_ticks)
    sg_in "$SG_NS_C" timeout -s INT $((secs + 15)) taskset -c "$BN_GEN_CPU" wrk -t2 -c64 -d"${secs}s" \
        --timeout 3s -H 'Connection: close' "http://$SG_SRV4/" >"$out" 2>&1 || true
    c1=$(bn_cpu_snap "$BN_RTR_CPU"); d1=$(bn_daemon_ticks)
    _bn_gen_stop "$t0"
    fpps=$BN_FLOOD_PPS
    awk -v sys="$sys" -v cond="$cond" -v fpps="$fpps" -v c0="$c0" -v c1="$c1" -v d0="$d0" -v d1="$d1" '
        / requests in / { req = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /Socket errors:/ { gsub(",", ""); ce = $4; re = $6; we = $8; te = $10 }
        /Non-2xx or 3xx responses:/ { nx = $5 }
        END { split(c0, x, " "); split(c1, y, " "); busy = y[1] - x[1]; tot = y[2] - x[2]
              err = ce + re + we + te + nx
              dus = (d0 != "" && d1 != "" && req) ? sprintf("%.1f", (d1 - d0) * 10000 / req) : "-"
              printf "%s\t%s\t%s\t%d\t%.0f\t%d\t%.0f\t%s\t%s\t%d/%d/%d/%d/%d\n", sys, cond, fpps, req, rps, err,
                  tot ? 100 * busy / tot : 0, req ? sprintf("%.1f", busy * 10000 / req) : "-", dus,
                  ce, re, we, te, nx }' "$out"
}

# bn_ab SYSTEM RUNS : ab -n BN_AB_N (5000) -c 64 against the running nginx, RUNS times, each
# bounded: ab's own -s 5 (a response not arriving within 5 s aborts the run) and timeout -s
# INT BN_AB_TIMEOUT (30 s) around it; a run ended either way counts as hung (its requests
# left undone are not counted as failed). -r: a reset counts as a failed request instead of
# ending the run. failed = ab's failed requests + non-2xx responses. error_runs: ab exited
# non-zero otherwise. Prints:
#   system runs clean_runs runs_with_failures hung_runs error_runs failed_requests
#   completed_requests mean_req_per_s (over the runs that finished) min_req_per_s
bn_ab() {
    local sys=$1 runs=$2 i out rc n=${BN_AB_N:-5000} tmo=${BN_AB_TIMEOUT:-30} outs=()
    for ((i = 1; i <= runs; i++)); do
        out=$SG_TMP/ab.$sys.$i.out
        outs+=("$out")
        rc=0
        sg_in "$SG_NS_C" timeout -k 2 -s INT "$tmo" taskset -c "$BN_GEN_CPU" ab -q -r -s 5 -n "$n" -c 64 \
            "http://$SG_SRV4/" >"$out" 2>&1 || rc=$?
        echo "rc=$rc" >>"$out"
    done
    awk -v sys="$sys" -v runs="$runs" '
        FNR == 1 { if (f) fin(); f = 1; cmp = 0; fail = 0; non2 = 0; rps = ""; hung = 0; rc = 0 }
        /^Complete requests:/ { cmp = $3 }
        /^Failed requests:/ { fail = $3 }
        /^Non-2xx responses:/ { non2 = $3 }
        /^Requests per second:/ { rps = $4 }
        /timeout specified has expired/ { hung = 1 }
        /^Total of [0-9]+ requests completed/ { cmp = $3; hung = 1 }
        /^rc=/ { rc = substr($0, 4) + 0 }
        function fin() {
            if (rc == 124 || rc == 130 || rc == 137) hung = 1
            if (hung) H++
            else if (rc) E++
            else if (fail + non2) W++
            else C++
            F += fail + non2; T += cmp
            if (!hung && !rc && rps != "") { S += rps; k++; if (min == "" || rps + 0 < min) min = rps + 0 }
        }
        END { if (f) fin()
              printf "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", sys, runs, C, W, H, E, F, T,
                  k ? sprintf("%.0f", S / k) : "-", min != "" ? sprintf("%.0f", min) : "-" }' \
        "${outs[@]}"
}
