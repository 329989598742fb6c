#!/usr/bin/env bash
# bench/onhost.sh — on-host placement: the kernel's SYNPROXY in its documented on-host setup
# against syngate --placement on-host, each in the server namespace beside the server.
#
#   bench/onhost.sh            # writes BN_OUT (default bench/results/onhost.md)
#
# Systems (BN_ONHOST_SYSTEMS):
#   plain-onhost     no protection (the server's own SYN cookies, tcp_syncookies=1): the
#                    server's cost without any proxy
#   synproxy-onhost  the documented rules (iptables-extensions(8), SYNPROXY; in the server ns,
#                    IF the server's veth):
#                      raw PREROUTING: -i IF -p tcp --syn --dport 80 -j CT --notrack
#                      INPUT: -i IF -p tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED
#                             -j SYNPROXY --sack-perm --timestamp --wscale W --mss 1460
#                      INPUT: -m conntrack --ctstate INVALID -j DROP
#                    and nf_conntrack_tcp_loose=0; W is the server's own window scale
#                    (bn_backend_wscale), as SYNPROXY needs it told.  Measured here: its ACK
#                    to the listener carries TSecr + tsoff (TcpExtTSEcrRejected +1 per
#                    connection), so the listener completes the handshake only on the
#                    client's first data, and under load connections stall up to 1.7 s
#   synproxy-onhost-tuned  the same plus raw OUTPUT: -o lo -p tcp --dport 80 --tcp-flags
#                    FIN,SYN,RST,ACK ACK -j CT --notrack (its ACK to the listener untracked:
#                    the hook leaves its TSecr alone; no rejects, no stalls)
#   syngate-onhost   syngate run --placement on-host --xdp generic on the server's veth
#                    (--learn no --default-wscale W, as bench/run.sh runs it)
#   syngate-onhost-noxdp  the same with --xdp off (the queue path alone)
#
# Layout (2 cores): core 0 runs the generators, the client and the router (their veths'
# rx by RPS); core 1 is the server: its veth's rx (RPS), nginx and the protection's daemon.
# So core 1's busy time is the whole cost on the server (bn_spinner_start keeps its tick
# running; lib_bench.sh).
#
# Measured per system (lib_bench.sh): bn_wrk with no flood and under one hping3 -S --flood
# (wrk -t2 -c64 'Connection: close' against nginx-light: every request a new connection),
# and bn_legit under the same flood (a connection every 10 ms, connect + echo). The ratios
# syngate / SYNPROXY are printed at the end. A short run (BN_WRK_SECS, BN_LEGIT_SECS: 5 s)
# on a shared machine: compare within a run, not across runs.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
SG_PREFIX=${SG_PREFIX:-bo}
. "$BENCH_DIR/../tests/net/lib.sh"
. "$BENCH_DIR/lib_bench.sh"

BN_PORTS=80
BN_WRK_SECS=${BN_WRK_SECS:-5}
BN_LEGIT_SECS=${BN_LEGIT_SECS:-5}
BN_ONHOST_SYSTEMS=${BN_ONHOST_SYSTEMS:-"plain-onhost synproxy-onhost synproxy-onhost-tuned syngate-onhost syngate-onhost-noxdp"}
BN_REF=${BN_REF:-synproxy-onhost-tuned}  # the ratios' denominator
# the floods under wrk: hping3 at its maximum (its rate depends on what the answers cost
# core 0, so it differs per system; the table shows it) and synflood at one fixed rate
BN_ONHOST_FLOODS=${BN_ONHOST_FLOODS:-"hping synflood:${BN_ONHOST_RATE:-50000}"}
BN_OUT=${BN_OUT:-$BENCH_DIR/results/onhost.md}
BN_SRV_CPU=$BN_RTR_CPU  # the server core: lib_bench.sh measures BN_RTR_CPU

sg_require_root
sg_require_cmds ip iptables taskset timeout jq awk conntrack chrt nice hping3 wrk nginx
for b in "$BN_SYNGATE" "$BN_BIN/connrate" "$BN_BIN/legit"; do
    [ -x "$b" ] || sg_die "missing $b: cmake -S . -B build && make -C build -j2"
done
[ "$(nproc)" -ge 2 ] || sg_die "needs 2 cores (client and router on 0, server on 1)"

