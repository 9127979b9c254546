// Reference converters for the K-quants: super-blocks of 256 values split into sub-blocks whose
// scales are themselves quantized against one super-block scale (ggml's block_q2_K ...
// block_q8_K layouts). Every type dequantizes; Q4_K, Q5_K, Q6_K and Q8_K also quantize. The
// K-quant quantizers are our own search (least-squares refined sub-block scales); their bytes
// differ from llama-quantize's, their accuracy is comparable. Q8_K follows ggml's exact rule.
//
// Codes are addressed value by value (`value i lives in byte b at bit k`) rather than with
// ggml's nested loops: slower, but each layout is stated once and read back the same way.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf/quant_kernels.h"
#include "util/half.h"

namespace tessera::gguf::kernels {
namespace {

constexpr int kSuper = 256;  // QK_K

// Field offsets inside each block type.
namespace q2k {
constexpr size_t scales = 0, qs = 16, d = 80, dmin = 82, bytes = 84;
}
namespace q3k {
constexpr size_t hmask = 0, qs = 32, scales = 96, d = 108, bytes = 110;
}
namespace q4k {
constexpr size_t d = 0, dmin = 2, scales = 4, qs = 16, bytes = 144;
}
namespace q5k {
constexpr size_t d = 0, dmin = 2, scales = 4, qh = 16, qs = 48, bytes = 176;
}
namespace q6k {
constexpr size_t ql = 0, qh = 128, scales = 192, d = 208, bytes = 210;
}
namespace q8k {
constexpr size_t d = 0, qs = 4, bsums = 260, bytes = 292;
}

// Nearest integer (ties to even) clamped to [lo, hi]. NaN counts as 0, so garbage input gives
// garbage codes but never undefined behaviour.
int round_clamped(float t, int lo, int hi) {
  if (std::isnan(t)) return std::clamp(0, lo, hi);
  if (t <= static_cast<float>(lo)) return lo;
  if (t >= static_cast<float>(hi)) return hi;
  return static_cast<int>(std::nearbyint(t));
}

// ---------------------------------------------------------------- layouts: where value i lives

// Q2_K / Q3_K low two bits: a 128-value half owns 32 bytes; value r of the half sits in byte
// r % 32 at bit 2 * (r / 32).
int two_bit_code(const uint8_t* qs, int i) {
  const int h = i / 128;
  const int r = i % 128;
  return (qs[32 * h + r % 32] >> (2 * (r / 32))) & 3;
}

// Q3_K high bit: bit i / 32 of hmask[i % 32]. A clear bit means the code is 4 lower.
bool q3_k_high_bit(const uint8_t* hmask, int i) {
  return ((hmask[i % 32] >> (i / 32)) & 1) != 0;
}

// Q3_K's 16 six-bit scales: low nibbles in bytes 0-7 (scales 0-7 low, 8-15 high nibble), the top
// two bits of scale s in byte 8 + s % 4 at bit 2 * (s / 4). Stored with a +32 bias.
int q3_k_scale(const uint8_t* sc, int s) {
  const int low = s < 8 ? sc[s] & 0x0f : sc[s - 8] >> 4;
  const int high = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
  return (low | (high << 4)) - 32;
}

// Q4_K / Q5_K low four bits: a 64-value pair of sub-blocks owns 32 bytes; its first 32 values
// are the low nibbles, the next 32 the high nibbles.
int nibble_code(const uint8_t* qs, int i) {
  const uint8_t byte = qs[32 * (i / 64) + i % 32];
  return (i % 64) < 32 ? byte & 0x0f : byte >> 4;
}

void set_nibble_code(uint8_t* qs, int i, int code) {
  const int shift = (i % 64) < 32 ? 0 : 4;
  qs[32 * (i / 64) + i % 32] |= static_cast<uint8_t>((code & 0x0f) << shift);
}

// Q5_K fifth bit: bit i / 32 of qh[i % 32].
int q5_k_high_bit(const uint8_t* qh, int i) {
  return (qh[i % 32] >> (i / 32)) & 1;
}

void set_q5_k_high_bit(uint8_t* qh, int i, int code) {
  qh[i % 32] |= static_cast<uint8_t>(((code >> 4) & 1) << (i / 32));
}

// Q4_K / Q5_K: 8 six-bit (scale, min) pairs in 12 bytes (ggml's get_scale_min_k4). Pairs 0-3
// use the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); pairs 4-7 keep their low nibbles in
// bytes 8-11 (scale low, min high) and their top two bits in the top bits of bytes 0-7.
void scale_min_k4(const uint8_t* sc, int s, int& scale, int& min) {
  if (s < 4) {
    scale = sc[s] & 63;
    min = sc[s + 4] & 63;
  } else {
    scale = (sc[s + 4] & 0x0f) | ((sc[s - 4] >> 6) << 4);
    min = (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4);
  }
}

void pack_scale_min_k4(const int* scales, const int* mins, uint8_t* sc) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = static_cast<uint8_t>(scales[j] | ((scales[j + 4] >> 4) << 6));
    sc[j + 4] = static_cast<uint8_t>(mins[j] | ((mins[j + 4] >> 4) << 6));
    sc[j + 8] = static_cast<uint8_t>((scales[j + 4] & 0x0f) | ((mins[j + 4] & 0x0f) << 4));
  }
}

