#include "backend/cuda/cuda_memory.h"

#include <cuda_runtime_api.h>

#include "backend/cuda/cuda_status.h"

namespace tessera::cuda {
namespace {

class DeviceBuffer final : public backend::Buffer {
 public:
  DeviceBuffer(void* data, size_t size, int device, std::shared_ptr<backend::MemoryAccount> account)
      : Buffer(data, size), device_(device), account_(std::move(account)) {}
  ~DeviceBuffer() override {
    if (data() != nullptr) {
      DeviceScope scope(device_);
      cudaFree(data());  // waits for the device's work that may still use the bytes
    }
    account_->release(size(), false);
  }
  void* host_data() const override { return nullptr; }

 private:
  int device_;
  std::shared_ptr<backend::MemoryAccount> account_;
};

}  // namespace

Result<std::unique_ptr<backend::Buffer>> device_alloc(const DevicePool& pool, size_t bytes,
                                                      std::string_view what) {
  TESSERA_TRY(pool.account->reserve(bytes, false, what, pool.name));
  void* p = nullptr;
  if (bytes > 0) {
    DeviceScope scope(pool.device);
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaSuccess) e = cudaMemset(p, 0, bytes);
    if (e != cudaSuccess) {
      if (p != nullptr) cudaFree(p);
      cudaGetLastError();  // an allocation failure is not sticky; clear it
      pool.account->release(bytes, false);
      if (e != cudaErrorMemoryAllocation) return cuda_error(e, std::string(what));
      size_t free_bytes = 0;
      size_t total = 0;
      cudaMemGetInfo(&free_bytes, &total);
      return make_error(ErrorCode::out_of_range,
                        std::string(what) + ": " + mib(bytes) + " does not fit on " + pool.name +
                            ": the device has " + mib(free_bytes) + " free of " + mib(total) +
                            " (other models or processes hold the rest; tessera gpu ls shows "
                            "them)");
    }
  }
  return std::unique_ptr<backend::Buffer>(new DeviceBuffer(p, bytes, pool.device, pool.account));
}

}  // namespace tessera::cuda
