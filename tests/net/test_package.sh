#!/usr/bin/env bash
# syngate's Debian package, built, installed on this machine, run and purged.  One function
# per case (tests/net/README.md: `test_package.sh --list`); they build on each other, in order:
#   build     cmake (CMAKE_INSTALL_PREFIX=/usr, no tests) and `cpack -G DEB` in a scratch dir
#   contents  the .deb holds the binary, XDP object, unit, conffile, man pages, completion, docs
#   install   `apt-get install ./syngate_*.deb`: files in place, `man -w`, the completion
#             loads, the syngate system user and /var/lib/syngate (0700) exist
#   service   the installed unit's ExecStartPre and ExecStart, as written, with the installed
#             config: with systemd as PID 1 through systemctl; otherwise run by hand in a
#             namespace of ours with an eth0 (the example config's interface) and a /run of
#             its own.  `syngate stats` answers, the XDP program (the installed object) is on
#             eth0; at stop the rules are gone and the sysctls install changed are back
#   purge     `dpkg --purge`: no file of the package left, nor /etc/syngate, /var/lib/syngate,
#             the syngate user or group
# The package is never left installed: the exit hook purges it.  A syngate package that was
# installed before the test is not touched (skip).  Needs root, dpkg, cpack, apt-get, ip,
# iptables, man, nsenter.  Env: SG_PKG_KEEP=1 keeps the build dir.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/net/lib.sh"
SG_CASES=(build contents install service purge)
DEB='' NS='' DPID='' INSTALLED=0
UNIT=/lib/systemd/system/syngate.service

APT=(apt-get -y -q -o DPkg::Lock::Timeout=300)

sg_setup() {
	sg_need dpkg dpkg-deb cpack cmake apt-get ip iptables-save man nsenter flock || exit
	if dpkg-query -W -f='${Status}' syngate 2>/dev/null | grep -q installed; then
		echo "SKIP: a syngate package is installed already; this test does not touch it"
		exit "$SG_SKIP"
	fi
	sg_tmpdir
	B=$SG_TMP/build
	# one package test at a time on this machine
	exec 9>/run/lock/syngate-package-test.lock
	flock -w 600 9 || sg_die "another package test holds /run/lock/syngate-package-test.lock"
	sg_on_exit pkg_cleanup
}

pkg_cleanup() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	if [ "$INSTALLED" = 1 ]; then
		DEBIAN_FRONTEND=noninteractive "${APT[@]}" purge syngate >/dev/null 2>&1 ||
			dpkg --purge syngate >/dev/null 2>&1
	fi
	return 0
}

build() {
	cmake -S "$ROOT" -B "$B" -DCMAKE_INSTALL_PREFIX=/usr -DSYNGATE_BUILD_TESTS=OFF \
		>"$SG_TMP/cmake.log" 2>&1 &&
		make -C "$B" -j2 >"$SG_TMP/make.log" 2>&1 &&
		(cd "$B" && cpack -G DEB >"$SG_TMP/cpack.log" 2>&1)
	sg_assert "cmake, make and cpack -G DEB succeed (logs in $SG_TMP)" test $? = 0
	DEB=$(ls "$B"/syngate_*.deb 2>/dev/null | head -1)
	sg_assert "a .deb is made" test -f "$DEB"
}

