#!/usr/bin/env bash
# bench/queue_path_probe.sh — the queue path alone (no XDP) under floods: legitimate clients'
# success and connect latency with syngate's rule set as it is, with hand-written variants of
# it, and with kernel SYNPROXY, side by side in one run (root, ~1 min per system).
#
#   bench/queue_path_probe.sh                 # every system below, every flood
#   QP_SYSTEMS="default lane" QP_FLOODS="hping" QP_REPEAT=2 bench/queue_path_probe.sh
#
# Systems (syngate with --xdp off, --learn no; "hand" rules: syngate run without
# --install-rules, the rules below applied with iptables-restore):
#   default   syngate as it was before this work (--install-rules --lane no --ack-shed-rate 0
#             --queue-maxlen 65536), one queue
#   new       syngate's own defaults now: ACK bucket (ack-shed-rate), queue-maxlen 2048 and
#             the lane, which the daemon fills with clients that completed a handshake
#   ackshed   + a shared hashlimit bucket on the INVALID-ACK queue rule (QP_ACK_RATE)
#   maxlen    default, --queue-maxlen QP_MAXLEN (a short queue drops instead of delaying)
#   split     SYNs to queue 0, everything else (cookie ACKs, backend SYN-ACKs/RSTs) to queue 1,
#             one worker each; ACK bucket as ackshed
#   lane      split + queue 2 for the lane: sources in the ipset qplane (the client address,
#             as if the daemon had put it there after its first completed handshake) skip the
#             shared buckets (per-source hashlimit QP_LANE_RATE instead) and use queue 2, and
#             so do the backend's answers to them
#   newcold   new, but the lane is flushed every 50 ms all along: every connection is a new
#             client's, competing in the shared buckets
#   synproxy  the kernel's SYNPROXY (bench/ref_synproxy.sh)
#
# Floods (from the client ns, random sources in 198.18.0.0/15, generator on core 0):
#   hping (hping3 -S --flood), hping-ack (-A), hping-both (-S and -A at once),
#   synflood:R (bench/synflood at R SYN/s; default 3 x the shed rate)
#
# Legit clients: bench/legit, one connection every 10 ms for QP_SECS (8) s, timeout
# QP_TIMEOUT_MS (8000: room for the SYN retries at 1 s and 3 s). Each row: system flood
# flood_pps attempts success_pct conn_p50 conn_p90 conn_p99 echo_p99 core1_busy failures.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
SG_PREFIX=${SG_PREFIX:-qp}
# shellcheck source=../tests/net/lib.sh
. "$BENCH_DIR/../tests/net/lib.sh"
# shellcheck source=lib_bench.sh
. "$BENCH_DIR/lib_bench.sh"

QP_SHED=${QP_SHED:-100000}
QP_ACK_RATE=${QP_ACK_RATE:-50000}
QP_LANE_RATE=${QP_LANE_RATE:-1000}
QP_MAXLEN=${QP_MAXLEN:-2048}
QP_SYSTEMS=${QP_SYSTEMS:-"default ackshed maxlen split lane new newcold synproxy"}
QP_FLOODS=${QP_FLOODS:-"hping hping-ack hping-both synflood:$((3 * QP_SHED))"}
QP_SECS=${QP_SECS:-8}
QP_REPEAT=${QP_REPEAT:-1}
export BN_LEGIT_TIMEOUT_MS=${QP_TIMEOUT_MS:-8000}
QP_OUT=${QP_OUT:-}

sg_require_root
sg_require_cmds ip iptables iptables-restore ipset nft taskset timeout jq awk hping3 chrt
for b in "$BN_SYNGATE" "$BN_BIN/synflood" "$BN_BIN/legit"; do
    [ -x "$b" ] || sg_die "missing $b: cmake -S . -B build && make -C build -j2"
done