# onhost_up NAME / onhost_down NAME : the protection in the server ns
onhost_up() {
    local flags=()
    sg_in "$SG_NS_S" conntrack -F >/dev/null 2>&1 || true
    case $1 in
    plain-onhost) ;;
    synproxy-onhost | synproxy-onhost-tuned)
        sg_in "$SG_NS_S" iptables -w -t raw -N BNSPX
        sg_in "$SG_NS_S" iptables -w -t raw -A BNSPX -i "$SG_IF_S" -p tcp --syn --dport 80 -j CT --notrack
        sg_in "$SG_NS_S" iptables -w -t raw -I PREROUTING 1 -j BNSPX
        if [ "$1" = synproxy-onhost-tuned ]; then
            sg_in "$SG_NS_S" iptables -w -t raw -N BNSPXOUT
            sg_in "$SG_NS_S" iptables -w -t raw -A BNSPXOUT -o lo -p tcp --dport 80 \
                --tcp-flags FIN,SYN,RST,ACK ACK -j CT --notrack
            sg_in "$SG_NS_S" iptables -w -t raw -I OUTPUT 1 -j BNSPXOUT
        fi
        sg_in "$SG_NS_S" iptables -w -N BNSPX
        sg_in "$SG_NS_S" iptables -w -A BNSPX -i "$SG_IF_S" -p tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED \
            -j SYNPROXY --sack-perm --timestamp --wscale "$BN_WSCALE" --mss 1460
        sg_in "$SG_NS_S" iptables -w -A BNSPX -m conntrack --ctstate INVALID -j DROP
        sg_in "$SG_NS_S" iptables -w -I INPUT 1 -j BNSPX
        sg_in "$SG_NS_S" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
        ;;
    syngate-onhost | syngate-onhost-noxdp)
        if [ "$1" = syngate-onhost ]; then flags=(--xdp generic --interfaces "$SG_IF_S"); else flags=(--xdp off); fi
        BN_CTL=$SG_TMP/syngate.sock
        BN_DAEMON_LOG=$SG_TMP/syngate.$1.log
        sg_bg "$SG_NS_S" "$BN_DAEMON_LOG" taskset -c "$BN_SRV_CPU" "$BN_SYNGATE" run --key-file "$SG_TMP/key" --placement on-host \
            --ports 80 --install-rules --learn no --default-wscale "$BN_WSCALE" "${flags[@]}" \
            --control "$BN_CTL" --log-level warn
        BN_DAEMON_PID=$SG_BG_PID
        _bn_wait_file "$BN_CTL" || { cat "$BN_DAEMON_LOG" >&2; return 1; }
        ;;
    *) sg_die "unknown system $1" ;;
    esac
}
onhost_down() {
    case $1 in
    plain-onhost) ;;
    synproxy-onhost | synproxy-onhost-tuned)
        sg_in "$SG_NS_S" iptables -w -t raw -D OUTPUT -j BNSPXOUT 2>/dev/null || true
        sg_in "$SG_NS_S" iptables -w -t raw -F BNSPXOUT 2>/dev/null || true
        sg_in "$SG_NS_S" iptables -w -t raw -X BNSPXOUT 2>/dev/null || true
        sg_in "$SG_NS_S" iptables -w -t raw -D PREROUTING -j BNSPX 2>/dev/null || true
        sg_in "$SG_NS_S" iptables -w -t raw -F BNSPX 2>/dev/null || true
        sg_in "$SG_NS_S" iptables -w -t raw -X BNSPX 2>/dev/null || true
        sg_in "$SG_NS_S" iptables -w -D INPUT -j BNSPX 2>/dev/null || true
        sg_in "$SG_NS_S" iptables -w -F BNSPX 2>/dev/null || true
        sg_in "$SG_NS_S" iptables -w -X BNSPX 2>/dev/null || true
        ;;
    *) bn_daemon_stop ;;
    esac
    sg_in "$SG_NS_S" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1 2>/dev/null || true
    bn_nginx_stop
    bn_listener_stop
    bn_sink drop
}
# nginx on the server core (bn_nginx_start pins it to BN_GEN_CPU)
nginx_up() { BN_GEN_CPU=$BN_SRV_CPU bn_nginx_start; }

sg_cleanup_on_exit
sg_on_exit 'bn_spinner_stop; bn_daemon_stop; bn_nginx_stop; bn_listener_stop'
sg_topo_up
bn_setup
# the server's veth rx on core 1 with the server; the router's and the client's on core 0
for ns_if in "$SG_NS_R:$SG_IF_RC:1" "$SG_NS_R:$SG_IF_RS:1" "$SG_NS_C:$SG_IF_C:1" "$SG_NS_S:$SG_IF_S:2"; do
    IFS=: read -r ns ifc mask <<<"$ns_if"
    echo "$mask" | ip netns exec "$ns" tee "/sys/class/net/$ifc/queues/rx-0/rps_cpus" >/dev/null
