#!/usr/bin/env bash
# bench/run.sh — syngate side by side with the kernel's SYNPROXY, plain forwarding (the
# server alone, with and without its own SYN cookies) and a null NFQUEUE daemon, in one run
# (root; ~18 minutes on 2 cores). Build first:
#   cmake -S . -B build && make -C build -j2
#   sudo bench/run.sh            # table on stdout and in bench/results/latest.md
#
# Topology: tests/net/lib.sh (client ns <-> router ns <-> server ns over veths). The router
# namespace is the system under test; its work runs on core 1 (RPS on its veths, daemons
# pinned with taskset), generators and endpoints on core 0. See bench/README.md.
#
# Scenarios: flood (SYN flood capacity, synflood rates + one hping3 flood), legit (legitimate
# clients with and without SYN/ACK floods), ack (ACK flood), connrate, bulk, and a real server
# (nginx-light) measured with wrk (with and without a flood), ab and connrate -g; then the
# targets table and the plots (gnuplot). See bench/README.md for what each measures.
#
# Environment: BN_FLOOD_SECS (4) seconds per flood, BN_RATES ("50000 100000 150000 200000 300000 max"),
# BN_REPEAT (1) floods per point, BN_CONN_SECS (5), BN_BULK_SECS (10), BN_SYSTEMS (the flood
# systems, default "synproxy syngate syngate-noxdp syngate-xdp null-reflect null-accept
# plain-sc0 plain-sc1"), BN_CONN_SYSTEMS (connection-rate systems, default "plain plain-ct
# synproxy synproxy-nots syngate syngate-noxdp syngate-xdp"; also synproxy-stall),
# BN_LEGIT_SYSTEMS / BN_ACK_SYSTEMS (default "plain-sc0 plain-sc1 synproxy syngate
# syngate-noxdp syngate-adaptive syngate-xdp"), BN_BULK_SYSTEMS ("plain plain-ct synproxy
# syngate syngate-noxdp syngate-xdp"), BN_XDP_MODE (generic), BN_LEGIT_FLOODS (floods the
# legit clients run under, besides none: "hping hping-ack hping-sa synflood:300000
# synflood-ack:300000"), BN_LEGIT_SECS (5), BN_LEGIT_INTERVAL_MS (10), BN_LEGIT_TIMEOUT_MS
# (3000), BN_LEGIT_RT (1: legit endpoints SCHED_FIFO), BN_ACK_SECS (4), BN_NGINX_SYSTEMS
# ("plain synproxy syngate syngate-noxdp syngate-adaptive syngate-xdp"), BN_WRK_SECS (5),
# BN_WRK_FLOODS ("hping"), BN_AB_RUNS (10), BN_AB_N (5000), BN_AB_TIMEOUT (30),
# BN_DAEMON_SCHED, BN_SHED_RATE (see lib_bench.sh), BN_SKIP ("" or any of flood hping legit
# ack connrate bulk wrk ab webconn nginx plot; nginx = wrk ab webconn), BN_OUT
# (bench/results/latest.md; the plots and data go next to it: latest-*.png, latest-*.tsv).
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
BN_SYSTEMS=${BN_SYSTEMS:-"synproxy syngate syngate-noxdp syngate-xdp null-reflect null-accept plain-sc0 plain-sc1"}
BN_CONN_SYSTEMS=${BN_CONN_SYSTEMS:-"plain plain-ct synproxy synproxy-nots syngate syngate-noxdp syngate-xdp"}
BN_LEGIT_SYSTEMS=${BN_LEGIT_SYSTEMS:-"plain-sc0 plain-sc1 synproxy syngate syngate-noxdp syngate-adaptive syngate-xdp"}
BN_LEGIT_FLOODS=${BN_LEGIT_FLOODS-"hping hping-ack hping-sa synflood:300000 synflood-ack:300000"}
BN_LEGIT_SECS=${BN_LEGIT_SECS:-5}
BN_ACK_SYSTEMS=${BN_ACK_SYSTEMS:-"plain-sc0 plain-sc1 synproxy syngate syngate-noxdp syngate-adaptive syngate-xdp"}
BN_ACK_SECS=${BN_ACK_SECS:-4}
BN_BULK_SYSTEMS=${BN_BULK_SYSTEMS:-"plain plain-ct synproxy syngate syngate-noxdp syngate-xdp"}
BN_NGINX_SYSTEMS=${BN_NGINX_SYSTEMS:-"plain synproxy syngate syngate-noxdp syngate-adaptive syngate-xdp"}
BN_WRK_SECS=${BN_WRK_SECS:-5}
BN_WRK_FLOODS=${BN_WRK_FLOODS-"hping"}
BN_AB_RUNS=${BN_AB_RUNS:-10}
BN_SKIP=${BN_SKIP:-}
BN_OUT=${BN_OUT:-$BENCH_DIR/results/latest.md}

