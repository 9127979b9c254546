// The decode matmul (quant_matvec.h).
//
// Work layout. A thread block has kWarps warps. A row group of R rows is handled by `wpr` warps
// (1, 2, 4 or 8, chosen by the launcher from rows and cols only); warp w of a group takes
// chunks w, w + wpr, ... of each of its rows, and lane l of a warp takes pieces l, l + 32, ... of
// a chunk. Each lane accumulates its pieces in order, the warp then adds its lanes with a fixed
// butterfly, and the group adds its warps in warp order. None of this depends on n: the token
// count only decides how many accumulators a lane keeps (NT) and how many rows share one pass
// over the activations (R), so a token's result does not depend on the batch around it.
//
// Quantized weights. A piece is 32 values (one activation block), a chunk kChunkUnits pieces.
// The activations are first quantized per 32 values to int8 codes and an f32 scale. A warp copies
// a chunk of each of its rows into its own shared-memory buffer with coalesced 16-byte loads:
// rows of 18-, 34- or 210-byte blocks are not 16-byte aligned, so the copy starts at the aligned
// address at or below the chunk and decoders read at the chunk's offset in the buffer (loads that
// would leave the weight tensor fall back to 16-bit loads). The next chunk is loaded into
// registers while the current one is decoded. A lane decodes a piece into 8 words of 4 signed
// 8-bit codes plus its scales and takes dp4a products with the activation codes.
//
// F32 / F16 / BF16 weights. A lane takes 8 consecutive values per step with 16-byte loads when
// the rows allow (else 1 value per step) and does f32 FMAs with the f32 activations.
#include <cuda_runtime.h>

#include <algorithm>

#include "backend/cuda/quant_blocks.cuh"
#include "backend/cuda/quant_matvec.h"

namespace tessera::cuda {
namespace {

using namespace qb;

constexpr int kWarps = 8;
constexpr int kThreads = 32 * kWarps;
constexpr int kPiece = 32;       // values per piece (activation block)
constexpr int kChunkUnits = 64;  // pieces per chunk
constexpr int kPiecesPerLane = kChunkUnits / 32;
constexpr int64_t kTargetWarps = 16384;           // warps worth launching before splitting rows
constexpr int64_t kMaxBlocks = int64_t{1} << 30;  // larger launches loop inside the kernel
constexpr unsigned kFullMask = 0xffffffffu;

size_t align256(size_t v) {
  return (v + 255) & ~size_t{255};
}

// ---------------------------------------------------------------- activation quantization

// max that keeps a NaN (fmaxf would drop it).
__device__ __forceinline__ float max_keep_nan(float a, float b) {
  return (a != a || a > b) ? a : b;
}

// Quantizes `quads` groups of 4 f32 values (a multiple of 8: whole 32-value blocks) of x:
// q gets the int8 codes in x's layout, d the scale of each 32 values (d = max|x| / 127, codes
// round-to-nearest-even(x * 127 / max|x|)). Eight consecutive threads share a block. A NaN in a
// block makes its scale NaN (and an Inf makes the block's products NaN), so they reach the output.
__global__ void __launch_bounds__(256)
    quantize_act_kernel(const float* __restrict__ x, int64_t quads, int vec, int8_t* __restrict__ q,
                        float* __restrict__ d) {
  const unsigned mask = 0xffu << (threadIdx.x & 24u);  // this thread's 8-lane group
  const int64_t stride = int64_t{gridDim.x} * blockDim.x;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < quads; i += stride) {
    float v[4];
    if (vec) {
      const float4 f = __ldg(reinterpret_cast<const float4*>(x) + i);
      v[0] = f.x;
      v[1] = f.y;
      v[2] = f.z;
      v[3] = f.w;
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = __ldg(x + 4 * i + j);
    }
    float amax = max_keep_nan(max_keep_nan(fabsf(v[0]), fabsf(v[1])),
                              max_keep_nan(fabsf(v[2]), fabsf(v[3])));
#pragma unroll
    for (int off = 1; off < 8; off <<= 1) {
      amax = max_keep_nan(amax, __shfl_xor_sync(mask, amax, off));
    }
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    uint32_t packed = 0;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = max(-127, min(127, __float2int_rn(v[j] * inv)));
      packed |= (static_cast<uint32_t>(c) & 0xffu) << (8 * j);
    }
    reinterpret_cast<uint32_t*>(q)[i] = packed;
    if ((i & 7) == 0) d[i >> 3] = amax / 127.0f;
  }
}

// ---------------------------------------------------------------- pieces of quantized rows

// What a piece's dot product with activation codes x[0..7] (words of 4 signed bytes) needs:
//   two-scale types: a[0] * dot(w[0..3], x[0..3]) + a[1] * dot(w[4..7], x[4..7])
//                    - b[0] * sum(x[0..3]) - b[1] * sum(x[4..7])
//   one-scale types: a[0] * dot(w, x) - b[0] * sum(x)
// (the b terms only for types with offsets). Codes are signed: biases are taken off in the
// integer domain.
struct Piece {
  int w[8];
  float a[2];
  float b[2];
};

