// AVX-512 tiles for F16 and BF16 weights against F32 activations (quant_dot.h), used for
// batches on AVX-512 CPUs. One 16-lane accumulator per (row, token) takes 16 consecutive
// values per step: exactly the AVX2 kernel's pair of 8-lane accumulators (values k mod 16 < 8
// and >= 8, dot_avx2.cpp) side by side, reduced in the same order, with the same tail; so
// every output is bit-identical to the AVX2 kernel's, and decode (one token) keeps using that
// kernel's single-row stream. Tiles of 4 rows x 6 tokens: 24 accumulators of the 32 registers.
//
// Compiled with AVX-512 F/BW/VL (and the AVX2 flags) and called only when the CPU has them:
// this file must not instantiate standard-library templates. (The maskz_ forms with full masks
// stand for the plain intrinsics, which trip GCC 12's -Wmaybe-uninitialized.)
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backend/cpu/quant_dot.h"
#include "backend/cpu/wide_tail.h"

namespace tessera::backend::cpu {
namespace {

using gguf::TensorType;

constexpr int kRows = 4;
constexpr int kCols = 6;

template <Wide T>
inline __m512 load16(const uint8_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if constexpr (T == Wide::f16) {
    return _mm512_maskz_cvtph_ps(0xFFFF, h);
  } else {
    return _mm512_castsi512_ps(
        _mm512_maskz_slli_epi32(0xFFFF, _mm512_maskz_cvtepu16_epi32(0xFFFF, h), 16));
  }
}

// The AVX2 kernel's reduction of (acc0, acc1): hsum(acc0 + acc1).
inline float reduce(__m512 acc) {
  alignas(64) float lanes[16];  // (the 512-bit extracts trip GCC 12's warnings as well)
  _mm512_store_ps(lanes, acc);
  const __m256 v = _mm256_add_ps(_mm256_load_ps(lanes), _mm256_load_ps(lanes + 8));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <Wide T, int RM, int RN>
void tile16(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out,
            size_t ldo) {
  __m512 acc[RM][RN];
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    __m512 wv[RM];
    for (int i = 0; i < RM; ++i) wv[i] = load16<T>(w + i * ws + static_cast<size_t>(k) * 2);
    for (int j = 0; j < RN; ++j) {
      const __m512 xv = _mm512_loadu_ps(reinterpret_cast<const float*>(x + j * xs) + k);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
    }
  }
  for (int i = 0; i < RM; ++i) {
    for (int j = 0; j < RN; ++j) {
      const float* xr = reinterpret_cast<const float*>(x + j * xs);
      out[static_cast<size_t>(i) * ldo + j] = wide_tail<T>(w + i * ws, xr, k, n, reduce(acc[i][j]));
    }
  }
}

using TileFn = void (*)(int64_t, const uint8_t*, size_t, const uint8_t*, size_t, float*, size_t);

template <Wide T, int RM>
constexpr TileFn kRowFns[kCols] = {tile16<T, RM, 1>, tile16<T, RM, 2>, tile16<T, RM, 3>,
                                   tile16<T, RM, 4>, tile16<T, RM, 5>, tile16<T, RM, 6>};

template <Wide T>
constexpr const TileFn* kFns[kRows] = {kRowFns<T, 1>, kRowFns<T, 2>, kRowFns<T, 3>, kRowFns<T, 4>};

// The DotTileFn: one token takes the AVX2 kernel (decode), more take 4 x 6 tiles.
template <Wide T>
void tile_any(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, int rm, int rn,
              float* out, size_t ldo) {
  if (rn == 1) {
    static const DotTileFn one_token =
        find_dot_kernel_avx2(T == Wide::f16 ? TensorType::F16 : TensorType::BF16)->tile;
    one_token(n, w, ws, x, xs, rm, rn, out, ldo);
    return;
  }
  for (int i = 0; i < rm; i += kRows) {
    const int mr = rm - i < kRows ? rm - i : kRows;
    for (int j = 0; j < rn; j += kCols) {
      const int nr = rn - j < kCols ? rn - j : kCols;
      kFns<T>[mr - 1][nr - 1](n, w + i * ws, ws, x + j * xs, xs, out + i * ldo + j, ldo);
    }
  }
}

const DotKernel kF16{TensorType::F32, tile_any<Wide::f16>, "avx512", kRows, kCols};
const DotKernel kBF16{TensorType::F32, tile_any<Wide::bf16>, "avx512", kRows, kCols};

}  // namespace

const DotKernel* find_dot_kernel_avx512(TensorType type) {
  switch (type) {
    case TensorType::F16:
      return &kF16;
    case TensorType::BF16:
      return &kBF16;
    default:
      return nullptr;
  }
}

}  // namespace tessera::backend::cpu
