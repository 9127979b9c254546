// exp(x) for 8 floats at once, for kernels compiled with AVX2 + FMA (include only from such
// files). Internal linkage on purpose: every including file gets its own copy compiled with
// its own flags, so the linker never merges a wider-ISA copy into an AVX2 caller.
//
// Accuracy: relative error below 2e-7 for x in [-86.5, 88.7] (x = n ln2 + r, |r| <= ln2/2,
// e^r by its degree-6 Taylor polynomial, 2^n through the exponent bits); exactly 0 for
// x < -86.5 (and -inf); inputs above 88.7 are clamped (the softmax callers never pass them).
// NaN inputs give unspecified results. Deterministic: each lane depends only on its input.
#pragma once

#include <immintrin.h>

namespace tessera::backend::cpu {

static inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-86.5f);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.7f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x - n ln2, with ln2 split in a part exact in f32 and the rest
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // 2^n: n in [-125, 128] here; n = 128 only at the clamp, where p < 1 keeps it finite
  // (p * 2^127 * 2), so build 2^(n-1) and double
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(126)), 23);
  p = _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), _mm256_set1_ps(2.0f));
  return _mm256_andnot_ps(underflow, p);
}

}  // namespace tessera::backend::cpu
