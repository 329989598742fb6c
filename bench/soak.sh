#!/usr/bin/env bash
# bench/soak.sh — soak run: syngate with its default options under a long SYN flood, with a
# periodic ACK flood and a legitimate client, watching the daemon's memory.
#
#   bench/soak.sh [SECONDS]            (default 600; env SOAK_SECS works too)
#
# In the netns topology of tests/net/lib.sh (client <-> router running syngate <-> server):
#   - syngate `run --ports 80 --install-rules` and nothing else (so XDP = auto: generic XDP
#     on the router's veths, the queue path behind it);
#   - hping3 -S --flood --rand-source to server:80 for the whole run (bounded by
#     timeout -s INT), pinned to CPU 0;
#   - every ACK_EVERY s (default 60) an ACK flood (hping3 -A --flood --rand-source) of
#     ACK_SECS s (default 10) beside it;
#   - curl http://server:80/ once a second from the client's own address (open loop,
#     --max-time 5): a failure is any answer but 200;
#   - every 10 s: syngate's VmRSS (/proc/PID/status), its half-open table and counters
#     (forged ACKs dropped: cookies_invalid in the daemon + drop_cookie_mac in XDP).
# Prints one table row per sample and a verdict: RSS growth from the 60 s sample (after
# warm-up: the tables are preallocated, pages are touched as they are used) to the last one,
# and the legitimate failures.  SOAK_OUT=FILE also writes the table and verdict as markdown.
# Spoofed sources are rewritten into 198.18.0.0/15 in the client ns (lib.sh).  Root only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$HERE/../tests/net/lib.sh"

SECS=${1:-${SOAK_SECS:-600}}
ACK_EVERY=${ACK_EVERY:-60}
ACK_SECS=${ACK_SECS:-10}
OUT=${SOAK_OUT:-}
SAMPLE=10
RSS_SLACK_KB=${RSS_SLACK_KB:-1024} # growth tolerated after warm-up (allocator noise)

sg_require_root
sg_need ip iptables curl hping3 timeout taskset awk "$SG_PYTHON" || exit
[ -x "$SYNGATE" ] || sg_die "syngate binary not found: $SYNGATE"
sg_cleanup_on_exit
sg_topo_up
sg_http_server 80
CTL=$SG_TMP/syngate.sock
sg_syngate_start "$SG_TMP/syngate.log" --ports 80 --install-rules --control "$CTL"
sg_on_exit "sg_syngate_stop TERM"
sg_log "syngate pid $SGD_PID (default options), soak ${SECS}s"
sg_assert "warm-up curl" sg_curl_ok "http://$SG_SRV4:80/"

