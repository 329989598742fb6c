#!/usr/bin/env bash
# tests/net/test_restart.sh — restarting syngate loses no connection, in the netns topology
# of lib.sh (client <-> router running syngate <-> server).  The daemon runs as a service
# would: a key file (key-file) and keep-rules = yes; a restart is what `systemctl restart`
# does: SIGTERM, wait for the exit, start again.  One function per case
# (tests/net/README.md: `test_restart.sh --list`, `test_restart.sh CASE...`):
#   inflight        (1) a handshake in flight across the restart: the client has the old
#                   daemon's cookie SYN-ACK, its ACK and request are held (nft) until the new
#                   daemon is up, then retransmitted: the new daemon verifies the old one's
#                   cookie (same key file, same derived secret; the backend's window scale
#                   the SYN-ACK told, which the MAC covers, from the backends file) and the
#                   request completes, with no other connection through the new daemon
#   under_load      (2) CONNS (1500) connections at RATE (100) a second from 1200 client
#                   ports, a third or more of which carry conntrack entries of earlier
#                   connections (TIME_WAIT: port reuse) at the start, and fresh ones left for
#                   the last daemon (it proxied 18-40 of them; with 600 ports, 0-8),
#                   the daemon restarted twice mid-run:
#                   none fails, and the last daemon both proxied (cookies) and passed
#                   reused ports.  Each restart has handshakes in flight: the client's ACKs
#                   and requests are held from 0.2 s before the stop until the new daemon
#                   is up.  During the
#                   gap the rules stay (keep-rules) and fail closed: the queued SYNs and
#                   ACKs are dropped and the clients retransmit them to the next daemon.
#   pending         (4) a handshake whose backend SYN is unanswered across the restart (the
#                   server drops SYNs): it completes through the new daemon
#   forgetful       (5) as (1) with --backends-file none for the new daemon: it checks the held
#                   ACK's cookie with default-wscale only and refuses it while it has not
#                   learned the backend; a new connection teaches it, and the held one then
#                   completes (what (1) needed before the backends file)
#   bad_file        (6) a backends file that is garbage, or cut short, is logged and ignored:
#                   the daemon starts and proxies
#   killed          (7) the backends file is saved while the daemon runs (a few seconds after
#                   it learned), so a daemon killed (SIGKILL, the watchdog) leaves it: a
#                   handshake in flight across the kill completes through the next daemon
#   many_backends   (8) three backends learned (ports 80, 336, 1104 of one server: in the old
#                   direct-mapped table of learned backends all three hashed to one slot, and
#                   the backends file kept only the last) are all in the file the next
#                   daemon loads
# Needs root, ip, iptables, nft, curl, python3, ss, timeout.
# Env: SYNGATE (binary; default build/syngate in the repo), SG_CONNS (1500), SG_RATE (100),
#      SG_RESTART_FLAGS (more daemon flags; "--key-file none --keep-rules no" shows what
#      the two fixes are for: then both cases fail; "--backends-file none" fails (1)).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$HERE/lib.sh"

TOOL=$HERE/proxy_tool.py
CONNS=${SG_CONNS:-1500}
RATE=${SG_RATE:-100}
PORT=80
SG_CASES=(inflight under_load rotation pending forgetful bad_file killed many_backends)
SGD_PID='' SGD_LOG='' CURL_PID='' FLAGS=() GAP=0

