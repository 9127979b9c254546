// The decoder forward pass of one chunk of a batch (llama family):
//   x = token_embd[tokens]
//   per layer: h = rms_norm(x) * attn_norm; q, k, v = W h (+ bias); RoPE(q, k) at each
//     token's position; k, v -> the token's cell; x += W_o attention(q, cache)
//     h = rms_norm(x) * ffn_norm; x += W_down (silu(W_gate h) * W_up h)
//   logits = W_out (rms_norm(x) * output_norm), only for rows that want them.
#include <cstring>

#include "backend/cpu/attention.h"
#include "backend/cpu/elementwise.h"
#include "backend/cpu/matmul.h"
#include "backend/cpu/norm.h"
#include "backend/cpu/rope.h"
#include "engine/llm/forward_scratch.h"
#include "engine/llm/llm.h"

namespace tessera::engine {

namespace cpu = backend::cpu;

void LlmContext::forward(const Batch& batch, size_t begin, size_t end) {
  const LlmModel& m = *model_;
  const DecoderHparams& hp = m.hparams();
  Scratch& s = *scratch_;
  cpu::ThreadPool* pool = pool_.get();
  const auto n = static_cast<int64_t>(end - begin);
  const int64_t E = hp.n_embd;
  const int64_t kv_len = static_cast<int64_t>(hp.n_head_kv) * hp.head_dim;
  const int32_t* pos = batch.pos.data() + begin;
  const int32_t* cells = batch_cells_.data() + begin;

  // Ids were checked by check_batch, so get_rows cannot fail.
  (void)cpu::get_rows(m.token_embd(), batch.tokens.data() + begin, n, s.x.data(), pool);

  const cpu::RopeParams rope{
      m.traits().rope == RopeKind::neox ? cpu::RopeStyle::neox : cpu::RopeStyle::normal, hp.n_rot,
      hp.rope_freq_base, hp.rope_freq_scale, m.rope_freq_factors()};
  for (int64_t t = 0; t < n; ++t) {
    const auto i = begin + static_cast<size_t>(t);
    const auto range = seq_cells_[static_cast<size_t>(batch.seq[i])];
    s.queries[static_cast<size_t>(t)] = {batch.seq[i], batch.pos[i], range.first, range.second};
  }
  const cpu::AttentionShape shape{hp.n_head, hp.n_head_kv, hp.head_dim, 0.0f};
  const size_t layer_bytes = static_cast<size_t>(n_cells_) * kv_row_bytes_;

  for (int64_t l = 0; l < hp.n_layer; ++l) {
    const DecoderLayer& L = m.layer(l);
    float* x = s.x.data();
    float* h = s.h.data();
    cpu::rms_norm(x, L.attn_norm, hp.norm_eps, n, E, h, pool);
    cpu::matmul(L.wq, h, n, s.q.data(), L.bq, pool);
    cpu::matmul(L.wk, h, n, s.k.data(), L.bk, pool);
    cpu::matmul(L.wv, h, n, s.v.data(), L.bv, pool);
    cpu::rope(s.q.data(), n, hp.n_head, hp.head_dim, pos, rope, pool);
    cpu::rope(s.k.data(), n, hp.n_head_kv, hp.head_dim, pos, rope, pool);

    uint8_t* k_layer = k_cache_.data() + static_cast<size_t>(l) * layer_bytes;
    uint8_t* v_layer = v_cache_.data() + static_cast<size_t>(l) * layer_bytes;
    cpu::kv_store(options_.kv_type, s.k.data(), n, kv_len, cells, k_layer, pool);
    cpu::kv_store(options_.kv_type, s.v.data(), n, kv_len, cells, v_layer, pool);
    const cpu::KvCacheView view{options_.kv_type, k_layer,          v_layer,
                                n_cells_,         cell_seq_.data(), cell_pos_.data()};
    cpu::attention(s.q.data(), n, s.queries.data(), view, shape, s.att.data(), pool);
    cpu::matmul(L.wo, s.att.data(), n, h, nullptr, pool);
    cpu::add(x, h, x, n * E);

    cpu::rms_norm(x, L.ffn_norm, hp.norm_eps, n, E, h, pool);
    cpu::matmul(L.ffn_gate, h, n, s.gate.data(), nullptr, pool);
    cpu::matmul(L.ffn_up, h, n, s.up.data(), nullptr, pool);
    cpu::swiglu(s.gate.data(), s.up.data(), s.gate.data(), n * hp.n_ff, pool);
    cpu::matmul(L.ffn_down, s.gate.data(), n, h, nullptr, pool);
    cpu::add(x, h, x, n * E);
  }

  // Gather the rows that want logits (they are consecutive rows of logits_).
  int64_t n_out = 0;
  int64_t first_row = -1;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t row = logits_index_[begin + static_cast<size_t>(t)];
    if (row < 0) continue;
    if (first_row < 0) first_row = row;
    std::memcpy(s.h.data() + n_out * E, s.x.data() + t * E, static_cast<size_t>(E) * sizeof(float));
    ++n_out;
  }
  if (n_out == 0) return;
  cpu::rms_norm(s.h.data(), m.output_norm(), hp.norm_eps, n_out, E, s.h.data(), pool);
  float* out = logits_.data() + static_cast<size_t>(first_row) * static_cast<size_t>(m.n_vocab());
  cpu::matmul(m.output(), s.h.data(), n_out, out, nullptr, pool);
}

}  // namespace tessera::engine
