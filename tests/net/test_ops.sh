#!/usr/bin/env bash
# syngate operations test, in throwaway network namespaces.  One function per case
# (tests/net/README.md: `test_ops.sh --list`, `test_ops.sh CASE...`):
#   stats_cli      `syngate stats` (text, JSON) over a control socket of mode 0600
#   closed_events  the full queue: conntrack destroy events count spliced connections closed
#   metrics        the Prometheus endpoint, checked with promtool; backend listen queues
#                  read from the server ns
#   prometheus_scrape the endpoint scraped by a real Prometheus server
#   shed_counted   shed-rate 1000 and a SYN flood: syngate_syns_shed_total counts the SYNs the
#                  shed rule dropped before the queue (the rule's own counter)
#   check_config   `syngate check-config` errors naming the file, line and key
#   no_privilege   `syngate run` without privilege: a clear error, no crash
#   rules_watched  the rules flushed by another tool (nft flush ruleset) are put back within
#                  a second, logged and counted; flood SYNs then never reach the server
#   idle_clients   idle clients on the control socket and the metrics port hold nobody up;
#                  a landing page at /; control = a regular file is refused, the file kept
#   sighup_reload  SIGHUP reload: a bad file changes nothing, a good one switches the mode,
#                  and a connection open across the reload keeps working; rules removed at exit
#   journal_log    stderr that is the journal's stream (JOURNAL_STREAM = its dev:ino): every
#                  line has a priority prefix, <4> on warnings, <6> on info, <5> on notice;
#                  a JOURNAL_STREAM naming another file, and a terminal, get plain lines
# The daemon (config file, learn = no, xdp = off: the queue path) is started by the first
# case that needs it and restarted after sighup_reload; the traffic the counters check
# (curls, a SYN flood, a forged ACK flood) is made once per daemon.
# Needs root, ip, iptables, curl, python3; hping3 for the traffic; prometheus and promtool
# for metrics and prometheus_scrape.  Env: SYNGATE, SG_FLOOD_OPTS (hping3 pacing, lib.sh).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SYNGATE=${SYNGATE:-$ROOT/build/syngate}
. "$ROOT/tests/net/lib.sh"
SG_CASES=(stats_cli closed_events metrics prometheus_scrape shed_counted check_config no_privilege
	rules_watched idle_clients sighup_reload journal_log)
SGPID='' TRAFFIC=0

sg_setup() {
	sg_need ip iptables curl python3 || exit
	sg_topo_up
	sg_tmpdir
	T=$SG_TMP
	SOCK=$T/syngate.sock
	CONF=$T/syngate.conf
	sg_http_server 80
	sg_bg "$SG_NS_S" "$T/echo.log" python3 "$ROOT/tests/net/echo.py" serve --port 7000
	sg_wait_port "$SG_NS_S" 7000
}

counter() { "$SYNGATE" stats --control "$SOCK" | awk -v k="$1" '$1 == k { print $2 }'; }

# daemon_up : the daemon with a fresh config file, unless it runs already
daemon_up() {
	[ -n "$SGPID" ] && kill -0 "$SGPID" 2>/dev/null && return 0
	cat >"$CONF" <<CONF
[syngate]
backends-file = $T/backends
key-file = $T/key
ports = 80,7000
install-rules = yes
control = $SOCK
metrics-port = 9469
backend-netns = /run/netns/$SG_NS_S
learn = no
xdp = off
CONF
	rm -f "$SOCK"
	sg_bg "$SG_NS_R" "$T/syngate.log" "$SYNGATE" run --config "$CONF"
	SGPID=$SG_BG_PID
	TRAFFIC=0
	for _ in $(seq 200); do grep -q 'event=started' "$T/syngate.log" && break; sleep 0.1; done
	sg_assert "daemon is up (control socket exists)" test -S "$SOCK"
}

