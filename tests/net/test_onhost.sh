#!/usr/bin/env bash
# tests/net/test_onhost.sh — syngate placed on the server itself (placement = on-host), in the
# netns topology of lib.sh with the daemon in the server namespace: the router only forwards,
# the server ns keeps forwarding off and runs syngate beside its own listeners
# (docs/design.md, "On-host placement").  One function per case (tests/net/README.md):
#   curl_v4_v6   (1) curl to the local python http.server through on-host syngate, v4 and
#                v6, on the queue path (--xdp off): the server sees the real client address,
#                the connection is proxied (cookie path), the server ns still does not forward
#   xdp          (2) the same with XDP on the server's ingress veth (generic): the program
#                answers the SYNs, the daemon splices
#   syn_flood    (3) hping3 SYN flood (random sources, FLOOD_SECS) to the server with a
#                legitimate client beside it, queue path: every legitimate connection
#                succeeds, no flood SYN reaches the listener, every flood SYN is accounted
#                for (sg_flood_accounting)
#   syn_flood_xdp (3b) the same flood with XDP on the server's veth: the program answers at
#                least 95% of it, the queue sees no flood SYN, every legitimate connection
#                succeeds, no flood SYN reaches the listener
#   port_reuse   (4) ab -n 2000 -c 32 from 64 client ports (each reused ~30 times while the
#                server's conntrack entry is in TIME_WAIT), queue path and XDP: all 2000
#                complete (none hangs)
#   sigkill      (5) kill -9 of the daemon: an established connection keeps working
#                (kernel data path), new connections fail (fail-closed)
#   sigkill_open (6) the same with --fail-open yes: new connections go straight to the
#                listener
# Needs root, ip, iptables, ip6tables, curl, python3, ss, timeout; hping3 for (3), ab for (4).
# Env: SYNGATE (binary; default build/syngate in the repo), SG_FLOOD_SECS (8).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$HERE/lib.sh"

TOOL=$HERE/proxy_tool.py
FLOOD_SECS=${SG_FLOOD_SECS:-8}
HTTP=80 ECHO=9001
PORTS=$HTTP,$ECHO
SG_CASES=(curl_v4_v6 xdp syn_flood syn_flood_xdp port_reuse sigkill sigkill_open)
SGD_PID='' SGD_NAME=''

sg_setup() {
    sg_need ip iptables ip6tables curl "$SG_PYTHON" ss timeout awk || exit
    [ -x "$SYNGATE" ] || sg_die "syngate binary not found: $SYNGATE (build it, or set SYNGATE)"
    sg_topo_up
    SG_NS_GATE=$SG_NS_S   # syngate runs on the server (lib.sh: sg_gate_ns)
    CTL=$SG_TMP/syngate.sock
    sg_http_server "$HTTP"
    sg_bg "$SG_NS_S" "$SG_TMP/echo.log" "$SG_PYTHON" -u "$TOOL" echo-serve --port "$ECHO"
    sg_wait_port "$SG_NS_S" "$ECHO" 10
    sg_syn_counter_install "$HTTP"
}

# use_syngate NAME [fresh] : the daemon on the server, on-host: Q (queue path, --xdp off),
# X (XDP generic on the server's veth), O (queue path, --fail-open yes); restarted when
# another one runs, or always with "fresh"
use_syngate() {
    local name=$1 flags=()
    if [ "$SGD_NAME" = "$name" ] && [ "${2:-}" != fresh ] && kill -0 "$SGD_PID" 2>/dev/null; then
        return 0
    fi
    stop_syngate
    case $name in
    Q) flags=(--xdp off) ;;
    X) flags=(--xdp generic --interfaces "$SG_IF_S") ;;
    O) flags=(--xdp off --fail-open yes) ;;
    esac
    sg_syngate_start "$SG_TMP/syngate.$name.$(date +%s%N).log" --placement on-host \
        --ports "$PORTS" --install-rules --control "$CTL" "${flags[@]}"
    SGD_NAME=$name
    sg_log "syngate $name up on the server: pid $SGD_PID, ${flags[*]}"
}
stop_syngate() { sg_syngate_stop TERM; }
# curl_rc URL [args] : curl from the client ns; prints "RC SECONDS"
curl_rc() {
    local url=$1 rc=0 t; shift
    t=$(sg_now)
    sg_in "$SG_NS_C" curl -sS -g --noproxy '*' -o /dev/null "$@" "$url" 2>>"$SG_TMP/curl.err" || rc=$?
    echo "$rc $(sg_elapsed "$t")"
}
# real_clients TAG N0_4 N0_6 SNAP_A SNAP_B : the server's log grew by one request from the
# real v4 client and one from the real v6 client, both proxied
real_clients() {
    sg_assert_eq "$1 server log: one more request from the real v4 client $SG_CLI4" \
        "$(($(sg_log_count "::ffff:$SG_CLI4") - $2))" 1
    sg_assert_eq "$1 server log: one more request from the real v6 client $SG_CLI6" \
        "$(($(sg_log_count "$SG_CLI6") - $3))" 1
    sg_assert_eq "$1 both connections proxied (cookie path, not pass-through)" \
        "$(sg_delta "$4" "$5" proxied)" 2
}

