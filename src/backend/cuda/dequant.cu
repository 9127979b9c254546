// Weight rows to plain floats, looked-up rows, and activation conversions (dequant.h).
//
// One kernel per weight type serves dequantize_rows (f16 or bf16 out) and get_rows (f32 out):
// a thread produces 8 consecutive values of a row (one group: 32- and 256-value blocks hold whole
// groups; plain types take 8 values with one 16-byte load where aligned, fewer at a row's end).
// Grid x covers a row's groups, grid y (looping past 65535) the rows.
#include <cuda_runtime.h>

#include <algorithm>

#include "backend/cuda/dequant.h"
#include "backend/cuda/device_errors.h"
#include "backend/cuda/quant_blocks.cuh"

namespace tessera::cuda {
namespace {

using namespace qb;

enum OutFormat : int { kOutF16 = 0, kOutBF16 = 1, kOutF32 = 2 };

constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;  // 1-D launches loop past this

// Values c0 .. c0 + cnt - 1 of a row into v (cnt == 8 but at the end of a plain-type row; the
// rest of v is zero). vec: the row is 16-byte aligned (plain types).
template <int T>
__device__ __forceinline__ void load_group(const uint8_t* row, int64_t c0, int cnt, bool vec,
                                           float (&v)[8]) {
  if constexpr (is_float_type(T)) {
    constexpr int kElemBytes = block_bytes(T);
    const uint8_t* p = row + c0 * kElemBytes;
    if (cnt == 8 && vec) {
      load_float8<T>(p, v);
    } else {
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        v[j] = j < cnt ? load_float1<T>(p + j * kElemBytes) : 0.0f;
      }
    }
  } else {
    constexpr int kBlockValues = block_values(T);
    const uint8_t* blk = row + (c0 / kBlockValues) * block_bytes(T);
    dequant8<T>(blk, static_cast<int>(c0 % kBlockValues) / 8, v);
  }
}

// Writes v[0 .. cnt - 1] at element `index` of out in format fmt; vec: 16-byte stores are
// aligned (cnt == 8 groups only).
__device__ __forceinline__ void store_group(void* out, int fmt, int64_t index, int cnt, bool vec,
                                            const float (&v)[8]) {
  if (fmt == kOutF32) {
    float* o = static_cast<float*>(out) + index;
    if (cnt == 8 && vec) {
      reinterpret_cast<float4*>(o)[0] = make_float4(v[0], v[1], v[2], v[3]);
      reinterpret_cast<float4*>(o)[1] = make_float4(v[4], v[5], v[6], v[7]);
    } else {
      for (int j = 0; j < cnt; ++j) o[j] = v[j];
    }
    return;
  }
  uint32_t h[8];
#pragma unroll
  for (int j = 0; j < 8; ++j)
    h[j] = fmt == kOutF16 ? f32_to_f16_bits(v[j]) : f32_to_bf16_bits(v[j]);
  uint16_t* o = static_cast<uint16_t*>(out) + index;
  if (cnt == 8 && vec) {
    *reinterpret_cast<uint4*>(o) = make_uint4(h[0] | (h[1] << 16), h[2] | (h[3] << 16),
                                              h[4] | (h[5] << 16), h[6] | (h[7] << 16));
  } else {
    for (int j = 0; j < cnt; ++j) o[j] = static_cast<uint16_t>(h[j]);
  }
}

// Output row i (i < n_rows) = weight row first_row + i, or ids[i] when ids is not null (an id
// outside [0, table_rows) skips the row and reports kErrTokenId).
template <int T>
__global__ void __launch_bounds__(kThreads)
    rows_kernel(const uint8_t* __restrict__ w, int64_t table_rows, int64_t first_row,
                const int32_t* __restrict__ ids, int64_t n_rows, int64_t cols,
                void* __restrict__ out, int fmt, int vec_w, int vec_out, unsigned* err) {
  const int64_t groups = (cols + 7) / 8;
  const int64_t g = int64_t{blockIdx.x} * kThreads + threadIdx.x;
  const int64_t row_bytes = cols / block_values(T) * block_bytes(T);
  for (int64_t i = blockIdx.y; i < n_rows; i += gridDim.y) {
    int64_t row = first_row + i;
    if (ids != nullptr) {
      const int32_t id = __ldg(ids + i);
      if (id < 0 || id >= table_rows) {
        if (g == 0 && err != nullptr) atomicOr(err, static_cast<unsigned>(kErrTokenId));
        continue;
      }
      row = id;
    }
    if (g >= groups) continue;
    const int64_t c0 = 8 * g;
    const int cnt = static_cast<int>(min(int64_t{8}, cols - c0));
    float v[8];
    load_group<T>(w + row * row_bytes, c0, cnt, vec_w != 0, v);
    store_group(out, fmt, i * cols + c0, cnt, vec_out != 0, v);
  }
}

template <int T>
void launch_rows_t(cudaStream_t stream, const uint8_t* w, int64_t table_rows, int64_t first_row,
                   const int32_t* ids, int64_t n_rows, int64_t cols, void* out, int fmt,
                   unsigned* err) {
  const int64_t groups = (cols + 7) / 8;
  const int64_t row_bytes = cols / block_values(T) * block_bytes(T);
  const int vec_w = (reinterpret_cast<uintptr_t>(w) % 16 == 0 && row_bytes % 16 == 0) ? 1 : 0;
  const int64_t out_row_bytes = cols * (fmt == kOutF32 ? 4 : 2);
  const int vec_out =
      (reinterpret_cast<uintptr_t>(out) % 16 == 0 && out_row_bytes % 16 == 0) ? 1 : 0;
  const dim3 grid(static_cast<unsigned>((groups + kThreads - 1) / kThreads),
                  static_cast<unsigned>(std::min(n_rows, kMaxGridY)));
  rows_kernel<T><<<grid, kThreads, 0, stream>>>(w, table_rows, first_row, ids, n_rows, cols, out,
                                                fmt, vec_w, vec_out, err);
}

void launch_rows(cudaStream_t stream, int type, const void* w, int64_t table_rows,
                 int64_t first_row, const int32_t* ids, int64_t n_rows, int64_t cols, void* out,
                 int fmt, unsigned* err) {
  if (n_rows <= 0 || cols <= 0) return;
  const auto* wb = static_cast<const uint8_t*>(w);
  switch (type) {
    case kF32:
      return launch_rows_t<kF32>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                 err);
    case kF16:
      return launch_rows_t<kF16>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                 err);
    case kBF16:
      return launch_rows_t<kBF16>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    case kQ4_0:
      return launch_rows_t<kQ4_0>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    case kQ4_1:
      return launch_rows_t<kQ4_1>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    case kQ5_0:
      return launch_rows_t<kQ5_0>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    case kQ5_1:
      return launch_rows_t<kQ5_1>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    case kQ8_0:
      return launch_rows_t<kQ8_0>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    case kQ2_K:
      return launch_rows_t<kQ2_K>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    case kQ3_K:
      return launch_rows_t<kQ3_K>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    case kQ4_K:
      return launch_rows_t<kQ4_K>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    case kQ5_K:
      return launch_rows_t<kQ5_K>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    case kQ6_K:
      return launch_rows_t<kQ6_K>(stream, wb, table_rows, first_row, ids, n_rows, cols, out, fmt,
                                  err);
    default:
      return;
  }
}