# start [FLAGS...] : the daemon, as a service runs it
start() {
    local extra
    read -r -a extra <<<"${SG_RESTART_FLAGS:-}"
    # --learn no: every SYN gets a cookie (with learning, the first SYN a worker sees for a
    # backend it has not learned passes through, and the lane's worker learns apart)
    FLAGS=(--ports "$PORT" --interfaces "$SG_IF_RC" --control "$CTL" --metrics-port 0
        --key-file "$SG_TMP/key" --backends-file "$SG_TMP/backends" --keep-rules
        --install-rules --learn no "${extra[@]+"${extra[@]}"}" "$@")
    SGD_LOG=$SG_TMP/syngate.$(date +%s%N).log
    sg_syngate_start "$SGD_LOG" "${FLAGS[@]}"
}
# restart [FLAGS...] : as systemctl restart: SIGTERM, wait for the exit, start again (with
# FLAGS); GAP = seconds without a daemon
restart() {
    local t0
    t0=$(sg_now)
    sg_syngate_stop TERM
    start "$@"
    GAP=$(sg_elapsed "$t0")
    sg_log "restarted in ${GAP}s: pid $SGD_PID"
}
# hold on|off [SPORT] : drop every client packet to PORT (from SPORT only, if given) that is
# not a SYN (the ACK and the request wait; the client retransmits the request later)
hold() {
    local from=''
    [ -n "${2:-}" ] && from="tcp sport $2 "
    if [ "$1" = on ]; then
        printf '%s\n' "table ip restart_hold {" "  chain out {" \
            "    type filter hook output priority 0; policy accept;" \
            "    ${from}tcp dport $PORT tcp flags & (syn | ack) == ack drop" "  }" "}" |
            sg_in "$SG_NS_C" nft -f -
    else
        sg_in "$SG_NS_C" nft delete table ip restart_hold
    fi
}
# conns OUT ARGS... : proxy_tool conns from the client ns; prints ok/failed as "OK/FAILED"
conns() {
    local out=$1; shift
    sg_in "$SG_NS_C" timeout -s INT 300 "$SG_PYTHON" -u "$TOOL" conns --host "$SG_SRV4" \
        --port "$PORT" "$@" >"$out" 2>&1 || true
}
result() { echo "$(grep -o 'ok=[0-9]*' "$1" | cut -d= -f2)/$(grep -o 'failed=[0-9]*' "$1" | cut -d= -f2)"; }

sg_setup() {
    sg_require_root
    sg_need ip iptables nft curl "$SG_PYTHON" ss timeout || exit
    [ -x "$SYNGATE" ] || sg_die "syngate binary not found: $SYNGATE (build it, or set SYNGATE)"
    sg_cleanup_on_exit
    sg_topo_up
    CTL=$SG_TMP/syngate.sock
    sg_on_exit 'sg_in "$SG_NS_R" "$SYNGATE" rules remove --ports "$PORT" >/dev/null 2>&1'
    sg_bg "$SG_NS_S" "$SG_TMP/http.log" "$SG_PYTHON" -u "$TOOL" http-serve --port "$PORT"
    sg_wait_port "$SG_NS_S" "$PORT" 10 || sg_die "no HTTP server"
    # the client closes after the server: keep no TIME_WAIT on its side (ports reused)
    sg_in "$SG_NS_C" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
    # the cases' fixed client ports (45000-45004) are never an ephemeral port: an earlier
    # case's connection from the same port leaves a conntrack entry, and the SYN would then
    # pass untouched as port reuse (seen in CI: completed with no cookie at all)
    sg_in "$SG_NS_C" sysctl -qw net.ipv4.ip_local_port_range="32768 44999"
    start
    sg_assert "warm-up curl" sg_curl_ok "http://$SG_SRV4:$PORT/"
}

# held_curl SPORT OUT MAXTIME : a request from port SPORT, held (hold on SPORT) once the client
# has the cookie SYN-ACK; sets CURL_PID, asserts the client got that far
held_curl() {
    local i est=0
    hold on "$1"
    sg_in "$SG_NS_C" curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' --max-time "$3" \
        --local-port "$1" "http://$SG_SRV4:$PORT/" >"$2" 2>&1 &
    CURL_PID=$!
    for ((i = 0; i < 100; i++)); do
        if sg_in "$SG_NS_C" ss -Htn state established "dst $SG_SRV4" | grep -q .; then est=1; break; fi
        sleep 0.05
    done
    sg_assert_eq "the client has the old daemon's cookie SYN-ACK (port $1)" "$est" 1
}

inflight() {
    local curl_pid rc=0
    held_curl 45000 "$SG_TMP/inflight.out" 20
    curl_pid=$CURL_PID
    restart
    # no other connection first: the new daemon has the backend's options from the backends
    # file; the window scale the old daemon's SYN-ACK told (learned) is MAC input, and a
    # daemon that has not learned the backend checks the default only (cookie_mac.h)
    sg_assert "(1) the new daemon loaded the backends file" \
        grep -q 'event=backends_loaded.*backends=[1-9]' "$SGD_LOG"
    sg_snap i0
    hold off
    wait "$curl_pid" || rc=$?
    sg_snap i1
    sg_log "(1) curl rc $rc status $(cat "$SG_TMP/inflight.out") after a ${GAP}s restart"
    sg_assert_eq "(1) the request completes through the new daemon" "$(cat "$SG_TMP/inflight.out")" 200
    sg_assert_eq "(1) the new daemon verified the old one's cookie" "$(sg_delta i0 i1 cookies_valid)" 1
    sg_assert_eq "(1) ... and proxied the connection" "$(sg_delta i0 i1 proxied)" 1
}