template <int T>
struct PieceTraits;
// kTwoScales: scales per 16 values; kHasMin: an offset term; kAligned4: blocks are a multiple of
// 4 bytes and decoders read their fields as aligned words.
template <>
struct PieceTraits<kQ4_0> {
  static constexpr bool kTwoScales = false, kHasMin = false, kAligned4 = false;
};
template <>
struct PieceTraits<kQ4_1> {
  static constexpr bool kTwoScales = false, kHasMin = true, kAligned4 = true;
};
template <>
struct PieceTraits<kQ5_0> {
  static constexpr bool kTwoScales = false, kHasMin = false, kAligned4 = false;
};
template <>
struct PieceTraits<kQ5_1> {
  static constexpr bool kTwoScales = false, kHasMin = true, kAligned4 = true;
};
template <>
struct PieceTraits<kQ8_0> {
  static constexpr bool kTwoScales = false, kHasMin = false, kAligned4 = false;
};
template <>
struct PieceTraits<kQ2_K> {
  static constexpr bool kTwoScales = true, kHasMin = true, kAligned4 = true;
};
template <>
struct PieceTraits<kQ3_K> {
  static constexpr bool kTwoScales = true, kHasMin = false, kAligned4 = false;
};
template <>
struct PieceTraits<kQ4_K> {
  static constexpr bool kTwoScales = false, kHasMin = true, kAligned4 = true;
};
template <>
struct PieceTraits<kQ5_K> {
  static constexpr bool kTwoScales = false, kHasMin = true, kAligned4 = true;
};
template <>
struct PieceTraits<kQ6_K> {
  static constexpr bool kTwoScales = true, kHasMin = false, kAligned4 = false;
};

// Bytes of one chunk of a row, and of a warp's staging buffer for one row: the chunk, up to 14
// bytes of misalignment before it, 2 of realignment and the word the a2 reader reads past a run.
__host__ __device__ constexpr int chunk_bytes(int type) {
  return kChunkUnits / (block_values(type) / kPiece) * block_bytes(type);
}
__host__ __device__ constexpr int stage_bytes(int type) {
  return chunk_bytes(type) + 32;
}

// N words at a 2-byte-aligned shared-memory address (reads the word after the run too).
template <int N>
__device__ __forceinline__ void words_a2(const uint8_t* p, uint32_t (&out)[N]) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  const uint32_t* q = reinterpret_cast<const uint32_t*>(a & ~uintptr_t{3});
  const unsigned shift = static_cast<unsigned>(a & 2u) * 8u;
  uint32_t prev = q[0];
#pragma unroll
  for (int i = 0; i < N; ++i) {
    const uint32_t next = q[i + 1];
    out[i] = __funnelshift_r(prev, next, shift);
    prev = next;
  }
}

// N words at a 4-byte-aligned shared-memory address, in 16-byte loads where it is 16-aligned.
template <int N>
__device__ __forceinline__ void words_a4(const uint8_t* p, uint32_t (&out)[N]) {
  if constexpr (N % 4 == 0) {
    if ((reinterpret_cast<uintptr_t>(p) & 15u) == 0) {
      const uint4* q = reinterpret_cast<const uint4*>(p);
#pragma unroll
      for (int i = 0; i < N / 4; ++i) {
        const uint4 v = q[i];
        out[4 * i] = v.x;
        out[4 * i + 1] = v.y;
        out[4 * i + 2] = v.z;
        out[4 * i + 3] = v.w;
      }
      return;
    }
  }
  const uint32_t* q = reinterpret_cast<const uint32_t*>(p);
#pragma unroll
  for (int i = 0; i < N; ++i) out[i] = q[i];
}

__device__ __forceinline__ uint32_t load_u32_a4(const uint8_t* p) {
  return *reinterpret_cast<const uint32_t*>(p);
}

// Bits 0-3 of x moved to bit 0 of bytes 0-3 (the four shifted copies do not overlap).
__device__ __forceinline__ uint32_t spread4(uint32_t x) {
  return ((x & 0x0fu) * 0x00204081u) & 0x01010101u;
}

__device__ __forceinline__ int sub_bytes(uint32_t x, uint32_t bias) {
  return static_cast<int>(__vsub4(x, bias));
}

// Piece k (values 32k .. 32k + 31) of the block at blk (shared memory, 2-byte aligned; 4-byte
// aligned for kAligned4 types).
template <int T>
__device__ Piece decode_piece(const uint8_t* blk, int k);

template <>
__device__ __forceinline__ Piece decode_piece<kQ4_0>(const uint8_t* blk, int) {
  Piece p;
  uint32_t q[4];
  words_a2<4>(blk + 2, q);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    p.w[j] = sub_bytes(q[j] & 0x0f0f0f0fu, 0x08080808u);
    p.w[j + 4] = sub_bytes((q[j] >> 4) & 0x0f0f0f0fu, 0x08080808u);
  }
  p.a[0] = f16_bits_to_f32(load_u16(blk));
  return p;
}

