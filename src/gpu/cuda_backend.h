// The CUDA backend as the runtime sees it: made by this build's plugin (libtessera_cuda.so,
// found as gpu/cuda_probe.h says), which the process loads once and keeps. Nothing here links
// CUDA: a host without the plugin, a driver or a GPU gets an error value saying which.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "util/result.h"

namespace tessera::gpu {

// A backend over CUDA device `device` (the runtime's numbering, after CUDA_VISIBLE_DEVICES).
// Each call makes a new backend with its own memory account. Errors: unsupported (no plugin,
// a plugin of another interface version, no driver, no such device; the message says which
// and what to do).
Result<std::shared_ptr<backend::Backend>> make_cuda_backend(int device);

// The reference figures of one device the GPU benchmarks compare with (measured when called).
struct CudaPeaks {
  double copy_gbps = 0;    // device-to-device copy: (bytes read + bytes written) per second
  double bf16_tflops = 0;  // dense BF16 GEMM through cuBLAS
};
Result<CudaPeaks> measure_cuda_peaks(int device);

}  // namespace tessera::gpu