# hping-both: -S and -A floods at once, one process group under one timeout
_bn_gen_start() {
    local cond=$1 secs=$2 log=$3 flags
    BN_FLOOD_PID=''
    case $cond in
    none) return 0 ;;
    hping) flags="-S" ;;
    hping-ack) flags="-A" ;;
    hping-both) flags="-S -A" ;;
    synflood:*)
        sg_bg "$SG_NS_C" "$log" timeout -s INT $((secs + 5)) taskset -c "$BN_GEN_CPU" \
            "$BN_BIN/synflood" -q -i "$SG_IF_C" -d "$SG_SRV4" -p 80 -t "$secs" -r "${cond#synflood:}" \
            -s "$BN_FLOOD_NET" -M "$BN_RTR_MAC"
        BN_FLOOD_PID=$SG_BG_PID
        return 0
        ;;
    *) sg_die "unknown flood $cond" ;;
    esac
    local f cmd=''
    for f in $flags; do cmd+="hping3 -q $f --flood --rand-source -p 80 $SG_SRV4 & "; done
    sg_bg "$SG_NS_C" "$log" taskset -c "$BN_GEN_CPU" timeout -s INT "$secs" sh -c "trap '' INT; ${cmd}wait"
    BN_FLOOD_PID=$SG_BG_PID
}
_bn_gen_stop() {
    local log=$1 t0=$2 sent secs
    BN_FLOOD_PPS=0
    [ -n "$BN_FLOOD_PID" ] || return 0
    kill -INT "$BN_FLOOD_PID" 2>/dev/null || true
    sg_wait_pid "$BN_FLOOD_PID" 10 || { kill -KILL "$BN_FLOOD_PID" 2>/dev/null; sg_wait_pid "$BN_FLOOD_PID" 2 || true; }
    BN_FLOOD_PID=''
    secs=$(sg_elapsed "$t0")
    sent=$(awk '/packets (transmitted|tramitted)/ { s += $1 } /sent=/ { for (i = 1; i <= NF; i++) if ($i ~ /^sent=/) { sub("sent=", "", $i); s += $i } } END { print s + 0 }' "$log")
    BN_FLOOD_PPS=$(awk -v s="${sent:-0}" -v t="$secs" 'BEGIN { printf "%.0f", (t > 0 ? s / t : 0) }')
}

