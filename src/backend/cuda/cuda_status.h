// CUDA and cuBLAS failures as the project's error values (util/result.h), and the device
// errors kernels flag (device_errors.h) as messages. Host code of the plugin (g++).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>
#include <string_view>

#include "util/result.h"

namespace tessera::cuda {

// "<what>: <CUDA's name and text of `e`>"; an error of the device (an illegal address, a
// kernel fault) also says that the GPU context is lost until the process restarts.
Error cuda_error(cudaError_t e, std::string_view what);
Error cublas_error(cublasStatus_t s, std::string_view what);
// The op names and problems behind a device error word (device_errors.h flags).
std::string device_error_message(unsigned flags);
// "12.3 MiB"
std::string mib(size_t bytes);

// Makes `device` current on the calling thread for its lifetime (CUDA keeps a current device
// per thread; every entry point of the backend sets its own).
class DeviceScope {
 public:
  explicit DeviceScope(int device) { cudaSetDevice(device); }
};

}  // namespace tessera::cuda
