// Reference converters for the 32-value block types Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 (the
// layouts of ggml's block_q4_0 ... block_q8_0). The quantizers follow ggml's reference rounding
// rules, so a tensor we write has the same bytes as one llama.cpp or mkgguf.py writes.
#include <cmath>
#include <cstring>

#include "gguf/quant_kernels.h"
#include "util/half.h"

namespace tessera::gguf::kernels {
namespace {

constexpr int kBlock = 32;
constexpr int kHalfBlock = kBlock / 2;

// Byte layouts: offsets of each field inside one block.
constexpr size_t kQ4_0Bytes = 18;  // d, qs[16]
constexpr size_t kQ4_1Bytes = 20;  // d, m, qs[16]
constexpr size_t kQ5_0Bytes = 22;  // d, qh[4], qs[16]
constexpr size_t kQ5_1Bytes = 24;  // d, m, qh[4], qs[16]
constexpr size_t kQ8_0Bytes = 34;  // d, qs[32]

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void store_u32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}

// ggml's "(int8_t)(t)" truncation capped at `hi`, made total: NaN and values below 0 give 0
// and large values give `hi` instead of undefined behaviour.
int truncate_code(float t, int hi) {
  if (!(t > 0.0f)) return 0;
  if (t >= static_cast<float>(hi)) return hi;
  return static_cast<int>(t);
}

// a * b rounded to f32 on its own: the reference quantizers round the product before adding
// the offset, and going through (exact) double keeps a compiler from fusing both into an FMA.
float mul_rounded(float a, float b) {
  return static_cast<float>(static_cast<double>(a) * static_cast<double>(b));
}

// The value of largest magnitude with its sign (the first one on ties). Symmetric types map
// it to their most negative code, which has no positive twin, so the range is used fully.
float signed_absmax(const float* x) {
  float amax = 0.0f;
  float vmax = 0.0f;
  for (int j = 0; j < kBlock; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      vmax = x[j];
    }
  }
  return vmax;
}

// 4-bit codes: byte j holds element j (low nibble) and element j + 16 (high nibble).
void unpack_nibbles(const uint8_t* qs, int* codes) {
  for (int j = 0; j < kHalfBlock; ++j) {
    codes[j] = qs[j] & 0x0f;
    codes[j + kHalfBlock] = qs[j] >> 4;
  }
}

void pack_nibbles(const int* codes, uint8_t* qs) {
  for (int j = 0; j < kHalfBlock; ++j) {
    qs[j] = static_cast<uint8_t>((codes[j] & 0x0f) | ((codes[j + kHalfBlock] & 0x0f) << 4));
  }
}

// 5-bit codes: the low 4 bits as nibbles, bit 4 of element j in bit j of the little-endian qh.
void unpack_5bit(const uint8_t* qh, const uint8_t* qs, int* codes) {
  unpack_nibbles(qs, codes);
  const uint32_t high = load_u32(qh);
  for (int j = 0; j < kBlock; ++j) codes[j] |= static_cast<int>((high >> j) & 1u) << 4;
}

void pack_5bit(const int* codes, uint8_t* qh, uint8_t* qs) {
  pack_nibbles(codes, qs);
  uint32_t high = 0;
  for (int j = 0; j < kBlock; ++j) high |= static_cast<uint32_t>((codes[j] >> 4) & 1) << j;
  store_u32(qh, high);
}

// Symmetric types: d = (signed max-magnitude) / -offset, code = min(max, trunc(x/d + offset + .5)).
float quantize_symmetric(const float* x, int offset, int max_code, int* codes) {
  const float d = signed_absmax(x) / static_cast<float>(-offset);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < kBlock; ++j) {
    codes[j] = truncate_code(mul_rounded(x[j], id) + (static_cast<float>(offset) + 0.5f), max_code);
  }
  return d;
}

// Affine types: codes 0..max_code span [min, max]; returns d and sets `lo` to the minimum.
float quantize_affine(const float* x, int max_code, float& lo, int* codes) {
  float mn = x[0];
  float mx = x[0];
  for (int j = 1; j < kBlock; ++j) {
    mn = std::fmin(mn, x[j]);
    mx = std::fmax(mx, x[j]);
  }
  const float d = (mx - mn) / static_cast<float>(max_code);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < kBlock; ++j) {
    codes[j] = truncate_code(mul_rounded(x[j] - mn, id) + 0.5f, max_code);
  }
  lo = mn;
  return d;
}

}  // namespace

void dequantize_q4_0(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  int codes[kBlock];
  for (int64_t i = 0; i < n / kBlock; ++i, b += kQ4_0Bytes, out += kBlock) {
    const float d = load_f16(b);
    unpack_nibbles(b + 2, codes);
    for (int j = 0; j < kBlock; ++j) out[j] = static_cast<float>(codes[j] - 8) * d;
  }
}