# traffic : the daemon, and once per daemon the traffic to count: 5 curls, a 2 s SYN flood,
# a 1 s forged ACK flood (returns SG_SKIP without hping3)
traffic() {
	sg_need hping3 || return
	daemon_up
	[ "$TRAFFIC" = 1 ] && return 0
	for _ in 1 2 3 4 5; do sg_curl_ok "http://$SG_SRV4/" || sg_fail "curl through syngate"; done
	sg_flood 2 80
	sg_flood_wait 10 >/dev/null
	SG_FLOOD_FLAGS=-A sg_flood 1 80
	sg_flood_wait 10 >/dev/null
	sleep 0.3
	TRAFFIC=1
}

# --- control socket and stats CLI ---------------------------------------------
stats_cli() {
	traffic || return
	local out rc
	sg_assert_eq "control socket mode is 0600" "$(stat -c %a "$SOCK")" 600
	sg_assert_eq "control socket owned by root" "$(stat -c %U "$SOCK")" root
	sg_assert_ge "stats: proxied >= 5" "$(counter proxied)" 5
	sg_assert_ge "stats: cookies_sent counts the flood" "$(counter cookies_sent)" 1000
	sg_assert_ge "stats: forged ACKs counted" "$(counter drop_cookie_mac)" 100
	"$SYNGATE" stats --json --control "$SOCK" >"$T/stats.json"
	sg_assert "stats --json is valid JSON with the counters" python3 -c "
import json,sys; d=json.load(open('$T/stats.json'))
assert d['mode']=='always' and d['proxied']>=5 and d['cookies_sent']>=1000, d"
	out=$("$SYNGATE" stats --control "$T/none.sock" 2>&1)
	rc=$?
	sg_assert "stats without a daemon: exit 1 and a message" test "$rc" = 1 -a -n "$(echo "$out" | grep 'cannot reach the daemon')"
}

# --- the full queue: syngate learns when spliced connections end ------------------
closed_events() {
	sg_need conntrack || return
	traffic || return
	local est closed0 ndel
	est=$(counter established) closed0=$(counter closed)
	sg_assert_ge "established connections counted" "$est" 5
	ndel=$(sg_in "$SG_NS_R" conntrack -D -p tcp --mark 0x08000000/0x08000000 2>&1 | grep -c '^tcp')
	sg_log "deleted $ndel spliced conntrack entries"
	for _ in $(seq 30); do [ "$(counter closed)" -ge $((closed0 + ndel)) ] && break; sleep 0.1; done
	sg_assert_eq "destroy events counted as closed" "$(counter closed)" $((closed0 + ndel))
	sg_assert_eq "established falls accordingly" "$(counter established)" $((est - ndel))
}

# --- Prometheus endpoint --------------------------------------------------------
metrics() {
	sg_need promtool || return
	traffic || return
	local m backlog
	sg_in "$SG_NS_R" curl -sf http://127.0.0.1:9469/metrics >"$T/metrics.txt"
	sg_assert "metrics endpoint answers on 127.0.0.1:9469" test -s "$T/metrics.txt"
	sg_assert "promtool check metrics passes" sh -c "promtool check metrics <'$T/metrics.txt' >'$T/promtool.log' 2>&1"
	for m in syngate_cookies_sent_total syngate_cookies_valid_total syngate_cookies_invalid_total \
		syngate_connections_proxied_total 'syngate_drops_total{reason="cookie_mac"}' \
		syngate_halfopen_connections syngate_established_connections 'syngate_mode{mode="always"}' \
		'syngate_nfqueue_backlog_packets{queue="0"}' syngate_backend_handshake_seconds_bucket \
		'syngate_cookies_in_flight{slot="current"}' 'syngate_backend_accept_queue_limit{port="80"}' \
		'syngate_build_info{version="' process_resident_memory_bytes process_cpu_seconds_total \
		process_open_fds process_start_time_seconds 'syngate_path{path="queue"} 1'; do
		sg_assert "metric $m present" grep -qF "$m" "$T/metrics.txt"
	done
	sg_assert "metrics endpoint is not reachable from the client side" sh -c \
		"! ip netns exec $SG_NS_C curl -s --max-time 2 http://$SG_RTR_C4:9469/metrics >/dev/null"
	backlog=$(awk -F' ' '/^syngate_backend_accept_queue_limit\{port="80"\}/ { print $2 }' "$T/metrics.txt")
	sg_assert_ge "backend accept-queue limit read from the server ns" "${backlog:-0}" 1
	sg_assert "breakdowns sum to their totals, one-of families have one value" \
		python3 "$ROOT/tests/monitoring/check_metrics.py" partitions "$T/metrics.txt"
	# the shed counters are the rules' own, read once a second
	local m r
	shed_settled "$T/metrics2.txt"
	read -r m r < <(shed_counts "$T/metrics2.txt")
	sg_log "SYNs shed before the queue: metric $m, rules $r"
	sg_assert_eq "syngate_syns_shed_total is the shed rules' count" "$m" "$r"
	sg_assert "syngate_invalid_dropped_total exported" grep -q '^syngate_invalid_dropped_total [0-9]' "$T/metrics2.txt"
}