// Q6_K: a 128-value half owns 64 bytes of ql and 32 of qh. Value r of the half, in group
// k = r / 32 at position l = r % 32: low nibble in ql[l + 32 * (k % 2)] (low nibble for k < 2,
// high for k >= 2), top two bits in qh[l] at bit 2 * k. Stored with a +32 bias.
int q6_k_code(const uint8_t* ql, const uint8_t* qh, int i) {
  const int h = i / 128;
  const int k = (i % 128) / 32;
  const int l = i % 32;
  const int low = (ql[64 * h + l + 32 * (k % 2)] >> (4 * (k / 2))) & 0x0f;
  const int high = (qh[32 * h + l] >> (2 * k)) & 3;
  return (low | (high << 4)) - 32;
}

void set_q6_k_code(uint8_t* ql, uint8_t* qh, int i, int code) {
  const int h = i / 128;
  const int k = (i % 128) / 32;
  const int l = i % 32;
  const int biased = code + 32;
  ql[64 * h + l + 32 * (k % 2)] |= static_cast<uint8_t>((biased & 0x0f) << (4 * (k / 2)));
  qh[32 * h + l] |= static_cast<uint8_t>(((biased >> 4) & 3) << (2 * k));
}

// ---------------------------------------------------------------- fitting sub-block scales

// x ~ scale * q - min with q in [0, max_code], scale >= 0, min >= 0 (the formats subtract a
// non-negative min, so a sub-block's offset can only move below zero).
struct AffineFit {
  float scale;
  float min;
};

// Best codes for a given scale and min; returns the squared error.
double affine_codes(const float* x, int n, AffineFit f, int max_code, int* q) {
  const float inv = f.scale > 0.0f ? 1.0f / f.scale : 0.0f;
  double err = 0.0;
  for (int j = 0; j < n; ++j) {
    q[j] = round_clamped((x[j] + f.min) * inv, 0, max_code);
    const double e = static_cast<double>(f.scale) * q[j] - f.min - x[j];
    err += e * e;
  }
  return err;
}

// Least-squares scale and min for fixed codes; false when the codes carry no spread.
bool refit_affine(const float* x, int n, const int* q, AffineFit& f) {
  double sq = 0, sqq = 0, sx = 0, sqx = 0;
  for (int j = 0; j < n; ++j) {
    sq += q[j];
    sqq += static_cast<double>(q[j]) * q[j];
    sx += x[j];
    sqx += q[j] * static_cast<double>(x[j]);
  }
  const double det = n * sqq - sq * sq;
  if (det <= 0.0) return false;
  double scale = (n * sqx - sq * sx) / det;
  double offset = (sx - scale * sq) / n;
  if (offset > 0.0) {  // would need a negative min: pin the offset at zero instead
    offset = 0.0;
    scale = sqx / sqq;
  }
  if (!(scale > 0.0)) return false;
  f = {static_cast<float>(scale), static_cast<float>(-offset)};
  return true;
}

