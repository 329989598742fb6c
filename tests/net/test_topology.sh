#!/usr/bin/env bash
# tests/net/test_topology.sh — checks the netns harness itself and the kernel SYNPROXY
# reference setup (bench/ref_synproxy.sh).  One function per case (tests/net/README.md:
# `test_topology.sh --list`, `test_topology.sh CASE...`):
#   forwarding  (a) plain forwarding: HTTP over v4 and v6, server sees the real client address
#   bulk        (b) bulk transfer, BYTES (default 100 MB) each way, v4 and v6, sha256 identical
#   synproxy    (c) kernel SYNPROXY on the router: HTTP v4+v6 still works; during a hping3
#               flood HTTP keeps working and the server sees one SYN per real connection,
#               no flood SYN
#   teardown    (d) every namespace is gone after sg_topo_down (a case after it sets the
#               topology up again)
# Needs root, ip, nft, iptables, ip6tables, curl, python3, ss, timeout; hping3 for (c).
# Env: SG_BULK_BYTES (default 104857600), SG_FLOOD_SECS (default 5), SG_FLOOD_OPTS (lib.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$HERE/lib.sh"
REF=$SG_ROOT_DIR/bench/ref_synproxy.sh

BYTES=${SG_BULK_BYTES:-104857600}
FLOOD_SECS=${SG_FLOOD_SECS:-5}
PORT=8080
SG_CASES=(forwarding bulk synproxy teardown)
REF_HOOK=0

sg_setup() {
    sg_need ip nft iptables ip6tables curl "$SG_PYTHON" ss timeout awk || exit
    sg_topo_up
    sg_http_server "$PORT"
}

# ------------------------------------------------------------------ (a) forwarding
forwarding() {
    sg_assert "(a) curl v4 through the router" sg_curl_ok "http://$SG_SRV4:$PORT/"
    sg_assert "(a) curl v6 through the router" sg_curl_ok "http://[$SG_SRV6]:$PORT/"
    sleep 0.2
    sg_assert "(a) server log shows the real client v4 address $SG_CLI4" \
        grep -q "^::ffff:$SG_CLI4 .*\"GET / " "$SG_HTTP_LOG"
    sg_assert "(a) server log shows the real client v6 address $SG_CLI6" \
        grep -q "^$SG_CLI6 .*\"GET / " "$SG_HTTP_LOG"
}

# ------------------------------------------------------------------ (b) bulk
bulk() {
    sg_assert "(b) bulk $BYTES bytes each way over IPv4, sha256 identical" sg_bulk_check "$SG_SRV4" 9000 "$BYTES"
    sg_log "(b) v4: ${SG_BULK_SECS}s"
    sg_assert_eq "(b) bulk server saw the real v4 client" "$SG_BULK_PEER" "$SG_CLI4"
    sg_assert "(b) bulk $BYTES bytes each way over IPv6, sha256 identical" sg_bulk_check "$SG_SRV6" 9001 "$BYTES"
    sg_log "(b) v6: ${SG_BULK_SECS}s"
    sg_assert_eq "(b) bulk server saw the real v6 client" "$SG_BULK_PEER" "$SG_CLI6"
}

