// Carving several tensors out of one backend buffer (internal to engine/llm): measure with
// take() on an unplaced Carver, allocate size() bytes, place_in() the buffer, take() again in
// the same order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/backend.h"

namespace tessera::engine {

// Hands out 64-byte aligned offsets, first to measure, then to place tensors in a buffer.
class Carver {
 public:
  backend::Tensor take(gguf::TensorType type, int64_t rows, int64_t cols) {
    backend::Tensor t{type, nullptr, rows, cols};
    const size_t at = offset_;
    offset_ += (t.bytes() + 63) / 64 * 64;
    if (base_ != nullptr) return base_->tensor(type, at, rows, cols);
    return t;
  }
  size_t size() const { return offset_; }
  void place_in(const backend::Buffer* base) {
    base_ = base;
    offset_ = 0;
  }

 private:
  const backend::Buffer* base_ = nullptr;
  size_t offset_ = 0;
};

}  // namespace tessera::engine