# snap : save `syngate stats --json` now; stat KEY : one counter of it
snap() { sg_in "$SG_NS_R" "$SYNGATE" stats --control "$CTL" --json >"$SG_TMP/stats.json"; }
stat() { grep -o "\"$1\":[0-9]*" "$SG_TMP/stats.json" | cut -d: -f2; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SGD_PID/status"; }

LEGIT=$SG_TMP/legit
mkdir -p "$LEGIT"
# legit_loop : curl once a second until SECS, each in the background; result files
# "$LEGIT/<n>" hold "start_s code seconds"
legit_loop() {
    local n=0 t0 now
    t0=$(date +%s)
    while now=$(date +%s) && [ $((now - t0)) -lt "$SECS" ]; do
        n=$((n + 1))
        (sg_in "$SG_NS_C" curl -sS -g --noproxy '*' -o /dev/null --max-time 5 \
            -w "$((now - t0)) %{http_code} %{time_total}\n" "http://$SG_SRV4:80/" \
            >"$LEGIT/$n" 2>/dev/null || [ -s "$LEGIT/$n" ] || echo "$((now - t0)) 000 5" >"$LEGIT/$n") &
        sleep 1
    done
    wait
}
# ack_loop : an ACK flood of ACK_SECS every ACK_EVERY s until SECS
ack_loop() {
    local t=0
    while [ $((t + ACK_EVERY)) -le "$SECS" ]; do
        sleep $((ACK_EVERY - ACK_SECS))
        sg_in "$SG_NS_C" taskset -c 0 timeout -s INT "$ACK_SECS" hping3 -q -A --flood \
            --rand-source -p 80 "$SG_SRV4" >>"$SG_TMP/ackflood.log" 2>&1 || true
        t=$((t + ACK_EVERY))
    done
}

SG_FLOOD_CPU=0 sg_flood "$SECS" 80
legit_loop &
LEGIT_PID=$!
SG_PIDS+=("$LEGIT_PID")
ack_loop &
ACK_PID=$!
SG_PIDS+=("$ACK_PID")

ROWS=$SG_TMP/rows
printf '| t (s) | VmRSS (kB) | half-open | cookies_sent | xdp_answered | forged ACKs dropped | proxied | legit ok | legit failed |\n' >"$ROWS"
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n' >>"$ROWS"
T0=$(date +%s)
legit_counts() { # -> "ok failed" over the result files so far
    cat "$LEGIT"/* 2>/dev/null | awk '$2 == 200 { ok++ } $2 != 200 { bad++ } END { print ok + 0, bad + 0 }'
}
for ((t = 0; t <= SECS; t += SAMPLE)); do
    sleep $((T0 + t - $(date +%s) > 0 ? T0 + t - $(date +%s) : 0))
    kill -0 "$SGD_PID" 2>/dev/null || { sg_fail "syngate died at ${t}s"; break; }
    read -r ok bad <<<"$(legit_counts)"
    snap
    row="| $t | $(rss_kb) | $(stat halfopen) | $(stat cookies_sent) | $(stat xdp_answered) |"
    row+=" $(($(stat cookies_invalid) + $(stat xdp_drop_cookie_mac))) | $(stat proxied) | $ok | $bad |"
    echo "$row" >>"$ROWS"
    echo "$row"
done
sg_flood_wait $((SECS + 30)) >/dev/null
wait "$LEGIT_PID" "$ACK_PID" 2>/dev/null || true
sleep 6 # the last curls finish (--max-time 5)
read -r ok bad <<<"$(legit_counts)"
acks=$(awk '/packets (transmitted|tramitted)/ { s += $1 } END { print s + 0 }' "$SG_TMP/ackflood.log")
slow=$(cat "$LEGIT"/* | awk '$2 == 200 && $3 > 1 { n++ } END { print n + 0 }')
p99=$(cat "$LEGIT"/* | awk '$2 == 200 { print $3 }' | sort -n | awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print v[i] }')
rss_warm=$(awk -F'|' -v w=60 '$2 + 0 == w { print $3 + 0 }' "$ROWS")
rss_last=$(awk -F'|' 'NR > 2 { r = $3 + 0 } END { print r }' "$ROWS")
rss_max=$(awk -F'|' 'NR > 2 && $3 + 0 > m { m = $3 + 0 } END { print m }' "$ROWS")
growth=$((rss_last - ${rss_warm:-$rss_last}))
{
    echo
    echo "SYN flood: $SG_FLOOD_SENT SYNs in ${SECS}s ($((SG_FLOOD_SENT / SECS))/s); ACK floods: $acks ACKs" \
        "(${ACK_SECS}s every ${ACK_EVERY}s)."
    echo "Legitimate curls: $ok ok, $bad failed; $slow took over 1 s; p99 ${p99:-?} s."
    echo "VmRSS: ${rss_warm:-?} kB at 60 s, $rss_last kB at the end (growth $growth kB), max $rss_max kB."
    if [ "$growth" -le "$RSS_SLACK_KB" ] && [ "$bad" -eq 0 ]; then
        echo "Verdict: PASS (RSS growth after warm-up <= $RSS_SLACK_KB kB, no legitimate failure)"
    else
        echo "Verdict: FAIL (RSS growth $growth kB, limit $RSS_SLACK_KB; legitimate failures $bad)"
    fi
} >>"$ROWS"
cat "$ROWS" | tail -4
[ -n "$OUT" ] && cp "$ROWS" "$OUT"
[ "$growth" -le "$RSS_SLACK_KB" ] && [ "$bad" -eq 0 ] && [ "$SG_FAILS" -eq 0 ]