done
BN_WSCALE=$(bn_backend_wscale)
sg_log "server window scale: $BN_WSCALE"
bn_spinner_start

WRK=$SG_TMP/onhost.wrk.tsv LEGIT=$SG_TMP/onhost.legit.tsv REJ=$SG_TMP/onhost.rej.tsv
: >"$WRK"
: >"$LEGIT"
: >"$REJ"
for sys in $BN_ONHOST_SYSTEMS; do
    sg_log "== $sys"
    r0=$(bn_srv_netstat TSEcrRejected)
    onhost_up "$sys"
    nginx_up
    for cond in none $BN_ONHOST_FLOODS; do
        bn_wrk "$sys" "$cond" "$BN_WRK_SECS" | tee -a "$WRK"
    done
    bn_nginx_stop
    bn_legit "$sys" hping "$BN_LEGIT_SECS" | tee -a "$LEGIT"
    onhost_down "$sys"
    printf '%s\t%s\n' "$sys" $(($(bn_srv_netstat TSEcrRejected) - r0)) >>"$REJ"
done
bn_spinner_stop

# ratio FILE SYS COND COL : SYS's column COL over BN_REF's, same condition
ratio() {
    awk -F'\t' -v s="$2" -v c="$3" -v k="$4" -v r="$BN_REF" '$2 == c && $1 == s { a = $k } $2 == c && $1 == r { b = $k }
        END { if (a != "" && b > 0) printf "%.2fx", a / b; else print "-" }' "$1"
}
{
    echo "# On-host placement: syngate vs the kernel's SYNPROXY (documented on-host setup)"
    echo
    echo "\`bench/onhost.sh\`, $(date -u +%Y-%m-%d), $(uname -r), $(nproc) cores shared with other jobs;"
    echo "wrk ${BN_WRK_SECS} s per cell, legit ${BN_LEGIT_SECS} s. Core 1 is the server: its rx, nginx and"
    echo "the protection's daemon; core 0 the client, generators, router (and the legit runs' echo listener)."
    echo "Server window scale $BN_WSCALE (told to SYNPROXY and syngate)."
    echo
    echo "## wrk -t2 -c64, Connection: close (every request a new connection), nginx-light"
    echo
    echo "| system | flood | flood pps | conn/s | errors | server core busy % | server µs/conn | daemon µs/conn |"
    echo "|---|---|---|---|---|---|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $5, $6, $7, $8, $9 }' "$WRK"
    echo
    echo "## Legitimate clients under hping3 -S --flood (connection every 10 ms, connect + echo)"
    echo
    echo "| system | flood pps | attempts | success % | connect p50 ms | p90 ms | p99 ms | server core busy % | failures t/r/R/e/o/open |"
    echo "|---|---|---|---|---|---|---|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $3, $4, $5, $6, $7, $8, $10, $11 }' "$LEGIT"
    echo
    echo "Segments the server's TCP rejected for a bad TSecr (TcpExtTSEcrRejected) over each"
    echo "system's runs: $(awk -F'\t' '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' "$REJ")."
    echo
    echo "## Ratios over $BN_REF"
    echo
    local_floods=($BN_ONHOST_FLOODS)
    printf '| system | conn/s, no flood |'
    for f in "${local_floods[@]}"; do printf ' conn/s, %s |' "$f"; done
    printf ' server µs/conn, no flood | legit success, hping |\n|---|---|'
    for f in "${local_floods[@]}"; do printf -- '---|'; done
    printf -- '---|---|\n'
    for sys in $BN_ONHOST_SYSTEMS; do
        [ "$sys" = "$BN_REF" ] && continue
        printf '| %s | %s |' "$sys" "$(ratio "$WRK" "$sys" none 5)"
        for f in "${local_floods[@]}"; do printf ' %s |' "$(ratio "$WRK" "$sys" "$f" 5)"; done
        printf ' %s | %s |\n' "$(ratio "$WRK" "$sys" none 8)" "$(ratio "$LEGIT" "$sys" hping 5)"
    done
} >"$BN_OUT.new"
mv "$BN_OUT.new" "$BN_OUT"
cat "$BN_OUT"
