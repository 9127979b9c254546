// Causal multi-head attention with grouped-query attention (GQA) over a K/V cache, on the
// GPU: the CUDA counterpart of backend/cpu/attention.h, with the same cell model
// (Stream::attention in backend/backend.h). Plain C++17, no device code: included by the
// backend (g++) and by attention.cu (nvcc).
//
// Shapes (all pointers are device memory):
//   q, out:   f32 [n][n_heads][head_dim], contiguous; out must not overlap q.
//   queries:  int32 [n][4] = {seq, pos, cell_begin, cell_end} (backend::AttentionQuery).
//   k, v:     [n_cells][n_kv_heads][head_dim] of kv_type: f16 (IEEE half), f32, or q8_0
//             (blocks of 32 values: f16 scale d, then 32 int8 codes q; value d * q;
//             head_dim a multiple of 32).
//   cell_seq, cell_pos: int32 [n_cells]; cell_seq < 0 marks an empty cell.
// Query token t, head h (kv head h / (n_heads / n_kv_heads)) attends to the cells c in
// [cell_begin, cell_end) with cell_seq[c] == seq and cell_pos[c] <= pos: out = softmax over
// those cells of scale * q . K[c] (scale 0 means 1 / sqrt(head_dim)), weighting V[c]. A query
// that sees no cell gets zeros. The windows are device data and not trusted: a window with
// cell_begin < 0, cell_begin > cell_end or cell_end > n_cells is not read, the query's output
// is zeros and the kernel ORs kErrQueryWindow (device_errors.h) into *err.
//
// Arithmetic: f32 throughout, exponentials with exp2f on scores pre-scaled by log2(e). A
// query's result is the same bits whatever the rest of the batch (its neighbours, the batch
// size, whether the launch split the cells across blocks): cells are taken in fixed tiles and
// segments of absolute cell indices that depend only on n_cells. V rows of the cache must be
// finite (a cell some query of a block sees but another does not is added with weight 0).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "backend/cuda/kv_types.h"

namespace tessera::cuda {

// kv_type values: kv_types.h.

// The largest head_dim launch_attention takes.
inline constexpr int kAttentionMaxHeadDim = 256;

// Bytes of device scratch launch_attention needs for these sizes: at least 256 (never 0, so
// an allocator's null stays an error), at most 32 MiB (split partials for short batches over
// long caches). Non-decreasing in n and n_cells: a buffer sized for the largest batch and
// cache serves every smaller call.
size_t attention_scratch_bytes(int64_t n, int n_heads, int head_dim, int64_t n_cells);

// Enqueues the attention of n query tokens on stream s (see above): one kernel, or two when
// the cells are split across blocks; no synchronization, no allocation, no error check (the
// caller calls cudaGetLastError). n == 0 launches nothing. The grids depend only on n,
// n_cells, the head counts and head_dim, never on device data, so a captured launch can be
// replayed with new queries. k and v 16-byte aligned (with head_dim % 32 == 0) take the
// vector loads.
// Preconditions, the caller's to check (a launch that breaks the first line does nothing):
// 0 < head_dim <= kAttentionMaxHeadDim, 0 < n_kv_heads <= n_heads, n_heads % n_kv_heads == 0;
// n_heads < 65536; kv_type one of the three above, for q8_0 head_dim % 32 == 0;
// 0 <= n_cells <= INT32_MAX; scratch of attention_scratch_bytes(n, n_heads, head_dim,
// n_cells) bytes; err the stream's device error word (or null: no report).
void launch_attention(cudaStream_t s, const float* q, int64_t n, const int32_t* queries,
                      int kv_type, const void* k, const void* v, const int32_t* cell_seq,
                      const int32_t* cell_pos, int64_t n_cells, int n_heads, int n_kv_heads,
                      int head_dim, float scale, float* out, void* scratch, unsigned* err);

}  // namespace tessera::cuda
