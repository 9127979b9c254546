// CudaStream::matmul. Up to kMatvecMaxTokens tokens (decode) the matvec kernels read the
// weight's own blocks once for all tokens (quant_matvec.h), so a token's result does not depend
// on the batch. Past that (prompt processing) cuBLAS multiplies on tensor cores: F16 / BF16
// weights as they are, with the activations rounded to the same type; quantized weights
// dequantized to f16 a slice of rows at a time into scratch; F32 weights in plain f32 (SGEMM).
// The products accumulate in f32. The bias, if any, is added after.
#include <algorithm>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/dequant.h"
#include "backend/cuda/elementwise.h"
#include "backend/cuda/quant_matvec.h"
#include "backend/op_checks.h"

namespace tessera::cuda {
namespace {

using backend::Tensor;
using gguf::TensorType;

constexpr uint64_t kMatmulOp = 100;
// Dequantized weight values per cuBLAS call (32 MiB of f16): a slice of rows of a big matrix
// (the output projection of a large vocabulary) without an f16 copy of all of it.
constexpr int64_t kSliceValues = int64_t{16} << 20;

}  // namespace

void CudaStream::matmul(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor& bias) {
  const bool readable = w.layout == backend::Layout::natural && check_tensor(w, "weight").ok() &&
                        cuda_weight_type_supported(static_cast<int>(w.type));
  if (!fits("matmul", backend::check_matmul(w, readable, x, y, bias))) return;
  sign(kMatmulOp, {&w, &x, &y, &bias});
  const int64_t n = x.rows;
  if (n == 0 || w.rows == 0) return;
  const int type = static_cast<int>(w.type);
  const void* wd = w.data;
  const int64_t rows = w.rows, cols = w.cols;
  const auto* xd = static_cast<const float*>(x.data);
  auto* yd = static_cast<float*>(y.data);
  const auto* bd = bias.present() ? static_cast<const float*>(bias.data) : nullptr;
  if (n <= kMatvecMaxTokens) {
    void* work =
        scratch(kQuantActivations, std::max<size_t>(matvec_scratch_bytes(n, cols), 256), "matmul");
    if (work == nullptr) return;
    const int tokens = static_cast<int>(n);
    enqueue("matmul", [=](cudaStream_t s) {
      launch_matvec(s, type, wd, rows, cols, xd, tokens, yd, bd, work);
    });
    return;
  }
  matmul_gemm(w, x, y);
  if (bd != nullptr) {
    enqueue("matmul bias", [=](cudaStream_t s) { launch_add_row(s, yd, bd, yd, n, rows); });
  }
}

void CudaStream::matmul_gemm(const Tensor& w, const Tensor& x, const Tensor& y) {
  const int m = static_cast<int>(w.rows);
  const int n = static_cast<int>(x.rows);
  const int k = static_cast<int>(w.cols);
  const auto* xd = static_cast<const float*>(x.data);
  auto* yd = static_cast<float*>(y.data);
  const void* wd = w.data;
  cublasHandle_t h = cublas_;
  // y^T (m x n, column-major, ld m) = W (m x k) x^T (k x n). Row-major W is W^T column-major
  // (ld k), hence op T; row-major x is x^T column-major (ld k).
  const auto gemm = [this, h, yd](const char* what, int rows, const void* a, cudaDataType at,
                                  const void* b, cudaDataType bt, int tokens, int depth,
                                  int64_t first_row, int ldc) {
    const float one = 1.0f;
    const float zero = 0.0f;
    const cublasStatus_t st = cublasGemmEx(
        h, CUBLAS_OP_T, CUBLAS_OP_N, rows, tokens, depth, &one, a, at, depth, b, bt, depth, &zero,
        yd + first_row, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS) record(cublas_error(st, what));
  };

  if (w.type == TensorType::F32) {
    enqueue("matmul", [=, this](cudaStream_t) {
      const float one = 1.0f;
      const float zero = 0.0f;
      const cublasStatus_t st = cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one,
                                            static_cast<const float*>(wd), k, xd, k, &zero, yd, m);
      if (st != CUBLAS_STATUS_SUCCESS) record(cublas_error(st, "matmul (f32)"));
    });
    return;
  }
  const bool bf16 = w.type == TensorType::BF16;
  const cudaDataType half_type = bf16 ? CUDA_R_16BF : CUDA_R_16F;
  const int64_t n_x = x.rows * x.cols;
  void* xh = scratch(kHalfActivations, static_cast<size_t>(n_x) * 2, "matmul");
  if (xh == nullptr) return;
  enqueue("matmul activations", [=](cudaStream_t s) {
    if (bf16) {
      launch_f32_to_bf16(s, xd, n_x, xh);
    } else {
      launch_f32_to_f16(s, xd, n_x, xh);
    }
  });
  if (w.type == TensorType::F16 || bf16) {
    enqueue("matmul",
            [=](cudaStream_t) { gemm("matmul", m, wd, half_type, xh, half_type, n, k, 0, m); });
    return;
  }
  const int64_t slice = std::clamp<int64_t>(kSliceValues / k, 1, m);
  void* wh = scratch(kHalfWeights, static_cast<size_t>(slice * k) * 2, "matmul");
  if (wh == nullptr) return;
  const int type = static_cast<int>(w.type);
  for (int64_t first = 0; first < m; first += slice) {
    const int64_t count = std::min<int64_t>(slice, m - first);
    enqueue("matmul", [=](cudaStream_t s) {
      launch_dequantize_rows(s, type, wd, first, count, k, wh);
      gemm("matmul", static_cast<int>(count), wh, CUDA_R_16F, xh, CUDA_R_16F, n, k, first, m);
    });
  }
}

}  // namespace tessera::cuda
