#include "engine/llm/weight_binder.h"

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

}  // namespace tessera::engine
