// Device-side GGUF block layouts and value-exact dequantizers, shared by the CUDA kernels
// (quant_matvec.cu, dequant.cu). Included only by .cu files.
//
// Layouts are those of gguf/quant_legacy.cpp and gguf/quant_kquant.cpp (ggml's blocks): a row
// of a weight is a run of blocks, rows back to back. Block sizes 18, 22, 34, 110 and 210 are not
// multiples of 4, so a block is only known to be 2-byte aligned: readers here use 16-bit or byte
// loads (load_u16, load_u32_a2) unless a field is known to be 4-byte aligned.
//
// dequant8<T> gives the values the CPU reference converters give, bit for bit: the same f32
// operations in the same order, written with explicitly rounded intrinsics (__fmul_rn, ...)
// so that nvcc cannot contract them into FMAs.
#pragma once

#include <cuda_fp16.h>

#include <cstddef>
#include <cstdint>

namespace tessera::cuda::qb {

// GGUF type ids (gguf::TensorType) of the weight types the CUDA kernels support.
enum TypeId : int {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
};

// ---------------------------------------------------------------- block layouts
// Half-precision scales are kept as raw IEEE half bits (uint16_t).

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];  // byte j: value j (low nibble), value j + 16 (high nibble)
};
struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[16];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // bit j (little-endian word): bit 4 of value j
  uint8_t qs[16];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ2_K {
  uint8_t scales[16];  // per 16 values: scale (low nibble), min (high nibble)
  uint8_t qs[64];
  uint16_t d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];  // 16 six-bit scales, +32 bias
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];  // 8 six-bit (scale, min) pairs
  uint8_t qs[128];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};

static_assert(sizeof(BlockQ4_0) == 18 && offsetof(BlockQ4_0, qs) == 2);
static_assert(sizeof(BlockQ4_1) == 20 && offsetof(BlockQ4_1, qs) == 4);
static_assert(sizeof(BlockQ5_0) == 22 && offsetof(BlockQ5_0, qh) == 2 &&
              offsetof(BlockQ5_0, qs) == 6);
static_assert(sizeof(BlockQ5_1) == 24 && offsetof(BlockQ5_1, qh) == 4 &&
              offsetof(BlockQ5_1, qs) == 8);
static_assert(sizeof(BlockQ8_0) == 34 && offsetof(BlockQ8_0, qs) == 2);
static_assert(sizeof(BlockQ2_K) == 84 && offsetof(BlockQ2_K, qs) == 16 &&
              offsetof(BlockQ2_K, d) == 80 && offsetof(BlockQ2_K, dmin) == 82);
static_assert(sizeof(BlockQ3_K) == 110 && offsetof(BlockQ3_K, qs) == 32 &&
              offsetof(BlockQ3_K, scales) == 96 && offsetof(BlockQ3_K, d) == 108);
static_assert(sizeof(BlockQ4_K) == 144 && offsetof(BlockQ4_K, scales) == 4 &&
              offsetof(BlockQ4_K, qs) == 16);
static_assert(sizeof(BlockQ5_K) == 176 && offsetof(BlockQ5_K, scales) == 4 &&
              offsetof(BlockQ5_K, qh) == 16 && offsetof(BlockQ5_K, qs) == 48);
static_assert(sizeof(BlockQ6_K) == 210 && offsetof(BlockQ6_K, qh) == 128 &&
              offsetof(BlockQ6_K, scales) == 192 && offsetof(BlockQ6_K, d) == 208);

// Values per block and bytes per block of a supported type; 0 for any other id. Plain types
// count as blocks of one value.
__host__ __device__ constexpr int block_values(int type) {
  switch (type) {
    case kF32:
    case kF16:
    case kBF16:
      return 1;
    case kQ4_0:
    case kQ4_1:
    case kQ5_0:
    case kQ5_1:
    case kQ8_0:
      return 32;
    case kQ2_K:
    case kQ3_K:
    case kQ4_K:
    case kQ5_K:
    case kQ6_K:
      return 256;
    default:
      return 0;
  }
}

__host__ __device__ constexpr int block_bytes(int type) {
  switch (type) {
    case kF32:
      return 4;
    case kF16:
    case kBF16:
      return 2;
    case kQ4_0:
      return sizeof(BlockQ4_0);
    case kQ4_1:
      return sizeof(BlockQ4_1);
    case kQ5_0:
      return sizeof(BlockQ5_0);
    case kQ5_1:
      return sizeof(BlockQ5_1);
    case kQ8_0:
      return sizeof(BlockQ8_0);
    case kQ2_K:
      return sizeof(BlockQ2_K);
    case kQ3_K:
      return sizeof(BlockQ3_K);
    case kQ4_K:
      return sizeof(BlockQ4_K);
    case kQ5_K:
      return sizeof(BlockQ5_K);
    case kQ6_K:
      return sizeof(BlockQ6_K);
    default:
      return 0;
  }
}

