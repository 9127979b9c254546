// Tensor: a typed 2-D view into memory a backend owns (a Buffer, see backend.h).
//
// A tensor is `rows` rows of `cols` values of a GGUF type (ggml ne[1] = rows, ne[0] = cols),
// each row a run of the type's blocks, rows back to back with no padding. Activations are F32,
// index arrays I32, weights any type the backend supports. `data` is an address in the
// backend's memory space (a device pointer for a GPU backend): only the backend's Stream may
// dereference it. A Tensor does not own memory and is cheap to copy; the Buffer it points
// into must outlive every op that uses it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/tensor_type.h"
#include "util/result.h"

namespace tessera::backend {

// How a weight matrix's bytes are arranged. `natural`: the GGUF layout above. `rows8` (Q8_0,
// Q4_0, Q5_0) and `rows32` (F16, BF16): the CPU backend's arrangements for its kernels
// (backend/cpu/weight_repack.h), made by Backend::prepare_weight; only matmul reads them.
enum class Layout : uint8_t { natural, rows8, rows32 };

struct Tensor {
  gguf::TensorType type = gguf::TensorType::F32;
  void* data = nullptr;  // null: no tensor (an optional argument that is absent)
  int64_t rows = 0;
  int64_t cols = 0;
  Layout layout = Layout::natural;

  bool present() const { return data != nullptr; }
  // Bytes of one row / of the whole tensor (cols must be whole blocks of the type).
  size_t row_bytes() const;
  size_t bytes() const { return row_bytes() * static_cast<size_t>(rows); }
  // Rows [first, first + n) as a tensor of the same type and width.
  Tensor slice_rows(int64_t first, int64_t n) const;
};

// A tensor of `rows` x `cols` values of `type` at `data`.
inline Tensor make_tensor(gguf::TensorType type, void* data, int64_t rows, int64_t cols) {
  return Tensor{type, data, rows, cols};
}

// Checks that `t` is a well-formed matrix of its type: the type is known, cols is a positive
// multiple of its block size, rows >= 0, data set. Errors: invalid_argument naming `what`.
Status check_tensor(const Tensor& t, const char* what);

}  // namespace tessera::backend