skip() { [[ " $BN_SKIP " == *" $1 "* ]]; }
# the real-server scenarios: BN_SKIP=nginx skips all three
web_skip() { skip nginx || skip "$1"; }

sg_require_root
sg_require_cmds ip iptables nft taskset timeout jq awk conntrack chrt nice
{ skip hping && skip legit && skip ack && web_skip wrk; } || sg_require_cmds hping3
web_skip wrk || sg_require_cmds wrk nginx
web_skip ab || sg_require_cmds ab nginx
web_skip webconn || sg_require_cmds nginx
skip plot || command -v gnuplot >/dev/null 2>&1 ||
    sg_log "gnuplot not found: no plots (apt-get install -y gnuplot-nox, or BN_SKIP=plot)"
skip bulk || sg_require_cmds iperf3
for b in "$BN_SYNGATE" "$BN_BIN/synflood" "$BN_BIN/connrate" "$BN_BIN/nfq_null" "$BN_BIN/legit"; do
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

FLOOD_ROWS=() CONN_ROWS=() BULK_ROWS=() LEGIT_ROWS=() ACK_ROWS=() WRK_ROWS=() AB_ROWS=() WEBCONN_ROWS=()
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

legits() {
    local sys=$1 cond row
    for cond in none $BN_LEGIT_FLOODS; do
        row=$(bn_legit "$sys" "$cond" "$BN_LEGIT_SECS") || row=''
        sg_log "legit: $row"
        [ -n "$row" ] && LEGIT_ROWS+=("$row")
    done
}
if ! skip legit; then
    for sys in $BN_LEGIT_SYSTEMS; do with_sys "$sys" legits "$sys"; done
fi

acks() { local row; row=$(bn_ackflood "$1" "$BN_ACK_SECS") || row=''; sg_log "ack flood: $row"; [ -n "$row" ] && ACK_ROWS+=("$row"); }
if ! skip ack; then
    for sys in $BN_ACK_SYSTEMS; do with_sys "$sys" acks "$sys"; done
fi

conns() { local row; row=$(bn_connrate "$1" "$BN_CONN_SECS"); sg_log "connrate: $row"; CONN_ROWS+=("$row"); }
if ! skip connrate; then
    for sys in $BN_CONN_SYSTEMS; do with_sys "$sys" conns "$sys"; done
fi

bulk() { local row; row=$(bn_bulk "$1" "$BN_BULK_SECS"); sg_log "bulk: $row"; BULK_ROWS+=("$row"); }
if ! skip bulk; then
    for sys in $BN_BULK_SYSTEMS; do with_sys "$sys" bulk "$sys"; done
fi

# the real server: nginx-light in the server ns; wrk (no flood first, the floods last so
# they disturb nothing else), ab runs, connrate -g
webs() {
    local sys=$1 cond row
    bn_nginx_start || { sg_log "nginx: did not start for $sys"; return 0; }
    if ! web_skip wrk; then
        row=$(bn_wrk "$sys" none "$BN_WRK_SECS") || row=''
        sg_log "wrk: $row"
        [ -n "$row" ] && WRK_ROWS+=("$row")
    fi
    if ! web_skip ab; then
        row=$(bn_ab "$sys" "$BN_AB_RUNS") || row=''
        sg_log "ab: $row"
        [ -n "$row" ] && AB_ROWS+=("$row")
    fi
    if ! web_skip webconn; then
        row=$(bn_connrate "$sys" "$BN_CONN_SECS" nginx) || row=''
        sg_log "connrate (nginx): $row"
        [ -n "$row" ] && WEBCONN_ROWS+=("$row")
    fi
    if ! web_skip wrk; then
        for cond in $BN_WRK_FLOODS; do
            row=$(bn_wrk "$sys" "$cond" "$BN_WRK_SECS") || row=''
            sg_log "wrk: $row"
            [ -n "$row" ] && WRK_ROWS+=("$row")
        done
    fi
    bn_nginx_stop
}
if ! web_skip wrk || ! web_skip ab || ! web_skip webconn; then
    for sys in $BN_NGINX_SYSTEMS; do with_sys "$sys" webs "$sys"; done
fi

