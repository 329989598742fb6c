#!/usr/bin/env bash
# The command line (src/daemon/cli.c): every subcommand parsed by getopt_long from one
# description, the same spelling of an option everywhere, --help per subcommand, and
# the generated completion and manual list.  No root, no daemon: errors are checked
# by their messages.  Usage: SYNGATE=build/syngate bash tests/cli/test_cli.sh
set -uo pipefail
SG=${SYNGATE:?SYNGATE=path of the syngate binary}
T=$(mktemp -d /tmp/syngate-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { if "${@:2}"; then echo "PASS: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi; }
has() { grep -qF -- "$1" "$T/out"; }
run() { "$SG" "$@" >"$T/out" 2>&1; }

printf '[syngate]\nports = 80\ncontrol = %s/from-file.sock\n' "$T" >"$T/c.conf"

for c in run rules stats check-config help-config keys; do
	run "$c" --help
	ok "$c --help exits 0 and shows its usage" eval "[ $? = 0 ] && has 'usage: syngate $c'"
done
run stats --help
ok "stats --help lists --watch and --control, not --ports" eval "has '--watch SECONDS' && has '--control' && ! has '--ports'"

# stats: --config gives the control socket; --watch=1 and --watch 1 alike
for w in --watch=1 "--watch 1" --json --prometheus ""; do
	# shellcheck disable=SC2086
	run stats --config "$T/c.conf" $w
	ok "stats --config F $w reads the socket path from F" has "cannot reach the daemon at $T/from-file.sock"
done
run stats --config "$T/c.conf" --control="$T/flag.sock"
ok "stats: --control after --config overrides the file" has "$T/flag.sock"
run stats --control "$T/flag.sock"
ok "stats: --control PATH" has "$T/flag.sock"
run stats --watch=0
ok "stats --watch=0 is refused" eval "[ $? = 2 ] && has '--watch takes seconds'"
run stats --ports 80
ok "stats: an option it does not take is refused" eval "[ $? = 2 ] && has \"unknown option '--ports'\""

# rules (dry run needs no privilege): every spelling of an option
R=(rules install --dry-run --ipv6 no --interfaces lo)
run "${R[@]}" --ports=81 --shed-rate 0 --learn no --fail-open --lane=no
ok "rules: --k=v, --k v, bare and worded booleans" eval "[ $? = 0 ] && has 'dports 81' && has '--queue-bypass' && ! has 'syngate-lane'"
run "${R[@]}" --config "$T/c.conf" --ports 82
ok "rules: options after --config override it" has 'dports 82'
run "${R[@]}" --fail-open --ports 83
ok "rules: a bare boolean before another option" eval "has '--queue-bypass' && has 'dports 83'"
run rules --dry-run install --ipv6 no --ports 84
ok "rules: the action may follow options" has 'dports 84'
run rules frob
ok "rules: an unknown action" eval "[ $? = 2 ] && has \"unknown rules command 'frob'\""
run rules install --ports
ok "a missing value is named" eval "[ $? = 2 ] && has \"missing value for '--ports'\""
run run --mode sometimes
ok "a bad value is named" eval "[ $? = 2 ] && has \"bad value 'sometimes' for 'mode'\""
run run --nope
ok "an unknown option is named" eval "[ $? = 2 ] && has \"unknown option '--nope'\""
run run extra
ok "run takes no arguments" eval "[ $? = 2 ] && has \"unexpected argument 'extra'\""

run check-config "$T/c.conf"
ok "check-config FILE" has "$T/c.conf: ok"
run check-config
ok "check-config without FILE" eval "[ $? = 2 ] && has 'needs one FILE'"

# generated from the options table
n=$("$SG" help-config | grep -c '^  --')
ok "help-config --man: one .TP per option ($n)" [ "$("$SG" help-config --man | grep -c '^\.TP')" = "$n" ]
"$SG" help-config --bash-completion >"$T/comp"
ok "help-config --bash-completion is valid bash" bash -n "$T/comp"
missing=$("$SG" help-config | awk '/^  --/ { print $1 }' | while read -r o; do
	grep -qF -- " $o" "$T/comp" || echo "$o"
done)
ok "the completion knows every option${missing:+ (not: $missing)}" [ -z "$missing" ]
if [ -f /usr/share/bash-completion/bash_completion ]; then
	complete_words() {
		bash -c '. /usr/share/bash-completion/bash_completion; . "$1"; shift
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			_syngate syngate "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; echo "${COMPREPLY[*]}"' \
			sh "$T/comp" "$@"
	}
	ok "completion: commands" [ "$(complete_words syngate r)" = "run rules" ]
	ok "completion: rules actions" [ "$(complete_words syngate rules '')" = "install remove status" ]
	ok "completion: --xdp=n" [ "$(complete_words syngate run --xdp=n)" = native ]
	ok "completion: stats options" [ "$(complete_words syngate stats --w)" = --watch ]
fi

echo "--- $fails failed"
[ "$fails" = 0 ]
