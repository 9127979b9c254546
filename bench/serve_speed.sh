#!/usr/bin/env bash
# Serving speed (#10): synthesizes a qwen2.5-0.5b-shaped Q8_0 model (random weights), measures
# its single-stream generation with `tessera bench`, then serves it with 16 sequence slots and
# drives it with bench/serve_load: aggregate generation tokens/s at 1, 4 and 16 concurrent
# streams, then one-token non-streamed requests, whose server time minus engine time (the
# server's log: latency_ms - engine_ms) is the HTTP overhead, reported at the median.
# Usage: bench/serve_speed.sh [--models DIR] [--threads T] [--max-tokens N] [--requests N]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
models="${TMPDIR:-/tmp}/tessera-bench-models"
threads=2
max_tokens=64
requests=2
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --max-tokens) max_tokens="$2"; shift ;;
    --requests) requests="$2"; shift ;;
    *) echo "usage: bench/serve_speed.sh [--models DIR] [--threads T] [--max-tokens N] [--requests N]" >&2; exit 2 ;;
  esac
  shift
done
# TESSERA_BUILD_DIR: an existing build folder to use instead of build/.
build="${TESSERA_BUILD_DIR:-}"
if [ -z "$build" ]; then
  "$root/scripts/build.sh" --target tessera serve_load >/dev/null
  build="$root/build"
else
  cmake --build "$build" --target tessera serve_load >/dev/null
fi
bin="$build/src/tessera"
load="$build/bench/serve_load"
mkdir -p "$models"
file="$models/qwen2.5-0.5b-Q8_0.gguf"
if [ ! -f "$file" ]; then
  "$bin" model synth --shape qwen2.5-0.5b --type Q8_0 --fill pool \
    --vocab "$root/../shared/testdata/vocab/ggml-vocab-qwen2.gguf" --out "$file" >/dev/null
fi

echo "## single stream, tessera bench (-p 64 -n $max_tokens, $threads threads)"
"$bin" bench -m "$file" -p 64 -n "$max_tokens" -r 3 -t "$threads"

work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/sched.yaml" <<EOF
context: 1024
parallel: 16
EOF
"$bin" serve --port 0 --data "$work/data" --config "$work/sched.yaml" --model "q=$file" \
  --threads 64 2>"$work/log" &
server=$!
port=""
for _ in $(seq 1 100); do
  port="$(sed -n 's/.*serving on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/log")"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/log" >&2; exit 1; }
echo
echo "## tessera serve, streamed chat completions of $max_tokens tokens ($requests per stream)"
"$load" --port "$port" --model q --streams 1,4,16 --requests-per-stream "$requests" \
  --max-tokens "$max_tokens" --overhead-requests 50
# The server's own time per one-token non-streamed request: the last 50 log lines' latency
# minus engine time.
python3 - "$work/log" <<'PY'
import json, statistics, sys
lines = []
for l in open(sys.argv[1]):
    try:
        j = json.loads(l)
    except ValueError:
        continue
    if j.get("route") == "/v1/chat/completions" and j.get("completion_tokens") == 1:
        lines.append(j)
lines = lines[-50:]
over = sorted(j["latency_ms"] - j["engine_ms"] for j in lines)
eng = sorted(j["engine_ms"] for j in lines)
print(f"server side, {len(lines)} requests: latency - engine median {statistics.median(over):.3f} ms"
      f" (p90 {over[int(len(over) * 0.9)]:.3f} ms); engine median {statistics.median(eng):.2f} ms")
PY
