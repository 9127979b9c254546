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

std::span<const ArchSpec* const> architectures() { return table(); }

const ArchSpec* find_architecture(std::string_view name) {
  for (const ArchSpec* a : table()) {
    if (a->name == name) return a;
  }
  return nullptr;
}

}  // namespace tessera::engine
