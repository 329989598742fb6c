#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each on its seed corpus,
# with ASan and UBSan: a crash, a leak, a sanitizer report or a timeout fails
# it, and the input is left in the artifact directory (printed).  New inputs
# go to a scratch directory, never into tests/fuzz/corpus.
#   tests/fuzz/run.sh BUILD_DIR SECONDS [target...]
#   tests/fuzz/run.sh build-fuzz 25
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1 secs=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(packet proxy config nfq ct xdp)
scratch=$(mktemp -d /tmp/syngate-fuzz.XXXXXX)
art=${SYNGATE_FUZZ_ARTIFACTS:-$scratch/artifacts}
mkdir -p "$art"
failed=()
for t in "${targets[@]}"; do
	mkdir -p "$scratch/$t"
	if "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/$t-" \
		"$scratch/$t" "tests/fuzz/corpus/$t" >"$scratch/$t.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log")
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$scratch/$t.log")
		echo "fuzz_$t: ok, $runs runs in ${secs}s ($rate/s)"
	else
		echo "fuzz_$t: FAILED"
		# the report: the sanitizer's stack, the input (base64) and its path
		grep -vE '^(#[0-9]+|INFO:|NEW_FUNC|\s+NEW_PC)' "$scratch/$t.log" | tail -n 60 || true
		failed+=("$t")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}; inputs in $art (reproduce: $build/tests/fuzz/fuzz_<target> <input>)" >&2
	exit 1
fi
rm -rf "$scratch"
