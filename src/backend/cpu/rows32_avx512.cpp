// AVX-512 kernel for F16 / BF16 weights in the rows32 arrangement (rows32_gemm.h): tiles of
// two groups (64 rows: 4 vectors of 16 rows) x up to 6 tokens, 24 accumulators; decode takes
// the same tiles with one token, so each group pair is read as two streams, four independent
// chains deep.
//
// Compiled with AVX-512 F/BW/VL (and the AVX2 flags) and called only when the CPU has them:
// this file must not instantiate standard-library templates. (maskz_ forms with full masks
// stand for the plain intrinsics, which trip GCC 12's -Wmaybe-uninitialized.)
#include <immintrin.h>

#include <cstdint>

#include "backend/cpu/rows32_gemm.h"

namespace tessera::backend::cpu {
namespace {

constexpr int kMaxTokens = 6;

template <bool BF16>
inline __m512 widen16(const uint8_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if constexpr (BF16) {
    return _mm512_castsi512_ps(
        _mm512_maskz_slli_epi32(0xFFFF, _mm512_maskz_cvtepu16_epi32(0xFFFF, h), 16));
  } else {
    return _mm512_maskz_cvtph_ps(0xFFFF, h);
  }
}

// Rows [r0, r0 + 32 * NG) (group pointer w, groups gs bytes apart) x tokens [0, NT) of x.
template <bool BF16, int NG, int NT>
void tile(int64_t cols, const uint8_t* w, size_t gs, const float* x, int64_t r0, int64_t r_end,
          const float* bias, float* y, size_t ldy) {
  constexpr int kVecs = 2 * NG;
  __m512 acc[kVecs][NT];
  for (int v = 0; v < kVecs; ++v) {
    for (int t = 0; t < NT; ++t) acc[v][t] = _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < cols; ++k) {
    __m512 wv[kVecs];
    for (int v = 0; v < kVecs; ++v) {
      wv[v] = widen16<BF16>(w + static_cast<size_t>(v / 2) * gs + static_cast<size_t>(k) * 64 +
                            32 * (v % 2));
    }
    for (int t = 0; t < NT; ++t) {
      const __m512 xb = _mm512_set1_ps(x[t * cols + k]);
      for (int v = 0; v < kVecs; ++v) acc[v][t] = _mm512_fmadd_ps(wv[v], xb, acc[v][t]);
    }
  }
  for (int v = 0; v < kVecs; ++v) {
    const int64_t r = r0 + 16 * v;
    if (r >= r_end) break;
    const auto mask = static_cast<__mmask16>(r_end - r >= 16 ? 0xFFFFu : (1u << (r_end - r)) - 1u);
    const __m512 b = bias != nullptr ? _mm512_maskz_loadu_ps(mask, bias + r) : _mm512_setzero_ps();
    for (int t = 0; t < NT; ++t) {
      const __m512 out = bias != nullptr ? _mm512_add_ps(acc[v][t], b) : acc[v][t];
      _mm512_mask_storeu_ps(y + t * ldy + r, mask, out);
    }
  }
}

using TileFn = void (*)(int64_t, const uint8_t*, size_t, const float*, int64_t, int64_t,
                        const float*, float*, size_t);

template <bool BF16, int NG>
constexpr TileFn kTiles[kMaxTokens] = {tile<BF16, NG, 1>, tile<BF16, NG, 2>, tile<BF16, NG, 3>,
                                       tile<BF16, NG, 4>, tile<BF16, NG, 5>, tile<BF16, NG, 6>};

template <bool BF16>
void run(int64_t cols, const uint8_t* w, int64_t r_begin, int64_t r_end, const float* x,
         int64_t t_begin, int64_t t_end, const float* bias, float* y, size_t ldy) {
  const size_t gs = static_cast<size_t>(cols) * 64;
  for (int64_t r0 = r_begin; r0 < r_end; r0 += 64) {
    const uint8_t* wg = w + static_cast<size_t>(r0 / 32) * gs;
    const bool pair = r_end - r0 > 32;
    for (int64_t t = t_begin; t < t_end; t += kMaxTokens) {
      const int nt = static_cast<int>(t_end - t < kMaxTokens ? t_end - t : kMaxTokens);
      const TileFn fn = pair ? kTiles<BF16, 2>[nt - 1] : kTiles<BF16, 1>[nt - 1];
      fn(cols, wg, gs, x + t * cols, r0, r_end, bias, y + t * ldy, ldy);
    }
  }
}

}  // namespace

void rows32_gemm_avx512(bool bf16, int64_t cols, const uint8_t* w, int64_t r_begin, int64_t r_end,
                        const float* x, int64_t t_begin, int64_t t_end, const float* bias, float* y,
                        size_t ldy) {
  if (bf16) {
    run<true>(cols, w, r_begin, r_end, x, t_begin, t_end, bias, y, ldy);
  } else {
    run<false>(cols, w, r_begin, r_end, x, t_begin, t_end, bias, y, ldy);
  }
}

}  // namespace tessera::backend::cpu
