#include "gpu/cuda_backend.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "gpu/cuda_probe.h"

namespace tessera::gpu {
namespace {

// The plugin, probed and loaded once per process (it stays loaded).
const CudaPluginProbe& plugin() {
  static const CudaPluginProbe p = probe_cuda_plugin();
  return p;
}

// The plugin's function `name` (cast by the caller to its type in gpu/cuda_plugin_abi.h).
Result<void*> entry(const char* name) {
  const CudaPluginProbe& p = plugin();
  if (!p.loaded) return make_error(ErrorCode::unsupported, p.error);
  void* fn = dlsym(p.handle, name);
  if (fn == nullptr) {
    return make_error(ErrorCode::unsupported, p.path + " has no " + name +
                                                  " (a plugin of another version): install "
                                                  "the plugin of the same build as the binary");
  }
  return fn;
}

}  // namespace

Result<std::shared_ptr<backend::Backend>> make_cuda_backend(int device) {
  TESSERA_TRY_ASSIGN(fn, entry("tessera_cuda_backend_create"));
  const auto create = reinterpret_cast<TesseraCudaBackendCreateFn>(fn);
  char error[512] = {};
  backend::Backend* b = create(backend::kBackendInterfaceVersion, device, error, sizeof error);
  if (b == nullptr) {
    return make_error(ErrorCode::unsupported, std::string("the CUDA backend cannot start: ") +
                                                  error + " (tessera doctor explains)");
  }
  return std::shared_ptr<backend::Backend>(b);
}

Result<CudaPeaks> measure_cuda_peaks(int device) {
  TESSERA_TRY_ASSIGN(fn, entry("tessera_cuda_measure_peaks"));
  const auto measure = reinterpret_cast<TesseraCudaMeasurePeaksFn>(fn);
  char error[512] = {};
  CudaPeaks peaks;
  if (measure(device, &peaks.copy_gbps, &peaks.bf16_tflops, error, sizeof error) != 0) {
    return make_error(ErrorCode::io_error, std::string("measuring the GPU's peaks: ") + error);
  }
  return peaks;
}

}  // namespace tessera::gpu