template <>
__device__ __forceinline__ Piece decode_piece<kQ4_1>(const uint8_t* blk, int) {
  Piece p;
  uint32_t q[4];
  words_a4<4>(blk + 4, q);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    p.w[j] = static_cast<int>(q[j] & 0x0f0f0f0fu);
    p.w[j + 4] = static_cast<int>((q[j] >> 4) & 0x0f0f0f0fu);
  }
  const uint32_t dm = load_u32_a4(blk);
  p.a[0] = f16_bits_to_f32(dm & 0xffffu);
  p.b[0] = -f16_bits_to_f32(dm >> 16);  // value = d * code + m
  return p;
}

template <>
__device__ __forceinline__ Piece decode_piece<kQ5_0>(const uint8_t* blk, int) {
  Piece p;
  uint32_t q[5];  // qh, then qs
  words_a2<5>(blk + 2, q);
  const uint32_t qh = q[0];
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const uint32_t lo = (q[1 + j] & 0x0f0f0f0fu) | (spread4(qh >> (4 * j)) << 4);
    const uint32_t hi = ((q[1 + j] >> 4) & 0x0f0f0f0fu) | (spread4(qh >> (16 + 4 * j)) << 4);
    p.w[j] = sub_bytes(lo, 0x10101010u);
    p.w[j + 4] = sub_bytes(hi, 0x10101010u);
  }
  p.a[0] = f16_bits_to_f32(load_u16(blk));
  return p;
}

template <>
__device__ __forceinline__ Piece decode_piece<kQ5_1>(const uint8_t* blk, int) {
  Piece p;
  uint32_t q[6];  // d and m, qh, qs
  words_a4<6>(blk, q);
  const uint32_t qh = q[1];
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    p.w[j] = static_cast<int>((q[2 + j] & 0x0f0f0f0fu) | (spread4(qh >> (4 * j)) << 4));
    p.w[j + 4] =
        static_cast<int>(((q[2 + j] >> 4) & 0x0f0f0f0fu) | (spread4(qh >> (16 + 4 * j)) << 4));
  }
  p.a[0] = f16_bits_to_f32(q[0] & 0xffffu);
  p.b[0] = -f16_bits_to_f32(q[0] >> 16);
  return p;
}

template <>
__device__ __forceinline__ Piece decode_piece<kQ8_0>(const uint8_t* blk, int) {
  Piece p;
  uint32_t q[8];
  words_a2<8>(blk + 2, q);
#pragma unroll
  for (int j = 0; j < 8; ++j) p.w[j] = static_cast<int>(q[j]);
  p.a[0] = f16_bits_to_f32(load_u16(blk));
  return p;
}

// Q2_K / Q3_K: piece k lies in half k / 4 at two-bit position k % 4 of the half's 32 bytes.
template <>
__device__ __forceinline__ Piece decode_piece<kQ2_K>(const uint8_t* blk, int k) {
  Piece p;
  uint32_t q[8];
  words_a4<8>(blk + offsetof(BlockQ2_K, qs) + 32 * (k >> 2), q);
  const unsigned shift = 2u * static_cast<unsigned>(k & 3);
#pragma unroll
  for (int j = 0; j < 8; ++j) p.w[j] = static_cast<int>((q[j] >> shift) & 0x03030303u);
  const uint32_t dd = load_u32_a4(blk + offsetof(BlockQ2_K, d));
  const float d = f16_bits_to_f32(dd & 0xffffu);
  const float dmin = f16_bits_to_f32(dd >> 16);
  const uint32_t sc = load_u16(blk + 2 * k);  // scale bytes of values 0-15 and 16-31
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const uint32_t b = (sc >> (8 * s)) & 0xffu;
    p.a[s] = __fmul_rn(d, static_cast<float>(b & 0x0fu));
    p.b[s] = __fmul_rn(dmin, static_cast<float>(b >> 4));
  }
  return p;
}

template <>
__device__ __forceinline__ Piece decode_piece<kQ3_K>(const uint8_t* blk, int k) {
  Piece p;
  uint32_t q[8], hm[8];
  words_a2<8>(blk + offsetof(BlockQ3_K, qs) + 32 * (k >> 2), q);
  words_a2<8>(blk + offsetof(BlockQ3_K, hmask), hm);  // bit k of hmask[value in piece]
  const unsigned shift = 2u * static_cast<unsigned>(k & 3);
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const uint32_t code = ((q[j] >> shift) & 0x03030303u) | (((hm[j] >> k) & 0x01010101u) << 2);
    p.w[j] = sub_bytes(code, 0x04040404u);  // a clear high bit means 4 lower
  }
  const float d = f16_bits_to_f32(load_u16(blk + offsetof(BlockQ3_K, d)));
  const uint8_t* sc = blk + offsetof(BlockQ3_K, scales);
  p.a[0] = __fmul_rn(d, static_cast<float>(q3_k_scale(sc, 2 * k)));
  p.a[1] = __fmul_rn(d, static_cast<float>(q3_k_scale(sc, 2 * k + 1)));
  return p;
}

