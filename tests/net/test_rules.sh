#!/usr/bin/env bash
# Integration test of src/ops/iptables.c and rules.c against the real kernel, inside throwaway
# network namespaces (never the host's).  Builds tests/net/rules_cli.c, then
# checks install / reinstall / remove / fail-open / queue-balance / sysctls /
# dry run / status / error messages.  One function per case (tests/net/README.md:
# `test_rules.sh --list`, `test_rules.sh CASE...`); each case first puts the
# namespace in the state its checks start from.  Prints one PASS/FAIL line per
# check; exit 1 when any check failed, 4 when skipped (not root).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/net/lib.sh"
CC=${CC:-gcc}
CFLAGS="-std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Werror"
SG_CASES=(remove_clean dry_run install restore reinstall status shedding fail_open_balance remove rp_filter errors)

NS=sgrules-$$-$RANDOM
NSC=sgrulesc-$$-$RANDOM
# KEEP_ERR=1 shows the error messages the checks saw.
cleanup() {
	[ -n "${KEEP_ERR:-}" ] && cat "$TMP"/err* >&2
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NSC" 2>/dev/null
	rm -rf "$TMP"
}

pass() { sg_pass "$1"; }
fail() { sg_fail "$1"; }
# check NAME COMMAND...: PASS when COMMAND succeeds.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
E() { ip netns exec "$NS" "$@"; }
CLI() { E "$TMP/rules_cli" "$@"; }
# nlines FAMILY LINE: how many lines of FAMILY's save output are exactly LINE.
nlines() {
	local save=iptables-save
	[ "$1" = 6 ] && save=ip6tables-save
	E $save | grep -cxF -- "$2"
}
# once LINE...: every LINE appears exactly once in both families' save output.
once() {
	local l f n
	for l in "$@"; do
		for f in 4 6; do
			n=$(nlines $f "$l")
			if [ "$n" != 1 ]; then
				echo "  ipv$f: $n copies of: $l"
				return 1
			fi
		done
	done
}
no_syngate() {
	! E iptables-save | grep -q SYNGATE && ! E ip6tables-save | grep -q SYNGATE
}
sysctl_is() { [ "$(E cat "/proc/sys/$1")" = "$2" ]; }
sysctl_put() { E sh -c "echo $2 > /proc/sys/$1"; }