void quantize_q4_0(const float* in, void* blocks, int64_t n) {
  auto* b = static_cast<uint8_t*>(blocks);
  int codes[kBlock];
  for (int64_t i = 0; i < n / kBlock; ++i, b += kQ4_0Bytes, in += kBlock) {
    store_f16(b, quantize_symmetric(in, 8, 15, codes));
    pack_nibbles(codes, b + 2);
  }
}

void dequantize_q4_1(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  int codes[kBlock];
  for (int64_t i = 0; i < n / kBlock; ++i, b += kQ4_1Bytes, out += kBlock) {
    const float d = load_f16(b);
    const float m = load_f16(b + 2);
    unpack_nibbles(b + 4, codes);
    for (int j = 0; j < kBlock; ++j) out[j] = static_cast<float>(codes[j]) * d + m;
  }
}

void quantize_q4_1(const float* in, void* blocks, int64_t n) {
  auto* b = static_cast<uint8_t*>(blocks);
  int codes[kBlock];
  for (int64_t i = 0; i < n / kBlock; ++i, b += kQ4_1Bytes, in += kBlock) {
    float lo = 0.0f;
    store_f16(b, quantize_affine(in, 15, lo, codes));
    store_f16(b + 2, lo);
    pack_nibbles(codes, b + 4);
  }
}

void q4_0_codes(const void* block, int codes[32]) {
  unpack_nibbles(static_cast<const uint8_t*>(block) + 2, codes);
}

void q5_0_codes(const void* block, int codes[32]) {
  const auto* b = static_cast<const uint8_t*>(block);
  unpack_5bit(b + 2, b + 6, codes);
}

void q8_0_codes(const void* block, int codes[32]) {
  const auto* q = reinterpret_cast<const int8_t*>(static_cast<const uint8_t*>(block) + 2);
  for (int j = 0; j < kBlock; ++j) codes[j] = q[j];
}

void dequantize_q5_0(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  int codes[kBlock];
  for (int64_t i = 0; i < n / kBlock; ++i, b += kQ5_0Bytes, out += kBlock) {
    const float d = load_f16(b);
    unpack_5bit(b + 2, b + 6, codes);
    for (int j = 0; j < kBlock; ++j) out[j] = static_cast<float>(codes[j] - 16) * d;
  }
}

void quantize_q5_0(const float* in, void* blocks, int64_t n) {
  auto* b = static_cast<uint8_t*>(blocks);
  int codes[kBlock];
  for (int64_t i = 0; i < n / kBlock; ++i, b += kQ5_0Bytes, in += kBlock) {
    store_f16(b, quantize_symmetric(in, 16, 31, codes));
    pack_5bit(codes, b + 2, b + 6);
  }
}

void dequantize_q5_1(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  int codes[kBlock];
  for (int64_t i = 0; i < n / kBlock; ++i, b += kQ5_1Bytes, out += kBlock) {
    const float d = load_f16(b);
    const float m = load_f16(b + 2);
    unpack_5bit(b + 4, b + 8, codes);
    for (int j = 0; j < kBlock; ++j) out[j] = static_cast<float>(codes[j]) * d + m;
  }
}

void quantize_q5_1(const float* in, void* blocks, int64_t n) {
  auto* b = static_cast<uint8_t*>(blocks);
  int codes[kBlock];
  for (int64_t i = 0; i < n / kBlock; ++i, b += kQ5_1Bytes, in += kBlock) {
    float lo = 0.0f;
    store_f16(b, quantize_affine(in, 31, lo, codes));
    store_f16(b + 2, lo);
    pack_5bit(codes, b + 4, b + 8);
  }
}

void dequantize_q8_0(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  for (int64_t i = 0; i < n / kBlock; ++i, b += kQ8_0Bytes, out += kBlock) {
    const float d = load_f16(b);
    for (int j = 0; j < kBlock; ++j) {
      out[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
    }
  }
}

void quantize_q8_0(const float* in, void* blocks, int64_t n) {
  auto* b = static_cast<uint8_t*>(blocks);
  for (int64_t i = 0; i < n / kBlock; ++i, b += kQ8_0Bytes, in += kBlock) {
    float amax = 0.0f;
    for (int j = 0; j < kBlock; ++j) amax = std::fmax(amax, std::fabs(in[j]));
    // Codes use the unrounded d, as ggml does; only the stored scale is f16.
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(b, d);
    for (int j = 0; j < kBlock; ++j) {
      const float r = std::round(in[j] * id);  // half away from zero, like ggml's roundf
      const int q = r > 127.0f ? 127 : r < -128.0f ? -128 : (r == r ? static_cast<int>(r) : 0);
      b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
    }
  }
}

}  // namespace tessera::gguf::kernels
