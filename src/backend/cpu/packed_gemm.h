// Integer matmul kernels with their own activation layout: Q8_0, Q4_0, Q5_0 (below) and Q4_K
// (dot_vnni_q4k.cpp) weights in the rows8 arrangement (weight_repack.h) on CPUs with AVX-512 VNNI
// (dot_vnni.cpp). matmul.cpp uses them for rows8 weights (the CPU backend's prepare_weight makes
// them where these exist).
//
// Activations are quantized per block of 32 values to int8 codes with an f32 scale
// (xs = max|x| / 127, codes round-to-nearest-even(x * 127 / max|x|)) and the block's code sum,
// then packed in one of two layouts, chosen by the number of tokens:
//   - plain (fewer than 8 tokens): per token, its codes, then its scales, then its negated sums;
//     a kernel computes 8 weight rows per vector (lanes = rows) against one token at a time;
//   - interleaved (8 tokens or more): per group of 8 tokens and per block, the codes of the 8
//     tokens interleaved in 4-byte steps, then 8 scales, then 8 negated sums; a kernel
//     broadcasts 4 weight codes against the group (lanes = tokens).
// Weight codes are read as unsigned (Q8_0 code + 128, Q4_0 / Q5_0 codes as stored) and the
// offset is taken back with the activation sum, so each block's integer dot product is exact.
//
// Arithmetic contract (the same in both layouts, every tile shape and every thread split): for
// weight row r and token t,
//   acc = 0;  for each block b in order:
//     acc = fma(float(sum_k w_code[k] * x_code[k]), ws[b] * xs[b], acc)   (f32, one rounding)
//   y[t][r] = acc + bias[r]
// so a token's output does not depend on the batch around it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/tensor_type.h"

namespace tessera::backend::cpu {

inline constexpr int64_t kPackedRowGroup = 8;  // run's row ranges start at multiples of this

struct PackedGemm {
  // Bytes of the packed activations of n_tokens rows of `cols` values (a multiple of 32).
  size_t (*packed_bytes)(int64_t n_tokens, int64_t cols) = nullptr;
  // Packing units for n_tokens (tokens, or groups of 8 tokens); pack() writes units
  // [u_begin, u_end) of x ([n_tokens][cols] f32) into `packed`. Units are independent.
  int64_t (*pack_units)(int64_t n_tokens) = nullptr;
  void (*pack)(const float* x, int64_t cols, int64_t n_tokens, int64_t u_begin, int64_t u_end,
               uint8_t* packed) = nullptr;
  // Tokens per step of run's token ranges (8 in the interleaved layout, else n_tokens).
  int64_t (*token_step)(int64_t n_tokens) = nullptr;
  // y[t * ldy + r] = dot(weight row r, token t) + (bias ? bias[r] : 0) for rows [r_begin, r_end)
  // (r_begin a multiple of kPackedRowGroup) and tokens [t_begin, t_end) (t_begin a multiple of
  // token_step). w: the weights in the rows8 arrangement (weight_repack.h). No allocation;
  // thread-safe.
  void (*run)(int64_t cols, const uint8_t* w, int64_t r_begin, int64_t r_end, const uint8_t* packed,
              int64_t n_tokens, int64_t t_begin, int64_t t_end, const float* bias, float* y,
              size_t ldy) = nullptr;
};

// The packed kernel for weights of `type` on this CPU, or null.
const PackedGemm* find_packed_gemm(gguf::TensorType type);

// Per-ISA table (dot_vnni.cpp); called only when the CPU has AVX-512 F/BW/VL/VNNI.
const PackedGemm* find_packed_gemm_vnni(gguf::TensorType type);
// Q4_K (dot_vnni_q4k.cpp): its own activation layout (Q8_K codes, per-token rows) and
// contract, described there.
const PackedGemm* packed_gemm_q4_k_vnni();

}  // namespace tessera::backend::cpu