# The rule set as iptables-save prints it after install -p 80 -p 443 -i sg0 -i sg2 (the known
# answers of tests/unit/test_rules.c; ip6tables-save shows the same): a SYN conntrack knows
# (known-mark, from the XDP path's TC program) skips the queue; the lane (queue 1: sources in
# the ipset syngate-lane, a per-source hashlimit, pending connections by connmark
# 0x1000000) before the shared SYN and ACK buckets; backend SYN-ACKs are sampled (4/s per
# backend) for learning; complete-mark rules only in adaptive mode.
RULES=(
	':SYNGATE-MANGLE - [0:0]'
	'-A PREROUTING -j SYNGATE-MANGLE'
	'-A SYNGATE-MANGLE -m mark --mark 0x20000000/0x20000000 -j RETURN'
	'-A SYNGATE-MANGLE -i sg0 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate INVALID -m tcp --tcp-flags SYN,RST,ACK ACK -m connmark --mark 0x1000000/0x1000000 -j NFQUEUE --queue-num 1'
	'-A SYNGATE-MANGLE -i sg2 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate INVALID -m tcp --tcp-flags SYN,RST,ACK ACK -m connmark --mark 0x1000000/0x1000000 -j NFQUEUE --queue-num 1'
	'-A SYNGATE-MANGLE -i sg0 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate INVALID -m tcp --tcp-flags SYN,RST,ACK ACK -m connmark --mark 0x10000000/0x10000000 -j NFQUEUE --queue-num 0'
	'-A SYNGATE-MANGLE -i sg2 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate INVALID -m tcp --tcp-flags SYN,RST,ACK ACK -m connmark --mark 0x10000000/0x10000000 -j NFQUEUE --queue-num 0'
	'-A SYNGATE-MANGLE -i sg0 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate INVALID -m tcp --tcp-flags SYN,RST,ACK ACK -m set --match-set syngate-lane src -m hashlimit --hashlimit-upto 1000/sec --hashlimit-burst 1000 --hashlimit-mode srcip --hashlimit-name la0-1000 -j NFQUEUE --queue-num 1'
	'-A SYNGATE-MANGLE -i sg2 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate INVALID -m tcp --tcp-flags SYN,RST,ACK ACK -m set --match-set syngate-lane src -m hashlimit --hashlimit-upto 1000/sec --hashlimit-burst 1000 --hashlimit-mode srcip --hashlimit-name la0-1000 -j NFQUEUE --queue-num 1'
	'-A SYNGATE-MANGLE -i sg0 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate INVALID -m tcp --tcp-flags SYN,RST,ACK ACK -m hashlimit --hashlimit-upto 50000/sec --hashlimit-burst 1000 --hashlimit-name sa0-50000 -j NFQUEUE --queue-num 0'
	'-A SYNGATE-MANGLE -i sg2 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate INVALID -m tcp --tcp-flags SYN,RST,ACK ACK -m hashlimit --hashlimit-upto 50000/sec --hashlimit-burst 1000 --hashlimit-name sa0-50000 -j NFQUEUE --queue-num 0'
	'-A SYNGATE-MANGLE -i sg0 -p tcp -m multiport --sports 80,443 -m multiport ! --dports 80,443 -j RETURN'
	'-A SYNGATE-MANGLE -i sg2 -p tcp -m multiport --sports 80,443 -m multiport ! --dports 80,443 -j RETURN'
	'-A SYNGATE-MANGLE -p tcp -m multiport --sports 80,443 -m connmark --mark 0x1000000/0x1000000 -j NFQUEUE --queue-num 1'
	'-A SYNGATE-MANGLE -p tcp -m multiport --sports 80,443 -m connmark --mark 0x10000000/0x10000000 -j NFQUEUE --queue-num 0'
	'-A SYNGATE-MANGLE -p tcp -m multiport --sports 80,443 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN,ACK -m rpfilter -m conntrack --ctstate ESTABLISHED --ctdir REPLY -m hashlimit --hashlimit-upto 4/sec --hashlimit-burst 8 --hashlimit-mode srcip,srcport --hashlimit-name sgl0 -j NFQUEUE --queue-num 0'
	'-A SYNGATE-MANGLE -i sg0 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate INVALID -j DROP'
	'-A SYNGATE-MANGLE -i sg2 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate INVALID -j DROP'
	':SYNGATE-KNOWN - [0:0]'
	':SYNGATE-RAW - [0:0]'
	'-A PREROUTING -j SYNGATE-RAW'
	'-A SYNGATE-KNOWN -j MARK --set-xmark 0x0/0x2000000'
	'-A SYNGATE-KNOWN -j ACCEPT'
	'-A SYNGATE-RAW -m mark --mark 0x20000000/0x20000000 -j CT --notrack'
	'-A SYNGATE-RAW -m mark --mark 0x20000000/0x20000000 -j ACCEPT'
	'-A SYNGATE-RAW -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m mark --mark 0x2000000/0x2000000 -j SYNGATE-KNOWN'
	'-A SYNGATE-RAW -i sg0 -p tcp -m multiport --dports 80,443 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m set --match-set syngate-lane src -m hashlimit --hashlimit-upto 1000/sec --hashlimit-burst 1000 --hashlimit-mode srcip --hashlimit-name ls0-1000 -j NFQUEUE --queue-num 1'
	'-A SYNGATE-RAW -i sg2 -p tcp -m multiport --dports 80,443 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m set --match-set syngate-lane src -m hashlimit --hashlimit-upto 1000/sec --hashlimit-burst 1000 --hashlimit-mode srcip --hashlimit-name ls0-1000 -j NFQUEUE --queue-num 1'
	'-A SYNGATE-RAW -i sg0 -p tcp -m multiport --dports 80,443 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m hashlimit --hashlimit-upto 100000/sec --hashlimit-burst 2000 --hashlimit-name sg0-100000 -j NFQUEUE --queue-num 0'
	'-A SYNGATE-RAW -i sg2 -p tcp -m multiport --dports 80,443 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m hashlimit --hashlimit-upto 100000/sec --hashlimit-burst 2000 --hashlimit-name sg0-100000 -j NFQUEUE --queue-num 0'
	'-A SYNGATE-RAW -i sg0 -p tcp -m multiport --dports 80,443 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP'
	'-A SYNGATE-RAW -i sg2 -p tcp -m multiport --dports 80,443 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP'
)