__host__ __device__ constexpr bool is_float_type(int type) {
  return type == kF32 || type == kF16 || type == kBF16;
}

// ---------------------------------------------------------------- loads and conversions
// Generic pointers: these work on global and shared memory alike.

__device__ __forceinline__ uint32_t load_u16(const uint8_t* p) {
  return *reinterpret_cast<const uint16_t*>(p);
}

// A little-endian 32-bit word at a 2-byte-aligned address.
__device__ __forceinline__ uint32_t load_u32_a2(const uint8_t* p) {
  return load_u16(p) | (load_u16(p + 2) << 16);
}

__device__ __forceinline__ float f16_bits_to_f32(uint32_t h) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(h)));
}

__device__ __forceinline__ float bf16_bits_to_f32(uint32_t b) {
  return __uint_as_float(b << 16);
}

// IEEE half bits of f, rounded to nearest even (util/half.h's f32_to_f16, in hardware).
__device__ __forceinline__ uint16_t f32_to_f16_bits(float f) {
  return __half_as_ushort(__float2half_rn(f));
}

// bfloat16 bits of f, rounded to nearest even; NaN stays a quiet NaN (util/half.h's rule).
__device__ __forceinline__ uint16_t f32_to_bf16_bits(float f) {
  const uint32_t x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// Eight bytes at a 2-byte-aligned address; byte(j) is byte j.
struct Bytes8 {
  uint32_t lo, hi;
  __device__ __forceinline__ int byte(int j) const {
    return static_cast<int>(((j < 4 ? lo : hi) >> (8 * (j & 3))) & 0xffu);
  }
};

__device__ __forceinline__ Bytes8 load_bytes8_a2(const uint8_t* p) {
  return Bytes8{load_u32_a2(p), load_u32_a2(p + 4)};
}

// ---------------------------------------------------------------- sub-block scales

// Q4_K / Q5_K: six-bit (scale, min) pair s of the 12 scale bytes (ggml's get_scale_min_k4).
__device__ __forceinline__ void scale_min_k4(const uint8_t* sc, int s, int& scale, int& min) {
  if (s < 4) {
    scale = sc[s] & 63;
    min = sc[s + 4] & 63;
  } else {
    const int packed = sc[s + 4];
    scale = (packed & 0x0f) | ((sc[s - 4] >> 6) << 4);
    min = (packed >> 4) | ((sc[s] >> 6) << 4);
  }
}

// Q3_K: six-bit scale s (of 16), bias removed: low nibbles in bytes 0-7, top two bits of scale s
// in byte 8 + s % 4 at bit 2 * (s / 4).
__device__ __forceinline__ int q3_k_scale(const uint8_t* sc, int s) {
  const int low = s < 8 ? sc[s] & 0x0f : sc[s - 8] >> 4;
  const int high = (sc[8 + (s & 3)] >> (2 * (s >> 2))) & 3;
  return (low | (high << 4)) - 32;
}

// ---------------------------------------------------------------- value-exact dequantizers

// Values 8g .. 8g + 7 of the block at `blk` (2-byte aligned; g < values per block / 8), as the
// CPU reference dequantizer computes them.
template <int T>
__device__ void dequant8(const uint8_t* blk, int g, float (&v)[8]);

template <>
__device__ __forceinline__ void dequant8<kQ4_0>(const uint8_t* blk, int g, float (&v)[8]) {
  const auto* b = reinterpret_cast<const BlockQ4_0*>(blk);
  const float d = f16_bits_to_f32(b->d);
  const Bytes8 q = load_bytes8_a2(b->qs + 8 * (g & 1));
  const int shift = (g & 2) ? 4 : 0;  // values 16..31 are the high nibbles
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int code = (q.byte(j) >> shift) & 0x0f;
    v[j] = __fmul_rn(static_cast<float>(code - 8), d);
  }
}

template <>
__device__ __forceinline__ void dequant8<kQ4_1>(const uint8_t* blk, int g, float (&v)[8]) {
  const auto* b = reinterpret_cast<const BlockQ4_1*>(blk);
  const float d = f16_bits_to_f32(b->d);
  const float m = f16_bits_to_f32(b->m);
  const Bytes8 q = load_bytes8_a2(b->qs + 8 * (g & 1));
  const int shift = (g & 2) ? 4 : 0;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int code = (q.byte(j) >> shift) & 0x0f;
    v[j] = __fadd_rn(__fmul_rn(static_cast<float>(code), d), m);
  }
}

