#!/usr/bin/env bash
# syngate adaptive mode, in throwaway network namespaces.  One function per case
# (tests/net/README.md: `test_adaptive.sh --list`, `test_adaptive.sh CASE...`):
#   quiet         SYNs pass through untouched while the half-open estimate is low
#   flood         a flood starts and cookies engage within 1 s; a legitimate client keeps
#                 connecting throughout; every flood SYN is accounted for (queued or shed,
#                 answered or a counted queue drop: sg_flood_accounting); the flood stops and
#                 pass-through resumes.  Transitions are counted and logged.
#   check_config  check-config rejects adaptive-low >= adaptive-high
#   two_queues    two queues, two worker threads (--queue-balance) share a flood
# Each case runs its own daemon (the counters it checks start at 0), on the queue path
# (--xdp off; test_xdp.sh tests adaptive mode with XDP).
# Needs root, ip, iptables, curl, python3, bc; hping3 for flood and two_queues.
# Env: SYNGATE, SG_FLOOD_OPTS (hping3 pacing, lib.sh).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SYNGATE=${SYNGATE:-$ROOT/build/syngate}
. "$ROOT/tests/net/lib.sh"
SG_CASES=(quiet flood check_config two_queues)
SGPID=''

sg_setup() {
	sg_need ip iptables curl python3 bc || exit
	sg_topo_up
	sg_tmpdir
	T=$SG_TMP
	SOCK=$T/syngate.sock
	CTL=$SOCK
	sg_http_server 80
	sg_syn_counter_install 80
}
counter() { "$SYNGATE" stats --control "$SOCK" | awk -v k="$1" '$1 == k { print $2 }'; }
# start_daemon LOG ARGS... : a fresh daemon (the one before it stopped) on port 80
start_daemon() {
	local log=$1
	shift
	stop_daemon
	rm -f "$SOCK"
	sg_bg "$SG_NS_R" "$log" "$SYNGATE" run --key-file "$SG_TMP/key" --ports 80 --install-rules --control "$SOCK" \
		--metrics-port 0 --xdp off --backends-file "$SG_TMP/backends" "$@"
	SGPID=$SG_BG_PID
	for _ in $(seq 200); do grep -q 'event=started' "$log" && break; sleep 0.1; done
}
stop_daemon() {
	[ -n "$SGPID" ] || return 0
	kill -INT "$SGPID" 2>/dev/null
	sg_wait_pid "$SGPID" 5 || sg_log "daemon $SGPID: exit status $?"
	SGPID=''
}
start_adaptive() {
	start_daemon "$1" --mode adaptive --adaptive-high 1000 --adaptive-low 500 \
		--adaptive-window-ms 2000
}

# --- quiet: pass-through ----------------------------------------------------------
quiet() {
	start_adaptive "$T/syngate.quiet.log"
	for _ in $(seq 20); do sg_curl_ok "http://$SG_SRV4/" || sg_fail "curl before the flood"; done
	sg_assert_eq "quiet: cookies not engaged" "$(counter cookies_engaged)" 0
	sg_assert_ge "quiet: SYNs passed through" "$(counter syn_passed)" 20
	sg_assert_eq "quiet: no cookies sent" "$(counter cookies_sent)" 0
	sg_assert_ge "quiet: completed handshakes counted" "$(counter passed_completed)" 20
	sg_assert_le "quiet: half-open estimate stays low" "$(counter halfopen_estimate)" 50
}

