// The backend memory of one LlmContext (internal to engine/llm): activations of a forward pass
// of up to n_batch tokens, the batch's index arrays, the cell table and the K/V cache, all
// allocated once when the context is created (no allocation per token).
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "engine/llm/llm.h"

namespace tessera::engine {

struct LlmContext::Buffers {
  // Errors: out_of_range when the backend cannot hold them (names the KV cache or the
  // activations, with sizes).
  static Result<std::unique_ptr<Buffers>> create(backend::Backend& be, const DecoderHparams& hp,
                                                 int64_t n_batch, int64_t n_cells,
                                                 backend::KvType kv_type);
  uint64_t bytes() const;

  std::unique_ptr<backend::Buffer> work;  // activations and index arrays
  std::unique_ptr<backend::Buffer> k_cache, v_cache;
  // F32, n_batch rows: the residual stream, a sub-block's normed input / output, attention
  // q/k/v and output, the FFN's gate and up projections.
  backend::Tensor x, h, q, k, v, att, gate, up;
  backend::Tensor ids, pos, cells, out_rows;  // I32 1 x n_batch
  backend::Tensor queries;                    // I32 n_batch x 4 (AttentionQuery)
  std::vector<backend::KvLayer> layers;       // per layer: K, V and the shared cell table
};

// The first n values of a 1 x N index tensor.
inline backend::Tensor first_cols(const backend::Tensor& t, int64_t n) {
  backend::Tensor r = t;
  r.cols = n;
  return r;
}

}  // namespace tessera::engine