template <>
__device__ __forceinline__ void dequant8<kQ5_0>(const uint8_t* blk, int g, float (&v)[8]) {
  const auto* b = reinterpret_cast<const BlockQ5_0*>(blk);
  const float d = f16_bits_to_f32(b->d);
  const uint32_t qh = load_u32_a2(b->qh);
  const Bytes8 q = load_bytes8_a2(b->qs + 8 * (g & 1));
  const int shift = (g & 2) ? 4 : 0;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int high = static_cast<int>((qh >> (8 * g + j)) & 1u);
    const int code = ((q.byte(j) >> shift) & 0x0f) | (high << 4);
    v[j] = __fmul_rn(static_cast<float>(code - 16), d);
  }
}

template <>
__device__ __forceinline__ void dequant8<kQ5_1>(const uint8_t* blk, int g, float (&v)[8]) {
  const auto* b = reinterpret_cast<const BlockQ5_1*>(blk);
  const float d = f16_bits_to_f32(b->d);
  const float m = f16_bits_to_f32(b->m);
  const uint32_t qh = load_u32_a2(b->qh);
  const Bytes8 q = load_bytes8_a2(b->qs + 8 * (g & 1));
  const int shift = (g & 2) ? 4 : 0;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int high = static_cast<int>((qh >> (8 * g + j)) & 1u);
    const int code = ((q.byte(j) >> shift) & 0x0f) | (high << 4);
    v[j] = __fadd_rn(__fmul_rn(static_cast<float>(code), d), m);
  }
}

template <>
__device__ __forceinline__ void dequant8<kQ8_0>(const uint8_t* blk, int g, float (&v)[8]) {
  const auto* b = reinterpret_cast<const BlockQ8_0*>(blk);
  const float d = f16_bits_to_f32(b->d);
  const Bytes8 q = load_bytes8_a2(reinterpret_cast<const uint8_t*>(b->qs) + 8 * g);
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int code = static_cast<int8_t>(static_cast<uint8_t>(q.byte(j)));
    v[j] = __fmul_rn(static_cast<float>(code), d);
  }
}

// Q2_K and Q3_K share the two-bit layout: value i of a 128-value half sits in byte i % 32 of the
// half's 32 bytes, at bit 2 * (i / 32). For values 8g..8g+7: half g / 16, bytes from 8 * (g % 4),
// shift 2 * ((g / 4) % 4).
template <>
__device__ __forceinline__ void dequant8<kQ2_K>(const uint8_t* blk, int g, float (&v)[8]) {
  const auto* b = reinterpret_cast<const BlockQ2_K*>(blk);
  const float d = f16_bits_to_f32(b->d);
  const float dmin = f16_bits_to_f32(b->dmin);
  const Bytes8 q = load_bytes8_a2(b->qs + 32 * (g >> 4) + 8 * (g & 3));
  const int shift = 2 * ((g >> 2) & 3);
  const int sc = b->scales[g >> 1];  // 16 values share a scale: all 8 here
  const float ds = __fmul_rn(d, static_cast<float>(sc & 0x0f));
  const float dm = __fmul_rn(dmin, static_cast<float>(sc >> 4));
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int code = (q.byte(j) >> shift) & 3;
    v[j] = __fsub_rn(__fmul_rn(ds, static_cast<float>(code)), dm);
  }
}

template <>
__device__ __forceinline__ void dequant8<kQ3_K>(const uint8_t* blk, int g, float (&v)[8]) {
  const auto* b = reinterpret_cast<const BlockQ3_K*>(blk);
  const float d = f16_bits_to_f32(b->d);
  const Bytes8 q = load_bytes8_a2(b->qs + 32 * (g >> 4) + 8 * (g & 3));
  const Bytes8 hm = load_bytes8_a2(b->hmask + 8 * (g & 3));  // bit g / 4 of hmask[i % 32]
  const int shift = 2 * ((g >> 2) & 3);
  const int hbit = g >> 2;
  const float ds = __fmul_rn(d, static_cast<float>(q3_k_scale(b->scales, g >> 1)));
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int low = (q.byte(j) >> shift) & 3;
    const int code = low - (((hm.byte(j) >> hbit) & 1) ? 0 : 4);
    v[j] = __fmul_rn(ds, static_cast<float>(code));
  }
}

