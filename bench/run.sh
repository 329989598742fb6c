#!/usr/bin/env bash
# bench/run.sh — syngate side by side with the kernel's SYNPROXY, plain forwarding and a
# null NFQUEUE daemon, in one run (root; ~4-5 minutes). Build first:
#   cmake -S . -B build && make -C build -j2
#   sudo bench/run.sh            # table on stdout and in bench/results/latest.md
#
# Topology: tests/net/lib.sh (client ns <-> router ns <-> server ns over veths). The router
# namespace is the system under test; its work runs on core 1 (RPS on its veths, daemons
# pinned with taskset), generators and endpoints on core 0. See bench/README.md.
#
# Environment: BN_FLOOD_SECS (4) seconds per flood, BN_RATES ("50000 100000 150000 200000 300000 max"),
# BN_REPEAT (1) floods per point, BN_CONN_SECS (5), BN_BULK_SECS (10), BN_SYSTEMS (the flood
# systems, default "synproxy syngate null-reflect null-accept"), BN_CONN_SYSTEMS (connection-rate
# systems, default "plain plain-ct synproxy synproxy-nots syngate"; also synproxy-stall),
# BN_DAEMON_SCHED, BN_SHED_RATE (see lib_bench.sh), BN_SKIP ("" or any of
# flood hping connrate bulk), BN_OUT (bench/results/latest.md).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
SG_PREFIX=${SG_PREFIX:-bn}
# shellcheck source=../tests/net/lib.sh
. "$BENCH_DIR/../tests/net/lib.sh"
# shellcheck source=lib_bench.sh
. "$BENCH_DIR/lib_bench.sh"

BN_FLOOD_SECS=${BN_FLOOD_SECS:-4}
BN_RATES=${BN_RATES:-"50000 100000 150000 200000 300000 max"}
BN_REPEAT=${BN_REPEAT:-1}
BN_CONN_SECS=${BN_CONN_SECS:-5}
BN_BULK_SECS=${BN_BULK_SECS:-10}
BN_SYSTEMS=${BN_SYSTEMS:-"synproxy syngate null-reflect null-accept"}
BN_CONN_SYSTEMS=${BN_CONN_SYSTEMS:-"plain plain-ct synproxy synproxy-nots syngate"}
BN_SKIP=${BN_SKIP:-}
BN_OUT=${BN_OUT:-$BENCH_DIR/results/latest.md}

skip() { [[ " $BN_SKIP " == *" $1 "* ]]; }

sg_require_root
sg_require_cmds ip iptables nft taskset timeout jq awk conntrack chrt nice
skip hping || sg_require_cmds hping3
skip bulk || sg_require_cmds iperf3
for b in "$BN_SYNGATE" "$BN_BIN/synflood" "$BN_BIN/connrate" "$BN_BIN/nfq_null"; do
    [ -x "$b" ] || sg_die "missing $b: cmake -S . -B build && make -C build -j2"
done
[ "$(nproc)" -ge 2 ] || sg_die "needs 2 cores (generator on 0, router on 1)"

CUR_SYS=''
sg_on_exit 'if [ -n "$CUR_SYS" ]; then bn_sys_down "$CUR_SYS"; fi'
sg_cleanup_on_exit
SG_KEEP_TMP=${SG_KEEP_TMP:-0}
T0=$(sg_now)
sg_topo_up
bn_setup
BN_WSCALE=$(bn_backend_wscale)
[[ $BN_WSCALE =~ ^[0-9]+$ ]] || sg_die "could not read the backend's window scale"
sg_log "backend announces wscale $BN_WSCALE: SYNPROXY and syngate are told the same"
bn_spinner_start
sg_on_exit bn_spinner_stop

FLOOD_ROWS=() CONN_ROWS=() BULK_ROWS=()
with_sys() { # SYSTEM CMD... : bring SYSTEM up, run CMD, bring it down
    local sys=$1; shift
    CUR_SYS=$sys
    bn_sys_up "$sys"
    "$@"
    bn_sys_down "$sys"
    CUR_SYS=''
}