// Q4_K / Q5_K: piece k is sub-block k, the low (k even) or high (k odd) nibbles of the 32 bytes
// of pair k / 2; Q5_K's fifth bit is bit k of qh[value in piece].
template <>
__device__ __forceinline__ Piece decode_piece<kQ4_K>(const uint8_t* blk, int k) {
  Piece p;
  uint32_t q[8];
  words_a4<8>(blk + offsetof(BlockQ4_K, qs) + 32 * (k >> 1), q);
  const unsigned shift = 4u * static_cast<unsigned>(k & 1);
#pragma unroll
  for (int j = 0; j < 8; ++j) p.w[j] = static_cast<int>((q[j] >> shift) & 0x0f0f0f0fu);
  const uint32_t dd = load_u32_a4(blk);
  int scale = 0, min = 0;
  scale_min_k4(blk + offsetof(BlockQ4_K, scales), k, scale, min);
  p.a[0] = __fmul_rn(f16_bits_to_f32(dd & 0xffffu), static_cast<float>(scale));
  p.b[0] = __fmul_rn(f16_bits_to_f32(dd >> 16), static_cast<float>(min));
  return p;
}

template <>
__device__ __forceinline__ Piece decode_piece<kQ5_K>(const uint8_t* blk, int k) {
  Piece p;
  uint32_t q[8], qh[8];
  words_a4<8>(blk + offsetof(BlockQ5_K, qs) + 32 * (k >> 1), q);
  words_a4<8>(blk + offsetof(BlockQ5_K, qh), qh);
  const unsigned shift = 4u * static_cast<unsigned>(k & 1);
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    p.w[j] =
        static_cast<int>(((q[j] >> shift) & 0x0f0f0f0fu) | (((qh[j] >> k) & 0x01010101u) << 4));
  }
  const uint32_t dd = load_u32_a4(blk);
  int scale = 0, min = 0;
  scale_min_k4(blk + offsetof(BlockQ5_K, scales), k, scale, min);
  p.a[0] = __fmul_rn(f16_bits_to_f32(dd & 0xffffu), static_cast<float>(scale));
  p.b[0] = __fmul_rn(f16_bits_to_f32(dd >> 16), static_cast<float>(min));
  return p;
}

// Q6_K: piece k is group g = k % 4 of half h = k / 4: low nibbles from ql[64h + 32 (g % 2) + l]
// (high nibble for g >= 2), top bits from qh[32h + l] at bit 2g; bias 32.
template <>
__device__ __forceinline__ Piece decode_piece<kQ6_K>(const uint8_t* blk, int k) {
  Piece p;
  const int h = k >> 2;
  const int g = k & 3;
  uint32_t ql[8], qh[8];
  words_a2<8>(blk + offsetof(BlockQ6_K, ql) + 64 * h + 32 * (g & 1), ql);
  words_a2<8>(blk + offsetof(BlockQ6_K, qh) + 32 * h, qh);
  const unsigned lshift = 4u * static_cast<unsigned>(g >> 1);
  const unsigned hshift = 2u * static_cast<unsigned>(g);
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const uint32_t code =
        ((ql[j] >> lshift) & 0x0f0f0f0fu) | (((qh[j] >> hshift) & 0x03030303u) << 4);
    p.w[j] = sub_bytes(code, 0x20202020u);
  }
  const float d = f16_bits_to_f32(load_u16(blk + offsetof(BlockQ6_K, d)));
  const uint32_t sc = load_u16(blk + offsetof(BlockQ6_K, scales) + 2 * k);
  p.a[0] = __fmul_rn(d, static_cast<float>(static_cast<int8_t>(sc & 0xffu)));
  p.a[1] = __fmul_rn(d, static_cast<float>(static_cast<int8_t>(sc >> 8)));
  return p;
}

// One token's activation block: codes and, for types with offsets, the sums of codes of values
// 0-15 and 16-31.
struct ActBlock {
  int q[8];
  int sum[2];
  float d;
};

template <int T>
__device__ __forceinline__ float piece_dot(const Piece& p, const ActBlock& x) {
  constexpr bool kTwo = PieceTraits<T>::kTwoScales;
  int d0 = 0;
  int d1 = 0;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    d0 = __dp4a(p.w[j], x.q[j], d0);
    d1 = __dp4a(p.w[j + 4], x.q[j + 4], d1);
  }
  float v;
  if constexpr (kTwo) {
    v = __fmul_rn(p.a[0], static_cast<float>(d0));
    v = __fmaf_rn(p.a[1], static_cast<float>(d1), v);
  } else {
    v = __fmul_rn(p.a[0], static_cast<float>(d0 + d1));
  }
  if constexpr (PieceTraits<T>::kHasMin) {
    if constexpr (kTwo) {
      v = __fmaf_rn(-p.b[0], static_cast<float>(x.sum[0]), v);
      v = __fmaf_rn(-p.b[1], static_cast<float>(x.sum[1]), v);
    } else {
      v = __fmaf_rn(-p.b[0], static_cast<float>(x.sum[0] + x.sum[1]), v);
    }
  }
  return v;
}

// ---------------------------------------------------------------- shared by both kernels

