// gather_rows and kv_store kernels (rows.h).
#include <cuda_fp16.h>

#include <cstdint>

#include "backend/cuda/device_errors.h"
#include "backend/cuda/rows.h"

namespace tessera::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int64_t kMaxBlocks = 4096;  // grid-stride loops cover the rest
constexpr int kQ8Block = 32;
constexpr int64_t kQ8BlockBytes = 34;

int blocks_for(int64_t work, int64_t per_block) {
  const int64_t b = (work + per_block - 1) / per_block;
  return static_cast<int>(b < 1 ? 1 : b > kMaxBlocks ? kMaxBlocks : b);
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

__device__ __forceinline__ void report(unsigned* err, unsigned flag) {
  if (err != nullptr) atomicOr(err, flag);
}

// One warp per output row. kVec: cols % 4 == 0 and both bases 16-byte aligned.
template <bool kVec>
__global__ void gather_rows_kernel(const float* src, int64_t src_rows, int64_t cols,
                                   const int32_t* rows, int64_t n, float* out, unsigned* err) {
  const int lane = threadIdx.x & 31;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kWarps;
  for (int64_t i = first; i < n; i += step) {
    const int32_t r = rows[i];
    if (r < 0 || r >= src_rows) {
      if (lane == 0) report(err, kErrRowIndex);
      continue;
    }
    if constexpr (kVec) {
      const auto* s4 = reinterpret_cast<const float4*>(src + r * cols);
      auto* o4 = reinterpret_cast<float4*>(out + i * cols);
      for (int64_t c = lane; c < cols / 4; c += 32) o4[c] = s4[c];
    } else {
      const float* s = src + r * cols;
      float* o = out + i * cols;
      for (int64_t c = lane; c < cols; c += 32) o[c] = s[c];
    }
  }
}

// f32 -> f16 bits, round to nearest even; NaN becomes sign | 0x7e00 as util/half.h writes it
// (the hardware conversion would give its canonical NaN).
__device__ __forceinline__ uint16_t f16_bits(float v) {
  if (isnan(v)) return static_cast<uint16_t>(((__float_as_uint(v) >> 16) & 0x8000u) | 0x7e00u);
  return __half_as_ushort(__float2half_rn(v));
}

// One Q8_0 block of 32 values, one per lane, as gguf/quant_legacy.cpp quantize_q8_0 does it.
__device__ __forceinline__ void store_q8_0_block(float v, uint8_t* block, int lane) {
  float amax = fmaxf(0.0f, fabsf(v));  // fmax drops NaN, as on the CPU
  for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
  const float d = __fdiv_rn(amax, 127.0f);
  const float id = d != 0.0f ? __fdiv_rn(1.0f, d) : 0.0f;
  if (lane == 0) *reinterpret_cast<uint16_t*>(block) = f16_bits(d);
  const float r = roundf(__fmul_rn(v, id));  // half away from zero
  const int q = r > 127.0f ? 127 : r < -128.0f ? -128 : (r == r ? static_cast<int>(r) : 0);
  block[2 + lane] = static_cast<uint8_t>(static_cast<int8_t>(q));
}

// One block per stored row (grid-stride).
template <int kType>
__global__ void kv_store_kernel(const float* rows, int64_t n, int64_t row_len, const int32_t* cells,
                                int64_t n_cells, int64_t row_bytes, uint8_t* cache, unsigned* err) {
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    const int32_t cell = cells[i];
    if (cell < 0 || cell >= n_cells) {
      if (threadIdx.x == 0) report(err, kErrCellIndex);
      continue;
    }
    const float* src = rows + i * row_len;
    uint8_t* dst = cache + cell * row_bytes;
    if constexpr (kType == kKvF16) {
      auto* h = reinterpret_cast<uint16_t*>(dst);
      for (int64_t c = threadIdx.x; c < row_len; c += blockDim.x) h[c] = f16_bits(src[c]);
    } else if constexpr (kType == kKvF32) {
      auto* f = reinterpret_cast<float*>(dst);
      for (int64_t c = threadIdx.x; c < row_len; c += blockDim.x) f[c] = src[c];
    } else {
      const int lane = threadIdx.x & 31;
      const int64_t n_blocks = row_len / kQ8Block;
      for (int64_t b = threadIdx.x / 32; b < n_blocks; b += blockDim.x / 32) {
        store_q8_0_block(src[b * kQ8Block + lane], dst + b * kQ8BlockBytes, lane);
      }
    }
  }
}

}  // namespace

void launch_gather_rows(cudaStream_t stream, const float* src, int64_t src_rows, int64_t cols,
                        const int32_t* rows, int64_t n, float* out, unsigned* err) {
  if (n <= 0 || cols <= 0) return;
  const int grid = blocks_for(n, kWarps);
  if (cols % 4 == 0 && aligned16(src) && aligned16(out)) {
    gather_rows_kernel<true><<<grid, kThreads, 0, stream>>>(src, src_rows, cols, rows, n, out, err);
  } else {
    gather_rows_kernel<false>
        <<<grid, kThreads, 0, stream>>>(src, src_rows, cols, rows, n, out, err);
  }
}

void launch_kv_store(cudaStream_t stream, int kv_type, const float* rows, int64_t n,
                     int64_t row_len, const int32_t* cells, int64_t n_cells, void* cache,
                     unsigned* err) {
  if (n <= 0 || row_len <= 0) return;
  auto* base = static_cast<uint8_t*>(cache);
  const int grid = blocks_for(n, 1);
  switch (kv_type) {
    case kKvF16:
      kv_store_kernel<kKvF16>
          <<<grid, kThreads, 0, stream>>>(rows, n, row_len, cells, n_cells, 2 * row_len, base, err);
      return;
    case kKvF32:
      kv_store_kernel<kKvF32>
          <<<grid, kThreads, 0, stream>>>(rows, n, row_len, cells, n_cells, 4 * row_len, base, err);
      return;
    case kKvQ8_0:
      if (row_len < kQ8Block) return;
      kv_store_kernel<kKvQ8_0><<<grid, kThreads, 0, stream>>>(
          rows, n, row_len, cells, n_cells, row_len / kQ8Block * kQ8BlockBytes, base, err);
      return;
    default:
      return;
  }
}

}  // namespace tessera::cuda