// Searches a few starting ranges, each refined by alternating codes and least squares.
AffineFit fit_affine(const float* x, int n, int max_code) {
  float lo = 0.0f;
  float hi = x[0];
  for (int j = 0; j < n; ++j) {
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  if (!(hi > lo)) return {0.0f, -lo};  // every value equals lo <= 0: the min alone is exact
  int q[kSuper];
  AffineFit best{(hi - lo) / static_cast<float>(max_code), -lo};
  double best_err = affine_codes(x, n, best, max_code, q);
  constexpr float kStretch[] = {-3.0f, -2.0f, -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f, 2.0f};
  for (float stretch : kStretch) {
    AffineFit f{(hi - lo) / (static_cast<float>(max_code) + stretch), -lo};
    for (int iter = 0; iter < 4; ++iter) {
      const double err = affine_codes(x, n, f, max_code, q);
      if (err < best_err) {
        best_err = err;
        best = f;
      }
      if (!refit_affine(x, n, q, f)) break;
    }
  }
  return best;
}

// x ~ scale * q with q in [-32, 31]; the best codes for `scale`, and their squared error.
double symmetric_codes(const float* x, int n, float scale, int* q) {
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  double err = 0.0;
  for (int j = 0; j < n; ++j) {
    q[j] = round_clamped(x[j] * inv, -32, 31);
    const double e = static_cast<double>(scale) * q[j] - x[j];
    err += e * e;
  }
  return err;
}

// Signed scale for a Q6_K sub-block: starts that put the largest value at -32 or +31 (and a
// little inside), each refined by least squares.
float fit_symmetric(const float* x, int n) {
  float vmax = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > std::fabs(vmax)) vmax = x[j];
  }
  if (vmax == 0.0f) return 0.0f;
  int q[kSuper];
  float best = vmax / -32.0f;
  double best_err = symmetric_codes(x, n, best, q);
  constexpr float kTargets[] = {-32.0f, -31.5f, -31.0f, -30.0f, 31.0f, 30.5f, 30.0f};
  for (float target : kTargets) {
    float scale = vmax / target;
    for (int iter = 0; iter < 3; ++iter) {
      const double err = symmetric_codes(x, n, scale, q);
      if (err < best_err) {
        best_err = err;
        best = scale;
      }
      double sqq = 0, sqx = 0;
      for (int j = 0; j < n; ++j) {
        sqq += static_cast<double>(q[j]) * q[j];
        sqx += q[j] * static_cast<double>(x[j]);
      }
      if (sqq == 0.0) break;
      scale = static_cast<float>(sqx / sqq);
    }
  }
  return best;
}

float mean(const float* x, int n) {
  double s = 0.0;
  for (int j = 0; j < n; ++j) s += x[j];
  return static_cast<float>(s / n);
}

// The two integers around t, clamped to [lo, hi], in out[0] and out[1]: candidates for a
// quantized sub-block scale.
void neighbours(float t, int lo, int hi, int* out) {
  const float f = std::isfinite(t) ? std::floor(t) : 0.0f;
  out[0] = round_clamped(f, lo, hi);
  out[1] = round_clamped(f + 1.0f, lo, hi);
}

// ---------------------------------------------------------------- Q4_K / Q5_K shared

constexpr int kAffineSubBlocks = 8;
constexpr int kAffineSub = kSuper / kAffineSubBlocks;  // 32 values

// Quantized super-block of an affine K-quant: f16 d and dmin, 6-bit sub-block scales and
// mins, and one code per value.
struct AffineSuperBlock {
  float d = 0.0f;
  float dmin = 0.0f;
  int scales[kAffineSubBlocks] = {};
  int mins[kAffineSubBlocks] = {};
  int codes[kSuper] = {};
};

// Fits each sub-block, quantizes the scales and mins to 6 bits (picking, per sub-block, the
// rounding of scale and min that gives the smallest error), then the values.
AffineSuperBlock quantize_affine_super(const float* x, int max_code) {
  AffineFit fits[kAffineSubBlocks];
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int s = 0; s < kAffineSubBlocks; ++s) {
    fits[s] = fit_affine(x + s * kAffineSub, kAffineSub, max_code);
    max_scale = std::max(max_scale, fits[s].scale);
    max_min = std::max(max_min, fits[s].min);
  }
  AffineSuperBlock b;
  b.d = round_to_f16(max_scale / 63.0f);
  b.dmin = round_to_f16(max_min / 63.0f);
  for (int s = 0; s < kAffineSubBlocks; ++s) {
    const float* xs = x + s * kAffineSub;
    int ls[2], lm[4];
    neighbours(b.d > 0.0f ? fits[s].scale / b.d : 0.0f, 0, 63, ls);
    neighbours(b.dmin > 0.0f ? fits[s].min / b.dmin : 0.0f, 0, 63, lm);
    // When d underflows to 0 in f16 the scale is gone and the fitted min can only add error:
    // no min, or the one that best matches the sub-block's mean, may then do better.
    lm[2] = 0;
    lm[3] = b.dmin > 0.0f ? round_clamped(-mean(xs, kAffineSub) / b.dmin, 0, 63) : 0;
    double best_err = INFINITY;
    int q[kAffineSub];
    for (int a : ls) {
      for (int m : lm) {
        const AffineFit f{b.d * static_cast<float>(a), b.dmin * static_cast<float>(m)};
        const double err = affine_codes(xs, kAffineSub, f, max_code, q);
        if (err < best_err || best_err == INFINITY) {
          best_err = err;
          b.scales[s] = a;
          b.mins[s] = m;
          std::copy(q, q + kAffineSub, b.codes + s * kAffineSub);
        }
      }
    }
  }
  return b;
}

}  // namespace