// out[i] = x[i] in fmt (kOutF16 or kOutBF16); a thread converts 4 values. vec: x 16-byte and
// out 8-byte aligned.
__global__ void __launch_bounds__(kThreads)
    convert_kernel(const float* __restrict__ x, int64_t n, int fmt, int vec,
                   uint16_t* __restrict__ out) {
  const int64_t stride = int64_t{gridDim.x} * kThreads;
  for (int64_t q = int64_t{blockIdx.x} * kThreads + threadIdx.x; 4 * q < n; q += stride) {
    const int64_t i = 4 * q;
    if (vec && i + 4 <= n) {
      const float4 f = __ldg(reinterpret_cast<const float4*>(x + i));
      const float v[4] = {f.x, f.y, f.z, f.w};
      uint32_t h[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        h[j] = fmt == kOutF16 ? f32_to_f16_bits(v[j]) : f32_to_bf16_bits(v[j]);
      }
      *reinterpret_cast<uint2*>(out + i) = make_uint2(h[0] | (h[1] << 16), h[2] | (h[3] << 16));
    } else {
      for (int64_t j = i; j < n && j < i + 4; ++j) {
        const float v = __ldg(x + j);
        out[j] = fmt == kOutF16 ? f32_to_f16_bits(v) : f32_to_bf16_bits(v);
      }
    }
  }
}

void launch_convert(cudaStream_t stream, const float* x, int64_t n, void* out, int fmt) {
  if (n <= 0) return;
  const int vec =
      (reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 8 == 0) ? 1
                                                                                              : 0;
  const int64_t quads = (n + 3) / 4;
  const auto blocks =
      static_cast<unsigned>(std::min((quads + kThreads - 1) / kThreads, kMaxBlocks));
  convert_kernel<<<blocks, kThreads, 0, stream>>>(x, n, fmt, vec, static_cast<uint16_t*>(out));
}

}  // namespace

void launch_dequantize_rows(cudaStream_t stream, int type, const void* w, int64_t first_row,
                            int64_t n_rows, int64_t cols, void* out_f16) {
  launch_rows(stream, type, w, 0, first_row, nullptr, n_rows, cols, out_f16, kOutF16, nullptr);
}

void launch_dequantize_rows_bf16(cudaStream_t stream, int type, const void* w, int64_t first_row,
                                 int64_t n_rows, int64_t cols, void* out_bf16) {
  launch_rows(stream, type, w, 0, first_row, nullptr, n_rows, cols, out_bf16, kOutBF16, nullptr);
}

void launch_f32_to_f16(cudaStream_t stream, const float* x, int64_t n, void* out) {
  launch_convert(stream, x, n, out, kOutF16);
}

void launch_f32_to_bf16(cudaStream_t stream, const float* x, int64_t n, void* out) {
  launch_convert(stream, x, n, out, kOutBF16);
}

void launch_get_rows(cudaStream_t stream, int type, const void* table, int64_t table_rows,
                     int64_t cols, const int32_t* ids, int64_t n, float* out, unsigned* err) {
  launch_rows(stream, type, table, table_rows, 0, ids, n, cols, out, kOutF32, err);
}

}  // namespace tessera::cuda
