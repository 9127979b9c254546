#!/usr/bin/env bash
# Time and peak memory of `tessera model info` on a synthesized 4+ GB GGUF (llama-3-8b shape,
# Q4_K), with the page cache dropped first where allowed. Usage: bench/model_info_open.sh [DIR]
# (DIR holds the 4.5 GB model; default /tmp/tessera-bench). Needs GNU time (package `time`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-/tmp/tessera-bench}"
bin="$root/build/src/tessera"
model="$dir/llama-3-8b-Q4_K.gguf"
"$root/scripts/build.sh" --target tessera >/dev/null
mkdir -p "$dir"
[ -f "$model" ] || "$bin" model synth --shape llama-3-8b --type Q4_K --fill pool \
  --vocab "$root/../shared/testdata/vocab/ggml-vocab-llama-bpe.gguf" --out "$model"
echo "file: $(stat -c %s "$model") bytes"
sync
if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then echo "page cache dropped"; fi
for run in 1 2 3; do
  /usr/bin/time -f "run $run: %e s wall, %M KiB peak RSS" "$bin" model info "$model" >/dev/null
done
