// Row copies by index on the GPU: gather_rows and the K/V cache store (the CUDA forms of the
// CPU backend's gather_rows and backend/cpu/kv_rows.h kv_store, the same bytes out). Every
// launcher only enqueues work on `stream` (no sync, no allocation, no error check: the caller
// checks cudaGetLastError); n == 0 or an empty row launches nothing. Pointers are device
// memory. The index arrays are device int32 written by the host and not trusted: a kernel
// never follows an index outside its range; it skips that row (leaving its destination as it
// was) and ORs the flag of device_errors.h into *err (err may be null: no report).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "backend/cuda/kv_types.h"

namespace tessera::cuda {

// out[i] = src[rows[i]] for i < n: src f32 [src_rows][cols], out f32 [n][cols], rows n int32.
// An index outside [0, src_rows) sets kErrRowIndex. out must not overlap src (the caller
// ensures it; the CPU's memmove allows it, these copies run in parallel).
void launch_gather_rows(cudaStream_t stream, const float* src, int64_t src_rows, int64_t cols,
                        const int32_t* rows, int64_t n, float* out, unsigned* err);

// kv_type: kv_types.h (kKvF16, kKvF32, kKvQ8_0).

// Stores rows f32 [n][row_len] into cells cells[i] (n int32) of `cache`, n_cells rows of
// 2 * row_len (f16), 4 * row_len (f32) or row_len / 32 * 34 (q8_0; row_len a multiple of 32,
// a rest is ignored) bytes. Q8_0 blocks get the CPU quantizer's bytes: d = amax / 127 stored as
// f16, q = roundf(x * (1 / d)) (half away from zero, the unrounded d; 0 where d is 0 or the
// product is NaN), clamped to [-128, 127]. A cell outside [0, n_cells) sets kErrCellIndex.
// Cells should be distinct (two rows to one cell leave it unspecified). An unknown kv_type launches
// nothing.
void launch_kv_store(cudaStream_t stream, int kv_type, const float* rows, int64_t n,
                     int64_t row_len, const int32_t* cells, int64_t n_cells, void* cache,
                     unsigned* err);

}  // namespace tessera::cuda
