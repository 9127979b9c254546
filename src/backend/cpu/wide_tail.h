// The scalar end of an F16 / BF16 dot product shared by the AVX2 and AVX-512 kernels
// (dot_avx2.cpp, dot_avx512.cpp), which must give the same bits: the values left after the
// last whole vector step, one fused multiply-add each. Include only from files compiled with
// F16C; internal linkage on purpose (each file keeps its own copy, built with its own flags).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace tessera::backend::cpu {

enum class Wide { f16, bf16 };

template <Wide T>
static inline float widen1(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  if constexpr (T == Wide::f16) {
    return _cvtsh_ss(h);
  } else {
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
}

// s + w[t] * x[t] for t in [k, n), in order, each step one rounding.
template <Wide T>
static inline float wide_tail(const uint8_t* w, const float* x, int64_t k, int64_t n, float s) {
  for (int64_t t = k; t < n; ++t) {
    s = _mm_cvtss_f32(
        _mm_fmadd_ss(_mm_set_ss(widen1<T>(w + t * 2)), _mm_set_ss(x[t]), _mm_set_ss(s)));
  }
  return s;
}

}  // namespace tessera::backend::cpu