# --- a real Prometheus server scrapes it ------------------------------------------
prometheus_scrape() {
	sg_need prometheus promtool || return
	traffic || return
	local prom_pid up='' sent=''
	cat >"$T/prometheus.yml" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: syngate
    static_configs: [ { targets: ['127.0.0.1:9469'] } ]
YML
	sg_assert "promtool check config" promtool check config "$T/prometheus.yml"
	sg_bg "$SG_NS_R" "$T/prometheus.log" prometheus --config.file="$T/prometheus.yml" \
		--storage.tsdb.path="$T/tsdb" --web.listen-address=127.0.0.1:9090
	prom_pid=$SG_BG_PID
	q() { sg_in "$SG_NS_R" curl -s "http://127.0.0.1:9090/api/v1/query" --data-urlencode "query=$1" |
		python3 -c "import json,sys; r=json.load(sys.stdin)['data']['result']; print(r[0]['value'][1] if r else '')" 2>/dev/null; }
	for _ in $(seq 60); do
		up=$(q 'up{job="syngate"}')
		sent=$(q 'syngate_cookies_sent_total')
		[ "$up" = 1 ] && [ -n "$sent" ] && break
		sleep 0.5
	done
	sg_assert_eq "Prometheus scraped syngate (up == 1)" "$up" 1
	sg_assert_ge "Prometheus sees syngate_cookies_sent_total" "${sent%.*}" 1000
	kill "$prom_pid" 2>/dev/null
	sg_wait_pid "$prom_pid" 10 || true
}

