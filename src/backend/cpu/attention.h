// Causal multi-head attention of a batch of query tokens over a K/V cache shared by several
// sequences (continuous batching), with grouped-query attention (GQA).
//
// The cache is a set of cells (kv_rows.h: [n_cells][n_kv_heads][head_dim] for K and for V);
// each cell holds one token of one sequence, described by (cell_seq, cell_pos). A query
// token of sequence s at position p attends to every cell c with cell_seq[c] == s and
// cell_pos[c] <= p, looked for in its window [cell_begin, cell_end) of cells (give
// [0, n_cells) when the allocator does not keep a sequence's cells together). The batch's
// own K/V rows must be stored (kv_store) before the call, so a token sees itself.
#pragma once

#include <cstdint>

#include "backend/cpu/kv_rows.h"
#include "backend/cpu/thread_pool.h"
#include "backend/ops.h"

namespace tessera::backend::cpu {

// One layer's cache, read-only. Not owned.
struct KvCacheView {
  KvType type = KvType::f16;
  const void* k = nullptr;  // n_cells rows of kv_row_bytes(type, n_kv_heads * head_dim)
  const void* v = nullptr;  // same layout as k
  int64_t n_cells = 0;
  const int32_t* cell_seq = nullptr;  // n_cells sequence ids; < 0 marks an empty cell
  const int32_t* cell_pos = nullptr;  // n_cells positions
};

using backend::AttentionQuery;  // ops.h: seq, pos, cell window
using backend::AttentionShape;  // ops.h: heads, kv heads, head_dim, scale

// out[t][h][:] = sum_c softmax_c(scale * q[t][h] . K[c][kvh]) * V[c][kvh] over the cells c
// visible to query t (see above), for t < n_tokens, h < n_heads.
//   q:   [n_tokens][n_heads][head_dim] f32, contiguous.
//   out: [n_tokens][n_heads][head_dim] f32, contiguous; must not overlap q.
// A query that sees no cell gets zeros. Scores are never materialized for the whole context:
// on CPUs with AVX2 (and head_dim a multiple of 8) the tiled kernel of attention_tiled.h
// takes blocks of query rows through the sequence's cells in chunks of 32 with an online
// softmax; elsewhere attention_reference runs. Either way the result for a query does not
// depend on other sequences' cells, the rest of the batch or the thread count. Threads split
// blocks of (tokens, kv head); allocation: none after a thread's first call with the largest
// head_dim (thread_local buffers).
void attention(const float* q, int64_t n_tokens, const AttentionQuery* queries,
               const KvCacheView& kv, const AttentionShape& shape, float* out, ThreadPool* pool);

// The scalar reference, same contract: one pass over the cells in index order per (token,
// kv head), each cell's score and online-softmax update one at a time, all f32.
void attention_reference(const float* q, int64_t n_tokens, const AttentionQuery* queries,
                         const KvCacheView& kv, const AttentionShape& shape, float* out,
                         ThreadPool* pool);

}  // namespace tessera::backend::cpu
