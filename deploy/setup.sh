#!/usr/bin/env bash
# Installs everything syngate needs to build, test and demo on Debian 12
# (root, Debian's archive only), then configures and builds it in build/.
#   deploy/setup.sh            install packages + build
#   SYNGATE_SKIP_APT=1 ...     build only
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
	build-essential cmake pkg-config
	libnetfilter-queue-dev libmnl-dev libxxhash-dev libcmocka-dev libinih-dev libmicrohttpd-dev libbpf-dev clang
	libcap-ng-dev libsystemd-dev
	libclang-rt-14-dev llvm-14
	iptables ipset iproute2 conntrack nftables hping3 curl python3 procps tcpdump
	ethtool iperf3 util-linux bc prometheus gnuplot-nox nginx-light wrk apache2-utils
	bash-completion man-db dpkg-dev fakeroot
	conntrackd
	libsodium-dev
)

if [ "$(id -u)" != 0 ]; then
	echo "setup.sh: run as root (it installs packages; the tests create network namespaces)" >&2
	exit 1
fi

if [ -z "${SYNGATE_SKIP_APT:-}" ]; then
	missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "setup.sh: installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
fi

werror=OFF
[ -n "${CI:-}" ] && werror=ON
cmake -S . -B build -DSYNGATE_WERROR=$werror >/dev/null
make -C build -j"$(nproc)" --no-print-directory 2>&1 | grep -Ev '^(\[|make)' || true
test -x build/syngate || { echo "setup.sh: build failed" >&2; exit 1; }
echo "setup.sh: built build/syngate"