// Sums each accumulator over the warp, then over the group's warps (in warp order), adds the
// bias and stores y. Called by every thread of the block (it synchronizes the block).
template <int NT, int R>
__device__ __forceinline__ void finish_rows(float (&acc)[R][NT], float (*partial)[R][NT], int warp,
                                            int lane, int wig, int wpr, int64_t row0, int64_t rows,
                                            int n, float* __restrict__ y,
                                            const float* __restrict__ bias) {
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      float v = acc[r][t];
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) v = __fadd_rn(v, __shfl_xor_sync(kFullMask, v, off));
      if (lane == 0) partial[warp][r][t] = v;
    }
  }
  __syncthreads();
  if (wig == 0 && lane < R * NT) {
    const int r = lane / NT;
    const int t = lane % NT;
    const int64_t row = row0 + r;
    if (t < n && row < rows) {
      float sum = partial[warp][r][t];
      for (int k = 1; k < wpr; ++k) sum = __fadd_rn(sum, partial[warp + k][r][t]);
      if (bias != nullptr) sum = __fadd_rn(sum, bias[row]);
      y[t * rows + row] = sum;
    }
  }
  __syncthreads();
}

// ---------------------------------------------------------------- quantized kernel

// Loads 16 bytes at the 16-aligned address a; bytes outside [lo, hi) (the weight tensor) are
// not read (zero), those inside are read with 16-bit loads.
__device__ __forceinline__ uint4 load16_bounded(uintptr_t a, uintptr_t lo, uintptr_t hi) {
  if (a >= lo && a + 16 <= hi) return __ldg(reinterpret_cast<const uint4*>(a));
  uint32_t w[4] = {0, 0, 0, 0};
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const uintptr_t p = a + 2 * j;
    if (p >= lo && p + 2 <= hi) {
      const uint32_t h = __ldg(reinterpret_cast<const unsigned short*>(p));
      w[j >> 1] |= h << (16 * (j & 1));
    }
  }
  return make_uint4(w[0], w[1], w[2], w[3]);
}