under_load() {
    local out=$SG_TMP/load.out pid range gaps=()
    range=$(sg_in "$SG_NS_C" sysctl -n net.ipv4.ip_local_port_range)
    # 1200 ports: the kernel picks each connection's port with a random stride, so the 600
    # warm-up and the run's first 900 or so connections leave some never used for the last
    # daemon to proxy with cookies (with 600 ports and 300 first it proxied 0, 2, 2, 4 and 8
    # in five runs: the check that it proxied any failed once)
    sg_in "$SG_NS_C" sysctl -qw net.ipv4.ip_local_port_range="40000 41199"
    # ports used once: the router's conntrack holds their entries (TIME_WAIT) from now on
    conns "$SG_TMP/warm.out" --count 600 --concurrency 20 --timeout 20
    sg_assert_eq "(2) warm-up: 600 connections" "$(result "$SG_TMP/warm.out")" 600/0
    sg_in "$SG_NS_R" conntrack -L -p tcp --dport "$PORT" 2>/dev/null | grep -c TIME_WAIT >"$SG_TMP/tw" || true
    sg_log "(2) conntrack entries in TIME_WAIT before the run: $(cat "$SG_TMP/tw")"
    sg_in "$SG_NS_C" timeout -s INT 300 "$SG_PYTHON" -u "$TOOL" conns --host "$SG_SRV4" \
        --port "$PORT" --count "$CONNS" --rate "$RATE" --concurrency 200 --timeout 30 >"$out" 2>&1 &
    pid=$!
    # each restart with handshakes in flight: the client's ACKs and requests held from 0.2 s
    # before the old daemon stops until the new one is up
    sleep 4
    hold on
    sleep 0.2
    restart
    hold off
    gaps+=("$GAP")
    sleep 4
    hold on
    sleep 0.2
    restart
    hold off
    gaps+=("$GAP")
    sg_snap l0
    wait "$pid" || true
    sg_snap l1
    sg_in "$SG_NS_C" sysctl -qw net.ipv4.ip_local_port_range="$range"
    sg_log "(2) $(head -1 "$out") at $RATE/s, restarts of ${gaps[*]} s; last daemon:" \
        "syn_passed_tracked +$(sg_delta l0 l1 syn_passed_tracked) xdp_tc_known" \
        "+$(sg_delta l0 l1 xdp_tc_known) proxied +$(sg_delta l0 l1 proxied)"
    grep '^error' "$out" >&2 || true
    sg_assert_eq "(2) every connection completed across two restarts" "$(result "$out")" "$CONNS/0"
    sg_assert_ge "(2) the reused ports reached the new daemon's port-reuse path" \
        "$(($(sg_delta l0 l1 syn_passed_tracked) + $(sg_delta l0 l1 xdp_tc_known)))" 1
    sg_assert_ge "(2) the new daemon proxied fresh ports (cookies)" "$(sg_delta l0 l1 proxied)" 1
}

pending() {
    local curl_pid rc=0
    sg_assert "(4) warm-up curl" sg_curl_ok "http://$SG_SRV4:$PORT/"
    sg_in "$SG_NS_S" iptables -w -I INPUT -p tcp --dport "$PORT" --syn -j DROP
    sg_snap p0
    sg_in "$SG_NS_C" curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 25 \
        --local-port 45002 "http://$SG_SRV4:$PORT/" >"$SG_TMP/pend.out" 2>&1 &
    curl_pid=$!
    sleep 0.5
    sg_snap p1
    restart
    sg_in "$SG_NS_S" iptables -w -D INPUT -p tcp --dport "$PORT" --syn -j DROP
    wait "$curl_pid" || rc=$?
    sg_snap p2
    sg_log "(4) curl rc $rc status $(cat "$SG_TMP/pend.out"); new daemon: synacks_resent" \
        "+$(sg_stat p2 synacks_resent) cookies_valid +$(sg_stat p2 cookies_valid) proxied" \
        "+$(sg_stat p2 proxied)"
    sg_assert_eq "(4) the connection completes through the new daemon" "$(cat "$SG_TMP/pend.out")" 200
    sg_assert_ge "(4) ... which proxied" "$(sg_stat p2 proxied)" 1
}

