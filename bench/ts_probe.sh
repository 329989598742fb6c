#!/usr/bin/env bash
# bench/ts_probe.sh — TCP timestamps through syngate (docs/cookies.md, "Timestamps"):
# what the kernel's synproxy hooks do with the entries syngate creates, and what
# timestamps are worth on a lossy, high-latency path.  Runs in the netns topology of
# tests/net/lib.sh.  Prints its findings; it asserts nothing about rates.
#
#   check    handshake and timestamps on both sides of syngate --timestamps yes
#            (bench/ts_check.py), v4 and v6; the same with the backend SYN-ACK left
#            to the kernel's synproxy hook (kpath)
#   rst      a backend RST after 100 kB of data (SO_LINGER 0): how long until the
#            client sees it, with and without the synproxy hooks registered, and
#            behind the kernel's own SYNPROXY
#   conn     connections per second (bench/connrate, server-first and -w client-first)
#            for syngate, syngate --timestamps yes, and kpath
#   bulk     iperf3 -R (server -> client), 50 ms delay and 1% loss on the server's
#            link (bench/nfq_delay + xt_statistic: this kernel has no sch_netem):
#            forwarding with and without timestamps, syngate, syngate --timestamps
#
# Usage: SYNGATE=build/syngate bash bench/ts_probe.sh [check] [rst] [conn] [bulk]
# Env: TS_BULK_SECS (20), TS_BULK_RUNS (5), TS_BULK_CC ("cubic bbr": iperf3 -C,
# one pass each), TS_CONN_SECS (3).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$HERE/../tests/net/lib.sh"

CONNRATE=${CONNRATE:-$(dirname "$SYNGATE")/bench/connrate}
NFQ_DELAY=${NFQ_DELAY:-$(dirname "$SYNGATE")/bench/nfq_delay}
BULK_SECS=${TS_BULK_SECS:-20}
BULK_RUNS=${TS_BULK_RUNS:-5}
BULK_CC=${TS_BULK_CC:-cubic bbr}
CONN_SECS=${TS_CONN_SECS:-3}
HTTP=8080 RSTP=8082 CONN=8081 BULK=5201
PORTS=$HTTP,$CONN,$RSTP,$BULK
STEPS=${*:-check rst conn bulk}

sg_require_root
sg_require_cmds ip iptables conntrack tcpdump curl iperf3 "$SG_PYTHON" timeout awk jq
sg_cleanup_on_exit
sg_topo_up
CTL=$SG_TMP/syngate.sock
SGD_PID=''

# sg_start NAME [flags] : syngate in the router ns (every connection proxied, the queue
# path alone: the XDP program writes no timestamps)
sg_start() {
    local name=$1; shift
    sg_syngate_start "$SG_TMP/syngate.$name.log" --ports "$PORTS" --install-rules \
        --control "$CTL" --learn no --default-wscale "$WSCALE" --xdp off "$@"
}
sg_stop() {
    [ -n "$SGD_PID" ] || return 0
    kill -INT "$SGD_PID" 2>/dev/null || true
    sg_wait_pid "$SGD_PID" 10 || true
    SGD_PID=''
}
sg_on_exit sg_stop
# kpath : leave every backend packet to the kernel (no queue): the synproxy hook
# answers the backend SYN-ACK itself for the entries syngate created with
# CTA_SYNPROXY isn = cookie
kpath() {
    sg_in "$SG_NS_R" iptables -t mangle -I SYNGATE-MANGLE 1 -p tcp -m multiport \
        --sports "$PORTS" -m conntrack --ctdir REPLY -j RETURN
}
# kpath_notrack : and notrack the ACK the hook sends the backend (as tuned kernel
# SYNPROXY does), so that the hook does not add tsoff to its TSecr
kpath_notrack() {
    kpath
    sg_in "$SG_NS_R" iptables -t raw -A OUTPUT -p tcp -m multiport --dports "$PORTS" \
        --tcp-flags FIN,SYN,RST,ACK ACK -j CT --notrack
}
# cpu_ticks PID : utime + stime of PID (clock ticks)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# tsecr_rejected : TcpExt TSEcrRejected in the server ns
tsecr_rejected() {
    sg_in "$SG_NS_S" awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "TSEcrRejected") c = i; h = 1 } else print $c }' /proc/net/netstat
}

