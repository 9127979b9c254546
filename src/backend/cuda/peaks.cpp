// The plugin's measurement of a device's reference figures (gpu/cuda_plugin_abi.h,
// tessera_cuda_measure_peaks): what the benchmarks divide by.
//   copy bandwidth — cudaMemcpyAsync of 1 GiB device to device, best of 10, counting the bytes
//                    read and the bytes written;
//   BF16 peak      — cublasGemmEx of 8192^3 BF16 inputs with f32 accumulation, best of 10.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <string>

#include "backend/cuda/cuda_status.h"

namespace tessera::cuda {
namespace {

struct Timer {
  cudaEvent_t start = nullptr, stop = nullptr;
  Timer() {
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
  }
  ~Timer() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
};

// Best seconds of `reps` runs of `body` on stream `s`.
template <class Body>
Result<double> best_seconds(cudaStream_t s, int reps, Body body) {
  Timer t;
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    cudaEventRecord(t.start, s);
    TESSERA_TRY(body());
    cudaEventRecord(t.stop, s);
    if (cudaError_t e = cudaEventSynchronize(t.stop); e != cudaSuccess) {
      return cuda_error(e, "timing");
    }
    float ms = 0;
    cudaEventElapsedTime(&ms, t.start, t.stop);
    if (ms > 0 && ms / 1e3 < best) best = ms / 1e3;
  }
  return best;
}

struct DeviceMemory {
  void* p = nullptr;
  ~DeviceMemory() { cudaFree(p); }
};

Result<double> copy_gbps(cudaStream_t s) {
  const size_t bytes = size_t{1} << 30;
  DeviceMemory a, b;
  if (cudaError_t e = cudaMalloc(&a.p, bytes); e != cudaSuccess) return cuda_error(e, "copy test");
  if (cudaError_t e = cudaMalloc(&b.p, bytes); e != cudaSuccess) return cuda_error(e, "copy test");
  cudaMemsetAsync(a.p, 1, bytes, s);
  TESSERA_TRY_ASSIGN(
      sec, best_seconds(s, 10, [&]() -> Status {
        if (cudaError_t e = cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice, s);
            e != cudaSuccess) {
          return cuda_error(e, "copy test");
        }
        return {};
      }));
  return 2.0 * static_cast<double>(bytes) / sec / 1e9;
}

Result<double> bf16_tflops(cudaStream_t s) {
  const int n = 8192;
  const size_t bytes = size_t{n} * n * 2;
  DeviceMemory a, b, c;
  for (DeviceMemory* m : {&a, &b, &c}) {
    if (cudaError_t e = cudaMalloc(&m->p, bytes); e != cudaSuccess)
      return cuda_error(e, "GEMM test");
    cudaMemsetAsync(m->p, 0, bytes, s);
  }
  cublasHandle_t h = nullptr;
  if (cublasStatus_t st = cublasCreate(&h); st != CUBLAS_STATUS_SUCCESS) {
    return cublas_error(st, "GEMM test");
  }
  cublasSetStream(h, s);
  const float one = 1.0f, zero = 0.0f;
  auto sec = best_seconds(s, 10, [&]() -> Status {
    const cublasStatus_t st = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, a.p,
                                           CUDA_R_16BF, n, b.p, CUDA_R_16BF, n, &zero, c.p,
                                           CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS) return cublas_error(st, "GEMM test");
    return {};
  });
  cublasDestroy(h);
  if (!sec.ok()) return sec.error();
  return 2.0 * n * static_cast<double>(n) * n / *sec / 1e12;
}

}  // namespace
}  // namespace tessera::cuda

extern "C" __attribute__((visibility("default"))) int tessera_cuda_measure_peaks(
    int device, double* copy_gbps, double* bf16_tflops, char* error, size_t error_size) {
  using namespace tessera;
  cuda::DeviceScope scope(device);
  cudaStream_t s = nullptr;
  if (cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking); e != cudaSuccess) {
    std::snprintf(error, error_size, "%s", cuda::cuda_error(e, "measuring peaks").message.c_str());
    return 1;
  }
  auto copy = cuda::copy_gbps(s);
  auto gemm = copy.ok() ? cuda::bf16_tflops(s) : Result<double>(copy.error());
  cudaStreamDestroy(s);
  if (!gemm.ok()) {
    std::snprintf(error, error_size, "%s", gemm.error().message.c_str());
    return 1;
  }
  *copy_gbps = *copy;
  *bf16_tflops = *gemm;
  return 0;
}
