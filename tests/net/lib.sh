# shellcheck shell=bash
# tests/net/lib.sh — shared harness for syngate's netns integration tests and benchmarks.
#
# A test script defines one bash function per case, lists them in SG_CASES (run order) and
# hands its arguments to the runner (tests/net/README.md):
#
#   . "$(dirname "$0")/lib.sh"
#   SG_CASES=(curl_v4)
#   sg_setup() {                # optional: shared set-up, run once before the first case
#       sg_need ip curl "$SG_PYTHON" || exit   # a missing tool skips the script (exit 4)
#       sg_topo_up              # client <-> router <-> server namespaces
#       sg_http_server 8080
#   }
#   curl_v4() {
#       sg_need hping3 || return               # ... or only this case
#       sg_assert "curl v4" sg_curl_ok "http://$SG_SRV4:8080/"
#   }
#   sg_run_cases "$@"           # all cases, the named ones, or --list; exit 0, 1 or 4 (skip)
#
# Topology (all documentation ranges; the host namespace is never touched):
#
#   client ns SG_NS_C             router ns SG_NS_R                      server ns SG_NS_S
#   SG_IF_C ----- veth ----- SG_IF_RC   [fwd]   SG_IF_RS ----- veth ----- SG_IF_S
#   198.51.100.2/24           198.51.100.1/24   203.0.113.1/24            203.0.113.2/24
#   2001:db8:1::2/64          2001:db8:1::1/64  2001:db8:2::1/64          2001:db8:2::2/64
#
#   client: default via router, forwarding off (so packets for spoofed addresses die there)
#   server: default via router
#   router: forwarding on (v4+v6), rp_filter 0, default route (v4+v6) toward the client ns,
#           so it can answer SYNs from random (spoofed) sources.
#
# Variables honoured: SG_PREFIX (namespace name prefix, default "sg"), SG_PYTHON (python3),
# SG_KEEP_TMP=1 (keep the log directory), SG_VERBOSE=1 (trace helper commands),
# SG_FLOOD_OPTS (hping3's pacing for every flood, default "--flood"; e.g. "-i u20"),
# SG_FLOOD_CPU (pin the flood generator to that CPU).