# tscheck TAG ADDR URLHOST : one curl, captured on both sides, checked by ts_check.py
tscheck() {
    local tag=$1 cli=$2 srv=$3 url=$4 pc ps
    sg_bg "$SG_NS_C" "$SG_TMP/cap.$tag.c" tcpdump -i "$SG_IF_C" -nn -v -tt -l tcp port $HTTP
    pc=$SG_BG_PID
    sg_bg "$SG_NS_S" "$SG_TMP/cap.$tag.s" tcpdump -i "$SG_IF_S" -nn -v -tt -l tcp port $HTTP
    ps=$SG_BG_PID
    sleep 1
    sg_log "$tag: curl $(sg_curl "$SG_NS_C" "$url")"
    sleep 0.5
    kill -INT "$pc" "$ps"
    sg_wait_pid "$pc" 5 || true
    sg_wait_pid "$ps" 5 || true
    echo "== $tag"
    "$SG_PYTHON" "$HERE/ts_check.py" "$SG_TMP/cap.$tag.c" "$SG_TMP/cap.$tag.s" "$cli" "$srv" $HTTP || true
    grep -E 'Flags \[(S|S\.|\.)\],' "$SG_TMP/cap.$tag.s" | head -3 | sed 's/^/   server side: /'
}

step_check() {
    sg_start ts --timestamps yes
    tscheck ts-v4 "$SG_CLI4" "$SG_SRV4" "http://$SG_SRV4:$HTTP/"
    tscheck ts-v6 "$SG_CLI6" "$SG_SRV6" "http://[$SG_SRV6]:$HTTP/"
    sg_stop
    sg_start kpath --timestamps yes --backend-timeout-ms 600000
    kpath
    tscheck kpath-v4 "$SG_CLI4" "$SG_SRV4" "http://$SG_SRV4:$HTTP/"
    sg_stop
}

# rst_once : client reads until error; prints "<error> after <bytes> <secs>"
rst_once() {
    sg_in "$SG_NS_C" "$SG_PYTHON" - "$SG_SRV4" $RSTP <<'EOF'
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
t0, n = time.time(), 0
try:
    while True:
        d = c.recv(65536)
        if not d:
            print('eof after %d bytes %.2fs' % (n, time.time() - t0)); break
        n += len(d)
except Exception as e:
    print('%s after %d bytes %.2fs' % (type(e).__name__, n, time.time() - t0))
EOF
}

step_rst() {
    cat >"$SG_TMP/rst_server.py" <<'EOF'
import socket, struct, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(8)
while True:
    c, _ = s.accept()
    c.sendall(b'x' * 100000)
    time.sleep(0.5)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    c.close()
EOF
    sg_bg "$SG_NS_S" "$SG_TMP/rst-server.log" "$SG_PYTHON" "$SG_TMP/rst_server.py" $RSTP
    sg_wait_port "$SG_NS_S" $RSTP 5
    local mode
    for mode in no yes; do
        sg_start "rst-$mode" --timestamps "$mode"
        echo "== backend RST after data, timestamps $mode (synproxy hooks $([ $mode = yes ] && echo registered || echo absent))"
        rst_once; rst_once
        sg_stop
    done
    echo "== backend RST after data, kernel SYNPROXY (bench/ref_synproxy.sh, no syngate)"
    bash "$HERE/ref_synproxy.sh" up "$SG_NS_R" "$RSTP" 1460 "$WSCALE"
    rst_once; rst_once
    bash "$HERE/ref_synproxy.sh" down "$SG_NS_R"
}

# connrate_run TAG [-w]
connrate_run() {
    local tag=$1 srv; shift
    sg_bg "$SG_NS_S" "$SG_TMP/connrate-server.$tag.log" "$CONNRATE" -l $CONN -t $((CONN_SECS + 10)) "$@"
    srv=$SG_BG_PID
    sg_wait_port "$SG_NS_S" $CONN 5
    # fresh ports: a tuple conntrack still knows (CLOSE after the RST close: 10 s)
    # passes through syngate unproxied (port reuse)
    sg_in "$SG_NS_R" conntrack -F 2>/dev/null
    local t0 t1 r0 res done
    sg_snap a
    t0=$(cpu_ticks "$SGD_PID") r0=$(tsecr_rejected)
    res=$(sg_in "$SG_NS_C" timeout $((CONN_SECS + 10)) "$CONNRATE" -c "$SG_SRV4" \
        -p $CONN -t "$CONN_SECS" -n 16 "$@")
    t1=$(cpu_ticks "$SGD_PID")
    sg_snap b
    done=$(_sg_kv "$res" completed)
    printf '%-16s %s' "$tag" "$(echo "$res" | awk '{ print $1, $2, $4, $5, $6 }')"
    echo "  proxied +$(sg_delta a b proxied) syn_passed +$(sg_delta a b syn_passed)" \
        "cookies_valid +$(sg_delta a b cookies_valid) drop_unexpected +$(sg_delta a b drop_unexpected)" \
        "drop_pending +$(sg_delta a b drop_pending) TSEcrRejected +$(($(tsecr_rejected) - r0))" \
        "daemon $(awk -v t=$((t1 - t0)) -v n="$done" -v hz="$(getconf CLK_TCK)" \
            'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }') us/conn"
    kill -INT "$srv" 2>/dev/null || true
    sg_wait_pid "$srv" 5 || true
}

