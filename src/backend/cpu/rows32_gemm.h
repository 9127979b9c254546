// Matmul kernels for F16 and BF16 weights in the rows32 arrangement (weight_repack.h), against
// f32 activations as they are. Lanes are weight rows: a column of a group (32 rows) is widened
// to f32 and multiplied by one activation value broadcast, so no horizontal sums are needed and
// a tile of rows x tokens is a plain outer product per column.
//
// Arithmetic contract (every ISA, tile shape, batch and thread split): for row r and token t,
//   acc = 0;  for k = 0 .. cols - 1:  acc = fma(w[r][k], x[t][k], acc)   (f32, one rounding)
//   y[t][r] = acc + bias[r]
// i.e. std::fma in column order; so the AVX2 and AVX-512 kernels give the same bits, and a
// token's output does not depend on the batch around it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/tensor_type.h"

namespace tessera::backend::cpu {

inline constexpr int64_t kRows32Group = 32;  // run's row ranges start at multiples of this

// y[t * ldy + r] = dot(row r, x[t]) (+ bias[r]) for rows [r_begin, r_end) (r_begin a multiple
// of 32) and tokens [t_begin, t_end). w: the whole weight in the rows32 arrangement; x:
// [n][cols] f32 with row stride cols. No allocation; thread-safe.
using Rows32GemmFn = void (*)(bool bf16, int64_t cols, const uint8_t* w, int64_t r_begin,
                              int64_t r_end, const float* x, int64_t t_begin, int64_t t_end,
                              const float* bias, float* y, size_t ldy);

// The kernel for this CPU (AVX-512 or AVX2), or null.
Rows32GemmFn find_rows32_gemm();

// Per-ISA kernels (rows32_avx2.cpp, rows32_avx512.cpp); called only on CPUs that have them.
void rows32_gemm_avx2(bool bf16, int64_t cols, const uint8_t* w, int64_t r_begin, int64_t r_end,
                      const float* x, int64_t t_begin, int64_t t_end, const float* bias, float* y,
                      size_t ldy);
void rows32_gemm_avx512(bool bf16, int64_t cols, const uint8_t* w, int64_t r_begin, int64_t r_end,
                        const float* x, int64_t t_begin, int64_t t_end, const float* bias, float* y,
                        size_t ldy);

}  // namespace tessera::backend::cpu