forgetful() {
    local curl_pid rc=0 xdp=0 i
    sg_assert "(5) warm-up curl (the old daemon learns the backend)" sg_curl_ok "http://$SG_SRV4:$PORT/"
    held_curl 45003 "$SG_TMP/forget.out" 25
    curl_pid=$CURL_PID
    restart --backends-file none
    sg_snap f0
    hold off
    # the client retransmits its ACK and request on its backoff (0.2, 0.6, 1.4, 3.0, 6.2 s
    # after the first send, which was before the restart): polled up to 15 s, not a fixed 3 s
    # that a slow restart pushes past the next retransmission
    for ((i = 0; i < 150; i++)); do
        sg_snap f1
        # the ACK's cookie is checked by the XDP program when it runs, else by a worker
        grep -q '"xdp_drop_cookie_mac"' "$SG_TMP/stats.f1.json" && xdp=$(sg_delta f0 f1 xdp_drop_cookie_mac)
        [ $(($(sg_delta f0 f1 cookies_invalid) + xdp)) -ge 1 ] && break
        sleep 0.1
    done
    sg_log "(5) new daemon without the backends file: cookies_invalid" \
        "+$(sg_delta f0 f1 cookies_invalid) xdp_drop_cookie_mac +$xdp cookies_valid" \
        "+$(sg_delta f0 f1 cookies_valid)"
    sg_assert_ge "(5) the new daemon refuses the held cookie (default-wscale only)" \
        "$(($(sg_delta f0 f1 cookies_invalid) + xdp))" 1
    sg_assert_eq "(5) ... and proxies nothing" "$(sg_delta f0 f1 proxied)" 0
    sg_assert "(5) a new connection teaches it the backend" sg_curl_ok "http://$SG_SRV4:$PORT/"
    wait "$curl_pid" || rc=$?
    sg_log "(5) held curl rc $rc status $(cat "$SG_TMP/forget.out") once the daemon learned"
    sg_assert_eq "(5) the held request completes once the daemon learned" \
        "$(cat "$SG_TMP/forget.out")" 200
    restart
}

bad_file() {
    local f=$SG_TMP/backends
    sg_syngate_stop TERM
    sg_assert "(6) the daemon saved its backends at exit" test -s "$f"
    head -c "$(($(stat -c %s "$f") - 1))" "$f" >"$f.cut" && mv "$f.cut" "$f"
    start
    sg_assert "(6) a file cut short is refused" grep -q 'event=backends_file_refused' "$SGD_LOG"
    sg_assert "(6) ... and the daemon proxies" sg_curl_ok "http://$SG_SRV4:$PORT/"
    sg_syngate_stop TERM
    head -c 4096 /dev/urandom >"$f"
    start
    sg_assert "(6) a file of garbage is refused" grep -q 'event=backends_file_refused' "$SGD_LOG"
    sg_assert "(6) ... and the daemon proxies" sg_curl_ok "http://$SG_SRV4:$PORT/"
}

killed() {
    local f=$SG_TMP/backends.killed curl_pid rc=0 i
    sg_syngate_stop TERM
    start --backends-file "$f"
    sg_assert "(7) a first connection (the daemon learns the backend)" sg_curl_ok "http://$SG_SRV4:$PORT/"
    for ((i = 0; i < 80; i++)); do [ -s "$f" ] && break; sleep 0.1; done
    sg_assert "(7) the daemon saved the backends file while running" test -s "$f"
    held_curl 45004 "$SG_TMP/killed.out" 20
    curl_pid=$CURL_PID
    sg_syngate_stop KILL
    start --backends-file "$f"
    sg_snap k0
    hold off
    wait "$curl_pid" || rc=$?
    sg_snap k1
    sg_log "(7) curl rc $rc status $(cat "$SG_TMP/killed.out") after SIGKILL"
    sg_assert_eq "(7) the request completes through the next daemon" "$(cat "$SG_TMP/killed.out")" 200
    sg_assert_eq "(7) ... which verified the killed one's cookie" "$(sg_delta k0 k1 cookies_valid)" 1
    restart
}