# ------------------------------------------------------------------ (1) curl, queue path
curl_v4_v6() {
    use_syngate Q fresh
    sg_assert "(1) warm-up curl v4 (learns the listener's options)" sg_curl_ok "http://$SG_SRV4:$HTTP/"
    sg_assert "(1) warm-up curl v6" sg_curl_ok "http://[$SG_SRV6]:$HTTP/"
    local l4 l6
    l4=$(sg_log_count "::ffff:$SG_CLI4") l6=$(sg_log_count "$SG_CLI6")
    sg_snap a0
    sg_assert "(1) curl v4 through on-host syngate" sg_curl_ok "http://$SG_SRV4:$HTTP/"
    sg_assert "(1) curl v6 through on-host syngate" sg_curl_ok "http://[$SG_SRV6]:$HTTP/"
    sg_snap a1
    real_clients "(1)" "$l4" "$l6" a0 a1
    sg_assert_eq "(1) cookies answered, none sent back in error" \
        "$(sg_delta a0 a1 cookies_sent),$(sg_stat a1 drop_send_error)" "2,0"
    sg_assert_eq "(1) the server ns still does not forward (v4, v6)" \
        "$(sg_in "$SG_NS_S" sysctl -n net.ipv4.ip_forward),$(sg_in "$SG_NS_S" sysctl -n net.ipv6.conf.all.forwarding)" "0,0"
    sg_assert "(1) rules status: installed (PREROUTING and OUTPUT jumps)" \
        bash -c "ip netns exec $SG_NS_S $SYNGATE rules status --placement on-host --ports $PORTS >/dev/null"
}

# ------------------------------------------------------------------ (2) XDP on the server
xdp() {
    use_syngate X fresh
    sg_assert "(2) syngate_xdp attached to the server's $SG_IF_S" \
        bash -c "ip -n $SG_NS_S link show $SG_IF_S | grep -q 'prog/xdp.*name syngate_xdp'"
    sg_assert "(2) warm-up curl v4" sg_curl_ok "http://$SG_SRV4:$HTTP/"
    sg_assert "(2) warm-up curl v6" sg_curl_ok "http://[$SG_SRV6]:$HTTP/"
    local l4 l6
    l4=$(sg_log_count "::ffff:$SG_CLI4") l6=$(sg_log_count "$SG_CLI6")
    sg_snap x0
    sg_assert "(2) curl v4, SYN answered in XDP" sg_curl_ok "http://$SG_SRV4:$HTTP/"
    sg_assert "(2) curl v6, SYN answered in XDP" sg_curl_ok "http://[$SG_SRV6]:$HTTP/"
    sg_snap x1
    real_clients "(2)" "$l4" "$l6" x0 x1
    sg_assert_eq "(2) XDP answered both SYNs" "$(sg_delta x0 x1 xdp_answered)" 2
}

