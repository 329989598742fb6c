#!/bin/sh
# promtool.sh METRICS_SAMPLE DEPLOY : promtool accepts the /metrics page (metrics_sample's),
# parses every expression of the Grafana dashboard (DEPLOY/grafana/syngate.json), accepts the
# alert rules (DEPLOY/prometheus/syngate-alerts.yml), and their unit tests
# (syngate-alerts.test.yml: each alert firing and not firing) pass.
# Exit 77 (skipped) without promtool or python3.
set -eu
for t in promtool python3; do
	command -v "$t" >/dev/null 2>&1 || { echo "$t not found: skipped"; exit 77; }
done
sample=$1 deploy=$2 here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$sample" >"$tmp/metrics.txt"
grep -q '^syngate_build_info' "$tmp/metrics.txt"
promtool check metrics <"$tmp/metrics.txt"
python3 "$here/check_metrics.py" rules-of "$deploy/grafana/syngate.json" >"$tmp/dashboard.rules.yml"
promtool check rules "$tmp/dashboard.rules.yml"
promtool check rules "$deploy/prometheus/syngate-alerts.yml"
cd "$deploy/prometheus" && promtool test rules syngate-alerts.test.yml
