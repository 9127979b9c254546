// The decode matmul of the CUDA backend: y[t][r] = sum_c W[r][c] * x[t][c] (+ bias[r]) for a
// few tokens, weights read straight from their GGUF blocks (quant_matvec.cu).
//
// Weights: `rows` rows of `cols` values of one GGUF type (ids as in gguf::TensorType), each row
// a run of the type's blocks, rows back to back; the base pointer must be 2-byte aligned (4 for
// F32; any GGUF tensor is; rows themselves need not be 4- or 16-byte aligned). Supported types:
// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
//
// Arithmetic:
//   - F32 / F16 / BF16: f32 FMAs of the exact weight values with the f32 activations.
//   - quantized types: the activations are first quantized per 32 values to int8 codes with
//     an f32 scale (d = max|x| / 127, codes round(x / d)) into the caller's scratch buffer;
//     each 32-value piece of a row is then an integer dot product of codes (dp4a) times the
//     scales, accumulated in f32. So results differ from the CPU backend's by the activation
//     rounding (about the error of Q8_0 activations), not by weight decoding.
// Determinism: one output element is computed with the same operations in the same order
// whatever n (and whatever the other tokens are); the order depends on (type, rows, cols) and
// on nothing else. Inputs with NaN or Inf give NaN or Inf outputs, nothing worse.
//
// Plain C++17 (included by the g++-compiled backend); launchers only enqueue on `stream`: no
// synchronization, no allocation, no error check (the caller reads cudaGetLastError).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace tessera::cuda {

// Tokens one pass over the weights serves. launch_matvec takes any n >= 1 and makes
// ceil(n / kMatvecMaxTokens) passes; decode batches should stay within one.
inline constexpr int kMatvecMaxTokens = 8;

// Whether the CUDA kernels (matvec, dequantize, get_rows) handle weights of GGUF type `type`.
bool cuda_weight_type_supported(int type);

// Bytes of device scratch launch_matvec needs for n tokens of `cols` values with a quantized
// weight type (the int8 activation codes and their scales; 256-byte aligned pieces). The same
// figure for every quantized type; F32 / F16 / BF16 weights use no scratch (null is fine).
size_t matvec_scratch_bytes(int64_t n, int64_t cols);

// y[t * rows + r] = sum_c W[r][c] * x[t * cols + c] (+ bias[r] when bias is not null), for
// t < n, r < rows.
//   type: a supported GGUF type id; cols a multiple of its block size (32 or 256 for quantized
//         types, anything for F32 / F16 / BF16).
//   w: device weights (2-byte aligned, 4 for F32); x: device f32 [n][cols];
//   y: device f32 [n][rows], must not overlap x, bias or scratch; bias: device f32 [rows] or null.
//   scratch: device memory of at least matvec_scratch_bytes(n, cols) bytes, 16-byte aligned
//            (cudaMalloc's 256 is), for quantized types; its contents are overwritten. Not
//            read by anything but this launch's kernels, so it may be reused once the stream
//            has moved on.
// rows <= 0 or n <= 0 launches nothing. cols == 0 writes bias (or zeros).
void launch_matvec(cudaStream_t stream, int type, const void* w, int64_t rows, int64_t cols,
                   const float* x, int n, float* y, const float* bias, void* scratch);

}  // namespace tessera::cuda