# qp_rules SPLIT ACKRATE LANE : the hand-written rule set (IPv4), printed for iptables-restore
qp_rules() {
    local split=$1 ackrate=$2 lane=$3 p="-p tcp -m multiport --dports $BN_PORTS" sp="-p tcp -m multiport --sports $BN_PORTS"
    local sq=0 aq=0 lq=0 rm=0x20000000/0x20000000 ack='' in_lane to_lane
    [ "$split" = 1 ] && aq=1
    [ "$lane" = 1 ] && lq=$((aq + 1))
    [ "$ackrate" != 0 ] && ack="-m hashlimit --hashlimit-upto $ackrate/sec --hashlimit-burst $((ackrate / 50)) --hashlimit-name qpack-$ackrate"
    in_lane="-m set --match-set qplane src -m hashlimit --hashlimit-mode srcip --hashlimit-upto $QP_LANE_RATE/sec --hashlimit-burst $QP_LANE_RATE"
    to_lane="-m set --match-set qplane dst"
    echo '*raw'
    echo ':SYNGATE-RAW - [0:0]'
    echo '-I PREROUTING 1 -j SYNGATE-RAW'
    echo "-A SYNGATE-RAW -m mark --mark $rm -j CT --notrack"
    echo "-A SYNGATE-RAW -m mark --mark $rm -j ACCEPT"
    [ "$lane" = 1 ] && echo "-A SYNGATE-RAW $p --tcp-flags FIN,SYN,RST,ACK SYN $in_lane --hashlimit-name qplanes -j NFQUEUE --queue-num $lq"
    echo "-A SYNGATE-RAW $p --tcp-flags FIN,SYN,RST,ACK SYN -m hashlimit --hashlimit-upto $QP_SHED/sec --hashlimit-burst $((QP_SHED / 50)) --hashlimit-name qpsyn-$QP_SHED -j NFQUEUE --queue-num $sq"
    echo "-A SYNGATE-RAW $p --tcp-flags FIN,SYN,RST,ACK SYN -j DROP"
    echo 'COMMIT'
    echo '*mangle'
    echo ':SYNGATE-MANGLE - [0:0]'
    echo '-I PREROUTING 1 -j SYNGATE-MANGLE'
    echo "-A SYNGATE-MANGLE -m mark --mark $rm -j RETURN"
    [ "$lane" = 1 ] && echo "-A SYNGATE-MANGLE $p -m conntrack --ctstate INVALID --tcp-flags SYN,RST,ACK ACK $in_lane --hashlimit-name qplanea -j NFQUEUE --queue-num $lq"
    echo "-A SYNGATE-MANGLE $p -m conntrack --ctstate INVALID --tcp-flags SYN,RST,ACK ACK $ack -j NFQUEUE --queue-num $aq"
    [ "$lane" = 1 ] && echo "-A SYNGATE-MANGLE $sp --tcp-flags FIN,SYN,RST,ACK SYN,ACK -m conntrack --ctstate ESTABLISHED --ctdir REPLY $to_lane -j NFQUEUE --queue-num $lq"
    echo "-A SYNGATE-MANGLE $sp --tcp-flags FIN,SYN,RST,ACK SYN,ACK -m conntrack --ctstate ESTABLISHED --ctdir REPLY -j NFQUEUE --queue-num $aq"
    [ "$lane" = 1 ] && echo "-A SYNGATE-MANGLE $sp -m connmark --mark 0x10000000/0x10000000 $to_lane -j NFQUEUE --queue-num $lq"
    echo "-A SYNGATE-MANGLE $sp -m connmark --mark 0x10000000/0x10000000 -j NFQUEUE --queue-num $aq"
    echo "-A SYNGATE-MANGLE $p -m conntrack --ctstate INVALID -j DROP"
    echo 'COMMIT'
}

QP_HAND=0
# qp_syngate ARGS... : syngate in the router ns (no XDP), like bn_sys_up syngate
qp_syngate() {
    BN_CTL=$SG_TMP/syngate.sock
    BN_DAEMON_LOG=$SG_TMP/syngate.$(date +%s%N).log
    sg_bg "$SG_NS_R" "$BN_DAEMON_LOG" taskset -c "$BN_DAEMON_CPUS" "$BN_SYNGATE" run --key-file "$SG_TMP/key" \
        --ports "$BN_PORTS" --xdp off --learn no --default-wscale "$BN_WSCALE" --ipv6 no \
        --control "$BN_CTL" --log-level warn --metrics-port 0 "$@"
    BN_DAEMON_PID=$SG_BG_PID
    _bn_wait_file "$BN_CTL" || { cat "$BN_DAEMON_LOG" >&2; return 1; }
}
# qp_hand SPLIT ACKRATE LANE : hand rules, then syngate on the queues they use
qp_hand() {
    local nq=1
    [ "$1" = 1 ] && nq=2
    [ "$3" = 1 ] && nq=$((nq + 1))
    sg_in "$SG_NS_R" ipset create -exist qplane hash:ip timeout 600
    sg_in "$SG_NS_R" ipset add -exist qplane "$SG_CLI4"
    qp_rules "$@" | sg_in "$SG_NS_R" iptables-restore --noflush || return 1
    sg_in "$SG_NS_R" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
    QP_HAND=1
    qp_syngate --queues "$nq" --lane no --queue-maxlen 65536
}