# --- SYNs shed before the queue ---------------------------------------------------
# shed_counts FILE : prints "METRIC RULES": syngate_syns_shed_total of a scrape saved to FILE,
# and the packet counters of the shed rules (iptables-save -c, both families)
shed_counts() {
	local ipt
	ipt=$(sg_in "$SG_NS_R" sh -c 'iptables-save -c -t raw; ip6tables-save -c -t raw' |
		awk '/-A SYNGATE-RAW .*-j DROP$/ { sub(/^\[/, "", $1); split($1, c, ":"); s += c[1] }
			END { print s + 0 }')
	sg_in "$SG_NS_R" curl -sf http://127.0.0.1:9469/metrics >"$1"
	echo "$(awk '$1 == "syngate_syns_shed_total" { print $2 }' "$1") $ipt"
}

# shed_settled FILE : wait (up to 3 s) until the metric has caught up with the rules' counters:
# the watch reads them once a second, however late it comes round on a loaded machine
shed_settled() {
	local m r
	for _ in $(seq 30); do
		read -r m r < <(shed_counts "$1")
		[ "$m" = "$r" ] && return 0
		sleep 0.1
	done
}

shed_counted() {
	sg_need hping3 || return
	local sent m r
	if [ -n "$SGPID" ]; then kill -INT "$SGPID"; sg_wait_pid "$SGPID" 10; SGPID=''; fi
	sed 's/^ports = .*/&\nshed-rate = 1000/' "$CONF" >"$T/shed.conf" 2>/dev/null || return
	rm -f "$SOCK"
	sg_bg "$SG_NS_R" "$T/syngate.shed.log" "$SYNGATE" run --config "$T/shed.conf"
	local pid=$SG_BG_PID
	for _ in $(seq 200); do grep -q 'event=started' "$T/syngate.shed.log" && break; sleep 0.1; done
	sg_assert "daemon with shed-rate 1000 is up" test -S "$SOCK"
	sg_flood 1 80
	sent=$(sg_flood_wait 10)
	shed_settled "$T/metrics.shed.txt"
	read -r m r < <(shed_counts "$T/metrics.shed.txt")
	sg_log "flood sent $sent SYNs; shed: metric $m, rules $r"
	sg_assert_ge "the flood went past shed-rate" "$sent" 5000
	sg_assert_ge "SYNs were shed" "${m:-0}" 1
	sg_assert_eq "syngate_syns_shed_total is the shed rules' count" "$m" "$r"
	sg_assert_le "no more shed than sent" "$m" "$sent"
	kill -INT "$pid"
	sg_wait_pid "$pid" 10
}

# --- check-config ---------------------------------------------------------------
check_config() {
	daemon_up
	local rc
	printf '[syngate]\nports = 80\n\nmode = sometimes\n' >"$T/bad.conf"
	"$SYNGATE" check-config "$T/bad.conf" >"$T/check.out" 2>&1
	rc=$?
	sg_assert "check-config: bad value exits 1" test "$rc" = 1
	sg_assert "check-config: names file, line and key" \
		grep -qF "bad.conf:4: bad value 'sometimes' for 'mode'" "$T/check.out"
	sg_assert "check-config: good file passes" "$SYNGATE" check-config "$CONF"
}

# --- no privilege: a clear error, no crash --------------------------------------------
no_privilege() {
	sg_need setpriv || return
	local rc
	setpriv --reuid=65534 --regid=65534 --clear-groups "$SYNGATE" run --control "$T/np.sock" \
		>"$T/np.out" 2>&1
	rc=$?
	sg_assert "run without privilege exits 1" test "$rc" = 1
	sg_assert "run without privilege names the capabilities" grep -q "needs CAP_NET_ADMIN" "$T/np.out"
}

# --- SIGHUP reload ---------------------------------------------------------------
# --- the rules watched ------------------------------------------------------------
rules_watched() {
	sg_need hping3 nft || return
	daemon_up
	local r0 s0 s1 sent
	r0=$(counter rules_restored)
	sg_assert_eq "rules installed (stats)" "$(counter rules_installed)" 1
	sg_in "$SG_NS_R" nft flush ruleset
	sg_assert "the flush removed the rules" sh -c "! ip netns exec $SG_NS_R iptables-save | grep -q SYNGATE-RAW"
	for _ in $(seq 30); do [ "$(counter rules_restored)" -gt "$r0" ] && break; sleep 0.1; done
	sg_assert_eq "restored once, within 3 s" "$(counter rules_restored)" $((r0 + 1))
	sg_assert_eq "rules installed again (stats)" "$(counter rules_installed)" 1
	sg_assert "the chains are back" sh -c "ip netns exec $SG_NS_R iptables-save -t raw | grep -q -- '-j SYNGATE-RAW'"
	sg_assert "the log says so" grep -q "event=rules_missing action=reinstall" "$T/syngate.log"
	sg_syn_counter_install 80
	s0=$(sg_syn_count 80 4)
	sg_flood 1 80
	sent=$(sg_flood_wait 10)
	s1=$(sg_syn_count 80 4)
	sg_assert_ge "the flood after the restore was real" "$sent" 1000
	sg_assert_le "no flood SYN reached the server (backend SYN retransmissions aside)" "$((s1 - s0))" 5
	sg_assert "metric syngate_rules_installed 1" sh -c \
		"ip netns exec $SG_NS_R curl -sf http://127.0.0.1:9469/metrics | grep -qx 'syngate_rules_installed 1'"
	sg_assert "conntrack usage exported" sh -c \
		"ip netns exec $SG_NS_R curl -sf http://127.0.0.1:9469/metrics | grep -q '^syngate_conntrack_max [1-9]'"
}

# --- idle clients hold nobody up -----------------------------------------------------
idle_clients() {
	daemon_up
	local pids=() i t0 el code
	for i in $(seq 12); do
		sg_bg "$SG_NS_R" "$T/idle.$i.log" python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(8)" "$SOCK"
		pids+=("$SG_BG_PID")
		sg_bg "$SG_NS_R" "$T/idlehttp.$i.log" python3 -c "
import socket, time
s = [socket.create_connection(('127.0.0.1', 9469)) for _ in range(4)]
for c in s: c.send(b'GET /metr')
time.sleep(8)"
		pids+=("$SG_BG_PID")
	done
	sleep 0.5
	t0=$(sg_now)
	sg_assert "stats answers with 12 idle control clients" sh -c "'$SYNGATE' stats --control '$SOCK' | grep -q '^proxied'"
	el=$(sg_elapsed "$t0")
	sg_log "stats took ${el}s with 12 idle clients"
	sg_assert "stats took under 1 s" awk -v e="$el" 'BEGIN { exit !(e < 1.0) }'
	code=$(sg_in "$SG_NS_R" curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:9469/metrics)
	sg_assert_eq "/metrics answers with 48 idle HTTP connections open" "$code" 200
	sg_assert "a landing page at /" sh -c "ip netns exec $SG_NS_R curl -sf http://127.0.0.1:9469/ | grep -q 'href=\"/metrics\"'"
	for i in "${pids[@]}"; do kill "$i" 2>/dev/null; done
	echo keep >"$T/notasocket"
	local out rc=0
	out=$(sg_in "$SG_NS_R" timeout 10 "$SYNGATE" run --ports 81 --queue 5 --xdp off --install-rules=no \
		--metrics-port 0 --control "$T/notasocket" 2>&1) || rc=$?
	sg_assert "control = a regular file: refused" test "$rc" -ne 0
	sg_assert "control = a regular file: the error says so" grep -q "other than a socket" <<<"$out"
	sg_assert_eq "control = a regular file: the file is kept" "$(cat "$T/notasocket")" keep
}

sighup_reload() {
	daemon_up
	local hold passed0
	rm -f "$T/go"
	sg_bg "$SG_NS_C" "$T/hold.log" python3 "$ROOT/tests/net/echo.py" hold --host "$SG_SRV4" --port 7000 --go "$T/go"
	hold=$SG_BG_PID
	for _ in $(seq 50); do grep -q connected "$T/hold.log" 2>/dev/null && break; sleep 0.1; done
	sg_assert "long-lived connection open through syngate" grep -q connected "$T/hold.log"

	cp "$CONF" "$T/good.conf"
	echo "mode = sometimes" >>"$CONF"
	kill -HUP "$SGPID"
	for _ in $(seq 30); do grep -q "SIGHUP: .*syngate.conf:11: bad value" "$T/syngate.log" && break; sleep 0.1; done
	sg_assert_eq "bad reload keeps the mode" "$("$SYNGATE" stats --control "$SOCK" | awk '$1=="mode"{print $2}')" always
	sg_assert "bad reload is logged with the line" grep -q "SIGHUP: .*syngate.conf:11: bad value" "$T/syngate.log"

	cp "$T/good.conf" "$CONF"
	echo "mode = never" >>"$CONF"
	passed0=$(counter syn_passed)
	kill -HUP "$SGPID"
	for _ in $(seq 30); do [ "$(counter mode)" = never ] && break; sleep 0.1; done
	sg_assert_eq "reload switched the mode to never" "$("$SYNGATE" stats --control "$SOCK" | awk '$1=="mode"{print $2}')" never
	sg_assert "curl works after the reload" sg_curl_ok "http://$SG_SRV4/"
	sg_assert_ge "SYNs now pass through (mode never)" "$(counter syn_passed)" $((passed0 + 1))
	touch "$T/go"
	sg_wait_pid "$hold" 10
	sg_assert "connection opened before the reload still works after it" grep -q '^ok$' "$T/hold.log"
	sg_assert "daemon still running after reloads" kill -0 "$SGPID"

	kill -INT "$SGPID"
	sg_wait_pid "$SGPID" 5
	SGPID=''
	sg_assert "rules removed at exit" sh -c "! ip netns exec $SG_NS_R iptables-save | grep -q SYNGATE"
}

# --- logs for journald -------------------------------------------------------------
# journal_run LOG JOURNAL_STREAM [OPTION...] : a second daemon (queue 5, no rules, no metrics,
# an XDP object that does not exist: xdp = auto warns and takes the queue path) with stderr
# on LOG and JOURNAL_STREAM set as given, stopped with SIGINT once it logged event=started
journal_run() {
	local log=$1 stream=$2 pid; shift 2
	: >"$log"
	[ "$stream" = self ] && stream=$(stat -c '%d:%i' "$log")
	rm -f "$T/journal.sock"
	sg_bg "$SG_NS_R" "$log" env JOURNAL_STREAM="$stream" "$SYNGATE" run --ports 81 --queue 5 \
		--install-rules=no --metrics-port 0 --control "$T/journal.sock" --xdp auto \
		--xdp-object "$T/none.o" "$@"
	pid=$SG_BG_PID
	for _ in $(seq 50); do grep -q 'event=started' "$log" && break; sleep 0.1; done
	kill -INT "$pid" 2>/dev/null
	sg_wait_pid "$pid" 5
}

journal_log() {
	local j=$T/journal.log
	journal_run "$j" self
	sg_log "journal-stream log: $(tr '\n' '|' <"$j")"
	sg_assert "journal: the daemon started" grep -q 'event=started' "$j"
	sg_assert "journal: every line has a priority prefix" sh -c "! grep -qv '^<[0-7]>' '$j'"
	sg_assert "journal: warnings are <4>" grep -q '^<4>event=xdp_unavailable path=queue ' "$j"
	sg_assert "journal: strerror warnings are <4>" grep -q '^<4>XDP: cannot open .*none.o' "$j"
	sg_assert "journal: info is <6>" grep -q '^<6>event=started queues=5-[0-9]* mode=always .*path=queue' "$j"
	sg_assert "journal: notice is <5>" grep -q '^<5>event=stopping signal=2 ' "$j"
	journal_run "$T/other.log" "1:1"
	sg_assert "JOURNAL_STREAM of another file: plain lines" grep -q \
		'^syngate: warning: event=xdp_unavailable' "$T/other.log"
	sg_assert "JOURNAL_STREAM of another file: no prefixes" sh -c "! grep -q '^<' '$T/other.log'"
	journal_run "$T/forced.log" "" --log-format journal
	sg_assert "log-format = journal without JOURNAL_STREAM: prefixes" grep -q \
		'^<6>event=started' "$T/forced.log"
	journal_run "$T/plain.log" self --log-format plain
	sg_assert "log-format = plain on the journal's stream: plain lines" grep -q \
		'^syngate: info: event=started' "$T/plain.log"
	# journald itself is not driven here: the test hosts have no systemd as PID 1; the
	# "<N>" prefixes are what journald reads (sd-daemon(3), systemd.exec(5) JOURNAL_STREAM)
}

sg_run_cases "$@"