# ------------------------------------------------------------------ (c) kernel SYNPROXY
synproxy() {
    sg_need hping3 || return
    local s0 s1 sent st0 st1 rx0 rx1 ok bad n maxlat tf tc url code lat
    sg_syn_counter_install "$PORT"

    # the counter works: a short flood without protection does reach the server
    s0=$(sg_syn_count "$PORT")
    sg_flood 1 "$PORT"
    sent=$(sg_flood_wait 15)
    s1=$(sg_syn_count "$PORT")
    sg_log "unprotected 1 s flood: hping3 sent $sent, server counted $((s1 - s0)) SYNs"
    sg_assert_ge "(c) unprotected: flood SYNs reach the server (counter works)" "$((s1 - s0))" 1000

    [ "$REF_HOOK" = 1 ] || sg_on_exit "[ ! -e \"/run/netns/\$SG_NS_R\" ] || '$REF' down \"\$SG_NS_R\""
    REF_HOOK=1
    sg_assert "(c) ref_synproxy.sh up" "$REF" up "$SG_NS_R" "$PORT,9002" 1460 7
    sg_assert_eq "(c) tcp_loose=0 in router" "$(sg_in "$SG_NS_R" cat /proc/sys/net/netfilter/nf_conntrack_tcp_loose)" 0

    sleep 0.5     # let the server's SYN queue drain from the unprotected flood
    s0=$(sg_syn_count "$PORT")
    st0=$(sg_synproxy_stat "$SG_NS_R" cookie_valid)
    sg_assert "(c) synproxy: curl v4" sg_curl_ok "http://$SG_SRV4:$PORT/"
    sg_assert "(c) synproxy: curl v6" sg_curl_ok "http://[$SG_SRV6]:$PORT/"
    s1=$(sg_syn_count "$PORT")
    st1=$(sg_synproxy_stat "$SG_NS_R" cookie_valid)
    sg_assert_eq "(c) synproxy: server saw exactly 2 SYNs for 2 connections" "$((s1 - s0))" 2
    sg_assert_eq "(c) synproxy: cookie_valid rose by 2" "$((st1 - st0))" 2

    # flood + concurrent real clients
    s0=$(sg_syn_count "$PORT")
    sg_synproxy_stats "$SG_NS_R" >"$SG_TMP/synproxy.before"
    rx0=$(sg_synproxy_stat "$SG_NS_R" syn_received)
    ok=0 bad=0 n=0 maxlat=0
    sg_flood "$FLOOD_SECS" "$PORT"
    tf=$(sg_now)
    sleep 0.3
    while kill -0 "$SG_FLOOD_PID" 2>/dev/null; do
        if ((n % 2 == 0)); then url="http://$SG_SRV4:$PORT/"; else url="http://[$SG_SRV6]:$PORT/"; fi
        tc=$(sg_now)
        code=$(SG_CURL_TIMEOUT=3 sg_curl "$SG_NS_C" "$url")
        lat=$(sg_elapsed "$tc")
        n=$((n + 1))
        if [ "$code" = 200 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); sg_log "curl $url during flood: $code"; fi
        maxlat=$(awk -v a="$maxlat" -v b="$lat" 'BEGIN { print (b > a) ? b : a }')
        sleep 0.2
    done
    sent=$(sg_flood_wait 30)
    sg_log "(c) flood phase: $(sg_elapsed "$tf")s"
    sleep 0.3
    s1=$(sg_syn_count "$PORT")
    rx1=$(sg_synproxy_stat "$SG_NS_R" syn_received)
    sg_synproxy_stats "$SG_NS_R" >"$SG_TMP/synproxy.after"
    sg_log "flood ${FLOOD_SECS}s: hping3 sent $sent SYNs; synproxy syn_received +$((rx1 - rx0)); curl $ok ok / $bad failed, max latency ${maxlat}s; server SYNs +$((s1 - s0))"
    sg_log "synproxy stats after: $(tr '\n' ' ' <"$SG_TMP/synproxy.after")"
    sg_assert_ge "(c) flood: hping3 sent a real flood" "$sent" 10000
    sg_assert_ge "(c) flood: curls were made during the flood" "$n" 5
    sg_assert_eq "(c) flood: every curl succeeded" "$bad" 0
    sg_assert_eq "(c) flood: server saw one SYN per real connection, no flood SYN" "$((s1 - s0))" "$ok"
    sg_assert_ge "(c) flood: synproxy answered the flood (syn_received)" "$((rx1 - rx0))" "$((sent / 2))"

    # data path through SYNPROXY (sequence adjustment + timestamp translation), both families
    sg_assert "(c) synproxy: bulk $BYTES bytes each way over IPv4, sha256 identical" sg_bulk_check "$SG_SRV4" 9002 "$BYTES"
    sg_log "(c) bulk v4: ${SG_BULK_SECS}s"
    sg_assert "(c) synproxy: bulk $BYTES bytes each way over IPv6, sha256 identical" sg_bulk_check "$SG_SRV6" 9002 "$BYTES"
    sg_log "(c) bulk v6: ${SG_BULK_SECS}s"

    sg_assert "(c) ref_synproxy.sh down" "$REF" down "$SG_NS_R"
    sg_assert "(c) after down: curl v4" sg_curl_ok "http://$SG_SRV4:$PORT/"
    sg_assert "(c) after down: curl v6" sg_curl_ok "http://[$SG_SRV6]:$PORT/"
}

# ------------------------------------------------------------------ (d) teardown
teardown() {
    local http_pid=$SG_HTTP_PID
    sg_topo_down
    sg_assert "(d) all namespaces gone" sg_ns_gone
    sg_assert "(d) http server process gone" bash -c "! kill -0 $http_pid 2>/dev/null"
    sg_topo_down      # idempotent
    sg_assert "(d) sg_topo_down is idempotent" sg_ns_gone
    SG_SETUP_DONE=0   # a case after this one gets a new topology
}

sg_run_cases "$@"
