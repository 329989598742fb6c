#!/usr/bin/env bash
# Sets everything up (deploy/setup.sh) and runs the whole test suite: the
# cmocka unit tests and the network-namespace integration tests (root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
cd build
ctest --output-on-failure "$@"
