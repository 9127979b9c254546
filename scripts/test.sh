#!/usr/bin/env bash
# The test command: installs dependencies, checks the code format (.clang-format), builds
# everything with warnings as errors, runs each fuzz target for a bounded time (FUZZ_SECONDS,
# default 60) and then every unit test (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/install-deps.sh
git ls-files -z '*.cpp' '*.h' '*.cu' '*.cuh' | xargs -0 clang-format --dry-run --Werror
scripts/build.sh
scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
ctest --test-dir build --output-on-failure -j "$jobs"
