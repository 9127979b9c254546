#include "engine/architecture.h"

#include <array>

namespace tessera::engine {
namespace {

const std::array<const ArchSpec*, 3>& table() {
  static const std::array<const ArchSpec*, 3> kArchitectures = {
      &llama_architecture(),
      &qwen2_architecture(),
      &bert_architecture(),
  };
  return kArchitectures;
}

}  // namespace

void write_common_hparams(const ModelShape& s, gguf::Writer& w) {
  const std::string a = s.arch + ".";
  w.set_u32(a + "vocab_size", static_cast<uint32_t>(s.n_vocab));
  w.set_u32(a + "context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32(a + "embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32(a + "block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32(a + "attention.head_count", static_cast<uint32_t>(s.n_head));
}

std::span<const ArchSpec* const> architectures() {
  return table();
}

const ArchSpec* find_architecture(std::string_view name) {
  for (const ArchSpec* a : table()) {
    if (a->name == name) return a;
  }
  return nullptr;
}

}  // namespace tessera::engine
