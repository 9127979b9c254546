#include "backend/cpu/elementwise.h"

#include <cmath>
#include <limits>

#include "backend/cpu/cpu_isa.h"

namespace tessera::backend::cpu {
namespace {

// Below this many values a pool's wake-up costs more than the work.
constexpr int64_t kMinChunk = 16384;

}  // namespace

float silu_f32(float x) {
  return x / (1.0f + std::exp(-x));
}

float gelu_f32(float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
  constexpr float kCoef = 0.044715f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoef * x * x)));
}

void add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void mul(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

void scale(const float* x, float s, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s;
}

void add_row(const float* a, const float* b, float* out, int64_t n_rows, int64_t n_cols) {
  for (int64_t r = 0; r < n_rows; ++r) add(a + r * n_cols, b, out + r * n_cols, n_cols);
}

void silu(const float* x, float* out, int64_t n, ThreadPool* pool) {
  parallel_for(
      pool, n,
      [&](int64_t begin, int64_t end) {
        if (cpu_isa() != Isa::scalar) {
          silu_avx2(x + begin, out + begin, end - begin);
          return;
        }
        for (int64_t i = begin; i < end; ++i) out[i] = silu_f32(x[i]);
      },
      kMinChunk);
}

void gelu(const float* x, float* out, int64_t n, ThreadPool* pool) {
  parallel_for(
      pool, n,
      [&](int64_t begin, int64_t end) {
        if (cpu_isa() != Isa::scalar) {
          gelu_avx2(x + begin, out + begin, end - begin);
          return;
        }
        for (int64_t i = begin; i < end; ++i) out[i] = gelu_f32(x[i]);
      },
      kMinChunk);
}

void swiglu(const float* gate, const float* up, float* out, int64_t n, ThreadPool* pool) {
  parallel_for(
      pool, n,
      [&](int64_t begin, int64_t end) {
        if (cpu_isa() != Isa::scalar) {
          swiglu_avx2(gate + begin, up + begin, out + begin, end - begin);
          return;
        }
        for (int64_t i = begin; i < end; ++i) out[i] = silu_f32(gate[i]) * up[i];
      },
      kMinChunk);
}

void softmax(const float* x, float* out, int64_t n_rows, int64_t n_cols, ThreadPool* pool) {
  parallel_for(pool, n_rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * n_cols;
      float* yr = out + r * n_cols;
      float max = -std::numeric_limits<float>::infinity();
      for (int64_t c = 0; c < n_cols; ++c) max = std::fmax(max, xr[c]);
      if (max == -std::numeric_limits<float>::infinity()) {
        for (int64_t c = 0; c < n_cols; ++c) yr[c] = 0.0f;
        continue;
      }
      double sum = 0.0;
      for (int64_t c = 0; c < n_cols; ++c) {
        const float e = std::exp(xr[c] - max);
        yr[c] = e;
        sum += e;
      }
      const auto inv = static_cast<float>(1.0 / sum);
      for (int64_t c = 0; c < n_cols; ++c) yr[c] *= inv;
    }
  });
}

}  // namespace tessera::backend::cpu
