#!/usr/bin/env bash
# The test command: installs dependencies, builds everything, runs each fuzz target for a
# bounded time (FUZZ_SECONDS, default 60) and then every unit test (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/build.sh
scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
ctest --test-dir build --output-on-failure -j "$jobs"
