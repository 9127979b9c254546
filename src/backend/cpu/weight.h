// A read-only view of a 2-D weight matrix as stored in a GGUF file: `rows` rows of `cols`
// values (ggml ne[1] = rows, ne[0] = cols, cols contiguous), each row a run of the type's
// blocks, rows back to back. The view does not own the bytes (usually the mmapped file).
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/tensor.h"
#include "gguf/tensor_type.h"
#include "util/result.h"

namespace tessera::backend::cpu {

struct WeightView {
  gguf::TensorType type = gguf::TensorType::F32;
  const void* data = nullptr;  // rows * weight_row_bytes() bytes; 4-byte aligned for F32
  int64_t rows = 0;
  int64_t cols = 0;
  backend::Layout layout = backend::Layout::natural;  // rows8 / rows32: weight_repack.h (matmul)
};

// Whether the CPU kernels can read weights of `type` (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q2_K..Q6_K, Q8_K: every type with a reference dequantizer).
bool weight_type_supported(gguf::TensorType type);

// Checks a view before it is handed to a kernel (kernels only assert): the type is supported,
// cols is a positive multiple of its block size, rows >= 0, data is set when rows > 0.
// Errors: unsupported (type), invalid_argument (shape), naming `what` (e.g. the tensor name).
Status check_weight(const WeightView& w, const char* what);

// Bytes of one row of `w` (w already checked).
size_t weight_row_bytes(const WeightView& w);

}  // namespace tessera::backend::cpu
