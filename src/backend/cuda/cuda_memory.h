// Device memory of the CUDA backend: every byte the backend takes on a GPU (weights, KV caches,
// activations, a stream's scratch and cuBLAS workspace) is a DeviceBuffer made here, counted in
// the backend's MemoryAccount before cudaMalloc is asked, so the account's limit is a hard cap
// on the pool (the scheduler's budget for a model or a slice) and memory() is the truth.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "backend/backend.h"
#include "util/result.h"

namespace tessera::cuda {

// Where allocations go and are counted. Copyable; the account is shared with the buffers.
struct DevicePool {
  int device = 0;
  std::string name;  // "cuda:0"
  std::shared_ptr<backend::MemoryAccount> account;
};

// `bytes` of zeroed device memory (a null buffer of size 0 when bytes is 0). Errors:
// out_of_range when the account's limit would be passed or the device has no room (with the
// device's free and total memory); never an abort. The buffer frees its memory and returns
// its bytes to the account when destroyed.
Result<std::unique_ptr<backend::Buffer>> device_alloc(const DevicePool& pool, size_t bytes,
                                                      std::string_view what);

}  // namespace tessera::cuda
