#include "engine/llm/weight_binder.h"

#include <thread>

#include "backend/cpu/cpu_backend.h"
#include "gpu/backend_choice.h"

namespace tessera::engine {

std::string shape_string(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

std::string shape_string(const gguf::TensorInfo& t) {
  return shape_string(std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims));
}

// Finds `name` and checks its shape (ggml order). Returns nullptr (no error) when absent and
// optional.
Result<const gguf::TensorInfo*> find_checked(const gguf::GgufFile& f, const std::string& name,
                                             const std::vector<int64_t>& ne, bool optional) {
  const gguf::TensorInfo* t = f.find_tensor(name);
  if (t == nullptr) {
    if (optional) return static_cast<const gguf::TensorInfo*>(nullptr);
    return make_error(
        ErrorCode::malformed,
        f.name() + ": tensor " + name + " is missing (expected shape " + shape_string(ne) + ")");
  }
  bool same = t->n_dims == ne.size();
  for (size_t i = 0; same && i < ne.size(); ++i) same = t->ne[i] == ne[i];
  if (!same) {
    return make_error(ErrorCode::malformed, f.name() + ": tensor " + name + " has shape " +
                                                shape_string(*t) + ", expected " +
                                                shape_string(ne));
  }
  return t;
}

backend::Tensor Binder::tensor(const gguf::TensorInfo& t, int64_t rows, int64_t cols) const {
  auto* data =
      static_cast<uint8_t*>(weights_.data()) + static_cast<size_t>(t.data - f_.tensor_data());
  return backend::make_tensor(t.type, data, rows, cols);
}

Result<backend::Tensor> Binder::matrix(const std::string& name, int64_t cols, int64_t rows,
                                       bool optional) const {
  TESSERA_TRY_ASSIGN(t, find_checked(f_, name, {cols, rows}, optional));
  if (t == nullptr) return backend::Tensor{};
  if (!be_.supports_weight_type(t->type)) {
    const char* type = gguf::tensor_type_name(t->type);
    return make_error(ErrorCode::unsupported, f_.name() + ": tensor " + name + " has type " +
                                                  std::string(type ? type : "unknown") +
                                                  ", which the " + std::string(be_.name()) +
                                                  " backend cannot use");
  }
  const backend::Tensor w = tensor(*t, rows, cols);
  TESSERA_TRY(backend::check_tensor(w, (f_.name() + ": tensor " + name).c_str()));
  return w;
}

Result<backend::Tensor> Binder::vector(const std::string& name, int64_t n, bool optional) const {
  TESSERA_TRY_ASSIGN(t, find_checked(f_, name, {n}, optional));
  if (t == nullptr) return backend::Tensor{};
  if (t->type != gguf::TensorType::F32) {
    const char* type = gguf::tensor_type_name(t->type);
    return make_error(ErrorCode::unsupported, f_.name() + ": tensor " + name + " has type " +
                                                  std::string(type ? type : "unknown") +
                                                  ", expected F32");
  }
  return tensor(*t, 1, n);
}

Result<ModelHome> import_weights(const gguf::GgufFile& f, const LoadOptions& options) {
  ModelHome home;
  if (options.backend) {
    home.backend = options.backend;
  } else {
    gpu::choose_backend();  // decided and logged once per process; the CPU for now (#8)
    home.backend = backend::make_cpu_backend();
  }
  TESSERA_TRY_ASSIGN(weights, home.backend->import_host(f.tensor_data(), f.tensor_data_size(),
                                                        "weights of " + f.name()));
  home.weights = std::move(weights);
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  home.n_threads = options.n_threads > 0 ? options.n_threads : (hw > 0 ? hw : 1);
  return home;
}

Result<backend::Tensor> prepare_matmul_weight(backend::Backend& be, const gguf::GgufFile& f,
                                              const backend::Tensor& w, const std::string& what,
                                              bool still_read,
                                              std::vector<std::unique_ptr<backend::Buffer>>& keep) {
  TESSERA_TRY_ASSIGN(p, be.prepare_weight(w, what + " of " + f.name()));
  if (p.buffer != nullptr) {
    if (!still_read) f.release_pages(w.data, w.bytes());
    keep.push_back(std::move(p.buffer));
  }
  return p.tensor;
}

}  // namespace tessera::engine
