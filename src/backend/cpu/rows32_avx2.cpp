// AVX2 + FMA + F16C kernel for F16 / BF16 weights in the rows32 arrangement (rows32_gemm.h):
// batches take tiles of 16 rows (2 vectors) x up to 6 tokens, 12 accumulators; one or two
// tokens take whole groups (4 vectors), four independent chains per token.
//
// Compiled with -mavx2 -mfma -mf16c and called only when the CPU has them: this file must not
// instantiate standard-library templates.
#include <immintrin.h>

#include <cstdint>

#include "backend/cpu/rows32_gemm.h"

namespace tessera::backend::cpu {
namespace {

constexpr int kMaxTokens = 6;

template <bool BF16>
inline __m256 widen8(const uint8_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (BF16) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    return _mm256_cvtph_ps(h);
  }
}

// Rows [r0, r0 + 8 * NV) of one group (w: the group, plus 16 * first vector bytes) x tokens
// [0, NT) of x.
template <bool BF16, int NV, int NT>
void tile(int64_t cols, const uint8_t* w, const float* x, int64_t r0, int64_t r_end,
          const float* bias, float* y, size_t ldy) {
  __m256 acc[NV][NT];
  for (int v = 0; v < NV; ++v) {
    for (int t = 0; t < NT; ++t) acc[v][t] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < cols; ++k) {
    __m256 wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = widen8<BF16>(w + static_cast<size_t>(k) * 64 + 16 * v);
    for (int t = 0; t < NT; ++t) {
      const __m256 xb = _mm256_broadcast_ss(x + t * cols + k);
      for (int v = 0; v < NV; ++v) acc[v][t] = _mm256_fmadd_ps(wv[v], xb, acc[v][t]);
    }
  }
  alignas(32) float lanes[8];
  for (int v = 0; v < NV; ++v) {
    const int64_t r = r0 + 8 * v;
    if (r >= r_end) break;
    const int n = static_cast<int>(r_end - r < 8 ? r_end - r : 8);
    for (int t = 0; t < NT; ++t) {
      float* yt = y + t * ldy + r;
      if (n == 8) {
        __m256 out = acc[v][t];
        if (bias != nullptr) out = _mm256_add_ps(out, _mm256_loadu_ps(bias + r));
        _mm256_storeu_ps(yt, out);
        continue;
      }
      _mm256_store_ps(lanes, acc[v][t]);
      for (int i = 0; i < n; ++i) yt[i] = bias != nullptr ? lanes[i] + bias[r + i] : lanes[i];
    }
  }
}

using TileFn = void (*)(int64_t, const uint8_t*, const float*, int64_t, int64_t, const float*,
                        float*, size_t);

template <bool BF16>
constexpr TileFn kHalfTiles[kMaxTokens] = {tile<BF16, 2, 1>, tile<BF16, 2, 2>, tile<BF16, 2, 3>,
                                           tile<BF16, 2, 4>, tile<BF16, 2, 5>, tile<BF16, 2, 6>};

template <bool BF16>
void run(int64_t cols, const uint8_t* w, int64_t r_begin, int64_t r_end, const float* x,
         int64_t t_begin, int64_t t_end, const float* bias, float* y, size_t ldy) {
  const size_t gs = static_cast<size_t>(cols) * 64;
  for (int64_t r0 = r_begin; r0 < r_end; r0 += 32) {
    const uint8_t* wg = w + static_cast<size_t>(r0 / 32) * gs;
    if (t_end - t_begin <= 2) {  // decode: a whole group per token, one stream
      for (int64_t t = t_begin; t < t_end; ++t) {
        tile<BF16, 4, 1>(cols, wg, x + t * cols, r0, r_end, bias, y + t * ldy, ldy);
      }
      continue;
    }
    for (int half = 0; half < 2 && r0 + 16 * half < r_end; ++half) {
      for (int64_t t = t_begin; t < t_end; t += kMaxTokens) {
        const int nt = static_cast<int>(t_end - t < kMaxTokens ? t_end - t : kMaxTokens);
        kHalfTiles<BF16>[nt - 1](cols, wg + 32 * half, x + t * cols, r0 + 16 * half, r_end, bias,
                                 y + t * ldy, ldy);
      }
    }
  }
}

}  // namespace

void rows32_gemm_avx2(bool bf16, int64_t cols, const uint8_t* w, int64_t r_begin, int64_t r_end,
                      const float* x, int64_t t_begin, int64_t t_end, const float* bias, float* y,
                      size_t ldy) {
  if (bf16) {
    run<true>(cols, w, r_begin, r_end, x, t_begin, t_end, bias, y, ldy);
  } else {
    run<false>(cols, w, r_begin, r_end, x, t_begin, t_end, bias, y, ldy);
  }
}

}  // namespace tessera::backend::cpu