# ---------------------------------------------------------------- report
RES_BASE=${BN_OUT%.md}
RES_NAME=$(basename "$RES_BASE")
mkdir -p "$(dirname "$BN_OUT")"
rows_tsv() { local r; for r in "$@"; do printf '%s\n' "$r"; done; }
[ ${#FLOOD_ROWS[@]} -gt 0 ] && rows_tsv "${FLOOD_ROWS[@]}" >"$RES_BASE-flood.tsv"
[ ${#LEGIT_ROWS[@]} -gt 0 ] && rows_tsv "${LEGIT_ROWS[@]}" >"$RES_BASE-legit.tsv"
PLOTS=''
if ! skip plot && command -v gnuplot >/dev/null 2>&1; then
    PLOTS=$("$BENCH_DIR/plot.sh" "$RES_BASE" "${BN_LEGIT_TIMEOUT_MS:-3000}" 2>"$SG_TMP/plot.err") ||
        sg_log "plot.sh failed: $(cat "$SG_TMP/plot.err")"
fi
has_plot() { [[ $PLOTS == *"$RES_BASE-$1.png"* ]]; }

# legit rows with the p99(flood)/p99(no flood) ratio appended
legit_table_rows() {
    rows_tsv "${LEGIT_ROWS[@]}" | awk -F'\t' -v OFS='\t' '
        { r[NR] = $0; if ($2 == "none") base[$1] = $8 }
        END { for (i = 1; i <= NR; i++) { split(r[i], f, "\t")
                  b = base[f[1]]
                  if (f[2] == "none") q = "1 (baseline)"
                  else if (f[8] == "inf") q = "∞"
                  else if (b == "" || b == "inf" || b + 0 == 0) q = "–"
                  else q = sprintf("%.2f", f[8] / b)
                  fl = f[2] == "none" ? "–" : f[3]
                  print f[1], f[2], fl, f[4], f[5], f[6], f[8], q, f[9], f[10], f[11] } }'
}

# with_ratio KEYCOL VALCOL AFTERCOL : rows on stdin (tab-separated); after column AFTERCOL,
# insert VALCOL / the same value of the synproxy row whose column KEYCOL matches (0 = no key:
# the one synproxy row); "–" without one
with_ratio() {
    awk -F'\t' -v OFS='\t' -v kc="$1" -v vc="$2" -v ac="$3" '
        { r[NR] = $0; if ($1 == "synproxy") ref[kc ? $kc : ""] = $vc }
        END { for (i = 1; i <= NR; i++) { n = split(r[i], f, "\t"); b = ref[kc ? f[kc] : ""]
                  q = (b + 0 > 0 && f[vc] != "-") ? sprintf("%.2f×", f[vc] / b) : "–"
                  line = ""
                  for (j = 1; j <= n; j++) { line = line (j > 1 ? OFS : "") f[j]; if (j == ac) line = line OFS q }
                  print line } }'
}

report() {
    local r
    echo "# syngate benchmark — $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Host: $(uname -r), $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo))." \
        "Router namespace on core $BN_RTR_CPU (RPS + taskset), generators and endpoints on core $BN_GEN_CPU." \
        "Core $BN_RTR_CPU was ${IDLE_BUSY}% busy before the run (other jobs): numbers are noisy." \
        "Backend window scale $BN_WSCALE (given to SYNPROXY and to syngate --default-wscale; syngate runs with --learn no)." \
        "syngate shed-rate: ${BN_SHED_RATE:-default (100000)}. The server's tcp_syncookies is $BN_SRV_SYNCOOKIES (kernel default) except in plain-sc0/plain-sc1."
    echo "syngate $("$BN_SYNGATE" --version 2>/dev/null | head -1), commit $(git -C "$SG_ROOT_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$SG_ROOT_DIR" diff --quiet 2>/dev/null || echo '+dirty')."
    echo
    echo "Systems: \`plain-sc0\` / \`plain-sc1\` = plain forwarding router, no protection, the server with" \
        "tcp_syncookies 0 / 1; \`synproxy\` = kernel SYNPROXY (bench/ref_synproxy.sh); \`syngate\` = default" \
        "options, nothing else (mode always, xdp auto: the router's default-route veth, the client side, none named); \`syngate-adaptive\` = \`--mode adaptive\`; \`syngate-xdp\` = syngate with" \
        "its XDP fast path (\`--xdp $BN_XDP_MODE\` on the router's client-facing veth, docs/xdp.md);" \
        "\`syngate-noxdp\` = \`--xdp off\` (the NFQUEUE path whatever the default); \`null-reflect\` / \`null-accept\` =" \
        "null NFQUEUE daemons under syngate's rules. Spoofed sources (hping3 --rand-source, synflood) are all in 198.18.0.0/15."
    echo
    local all=$((${#FLOOD_ROWS[@]} + ${#LEGIT_ROWS[@]} + ${#CONN_ROWS[@]} + ${#BULK_ROWS[@]} + ${#WRK_ROWS[@]} + ${#AB_ROWS[@]} + ${#WEBCONN_ROWS[@]}))
    if [ "$all" -gt 0 ]; then
        {
            for r in "${FLOOD_ROWS[@]+"${FLOOD_ROWS[@]}"}"; do printf 'F\t%s\n' "$r"; done
            for r in "${LEGIT_ROWS[@]+"${LEGIT_ROWS[@]}"}"; do printf 'L\t%s\n' "$r"; done
            for r in "${CONN_ROWS[@]+"${CONN_ROWS[@]}"}"; do printf 'C\t%s\n' "$r"; done
            for r in "${BULK_ROWS[@]+"${BULK_ROWS[@]}"}"; do printf 'B\t%s\n' "$r"; done
            for r in "${WRK_ROWS[@]+"${WRK_ROWS[@]}"}"; do printf 'W\t%s\n' "$r"; done
            for r in "${AB_ROWS[@]+"${AB_ROWS[@]}"}"; do printf 'A\t%s\n' "$r"; done
            for r in "${WEBCONN_ROWS[@]+"${WEBCONN_ROWS[@]}"}"; do printf 'N\t%s\n' "$r"; done
        } | awk -F'\t' -v shed="${BN_SHED_RATE:-}" -v tmo_ms="${BN_LEGIT_TIMEOUT_MS:-3000}" \
            -v ab_runs="$BN_AB_RUNS" -f "$BENCH_DIR/targets.awk"
        echo
    fi
    if [ ${#FLOOD_ROWS[@]} -gt 0 ]; then
        echo "## SYN flood: answers per second on one router core (${BN_FLOOD_SECS} s per point)"
        echo
        echo "answered = SYN-ACKs reaching the client ns (null-accept: SYNs reaching the server; plain-sc*: the" \
            "server's own SYN-ACKs, its retransmissions subtracted, with a fresh listener per point, backlog 4096)."
        echo "µs/answer = core-$BN_RTR_CPU busy time / answers. qdrop = NFQUEUE queue+user drops, rxdrop = router veth backlog drops."
        echo "hping3 rows: \`hping3 -S --flood --rand-source\`, its own maximum rate on core $BN_GEN_CPU."
        echo
        has_plot flood && echo "![answered vs offered]($RES_NAME-flood.png)" && echo
        echo "| system | generator | target pps | offered pps | answered/s | answered % | core$BN_RTR_CPU busy % | µs/answer | qdrop | rxdrop |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        for r in "${FLOOD_ROWS[@]}"; do echo "| ${r//$'\t'/ | } |"; done
        echo
    fi
    if [ ${#LEGIT_ROWS[@]} -gt 0 ]; then
        echo "## Legitimate clients under flood (${BN_LEGIT_SECS} s of clients per row)"
        echo
        echo "One new connection every ${BN_LEGIT_INTERVAL_MS:-10} ms from the client's own address (open loop):" \
            "connect, write 1 byte, wait for the server's echo, close; success = echo within" \
            "${BN_LEGIT_TIMEOUT_MS:-3000} ms. connect = connect() until writable (through a proxy: the proxy's SYN-ACK)," \
            "echo = until the server's byte (proves the backend path). Percentiles over all attempts, a failure" \
            "counting as infinitely slow (\"inf\": more than 1% failed). Flood: none; \`hping\` =" \
            "\`hping3 -S --flood --rand-source\` (its maximum, on core $BN_GEN_CPU with the endpoints, which run" \
            "SCHED_FIFO so the generator does not delay them); \`hping-ack\` = \`hping3 -A --flood --rand-source\`;" \
            "\`hping-sa\` = both hping3 floods at once (SYN and ACK); \`synflood:R\` = synflood at R SYN/s;" \
            "\`synflood-ack:R\` = \`synflood -A\` at R ACKs/s (random seq/ack/TS). The flood" \
            "starts 1 s before the clients and stops after the last one. flood pps = the generators' sent rate (hping-sa: both together)." \
            "failures: timeout/refused/reset/noecho/other/open."
        echo
        has_plot legit && echo "![legit clients: p99 and success]($RES_NAME-legit.png)" && echo
        echo "| system | flood | flood pps | connections | success % | connect p50 ms | connect p99 ms | p99 / no-flood p99 | echo p99 ms | core$BN_RTR_CPU busy % | failures |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        legit_table_rows | while IFS= read -r r; do echo "| ${r//$'\t'/ | } |"; done
        echo
    fi
    if [ ${#ACK_ROWS[@]} -gt 0 ]; then
        echo "## ACK flood (\`hping3 -A --flood --rand-source\`, ${BN_ACK_SECS} s)"
        echo
        echo "reached server = flood packets arriving in the server ns (iptables counter, raw PREROUTING," \
            "source 198.18.0.0/15). bad cookies/s: syngate's cookies_invalid, SYNPROXY's cookie_invalid." \
            "qdrop = NFQUEUE drops (ACKs syngate never saw: the queue was full)."
        echo
        echo "| system | offered pps | reached server /s | reached % | core$BN_RTR_CPU busy % | bad cookies /s | qdrop |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        for r in "${ACK_ROWS[@]}"; do echo "| ${r//$'\t'/ | } |"; done
        echo
    fi
    if [ ${#WRK_ROWS[@]} -gt 0 ] || [ ${#AB_ROWS[@]} -gt 0 ] || [ ${#WEBCONN_ROWS[@]} -gt 0 ]; then
        echo "## Real server: nginx-light"
        echo
        echo "nginx (Debian's nginx-light, one worker, backlog 4096, a 40-byte static page) in the server ns on" \
            "core $BN_GEN_CPU with the clients and the flood generators; × SYNPROXY = the system's figure / SYNPROXY's" \
            "in the same conditions of this run."
        echo
    fi
    if [ ${#WRK_ROWS[@]} -gt 0 ]; then
        echo "### wrk, new connections per second (\`wrk -t2 -c64 -d${BN_WRK_SECS}s -H 'Connection: close'\`)"
        echo
        echo "Every request is a new connection. flood: none, or \`hping\` = \`hping3 -S --flood --rand-source\`" \
            "started 1 s before wrk (flood pps = its sent rate). errors = wrk's socket errors (connect/read/write/timeout" \
            "3 s) + non-2xx responses. router µs/conn = core-$BN_RTR_CPU busy time over the run / connections (under a" \
            "flood, the flood's cost included); daemon µs/conn = syngate's own CPU time (all threads) / connections."
        echo
        echo "| system | flood | flood pps | connections | conn/s | × SYNPROXY | errors | core$BN_RTR_CPU busy % | router µs/conn | daemon µs/conn | errors: connect/read/write/timeout/non-2xx |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        rows_tsv "${WRK_ROWS[@]}" | with_ratio 2 5 5 | while IFS= read -r r; do echo "| ${r//$'\t'/ | } |"; done
        echo
    fi
    if [ ${#AB_ROWS[@]} -gt 0 ]; then
        echo "### ab, ${BN_AB_RUNS} runs of \`ab -n ${BN_AB_N:-5000} -c 64\` (no flood)"
        echo
        echo "hung = the run stopped on its own bound (a response missing for 5 s, \`ab -s 5\`, or" \
            "${BN_AB_TIMEOUT:-30} s in all); failed = ab's failed requests + non-2xx responses (\`ab -r\`: a reset is a" \
            "failed request); other errors = runs that ended with another error. req/s over the runs that finished."
        echo
        echo "| system | runs | clean | with failures | hung | other errors | failed requests | completed | mean req/s | × SYNPROXY | min req/s |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        rows_tsv "${AB_ROWS[@]}" | with_ratio 0 9 9 | while IFS= read -r r; do echo "| ${r//$'\t'/ | } |"; done
        echo
    fi
    if [ ${#WEBCONN_ROWS[@]} -gt 0 ]; then
        echo "### connrate against nginx (\`connrate -g -n ${BN_CONN_PAR:-64}\`, ${BN_CONN_SECS} s, no flood)"
        echo
        echo "${BN_CONN_PAR:-64} connections in flight as fast as they complete: connect, \`GET / HTTP/1.0\`, count at the" \
            "response's first byte, close with an RST. resets = connections reset before the response."
        echo
        echo "| system | conn/s | × SYNPROXY | failed | resets | avg ms | max ms | core$BN_RTR_CPU busy % | failed: refused/reset/timeout/other/open |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
        rows_tsv "${WEBCONN_ROWS[@]}" | with_ratio 0 2 2 |
            awk -F'\t' -v OFS='\t' '{ split($8, k, "/"); print $1, $2, $3, $4, k[2], $5, $6, $7, $8 }' |
            while IFS= read -r r; do echo "| ${r//$'\t'/ | } |"; done
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
                printf "syngate vs plain forwarding: %+.1f%%\n", d }'
        fi
        echo
    fi
    echo "Total run time: $(sg_elapsed "$T0") s. Raw outputs: kept with SG_KEEP_TMP=1. Spoofed-source rewrites in the client ns (nft counters, rewritten / dropped): $(bn_spoof_count)."
}
report | tee "$BN_OUT"
