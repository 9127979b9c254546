// The activation buffers of one forward pass of up to n_batch tokens, sized once when the
// context is created (internal to engine/llm).
#pragma once

#include <vector>

#include "backend/cpu/attention.h"
#include "engine/llm/llm.h"

namespace tessera::engine {

struct LlmContext::Scratch {
  Scratch(const DecoderHparams& hp, int64_t n_batch) {
    const auto nb = static_cast<size_t>(n_batch);
    const auto E = static_cast<size_t>(hp.n_embd);
    const auto kv = static_cast<size_t>(hp.n_head_kv) * static_cast<size_t>(hp.head_dim);
    const auto F = static_cast<size_t>(hp.n_ff);
    x.resize(nb * E);
    h.resize(nb * E);
    q.resize(nb * E);
    k.resize(nb * kv);
    v.resize(nb * kv);
    att.resize(nb * E);
    gate.resize(nb * F);
    up.resize(nb * F);
    queries.resize(nb);
  }
  std::vector<float> x;         // [n][n_embd] the residual stream
  std::vector<float> h;         // [n][n_embd] normed input of a sub-block / its output
  std::vector<float> q;         // [n][n_head][head_dim]
  std::vector<float> k, v;      // [n][n_head_kv][head_dim]
  std::vector<float> att;       // [n][n_head][head_dim]
  std::vector<float> gate, up;  // [n][n_ff]
  std::vector<backend::cpu::AttentionQuery> queries;
};

}  // namespace tessera::engine
