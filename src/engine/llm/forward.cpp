// The decoder forward pass of one chunk of a batch (llama family), as ops on the context's
// backend streams:
//   x = token_embd[tokens]
//   per layer: h = rms_norm(x) * attn_norm; q, k, v = W h (+ bias); RoPE(q, k) at each
//     token's position; k, v -> the token's cell; x += W_o attention(q, cache)
//     h = rms_norm(x) * ffn_norm; x += W_down (silu(W_gate h) * W_up h)
//   logits = W_out (rms_norm(x) * output_norm), only for rows that want them.
// On a split model each device runs its layers on its own stream; x (n x n_embd f32) goes from
// one device to the next through the host.
#include "engine/llm/forward_buffers.h"
#include "engine/llm/llm.h"

namespace tessera::engine {

using backend::Tensor;

Status LlmContext::forward(const Batch& batch, size_t begin, size_t end) {
  const LlmModel& m = *model_;
  const auto n = static_cast<int64_t>(end - begin);

  // The chunk's index arrays.
  queries_.resize(static_cast<size_t>(n));
  out_rows_.clear();
  int64_t first_row = -1;
  for (int64_t t = 0; t < n; ++t) {
    const auto i = begin + static_cast<size_t>(t);
    const auto range = seq_cells_[static_cast<size_t>(batch.seq[i])];
    queries_[static_cast<size_t>(t)] = {batch.seq[i], batch.pos[i], range.first, range.second};
    const int64_t row = logits_index_[i];
    if (row < 0) continue;
    if (first_row < 0) first_row = row;  // rows that want logits are consecutive
    out_rows_.push_back(static_cast<int32_t>(t));
  }

  for (size_t d = 0; d < streams_.size(); ++d) {
    const Buffers& b = *buffers_[d];
    backend::Stream& st = *streams_[d];
    const Tensor ids = first_cols(b.ids, n);
    const Tensor x = b.x.slice_rows(0, n);
    if (d == 0) st.write(ids, batch.tokens.data() + begin);
    st.write(first_cols(b.pos, n), batch.pos.data() + begin);
    st.write(first_cols(b.cells, n), batch_cells_.data() + begin);
    st.write(b.queries.slice_rows(0, n), queries_.data());
    if (d == 0) {
      st.get_rows(m.token_embd(), ids, x);
    } else {
      st.write(x, boundary_x_.data());
    }
    forward_layers(d, n);
    if (d + 1 == streams_.size()) break;
    // To the next device through the host (a device-to-device copy would avoid the stop).
    st.read(x, boundary_x_.data());
    if (Status s = st.synchronize(); !s.ok()) return device_error(d, s.error());
  }
  forward_logits(n, first_row);
  return {};
}

void LlmContext::forward_layers(size_t d, int64_t n) {
  const LlmModel& m = *model_;
  const DecoderHparams& hp = m.hparams();
  const ModelDevice& device = m.devices()[d];
  const Buffers& b = *buffers_[d];
  backend::Stream& st = *streams_[d];
  const Tensor pos = first_cols(b.pos, n);
  const Tensor cells = first_cols(b.cells, n);
  const Tensor queries = b.queries.slice_rows(0, n);
  const Tensor x = b.x.slice_rows(0, n);
  const Tensor h = b.h.slice_rows(0, n);
  const Tensor q = b.q.slice_rows(0, n);
  const Tensor k = b.k.slice_rows(0, n);
  const Tensor v = b.v.slice_rows(0, n);
  const Tensor att = b.att.slice_rows(0, n);
  const Tensor gate = b.gate.slice_rows(0, n);
  const Tensor up = b.up.slice_rows(0, n);
  const backend::RopeOp rope{
      m.traits().rope == RopeKind::neox ? backend::RopeStyle::neox : backend::RopeStyle::normal,
      hp.n_rot, hp.rope_freq_base, hp.rope_freq_scale, device.rope_freq_factors};
  const backend::AttentionShape shape{hp.n_head, hp.n_head_kv, hp.head_dim, 0.0f};

  for (int64_t l = device.layer_begin; l < device.layer_end; ++l) {
    const DecoderLayer& L = m.layer(l);
    const backend::KvLayer& kv = b.layers[static_cast<size_t>(l - device.layer_begin)];
    st.rms_norm(x, L.attn_norm, hp.norm_eps, h);
    st.matmul(L.wq, h, q, L.bq);
    st.matmul(L.wk, h, k, L.bk);
    st.matmul(L.wv, h, v, L.bv);
    st.rope(q, hp.n_head, pos, rope);
    st.rope(k, hp.n_head_kv, pos, rope);
    st.kv_store(k, cells, kv.k);
    st.kv_store(v, cells, kv.v);
    st.attention(q, queries, kv, shape, att);
    st.matmul(L.wo, att, h, Tensor{});
    st.add(x, h, x);

    st.rms_norm(x, L.ffn_norm, hp.norm_eps, h);
    st.matmul(L.ffn_gate, h, gate, Tensor{});
    st.matmul(L.ffn_up, h, up, Tensor{});
    st.swiglu(gate, up, gate);
    st.matmul(L.ffn_down, gate, h, Tensor{});
    st.add(x, h, x);
  }
}

void LlmContext::forward_logits(int64_t n, int64_t first_row) {
  const auto n_out = static_cast<int64_t>(out_rows_.size());
  if (n_out == 0) return;
  const LlmModel& m = *model_;
  const Buffers& b = *buffers_.back();
  backend::Stream& st = *streams_.back();
  const Tensor rows = first_cols(b.out_rows, n_out);
  const Tensor hidden = b.h.slice_rows(0, n_out);
  st.write(rows, out_rows_.data());
  st.gather_rows(b.x.slice_rows(0, n), rows, hidden);
  st.rms_norm(hidden, m.output_norm(), m.hparams().norm_eps, hidden);
  const Tensor logits = backend::make_tensor(gguf::TensorType::F32, logits_buf_->data(),
                                             logits_capacity_, m.n_vocab())
                            .slice_rows(first_row, n_out);
  st.matmul(m.output(), hidden, logits, Tensor{});
}

}  // namespace tessera::engine