step_conn() {
    _sg_sysctl "$SG_NS_C" "net.ipv4.ip_local_port_range=1024 65535"
    echo "== connections per second (16 in flight, $CONN_SECS s)"
    sg_start conn
    connrate_run "syngate" ; connrate_run "syngate -w" -w
    sg_stop
    sg_start conn-ts --timestamps yes
    connrate_run "syngate+ts" ; connrate_run "syngate+ts -w" -w
    sg_stop
    sg_start conn-kpath --timestamps yes --backend-timeout-ms 600000 --syn-rto-ms 60000 --halfopen-per-source 0 \
        --table-size 4000000
    kpath
    connrate_run "kpath" ; connrate_run "kpath -w" -w
    sg_stop
    sg_start conn-kpath-nt --timestamps yes --backend-timeout-ms 600000 --syn-rto-ms 60000 \
        --halfopen-per-source 0 --table-size 4000000
    kpath_notrack
    connrate_run "kpath+notrack" ; connrate_run "kpath+notrack -w" -w
    sg_in "$SG_NS_R" iptables -t raw -F OUTPUT
    sg_stop
}

# bulk_run TAG : BULK_RUNS x iperf3 -R; prints each Mbit/s and retransmits, then the mean
bulk_run() {
    local tag=$1 i out mb sum=0 list=''
    for ((i = 0; i < BULK_RUNS; i++)); do
        sg_bg "$SG_NS_S" "$SG_TMP/iperf3-server.log" iperf3 -s -1 -p $BULK
        sg_wait_port "$SG_NS_S" $BULK 5
        out=$SG_TMP/iperf3.$tag.$i.json
        sg_in "$SG_NS_C" timeout $((BULK_SECS + 30)) iperf3 -c "$SG_SRV4" -p $BULK -R -C "$BULK_CC_NOW" \
            -t "$BULK_SECS" -J >"$out" 2>&1 || true
        sg_wait_pid "$SG_BG_PID" 10 || true
        mb=$(jq -r '(.end.sum_received.bits_per_second // 0) / 1e6 | floor' "$out" 2>/dev/null || echo 0)
        list="$list $mb($(jq -r '"\(.end.sum_sent.retransmits // "?"),\((.end.streams[0].sender.mean_rtt // 0) / 1000 | floor)ms"' "$out" 2>/dev/null))"
        sum=$((sum + mb))
    done
    printf '%-28s mean %4d Mbit/s  runs: Mbit/s(retransmits,mean rtt):%s\n' "$tag" $((sum / BULK_RUNS)) "$list"
}

step_bulk() {
    # no sch_netem in this kernel: 1% random loss (xt_statistic) and a 50 ms hold
    # (bench/nfq_delay) at the router's ingress from the server, i.e. on the
    # server -> client direction of the server-side link (a forwarding hop, so no
    # sender's socket owns the held packets)
    echo "== bulk server -> client, delay 50ms loss 1% on the server's link, $BULK_RUNS x $BULK_SECS s"
    sg_bg "$SG_NS_R" "$SG_TMP/nfq_delay.log" "$NFQ_DELAY" -q 7 -d 50
    sg_in "$SG_NS_R" iptables -t raw -A PREROUTING -i "$SG_IF_RS" -p tcp --sport $BULK \
        -m statistic --mode random --probability 0.01 -j DROP
    sg_in "$SG_NS_R" iptables -t raw -A PREROUTING -i "$SG_IF_RS" -p tcp --sport $BULK \
        -j NFQUEUE --queue-num 7
    local cc
    for cc in $BULK_CC; do
        BULK_CC_NOW=$cc
        echo "-- congestion control $cc (iperf3 -C)"
        bulk_run "forward, timestamps"
        _sg_sysctl "$SG_NS_C" net.ipv4.tcp_timestamps=0
        bulk_run "forward, no timestamps"
        _sg_sysctl "$SG_NS_C" net.ipv4.tcp_timestamps=1
        sg_start "bulk-$cc"
        bulk_run "syngate (no timestamps)"
        sg_stop
        sg_start "bulk-ts-$cc" --timestamps yes
        bulk_run "syngate --timestamps yes"
        sg_stop
    done
}

sg_http_server $HTTP
# syngate advertises the backend's window scale (no learning pass-through here)
WSCALE=$(sg_in "$SG_NS_S" "$SG_PYTHON" -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
print(a.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[6] >> 4)')
sg_log "backend window scale: $WSCALE"
for s in $STEPS; do "step_$s"; done
