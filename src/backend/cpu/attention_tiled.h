// The tiled attention kernel behind attention() (attention.h) on CPUs with AVX2: the contract
// between attention.cpp, which splits a batch into blocks and threads, and the per-ISA block
// kernel (attention_avx2.cpp).
//
// A block is up to kAttnMaxRows query rows: the heads [head_begin, head_begin + n_heads) of
// one kv head's group, for a run of consecutive batch tokens of one sequence (row r: token
// r / n_heads, head r % n_heads). The kernel walks the sequence's cells (cell_seq == seq) in
// index order over the union of the block's windows, in chunks of kAttnChunk of them, and per
// chunk computes all rows' scores against the chunk's K rows (converted to f32 once), masks
// what a row may not see (cell_pos > its position, or outside its window), and updates each
// row's online softmax with the chunk: max m' = max(m, chunk max), correction e^(m - m'),
// p = e^(s - m'), sum l = l * correction + sum of p over the chunk in cell order, output
// o = o * correction + sum of p * V over the chunk in cell order. A chunk that no row sees is
// skipped; a row that sees nothing of a chunk is left unchanged.
//
// Chunks are counted over the sequence's own cells, so a row's arithmetic depends only on its
// query, its visible cells and how the sequence's cells fall into chunks: not on the other
// rows of the block, other sequences' cells, the thread split or the batch (as long as the
// windows hold all the sequence's cells, which is what the engine gives). V rows must be
// finite (a masked cell's V is multiplied by 0 in a pair of rows).
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cpu/attention.h"

namespace tessera::backend::cpu {

inline constexpr int kAttnChunk = 32;    // cells per chunk
inline constexpr int kAttnMaxRows = 64;  // query rows per block

struct AttentionBlock {
  const float* q = nullptr;  // row r at q + (r / n_heads) * token_stride + (r % n_heads) * head_dim
  float* out = nullptr;      // same layout as q
  size_t token_stride = 0;   // floats from one token's heads to the next token's
  const AttentionQuery* queries = nullptr;  // the block's n_tokens queries (same seq)
  int n_tokens = 0;
  int n_heads = 0;  // rows per token; n_tokens * n_heads <= kAttnMaxRows
  int kv_head = 0;
  int head_dim = 0;  // a multiple of 8
  int n_kv_heads = 0;
  float scale = 0.0f;  // applied to q before the dot products
};

// Floats of per-thread scratch a block kernel needs for this head_dim.
inline size_t attention_scratch_floats(int head_dim) {
  const auto hd = static_cast<size_t>(head_dim);
  return 2 * hd * kAttnMaxRows + 2 * hd * kAttnChunk + kAttnChunk * kAttnMaxRows + 4 * kAttnMaxRows;
}

// Computes the block's outputs (see above). scratch: attention_scratch_floats(head_dim) floats,
// 32-byte aligned. No allocation; thread-safe for distinct scratch and outputs.
void attend_block_avx2(const AttentionBlock& b, const KvCacheView& kv, float* scratch);

}  // namespace tessera::backend::cpu
