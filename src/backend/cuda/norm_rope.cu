// RMS / layer normalization and RoPE kernels (norm_rope.h). The f32 steps use the _rn
// intrinsics, so that no product is fused into an FMA the CPU does not do and no fast-math
// flag changes a division or square root.
#include <cmath>
#include <cstdint>

#include "backend/cuda/norm_rope.h"
#include "backend/cuda/reduce.cuh"

namespace tessera::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;    // grid-stride loops cover the rest
constexpr int64_t kWarpRowCols = 1024;  // rows up to this long go one per warp

int blocks_for(int64_t work, int64_t per_block) {
  const int64_t b = (work + per_block - 1) / per_block;
  return static_cast<int>(b < 1 ? 1 : b > kMaxBlocks ? kMaxBlocks : b);
}

// The rows of this thread's group: first, then every step-th. Each thread reads and writes
// only the columns lane, lane + kGroup, ... of a row, so y may equal x.
struct RowSplit {
  int lane;
  int64_t first;
  int64_t step;
};

template <int kGroup>
__device__ RowSplit row_split() {
  const int groups = blockDim.x / kGroup;
  return {static_cast<int>(threadIdx.x % kGroup),
          static_cast<int64_t>(blockIdx.x) * groups + threadIdx.x / kGroup,
          static_cast<int64_t>(gridDim.x) * groups};
}

template <int kGroup>
__global__ void rms_norm_kernel(const float* x, const float* weight, float eps, int64_t n_rows,
                                int64_t n_cols, float* y) {
  __shared__ double scratch[kThreads / 32];
  const RowSplit s = row_split<kGroup>();
  for (int64_t r = s.first; r < n_rows; r += s.step) {
    const float* xr = x + r * n_cols;
    float* yr = y + r * n_cols;
    double sum = 0.0;
    for (int64_t c = s.lane; c < n_cols; c += kGroup) {
      const double v = xr[c];
      sum += v * v;  // exact product of two floats
    }
    sum = group_sum<kGroup>(sum, scratch);
    const auto mean = static_cast<float>(sum / static_cast<double>(n_cols));
    const float scale = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(mean, eps)));
    if (weight != nullptr) {
      for (int64_t c = s.lane; c < n_cols; c += kGroup) {
        yr[c] = __fmul_rn(__fmul_rn(xr[c], scale), weight[c]);
      }
    } else {
      for (int64_t c = s.lane; c < n_cols; c += kGroup) yr[c] = __fmul_rn(xr[c], scale);
    }
  }
}

template <int kGroup>
__global__ void layer_norm_kernel(const float* x, const float* weight, const float* bias, float eps,
                                  int64_t n_rows, int64_t n_cols, float* y) {
  __shared__ double scratch[kThreads / 32];
  const RowSplit s = row_split<kGroup>();
  for (int64_t r = s.first; r < n_rows; r += s.step) {
    const float* xr = x + r * n_cols;
    float* yr = y + r * n_cols;
    double sum = 0.0;
    for (int64_t c = s.lane; c < n_cols; c += kGroup) sum += xr[c];
    sum = group_sum<kGroup>(sum, scratch);
    const double mean = sum / static_cast<double>(n_cols);
    double sq = 0.0;
    for (int64_t c = s.lane; c < n_cols; c += kGroup) {
      const double d = static_cast<double>(xr[c]) - mean;
      sq = __dadd_rn(sq, __dmul_rn(d, d));
    }
    sq = group_sum<kGroup>(sq, scratch);
    const auto variance = static_cast<float>(sq / static_cast<double>(n_cols));
    const float scale = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(variance, eps)));
    const auto meanf = static_cast<float>(mean);
    for (int64_t c = s.lane; c < n_cols; c += kGroup) {
      float v = __fmul_rn(__fsub_rn(xr[c], meanf), scale);
      if (weight != nullptr) v = __fmul_rn(v, weight[c]);
      if (bias != nullptr) v = __fadd_rn(v, bias[c]);
      yr[c] = v;
    }
  }
}

