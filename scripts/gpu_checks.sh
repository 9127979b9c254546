#!/usr/bin/env bash
# Every check of the CUDA backend that needs a GPU, in one run on a machine with an NVIDIA GPU,
# its driver and the CUDA toolkit; results in one folder:
#   1. the build (scripts/build.sh; SKIP_BUILD=1 uses BUILD_DIR as it is);
#   2. tessera doctor and gpu ls (doctor.txt);
#   3. the tests labelled gpu, with TESSERA_REQUIRE_CUDA=1 so that a skip fails (gpu-tests.log):
#      every op against the CPU backend (shapes, batch sizes, weight and cache types, bad
#      indices, graph steps, batch invariance), the model goldens of the shared test data on the
#      GPU, 100 load/unload cycles giving back every byte, a model over the pool's limit
#      refused while another still runs, and the CUDA memory estimate against the backend's
#      account (every test model and a qwen2.5-0.5b-shaped one), whose table is written to
#      cuda-memory.txt by a second run of those tests alone;
#   4. benchmarks of synthesized models of the qwen2.5-0.5b and llama-3-8b shapes in F16, Q8_0
#      and Q4_K (bench-<shape>-<type>.json, summary.txt): prompt processing of 512 tokens and
#      generation of 128 at batch 1, against the device's copy bandwidth and cuBLAS BF16 peak.
# Usage: scripts/gpu_checks.sh [OUT_DIR]   (default gpu-checks). Models are written to
# MODELS_DIR (default OUT_DIR/models; up to 16 GB at a time) and deleted after their run.
# Exit status: 0 when every check passed.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-checks}
build=${BUILD_DIR:-build}
models=${MODELS_DIR:-$out/models}
mkdir -p "$out" "$models"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  scripts/build.sh || exit 1
fi
bin="$build/src/tessera"
# The shared test data: where the build was configured to find it, unless TESSERA_TESTDATA
# names a copy (the tests read that variable too).
testdata=${TESSERA_TESTDATA:-$(sed -n 's/^TESSERA_TESTDATA_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")}
failed=0

{ "$bin" doctor && "$bin" gpu ls; } > "$out/doctor.txt" 2>&1 || failed=1
cat "$out/doctor.txt"

TESSERA_REQUIRE_CUDA=1 ctest --test-dir "$build" -L gpu --output-on-failure -j 4 \
  > "$out/gpu-tests.log" 2>&1 || failed=1
tail -n 4 "$out/gpu-tests.log"

# The memory estimate's figures on this GPU (estimate vs the backend's account, per model,
# context and parallel sequences), for docs/model-info.md.
TESSERA_REQUIRE_CUDA=1 "$build/tests/llm/test_llm_cuda" --gtest_filter='CudaMemoryEstimate.*' \
  > "$out/cuda-memory.txt" 2>&1 || failed=1
grep -E '^(model |[A-Za-z0-9._-]+ .*%)' "$out/cuda-memory.txt"

for pair in qwen2.5-0.5b:qwen2-tiny llama-3-8b:llama-bpe-tiny; do
  shape=${pair%%:*}
  vocab="$testdata/models/${pair#*:}.gguf"  # the shape's real vocabulary (151936 / 128256)
  for type in F16 Q8_0 Q4_K; do
    model="$models/$shape-$type.gguf"
    if "$bin" model synth --shape "$shape" --type "$type" --fill pool --vocab "$vocab" \
      --out "$model" > /dev/null; then
      "$bin" bench -m "$model" --device cuda -p 512 -n 128 -r 5 --json \
        > "$out/bench-$shape-$type.json" || failed=1
    else
      failed=1
    fi
    rm -f "$model"
  done
done

python3 - "$out" > "$out/summary.txt" <<'PY'
import glob, json, os, sys
print(f"{'model':28} {'pp512 t/s':>10} {'TFLOP/s':>8} {'of peak':>8} {'tg128 t/s':>10} "
      f"{'GB/s':>8} {'of copy':>8}")
for path in sorted(glob.glob(os.path.join(sys.argv[1], "bench-*.json"))):
    try:
        r = json.load(open(path))
    except ValueError:
        print(os.path.basename(path), "no result")
        continue
    pp, tg = r.get("pp") or {}, r.get("tg") or {}
    gbs = r["tg_weight_bytes_per_token"] * tg.get("tokens_per_s", 0) / 1e9
    print(f"{os.path.basename(path)[6:-5]:28} {pp.get('tokens_per_s', 0):10.1f} "
          f"{r.get('pp_tflops') or 0:8.1f} {100 * (r.get('pp_tflops_fraction') or 0):7.1f}% "
          f"{tg.get('tokens_per_s', 0):10.1f} {gbs:8.1f} "
          f"{100 * (r.get('tg_bandwidth_fraction') or 0):7.1f}%")
if glob.glob(os.path.join(sys.argv[1], "bench-*.json")):
    r = json.load(open(sorted(glob.glob(os.path.join(sys.argv[1], "bench-*.json")))[0]))
    print(f"device {r.get('device')}: copy {r.get('gpu_copy_gb_per_s', 0):.0f} GB/s, "
          f"BF16 GEMM {r.get('gpu_bf16_tflops', 0):.0f} TFLOP/s")
PY
cat "$out/summary.txt"
[ "$failed" = 0 ] && echo "gpu checks: all passed" || echo "gpu checks: FAILED (see $out)"
exit "$failed"
