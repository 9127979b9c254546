// Binding a model file's tensors as backend tensors (internal to engine/llm): each tensor is
// looked up by name, its shape (ggml order) and type checked, and viewed inside the buffer the
// file's tensor data section was imported into. Errors name the file and the tensor.
#pragma once

#include <string>
#include <vector>

#include "backend/backend.h"
#include "engine/llm/llm.h"
#include "gguf/reader.h"
#include "util/result.h"

namespace tessera::engine {

// "[a, b, c]" of a shape in ggml order.
std::string shape_string(const std::vector<int64_t>& ne);
std::string shape_string(const gguf::TensorInfo& t);

// Finds `name` and checks its shape (ggml order). Returns nullptr (no error) when absent and
// optional. Errors (malformed): missing, or another shape (both shapes named).
Result<const gguf::TensorInfo*> find_checked(const gguf::GgufFile& f, const std::string& name,
                                             const std::vector<int64_t>& ne, bool optional);

// The tensors of one file as backend tensors inside the imported data section.
class Binder {
 public:
  Binder(const gguf::GgufFile& f, const backend::Backend& be, const backend::Buffer& weights)
      : f_(f), be_(be), weights_(weights) {}

  backend::Tensor tensor(const gguf::TensorInfo& t, int64_t rows, int64_t cols) const;
  // A matrix of `rows` x `cols` (ggml ne = {cols, rows}) of a type the backend reads; absent
  // (no error) when optional and missing. Errors: unsupported type, shape.
  Result<backend::Tensor> matrix(const std::string& name, int64_t cols, int64_t rows,
                                 bool optional = false) const;
  // An F32 vector of n values (1 x n); absent (no error) when optional and missing.
  Result<backend::Tensor> vector(const std::string& name, int64_t n, bool optional = false) const;

 private:
  const gguf::GgufFile& f_;
  const backend::Backend& be_;
  const backend::Buffer& weights_;
};

// The backend a model runs on (the options' one, or a new CPU backend) with the file's tensor
// data section imported into it, and the model's default thread count.
struct ModelHome {
  std::shared_ptr<backend::Backend> backend;
  std::unique_ptr<backend::Buffer> weights;
  int n_threads = 1;
};
Result<ModelHome> import_weights(const gguf::GgufFile& f, const LoadOptions& options);

// `w` in the backend's preferred arrangement (Backend::prepare_weight). A copy's buffer goes
// to `keep`, and the file pages of the original are given back unless `still_read` (e.g. an
// embedding table that get_rows keeps reading).
Result<backend::Tensor> prepare_matmul_weight(backend::Backend& be, const gguf::GgufFile& f,
                                              const backend::Tensor& w, const std::string& what,
                                              bool still_read,
                                              std::vector<std::unique_ptr<backend::Buffer>>& keep);

}  // namespace tessera::engine
