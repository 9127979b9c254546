// Binding a model file's tensors as backend tensors (internal to engine/llm): each tensor is
// looked up by name, its shape (ggml order) and type checked, and viewed inside what a backend
// imported of the file's tensor data (the whole section, or runs of tensors of a split model's
// device). Errors name the file and the tensor.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
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

// The file's general.architecture. Errors (malformed): missing or not a string.
Result<std::string_view> read_architecture(const gguf::GgufFile& f);

// Finds `name` and checks its shape (ggml order). Returns nullptr (no error) when absent and
// optional. Errors (malformed): missing, or another shape (both shapes named).
Result<const gguf::TensorInfo*> find_checked(const gguf::GgufFile& f, const std::string& name,
                                             const std::vector<int64_t>& ne, bool optional);

// A piece of a file's tensor data imported into a backend: the host bytes [host, host + bytes)
// are at `data` in the backend's memory.
struct WeightRun {
  const uint8_t* host = nullptr;
  size_t bytes = 0;
  void* data = nullptr;
};

// The tensors of one file as backend tensors inside the pieces of its data imported into one
// backend (the whole data section, or the runs of tensors a device of a split model holds).
// Binding a tensor outside every run is an error (invalid_argument, names the tensor).
class Binder {
 public:
  // The whole data section imported as `weights`.
  Binder(const gguf::GgufFile& f, const backend::Backend& be, const backend::Buffer& weights)
      : f_(f),
        be_(be),
        whole_{f.tensor_data(), weights.size(), weights.data()},
        runs_(&whole_, 1) {}
  // `runs` must outlive the binder.
  Binder(const gguf::GgufFile& f, const backend::Backend& be, std::span<const WeightRun> runs)
      : f_(f), be_(be), runs_(runs) {}
  Binder(const Binder&) = delete;
  Binder& operator=(const Binder&) = delete;

  // `t` inside the runs; no data (absent) when no run holds it.
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
  WeightRun whole_;
  std::span<const WeightRun> runs_;
};

// Checks LoadOptions' backends. Errors (invalid_argument): both `backend` and `backends` set,
// a null entry, a backend listed twice.
Status check_backend_options(const LoadOptions& options);
// The one backend of LoadOptions (`backend`, or the single entry of `backends`). Null when the
// options name none. Errors: check_backend_options()'s; unsupported when `backends` has
// several entries (callers that split check that first).
Result<std::shared_ptr<backend::Backend>> single_backend(const LoadOptions& options);
// The model's default thread count (LoadOptions::n_threads, else one per core).
int default_threads(const LoadOptions& options);

// The backend a model runs on (the options' one, or the one gpu::choose_backend() picks) with
// the file's tensor data section imported into it, and the model's default thread count.
// Errors: those of single_backend(), the data not fitting the backend.
struct ModelHome {
  std::shared_ptr<backend::Backend> backend;
  std::unique_ptr<backend::Buffer> weights;
  int n_threads = 1;
};
Result<ModelHome> import_weights(const gguf::GgufFile& f, const LoadOptions& options);

// `w` in the backend's preferred arrangement (Backend::prepare_weight). A copy's buffer goes
// to `keep`, and the file pages of the original are given back unless `still_read` (e.g. an
// embedding table that get_rows keeps reading); the buffer of `imported` that holds them then
// stops counting them (Buffer::uncharge), so the backend's account is what stays resident.
Result<backend::Tensor> prepare_matmul_weight(
    backend::Backend& be, const gguf::GgufFile& f, const backend::Tensor& w,
    const std::string& what, bool still_read,
    std::span<const std::unique_ptr<backend::Buffer>> imported,
    std::vector<std::unique_ptr<backend::Buffer>>& keep);

}  // namespace tessera::engine
