#!/usr/bin/env bash
# syngate privileges and systemd integration, in throwaway network namespaces.  One
# function per case (tests/net/README.md: `test_privs.sh --list`, `test_privs.sh CASE...`):
#   user_unknown   user = a name that does not exist: refused before anything is opened
#   user_caps      run with user = nobody: every thread's Uid/Gid is nobody's and its
#                  capabilities are CAP_NET_ADMIN and CAP_NET_RAW alone (effective, permitted,
#                  ambient, bounding); curl through it over IPv4 and IPv6
#   flood_legit    a SYN flood with a legitimate client beside it, after the drop
#   rules_restored `nft flush ruleset`: the rules watcher (iptables run by the dropped
#                  process, ambient capabilities) puts the rules back
#   sighup_reload  SIGHUP after the drop: the mode changes, and a change to adaptive
#                  reinstalls the rules (the completions rule appears)
#   rp_filter      with net.ipv4.conf.all.rp_filter 1 the daemon makes only the client
#                  interface loose, and puts it back at exit, as nobody
#   notify         Type=notify with a fake NOTIFY_SOCKET: READY=1 once the rules and the
#                  control socket are there, WATCHDOG=1 every quarter of WATCHDOG_USEC,
#                  none while a worker thread is stopped (ptrace), again once it runs,
#                  STOPPING=1 at exit
#   unit_execstart deploy/syngate.service's ExecStartPre and ExecStart lines as written
#                  (paths swapped for the build's), as the unit runs them: an unprivileged
#                  uid holding the unit's AmbientCapabilities, no_new_privs,
#                  RUNTIME_DIRECTORY (control socket there, found by `syngate stats`),
#                  NOTIFY_SOCKET; the XDP program loads; capabilities after the drop
#   unit_netns     the same with deploy/syngate-backend-netns.conf's CAP_SYS_ADMIN: the
#                  backends' listen queues are read, and CAP_SYS_ADMIN is gone after the start
# Needs root, ip, iptables, curl, python3, setpriv; hping3 for flood_legit, nft for
# rules_restored.  Env: SYNGATE.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SYNGATE=${SYNGATE:-$ROOT/build/syngate}
UNIT=$ROOT/deploy/syngate.service
DROPIN=$ROOT/deploy/syngate-backend-netns.conf
. "$ROOT/tests/net/lib.sh"
SG_CASES=(user_unknown user_caps flood_legit rules_restored sighup_reload rp_filter notify unit_execstart unit_netns)
SGPID='' NOBODY=65534
KEEP_MASK=0000000000003000 # CAP_NET_ADMIN (12) and CAP_NET_RAW (13)

sg_setup() {
	sg_need ip iptables curl python3 setpriv || exit
	sg_topo_up
	sg_tmpdir
	T=$SG_TMP
	chmod 755 "$T" # the dropped daemon reads its config file here on SIGHUP
	SOCK=$T/syngate.sock
	CONF=$T/syngate.conf
	sg_http_server 80
}

counter() { "$SYNGATE" stats --control "$SOCK" | awk -v k="$1" '$1 == k { print $2 }'; }
status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

daemon_stop() {
	[ -n "$SGPID" ] || return 0
	kill -TERM "$SGPID" 2>/dev/null
	sg_wait_pid "$SGPID" 10
	SGPID=''
}

# daemon_up [ENV=VALUE...] : the daemon as user nobody (config $CONF), unless it runs
daemon_up() {
	[ -n "$SGPID" ] && kill -0 "$SGPID" 2>/dev/null && return 0
	cat >"$CONF" <<CONF
[syngate]
backends-file = none
key-file = $T/key
ports = 80
interfaces = $SG_IF_RC
control = $SOCK
metrics-port = 9469
user = nobody
learn = no
xdp = off
CONF
	chmod 644 "$CONF"
	rm -f "$SOCK"
	sg_bg "$SG_NS_R" "$T/syngate.log" env "$@" "$SYNGATE" run --config "$CONF"
	SGPID=$SG_BG_PID
	# up: its threads run (event=started comes after the drop and the threads' start; the
	# control socket exists before either)
	for _ in $(seq 200); do grep -q "event=started" "$T/syngate.log" && break; sleep 0.1; done
	sg_assert "daemon is up (control socket exists)" test -S "$SOCK"
}