contents() {
	[ -f "$DEB" ] || return "$SG_SKIP"
	dpkg-deb -c "$DEB" | awk '{ print $NF }' | sed 's|^\./|/|' >"$SG_TMP/files"
	for f in /usr/sbin/syngate /usr/lib/syngate/syngate_xdp.o "$UNIT" /etc/syngate/syngate.conf \
		/usr/share/man/man8/syngate.8.gz /usr/share/man/man5/syngate.conf.5.gz \
		/usr/share/bash-completion/completions/syngate /usr/share/doc/syngate/README.md \
		/usr/share/doc/syngate/docs/design.md /usr/share/doc/syngate/rules/README.md \
		/usr/share/doc/syngate/examples/60-syngate-sysctl.conf; do
		sg_assert "package holds $f" grep -qxF "$f" "$SG_TMP/files"
	done
	dpkg-deb -e "$DEB" "$SG_TMP/control"
	sg_assert "/etc/syngate/syngate.conf is a conffile" \
		grep -qxF /etc/syngate/syngate.conf "$SG_TMP/control/conffiles"
	sg_assert "Depends names the libraries (shlibdeps) and iptables, ipset, adduser" \
		sh -c "dpkg-deb -f '$DEB' Depends | grep -q libnetfilter-queue1 &&
			dpkg-deb -f '$DEB' Depends | grep -q 'adduser, iptables, ipset'"
	dpkg-deb --fsys-tarfile "$DEB" | tar -xO ".$UNIT" >"$SG_TMP/unit"
	sg_assert "the unit runs /usr/sbin/syngate with /etc/syngate/syngate.conf" \
		grep -qx 'ExecStart=/usr/sbin/syngate run --config /etc/syngate/syngate.conf' "$SG_TMP/unit"
	sg_assert "the unit's Documentation= names syngate(8)" grep -q '^Documentation=.*man:syngate(8)' "$SG_TMP/unit"
	# the manual's option list is the table's: one .TP per option help-config lists
	sg_assert "syngate.conf(5) lists every option" test \
		"$(zcat "$B/man/syngate.conf.5.gz" | grep -c '^\.TP')" = \
		"$("$B/syngate" help-config | grep -c '^  --')"
	sg_assert "the man pages render without warnings" sh -c \
		"! man --warnings -l '$B/man/syngate.8.gz' '$B/man/syngate.conf.5.gz' 2>&1 >/dev/null | grep -q ."
}

install() {
	[ -f "$DEB" ] || return "$SG_SKIP"
	INSTALLED=1
	DEBIAN_FRONTEND=noninteractive "${APT[@]}" install "$DEB" >"$SG_TMP/apt.log" 2>&1
	sg_assert "apt-get install ./$(basename "$DEB") succeeds" test $? = 0
	sg_assert "dpkg says installed" sh -c "dpkg-query -W -f='\${Status}' syngate | grep -q 'install ok installed'"
	sg_assert "man -w syngate finds syngate(8)" test "$(man -w syngate)" = /usr/share/man/man8/syngate.8.gz
	sg_assert "man -w 5 syngate.conf finds syngate.conf(5)" \
		test "$(man -w 5 syngate.conf)" = /usr/share/man/man5/syngate.conf.5.gz
	sg_assert "the config is in place and valid" sh -c \
		'/usr/sbin/syngate check-config /etc/syngate/syngate.conf >/dev/null' 
	sg_assert "the unit is in place" test -f "$UNIT"
	[ -f /usr/share/bash-completion/bash_completion ] &&
		sg_assert "the bash completion loads and completes 'syngate run --mo'" bash -c '
		. /usr/share/bash-completion/bash_completion
		. /usr/share/bash-completion/completions/syngate
		COMP_WORDS=(syngate run --mo) COMP_CWORD=2 COMP_LINE="syngate run --mo" COMP_POINT=16
		_syngate syngate --mo run
		[ "${COMPREPLY[*]}" = --mode ]'
	sg_assert "system user syngate exists (no login shell)" sh -c \
		'getent passwd syngate | grep -q ":/var/lib/syngate:/usr/sbin/nologin$"'
	sg_assert "/var/lib/syngate is 0700 syngate:syngate" \
		test "$(stat -c '%a %U %G' /var/lib/syngate)" = "700 syngate syngate"
	sg_assert "the installed binary finds the installed XDP object by default" \
		test -f /usr/lib/syngate/syngate_xdp.o
}

# Execute= lines of the installed unit, without systemd's prefixes (-@:+!).
unit_exec() { sed -n "s/^$1=[-@:+!]*//p" "$UNIT"; }

