// Elementwise kernels and row softmax (elementwise.h). Divisions and the f32 products that
// the CPU rounds one at a time use the _rn intrinsics, so that the results do not depend on
// compiler contraction or fast-math flags.
#include <cmath>
#include <cstdint>

#include "backend/cuda/elementwise.h"
#include "backend/cuda/reduce.cuh"

namespace tessera::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;  // grid-stride loops cover the rest

int blocks_for(int64_t work, int64_t per_block) {
  const int64_t b = (work + per_block - 1) / per_block;
  return static_cast<int>(b < 1 ? 1 : b > kMaxBlocks ? kMaxBlocks : b);
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

// ---- the scalar functions

__device__ __forceinline__ float silu_f32(float x) {
  return __fdiv_rn(x, 1.0f + expf(-x));
}

__device__ __forceinline__ float gelu_f32(float x) {
  const float x3 = __fmul_rn(__fmul_rn(x, x), x);
  const float z = __fmul_rn(0.79788456080286535587989211986876f, fmaf(0.044715f, x3, x));
  return __fdiv_rn(x, 1.0f + expf(__fmul_rn(-2.0f, z)));
}

struct AddOp {
  __device__ float operator()(float a, float b) const { return __fadd_rn(a, b); }
};
struct MulOp {
  __device__ float operator()(float a, float b) const { return __fmul_rn(a, b); }
};
struct SwigluOp {
  __device__ float operator()(float g, float u) const { return __fmul_rn(silu_f32(g), u); }
};
struct ScaleOp {
  float s;
  __device__ float operator()(float x) const { return __fmul_rn(x, s); }
};
struct SiluOp {
  __device__ float operator()(float x) const { return silu_f32(x); }
};
struct GeluOp {
  __device__ float operator()(float x) const { return gelu_f32(x); }
};

// ---- maps over n values. kVec: the pointers are 16-byte aligned, so the first n / 4 * 4
// values go as float4 and the first (n % 4) threads of the grid do the tail.

template <bool kVec, class Op>
__global__ void unary_kernel(const float* x, float* out, int64_t n, Op op) {
  const int64_t id = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if constexpr (kVec) {
    const int64_t n4 = n / 4;
    const auto* x4 = reinterpret_cast<const float4*>(x);
    auto* o4 = reinterpret_cast<float4*>(out);
    for (int64_t i = id; i < n4; i += step) {
      const float4 v = x4[i];
      o4[i] = make_float4(op(v.x), op(v.y), op(v.z), op(v.w));
    }
    done = n4 * 4;
  }
  for (int64_t i = done + id; i < n; i += step) out[i] = op(x[i]);
}

template <bool kVec, class Op>
__global__ void binary_kernel(const float* a, const float* b, float* out, int64_t n, Op op) {
  const int64_t id = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if constexpr (kVec) {
    const int64_t n4 = n / 4;
    const auto* a4 = reinterpret_cast<const float4*>(a);
    const auto* b4 = reinterpret_cast<const float4*>(b);
    auto* o4 = reinterpret_cast<float4*>(out);
    for (int64_t i = id; i < n4; i += step) {
      const float4 u = a4[i];
      const float4 v = b4[i];
      o4[i] = make_float4(op(u.x, v.x), op(u.y, v.y), op(u.z, v.z), op(u.w, v.w));
    }
    done = n4 * 4;
  }
  for (int64_t i = done + id; i < n; i += step) out[i] = op(a[i], b[i]);
}

template <class Op>
void launch_unary(cudaStream_t stream, const float* x, float* out, int64_t n, Op op) {
  if (n <= 0) return;
  if (aligned16(x) && aligned16(out)) {
    unary_kernel<true><<<blocks_for(n / 4 + 1, kThreads), kThreads, 0, stream>>>(x, out, n, op);
  } else {
    unary_kernel<false><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(x, out, n, op);
  }
}

template <class Op>
void launch_binary(cudaStream_t stream, const float* a, const float* b, float* out, int64_t n,
                   Op op) {
  if (n <= 0) return;
  if (aligned16(a) && aligned16(b) && aligned16(out)) {
    binary_kernel<true><<<blocks_for(n / 4 + 1, kThreads), kThreads, 0, stream>>>(a, b, out, n, op);
  } else {
    binary_kernel<false><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(a, b, out, n, op);
  }
}

// ---- add_row: blocks of the grid's x dimension walk the columns, its y dimension the rows.

template <bool kVec>
__global__ void add_row_kernel(const float* a, const float* row, float* out, int64_t n_rows,
                               int64_t n_cols) {
  const int64_t c0 = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t c_step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = blockIdx.y; r < n_rows; r += gridDim.y) {
    if constexpr (kVec) {  // n_cols % 4 == 0 and every pointer 16-byte aligned
      const auto* a4 = reinterpret_cast<const float4*>(a + r * n_cols);
      const auto* w4 = reinterpret_cast<const float4*>(row);
      auto* o4 = reinterpret_cast<float4*>(out + r * n_cols);
      for (int64_t c = c0; c < n_cols / 4; c += c_step) {
        const float4 u = a4[c];
        const float4 v = w4[c];
        o4[c] = make_float4(__fadd_rn(u.x, v.x), __fadd_rn(u.y, v.y), __fadd_rn(u.z, v.z),
                            __fadd_rn(u.w, v.w));
      }
    } else {
      const float* ar = a + r * n_cols;
      float* orow = out + r * n_cols;
      for (int64_t c = c0; c < n_cols; c += c_step) orow[c] = __fadd_rn(ar[c], row[c]);
    }
  }
}

