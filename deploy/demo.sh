#!/usr/bin/env bash
# syngate demo: sets everything up, then in throwaway network namespaces runs
#
#   client (198.51.100.2) ── router: syngate ── server (203.0.113.2, HTTP :80)
#
# a real client fetching a page every 200 ms while hping3 floods the server
# with spoofed SYNs for DEMO_SECS seconds (default 10), printing syngate's
# counters live each second.  Everything is removed at the end.
#   deploy/demo.sh                 set up (packages, build) and run
#   SYNGATE_SKIP_APT=1 deploy/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO_SECS=${DEMO_SECS:-10}

bash deploy/setup.sh
. tests/net/lib.sh
sg_cleanup_on_exit
sg_topo_up
sg_tmpdir
SOCK=$SG_TMP/syngate.sock

sg_http_server 80
sg_syn_counter_install 80

echo
echo "== starting syngate in the router namespace (rules installed, fail-closed)"
sg_bg "$SG_NS_R" "$SG_TMP/syngate.log" "$ROOT/build/syngate" run --key-file "$SG_TMP/key" --ports 80 \
	--install-rules --control "$SOCK"
SYNGATE_PID=$SG_BG_PID
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
sg_curl_ok "http://$SG_SRV4/" >/dev/null || true # teaches syngate the server's TCP options
sleep 0.5

# snap: one stats snapshot as shell assignments (cookies_sent=..., proxied=...)
snap() {
	"$ROOT/build/syngate" stats --control "$SOCK" 2>/dev/null |
		awk '$1 ~ /^(cookies_sent|cookies_invalid|proxied|halfopen|drop_[a-z_]+)$/ { printf "%s=%s\n", $1, $2 }'
}

# the server's SYN count before the client's first request: every one after it is counted
syn0=$(sg_syn_count 80)
# a legitimate client: one HTTP GET every 200 ms, results in a log
CLIENT_LOG=$SG_TMP/client.log
(
	end=$((SECONDS + DEMO_SECS + 2))
	while [ $SECONDS -lt $end ]; do
		code=$(sg_curl "$SG_NS_C" "http://$SG_SRV4/" 2>/dev/null || true)
		echo "$code" >>"$CLIENT_LOG"
		sleep 0.2
	done
) &
CLIENT_PID=$!
sg_on_exit "kill $CLIENT_PID 2>/dev/null || true"

echo "== hping3 -S --flood --rand-source for ${DEMO_SECS}s (bounded by timeout -s INT)"
sg_flood "$DEMO_SECS" 80
printf '%5s  %10s  %10s  %8s  %8s  %9s  %11s  %9s\n' time cookies/s cookies proxied halfopen "bad acks" "client ok" "srv SYNs"
eval "$(snap)"
prev=$cookies_sent t0=$(date +%s.%N) tprev=$t0
for _ in $(seq 1 $((DEMO_SECS + 2))); do
	sleep 1
	eval "$(snap)"
	now=$(date +%s.%N)
	ok=$(grep -c '^200$' "$CLIENT_LOG" 2>/dev/null || true)
	all=$(wc -l <"$CLIENT_LOG" 2>/dev/null || echo 0)
	printf '%5.1f  %10.0f  %10d  %8d  %8d  %9d  %5d/%-5d  %9d\n' \
		"$(echo "$now - $t0" | bc)" "$(echo "($cookies_sent - $prev) / ($now - $tprev)" | bc)" \
		"$cookies_sent" "$proxied" "$halfopen" "$cookies_invalid" "$ok" "$all" \
		$(($(sg_syn_count 80) - syn0))
	prev=$cookies_sent tprev=$now
done
sg_flood_wait 10 >/dev/null || true
wait "$CLIENT_PID" 2>/dev/null || true

ok=$(grep -c '^200$' "$CLIENT_LOG" || true)
all=$(wc -l <"$CLIENT_LOG")
echo
echo "== result"
echo "flood SYNs sent by hping3:        ${SG_FLOOD_SENT:-?}"
eval "$(snap)"
echo "cookie SYN-ACKs sent by syngate:  $cookies_sent"
echo "legitimate requests answered:     $ok of $all"
echo "SYNs that reached the server:     $(($(sg_syn_count 80) - syn0)) (syngate's backend SYNs, one per real client)"
echo
echo "== syngate stats"
"$ROOT/build/syngate" stats --control "$SOCK" | grep -v ' 0$'
kill -INT "$SYNGATE_PID" 2>/dev/null || true