// ---------------------------------------------------------------- dequantizers

void dequantize_q2_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  for (int64_t blk = 0; blk < n / kSuper; ++blk, b += q2k::bytes, out += kSuper) {
    const float d = load_f16(b + q2k::d);
    const float dmin = load_f16(b + q2k::dmin);
    for (int i = 0; i < kSuper; ++i) {
      const uint8_t sc = b[q2k::scales + i / 16];  // low nibble: scale, high nibble: min
      const float code = static_cast<float>(two_bit_code(b + q2k::qs, i));
      out[i] = d * static_cast<float>(sc & 0x0f) * code - dmin * static_cast<float>(sc >> 4);
    }
  }
}

void dequantize_q3_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  for (int64_t blk = 0; blk < n / kSuper; ++blk, b += q3k::bytes, out += kSuper) {
    const float d = load_f16(b + q3k::d);
    for (int i = 0; i < kSuper; ++i) {
      const int code = two_bit_code(b + q3k::qs, i) - (q3_k_high_bit(b + q3k::hmask, i) ? 0 : 4);
      out[i] =
          d * static_cast<float>(q3_k_scale(b + q3k::scales, i / 16)) * static_cast<float>(code);
    }
  }
}

void dequantize_q4_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  for (int64_t blk = 0; blk < n / kSuper; ++blk, b += q4k::bytes, out += kSuper) {
    const float d = load_f16(b + q4k::d);
    const float dmin = load_f16(b + q4k::dmin);
    for (int i = 0; i < kSuper; ++i) {
      int scale = 0, min = 0;
      scale_min_k4(b + q4k::scales, i / 32, scale, min);
      const float code = static_cast<float>(nibble_code(b + q4k::qs, i));
      out[i] = d * static_cast<float>(scale) * code - dmin * static_cast<float>(min);
    }
  }
}

void q4_k_parts(const void* block, uint16_t* d, uint16_t* dmin, int scales[8], int mins[8],
                int codes[256]) {
  const auto* b = static_cast<const uint8_t*>(block);
  std::memcpy(d, b + q4k::d, 2);
  std::memcpy(dmin, b + q4k::dmin, 2);
  for (int s = 0; s < 8; ++s) scale_min_k4(b + q4k::scales, s, scales[s], mins[s]);
  for (int i = 0; i < kSuper; ++i) codes[i] = nibble_code(b + q4k::qs, i);
}

void dequantize_q5_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  for (int64_t blk = 0; blk < n / kSuper; ++blk, b += q5k::bytes, out += kSuper) {
    const float d = load_f16(b + q5k::d);
    const float dmin = load_f16(b + q5k::dmin);
    for (int i = 0; i < kSuper; ++i) {
      int scale = 0, min = 0;
      scale_min_k4(b + q5k::scales, i / 32, scale, min);
      const int code = nibble_code(b + q5k::qs, i) | (q5_k_high_bit(b + q5k::qh, i) << 4);
      out[i] =
          d * static_cast<float>(scale) * static_cast<float>(code) - dmin * static_cast<float>(min);
    }
  }
}

void dequantize_q6_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  for (int64_t blk = 0; blk < n / kSuper; ++blk, b += q6k::bytes, out += kSuper) {
    const float d = load_f16(b + q6k::d);
    for (int i = 0; i < kSuper; ++i) {
      const auto scale = static_cast<int8_t>(b[q6k::scales + i / 16]);
      const int code = q6_k_code(b + q6k::ql, b + q6k::qh, i);
      out[i] = d * static_cast<float>(scale) * static_cast<float>(code);
    }
  }
}

void dequantize_q8_k(const void* blocks, float* out, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(blocks);
  for (int64_t blk = 0; blk < n / kSuper; ++blk, b += q8k::bytes, out += kSuper) {
    float d;
    std::memcpy(&d, b + q8k::d, 4);
    for (int i = 0; i < kSuper; ++i) {
      out[i] = d * static_cast<float>(static_cast<int8_t>(b[q8k::qs + i]));
    }
  }
}

// ---------------------------------------------------------------- quantizers