// ---- softmax: a warp per row for short rows, a block per row for long ones.

template <int kGroup>
__global__ void softmax_kernel(const float* x, float* out, int64_t n_rows, int64_t n_cols) {
  __shared__ float max_scratch[kThreads / 32];
  __shared__ double sum_scratch[kThreads / 32];
  const int groups = blockDim.x / kGroup;
  const int lane = threadIdx.x % kGroup;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * groups + threadIdx.x / kGroup;
  const int64_t step = static_cast<int64_t>(gridDim.x) * groups;
  for (int64_t r = first; r < n_rows; r += step) {
    const float* xr = x + r * n_cols;
    float* yr = out + r * n_cols;
    float m = -INFINITY;
    for (int64_t c = lane; c < n_cols; c += kGroup) m = fmaxf(m, xr[c]);
    m = group_max<kGroup>(m, max_scratch);
    if (m == -INFINITY) {
      for (int64_t c = lane; c < n_cols; c += kGroup) yr[c] = 0.0f;
      continue;
    }
    // Each thread writes exp(x - max) over the same columns it read, so in place is safe.
    double sum = 0.0;
    for (int64_t c = lane; c < n_cols; c += kGroup) {
      const float e = expf(xr[c] - m);
      yr[c] = e;
      sum += e;
    }
    sum = group_sum<kGroup>(sum, sum_scratch);
    const auto inv = static_cast<float>(1.0 / sum);
    for (int64_t c = lane; c < n_cols; c += kGroup) yr[c] = __fmul_rn(yr[c], inv);
  }
}

}  // namespace

void launch_add(cudaStream_t stream, const float* a, const float* b, float* out, int64_t n) {
  launch_binary(stream, a, b, out, n, AddOp{});
}

void launch_mul(cudaStream_t stream, const float* a, const float* b, float* out, int64_t n) {
  launch_binary(stream, a, b, out, n, MulOp{});
}

void launch_scale(cudaStream_t stream, const float* x, float scale, float* out, int64_t n) {
  launch_unary(stream, x, out, n, ScaleOp{scale});
}

void launch_gelu(cudaStream_t stream, const float* x, float* out, int64_t n) {
  launch_unary(stream, x, out, n, GeluOp{});
}

void launch_silu(cudaStream_t stream, const float* x, float* out, int64_t n) {
  launch_unary(stream, x, out, n, SiluOp{});
}

void launch_swiglu(cudaStream_t stream, const float* gate, const float* up, float* out, int64_t n) {
  launch_binary(stream, gate, up, out, n, SwigluOp{});
}

void launch_add_row(cudaStream_t stream, const float* a, const float* row, float* out,
                    int64_t n_rows, int64_t n_cols) {
  if (n_rows <= 0 || n_cols <= 0) return;
  const bool vec = n_cols % 4 == 0 && aligned16(a) && aligned16(row) && aligned16(out);
  const int64_t col_work = vec ? n_cols / 4 : n_cols;
  const dim3 grid(blocks_for(col_work, kThreads),
                  static_cast<unsigned>(n_rows < 65535 ? n_rows : 65535));
  if (vec) {
    add_row_kernel<true><<<grid, kThreads, 0, stream>>>(a, row, out, n_rows, n_cols);
  } else {
    add_row_kernel<false><<<grid, kThreads, 0, stream>>>(a, row, out, n_rows, n_cols);
  }
}

void launch_softmax(cudaStream_t stream, const float* x, float* out, int64_t n_rows,
                    int64_t n_cols) {
  if (n_rows <= 0 || n_cols <= 0) return;
  if (n_cols <= 1024) {
    softmax_kernel<32>
        <<<blocks_for(n_rows, kThreads / 32), kThreads, 0, stream>>>(x, out, n_rows, n_cols);
  } else {
    softmax_kernel<kThreads>
        <<<blocks_for(n_rows, 1), kThreads, 0, stream>>>(x, out, n_rows, n_cols);
  }
}

}  // namespace tessera::cuda
