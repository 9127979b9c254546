// Warp and block reductions shared by the row kernels (elementwise.cu, norm_rope.cu). Device
// code: included by .cu files only.
#pragma once

#include <cmath>

namespace tessera::cuda {

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Rows go to groups of kGroup threads: a warp (kGroup 32) or the whole block (kGroup ==
// blockDim.x). The block forms combine the warps' results through `scratch` (one slot per
// warp); every thread of a group gets the result.
template <int kGroup>
__device__ float group_max(float v, float* scratch) {
  v = warp_max(v);
  if constexpr (kGroup == 32) {
    return v;
  } else {
    __syncthreads();  // the previous use of scratch is over
    if ((threadIdx.x & 31) == 0) scratch[threadIdx.x / 32] = v;
    __syncthreads();
    float m = scratch[0];
    for (int w = 1; w < kGroup / 32; ++w) m = fmaxf(m, scratch[w]);
    return m;
  }
}

template <int kGroup>
__device__ double group_sum(double v, double* scratch) {
  v = warp_sum(v);
  if constexpr (kGroup == 32) {
    return v;
  } else {
    __syncthreads();
    if ((threadIdx.x & 31) == 0) scratch[threadIdx.x / 32] = v;
    __syncthreads();
    double s = 0.0;
    for (int w = 0; w < kGroup / 32; ++w) s += scratch[w];
    return s;
  }
}

}  // namespace tessera::cuda