# ------------------------------------------------------------------- set-up
sg_setup() {
	sg_need ip iptables ip6tables iptables-save ip6tables-save "$CC" || exit
	sg_tmpdir
	TMP=$SG_TMP
	sg_on_exit cleanup
	if ! $CC $CFLAGS -I"$ROOT/include" -o "$TMP/rules_cli" \
		"$ROOT/tests/net/rules_cli.c" "$ROOT/src/ops/rules.c" "$ROOT/src/ops/iptables.c" \
		"$ROOT/src/ops/spawn.c" "$ROOT/src/ops/sysctl.c" "$ROOT/src/ops/strbuf.c" \
		"$ROOT/src/io/kstats.c" "$ROOT/src/io/log.c" "$ROOT/src/core/types.c"; then
		fail "build rules_cli"
		exit 1
	fi
	chmod 755 "$TMP" "$TMP/rules_cli"
	pass "build rules_cli"

	ip netns add "$NS" || exit 1
	ip netns add "$NSC" || exit 1
	E ip link set lo up
	E ip link add sg0 type veth peer name sgc netns "$NSC"
	E ip link add sg2 type veth peer name sg3
	E ip addr add 198.51.100.1/24 dev sg0
	E ip link set sg0 up
	ip netns exec "$NSC" ip addr add 198.51.100.2/24 dev sgc
	ip netns exec "$NSC" ip link set sgc up
	ip netns exec "$NSC" ip link set lo up
	E iptables -t raw -A PREROUTING -p udp --dport 9 -j ACCEPT # a rule that is not ours
}

# ------------------------------------------------------------- remove clean
remove_clean() {
	CLI remove >/dev/null # whatever a case before left
	check "remove on a clean namespace succeeds" CLI remove
	check "remove on a clean namespace leaves nothing" no_syngate
}

# ------------------------------------------------------------------ dry run
dry_run() {
	CLI remove >/dev/null
	sysctl_put net/ipv4/ip_forward 0
	CLI install -d -p 80 >"$TMP/dry.out"
	check "dry run exits 0" [ $? = 0 ]
	check "dry run prints both scripts" \
		grep -q '^# ipv6: ip6tables-restore --noflush' "$TMP/dry.out"
	check "dry run prints the queue rule (with the default shed limit)" grep -qxF -- \
		'-A SYNGATE-RAW -p tcp -m multiport --dports 80 --tcp-flags FIN,SYN,RST,ACK SYN -m hashlimit --hashlimit-upto 100000/sec --hashlimit-burst 2000 --hashlimit-name sg0-100000 -j NFQUEUE --queue-num 0' \
		"$TMP/dry.out"
	check "dry run prints the shed rule" grep -qxF -- \
		'-A SYNGATE-RAW -p tcp -m multiport --dports 80 --tcp-flags FIN,SYN,RST,ACK SYN -j DROP' \
		"$TMP/dry.out"
	check "dry run reports sysctls it would change" \
		grep -qxF 'sysctl net.ipv4.ip_forward: 0 -> 1 (dry run: not applied)' "$TMP/dry.out"
	check "dry run applies no rule" no_syngate
	check "dry run changes no sysctl" sysctl_is net/ipv4/ip_forward 0
}