service() {
	[ "$INSTALLED" = 1 ] || return "$SG_SKIP"
	local pre start i
	pre=$(unit_exec ExecStartPre) start=$(unit_exec ExecStart)
	sg_assert "the unit has an ExecStart" test -n "$start"
	if [ "$(ps -p 1 -o comm=)" = systemd ]; then
		systemctl start syngate.service
		sg_assert "systemctl start: active" systemctl is-active -q syngate.service
		sg_assert "syngate stats answers" /usr/sbin/syngate stats --config /etc/syngate/syngate.conf
		systemctl stop syngate.service
		sg_assert "systemctl stop: inactive" sh -c '! systemctl is-active -q syngate.service'
		return 0
	fi
	# No systemd: the same command lines in a namespace with the config's interface
	# (eth0) and a /run of its own (the control socket and the sysctl record), kept in
	# $SG_TMP/run so that `rules remove` after the daemon finds the record.
	NS=${SG_PREFIX}pkg$$
	ip netns add "$NS" || return 1
	ip -n "$NS" link set lo up
	ip -n "$NS" link add eth0 type veth peer name eth0p
	ip -n "$NS" addr add 192.0.2.1/24 dev eth0
	ip -n "$NS" link set eth0 up
	ip -n "$NS" link set eth0p up
	ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	echo "$pre" >"$SG_TMP/execstartpre"
	mkdir -p "$SG_TMP/run"
	echo "$start" >"$SG_TMP/execstart"
	# shellcheck disable=SC2086 # the unit's words, split as systemd splits them (no quotes)
	ip netns exec "$NS" sh -c 'mount --bind "$0" /run && exec "$@"' "$SG_TMP/run" $pre >"$SG_TMP/pre.log" 2>&1
	sg_assert "ExecStartPre ($pre) succeeds" test $? = 0
	# shellcheck disable=SC2086
	ip netns exec "$NS" sh -c 'mount --bind "$0" /run && exec "$@"' "$SG_TMP/run" $start \
		>"$SG_TMP/daemon.log" 2>&1 </dev/null &
	DPID=$!
	for ((i = 0; i < 50; i++)); do
		nsenter -t "$DPID" -m test -S /run/syngate.sock 2>/dev/null && break
		sleep 0.2
	done
	nsenter -t "$DPID" -m -n /usr/sbin/syngate stats --config /etc/syngate/syngate.conf \
		>"$SG_TMP/stats.out" 2>&1
	sg_assert "ExecStart ($start) runs; syngate stats answers" test $? = 0
	sg_assert "stats has the counters" grep -q '^syn_seen ' "$SG_TMP/stats.out"
	sg_assert "the XDP program (from /usr/lib/syngate) is on eth0" \
		sh -c "ip -n '$NS' link show eth0 | grep -q 'xdp'"
	sg_assert "the rules are installed" sh -c "ip netns exec '$NS' iptables-save | grep -q SYNGATE-RAW"
	sg_assert "ip_forward was set by the daemon" \
		test "$(ip netns exec "$NS" cat /proc/sys/net/ipv4/ip_forward)" = 1
	kill -TERM "$DPID"
	wait "$DPID"
	sg_assert "SIGTERM: the daemon exits 0" test $? = 0
	DPID=''
	# the shipped config keeps the rules at exit (keep-rules = yes: a restart loses no
	# handshake); `syngate rules remove` takes them and the sysctls back
	sg_assert "at exit the rules stay (keep-rules = yes)" sh -c "ip netns exec '$NS' iptables-save | grep -q SYNGATE-RAW"
	ip netns exec "$NS" sh -c 'mount --bind "$0" /run && exec "$@"' "$SG_TMP/run" \
		/usr/sbin/syngate rules remove --config /etc/syngate/syngate.conf >"$SG_TMP/remove.log" 2>&1
	sg_assert "syngate rules remove succeeds" test $? = 0
	sg_assert "rules remove: the rules are gone" sh -c "! ip netns exec '$NS' iptables-save | grep -q SYNGATE"
	sg_assert "rules remove: ip_forward is back to 0" \
		test "$(ip netns exec "$NS" cat /proc/sys/net/ipv4/ip_forward)" = 0
	ip netns del "$NS"
	NS=''
}

purge() {
	[ "$INSTALLED" = 1 ] || return "$SG_SKIP"
	DEBIAN_FRONTEND=noninteractive "${APT[@]}" purge syngate >"$SG_TMP/purge.log" 2>&1 ||
		dpkg --purge syngate >>"$SG_TMP/purge.log" 2>&1
	sg_assert "purge succeeds" sh -c "! dpkg-query -W -f='\${Status}' syngate 2>/dev/null | grep -q installed"
	INSTALLED=0
	local left=()
	while read -r f; do
		[ -f "$f" ] && left+=("$f")
	done <"$SG_TMP/files"
	sg_assert "no file of the package is left (${left[*]:-})" test ${#left[@]} = 0
	sg_assert "/etc/syngate is gone" test ! -e /etc/syngate
	sg_assert "/var/lib/syngate is gone" test ! -e /var/lib/syngate
	sg_assert "the syngate user is gone" sh -c '! getent passwd syngate'
	sg_assert "the syngate group is gone" sh -c '! getent group syngate'
}

sg_run_cases "$@"