# --- flood: cookies engage within 1 s, release after it --------------------------------
flood() {
	sg_need hping3 || return
	local log=$T/syngate.log clog=$T/client.log client syn_before t0 engaged_after rate
	local elapsed passed_to_server released passed0 proxied0 ok all
	start_adaptive "$log"
	sg_assert "warm-up curl (quiet: passed through)" sg_curl_ok "http://$SG_SRV4/"
	# --- a legitimate client throughout
	: >"$clog"
	(
		end=$((SECONDS + 14))
		while [ $SECONDS -lt $end ]; do
			SG_CURL_TIMEOUT=8 sg_curl "$SG_NS_C" "http://$SG_SRV4/" >>"$clog"
			echo >>"$clog"
			sleep 0.1
		done
	) &
	client=$!
	SG_PIDS+=("$client")
	sleep 1

	# --- flood: cookies engage within 1 s
	syn_before=$(sg_syn_count 80)
	sg_snap fl0
	t0=$(date +%s.%N)
	sg_flood 6 80
	engaged_after=''
	for _ in $(seq 40); do
		if [ "$(counter cookies_engaged)" = 1 ]; then
			engaged_after=$(echo "$(date +%s.%N) - $t0" | bc)
			break
		fi
		sleep 0.05
	done
	sg_assert "cookies engaged during the flood" test -n "$engaged_after"
	sg_log "cookies engaged ${engaged_after:-never} s after the flood started"
	sg_assert "cookies engaged within 1 s" sh -c "echo '${engaged_after:-9} < 1.0' | bc | grep -q 1"
	timeout 2.5 "$SYNGATE" stats --watch 1 --control "$SOCK" >"$T/watch.out" 2>&1
	sed 's/\x1b\[[0-9;]*[HJ]//g' "$T/watch.out" >"$T/watch.txt"
	sg_assert "watch view: redrawn with the mode and engagement" grep -q "mode adaptive, cookies ENGAGED" "$T/watch.txt"
	rate=$(awk '/SYN\/s/ { getline; print $2; exit }' "$T/watch.txt")
	sg_assert_ge "watch view: cookies/s during the flood" "${rate:-0}" 1000
	sg_assert "watch view: shows the half-open estimate and the queues" sh -c \
		"grep -q 'half-open estimate' '$T/watch.txt' && grep -q 'syngate half-open' '$T/watch.txt' && grep -q 'NFQUEUE backlog' '$T/watch.txt'"
	sg_assert_eq "mid-flood: still engaged" "$(counter cookies_engaged)" 1
	sg_flood_wait 20 >/dev/null
	elapsed=$(sg_elapsed "$SG_FLOOD_T0")
	sleep 0.3
	sg_queue_drained
	sg_snap fl1
	sg_log "flood: $SG_FLOOD_SENT SYNs sent; cookies sent $(counter cookies_sent)"
	# what reached the router, what the shed rule let in, what syngate answered (the SYNs
	# passed before the engagement are in syn_seen, not cookies_sent); the client makes at
	# most one request per 100 ms over 14 s, each up to 3 SYNs
	sg_flood_accounting "flood" 4 "$SG_FLOOD_SENT" 6 "$elapsed" 420 fl0 fl1
	passed_to_server=$(($(sg_syn_count 80) - syn_before))
	sg_log "SYNs that reached the server during the flood phase: $passed_to_server"
	sg_assert_le "flood SYNs mostly kept from the server (< high watermark + legit)" \
		"$passed_to_server" 1300

	# --- after the flood: pass-through resumes
	released=''
	for _ in $(seq 80); do
		[ "$(counter cookies_engaged)" = 0 ] && released=1 && break
		sleep 0.1
	done
	sg_assert "cookies released after the flood" test -n "$released"
	passed0=$(counter syn_passed) proxied0=$(counter proxied)
	sg_assert "curl after the flood" sg_curl_ok "http://$SG_SRV4/"
	sg_assert_ge "after the flood: SYNs pass through again" "$(counter syn_passed)" $((passed0 + 1))
	sg_assert_eq "after the flood: no new proxied connection" "$(counter proxied)" "$proxied0"

	wait "$client" 2>/dev/null
	ok=$(grep -c '^200$' "$clog" || true)
	all=$(grep -c . "$clog" || true)
	sg_log "legitimate client: $ok of $all requests answered"
	sg_assert_ge "legitimate client made requests during the test" "$all" 30
	sg_assert_eq "every legitimate request succeeded" "$ok" "$all"
	sg_assert_eq "one engagement counted" "$(counter adaptive_engagements)" 1
	sg_assert_eq "one release counted" "$(counter adaptive_releases)" 1
	sg_assert "engagement logged" grep -q "event=cookies_engaged queue=[0-9]* estimate=[0-9]* high=" "$log"
	sg_assert "release logged" grep -q "event=cookies_released queue=[0-9]* estimate=[0-9]* low=" "$log"
	stop_daemon
}

# --- check-config ---------------------------------------------------------------------
check_config() {
	printf '[syngate]\nmode = adaptive\nadaptive-high = 100\nadaptive-low = 100\n' >"$T/bad.conf"
	sg_assert "check-config rejects low >= high" sh -c \
		"! '$SYNGATE' check-config '$T/bad.conf' 2>&1 | grep -q ok && '$SYNGATE' check-config '$T/bad.conf' 2>&1 | grep -q 'must be below'"
}

# --- two queues, two worker threads (--queue-balance) ---------------------------
two_queues() {
	sg_need hping3 || return
	local q ids
	start_daemon "$T/syngate2.log" --queues 2
	sg_assert "two queues: curl" sg_curl_ok "http://$SG_SRV4/"
	sg_flood 2 80
	for _ in 1 2 3; do sg_assert "two queues: curl during a flood" sg_curl_ok "http://$SG_SRV4/"; done
	sg_flood_wait 10 >/dev/null
	# /proc/net/netfilter/nfnetlink_queue: queue, portid, waiting, mode, range, drops, user drops, id
	for q in 0 1; do
		ids=$(sg_in "$SG_NS_R" awk -v q="$q" '$1 == q { print $8 }' /proc/net/netfilter/nfnetlink_queue)
		sg_assert_ge "two queues: queue $q handled flood SYNs" "${ids:-0}" 1000
	done
	sg_assert_ge "two queues: cookies counted across workers" "$(counter cookies_sent)" 2000
	sg_assert_ge "two queues: proxied counted across workers" "$(counter proxied)" 3
	# two main queues and their two lane queues (rules/README.md, "The lane"), a table each
	sg_assert_eq "two queues: table size reported for all four workers" "$(counter halfopen_max)" 262144
	stop_daemon
}

sg_run_cases "$@"