# background load on the router core before we start (other jobs on this machine)
sleep 0.5
c0=$(bn_cpu_snap "$BN_RTR_CPU"); sleep 2; c1=$(bn_cpu_snap "$BN_RTR_CPU")
IDLE_BUSY=$(awk -v a="$c0" -v b="$c1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }')
sg_log "core $BN_RTR_CPU busy ${IDLE_BUSY}% before any load (other jobs)"

floods() {
    local sys=$1 rate i row
    if ! skip flood; then
        for rate in $BN_RATES; do
            for ((i = 0; i < BN_REPEAT; i++)); do
                row=$(bn_flood "$sys" synflood "$rate" "$BN_FLOOD_SECS")
                sg_log "flood: $row"
                FLOOD_ROWS+=("$row")
            done
        done
    fi
    if ! skip hping; then
        row=$(bn_flood "$sys" hping3 max "$BN_FLOOD_SECS")
        sg_log "flood: $row"
        FLOOD_ROWS+=("$row")
    fi
    if [ "$sys" = syngate ]; then
        sg_in "$SG_NS_R" "$BN_SYNGATE" stats --control "$BN_CTL" >"$SG_TMP/syngate.stats.txt" 2>&1 || true
    fi
}
for sys in $BN_SYSTEMS; do with_sys "$sys" floods "$sys"; done

conns() { local row; row=$(bn_connrate "$1" "$BN_CONN_SECS"); sg_log "connrate: $row"; CONN_ROWS+=("$row"); }
if ! skip connrate; then
    for sys in $BN_CONN_SYSTEMS; do with_sys "$sys" conns "$sys"; done
fi

bulk() { local row; row=$(bn_bulk "$1" "$BN_BULK_SECS"); sg_log "bulk: $row"; BULK_ROWS+=("$row"); }
if ! skip bulk; then
    for sys in plain plain-ct synproxy syngate; do with_sys "$sys" bulk "$sys"; done
fi

# ---------------------------------------------------------------- report
report() {
    local r
    echo "# syngate benchmark — $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Host: $(uname -r), $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo))." \
        "Router namespace on core $BN_RTR_CPU (RPS + taskset), generators and endpoints on core $BN_GEN_CPU." \
        "Core $BN_RTR_CPU was ${IDLE_BUSY}% busy before the run (other jobs): numbers are noisy." \
        "Backend window scale $BN_WSCALE (given to SYNPROXY and to syngate --default-wscale; syngate runs with --learn no)."
    echo "syngate $("$BN_SYNGATE" --version 2>/dev/null | head -1), commit $(git -C "$SG_ROOT_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$SG_ROOT_DIR" diff --quiet 2>/dev/null || echo '+dirty')."
    echo
    if [ ${#FLOOD_ROWS[@]} -gt 0 ]; then
        echo "## SYN flood: answers per second on one router core (${BN_FLOOD_SECS} s per point)"
        echo
        echo "answered = SYN-ACKs reaching the client ns (null-accept: SYNs reaching the server)."
        echo "µs/answer = core-$BN_RTR_CPU busy time / answers. qdrop = NFQUEUE queue+user drops, rxdrop = router veth backlog drops."
        echo
        echo "| system | generator | target pps | offered pps | answered/s | answered % | core$BN_RTR_CPU busy % | µs/answer | qdrop | rxdrop |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        for r in "${FLOOD_ROWS[@]}"; do echo "| ${r//$'\t'/ | } |"; done
        echo
    fi
    if [ ${#CONN_ROWS[@]} -gt 0 ]; then
        echo "## New connections per second, no flood (${BN_CONN_SECS} s, ${BN_CONN_PAR:-64} in flight; server writes 1 byte and closes)"
        echo
        echo "| system | conn/s | failed | avg ms | max ms | core$BN_RTR_CPU busy % | failed: refused/reset/timeout/other/open |"
        echo "|---|---:|---:|---:|---:|---:|---|"
        for r in "${CONN_ROWS[@]}"; do echo "| ${r//$'\t'/ | } |"; done
        echo
    fi
    if [ ${#BULK_ROWS[@]} -gt 0 ]; then
        echo "## Bulk TCP throughput, iperf3 one stream (${BN_BULK_SECS} s)"
        echo
        echo "| system | direction | Gbit/s | retransmits | core$BN_RTR_CPU busy % |"
        echo "|---|---|---:|---:|---:|"
        for r in "${BULK_ROWS[@]}"; do echo "| ${r//$'\t'/ | } |"; done
        local plain sg
        plain=$(printf '%s\n' "${BULK_ROWS[@]}" | awk -F'\t' '$1 == "plain" { print $3 }')
        sg=$(printf '%s\n' "${BULK_ROWS[@]}" | awk -F'\t' '$1 == "syngate" { print $3 }')
        if [ -n "$plain" ] && [ -n "$sg" ]; then
            echo
            awk -v p="$plain" -v s="$sg" 'BEGIN { d = p > 0 ? 100 * (s - p) / p : 0
                printf "syngate vs plain forwarding: %+.1f%% (target: within 5%%) — %s\n", d, (d >= -5 ? "OK" : "BELOW TARGET") }'
        fi
        echo
    fi
    echo "Total run time: $(sg_elapsed "$T0") s. Raw outputs: kept with SG_KEEP_TMP=1."
}
mkdir -p "$(dirname "$BN_OUT")"
report | tee "$BN_OUT"
