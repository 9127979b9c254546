#!/usr/bin/env bash
# Tokenizer throughput (MB/s, one thread) on 1 MB of mixed English/Chinese/code text for the
# llama-bpe, qwen2 and llama-spm vocabularies (and the others with --all).
# Usage: bench/tokenize.sh [--all] [--reps R]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
vocab="$root/../shared/testdata/vocab"
names=(llama-bpe qwen2 llama-spm)
reps=5
while [ $# -gt 0 ]; do
  case "$1" in
    --all) names=(llama-bpe qwen2 llama-spm phi-3 gpt-2 deepseek-llm deepseek-coder falcon starcoder bert-bge) ;;
    --reps) reps="$2"; shift ;;
    *) echo "usage: bench/tokenize.sh [--all] [--reps R]" >&2; exit 2 ;;
  esac
  shift
done
"$root/scripts/build.sh" --target tokenize_bench >/dev/null
files=()
for n in "${names[@]}"; do files+=("$vocab/ggml-vocab-$n.gguf"); done
"$root/build/bench/tokenize_bench" --mb 1 --reps "$reps" "${files[@]}"
