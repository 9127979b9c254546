// Fast dot products of weight rows with activation rows, the inner loop of matmul.
//
// Each weight type with a fast path has an activation format (ggml's "vec_dot_type"): the
// activations of a matmul are converted to it once per call, then every (weight row, token)
// pair is one dot product of a weight row in its GGUF blocks with an activation row in that
// format:
//   Q4_0, Q5_0, Q8_0 weights   -> Q8_0 activations (32 int8 codes + f16 scale per block)
//   Q2_K .. Q6_K weights       -> Q8_K activations (256 int8 codes, f32 scale, 16 int16 sums)
//   F16, BF16 weights          -> F32 activations (weights widened in registers)
// Integer products of the codes are summed exactly in int32; each block contributes one f32
// multiply-add with its scales.
//
// Tiles: a kernel computes an rm x rn tile (any rm, rn >= 1; matmul asks for its tile_rows x
// tile_cols) of dot products,
//   out[i * ldo + j] = dot(w + i * w_stride, x + j * x_stride),   i < rm, j < rn,
// so a weight block loaded once serves rn tokens (prompt processing). Contract every kernel
// keeps: an output element is computed with the same arithmetic, in the same order, whatever
// rm, rn and the element's place in the tile; so results do not depend on the batch around a
// token or on how threads split the rows (the runtime tests this bit for bit).
//
// Kernels are selected once, at first use, by the CPU's features (AVX-512 VNNI, AVX2+FMA+F16C;
// none on other CPUs: matmul then uses the scalar reference path of matmul.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/tensor_type.h"

namespace tessera::backend::cpu {

inline constexpr int kMaxTile = 4;       // default tile, and the K-quant kernels' token group
inline constexpr int kMaxTileArea = 32;  // tile_rows * tile_cols of any kernel

// n: values per row (a multiple of the weight type's block size). w, x: first rows;
// strides in bytes. No allocation; thread-safe.
using DotTileFn = void (*)(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* x,
                           size_t x_stride, int rm, int rn, float* out, size_t ldo);

struct DotKernel {
  gguf::TensorType act_type = gguf::TensorType::F32;  // format x rows are in
  DotTileFn tile = nullptr;
  const char* isa = "";      // "avx512", "avx2", for logs and benchmarks
  int tile_rows = kMaxTile;  // the tile matmul asks for (rm, rn at most these)
  int tile_cols = kMaxTile;
};

// The fast kernel for weights of `type` on this CPU, or null (no fast path).
const DotKernel* find_dot_kernel(gguf::TensorType type);

// Name of the instruction set the kernels were selected for ("avx512vnni", "avx2", "scalar").
const char* dot_kernels_isa();

// Converts n_rows activation rows of `cols` f32 values ([n_rows][cols]) into `act_type` rows
// (act_row_bytes(act_type, cols) bytes each) at `out`; F32 is not converted (do not call).
// Deterministic per row. Threads split the rows.
size_t act_row_bytes(gguf::TensorType act_type, int64_t cols);
void convert_activations(gguf::TensorType act_type, const float* x, int64_t n_rows, int64_t cols,
                         uint8_t* out, class ThreadPool* pool);

// Per-ISA tables (dot_avx2.cpp, ...): the kernel of `type`, or null. Called once, when
// find_dot_kernel builds its table; only for the ISA the CPU supports.
const DotKernel* find_dot_kernel_avx2(gguf::TensorType type);
void quantize_row_q8_0_avx2(const float* x, uint8_t* out, int64_t n);
// Q8_K activation rows (dot_kquant_avx2.cpp), byte for byte gguf::kernels::quantize_q8_k's.
void quantize_row_q8_k_avx2(const float* x, uint8_t* out, int64_t n);
// AVX-512 tiles of F16 / BF16 (dot_avx512.cpp), bit-identical to the AVX2 kernel's outputs;
// null for other types.
const DotKernel* find_dot_kernel_avx512(gguf::TensorType type);
// K-quant kernels (dot_kquant_avx2.cpp): Q4_K, Q5_K, Q6_K against Q8_K; null for others.
DotTileFn find_kquant_tile_avx2(gguf::TensorType type);

}  // namespace tessera::backend::cpu
