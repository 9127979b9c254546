// BERT-family encoders (`bert`: BERT, bge, MiniLM): learned absolute positions and token
// types, post-LayerNorm blocks, GELU feed-forward, no causal mask, pooled outputs. With
// pooling "rank" the file also carries the cross-encoder head (cls, cls.output).
#include <cmath>

#include "engine/architecture.h"

namespace tessera::engine {
namespace {

void write_bert_hparams(const ModelShape& s, gguf::Writer& w) {
  write_common_hparams(s, w);
  const std::string a = s.arch + ".";
  w.set_f32(a + "attention.layer_norm_epsilon", static_cast<float>(s.norm_eps));
  w.set_bool(a + "attention.causal", false);
  w.set_u32(a + "pooling_type", static_cast<uint32_t>(s.pooling));
  if (s.pooling == Pooling::rank) w.set_string_array(a + "classifier.output_labels", {"LABEL_0"});
}

std::vector<TensorPlan> bert_plan(const ModelShape& s) {
  const int64_t E = s.n_embd;
  const int64_t F = s.n_ff;
  const TensorInit emb{0.0, 0.5};
  const TensorInit norm = kNormInit;
  const TensorInit bias = kBiasInit;
  auto lin = linear_init;

  std::vector<TensorPlan> p;
  p.push_back({"token_embd.weight", {E, s.n_vocab}, emb});
  p.push_back({"token_types.weight", {E, s.n_token_types}, emb, true});
  p.push_back({"position_embd.weight", {E, s.n_ctx}, emb, true});
  p.push_back({"token_embd_norm.weight", {E}, norm});
  p.push_back({"token_embd_norm.bias", {E}, bias});
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    for (const char* t : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
      p.push_back({b + t + ".weight", {E, E}, lin(E)});
      p.push_back({b + t + ".bias", {E}, bias});
    }
    p.push_back({b + "attn_output_norm.weight", {E}, norm});
    p.push_back({b + "attn_output_norm.bias", {E}, bias});
    p.push_back({b + "ffn_up.weight", {E, F}, lin(E)});
    p.push_back({b + "ffn_up.bias", {F}, bias});
    p.push_back({b + "ffn_down.weight", {F, E}, lin(F)});
    p.push_back({b + "ffn_down.bias", {E}, bias});
    p.push_back({b + "layer_output_norm.weight", {E}, norm});
    p.push_back({b + "layer_output_norm.bias", {E}, bias});
  }
  if (s.pooling == Pooling::rank) {
    p.push_back({"cls.weight", {E, E}, lin(E)});
    p.push_back({"cls.bias", {E}, bias});
    p.push_back({"cls.output.weight", {E, 1}, lin(E)});
    p.push_back({"cls.output.bias", {1}, bias});
  }
  return p;
}

}  // namespace

const ArchSpec& bert_architecture() {
  static const ArchSpec spec{"bert", ModelKind::encoder, write_bert_hparams, bert_plan};
  return spec;
}

}  // namespace tessera::engine
