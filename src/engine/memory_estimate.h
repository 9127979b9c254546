// Memory a model needs to run, planned before anything is allocated: weights, KV cache and
// compute buffers, for a given context length and number of parallel sequences.
//
// The KV cache figure is exact for Tessera's cache layout (docs/model-info.md gives the
// formula): every decoder layer keeps, per cached token, n_head_kv(layer) keys of
// head_dim_k values and as many values of head_dim_v values, stored in the KV type (F16 by
// default). Each of the n_parallel sequences gets its own n_ctx tokens. Encoders have no
// KV cache. The compute figure is an estimate of the largest intermediate buffers of one
// forward pass (micro-batch of up to 512 tokens); the runtime checks it against reality.
#pragma once

#include <cstdint>

#include "engine/model_info.h"
#include "gguf/tensor_type.h"
#include "util/result.h"

namespace tessera::engine {

inline constexpr int64_t kDefaultContext = 4096;  // when the caller names none
inline constexpr int64_t kMicroBatch = 512;       // tokens per forward pass at most

struct MemoryOptions {
  int64_t n_ctx = 0;       // tokens per sequence; 0 = min(training context, kDefaultContext)
  int64_t n_parallel = 1;  // sequences decoded at once
  gguf::TensorType kv_type = gguf::TensorType::F16;
};

struct MemoryEstimate {
  int64_t n_ctx = 0;  // the context used (after defaulting)
  int64_t n_parallel = 0;
  int64_t kv_cells = 0;  // n_ctx * n_parallel (0 for encoders)
  int64_t micro_batch = 0;
  uint64_t weights = 0;   // bytes of all tensors, as stored in the file
  uint64_t kv_cache = 0;  // exact, see above
  uint64_t compute = 0;   // estimate
  uint64_t total = 0;
};

// Errors (invalid_argument): n_ctx or n_parallel out of range (n_ctx < 0, n_parallel < 1,
// n_ctx * n_parallel > 2^32), a KV type whose blocks do not tile a KV head row, a total
// past 2^63 bytes.
Result<MemoryEstimate> estimate_memory(const ModelInfo& model, const MemoryOptions& options);

}  // namespace tessera::engine