template <int T, int NT, int R>
__global__ void __launch_bounds__(kThreads)
    matvec_quant_kernel(const uint8_t* __restrict__ w, int64_t rows, int64_t cols,
                        const int8_t* __restrict__ xq, const float* __restrict__ xd, int n,
                        float* __restrict__ y, const float* __restrict__ bias, int wpr) {
  constexpr int kBlockValues = block_values(T);
  constexpr int kBlockBytes = block_bytes(T);
  constexpr int kPiecesPerBlock = kBlockValues / kPiece;
  constexpr int kChunkBytes = chunk_bytes(T);
  constexpr int kStageBytes = stage_bytes(T);
  constexpr int kSlots = kChunkBytes / 16 + 1;  // 16-byte loads a chunk may need
  constexpr int kLoads = (kSlots + 31) / 32;    // per lane
  constexpr bool kAligned4 = PieceTraits<T>::kAligned4;
  static_assert(kChunkBytes % 16 == 0 && kStageBytes % 16 == 0, "chunks keep 16-byte alignment");

  extern __shared__ uint4 stage_smem[];
  __shared__ float partial[kWarps][R][NT];

  const int warp = static_cast<int>(threadIdx.x >> 5);
  const int lane = static_cast<int>(threadIdx.x & 31);
  const int group = warp / wpr;
  const int wig = warp - group * wpr;  // warp in group
  const int64_t rows_per_block = int64_t{kWarps / wpr} * R;
  const int64_t row_bytes = cols / kBlockValues * kBlockBytes;
  const int64_t units = cols / kPiece;
  const int64_t n_chunks = (units + kChunkUnits - 1) / kChunkUnits;
  const uintptr_t lo = reinterpret_cast<uintptr_t>(w);
  const uintptr_t hi = lo + static_cast<uintptr_t>(rows * row_bytes);
  uint8_t* const stage = reinterpret_cast<uint8_t*>(stage_smem) + warp * R * kStageBytes;

  for (int64_t first = int64_t{blockIdx.x} * rows_per_block; first < rows;
       first += int64_t{gridDim.x} * rows_per_block) {
    const int64_t row0 = first + int64_t{group} * R;
    float acc[R][NT];
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int t = 0; t < NT; ++t) acc[r][t] = 0.0f;
    }

    if (row0 < rows) {  // uniform over the warp
      bool valid[R];
      uintptr_t start[R];  // the row's first byte
      int misalign[R];     // start % 16: where the row's data begins in a 16-byte load
      int shift[R];        // 2 when kAligned4 fields would land 2 bytes off a 4-byte boundary
#pragma unroll
      for (int r = 0; r < R; ++r) {
        valid[r] = row0 + r < rows;
        start[r] = lo + static_cast<uintptr_t>((valid[r] ? row0 + r : row0) * row_bytes);
        misalign[r] = static_cast<int>(start[r] & 15u);
        shift[r] = (kAligned4 && (misalign[r] & 2) != 0) ? 2 : 0;
      }
      uint4 regs[R][kLoads];

      // Issues chunk c's loads into regs.
      auto load_chunk = [&](int64_t c) {
#pragma unroll
        for (int r = 0; r < R; ++r) {
          if (!valid[r]) continue;
          const int64_t offset = c * kChunkBytes;
          const int64_t bytes = min(int64_t{kChunkBytes}, row_bytes - offset);
          const int slots = static_cast<int>((misalign[r] + bytes + 15) >> 4);
          const uintptr_t base = (start[r] + static_cast<uintptr_t>(offset)) & ~uintptr_t{15};
#pragma unroll
          for (int k = 0; k < kLoads; ++k) {
            const int i = lane + 32 * k;
            if (i < slots) regs[r][k] = load16_bounded(base + 16u * i, lo, hi);
          }
        }
      };
      // Stores the loaded chunk c into this warp's stage buffers.
      auto store_chunk = [&](int64_t c) {
#pragma unroll
        for (int r = 0; r < R; ++r) {
          if (!valid[r]) continue;
          const int64_t bytes = min(int64_t{kChunkBytes}, row_bytes - c * kChunkBytes);
          const int slots = static_cast<int>((misalign[r] + bytes + 15) >> 4);
          uint8_t* buf = stage + r * kStageBytes;
#pragma unroll
          for (int k = 0; k < kLoads; ++k) {
            const int i = lane + 32 * k;
            if (i >= slots) continue;
            if (shift[r] == 0) {
              reinterpret_cast<uint4*>(buf)[i] = regs[r][k];
            } else {
              const uint32_t v[4] = {regs[r][k].x, regs[r][k].y, regs[r][k].z, regs[r][k].w};
              uint16_t* dst = reinterpret_cast<uint16_t*>(buf + 2) + 8 * i;
#pragma unroll
              for (int j = 0; j < 8; ++j) {
                dst[j] = static_cast<uint16_t>(v[j >> 1] >> (16 * (j & 1)));
              }
            }
          }
        }
      };

      int64_t c = wig;
      if (c < n_chunks) load_chunk(c);
      for (; c < n_chunks; c += wpr) {
        __syncwarp();  // every lane is done reading the previous chunk
        store_chunk(c);
        __syncwarp();
        if (c + wpr < n_chunks) load_chunk(c + wpr);

          // Both pieces at once for one token; one at a time when many tokens' codes are live.
#pragma unroll(NT == 1 ? kPiecesPerLane : 1)
        for (int m = 0; m < kPiecesPerLane; ++m) {
          const int i = lane + 32 * m;  // piece in chunk
          const int64_t u = c * kChunkUnits + i;
          if (u >= units) break;
          ActBlock xb[NT];
#pragma unroll
          for (int t = 0; t < NT; ++t) {
            if (t >= n) continue;
            const int4* xp = reinterpret_cast<const int4*>(xq + t * cols + kPiece * u);
            const int4 v0 = __ldg(xp);
            const int4 v1 = __ldg(xp + 1);
            const int q[8] = {v0.x, v0.y, v0.z, v0.w, v1.x, v1.y, v1.z, v1.w};
#pragma unroll
            for (int j = 0; j < 8; ++j) xb[t].q[j] = q[j];
            if constexpr (PieceTraits<T>::kHasMin) {
              int s0 = 0;
              int s1 = 0;
#pragma unroll
              for (int j = 0; j < 4; ++j) {
                s0 = __dp4a(q[j], 0x01010101, s0);
                s1 = __dp4a(q[j + 4], 0x01010101, s1);
              }
              xb[t].sum[0] = s0;
              xb[t].sum[1] = s1;
            }
            xb[t].d = __ldg(xd + t * units + u);
          }
          const int blk = i / kPiecesPerBlock;
          const int k = i - blk * kPiecesPerBlock;
#pragma unroll
          for (int r = 0; r < R; ++r) {
            if (!valid[r]) continue;
            const Piece p = decode_piece<T>(
                stage + r * kStageBytes + misalign[r] + shift[r] + blk * kBlockBytes, k);
#pragma unroll
            for (int t = 0; t < NT; ++t) {
              if (t < n) acc[r][t] = __fmaf_rn(xb[t].d, piece_dot<T>(p, xb[t]), acc[r][t]);
            }
          }
        }
      }
    }
    finish_rows<NT, R>(acc, partial, warp, lane, wig, wpr, row0, rows, n, y, bias);
  }
}

// ---------------------------------------------------------------- F32 / F16 / BF16 kernel