void quantize_q4_k(const float* in, void* blocks, int64_t n) {
  auto* b = static_cast<uint8_t*>(blocks);
  for (int64_t blk = 0; blk < n / kSuper; ++blk, b += q4k::bytes, in += kSuper) {
    const AffineSuperBlock sb = quantize_affine_super(in, 15);
    std::memset(b, 0, q4k::bytes);
    store_f16(b + q4k::d, sb.d);
    store_f16(b + q4k::dmin, sb.dmin);
    pack_scale_min_k4(sb.scales, sb.mins, b + q4k::scales);
    for (int i = 0; i < kSuper; ++i) set_nibble_code(b + q4k::qs, i, sb.codes[i]);
  }
}

void quantize_q5_k(const float* in, void* blocks, int64_t n) {
  auto* b = static_cast<uint8_t*>(blocks);
  for (int64_t blk = 0; blk < n / kSuper; ++blk, b += q5k::bytes, in += kSuper) {
    const AffineSuperBlock sb = quantize_affine_super(in, 31);
    std::memset(b, 0, q5k::bytes);
    store_f16(b + q5k::d, sb.d);
    store_f16(b + q5k::dmin, sb.dmin);
    pack_scale_min_k4(sb.scales, sb.mins, b + q5k::scales);
    for (int i = 0; i < kSuper; ++i) {
      set_nibble_code(b + q5k::qs, i, sb.codes[i]);
      set_q5_k_high_bit(b + q5k::qh, i, sb.codes[i]);
    }
  }
}

void quantize_q6_k(const float* in, void* blocks, int64_t n) {
  constexpr int kSubBlocks = 16;
  constexpr int kSub = kSuper / kSubBlocks;
  auto* b = static_cast<uint8_t*>(blocks);
  for (int64_t blk = 0; blk < n / kSuper; ++blk, b += q6k::bytes, in += kSuper) {
    float scales[kSubBlocks];
    float smax = 0.0f;  // the scale of largest magnitude, with its sign
    for (int s = 0; s < kSubBlocks; ++s) {
      scales[s] = fit_symmetric(in + s * kSub, kSub);
      if (std::fabs(scales[s]) > std::fabs(smax)) smax = scales[s];
    }
    // Maps smax to -128, the int8 code without a positive twin, as Q4_0 does with its values.
    const float d = round_to_f16(smax / -128.0f);
    std::memset(b, 0, q6k::bytes);
    store_f16(b + q6k::d, d);
    for (int s = 0; s < kSubBlocks; ++s) {
      const float* xs = in + s * kSub;
      int candidates[2];
      neighbours(d != 0.0f ? scales[s] / d : 0.0f, -128, 127, candidates);
      int best_codes[kSub] = {};
      int best_scale = 0;
      double best_err = INFINITY;
      for (int ls : candidates) {
        int q[kSub];
        const double err = symmetric_codes(xs, kSub, d * static_cast<float>(ls), q);
        if (err < best_err || best_err == INFINITY) {
          best_err = err;
          best_scale = ls;
          std::copy(q, q + kSub, best_codes);
        }
      }
      b[q6k::scales + s] = static_cast<uint8_t>(static_cast<int8_t>(best_scale));
      for (int j = 0; j < kSub; ++j) {
        set_q6_k_code(b + q6k::ql, b + q6k::qh, s * kSub + j, best_codes[j]);
      }
    }
  }
}

// ggml's rule, which the reference engine uses for activations: m = the value of largest
// magnitude, q = round-half-even(x * (-127 / m)) capped at 127, d = m / -127 in f32.
void quantize_q8_k(const float* in, void* blocks, int64_t n) {
  auto* b = static_cast<uint8_t*>(blocks);
  for (int64_t blk = 0; blk < n / kSuper; ++blk, b += q8k::bytes, in += kSuper) {
    float m = 0.0f;
    for (int i = 0; i < kSuper; ++i) {
      if (std::fabs(in[i]) > std::fabs(m)) m = in[i];
    }
    std::memset(b, 0, q8k::bytes);
    if (m == 0.0f) continue;  // d = 0, all codes 0
    const float iscale = -127.0f / m;
    const float d = m / -127.0f;
    std::memcpy(b + q8k::d, &d, 4);
    int16_t bsums[kSuper / 16] = {};
    for (int i = 0; i < kSuper; ++i) {
      const int q = round_clamped(iscale * in[i], -128, 127);
      b[q8k::qs + i] = static_cast<uint8_t>(static_cast<int8_t>(q));
      bsums[i / 16] = static_cast<int16_t>(bsums[i / 16] + q);
    }
    std::memcpy(b + q8k::bsums, bsums, sizeof bsums);
  }
}

}  // namespace tessera::gguf::kernels
