#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and runs each one
# for SECONDS (first argument, default 60), starting from seed files the seed generator
# writes. Fails on any crash, leak, sanitizer report or time-out. Findings are left in
# build-fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
scripts/install-deps.sh
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTESSERA_FUZZ=ON >/dev/null
fi
cmake --build build-fuzz
mkdir -p build-fuzz/findings
for target in build-fuzz/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus="build-fuzz/corpus/$name"
  rm -rf "$corpus" && mkdir -p "$corpus"
  build-fuzz/fuzz/make_fuzz_seeds "$name" "$corpus"
  echo "fuzz: $name for ${seconds}s"
  "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix=build-fuzz/findings/ "$corpus" \
    >"build-fuzz/$name.log" 2>&1 || {
      echo "fuzz: $name FAILED; last lines of build-fuzz/$name.log:"
      tail -40 "build-fuzz/$name.log"
      exit 1
    }
  echo "fuzz: $name: $(grep -E '^Done' "build-fuzz/$name.log"), no findings"
done
