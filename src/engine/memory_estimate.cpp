#include "engine/memory_estimate.h"

#include <algorithm>
#include <limits>

namespace tessera::engine {
namespace {

__extension__ typedef unsigned __int128 u128;

Error bad(const std::string& what) {
  return make_error(ErrorCode::invalid_argument, what);
}

Result<uint64_t> kv_cache_bytes(const ModelInfo& m, int64_t cells, gguf::TensorType kv_type) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(kv_type);
  u128 per_cell = 0;
  for (int64_t heads : m.n_head_kv_per_layer) {
    const auto k = gguf::row_bytes(*info, static_cast<uint64_t>(heads * m.head_dim_k));
    const auto v = gguf::row_bytes(*info, static_cast<uint64_t>(heads * m.head_dim_v));
    if (!k || !v) {
      return bad(std::string("KV cache type ") + info->name + " needs KV rows that are a " +
                 "multiple of " + std::to_string(info->block_size) + " values; this model has " +
                 std::to_string(heads * m.head_dim_k) + " (use f16)");
    }
    per_cell += *k + *v;
  }
  const u128 total = per_cell * static_cast<u128>(cells);
  if (total > std::numeric_limits<int64_t>::max()) return bad("KV cache size overflows");
  return static_cast<uint64_t>(total);
}

uint64_t compute_bytes(const ModelInfo& m, int64_t n_ctx, int64_t n_parallel, int64_t ubatch) {
  // f32 activations of one micro-batch: residual, normed input, attention output and query
  // (4 x n_embd), feed-forward gate, up and activation (3 x n_ff).
  const u128 activations = static_cast<u128>(ubatch) * (4 * m.n_embd + 3 * m.n_ff);
  u128 scores;
  u128 outputs;
  if (m.kind == ModelKind::encoder) {
    scores = static_cast<u128>(m.n_head) * ubatch * ubatch;  // every token sees the batch
    outputs = static_cast<u128>(m.n_embd) * ubatch;          // pooled or per-token states
  } else {
    scores = static_cast<u128>(m.n_head) * ubatch * n_ctx;  // one sequence's whole context
    outputs = static_cast<u128>(m.n_vocab) * n_parallel;    // one logits row per sequence
  }
  const u128 bytes = 4 * (activations + scores + outputs);
  return bytes > std::numeric_limits<int64_t>::max() ? std::numeric_limits<int64_t>::max()
                                                     : static_cast<uint64_t>(bytes);
}

}  // namespace

Result<MemoryEstimate> estimate_memory(const ModelInfo& m, const MemoryOptions& o) {
  MemoryEstimate e;
  if (o.n_ctx < 0) return bad("context length must be positive, got " + std::to_string(o.n_ctx));
  if (o.n_parallel < 1) {
    return bad("parallel sequences must be at least 1, got " + std::to_string(o.n_parallel));
  }
  e.n_ctx = o.n_ctx > 0
                ? o.n_ctx
                : (m.n_ctx_train > 0 ? std::min(m.n_ctx_train, kDefaultContext) : kDefaultContext);
  e.n_parallel = o.n_parallel;
  if (static_cast<u128>(e.n_ctx) * static_cast<u128>(e.n_parallel) > (u128{1} << 32)) {
    return bad("context x parallel sequences = " + std::to_string(e.n_ctx) + " x " +
               std::to_string(e.n_parallel) + " is past the limit of 2^32 cached tokens");
  }
  const bool has_kv = m.kind == ModelKind::decoder;
  e.kv_cells = has_kv ? e.n_ctx * e.n_parallel : 0;
  e.micro_batch = std::min(kMicroBatch, has_kv ? e.kv_cells : e.n_ctx);
  e.weights = m.weight_bytes;
  if (has_kv) {
    auto kv = kv_cache_bytes(m, e.kv_cells, o.kv_type);
    if (!kv.ok()) return kv.error();
    e.kv_cache = *kv;
  }
  e.compute = compute_bytes(m, e.n_ctx, e.n_parallel, e.micro_batch);
  const u128 total = static_cast<u128>(e.weights) + e.kv_cache + e.compute;
  if (total > std::numeric_limits<int64_t>::max()) return bad("memory total overflows");
  e.total = static_cast<uint64_t>(total);
  return e;
}

}  // namespace tessera::engine