# ------------------------------------------------------------------ (3) SYN flood
syn_flood() {
    sg_need hping3 || return
    use_syngate Q
    sg_assert "(3) warm-up curl v4" sg_curl_ok "http://$SG_SRV4:$HTTP/"
    local s0 s1 sent elapsed srv resent tag="(3) v4 SYN flood, on-host"
    sg_snap d0
    s0=$(sg_syn_count "$HTTP" 4)
    sg_flood "$FLOOD_SECS" "$HTTP"
    sg_legit_loop "http://$SG_SRV4:$HTTP/"
    sent=$(sg_flood_wait 30)
    elapsed=$(sg_elapsed "$SG_FLOOD_T0")
    sleep 0.5
    sg_queue_drained
    sg_snap d1
    s1=$(sg_syn_count "$HTTP" 4)
    srv=$((s1 - s0))
    resent=$(($(sg_delta d0 d1 backend_syns) - $(sg_delta d0 d1 proxied)))
    sg_log "$tag: sent $sent; legit $OK ok / $BAD failed of $N; listener SYNs +$srv;" \
        "proxied +$(sg_delta d0 d1 proxied); syn_passed +$(sg_delta d0 d1 syn_passed)"
    sg_assert_ge "$tag: the flood was real (SYNs sent)" "$sent" 10000
    sg_assert_ge "$tag: legitimate connections were made during the flood" "$N" 5
    sg_assert_eq "$tag: every legitimate connection succeeded" "$BAD" 0
    sg_assert_eq "$tag: listener SYNs == legitimate connections + backend SYNs resent ($resent) (no flood SYN reached it)" \
        "$srv" "$((OK + resent))"
    sg_assert_eq "$tag: proxied + passed == legitimate connections" \
        "$(($(sg_delta d0 d1 proxied) + $(sg_delta d0 d1 syn_passed)))" "$OK"
    sg_flood_accounting "$tag" 4 "$sent" "$FLOOD_SECS" "$elapsed" "$((3 * N))" d0 d1
    sg_assert_eq "$tag: no cookie SYN-ACK failed to go out" "$(sg_delta d0 d1 drop_send_error)" 0
    sg_assert_eq "$tag: half-open table empty afterwards" "$(sg_stat d1 halfopen)" 0
}

syn_flood_xdp() {
    sg_need hping3 || return
    use_syngate X
    sg_assert "(3b) warm-up curl v4" sg_curl_ok "http://$SG_SRV4:$HTTP/"
    local s0 s1 sent tag="(3b) v4 SYN flood, on-host, XDP"
    sg_snap e0
    s0=$(sg_syn_count "$HTTP" 4)
    sg_flood "$FLOOD_SECS" "$HTTP"
    sg_legit_loop "http://$SG_SRV4:$HTTP/"
    sent=$(sg_flood_wait 30)
    sleep 0.3
    sg_snap e1
    s1=$(sg_syn_count "$HTTP" 4)
    sg_log "$tag: sent $sent; xdp_syn +$(sg_delta e0 e1 xdp_syn), xdp_answered" \
        "+$(sg_delta e0 e1 xdp_answered); NFQUEUE packets" \
        "+$(sg_delta e0 e1 packets); legit $OK ok / $BAD failed of $N; listener SYNs +$((s1 - s0))"
    sg_assert_ge "$tag: the flood was real" "$sent" 10000
    sg_assert_ge "$tag: legitimate connections were made during the flood" "$N" 5
    sg_assert_eq "$tag: every legitimate connection succeeded" "$BAD" 0
    sg_assert_eq "$tag: listener SYNs == legitimate connections (no flood SYN reached it)" \
        "$((s1 - s0))" "$OK"
    # against what reached the program (xdp_syn): what hping3 sent less what the router and
    # the server's backlog dropped before it, which a faster generator makes more of
    sg_assert_ge "$tag: the flood reached the program (xdp_syn >= half of it)" \
        "$(sg_delta e0 e1 xdp_syn)" "$((sent / 2))"
    sg_assert_ge "$tag: XDP answered at least 95% of the SYNs it saw" "$(sg_delta e0 e1 xdp_answered)" \
        "$(($(sg_delta e0 e1 xdp_syn) * 95 / 100))"
    sg_assert_le "$tag: NFQUEUE saw no flood SYN (packets <= 10 x legit)" \
        "$(sg_delta e0 e1 packets)" "$((10 * N + 10))"
    sg_assert_eq "$tag: half-open table empty afterwards" "$(sg_stat e1 halfopen)" 0
}

