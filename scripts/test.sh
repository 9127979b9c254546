#!/usr/bin/env bash
# The test command: installs dependencies, checks the code format (.clang-format), builds
# everything with warnings as errors, runs each fuzz target for a bounded time (FUZZ_SECONDS,
# default 60) and then every test (ctest), the end-to-end one with the OpenAI npm client too.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/install-deps.sh
git ls-files -z '*.cpp' '*.h' '*.cu' '*.cuh' | xargs -0 clang-format --dry-run --Werror
# The end-to-end tests' OpenAI client, at the version package-lock.json pins (from npm).
npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
scripts/build.sh
scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
# A failing test's output scrolls far up a parallel run's log: on failure, the failed tests
# run once more, one at a time, so their output ends the log (the exit status stays a failure).
if ! ctest --test-dir build --output-on-failure -j "$jobs"; then
  echo "=== the failed tests once more, their output last ===" >&2
  ctest --test-dir build --rerun-failed --output-on-failure || true
  exit 1
fi
