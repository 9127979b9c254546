#!/usr/bin/env bash
# Installs what the build needs (scripts/install-deps.sh), then configures (once) and builds
# Tessera into build/ with Ninja. Extra arguments are passed to the build (e.g. a target).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTESSERA_WERROR=ON >/dev/null
fi
cmake --build build "$@"
