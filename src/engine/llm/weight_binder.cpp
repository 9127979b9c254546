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

Result<std::string_view> read_architecture(const gguf::GgufFile& f) {
  auto name = f.get_string("general.architecture");
  if (!name.ok()) {
    return make_error(ErrorCode::malformed,
                      f.name() + ": general.architecture is missing or not a string");
  }
  return *name;
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
  for (const WeightRun& run : runs_) {
    if (t.data < run.host || t.n_bytes > run.bytes ||
        static_cast<size_t>(t.data - run.host) > run.bytes - t.n_bytes) {
      continue;
    }
    auto* data = static_cast<uint8_t*>(run.data) + (t.data - run.host);
    return backend::make_tensor(t.type, data, rows, cols);
  }
  return backend::make_tensor(t.type, nullptr, rows, cols);
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
  const backend::Tensor v = tensor(*t, 1, n);
  TESSERA_TRY(backend::check_tensor(v, (f_.name() + ": tensor " + name).c_str()));
  return v;
}

Status check_backend_options(const LoadOptions& options) {
  if (options.backend != nullptr && !options.backends.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "load options name both a backend and a list of backends; set one");
  }
  for (size_t i = 0; i < options.backends.size(); ++i) {
    if (options.backends[i] == nullptr) {
      return make_error(ErrorCode::invalid_argument,
                        "load options: backend " + std::to_string(i) + " of the list is null");
    }
    for (size_t j = 0; j < i; ++j) {
      if (options.backends[j] != options.backends[i]) continue;
      return make_error(ErrorCode::invalid_argument, "load options: backends " + std::to_string(j) +
                                                         " and " + std::to_string(i) +
                                                         " of the list are the same backend");
    }
  }
  return {};
}

Result<std::shared_ptr<backend::Backend>> single_backend(const LoadOptions& options) {
  TESSERA_TRY(check_backend_options(options));
  if (options.backends.size() > 1) {
    return make_error(ErrorCode::unsupported, "an encoder runs on one backend; " +
                                                  std::to_string(options.backends.size()) +
                                                  " were given");
  }
  return options.backends.empty() ? options.backend : options.backends.front();
}

int default_threads(const LoadOptions& options) {
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  return options.n_threads > 0 ? options.n_threads : (hw > 0 ? hw : 1);
}

Result<ModelHome> import_weights(const gguf::GgufFile& f, const LoadOptions& options) {
  ModelHome home;
  TESSERA_TRY_ASSIGN(chosen, single_backend(options));
  if (chosen != nullptr) {
    home.backend = std::move(chosen);
  } else {
    const gpu::BackendChoice& choice = gpu::choose_backend();  // decided and logged once
    home.backend = choice.device != nullptr ? choice.device : backend::make_cpu_backend();
  }
  TESSERA_TRY_ASSIGN(weights, home.backend->import_host(f.tensor_data(), f.tensor_data_size(),
                                                        "weights of " + f.name()));
  home.weights = std::move(weights);
  home.n_threads = default_threads(options);
  return home;
}

Result<backend::Tensor> prepare_matmul_weight(
    backend::Backend& be, const gguf::GgufFile& f, const backend::Tensor& w,
    const std::string& what, bool still_read,
    std::span<const std::unique_ptr<backend::Buffer>> imported,
    std::vector<std::unique_ptr<backend::Buffer>>& keep) {
  TESSERA_TRY_ASSIGN(p, be.prepare_weight(w, what + " of " + f.name()));
  if (p.buffer != nullptr) {
    if (!still_read) {
      f.release_pages(w.data, w.bytes());
      // The backend stops counting the file bytes it no longer reads.
      const auto* at = static_cast<const uint8_t*>(w.data);
      for (const auto& b : imported) {
        const auto* base = static_cast<const uint8_t*>(b->host_data());
        if (base != nullptr && at >= base && at + w.bytes() <= base + b->size()) {
          b->uncharge(w.bytes());
          break;
        }
      }
    }
    keep.push_back(std::move(p.buffer));
  }
  return p.tensor;
}

}  // namespace tessera::engine