# caps_are PID MASK DESC : every thread of PID has exactly MASK in CapEff, CapPrm, CapAmb
caps_are() {
	local pid=$1 want=$2 desc=$3 t f bad=''
	for t in /proc/"$pid"/task/*; do
		for f in CapEff CapPrm CapAmb; do
			[ "$(awk -v k="$f:" '$1 == k { print $2 }' "$t/status")" = "$want" ] || bad+="${t##*/}:$f "
		done
	done
	sg_assert "$desc: every thread holds $want (CapEff CapPrm CapAmb)${bad:+ - not: $bad}" test -z "$bad"
}

user_unknown() {
	local rc
	sg_in "$SG_NS_R" "$SYNGATE" run --ports 80 --xdp off --control "$T/unknown.sock" \
		--user no-such-user-sg >"$T/unknown.log" 2>&1
	rc=$?
	sg_assert_eq "unknown user: exit 1" "$rc" 1
	sg_assert "unknown user: says so" grep -q "user 'no-such-user-sg': no such user" "$T/unknown.log"
	sg_assert "unknown user: no rules installed" sh -c "! ip netns exec $SG_NS_R iptables-save | grep -q SYNGATE"
}

# --- user = nobody --------------------------------------------------------------------
user_caps() {
	daemon_up
	local t bad='' n
	sg_assert "log: dropped" grep -q "event=privileges_dropped uid=$NOBODY gid=$NOBODY" "$T/syngate.log"
	for t in /proc/"$SGPID"/task/*; do
		[ "$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' "$t/status")" = "$NOBODY$NOBODY$NOBODY$NOBODY" ] || bad+="${t##*/}:uid "
		[ "$(awk '$1 == "Gid:" { print $2 $3 $4 $5 }' "$t/status")" = "$NOBODY$NOBODY$NOBODY$NOBODY" ] || bad+="${t##*/}:gid "
		[ -z "$(awk '$1 == "Groups:" { print $2 }' "$t/status")" ] || bad+="${t##*/}:groups "
	done
	n=$(ls /proc/"$SGPID"/task | wc -l)
	sg_assert "all $n threads run as nobody, no supplementary groups${bad:+ - not: $bad}" test -z "$bad"
	caps_are "$SGPID" "$KEEP_MASK" "user nobody"
	sg_assert_eq "bounding set: the same two" "$(status_field "$SGPID" CapBnd)" "$KEEP_MASK"
	sg_assert "a worker thread is named sg-queue-0" grep -qx sg-queue-0 /proc/"$SGPID"/task/*/comm
	sg_assert "curl v4 through the dropped daemon" sg_curl_ok "http://$SG_SRV4/"
	sg_assert "curl v6 through the dropped daemon" sg_curl_ok "http://[$SG_SRV6]/"
	sg_assert_ge "cookies validated (the proxy did the work)" "$(counter cookies_valid)" 2
	sg_assert "the kernel's queue figures (a root-only /proc file, opened before the drop)" \
		sh -c "$SYNGATE stats --control $SOCK | grep -q '^nfq_kernel_user_dropped'"
	sg_assert "metrics endpoint serves after the drop" sh -c \
		"ip netns exec $SG_NS_R curl -sf http://127.0.0.1:9469/metrics | grep -q '^syngate_cookies_valid'"
	sg_assert "process metrics after the drop: open descriptors counted" sh -c \
		"ip netns exec $SG_NS_R curl -sf http://127.0.0.1:9469/metrics | grep -Eq '^process_open_fds [1-9]'"
}

flood_legit() {
	sg_need hping3 || return
	daemon_up
	local sent elapsed CTL=$SOCK
	# a client that completed a handshake is in the lane, beside the flood's shared bucket
	# (rules/README.md): its curls do not depend on how far the flood exceeds shed-rate
	sg_assert "curl before the flood" sg_curl_ok "http://$SG_SRV4/"
	sg_snap fl0
	sg_flood 4 80
	sg_legit_loop "http://$SG_SRV4/"
	sent=$(sg_flood_wait 10)
	elapsed=$(sg_elapsed "$SG_FLOOD_T0")
	sg_queue_drained
	sg_snap fl1
	sg_log "flood: $sent SYNs sent; legitimate curls: $OK ok, $BAD failed of $N"
	sg_assert_ge "the flood was real" "$sent" 1000
	# cookies against what the shed rule let into the queue, not against what was sent: a
	# faster generator sends more than shed-rate lets in
	sg_flood_accounting "flood as nobody" 4 "$sent" 4 "$elapsed" "$((3 * N))" fl0 fl1
	sg_assert_ge "legitimate curls during the flood: at least 4" "$OK" 4
	sg_assert_le "legitimate curls failed: at most 1 in 5" "$((BAD * 5))" "$N"
	sg_assert "curl after the flood" sg_curl_ok "http://$SG_SRV4/"
}

rules_restored() {
	sg_need nft || return
	daemon_up
	local r0
	r0=$(counter rules_restored)
	sg_in "$SG_NS_R" nft flush ruleset
	sg_assert "the flush removed the rules" sh -c "! ip netns exec $SG_NS_R iptables-save | grep -q SYNGATE-RAW"
	for _ in $(seq 30); do [ "$(counter rules_restored)" -gt "$r0" ] && break; sleep 0.1; done
	sg_assert_eq "restored once by the dropped daemon" "$(counter rules_restored)" $((r0 + 1))
	sg_assert "the chains are back" sh -c "ip netns exec $SG_NS_R iptables-save -t raw | grep -q -- '-j SYNGATE-RAW'"
	sg_assert "the lane's ipset is there" sh -c "ip netns exec $SG_NS_R ipset list -n | grep -q syngate-lane"
	sg_assert "no failed reinstall in the log" sh -c "! grep -q 'rules_reinstall_failed' $T/syngate.log"
	sg_assert "curl after the restore" sg_curl_ok "http://$SG_SRV4/"
}

sighup_reload() {
	daemon_up
	local mode
	sg_assert "no completions rule in mode always" sh -c \
		"! ip netns exec $SG_NS_R iptables-save -t mangle | grep -q 0x4000000/0x4000000"
	echo "mode = adaptive" >>"$CONF"
	kill -HUP "$SGPID"
	for _ in $(seq 30); do
		mode=$("$SYNGATE" stats --control "$SOCK" | awk '$1 == "mode" { print $2 }')
		[ "$mode" = adaptive ] && break
		sleep 0.1
	done
	sg_assert_eq "SIGHUP as nobody: mode adaptive" "$mode" adaptive
	sg_assert "log: reloaded" grep -q "event=reloaded" "$T/syngate.log"
	sg_assert "the rules were reinstalled for adaptive (completions rule)" sh -c \
		"ip netns exec $SG_NS_R iptables-save -t mangle | grep -q 'complete\\|0x4000000'"
	sg_assert "no failed reinstall" sh -c "! grep -q 'reinstalling the rules for the new mode failed' $T/syngate.log"
	sg_assert "curl after the reload" sg_curl_ok "http://$SG_SRV4/"
	daemon_stop
	sg_assert "rules removed at exit by the dropped daemon" sh -c \
		"! ip netns exec $SG_NS_R iptables-save | grep -q SYNGATE"
}

rp() { sg_in "$SG_NS_R" cat "/proc/sys/net/ipv4/conf/$1/rp_filter"; }
rp_filter() {
	daemon_stop
	_sg_sysctl "$SG_NS_R" net.ipv4.conf.all.rp_filter=1
	daemon_up
	sg_assert_eq "rp_filter: the client interface made loose" "$(rp "$SG_IF_RC")" 2
	sg_assert_eq "rp_filter: all left at 1" "$(rp all)" 1
	sg_assert_eq "rp_filter: the server interface left alone" "$(rp "$SG_IF_RS")" 0
	sg_assert "rp_filter: curl through" sg_curl_ok "http://$SG_SRV4/"
	daemon_stop
	sg_assert_eq "rp_filter: put back to 0 at exit by the dropped daemon" "$(rp "$SG_IF_RC")" 0
	sg_assert_eq "rp_filter: all still 1" "$(rp all)" 1
	_sg_sysctl "$SG_NS_R" net.ipv4.conf.all.rp_filter=0
}

# --- systemd ------------------------------------------------------------------------
# notify_start LOG : the fake notification socket $T/notify.sock, its lines in LOG; on
# READY=1 it checks that the rules and the control socket ($SOCK) are there
notify_start() {
	rm -f "$T/notify.sock"
	sg_bg "$SG_NS_R" "$1" python3 -u "$ROOT/tests/net/notify_listen.py" "$T/notify.sock" \
		--on-ready "iptables-save -t raw | grep -c -- '-j SYNGATE-RAW'; test -S $SOCK && echo sock"
	NLPID=$SG_BG_PID
	for _ in $(seq 30); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
}
wd_count() { grep -c ' WATCHDOG=1$' "$1"; }
# wd_since LOG T0 SECS : WATCHDOG=1 lines stamped in (T0, T0 + SECS]; fails while the log has
# none stamped later than that (the window is not over yet)
wd_since() {
	awk -v a="$2" -v b="$(awk -v t="$2" -v s="$3" 'BEGIN { print t + s }')" '
		$2 == "WATCHDOG=1" && $1 > a && $1 <= b { n++ }
		$2 == "WATCHDOG=1" && $1 > b { over = 1 }
		END { print n + 0; exit !over }' "$1"
}
reloaded_ready() { grep -A1 ' RELOADING=1$' "$1" | grep -q ' READY=1$'; }

notify() {
	daemon_stop
	local nl=$T/notify.log c0 c1 c2 t0
	notify_start "$nl"
	daemon_up NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1000000
	for _ in $(seq 30); do grep -q "ready-check" "$nl" && break; sleep 0.1; done
	sg_assert "READY=1 sent" grep -q ' READY=1$' "$nl"
	sg_assert "READY=1 came with the rules installed (1 jump into SYNGATE-RAW)" grep -q ' ready-check 1$' "$nl"
	sg_assert "STATUS= names the queues" grep -q ' STATUS=queues 0-' "$nl"
	# the pace on the listener's clock (its timestamps), in the 2 s after READY=1: how long
	# the ready-check and this script took does not count
	t0=$(awk '$2 == "READY=1" { print $1; exit }' "$nl")
	for _ in $(seq 60); do wd_since "$nl" "$t0" 2 >/dev/null && break; sleep 0.1; done
	c0=$(wd_since "$nl" "$t0" 2)
	sg_assert_ge "WATCHDOG=1 every 250 ms: at least 5 in the 2 s after READY=1" "$c0" 5
	sg_assert_le "WATCHDOG=1 not more often than every 250 ms: at most 10 in 2 s (9, and a datagram read late)" "$c0" 10
	python3 "$ROOT/tests/net/thread_stop.py" "$SGPID" sg-queue-0 3 >"$T/stop.log" 2>&1 &
	local stopper=$!
	# from the stop on: the stall is seen once the loop has not come round for 500 ms
	for _ in $(seq 50); do grep -q '^stopped' "$T/stop.log" && break; sleep 0.1; done
	sg_assert "worker sg-queue-0 stopped" grep -q '^stopped' "$T/stop.log"
	for _ in $(seq 30); do grep -q "event=worker_stalled queue=0" "$T/syngate.log" && break; sleep 0.1; done
	sg_assert "log: worker_stalled" grep -q "event=worker_stalled queue=0" "$T/syngate.log"
	sleep 0.2 # the listener writes the datagrams sent before it
	c1=$(wd_count "$nl")
	sleep 1
	c2=$(wd_count "$nl")
	sg_assert_eq "no WATCHDOG=1 while worker sg-queue-0 is stopped" "$c2" "$c1"
	wait "$stopper"
	sg_assert "the thread was stopped and released" grep -q released "$T/stop.log"
	for _ in $(seq 30); do [ "$(wd_count "$nl")" -ge $((c2 + 2)) ] && break; sleep 0.1; done
	sg_assert_ge "WATCHDOG=1 again once it runs" "$(wd_count "$nl")" $((c2 + 2))
	sg_assert "log: worker_recovered" grep -q "event=worker_recovered queue=0" "$T/syngate.log"
	sg_assert "curl after the stall" sg_curl_ok "http://$SG_SRV4/"
	kill -HUP "$SGPID"
	for _ in $(seq 50); do reloaded_ready "$nl" && break; sleep 0.1; done
	sg_assert "SIGHUP: RELOADING=1 then READY=1" reloaded_ready "$nl"
	daemon_stop
	for _ in $(seq 30); do grep -q ' STOPPING=1$' "$nl" && break; sleep 0.1; done
	sg_assert "STOPPING=1 at exit" grep -q ' STOPPING=1$' "$nl"
	kill "$NLPID" 2>/dev/null
}

# unit_line KEY [FILE=unit] : the value of KEY= in the unit (the last one)
unit_line() { awk -v k="$1=" 'index($0, k) == 1 { v = substr($0, length(k) + 1) } END { print v }' "${2:-$UNIT}"; }
# unit_caps [DROPIN] : the unit's AmbientCapabilities (and the drop-in's, which systemd adds
# to them) as setpriv's list (+cap_x,...)
unit_caps() {
	local c out=''
	for c in $(unit_line AmbientCapabilities) ${1:+$(unit_line AmbientCapabilities "$1")}; do
		c=${c,,}
		out+=",+${c#cap_}"
	done
	echo "${out#,}"
}

# unit_run [DROPIN] : the unit's ExecStartPre and ExecStart as the unit would run them
unit_run() {
	local pre start caps rt=$T/run conf=$T/unit.conf
	pre=$(unit_line ExecStartPre) start=$(unit_line ExecStart)
	caps=$(unit_caps "$@")
	cat >"$conf" <<CONF
[syngate]
ports = 80
interfaces = $SG_IF_RC
backend-netns = /run/netns/$SG_NS_S
metrics-port = 9469
learn = no
cookie-period = 1
# StateDirectory=syngate: /var/lib/syngate, the unit's user's own
key-file = $T/state/key
backends-file = $T/state/backends
CONF
	chmod 644 "$conf"
	rm -rf "$rt" "$T/state"
	mkdir -m 755 "$rt" && chown "$NOBODY:$NOBODY" "$rt"
	mkdir -m 700 "$T/state" && chown "$NOBODY:$NOBODY" "$T/state"
	pre=${pre//\/usr\/local\/sbin\/syngate/$SYNGATE} start=${start//\/usr\/local\/sbin\/syngate/$SYNGATE}
	pre=${pre//\/etc\/syngate\/syngate.conf/$conf} start=${start//\/etc\/syngate\/syngate.conf/$conf}
	sg_log "unit: caps $caps; ExecStartPre=$pre; ExecStart=$start"
	# shellcheck disable=SC2086
	sg_assert "ExecStartPre (check-config) as the unit's user" sg_in "$SG_NS_R" \
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups --no-new-privs $pre
	SOCK=$rt/control.sock
	notify_start "$T/unit_notify.log"
	# shellcheck disable=SC2086
	sg_bg "$SG_NS_R" "$T/unit.log" env RUNTIME_DIRECTORY="$rt" NOTIFY_SOCKET="$T/notify.sock" \
		WATCHDOG_USEC=2000000 setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
		--no-new-privs --inh-caps="-all,$caps" --ambient-caps="-all,$caps" \
		--bounding-set="-all,$caps" $start
	SGPID=$SG_BG_PID
	for _ in $(seq 50); do grep -q "ready-check" "$T/unit_notify.log" && break; sleep 0.1; done
	sg_assert "unit: READY=1 with the rules installed" grep -q ' ready-check 1$' "$T/unit_notify.log"
	sg_assert "unit: control socket in RUNTIME_DIRECTORY" test -S "$rt/control.sock"
	sg_assert "unit: \`syngate stats\` finds it (RUNTIME_DIRECTORY set)" sh -c \
		"RUNTIME_DIRECTORY=$rt $SYNGATE stats | grep -Eq '^mode +always'"
	RUNTIME_DIRECTORY=$rt "$SYNGATE" stats >"$T/unit_stats.txt" 2>&1
	sg_assert "unit: the kernel's queue figures (CAP_DAC_READ_SEARCH before the drop)" \
		grep -q '^nfq_kernel_user_dropped' "$T/unit_stats.txt"
	sg_assert "unit: the sysctl record in RUNTIME_DIRECTORY" sh -c "ls $rt | grep -q '^sysctl\\.'"
	sg_assert "unit: no warning at start (sock_diag in the backends' namespace aside)" sh -c \
		"! grep warning $T/unit.log | grep -vq 'sock_diag in /run/netns'"
	caps_are "$SGPID" "$KEEP_MASK" "unit"
	sg_assert "unit: curl through" sg_curl_ok "http://$SG_SRV4/"
}

unit_execstart() {
	daemon_stop
	unit_run
	sg_assert "unit: the XDP program is attached (CAP_BPF, CAP_PERFMON before the drop)" \
		grep -q "event=xdp_on interfaces=$SG_IF_RC" "$T/unit.log"
	sg_assert "unit: sock_diag in the backends' namespace needs CAP_SYS_ADMIN: warned" \
		grep -q "backend queues not shown" "$T/unit.log"
	kill -HUP "$SGPID" # the XDP program's settings rewritten, its map written by the dropped daemon
	sleep 2.5          # cookie-period 1: the keys in the XDP map rotated twice meanwhile
	sg_assert "unit: curl through after key rotations and SIGHUP (XDP cookies)" sg_curl_ok "http://$SG_SRV4/"
	RUNTIME_DIRECTORY=$T/run "$SYNGATE" stats >"$T/unit_stats.txt" 2>&1
	# engaged before READY=1: the curl straight after it is not left to the queue path
	sg_assert_eq "unit: no SYN found the XDP program off" \
		"$(awk '$1 == "xdp_pass_off" { print $2 }' "$T/unit_stats.txt")" 0
	sg_assert_ge "unit: the XDP program answered the SYNs" \
		"$(awk '$1 == "xdp_answered" { print $2 }' "$T/unit_stats.txt")" 2
	sg_assert "unit: no XDP map write failed after the drop" sh -c "! grep -q 'XDP: map update' $T/unit.log"
	sg_assert "unit: reloaded" grep -q "event=reloaded" "$T/unit.log"
	sg_assert_ge "unit: WATCHDOG=1 sent" "$(wd_count "$T/unit_notify.log")" 1
	daemon_stop
	kill "$NLPID" 2>/dev/null
	sg_assert "unit: rules removed at exit" sh -c "! ip netns exec $SG_NS_R iptables-save | grep -q SYNGATE"
}

unit_netns() {
	daemon_stop
	unit_run "$DROPIN"
	sg_assert "unit + CAP_SYS_ADMIN: no sock_diag warning" sh -c "! grep -q 'backend queues not shown' $T/unit.log"
	sg_assert "unit + CAP_SYS_ADMIN: the backend's listen queue is read" sh -c \
		"RUNTIME_DIRECTORY=$T/run $SYNGATE stats | grep -Eq '^backend_80_accept_limit +[1-9]'"
	daemon_stop
	kill "$NLPID" 2>/dev/null
}

sg_run_cases "$@"