# ------------------------------------------------------------------ install
install() {
	CLI remove >/dev/null
	sysctl_put net/ipv4/ip_forward 0
	sysctl_put net/ipv4/conf/all/rp_filter 1
	sysctl_put net/ipv4/conf/sg0/rp_filter 1
	sysctl_put net/ipv4/conf/sg2/rp_filter 0
	sysctl_put net/ipv4/conf/sg3/rp_filter 2
	sysctl_put net/ipv6/conf/all/forwarding 0
	[ -e "$(E echo /proc/sys/net/netfilter/nf_conntrack_tcp_loose)" ] &&
		sysctl_put net/netfilter/nf_conntrack_tcp_loose 1
	CLI install -p 80 -p 443 -i sg0 -i sg2 >"$TMP/inst1.out"
	check "install exits 0" [ $? = 0 ]

	check "install creates chains and rules (ipv4 and ipv6)" once "${RULES[@]}"
	check "install creates the lane's ipsets" \
		sh -c "ip netns exec '$NS' ipset list -n syngate-lane4 && ip netns exec '$NS' ipset list -n syngate-lane6 && ip netns exec '$NS' ipset test syngate-lane syngate-lane6" >/dev/null 2>&1
	check "jumps are first in PREROUTING" \
		[ "$(E iptables-save -t raw | grep '^-A PREROUTING' | head -1)" = '-A PREROUTING -j SYNGATE-RAW' ]
	check "install keeps rules that are not syngate's" \
		[ "$(nlines 4 '-A PREROUTING -p udp -m udp --dport 9 -j ACCEPT')" = 1 ]
	check "rule count is exact (ipv4: one SYNGATE line per expected line, ${#RULES[@]})" \
		[ "$(E iptables-save | grep -c SYNGATE)" = ${#RULES[@]} ]

	check "sysctl ip_forward set" sysctl_is net/ipv4/ip_forward 1
	check "sysctl ipv6 forwarding set" sysctl_is net/ipv6/conf/all/forwarding 1
	check "sysctl tcp_loose set" sysctl_is net/netfilter/nf_conntrack_tcp_loose 0
	check "sysctl rp_filter all left at 1" sysctl_is net/ipv4/conf/all/rp_filter 1
	check "sysctl rp_filter sg0 1 -> 2" sysctl_is net/ipv4/conf/sg0/rp_filter 2
	check "sysctl rp_filter sg2 0 -> 2 (all is 1: strict)" sysctl_is net/ipv4/conf/sg2/rp_filter 2
	check "sysctl rp_filter sg3 (not configured) left alone" sysctl_is net/ipv4/conf/sg3/rp_filter 2
	for l in 'sysctl net.ipv4.ip_forward: 0 -> 1' \
		'sysctl net.ipv4.conf.sg0.rp_filter: 1 -> 2' \
		'sysctl net.ipv4.conf.sg2.rp_filter: 0 -> 2' \
		'sysctl net.ipv6.conf.all.forwarding: 0 -> 1' \
		'sysctl net.netfilter.nf_conntrack_tcp_loose: 1 -> 0'; do
		check "reported: $l" grep -qxF "$l" "$TMP/inst1.out"
	done
	check "report has exactly the 5 changes" [ "$(grep -c '^sysctl ' "$TMP/inst1.out")" = 5 ]
}

# ------------------------------------------------------------------ restore
# remove puts back the sysctls install changed, except one changed by hand since.
restore() {
	CLI remove >/dev/null
	sysctl_put net/ipv4/ip_forward 0
	sysctl_put net/ipv4/conf/all/rp_filter 1
	sysctl_put net/ipv4/conf/sg0/rp_filter 1
	sysctl_put net/ipv6/conf/all/forwarding 0
	CLI install -p 80 -i sg0 >/dev/null
	CLI install -p 80 -i sg0 >/dev/null # a second install changes and records nothing
	sysctl_put net/ipv4/conf/sg0/rp_filter 0 # by hand, after install
	CLI remove -d >"$TMP/restore.dry"
	check "remove --dry-run restores nothing" sysctl_is net/ipv4/ip_forward 1
	check "remove --dry-run reports the restore" \
		grep -qxF 'sysctl net.ipv4.ip_forward: 1 -> 0 (restored) (dry run: not applied)' "$TMP/restore.dry"
	CLI remove >"$TMP/restore.out"
	check "remove exits 0 (restore)" [ $? = 0 ]
	check "restored: ip_forward 0" sysctl_is net/ipv4/ip_forward 0
	check "rp_filter all 1 never touched" sysctl_is net/ipv4/conf/all/rp_filter 1
	check "restored: ipv6 forwarding 0" sysctl_is net/ipv6/conf/all/forwarding 0
	check "left: rp_filter sg0 set by hand since" sysctl_is net/ipv4/conf/sg0/rp_filter 0
	check "reported: ip_forward restored" \
		grep -qxF 'sysctl net.ipv4.ip_forward: 1 -> 0 (restored)' "$TMP/restore.out"
	check "reported: rp_filter sg0 left" \
		grep -qxF 'sysctl net.ipv4.conf.sg0.rp_filter: left at 0 (changed since rules install set 2)' "$TMP/restore.out"
	CLI remove >"$TMP/restore2.out"
	check "a second remove restores nothing" [ "$(grep -c '^sysctl ' "$TMP/restore2.out")" = 0 ]
}

# ---------------------------------------------------------------- reinstall
reinstall() {
	CLI install -p 80 -p 443 -i sg0 -i sg2 >/dev/null # the state install leaves
	E iptables -t raw -A PREROUTING -j SYNGATE-RAW # a stray second jump
	E ip6tables -t mangle -I PREROUTING -i sg0 -j SYNGATE-MANGLE
	CLI install -p 80 -p 443 -i sg0 -i sg2 >"$TMP/inst2.out"
	check "second install exits 0" [ $? = 0 ]
	check "second install: one jump per chain, one copy of each rule" once "${RULES[@]}"
	check "second install: ${#RULES[@]} SYNGATE lines (ipv4)" [ "$(E iptables-save | grep -c SYNGATE)" = ${#RULES[@]} ]
	check "second install: ${#RULES[@]} SYNGATE lines (ipv6)" [ "$(E ip6tables-save | grep -c SYNGATE)" = ${#RULES[@]} ]
	check "second install leaves correct sysctls alone (no report)" \
		[ "$(grep -c '^sysctl ' "$TMP/inst2.out")" = 0 ]
}

# ------------------------------------------------------------------- status
status() {
	CLI install -p 80 -p 443 -i sg0 -i sg2 >/dev/null
	CLI status >"$TMP/status.out"
	check "status exits 0 when installed" [ $? = 0 ]
	check "status shows 4 installed chains" [ "$(grep -c ': SYNGATE-.* installed, 1 jump' "$TMP/status.out")" = 4 ]
	# A SYN from the client namespace passes the raw queue rule.  Fail open
	# (--queue-bypass) so the SYN is accepted with no daemon listening.
	CLI install -o -p 80 -i sg0 >/dev/null
	ip netns exec "$NSC" timeout 2 bash -c 'exec 3<>/dev/tcp/198.51.100.1/80' 2>/dev/null
	CLI status -4 >"$TMP/status2.out"
	check "status shows the queue rule's packet counter" \
		awk '/NFQUEUE/ && /flags:0x17\/0x02/ && $1 >= 1 { ok = 1 } END { exit !ok }' "$TMP/status2.out"
	check "status shows the shed rule and its summary line" \
		awk '/DROP/ && /flags:0x17\/0x02/ { r = 1 } /^  ipv4 shed: [0-9]+ SYNs dropped/ { l = 1 } END { exit !(r && l) }' \
		"$TMP/status2.out"
}

# ----------------------------------------------------------------- shedding
shedding() {
	# rules_cli always uses the default shed-rate; other rates go through the
	# syngate binary (its --shed-rate option), when it has been built.
	SG_BIN=${SYNGATE:-$ROOT/build/syngate}
	if [ -x "$SG_BIN" ]; then
		SG() { E "$SG_BIN" rules "$@" --ipv6 no --ports 80 --interfaces sg0; }
		SG install --dry-run --shed-rate 0 >"$TMP/shed0.out"
		check "shed-rate 0: no shed hashlimit and no shed rule" \
			sh -c "! grep -q -e 'hashlimit-name sg0-' -e 'SYN -j DROP' '$TMP/shed0.out' && grep -q 'SYN -j NFQUEUE --queue-num 0\$' '$TMP/shed0.out'"
		SG install --dry-run --shed-rate 500 >/dev/null 2>"$TMP/err5"
		check "shed-rate below 1000 rejected" grep -q "shed-rate must be 0" "$TMP/err5"
		# 1000 SYN/s with a burst of 20: 200 SYNs 0.1 ms apart (10000/s, from the
		# client namespace; fail open so no daemon is needed) mostly overflow it
		SG install --shed-rate 1000 --fail-open >/dev/null
		check "shed-rate 1000: rule installed with rate and burst" \
			[ "$(nlines 4 '-A SYNGATE-RAW -i sg0 -p tcp -m multiport --dports 80 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m hashlimit --hashlimit-upto 1000/sec --hashlimit-burst 20 --hashlimit-name sg0-1000 -j NFQUEUE --queue-num 0 --queue-bypass')" = 1 ]
		if command -v hping3 >/dev/null; then
			ip netns exec "$NSC" timeout 5 hping3 -q -S -p 80 -i u100 -c 200 198.51.100.1 >/dev/null 2>&1
			SG status >"$TMP/status3.out"
			check "status counts shed SYNs" \
				awk '/^  ipv4 shed: [0-9]+ SYNs/ && $3 >= 50 { ok = 1 } END { exit !ok }' "$TMP/status3.out"
		else
			echo "SKIP: status counts shed SYNs (no hping3)"
		fi
		SG remove >/dev/null
	else
		echo "SKIP: shed-rate checks ($SG_BIN not built)"
	fi
}

# ------------------------------------------------------ fail open / balance
fail_open_balance() {
	CLI install -o -p 80 -i sg0 >/dev/null
	check "fail_open adds --queue-bypass to all 5 main queue rules" \
		[ "$(E iptables-save | grep -c -- '-j NFQUEUE --queue-num 0 --queue-bypass$')" = 5 ]
	check "fail_open adds --queue-bypass to all 4 lane queue rules" \
		[ "$(E iptables-save | grep -c -- '-j NFQUEUE --queue-num 1 --queue-bypass$')" = 4 ]
	CLI install -o -n 4 -q 10 -p 80 >/dev/null
	check "nqueues 4 gives --queue-balance 10:13 (ipv4)" \
		[ "$(E iptables-save | grep -c -- '-j NFQUEUE --queue-balance 10:13 --queue-bypass$')" = 5 ]
	check "nqueues 4 gives --queue-balance 10:13 (ipv6)" \
		[ "$(E ip6tables-save | grep -c -- '-j NFQUEUE --queue-balance 10:13 --queue-bypass$')" = 5 ]
	check "nqueues 4: the lane balances over 14:17" \
		[ "$(E iptables-save | grep -c -- '-j NFQUEUE --queue-balance 14:17 --queue-bypass$')" = 4 ]
	CLI install -p 80 >/dev/null
	no_bypass() { ! E iptables-save | grep -q -- --queue-bypass; }
	check "fail closed has no --queue-bypass" no_bypass
}

# ------------------------------------------------------------------- remove
remove() {
	CLI install -p 80 >/dev/null
	E iptables -t raw -A PREROUTING -j SYNGATE-RAW # duplicate jump: remove takes all
	check "remove exits 0" CLI remove
	check "remove leaves no SYNGATE in iptables-save / ip6tables-save" no_syngate
	check "remove destroys the lane's ipsets" \
		sh -c "! ip netns exec '$NS' ipset list -n syngate-lane4 && ! ip netns exec '$NS' ipset list -n syngate-lane" 2>/dev/null
	check "remove keeps rules that are not syngate's" \
		[ "$(nlines 4 '-A PREROUTING -p udp -m udp --dport 9 -j ACCEPT')" = 1 ]
	check "remove twice succeeds" CLI remove
	CLI status >/dev/null
	check "status exits 1 when not installed" [ $? = 1 ]
	CLI install -4 >/dev/null
	no_v6() { ! E ip6tables-save | grep -q SYNGATE; }
	check "ipv4-only install touches no ip6tables" no_v6
	CLI remove -4 >/dev/null
	check "ipv4-only remove" no_syngate
}

# ---------------------------------------------------------------- rp_filter
# install raises rp_filter only where it would be strict, on the client interfaces alone
# (never `all'), and remove puts the old values back
rp_filter() {
	CLI remove >/dev/null
	sysctl_put net/ipv4/conf/all/rp_filter 1
	sysctl_put net/ipv4/conf/sg0/rp_filter 0
	sysctl_put net/ipv4/conf/sg2/rp_filter 1
	sysctl_put net/ipv4/conf/sg3/rp_filter 0
	CLI install -p 80 -i sg0 -i sg2 >"$TMP/rp1.out"
	check "rp: all left at 1" sysctl_is net/ipv4/conf/all/rp_filter 1
	check "rp: sg0 0 -> 2 (all 1 made it strict)" sysctl_is net/ipv4/conf/sg0/rp_filter 2
	check "rp: sg2 1 -> 2" sysctl_is net/ipv4/conf/sg2/rp_filter 2
	check "rp: sg3 (not a client interface) left at 0" sysctl_is net/ipv4/conf/sg3/rp_filter 0
	check "rp: no change reported for all" sh -c "! grep -q 'conf.all.rp_filter' '$TMP/rp1.out'"
	CLI install -p 80 -i sg0 -i sg2 >/dev/null
	CLI remove >"$TMP/rp2.out"
	check "rp: remove puts sg0 back to 0" sysctl_is net/ipv4/conf/sg0/rp_filter 0
	check "rp: remove puts sg2 back to 1" sysctl_is net/ipv4/conf/sg2/rp_filter 1
	check "rp: all still 1" sysctl_is net/ipv4/conf/all/rp_filter 1
	check "rp: remove reports it" grep -qxF 'sysctl net.ipv4.conf.sg0.rp_filter: 2 -> 0 (restored)' "$TMP/rp2.out"

	# no interfaces configured: every interface but lo, only where strict
	sysctl_put net/ipv4/conf/all/rp_filter 0
	sysctl_put net/ipv4/conf/sg0/rp_filter 1
	sysctl_put net/ipv4/conf/sg2/rp_filter 0
	sysctl_put net/ipv4/conf/sg3/rp_filter 2
	sysctl_put net/ipv4/conf/lo/rp_filter 1
	CLI install -p 80 >/dev/null
	check "rp (all interfaces): sg0 1 -> 2" sysctl_is net/ipv4/conf/sg0/rp_filter 2
	check "rp (all interfaces): sg2 0 left alone" sysctl_is net/ipv4/conf/sg2/rp_filter 0
	check "rp (all interfaces): sg3 2 left alone" sysctl_is net/ipv4/conf/sg3/rp_filter 2
	check "rp (all interfaces): lo left alone" sysctl_is net/ipv4/conf/lo/rp_filter 1
	CLI remove >/dev/null
	check "rp (all interfaces): sg0 back to 1" sysctl_is net/ipv4/conf/sg0/rp_filter 1
	sysctl_put net/ipv4/conf/lo/rp_filter 0
}

# ------------------------------------------------------------------- errors
errors() {
	CLI remove >/dev/null
	E env PATH=/nonexistent "$TMP/rules_cli" install >/dev/null 2>"$TMP/err1"
	check "missing iptables: fails" [ $? != 0 ]
	check "missing iptables: says what and how" \
		grep -q "iptables-restore' not found in PATH.*install the iptables package" "$TMP/err1"
	if command -v setpriv >/dev/null; then
		E setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/rules_cli" install \
			>/dev/null 2>"$TMP/err2"
		check "no privilege: fails" [ $? != 0 ]
		check "no privilege: says CAP_NET_ADMIN" grep -q "needs CAP_NET_ADMIN" "$TMP/err2"
	fi
	# A kernel without xt_NFQUEUE: iptables-nft warns "Extension NFQUEUE revision 0
	# not supported" and the rule fails with ENOENT (shape taken from a real run
	# with an extension this kernel lacks).  Simulated by a fake restore tool.
	mkdir -p "$TMP/fakebin"
	for t in iptables-save ip6tables-save iptables ip6tables ipset; do
		ln -s "$(command -v $t)" "$TMP/fakebin/$t"
	done
	cat >"$TMP/fakebin/iptables-restore" <<-'EOS'
	#!/bin/sh
	echo "Warning: Extension NFQUEUE revision 0 not supported, missing kernel module?" >&2
	echo "iptables-restore v1.8.9 (nf_tables): " >&2
	echo "line 9: RULE_APPEND failed (No such file or directory): rule in chain SYNGATE-RAW" >&2
	exit 4
	EOS
	chmod 755 "$TMP/fakebin/iptables-restore"
	ln -s iptables-restore "$TMP/fakebin/ip6tables-restore"
	E env PATH="$TMP/fakebin" "$TMP/rules_cli" install >/dev/null 2>"$TMP/err4"
	check "missing NFQUEUE: fails" [ $? != 0 ]
	check "missing NFQUEUE: names it and how to get it" \
		grep -q "lacks the NFQUEUE target (module xt_NFQUEUE, CONFIG_NETFILTER_XT_TARGET_NFQUEUE): try .modprobe xt_NFQUEUE" "$TMP/err4"
	check "missing NFQUEUE: nothing applied" no_syngate

	CLI install -i 'bad"name' >/dev/null 2>"$TMP/err3"
	check "unsafe interface name rejected" [ $? != 0 ]
	check "nothing installed after a rejected config" no_syngate
}

sg_run_cases "$@"