# wait_slot PERIOD LEAD : sleep until LEAD seconds (fractional) before the next slot boundary
wait_slot() {
    local now
    now=$(date +%s.%N)
    sleep "$(awk -v n="$now" -v p="$1" -v l="$2" 'BEGIN {
        t = (int(n / p) + 1) * p - l - n; if (t < 0) t += p; printf "%.3f", t }')"
}

rotation() {
    local period=4 curl_pid i est=0 rc=0 t_ack slot0 slot1 out=$SG_TMP/rot.out pid
    sg_syngate_stop TERM
    start --cookie-period "$period"
    sg_assert "(3) curl before the rotation" sg_curl_ok "http://$SG_SRV4:$PORT/"
    # a handshake in flight: SYN-ACK in slot n (old key), then a new key, then the ACK in n+1
    wait_slot "$period" 0.6
    hold on
    sg_in "$SG_NS_C" curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 20 \
        --local-port 45001 "http://$SG_SRV4:$PORT/" >"$SG_TMP/rot1.out" 2>&1 &
    curl_pid=$!
    for ((i = 0; i < 40; i++)); do
        if sg_in "$SG_NS_C" ss -Htn state established "dst $SG_SRV4" | grep -q .; then est=1; break; fi
        sleep 0.02
    done
    slot0=$(($(date +%s) / period))
    "$SYNGATE" keys new "$SG_TMP/key" >/dev/null
    kill -HUP "$SGD_PID"
    wait_slot "$period" "-0.3"
    slot1=$(($(date +%s) / period))
    sg_snap o0
    hold off
    t_ack=$(sg_now)
    wait "$curl_pid" || rc=$?
    sg_snap o1
    sg_log "(3) SYN-ACK in slot $slot0, key rotated, ACK released in slot $slot1; curl rc $rc" \
        "status $(cat "$SG_TMP/rot1.out") $(sg_elapsed "$t_ack")s after the release"
    sg_assert_eq "(3) the client had the SYN-ACK before the rotation" "$est" 1
    sg_assert_eq "(3) the ACK was released in the next slot" "$slot1" "$((slot0 + 1))"
    sg_assert "(3) the daemon took the new key" grep -q 'event=key_rotated' "$SG_TMP"/syngate.*.log
    sg_assert_eq "(3) the handshake begun under the old key completes" "$(cat "$SG_TMP/rot1.out")" 200
    sg_assert_eq "(3) ... its cookie verified" "$(sg_delta o0 o1 cookies_valid)" 1
    # under load: three rotations, 4 s apart, while 100 connections a second run
    sg_in "$SG_NS_C" timeout -s INT 300 "$SG_PYTHON" -u "$TOOL" conns --host "$SG_SRV4" \
        --port "$PORT" --count 1200 --rate 100 --concurrency 100 --timeout 20 >"$out" 2>&1 &
    pid=$!
    for i in 1 2 3; do
        sleep 3
        "$SYNGATE" keys new "$SG_TMP/key" >/dev/null
        kill -HUP "$SGD_PID"
    done
    wait "$pid" || true
    sg_log "(3) $(head -1 "$out") with 3 rotations"
    grep '^error' "$out" >&2 || true
    sg_assert_eq "(3) every connection completed across 3 rotations" "$(result "$out")" 1200/0
    sg_syngate_stop TERM
    start
}

many_backends() {
    local f=$SG_TMP/backends.many p pids=() ports=80,336,1104
    sg_syngate_stop TERM
    for p in 336 1104; do
        sg_bg "$SG_NS_S" "$SG_TMP/http.$p.log" "$SG_PYTHON" -u "$TOOL" http-serve --port "$p"
        pids+=("$SG_BG_PID")
        sg_wait_port "$SG_NS_S" "$p" 10 || sg_die "no HTTP server on :$p"
    done
    start --ports "$ports" --backends-file "$f"
    for p in 80 336 1104; do
        sg_assert "(8) a connection to :$p (the daemon learns its backend)" sg_curl_ok "http://$SG_SRV4:$p/"
    done
    sg_syngate_stop TERM
    start --ports "$ports" --backends-file "$f"
    sg_assert "(8) the next daemon loaded all three backends from the file" \
        grep -q 'event=backends_loaded.*backends=3' "$SGD_LOG"
    sg_syngate_stop TERM
    kill "${pids[@]}" 2>/dev/null || true
    start
}

sg_run_cases "$@"