// Q4_K / Q5_K: sub-block g / 4 (32 values); its nibbles are the low (even sub-block) or high
// (odd) halves of the 32 bytes of sub-block pair g / 8.
template <>
__device__ __forceinline__ void dequant8<kQ4_K>(const uint8_t* blk, int g, float (&v)[8]) {
  const auto* b = reinterpret_cast<const BlockQ4_K*>(blk);
  const float d = f16_bits_to_f32(b->d);
  const float dmin = f16_bits_to_f32(b->dmin);
  int scale = 0, min = 0;
  scale_min_k4(b->scales, g >> 2, scale, min);
  const float ds = __fmul_rn(d, static_cast<float>(scale));
  const float dm = __fmul_rn(dmin, static_cast<float>(min));
  const Bytes8 q = load_bytes8_a2(b->qs + 32 * (g >> 3) + 8 * (g & 3));
  const int shift = (g & 4) ? 4 : 0;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int code = (q.byte(j) >> shift) & 0x0f;
    v[j] = __fsub_rn(__fmul_rn(ds, static_cast<float>(code)), dm);
  }
}

template <>
__device__ __forceinline__ void dequant8<kQ5_K>(const uint8_t* blk, int g, float (&v)[8]) {
  const auto* b = reinterpret_cast<const BlockQ5_K*>(blk);
  const float d = f16_bits_to_f32(b->d);
  const float dmin = f16_bits_to_f32(b->dmin);
  int scale = 0, min = 0;
  scale_min_k4(b->scales, g >> 2, scale, min);
  const float ds = __fmul_rn(d, static_cast<float>(scale));
  const float dm = __fmul_rn(dmin, static_cast<float>(min));
  const Bytes8 q = load_bytes8_a2(b->qs + 32 * (g >> 3) + 8 * (g & 3));
  const Bytes8 qh = load_bytes8_a2(b->qh + 8 * (g & 3));  // bit g / 4 of qh[i % 32]
  const int shift = (g & 4) ? 4 : 0;
  const int hbit = g >> 2;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int code = ((q.byte(j) >> shift) & 0x0f) | (((qh.byte(j) >> hbit) & 1) << 4);
    v[j] = __fsub_rn(__fmul_rn(ds, static_cast<float>(code)), dm);
  }
}

// Q6_K: values 8g..8g+7 lie in half h = g / 16, group k = (g / 4) % 4, positions
// l = 8 * (g % 4) + j: low nibble in ql[64h + l + 32 * (k % 2)] (high nibble for k >= 2), top
// two bits in qh[32h + l] at bit 2k; code bias 32.
template <>
__device__ __forceinline__ void dequant8<kQ6_K>(const uint8_t* blk, int g, float (&v)[8]) {
  const auto* b = reinterpret_cast<const BlockQ6_K*>(blk);
  const float d = f16_bits_to_f32(b->d);
  const int h = g >> 4;
  const int k = (g >> 2) & 3;
  const int l0 = 8 * (g & 3);
  const Bytes8 ql = load_bytes8_a2(b->ql + 64 * h + l0 + 32 * (k & 1));
  const Bytes8 qh = load_bytes8_a2(b->qh + 32 * h + l0);
  const float ds = __fmul_rn(d, static_cast<float>(b->scales[g >> 1]));
  const int lshift = 4 * (k >> 1);
  const int hshift = 2 * k;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int code = (((ql.byte(j) >> lshift) & 0x0f) | (((qh.byte(j) >> hshift) & 3) << 4)) - 32;
    v[j] = __fmul_rn(ds, static_cast<float>(code));
  }
}

// ---- plain float rows (F32, F16, BF16)

// Eight values of a plain-float type T at a 16-byte-aligned global address.
template <int T>
__device__ __forceinline__ void load_float8(const uint8_t* p, float (&v)[8]) {
  if constexpr (T == kF32) {
    const float4 a = __ldg(reinterpret_cast<const float4*>(p));
    const float4 b = __ldg(reinterpret_cast<const float4*>(p) + 1);
    v[0] = a.x;
    v[1] = a.y;
    v[2] = a.z;
    v[3] = a.w;
    v[4] = b.x;
    v[5] = b.y;
    v[6] = b.z;
    v[7] = b.w;
  } else {
    const uint4 q = __ldg(reinterpret_cast<const uint4*>(p));
    const uint32_t words[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if constexpr (T == kF16) {
        v[2 * j] = f16_bits_to_f32(words[j] & 0xffffu);
        v[2 * j + 1] = f16_bits_to_f32(words[j] >> 16);
      } else {
        v[2 * j] = __uint_as_float(words[j] << 16);
        v[2 * j + 1] = __uint_as_float(words[j] & 0xffff0000u);
      }
    }
  }
}

// One value of a plain-float type T.
template <int T>
__device__ __forceinline__ float load_float1(const uint8_t* p) {
  if constexpr (T == kF32) {
    return __ldg(reinterpret_cast<const float*>(p));
  } else {
    const uint32_t h = __ldg(reinterpret_cast<const unsigned short*>(p));
    return T == kF16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h);
  }
}

}  // namespace tessera::cuda::qb
