// LlmContext::Buffers: carves the context's tensors out of a few backend buffers.
#include "engine/llm/forward_buffers.h"

#include <string>

#include "engine/llm/carver.h"

namespace tessera::engine {
namespace {

using backend::Tensor;
using gguf::TensorType;

int64_t kv_width(const DecoderHparams& hp) {
  return static_cast<int64_t>(hp.n_head_kv) * hp.head_dim;
}

Tensor kv_layer(const DecoderHparams& hp, int64_t n_cells, backend::KvType kv_type) {
  return Tensor{backend::kv_tensor_type(kv_type), nullptr, n_cells, kv_width(hp)};
}

}  // namespace

void ForwardTensors::carve(Carver& c, const DecoderHparams& hp, int64_t n_batch, int64_t n_cells) {
  const int64_t E = hp.n_embd;
  const int64_t q_width = static_cast<int64_t>(hp.n_head) * hp.head_dim;
  x = c.take(TensorType::F32, n_batch, E);
  h = c.take(TensorType::F32, n_batch, E);
  q = c.take(TensorType::F32, n_batch, q_width);
  k = c.take(TensorType::F32, n_batch, kv_width(hp));
  v = c.take(TensorType::F32, n_batch, kv_width(hp));
  att = c.take(TensorType::F32, n_batch, q_width);
  gate = c.take(TensorType::F32, n_batch, hp.n_ff);
  up = c.take(TensorType::F32, n_batch, hp.n_ff);
  ids = c.take(TensorType::I32, 1, n_batch);
  pos = c.take(TensorType::I32, 1, n_batch);
  cells = c.take(TensorType::I32, 1, n_batch);
  out_rows = c.take(TensorType::I32, 1, n_batch);
  queries = c.take(TensorType::I32, n_batch, 4);
  cell_seq = c.take(TensorType::I32, 1, n_cells);
  cell_pos = c.take(TensorType::I32, 1, n_cells);
}

uint64_t forward_work_bytes(const DecoderHparams& hp, int64_t n_batch, int64_t n_cells) {
  Carver c;
  ForwardTensors t;
  t.carve(c, hp, n_batch, n_cells);
  return c.size();
}

uint64_t kv_layer_bytes(const DecoderHparams& hp, int64_t n_cells, backend::KvType kv_type) {
  return 2 * static_cast<uint64_t>(kv_layer(hp, n_cells, kv_type).bytes());
}

Result<std::unique_ptr<LlmContext::Buffers>> LlmContext::Buffers::create(
    backend::Backend& be, const DecoderHparams& hp, int64_t n_layers, int64_t n_batch,
    int64_t n_cells, backend::KvType kv_type) {
  auto b = std::make_unique<Buffers>();
  const Tensor layer = kv_layer(hp, n_cells, kv_type);
  const size_t layer_bytes = layer.bytes();
  if (layer_bytes > (uint64_t{1} << 40) / static_cast<uint64_t>(n_layers)) {
    return make_error(ErrorCode::out_of_range,
                      "KV cache of " + std::to_string(n_cells) + " cells is too large");
  }

  const size_t cache_bytes = layer_bytes * static_cast<size_t>(n_layers);
  TESSERA_TRY_ASSIGN(k_cache, be.alloc(cache_bytes, "KV cache (K)"));
  TESSERA_TRY_ASSIGN(v_cache, be.alloc(cache_bytes, "KV cache (V)"));
  b->k_cache = std::move(k_cache);
  b->v_cache = std::move(v_cache);

  // Two passes over the same carving: measure, allocate, place.
  Carver c;
  b->carve(c, hp, n_batch, n_cells);
  TESSERA_TRY_ASSIGN(work, be.alloc(c.size(), "activations"));
  b->work = std::move(work);
  c.place_in(b->work.get());
  b->carve(c, hp, n_batch, n_cells);

  b->layers.resize(static_cast<size_t>(n_layers));
  for (int64_t l = 0; l < n_layers; ++l) {
    const size_t at = static_cast<size_t>(l) * layer_bytes;
    backend::KvLayer& kv = b->layers[static_cast<size_t>(l)];
    kv.k = b->k_cache->tensor(layer.type, at, n_cells, kv_width(hp));
    kv.v = b->v_cache->tensor(layer.type, at, n_cells, kv_width(hp));
    kv.cell_seq = b->cell_seq;
    kv.cell_pos = b->cell_pos;
  }
  return b;
}

uint64_t LlmContext::Buffers::bytes() const {
  return work->size() + k_cache->size() + v_cache->size();
}

}  // namespace tessera::engine