// vec_w: w is 16-byte aligned and cols a multiple of 8 (a lane takes 8 values per step);
// vec_x: x is 16-byte aligned too (16-byte activation loads; same arithmetic either way).
template <int T, int NT, int R>
__global__ void __launch_bounds__(kThreads)
    matvec_float_kernel(const uint8_t* __restrict__ w, int64_t rows, int64_t cols,
                        const float* __restrict__ x, int n, float* __restrict__ y,
                        const float* __restrict__ bias, int wpr, int vec_w, int vec_x) {
  constexpr int kElemBytes = block_bytes(T);
  __shared__ float partial[kWarps][R][NT];

  const int warp = static_cast<int>(threadIdx.x >> 5);
  const int lane = static_cast<int>(threadIdx.x & 31);
  const int group = warp / wpr;
  const int wig = warp - group * wpr;
  const int64_t rows_per_block = int64_t{kWarps / wpr} * R;
  const int64_t row_bytes = cols * kElemBytes;
  const int64_t step = vec_w ? 256 : 32;  // values per warp per chunk
  const int64_t n_chunks = (cols + step - 1) / step;

  for (int64_t first = int64_t{blockIdx.x} * rows_per_block; first < rows;
       first += int64_t{gridDim.x} * rows_per_block) {
    const int64_t row0 = first + int64_t{group} * R;
    float acc[R][NT];
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int t = 0; t < NT; ++t) acc[r][t] = 0.0f;
    }

    if (row0 < rows) {
      bool valid[R];
      const uint8_t* wr[R];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        valid[r] = row0 + r < rows;
        wr[r] = w + (valid[r] ? row0 + r : row0) * row_bytes;
      }
      if (vec_w) {
#pragma unroll(NT == 1 ? 4 : 1)
        for (int64_t c = wig; c < n_chunks; c += wpr) {
          const int64_t c0 = c * 256 + lane * 8;
          if (c0 >= cols) continue;
          float xv[NT][8];
#pragma unroll
          for (int t = 0; t < NT; ++t) {
            if (t >= n) continue;
            const float* xp = x + t * cols + c0;
            if (vec_x) {
              const float4 a = __ldg(reinterpret_cast<const float4*>(xp));
              const float4 b = __ldg(reinterpret_cast<const float4*>(xp) + 1);
              xv[t][0] = a.x;
              xv[t][1] = a.y;
              xv[t][2] = a.z;
              xv[t][3] = a.w;
              xv[t][4] = b.x;
              xv[t][5] = b.y;
              xv[t][6] = b.z;
              xv[t][7] = b.w;
            } else {
#pragma unroll
              for (int j = 0; j < 8; ++j) xv[t][j] = __ldg(xp + j);
            }
          }
#pragma unroll
          for (int r = 0; r < R; ++r) {
            if (!valid[r]) continue;
            float wv[8];
            load_float8<T>(wr[r] + c0 * kElemBytes, wv);
#pragma unroll
            for (int t = 0; t < NT; ++t) {
              if (t >= n) continue;
#pragma unroll
              for (int j = 0; j < 8; ++j) acc[r][t] = __fmaf_rn(wv[j], xv[t][j], acc[r][t]);
            }
          }
        }
      } else {
        for (int64_t c = wig; c < n_chunks; c += wpr) {
          const int64_t col = c * 32 + lane;
          if (col >= cols) continue;
          float xv[NT];
#pragma unroll
          for (int t = 0; t < NT; ++t) {
            if (t < n) xv[t] = __ldg(x + t * cols + col);
          }
#pragma unroll
          for (int r = 0; r < R; ++r) {
            if (!valid[r]) continue;
            const float wv = load_float1<T>(wr[r] + col * kElemBytes);
#pragma unroll
            for (int t = 0; t < NT; ++t) {
              if (t < n) acc[r][t] = __fmaf_rn(wv, xv[t], acc[r][t]);
            }
          }
        }
      }
    }
    finish_rows<NT, R>(acc, partial, warp, lane, wig, wpr, row0, rows, n, y, bias);
  }
}

// ---------------------------------------------------------------- launchers

// Warps per row: more when there are few rows, as long as each warp gets a chunk.
int warps_per_row(int64_t rows, int64_t n_chunks) {
  int wpr = 1;
  while (wpr < kWarps && rows * wpr < kTargetWarps && n_chunks >= 2 * wpr) wpr *= 2;
  return wpr;
}

unsigned grid_for(int64_t rows, int wpr, int r) {
  const int64_t per_block = int64_t{kWarps / wpr} * r;
  return static_cast<unsigned>(std::min((rows + per_block - 1) / per_block, kMaxBlocks));
}

// One pass: nt <= kMatvecMaxTokens tokens.
template <int T, int NT>
void launch_quant_nt(cudaStream_t stream, const uint8_t* w, int64_t rows, int64_t cols,
                     const int8_t* xq, const float* xd, int nt, float* y, const float* bias,
                     int wpr) {
  constexpr int R = NT == 1 ? 1 : 2;
  const size_t smem = static_cast<size_t>(kWarps) * R * stage_bytes(T);
  matvec_quant_kernel<T, NT, R>
      <<<grid_for(rows, wpr, R), kThreads, smem, stream>>>(w, rows, cols, xq, xd, nt, y, bias, wpr);
}

template <int T>
void launch_quant(cudaStream_t stream, const uint8_t* w, int64_t rows, int64_t cols,
                  const int8_t* xq, const float* xd, int nt, float* y, const float* bias) {
  const int64_t units = cols / kPiece;
  const int wpr = warps_per_row(rows, (units + kChunkUnits - 1) / kChunkUnits);
  if (nt == 1) {
    launch_quant_nt<T, 1>(stream, w, rows, cols, xq, xd, nt, y, bias, wpr);
  } else if (nt <= 4) {
    launch_quant_nt<T, 4>(stream, w, rows, cols, xq, xd, nt, y, bias, wpr);
  } else {
    launch_quant_nt<T, 8>(stream, w, rows, cols, xq, xd, nt, y, bias, wpr);
  }
}

template <int T, int NT>
void launch_float_nt(cudaStream_t stream, const uint8_t* w, int64_t rows, int64_t cols,
                     const float* x, int nt, float* y, const float* bias, int wpr, int vec_w,
                     int vec_x) {
  constexpr int R = NT == 1 ? 1 : 2;
  matvec_float_kernel<T, NT, R><<<grid_for(rows, wpr, R), kThreads, 0, stream>>>(
      w, rows, cols, x, nt, y, bias, wpr, vec_w, vec_x);
}