# ------------------------------------------------------------------ (4) port reuse
# ab_run TAG : ab -n 2000 -c 32 from 64 client ports; the client keeps no TIME_WAIT of its
# own (tcp_max_tw_buckets 0), so ports are reused while the server's conntrack entry (and
# its own socket) is in TIME_WAIT.  The server listens with a backlog of 1024 (http_dir.py),
# so none is reset by the server itself; -r: a reset counts as a failed request instead of
# ending the run, and a hang is a request that never completes.
ab_run() {
    local tw out
    tw=$(sg_in "$SG_NS_C" sysctl -n net.ipv4.tcp_max_tw_buckets)
    sg_in "$SG_NS_C" sysctl -qw net.ipv4.tcp_max_tw_buckets=0 net.ipv4.ip_local_port_range="42000 42063"
    out=$(sg_in "$SG_NS_C" timeout -s INT 180 ab -q -r -s 30 -n 2000 -c 32 "http://$SG_SRV4:$HTTP/" 2>&1 || true)
    sg_in "$SG_NS_C" sysctl -qw net.ipv4.tcp_max_tw_buckets="$tw" net.ipv4.ip_local_port_range="32768 60999"
    sg_log "$1 ab: $(grep -E 'Complete requests|Failed requests|Requests per second|longest|apr_' <<<"$out" | tr -s ' ' | tr '\n' ';')"
    sg_assert "$1 ab -n 2000 -c 32 from 64 ports: all 2000 complete (none hangs)" grep -q 'Complete requests: *2000' <<<"$out"
    sg_assert_eq "$1 ab: no request failed" "$(awk '/^Failed requests:/ { print $3 }' <<<"$out")" 0
}
port_reuse() {
    sg_need ab || return
    use_syngate Q
    sg_assert "(4) warm-up curl v4" sg_curl_ok "http://$SG_SRV4:$HTTP/"
    sg_snap r0
    ab_run "(4) queue path:"
    sg_snap r1
    sg_assert_ge "(4) queue path: reused tuples' SYNs passed to conntrack (syn_passed_tracked)" \
        "$(sg_delta r0 r1 syn_passed_tracked)" 1
    use_syngate X
    sg_assert "(4) warm-up curl v4 (XDP)" sg_curl_ok "http://$SG_SRV4:$HTTP/"
    sg_snap r2
    ab_run "(4) XDP:"
    sg_snap r3
    sg_assert_ge "(4) XDP: reused tuples' SYNs passed (xdp_pass_ct)" "$(sg_delta r2 r3 xdp_pass_ct)" 1
}

# ------------------------------------------------------------------ (5), (6) kill -9
# killed TAG NAME : a long-lived proxied connection to the echo server, the daemon killed
# with SIGKILL, the connection used again; prints curl's "RC SECONDS" for a new connection
# (on fd 3 the log); the rules stay and are removed afterwards
killed() {
    local tag=$1 go=$SG_TMP/hold.go hold_pid i rc
    use_syngate "$2" fresh
    sg_assert "$tag warm-up connection on :$ECHO" sg_in "$SG_NS_C" "$SG_PYTHON" "$TOOL" hold \
        --host "$SG_SRV4" --port "$ECHO" --go /dev/null --bytes 1000 --timeout 10
    rm -f "$go"
    sg_snap k0
    sg_bg "$SG_NS_C" "$SG_TMP/hold.log" "$SG_PYTHON" -u "$TOOL" hold --host "$SG_SRV4" --port "$ECHO" \
        --go "$go" --bytes 1048576 --timeout 30
    hold_pid=$SG_BG_PID
    # up to 20 s: a lost SYN or ACK costs the client a retransmission (1 s, 3 s, 7 s) on a
    # loaded machine; a hang still fails
    for ((i = 0; i < 400; i++)); do grep -q '^round1 ok' "$SG_TMP/hold.log" && break; sleep 0.05; done
    sg_log "$tag long-lived connection: round 1 after about $((i * 50)) ms"
    sg_snap k1
    sg_assert "$tag long-lived connection: round 1 through syngate" grep -q '^round1 ok' "$SG_TMP/hold.log"
    sg_assert_eq "$tag the long-lived connection was proxied" "$(sg_delta k0 k1 proxied)" 1
    kill -KILL "$SGD_PID"
    sg_wait_pid "$SGD_PID" 5 || true
    sg_assert "$tag syngate is gone after SIGKILL" bash -c "! kill -0 $SGD_PID 2>/dev/null"
    touch "$go"
    rc=0
    sg_wait_pid "$hold_pid" 40 || rc=$?
    sed 's/^/    hold: /' "$SG_TMP/hold.log" >&2
    sg_assert_eq "$tag same connection after SIGKILL: 1 MiB echoed intact (kernel data path)" "$rc" 0
    KILLED_CURL=$(curl_rc "http://$SG_SRV4:$HTTP/" --connect-timeout 2 --max-time 2)
    sg_in "$SG_NS_S" "$SYNGATE" rules remove --placement on-host --ports "$PORTS" >/dev/null
    SGD_PID='' SGD_NAME=''
}
sigkill() {
    local rc secs
    killed "(5)" Q
    read -r rc secs <<<"$KILLED_CURL"
    sg_assert "(5) new connection after SIGKILL fails (fail-closed; curl rc $rc in ${secs}s)" \
        test "$rc" -ne 0
}
sigkill_open() {
    local rc secs
    killed "(6)" O
    read -r rc secs <<<"$KILLED_CURL"
    sg_assert_eq "(6) new connection after SIGKILL reaches the listener (fail-open; ${secs}s)" "$rc" 0
}

sg_run_cases "$@"
