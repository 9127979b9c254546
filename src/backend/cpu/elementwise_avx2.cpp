// AVX2 + FMA forms of silu, gelu and swiglu (elementwise.h), with the vector exp of simd_exp.h. The
// last partial vector goes through the same arithmetic with masked loads and stores, so a
// value's result does not depend on where a thread's chunk starts.
//
// Compiled with -mavx2 -mfma -mf16c and called only when the CPU has them: this file must not
// instantiate standard-library templates.
#include <immintrin.h>

#include <cstdint>

#include "backend/cpu/elementwise.h"
#include "backend/cpu/simd_exp.h"

namespace tessera::backend::cpu {
namespace {

inline __m256 silu8(__m256 x) {
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// gelu's tanh form as x * sigmoid(2z), z = sqrt(2/pi) (x + 0.044715 x^3): 0.5 x (1 + tanh z)
// without the cancellation of 1 + tanh z for negative x.
inline __m256 gelu8(__m256 x) {
  const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
  const __m256 z = _mm256_mul_ps(_mm256_set1_ps(0.79788456080286535587989211986876f),
                                 _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
  const __m256 e = exp8(_mm256_mul_ps(_mm256_set1_ps(-2.0f), z));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

inline __m256i tail_mask(int64_t left) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left)), lanes);
}

}  // namespace

void silu_avx2(const float* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, silu8(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(out + i, m, silu8(_mm256_maskload_ps(x + i, m)));
  }
}

void gelu_avx2(const float* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, gelu8(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(out + i, m, gelu8(_mm256_maskload_ps(x + i, m)));
  }
}

void swiglu_avx2(const float* gate, const float* up, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i,
                     _mm256_mul_ps(silu8(_mm256_loadu_ps(gate + i)), _mm256_loadu_ps(up + i)));
  }
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    const __m256 g = silu8(_mm256_maskload_ps(gate + i, m));
    _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(g, _mm256_maskload_ps(up + i, m)));
  }
}

}  // namespace tessera::backend::cpu