// One block per token (grid-stride). Shared memory: cos[half], then sin[half]; the cos slots
// first hold the thetas, which one thread computes by the CPU's chain of f32 products.
__global__ void rope_kernel(float* x, int64_t n_tokens, int n_heads, int head_dim,
                            const int32_t* pos, bool neox, int half, float theta_scale,
                            float freq_scale, const float* freq_factors) {
  extern __shared__ float cs[];
  float* cos_t = cs;
  float* sin_t = cs + half;
  const int64_t pairs = static_cast<int64_t>(n_heads) * half;
  for (int64_t t = blockIdx.x; t < n_tokens; t += gridDim.x) {
    __syncthreads();  // the previous token's rotation is done with the table
    if (threadIdx.x == 0) {
      float theta = static_cast<float>(pos[t]);
      for (int i = 0; i < half; ++i) {
        cos_t[i] = theta;
        theta = __fmul_rn(theta, theta_scale);
      }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
      const float ff = freq_factors != nullptr ? freq_factors[i] : 1.0f;
      const float angle = __fmul_rn(freq_scale, __fdiv_rn(cos_t[i], ff));
      double sd;
      double cd;
      sincos(static_cast<double>(angle), &sd, &cd);
      cos_t[i] = static_cast<float>(cd);
      sin_t[i] = static_cast<float>(sd);
    }
    __syncthreads();
    float* xt = x + t * n_heads * head_dim;
    for (int64_t k = threadIdx.x; k < pairs; k += blockDim.x) {
      const int64_t h = k / half;
      const int i = static_cast<int>(k - h * half);
      float* v = xt + h * head_dim;
      const int a = neox ? i : 2 * i;
      const int b = neox ? i + half : 2 * i + 1;
      const float x0 = v[a];
      const float x1 = v[b];
      const float c = cos_t[i];
      const float s = sin_t[i];
      v[a] = __fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s));
      v[b] = __fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c));
    }
  }
}

}  // namespace

void launch_rms_norm(cudaStream_t stream, const float* x, const float* weight, float eps,
                     int64_t n_rows, int64_t n_cols, float* y) {
  if (n_rows <= 0 || n_cols <= 0) return;
  if (n_cols <= kWarpRowCols) {
    rms_norm_kernel<32><<<blocks_for(n_rows, kThreads / 32), kThreads, 0, stream>>>(
        x, weight, eps, n_rows, n_cols, y);
  } else {
    rms_norm_kernel<kThreads>
        <<<blocks_for(n_rows, 1), kThreads, 0, stream>>>(x, weight, eps, n_rows, n_cols, y);
  }
}

void launch_layer_norm(cudaStream_t stream, const float* x, const float* weight, const float* bias,
                       float eps, int64_t n_rows, int64_t n_cols, float* y) {
  if (n_rows <= 0 || n_cols <= 0) return;
  if (n_cols <= kWarpRowCols) {
    layer_norm_kernel<32><<<blocks_for(n_rows, kThreads / 32), kThreads, 0, stream>>>(
        x, weight, bias, eps, n_rows, n_cols, y);
  } else {
    layer_norm_kernel<kThreads>
        <<<blocks_for(n_rows, 1), kThreads, 0, stream>>>(x, weight, bias, eps, n_rows, n_cols, y);
  }
}

void launch_rope(cudaStream_t stream, float* x, int64_t n_tokens, int n_heads, int head_dim,
                 const int32_t* pos, int style, int n_rot, float freq_base, float freq_scale,
                 const float* freq_factors) {
  if (n_tokens <= 0 || n_heads <= 0 || n_rot <= 0 || n_rot % 2 != 0 || n_rot > head_dim) return;
  // The host's powf (std::pow of two floats), as the CPU backend computes it.
  const float theta_scale = powf(freq_base, -2.0f / static_cast<float>(n_rot));
  const int half = n_rot / 2;
  const size_t shared = 2 * static_cast<size_t>(half) * sizeof(float);
  rope_kernel<<<blocks_for(n_tokens, 1), 128, shared, stream>>>(
      x, n_tokens, n_heads, head_dim, pos, style == 1, half, theta_scale, freq_scale, freq_factors);
}

}  // namespace tessera::cuda
