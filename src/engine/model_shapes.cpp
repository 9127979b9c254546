// The shapes `tessera model synth` knows, as data. Real shapes are taken from the models'
// published configurations (hidden size, layers, heads, KV heads, FFN size, context, RoPE
// base, norm epsilon, tied embeddings).
#include <array>

#include "engine/model_synth.h"

namespace tessera::engine {
namespace {

ModelShape make(int64_t embd, int64_t layers, int64_t heads, int64_t heads_kv, int64_t ff,
                int64_t ctx, double rope, double eps, bool tied, Pooling pooling = Pooling::mean) {
  ModelShape s;
  s.n_embd = embd;
  s.n_layer = layers;
  s.n_head = heads;
  s.n_head_kv = heads_kv;
  s.n_ff = ff;
  s.n_ctx = ctx;
  s.rope_freq_base = rope;
  s.norm_eps = eps;
  s.tied_output = tied;
  s.pooling = pooling;
  return s;
}

const std::array<ShapePreset, 8>& table() {
  static const std::array<ShapePreset, 8> kShapes = {{
      {"tiny", "", "test shape: 64 wide, 2 layers, 4 heads (2 KV), FFN 192, context 256",
       make(64, 2, 4, 2, 192, 256, 10000.0, 1e-5, true)},
      {"tiny-kq", "", "test shape with 256-multiple rows for K-quants: 256 wide, FFN 512",
       make(256, 2, 4, 2, 512, 256, 10000.0, 1e-5, false)},
      {"qwen2.5-0.5b", "qwen2", "Qwen2.5-0.5B(-Instruct)",
       make(896, 24, 14, 2, 4864, 32768, 1000000.0, 1e-6, true)},
      {"tinyllama-1.1b", "llama", "TinyLlama-1.1B-Chat v1.0",
       make(2048, 22, 32, 4, 5632, 2048, 10000.0, 1e-5, false)},
      {"llama-2-7b", "llama", "Llama-2-7B(-chat): full multi-head attention (32 KV heads)",
       make(4096, 32, 32, 32, 11008, 4096, 10000.0, 1e-5, false)},
      {"llama-3-8b", "llama", "Meta-Llama-3-8B(-Instruct)",
       make(4096, 32, 32, 8, 14336, 8192, 500000.0, 1e-5, false)},
      {"bge-small", "bert", "BAAI/bge-small-en-v1.5 (CLS pooling)",
       make(384, 12, 12, 12, 1536, 512, 0.0, 1e-12, false, Pooling::cls)},
      {"bge-reranker-tiny", "bert", "test cross-encoder reranker: bert tiny + rank head",
       make(64, 2, 4, 4, 128, 256, 0.0, 1e-12, false, Pooling::rank)},
  }};
  return kShapes;
}

}  // namespace

std::span<const ShapePreset> shape_presets() {
  return table();
}

const ShapePreset* find_shape(std::string_view name) {
  for (const auto& s : table()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace tessera::engine
