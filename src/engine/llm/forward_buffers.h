// The backend memory of one LlmContext on one device (internal to engine/llm): activations of a
// forward pass of up to n_batch tokens, the batch's index arrays, the cell table and the K/V
// cache of the device's layers, all allocated once when the context is created (no allocation
// per token). A split model's context has one per device.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "engine/llm/llm.h"

namespace tessera::engine {

class Carver;

// The tensors of a forward pass besides the KV cache, carved out of one buffer.
struct ForwardTensors {
  // F32, n_batch rows: the residual stream, a sub-block's normed input / output, attention
  // q/k/v and output, the FFN's gate and up projections.
  backend::Tensor x, h, q, k, v, att, gate, up;
  backend::Tensor ids, pos, cells, out_rows;  // I32 1 x n_batch
  backend::Tensor queries;                    // I32 n_batch x 4 (AttentionQuery)
  backend::Tensor cell_seq, cell_pos;         // I32 1 x n_cells: the cell table

  // Takes the tensors from `c` in their order (sizes only when `c` is unplaced).
  void carve(Carver& c, const DecoderHparams& hp, int64_t n_batch, int64_t n_cells);
};

// Bytes of the buffer holding ForwardTensors.
uint64_t forward_work_bytes(const DecoderHparams& hp, int64_t n_batch, int64_t n_cells);
// Bytes of the K and V cache of one layer.
uint64_t kv_layer_bytes(const DecoderHparams& hp, int64_t n_cells, backend::KvType kv_type);

struct LlmContext::Buffers : ForwardTensors {
  // Buffers for `n_layers` layers (>= 1). Errors: out_of_range when the backend cannot hold
  // them (names the KV cache or the activations, with sizes).
  static Result<std::unique_ptr<Buffers>> create(backend::Backend& be, const DecoderHparams& hp,
                                                 int64_t n_layers, int64_t n_batch, int64_t n_cells,
                                                 backend::KvType kv_type);
  uint64_t bytes() const;

  std::unique_ptr<backend::Buffer> work;  // ForwardTensors
  std::unique_ptr<backend::Buffer> k_cache, v_cache;
  std::vector<backend::KvLayer> layers;  // per layer here: K, V and the shared cell table
};

// The first n values of a 1 x N index tensor.
inline backend::Tensor first_cols(const backend::Tensor& t, int64_t n) {
  backend::Tensor r = t;
  r.cols = n;
  return r;
}

}  // namespace tessera::engine
