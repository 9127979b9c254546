// Decoder-only transformers of the llama family: `llama` (Llama 2/3, Mistral, TinyLlama) and
// `qwen2` (the same blocks plus q/k/v biases; NeoX-style RoPE, chosen by the name).
// RMSNorm, GQA attention with RoPE, SwiGLU feed-forward; output tied to token_embd or not.
#include <cmath>

#include "engine/architecture.h"

namespace tessera::engine {
namespace {

void write_decoder_hparams(const ModelShape& s, gguf::Writer& w) {
  write_common_hparams(s, w);
  const std::string a = s.arch + ".";
  w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.set_f32(a + "rope.freq_base", static_cast<float>(s.rope_freq_base));
  w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(s.n_embd / s.n_head));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(s.norm_eps));
}

std::vector<TensorPlan> decoder_plan(const ModelShape& s, bool qkv_bias) {
  const int64_t E = s.n_embd;
  const int64_t F = s.n_ff;
  const int64_t kv = E / s.n_head * s.n_head_kv;
  const TensorInit emb{0.0, 2.0 / std::sqrt(static_cast<double>(E))};
  const TensorInit norm = kNormInit;
  const TensorInit bias = kBiasInit;
  auto lin = linear_init;

  std::vector<TensorPlan> p;
  p.push_back({"token_embd.weight", {E, s.n_vocab}, emb});
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    p.push_back({b + "attn_norm.weight", {E}, norm});
    p.push_back({b + "attn_q.weight", {E, E}, lin(E)});
    p.push_back({b + "attn_k.weight", {E, kv}, lin(E)});
    p.push_back({b + "attn_v.weight", {E, kv}, lin(E)});
    if (qkv_bias) {
      p.push_back({b + "attn_q.bias", {E}, bias});
      p.push_back({b + "attn_k.bias", {kv}, bias});
      p.push_back({b + "attn_v.bias", {kv}, bias});
    }
    p.push_back({b + "attn_output.weight", {E, E}, lin(E)});
    p.push_back({b + "ffn_norm.weight", {E}, norm});
    p.push_back({b + "ffn_gate.weight", {E, F}, lin(E)});
    p.push_back({b + "ffn_up.weight", {E, F}, lin(E)});
    p.push_back({b + "ffn_down.weight", {F, E}, lin(F)});
  }
  p.push_back({"output_norm.weight", {E}, norm});
  if (!s.tied_output) p.push_back({"output.weight", {E, s.n_vocab}, emb});
  return p;
}

std::vector<TensorPlan> llama_plan(const ModelShape& s) {
  return decoder_plan(s, false);
}
std::vector<TensorPlan> qwen2_plan(const ModelShape& s) {
  return decoder_plan(s, true);
}

}  // namespace

const ArchSpec& llama_architecture() {
  static const DecoderTraits traits{RopeKind::normal, false, true, true};
  static const ArchSpec spec{"llama", ModelKind::decoder, write_decoder_hparams, llama_plan,
                             &traits};
  return spec;
}

const ArchSpec& qwen2_architecture() {
  static const DecoderTraits traits{RopeKind::neox, true, true, false};
  static const ArchSpec spec{"qwen2", ModelKind::decoder, write_decoder_hparams, qwen2_plan,
                             &traits};
  return spec;
}

}  // namespace tessera::engine
