// Weight rows to plain floats on the GPU (dequant.cu): whole rows for the prefill GEMM, looked-up
// rows for embeddings, and f32 activations to f16 / bf16.
//
// Weights are `cols` values per row of one GGUF type (ids as in gguf::TensorType, see
// cuda_weight_type_supported in quant_matvec.h), each row a run of the type's blocks, rows back
// to back, base pointer 2-byte aligned (4 for F32); cols a multiple of the type's block size. Every
// value is the CPU reference dequantizer's f32 value bit for bit (gguf/quant_*.cpp), then rounded
// to the output type to nearest even where that is narrower: F16 weights to f16 and BF16 weights to
// bf16 are exact copies.
//
// Plain C++17 (included by the g++-compiled backend); launchers only enqueue on `stream`: no
// synchronization, no allocation, no error check (the caller reads cudaGetLastError). Outputs
// need only their element's alignment (16-byte aligned ones get 16-byte stores). Empty shapes
// launch nothing.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace tessera::cuda {

// out[i][c] (IEEE half bits, [n_rows][cols]) = row first_row + i of the weight w, for the
// cuBLAS GEMM of prompt processing. f16 overflows to inf for values beyond 65504 (only F32 or
// BF16 weights can hold such values).
void launch_dequantize_rows(cudaStream_t stream, int type, const void* w, int64_t first_row,
                            int64_t n_rows, int64_t cols, void* out_f16);

// The same into bfloat16 bits: BF16 weights stay exact (use this for them, with bf16
// activations); other types are rounded from f32 to bf16.
void launch_dequantize_rows_bf16(cudaStream_t stream, int type, const void* w, int64_t first_row,
                                 int64_t n_rows, int64_t cols, void* out_bf16);

// out[i] = x[i] rounded to nearest even, for i < n: IEEE half bits (inf beyond the range), or
// bfloat16 bits (NaN stays a quiet NaN), both as util/half.h rounds.
void launch_f32_to_f16(cudaStream_t stream, const float* x, int64_t n, void* out);
void launch_f32_to_bf16(cudaStream_t stream, const float* x, int64_t n, void* out);

// out[i][c] (f32, [n][cols]) = row ids[i] of the table (table_rows rows), for i < n. ids are
// device int32 values the host wrote and are not trusted: for an id outside [0, table_rows) the
// row out[i] is left as it was and kErrTokenId (device_errors.h) is ORed into *err (device).
void launch_get_rows(cudaStream_t stream, int type, const void* table, int64_t table_rows,
                     int64_t cols, const int32_t* ids, int64_t n, float* out, unsigned* err);

}  // namespace tessera::cuda
