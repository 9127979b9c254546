#!/usr/bin/env bash
# CPU speed (#5): synthesizes the qwen2.5-0.5b and tinyllama-1.1b shapes in F16, Q8_0, Q4_0
# and Q4_K (random weights, `tessera model synth --fill pool`) into a models folder, then runs
# `tessera bench -p 512 -n 128` on each, as llama-bench does, and prints one table with the
# read bandwidth (probed right before each tg repetition; median) and tg's median share of it.
# Usage: bench/cpu_speed.sh [--models DIR] [--threads T] [--reps R] [--shapes "a b"] [--types "X Y"]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
models="${TMPDIR:-/tmp}/tessera-bench-models"
threads=2
reps=5
shapes="qwen2.5-0.5b tinyllama-1.1b"
types="F16 Q8_0 Q4_0 Q4_K"
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --reps) reps="$2"; shift ;;
    --shapes) shapes="$2"; shift ;;
    --types) types="$2"; shift ;;
    *) echo "usage: bench/cpu_speed.sh [--models DIR] [--threads T] [--reps R] [--shapes S] [--types T]" >&2; exit 2 ;;
  esac
  shift
done
"$root/scripts/build.sh" --target tessera >/dev/null
bin="$root/build/src/tessera"
vocab_of() {
  case "$1" in
    qwen*) echo "$root/../shared/testdata/vocab/ggml-vocab-qwen2.gguf" ;;
    *) echo "$root/../shared/testdata/vocab/ggml-vocab-llama-spm.gguf" ;;
  esac
}
mkdir -p "$models"
"$bin" bench --bandwidth -t "$threads"
printf '| shape | type | file MiB | pp512 t/s (min-max) | tg128 t/s (min-max) | read bandwidth GB/s | tg share of it |\n'
printf '|---|---|---:|---:|---:|---:|---:|\n'
for shape in $shapes; do
  for type in $types; do
    file="$models/$shape-$type.gguf"
    if [ ! -f "$file" ]; then
      "$bin" model synth --shape "$shape" --type "$type" --fill pool --vocab "$(vocab_of "$shape")" \
        --out "$file" >/dev/null
    fi
    json="$("$bin" bench --model "$file" -p 512 -n 128 -t "$threads" -r "$reps" --json)"
    python3 - "$shape" "$type" "$json" <<'PY'
import json, sys
shape, typ, j = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
pp, tg = j["pp"], j["tg"]
frac = j.get("tg_bandwidth_fraction")
bw = j.get("bandwidth_gb_per_s")
print(f"| {shape} | {typ} | {j['model_bytes'] / 2**20:.0f} | {pp['tokens_per_s']:.1f} ({pp['min']:.1f}-{pp['max']:.1f}) "
      f"| {tg['tokens_per_s']:.1f} ({tg['min']:.1f}-{tg['max']:.1f}) | {'' if bw is None else f'{bw:.1f}'} "
      f"| {'' if frac is None else f'{100 * frac:.0f}%'} |")
PY
  done
done