qp_up() {
    sg_in "$SG_NS_R" conntrack -F >/dev/null 2>&1 || true
    case $1 in
    default) qp_syngate --install-rules --shed-rate "$QP_SHED" --lane no --ack-shed-rate 0 --queue-maxlen 65536 ;;
    maxlen) qp_syngate --install-rules --shed-rate "$QP_SHED" --lane no --ack-shed-rate 0 --queue-maxlen "$QP_MAXLEN" ;;
    ackshed) qp_hand 0 "$QP_ACK_RATE" 0 ;;
    split) qp_hand 1 "$QP_ACK_RATE" 0 ;;
    lane) qp_hand 1 "$QP_ACK_RATE" 1 ;;
    new | newcold) qp_syngate --install-rules --shed-rate "$QP_SHED" ${QP_NEW_ARGS:-} ;;
    synproxy) "$BN_DIR/ref_synproxy.sh" up "$SG_NS_R" "$BN_PORTS" 1460 "$BN_WSCALE" ;;
    *) sg_die "unknown system $1" ;;
    esac
}
qp_down() {
    case $1 in
    synproxy) "$BN_DIR/ref_synproxy.sh" down "$SG_NS_R" ;;
    *) bn_daemon_stop ;;
    esac
    if [ "$QP_HAND" = 1 ]; then
        printf '%s\n' '*raw' '-D PREROUTING -j SYNGATE-RAW' '-F SYNGATE-RAW' '-X SYNGATE-RAW' 'COMMIT' \
            '*mangle' '-D PREROUTING -j SYNGATE-MANGLE' '-F SYNGATE-MANGLE' '-X SYNGATE-MANGLE' 'COMMIT' |
            sg_in "$SG_NS_R" iptables-restore --noflush || true
        sg_in "$SG_NS_R" ipset destroy qplane 2>/dev/null || true
        QP_HAND=0
    fi
    sg_in "$SG_NS_R" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1 2>/dev/null || true
}

CUR=''
sg_on_exit 'if [ -n "$CUR" ]; then qp_down "$CUR"; fi'
sg_cleanup_on_exit
sg_topo_up
bn_setup
BN_WSCALE=$(bn_backend_wscale)
bn_spinner_start
sg_on_exit bn_spinner_stop

ROWS=()
for ((rep = 1; rep <= QP_REPEAT; rep++)); do
    for sys in $QP_SYSTEMS; do
        CUR=$sys
        qp_up "$sys" || { sg_log "$sys did not come up"; qp_down "$sys"; CUR=''; continue; }
        for cond in $QP_FLOODS; do
            # one warm-up connection: the lane holds clients that completed a handshake
            sg_in "$SG_NS_C" timeout 5 "$BN_LEGIT" -c "$SG_SRV4" -p 80 -t 1 -i 500 -w 3000 >/dev/null 2>&1 || true
            flusher=''
            rx0=$(bn_rxdrop "$SG_NS_R" "$SG_IF_RC"); qd0=$(bn_qdrop)
            if [ "$sys" = newcold ]; then
                sg_bg "$SG_NS_R" /dev/null sh -c 'while :; do ipset flush syngate-lane4; sleep 0.05; done'
                flusher=$SG_BG_PID
            fi
            [ "$sys" = new ] && sg_log "lane: $(sg_in "$SG_NS_R" ipset list syngate-lane4 | tail -n +9 | tr '\n' ' ')"
            row=$(bn_legit "$sys" "$cond" "$QP_SECS") || row="$sys	$cond	failed"
            if [ -n "$flusher" ]; then kill "$flusher"; wait "$flusher" 2>/dev/null || true; fi
            [ "$sys" = new ] && sg_log "lane stats: $(sg_in "$SG_NS_R" "$BN_SYNGATE" stats --control "$BN_CTL" | grep lane_ | tr -s ' \n' ' ')"
            sg_log "row: $row qdrop=$(($(bn_qdrop) - qd0)) rxdrop=$(($(bn_rxdrop "$SG_NS_R" "$SG_IF_RC") - rx0))"
            ROWS+=("$row")
        done
        qp_down "$sys"
        CUR=''
    done
done

{
    printf '| system | flood | flood pps | attempts | success %% | conn p50 ms | p90 | p99 | echo p99 | core1 %% | fail t/ref/rst/noecho/other/open |\n'
    printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
    for r in "${ROWS[@]}"; do echo "| ${r//$'\t'/ | } |"; done
} | tee ${QP_OUT:+"$QP_OUT"}
