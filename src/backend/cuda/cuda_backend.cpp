// CudaBackend: one CUDA device behind the Backend interface (backend/backend.h), and the
// plugin's entry point that makes it (gpu/cuda_plugin_abi.h).
#include <cuda_runtime_api.h>

#include <cstdio>
#include <string>

#include "backend/cuda/cuda_memory.h"
#include "backend/cuda/cuda_status.h"
#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/quant_matvec.h"
#include "gpu/cuda_plugin_abi.h"

namespace tessera::cuda {
namespace {

class CudaBackend final : public backend::Backend {
 public:
  explicit CudaBackend(int device) {
    pool_.device = device;
    pool_.name = "cuda:" + std::to_string(device);
    pool_.account = account_;
  }

  std::string_view name() const override { return pool_.name; }
  backend::DeviceKind kind() const override { return backend::DeviceKind::cuda; }
  bool supports_weight_type(gguf::TensorType type) const override {
    return cuda_weight_type_supported(static_cast<int>(type));
  }

  Result<std::unique_ptr<backend::Buffer>> alloc(size_t bytes, std::string_view what) override {
    return device_alloc(pool_, bytes, what);
  }

  // Weights are copied to the device; the host bytes may go as soon as this returns.
  Result<std::unique_ptr<backend::Buffer>> import_host(const void* host, size_t bytes,
                                                       std::string_view what) override {
    TESSERA_TRY_ASSIGN(buf, device_alloc(pool_, bytes, what));
    if (bytes > 0) {
      DeviceScope scope(pool_.device);
      if (cudaError_t e = cudaMemcpy(buf->data(), host, bytes, cudaMemcpyHostToDevice);
          e != cudaSuccess) {
        return cuda_error(e, std::string(what) + ": copying to " + pool_.name);
      }
    }
    return buf;
  }

  Result<std::unique_ptr<backend::Stream>> create_stream(
      const backend::StreamOptions& options) override {
    if (options.n_threads < 0) {
      return make_error(ErrorCode::invalid_argument,
                        "thread count " + std::to_string(options.n_threads) + " is negative");
    }
    return CudaStream::create(pool_);
  }

 private:
  DevicePool pool_;
};

void set_error(char* error, size_t size, const std::string& text) {
  if (error != nullptr && size > 0) std::snprintf(error, size, "%s", text.c_str());
}

}  // namespace
}  // namespace tessera::cuda

extern "C" __attribute__((visibility("default"))) tessera::backend::Backend*
tessera_cuda_backend_create(int interface_version, int device, char* error, size_t error_size) {
  using namespace tessera;
  if (interface_version != backend::kBackendInterfaceVersion) {
    cuda::set_error(error, error_size,
                    "libtessera_cuda.so implements backend interface " +
                        std::to_string(backend::kBackendInterfaceVersion) +
                        ", the binary expects " + std::to_string(interface_version) +
                        ": install the plugin of the same build as the binary");
    return nullptr;
  }
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    cudaGetLastError();
    cuda::set_error(error, error_size, cuda::cuda_error(e, "cudaGetDeviceCount").message);
    return nullptr;
  }
  if (device < 0 || device >= count) {
    cuda::set_error(error, error_size,
                    "no CUDA device " + std::to_string(device) + " (the runtime sees " +
                        std::to_string(count) + "; CUDA_VISIBLE_DEVICES selects them)");
    return nullptr;
  }
  cuda::DeviceScope scope(device);
  if (cudaError_t e = cudaFree(nullptr); e != cudaSuccess) {  // creates the context now
    cudaGetLastError();
    cuda::set_error(
        error, error_size,
        cuda::cuda_error(e, "creating a CUDA context on device " + std::to_string(device)).message);
    return nullptr;
  }
  return new cuda::CudaBackend(device);
}