# ---------------------------------------------------------------- constants / state
SG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SG_ROOT_DIR=$(cd "$SG_LIB_DIR/../.." && pwd)
export SG_ROOT_DIR
# the daemon under test: $SYNGATE (made absolute: the tests change directory), else the build's
SYNGATE=${SYNGATE:-$SG_ROOT_DIR/build/syngate}
case $SYNGATE in /*) ;; *) SYNGATE=$PWD/$SYNGATE ;; esac
SG_PYTHON=${SG_PYTHON:-python3}
SG_PREFIX=${SG_PREFIX:-sg}

SG_CLI4=198.51.100.2      SG_CLI6=2001:db8:1::2
SG_RTR_C4=198.51.100.1    SG_RTR_C6=2001:db8:1::1
SG_RTR_S4=203.0.113.1     SG_RTR_S6=2001:db8:2::1
SG_SRV4=203.0.113.2       SG_SRV6=2001:db8:2::2
export SG_CLI4 SG_CLI6 SG_RTR_C4 SG_RTR_C6 SG_RTR_S4 SG_RTR_S6 SG_SRV4 SG_SRV6

SG_NS_C=${SG_NS_C:-} SG_NS_R=${SG_NS_R:-} SG_NS_S=${SG_NS_S:-}
SG_IF_C=sgc0 SG_IF_RC=sgrc SG_IF_RS=sgrs SG_IF_S=sgs0
export SG_IF_C SG_IF_RC SG_IF_RS SG_IF_S

SG_FAILS=0 SG_PASSES=0
SG_PIDS=()          # background processes this harness started
SG_EXIT_HOOKS=()    # commands registered with sg_on_exit (run in reverse order)
SG_TMP=${SG_TMP:-}
SG_HTTP_PID='' SG_HTTP_LOG='' SG_FLOOD_PID='' SG_FLOOD_LOG='' SG_FLOOD_SENT=0
SG_BULK_SERVER_PID='' SG_BULK_SERVER_OUT='' SG_BULK_SECS=''
SG_FLOOD_OPTS=${SG_FLOOD_OPTS:---flood}
SG_SKIP=4           # exit status of a skipped script or case (kselftest's ksft_skip; CTest
                    # SKIP_RETURN_CODE in tests/CMakeLists.txt)
_SG_EXITING=0

# ---------------------------------------------------------------- small utilities
sg_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
sg_die() { printf 'FATAL: %s\n' "$*" >&2; exit 2; }
sg_now() { date +%s.%N; }
# sg_elapsed START -> seconds since START (from sg_now), 3 decimals
sg_elapsed() { awk -v a="$1" -v b="$(sg_now)" 'BEGIN { printf "%.3f", b - a }'; }

sg_require_root() { [ "$(id -u)" -eq 0 ] || sg_die "must run as root (network namespaces)"; }
# sg_require_cmds CMD... : die listing every missing command
sg_require_cmds() {
    local c missing=()
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
    [ ${#missing[@]} -eq 0 ] || sg_die "missing commands: ${missing[*]} (deploy/setup.sh installs them)"
}
# sg_need CMD... : true when every CMD exists; otherwise print a SKIP line naming the missing
# ones and return SG_SKIP.  In a case: `sg_need hping3 || return`; in sg_setup: `|| exit`.
sg_need() {
    local c missing=()
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    printf 'SKIP: missing commands: %s (deploy/setup.sh installs them)\n' "${missing[*]}"
    return "$SG_SKIP"
}

# sg_tmpdir -> creates (once) and prints the per-run log directory
sg_tmpdir() {
    if [ -z "$SG_TMP" ] || [ ! -d "$SG_TMP" ]; then
        SG_TMP=$(mktemp -d "/tmp/syngate-net.$$.XXXXXX")
        export SG_TMP
    fi
}

# sg_in NS CMD... : run CMD inside namespace NS
sg_in() {
    local ns=$1; shift
    [ "${SG_VERBOSE:-0}" = 1 ] && printf '+ [%s] %s\n' "$ns" "$*" >&2
    ip netns exec "$ns" "$@"
}

_sg_sysctl() { # NS key=value...
    local ns=$1 kv; shift
    for kv in "$@"; do sg_in "$ns" sysctl -qw "$kv" >/dev/null; done
}

# ---------------------------------------------------------------- checks
sg_pass() { SG_PASSES=$((SG_PASSES + 1)); printf 'PASS: %s\n' "$*"; }
sg_fail() { SG_FAILS=$((SG_FAILS + 1)); printf 'FAIL: %s\n' "$*"; }
# sg_assert DESC CMD... : run CMD (stdout/stderr kept), PASS/FAIL on its status; returns 0 always
sg_assert() {
    local desc=$1; shift
    if "$@"; then sg_pass "$desc"; else sg_fail "$desc (status $?: $*)"; fi
    return 0
}
# sg_assert_eq DESC GOT WANT
sg_assert_eq() {
    if [ "$2" = "$3" ]; then sg_pass "$1 ($2)"; else sg_fail "$1: got '$2', want '$3'"; fi
}
# sg_assert_le DESC A B : integer A <= B
sg_assert_le() {
    if [ "$2" -le "$3" ]; then sg_pass "$1 ($2 <= $3)"; else sg_fail "$1: $2 > $3"; fi
}
# sg_assert_ge DESC A B : integer A >= B
sg_assert_ge() {
    if [ "$2" -ge "$3" ]; then sg_pass "$1 ($2 >= $3)"; else sg_fail "$1: $2 < $3"; fi
}

# ---------------------------------------------------------------- cases and the runner
# A script lists its cases (bash functions) in SG_CASES, in run order, and may define
# sg_setup: the shared set-up (topology, servers), run before the first case, and again
# before the next one if a case set SG_SETUP_DONE=0 (it tore the shared state down).
# A case returns 0, or SG_SKIP (`sg_need hping3 || return`); any other status, like a
# failed assertion, fails it.
SG_CASES=()
SG_SETUP_DONE=0

_sg_usage() {
    printf 'usage: %s [--list] [CASE...]\n  runs the named cases (default: all, in order): %s\n' \
        "$(basename "$0")" "${SG_CASES[*]}"
}

# sg_run_cases ARGS... : the script's main; never returns.  Exit 1 if a check failed,
# SG_SKIP if every case run was skipped (or sg_setup skipped the script), else 0.
sg_run_cases() {
    # (locals prefixed: a case sees them, bash scoping is dynamic)
    local _sg_c _sg_k _sg_rc _sg_t _sg_f0 _sg_want=() _sg_skipped=() _sg_failed=() _sg_times=()
    case ${1:-} in
    -l | --list) printf '%s\n' "${SG_CASES[@]}"; exit 0 ;;
    -h | --help) _sg_usage; exit 0 ;;
    -*) _sg_usage >&2; exit 2 ;;
    esac
    for _sg_c in "$@"; do
        for _sg_k in "${SG_CASES[@]}"; do [ "$_sg_k" = "$_sg_c" ] && continue 2; done
        printf 'unknown case: %s\n' "$_sg_c" >&2
        _sg_usage >&2
        exit 2
    done
    if [ $# -gt 0 ]; then _sg_want=("$@"); else _sg_want=("${SG_CASES[@]}"); fi
    if [ "$(id -u)" -ne 0 ]; then
        printf 'SKIP: %s needs root (network namespaces)\n' "$(basename "$0")"
        exit "$SG_SKIP"
    fi
    sg_cleanup_on_exit
    for _sg_c in "${_sg_want[@]}"; do
        if [ "$SG_SETUP_DONE" = 0 ] && declare -F sg_setup >/dev/null; then
            sg_setup
            SG_SETUP_DONE=1
        fi
        printf '=== %s\n' "$_sg_c"
        _sg_f0=$SG_FAILS _sg_t=$(sg_now)
        _sg_rc=0
        "$_sg_c" || _sg_rc=$?
        if [ "$_sg_rc" = "$SG_SKIP" ]; then
            _sg_skipped+=("$_sg_c")
            printf 'SKIP: %s\n' "$_sg_c"
        elif [ "$_sg_rc" != 0 ]; then
            sg_fail "$_sg_c: returned $_sg_rc"
        fi
        [ "$SG_FAILS" != "$_sg_f0" ] && _sg_failed+=("$_sg_c")
        _sg_times+=("$_sg_c $(sg_elapsed "$_sg_t")s")
    done
    printf 'time %s\n' "${_sg_times[@]}"
    printf -- '--- %d passed, %d failed; cases: %d run, %d failed%s, %d skipped%s\n' \
        "$SG_PASSES" "$SG_FAILS" "${#_sg_want[@]}" "${#_sg_failed[@]}" \
        "${_sg_failed[*]:+ (${_sg_failed[*]})}" "${#_sg_skipped[@]}" "${_sg_skipped[*]:+ (${_sg_skipped[*]})}"
    [ "$SG_FAILS" -eq 0 ] || exit 1
    [ "${#_sg_skipped[@]}" -lt "${#_sg_want[@]}" ] || exit "$SG_SKIP"
    exit 0
}

# ---------------------------------------------------------------- cleanup
# sg_on_exit CMD... : register a cleanup command (a single string is eval'ed)
sg_on_exit() { SG_EXIT_HOOKS+=("$*"); }

_sg_exit_handler() {
    local rc=$?
    [ "$_SG_EXITING" = 1 ] && return 0
    _SG_EXITING=1
    trap - EXIT INT TERM
    set +e
    local i
    for ((i = ${#SG_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${SG_EXIT_HOOKS[$i]}" || sg_log "exit hook failed: ${SG_EXIT_HOOKS[$i]}"
    done
    sg_topo_down
    if [ -n "$SG_TMP" ] && [ -d "$SG_TMP" ]; then
        if [ "${SG_KEEP_TMP:-0}" = 1 ] || [ "$SG_FAILS" -ne 0 ] ||
            { [ "$rc" -ne 0 ] && [ "$rc" -ne "$SG_SKIP" ]; }; then
            sg_log "logs kept in $SG_TMP"
        else
            rm -rf -- "$SG_TMP"
        fi
    fi
    exit "$rc"
}
_sg_signal() { sg_log "caught SIG$1, cleaning up"; exit $((128 + $2)); }

# sg_cleanup_on_exit : install EXIT/INT/TERM traps (hooks, then sg_topo_down, then tmp)
sg_cleanup_on_exit() {
    trap _sg_exit_handler EXIT
    trap '_sg_signal INT 2' INT
    trap '_sg_signal TERM 15' TERM
}

# _sg_kill_ns NS : TERM then KILL every process inside NS (all ours: the namespace is ours)
_sg_kill_ns() {
    local ns=$1 pids i
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || true
    [ -z "${pids// /}" ] && return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
        pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || true
        [ -z "${pids// /}" ] && return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
}

# sg_topo_down : kill our processes in the namespaces, delete them. Idempotent.
sg_topo_down() {
    local ns p
    for ns in "$SG_NS_C" "$SG_NS_R" "$SG_NS_S"; do
        [ -n "$ns" ] || continue
        if [ -e "/run/netns/$ns" ]; then
            _sg_kill_ns "$ns"
            ip netns del "$ns" 2>/dev/null || sg_log "could not delete netns $ns"
        fi
    done
    # reap background children (and silence bash's "Terminated" notices)
    for p in "${SG_PIDS[@]+"${SG_PIDS[@]}"}"; do
        kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null || true
    done
    SG_PIDS=()
    return 0
}

# sg_ns_gone : true when none of our namespaces exists any more
sg_ns_gone() {
    local ns
    for ns in "$SG_NS_C" "$SG_NS_R" "$SG_NS_S"; do
        [ -n "$ns" ] || continue
        ip netns list | awk '{print $1}' | grep -qx -- "$ns" && return 1
    done
    return 0
}

# ---------------------------------------------------------------- topology
# sg_topo_up : create the three namespaces, veths, addresses, routes; sanity-ping through.
sg_topo_up() {
    sg_tmpdir
    SG_NS_C=${SG_PREFIX}c$$ SG_NS_R=${SG_PREFIX}r$$ SG_NS_S=${SG_PREFIX}s$$
    export SG_NS_C SG_NS_R SG_NS_S
    local ns
    for ns in "$SG_NS_C" "$SG_NS_R" "$SG_NS_S"; do
        [ -e "/run/netns/$ns" ] && sg_die "netns $ns already exists"
    done
    for ns in "$SG_NS_C" "$SG_NS_R" "$SG_NS_S"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # no DAD: addresses usable at once (set before the veths exist so they inherit it)
        _sg_sysctl "$ns" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
            net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
    done
    # veths are created inside the router namespace, peers go straight to their namespace
    ip -n "$SG_NS_R" link add "$SG_IF_RC" type veth peer name "$SG_IF_C" netns "$SG_NS_C"
    ip -n "$SG_NS_R" link add "$SG_IF_RS" type veth peer name "$SG_IF_S" netns "$SG_NS_S"

    _sg_sysctl "$SG_NS_C" net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
    _sg_sysctl "$SG_NS_R" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        "net.ipv4.conf.$SG_IF_RC.rp_filter=0" "net.ipv4.conf.$SG_IF_RS.rp_filter=0"
    _sg_sysctl "$SG_NS_S" net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 \
        net.ipv6.bindv6only=0

    ip -n "$SG_NS_C" addr add "$SG_CLI4/24" dev "$SG_IF_C"
    ip -n "$SG_NS_C" addr add "$SG_CLI6/64" dev "$SG_IF_C" nodad
    ip -n "$SG_NS_R" addr add "$SG_RTR_C4/24" dev "$SG_IF_RC"
    ip -n "$SG_NS_R" addr add "$SG_RTR_C6/64" dev "$SG_IF_RC" nodad
    ip -n "$SG_NS_R" addr add "$SG_RTR_S4/24" dev "$SG_IF_RS"
    ip -n "$SG_NS_R" addr add "$SG_RTR_S6/64" dev "$SG_IF_RS" nodad
    ip -n "$SG_NS_S" addr add "$SG_SRV4/24" dev "$SG_IF_S"
    ip -n "$SG_NS_S" addr add "$SG_SRV6/64" dev "$SG_IF_S" nodad

    ip -n "$SG_NS_C" link set "$SG_IF_C" up
    ip -n "$SG_NS_R" link set "$SG_IF_RC" up
    ip -n "$SG_NS_R" link set "$SG_IF_RS" up
    ip -n "$SG_NS_S" link set "$SG_IF_S" up

    ip -n "$SG_NS_C" route add default via "$SG_RTR_C4"
    ip -n "$SG_NS_C" -6 route add default via "$SG_RTR_C6"
    ip -n "$SG_NS_S" route add default via "$SG_RTR_S4"
    ip -n "$SG_NS_S" -6 route add default via "$SG_RTR_S6"
    # router: everything unknown goes to the client ns, which drops it (forwarding off)
    ip -n "$SG_NS_R" route add default via "$SG_CLI4" dev "$SG_IF_RC"
    ip -n "$SG_NS_R" -6 route add default via "$SG_CLI6" dev "$SG_IF_RC"

    # sanity: end to end over both families (a few tries while links settle); needs ping
    # (iputils-ping), skipped without it
    local fam dst ok i
    if command -v ping >/dev/null 2>&1; then
        for fam in 4 6; do
            [ "$fam" = 4 ] && dst=$SG_SRV4 || dst=$SG_SRV6
            ok=0
            for ((i = 0; i < 20; i++)); do
                if sg_in "$SG_NS_C" ping -"$fam" -c1 -W1 -q "$dst" >/dev/null 2>&1; then ok=1; break; fi
                sleep 0.1
            done
            [ "$ok" = 1 ] || sg_die "topology: client cannot ping $dst"
        done
    fi
    # hping3 --rand-source picks sources from all of IPv4: rewrite every source the
    # client ns sends other than its own into 198.18.0.0/15 (RFC 2544, benchmark
    # networks; top 15 bits replaced, checksums fixed by nft), so that no packet of a
    # test carries an address that is not ours to use.  IPv6 floods use 2001:db8::/32.
    printf '%s\n' "table ip sg_spoof {" "  chain out {" \
        "    type filter hook output priority -400; policy accept;" \
        "    ip saddr != $SG_CLI4 ip saddr set ip saddr & 0.1.255.255 | 198.18.0.0" \
        "    ip saddr != { $SG_CLI4, 198.18.0.0/15 } drop" \
        "  }" "}" | sg_in "$SG_NS_C" nft -f - || sg_die "cannot confine spoofed sources (nft)"
    sg_log "topology up: $SG_NS_C <-> $SG_NS_R <-> $SG_NS_S (logs: $SG_TMP)"
}

# ---------------------------------------------------------------- waiting
# sg_wait_port NS PORT [TIMEOUT_S=5] : wait until a TCP listener on PORT exists in NS
sg_wait_port() {
    local ns=$1 port=$2 tmo=${3:-5} i n
    n=$(awk -v t="$tmo" 'BEGIN { printf "%d", t * 20 }')
    for ((i = 0; i < n; i++)); do
        if sg_in "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then return 0; fi
        sleep 0.05
    done
    sg_log "timeout: nothing listens on $ns:$port after ${tmo}s"
    return 1
}

# sg_wait_pid PID [TIMEOUT_S=10] : wait for a background child to exit; returns its status,
# or 124 (and leaves it running) on timeout
sg_wait_pid() {
    local pid=$1 tmo=${2:-10} i n
    n=$(awk -v t="$tmo" 'BEGIN { printf "%d", t * 20 }')
    for ((i = 0; i < n; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            local rc=0
            wait "$pid" 2>/dev/null || rc=$?
            return "$rc"
        fi
        sleep 0.05
    done
    return 124
}

# sg_bg NS LOG CMD... : start CMD in NS in the background, output to LOG; sets SG_BG_PID
sg_bg() {
    local ns=$1 log=$2; shift 2
    [ "${SG_VERBOSE:-0}" = 1 ] && printf '+ [%s] %s &\n' "$ns" "$*" >&2
    # a plain backgrounded command: $! is ip's PID, which execs CMD (same PID)
    ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
    SG_BG_PID=$!
    SG_PIDS+=("$SG_BG_PID")
}

# ---------------------------------------------------------------- HTTP
# sg_http_server PORT [DIR] : dual-stack (:: with V6ONLY=0) python http.server in the server
# ns, listen backlog 1024 (http_dir.py; `python3 -m http.server` listens with 5); sets SG_HTTP_PID and SG_HTTP_LOG (the access log: one line per request, client address
# first, IPv4 clients shown as ::ffff:a.b.c.d).
sg_http_server() {
    local port=$1 dir=${2:-}
    sg_tmpdir
    if [ -z "$dir" ]; then
        dir=$SG_TMP/www
        mkdir -p "$dir"
        printf 'syngate test page\n' >"$dir/index.html"
    fi
    SG_HTTP_LOG=$SG_TMP/http.$port.log
    sg_bg "$SG_NS_S" "$SG_HTTP_LOG" "$SG_PYTHON" -u "$SG_LIB_DIR/http_dir.py" "$port" "$dir"
    SG_HTTP_PID=$SG_BG_PID
    export SG_HTTP_PID SG_HTTP_LOG
    sg_wait_port "$SG_NS_S" "$port" 10 || { cat "$SG_HTTP_LOG" >&2; return 1; }
    # must be one dual-stack socket: [::]:port and IPV6_V6ONLY off
    [ "$(sg_in "$SG_NS_S" cat /proc/sys/net/ipv6/bindv6only)" = 0 ] ||
        sg_log "warning: bindv6only=1 in $SG_NS_S; http.server may be IPv6-only"
}

# sg_curl NS URL [curl args...] : prints the HTTP status code (000 on failure); no proxies
sg_curl() {
    local ns=$1 url=$2; shift 2
    sg_in "$ns" curl -sS -g --noproxy '*' -o /dev/null -w '%{http_code}' \
        --connect-timeout "${SG_CURL_TIMEOUT:-5}" --max-time "${SG_CURL_TIMEOUT:-5}" "$@" "$url" 2>/dev/null || true
}
# sg_curl_ok URL [curl args] : true if a GET from the client ns returns 200
sg_curl_ok() { [ "$(sg_curl "$SG_NS_C" "$@")" = 200 ]; }

# ---------------------------------------------------------------- SYN counter (server ns)
# sg_syn_counter_install PORT : count pure SYNs (SYN set; ACK, FIN, RST clear) to PORT
# arriving at the server ns, v4 and v6, in a dedicated chain SGSYN<PORT> jumped to from INPUT.
sg_syn_counter_install() {
    local port=$1 chain=SGSYN$1 ipt
    for ipt in iptables ip6tables; do
        if sg_in "$SG_NS_S" "$ipt" -w -t filter -nL "$chain" >/dev/null 2>&1; then
            sg_in "$SG_NS_S" "$ipt" -w -t filter -Z "$chain"
            continue
        fi
        sg_in "$SG_NS_S" "$ipt" -w -t filter -N "$chain"
        sg_in "$SG_NS_S" "$ipt" -w -t filter -A "$chain" -p tcp --tcp-flags SYN,ACK,FIN,RST SYN
        sg_in "$SG_NS_S" "$ipt" -w -t filter -I INPUT 1 -p tcp --dport "$port" -j "$chain"
    done
}
# sg_syn_count PORT [4|6] : print SYNs counted so far (v4+v6 unless a family is given)
sg_syn_count() {
    local port=$1 fam=${2:-46} chain=SGSYN$1 n total=0
    if [[ $fam == *4* ]]; then
        n=$(sg_in "$SG_NS_S" iptables -w -t filter -nvxL "$chain" | awk 'NR == 3 { print $1 }')
        total=$((total + ${n:-0}))
    fi
    if [[ $fam == *6* ]]; then
        n=$(sg_in "$SG_NS_S" ip6tables -w -t filter -nvxL "$chain" | awk 'NR == 3 { print $1 }')
        total=$((total + ${n:-0}))
    fi
    echo "$total"
}

# ---------------------------------------------------------------- the daemon
# sg_gate_ns : the namespace syngate runs in: SG_NS_GATE when set (on-host placement runs it
# in the server ns), else the router
sg_gate_ns() { echo "${SG_NS_GATE:-$SG_NS_R}"; }
# sg_syngate_start LOG ARGS... : run "$SYNGATE" run ARGS... in sg_gate_ns, logging to LOG;
# wait until it has logged event=started and answers `stats --control "$CTL"`. Sets SGD_PID.
# Dies (printing LOG) if it exits or does not come up within 20 s (rules, ipsets and the XDP
# program's verification take a second or two on a slow, loaded machine).
sg_syngate_start() {
    local log=$1 i; shift
    # a backends file of this run's own: the default (/var/lib/syngate/backends) would carry
    # what one test's daemon learned into the next test's (the flags may name another)
    sg_bg "$(sg_gate_ns)" "$log" "$SYNGATE" run --key-file "$SG_TMP/key" --backends-file "$SG_TMP/backends" "$@"
    SGD_PID=$SG_BG_PID
    for ((i = 0; i < 400; i++)); do
        if grep -q 'event=started' "$log" &&
            sg_in "$(sg_gate_ns)" "$SYNGATE" stats --control "$CTL" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$SGD_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$log" >&2
    sg_die "syngate ($log) did not start"
}

# sg_syngate_stop [SIGNAL] : stop the daemon sg_syngate_start started (SIGINT unless said;
# it removes its rules), SIGKILL after 10 s
sg_syngate_stop() {
    [ -n "$SGD_PID" ] || return 0
    kill "-${1:-INT}" "$SGD_PID" 2>/dev/null || true
    sg_wait_pid "$SGD_PID" 10 || kill -KILL "$SGD_PID" 2>/dev/null || true
    SGD_PID='' SGD_NAME=''
}

# sg_snap NAME : save `syngate stats --json` (control socket $CTL) as snapshot NAME, after
# SG_SNAP_WAIT seconds (default 0: each worker answers a stats request with its figures as of
# the request, the SYNs XDP answered included), with the packet counters of syngate's raw
# SYN rules (sg_rule_counts) beside it
sg_snap() {
    sleep "${SG_SNAP_WAIT:-0}"
    sg_in "$(sg_gate_ns)" "$SYNGATE" stats --control "$CTL" --json >"$SG_TMP/stats.$1.json"
    sg_rule_counts >"$SG_TMP/rules.$1.json"
}
# sg_stat NAME KEY : value of KEY in snapshot NAME
sg_stat() { cat "$SG_TMP/stats.$1.json" "$SG_TMP/rules.$1.json" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
# sg_delta A B KEY : KEY in snapshot B minus KEY in snapshot A
sg_delta() { echo $(($(sg_stat "$2" "$3") - $(sg_stat "$1" "$3"))); }
# sg_queue_drained [TIMEOUT_S=10] : wait until syngate's kernel queue is empty (nfq_backlog 0),
# so that a snapshot after a flood counts every queued SYN as read or dropped
sg_queue_drained() {
    local tmo=${1:-10} i n b
    n=$(awk -v t="$tmo" 'BEGIN { printf "%d", t * 20 }')
    for ((i = 0; i < n; i++)); do
        b=$(sg_in "$(sg_gate_ns)" "$SYNGATE" stats --control "$CTL" --json | grep -o '"nfq_backlog":[0-9]*' | cut -d: -f2)
        [ "${b:-0}" = 0 ] && return 0
        sleep 0.05
    done
    sg_log "the queue still holds $b packets after ${tmo}s"
    return 1
}

# sg_rule_counts : the packet counters of the SYN rules in the router's SYNGATE-RAW chains
# (rules/README.md), as JSON: raw_queued4/6 (SYNs the shed rule's hashlimit let into
# the queue), raw_shed4/6 (SYNs dropped above shed-rate); 0 without the rules
sg_rule_counts() {
    local fam ipt q d sep='{'
    for fam in 4 6; do
        [ "$fam" = 4 ] && ipt=iptables || ipt=ip6tables
        read -r q d < <(sg_in "$(sg_gate_ns)" "$ipt" -w -t raw -nvxL SYNGATE-RAW 2>/dev/null | awk '
            /flags:0x17\/0x02/ && $3 == "NFQUEUE" { q += $1 }
            /flags:0x17\/0x02/ && $3 == "DROP" { d += $1 }
            END { print q + 0, d + 0 }')
        printf '%s"raw_queued%s":%s,"raw_shed%s":%s' "$sep" "$fam" "${q:-0}" "$fam" "${d:-0}"
        sep=,
    done
    printf '}\n'
}
# sg_shed_rate [4|6] : "RATE BURST" of the installed shed rule (its hashlimit), "0 0" without
sg_shed_rate() {
    local ipt=iptables
    [ "${1:-4}" = 6 ] && ipt=ip6tables
    sg_in "$(sg_gate_ns)" "$ipt" -w -t raw -S SYNGATE-RAW 2>/dev/null | awk '
        /--hashlimit-upto/ { for (i = 1; i < NF; i++) {
            if ($i == "--hashlimit-upto") { r = $(i + 1); sub("/sec", "", r) }
            if ($i == "--hashlimit-burst") b = $(i + 1) } }
        END { print r + 0, b + 0 }'
}

# sg_flood_accounting TAG FAM SENT SECS ELAPSED LEGIT A B : the checks of a SYN flood against
# the NFQUEUE path (family FAM, SENT SYNs from a generator that ran SECS seconds, ELAPSED
# seconds from its start to its end, at most LEGIT more SYNs from legitimate clients;
# snapshots A, B around it).  They hold against what was sent and syngate's configured
# shed-rate, never against a rate this machine reached (30k or 300k SYN/s alike):
#   - the router's SYN rules saw the flood: queued + shed <= SENT + LEGIT, and >= SENT / 2
#   - the shed rule let in at most shed-rate x ELAPSED + burst, and at least half of
#     min(arrived, shed-rate x SECS) (half: a generator that stalls and then bursts above
#     the rate is shed during the bursts)
#   - every SYN let into the queue reached syngate (syn_seen) or is a queue drop the kernel
#     counted (nfq_kernel_queue_dropped, nfq_kernel_user_dropped; take snapshot B after
#     sg_queue_drained)
#   - syngate answered at least half of what the shed rule let in with a cookie: beyond its
#     capacity the queue overflows (fail-closed); on two shared cores that is a few % to 15%
sg_flood_accounting() {
    local tag=$1 fam=$2 sent=$3 secs=$4 elapsed=$5 legit=$6 a=$7 b=$8 rate burst
    local q d seen qdrop cookies arrived want
    read -r rate burst <<<"$(sg_shed_rate "$fam")"
    q=$(sg_delta "$a" "$b" "raw_queued$fam") d=$(sg_delta "$a" "$b" "raw_shed$fam")
    seen=$(sg_delta "$a" "$b" syn_seen) cookies=$(sg_delta "$a" "$b" cookies_sent)
    qdrop=$(($(sg_delta "$a" "$b" nfq_kernel_queue_dropped) + $(sg_delta "$a" "$b" nfq_kernel_user_dropped)))
    arrived=$((q + d))
    want=$arrived
    if [ "$rate" -gt 0 ] && [ $((rate * secs)) -lt "$want" ]; then want=$((rate * secs)); fi
    sg_log "$tag: sent $sent in ${elapsed}s; at the router: queued $q + shed $d" \
        "(shed-rate $rate, burst $burst); syn_seen +$seen, queue drops +$qdrop, cookies_sent +$cookies"
    sg_assert_le "$tag: SYNs at the router's rules <= sent + legitimate" "$arrived" "$((sent + legit))"
    sg_assert_ge "$tag: SYNs at the router's rules >= half the flood" "$arrived" "$((sent / 2))"
    if [ "$rate" -gt 0 ]; then
        sg_assert_le "$tag: the shed rule let in <= shed-rate x elapsed + burst" "$q" \
            "$(awk -v r="$rate" -v e="$elapsed" -v b="$burst" 'BEGIN { printf "%d", r * e * 1.02 + b }')"
    fi
    sg_assert_ge "$tag: the shed rule let in >= min(arrived, shed-rate x secs) / 2" "$q" "$((want / 2))"
    # the queue drops count every packet the queue lost, the legitimate clients' ACKs and
    # backend SYN-ACKs too (up to LEGIT more); and 5 either way: a legitimate SYN may arrive
    # between the stats and the rule counters
    sg_assert "$tag: every queued SYN reached syngate or is a counted queue drop ($seen + $qdrop vs $q)" \
        test "$((seen + qdrop - q))" -le "$((legit + 5))" -a "$((q - seen - qdrop))" -le 5
    sg_assert_ge "$tag: cookies_sent >= half the SYNs let into the queue" "$cookies" "$((q / 2))"
}

# sg_log_count ADDR : requests from ADDR in the HTTP server's access log
sg_log_count() { grep -c "^$1 " "$SG_HTTP_LOG" || true; }
# sg_legit_loop URL : while the flood SG_FLOOD_PID runs, start one curl every 200 ms (8 s
# timeout: room for two SYN retransmissions), each in the background, so that how many are
# made does not depend on how long each takes; wait for them all; sets OK BAD N
sg_legit_loop() {
    local url=$1 dir code f pids=()
    dir=$SG_TMP/legit.$(date +%s%N)
    mkdir -p "$dir"
    OK=0 BAD=0 N=0
    sleep 0.3
    while kill -0 "$SG_FLOOD_PID" 2>/dev/null; do
        N=$((N + 1))
        (SG_CURL_TIMEOUT=8 sg_curl "$SG_NS_C" "$url" >"$dir/$N") &
        pids+=($!)
        sleep 0.2
    done
    wait "${pids[@]+"${pids[@]}"}" 2>/dev/null
    for f in "$dir"/*; do
        [ -e "$f" ] || continue
        code=$(cat "$f")
        if [ "$code" = 200 ]; then OK=$((OK + 1)); else BAD=$((BAD + 1)); sg_log "legit curl $url: $code"; fi
    done
}

# ---------------------------------------------------------------- flood
# sg_flood SECONDS PORT [extra hping3 args] : SYN flood with random sources from the client ns
# toward SG_FLOOD_DST (default 203.0.113.2), in the background, bounded by timeout -s INT.
# Sets SG_FLOOD_PID, SG_FLOOD_LOG and SG_FLOOD_T0 (start time).  SG_FLOOD_OPTS is hping3's
# pacing (default --flood; "-i u20" is ~50k/s at most), SG_FLOOD_FLAGS its TCP flags
# (default -S; -A for forged ACKs), SG_FLOOD_CPU=N pins hping3 to that CPU.
sg_flood() {
    local secs=$1 port=$2; shift 2
    local dst=${SG_FLOOD_DST:-$SG_SRV4} pin=() pace
    read -r -a pace <<<"$SG_FLOOD_OPTS"
    sg_tmpdir
    [ -n "${SG_FLOOD_CPU:-}" ] && pin=(taskset -c "$SG_FLOOD_CPU")
    SG_FLOOD_LOG=$SG_TMP/flood.$(date +%s%N).log
    SG_FLOOD_T0=$(sg_now)
    sg_bg "$SG_NS_C" "$SG_FLOOD_LOG" "${pin[@]+"${pin[@]}"}" \
        timeout -s INT "$secs" hping3 "${SG_FLOOD_FLAGS:--S}" "${pace[@]}" --rand-source -p "$port" "$@" "$dst"
    SG_FLOOD_PID=$SG_BG_PID
    SG_FLOOD_SENT=0
    export SG_FLOOD_PID SG_FLOOD_LOG SG_FLOOD_T0
}
# sg_flood_wait [TIMEOUT_S=SECONDS+10] : wait for the flood to end; sets and prints
# SG_FLOOD_SENT (packets hping3 reports as transmitted); `sg_elapsed "$SG_FLOOD_T0"` after it
# is the flood's wall time
sg_flood_wait() {
    local tmo=${1:-60}
    [ -n "$SG_FLOOD_PID" ] || return 0
    sg_wait_pid "$SG_FLOOD_PID" "$tmo" || true
    if kill -0 "$SG_FLOOD_PID" 2>/dev/null; then
        kill -INT "$SG_FLOOD_PID" 2>/dev/null || true
        sg_wait_pid "$SG_FLOOD_PID" 5 || true
    fi
    SG_FLOOD_PID=''
    SG_FLOOD_SENT=$(awk '/packets (transmitted|tramitted)/ { print $1; exit }' "$SG_FLOOD_LOG")
    SG_FLOOD_SENT=${SG_FLOOD_SENT:-0}
    echo "$SG_FLOOD_SENT"
}

# ---------------------------------------------------------------- kernel SYNPROXY stats
# sg_synproxy_stats [NS=router] : sum the per-CPU hex columns of /proc/net/stat/synproxy in NS,
# print "name=value" per column (entries syn_received cookie_invalid cookie_valid
# cookie_retrans conn_reopened)
sg_synproxy_stats() {
    local ns=${1:-$SG_NS_R} line i
    local -a names=() vals=() f
    local first=1
    while read -r line; do
        [ -n "$line" ] || continue
        read -r -a f <<<"$line"
        if [ "$first" = 1 ]; then
            names=("${f[@]}"); first=0
            for i in "${!names[@]}"; do vals[i]=0; done
            continue
        fi
        for i in "${!f[@]}"; do vals[i]=$((vals[i] + 16#${f[i]})); done
    done < <(sg_in "$ns" cat /proc/net/stat/synproxy)
    for i in "${!names[@]}"; do printf '%s=%s\n' "${names[i]}" "${vals[i]}"; done
}
# sg_synproxy_stat NS FIELD : one summed column, e.g. sg_synproxy_stat "$SG_NS_R" cookie_valid
sg_synproxy_stat() {
    sg_synproxy_stats "$1" | awk -F= -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }'
}

# ---------------------------------------------------------------- bulk transfer
_sg_kv() { # LINE KEY -> value of KEY=value in LINE
    local w
    for w in $1; do [ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return 0; }; done
    echo ""
}

# sg_bulk_server PORT BYTES [NS=server] : start tcpsink.py serving one connection that sends
# BYTES and receives until EOF; sets SG_BULK_SERVER_PID, SG_BULK_SERVER_OUT
sg_bulk_server() {
    local port=$1 bytes=$2 ns=${3:-$SG_NS_S}
    sg_tmpdir
    SG_BULK_SERVER_OUT=$SG_TMP/bulk_server.$port.$(date +%s%N).out
    sg_bg "$ns" "$SG_BULK_SERVER_OUT" "$SG_PYTHON" -u "$SG_LIB_DIR/tcpsink.py" serve \
        --port "$port" --bytes "$bytes" --count 1 --timeout "${SG_BULK_TIMEOUT:-120}"
    SG_BULK_SERVER_PID=$SG_BG_PID
    sg_wait_port "$ns" "$port" 10 || { cat "$SG_BULK_SERVER_OUT" >&2; return 1; }
}

# sg_bulk_client HOST PORT BYTES [NS=client] : connect, send BYTES, receive until EOF, then
# wait for the server started by sg_bulk_server and compare sha256 both ways.
# Returns 0 if both directions carried exactly BYTES with identical sha256. Prints a summary;
# sets SG_BULK_SECS (client wall time) and SG_BULK_PEER (client address the server saw).
sg_bulk_client() {
    local host=$1 port=$2 bytes=$3 ns=${4:-$SG_NS_C} cl sv rc=0
    local out
    out=$SG_TMP/bulk_client.$port.$(date +%s%N).out
    sg_in "$ns" timeout "${SG_BULK_TIMEOUT:-120}" "$SG_PYTHON" -u "$SG_LIB_DIR/tcpsink.py" send \
        --host "$host" --port "$port" --bytes "$bytes" --timeout "${SG_BULK_TIMEOUT:-120}" \
        >"$out" 2>&1 || rc=$?
    sg_wait_pid "$SG_BULK_SERVER_PID" 30 || true
    cl=$(grep -m1 '^role=client' "$out" || true)
    sv=$(grep -m1 '^role=server' "$SG_BULK_SERVER_OUT" || true)
    SG_BULK_SECS=$(_sg_kv "$cl" secs)
    SG_BULK_PEER=$(_sg_kv "$sv" peer)
    if [ "$rc" -ne 0 ] || [ -z "$cl" ] || [ -z "$sv" ]; then
        sg_log "bulk $host:$port failed (client rc=$rc)"
        cat "$out" "$SG_BULK_SERVER_OUT" >&2
        return 1
    fi
    if [ "$(_sg_kv "$cl" sent)" = "$bytes" ] && [ "$(_sg_kv "$sv" recv)" = "$bytes" ] &&
        [ "$(_sg_kv "$sv" sent)" = "$bytes" ] && [ "$(_sg_kv "$cl" recv)" = "$bytes" ] &&
        [ "$(_sg_kv "$cl" sent_sha256)" = "$(_sg_kv "$sv" recv_sha256)" ] &&
        [ "$(_sg_kv "$sv" sent_sha256)" = "$(_sg_kv "$cl" recv_sha256)" ]; then
        sg_log "bulk $host:$port: $bytes bytes each way in ${SG_BULK_SECS}s, sha256 match (server saw $SG_BULK_PEER)"
        return 0
    fi
    sg_log "bulk $host:$port: MISMATCH"
    printf '  %s\n  %s\n' "$cl" "$sv" >&2
    return 1
}

# sg_bulk_check HOST PORT BYTES : sg_bulk_server + sg_bulk_client in one call
sg_bulk_check() {
    sg_bulk_server "$2" "$3" || return 1
    sg_bulk_client "$1" "$2" "$3"
}
