// K-quant dot kernel throughput (dot_kquant_avx2.cpp), one thread: GB/s of weight bytes
// processed for a rows x n weight (default 4096 x 4096, as one LLM projection) against Q8_K
// activations, per tile shape:
//   1x1  one row, one token per call (the kernel's bare loop)
//   4x1  four rows, one token (decode, as matmul calls it)
//   4x4  four rows, four tokens (prompt processing: each weight byte serves 4 tokens; the
//        "tok GB/s" column counts it once per token)
// Beside them, the scalar reference path: the reference dequantizer of a row (gguf::dequantize,
// value by value, written for clarity) then an f32 dot with one token.
//
// usage: dot_kquant_bench [--rows R] [--n N] [--reps K]    (not run by the tests or CI)
// Built with the project (target dot_kquant_bench, bench/CMakeLists.txt).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/quant_dot.h"
#include "gguf/tensor_type.h"
#include "util/half.h"
#include "util/random.h"

namespace {

using tessera::gguf::TensorType;
using Clock = std::chrono::steady_clock;

// Random block bytes with sane f16 scales (speed does not depend on the values; quantizing
// 16M floats with the reference quantizer would take longer than the benchmark).
std::vector<uint8_t> random_weight(TensorType type, int64_t rows, int64_t n) {
  const tessera::gguf::TensorTypeInfo* info = tessera::gguf::tensor_type_info(type);
  std::vector<uint8_t> bytes(*tessera::gguf::row_bytes(*info, n) * rows);
  tessera::SplitMix64 rng(42);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng.next());
  for (size_t off = 0; off < bytes.size(); off += info->block_bytes) {
    const size_t d_at = type == TensorType::Q6_K ? 208 : 0;
    tessera::store_f16(bytes.data() + off + d_at, 0.01f);
    if (type != TensorType::Q6_K) tessera::store_f16(bytes.data() + off + 2, 0.005f);
  }
  return bytes;
}

template <class Fn>
double best_seconds(int reps, Fn&& fn) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tessera::backend::cpu;
  int64_t rows = 4096, n = 4096;
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rows") {
      rows = std::atoll(argv[i + 1]);
    } else if (a == "--n") {
      n = std::atoll(argv[i + 1]);
    } else if (a == "--reps") {
      reps = std::atoi(argv[i + 1]);
    }
  }
  if (rows % 4 != 0 || n % 256 != 0 || rows <= 0 || n <= 0 || reps < 1) {
    std::fprintf(stderr, "usage: dot_kquant_bench [--rows R (x4)] [--n N (x256)] [--reps K]\n");
    return 2;
  }
  if (std::strcmp(tessera::backend::cpu::dot_kernels_isa(), "scalar") == 0) {
    std::fprintf(stderr, "CPU lacks AVX2/FMA/F16C\n");
    return 1;
  }

  constexpr int kTokens = 4;
  std::vector<float> xf(kTokens * n);
  tessera::SplitMix64 rng(7);
  for (auto& v : xf) v = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  const size_t xs =
      *tessera::gguf::row_bytes(*tessera::gguf::tensor_type_info(TensorType::Q8_K), n);
  std::vector<uint8_t> x(xs * kTokens);
  if (!tessera::gguf::quantize(TensorType::Q8_K, xf.data(), x.data(), kTokens * n).ok()) return 1;

  std::printf("rows %lld, n %lld, one thread, best of %d\n", static_cast<long long>(rows),
              static_cast<long long>(n), reps);
  std::printf("%-5s %10s %10s %10s %10s %14s\n", "type", "1x1 GB/s", "4x1 GB/s", "4x4 GB/s",
              "4x4 tok GB/s", "scalar GB/s");
  for (TensorType type : {TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
    const DotTileFn tile = find_kquant_tile_avx2(type);
    const tessera::gguf::TensorTypeInfo* info = tessera::gguf::tensor_type_info(type);
    const size_t ws = *tessera::gguf::row_bytes(*info, n);
    const std::vector<uint8_t> w = random_weight(type, rows, n);
    std::vector<float> out(rows * kTokens);
    const double gb = static_cast<double>(ws) * rows / 1e9;

    const double t11 = best_seconds(reps, [&] {
      for (int64_t r = 0; r < rows; ++r)
        tile(n, w.data() + r * ws, ws, x.data(), xs, 1, 1, &out[r], 1);
    });
    const double t41 = best_seconds(reps, [&] {
      for (int64_t r = 0; r < rows; r += 4)
        tile(n, w.data() + r * ws, ws, x.data(), xs, 4, 1, &out[r], 1);
    });
    const double t44 = best_seconds(reps, [&] {
      for (int64_t r = 0; r < rows; r += 4) {
        tile(n, w.data() + r * ws, ws, x.data(), xs, 4, kTokens, &out[r * kTokens], kTokens);
      }
    });
    std::vector<float> row(n);
    const double tref = best_seconds(1, [&] {
      for (int64_t r = 0; r < rows; ++r) {
        if (!tessera::gguf::dequantize(type, w.data() + r * ws, row.data(), n).ok()) std::abort();
        float s = 0.0f;
        for (int64_t i = 0; i < n; ++i) s += row[i] * xf[i];
        out[r] = s;
      }
    });
    std::printf("%-5s %10.2f %10.2f %10.2f %10.2f %14.2f\n", info->name, gb / t11, gb / t41,
                gb / t44, gb * kTokens / t44, gb / tref);
  }
  return 0;
}