template <int T>
void launch_float(cudaStream_t stream, const uint8_t* w, int64_t rows, int64_t cols, const float* x,
                  int nt, float* y, const float* bias) {
  const int vec_w = (reinterpret_cast<uintptr_t>(w) % 16 == 0 && cols % 8 == 0) ? 1 : 0;
  const int vec_x = reinterpret_cast<uintptr_t>(x) % 16 == 0 ? 1 : 0;
  const int64_t step = vec_w ? 256 : 32;
  const int wpr = warps_per_row(rows, (cols + step - 1) / step);
  if (nt == 1) {
    launch_float_nt<T, 1>(stream, w, rows, cols, x, nt, y, bias, wpr, vec_w, vec_x);
  } else if (nt <= 4) {
    launch_float_nt<T, 4>(stream, w, rows, cols, x, nt, y, bias, wpr, vec_w, vec_x);
  } else {
    launch_float_nt<T, 8>(stream, w, rows, cols, x, nt, y, bias, wpr, vec_w, vec_x);
  }
}

void launch_pass(cudaStream_t stream, int type, const uint8_t* w, int64_t rows, int64_t cols,
                 const float* x, const int8_t* xq, const float* xd, int nt, float* y,
                 const float* bias) {
  switch (type) {
    case kF32:
      return launch_float<kF32>(stream, w, rows, cols, x, nt, y, bias);
    case kF16:
      return launch_float<kF16>(stream, w, rows, cols, x, nt, y, bias);
    case kBF16:
      return launch_float<kBF16>(stream, w, rows, cols, x, nt, y, bias);
    case kQ4_0:
      return launch_quant<kQ4_0>(stream, w, rows, cols, xq, xd, nt, y, bias);
    case kQ4_1:
      return launch_quant<kQ4_1>(stream, w, rows, cols, xq, xd, nt, y, bias);
    case kQ5_0:
      return launch_quant<kQ5_0>(stream, w, rows, cols, xq, xd, nt, y, bias);
    case kQ5_1:
      return launch_quant<kQ5_1>(stream, w, rows, cols, xq, xd, nt, y, bias);
    case kQ8_0:
      return launch_quant<kQ8_0>(stream, w, rows, cols, xq, xd, nt, y, bias);
    case kQ2_K:
      return launch_quant<kQ2_K>(stream, w, rows, cols, xq, xd, nt, y, bias);
    case kQ3_K:
      return launch_quant<kQ3_K>(stream, w, rows, cols, xq, xd, nt, y, bias);
    case kQ4_K:
      return launch_quant<kQ4_K>(stream, w, rows, cols, xq, xd, nt, y, bias);
    case kQ5_K:
      return launch_quant<kQ5_K>(stream, w, rows, cols, xq, xd, nt, y, bias);
    case kQ6_K:
      return launch_quant<kQ6_K>(stream, w, rows, cols, xq, xd, nt, y, bias);
    default:
      return;
  }
}

}  // namespace

bool cuda_weight_type_supported(int type) {
  return block_values(type) != 0;
}

size_t matvec_scratch_bytes(int64_t n, int64_t cols) {
  if (n <= 0 || cols <= 0) return 0;
  const auto values = static_cast<size_t>(n) * static_cast<size_t>(cols);
  return align256(values) + align256(values / kPiece * sizeof(float));
}

void launch_matvec(cudaStream_t stream, int type, const void* w, int64_t rows, int64_t cols,
                   const float* x, int n, float* y, const float* bias, void* scratch) {
  if (rows <= 0 || n <= 0 || cols < 0 || !cuda_weight_type_supported(type)) return;
  const auto* wb = static_cast<const uint8_t*>(w);
  const int8_t* xq = nullptr;
  const float* xd = nullptr;
  if (!is_float_type(type) && cols > 0) {
    auto* q = static_cast<int8_t*>(scratch);
    auto* d = reinterpret_cast<float*>(static_cast<uint8_t*>(scratch) +
                                       align256(static_cast<size_t>(n) * cols));
    const int64_t quads = int64_t{n} * cols / 4;
    const int vec = reinterpret_cast<uintptr_t>(x) % 16 == 0 ? 1 : 0;
    const auto blocks = static_cast<unsigned>(std::min<int64_t>((quads + 255) / 256, 65536));
    quantize_act_kernel<<<blocks, 256, 0, stream>>>(x, quads, vec, q, d);
    xq = q;
    xd = d;
  }
  for (int t0 = 0; t0 < n; t0 += kMatvecMaxTokens) {
    const int nt = std::min(kMatvecMaxTokens, n - t0);
    const int64_t skip = int64_t{t0} * cols;
    launch_pass(stream, type, wb, rows, cols, x + skip, xq != nullptr ? xq + skip : nullptr,
                xd != nullptr ? xd + skip / kPiece : nullptr, nt, y + int64_t{t0} * rows, bias);
  }
}

}  // namespace tessera::cuda
